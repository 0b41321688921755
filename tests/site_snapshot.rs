//! Site snapshots built by the runtime itself (no componentize-py, no
//! Python on the machine): the base guest with more modules imported,
//! which then cost a call nothing.

use blogmark_e2e::{guest, html, macro_job};
use blogmark_host::python::SiteModules;
use blogmark_runtime::abi::Reply;
use blogmark_runtime::{
    Isolation, IsolationMode, Mode, Preload, Runtime, RuntimeConfig, SnapshotPlan, snapshot,
};
use std::sync::Arc;
use std::time::Duration;

fn plan(modules: &[&str], key: &str) -> SnapshotPlan {
    SnapshotPlan {
        base: guest(),
        modules: modules.iter().map(|m| (*m).to_owned()).collect(),
        source: Arc::new(SiteModules::default()),
        key: key.into(),
        timeout: Duration::from_secs(30),
        fuel: 10_000_000_000,
        memory_bytes: 512 << 20,
        isolation: Isolation::from_env().unwrap_or_default(),
        retry_failed: false,
    }
}

const USES_XML: &str = "import xml.etree.ElementTree as ET, tomllib\n\n\
    def render(ctx):\n    print('printed')\n    root = ET.fromstring('<a><b>x</b></a>')\n    \
    return root.find('b').text + str(tomllib.loads('k = 1')['k'])\n";

#[test]
fn a_snapshot_holds_its_modules_so_calls_import_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let built = snapshot(
        // `this` prints the Zen of Python as it imports: the snapshot holds
        // it all the same, and calls still print.
        &plan(
            &["xml.etree.ElementTree", "tomllib", "this", "no_such_module"],
            "one",
        ),
        dir.path(),
    )
    .expect("the snapshot builds");
    assert!(built.built);
    assert_eq!(built.failed.len(), 1, "{:?}", built.failed);
    assert_eq!(built.failed[0].0, "no_such_module");
    eprintln!("built in {:?}", built.elapsed);

    let mut config = RuntimeConfig::new(built.component.clone());
    config.mode = Mode::Inline;
    let runtime = Runtime::new(config).expect("the snapshot loads");
    for _ in 0..3 {
        let mut job = macro_job("xml", USES_XML, &[]);
        job.modules = Some(Arc::new(SiteModules::default()));
        let observed = job.observed.clone();
        let outcome = runtime.run(job).expect("the macro runs");
        assert_eq!(outcome.reply, Reply::Html("x1".into()));
        assert_eq!(outcome.captured.stdout, "printed\n");
        assert!(observed.modules().is_empty(), "{:?}", observed.modules());
    }

    // Without the snapshot, the same call asks for its modules.
    let base = blogmark_e2e::runtime(0);
    let mut job = macro_job("xml", USES_XML, &[]);
    job.modules = Some(Arc::new(SiteModules::default()));
    let observed = job.observed.clone();
    base.run(job).expect("the macro runs on the base guest");
    assert!(
        observed
            .modules()
            .contains(&"xml.etree.ElementTree".to_owned()),
        "{:?}",
        observed.modules()
    );

    // Built once: the second time it is read from disk.
    let again = snapshot(
        // `this` prints the Zen of Python as it imports: the snapshot holds
        // it all the same, and calls still print.
        &plan(
            &["xml.etree.ElementTree", "tomllib", "this", "no_such_module"],
            "one",
        ),
        dir.path(),
    )
    .unwrap();
    assert!(!again.built);
    assert_eq!(again.failed, built.failed);
}

/// Modules whose one module, `spin`, loops for ever while it imports.
#[derive(Debug)]
struct Looping;

impl blogmark_runtime::ModuleSource for Looping {
    fn find(&self, name: &str) -> Option<blogmark_runtime::ModuleCode> {
        (name == "spin").then(|| blogmark_runtime::ModuleCode {
            origin: "scripts/lib/spin.py".into(),
            is_package: false,
            form: blogmark_runtime::ModuleForm::Source,
            code: b"while True:\n    pass\n".to_vec().into(),
        })
    }
}

