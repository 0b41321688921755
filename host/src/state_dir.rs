//! The site's `.blogmark/` folder: the database, the kept pages, the
//! `host serve` output. It may come from a pull, so a symbolic link there
//! (`.blogmark -> ~/x`, `.blogmark/site.db -> ~/.bashrc`) would make the
//! host write, or SQLite open, whatever it points to: refused instead.

use std::path::{Path, PathBuf};

/// The folder's name in a site.
pub const DIR: &str = ".blogmark";

/// A symbolic link where the host keeps its own files.
#[derive(Debug, thiserror::Error)]
#[error(
    "{path} is a symbolic link (to `{target}`): refusing to keep the site's state through it \
     (remove the link; `host` makes this folder itself)"
)]
pub struct LinkedState {
    /// The link.
    pub path: PathBuf,
    /// What it points to, as written in the link.
    pub target: String,
}

/// Check that neither `.blogmark/` of the site at `root` nor any of
/// `files` in it (paths relative to the site) is a symbolic link.
pub fn check(root: &Path, files: &[&str]) -> Result<(), LinkedState> {
    std::iter::once(DIR)
        .chain(files.iter().copied())
        .map(|relative| root.join(relative))
        .try_for_each(|path| refuse_link(&path))
}

/// An error when `path` is a symbolic link.
pub fn refuse_link(path: &Path) -> Result<(), LinkedState> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(LinkedState {
            target: std::fs::read_link(path)
                .map(|t| t.display().to_string())
                .unwrap_or_else(|_| "?".into()),
            path: path.to_path_buf(),
        }),
        _ => Ok(()),
    }
}
