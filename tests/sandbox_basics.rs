//! The sandbox runs real Python macros: results, context, determinism,
//! tracebacks, checks, the standard library, the queue.

use blogmark_e2e::{
    RE_HTML_MACRO, TRIVIAL_MACRO, html, macro_job, macro_request, script, shared_runtime,
};
use blogmark_runtime::abi::{Operation, Post, Reply, Request, Site};
use blogmark_runtime::{CallSite, Failure, FailureClass, Job};
use serde_json::json;
use std::time::Duration;

#[test]
fn a_trivial_macro_returns_html() {
    let job = macro_job("bold", TRIVIAL_MACRO, &[("text", json!("hi"))]);
    assert_eq!(html(shared_runtime().run(job)), "<b>hi</b>");
}

#[test]
fn a_macro_using_re_and_html_escapes_its_output() {
    let job = macro_job("title", RE_HTML_MACRO, &[("text", json!("fish & <chips>"))]);
    assert_eq!(html(shared_runtime().run(job)), "<span>Fish Chips</span>");
}

#[test]
fn the_context_carries_every_documented_field() {
    let source = r#"
def render(ctx):
    return "|".join([ctx.args["a"], str(ctx.positional), str(ctx.body), ctx.call["file"],
                     str(ctx.call["line"]), str(ctx.page), ctx.site["title"]])
"#;
    let mut job = macro_job("ctx", source, &[("a", json!("x"))]);
    if let Operation::Macro { call, .. } = &mut job.request.operation {
        call.positional = vec![json!(1), json!("two")];
        call.body = Some("inner".into());
    }
    job.call_site = Some(CallSite {
        file: "content/posts/test.md".into(),
        line: 3,
        column: 1,
    });
    assert_eq!(
        html(shared_runtime().run(job)),
        "x|(1, 'two')|inner|content/posts/test.md|3|None|Test blog"
    );
}

#[test]
fn the_context_is_read_only() {
    let source = "def render(ctx):\n    ctx.args['a'] = 1\n    return ''\n";
    let failure = shared_runtime()
        .run(macro_job("ro", source, &[("a", json!(0))]))
        .unwrap_err();
    let error = failure.guest_error().expect("a guest error");
    assert_eq!(error.type_name, "TypeError");
    assert_eq!(error.line, Some(2));
}

#[test]
fn a_dict_with_html_is_accepted() {
    let source = "def render(ctx):\n    return {'html': '<i>x</i>'}\n";
    assert_eq!(
        html(shared_runtime().run(macro_job("d", source, &[]))),
        "<i>x</i>"
    );
}

#[test]
fn tracebacks_point_at_the_scripts_own_lines() {
    let source = "import json\n\ndef helper(x):\n    return 1 / x\n\ndef render(ctx):\n    return str(helper(0))\n";
    let failure = shared_runtime()
        .run(macro_job("div", source, &[]))
        .unwrap_err();
    let error = failure.guest_error().expect("a guest error");
    assert_eq!(error.type_name, "ZeroDivisionError");
    assert_eq!(error.line, Some(4));
    assert!(
        error.traceback.contains("scripts/div.py\", line 4"),
        "{}",
        error.traceback
    );
    assert!(
        error.traceback.contains("return 1 / x"),
        "{}",
        error.traceback
    );
    assert!(
        !error.traceback.contains("dispatcher"),
        "{}",
        error.traceback
    );
}

#[test]
fn equal_requests_give_equal_random_numbers_and_clock() {
    let source = "import random, time, datetime\n\ndef render(ctx):\n    return f'{random.random()} {time.time()} {datetime.date.today()}'\n";
    let make = |arg: &str| Job {
        clock: Duration::from_secs(1_700_000_000),
        ..macro_job("rnd", source, &[("k", json!(arg))])
    };
    let a = html(shared_runtime().run(make("a")));
    let b = html(shared_runtime().run(make("a")));
    let c = html(shared_runtime().run(make("c")));
    assert_eq!(a, b);
    assert_ne!(a.split(' ').next(), c.split(' ').next());
    assert!(a.ends_with(" 1700000000.0 2023-11-14"), "{a}");
}