#[test]
fn a_module_that_loops_while_importing_is_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let mut plan = plan(&["spin"], "spin");
    plan.source = Arc::new(Looping);
    plan.timeout = Duration::from_millis(500);
    let failure = snapshot(&plan, dir.path()).expect_err("an endless import is stopped");
    assert!(
        failure
            .to_string()
            .contains("did not finish within the limits"),
        "{failure}"
    );
    assert!(!dir.path().join("spin.wasm").exists());

    // The failure is remembered: the next render does not pay for it again.
    let again = snapshot(&plan, dir.path()).expect_err("still failing");
    assert!(again.to_string().contains("remembered"), "{again}");
    assert!(
        again
            .to_string()
            .contains("did not finish within the limits"),
        "{again}"
    );
    assert!(again.to_string().contains("--no-cache"), "{again}");
    // Asked to, it tries again (and fails again, in its own time).
    plan.retry_failed = true;
    let retried = snapshot(&plan, dir.path()).expect_err("an endless import is stopped");
    assert!(!retried.to_string().contains("remembered"), "{retried}");
}

/// Modules whose one module, `starved`, takes the host `wait` to find: to
/// the guest's thread, as if the machine gave it no CPU for that long.
#[derive(Debug)]
struct Starving {
    wait: Duration,
}

impl blogmark_runtime::ModuleSource for Starving {
    fn find(&self, name: &str) -> Option<blogmark_runtime::ModuleCode> {
        (name == "starved").then(|| {
            std::thread::sleep(self.wait);
            blogmark_runtime::ModuleCode {
                origin: "scripts/lib/starved.py".into(),
                is_package: false,
                form: blogmark_runtime::ModuleForm::Source,
                code: b"VALUE = 1\n".to_vec().into(),
            }
        })
    }
}

/// Four times the timeout on the clock with little CPU used: the machine was
/// busy, not the import endless.
fn starving(timeout: Duration) -> Arc<Starving> {
    Arc::new(Starving { wait: timeout * 5 })
}

#[test]
fn an_import_starved_of_cpu_is_stopped_but_not_remembered() {
    let dir = tempfile::tempdir().unwrap();
    let mut plan = plan(&["starved"], "starved");
    plan.timeout = Duration::from_millis(300);
    plan.source = starving(plan.timeout);
    let failure = snapshot(&plan, dir.path()).expect_err("a starved import is stopped");
    assert!(failure.to_string().contains("too busy"), "{failure}");
    assert!(!dir.path().join("starved.failed").exists());
    // The next render tries again, and given the CPU it succeeds.
    plan.source = Arc::new(Starving {
        wait: Duration::ZERO,
    });
    let built = snapshot(&plan, dir.path()).expect("the import finishes this time");
    assert!(built.built && built.failed.is_empty(), "{:?}", built.failed);
}

/// A runtime whose instances start from an image with `preload`'s modules
/// imported (the reset-image way); `None` where reset in place is not
/// what runs (the image is then not used).
fn preloaded(preload: Preload, mode: Mode) -> Option<Runtime> {
    let isolation = Isolation::from_env().unwrap_or_default();
    if isolation.resolve().ok()?.mode != IsolationMode::Reset {
        eprintln!("no reset in place here: the reset-image way is not used");
        return None;
    }
    let mut config = RuntimeConfig::new(guest());
    config.mode = mode;
    config.engine.isolation = isolation;
    config.engine.preload = Some(preload);
    Some(Runtime::new(config).expect("the guest loads"))
}

fn preload(modules: &[&str], key: &str, dir: &std::path::Path) -> Preload {
    Preload {
        modules: modules.iter().map(|m| (*m).to_owned()).collect(),
        scripts: Vec::new(),
        source: Arc::new(SiteModules::default()),
        key: key.into(),
        timeout: Duration::from_secs(30),
        fuel: 10_000_000_000,
        memory_bytes: 512 << 20,
        dir: Some(dir.to_path_buf()),
        retry_failed: false,
    }
}

/// What a call sees of the state it starts from: which modules are
/// imported already, how many, its random numbers, whether the snapshot's
/// objects are immortal.
const STATE: &str = "import sys, random\n\n\
    def render(ctx):\n    \
    before = 'xml.etree.ElementTree' in sys.modules\n    \
    import xml.etree.ElementTree as ET\n    \
    return f'{before} {len(sys.modules)} {random.random()} {sys.getrefcount(ET) >= 1 << 30}'\n";

