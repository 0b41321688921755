//! Writing the output directory: atomically, leaving unchanged files alone,
//! removing files the build no longer makes.

use super::output_manifest::{Digest, Entry, Existing, Manifest};
use super::page_cache::KeyHasher;
use crate::file_stamp::{Stamp, fs_now};
use bytes::Bytes;
use rayon::prelude::*;
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Every file of a build, by path relative to the output directory.
#[derive(Default)]
pub struct Output {
    files: BTreeMap<String, Bytes>,
    /// Files copied from a source file as they are, by streaming: their
    /// entry in `files` is empty (they are known to exist, not read).
    copies: HashMap<String, PathBuf>,
    /// The SHA-256 of a file's bytes, where it was computed when the file
    /// was made (a rendered page's), so that writing hashes nothing.
    digests: HashMap<String, Digest>,
}

/// Source files from this size up are streamed into the output instead of
/// held whole in memory (a video in a page bundle, a 1 GiB archive in
/// `static/`).
pub const STREAM_FROM: u64 = 1 << 20;

/// What writing did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WriteReport {
    /// Files created or changed.
    pub written: usize,
    /// Files already up to date.
    pub unchanged: usize,
    /// Stale files deleted.
    pub removed: usize,
    /// Of the unchanged files, those known to be so by their stamp, as the
    /// last render recorded it, without reading them.
    pub unchanged_by_stamp: usize,
}

impl Output {
    /// Add a file; a later file at the same path replaces the earlier one.
    pub fn add(&mut self, path: impl Into<String>, bytes: impl Into<Vec<u8>>) {
        let path = path.into();
        self.copies.remove(&path);
        self.digests.remove(&path);
        self.files.insert(path, Bytes::from(bytes.into()));
    }

    /// Add a file whose SHA-256 is known (`sha256`, computed where it was
    /// made), so that comparing it with the last render's hashes nothing.
    /// The bytes are shared with their owner (a rendered page), not copied.
    pub fn add_digested(&mut self, path: impl Into<String>, bytes: Bytes, sha256: Digest) {
        let path = path.into();
        self.copies.remove(&path);
        self.files.insert(path.clone(), bytes);
        self.digests.insert(path, sha256);
    }

    /// Add a file that is a copy of `source`, streamed when written; a
    /// later file at the same path replaces it. [`Output::files`] lists it
    /// with no bytes.
    pub fn add_copy(&mut self, path: impl Into<String>, source: PathBuf) {
        let path = path.into();
        self.files.insert(path.clone(), Bytes::new());
        self.digests.remove(&path);
        self.copies.insert(path, source);
    }

    /// Add every file of `other`, each replacing one at the same path.
    pub fn append(&mut self, other: Output) {
        for (path, bytes) in other.files {
            self.copies.remove(&path);
            self.digests.remove(&path);
            self.files.insert(path, bytes);
        }
        self.copies.extend(other.copies);
        self.digests.extend(other.digests);
    }

    /// Leave the file at `path` out of the build.
    pub fn remove(&mut self, path: &str) {
        self.files.remove(path);
        self.copies.remove(path);
        self.digests.remove(path);
    }

    /// What stands for the bytes of the file at `path`: its SHA-256 when
    /// added with it, a copy's source and that source's stamp, else SHA-256
    /// of the bytes. A source stamp not settled before `before` (an edit in
    /// the same tick could keep it) takes `before` in too, so the digest
    /// matches no other render's.
    fn digest(&self, path: &str, bytes: &[u8], before: i128) -> Digest {
        if let Some(digest) = self.digests.get(path) {
            return *digest;
        }
        let Some(source) = self.copies.get(path) else {
            return Sha256::digest(bytes).into();
        };
        let stamp = Stamp::of_path(source).ok();
        let mut hasher = KeyHasher::new();
        hasher
            .part(b"copy")
            .part(source.as_os_str().as_encoded_bytes())
            .part(&postcard::to_stdvec(&stamp).unwrap_or_default());
        if !stamp.is_some_and(|s| s.settled_before(before)) {
            hasher.part(&before.to_le_bytes());
        }
        hasher.digest()
    }

    /// Every file, by its path under the output folder.
    pub fn files(&self) -> &BTreeMap<String, Bytes> {
        &self.files
    }

    /// The first file of the build (by path) inside the folder `folder`
    /// (a path under the output folder), if any.
    pub fn file_under(&self, folder: &str) -> Option<&String> {
        let inside = format!("{folder}/");
        let (path, _) = self.files.range(inside.clone()..).next()?;
        path.starts_with(&inside).then_some(path)
    }

