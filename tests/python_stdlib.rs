//! The whole standard library in the sandbox: every module of the guest's
//! own stdlib (the list comes from the embedded bytecode, not a hand-picked
//! one) imports, or needs a C extension that the WASI build of CPython does
//! not have. Nothing is refused at import (DESIGN §12): connecting,
//! spawning and starting a thread are refused at use.

use blogmark_e2e::{macro_job_with, shared_runtime};
use blogmark_host::python::SiteModules;
use blogmark_runtime::Limits;
use blogmark_runtime::abi::Reply;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Import each of `names` in one sandbox call: what each gave.
fn import_all(names: &[&str]) -> BTreeMap<String, Value> {
    let listed = serde_json::to_string(names).unwrap();
    let source = format!(
        r#"import importlib, json

NAMES = {listed}

def render(ctx):
    out = {{}}
    for name in NAMES:
        try:
            importlib.import_module(name)
            out[name] = {{"ok": True}}
        except BaseException as e:
            out[name] = {{"type": type(e).__name__, "message": str(e),
                         "missing": getattr(e, "name", None)}}
    return json.dumps(out)
"#
    );
    let limits = Limits {
        timeout: Duration::from_secs(60),
        fuel: u64::MAX / 4,
        memory_bytes: 1 << 30,
        output_bytes: 8 << 20,
        ..Limits::default()
    };
    let mut job = macro_job_with("imports", &source, limits);
    job.modules = Some(Arc::new(SiteModules::default()));
    let outcome = shared_runtime().run(job).expect("the import run ends");
    let Reply::Html(html) = outcome.reply else {
        panic!("{:?}", outcome.reply)
    };
    serde_json::from_str(&html).unwrap()
}

/// Modules that are not for importing here, and why: Windows' own modules,
/// IDLE's entry points (which exit when Tk is missing), and the ways
/// `multiprocessing` starts a process (WASI has none: no `fork`, no
/// `waitpid` flags, no descriptors passed between processes).
const NOT_FOR_THIS_PLATFORM: [(&str, &str); 9] = [
    ("encodings.mbcs", "a Windows codec"),
    ("encodings.oem", "a Windows codec"),
    ("asyncio.windows_events", "Windows only"),
    ("asyncio.windows_utils", "Windows only"),
    ("idlelib.idle", "IDLE's entry point, which exits without Tk"),
    ("idlelib.pyshell", "IDLE's shell, which exits without Tk"),
    ("multiprocessing.popen_fork", "starts processes with fork"),
    (
        "multiprocessing.popen_forkserver",
        "starts processes from a fork server",
    ),
    (
        "multiprocessing.popen_spawn_posix",
        "starts processes with posix_spawn",
    ),
];

/// The compiled extensions the WASI build of CPython lacks: a module that
/// fails to import may only fail for want of one of these.
const MISSING_EXTENSIONS: [&str; 13] = [
    "_ctypes",
    "_curses",
    "_dbm",
    "_gdbm",
    "_interpreters",
    "_multiprocessing",
    "_remote_debugging",
    "mmap",
    "msvcrt",
    "_ssl",
    "_tkinter",
    "_zstd",
    "termios",
];

#[test]
fn every_stdlib_module_imports_or_needs_a_missing_c_extension() {
    let stdlib = blogmark_guest::stdlib();
    let builtins: Vec<&str> = blogmark_guest::builtin_modules().collect();
    // A `__main__` module runs a program when imported: not a library.
    let names: Vec<&str> = stdlib
        .keys()
        .copied()
        .chain(builtins.clone())
        .filter(|n| !n.ends_with(".__main__"))
        .filter(|n| !NOT_FOR_THIS_PLATFORM.iter().any(|(m, _)| m == n))
        .collect();
    assert!(names.len() > 600, "{}", names.len());
    let mut results = BTreeMap::new();
    for batch in names.chunks(60) {
        results.extend(import_all(batch));
    }
    let mut imported = 0;
    let mut unexpected = Vec::new();
    let mut needs_extension = BTreeMap::<String, Vec<String>>::new();
    for name in &names {
        let result = &results[*name];
        if result.get("ok").is_some() {
            imported += 1;
            continue;
        }
        let kind = result["type"].as_str().unwrap();
        let message = result["message"].as_str().unwrap();
        // Anything else must be a compiled extension missing from the WASI
        // build.
        let missing = result["missing"].as_str().unwrap_or_default();
        if kind != "ModuleNotFoundError" || !MISSING_EXTENSIONS.contains(&missing) {
            unexpected.push(format!("{name}: {kind}: {message}"));
            continue;
        }
        needs_extension
            .entry(missing.to_owned())
            .or_default()
            .push((*name).to_owned());
    }
    assert!(unexpected.is_empty(), "{unexpected:#?}");
    // What authors reach for is among what imports.
    for name in [
        "xml.etree.ElementTree",
        "tomllib",
        "email.message",
        "sqlite3",
        "urllib.parse",
        "xml.dom.minidom",
        "string.templatelib",
        "zoneinfo",
        "logging",
        "_strptime",
        "tempfile",
        "graphlib",
        "difflib",
        "textwrap",
        // Denied at use, not at import.
        "socket",
        "subprocess",
        "asyncio",
        "multiprocessing",
        "concurrent.futures",
        "urllib.request",
        "http.client",
        // Stand-ins for the compiled modules they need.
        "bz2",
        "lzma",
        "ctypes",
    ] {
        assert_eq!(
            results[name].get("ok"),
            Some(&Value::Bool(true)),
            "{name}: {}",
            results[name]
        );
    }
    eprintln!(
        "{imported} of {} modules import, {} need one of {:?}",
        names.len(),
        needs_extension.values().map(Vec::len).sum::<usize>(),
        needs_extension.keys().collect::<Vec<_>>()
    );
}

