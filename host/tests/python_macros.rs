//! Python macros in `host render`: precedence, failures, caching, with the
//! real sandbox, real files and a real SQLite database.

use crate::common;

use blogmark_host::diagnostics::{Diagnostic, Severity};
use blogmark_host::render::{BuildOptions, BuildReport, build};
use std::path::Path;
use std::process::Command;

struct Site(tempfile::TempDir);

impl Site {
    fn new() -> Site {
        Site(common::site(
            "[python]\ntimeout_ms = 2000\nmax_output_kb = 64\n",
        ))
    }

    fn root(&self) -> &Path {
        self.0.path()
    }

    fn script(&self, slug: &str, front: &str, body: &str) -> &Self {
        let text = format!("\"\"\"\n---\n{front}\n---\n\"\"\"\n{body}");
        std::fs::write(self.root().join(format!("scripts/{slug}.py")), text).unwrap();
        self
    }

    fn post(&self, slug: &str, body: &str) -> &Self {
        let text = format!("---\ntitle: {slug}\ndate: 2024-01-01\ntags: [a]\n---\n{body}");
        std::fs::write(self.root().join(format!("content/posts/{slug}.md")), text).unwrap();
        self
    }

    fn build_with(&self, use_cache: bool) -> BuildReport {
        build(&BuildOptions {
            use_cache,
            ..BuildOptions::render(self.root())
        })
        .unwrap()
    }

    fn build(&self) -> BuildReport {
        self.build_with(true)
    }

    fn page(&self, slug: &str) -> String {
        let html =
            std::fs::read_to_string(self.root().join(format!("public/posts/{slug}/index.html")))
                .unwrap();
        let start = html.find("<article").unwrap();
        html[start..html.find("</article>").unwrap()].to_owned()
    }
}

fn warnings(report: &BuildReport) -> Vec<&Diagnostic> {
    report
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .collect()
}

const SHOUT: &str =
    "def render(ctx):\n    return '<b>PY:' + ' '.join(str(p) for p in ctx.positional) + '</b>'\n";

#[test]
fn precedence_follows_the_documented_table() {
    let site = Site::new();
    site.script("shout", "kind: macro", SHOUT)
        .script("youtube", "kind: macro", SHOUT)
        .script("figure", "kind: macro\noverrides: builtin", SHOUT)
        .script("off", "kind: macro\nenabled: false", SHOUT)
        .post(
            "p",
            "python only {{< shout a >}}\n\n\
             built-in wins {{< youtube abc >}}\n\n\
             override wins {{< figure x >}}\n\n\
             forced built-in {{< builtin:figure src=\"i.png\" >}}\n\n\
             forced python {{< py:youtube b >}}\n\n\
             disabled {{< off >}}\n\n\
             missing {{< py:nothing >}}\n",
        );
    let report = site.build();
    let page = site.page("p");
    assert!(page.contains("python only <b>PY:a</b>"), "{page}");
    assert!(
        page.contains("built-in wins <div class=\"video\">"),
        "{page}"
    );
    assert!(page.contains("override wins <b>PY:x</b>"), "{page}");
    assert!(
        page.contains("forced built-in <figure><img src=\"i.png\""),
        "{page}"
    );
    assert!(page.contains("forced python <b>PY:b</b>"), "{page}");
    assert!(
        page.contains("disabled <span class=\"macro-error\""),
        "{page}"
    );
    assert!(
        page.contains("missing <span class=\"macro-error\""),
        "{page}"
    );
    let shown: Vec<String> = warnings(&report).iter().map(|d| d.to_string()).collect();
    assert_eq!(
        shown,
        [
            "content/posts/p.md:16:10: warning: unknown macro `off`",
            "content/posts/p.md:18:9: warning: no enabled Python macro `nothing`",
        ]
    );
}

#[test]
fn two_scripts_with_one_name_resolve_by_path_with_a_warning() {
    let site = Site::new();
    site.script(
        "a_first",
        "name: dup",
        "def render(ctx):\n    return 'first'\n",
    )
    .script(
        "b_second",
        "name: dup",
        "def render(ctx):\n    return 'second'\n",
    )
    .post("p", "{{< dup >}}\n");
    let report = site.build();
    assert!(site.page("p").contains("first"));
    assert!(
        report
            .diagnostics
            .iter()
            .any(|d| d.file == "scripts/b_second.py" && d.message.contains("scripts/a_first.py"))
    );
}