    /// How many files the build makes.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether the build makes no file.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Write every file under `dir` and delete the files this build does
    /// not make. Each file is written to a temporary file in a staging
    /// directory beside `dir` and renamed into place, so neither a reader
    /// nor a killed build ever leaves half a page in `dir`.
    pub fn write(&self, dir: &Path) -> std::io::Result<WriteReport> {
        self.write_listing(dir).map(|(report, _)| report)
    }

    /// [`Output::write`], with the paths (under `dir`, `/`-separated) of
    /// the files it wrote or removed: what a reader of `dir` sees change.
    ///
    /// Nothing is written, read or deleted through a symbolic link: `dir`
    /// itself being one is an error (the output folder may come from a
    /// pull, `public -> ~`), and a link inside it is removed as a stale
    /// entry before anything is written.
    pub fn write_listing(&self, dir: &Path) -> std::io::Result<(WriteReport, Vec<String>)> {
        self.write_recorded(dir, &Existing::of(dir, Manifest::new(dir)))
            .map(|(report, listing, _)| (report, listing))
    }

    /// [`Output::write_listing`], helped by what the last render left in
    /// `dir` and what this one saw there (`existing`): a file whose digest
    /// and stamp are the recorded ones is not read, and the folder tree is
    /// not walked when no folder changed. Also returns what this render
    /// leaves, for the next.
    pub fn write_recorded(
        &self,
        dir: &Path,
        existing: &Existing,
    ) -> std::io::Result<(WriteReport, Vec<String>, Manifest)> {
        let last = &existing.manifest;
        let mut report = WriteReport::default();
        refuse_link(dir)?;
        let fresh =
            std::fs::symlink_metadata(dir).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound);
        std::fs::create_dir_all(dir)?;
        // Made just now, or there already: either way no link (checked
        // again, as `create_dir_all` accepts a link to a folder).
        refuse_link(dir)?;
        let staging = staging_dir(dir);
        // A build killed while writing leaves its staging directory
        // behind; a pulled one may be a link, removed (never followed).
        remove_entry(&staging)?;
        std::fs::create_dir(&staging)?;
        // A stamp read from here on is trusted only if older than this.
        let before = fs_now(&staging)?;
        // One walk of the old output, following no link: the existing
        // files to compare with, and what may be stale; or the recorded
        // files, when no folder changed since.
        let tree_unchanged = existing.tree_unchanged;
        let old = if tree_unchanged {
            Listing {
                recorded: Some(last),
                ..Listing::default()
            }
        } else {
            Listing::walk(dir)?
        };
        let mut listing = remove_links(dir, &old.links)?;
        // Comparing is a stat of each old file (a read when the last render
        // did not leave it, or it changed since), and each file is written
        // and renamed on its own: all in parallel, directories first.
        let compared: Vec<ComparedFile> = self
            .files
            .par_iter()
            .map(|(relative, bytes)| {
                let path = dir.join(relative);
                let digest = self.digest(relative, bytes, before);
                let state = if old.has(relative, &path) {
                    let recorded = last
                        .file(relative)
                        .map(|entry| (entry, existing.stamp(relative)));
                    self.compare(relative, &path, bytes, digest, recorded, before)
                } else {
                    // No regular file there (a link was removed above).
                    Compared::New
                };
                (relative, path, bytes, digest, state)
            })
            .collect();
        report.unchanged_by_stamp = compared
            .iter()
            .filter(|c| matches!(c.4, Compared::Known(_)))
            .count();
        tracing::debug!(
            tree_unchanged,
            files = compared.len(),
            by_stamp = report.unchanged_by_stamp,
            "output compared with the last render's"
        );
        let changed: Vec<Changed> = compared
            .iter()
            .filter_map(|(relative, path, bytes, _, state)| match state {
                Compared::Same(_) | Compared::Known(_) => None,
                Compared::New => Some((*relative, path, *bytes, false)),
                Compared::Changed => Some((*relative, path, *bytes, true)),
            })
            .collect();
        report.unchanged = self.files.len() - changed.len();
        report.written = changed.len();
        let in_tree = if fresh && old.is_empty() {
            self.write_tree(dir, &staging, &changed)?
        } else {
            None
        };
        let written = match in_tree {
            Some(written) => written,
            None => self.write_each(dir, &staging, &changed)?,
        };
        listing.extend(changed.iter().map(|(r, ..)| (*r).clone()));
        let removed = self.remove_stale(dir, &old)?;
        report.removed = removed.len() + old.links.len();
        listing.extend(
            removed
                .iter()
                .map(|path| crate::content::relative_path(dir, path)),
        );
        let touched = !changed.is_empty() || report.removed > 0;
        let manifest = if touched || !tree_unchanged {
            record(dir, &staging, (&compared, &written, &removed), (&old, last))?
        } else {
            // Nothing in the output moved: what was recorded still holds.
            let files = compared
                .iter()
                .map(|(relative, _, _, digest, state)| {
                    ((*relative).clone(), (*digest, state.stamp()))
                })
                .collect();
            Manifest::of(dir, files, last.dirs.clone())
        };
        std::fs::remove_dir_all(&staging)?;
        Ok((report, listing, manifest))
    }

    /// Write each of `changed` (its path under the output folder `dir`, its
    /// bytes, whether a file may be there) through a temporary file in
    /// `staging` renamed into place. Returns each one's stamp, read just
    /// after: the next render trusts it only if unchanged since.
    fn write_each<'c>(
        &self,
        dir: &Path,
        staging: &Path,
        changed: &[Changed<'c>],
    ) -> std::io::Result<HashMap<&'c str, Option<Stamp>>> {
        make_parents(dir, changed)?;
        changed
            .par_iter()
            .map(|(relative, path, bytes, existing)| {
                match self.copies.get(*relative) {
                    Some(source) => {
                        crate::atomic_file::copy_staged(source, path, staging, *existing)
                    }
                    None => crate::atomic_file::write_staged(path, bytes, staging, *existing),
                }?;
                Ok((relative.as_str(), Stamp::of_path(path).ok()))
            })
            .collect()
    }

    /// The first write of an output folder `dir` that was not there when
    /// the render began (and is still empty): every file of `changed` is
    /// written straight into a new tree in `staging`, which is then renamed
    /// to `dir` whole, so a reader still never sees half of it. A file
    /// written on its own is a temporary file renamed into place, and every
    /// rename between folders takes a lock of the whole file system: 11,000
    /// of them were half of writing a 10,000-post site. `None` (nothing in
    /// `dir`, no tree left) when the tree cannot be written (two paths that
    /// a file system without case tells apart from neither) or cannot take
    /// its place (`dir` no longer empty, a mount point).
    fn write_tree<'c>(
        &self,
        dir: &Path,
        staging: &Path,
        changed: &[Changed<'c>],
    ) -> std::io::Result<Option<HashMap<&'c str, Option<Stamp>>>> {
        let tree = staging.join("tree");
        let written = self.fill_tree(&tree, changed);
        let moved = written.and_then(|written| std::fs::rename(&tree, dir).map(|()| written));
        match moved {
            Ok(written) => Ok(Some(written)),
            Err(e) => {
                tracing::debug!("the output not written as one tree ({e}): file by file");
                // Not left to take the disk twice over while the files are
                // written again.
                remove_entry(&tree)?;
                Ok(None)
            }
        }
    }

    /// Write each of `changed` into the new folder `tree`, by its path
    /// under the output folder; each one's stamp as written (renaming the
    /// tree changes none).
    fn fill_tree<'c>(
        &self,
        tree: &Path,
        changed: &[Changed<'c>],
    ) -> std::io::Result<HashMap<&'c str, Option<Stamp>>> {
        std::fs::create_dir(tree)?;
        make_parents(tree, changed)?;
        changed
            .par_iter()
            .map(|(relative, _, bytes, _)| {
                let path = tree.join(relative.as_str());
                let mut file = std::fs::File::create_new(&path)?;
                match self.copies.get(*relative) {
                    Some(source) => crate::atomic_file::copy_into(source, &mut file)?,
                    None => std::io::Write::write_all(&mut file, bytes)?,
                }
                let stamp = file.metadata().ok().map(|m| Stamp::of(&m));
                Ok((relative.as_str(), stamp))
            })
            .collect()
    }

    /// Whether the old file at `path` holds what this build makes there
    /// (`bytes`, whose digest is `digest`): known without reading when the
    /// last render recorded the same digest and the stamp seen of the file
    /// (`recorded`: the entry, and the stamp [`Existing`] saw) is the one
    /// it recorded; else read and compared. A file found the same gets its
    /// stamp, if read after `before` and older than it.
    fn compare(
        &self,
        relative: &str,
        path: &Path,
        bytes: &[u8],
        digest: Digest,
        recorded: Option<(&Entry, Option<Stamp>)>,
        before: i128,
    ) -> Compared {
        if let Some(((was, Some(then)), Some(seen))) = recorded
            && *was == digest
            && *then == seen
        {
            return Compared::Known(seen);
        }
        let stamp = Stamp::of_path(path).ok();
        let same = match self.copies.get(relative) {
            Some(source) => crate::atomic_file::same_content(source, path),
            None => std::fs::read(path).is_ok_and(|old| old == *bytes),
        };
        if same {
            Compared::Same(stamp.filter(|s| s.settled_before(before)))
        } else {
            Compared::Changed
        }
    }

    /// Delete what this build does not make, of the `old` output; returns
    /// the files deleted.
    fn remove_stale(&self, dir: &Path, old: &Listing) -> std::io::Result<Vec<PathBuf>> {
        if let Some(last) = old.recorded {
            return self.remove_recorded_stale(dir, last);
        }
        let keep: HashSet<PathBuf> = self.files.keys().map(|k| dir.join(k)).collect();
        // A directory holding a file of this build is not empty: only the
        // others need a look after the stale files are gone.
        let occupied: HashSet<&Path> = keep.iter().flat_map(|p| p.ancestors().skip(1)).collect();
        let mut removed = Vec::new();
        for file in old.files.iter().chain(&old.others) {
            if !keep.contains(file) {
                match std::fs::remove_file(file) {
                    Ok(()) => removed.push(file.clone()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
        let mut dirs: Vec<&PathBuf> = old
            .dirs
            .iter()
            .filter(|d| !occupied.contains(d.as_path()))
            .collect();
        // Deepest first, so emptied parents go too.
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        for d in dirs {
            // Lstat: a folder of the walk replaced by a link since is left.
            let is_dir = std::fs::symlink_metadata(d).is_ok_and(|m| m.is_dir());
            if is_dir && std::fs::read_dir(d)?.next().is_none() {
                std::fs::remove_dir(d)?;
            }
        }
        Ok(removed)
    }

    /// [`Output::remove_stale`] of an output folder as `last` recorded it:
    /// the files it made that this build does not, then each of their
    /// folders left empty.
    fn remove_recorded_stale(&self, dir: &Path, last: &Manifest) -> std::io::Result<Vec<PathBuf>> {
        let mut removed = Vec::new();
        let mut folders = BTreeSet::new();
        for relative in last.files.keys() {
            if self.files.contains_key(relative) {
                continue;
            }
            let file = dir.join(relative);
            match std::fs::remove_file(&file) {
                Ok(()) => removed.push(file),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            folders.extend(folders_above(relative));
        }
        // Deepest first, so emptied parents go too; a folder holding a file
        // of this build is not empty.
        let mut folders: Vec<&str> = folders.into_iter().collect();
        folders.sort_by_key(|f| std::cmp::Reverse(f.matches('/').count()));
        for folder in folders {
            let path = dir.join(folder);
            if self.file_under(folder).is_none()
                && std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir())
                && std::fs::read_dir(&path)?.next().is_none()
            {
                std::fs::remove_dir(&path)?;
            }
        }
        Ok(removed)
    }
}

/// What an output folder held before a build: by one walk that follows no
/// link, or as the last render recorded it when no folder changed since.
#[derive(Default)]
struct Listing<'m> {
    /// What the last render recorded, when it still holds (the other
    /// fields are then empty).
    recorded: Option<&'m Manifest>,
    /// Regular files.
    files: HashSet<PathBuf>,
    /// Folders, the output folder itself excluded.
    dirs: Vec<PathBuf>,
    /// Symbolic links, to folders or not.
    links: Vec<PathBuf>,
    /// Anything else (a FIFO, a socket): stale unless replaced.
    others: Vec<PathBuf>,
}

/// A file a render writes: its path under the output folder, there and
/// as given, its bytes, and whether a file may be there already.
type Changed<'c> = (&'c String, &'c PathBuf, &'c Bytes, bool);

impl Listing<'_> {
    /// Whether the walk found nothing (and nothing was recorded).
    fn is_empty(&self) -> bool {
        self.recorded.is_none()
            && self.files.is_empty()
            && self.dirs.is_empty()
            && self.links.is_empty()
            && self.others.is_empty()
    }

    /// Whether a regular file was at `relative` (`path` under the output
    /// folder).
    fn has(&self, relative: &str, path: &Path) -> bool {
        match self.recorded {
            Some(last) => last.files.contains_key(relative),
            None => self.files.contains(path),
        }
    }

    fn walk(dir: &Path) -> std::io::Result<Listing<'static>> {
        let mut listing = Listing::default();
        // A repository kept in the output (`public/.git`, as many deploy)
        // is not the build's to compare or clean: never entered.
        let walk = walkdir::WalkDir::new(dir)
            .min_depth(1)
            .follow_links(false)
            .follow_root_links(false)
            .into_iter()
            .filter_entry(|e| !e.file_name().eq_ignore_ascii_case(".git"));
        for entry in walk {
            let entry = entry.map_err(std::io::Error::other)?;
            let kind = entry.file_type();
            let path = entry.into_path();
            if kind.is_symlink() {
                listing.links.push(path);
            } else if kind.is_dir() {
                listing.dirs.push(path);
            } else if kind.is_file() {
                listing.files.insert(path);
            } else {
                listing.others.push(path);
            }
        }
        Ok(listing)
    }
}

