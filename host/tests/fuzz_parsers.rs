//! Property-based fuzzing of every parser that reads outside input: the
//! ABI v1 result decoder, the macro syntax, post front matter, script front
//! matter, `site.toml`, and the front matter rewrite of transforms.
//!
//! Inputs are built from the tokens each grammar cares about, mixed with
//! arbitrary text and invalid bytes, so that the cases reach deep into the
//! parsers instead of failing on the first byte. The budget is fixed
//! (`CASES` per property, or `PROPTEST_CASES`) so the suite stays fast; a
//! longer campaign is `PROPTEST_CASES=100000 cargo test --test fuzz_parsers`.
//! Each property: no panic, and what comes out is well formed (diagnostics
//! point inside the file, a rewrite reads back as asked).

use blogmark_host::config::Config;
use blogmark_host::content::{Kind, page, rewrite};
use blogmark_host::macros::parser::{self, Segment};
use proptest::prelude::*;
use serde_json::{Map, Value};

const CASES: u32 = 1_000;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(CASES);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Text made of `tokens` and bits of anything, as bytes (invalid UTF-8
/// included).
fn text_of(tokens: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        6 => proptest::sample::select(tokens).prop_map(|t| t.as_bytes().to_vec()),
        2 => "[a-z0-9 _\\-.:=\"'\\n]{0,8}".prop_map(String::into_bytes),
        1 => any::<String>().prop_map(String::into_bytes),
        1 => proptest::collection::vec(any::<u8>(), 0..4),
    ];
    proptest::collection::vec(piece, 0..48).prop_map(|pieces| pieces.concat())
}

fn lines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|b| **b == b'\n').count() + 1
}

const ABI_TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"abi\"",
    "1",
    "2",
    "\"ok\"",
    "true",
    "false",
    "null",
    "\"html\"",
    "\"post\"",
    "\"unchanged\"",
    "\"functions\"",
    "\"has_entrypoint\"",
    "\"code\"",
    "\"error\"",
    "\"type\"",
    "\"message\"",
    "\"line\"",
    "\"column\"",
    "\"traceback\"",
    "\"path\"",
    "\"front_matter\"",
    "\"body\"",
    "\"x\"",
    "\"\\ud800\"",
    "\"\\u00e9\"",
    "-1",
    "1e400",
    "4294967296",
];

const MACRO_TOKENS: &[&str] = &[
    "{{<", ">}}", "{{</*", "*/>}}", "{{< /", " ", "note", "youtube", "py:", "builtin:", "x:", "=",
    "\"", "\\\"", "`", "```\n", "\n", "    ", "a=1", "b=\"t\"", "true", "[1,2]", "{", "}", "é",
];

const POST_TOKENS: &[&str] = &[
    "---\n",
    "+++\n",
    "---\r\n",
    "\n",
    "title",
    "title: A\n",
    "title = \"A\"\n",
    "date: ",
    "date = ",
    "2024-01-02",
    "2024-13-45",
    "tags:",
    "tags = [",
    "]",
    "[extra]\n",
    "extra:\n  a: 1\n",
    ":",
    "=",
    "\"",
    "'",
    "- ",
    "  ",
    "draft: true\n",
    "slug: ",
    "\u{feff}",
    "{{< note >}}",
    "[[a]]\n",
];

const SCRIPT_TOKENS: &[&str] = &[
    "\"\"\"",
    "'''",
    "r\"\"\"",
    "---",
    "\n",
    "kind: ",
    "macro",
    "transform",
    "name: ",
    "badge",
    "entrypoint: ",
    "render",
    "enabled: ",
    "true",
    "false",
    "timeout_ms: ",
    "-5",
    "99999999999999999999",
    "fuel: ",
    "memory_mb: ",
    "order: ",
    "fallback: ",
    "uses_page: ",
    "overrides: builtin",
    "# c",
    "def render(ctx):\n    return ''\n",
    "[",
    "{",
    ":",
    "  ",
];