#[test]
fn stdout_and_logs_are_captured() {
    let source = "def render(ctx):\n    print('hello from python')\n    ctx.log('a log line', 'warn')\n    return 'ok'\n";
    let outcome = shared_runtime().run(macro_job("out", source, &[])).unwrap();
    assert_eq!(outcome.captured.stdout, "hello from python\n");
    assert_eq!(outcome.captured.logs.len(), 1);
    assert_eq!(outcome.captured.logs[0].level, "warn");
    assert_eq!(outcome.captured.logs[0].message, "a log line");
    assert!(outcome.fuel_used > 0);
}

fn check(source: &str) -> Result<blogmark_runtime::Outcome, Failure> {
    shared_runtime().run(Job::new(Request::new(
        script("chk", source),
        Operation::Check,
    )))
}

#[test]
fn check_lists_functions_without_running_the_script() {
    let outcome = check(
        "raise SystemExit(1)\n\ndef helper():\n    pass\n\ndef render(ctx):\n    return ''\n",
    )
    .unwrap();
    let Reply::Checked {
        functions,
        has_entrypoint,
        code,
    } = outcome.reply
    else {
        panic!("expected a check reply, got {:?}", outcome.reply);
    };
    assert_eq!(functions, ["helper", "render"]);
    assert!(has_entrypoint);
    assert!(
        code.is_some_and(|c| !c.is_empty()),
        "a check returns the compiled module"
    );
}

#[test]
fn check_reports_syntax_errors_with_line_and_column() {
    let failure = check("def render(ctx):\n    return (1 +\n\nx = 3\n").unwrap_err();
    let error = failure.guest_error().expect("a guest error");
    assert_eq!(error.type_name, "SyntaxError");
    assert_eq!(error.line, Some(2));
    assert!(error.column.is_some());
}

#[test]
fn a_transform_rewrites_a_post() {
    let source = "def transform(post):\n    return {'body': post['body'].replace('teh', 'the'), 'front_matter': {**post['front_matter'], 'fixed': True}}\n";
    let mut s = script("typos", source);
    s.entrypoint = "transform".into();
    let post = Post {
        path: "content/posts/a.md".into(),
        front_matter: json!({"title": "A"}).as_object().unwrap().clone(),
        body: "teh cat".into(),
    };
    let request = Request::new(
        s,
        Operation::Transform {
            post,
            site: Site::default(),
        },
    );
    let outcome = shared_runtime().run(Job::new(request)).unwrap();
    match outcome.reply {
        Reply::Post(post) => {
            assert_eq!(post.body, "the cat");
            assert_eq!(post.front_matter["fixed"], json!(true));
        }
        other => panic!("expected a post, got {other:?}"),
    }
}

#[test]
fn the_documented_standard_library_is_importable() {
    let modules = [
        "json",
        "re",
        "html",
        "datetime",
        "math",
        "statistics",
        "decimal",
        "fractions",
        "hashlib",
        "base64",
        "textwrap",
        "string",
        "itertools",
        "collections",
        "functools",
        "operator",
        "heapq",
        "bisect",
        "difflib",
        "csv",
        "pprint",
        "unicodedata",
        "urllib.parse",
        "dataclasses",
        "enum",
        "typing",
        "copy",
        "random",
        "calendar",
        "zlib",
    ];
    let source = format!(
        "import importlib\n\ndef render(ctx):\n    for name in {modules:?}:\n        importlib.import_module(name)\n    import hashlib, zlib, statistics\n    return hashlib.sha256(b'x').hexdigest()[:8] + str(zlib.crc32(b'x')) + str(statistics.median([3, 1, 2]))\n"
    );
    assert_eq!(
        html(shared_runtime().run(macro_job("std", &source, &[]))),
        "2d711642".to_owned() + "2363233923" + "2"
    );
}

#[test]
fn a_missing_entrypoint_lists_the_functions_found() {
    let source = "def main(ctx):\n    return ''\n\ndef other():\n    pass\n";
    let failure = shared_runtime()
        .run(macro_job("noentry", source, &[]))
        .unwrap_err();
    let error = failure.guest_error().expect("a guest error");
    assert_eq!(error.type_name, "EntrypointMissing");
    assert!(error.message.contains("main, other"), "{}", error.message);
}

