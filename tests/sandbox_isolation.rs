//! Reset in place is indistinguishable from a fresh instance per request:
//! random sequences of requests, hostile ones included, give the same
//! replies, failure classes, output and fuel in both isolations; the memory
//! equals the image after every reset, on the base guest and on a snapshot
//! whose objects are immortal; `auto` falls back to `instance` where
//! userfaultfd is refused; and an ordinary user can reset in place.

use blogmark_e2e::{TRIVIAL_MACRO, macro_job, macro_job_with};
use blogmark_runtime::abi::Reply;
use blogmark_runtime::{
    Captured, EngineSettings, Failure, Isolation, IsolationMode, Job, Limits, Mode, Runtime,
    RuntimeConfig,
};
use proptest::prelude::*;
use serde_json::json;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

fn settings(isolation: Isolation) -> EngineSettings {
    let mut engine = EngineSettings::new(blogmark_e2e::guest());
    engine.isolation = isolation;
    engine.verify_every = 1;
    engine
}

fn runtime_with(isolation: Isolation) -> Runtime {
    let mut config = RuntimeConfig::new(blogmark_e2e::guest());
    config.engine = settings(isolation);
    config.mode = Mode::Worker { workers: 1 };
    Runtime::new(config).expect("the guest component loads")
}

/// Whether this machine can reset in place; the tests that need it say so
/// and stop where it cannot (a kernel before 6.7).
fn reset_available() -> bool {
    let auto = Isolation::Auto.resolve().expect("auto always resolves");
    if auto.mode != IsolationMode::Reset {
        eprintln!("reset in place is not available here: {}", auto.reason);
    }
    auto.mode == IsolationMode::Reset
}

/// One runtime per isolation, each with one worker so that the reset one
/// serves every request of a sequence in the same instance.
fn pair() -> &'static (Runtime, Runtime) {
    static PAIR: OnceLock<(Runtime, Runtime)> = OnceLock::new();
    PAIR.get_or_init(|| {
        (
            runtime_with(Isolation::Reset),
            runtime_with(Isolation::Instance),
        )
    })
}

/// The requests a sequence is made of.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Plain,
    Printing,
    Random,
    Raises,
    Loop,
    Timeout,
    MemoryBomb,
    Recursion,
    Flood,
    Exit,
    Forged,
    Sleep,
    SetsGlobals,
    PatchesBuiltins,
    FillsCaches,
    Observer,
    PatchesJson,
}

const KINDS: [Kind; 17] = [
    Kind::Plain,
    Kind::Printing,
    Kind::Random,
    Kind::Raises,
    Kind::Loop,
    Kind::Timeout,
    Kind::MemoryBomb,
    Kind::Recursion,
    Kind::Flood,
    Kind::Exit,
    Kind::Forged,
    Kind::Sleep,
    Kind::SetsGlobals,
    Kind::PatchesBuiltins,
    Kind::FillsCaches,
    Kind::Observer,
    Kind::PatchesJson,
];

/// What every request reads of the state others may have left behind.
const OBSERVE: &str = r#"
import builtins, json, re, sys, random, functools
def observe():
    return repr((hasattr(builtins, "LEAK"), len("abc"), getattr(json, "LEAK", None),
                 len(getattr(re, "_cache", ())), sorted(k for k in sys.modules if k.startswith("leak")),
                 random.random(), json.dumps([1, 2])))
"#;

