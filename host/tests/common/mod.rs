//! Helpers shared by the end-to-end tests of `host`: the real binary, real
//! files, real git repositories.

pub mod browser;
pub mod http_stub;
pub mod server;

use git2::{IndexAddOption, Repository, RepositoryInitOptions, Signature};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

/// Run `host ARGS --site SITE` without colour.
pub fn host(site: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_host"))
        .args(args)
        .arg("--site")
        .arg(site)
        .env("NO_COLOR", "1")
        .output()
        .expect("the host binary runs")
}

/// A `site.toml` with a title and a base URL, then `extra` (a `[python]`
/// table, say).
pub fn site_toml(extra: &str) -> String {
    format!("title = \"T\"\nbase_url = \"https://example.org/\"\n{extra}")
}

/// A new site in a temporary directory: `site.toml` from [`site_toml`] and
/// empty `content/posts` and `scripts` directories.
pub fn site(extra_toml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "site.toml", &site_toml(extra_toml));
    std::fs::create_dir_all(dir.path().join("content/posts")).unwrap();
    std::fs::create_dir_all(dir.path().join("scripts")).unwrap();
    dir
}

/// How many listing files (index, taxonomies, feed, sitemap, 404) a
/// render with `-v` says it reused, of how many.
pub fn listings(log: &str) -> (usize, usize) {
    let line = log
        .lines()
        .find(|l| l.contains(" listings "))
        .unwrap_or_else(|| panic!("no listings line in {log}"));
    let field = |name: &str| -> usize {
        line.split(&format!("{name}="))
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {line}"))
    };
    (field("reused"), field("total"))
}

/// Write `text` at `path` under `root`, making directories.
pub fn write(root: &Path, path: &str, text: &str) {
    let file = root.join(path);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(file, text).unwrap();
}

/// Stage every change in `repo`'s work tree and commit it on HEAD.
pub fn commit_all(repo: &Repository, message: &str) {
    let mut index = repo.index().unwrap();
    index.add_all(["*"], IndexAddOption::DEFAULT, None).unwrap();
    index.update_all(["*"], None).unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = Signature::now("Test", "test@example.org").unwrap();
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let parents: Vec<_> = parent.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
        .unwrap();
}

/// Push `main` to `origin`.
pub fn push(repo: &Repository) {
    repo.find_remote("origin")
        .unwrap()
        .push(&["refs/heads/main:refs/heads/main"], None)
        .unwrap();
}

/// Every file under `root` with its bytes, by relative path, leaving out
/// the directories named in `skip`.
pub fn files(root: &Path, skip: &[&str]) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_entry(|e| !skip.iter().any(|s| e.file_name() == *s))
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let relative = e.path().strip_prefix(root).unwrap();
            (
                relative.to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// A bare `remote.git` in `dir` and an `upstream` work tree on `main` whose
/// `origin` is it, with a minimal `site.toml` written (not committed).
pub fn remote_and_upstream(dir: &Path) -> (std::path::PathBuf, Repository) {
    let bare = dir.join("remote.git");
    let mut options = RepositoryInitOptions::new();
    options.initial_head("main");
    Repository::init_opts(&bare, options.bare(true)).unwrap();
    let up_path = dir.join("upstream");
    let mut options = RepositoryInitOptions::new();
    options.initial_head("main");
    let upstream = Repository::init_opts(&up_path, &options).unwrap();
    upstream.remote("origin", bare.to_str().unwrap()).unwrap();
    write(
        &up_path,
        "site.toml",
        "title = \"T\"\nbase_url = \"https://example.org/\"\n",
    );
    (bare, upstream)
}

/// A seed for a randomized test: `$VAR` when set (to replay a failure),
/// else a new one; said on stderr either way.
pub fn seed(var: &str) -> u64 {
    let seed = std::env::var(var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("seed {seed} ({var}={seed} replays this run)");
    seed
}

/// Run the test `name` (its full path, e.g. `big_files::measured`; marked
/// `#[ignore]` so that it runs only this way) in a process of its own and
/// check that it passed: for a test that measures its process, which the
/// others share.
pub fn alone(name: &str) {
    let out = Command::new(std::env::current_exe().expect("the test binary"))
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
