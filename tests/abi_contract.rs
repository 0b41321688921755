//! ABI v1 has one contract: the Rust types of `blogmark_runtime::abi`. The
//! JSON Schemas in `docs/abi-v1/` are generated from them (this test fails
//! when a file is stale; `BLOGMARK_BLESS=1` rewrites them), and the real
//! documents that cross the boundary, requests as the runtime sends them
//! and results as the real guest returns them, are validated against those
//! schemas. The host's parser and the schemas agree on broken documents too.

use blogmark_e2e::{TRIVIAL_MACRO, macro_request, script, shared_runtime};
use blogmark_runtime::abi::{self, Operation, Post, Request, Site};
use blogmark_runtime::{Documents, Job, Observed};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;

fn schema_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("docs/abi-v1")
        .join(format!("{name}.schema.json"))
}

/// Every schema, by file name.
fn schemas() -> Vec<(String, Value)> {
    let mut all = vec![("request".to_owned(), abi::request_schema())];
    for kind in abi::KINDS {
        all.push((
            format!("result-{kind}"),
            abi::result_schema(kind).expect("a kind of the ABI"),
        ));
    }
    all
}

#[test]
fn the_schema_files_are_the_ones_the_types_generate() {
    let bless = std::env::var_os("BLOGMARK_BLESS").is_some();
    for (name, schema) in schemas() {
        let generated = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        let file = schema_file(&name);
        if bless {
            std::fs::write(&file, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(
            committed == generated,
            "{} is stale: run `BLOGMARK_BLESS=1 cargo test --test e2e abi_contract::`",
            file.display()
        );
    }
    assert!(abi::result_schema("no such kind").is_none());
}

fn validator(name: &str) -> jsonschema::Validator {
    let (_, schema) = schemas()
        .into_iter()
        .find(|(n, _)| n == name)
        .expect("a schema");
    jsonschema::validator_for(&schema).expect("a valid JSON Schema")
}

/// Run `request` on the real guest and return the documents it exchanged.
fn exchange(request: Request) -> Documents {
    let observed = Arc::new(Observed::keeping_documents());
    let job = Job {
        observed: observed.clone(),
        ..Job::new(request)
    };
    // Success or script failure: either way a result document came back.
    let _ = shared_runtime().run(job);
    observed
        .documents()
        .expect("the guest returned a result document")
}

fn site() -> Site {
    Site {
        title: "Test blog".into(),
        base_url: "https://example.org/".into(),
    }
}

fn transform(source: &str) -> Request {
    let mut script = script("t", source);
    script.entrypoint = "transform".into();
    Request::new(
        script,
        Operation::Transform {
            post: Post {
                path: "content/posts/a.md".into(),
                front_matter: json!({"title": "A", "tags": ["x"]})
                    .as_object()
                    .cloned()
                    .unwrap(),
                body: "teh cat\n".into(),
            },
            site: site(),
        },
    )
}

/// Requests of every kind, and with every optional part, that give every
/// shape of result.
fn requests() -> Vec<(&'static str, Request)> {
    let mut with_page = macro_request(
        "page",
        "def render(ctx):\n    return ctx.page['title'] + str(ctx.positional) + ctx.body\n",
        &[("a", json!({"nested": [1, 2.5, null, true]}))],
    );
    if let Operation::Macro { call, page, .. } = &mut with_page.operation {
        call.positional = vec![json!(1), json!("two")];
        call.body = Some("inner".into());
        *page = Some(abi::Page {
            slug: "a".into(),
            path: Some("content/posts/a.md".into()),
            title: "A".into(),
            date: Some("2024-01-01".into()),
            tags: vec!["x".into()],
            extra: json!({"k": "v"}).as_object().cloned().unwrap(),
            resources: vec![
                json!({"name": "cat.png", "size": 3, "media_type": "image/png",
                                   "sha256": "00", "width": 1, "height": 1}),
            ],
        });
    }
    let check = |source: &str| Request::new(script("c", source), Operation::Check);
    vec![
        (
            "macro",
            macro_request("bold", TRIVIAL_MACRO, &[("text", json!("hi"))]),
        ),
        ("macro", with_page),
        (
            "macro",
            macro_request(
                "fails",
                "def render(ctx):\n    raise ValueError('no')\n",
                &[],
            ),
        ),
        (
            "macro",
            macro_request("none", "def helper(ctx):\n    return ''\n", &[]),
        ),
        (
            "transform",
            transform(
                "def transform(post):\n    return {'body': post['body'].replace('teh', 'the')}\n",
            ),
        ),
        (
            "transform",
            transform("def transform(post):\n    return None\n"),
        ),
        (
            "hook",
            hook("def render(ctx):\n    return '<a>' + ctx.link.text + '</a>'\n"),
        ),
        ("hook", hook("def render(ctx):\n    return None\n")),
        ("hook", hook("def render(ctx):\n    return 3\n")),
        (
            "generator",
            generator(
                "def generate(ctx):\n    return {'pages': [{'path': 'pages/a.md', \
                 'front_matter': {'title': 'A'}, 'body': 'x'}], \
                 'files': [{'output': 'a.json', 'content': '[]'}]}\n",
            ),
        ),
        ("check", check(TRIVIAL_MACRO)),
        ("check", check("def render(ctx:\n")),
    ]
}

fn hook(source: &str) -> Request {
    Request::new(
        script("h", source),
        Operation::Hook {
            element: abi::Element::Link {
                url: "https://example.org/".into(),
                text: "<em>x</em>".into(),
                title: String::new(),
            },
            page: None,
            site: site(),
        },
    )
}

fn generator(source: &str) -> Request {
    let mut script = script("g", source);
    script.entrypoint = "generate".into();
    Request::new(script, Operation::Generator { site: site() })
}

#[test]
fn real_requests_and_guest_results_fit_the_schemas() {
    let request_schema = validator("request");
    let mut shapes = std::collections::BTreeSet::new();
    for (kind, request) in requests() {
        let documents = exchange(request);
        let sent: Value = serde_json::from_str(&documents.request).unwrap();
        if let Err(e) = request_schema.validate(&sent) {
            panic!("a {kind} request breaks the schema: {e}\n{sent:#}");
        }
        let result: Value = serde_json::from_str(&documents.result).unwrap();
        if let Err(e) = validator(&format!("result-{kind}")).validate(&result) {
            panic!("a {kind} result breaks the schema: {e}\n{result:#}");
        }
        let mut keys: Vec<&String> = result.as_object().unwrap().keys().collect();
        keys.sort();
        shapes.insert(format!("{kind}: {keys:?}"));
    }
    // Every shape of result came back at least once: success of each kind,
    // both transform outcomes, a check with its compiled code, failures.
    for shape in [
        r#"macro: ["abi", "html", "ok"]"#,
        r#"macro: ["abi", "error", "ok"]"#,
        r#"transform: ["abi", "ok", "post"]"#,
        r#"transform: ["abi", "ok", "unchanged"]"#,
        r#"check: ["abi", "code", "functions", "has_entrypoint", "ok"]"#,
        r#"check: ["abi", "error", "ok"]"#,
        r#"hook: ["abi", "html", "ok"]"#,
        r#"hook: ["abi", "error", "ok"]"#,
        r#"generator: ["abi", "files", "ok", "pages"]"#,
    ] {
        assert!(shapes.contains(shape), "no {shape} among {shapes:#?}");
    }
}

#[test]
fn the_parser_and_the_schemas_agree_on_broken_documents() {
    let post = r#"{"path":"a","front_matter":{},"body":""}"#;
    let cases = [
        (
            "macro",
            r#"{"abi":1,"ok":true,"html":"<b>x</b>"}"#.to_owned(),
        ),
        ("macro", r#"{"abi":1,"ok":true}"#.to_owned()),
        ("macro", r#"{"abi":2,"ok":true,"html":""}"#.to_owned()),
        ("macro", r#"{"abi":1,"ok":true,"html":5}"#.to_owned()),
        (
            "macro",
            r#"{"abi":1,"ok":true,"html":"","extra":1}"#.to_owned(),
        ),
        (
            "macro",
            format!(r#"{{"abi":1,"ok":true,"html":"","post":{post}}}"#),
        ),
        ("macro", r#"{"abi":1,"ok":false}"#.to_owned()),
        ("macro", r#"{"abi":1,"ok":"yes","html":""}"#.to_owned()),
        (
            "macro",
            r#"{"abi":1,"ok":false,"error":{"type":"E","message":"m","traceback":""}}"#.to_owned(),
        ),
        (
            "macro",
            r#"{"abi":1,"ok":false,"error":{"type":"E","message":"m","traceback":"","html":""}}"#
                .to_owned(),
        ),
        (
            "transform",
            r#"{"abi":1,"ok":true,"unchanged":true}"#.to_owned(),
        ),
        (
            "transform",
            r#"{"abi":1,"ok":true,"unchanged":false}"#.to_owned(),
        ),
        (
            "transform",
            format!(r#"{{"abi":1,"ok":true,"post":{post}}}"#),
        ),
        (
            "transform",
            format!(r#"{{"abi":1,"ok":true,"post":{post},"unchanged":true}}"#),
        ),
        (
            "transform",
            r#"{"abi":1,"ok":true,"post":{"path":"a","body":""}}"#.to_owned(),
        ),
        (
            "check",
            r#"{"abi":1,"ok":true,"functions":["render"],"has_entrypoint":true}"#.to_owned(),
        ),
        (
            "check",
            r#"{"abi":1,"ok":true,"functions":["render"],"has_entrypoint":true,"code":"AA=="}"#
                .to_owned(),
        ),
        (
            "check",
            r#"{"abi":1,"ok":true,"functions":["render"]}"#.to_owned(),
        ),
        ("check", r#"{"abi":1,"ok":true,"html":""}"#.to_owned()),
        ("hook", r#"{"abi":1,"ok":true,"html":null}"#.to_owned()),
        ("hook", r#"{"abi":1,"ok":true,"html":"<a></a>"}"#.to_owned()),
        ("hook", r#"{"abi":1,"ok":true}"#.to_owned()),
        ("hook", r#"{"abi":1,"ok":true,"html":false}"#.to_owned()),
        (
            "generator",
            r#"{"abi":1,"ok":true,"pages":[],"files":[]}"#.to_owned(),
        ),
        ("generator", r#"{"abi":1,"ok":true,"pages":[]}"#.to_owned()),
        (
            "generator",
            r#"{"abi":1,"ok":true,"pages":[{"path":"a","front_matter":{},"body":"","x":1}],"files":[]}"#
                .to_owned(),
        ),
    ];
    let mut accepted = 0;
    for (kind, document) in cases {
        let by_parser = abi::parse_result(kind, &document, 1 << 20).is_ok();
        let value: Value = serde_json::from_str(&document).unwrap();
        let by_schema = validator(&format!("result-{kind}")).is_valid(&value);
        assert_eq!(
            by_parser, by_schema,
            "{kind} {document}: parser {by_parser}, schema {by_schema}"
        );
        accepted += usize::from(by_parser);
    }
    assert_eq!(accepted, 9, "both accept the valid ones and only those");
}