fn job(kind: Kind, n: u32) -> Job {
    let text = format!("v{n}");
    let limits = Limits {
        timeout: Duration::from_millis(5_000),
        ..Limits::default()
    };
    let body = match kind {
        Kind::Plain => return macro_job("bold", TRIVIAL_MACRO, &[("text", json!(text))]),
        Kind::Printing => format!(
            "    print('out', {n}, random.random())\n    print('err', file=sys.stderr)\n    return 'p{n}'"
        ),
        Kind::Random => "    return str([random.randint(0, 10**9) for _ in range(5)])".into(),
        Kind::Raises => format!("    raise ValueError('boom {n}')"),
        Kind::Loop => {
            let source = format!("def render(ctx):\n    i = 0\n    while True:\n        i += {n}\n");
            return macro_job_with(
                "hostile",
                &source,
                Limits {
                    fuel: 20_000_000 + u64::from(n) * 1_000_000,
                    ..limits
                },
            );
        }
        Kind::Timeout => {
            let source = "def render(ctx):\n    while True:\n        pass\n";
            return macro_job_with(
                "hostile",
                source,
                Limits {
                    timeout: Duration::from_millis(100),
                    fuel: u64::MAX / 4,
                    ..limits
                },
            );
        }
        Kind::MemoryBomb => {
            "    xs = []\n    while True:\n        xs.append(bytearray(4_000_000))".into()
        }
        Kind::Recursion => {
            "    sys.setrecursionlimit(10**9)\n    def f(k):\n        return f(k + 1) + 1\n    return str(f(0))"
                .into()
        }
        Kind::Flood => "    while True:\n        print('x' * 100_000)".into(),
        Kind::Exit => format!("    sys.exit({n})"),
        Kind::Forged => "    import dispatcher\n    dispatcher._to_json = lambda *a, **k: '[1, 2]'\n    return 'x'".into(),
        Kind::Sleep => {
            let ms = if n.is_multiple_of(2) { 10 } else { 60_000 };
            format!("    import time\n    t = time.monotonic()\n    time.sleep({ms} / 1000)\n    return str(time.monotonic() - t)")
        }
        Kind::SetsGlobals => {
            "    builtins.LEAK = 1\n    json.LEAK = 'set'\n    sys.modules['leak_mod'] = sys\n    random.seed(7)\n    return observe()"
                .into()
        }
        Kind::PatchesBuiltins => {
            "    builtins.len = lambda x: 42\n    builtins.isinstance = lambda *a: False\n    return observe()".into()
        }
        Kind::FillsCaches => format!(
            "    for i in range(300):\n        re.compile('a{{%d}}b{n}' % i)\n    functools.lru_cache(None)(str)(1)\n    return observe()"
        ),
        Kind::Observer => "    return observe()".into(),
        Kind::PatchesJson => {
            "    json.JSONEncoder.item_separator = ';'\n    json.dumps = lambda *a, **k: 'forged'\n    json.loads = None\n    return 'still fine'"
                .into()
        }
    };
    let source = format!("{OBSERVE}\ndef render(ctx):\n{body}\n");
    macro_job_with(
        &format!("k{}", kind as u8),
        &source,
        Limits {
            memory_bytes: 48 << 20,
            ..limits
        },
    )
}

/// What a request's end looks like, comparable across isolations: reply,
/// output and fuel, or the failure; fuel only where no deadline ended the call.
#[derive(Debug, PartialEq)]
enum Seen {
    Ok(Reply, Captured, u64),
    Failed(Failure),
}

fn seen(result: Result<blogmark_runtime::Outcome, Failure>) -> Seen {
    match result {
        Ok(outcome) => Seen::Ok(outcome.reply, outcome.captured, outcome.fuel_used),
        Err(failure) => Seen::Failed(failure),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, max_shrink_iters: 20, ..ProptestConfig::default() })]

    #[test]
    fn random_sequences_end_alike_in_both_isolations(
        sequence in prop::collection::vec((0..KINDS.len(), 0u32..20), 1..12)
    ) {
        if !reset_available() {
            return Ok(());
        }
        let (reset, instance) = pair();
        for (i, &(kind, n)) in sequence.iter().enumerate() {
            let job = job(KINDS[kind], n);
            let in_place = seen(reset.run(job.clone()));
            let fresh = seen(instance.run(job));
            prop_assert_eq!(&in_place, &fresh, "request {} ({:?} {})", i, KINDS[kind], n);
        }
        let stats = reset.engine().isolation_counters().snapshot();
        prop_assert_eq!(stats.mismatches, 0);
        prop_assert_eq!(stats.full_checks, stats.resets, "every reset is checked in tests");
    }
}