/// Remove the symbolic links found in the output folder `dir`; their
/// paths under it.
fn remove_links(dir: &Path, links: &[PathBuf]) -> std::io::Result<Vec<String>> {
    let mut removed = Vec::new();
    for link in links {
        tracing::warn!(
            "removed the symbolic link {} from the output: the render never writes through a link",
            link.display()
        );
        std::fs::remove_file(link).or_else(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Ok(())
            } else {
                Err(e)
            }
        })?;
        removed.push(crate::content::relative_path(dir, link));
    }
    Ok(removed)
}

/// A file of the build as compared with the old output: its path under
/// the output folder and in full, its bytes, its digest, and how it
/// compared.
type ComparedFile<'a> = (&'a String, PathBuf, &'a Bytes, Digest, Compared);

/// How an old file of the output compares with what the build makes there.
enum Compared {
    /// No file there.
    New,
    /// The same bytes, read; the file's stamp, if it can be trusted.
    Same(Option<Stamp>),
    /// The same bytes, known by the file's stamp without reading it.
    Known(Stamp),
    /// Other bytes.
    Changed,
}

impl Compared {
    /// The stamp the comparison read, when it can be trusted.
    fn stamp(&self) -> Option<Stamp> {
        match self {
            Compared::Known(stamp) => Some(*stamp),
            Compared::Same(stamp) => *stamp,
            Compared::New | Compared::Changed => None,
        }
    }
}

