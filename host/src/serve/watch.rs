//! Which of the site's files changed, a moment after they stop changing.

use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind};
use notify::{EventKind, RecursiveMode, Watcher as _};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long the files must be still before a render while one of them is
/// still being written (opened, written to and not yet closed): an
/// editor's save is a truncation and one or more writes, and on a busy
/// machine the writer may wait its turn between them. A save that closes
/// its file ends the wait at once (`SETTLED`), so this bounds only a
/// writer that holds its file open. A render that still catches a file
/// half-saved is followed at once by another, since the later writes are
/// changes of their own.
const SETTLE: Duration = Duration::from_millis(100);

/// How long once every file of the batch is complete (closed after
/// writing, renamed into place, removed): only long enough to take in the
/// events of the same save that are already on their way.
const SETTLED: Duration = Duration::from_millis(2);

/// What an event says of its file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// Written to, and perhaps more to come.
    Writing,
    /// Complete: closed after writing, renamed, removed, or a folder made.
    Done,
}

impl Step {
    /// What `kind` says of its file; `None` for events that change nothing
    /// (reads: a render walks every folder).
    fn of(kind: &EventKind) -> Option<Step> {
        match kind {
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => Some(Step::Done),
            EventKind::Access(_) | EventKind::Any | EventKind::Other => None,
            EventKind::Create(CreateKind::File) => Some(Step::Writing),
            EventKind::Create(_) | EventKind::Remove(_) => Some(Step::Done),
            EventKind::Modify(ModifyKind::Name(_) | ModifyKind::Metadata(_)) => Some(Step::Done),
            EventKind::Modify(_) => Some(Step::Writing),
        }
    }
}

/// The changed files of one render, and those still being written.
#[derive(Default)]
struct Batch {
    changed: Vec<PathBuf>,
    /// What `changed` holds: a `git pull` or a transform over every post
    /// sends tens of thousands of events at once.
    seen: HashSet<PathBuf>,
    writing: HashSet<PathBuf>,
}

impl Batch {
    fn add(&mut self, path: PathBuf, step: Step) {
        match step {
            Step::Writing => self.writing.insert(path.clone()),
            Step::Done => self.writing.remove(&path),
        };
        if self.seen.insert(path.clone()) {
            self.changed.push(path);
        }
    }

    /// How long to wait for another event before the render.
    fn quiet(&self) -> Duration {
        if self.writing.is_empty() {
            SETTLED
        } else {
            SETTLE
        }
    }
}

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
            matches!(
                &*first,
                "content" | "templates" | "static" | "scripts" | crate::site_data::FOLDER
            ) || ((first == crate::config::FILE || first == crate::packages::LOCK_FILE)
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
    let (raw_sender, raw) = std::sync::mpsc::channel::<(PathBuf, Step)>();
    let filter_root = root.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // Events were lost (the kernel's queue overflowed): anything may
        // have changed, which the site's root itself stands for.
        let event = match event {
            Ok(event) if !event.need_rescan() => event,
            _ => {
                let _ = raw_sender.send((filter_root.clone(), Step::Done));
                return;
            }
        };
        let Some(step) = Step::of(&event.kind) else {
            return;
        };
        // A rename names the old path, then the new one: the old is gone.
        for path in event.paths {
            if is_source(&filter_root, &path) {
                let _ = raw_sender.send((path, step));
            }
        }
    })?;
    watcher.watch(&root, RecursiveMode::Recursive)?;
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    // Batches: the first change, then every change until the files are
    // still for a moment (see `Batch::quiet`). Ends when the watcher is
    // dropped.
    std::thread::spawn(move || {
        while let Ok((path, step)) = raw.recv() {
            let mut batch = Batch::default();
            batch.add(path, step);
            while let Ok((path, step)) = raw.recv_timeout(batch.quiet()) {
                batch.add(path, step);
            }
            if sender.blocking_send(batch.changed).is_err() {
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
    fn sources_are_content_templates_static_scripts_data_site_toml_and_the_lock() {
        let root = Path::new("/site");
        for yes in [
            "content/posts/a.md",
            "templates/post.html",
            "static/a.css",
            "scripts/x.py",
            "scripts/lib/helpers/text.py",
            "scripts/vendor/markdown/core.py",
            "data/books/dune.toml",
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

    #[test]
    fn a_batch_waits_longer_while_a_file_is_being_written() {
        use notify::event::{DataChange, RemoveKind, RenameMode};
        let step = |kind| Step::of(&kind);
        let write = step(EventKind::Modify(ModifyKind::Data(DataChange::Any))).unwrap();
        let close = step(EventKind::Access(AccessKind::Close(AccessMode::Write))).unwrap();
        assert_eq!(
            step(EventKind::Access(AccessKind::Close(AccessMode::Read))),
            None
        );
        assert_eq!(
            step(EventKind::Modify(ModifyKind::Name(RenameMode::Both))),
            Some(Step::Done)
        );
        assert_eq!(step(EventKind::Remove(RemoveKind::File)), Some(Step::Done));
        assert_eq!(
            step(EventKind::Create(CreateKind::File)),
            Some(Step::Writing)
        );

        let (a, b) = (PathBuf::from("content/a.md"), PathBuf::from("content/b.md"));
        let mut batch = Batch::default();
        batch.add(a.clone(), write);
        assert_eq!(batch.quiet(), SETTLE);
        batch.add(b.clone(), write);
        batch.add(a.clone(), close);
        assert_eq!(batch.quiet(), SETTLE, "b is still being written");
        batch.add(b.clone(), close);
        assert_eq!(batch.quiet(), SETTLED);
        batch.add(a.clone(), write);
        assert_eq!(batch.changed, [a, b], "each file once, in order");
    }
}
