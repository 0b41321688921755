//! What earlier builds learnt of each source image (its content hash, size
//! and format), keyed by the file's metadata and kept in the user's cache
//! folder: a render where no image changed reads no image, it stats them.
//!
//! An entry is used only when the file's size, modification and change
//! times, inode and device are all the same, and when it was recorded at
//! least two seconds after the file's last modification (an edit within
//! the same tick as the recording could otherwise keep every stamp).

pub(super) use crate::file_stamp::Stamp;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// What is known of one source.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct Known {
    stamp: Stamp,
    recorded_ns: i128,
    /// SHA-256 of its bytes.
    pub(super) content_hash: String,
    pub(super) width: u32,
    pub(super) height: u32,
    /// Its format, as a file extension.
    pub(super) format: String,
}

/// The known sources, loaded on first use.
#[derive(Debug, Default)]
pub(super) struct KnownSources {
    file: Option<PathBuf>,
    map: Mutex<HashMap<PathBuf, Known>>,
    changed: AtomicBool,
}

/// How long after its last edit a file's entry may be trusted.
const SETTLED_NS: i128 = 2_000_000_000;

fn now_ns() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(0))
}

impl KnownSources {
    /// What the cache folder holds (nothing without one, or when its file
    /// does not read).
    pub(super) fn load() -> KnownSources {
        let file = blogmark_runtime::cache_root().map(|c| c.join("images").join("sources.json"));
        let map = file
            .as_deref()
            .and_then(|f| std::fs::read(f).ok())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        KnownSources {
            file,
            map: Mutex::new(map),
            changed: AtomicBool::new(false),
        }
    }

    /// What is known of the file at `path` (absolute) whose stamp is now
    /// `stamp`, if it can be trusted.
    pub(super) fn get(&self, path: &Path, stamp: Stamp) -> Option<Known> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let known = map.get(path)?;
        (known.stamp == stamp && known.recorded_ns >= stamp.modified_ns() + SETTLED_NS)
            .then(|| known.clone())
    }

    /// Note what was learnt of the file at `path` with `stamp`.
    pub(super) fn put(
        &self,
        path: PathBuf,
        stamp: Stamp,
        (content_hash, width, height, format): (String, u32, u32, String),
    ) {
        let known = Known {
            stamp,
            recorded_ns: now_ns(),
            content_hash,
            width,
            height,
            format,
        };
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(path, known);
        self.changed.store(true, Ordering::Relaxed);
    }

    /// Keep what was learnt, when something was (only a cache: a failure
    /// costs the next render a read of each image).
    pub(super) fn save(&self) {
        let Some(file) = &self.file else { return };
        if !self.changed.swap(false, Ordering::Relaxed) {
            return;
        }
        let bytes = {
            let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
            serde_json::to_vec(&*map).unwrap_or_default()
        };
        let saved = file
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| crate::atomic_file::write(file, &bytes));
        if let Err(e) = saved {
            tracing::debug!("cannot keep what is known of the site's images: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_trusted_only_for_the_same_stamp_and_once_settled() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.png");
        std::fs::write(&path, b"one").unwrap();
        let stamp = Stamp::of(&std::fs::metadata(&path).unwrap());
        let known = KnownSources::default();
        let facts = ("h".to_owned(), 1, 1, "png".to_owned());
        known.put(path.clone(), stamp, facts.clone());
        // Recorded in the same second as the edit: not trusted yet.
        assert!(known.get(&path, stamp).is_none());
        // Last modified long before the recording: trusted.
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(10))
            .unwrap();
        let old = Stamp::of(&std::fs::metadata(&path).unwrap());
        known.put(path.clone(), old, facts);
        assert_eq!(known.get(&path, old).unwrap().content_hash, "h");
        // Any other stamp (an edit) is not it.
        std::fs::write(&path, b"two").unwrap();
        let edited = Stamp::of(&std::fs::metadata(&path).unwrap());
        assert!(known.get(&path, edited).is_none());
    }
}