#[test]
fn every_failure_class_falls_back_and_leaves_built_ins_alone() {
    let site = Site::new();
    let cases = [
        (
            "raises",
            "fallback: \"<i>fallback</i>\"",
            "def render(ctx):\n    x = 1\n    raise ValueError('bad input')\n",
            "GuestError",
            "scripts/raises.py:9",
        ),
        (
            "loops",
            "timeout_ms: 100",
            "def render(ctx):\n    while True:\n        pass\n",
            "Timeout",
            "scripts/loops.py",
        ),
        (
            "burns",
            "fuel: 1000000",
            "def render(ctx):\n    return str(sum(range(10**8)))\n",
            "FuelExhausted",
            "scripts/burns.py",
        ),
        (
            "hoards",
            "memory_mb: 32",
            "def render(ctx):\n    return str(len(bytearray(100 * 2**20)))\n",
            "MemoryLimit",
            "scripts/hoards.py",
        ),
        (
            "forges",
            "",
            "import dispatcher\ndispatcher._to_json = lambda *a, **k: '[1]'\ndef render(ctx):\n    return 'x'\n",
            "AbiViolation",
            "scripts/forges.py",
        ),
        (
            "floods",
            "",
            "def render(ctx):\n    return 'x' * 200_000\n",
            "OutputTooLarge",
            "scripts/floods.py",
        ),
    ];
    let mut body = String::new();
    for (slug, front, source, _, _) in cases {
        site.script(slug, &format!("kind: macro\n{front}"), source);
        body.push_str(&format!(
            "{{{{< {slug} >}}}} and {{{{< youtube v{slug} >}}}}\n\n"
        ));
    }
    site.post("p", &body);
    let report = site.build();
    let page = site.page("p");
    for (i, (slug, _, _, class, place)) in cases.iter().enumerate() {
        assert!(
            page.contains(&format!("embed/v{slug}\"")),
            "the built-in next to {slug} renders"
        );
        let line = 6 + 2 * i;
        let warning = report
            .diagnostics
            .iter()
            .find(|d| d.line == line)
            .unwrap_or_else(|| {
                panic!(
                    "no diagnostic for {slug} on line {line}: {:#?}",
                    report.diagnostics
                )
            });
        assert_eq!(
            (warning.file.as_str(), warning.column, warning.severity),
            ("content/posts/p.md", 1, Severity::Warning)
        );
        assert!(
            warning
                .message
                .starts_with(&format!("macro `{slug}` ({place}")),
            "{warning}"
        );
        assert!(warning.message.contains(class), "{warning}");
    }
    assert!(
        page.contains("<i>fallback</i> and"),
        "declared fallback used"
    );
    assert!(
        page.contains("<span class=\"macro-error\" title=\"macro `loops`"),
        "marker without fallback"
    );
    assert!(
        report
            .diagnostics
            .iter()
            .any(|d| d.message.contains("ValueError: bad input"))
    );
}

#[test]
fn strict_fails_on_a_failing_macro() {
    let site = Site::new();
    site.script(
        "bad",
        "kind: macro",
        "def render(ctx):\n    raise RuntimeError('no')\n",
    )
    .post("p", "{{< bad >}}\n");
    let root = site.root().to_str().unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_host"))
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["render", "--site", root]);
    assert_eq!(out.status.code(), Some(0));
    let out = run(&["render", "--site", root, "--strict"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "content/posts/p.md:6:1: warning: macro `bad` (scripts/bad.py:7) failed: GuestError"
        ),
        "{stderr}"
    );
}

#[test]
fn results_are_cached_across_renders_and_invalidated_by_script_edits() {
    let site = Site::new();
    site.script(
        "one",
        "kind: macro",
        "def render(ctx):\n    return 'one-' + str(ctx.args['n'])\n",
    )
    .script("two", "kind: macro", "def render(ctx):\n    return 'two'\n")
    .post(
        "p",
        "{{< one n=1 >}} {{< one n=1 >}} {{< one n=2 >}} {{< two >}}\n",
    )
    .post("q", "{{< one n=1 >}}\n");
    let first = site.build();
    assert_eq!(
        (first.sandbox_runs, first.cache_hits),
        (3, 2),
        "identical requests run once"
    );
    let mtime = |p: &str| {
        std::fs::metadata(site.root().join("public").join(p))
            .unwrap()
            .modified()
            .unwrap()
    };
    let before = mtime("posts/p/index.html");
    let second = site.build();
    assert_eq!((second.sandbox_runs, second.cache_hits), (0, 5));
    assert_eq!(
        second.written.written, 0,
        "a second render rewrites no file"
    );
    assert_eq!(mtime("posts/p/index.html"), before);
    site.script(
        "one",
        "kind: macro",
        "def render(ctx):\n    return 'uno-' + str(ctx.args['n'])\n",
    );
    let third = site.build();
    assert_eq!(
        (third.sandbox_runs, third.cache_hits),
        (2, 3),
        "only the edited script reruns"
    );
    assert!(site.page("p").contains("uno-1 uno-1 uno-2 two"));
    std::fs::remove_file(site.root().join("scripts/two.py")).unwrap();
    site.build();
    let store = blogmark_host::store::Store::open(site.root()).unwrap();
    assert_eq!(
        store.macro_result_count().unwrap(),
        2,
        "results of deleted or edited scripts are pruned"
    );
    let uncached = site.build_with(false);
    assert_eq!((uncached.sandbox_runs, uncached.cache_hits), (2, 2));
}

