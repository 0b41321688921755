//! `host scripts list|show|check|enable|disable` on real files and the real
//! sandbox.

use crate::common;

use common::host;
use std::path::Path;

fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let scripts = dir.path().join("scripts");
    std::fs::create_dir_all(&scripts).unwrap();
    std::fs::write(
        scripts.join("good.py"),
        "\"\"\"\n---\nkind: macro\nversion: 2\n---\n\"\"\"\ndef render(ctx):\n    return 'ok'\n",
    )
    .unwrap();
    std::fs::write(
        scripts.join("broken.py"),
        "\"\"\"\n---\nkind: macro\n---\n\"\"\"\ndef render(ctx):\n    return (1 +\n",
    )
    .unwrap();
    std::fs::write(
        scripts.join("noentry.py"),
        "\"\"\"\n---\nkind: macro\n---\n\"\"\"\ndef other(ctx):\n    pass\n",
    )
    .unwrap();
    std::fs::write(
        scripts.join("note.py"),
        "\"\"\"\n---\nkind: macro\n---\n\"\"\"\ndef render(ctx):\n    return ''\n",
    )
    .unwrap();
    std::fs::write(
        scripts.join("bad_yaml.py"),
        "\"\"\"\n---\nkind: [macro\n---\n\"\"\"\n",
    )
    .unwrap();
    dir
}

#[test]
fn list_shows_kind_version_and_status() {
    let site = site();
    let out = host(site.path(), &["scripts", "list"]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.lines().any(|l| l.starts_with("good")
            && l.contains("macro")
            && l.contains(" 2 ")
            && l.ends_with("ok")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("note") && l.contains("shadowed by the built-in macro `note`")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("bad_yaml") && l.contains("invalid")),
        "{stdout}"
    );
}

#[test]
fn check_reports_syntax_errors_missing_entrypoints_and_shadowing() {
    let site = site();
    let out = host(site.path(), &["scripts", "check"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("scripts/broken.py:7:12: error: SyntaxError: '(' was never closed"),
        "{stderr}"
    );
    assert!(
        stderr.contains("scripts/noentry.py: error: no function `render` (functions found: other)"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "scripts/note.py: warning: shadowed by the built-in macro `note`: call it as `py:note`"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("scripts/bad_yaml.py:4:1: error: invalid YAML front matter"),
        "{stderr}"
    );
    let out = host(site.path(), &["scripts", "check", "good"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn enable_and_disable_edit_one_line_and_keep_every_other_byte() {
    let site = site();
    let path = site.path().join("scripts/good.py");
    let original = std::fs::read_to_string(&path).unwrap();
    assert!(
        host(site.path(), &["scripts", "disable", "good"])
            .status
            .success()
    );
    let disabled = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        disabled,
        original.replace("version: 2\n", "version: 2\nenabled: false\n")
    );
    assert!(
        host(site.path(), &["scripts", "enable", "good"])
            .status
            .success()
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        original.replace("version: 2\n", "version: 2\nenabled: true\n")
    );
    let out = host(site.path(), &["scripts", "show", "good"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("enabled:     true"));
    let out = host(site.path(), &["scripts", "disable", "missing"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no script `missing`"));
}

fn rows(site: &Path) -> Vec<blogmark_host::store::ScriptRow> {
    blogmark_host::store::Store::open(site)
        .unwrap()
        .scripts()
        .unwrap()
}

#[test]
fn new_scripts_pass_check_and_delete_asks_first() {
    let site = tempfile::tempdir().unwrap();
    assert!(
        host(site.path(), &["scripts", "new", "shiny"])
            .status
            .success()
    );
    assert!(
        host(
            site.path(),
            &["scripts", "new", "fixer", "--kind", "transform"]
        )
        .status
        .success()
    );
    let out = host(site.path(), &["scripts", "check"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = host(
        site.path(),
        &["scripts", "run", "shiny", "--arg", "text=<hi>"],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "<span class=\"shiny\">&lt;hi&gt;</span>\n"
    );
    let again = host(site.path(), &["scripts", "new", "shiny"]);
    assert_eq!(again.status.code(), Some(1));
    let out = host(site.path(), &["scripts", "delete", "shiny"]);
    assert_eq!(out.status.code(), Some(1), "no terminal, no --yes: refused");
    assert!(site.path().join("scripts/shiny.py").exists());
    assert!(
        host(site.path(), &["scripts", "delete", "shiny", "--yes"])
            .status
            .success()
    );
    assert!(!site.path().join("scripts/shiny.py").exists());
    assert_eq!(
        rows(site.path())
            .iter()
            .map(|r| r.slug.as_str())
            .collect::<Vec<_>>(),
        ["fixer"]
    );
}

#[test]
fn changes_made_outside_the_tool_are_picked_up_by_the_next_command() {
    let site = site();
    let scripts = site.path().join("scripts");
    assert!(host(site.path(), &["scripts", "list"]).status.success());
    assert_eq!(rows(site.path()).len(), 5);
    std::fs::write(
        scripts.join("fresh.py"),
        "def render(ctx):\n    return ''\n",
    )
    .unwrap();
    std::fs::write(
        scripts.join("good.py"),
        "\"\"\"\n---\nkind: macro\nversion: 3\n---\n\"\"\"\ndef render(ctx):\n    return 'v3'\n",
    )
    .unwrap();
    std::fs::remove_file(scripts.join("noentry.py")).unwrap();
    std::fs::rename(scripts.join("note.py"), scripts.join("renamed.py")).unwrap();
    let out = host(site.path(), &["scripts", "list"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for line in [
        "scripts/fresh.py: new since the last command",
        "scripts/renamed.py: new since the last command",
        "scripts/good.py: changed since the last command",
        "scripts/noentry.py: gone since the last command",
        "scripts/note.py: gone since the last command",
    ] {
        assert!(stderr.contains(line), "{line} not in {stderr}");
    }
    let reconciled = rows(site.path());
    assert_eq!(
        reconciled
            .iter()
            .find(|r| r.slug == "good")
            .unwrap()
            .version,
        3
    );
    let out = host(site.path(), &["scripts", "rebuild"]);
    assert!(out.status.success());
    assert_eq!(
        rows(site.path()),
        reconciled,
        "rebuild gives the rows reconcile kept"
    );
    let out = host(site.path(), &["scripts", "list"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("since the last command"));
}

#[test]
fn the_site_option_goes_before_or_after_the_command() {
    let site = common::site("");
    common::write(
        site.path(),
        "scripts/hello.py",
        "\"\"\"\n---\nkind: macro\n---\n\"\"\"\ndef render(ctx):\n    return 'hi'\n",
    );
    let after = host(site.path(), &["scripts", "list"]);
    let before = std::process::Command::new(env!("CARGO_BIN_EXE_host"))
        .arg("--site")
        .arg(site.path())
        .args(["scripts", "list"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(after.status.success() && before.status.success());
    assert_eq!(
        String::from_utf8_lossy(&after.stdout),
        String::from_utf8_lossy(&before.stdout)
    );
    assert!(String::from_utf8_lossy(&before.stdout).contains("hello"));
}
