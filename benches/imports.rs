//! What an import costs a call, with and without the site snapshot: a
//! macro that imports `xml.etree.ElementTree`, a `scripts/lib/` module and
//! a vendored package and then does the trivial macro's work (`imports`),
//! one that uses them (`uses`: an XML parse, a regular expression), and the
//! trivial macro, on the base guest and on a site snapshot holding those
//! modules (reset in place where the kernel
//! allows, else a fresh instance; inline). Then the time to build a site
//! snapshot, cold (built and compiled) and cached (read and loaded).
//!
//! `cargo bench --bench imports`. The snapshot lands in a temporary cache
//! folder, so the cold build is cold.

use blogmark_e2e::{TRIVIAL_MACRO, guest, macro_job};
use blogmark_host::packages::{LOCK_FILE, Lock, LockedPackage};
use blogmark_host::python::SiteModules;
use blogmark_runtime::{
    GuestComponent, Isolation, Job, Limits, Mode, Runtime, RuntimeConfig, SnapshotPlan, snapshot,
};
use criterion::{Criterion, criterion_group};
use hdrhistogram::Histogram;
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The trivial macro's work, after importing the three modules.
const IMPORTS_MACRO: &str = "import xml.etree.ElementTree as ET\nimport textkit\nimport tinyslug\n\n\
    def render(ctx):\n    return '<b>' + ctx.args['text'] + '</b>'\n";

/// Three imports of modules the base snapshot holds, then the trivial work:
/// what any import statement costs a call.
const BASE_IMPORTS_MACRO: &str = "import re\nimport html\nimport json\n\n\
    def render(ctx):\n    return '<b>' + ctx.args['text'] + '</b>'\n";

/// The same imports, used: an XML parse, a regular expression.
const USES_MACRO: &str = "import xml.etree.ElementTree as ET\nimport textkit\nimport tinyslug\n\n\
    def render(ctx):\n    root = ET.fromstring('<p>' + ctx.args['text'] + '</p>')\n    \
    return textkit.loud(tinyslug.slug(root.text))\n";

const MODULES: [&str; 3] = ["xml.etree.ElementTree", "textkit", "tinyslug"];

/// A site with a library module and a vendored package (locked by hand:
/// no pip in a benchmark).
fn site(root: &Path) -> Arc<SiteModules> {
    let write = |path: &str, text: &str| {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "scripts/lib/textkit.py",
        "def loud(s):\n    return s.upper() + '!'\n",
    );
    let package =
        "import re\n\ndef slug(s):\n    return '-'.join(re.findall(r'[a-z0-9]+', s.lower()))\n";
    write("scripts/vendor/tinyslug/__init__.py", package);
    let lock = Lock {
        version: Lock::VERSION,
        dependencies: vec!["tinyslug==1.0".into()],
        packages: vec![LockedPackage {
            name: "tinyslug".into(),
            version: "1.0".into(),
            wheel: "tinyslug-1.0-py3-none-any.whl".into(),
            sha256: "0".repeat(64),
            left_out: Vec::new(),
            files: [(
                "tinyslug/__init__.py".to_owned(),
                blogmark_host::input::content_hash(package.as_bytes()),
            )]
            .into(),
        }],
    };
    write(LOCK_FILE, &lock.to_text());
    let modules = SiteModules::load(root, &lock.dependencies);
    assert!(modules.problems().is_empty(), "{:?}", modules.problems());
    Arc::new(modules)
}

fn isolation() -> Isolation {
    Isolation::from_env().unwrap_or_default()
}

fn runtime(component: GuestComponent) -> Runtime {
    let mut config = RuntimeConfig::new(component);
    config.mode = Mode::Inline;
    config.engine.isolation = isolation();
    Runtime::new(config).expect("the guest loads")
}

fn plan(modules: &Arc<SiteModules>) -> SnapshotPlan {
    SnapshotPlan {
        base: guest(),
        modules: MODULES.iter().map(|m| (*m).to_owned()).collect(),
        source: modules.clone(),
        key: "bench-imports".into(),
        timeout: Duration::from_secs(30),
        fuel: Limits::default().fuel * 10,
        memory_bytes: Limits::default().memory_bytes,
        isolation: isolation(),
        retry_failed: false,
    }
}