#[test]
fn a_queued_request_can_be_cancelled() {
    let runtime = blogmark_e2e::runtime(1);
    let busy = "def render(ctx):\n    n = 0\n    for i in range(1_000_000):\n        n += i\n    return str(n)\n";
    let first = runtime.submit(macro_job("busy", busy, &[]));
    let second = runtime.submit(macro_job("busy", busy, &[]));
    second.cancel();
    let first = first.wait();
    assert!(first.is_ok(), "{first:?}");
    assert_eq!(second.wait().unwrap_err(), Failure::Cancelled);
    assert_eq!(runtime.counters().snapshot()["busy"].calls, 1);
}

#[test]
fn a_closed_runtime_answers_what_was_queued_and_refuses_the_rest() {
    let runtime = blogmark_e2e::runtime(1);
    let busy = "def render(ctx):\n    n = 0\n    for i in range(300_000):\n        n += i\n    return str(n)\n";
    let running = runtime.submit(macro_job("busy", busy, &[]));
    let queued = runtime.submit(macro_job("bold", TRIVIAL_MACRO, &[("text", json!("q"))]));
    runtime.close();
    assert_eq!(html(running.wait()), "44999850000");
    assert_eq!(html(queued.wait()), "<b>q</b>");
    let late = runtime.run(macro_job("bold", TRIVIAL_MACRO, &[("text", json!("late"))]));
    assert!(
        matches!(&late, Err(Failure::Unavailable(why)) if why.contains("stopped")),
        "{late:?}"
    );
    // What the closed runtime did stays readable.
    assert_eq!(runtime.counters().snapshot()["bold"].calls, 1);
    assert_eq!(runtime.counters().snapshot()["busy"].calls, 1);
}

#[test]
fn inline_mode_runs_on_the_callers_thread() {
    let runtime = blogmark_e2e::runtime(0);
    let job = macro_job("bold", TRIVIAL_MACRO, &[("text", json!("inline"))]);
    assert_eq!(html(runtime.run(job)), "<b>inline</b>");
}

#[tokio::test]
async fn requests_can_be_awaited() {
    let handle = shared_runtime().submit(macro_job(
        "bold",
        TRIVIAL_MACRO,
        &[("text", json!("async"))],
    ));
    assert_eq!(html(handle.wait_async().await), "<b>async</b>");
}

#[test]
fn a_missing_component_is_unavailable_with_the_rebuild_command() {
    let config =
        blogmark_runtime::RuntimeConfig::new(std::path::Path::new("/nonexistent/guest.wasm"));
    let failure = blogmark_runtime::Runtime::new(config)
        .err()
        .expect("no component, no runtime");
    assert_eq!(failure.class(), FailureClass::Unavailable);
    assert!(
        failure
            .to_string()
            .contains("cargo build -p blogmark-guest"),
        "{failure}"
    );
}

#[test]
fn counters_record_calls_and_failures() {
    let runtime = blogmark_e2e::runtime(1);
    for i in 0..5 {
        runtime
            .run(macro_job(
                "bold",
                TRIVIAL_MACRO,
                &[("text", json!(i.to_string()))],
            ))
            .unwrap();
    }
    let _ = runtime.run(macro_job(
        "bold",
        "def render(ctx):\n    raise ValueError('no')\n",
        &[],
    ));
    let stats = &runtime.counters().snapshot()["bold"];
    assert_eq!(stats.calls, 6);
    assert_eq!(stats.failures[&FailureClass::GuestError], 1);
    let _ = macro_request;
}

#[test]
fn forged_or_foreign_compiled_code_is_recompiled_not_trusted() {
    // Code compiled for another file name is ignored: the script's own
    // source runs.
    let other = check("def render(ctx):\n    return 'other'\n").unwrap();
    let Reply::Checked {
        code: Some(other_code),
        ..
    } = other.reply
    else {
        panic!()
    };
    let mut job = macro_job("mine", "def render(ctx):\n    return 'mine'\n", &[]);
    job.request.script.code = Some(other_code);
    assert_eq!(html(shared_runtime().run(job)), "mine");
    let mut job = macro_job("mine", "def render(ctx):\n    return 'mine'\n", &[]);
    job.request.script.code = Some("not base64 marshal!".into());
    assert_eq!(html(shared_runtime().run(job)), "mine");
}