const CONFIG_TOKENS: &[&str] = &[
    "title = \"T\"\n",
    "base_url = \"u\"\n",
    "[python]\n",
    "timeout_ms = ",
    "fuel = ",
    "memory_mb = ",
    "max_output_kb = ",
    "workers = ",
    "runtime_mode = ",
    "\"worker\"",
    "\"inline\"",
    "0",
    "1",
    "-1",
    "18446744073709551616",
    "1e3",
    "paginate = ",
    "\n",
    "=",
    "\"",
    "[",
    "]",
    "[[python]]\n",
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn abi_results_never_panic(doc in text_of(ABI_TOKENS), kind in proptest::sample::select(&["macro", "transform", "check", "other"][..])) {
        let doc = String::from_utf8_lossy(&doc);
        // Wrapping in an object makes most cases reach the field checks.
        for text in [doc.to_string(), format!("{{\"abi\":1,\"ok\":true,{doc}}}")] {
            let _ = blogmark_runtime::abi::parse_result(kind, &text, 1 << 20);
        }
    }

    #[test]
    fn the_macro_parser_never_panics_and_locates_inside_the_body(body in text_of(MACRO_TOKENS)) {
        let body = String::from_utf8_lossy(&body).into_owned();
        let max_line = 10 + lines(body.as_bytes());
        for segment in parser::parse("p.md", &body, 10) {
            match segment {
                Segment::Macro(call) => {
                    prop_assert!(call.line >= 10 && call.line < max_line);
                    prop_assert!(call.column >= 1);
                    prop_assert!(body.contains(&call.source));
                }
                Segment::Broken { diagnostic, source } => {
                    prop_assert!(diagnostic.line >= 10 && diagnostic.line < max_line);
                    prop_assert!(body.contains(&source));
                }
                Segment::Text(_) | Segment::Literal(_) => {}
            }
        }
    }

    #[test]
    fn post_front_matter_never_panics_and_errors_name_a_line(bytes in text_of(POST_TOKENS)) {
        match page::parse(Kind::Post, "content/posts/p.md", &bytes) {
            Ok(page) => prop_assert!(!page.title.trim().is_empty()),
            Err(d) => {
                prop_assert_eq!(d.file.as_str(), "content/posts/p.md");
                prop_assert!(d.line <= lines(&bytes) + 1, "line {} of {}", d.line, lines(&bytes));
            }
        }
    }

    #[test]
    fn script_front_matter_never_panics(bytes in text_of(SCRIPT_TOKENS)) {
        let (script, diagnostics) = blogmark_host::scripts::parse("scripts/s.py", &bytes);
        prop_assert_eq!(script.slug.as_str(), "s");
        for d in diagnostics {
            prop_assert!(d.line <= lines(&bytes) + 1, "{}", d);
        }
    }

    #[test]
    fn site_toml_never_panics(bytes in text_of(CONFIG_TOKENS)) {
        let text = String::from_utf8_lossy(&bytes);
        if let Err(d) = Config::parse(&text) {
            prop_assert!(d.line <= lines(text.as_bytes()) + 1, "{}", d);
        }
    }

    #[test]
    fn a_rewrite_reads_back_as_the_transform_asked(
        yaml in any::<bool>(),
        fields in front_matter(),
        edits in front_matter(),
        removed in proptest::collection::vec("[a-e]", 0..3),
        body in "[a-z \\n#*{}<>]{0,40}",
    ) {
        let original = write_front_matter(yaml, &fields, "Body\n");
        let mut wanted: Map<String, Value> = fields.clone();
        for (k, v) in edits {
            wanted.insert(k, v);
        }
        for k in removed {
            wanted.remove(&k);
        }
        let parsed = blogmark_host::content::front_matter::split("p.md", &original);
        prop_assume!(parsed.is_ok());
        prop_assert_eq!(&parsed.unwrap().fields, &fields);
        // The rewrite checks itself; here it must also succeed, since every
        // value is one both formats hold.
        let text = rewrite::rewrite("p.md", &original, &wanted, &body).map_err(|d| TestCaseError::fail(d.to_string()))?;
        let back = blogmark_host::content::front_matter::split("p.md", &text).unwrap();
        prop_assert_eq!(&back.fields, &wanted);
        prop_assert_eq!(back.body, body.as_str());
        // Lines of keys that did not change are kept byte for byte.
        // (Top-level keys only: TOML's stop at the first table header.)
        for line in original.lines().skip(1).take_while(|l| *l != "---" && *l != "+++" && !l.starts_with('[')) {
            let key = line.split([':', '=']).next().unwrap_or("").trim();
            if !key.is_empty() && !line.starts_with(' ') && fields.get(key) == wanted.get(key) && fields.get(key).is_some_and(|v| !v.is_object() && !v.is_array()) {
                prop_assert!(text.contains(line), "lost {line:?} in {text:?}");
            }
        }
    }
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        (-1000i64..1000).prop_map(Value::from),
        "[a-zA-Z0-9 ,.!?'#:-]{0,12}".prop_map(Value::String),
    ]
}

fn front_matter() -> impl Strategy<Value = Map<String, Value>> {
    let value = prop_oneof![
        4 => scalar(),
        1 => proptest::collection::vec(scalar(), 0..3).prop_map(Value::Array),
        1 => proptest::collection::btree_map("[a-c]", scalar(), 0..3)
            .prop_map(|m| Value::Object(m.into_iter().collect())),
    ];
    proptest::collection::btree_map("[a-e]", value, 0..5).prop_map(|m| m.into_iter().collect())
}

/// A post with `fields` as YAML or TOML, written the way people write them.
fn write_front_matter(yaml: bool, fields: &Map<String, Value>, body: &str) -> String {
    if yaml {
        let text = if fields.is_empty() {
            String::new()
        } else {
            serde_yaml_ng::to_string(fields).unwrap()
        };
        format!("---\n{text}---\n{body}")
    } else {
        let table: toml::Table = serde_json::from_value(Value::Object(fields.clone())).unwrap();
        format!("+++\n{}+++\n{body}", toml::to_string(&table).unwrap())
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = "[".repeat(100_000);
    let yaml = format!("---\ntitle: A\nx: {deep}\n---\n");
    assert!(page::parse(Kind::Post, "p.md", yaml.as_bytes()).is_err());
    let toml = format!("+++\ntitle = \"A\"\nx = {deep}\n+++\n");
    assert!(page::parse(Kind::Post, "p.md", toml.as_bytes()).is_err());
    let json = format!("{{\"abi\":1,\"ok\":true,\"html\":{deep}}}");
    assert!(blogmark_runtime::abi::parse_result("macro", &json, 1 << 20).is_err());
    let config = format!("title = \"T\"\nbase_url = \"u\"\nx = {deep}\n");
    assert!(Config::parse(&config).is_err());
    let script = format!("\"\"\"\n---\nkind: {deep}\n---\n\"\"\"\n");
    let (script, _) = blogmark_host::scripts::parse("scripts/s.py", script.as_bytes());
    assert!(!script.valid);
    let macros = "{{< note >}}".repeat(5_000) + &"{{< /note >}}".repeat(5_000);
    assert_eq!(
        parser::parse("p.md", &macros, 1).len(),
        1,
        "one call, nested 5,000 deep"
    );
}
