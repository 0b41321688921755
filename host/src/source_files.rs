//! The site's posts, pages and data files as the last `host render` read
//! them, kept in `.blogmark/sources.cache`, so that the next render takes
//! every file whose stamp did not change from there instead of opening it.
//!
//! A render after one edit needs every source again, and on a site of
//! 1,000 posts and 1,000 data files reading them took five system calls a
//! file (open, stat, two reads, close): 10,000 calls, a third of its load.
//! One read of this file replaces them.
//!
//! An entry is used only for a path of this render's own inputs
//! ([`crate::render`]'s record of the site's stamps, all read after the
//! file system's clock and settled before it) whose stamp now is the one
//! the entry was kept under. Bytes are kept only when the file opened to
//! read them had that very stamp (a folder on the way swapped, or a link
//! put in the file's place, between the stamping and the reading, opens
//! another file: its bytes are used, not kept), and the stamp was read
//! before the bytes were, so an edit after it changed the stamp (see
//! [`crate::file_stamp`]). The loaders of posts and data never take a
//! link. The file lives in `.blogmark/`, which a pull may bring: it is
//! used only when tagged by this machine's key; otherwise it is removed,
//! with a warning.

use crate::file_stamp::Stamp;
use crate::input::ReadError;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;
use std::sync::Mutex;

/// Where `host render` keeps them, under the site's folder.
pub const FILE: &str = ".blogmark/sources.cache";

/// The domain of the tag that ends the file (see [`crate::machine_key`]).
const TAG_DOMAIN: &str = "blogmark sources cache v1";

const FORMAT: u32 = 1;

/// Past this many bytes of sources, none is kept: a site that large pays
/// more for writing them than it saves in opening files, and a pulled
/// site's files are not held twice past it.
const MAX_KEPT_BYTES: usize = 128 << 20;

/// Past this size the file is not read (it is not one the host wrote):
/// the sources, and an index of a few million paths.
const MAX_FILE_BYTES: u64 = (MAX_KEPT_BYTES as u64) + (256 << 20);

/// The file's index: each source's path, the stamp it was read under and
/// where its bytes lie in the part that follows the index.
#[derive(Serialize, Deserialize)]
struct Index {
    format: u32,
    files: Vec<(String, Stamp, u64, u64)>,
}

/// A source this render read, to keep for the next.
enum Read {
    /// Taken from the kept file, at this range of it.
    Kept(Range<usize>),
    /// Read from the file itself.
    Fresh(Vec<u8>),
}

/// Where a render reads its sources from (see the module's
/// documentation), and what it read, to keep.
#[derive(Default)]
pub struct SourceFiles {
    /// This render's trusted stamps, by path under the site: only these
    /// paths are taken from the kept file, and kept.
    stamps: HashMap<String, Stamp>,
    /// The kept file's bytes, after its index.
    blob: Vec<u8>,
    /// The kept sources, by path: the stamp each was read under, and where
    /// its bytes lie in `blob`.
    kept: HashMap<String, (Stamp, Range<usize>)>,
    /// What this render read, by path, with the stamp it was read under.
    read: Mutex<HashMap<String, (Stamp, Read)>>,
    /// The bytes of `read`; past [`MAX_KEPT_BYTES`], nothing more is noted
    /// and nothing is kept.
    held: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Debug for SourceFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceFiles")
            .field("stamps", &self.stamps.len())
            .field("kept", &self.kept.len())
            .finish()
    }
}

