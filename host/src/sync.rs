//! `host sync`: fetch and fast-forward the site's git repository, then
//! reconcile posts and scripts from the diff of the old and new HEAD.
//!
//! A pull that would not fast-forward, or would touch a file with local
//! changes, is refused before anything is changed.

use git2::{
    AutotagOption, Cred, Delta, DiffFindOptions, FetchOptions, RemoteCallbacks, Repository, Status,
    StatusOptions,
};
use std::collections::BTreeSet;
use std::path::Path;

/// Why a sync did nothing.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// No repository at the site.
    #[error("{0} is not in a git repository; `host sync` pulls the site's repository")]
    NoRepository(String),
    /// The remote does not exist.
    #[error("the repository has no remote `{0}` (add one with `git remote add {0} URL`)")]
    NoRemote(String),
    /// HEAD is not on a branch and none was named.
    #[error("HEAD is not on a branch; name one with --branch")]
    DetachedHead,
    /// The remote has no such branch.
    #[error("the remote `{remote}` has no branch `{branch}`")]
    NoRemoteBranch {
        /// Remote.
        remote: String,
        /// Branch.
        branch: String,
    },
    /// Local and remote history diverged.
    #[error(
        "the pull is not a fast-forward: `{branch}` and `{remote}/{branch}` have diverged; merge or rebase by hand. Nothing was changed"
    )]
    NotFastForward {
        /// Remote.
        remote: String,
        /// Branch.
        branch: String,
    },
    /// Uncommitted changes in files the pull would change.
    #[error("uncommitted changes in files the pull would change: {}; commit or stash them first. Nothing was changed", .0.join(", "))]
    Dirty(Vec<String>),
    /// Another `host sync` is running on this repository.
    #[error("another `host sync` is running on this repository; try again when it is done")]
    Busy,
    /// The repository found for the site is not the one its work tree's
    /// `.git` names: its files came with a commit, and its config may point
    /// the work tree and the remote anywhere.
    #[error(
        "{git_dir} is not the git folder its work tree's `.git` names; it is never used (a pulled commit may have put it there)"
    )]
    ForeignRepository {
        /// The git folder found.
        git_dir: String,
    },
    /// The site is reached through a symbolic link kept in a work tree.
    #[error(
        "{site} is reached through {link}, a symbolic link in a git work tree (a pulled commit may have made it); give the site's real path"
    )]
    LinkedSite {
        /// The site, as given.
        site: String,
        /// The link on the way.
        link: String,
    },
    /// The site is not inside the work tree of the repository found for it.
    #[error(
        "{site} is not inside the work tree ({workdir}) of the repository found for it; it is never used"
    )]
    OutsideWorkTree {
        /// The site.
        site: String,
        /// The repository's work tree.
        workdir: String,
    },
    /// A bare repository has no work tree to sync.
    #[error("the repository is bare: there is no work tree to update")]
    Bare,
    /// A path of the pulled commit may not be written into a work tree.
    #[error("the pull is refused: commit {commit} holds `{path}`: {why}. Nothing was changed")]
    UnsafePath {
        /// The commit pulled.
        commit: String,
        /// The path, as the tree holds it.
        path: String,
        /// What is wrong with it.
        why: String,
    },
    /// Writing a pulled file failed.
    #[error("cannot write {0}: {1}")]
    Io(String, std::io::Error),
    /// libgit2 failed.
    #[error("git: {0}")]
    Git(#[from] git2::Error),
}

/// One file the pull changed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// A new file.
    Added(String),
    /// A changed file.
    Modified(String),
    /// A removed file.
    Deleted(String),
    /// A moved file: from, to.
    Renamed(String, String),
}

/// What a sync did.
#[derive(Debug, Default)]
pub struct SyncReport {
    /// Whether HEAD moved.
    pub updated: bool,
    /// Old and new commit ids, when it did.
    pub from_to: Option<(String, String)>,
    /// Every file the pull changed.
    pub changes: Vec<Change>,
    /// Submodules the pull added, moved or removed: recorded in the index
    /// as git records them, their folders left as they are (as `git pull`
    /// without `--recurse-submodules` does).
    pub submodules: Vec<String>,
    /// What the pull asks for beyond what the site had: a script that needs
    /// a capability it did not, a `[capabilities]` grant that widened.
    pub capability_changes: Vec<String>,
}

/// A tree entry's mode for a submodule (a gitlink).
const GITLINK: i32 = 0o160000;

