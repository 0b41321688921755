//! `host sync` against commits built as an attacker would build them: tree
//! entries git's own tools refuse to write (`.git` in every spelling, `..`),
//! paths beneath a symbolic link of the work tree, and submodules. Real
//! repositories, the objects written raw into a real bare remote.

use crate::common;

use common::{commit_all, host, push, write};
use git2::{ObjectType, Oid, Repository, Signature};
use std::path::{Path, PathBuf};

struct Setup {
    _dir: tempfile::TempDir,
    bare: Repository,
    site: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let (bare, upstream) = common::remote_and_upstream(dir.path());
    let up = upstream.workdir().unwrap().to_path_buf();
    write(&up, "content/posts/a.md", "---\ntitle: A\n---\nfirst\n");
    commit_all(&upstream, "initial");
    push(&upstream);
    let site = dir.path().join("site");
    Repository::clone(bare.to_str().unwrap(), &site).unwrap();
    Setup {
        _dir: dir,
        bare: Repository::open_bare(&bare).unwrap(),
        site,
    }
}

/// A raw tree object: libgit2's tree builder refuses the names these tests
/// need, a commit from elsewhere does not.
fn raw_tree(repo: &Repository, entries: &[(&str, &[u8], Oid)]) -> Oid {
    let mut entries = entries.to_vec();
    // Git's order: names compared as if trees ended with `/`.
    let key = |(mode, name, _): &(&str, &[u8], Oid)| {
        let mut k = name.to_vec();
        if *mode == "40000" {
            k.push(b'/');
        }
        k
    };
    entries.sort_by_key(key);
    let mut bytes = Vec::new();
    for (mode, name, id) in entries {
        bytes.extend_from_slice(mode.as_bytes());
        bytes.push(b' ');
        bytes.extend_from_slice(name);
        bytes.push(0);
        bytes.extend_from_slice(id.as_bytes());
    }
    repo.odb().unwrap().write(ObjectType::Tree, &bytes).unwrap()
}

/// A tree holding `files` (path, mode, blob text or gitlink id) under the
/// remote's current tree, committed on `main` of the bare remote.
fn push_tree(bare: &Repository, files: &[(&str, &str, &str)]) -> Oid {
    let parent = bare
        .find_reference("refs/heads/main")
        .unwrap()
        .peel_to_commit()
        .unwrap();
    let mut root = Node::default();
    let base = parent.tree().unwrap();
    base.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        if entry.kind() == Some(ObjectType::Blob) {
            let path = format!("{dir}{}", entry.name().unwrap());
            root.insert(&path, "100644", entry.id());
        }
        git2::TreeWalkResult::Ok
    })
    .unwrap();
    for (path, mode, content) in files {
        let id = if *mode == "160000" {
            Oid::from_str(content).unwrap()
        } else {
            bare.blob(content.as_bytes()).unwrap()
        };
        root.insert(path, mode, id);
    }
    let tree = root.write(bare);
    let sig = Signature::now("Attacker", "a@example.org").unwrap();
    let tree = bare.find_tree(tree).unwrap();
    bare.commit(
        Some("refs/heads/main"),
        &sig,
        &sig,
        "evil",
        &tree,
        &[&parent],
    )
    .unwrap()
}

#[derive(Default)]
struct Node {
    files: Vec<(String, String, Oid)>,
    dirs: std::collections::BTreeMap<String, Node>,
}

impl Node {
    fn insert(&mut self, path: &str, mode: &str, id: Oid) {
        match path.split_once('/') {
            Some((dir, rest)) => self
                .dirs
                .entry(dir.into())
                .or_default()
                .insert(rest, mode, id),
            None => self.files.push((path.into(), mode.into(), id)),
        }
    }

    fn write(&self, repo: &Repository) -> Oid {
        let dirs: Vec<(String, Oid)> = self
            .dirs
            .iter()
            .map(|(n, d)| (n.clone(), d.write(repo)))
            .collect();
        let mut entries: Vec<(&str, &[u8], Oid)> = self
            .files
            .iter()
            .map(|(n, m, id)| (m.as_str(), n.as_bytes(), *id))
            .collect();
        entries.extend(dirs.iter().map(|(n, id)| ("40000", n.as_bytes(), *id)));
        raw_tree(repo, &entries)
    }
}

fn head(site: &Path) -> Oid {
    Repository::open(site)
        .unwrap()
        .head()
        .unwrap()
        .target()
        .unwrap()
}

