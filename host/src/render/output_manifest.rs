//! What the last render left in the output folder: each file it made, by
//! what it holds (a digest) and its stamp once written, and the stamp of
//! each folder. A render of a site where nothing changed then costs a stat
//! per output file and folder, not a read of every page and a walk of the
//! folder tree.
//!
//! A file is taken as unchanged only when the digest of what the build
//! makes there is the one recorded and the file's stamp (size, times,
//! inode) is the one recorded, which no edit, copy or rename keeps (see
//! [`crate::file_stamp`]). The folder tree is taken from the manifest only
//! when no folder's stamp changed: adding, removing or renaming anything in
//! a folder changes it. Anything else is compared by reading, as without a
//! manifest.
//!
//! The manifest lives in `.blogmark/`, which a pull may bring: it is used
//! only when tagged by this machine's key, so a committed one cannot make a
//! render leave someone else's file in the output.

use crate::file_stamp::Stamp;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// Past this size the file is not read (it is not one the host wrote).
const MAX_BYTES: u64 = 256 << 20;

/// Where `host render` keeps it, under the site's folder.
pub const FILE: &str = ".blogmark/output.manifest";

/// What a file holds: SHA-256 of its bytes, or of what stands for them (a
/// rendered page's key, a copied file's path and stamp).
pub type Digest = [u8; 32];

/// One file of the output as the last render left it: what it holds, and
/// its stamp when that could be trusted to change on an edit.
pub type Entry = (Digest, Option<Stamp>);

/// The output folder as the last render left it.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    format: u32,
    /// The output folder it describes, as the build named it.
    out: String,
    /// Every file the render made, by path under the output folder.
    pub(super) files: HashMap<String, Entry>,
    /// Every folder of the output (`""`: the output folder itself), with
    /// its stamp, when all could be trusted; else empty.
    pub(super) dirs: HashMap<String, Stamp>,
}

const FORMAT: u32 = 1;

/// The domain of the tag that ends the file (see [`crate::machine_key`]).
const TAG_DOMAIN: &str = "blogmark output manifest v1";

impl Manifest {
    /// An empty manifest of the output folder `out`.
    pub fn new(out: &Path) -> Manifest {
        Manifest {
            format: FORMAT,
            out: out.to_string_lossy().into_owned(),
            ..Manifest::default()
        }
    }

    /// The manifest of the output folder `out` holding `files` in `dirs`.
    pub(super) fn of(
        out: &Path,
        files: HashMap<String, Entry>,
        dirs: HashMap<String, Stamp>,
    ) -> Manifest {
        Manifest {
            files,
            dirs,
            ..Manifest::new(out)
        }
    }

    /// The manifest the last render of the site at `root` kept for the
    /// output folder `out`; an empty one when there is none, it is not
    /// this machine's, or it describes another folder.
    pub fn load(root: &Path, out: &Path) -> Manifest {
        crate::state_dir::read_tagged(root, FILE, TAG_DOMAIN, MAX_BYTES)
            .and_then(|content| postcard::from_bytes::<Manifest>(&content).ok())
            .filter(|m| m.format == FORMAT && Path::new(&m.out) == out)
            .unwrap_or_else(|| Manifest::new(out))
    }

    /// Keep the manifest for the next render of the site at `root`.
    pub fn save(&self, root: &Path) -> std::io::Result<()> {
        let bytes = postcard::to_stdvec(self).map_err(std::io::Error::other)?;
        crate::state_dir::write_tagged(root, FILE, TAG_DOMAIN, bytes)
    }

    /// The recorded entry of the file at `path` (under the output folder).
    pub(super) fn file(&self, path: &str) -> Option<&Entry> {
        self.files.get(path)
    }

    /// Whether every folder of the output is as recorded, so that its files
    /// are exactly the recorded ones (the output folder being `dir`).
    pub(super) fn tree_unchanged(&self, dir: &Path) -> bool {
        use rayon::prelude::*;
        !self.dirs.is_empty()
            && self
                .dirs
                .par_iter()
                .all(|(path, stamp)| has_stamp(&dir.join(path), stamp))
    }

