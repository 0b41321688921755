//! Symbolic links in a site's sources: reported, never followed.
//!
//! A site may come from a pull, and a link in it could point anywhere on
//! the machine (`static/key -> ~/.ssh/id_ed25519`). No loader of the host
//! follows one, inside the site or out: a link is skipped, and reported once
//! with its target so the author knows why a file is missing.

use crate::diagnostics::Diagnostic;
use std::path::Path;

/// The source folders a render reads.
const SOURCES: [&str; 4] = ["content", "static", "templates", "scripts"];

/// A warning for every symbolic link among the site's sources (and for
/// `site.toml` if it is one).
pub fn report(root: &Path) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    if crate::site_paths::is_link(&root.join(crate::config::FILE)) {
        found.push(warning(root, &root.join(crate::config::FILE)));
    }
    for dir in SOURCES {
        let walk = walkdir::WalkDir::new(root.join(dir))
            .follow_links(false)
            .follow_root_links(false)
            .sort_by_file_name();
        for entry in walk.into_iter().filter_map(Result::ok) {
            if entry.path_is_symlink() {
                found.push(warning(root, entry.path()));
            }
        }
    }
    found
}

fn warning(root: &Path, link: &Path) -> Diagnostic {
    let relative = crate::content::relative_path(root, link);
    let read = std::fs::read_link(link);
    let inside = read
        .as_ref()
        .ok()
        .zip(link.parent())
        .and_then(|(target, dir)| dir.join(target).canonicalize().ok())
        .zip(root.canonicalize().ok())
        .is_some_and(|(target, root)| target.starts_with(root));
    let target = read
        .map(|t| t.display().to_string())
        .unwrap_or_else(|e| format!("an unreadable target ({e})"));
    let place = if inside { "" } else { ", outside the site," };
    Diagnostic::warning(
        relative,
        0,
        0,
        format!(
            "symbolic link to `{target}`{place} skipped: links are not followed \
             (copy the file into the site instead)"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_reported_with_their_targets_and_nothing_else_is() {
        let site = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "key").unwrap();
        for dir in ["static", "content/posts", "scripts"] {
            std::fs::create_dir_all(site.path().join(dir)).unwrap();
        }
        std::fs::write(site.path().join("static/real.txt"), "ok").unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("secret"),
            site.path().join("static/leak.txt"),
        )
        .unwrap();
        std::os::unix::fs::symlink("real.txt", site.path().join("static/alias.txt")).unwrap();
        std::os::unix::fs::symlink(outside.path(), site.path().join("content/posts/more")).unwrap();
        let found = report(site.path());
        let files: Vec<&str> = found.iter().map(|d| d.file.as_str()).collect();
        assert_eq!(
            files,
            ["content/posts/more", "static/alias.txt", "static/leak.txt"]
        );
        assert!(
            found[2].message.contains("outside the site"),
            "{}",
            found[2].message
        );
        assert!(found[2].message.contains("secret"), "{}", found[2].message);
        assert!(
            !found[1].message.contains("outside"),
            "{}",
            found[1].message
        );
    }
}
