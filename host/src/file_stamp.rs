//! A file's metadata as far as an edit changes it, and the file system's
//! own clock: what lets a render trust what it learnt of a file without
//! reading it again.
//!
//! The change time (`ctime`) is set by the kernel on every write, rename
//! or `chmod`, and no program can set it back; with the inode and device
//! it tells a replaced file from the one recorded. File systems keep time
//! in coarse ticks, so an edit in the same tick as the recording could keep
//! every field: a stamp is trusted only when the file last changed in an
//! earlier tick than a [`fs_now`] taken before the stamp was read.

use serde::{Deserialize, Serialize};
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

/// A file's metadata, as far as an edit changes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Stamp {
    len: u64,
    mtime_ns: i128,
    ctime_ns: i128,
    ino: u64,
    dev: u64,
}

impl Stamp {
    /// The stamp of a file with metadata `meta`.
    pub fn of(meta: &std::fs::Metadata) -> Stamp {
        let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
        Stamp {
            len: meta.len(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
            ino: meta.ino(),
            dev: meta.dev(),
        }
    }

    /// The stamp of the entry at `path`, the entry itself when it is a
    /// link.
    pub fn of_path(path: &Path) -> std::io::Result<Stamp> {
        std::fs::symlink_metadata(path).map(|m| Stamp::of(&m))
    }

    /// The file's size in bytes.
    pub fn size(&self) -> u64 {
        self.len
    }

    /// The device the file is on.
    pub fn device(&self) -> u64 {
        self.dev
    }

    /// When the file was last modified (its `mtime`), in nanoseconds.
    pub fn modified_ns(&self) -> i128 {
        self.mtime_ns
    }

    /// Whether this stamp, read after `now` (a [`fs_now`] of the same file
    /// system), can be trusted to change on the file's next edit: the file
    /// last changed in a tick before `now`'s.
    pub fn settled_before(&self, now: i128) -> bool {
        self.ctime_ns < now
    }
}

/// The file system's clock at `dir` now, as the change time of a file made
/// there (and removed): the same coarse clock that stamps every edit.
pub fn fs_now(dir: &Path) -> std::io::Result<i128> {
    let probe = tempfile::NamedTempFile::new_in(dir)?;
    Ok(Stamp::of(&probe.as_file().metadata()?).ctime_ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_changes_the_stamp_and_a_settled_stamp_is_older_than_the_clock() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.txt");
        std::fs::write(&file, "one").unwrap();
        let first = Stamp::of_path(&file).unwrap();
        // The clock of the file system moves in ticks: wait for the next.
        let mut now = fs_now(dir.path()).unwrap();
        while !first.settled_before(now) {
            std::thread::sleep(std::time::Duration::from_millis(1));
            now = fs_now(dir.path()).unwrap();
        }
        assert!(first.settled_before(now));
        std::fs::write(&file, "two").unwrap();
        let second = Stamp::of_path(&file).unwrap();
        assert_ne!(first, second, "same length, but a later change time");
        assert!(!second.settled_before(now));
    }
}
