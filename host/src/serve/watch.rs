//! Which of the site's files changed, a moment after they stop changing.

use notify::{EventKind, RecursiveMode, Watcher as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long the files must be still before a render: an editor's save is
/// often several writes, made within a few milliseconds. A render that
/// still catches one half-saved is followed at once by another, since the
/// later writes are changes of their own.
const SETTLE: Duration = Duration::from_millis(10);

/// Watches the site while it lives.
pub(super) type Watcher = notify::RecommendedWatcher;

/// The sources that make the site: what a change of which renders again.
fn is_source(root: &Path, path: &Path) -> bool {
    let Ok(relative) = path.strip_prefix(root) else {
        return false;
    };
    let mut parts = relative.components();
    match parts.next().map(|c| c.as_os_str().to_string_lossy()) {
        Some(first) => {
            matches!(&*first, "content" | "templates" | "static" | "scripts")
                || ((first == crate::config::FILE || first == crate::packages::LOCK_FILE)
                    && parts.next().is_none())
        }
        None => false,
    }
}

/// Changed sources of the site at `root`, in batches, for as long as the
/// returned watcher lives. Reads (a render walks every folder) are not
/// changes.
pub(super) fn watch(
    root: &Path,
) -> anyhow::Result<(Watcher, tokio::sync::mpsc::Receiver<Vec<PathBuf>>)> {
    let root = root.canonicalize()?;
    let (raw_sender, raw) = std::sync::mpsc::channel::<PathBuf>();
    let filter_root = root.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else {
            return;
        };
        if matches!(
            event.kind,
            EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
        ) {
            for path in event.paths {
                if is_source(&filter_root, &path) {
                    let _ = raw_sender.send(path);
                }
            }
        }
    })?;
    watcher.watch(&root, RecursiveMode::Recursive)?;
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    // Batches: the first change, then every change until the files are
    // still for SETTLE. Ends when the watcher is dropped.
    std::thread::spawn(move || {
        while let Ok(first) = raw.recv() {
            let mut batch = vec![first];
            while let Ok(next) = raw.recv_timeout(SETTLE) {
                if !batch.contains(&next) {
                    batch.push(next);
                }
            }
            if sender.blocking_send(batch).is_err() {
                return;
            }
        }
    });
    Ok((watcher, receiver))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_content_templates_static_scripts_site_toml_and_the_lock() {
        let root = Path::new("/site");
        for yes in [
            "content/posts/a.md",
            "templates/post.html",
            "static/a.css",
            "scripts/x.py",
            "scripts/lib/helpers/text.py",
            "scripts/vendor/markdown/core.py",
            "site.toml",
            "python.lock",
        ] {
            assert!(is_source(root, &root.join(yes)), "{yes}");
        }
        for no in [
            ".blogmark/serve/index.html",
            "public/index.html",
            ".git/HEAD",
            "notes.txt",
        ] {
            assert!(!is_source(root, &root.join(no)), "{no}");
        }
    }
}