#[test]
fn page_metadata_only_for_scripts_that_ask_and_markdown_output_on_request() {
    let site = Site::new();
    site.script(
        "who",
        "uses_page: true",
        "def render(ctx):\n    return ctx.page['title'] + ':' + ','.join(ctx.page['tags'])\n",
    )
    .script("blind", "", "def render(ctx):\n    return repr(ctx.page)\n")
    .script(
        "where",
        "",
        "def render(ctx):\n    return f\"{ctx.call['file']}:{ctx.call['line']}\"\n",
    )
    .script(
        "md",
        "markdown: true",
        "def render(ctx):\n    return '**bold** {{< youtube zz >}}'\n",
    )
    .script("raw", "", "def render(ctx):\n    return '**not bold**'\n")
    .post(
        "p",
        "{{< who >}} {{< blind >}}\n\n{{< md >}}\n\n{{< raw >}} {{< where >}}\n",
    );
    site.build();
    let page = site.page("p");
    assert!(page.contains("p:a None"), "{page}");
    assert!(
        page.contains("<strong>bold</strong>") && page.contains("embed/zz"),
        "{page}"
    );
    assert!(
        page.contains("**not bold** content/posts/p.md:10"),
        "{page}"
    );
}

#[test]
fn a_call_position_is_keyed_only_for_scripts_that_read_it() {
    let site = Site::new();
    site.script("blind", "", "def render(ctx):\n    return ctx.args['t'].upper() + ctx.call.name\n")
        .script(
            "where",
            "",
            "def render(ctx):\n    return f'{ctx.call.file}:{ctx.call.line}:{ctx.call.column}'\n",
        )
        .script(
            "sometimes",
            "",
            "def render(ctx):\n    if ctx.args['look']:\n        return str(ctx.call['line'])\n    return 'file' in ctx.call and 'no look' or '?'\n",
        )
        .script(
            "dice",
            "",
            "import random\n\ndef render(ctx):\n    return f'dice:{random.random()}'\n",
        )
        .post(
            "one",
            "{{< blind t=\"x\" >}} {{< where >}}\n\n{{< where >}} {{< sometimes look=true >}} {{< sometimes look=false >}}\n\n{{< dice >}} {{< blind t=\"x\" >}}\n",
        )
        .post(
            "two",
            "{{< blind t=\"x\" >}} {{< where >}}\n\n{{< sometimes look=true >}} {{< sometimes look=false >}} {{< dice >}}\n",
        );
    let first = site.build();
    assert!(warnings(&first).is_empty(), "{:?}", first.diagnostics);
    // blind 1 run for 3 calls, where 3 runs (3 places), sometimes 2 runs
    // that looked plus 1 that did not, dice 1 run for 2 calls.
    // 12 calls. blind: 1 run for 3 calls; where: 3 runs (3 places);
    // sometimes: 2 runs that looked, 1 that did not for 2 calls; dice: 1
    // run for 2 calls.
    assert_eq!((first.sandbox_runs, first.cache_hits), (8, 4));
    let one = site.page("one");
    let two = site.page("two");
    assert!(one.contains("Xblind content/posts/one.md:6:21"), "{one}");
    assert!(one.contains("content/posts/one.md:8:1 8 no look"), "{one}");
    assert!(two.contains("Xblind content/posts/two.md:6:21"), "{two}");
    assert!(two.contains("<p>8 no look dice:"), "{two}");
    let dice = |page: &str| {
        let at = page.find("dice:").expect("a dice roll");
        page[at..].split(['<', ' ']).next().unwrap().to_owned()
    };
    assert_eq!(
        dice(&one),
        dice(&two),
        "random numbers do not depend on the position"
    );

    let second = site.build();
    assert_eq!((second.sandbox_runs, second.cache_hits), (0, 12));
    assert_eq!(site.page("one"), one);
    assert_eq!(site.page("two"), two);

    // A line added at the top of one page moves its calls: only the calls
    // that read their position run again.
    site.post(
        "one",
        "Moved.\n\n{{< blind t=\"x\" >}} {{< where >}}\n\n{{< where >}} {{< sometimes look=true >}} {{< sometimes look=false >}}\n\n{{< dice >}} {{< blind t=\"x\" >}}\n",
    );
    let third = site.build();
    assert_eq!((third.sandbox_runs, third.cache_hits), (3, 9));
    assert!(
        site.page("one")
            .contains("Xblind content/posts/one.md:8:21")
    );
}

#[test]
fn a_newer_post_reruns_only_the_macros_that_read_the_clock() {
    let site = Site::new();
    site.script("plain", "", "def render(ctx):\n    return 'plain'\n")
        .script(
            "today",
            "",
            "import datetime\n\ndef render(ctx):\n    return 'on ' + str(datetime.date.today())\n",
        )
        .post("p", "{{< plain >}} {{< today >}}\n");
    let first = site.build();
    assert_eq!((first.sandbox_runs, first.cache_hits), (2, 0));
    assert!(site.page("p").contains("plain on 2024-01-01"));

    // The guest's clock is the newest post's date: a newer post moves it.
    std::fs::write(
        site.root().join("content/posts/newer.md"),
        "---\ntitle: newer\ndate: 2024-06-01\n---\nNo macros.\n",
    )
    .unwrap();
    let second = site.build();
    assert_eq!((second.sandbox_runs, second.cache_hits), (1, 1));
    assert!(site.page("p").contains("plain on 2024-06-01"));
}