fn callbacks<'a>() -> RemoteCallbacks<'a> {
    let mut callbacks = RemoteCallbacks::new();
    // ssh remotes authenticate through the agent; no credential is stored.
    callbacks.credentials(|_url, username, _allowed| {
        Cred::ssh_key_from_agent(username.unwrap_or("git"))
    });
    callbacks
}

/// Whether the work tree's `path` already is what the pull makes it (the
/// file's content, or its absence): a sync killed halfway through its
/// checkout leaves such files, and they are not local changes.
fn already_as_pulled(repo: &Repository, target: &git2::Commit<'_>, path: &str) -> bool {
    let Some(workdir) = repo.workdir() else {
        return false;
    };
    let file = workdir.join(path);
    let wanted = target
        .tree()
        .ok()
        .and_then(|tree| tree.get_path(Path::new(path)).ok())
        .map(|entry| entry.id());
    match (wanted, file.is_file()) {
        (None, false) => !file.exists(),
        (Some(id), true) => {
            git2::Oid::hash_file(git2::ObjectType::Blob, &file).is_ok_and(|h| h == id)
        }
        _ => false,
    }
}

/// Held for a whole sync: one sync at a time per repository (an advisory
/// lock the kernel drops when the process dies), and a journal naming the
/// lock files libgit2 may create. A journal found while the lock is free
/// was left by a sync that was killed: the lock files it names, older than
/// this sync, are stale, and are removed so that this sync can finish what
/// that one started.
struct SyncGuard {
    _lock: std::fs::File,
    journal: std::path::PathBuf,
}

impl SyncGuard {
    fn begin(repo: &Repository, remote: &str, branch: &str) -> Result<SyncGuard, SyncError> {
        let git_dir = repo.path();
        let io = |e: std::io::Error| SyncError::Io(git_dir.display().to_string(), e);
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(git_dir.join("blogmark-sync.lock"))
            .map_err(io)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(SyncError::Busy),
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        let started = std::time::SystemTime::now();
        let journal = git_dir.join("blogmark-sync.journal");
        // Capped, and only lock files under the git folder: the journal is
        // in a folder a pulled commit may have written.
        let text = crate::state_dir::read_regular(&journal, 64 << 10).unwrap_or_default();
        for name in String::from_utf8_lossy(&text).lines() {
            let Some(parts) = crate::site_paths::plain_segments(name)
                .filter(|p| !name.starts_with('/') && !p.is_empty() && name.ends_with(".lock"))
            else {
                continue;
            };
            let stale = git_dir.join(parts.join("/"));
            let older = std::fs::symlink_metadata(&stale)
                .and_then(|m| m.modified())
                .is_ok_and(|t| t <= started);
            if older && std::fs::remove_file(&stale).is_ok() {
                tracing::warn!(
                    "removed {name}, left in the git directory by an interrupted `host sync`"
                );
            }
        }
        let locks = [
            "index.lock".to_owned(),
            "HEAD.lock".to_owned(),
            "FETCH_HEAD.lock".to_owned(),
            "packed-refs.lock".to_owned(),
            format!("refs/heads/{branch}.lock"),
            format!("refs/remotes/{remote}/{branch}.lock"),
            format!("logs/refs/heads/{branch}.lock"),
            format!("logs/refs/remotes/{remote}/{branch}.lock"),
            "logs/HEAD.lock".to_owned(),
            // libgit2's fetch rewrites the shallow-roots file through a
            // lock even in a full clone.
            "shallow.lock".to_owned(),
            "ORIG_HEAD.lock".to_owned(),
            "config.lock".to_owned(),
        ];
        crate::atomic_file::write(&journal, locks.join("\n").as_bytes()).map_err(io)?;
        Ok(SyncGuard {
            _lock: lock,
            journal,
        })
    }
}

impl Drop for SyncGuard {
    fn drop(&mut self) {
        // Reached on success and on every error libgit2 returns (it drops
        // its locks then); a killed process never gets here.
        let _ = std::fs::remove_file(&self.journal);
    }
}

