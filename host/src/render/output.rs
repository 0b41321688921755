//! Writing the output directory: atomically, leaving unchanged files alone,
//! removing files the build no longer makes.

use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

/// Every file of a build, by path relative to the output directory.
#[derive(Default)]
pub struct Output {
    files: BTreeMap<String, Vec<u8>>,
}

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
        self.files.insert(path.into(), bytes.into());
    }

    /// Leave the file at `path` out of the build.
    pub fn remove(&mut self, path: &str) {
        self.files.remove(path);
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
    pub fn write_listing(&self, dir: &Path) -> std::io::Result<(WriteReport, Vec<String>)> {
        let mut report = WriteReport::default();
        std::fs::create_dir_all(dir)?;
        let staging = staging_dir(dir);
        // A build killed while writing leaves its staging directory behind.
        if staging.exists() {
            std::fs::remove_dir_all(&staging)?;
        }
        std::fs::create_dir_all(&staging)?;
        // Comparing is reading every old file, and each file is written
        // and renamed on its own: all in parallel, directories first.
        let changed: Vec<(&String, PathBuf, &Vec<u8>, bool)> = self
            .files
            .par_iter()
            .map(|(relative, bytes)| (relative, dir.join(relative), bytes))
            .filter_map(|(relative, path, bytes)| match std::fs::read(&path) {
                Ok(old) if old == *bytes => None,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Some((relative, path, bytes, false))
                }
                _ => Some((relative, path, bytes, true)),
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
            .try_for_each(|(_, path, bytes, existing)| {
                crate::atomic_file::write_staged(path, bytes, &staging, *existing)
            })?;
        report.written = changed.len();
        let mut listing: Vec<String> = changed.iter().map(|(r, ..)| (*r).clone()).collect();
        std::fs::remove_dir_all(&staging)?;
        let removed = self.remove_stale(dir)?;
        report.removed = removed.len();
        listing.extend(
            removed
                .iter()
                .map(|path| crate::content::relative_path(dir, path)),
        );
        Ok((report, listing))
    }

    /// Delete what this build does not make; returns the files deleted.
    fn remove_stale(&self, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
        let keep: HashSet<PathBuf> = self.files.keys().map(|k| dir.join(k)).collect();
        // A directory holding a file of this build is not empty: only the
        // others need a look after the stale files are gone.
        let occupied: HashSet<&Path> = keep.iter().flat_map(|p| p.ancestors().skip(1)).collect();
        let mut removed = Vec::new();
        let mut dirs = Vec::new();
        for entry in walkdir::WalkDir::new(dir).min_depth(1) {
            let entry = entry.map_err(std::io::Error::other)?;
            if entry.file_type().is_dir() {
                if !occupied.contains(entry.path()) {
                    dirs.push(entry.into_path());
                }
            } else if !keep.contains(entry.path()) {
                std::fs::remove_file(entry.path())?;
                removed.push(entry.into_path());
            }
        }
        // Deepest first, so emptied parents go too.
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        for d in dirs {
            if std::fs::read_dir(&d)?.next().is_none() {
                std::fs::remove_dir(&d)?;
            }
        }
        Ok(removed)
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