#[test]
fn every_hostile_kind_is_survived_and_what_each_leaves_is_invisible() {
    if !reset_available() {
        return;
    }
    let runtime = runtime_with(Isolation::Reset);
    let baseline = seen(runtime.run(job(Kind::Observer, 0)));
    for kind in KINDS {
        let _ = runtime.run(job(kind, 3));
        assert_eq!(
            seen(runtime.run(job(Kind::Observer, 0))),
            baseline,
            "after {kind:?}"
        );
    }
    let stats = runtime.engine().isolation_counters().snapshot();
    assert_eq!(stats.mismatches, 0, "{stats:?}");
    assert!(stats.resets >= 20, "{stats:?}");
    assert_eq!(stats.full_checks, stats.resets, "{stats:?}");
    // Traps (loop, timeout, recursion, flood, exit, sleep past the
    // deadline) and growth (the memory bomb) replace the instance.
    assert!(stats.discarded["trapped"] >= 5, "{stats:?}");
    assert!(stats.discarded["memory_grew"] >= 1, "{stats:?}");
    assert!(stats.instances_created >= 7, "{stats:?}");
}

/// With reset in place the guest's code is compiled apart from its memory,
/// which then fills every instance from an image kept beside the code: a
/// new instance must hold the very bytes the whole component's data
/// segments lay out, as wasmtime instantiates it.
#[test]
fn an_instance_of_the_guest_compiled_apart_starts_from_its_whole_memory() {
    if !reset_available() {
        return;
    }
    let apart = blogmark_runtime::SandboxEngine::new(&settings(Isolation::Reset))
        .expect("the guest loads apart from its memory");
    let cache = tempfile::tempdir().unwrap();
    let mut whole = settings(Isolation::Reset);
    whole.keep_data_in_code = true;
    // Winch's code (a quarter of Cranelift's compile) fills the memory alike.
    whole.cache_dir = Some(cache.path().into());
    whole.baseline_first = true;
    let whole = blogmark_runtime::SandboxEngine::new(&whole).expect("the whole guest loads");
    assert!(apart.data_apart() && !whole.data_apart());
    let from_image = apart.new_instance_memories().unwrap();
    let from_segments = whole.new_instance_memories().unwrap();
    assert_eq!(from_image.len(), 1);
    assert_eq!(from_image, from_segments);
    // Not a memory of zeros: the interpreter's heap is in it.
    assert!(from_image[0].1 > 4 << 20, "{from_image:?}");
    // No image is kept beside code compiled whole.
    let images = std::fs::read_dir(cache.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".image"))
        .count();
    assert_eq!(images, 0);
}

#[test]
fn patching_json_does_not_reach_the_dispatcher() {
    let runtime = runtime_with(Isolation::Auto);
    let source = "import json\njson.JSONEncoder.item_separator = ';'\njson.encoder.c_make_encoder = None\n\ndef render(ctx):\n    return ', '.join(['a', 'b'])\n";
    let outcome = runtime
        .run(macro_job("patch", source, &[]))
        .expect("a patched json module does not break the reply");
    assert_eq!(outcome.reply, Reply::Html("a, b".into()));
}

#[test]
fn requests_in_place_match_fresh_instances_including_fuel() {
    if !reset_available() {
        return;
    }
    let (reset, instance) = pair();
    // Long enough for the instance to learn its hot set (16 requests) and
    // then leave written pages writable between resets for a while.
    let kinds = [
        Kind::Plain,
        Kind::Printing,
        Kind::Random,
        Kind::Raises,
        Kind::SetsGlobals,
        Kind::PatchesBuiltins,
        Kind::FillsCaches,
        Kind::Observer,
    ];
    for n in 0..96 {
        let kind = kinds[(n * 7 / 3) % kinds.len()];
        let job = job(kind, n as u32);
        assert_eq!(seen(reset.run(job.clone())), seen(instance.run(job)), "{n}");
    }
    let stats = reset.engine().isolation_counters().snapshot();
    assert_eq!(stats.mismatches, 0, "{stats:?}");
    assert_eq!(stats.full_checks, stats.resets, "{stats:?}");
    assert_eq!(reset.isolation().mode, IsolationMode::Reset);
    assert_eq!(instance.isolation().mode, IsolationMode::Instance);
}

