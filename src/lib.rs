//! Support for Blogmark's end-to-end tests and benchmarks: a runtime on the
//! real guest component, and request builders.

pub mod thresholds;

use blogmark_runtime::abi::{MacroCall, Operation, Reply, Request, Script, Site};
use blogmark_runtime::{
    Failure, GuestComponent, Isolation, Job, Limits, Mode, Outcome, Runtime, RuntimeConfig,
};
use serde_json::{Map, Value};
use std::sync::OnceLock;

/// The guest component the binaries embed, or the file
/// `$BLOGMARK_GUEST_WASM` names.
pub fn guest() -> GuestComponent {
    match blogmark_guest::override_path() {
        Some(path) => GuestComponent::File(path),
        None => GuestComponent::Known {
            sha256: blogmark_guest::EMBEDDED_SHA256.to_owned(),
            bytes: blogmark_guest::embedded_component,
        },
    }
}

/// A runtime on the real component, with `workers` workers (0: inline),
/// in the default isolation (`$BLOGMARK_ISOLATION`, else `auto`).
pub fn runtime(workers: usize) -> Runtime {
    runtime_in(workers, Isolation::from_env().unwrap_or_default())
}

/// A runtime on the real component, with `workers` workers (0: inline),
/// in `isolation`.
pub fn runtime_in(workers: usize, isolation: Isolation) -> Runtime {
    runtime_with(workers, isolation, None)
}

/// [`runtime_in`], saying whether `reset` workers reset on a helper thread
/// (`None`: the runtime's default).
pub fn runtime_with(workers: usize, isolation: Isolation, reset_helper: Option<bool>) -> Runtime {
    runtime_on(guest(), workers, isolation, reset_helper)
}

/// [`runtime_with`] on `component`.
pub fn runtime_on(
    component: GuestComponent,
    workers: usize,
    isolation: Isolation,
    reset_helper: Option<bool>,
) -> Runtime {
    let mut config = RuntimeConfig::new(component);
    config.reset_helper = reset_helper;
    config.engine.isolation = isolation;
    config.mode = if workers == 0 {
        Mode::Inline
    } else {
        Mode::Worker { workers }
    };
    Runtime::new(config).expect("the guest component loads")
}

/// The guest as a site's render runs it: snapshotted once more with no
/// module added, so that every object it holds is immortal. Built once per
/// process, in a temporary folder.
pub fn site_guest() -> GuestComponent {
    static SITE: OnceLock<(tempfile::TempDir, GuestComponent)> = OnceLock::new();
    SITE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let plan = blogmark_runtime::SnapshotPlan {
            base: guest(),
            modules: Vec::new(),
            source: std::sync::Arc::new(NoModules),
            key: "site".into(),
            timeout: std::time::Duration::from_secs(60),
            fuel: 10_000_000_000,
            memory_bytes: 512 << 20,
            isolation: Isolation::from_env().unwrap_or_default(),
            retry_failed: false,
        };
        let built = blogmark_runtime::snapshot(&plan, dir.path()).expect("the snapshot builds");
        (dir, built.component)
    })
    .1
    .clone()
}

/// A module source with no module: the snapshot of [`site_guest`] adds none.
#[derive(Debug)]
struct NoModules;

impl blogmark_runtime::ModuleSource for NoModules {
    fn find(&self, _name: &str) -> Option<blogmark_runtime::ModuleCode> {
        None
    }
}

/// The HTML a macro call answered; panics on a failure or another reply.
pub fn html(result: Result<Outcome, Failure>) -> String {
    match result.expect("the macro succeeds").reply {
        Reply::Html(html) => html,
        other => panic!("expected HTML, got {other:?}"),
    }
}

/// One runtime with two workers shared by a test binary.
pub fn shared_runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| runtime(2))
}

/// A script named `slug` with entrypoint `render`.
pub fn script(slug: &str, source: &str) -> Script {
    Script {
        slug: slug.into(),
        entrypoint: "render".into(),
        path: format!("scripts/{slug}.py"),
        source: source.into(),
        code: None,
        preloaded: None,
    }
}

/// A macro request for `source` with named `args`.
pub fn macro_request(slug: &str, source: &str, args: &[(&str, Value)]) -> Request {
    let args: Map<String, Value> = args
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    let call = MacroCall {
        name: slug.into(),
        args,
        ..MacroCall::default()
    };
    Request::new(
        script(slug, source),
        Operation::Macro {
            call,
            page: None,
            site: Site {
                title: "Test blog".into(),
                base_url: "https://example.org/".into(),
            },
        },
    )
}

/// A macro job with default limits, but for time: 30 s rather than 1 s.
/// The suite runs many tests at once on two cores, and a call that must
/// succeed should not depend on the machine's load; fuel still bounds its
/// work. Tests of the time limit set their own ([`macro_job_with`]).
pub fn macro_job(slug: &str, source: &str, args: &[(&str, Value)]) -> Job {
    Job {
        limits: Limits {
            timeout: std::time::Duration::from_secs(30),
            ..Limits::default()
        },
        ..Job::new(macro_request(slug, source, args))
    }
}

/// A macro job with the given limits.
pub fn macro_job_with(slug: &str, source: &str, limits: Limits) -> Job {
    Job {
        limits,
        ..macro_job(slug, source, &[])
    }
}

/// The trivial macro of the benchmarks.
pub const TRIVIAL_MACRO: &str = "def render(ctx):\n    return '<b>' + ctx.args['text'] + '</b>'\n";

/// A macro that uses `re` and `html`, as real macros do.
pub const RE_HTML_MACRO: &str = r#"import html, re

def render(ctx):
    words = re.findall(r"\w+", ctx.args["text"])
    return "<span>" + html.escape(" ".join(w.capitalize() for w in words)) + "</span>"
"#;

/// Resident set size of this process, in bytes (Linux), for memory checks.
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

pub mod site_gen;

/// Run the test `name` (its full path, e.g. `sandbox_memory::measured`;
/// marked `#[ignore]` so that it runs only this way) in a process of its
/// own and check that it passed: for a test that measures its process,
/// which the others share.
pub fn alone(name: &str) {
    let out = std::process::Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", name, "--ignored", "--test-threads=1"])
        .output()
        .expect("the test binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{name}, in a process of its own:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