/// Bring the work tree and the index to `target` for the files `changes`
/// names. Each file is replaced whole (temporary file and rename), then the
/// index is written (atomically, by libgit2's lock file), so a sync killed
/// at any moment leaves every file either as it was or as the pull makes
/// it; the next sync sees the latter as already pulled and finishes.
/// (libgit2's own checkout writes files in place: a kill there leaves a
/// partial file that looks like a local change.)
fn check_out(
    repo: &Repository,
    target: &git2::Commit<'_>,
    changes: &[Change],
    submodules: &BTreeSet<String>,
) -> Result<(), SyncError> {
    let workdir = repo.workdir().ok_or(SyncError::Bare)?.to_path_buf();
    // Temporary files live in the git directory, so that a kill leaves none
    // in the work tree; one left by an earlier kill is removed here.
    let staging = repo.path().join("blogmark-sync");
    let io = |path: &str| {
        let path = path.to_owned();
        move |e: std::io::Error| SyncError::Io(path, e)
    };
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(io("the staging directory"))?;
    }
    std::fs::create_dir_all(&staging).map_err(io("the staging directory"))?;
    let tree = target.tree()?;
    let mut index = repo.index()?;
    for change in changes {
        let (remove, add) = match change {
            Change::Added(p) | Change::Modified(p) => (None, Some(p)),
            Change::Deleted(p) => (Some(p), None),
            Change::Renamed(from, to) => (Some(from), Some(to)),
        };
        if let Some(path) = add.filter(|p| submodules.contains(*p)) {
            let entry = tree.get_path(Path::new(path))?;
            std::fs::create_dir_all(workdir.join(path)).map_err(io(path))?;
            index.add(&gitlink_entry(path, entry.id()))?;
        } else if let Some(path) = add {
            let entry = tree.get_path(Path::new(path))?;
            let blob = repo.find_blob(entry.id())?;
            let file = workdir.join(path);
            std::fs::create_dir_all(file.parent().unwrap_or(&workdir)).map_err(io(path))?;
            crate::atomic_file::write_via(&file, blob.content(), &staging).map_err(io(path))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                let mode = if entry.filemode() == 0o100755 {
                    0o755
                } else {
                    0o644
                };
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode))
                    .map_err(io(path))?;
            }
            index.add_path(Path::new(path))?;
        }
        if let Some(path) = remove.filter(|p| submodules.contains(*p)) {
            // Its folder may hold a checkout of the submodule: left alone.
            index.remove_path(Path::new(path))?;
        } else if let Some(path) = remove {
            let file = workdir.join(path);
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(path)(e)),
            }
            index.remove_path(Path::new(path))?;
            // Directories the pull emptied go, as with git.
            let mut dir = file.parent();
            while let Some(d) = dir.filter(|d| *d != workdir) {
                if std::fs::remove_dir(d).is_err() {
                    break;
                }
                dir = d.parent();
            }
        }
    }
    index.write()?;
    std::fs::remove_dir_all(&staging).map_err(io("the staging directory"))?;
    Ok(())
}

/// The git repository that holds the site at `site`: found as git finds
/// it (the site may be a folder of a larger repository), and refused unless
/// its work tree holds the site and names that very git folder with its
/// own `.git`: a folder, or a file (`gitdir: ...`) as a linked work tree
/// or a submodule has. A pulled commit can add a repository's files
/// (`HEAD`, `config`, `commondir`, `objects/`, `refs/`) to the site or a
/// folder above it, which git would take for the repository and whose
/// config names the work tree and the remote; it cannot add a `.git`
/// (DESIGN §13).
pub fn site_repository(site: &Path) -> Result<Repository, SyncError> {
    if let Some(link) = link_inside_a_work_tree(site) {
        return Err(SyncError::LinkedSite {
            site: site.display().to_string(),
            link: link.display().to_string(),
        });
    }
    let repo = Repository::discover(site)
        .map_err(|_| SyncError::NoRepository(site.display().to_string()))?;
    let workdir = repo.workdir().ok_or(SyncError::Bare)?;
    let canonical = |p: &Path| std::fs::canonicalize(p).ok();
    let foreign = || SyncError::ForeignRepository {
        git_dir: repo.path().display().to_string(),
    };
    let (Some(workdir), Some(git_dir), Some(site_dir)) =
        (canonical(workdir), canonical(repo.path()), canonical(site))
    else {
        return Err(foreign());
    };
    if !site_dir.starts_with(&workdir) {
        return Err(SyncError::OutsideWorkTree {
            site: site.display().to_string(),
            workdir: workdir.display().to_string(),
        });
    }
    let dot_git = workdir.join(".git");
    let named = match std::fs::symlink_metadata(&dot_git) {
        Ok(meta) if meta.is_dir() => canonical(&dot_git),
        Ok(meta) if meta.is_file() => {
            crate::state_dir::read_regular(&dot_git, 4096).and_then(|text| {
                let text = String::from_utf8(text).ok()?;
                let target = text.trim_end().strip_prefix("gitdir:")?.trim();
                canonical(&workdir.join(target))
            })
        }
        _ => None,
    };
    if named.as_ref() != Some(&git_dir) {
        return Err(foreign());
    }
    Ok(repo)
}