#[test]
fn the_reset_image_way_imports_once_and_every_call_starts_from_the_image() {
    let dir = tempfile::tempdir().unwrap();
    let modules = ["xml.etree.ElementTree", "tomllib", "this", "no_such_module"];
    let Some(runtime) = preloaded(
        preload(&modules, "image", dir.path()),
        Mode::Worker { workers: 2 },
    ) else {
        return;
    };
    let report = runtime
        .engine()
        .preload_report()
        .expect("a preload")
        .clone();
    assert!(!report.from_disk);
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(report.failed.len(), 1, "{:?}", report.failed);
    assert_eq!(report.failed[0].0, "no_such_module");
    assert!(dir.path().join("image.image").is_file());

    // Every call, on either worker's instances, fresh or reset, sees the
    // same state: the modules already there, their objects immortal.
    let mut answers = Vec::new();
    for _ in 0..6 {
        let mut job = macro_job("state", STATE, &[]);
        job.modules = Some(Arc::new(SiteModules::default()));
        let observed = job.observed.clone();
        answers.push(html(runtime.run(job)));
        assert!(observed.modules().is_empty(), "{:?}", observed.modules());
    }
    assert!(answers[0].starts_with("True "), "{}", answers[0]);
    assert!(answers[0].ends_with(" True"), "{}", answers[0]);
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    // The module a call imports itself, and what `this` printed while it
    // imported, are not kept.
    let mut job = macro_job("xml", USES_XML, &[]);
    job.modules = Some(Arc::new(SiteModules::default()));
    let outcome = runtime.run(job).expect("the macro runs");
    assert_eq!(outcome.reply, Reply::Html("x1".into()));
    assert_eq!(outcome.captured.stdout, "printed\n");
    drop(runtime);

    // The next process reads the image from the disk, and its calls start
    // from the same state.
    let again = preloaded(preload(&modules, "image", dir.path()), Mode::Inline).unwrap();
    let report = again.engine().preload_report().unwrap().clone();
    assert!(report.from_disk);
    assert_eq!(report.failed[0].0, "no_such_module");
    let mut job = macro_job("state", STATE, &[]);
    job.modules = Some(Arc::new(SiteModules::default()));
    assert_eq!(html(again.run(job)), answers[0]);
}

/// A call that writes a module's attribute and a few hundred KB of new
/// objects: what it answers shows whether a call before it left anything.
const WRITES: &str = "import tomllib\n\n\
    def render(ctx):\n    \
    seen = getattr(tomllib, 'seen', 0)\n    \
    tomllib.seen = seen + 1\n    \
    junk = [str(i) * 40 for i in range(3000)]\n    \
    return f'{seen} {len(junk)} {sum(map(len, junk))}'\n";

/// A process that reads the image from the disk maps it into each new
/// instance instead of copying its 15 MB: the instance's memory is a
/// private, writable mapping of the image file, and calls that write all
/// over it still each start from the image, checked page for page.
#[test]
fn an_image_read_from_disk_is_mapped_into_each_instance_and_every_call_starts_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let modules = ["tomllib"];
    let Some(first) = preloaded(preload(&modules, "mapped", dir.path()), Mode::Inline) else {
        return;
    };
    let mut job = macro_job("writes", WRITES, &[]);
    job.modules = Some(Arc::new(SiteModules::default()));
    assert_eq!(html(first.run(job)), "0 3000 435600");
    drop(first);
    let file = dir.path().join("mapped.image");
    assert!(file.is_file());

    let mut config = RuntimeConfig::new(guest());
    config.mode = Mode::Worker { workers: 1 };
    config.engine.isolation = Isolation::from_env().unwrap_or_default();
    config.engine.preload = Some(preload(&modules, "mapped", dir.path()));
    config.engine.verify_every = 1;
    let runtime = Runtime::new(config).expect("the guest loads");
    assert!(runtime.engine().preload_report().unwrap().from_disk);
    let answers: Vec<String> = (0..8)
        .map(|_| {
            let mut job = macro_job("writes", WRITES, &[]);
            job.modules = Some(Arc::new(SiteModules::default()));
            html(runtime.run(job))
        })
        .collect();
    assert_eq!(answers[0], "0 3000 435600", "{answers:?}");
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");

    // The instance's memory is the file, mapped writable and private (the
    // image the resets copy from is the same file, mapped read-only).
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let name = file.to_str().unwrap();
    let perms: Vec<&str> = maps
        .lines()
        .filter(|l| l.ends_with(name))
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert!(perms.contains(&"rw-p"), "{perms:?} in\n{maps}");
    assert!(perms.contains(&"r--p"), "{perms:?} in\n{maps}");
    // Every call was served by a reset instance, and every reset compared
    // the whole memory with the image and found it equal.
    let stats = runtime.engine().isolation_counters().snapshot();
    assert!(stats.resets >= 7, "{stats:?}");
    assert!(stats.full_checks >= 7, "{stats:?}");
    assert_eq!(stats.mismatches, 0, "{stats:?}");
    assert!(stats.discarded.is_empty(), "{stats:?}");
}

