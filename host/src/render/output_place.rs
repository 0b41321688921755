//! Where a render may write: not over the site it renders. Writing makes
//! the output folder hold exactly the build's files, so an output folder
//! that is the site's own folder, holds it, or lies in a folder the render
//! reads (`--out .`, `--out content`) would remove the site's sources.

use std::path::{Path, PathBuf};

/// The folders of a site that a render reads or keeps its state in.
const SOURCES: &[&str] = &[
    "content",
    "templates",
    "static",
    "data",
    "scripts",
    ".blogmark",
    ".git",
];

/// `path` with every link and `..` resolved, as far as it exists; the rest
/// (folders a render would make) appended as given.
fn resolved(path: &Path) -> PathBuf {
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    loop {
        if let Ok(mut real) = existing.canonicalize() {
            // What does not exist holds no link: its `..` is lexical.
            for part in rest.iter().rev() {
                if part == ".." {
                    real.pop();
                } else if part != "." {
                    real.push(part);
                }
            }
            return real;
        }
        let Some(last) = existing.components().next_back() else {
            return path.to_path_buf();
        };
        rest.push(last.as_os_str().to_owned());
        if !existing.pop() {
            return path.to_path_buf();
        }
    }
}

/// Why the site at `root` cannot be rendered into `out`, if it cannot.
pub(super) fn problem(root: &Path, out: &Path) -> Option<String> {
    let (site, output) = (resolved(root), resolved(out));
    if site.starts_with(&output) {
        return Some(format!(
            "the output folder {} holds the site itself: rendering there would remove the site's \
             files (choose another --out)",
            out.display()
        ));
    }
    let inside = output.strip_prefix(&site).ok()?;
    let first = inside.components().next()?.as_os_str().to_str()?;
    SOURCES.contains(&first).then(|| {
        format!(
            "the output folder {} is in the site's {first}/, which the render reads: rendering \
             there would remove its files (choose another --out)",
            out.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_output_over_the_sites_sources_is_refused() {
        let site = tempfile::tempdir().unwrap();
        let root = site.path().join("blog");
        std::fs::create_dir_all(root.join("content/posts")).unwrap();
        for bad in [
            root.clone(),
            root.join("."),
            site.path().to_path_buf(),
            root.join("content"),
            root.join("content/posts/new"),
            root.join("public/../data"),
            root.join(".blogmark"),
        ] {
            assert!(problem(&root, &bad).is_some(), "{}", bad.display());
        }
        for good in [
            root.join("public"),
            root.join("build/site"),
            site.path().join("elsewhere"),
        ] {
            assert_eq!(problem(&root, &good), None, "{}", good.display());
        }
        // Through a link to the site's folder.
        let link = site.path().join("link");
        std::os::unix::fs::symlink(&root, &link).unwrap();
        assert!(problem(&root, &link.join("content")).is_some());
    }
}
