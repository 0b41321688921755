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
}

fn callbacks<'a>() -> RemoteCallbacks<'a> {
    let mut callbacks = RemoteCallbacks::new();
    // ssh remotes authenticate through the agent; no credential is stored.
    callbacks.credentials(|_url, username, _allowed| {
        Cred::ssh_key_from_agent(username.unwrap_or("git"))
    });
    callbacks
}

/// Fetch `remote` and fast-forward `branch` (default: the current one) of
/// the repository that holds `site`.
pub fn sync(site: &Path, remote: &str, branch: Option<&str>) -> Result<SyncReport, SyncError> {
    let repo = Repository::discover(site)
        .map_err(|_| SyncError::NoRepository(site.display().to_string()))?;
    let branch = match branch {
        Some(b) => b.to_owned(),
        None => {
            let head = repo.head().map_err(|_| SyncError::DetachedHead)?;
            if !head.is_branch() {
                return Err(SyncError::DetachedHead);
            }
            head.shorthand().ok_or(SyncError::DetachedHead)?.to_owned()
        }
    };
    let mut remote_handle = repo
        .find_remote(remote)
        .map_err(|_| SyncError::NoRemote(remote.to_owned()))?;
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
            branch: branch.clone(),
        })?;
    let target = remote_ref.peel_to_commit()?;
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

    let mut diff = repo.diff_tree_to_tree(Some(&local.tree()?), Some(&target.tree()?), None)?;
    diff.find_similar(Some(DiffFindOptions::new().renames(true)))?;
    let mut changes = Vec::new();
    let mut touched = BTreeSet::new();
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
        let (old, new) = (old.unwrap_or_default(), new.unwrap_or_default());
        changes.push(match delta.status() {
            Delta::Added => Change::Added(new),
            Delta::Deleted => Change::Deleted(old),
            Delta::Renamed => Change::Renamed(old, new),
            _ => Change::Modified(new),
        });
    }

    // Refuse before touching anything if a file the pull changes has local
    // changes (staged, unstaged, or untracked where the pull adds a file).
    let is_current_branch = repo
        .head()
        .ok()
        .and_then(|h| h.name().map(str::to_owned))
        .as_deref()
        == Some(local_name.as_str());
    if is_current_branch {
        let mut options = StatusOptions::new();
        options.include_untracked(true).recurse_untracked_dirs(true);
        let dirty: Vec<String> = repo
            .statuses(Some(&mut options))?
            .iter()
            .filter(|s| s.status() != Status::CURRENT && !s.status().contains(Status::IGNORED))
            .filter_map(|s| s.path().map(str::to_owned))
            .filter(|p| touched.contains(p))
            .collect();
        if !dirty.is_empty() {
            return Err(SyncError::Dirty(dirty));
        }
        let mut checkout = git2::build::CheckoutBuilder::new();
        checkout.safe();
        repo.checkout_tree(target.as_object(), Some(&mut checkout))?;
    }
    repo.find_reference(&local_name)?.set_target(
        target.id(),
        &format!("host sync: fast-forward to {remote}/{branch}"),
    )?;
    changes.sort();
    Ok(SyncReport {
        updated: true,
        from_to: Some((local.id().to_string(), target.id().to_string())),
        changes,
    })
}
