//! `host sync` against local bare repositories: fast-forwards that add,
//! modify, delete and rename; refusals that change nothing.

use crate::common;

use common::{commit_all, host, push, write};
use git2::Repository;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The work tree: fetching updates remote-tracking refs under .git, as
/// `git pull` would; the work tree and HEAD are what must not change.
fn snapshot(root: &Path) -> BTreeMap<String, Vec<u8>> {
    common::files(root, &[".blogmark", ".git"])
}

fn script(body: &str) -> String {
    format!("\"\"\"\n---\nkind: macro\n---\n\"\"\"\ndef render(ctx):\n    return '{body}'\n")
}

struct Setup {
    _dir: tempfile::TempDir,
    upstream: Repository,
    site: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let (bare, upstream) = common::remote_and_upstream(dir.path());
    let up_path = upstream.workdir().unwrap().to_path_buf();
    write(
        &up_path,
        "content/posts/a.md",
        "---\ntitle: A\n---\nfirst\n",
    );
    write(
        &up_path,
        "content/posts/gone.md",
        "---\ntitle: Gone\n---\nbye\n",
    );
    write(&up_path, "scripts/old.py", &script("old"));
    write(
        &up_path,
        "scripts/r1.py",
        &script("a script that will move to a new name, with enough text to be similar"),
    );
    commit_all(&upstream, "initial");
    push(&upstream);
    let site = dir.path().join("site");
    Repository::clone(bare.to_str().unwrap(), &site).unwrap();
    Setup {
        _dir: dir,
        upstream,
        site,
    }
}

fn head(site: &Path) -> git2::Oid {
    Repository::open(site)
        .unwrap()
        .head()
        .unwrap()
        .target()
        .unwrap()
}

fn upstream_changes(setup: &Setup) {
    let up = setup.upstream.workdir().unwrap().to_path_buf();
    write(
        &up,
        "scripts/new.py",
        "def render(ctx):\n    import math\n    return str(math.pi * 2)\n",
    );
    write(
        &up,
        "content/posts/a.md",
        "---\ntitle: A, edited\n---\nsecond\n",
    );
    write(
        &up,
        "content/posts/b.md",
        "+++\ntitle = \"B\"\ntags = [\"x\", \"y\"]\n+++\n1. one\n2. two\n3. three\n",
    );
    std::fs::remove_file(up.join("scripts/old.py")).unwrap();
    std::fs::remove_file(up.join("content/posts/gone.md")).unwrap();
    std::fs::rename(up.join("scripts/r1.py"), up.join("scripts/r2.py")).unwrap();
    commit_all(&setup.upstream, "changes");
    push(&setup.upstream);
}

