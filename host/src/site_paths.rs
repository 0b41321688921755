//! Paths into the site that come from untrusted places (a request, a
//! pulled commit, an archive): plain `/`-separated segments only, and no
//! symbolic link followed on the way (DESIGN §13). [`crate::symlinks`]
//! reports the links a render skips.

use std::path::{Path, PathBuf};

/// The segments of the `/`-separated path `path`, empty ones left out;
/// `None` when one could leave the folder it is read under (`.`, `..`) or
/// names another folder on Windows (a `\`).
pub fn plain_segments(path: &str) -> Option<Vec<&str>> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let escapes = |p: &&str| *p == "." || *p == ".." || p.contains('\\');
    (!parts.iter().any(escapes)).then_some(parts)
}

/// The first of `relative`'s leading folders under `root` (its last
/// component too when `whole`) that is a symbolic link, as a `/`-separated
/// path: what reading or writing `root/relative` would go through.
pub fn first_link(root: &Path, relative: &str, whole: bool) -> Option<String> {
    let parts: Vec<&str> = relative.split('/').collect();
    let checked = if whole {
        parts.len()
    } else {
        parts.len().saturating_sub(1)
    };
    let mut path = root.to_path_buf();
    for (i, part) in parts[..checked].iter().enumerate() {
        path.push(part);
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => return Some(parts[..=i].join("/")),
            Ok(_) => {}
            // Nothing there: nothing beneath it either.
            Err(_) => return None,
        }
    }
    None
}

/// The folder `root/relative` (`/`-separated), when it is one and no part
/// of the way to it, itself included, is a symbolic link: where a loader
/// may walk without leaving the site.
pub fn folder_in_site(root: &Path, relative: &str) -> Option<PathBuf> {
    let folder = root.join(relative);
    let is_folder = std::fs::symlink_metadata(&folder).is_ok_and(|m| m.is_dir());
    (is_folder && first_link(root, relative, true).is_none()).then_some(folder)
}

/// Whether `path` is itself a regular file, not a link to one nor a FIFO
/// or a device (not followed).
pub fn is_plain_file(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file())
}

/// Whether `path` is itself a symbolic link (not followed).
pub fn is_link(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_segments_refuse_what_leaves_the_folder() {
        assert_eq!(plain_segments("/a//b/"), Some(vec!["a", "b"]));
        assert_eq!(plain_segments(""), Some(vec![]));
        for bad in ["../x", "a/./b", "a/..", "a\\b"] {
            assert_eq!(plain_segments(bad), None, "{bad}");
        }
    }

    #[test]
    #[cfg(unix)]
    fn a_link_on_the_way_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("real/inner")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("real"), dir.path().join("link")).unwrap();
        assert_eq!(
            first_link(dir.path(), "link/inner/x.md", false),
            Some("link".into())
        );
        assert_eq!(first_link(dir.path(), "real/inner/x.md", true), None);
        assert_eq!(
            first_link(dir.path(), "link", false),
            None,
            "the last is not checked"
        );
        assert!(is_link(&dir.path().join("link")));
        assert!(!is_link(&dir.path().join("real")));
    }
}
