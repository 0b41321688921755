//! Writing the output directory: atomically, leaving unchanged files alone,
//! removing files the build no longer makes.

use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Every file of a build, by path relative to the output directory.
#[derive(Default)]
pub struct Output {
    files: BTreeMap<String, Vec<u8>>,
    /// Files copied from a source file as they are, by streaming: their
    /// entry in `files` is empty (they are known to exist, not read).
    copies: HashMap<String, PathBuf>,
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
}

impl Output {
    /// Add a file; a later file at the same path replaces the earlier one.
    pub fn add(&mut self, path: impl Into<String>, bytes: impl Into<Vec<u8>>) {
        let path = path.into();
        self.copies.remove(&path);
        self.files.insert(path, bytes.into());
    }

    /// Add a file that is a copy of `source`, streamed when written; a
    /// later file at the same path replaces it. [`Output::files`] lists it
    /// with no bytes.
    pub fn add_copy(&mut self, path: impl Into<String>, source: PathBuf) {
        let path = path.into();
        self.files.insert(path.clone(), Vec::new());
        self.copies.insert(path, source);
    }

    /// Leave the file at `path` out of the build.
    pub fn remove(&mut self, path: &str) {
        self.files.remove(path);
        self.copies.remove(path);
    }

    /// Every file, by its path under the output folder.
    pub fn files(&self) -> &BTreeMap<String, Vec<u8>> {
        &self.files
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
        let mut report = WriteReport::default();
        refuse_link(dir)?;
        std::fs::create_dir_all(dir)?;
        // Made just now, or there already: either way no link (checked
        // again, as `create_dir_all` accepts a link to a folder).
        refuse_link(dir)?;
        let staging = staging_dir(dir);
        // A build killed while writing leaves its staging directory
        // behind; a pulled one may be a link, removed (never followed).
        remove_entry(&staging)?;
        std::fs::create_dir(&staging)?;
        // One walk of the old output, following no link: the existing
        // files to compare with, and what may be stale.
        let old = Listing::walk(dir)?;
        let mut listing: Vec<String> = Vec::new();
        for link in &old.links {
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
            listing.push(crate::content::relative_path(dir, link));
        }
        // Comparing is reading every old file, and each file is written
        // and renamed on its own: all in parallel, directories first.
        let changed: Vec<(&String, PathBuf, &Vec<u8>, bool)> = self
            .files
            .par_iter()
            .map(|(relative, bytes)| (relative, dir.join(relative), bytes))
            .filter_map(|(relative, path, bytes)| {
                if !old.files.contains(&path) {
                    // No regular file there (a link was removed above).
                    return Some((relative, path, bytes, false));
                }
                let same = match self.copies.get(relative) {
                    Some(source) => crate::atomic_file::same_content(source, &path),
                    None => std::fs::read(&path).is_ok_and(|old| old == *bytes),
                };
                (!same).then_some((relative, path, bytes, true))
            })
            .collect();
        report.unchanged = self.files.len() - changed.len();
        let parents: BTreeSet<&Path> = changed
            .iter()
            .map(|(_, path, _, _)| path.parent().unwrap_or(dir))
            .collect();
        // `create_dir_all` succeeds when another thread made the directory.
        parents.par_iter().try_for_each(std::fs::create_dir_all)?;
        changed
            .par_iter()
            .try_for_each(
                |(relative, path, bytes, existing)| match self.copies.get(*relative) {
                    Some(source) => {
                        crate::atomic_file::copy_staged(source, path, &staging, *existing)
                    }
                    None => crate::atomic_file::write_staged(path, bytes, &staging, *existing),
                },
            )?;
        report.written = changed.len();
        listing.extend(changed.iter().map(|(r, ..)| (*r).clone()));
        std::fs::remove_dir_all(&staging)?;
        let removed = self.remove_stale(dir, &old)?;
        report.removed = removed.len() + old.links.len();
        listing.extend(
            removed
                .iter()
                .map(|path| crate::content::relative_path(dir, path)),
        );
        Ok((report, listing))
    }

    /// Delete what this build does not make, of the `old` output; returns
    /// the files deleted.
    fn remove_stale(&self, dir: &Path, old: &Listing) -> std::io::Result<Vec<PathBuf>> {
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
}

/// What an output folder held before a build, by one walk that follows no
/// link.
#[derive(Default)]
struct Listing {
    /// Regular files.
    files: HashSet<PathBuf>,
    /// Folders, the output folder itself excluded.
    dirs: Vec<PathBuf>,
    /// Symbolic links, to folders or not.
    links: Vec<PathBuf>,
    /// Anything else (a FIFO, a socket): stale unless replaced.
    others: Vec<PathBuf>,
}

impl Listing {
    fn walk(dir: &Path) -> std::io::Result<Listing> {
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
                removed: 1
            }
        );
        assert!(!dir.path().join("old").exists());
        assert_eq!(
            out.write(dir.path()).unwrap(),
            WriteReport {
                written: 0,
                unchanged: 2,
                removed: 0
            }
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("posts/a/index.html")).unwrap(),
            "a"
        );
    }
}