#[test]
fn a_preload_that_loops_is_stopped_remembered_and_calls_still_import() {
    let dir = tempfile::tempdir().unwrap();
    let mut plan = preload(&["spin"], "spin", dir.path());
    plan.source = Arc::new(Looping);
    plan.timeout = Duration::from_millis(300);
    let Some(runtime) = preloaded(plan.clone(), Mode::Inline) else {
        return;
    };
    let error = runtime.engine().preload_report().unwrap().error.clone();
    let error = error.expect("an endless import is stopped");
    assert!(
        error.contains("did not finish within the limits"),
        "{error}"
    );
    assert!(!dir.path().join("spin.image").exists());
    // The sandbox still serves, from the base guest's image.
    let mut job = macro_job("xml", USES_XML, &[]);
    job.modules = Some(Arc::new(SiteModules::default()));
    assert_eq!(runtime.run(job).unwrap().reply, Reply::Html("x1".into()));
    drop(runtime);

    // Remembered: the next process does not import again...
    let again = preloaded(plan.clone(), Mode::Inline).unwrap();
    let error = again
        .engine()
        .preload_report()
        .unwrap()
        .error
        .clone()
        .unwrap();
    assert!(error.contains("remembered"), "{error}");
    assert!(error.contains("--no-cache"), "{error}");
    drop(again);
    // ...unless asked to.
    plan.retry_failed = true;
    let retried = preloaded(plan, Mode::Inline).unwrap();
    let report = retried.engine().preload_report().unwrap();
    assert!(
        !report.retry,
        "the inputs' failure: the same inputs fail again"
    );
    let error = report.error.clone().unwrap();
    assert!(!error.contains("remembered"), "{error}");
    assert!(
        error.contains("did not finish within the limits"),
        "{error}"
    );
}

#[test]
fn a_preload_starved_of_cpu_is_stopped_but_not_remembered() {
    let dir = tempfile::tempdir().unwrap();
    let mut plan = preload(&["starved"], "starved", dir.path());
    plan.timeout = Duration::from_millis(300);
    plan.source = starving(plan.timeout);
    let Some(runtime) = preloaded(plan.clone(), Mode::Inline) else {
        return;
    };
    let report = runtime.engine().preload_report().unwrap();
    assert!(report.retry, "the machine's failure, to try again");
    let error = report.error.clone();
    let error = error.expect("a starved import is stopped");
    assert!(error.contains("too busy"), "{error}");
    assert!(!dir.path().join("starved.failed").exists());
    drop(runtime);
    // The next process tries again, and given the CPU it succeeds.
    plan.source = Arc::new(Starving {
        wait: Duration::ZERO,
    });
    let again = preloaded(plan, Mode::Inline).unwrap();
    let report = again.engine().preload_report().unwrap();
    assert!(report.error.is_none(), "{:?}", report.error);
    assert!(dir.path().join("starved.image").is_file());
}