/// What the output folder `dir` holds once written, for the next render:
/// each file of the build (`compared`, with its digest) with its stamp when
/// it is the one this render saw (`written`: read just after writing; else
/// the one the comparison read) and settled; and each folder's stamp, when
/// every folder can be trusted (else none: the next render walks the tree).
/// A folder that was there before this render and changed since `last` is
/// listed again, and trusted only if it holds nothing but the build's files
/// and folders (and `.git`), with the same stamp before and after the
/// listing: a file another process dropped there meanwhile is not taken as
/// the build's.
fn record(
    dir: &Path,
    staging: &Path,
    (compared, written, removed): (&[ComparedFile], &HashMap<&str, Option<Stamp>>, &[PathBuf]),
    (old, last): (&Listing, &Manifest),
) -> std::io::Result<Manifest> {
    // A written file's stamp is trusted once the clock has moved past it.
    let after = if written.is_empty() {
        i128::MIN
    } else {
        next_tick(staging)?
    };
    // The clock of another file system says nothing of this one.
    let same_fs = Stamp::of_path(staging)?.device() == Stamp::of_path(dir)?.device();
    let settled = |stamp: Option<Stamp>| stamp.filter(|s| same_fs && s.settled_before(after));
    let files: HashMap<String, Entry> = compared
        .par_iter()
        .map(|(relative, path, _, digest, state)| {
            let stamp = match state {
                Compared::New | Compared::Changed => {
                    let seen = written.get(relative.as_str()).copied().flatten();
                    let now = Stamp::of_path(path).ok();
                    settled(now.filter(|now| Some(*now) == seen))
                }
                // Read in this render and older than its start: a change
                // since gives the file another stamp, which the next render
                // sees. So it needs no second look (a render that wrote one
                // page looked at all 2,126 files of a site twice).
                compared => compared.stamp().filter(|_| same_fs),
            };
            ((*relative).clone(), (*digest, stamp))
        })
        .collect();
    let mut folders: HashSet<String> = match old.recorded {
        Some(last) => last.dirs.keys().cloned().collect(),
        None => old
            .dirs
            .iter()
            .map(|d| crate::content::relative_path(dir, d))
            .collect(),
    };
    folders.insert(String::new());
    // The folders there before this render: any other is one it made.
    let existed = folders.clone();
    for (relative, ..) in compared {
        for up in folders_above(relative) {
            if !folders.insert(up.to_owned()) {
                break;
            }
        }
    }
    let holds_only_the_build = |relative: &str, path: &Path| -> Option<()> {
        for entry in std::fs::read_dir(path).ok()? {
            let entry = entry.ok()?;
            let name = entry.file_name();
            if name.eq_ignore_ascii_case(".git") {
                continue;
            }
            let name = name.to_str()?;
            let inside = if relative.is_empty() {
                name.to_owned()
            } else {
                format!("{relative}/{name}")
            };
            let kind = entry.file_type().ok()?;
            let expected = (kind.is_file() && files.contains_key(&inside))
                || (kind.is_dir() && folders.contains(&inside));
            expected.then_some(())?;
        }
        Some(())
    };
    // When no folder had changed as the render began, only those it wrote
    // in or removed from (and above them) can have another stamp: the
    // others keep theirs without a second look (a render that wrote one
    // page of 2,000 looked at 2,100 folders twice). A folder changed by
    // someone else meanwhile has a stamp the next render does not find.
    let moved: Option<HashSet<String>> = old.recorded.map(|_| {
        let removed = removed
            .iter()
            .map(|path| crate::content::relative_path(dir, path));
        let written = written.keys().map(|relative| (*relative).to_owned());
        let mut moved = HashSet::from([String::new()]);
        for file in written.chain(removed) {
            moved.extend(folders_above(&file).map(str::to_owned));
        }
        moved
    });
    let dirs: Option<HashMap<String, Stamp>> = folders
        .par_iter()
        .filter_map(|relative| {
            if let Some(moved) = &moved
                && !moved.contains(relative)
                && let Some(stamp) = last.dirs.get(relative)
            {
                return Some(settled(Some(*stamp)).map(|s| (relative.clone(), s)));
            }
            let path = dir.join(relative);
            let stamp = match std::fs::symlink_metadata(&path) {
                // Gone: a stale folder, removed.
                Err(_) => return None,
                Ok(meta) if !meta.is_dir() => return Some(None),
                Ok(meta) => Stamp::of(&meta),
            };
            // Unchanged since the last render, or made by this one (what it
            // holds was put there during this render, by this render but
            // for a process writing into a folder made moments ago): taken
            // as listed. A cold render of 10,000 pages lists nothing again.
            if last.dirs.get(relative) == Some(&stamp) || !existed.contains(relative) {
                return Some(settled(Some(stamp)).map(|s| (relative.clone(), s)));
            }
            let trusted = holds_only_the_build(relative, &path).is_some()
                && Stamp::of_path(&path).is_ok_and(|again| again == stamp);
            Some(settled(Some(stamp).filter(|_| trusted)).map(|s| (relative.clone(), s)))
        })
        .collect();
    Ok(Manifest::of(dir, files, dirs.unwrap_or_default()))
}