/// The first folder on the way to `site` (itself included) that is a
/// symbolic link kept in a git work tree: a pulled commit may have made it,
/// to send the site, and what a sync writes, into another repository of
/// the machine. A link outside any work tree (`~/blog -> /data/blog`) is
/// the user's own.
fn link_inside_a_work_tree(site: &Path) -> Option<std::path::PathBuf> {
    let absolute = std::path::absolute(site).ok()?;
    let in_a_work_tree = |dir: &Path| {
        dir.ancestors()
            .any(|folder| std::fs::symlink_metadata(folder.join(".git")).is_ok())
    };
    absolute
        .ancestors()
        .filter(|folder| crate::site_paths::is_link(folder))
        .find(|link| link.parent().is_some_and(in_a_work_tree))
        .map(Path::to_path_buf)
}

/// Fetch `remote` and fast-forward `branch` (default: the current one) of
/// the repository that holds `site`.
pub fn sync(site: &Path, remote: &str, branch: Option<&str>) -> Result<SyncReport, SyncError> {
    let repo = site_repository(site)?;
    let branch = branch_to_sync(&repo, branch)?;
    let mut remote_handle = repo
        .find_remote(remote)
        .map_err(|_| SyncError::NoRemote(remote.to_owned()))?;
    let _guard = SyncGuard::begin(&repo, remote, &branch)?;
    let target = fetch_branch(&repo, &mut remote_handle, remote, &branch)?;
    let local_name = format!("refs/heads/{branch}");
    let local = repo.find_reference(&local_name)?.peel_to_commit()?;
    if local.id() == target.id() || repo.graph_descendant_of(local.id(), target.id())? {
        return Ok(SyncReport::default());
    }
    if !repo.graph_descendant_of(target.id(), local.id())? {
        return Err(SyncError::NotFastForward {
            remote: remote.to_owned(),
            branch,
        });
    }

    let Pulled {
        mut changes,
        touched,
        submodules,
    } = pulled(&repo, &local, &target)?;
    // Every refusal comes before anything is changed.
    refuse_unsafe_paths(&repo, &target, &touched)?;
    if is_head(&repo, &local_name) {
        refuse_local_changes(&repo, &target, &touched)?;
        check_out(&repo, &target, &changes, &submodules)?;
    }
    repo.find_reference(&local_name)?.set_target(
        target.id(),
        &format!("host sync: fast-forward to {remote}/{branch}"),
    )?;
    changes.sort();
    Ok(SyncReport {
        updated: true,
        from_to: Some((local.id().to_string(), target.id().to_string())),
        capability_changes: capability_changes(&repo, &local, &target, &changes),
        changes,
        submodules: submodules.into_iter().collect(),
    })
}

/// The file at `path` in `commit`, if it is a file there.
fn file_at(repo: &Repository, commit: &git2::Commit<'_>, path: &str) -> Option<Vec<u8>> {
    let entry = commit.tree().ok()?.get_path(Path::new(path)).ok()?;
    let object = entry.to_object(repo).ok()?;
    object.as_blob().map(|b| b.content().to_vec())
}

/// What the pull from `local` to `target` adds to what scripts may reach
/// (DESIGN §11): needs that scripts declare anew, and URL patterns added
/// to `[capabilities] fetch`.
fn capability_changes(
    repo: &Repository,
    local: &git2::Commit<'_>,
    target: &git2::Commit<'_>,
    changes: &[Change],
) -> Vec<String> {
    let mut said = Vec::new();
    for path in changes.iter().filter_map(|c| match c {
        Change::Added(p) | Change::Modified(p) | Change::Renamed(_, p) => Some(p.as_str()),
        Change::Deleted(_) => None,
    }) {
        let before = |path: &str| file_at(repo, local, path);
        let script = path
            .strip_prefix("scripts/")
            .is_some_and(|name| name.ends_with(".py") && !name.contains('/'));
        if script {
            let needs = |bytes: Option<Vec<u8>>| {
                bytes.map_or_else(Vec::new, |b| crate::scripts::parse(path, &b).0.needs)
            };
            let old = needs(before(path));
            for need in needs(file_at(repo, target, path)) {
                if !old.contains(&need) {
                    said.push(format!(
                        "{path} now needs `{need}` (the site grants it in [capabilities] of site.toml)"
                    ));
                }
            }
        } else if path == crate::config::FILE {
            let grants = |bytes: Option<Vec<u8>>| {
                bytes
                    .and_then(|b| String::from_utf8(b).ok())
                    .and_then(|t| crate::config::Config::parse(&t).ok())
                    .map(|c| c.capabilities)
                    .unwrap_or_default()
            };
            let (old, new) = (grants(before(path)), grants(file_at(repo, target, path)));
            for pattern in new.fetch.iter().filter(|p| !old.fetch.contains(p)) {
                said.push(format!(
                    "site.toml now lets scripts fetch {pattern} ([capabilities] fetch)"
                ));
            }
            if new.images && !old.images {
                said.push(
                    "site.toml now lets scripts process images ([capabilities] images)".to_owned(),
                );
            }
        }
    }
    said
}