impl SourceFiles {
    /// The sources of the site at `root` for a render whose inputs have
    /// the trusted `stamps` (by path under the site): those kept there,
    /// when the file is this machine's.
    pub fn load<'a>(root: &Path, stamps: impl Iterator<Item = (&'a str, Stamp)>) -> SourceFiles {
        let stamps: HashMap<String, Stamp> = stamps.map(|(p, s)| (p.to_owned(), s)).collect();
        let (blob, kept) = read_kept(root).unwrap_or_default();
        tracing::debug!(kept = kept.len(), "kept sources loaded");
        SourceFiles {
            stamps,
            blob,
            kept,
            ..SourceFiles::default()
        }
    }

    /// The bytes of the source at `relative` (under the site; `full` is
    /// its path), read as [`crate::input::read_capped`] reads them with
    /// `limit`: taken from the kept file when its stamp is the one it was
    /// kept under.
    pub fn read(&self, relative: &str, full: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
        let Some(stamp) = self.stamps.get(relative) else {
            return crate::input::read_capped(full, limit);
        };
        if let Some((kept, range)) = self.kept.get(relative)
            && kept == stamp
            && range.len() as u64 == stamp.size()
            && range.len() as u64 <= limit
        {
            self.note(relative, *stamp, range.len(), || Read::Kept(range.clone()));
            return Ok(self.blob[range.clone()].to_vec());
        }
        let (bytes, opened) = crate::input::read_capped_with_metadata(full, limit)?;
        if opened.is_some_and(|meta| Stamp::of(&meta) == *stamp) {
            self.note(relative, *stamp, bytes.len(), || Read::Fresh(bytes.clone()));
        }
        Ok(bytes)
    }

    /// [`SourceFiles::read`] from `sources` when given, else from the file.
    pub fn read_from(
        sources: Option<&SourceFiles>,
        relative: &str,
        full: &Path,
        limit: u64,
    ) -> Result<Vec<u8>, ReadError> {
        match sources {
            Some(sources) => sources.read(relative, full, limit),
            None => crate::input::read_capped(full, limit),
        }
    }

    /// Note that the source at `relative` was `read` (of `len` bytes)
    /// under `stamp`, unless the sources noted are past the cap.
    fn note(&self, relative: &str, stamp: Stamp, len: usize, read: impl FnOnce() -> Read) {
        use std::sync::atomic::Ordering;
        let held = self
            .held
            .fetch_add(len, Ordering::Relaxed)
            .saturating_add(len);
        if held > MAX_KEPT_BYTES {
            return;
        }
        self.read
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(relative.to_owned(), (stamp, read()));
    }

    /// Keep what this render read for the next, in the site at `root`;
    /// nothing is written when it is what was kept already.
    pub fn save(&self, root: &Path) {
        let read = self.read.lock().unwrap_or_else(|e| e.into_inner());
        let taken = read
            .values()
            .filter(|(_, got)| matches!(got, Read::Kept(_)));
        tracing::debug!(
            taken = taken.count(),
            read = read.len(),
            "sources taken from the kept file, of those read"
        );
        let unchanged = read.len() == self.kept.len()
            && read.iter().all(|(path, (stamp, got))| {
                matches!(got, Read::Kept(_)) && self.kept.get(path).is_some_and(|(s, _)| s == stamp)
            });
        if self.held.load(std::sync::atomic::Ordering::Relaxed) > MAX_KEPT_BYTES {
            drop(read);
            remove(root);
            return;
        }
        if unchanged || self.stamps.is_empty() {
            return;
        }
        let bytes = |got| got_bytes(&self.blob, got);
        let mut paths: Vec<&String> = read.keys().collect();
        paths.sort_unstable();
        // The index first, with where each source will lie; the sources
        // then go straight into the file, without a copy between.
        let mut at = 0;
        let files = paths
            .iter()
            .map(|path| {
                let (stamp, got) = &read[*path];
                let len = bytes(got).len() as u64;
                at += len;
                ((*path).clone(), *stamp, at - len, len)
            })
            .collect();
        let index = Index {
            format: FORMAT,
            files,
        };
        let saved = postcard::to_stdvec(&index)
            .map_err(std::io::Error::other)
            .and_then(|index| {
                let total = usize::try_from(at).unwrap_or(0);
                let mut file = Vec::with_capacity(8 + index.len() + total + 32);
                file.extend_from_slice(&(index.len() as u64).to_le_bytes());
                file.extend_from_slice(&index);
                for path in paths {
                    file.extend_from_slice(bytes(&read[path].1));
                }
                crate::state_dir::write_tagged(root, FILE, TAG_DOMAIN, file)
            });
        // Only a help: without it, the next render opens every file.
        if let Err(e) = saved {
            tracing::warn!("cannot keep the site's sources for the next render: {e}");
        }
    }
}

/// The bytes `got` names, kept ones in `blob`.
fn got_bytes<'a>(blob: &'a [u8], got: &'a Read) -> &'a [u8] {
    match got {
        Read::Kept(range) => &blob[range.clone()],
        Read::Fresh(bytes) => bytes,
    }
}

/// Remove the kept sources of the site at `root`, if any.
fn remove(root: &Path) {
    if crate::state_dir::check(root, &[FILE]).is_ok() {
        let _ = std::fs::remove_file(root.join(FILE));
    }
}