fn work_tree(site: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    common::files(site, &[".blogmark"])
        .into_iter()
        .filter(|(p, _)| !p.starts_with(".git/refs/remotes") && !p.starts_with(".git/logs"))
        .filter(|(p, _)| !p.starts_with(".git/objects") && p != ".git/FETCH_HEAD")
        // The lock every sync takes, empty.
        .filter(|(p, _)| p != ".git/blogmark-sync.lock")
        .collect()
}

#[test]
fn a_pulled_tree_with_a_dot_git_path_in_any_spelling_is_refused_whole() {
    for evil in [
        ".git/hooks/post-commit",
        "content/.git/config",
        ".GIT/hooks/post-commit",
        ".Git/config",
        ".git./hooks/post-commit",
        "GIT~1/hooks/post-commit",
        ".g\u{200c}it/hooks/post-commit",
        "content/../../outside",
    ] {
        let setup = setup();
        let before_head = head(&setup.site);
        let before = work_tree(&setup.site);
        let commit = push_tree(
            &setup.bare,
            &[
                ("content/posts/new.md", "100644", "---\ntitle: N\n---\nn\n"),
                (evil, "100755", "#!/bin/sh\ntouch pwned\n"),
            ],
        );
        let out = host(&setup.site, &["sync"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{evil}: {stderr}");
        assert!(
            stderr.contains(&format!("commit {commit} holds `{evil}`"))
                && stderr.contains("Nothing was changed"),
            "{evil}: {stderr}"
        );
        assert_eq!(head(&setup.site), before_head, "{evil}");
        assert_eq!(work_tree(&setup.site), before, "{evil}");
        assert!(!setup.site.join(".git/hooks/post-commit").exists());
        assert!(!setup.site.join("content/posts/new.md").exists(), "{evil}");
        assert!(!setup.site.parent().unwrap().join("outside").exists());
    }
}

#[test]
fn a_pull_that_would_write_through_a_symbolic_link_of_the_work_tree_is_refused() {
    let setup = setup();
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), setup.site.join("content/evil")).unwrap();
    let before_head = head(&setup.site);
    push_tree(
        &setup.bare,
        &[(
            "content/evil/authorized_keys",
            "100644",
            "ssh-ed25519 AAAA attacker\n",
        )],
    );
    let out = host(&setup.site, &["sync"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("`content/evil` is a symbolic link in the work tree"),
        "{stderr}"
    );
    assert_eq!(head(&setup.site), before_head);
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
}

#[test]
fn a_pulled_submodule_is_recorded_and_the_rest_syncs() {
    let setup = setup();
    let sub = "0123456789abcdef0123456789abcdef01234567";
    let commit = push_tree(
        &setup.bare,
        &[
            ("themes/shared", "160000", sub),
            (
                "content/posts/b.md",
                "100644",
                "---\ntitle: B\n---\nsecond\n",
            ),
        ],
    );
    let out = host(&setup.site, &["sync"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: themes/shared is a submodule: recorded, not checked out"),
        "{stderr}"
    );
    assert_eq!(head(&setup.site), commit);
    assert!(setup.site.join("content/posts/b.md").is_file());
    assert!(setup.site.join("themes/shared").is_dir());
    let repo = Repository::open(&setup.site).unwrap();
    let entry = repo
        .index()
        .unwrap()
        .get_path(Path::new("themes/shared"), 0)
        .expect("the gitlink is in the index");
    assert_eq!(entry.mode, 0o160000);
    assert_eq!(entry.id.to_string(), sub);
    // The work tree is clean as git sees it: a second sync has nothing to do.
    let statuses = repo.statuses(None).unwrap();
    let changed: Vec<String> = statuses
        .iter()
        .filter(|s| s.status() != git2::Status::CURRENT)
        .filter_map(|s| s.path().map(str::to_owned))
        .filter(|p| !p.starts_with(".blogmark"))
        .collect();
    assert!(changed.is_empty(), "{changed:?}");
    let again = host(&setup.site, &["sync"]);
    assert!(again.status.success());
}

#[test]
fn a_git_folder_committed_into_the_site_is_never_taken_for_its_repository() {
    let s = setup();
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "keep").unwrap();
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    // The site is a folder of its repository. A commit adds a repository's
    // files to it or to a folder above it: git finds them before the real
    // `.git`, and their config points the work tree (`core.worktree`, or
    // `commondir` and `gitdir` as a linked work tree has) and the remote
    // anywhere; the journal names a file of the machine.
    let remote = |worktree: &str| {
        format!(
            "[core]\n\trepositoryformatversion = 0\n\tbare = false\n\tworktree = {worktree}\n\
             [remote \"origin\"]\n\turl = {}\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n",
            s.bare.path().display()
        )
    };
    let (outside_config, inner_config) = (remote(elsewhere.to_str().unwrap()), remote("site"));
    let journal = format!("{}\n", victim.display());
    let real_git = s.site.join(".git");
    let commondir = format!("{}\n", real_git.display());
    let gitdir = format!("{}\n", s.site.join("linked/site/.git").display());
    let on_main = "ref: refs/heads/main\n";
    push_tree(
        &s.bare,
        &[
            // In the site itself, its work tree elsewhere.
            ("blog/site.toml", "100644", "title = \"T\"\n"),
            ("blog/scripts/x.py", "100644", TRANSFORM),
            ("blog/HEAD", "100644", on_main),
            ("blog/config", "100644", &outside_config),
            ("blog/objects/pack/.keep", "100644", ""),
            ("blog/refs/heads/.keep", "100644", ""),
            ("blog/blogmark-sync.journal", "100644", &journal),
            // Above the site, its work tree the site.
            ("mid/site/site.toml", "100644", "title = \"T\"\n"),
            ("mid/site/scripts/x.py", "100644", TRANSFORM),
            ("mid/HEAD", "100644", on_main),
            ("mid/config", "100644", &inner_config),
            (
                "mid/objects/info/alternates",
                "100644",
                "../../.git/objects\n",
            ),
            ("mid/objects/pack/.keep", "100644", ""),
            (
                "mid/refs/heads/main",
                "100644",
                &format!("{}\n", head_id(&s.site)),
            ),
            // Above the site, a linked work tree's files sharing the real
            // repository.
            ("linked/site/site.toml", "100644", "title = \"T\"\n"),
            ("linked/site/scripts/x.py", "100644", TRANSFORM),
            ("linked/HEAD", "100644", on_main),
            ("linked/commondir", "100644", &commondir),
            ("linked/gitdir", "100644", &gitdir),
        ],
    );
    let out = host(&s.site, &["sync"]);
    assert!(out.status.success(), "{out:?}");
    assert!(s.site.join("blog/config").is_file());
    let before = head(&s.site);
    for site in ["blog", "mid/site", "linked/site"] {
        let site = s.site.join(site);
        for command in [&["sync"][..], &["run-script", "x", "--all", "--write"][..]] {
            let out = host(&site, command);
            let stderr = String::from_utf8_lossy(&out.stderr);
            eprintln!("RESULT {site:?} {command:?}: {stderr}");
            assert!(!out.status.success(), "{site:?} {command:?}: {stderr}");
            if command[0] == "sync" {
                assert!(stderr.contains("never used"), "{site:?}: {stderr}");
            }
        }
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
    assert_eq!(head(&s.site), before);

    // A real linked work tree (its `.git` a file naming its git folder) is
    // the repository's own: it gets as far as the remote.
    let repo = Repository::open(&s.site).unwrap();
    let linked = dir.path().join("worktree");
    repo.worktree("other", &linked, None).unwrap();
    let out = host(&linked, &["sync"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("never used"), "{stderr}");
    assert!(stderr.contains("has no branch `other`"), "{stderr}");

    // A link in the work tree (a pull by git makes one) to a folder of
    // another repository of the machine: neither it nor the site is synced.
    let other = dir.path().join("other");
    let other_repo = Repository::init(&other).unwrap();
    other_repo
        .remote("origin", s.bare.path().to_str().unwrap())
        .unwrap();
    std::fs::create_dir_all(other.join("site")).unwrap();
    std::os::unix::fs::symlink(other.join("site"), s.site.join("through")).unwrap();
    let out = host(&s.site.join("through"), &["sync"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("a symbolic link in a git work tree"),
        "{stderr}"
    );
    assert!(!other.join(".git/FETCH_HEAD").exists());
}

const TRANSFORM: &str = "\"\"\"\n---\nkind: transform\n---\n\"\"\"\n\
    def transform(ctx):\n    return ctx.post\n";

fn head_id(site: &Path) -> String {
    head(site).to_string()
}