#[test]
fn the_call_position_reaches_the_guest_only_when_asked_and_the_host_knows() {
    let with_site = |source: &str| {
        let job = Job {
            call_site: Some(CallSite {
                file: "content/posts/a.md".into(),
                line: 12,
                column: 5,
            }),
            ..macro_job("pos", source, &[("k", json!(1))])
        };
        let observed = job.observed.clone();
        let html = html(shared_runtime().run(job));
        assert!(!observed.wall_clock(), "{source}");
        (html, observed.position())
    };
    let reads =
        "def render(ctx):\n    return f'{ctx.call.file}:{ctx.call[\"line\"]}:{ctx.call.column}'\n";
    assert_eq!(with_site(reads), ("content/posts/a.md:12:5".into(), true));
    let name_only = "def render(ctx):\n    return ctx.call.name + str(sorted(ctx.call)) + str('line' in ctx.call)\n";
    assert_eq!(
        with_site(name_only),
        ("pos['column', 'file', 'line', 'name']True".into(), false)
    );
    let whole = "def render(ctx):\n    return str(dict(ctx.call) == {'name': 'pos', 'file': 'content/posts/a.md', 'line': 12, 'column': 5})\n";
    assert_eq!(with_site(whole), ("True".into(), true));
    // Without a call site (a transform, a check, or a caller that has none)
    // the position reads as empty.
    let none = html(shared_runtime().run(macro_job("pos", reads, &[])));
    assert_eq!(none, ":0:0");
}

#[test]
fn the_host_records_reads_of_the_wall_clock_whatever_the_outcome() {
    let run = |source: &str| {
        let job = macro_job("clock", source, &[]);
        let observed = job.observed.clone();
        let result = shared_runtime().run(job);
        (result.is_ok(), observed.wall_clock())
    };
    let plain = "import re, html, json\n\ndef render(ctx):\n    return html.escape(json.dumps(re.findall('a', 'banana')))\n";
    assert_eq!(run(plain), (true, false));
    assert_eq!(
        run("import time\n\ndef render(ctx):\n    return str(time.time())\n"),
        (true, true)
    );
    let today = "import datetime\n\ndef render(ctx):\n    return str(datetime.date.today())\n";
    assert_eq!(run(today), (true, true));
    let then_fails =
        "import time\n\ndef render(ctx):\n    time.time()\n    raise ValueError('late')\n";
    assert_eq!(run(then_fails), (false, true));
    // The monotonic clock starts at zero in every call: it tells nothing of
    // the build's clock.
    let monotonic = "import time\n\ndef render(ctx):\n    return str(time.monotonic() < 1)\n";
    assert_eq!(run(monotonic), (true, false));
}

#[test]
fn regex_literals_are_compiled_by_the_check_and_found_compiled_by_calls() {
    // The module body records what `re`'s cache holds before the script
    // compiles anything itself.
    let source = r#"import re as rx
import warnings
CACHED = {key[1] for key in rx._cache2}
DYNAMIC = rx.M

def render(ctx):
    words = rx.findall(r"(?P<w>\w+)-\d", ctx.args["text"], rx.I | rx.ASCII)
    spaced = rx.sub(r"\s{2,}", " ", "a   b", flags=rx.M)
    rx.compile("z+", DYNAMIC)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rx.compile("[[a]")
    big = rx.fullmatch("BIG", "y" * 9000) is not None
    seen = [p in CACHED for p in (r"(?P<w>\w+)-\d", r"\s{2,}", "z+", "[[a]", "y" * 9000)]
    return f"{words} {spaced} {seen} {len(caught)} {big}"
"#
    .replace("BIG", &"y".repeat(9000));
    let job = || macro_job("rx", &source, &[("text", json!("ab-1 C-2 x"))]);
    let first = html(shared_runtime().run(job()));
    assert_eq!(
        first, "['ab', 'C'] a b [True, True, False, False, False] 1 True",
        "literal patterns with literal flags are compiled ahead; a pattern with \
         flags read at run time is not, nor one whose compiling warns (the \
         call must still see the warning), nor one whose code would make \
         every request large"
    );
    assert_eq!(html(shared_runtime().run(job())), first);
}
