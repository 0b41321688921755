//! A render's check of `scripts/vendor/` against `python.lock` and of the
//! lock against `[python] dependencies`: no network, no Python. A vendored
//! file that the lock does not list, or lists with another SHA-256, is
//! refused (scripts cannot import it) and named, with the command that
//! fixes it.

use super::lock_file::{LOCK_FILE, Lock};
use crate::diagnostics::Diagnostic;
use crate::scripts::library::VENDOR_DIR;
use std::collections::BTreeSet;
use std::path::Path;

/// What the check found.
#[derive(Debug, Default)]
pub struct Verified {
    /// Vendored files scripts may not import (paths relative to the site).
    pub refused: BTreeSet<String>,
    /// What is wrong, each with the command that fixes it.
    pub problems: Vec<Diagnostic>,
    /// The SHA-256 of every vendored file read (site-relative path), so
    /// that nothing reads them again to hash them.
    pub hashes: std::collections::BTreeMap<String, String>,
}

const FIX: &str = "run `host python lock`";

/// Check the site at `root`, whose site.toml asks for `dependencies`.
pub fn verify(root: &Path, dependencies: &[String]) -> Verified {
    let mut verified = Verified::default();
    let on_disk = vendored_files(root);
    verified.hashes = on_disk.iter().cloned().collect();
    let lock = match Lock::read(root) {
        Ok(lock) => lock,
        Err(e) => {
            verified.problems.push(Diagnostic::error(
                LOCK_FILE,
                0,
                0,
                format!("cannot be read: {e}; {FIX}"),
            ));
            verified
                .refused
                .extend(on_disk.into_iter().map(|(path, _)| path));
            return verified;
        }
    };
    let Some(lock) = lock else {
        if !dependencies.is_empty() {
            verified.problems.push(Diagnostic::error(
                crate::config::FILE,
                0,
                0,
                format!("[python] dependencies are not vendored yet: {FIX}"),
            ));
        }
        if !on_disk.is_empty() {
            verified.problems.push(Diagnostic::error(
                VENDOR_DIR,
                0,
                0,
                format!(
                    "vendored files without a {LOCK_FILE}: list packages in [python] \
                     dependencies and {FIX}"
                ),
            ));
            verified
                .refused
                .extend(on_disk.into_iter().map(|(path, _)| path));
        }
        return verified;
    };
    if lock.dependencies != dependencies {
        verified.problems.push(Diagnostic::error(
            crate::config::FILE,
            0,
            0,
            format!("[python] dependencies changed since {LOCK_FILE} was written: {FIX}"),
        ));
    }
    let locked = lock.files();
    let prefix = format!("{VENDOR_DIR}/");
    for (path, hash) in &on_disk {
        let relative = path.strip_prefix(&prefix).unwrap_or(path);
        let problem = match locked.get(relative) {
            None => format!("not in {LOCK_FILE}, so scripts cannot import it: {FIX}"),
            Some(expected) if expected != hash => format!(
                "does not match {LOCK_FILE} (changed since it was vendored), so scripts \
                 cannot import it: {FIX} to vendor it again"
            ),
            Some(_) => continue,
        };
        verified
            .problems
            .push(Diagnostic::error(path.as_str(), 0, 0, problem));
        verified.refused.insert(path.clone());
    }
    let present: BTreeSet<&str> = on_disk
        .iter()
        .map(|(p, _)| p.strip_prefix(&prefix).unwrap_or(p))
        .collect();
    for missing in locked.keys().filter(|f| !present.contains(*f)) {
        verified.problems.push(Diagnostic::error(
            format!("{prefix}{missing}"),
            0,
            0,
            format!("listed in {LOCK_FILE} but missing: {FIX}"),
        ));
    }
    verified
}

/// Every file under `scripts/vendor/` (site-relative path, SHA-256),
/// skipping bytecode caches and, as a pulled site may hold them (DESIGN
/// §13), links (`scripts/` or `scripts/vendor/` included), FIFOs, devices
/// and files past a wheel's cap on one file.
fn vendored_files(root: &Path) -> Vec<(String, String)> {
    let Some(dir) = crate::site_paths::folder_in_site(root, VENDOR_DIR) else {
        return Vec::new();
    };
    let mut files = Vec::new();
    let mut pending = vec![dir];
    while let Some(folder) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_symlink() || entry.file_name() == "__pycache__" {
                continue;
            }
            let path = entry.path();
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file()
                && let Ok(bytes) = crate::input::read_capped(&path, super::MAX_FILE_BYTES)
            {
                files.push((
                    crate::content::relative_path(root, &path),
                    crate::input::content_hash(&bytes),
                ));
            }
        }
    }
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scripts::library::tests::write;

    #[test]
    #[cfg(unix)]
    fn nothing_outside_the_site_is_walked_nor_a_fifo_read() {
        let outside = tempfile::tempdir().unwrap();
        write(outside.path(), "vendor/private_name.py", "x = 1\n");
        write(outside.path(), "lib/other.py", "y = 2\n");

        // `scripts/` itself a link: the files behind it are neither hashed
        // nor named.
        let site = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), site.path().join("scripts")).unwrap();
        let verified = verify(site.path(), &[]);
        assert!(verified.hashes.is_empty(), "{:?}", verified.hashes);
        assert!(verified.problems.is_empty(), "{:?}", verified.problems);

        // A FIFO and a link in a real `scripts/vendor/`: skipped without
        // waiting; the plain file beside them is hashed.
        let site = tempfile::tempdir().unwrap();
        write(site.path(), "scripts/vendor/pkg/__init__.py", "z = 3\n");
        let fifo = site.path().join("scripts/vendor/pkg/pipe.py");
        let name = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid C string naming a path in a folder of our own.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        std::os::unix::fs::symlink(
            outside.path().join("vendor/private_name.py"),
            site.path().join("scripts/vendor/pkg/linked.py"),
        )
        .unwrap();
        let files: Vec<String> = vendored_files(site.path())
            .into_iter()
            .map(|(path, _)| path)
            .collect();
        assert_eq!(files, ["scripts/vendor/pkg/__init__.py"]);
    }
}
