//! The `host` binary carries its sandbox: a copy of it anywhere renders
//! Python macros with no build directory, no guest file and an empty cache;
//! it names its versions; it writes its shell completions and manual.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_host"))
}

/// Every path under `dir` that `bytes` hold, up to the first byte that
/// cannot be part of one.
fn paths_under(bytes: &[u8], dir: &Path) -> Vec<String> {
    let needle = dir.to_string_lossy().into_owned().into_bytes();
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(offset) = bytes[at..]
        .windows(needle.len())
        .position(|w| w == needle.as_slice())
    {
        let start = at + offset;
        let end = bytes[start..]
            .iter()
            .position(|b| !b.is_ascii_graphic())
            .map_or(bytes.len(), |n| start + n);
        found.push(String::from_utf8_lossy(&bytes[start..end]).into_owned());
        at = end.max(start + 1);
    }
    found
}

#[test]
fn the_binary_names_nothing_in_the_build_directory_but_generated_sources() {
    let exe = exe();
    // `target/<profile>/host`.
    let target = exe.parent().and_then(Path::parent).unwrap();
    let bytes = std::fs::read(&exe).unwrap();
    let paths = paths_under(&bytes, target);
    // Generated Rust sources (cranelift's instruction selectors, ...) are
    // named by their panic locations; the binary never opens them.
    let other: Vec<&String> = paths
        .iter()
        .filter(|p| !(p.contains("/build/") && p.contains("/out/") && p.ends_with(".rs")))
        .collect();
    assert!(
        other.is_empty(),
        "paths into {}: {other:?}",
        target.display()
    );
    assert!(
        !paths.iter().any(|p| p.contains("python-wasm")),
        "{paths:?}"
    );
}

#[test]
fn a_copy_renders_python_macros_with_an_empty_cache_and_no_guest_file() {
    let place = tempfile::tempdir().unwrap();
    let copy = place.path().join("host");
    std::fs::copy(exe(), &copy).unwrap();
    let home = place.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let site = common::site("");
    common::write(
        site.path(),
        "scripts/shout.py",
        "def render(ctx):\n    return '<b>' + ctx.args['text'].upper() + '</b>'\n",
    );
    common::write(
        site.path(),
        "content/posts/hello.md",
        "+++\ntitle = \"Hello\"\ndate = 2024-01-01\n+++\n{{< shout text=\"quiet\" >}}\n",
    );

    let mut render = Command::new(&copy);
    render
        .args(["render", "--site"])
        .arg(site.path())
        .current_dir(place.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("NO_COLOR", "1");
    let out = run_fresh_copy(&mut render);

    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let page = std::fs::read_to_string(site.path().join("public/posts/hello/index.html")).unwrap();
    assert!(page.contains("<b>QUIET</b>"), "{page}");
    let compiled: Vec<_> = std::fs::read_dir(home.join(".cache/blogmark/compiled"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        compiled.iter().any(|name| name.ends_with(".cwasm")),
        "the compiled guest is cached in the platform's cache directory: {compiled:?}"
    );
    // Not a terminal: the one-time compile says nothing.
    assert!(!stderr.contains("Preparing"), "{stderr}");
}

/// Run a just-written executable. A process that other test threads fork
/// meanwhile holds the copy's write handle until it execs, and the kernel
/// refuses to run a file open for writing ("text file busy"): try again.
fn run_fresh_copy(command: &mut Command) -> std::process::Output {
    for _ in 0..50 {
        match command.output() {
            Err(e) if e.raw_os_error() == Some(26) => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other.unwrap(),
        }
    }
    panic!("the copied binary stayed busy")
}

#[test]
fn version_names_the_host_the_guest_cpython_and_wasmtime() {
    let out = Command::new(exe())
        .arg("--version")
        .env_remove("BLOGMARK_GUEST_WASM")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(lines[0], format!("host {}", env!("CARGO_PKG_VERSION")));
    assert_eq!(
        lines[1],
        format!(
            "guest build {}-{}",
            blogmark_guest::EMBEDDED_BUILD_ID,
            &blogmark_guest::EMBEDDED_SHA256[..16]
        )
    );
    assert_eq!(
        lines[2],
        format!("CPython {}", blogmark_guest::CPYTHON_VERSION)
    );
    assert!(lines[2].starts_with("CPython 3."), "{text}");
    assert!(lines[3].starts_with("wasmtime 48."), "{text}");
}

#[test]
fn completions_and_the_manual_are_generated() {
    for (shell, marker) in [
        ("bash", "complete -F _host"),
        ("zsh", "#compdef host"),
        ("fish", "complete -c host"),
        ("elvish", "edit:completion:arg-completer[host]"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = Command::new(exe())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(script.contains(marker), "{shell}: {script}");
        for command in ["render", "run-script", "completions"] {
            assert!(script.contains(command), "{shell} lacks {command}");
        }
    }
    let out = Command::new(exe()).arg("man").output().unwrap();
    assert!(out.status.success());
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(page.contains(".TH host 1"), "{page}");
    assert!(page.contains("run\\-script"), "{page}");
}

#[test]
fn on_a_terminal_the_one_time_compile_says_so_and_a_cached_sandbox_says_nothing() {
    let Some(script) = ["/usr/bin/script", "/bin/script"]
        .iter()
        .map(Path::new)
        .find(|p| p.exists())
    else {
        panic!("`script` (util-linux) runs a command on a terminal; install bsdutils");
    };
    let place = tempfile::tempdir().unwrap();
    let site = common::site("");
    common::write(
        site.path(),
        "scripts/shout.py",
        "def render(ctx):\n    return ctx.args['text'].upper()\n",
    );
    common::write(
        site.path(),
        "content/posts/hello.md",
        "+++\ntitle = \"Hello\"\n+++\n{{< shout text=\"x\" >}}\n",
    );
    let cache = place.path().join("cache");
    let on_terminal = || {
        let command = format!(
            "'{}' render --site '{}'",
            exe().display(),
            site.path().display()
        );
        let out = Command::new(script)
            .args(["-qec", &command, "/dev/null"])
            .env("BLOGMARK_CACHE_DIR", &cache)
            .env_remove("BLOGMARK_GUEST_WASM")
            .output()
            .unwrap();
        let shown = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{shown}");
        shown
    };
    let first = on_terminal();
    assert!(first.contains("Prepared the Python sandbox in"), "{first}");
    let again = on_terminal();
    assert!(!again.contains("Prepar"), "{again}");
}