fn job(source: &str, i: usize, modules: &Arc<SiteModules>) -> Job {
    let mut job = macro_job(
        "m",
        source,
        &[("text", json!(format!("Hello World {}", i % 20)))],
    );
    job.modules = Some(modules.clone());
    job
}

struct Setup {
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    modules: Arc<SiteModules>,
    base: Runtime,
    snapshot: Runtime,
    cold: Duration,
    cached: Duration,
}

fn setup() -> Setup {
    let site_dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    // SAFETY: set before any thread of this process reads the environment.
    unsafe { std::env::set_var("BLOGMARK_CACHE_DIR", cache.path()) };
    let modules = site(site_dir.path());
    let dir = blogmark_runtime::default_snapshot_dir().unwrap();
    let started = Instant::now();
    let built = snapshot(&plan(&modules), &dir).expect("the snapshot builds");
    assert!(built.built && built.failed.is_empty(), "{:?}", built.failed);
    let snapshot_runtime = runtime(built.component);
    let cold = started.elapsed();
    drop(snapshot_runtime);
    let started = Instant::now();
    let again = snapshot(&plan(&modules), &dir).unwrap();
    assert!(!again.built);
    let snapshot_runtime = runtime(again.component);
    let cached = started.elapsed();
    Setup {
        base: runtime(guest()),
        snapshot: snapshot_runtime,
        modules,
        cold,
        cached,
        _dirs: (site_dir, cache),
    }
}

fn bench(c: &mut Criterion) {
    let setup = setup();
    let mut group = c.benchmark_group("imports");
    for (name, runtime, source) in [
        ("base/trivial", &setup.base, TRIVIAL_MACRO),
        ("base/imports", &setup.base, IMPORTS_MACRO),
        ("base/uses", &setup.base, USES_MACRO),
        ("snapshot/trivial", &setup.snapshot, TRIVIAL_MACRO),
        ("snapshot/base_imports", &setup.snapshot, BASE_IMPORTS_MACRO),
        ("snapshot/imports", &setup.snapshot, IMPORTS_MACRO),
        ("snapshot/uses", &setup.snapshot, USES_MACRO),
    ] {
        let mut i = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                i += 1;
                runtime
                    .run(job(source, i, &setup.modules))
                    .expect("the macro runs")
            })
        });
    }
    group.finish();

    // Per call, each macro on its own after 200 calls of warm-up: a call
    // pays for resetting what the call before it wrote, so macros taking
    // turns would charge each other.
    println!(
        "\nper-call latency, inline, {} (1,000 calls of each macro after 200 of warm-up):",
        setup.base.isolation()
    );
    let macros = [
        ("trivial", TRIVIAL_MACRO),
        ("base imports", BASE_IMPORTS_MACRO),
        ("imports", IMPORTS_MACRO),
        ("uses", USES_MACRO),
    ];
    for (guest, runtime) in [
        ("base guest", &setup.base),
        ("site snapshot", &setup.snapshot),
    ] {
        for (name, source) in macros {
            let mut histogram = Histogram::<u64>::new(3).unwrap();
            for i in 0..1_200 {
                let job = job(source, i, &setup.modules);
                let started = Instant::now();
                runtime.run(job).expect("the macro runs");
                if i >= 200 {
                    histogram
                        .record(started.elapsed().as_micros() as u64)
                        .unwrap();
                }
            }
            println!(
                "  {guest}, {name:<14} p50 {:>6} us  p95 {:>6} us",
                histogram.value_at_quantile(0.5),
                histogram.value_at_quantile(0.95)
            );
        }
    }
    println!(
        "site snapshot of {} modules: cold (built and compiled) {:.2} s, cached (read and loaded) {:.3} s",
        MODULES.len(),
        setup.cold.as_secs_f64(),
        setup.cached.as_secs_f64()
    );
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