/// The guest as a render runs it: the base guest, and a site snapshot.
fn both_guests() -> [(&'static str, Runtime); 2] {
    let isolation = Isolation::from_env().unwrap_or_default();
    [
        ("the base guest", blogmark_e2e::runtime_in(0, isolation)),
        (
            "a site snapshot",
            blogmark_e2e::runtime_on(blogmark_e2e::site_guest(), 0, isolation, None),
        ),
    ]
}

/// A call's small objects come one after the other from free space, not
/// from the small blocks that building the snapshot freed all over the
/// heap: those put 300 objects of 24 or 32 bytes on 60 to 190 pages, each a
/// page the reset in place then copied back (and how many moved from one
/// build of the guest to the next, with its layout).
#[test]
fn a_calls_small_objects_share_pages_instead_of_scattering_over_the_heap() {
    const KINDS: [&str; 3] = ["bytes of 32 bytes", "ints", "floats"];
    // Each kind's objects are kept while the next are made, so that none
    // reuses the blocks of another.
    const SPREAD: &str = "def render(ctx):\n    \
        pages, kept = [], []\n    \
        for make in (lambda i: bytes(11), lambda i: 1000003 * (i + 2), lambda i: 1.5 * (i + 2)):\n        \
        held = [None] * 300\n        \
        for i in range(300):\n            \
        held[i] = make(i)\n        \
        pages.append(len({id(x) >> 12 for x in held}))\n        \
        kept.append(held)\n    \
        return ' '.join(map(str, pages))\n";
    for (guest, runtime) in both_guests() {
        let counts = html(runtime.run(macro_job("spread", SPREAD, &[])));
        let pages: Vec<usize> = counts.split(' ').map(|n| n.parse().unwrap()).collect();
        for (kind, pages) in KINDS.iter().zip(pages) {
            assert!(
                pages < 40,
                "on {guest}, 300 {kind} are on {pages} pages ({counts})"
            );
        }
    }
}

/// CPython specializes bytecode in place, from its second run on. The
/// dispatcher runs requests enough times while the snapshot is taken that
/// its code is specialized there: otherwise every call would specialize it
/// anew (the state resets), and write its pages again.
#[test]
fn the_dispatchers_bytecode_is_specialized_in_the_snapshot() {
    // What a call runs before the script is the snapshot's code with one
    // more run: more runs specialize nothing more.
    const MORE_RUNS: &str = "import dis, sys\n\ndef render(ctx):\n    \
        d = sys.modules['dispatcher']\n    \
        def specialized():\n        \
        return sum(i.opname not in dis.opmap for f in (d._precompiled, d._freeze)\n                   \
        for i in dis.get_instructions(f, adaptive=True))\n    \
        before = specialized()\n    \
        script = {'slug': 'x', 'entrypoint': 'render', 'path': 'x.py', 'source': 'x = 1\\n'}\n    \
        script['code'] = d._check({'script': script})['code']\n    \
        for _ in range(4):\n        \
        d._precompiled(script, 'x.py')\n        \
        d._freeze({'a': [1, {'b': 2}]})\n    \
        return f'{before} {specialized()}'\n";
    for (guest, runtime) in both_guests() {
        let counts = html(runtime.run(macro_job("more_runs", MORE_RUNS, &[])));
        let (before, after) = counts.split_once(' ').unwrap();
        assert!(before.parse::<u32>().unwrap() > 0, "{guest}: {counts}");
        assert_eq!(
            before, after,
            "on {guest}, the dispatcher's code was specialized further by more runs"
        );
    }
}

/// A script with state of its own and random numbers: what it answers
/// shows where its module body ran and what seed it drew from.
const STATEFUL: &str = "import random\n\nCALLS = []\n\n\
    def render(ctx):\n    CALLS.append(1)\n    \
    return f'{len(CALLS)} {random.random()} {ctx.args[\"t\"]}'\n";

/// A script that fails on its second line.
const FAILS: &str = "def render(ctx):\n    return str(1 / 0)\n";

#[test]
fn scripts_compiled_into_the_image_are_sent_by_key_and_answer_as_sent_whole() {
    let dir = tempfile::tempdir().unwrap();
    let answers = |runtime: &Runtime, source: &str| -> Vec<String> {
        (0..3)
            .map(|i| {
                let job = macro_job("stateful", source, &[("t", serde_json::json!(i))]);
                html(runtime.run(job))
            })
            .chain(std::iter::once(
                match runtime.run(macro_job("fails", FAILS, &[])) {
                    Err(failure) => format!("{failure:?}"),
                    Ok(outcome) => panic!("{outcome:?}"),
                },
            ))
            .collect()
    };
    // The answers of the scripts sent whole, on an image made without them.
    let Some(plain) = preloaded(preload(&[], "same", dir.path()), Mode::Inline) else {
        return;
    };
    let expected = answers(&plain, STATEFUL);
    assert_eq!(
        plain
            .engine()
            .isolation_counters()
            .snapshot()
            .preloaded_scripts,
        0
    );
    drop(plain);
    assert!(expected[0].starts_with("1 0."), "{expected:?}");
    assert!(expected[3].contains("ZeroDivisionError"), "{}", expected[3]);
    assert!(expected[3].contains("return str(1 / 0)"), "{}", expected[3]);

    // The same modules with scripts: the image made above (the modules'
    // image) is not made again; the scripts are compiled into a layer over
    // it, kept beside it for the next process.
    let layers = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                name.starts_with("same.") && name.ends_with(".image") && name != "same.image"
            })
            .collect()
    };
    assert!(layers().is_empty());
    let mut with_scripts = preload(&[], "same", dir.path());
    with_scripts.scripts = vec![
        blogmark_e2e::script("stateful", STATEFUL),
        blogmark_e2e::script("fails", FAILS),
        blogmark_e2e::script("broken", "def render(ctx)\n"),
    ];
    let mut layer_written = None;
    for mode in [Mode::Worker { workers: 2 }, Mode::Inline] {
        let runtime = preloaded(with_scripts.clone(), mode).unwrap();
        let report = runtime.engine().preload_report().unwrap().clone();
        assert!(
            report.from_disk,
            "the modules' image is the one made before"
        );
        let [layer] = &layers()[..] else {
            panic!("one layer: {:?}", layers())
        };
        let written = std::fs::metadata(layer).unwrap().modified().unwrap();
        // The second process maps the first one's layer.
        assert_eq!(*layer_written.get_or_insert(written), written);
        // The script that does not compile is left out.
        assert_eq!(report.scripts.len(), 2, "{:?}", report.scripts);
        // Each call starts from the image: its module body runs anew (the
        // count is 1 every time), it draws the numbers it drew when sent
        // whole, and a failure quotes the same line.
        assert_eq!(answers(&runtime, STATEFUL), expected);
        assert_eq!(
            runtime
                .engine()
                .isolation_counters()
                .snapshot()
                .preloaded_scripts,
            4
        );
        // A script edited since the image was made is sent whole, and runs.
        let edited = STATEFUL.replace("CALLS = []", "CALLS = [0]");
        let job = macro_job("stateful", &edited, &[("t", serde_json::json!(0))]);
        assert!(html(runtime.run(job)).starts_with("2 0."));
        assert_eq!(
            runtime
                .engine()
                .isolation_counters()
                .snapshot()
                .preloaded_scripts,
            4
        );
    }
}