#[test]
fn on_a_snapshot_with_immortal_objects_every_kind_ends_alike_in_both_isolations() {
    if !reset_available() {
        return;
    }
    // The guest as a site's render runs it: every object it holds immortal.
    let component = blogmark_e2e::site_guest();
    let runtime = |isolation| {
        let mut config = RuntimeConfig::new(component.clone());
        config.engine = settings(isolation);
        config.engine.component = component.clone();
        config.mode = Mode::Worker { workers: 1 };
        Runtime::new(config).expect("the snapshot loads")
    };
    let (reset, instance) = (runtime(Isolation::Reset), runtime(Isolation::Instance));
    let counts = "import sys, re\n\ndef render(ctx):\n    return str(sys.getrefcount(re.compile) >= 1 << 30)\n";
    let immortal = |runtime: &Runtime| runtime.run(macro_job("refs", counts, &[])).unwrap().reply;
    assert_eq!(immortal(&reset), Reply::Html("True".into()));
    assert_eq!(immortal(&instance), Reply::Html("True".into()));
    assert_eq!(
        immortal(&pair().0),
        Reply::Html("False".into()),
        "the base guest"
    );
    for round in 0..2 {
        for (i, &kind) in KINDS.iter().enumerate() {
            let job = job(kind, i as u32 + round);
            assert_eq!(
                seen(reset.run(job.clone())),
                seen(instance.run(job)),
                "{kind:?}, round {round}"
            );
        }
    }
    let stats = reset.engine().isolation_counters().snapshot();
    assert_eq!(stats.mismatches, 0, "{stats:?}");
    assert_eq!(stats.full_checks, stats.resets, "{stats:?}");
}

// The tests below run this same test binary again as a child process,
// changed as each needs (an environment switch, a seccomp filter, another
// user), with `child_reports_its_isolation` as the only test.

const CHILD: &str = "sandbox_isolation::child_reports_its_isolation";
/// The test binary's arguments that run `CHILD` alone, showing its output.
const CHILD_ARGS: [&str; 5] = [
    "--ignored",
    "--exact",
    CHILD,
    "--nocapture",
    "--test-threads=1",
];
const CHILD_ISOLATION: &str = "BLOGMARK_TEST_CHILD_ISOLATION";

/// Run only as a child: start a runtime with the isolation asked for in
/// `$BLOGMARK_TEST_CHILD_ISOLATION`, run a request and print the mode.
#[test]
#[ignore = "run by the fallback tests in a child process"]
fn child_reports_its_isolation() {
    let isolation: Isolation = std::env::var(CHILD_ISOLATION)
        .expect("set by the parent")
        .parse()
        .unwrap();
    let mut config = RuntimeConfig::new(blogmark_e2e::guest());
    config.engine = settings(isolation);
    config.mode = Mode::Worker { workers: 1 };
    match Runtime::new(config) {
        Ok(runtime) => {
            for n in 0..5 {
                let out = runtime
                    .run(macro_job(
                        "bold",
                        TRIVIAL_MACRO,
                        &[("text", json!(n.to_string()))],
                    ))
                    .expect("the request runs");
                assert_eq!(out.reply, Reply::Html(format!("<b>{n}</b>")));
            }
            let stats = runtime.engine().isolation_counters().snapshot();
            println!(
                "CHILD-MODE={} resets={} mismatches={}",
                runtime.isolation().mode,
                stats.resets,
                stats.mismatches
            );
        }
        Err(failure) => println!("CHILD-ERROR={failure}"),
    }
}

fn child(isolation: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(CHILD_ARGS)
        .env(CHILD_ISOLATION, isolation)
        .env_remove("BLOGMARK_NO_USERFAULTFD");
    command
}

