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
/// skipping links and bytecode caches.
fn vendored_files(root: &Path) -> Vec<(String, String)> {
    let dir = root.join(VENDOR_DIR);
    if !dir.is_dir() || crate::site_paths::is_link(&dir) {
        return Vec::new();
    }
    let mut files = Vec::new();
    let mut pending = vec![dir];
    while let Some(folder) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if crate::site_paths::is_link(&path) || entry.file_name() == "__pycache__" {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
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