    /// Whether the output folder `dir` holds exactly what the last render
    /// left there: every folder and every file with its recorded stamp.
    pub(super) fn all_unchanged(&self, dir: &Path) -> bool {
        use rayon::prelude::*;
        self.tree_unchanged(dir)
            && self.files.par_iter().all(|(path, (_, stamp))| {
                stamp.is_some_and(|stamp| has_stamp(&dir.join(path), &stamp))
            })
    }
}

/// Whether what is at `path` has the stamp `stamp`.
fn has_stamp(path: &Path, stamp: &Stamp) -> bool {
    Stamp::of_path(path).is_ok_and(|s| s == *stamp)
}

/// The output folder as a build found it before writing: the last
/// render's manifest, whether every folder is as recorded, and the stamp of
/// each recorded file that is there. A build looks at it on a thread of its
/// own once it has read the site, while it renders (those are thousands of
/// `stat` calls, on a core the render leaves idle while a generator runs),
/// and writes from what it saw.
///
/// Seen a few milliseconds earlier than the writing: a file edited in that
/// time keeps the stamp seen, which the new manifest records; the next
/// render finds another stamp there and compares the file by reading. So an
/// edit of the output during a render is put right by the next, as one made
/// just after it is.
#[derive(Debug)]
pub struct Existing {
    pub(super) manifest: Manifest,
    pub(super) tree_unchanged: bool,
    stamps: HashMap<String, Stamp>,
}

impl Existing {
    /// Look at the output folder `out` of the site at `root`, with the
    /// manifest the last render kept.
    pub fn look(root: &Path, out: &Path) -> Existing {
        Existing::of(out, Manifest::load(root, out))
    }

    /// Look at the output folder `out` as `manifest` recorded it, on this
    /// thread alone: the look runs beside a render, which needs the shared
    /// threads.
    pub fn of(out: &Path, manifest: Manifest) -> Existing {
        let tree_unchanged = !manifest.dirs.is_empty()
            && manifest
                .dirs
                .iter()
                .all(|(path, stamp)| has_stamp(&out.join(path), stamp));
        let stamps = manifest
            .files
            .iter()
            .filter(|(_, (_, stamp))| stamp.is_some())
            .filter_map(|(path, _)| {
                Stamp::of_path(&out.join(path))
                    .ok()
                    .map(|stamp| (path.clone(), stamp))
            })
            .collect();
        Existing {
            manifest,
            tree_unchanged,
            stamps,
        }
    }

    /// The stamp seen of the recorded file at `path` (under the output
    /// folder), if it was there.
    pub(super) fn stamp(&self, path: &str) -> Option<Stamp> {
        self.stamps.get(path).copied()
    }
}

/// [`Existing::look`] begun on a thread of its own.
#[derive(Debug)]
pub struct Look(Option<std::thread::JoinHandle<Existing>>);

impl Look {
    /// Begin looking at the output folder `out` of the site at `root`.
    pub fn begin(root: &Path, out: &Path) -> Look {
        let (root, out) = (root.to_path_buf(), out.to_path_buf());
        Look(
            std::thread::Builder::new()
                .name("output look".into())
                .spawn(move || Existing::look(&root, &out))
                .ok(),
        )
    }

    /// What the look saw, once done; looked at now when it could not be
    /// begun or failed.
    pub fn seen(self, root: &Path, out: &Path) -> Existing {
        self.0
            .and_then(|look| look.join().ok())
            .unwrap_or_else(|| Existing::look(root, out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_is_read_back_only_by_this_machine_for_the_same_folder() {
        let site = tempfile::tempdir().unwrap();
        std::fs::create_dir(site.path().join(".blogmark")).unwrap();
        let out = site.path().join("public");
        let mut manifest = Manifest::new(&out);
        manifest.files.insert("index.html".into(), ([7; 32], None));
        manifest.save(site.path()).unwrap();
        assert_eq!(Manifest::load(site.path(), &out), manifest);
        // Another output folder: nothing known of it.
        let other = site.path().join("elsewhere");
        assert!(Manifest::load(site.path(), &other).files.is_empty());
        // One byte changed (a committed or edited manifest): not used.
        let file = site.path().join(FILE);
        let mut bytes = std::fs::read(&file).unwrap();
        bytes[3] ^= 1;
        std::fs::write(&file, bytes).unwrap();
        assert!(Manifest::load(site.path(), &out).files.is_empty());
    }
}