fn report(mut command: Command) -> String {
    let output = command.output().expect("the child runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.find("CHILD-").map(|at| &l[at..]))
        .unwrap_or_else(|| panic!("no report in {stdout}"));
    line.to_owned()
}

#[test]
fn auto_falls_back_to_instance_when_userfaultfd_is_masked() {
    let mut command = child("auto");
    command.env("BLOGMARK_NO_USERFAULTFD", "1");
    assert_eq!(report(command), "CHILD-MODE=instance resets=0 mismatches=0");
    let mut command = child("reset");
    command.env("BLOGMARK_NO_USERFAULTFD", "1");
    let line = report(command);
    assert!(
        line.starts_with("CHILD-ERROR=") && line.contains("userfaultfd"),
        "{line}"
    );
}

/// A seccomp filter that fails `userfaultfd(2)` with EPERM and allows the rest.
fn deny_userfaultfd() -> std::io::Result<()> {
    let filter = [
        // Load the system call number.
        libc::sock_filter {
            code: (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16,
            jt: 0,
            jf: 0,
            k: 0,
        },
        libc::sock_filter {
            code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
            jt: 0,
            jf: 1,
            k: libc::SYS_userfaultfd as u32,
        },
        libc::sock_filter {
            code: (libc::BPF_RET | libc::BPF_K) as u16,
            jt: 0,
            jf: 0,
            k: libc::SECCOMP_RET_ERRNO | libc::EPERM as u32,
        },
        libc::sock_filter {
            code: (libc::BPF_RET | libc::BPF_K) as u16,
            jt: 0,
            jf: 0,
            k: libc::SECCOMP_RET_ALLOW,
        },
    ];
    let program = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: prctl with a filter program that outlives the call.
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            || libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                &program as *const libc::sock_fprog,
            ) != 0
        {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

#[test]
fn auto_falls_back_to_instance_under_a_seccomp_filter() {
    use std::os::unix::process::CommandExt;
    let mut command = child("auto");
    // SAFETY: only async-signal-safe calls (prctl) between fork and exec.
    unsafe { command.pre_exec(deny_userfaultfd) };
    assert_eq!(report(command), "CHILD-MODE=instance resets=0 mismatches=0");
}

#[test]
fn an_unprivileged_user_resets_in_place() {
    if !reset_available() {
        return;
    }
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        // Already unprivileged: this process's own runtime is the proof.
        let runtime = runtime_with(Isolation::Reset);
        runtime
            .run(macro_job("bold", TRIVIAL_MACRO, &[("text", json!(1))]))
            .unwrap();
        assert_eq!(runtime.isolation().mode, IsolationMode::Reset);
        return;
    }
    let Some(setpriv) = which("setpriv") else {
        panic!("running as root, so setpriv (util-linux) is needed to drop privileges");
    };
    // The child runs as `nobody` with no capabilities, so everything it
    // reads is copied where it may: this test binary (which embeds the
    // guest) and the compiled guest (the clone itself may sit under a
    // private home).
    use std::os::unix::fs::PermissionsExt;
    let place = tempfile::tempdir().unwrap();
    let mode = |path: &std::path::Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    let exe = place.path().join("child");
    std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
    mode(&exe, 0o755);
    let cache = place.path().join("cache");
    std::fs::create_dir(&cache).unwrap();
    if let Some(own) = blogmark_runtime::default_cache_dir() {
        for entry in std::fs::read_dir(own).into_iter().flatten().flatten() {
            let copy = cache.join(entry.file_name());
            if std::fs::copy(entry.path(), &copy).is_ok() {
                mode(&copy, 0o644);
            }
        }
    }
    mode(&cache, 0o777);
    mode(place.path(), 0o755);
    let mut command = Command::new(setpriv);
    command
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--",
        ])
        .arg(&exe)
        .args(CHILD_ARGS)
        .current_dir(place.path())
        .env(CHILD_ISOLATION, "reset")
        .env("BLOGMARK_CACHE_DIR", &cache)
        .env_remove("BLOGMARK_GUEST_WASM")
        .env_remove("BLOGMARK_NO_USERFAULTFD");
    let line = report(command);
    assert!(
        line.starts_with("CHILD-MODE=reset ") && line.ends_with(" mismatches=0"),
        "{line}"
    );
}

fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

#[test]
fn a_host_resource_left_behind_replaces_the_instance() {
    if !reset_available() {
        return;
    }
    let runtime = runtime_with(Isolation::Reset);
    let source = "import sys\n\ndef render(ctx):\n    return repr(sys.stdin.read())\n";
    let out = runtime.run(macro_job("stdin", source, &[])).unwrap();
    assert_eq!(out.reply, Reply::Html("''".into()));
    let next = runtime
        .run(macro_job(
            "bold",
            TRIVIAL_MACRO,
            &[("text", json!("after"))],
        ))
        .unwrap();
    assert_eq!(next.reply, Reply::Html("<b>after</b>".into()));
    // Reading stdin makes libc open a stream that nothing closes: the
    // instance cannot be reset exactly, so it is replaced.
    let stats = runtime.engine().isolation_counters().snapshot();
    assert_eq!(stats.discarded.get("resource_left"), Some(&1), "{stats:?}");
    assert_eq!(stats.mismatches, 0, "{stats:?}");
}