/// The kept file's sources part and index, when it is this machine's and
/// well formed.
type Kept = (Vec<u8>, HashMap<String, (Stamp, Range<usize>)>);

fn read_kept(root: &Path) -> Option<Kept> {
    // A linked file is not this machine's: read as no file.
    crate::state_dir::check(root, &[FILE]).ok()?;
    std::fs::symlink_metadata(root.join(FILE)).ok()?;
    let Some(mut file) = crate::state_dir::read_tagged(root, FILE, TAG_DOMAIN, MAX_FILE_BYTES)
    else {
        tracing::warn!(
            "{FILE} is not tagged by this machine (written elsewhere, or damaged): \
             it is removed, and every post and data file is read"
        );
        remove(root);
        return None;
    };
    let (len, rest) = file.split_first_chunk::<8>()?;
    let len = usize::try_from(u64::from_le_bytes(*len)).ok()?;
    let (index, _) = rest.split_at_checked(len)?;
    let index: Index = postcard::from_bytes(index).ok()?;
    if index.format != FORMAT {
        return None;
    }
    let blob = file.split_off(8 + len);
    let kept = index
        .files
        .into_iter()
        .map(|(path, stamp, at, len)| {
            let at = usize::try_from(at).ok()?;
            let end = at.checked_add(usize::try_from(len).ok()?)?;
            (end <= blob.len()).then_some((path, (stamp, at..end)))
        })
        .collect::<Option<HashMap<_, _>>>()?;
    Some((blob, kept))
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "content/posts/a.md";
    const B: &str = "data/b.toml";

    fn site() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in [(A, "one"), (B, "bee = 1")] {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, text).unwrap();
        }
        std::fs::create_dir(dir.path().join(".blogmark")).unwrap();
        dir
    }

    fn stamp(root: &Path, path: &str) -> Stamp {
        Stamp::of_path(&root.join(path)).unwrap()
    }

    fn read(sources: &SourceFiles, root: &Path, path: &str) -> Result<Vec<u8>, ReadError> {
        sources.read(path, &root.join(path), 100)
    }

    /// The sources of `root` read and kept under their stamps now.
    fn keep(root: &Path) -> [(&'static str, Stamp); 2] {
        let stamps = [(A, stamp(root, A)), (B, stamp(root, B))];
        let sources = SourceFiles::load(root, stamps.into_iter());
        assert_eq!(read(&sources, root, A).unwrap(), b"one");
        assert_eq!(read(&sources, root, B).unwrap(), b"bee = 1");
        sources.save(root);
        stamps
    }

    #[test]
    fn a_source_is_taken_from_the_kept_file_only_under_the_stamp_it_was_read_under() {
        let dir = site();
        let root = dir.path();
        let stamps = keep(root);

        // Gone from the disk, but its stamp is the kept one: taken from the
        // kept file, without opening it.
        std::fs::remove_file(root.join(A)).unwrap();
        let sources = SourceFiles::load(root, stamps.into_iter());
        assert_eq!(read(&sources, root, A).unwrap(), b"one");

        // Another stamp: the file is read.
        std::fs::write(root.join(B), "bee = 2").unwrap();
        let sources = SourceFiles::load(root, [(A, stamps[0].1), (B, stamp(root, B))].into_iter());
        assert_eq!(read(&sources, root, B).unwrap(), b"bee = 2");
        assert_eq!(read(&sources, root, A).unwrap(), b"one");
        sources.save(root);
        // And kept in its turn, beside the one taken.
        let sources = SourceFiles::load(root, [(A, stamps[0].1), (B, stamp(root, B))].into_iter());
        std::fs::remove_file(root.join(B)).unwrap();
        assert_eq!(read(&sources, root, B).unwrap(), b"bee = 2");
        assert_eq!(read(&sources, root, A).unwrap(), b"one");
    }

    #[test]
    fn a_path_without_a_trusted_stamp_is_read_from_its_file() {
        let dir = site();
        let root = dir.path();
        keep(root);
        std::fs::remove_file(root.join(A)).unwrap();
        // Not among the inputs (a link, or a stamp too fresh to trust).
        let sources = SourceFiles::load(root, [(B, stamp(root, B))].into_iter());
        assert!(read(&sources, root, A).is_err());
        assert!(read(&SourceFiles::default(), root, A).is_err());
        // Nor when it is larger than the reader's limit.
        let sources = SourceFiles::load(root, [(B, stamp(root, B))].into_iter());
        std::fs::remove_file(root.join(B)).unwrap();
        assert!(sources.read(B, &root.join(B), 3).is_err());
        assert_eq!(read(&sources, root, B).unwrap(), b"bee = 1");
    }

    #[test]
    fn a_kept_file_that_this_machine_did_not_tag_is_not_used() {
        let dir = site();
        let root = dir.path();
        let stamps = keep(root);
        std::fs::remove_file(root.join(A)).unwrap();
        // The same file with other bytes for `a`: a pull's, or damage.
        let file = root.join(FILE);
        let kept = std::fs::read(&file).unwrap();
        let at = kept.windows(3).position(|w| w == b"one").unwrap();
        let mut forged = kept.clone();
        forged[at..at + 3].copy_from_slice(b"two");
        std::fs::write(&file, &forged).unwrap();
        let sources = SourceFiles::load(root, stamps.into_iter());
        assert!(
            read(&sources, root, A).is_err(),
            "the forged bytes were used"
        );
        assert!(!file.exists(), "a kept file not tagged here stays");
        // Nor one that is a link, even to a file that was this machine's.
        std::fs::write(root.join("elsewhere"), &kept).unwrap();
        std::os::unix::fs::symlink(root.join("elsewhere"), &file).unwrap();
        let sources = SourceFiles::load(root, stamps.into_iter());
        assert!(
            read(&sources, root, A).is_err(),
            "a linked kept file was used"
        );
    }

    #[test]
    fn a_kept_file_tagged_here_with_its_parts_out_of_place_is_not_used() {
        let dir = site();
        let root = dir.path();
        let stamps = keep(root);
        std::fs::remove_file(root.join(A)).unwrap();
        let index = Index {
            format: FORMAT,
            files: vec![(A.to_owned(), stamps[0].1, 2, u64::MAX)],
        };
        let index = postcard::to_stdvec(&index).unwrap();
        for len in [index.len() as u64, u64::MAX, 0] {
            let mut file = len.to_le_bytes().to_vec();
            file.extend_from_slice(&index);
            file.extend_from_slice(b"one");
            crate::state_dir::write_tagged(root, FILE, TAG_DOMAIN, file).unwrap();
            let sources = SourceFiles::load(root, stamps.into_iter());
            assert!(sources.kept.is_empty());
            assert!(read(&sources, root, A).is_err());
        }
    }

    #[test]
    fn bytes_read_from_another_file_than_the_one_stamped_are_used_but_not_kept() {
        let dir = site();
        let root = dir.path();
        let stamped = stamp(root, A);
        // Between the stamping and the reading, the post's folder is
        // swapped for one holding another `a.md`.
        let posts = root.join("content/posts");
        std::fs::rename(&posts, root.join("content/old")).unwrap();
        std::fs::create_dir(&posts).unwrap();
        std::fs::write(posts.join("a.md"), "two").unwrap();
        let sources = SourceFiles::load(root, [(A, stamped)].into_iter());
        assert_eq!(read(&sources, root, A).unwrap(), b"two");
        sources.save(root);
        // Swapped back, the stamped file is there again with its stamp,
        // and its own bytes are read.
        std::fs::remove_dir_all(&posts).unwrap();
        std::fs::rename(root.join("content/old"), &posts).unwrap();
        assert_eq!(stamp(root, A), stamped);
        let sources = SourceFiles::load(root, [(A, stamped)].into_iter());
        assert_eq!(read(&sources, root, A).unwrap(), b"one");
    }

    #[test]
    fn nothing_is_written_when_every_source_was_taken_from_the_kept_file() {
        let dir = site();
        let root = dir.path();
        let stamps = keep(root);
        let before = Stamp::of_path(&root.join(FILE)).unwrap();
        let sources = SourceFiles::load(root, stamps.into_iter());
        read(&sources, root, A).unwrap();
        read(&sources, root, B).unwrap();
        sources.save(root);
        assert_eq!(Stamp::of_path(&root.join(FILE)).unwrap(), before);
        // One source fewer read: written again without it.
        let sources = SourceFiles::load(root, stamps.into_iter());
        read(&sources, root, B).unwrap();
        sources.save(root);
        std::fs::remove_file(root.join(A)).unwrap();
        let sources = SourceFiles::load(root, stamps.into_iter());
        assert!(read(&sources, root, A).is_err());
    }
}