/// The branch to sync: `branch`, else the one HEAD is on.
fn branch_to_sync(repo: &Repository, branch: Option<&str>) -> Result<String, SyncError> {
    match branch {
        Some(b) => Ok(b.to_owned()),
        None => {
            let head = repo.head().map_err(|_| SyncError::DetachedHead)?;
            if !head.is_branch() {
                return Err(SyncError::DetachedHead);
            }
            Ok(head.shorthand().ok_or(SyncError::DetachedHead)?.to_owned())
        }
    }
}

/// The commit `remote`'s `branch` is at, once fetched.
fn fetch_branch<'repo>(
    repo: &'repo Repository,
    remote_handle: &mut git2::Remote<'_>,
    remote: &str,
    branch: &str,
) -> Result<git2::Commit<'repo>, SyncError> {
    let mut fetch = FetchOptions::new();
    fetch
        .remote_callbacks(callbacks())
        .download_tags(AutotagOption::None);
    let refspec = format!("+refs/heads/{branch}:refs/remotes/{remote}/{branch}");
    remote_handle.fetch(&[refspec.as_str()], Some(&mut fetch), None)?;
    let remote_ref = repo
        .find_reference(&format!("refs/remotes/{remote}/{branch}"))
        .map_err(|_| SyncError::NoRemoteBranch {
            remote: remote.to_owned(),
            branch: branch.to_owned(),
        })?;
    Ok(remote_ref.peel_to_commit()?)
}

/// What a pull from `local` to `target` changes.
struct Pulled {
    /// Every file changed, in the diff's order.
    changes: Vec<Change>,
    /// Every path the pull writes or removes (both sides of a rename).
    touched: BTreeSet<String>,
    /// The paths of submodules on either side.
    submodules: BTreeSet<String>,
}

/// What the pull from `local` to `target` changes, from the diff of their
/// trees.
fn pulled(
    repo: &Repository,
    local: &git2::Commit<'_>,
    target: &git2::Commit<'_>,
) -> Result<Pulled, SyncError> {
    let mut diff = repo.diff_tree_to_tree(Some(&local.tree()?), Some(&target.tree()?), None)?;
    diff.find_similar(Some(DiffFindOptions::new().renames(true)))?;
    let mut changes = Vec::new();
    let mut touched = BTreeSet::new();
    let mut submodules = BTreeSet::new();
    for delta in diff.deltas() {
        let old = delta
            .old_file()
            .path()
            .map(|p| p.to_string_lossy().replace('\\', "/"));
        let new = delta
            .new_file()
            .path()
            .map(|p| p.to_string_lossy().replace('\\', "/"));
        touched.extend(old.clone());
        touched.extend(new.clone());
        if i32::from(delta.old_file().mode()) == GITLINK {
            submodules.extend(old.clone());
        }
        if i32::from(delta.new_file().mode()) == GITLINK {
            submodules.extend(new.clone());
        }
        let (old, new) = (old.unwrap_or_default(), new.unwrap_or_default());
        changes.push(match delta.status() {
            Delta::Added => Change::Added(new),
            Delta::Deleted => Change::Deleted(old),
            Delta::Renamed => Change::Renamed(old, new),
            _ => Change::Modified(new),
        });
    }
    Ok(Pulled {
        changes,
        touched,
        submodules,
    })
}