/// Make under `base` the folders the files of `changed` go in (by their
/// path under the output folder), on every core.
fn make_parents(base: &Path, changed: &[Changed]) -> std::io::Result<()> {
    let parents: BTreeSet<PathBuf> = changed
        .iter()
        .filter_map(|(relative, ..)| Path::new(relative.as_str()).parent())
        .map(|parent| base.join(parent))
        .collect();
    // `create_dir_all` succeeds when another thread made the directory.
    parents.par_iter().try_for_each(std::fs::create_dir_all)
}

/// The folders above the output file `relative` (`posts/a/index.html`:
/// `posts/a`, then `posts`), the output folder itself left out.
fn folders_above(relative: &str) -> impl Iterator<Item = &str> {
    std::iter::successors(relative.rsplit_once('/').map(|(up, _)| up), |folder| {
        folder.rsplit_once('/').map(|(up, _)| up)
    })
}

/// The file system's clock at `dir` once it has moved past now, so that
/// everything written so far is older; at most 50 ms are waited (a file
/// system whose clock is coarser leaves what was just written untrusted).
fn next_tick(dir: &Path) -> std::io::Result<i128> {
    let first = fs_now(dir)?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(50);
    loop {
        let now = fs_now(dir)?;
        if now > first || std::time::Instant::now() >= deadline {
            return Ok(now);
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// An error when `dir` is a symbolic link: an output folder is written
/// only where it really is.
fn refuse_link(dir: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.file_type().is_symlink() => {
            let target = std::fs::read_link(dir)
                .map(|t| t.display().to_string())
                .unwrap_or_else(|_| "?".into());
            Err(std::io::Error::other(format!(
                "{} is a symbolic link (to `{target}`): refusing to write the site through it \
                 (remove the link, or name the folder with --out)",
                dir.display()
            )))
        }
        _ => Ok(()),
    }
}

/// Remove whatever is at `path` (a folder, a file, a link: never what a
/// link points to); nothing there is fine.
fn remove_entry(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// `.NAME.writing` beside the output directory `dir`: on the same file
/// system, so renames out of it are atomic.
pub fn staging_dir(dir: &Path) -> PathBuf {
    let name = dir
        .file_name()
        .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    parent.join(format!(".{name}.writing"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_skips_unchanged_and_removes_stale() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("old/deep")).unwrap();
        std::fs::write(dir.path().join("old/deep/gone.html"), "x").unwrap();
        let mut out = Output::default();
        out.add("index.html", "home");
        out.add("posts/a/index.html", "a");
        assert_eq!(
            out.write(dir.path()).unwrap(),
            WriteReport {
                written: 2,
                unchanged: 0,
                removed: 1,
                unchanged_by_stamp: 0
            }
        );
        assert!(!dir.path().join("old").exists());
        assert_eq!(
            out.write(dir.path()).unwrap(),
            WriteReport {
                written: 0,
                unchanged: 2,
                removed: 0,
                unchanged_by_stamp: 0
            }
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("posts/a/index.html")).unwrap(),
            "a"
        );
    }

    /// Write `out` into `dir` with what the last write left, as a render
    /// does; the report and the new manifest.
    fn write_twice_ready(out: &Output, dir: &Path, last: &Manifest) -> (WriteReport, Manifest) {
        let existing = Existing::of(dir, last.clone());
        let (report, _, manifest) = out.write_recorded(dir, &existing).unwrap();
        (report, manifest)
    }

    fn sample() -> Output {
        let mut out = Output::default();
        out.add("index.html", "home");
        out.add_digested(
            "posts/a/index.html",
            Bytes::from_static(b"a"),
            Sha256::digest(b"a").into(),
        );
        out.add("posts/b/index.html", "b");
        out
    }

    #[cfg(unix)]
    #[test]
    fn a_first_write_makes_the_folder_whole_and_one_that_cannot_writes_file_by_file() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let public = dir.path().join("public");
        let source = dir.path().join("photo.jpg");
        std::fs::write(&source, b"jpeg bytes").unwrap();
        // The copy's source settled (older than the file system's clock),
        // so that the write may take its stamp.
        let settled = Stamp::of_path(&source).unwrap();
        while !settled.settled_before(fs_now(dir.path()).unwrap()) {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let mut out = sample();
        out.add_copy("posts/a/photo.jpg", source.clone());
        let (first, manifest) = write_twice_ready(&out, &public, &Manifest::new(&public));
        assert_eq!(first.written, 4);
        assert_eq!(
            std::fs::read(public.join("posts/a/photo.jpg")).unwrap(),
            b"jpeg bytes"
        );
        assert_eq!(
            std::fs::read_to_string(public.join("posts/b/index.html")).unwrap(),
            "b"
        );
        assert!(!staging_dir(&public).exists(), "nothing left beside it");
        // The mode a plain write gives (the umask applied), not a private one.
        std::fs::write(dir.path().join("plain"), "x").unwrap();
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode(&public.join("index.html")),
            mode(&dir.path().join("plain"))
        );
        // Every stamp taken as written holds after the folder was renamed.
        let (second, manifest) = write_twice_ready(&out, &public, &manifest);
        assert_eq!(
            (second.written, second.unchanged, second.unchanged_by_stamp),
            (0, 4, 4)
        );
        // A source written again (the same bytes) has another stamp: the
        // copy is compared by content, and found unchanged.
        std::fs::write(&source, b"jpeg bytes").unwrap();
        let (third, _) = write_twice_ready(&out, &public, &manifest);
        assert_eq!(
            (third.written, third.unchanged, third.unchanged_by_stamp),
            (0, 4, 3)
        );

        // A folder that is not empty (filled since the render began) is not
        // replaced: nothing of it is touched, and the caller writes file by file.
        let other = dir.path().join("other");
        std::fs::create_dir(&other).unwrap();
        std::fs::write(other.join("theirs.txt"), "keep").unwrap();
        let staging = staging_dir(&other);
        std::fs::create_dir(&staging).unwrap();
        let paths: Vec<(String, PathBuf)> = out
            .files
            .keys()
            .map(|relative| (relative.clone(), other.join(relative)))
            .collect();
        let changed: Vec<Changed> = paths
            .iter()
            .map(|(relative, path)| (relative, path, &out.files[relative], false))
            .collect();
        assert!(
            out.write_tree(&other, &staging, &changed)
                .unwrap()
                .is_none()
        );
        let names: Vec<_> = std::fs::read_dir(&other)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["theirs.txt"]);
        assert!(
            !staging.join("tree").exists(),
            "not left to take the disk twice"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_first_write_follows_no_link_it_is_given_to_copy() {
        let dir = tempfile::tempdir().unwrap();
        let public = dir.path().join("public");
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "private").unwrap();
        let link = dir.path().join("static-link");
        std::os::unix::fs::symlink(&secret, &link).unwrap();
        let mut out = sample();
        out.add_copy("leak.txt", link);
        assert!(
            out.write_recorded(&public, &Existing::of(&public, Manifest::new(&public)))
                .is_err()
        );
        assert!(!public.join("leak.txt").exists());
    }

    #[test]
    fn a_second_write_knows_unchanged_files_by_their_stamp() {
        let dir = tempfile::tempdir().unwrap();
        let public = dir.path().join("public");
        let out = sample();
        let (first, manifest) = write_twice_ready(&out, &public, &Manifest::new(&public));
        assert_eq!((first.written, first.unchanged_by_stamp), (3, 0));
        assert!(manifest.tree_unchanged(&public), "every folder recorded");
        let (second, again) = write_twice_ready(&out, &public, &manifest);
        assert_eq!(
            (second.written, second.unchanged, second.unchanged_by_stamp),
            (0, 3, 3)
        );
        assert_eq!(again, manifest, "nothing moved: nothing to record anew");
        // Without what the last write left, every file is read again.
        let (blind, _) = write_twice_ready(&out, &public, &Manifest::new(&public));
        assert_eq!((blind.unchanged, blind.unchanged_by_stamp), (3, 0));
    }

    #[test]
    fn an_edit_in_the_output_is_undone_even_when_the_stamp_was_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let public = dir.path().join("public");
        let out = sample();
        let (_, manifest) = write_twice_ready(&out, &public, &Manifest::new(&public));
        // Same length, same folder: only the file's stamp tells.
        std::fs::write(public.join("posts/a/index.html"), "X").unwrap();
        std::fs::write(public.join("index.html"), "evil").unwrap();
        let (report, manifest) = write_twice_ready(&out, &public, &manifest);
        assert_eq!((report.written, report.unchanged_by_stamp), (2, 1));
        assert_eq!(
            std::fs::read_to_string(public.join("posts/a/index.html")).unwrap(),
            "a"
        );
        assert_eq!(
            std::fs::read_to_string(public.join("index.html")).unwrap(),
            "home"
        );
        // A file replaced by a link, a file dropped in a folder: the tree
        // changed, so it is walked, the link and the stranger removed.
        let b = public.join("posts/b/index.html");
        std::fs::remove_file(&b).unwrap();
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), &b).unwrap();
        std::fs::write(public.join("posts/a/stranger.html"), "?").unwrap();
        assert!(!manifest.tree_unchanged(&public));
        let (report, _) = write_twice_ready(&out, &public, &manifest);
        assert_eq!((report.written, report.removed), (1, 2));
        assert!(!public.join("posts/a/stranger.html").exists());
        assert!(!std::fs::symlink_metadata(&b).unwrap().is_symlink());
        assert!(
            !dir.path().join("elsewhere").exists(),
            "nothing written through the link"
        );
    }

    #[test]
    fn an_edit_between_the_look_and_the_write_is_undone_by_the_next_render() {
        let dir = tempfile::tempdir().unwrap();
        let public = dir.path().join("public");
        let out = sample();
        let (_, manifest) = write_twice_ready(&out, &public, &Manifest::new(&public));
        // Looked at early, as a build does; edited and joined by a stranger
        // after that, before the write.
        let existing = Existing::of(&public, manifest.clone());
        std::fs::write(public.join("posts/a/index.html"), "X").unwrap();
        std::fs::write(public.join("posts/a/stranger.html"), "?").unwrap();
        let (report, _, manifest) = out.write_recorded(&public, &existing).unwrap();
        assert_eq!(report.unchanged_by_stamp, 3, "what the look saw");
        // The manifest holds the stamps seen, not the file's new one, nor
        // the folder's: the next render reads the file and walks the tree.
        assert!(!manifest.tree_unchanged(&public));
        let (report, _) = write_twice_ready(&out, &public, &manifest);
        assert_eq!((report.written, report.removed), (1, 1));
        assert_eq!(
            std::fs::read_to_string(public.join("posts/a/index.html")).unwrap(),
            "a"
        );
        assert!(!public.join("posts/a/stranger.html").exists());
    }

    #[test]
    fn a_page_with_other_bytes_is_written_and_a_gone_one_removed() {
        let dir = tempfile::tempdir().unwrap();
        let public = dir.path().join("public");
        let (_, manifest) = write_twice_ready(&sample(), &public, &Manifest::new(&public));
        let mut out = sample();
        out.add_digested(
            "posts/a/index.html",
            Bytes::from_static(b"a2"),
            Sha256::digest(b"a2").into(),
        );
        out.add("posts/b/index.html", "b2");
        let (report, manifest) = write_twice_ready(&out, &public, &manifest);
        assert_eq!((report.written, report.unchanged_by_stamp), (2, 1));
        assert_eq!(
            std::fs::read_to_string(public.join("posts/b/index.html")).unwrap(),
            "b2"
        );
        // Gone from the build: removed, though the tree did not change.
        out.remove("posts/b/index.html");
        let (report, _) = write_twice_ready(&out, &public, &manifest);
        assert_eq!((report.removed, report.unchanged_by_stamp), (1, 2));
        assert!(!public.join("posts/b").exists());
    }
}