/// A script of one site, with a mark no other script holds.
const SECRET: &str = "def render(ctx):\n    return 'mark-7f3a91-of-site-a'\n";

/// What a call can find of other scripts: the lines tracebacks quote, and
/// every object the collector knows.
const SNOOP: &str = "import gc, linecache\n\n\
    def render(ctx):\n    \
    mark = 'mark-7f3a91' + '-of-site-a'\n    \
    seen = mark in repr(linecache.cache)\n    \
    for obj in gc.get_objects():\n        \
        if isinstance(obj, tuple) and any(isinstance(x, str) and mark in x for x in obj):\n            \
            seen = True\n    \
    return f'{seen} {len(linecache.cache)}'\n";

#[test]
fn one_sites_scripts_are_not_in_another_sites_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    // Site A renders first: its script is compiled over the modules' image
    // every site importing nothing more shares.
    let mut site_a = preload(&[], "shared", dir.path());
    site_a.scripts = vec![blogmark_e2e::script("secret", SECRET)];
    let Some(a) = preloaded(site_a, Mode::Inline) else {
        return;
    };
    let job = macro_job("secret", SECRET, &[]);
    assert_eq!(html(a.run(job)), "mark-7f3a91-of-site-a");
    assert_eq!(
        a.engine().isolation_counters().snapshot().preloaded_scripts,
        1
    );
    drop(a);
    // Site B, same modules: its calls find nothing of site A's script.
    let mut site_b = preload(&[], "shared", dir.path());
    site_b.scripts = vec![blogmark_e2e::script("snoop", SNOOP)];
    let b = preloaded(site_b, Mode::Inline).unwrap();
    let answer = html(b.run(macro_job("snoop", SNOOP, &[])));
    assert!(answer.starts_with("False "), "{answer}");
    assert_eq!(
        b.engine().isolation_counters().snapshot().preloaded_scripts,
        1
    );
}