#[test]
fn threading_imports_but_starting_a_thread_is_refused() {
    let source = "import threading, logging, queue\n\ndef render(ctx):\n    \
                  threading.Thread(target=print).start()\n    return 'started'\n";
    let mut job = macro_job_with("threads", source, Limits::default());
    job.modules = Some(Arc::new(SiteModules::default()));
    let failure = shared_runtime().run(job).expect_err("no thread starts");
    let error = failure.guest_error().expect("a guest error");
    assert_eq!(error.type_name, "SandboxDenied");
    assert_eq!(
        error.message,
        "starting a thread: Blogmark scripts have no access to threads"
    );
    assert_eq!(error.line, Some(4), "{error:?}");
}

#[test]
fn stand_ins_give_sizes_and_refuse_native_code_at_use() {
    let source = "import bz2, ctypes, lzma\nfrom ctypes import c_long, c_double, sizeof\n\n\
                  def attempt(fn):\n    try:\n        return repr(fn())\n    \
                  except Exception as e:\n        return f'{type(e).__name__}: {e}'\n\n\
                  def render(ctx):\n    return '\\n'.join([\n        \
                  str(sizeof(c_long)), str(sizeof(c_double)), str(c_long(7).value),\n        \
                  attempt(lambda: ctypes.CDLL('libc.so')),\n        \
                  attempt(lambda: bz2.compress(b'x')),\n        \
                  attempt(lambda: lzma.compress(b'x')),\n        \
                  attempt(lambda: __import__('ctypes.util')),\n    ])\n";
    let mut job = macro_job_with("stand_ins", source, Limits::default());
    job.modules = Some(Arc::new(SiteModules::default()));
    let outcome = shared_runtime().run(job).expect("the call ends");
    let Reply::Html(html) = outcome.reply else {
        panic!("{:?}", outcome.reply)
    };
    let lines: Vec<&str> = html.lines().collect();
    // wasm32's C sizes, as a WASI build of CPython with ctypes gives them.
    assert_eq!(lines[..3], ["4", "8", "7"], "{html}");
    assert!(
        lines[3].starts_with("NotImplementedError: ctypes.CDLL: the sandbox's CPython"),
        "{html}"
    );
    assert!(
        lines[4].starts_with(
            "NotImplementedError: _bz2.BZ2Compressor: the sandbox's CPython is built without bzip2"
        ),
        "{html}"
    );
    assert!(
        lines[5].starts_with("NotImplementedError: _lzma."),
        "{html}"
    );
    assert!(
        lines[6].starts_with("ModuleNotFoundError: No module named '_ctypes'"),
        "{html}"
    );
}

#[test]
fn asyncio_runs_coroutines_that_compute() {
    let source = "import asyncio, time\n\n\
                  async def square(n):\n    await asyncio.sleep(0.01 * n)\n    return n * n\n\n\
                  async def main():\n    started = time.monotonic()\n    \
                  squares = await asyncio.gather(*(square(n) for n in range(5)))\n    \
                  async with asyncio.timeout(5):\n        await asyncio.sleep(0)\n    \
                  return squares, round(time.monotonic() - started, 2)\n\n\
                  def render(ctx):\n    return repr(asyncio.run(main()))\n";
    let mut job = macro_job_with("coroutines", source, Limits::default());
    job.modules = Some(Arc::new(SiteModules::default()));
    let outcome = shared_runtime().run(job).expect("the coroutines run");
    // The sleeps ran side by side on the virtual clock: 0.04 s, not 0.1.
    assert_eq!(
        outcome.reply,
        Reply::Html("([0, 1, 4, 9, 16], 0.04)".into())
    );
}
