//! The whole standard library in the sandbox: every module of the guest's
//! own stdlib (the list comes from the embedded bytecode, not a hand-picked
//! one) imports, is refused with `SandboxDenied`, or needs a C extension
//! that the WASI build of CPython does not have.

use blogmark_e2e::{macro_job_with, shared_runtime};
use blogmark_host::python::{DENIED, SiteModules};
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

/// Modules that are not for importing here, and why: Windows' own codecs,
/// and IDLE's entry points, which exit when Tk is missing.
const NOT_FOR_THIS_PLATFORM: [(&str, &str); 4] = [
    ("encodings.mbcs", "a Windows codec"),
    ("encodings.oem", "a Windows codec"),
    ("idlelib.idle", "IDLE's entry point, which exits without Tk"),
    ("idlelib.pyshell", "IDLE's shell, which exits without Tk"),
];

/// The compiled extensions the WASI build of CPython lacks: a module that
/// fails to import may only fail for want of one of these.
const MISSING_EXTENSIONS: [&str; 9] = [
    "_bz2", "_ctypes", "_curses", "_dbm", "_gdbm", "_lzma", "_tkinter", "_zstd", "termios",
];

fn is_denied(name: &str) -> bool {
    let top = name.split('.').next().unwrap();
    DENIED.iter().any(|(denied, _)| *denied == top)
}

#[test]
fn every_stdlib_module_imports_is_denied_or_needs_a_missing_c_extension() {
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
    let mut refused = Vec::new();
    let mut needs_extension = BTreeMap::<String, Vec<String>>::new();
    for name in &names {
        let result = &results[*name];
        if result.get("ok").is_some() {
            assert!(!is_denied(name), "{name} is denied, yet it imported");
            imported += 1;
            continue;
        }
        let kind = result["type"].as_str().unwrap();
        let message = result["message"].as_str().unwrap();
        if kind == "SandboxDenied" {
            assert!(
                message.contains("Blogmark scripts have no access to"),
                "{name}: {message}"
            );
            refused.push(*name);
            continue;
        }
        // Anything else must be a compiled extension missing from the WASI
        // build.
        let missing = result["missing"].as_str().unwrap_or_default();
        assert_eq!(kind, "ModuleNotFoundError", "{name}: {kind}: {message}");
        assert!(MISSING_EXTENSIONS.contains(&missing), "{name}: {message}");
        needs_extension
            .entry(missing.to_owned())
            .or_default()
            .push((*name).to_owned());
    }
    for name in names.iter().filter(|n| is_denied(n)) {
        assert!(refused.contains(name), "{name} was not refused");
    }
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
    ] {
        assert_eq!(
            results[name].get("ok"),
            Some(&Value::Bool(true)),
            "{name}: {}",
            results[name]
        );
    }
    eprintln!(
        "{imported} of {} modules import, {} are refused, {} need one of {:?}",
        names.len(),
        refused.len(),
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