/// A runtime of `workers` reset workers without a reset helper, as a
/// one-shot command (`idle_spares` off) or a server (on) makes it.
fn reset_workers(workers: usize, idle_spares: bool) -> Runtime {
    let mut config = RuntimeConfig::new(blogmark_e2e::guest());
    config.engine = settings(Isolation::Reset);
    config.mode = Mode::Worker { workers };
    config.reset_helper = Some(false);
    config.idle_spares = idle_spares;
    Runtime::new(config).expect("the guest component loads")
}

/// Runs the trivial macro on `text` and checks its answer.
fn bold(runtime: &Runtime, text: &str) {
    let job = macro_job("bold", TRIVIAL_MACRO, &[("text", json!(text))]);
    assert_eq!(
        runtime.run(job).unwrap().reply,
        Reply::Html(format!("<b>{text}</b>"))
    );
}

/// The instances `runtime` has made once it has two, or once `limit` has
/// passed.
fn instances_within(runtime: &Runtime, limit: Duration) -> u64 {
    let waited = std::time::Instant::now();
    let counters = runtime.engine().isolation_counters();
    while counters.snapshot().instances_created < 2 && waited.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(10));
    }
    counters.snapshot().instances_created
}

#[test]
fn an_idle_worker_makes_a_spare_only_when_its_caller_wants_one() {
    if !reset_available() {
        return;
    }
    let made_after_idling = |idle_spares: bool, idle: Duration| {
        let runtime = reset_workers(1, idle_spares);
        bold(&runtime, "x");
        instances_within(&runtime, idle)
    };
    // A server's worker has a spare ready for the request after a failure...
    assert_eq!(made_after_idling(true, Duration::from_secs(20)), 2);
    // ...a one-shot batch's does not make one after its last request (the
    // spare comes 20 ms into an idle moment; this waits 25 times as long).
    assert_eq!(made_after_idling(false, Duration::from_millis(500)), 1);
}

#[test]
fn a_one_shot_runtime_makes_an_instance_per_worker_that_gets_work_only() {
    if !reset_available() {
        return;
    }
    let made = |idle_spares: bool, calls: usize| {
        let runtime = reset_workers(2, idle_spares);
        for i in 0..calls {
            bold(&runtime, &i.to_string());
        }
        if idle_spares {
            instances_within(&runtime, Duration::from_secs(20));
        }
        // Time for a worker that would make one unasked to do so.
        std::thread::sleep(Duration::from_millis(300));
        instances_within(&runtime, Duration::ZERO)
    };
    // A render that calls once (a data edit re-running one generator)...
    assert_eq!(made(false, 1), 1);
    // ...or not at all makes none; a server's workers are ready at once.
    assert_eq!(made(false, 0), 0);
    assert!(made(true, 0) >= 2);
}

#[test]
fn a_runtime_started_ahead_of_its_first_request_makes_one_instance_that_serves_it() {
    if !reset_available() {
        return;
    }
    // Two workers without a reset helper (a render on 2 cores), and one
    // with (`workers = 1`), which asks for its second instance before its
    // first request.
    for (workers, helper) in [(2, false), (1, true)] {
        let mut config = RuntimeConfig::new(blogmark_e2e::guest());
        config.engine = settings(Isolation::Reset);
        config.mode = Mode::Worker { workers };
        config.reset_helper = Some(helper);
        config.idle_spares = false;
        config.first_instance_now = true;
        let runtime = Runtime::new(config).expect("the guest component loads");
        let counters = runtime.engine().isolation_counters();
        let waited = std::time::Instant::now();
        while counters.snapshot().instances_created == 0
            && waited.elapsed() < Duration::from_secs(20)
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        // Made before any request (a render reading its site meanwhile)...
        assert!(
            counters.snapshot().instances_created >= 1,
            "helper {helper}"
        );
        // ...and the request is served from it, whichever worker takes it.
        bold(&runtime, "ahead");
        // A worker with a helper then makes its second: two in all, not a
        // third beside a first one left unused.
        let expected = if helper {
            instances_within(&runtime, Duration::from_secs(20));
            2
        } else {
            1
        };
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(
            counters.snapshot().instances_created,
            expected,
            "helper {helper}"
        );
    }
}