/// An error if one of the `touched` paths could land outside the work
/// tree's files: in `.git/`, out of the folder, or through a symbolic link
/// the work tree already holds.
fn refuse_unsafe_paths(
    repo: &Repository,
    target: &git2::Commit<'_>,
    touched: &BTreeSet<String>,
) -> Result<(), SyncError> {
    let workdir = repo.workdir().ok_or(SyncError::Bare)?.to_path_buf();
    for path in touched {
        let why = crate::pulled_path::problem(path).or_else(|| linked_parent(&workdir, path));
        if let Some(why) = why {
            return Err(SyncError::UnsafePath {
                commit: target.id().to_string(),
                path: path.clone(),
                why,
            });
        }
    }
    Ok(())
}

/// Whether HEAD is the branch `local_name` (`refs/heads/...`), so that the
/// work tree and the index follow it.
fn is_head(repo: &Repository, local_name: &str) -> bool {
    repo.head()
        .ok()
        .and_then(|h| h.name().map(str::to_owned))
        .as_deref()
        == Some(local_name)
}

/// An error if one of the `touched` paths has local changes (staged,
/// unstaged, or untracked where the pull adds a file) that the pull to
/// `target` would overwrite.
fn refuse_local_changes(
    repo: &Repository,
    target: &git2::Commit<'_>,
    touched: &BTreeSet<String>,
) -> Result<(), SyncError> {
    let mut options = StatusOptions::new();
    options.include_untracked(true).recurse_untracked_dirs(true);
    let dirty: Vec<String> = repo
        .statuses(Some(&mut options))?
        .iter()
        .filter(|s| s.status() != Status::CURRENT && !s.status().contains(Status::IGNORED))
        .filter_map(|s| s.path().map(str::to_owned))
        .filter(|p| touched.contains(p))
        .filter(|p| !already_as_pulled(repo, target, p))
        .collect();
    if !dirty.is_empty() {
        return Err(SyncError::Dirty(dirty));
    }
    Ok(())
}

/// Why writing `path` under `workdir` would go through a symbolic link
/// (one of its folders is a link in the work tree), if it would.
fn linked_parent(workdir: &Path, path: &str) -> Option<String> {
    crate::site_paths::first_link(workdir, path, false).map(|link| {
        format!("`{link}` is a symbolic link in the work tree, and the pull would write through it")
    })
}

/// The index entry git records for a submodule at `path` at commit `id`.
fn gitlink_entry(path: &str, id: git2::Oid) -> git2::IndexEntry {
    let time = git2::IndexTime::new(0, 0);
    git2::IndexEntry {
        ctime: time,
        mtime: time,
        dev: 0,
        ino: 0,
        mode: GITLINK as u32,
        uid: 0,
        gid: 0,
        file_size: 0,
        id,
        // The low 12 bits hold the path's length, capped.
        flags: path.len().min(0xfff) as u16,
        flags_extended: 0,
        path: path.as_bytes().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_killed_syncs_journal_clears_every_lock_its_fetch_can_leave() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let git_dir = repo.path().to_path_buf();
        let journal_path = git_dir.join("blogmark-sync.journal");
        let guard = SyncGuard::begin(&repo, "origin", "main").unwrap();
        let journal = std::fs::read_to_string(&journal_path).unwrap();
        drop(guard);
        assert!(
            !journal_path.exists(),
            "a sync that ends removes its journal"
        );
        // A kill leaves the journal, and whatever lock libgit2 held: a fetch
        // that downloads a pack holds shallow.lock even in a full clone.
        std::fs::write(&journal_path, &journal).unwrap();
        let left = ["shallow.lock", "FETCH_HEAD.lock", "index.lock"];
        for name in left {
            std::fs::write(git_dir.join(name), "").unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        let _next = SyncGuard::begin(&repo, "origin", "main").unwrap();
        for name in left {
            assert!(!git_dir.join(name).exists(), "{name} was left behind");
        }
    }

    #[test]
    fn a_journal_removes_only_lock_files_under_the_git_folder() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path().join("repo")).unwrap();
        let git_dir = repo.path().to_path_buf();
        let outside = dir.path().join("victim.lock");
        let beside = dir.path().join("victim");
        std::fs::write(&outside, "keep").unwrap();
        std::fs::write(&beside, "keep").unwrap();
        std::fs::write(git_dir.join("config.keep"), "keep").unwrap();
        let journal = format!(
            "{}\n{}\n../victim.lock\nconfig.keep\n",
            outside.display(),
            beside.display()
        );
        std::fs::write(git_dir.join("blogmark-sync.journal"), journal).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let _guard = SyncGuard::begin(&repo, "origin", "main").unwrap();
        assert!(outside.exists() && beside.exists());
        assert!(git_dir.join("config.keep").exists());
    }
}
