//! The content of the last render, kept by `host serve` and reused while
//! nothing it was loaded from changed, so that editing a script or a
//! template does not read and parse every post again.
//!
//! Whether something changed is what the file watcher reports: any change
//! under `content/`, to site.toml (permalinks), or a watch that lost
//! events, and the next load reads everything again.

use super::{Content, load_with};
use crate::config::Permalinks;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Content kept between renders (see the module's documentation).
#[derive(Default)]
pub struct KeptContent(Mutex<Kept>);

impl std::fmt::Debug for KeptContent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeptContent(..)")
    }
}

#[derive(Default)]
struct Kept {
    /// The last load, with the permalinks it was published under.
    content: Option<(Arc<Content>, Permalinks)>,
    /// Whether a change may have made it stale since.
    stale: bool,
}

impl KeptContent {
    /// Note that the files at `paths` (absolute, under the site `root`)
    /// changed.
    pub fn changed(&self, root: &Path, paths: &[PathBuf]) {
        if paths.iter().any(|path| affects_content(root, path)) {
            self.0.lock().unwrap_or_else(|e| e.into_inner()).stale = true;
        }
    }

    /// The site's content: the kept load when nothing changed since and
    /// the permalinks are the same, else a new load of `root`, kept.
    pub fn load(&self, root: &Path, permalinks: &Permalinks) -> Arc<Content> {
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if !kept.stale
            && let Some((content, used)) = &kept.content
            && used == permalinks
        {
            return content.clone();
        }
        let content = Arc::new(load_with(root, permalinks));
        kept.content = Some((content.clone(), permalinks.clone()));
        kept.stale = false;
        content
    }
}

/// Whether a change of `path` can change what `content/` loads to: a file
/// under `content/`, site.toml, the site itself (a watch that lost events
/// reports its root), or anything outside it.
fn affects_content(root: &Path, path: &Path) -> bool {
    match path.strip_prefix(root) {
        Ok(relative) => {
            relative.as_os_str().is_empty()
                || relative.starts_with("content")
                || relative == Path::new(crate::config::FILE)
        }
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("content/posts")).unwrap();
        std::fs::write(
            dir.path().join("content/posts/a.md"),
            "+++\ntitle = \"A\"\n+++\nbody\n",
        )
        .unwrap();
        dir
    }

    fn titles(content: &Content) -> Vec<String> {
        content.pages.iter().map(|p| p.title.clone()).collect()
    }

    #[test]
    fn the_kept_content_is_reused_until_a_change_under_content_or_to_site_toml() {
        let dir = site();
        let root = dir.path();
        let permalinks = Permalinks::default();
        let kept = KeptContent::default();
        assert_eq!(titles(&kept.load(root, &permalinks)), ["A"]);

        // Not reported (yet): the kept load stands.
        std::fs::write(
            root.join("content/posts/a.md"),
            "+++\ntitle = \"B\"\n+++\nbody\n",
        )
        .unwrap();
        kept.changed(
            root,
            &[root.join("scripts/x.py"), root.join("templates/post.html")],
        );
        assert_eq!(titles(&kept.load(root, &permalinks)), ["A"]);

        kept.changed(root, &[root.join("content/posts/a.md")]);
        assert_eq!(titles(&kept.load(root, &permalinks)), ["B"]);

        std::fs::remove_file(root.join("content/posts/a.md")).unwrap();
        kept.changed(root, &[root.join("site.toml")]);
        assert!(kept.load(root, &permalinks).pages.is_empty());

        // A watch that lost events reports the site's root.
        std::fs::write(
            root.join("content/posts/c.md"),
            "+++\ntitle = \"C\"\n+++\nbody\n",
        )
        .unwrap();
        kept.changed(root, &[root.to_path_buf()]);
        assert_eq!(titles(&kept.load(root, &permalinks)), ["C"]);
    }
}