#[test]
fn a_fast_forward_applies_and_reconciles_every_kind_of_change() {
    let setup = setup();
    assert!(host(&setup.site, &["scripts", "list"]).status.success());
    upstream_changes(&setup);
    let out = host(&setup.site, &["sync"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "added     content/posts/b.md",
        "added     scripts/new.py",
        "modified  content/posts/a.md",
        "deleted   content/posts/gone.md",
        "deleted   scripts/old.py",
        "renamed   scripts/r1.py -> scripts/r2.py",
    ] {
        assert!(stdout.contains(line), "{line} not in\n{stdout}");
    }
    assert_eq!(
        head(&setup.site),
        setup.upstream.head().unwrap().target().unwrap()
    );
    assert!(
        std::fs::read_to_string(setup.site.join("content/posts/a.md"))
            .unwrap()
            .contains("edited")
    );
    let store = blogmark_host::store::Store::open(&setup.site).unwrap();
    let scripts: Vec<String> = store
        .scripts()
        .unwrap()
        .into_iter()
        .map(|r| r.slug)
        .collect();
    assert_eq!(scripts, ["new", "r2"]);
    let posts: Vec<String> = store
        .posts()
        .unwrap()
        .into_iter()
        .map(|r| r.title)
        .collect();
    assert_eq!(posts, ["A, edited", "B"]);
    let again = host(&setup.site, &["sync"]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("Already up to date"));
}

#[test]
fn a_pull_that_is_not_a_fast_forward_is_refused_and_changes_nothing() {
    let setup = setup();
    let site_repo = Repository::open(&setup.site).unwrap();
    write(
        &setup.site,
        "content/posts/a.md",
        "---\ntitle: A, local\n---\nmine\n",
    );
    commit_all(&site_repo, "local work");
    upstream_changes(&setup);
    let before = (snapshot(&setup.site), head(&setup.site));
    let out = host(&setup.site, &["sync"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a fast-forward"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!((snapshot(&setup.site), head(&setup.site)), before);
}

#[test]
fn uncommitted_changes_in_files_the_pull_touches_are_refused_and_kept() {
    let setup = setup();
    write(
        &setup.site,
        "content/posts/a.md",
        "---\ntitle: A, unsaved\n---\nwork in progress\n",
    );
    write(
        &setup.site,
        "scripts/new.py",
        "untracked, and the pull adds this path\n",
    );
    upstream_changes(&setup);
    let before = (snapshot(&setup.site), head(&setup.site));
    let out = host(&setup.site, &["sync"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "uncommitted changes in files the pull would change: content/posts/a.md, scripts/new.py"
        ),
        "{stderr}"
    );
    assert_eq!((snapshot(&setup.site), head(&setup.site)), before);
}

#[test]
fn unrelated_local_changes_do_not_block_a_pull() {
    let setup = setup();
    write(&setup.site, "drafts/notes.txt", "mine\n");
    upstream_changes(&setup);
    let out = host(&setup.site, &["sync"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(setup.site.join("drafts/notes.txt")).unwrap(),
        "mine\n"
    );
}

#[test]
fn no_repository_or_no_remote_is_a_clear_refusal() {
    let plain = tempfile::tempdir().unwrap();
    let out = host(plain.path(), &["sync"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not in a git repository"));
    let setup = setup();
    let out = host(&setup.site, &["sync", "--remote", "upstream"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no remote `upstream`"));
}

#[test]
fn a_bundle_file_changed_upstream_is_copied_by_the_next_render() {
    let setup = setup();
    let up_path = setup.upstream.workdir().unwrap().to_path_buf();
    let sync_and_render = || {
        for command in ["sync", "render"] {
            let out = host(&setup.site, &[command]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    };
    write(
        &up_path,
        "content/posts/trip/index.md",
        "---\ntitle: Trip\n---\n![photo](photo.png)\n",
    );
    write(&up_path, "content/posts/trip/photo.png", "first photo");
    commit_all(&setup.upstream, "a bundle");
    push(&setup.upstream);
    sync_and_render();
    let copied = setup.site.join("public/posts/trip/photo.png");
    assert_eq!(std::fs::read_to_string(&copied).unwrap(), "first photo");

    write(&up_path, "content/posts/trip/photo.png", "second photo");
    commit_all(&setup.upstream, "a new photo");
    push(&setup.upstream);
    sync_and_render();
    assert_eq!(std::fs::read_to_string(&copied).unwrap(), "second photo");
}

#[test]
fn a_pull_that_adds_a_need_or_widens_a_grant_is_said() {
    let setup = setup();
    let up = setup.upstream.workdir().unwrap().to_path_buf();
    write(
        &up,
        "site.toml",
        &common::site_toml(
            "[capabilities]\nfetch = [\"https://api.example.org/*\"]\nimages = true\n",
        ),
    );
    commit_all(&setup.upstream, "grant a fetch");
    push(&setup.upstream);
    let first = host(&setup.site, &["sync"]);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "warning: site.toml now lets scripts fetch https://api.example.org/* ([capabilities] fetch)"
        ),
        "{stderr}"
    );
    assert!(
        stderr
            .contains("warning: site.toml now lets scripts process images ([capabilities] images)"),
        "{stderr}"
    );
    // A script that starts to need it; an unrelated edit says nothing.
    write(
        &up,
        "scripts/old.py",
        &script("old").replace("kind: macro\n", "kind: macro\nneeds: [fetch]\n"),
    );
    write(&up, "content/posts/a.md", "---\ntitle: A\n---\nagain\n");
    commit_all(&setup.upstream, "old fetches");
    push(&setup.upstream);
    let second = host(&setup.site, &["sync"]);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(second.status.success(), "{stderr}");
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(
        warnings,
        [
            "warning: scripts/old.py now needs `fetch` (the site grants it in [capabilities] of site.toml)"
        ],
        "{stderr}"
    );
}
