//! `python.lock`: every package `[python] dependencies` resolved to, with
//! its wheel's SHA-256 and the SHA-256 of each file it vendors.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The lock file's name, at the site's root.
pub const LOCK_FILE: &str = "python.lock";

/// Largest `python.lock`: about 100,000 vendored files, far beyond any
/// real set of packages.
pub const MAX_LOCK_BYTES: u64 = 16 << 20;

const HEADER: &str = "# Written by `host python lock` from [python] dependencies in site.toml:\n\
                      # every package, pinned, and every file it vendors in scripts/vendor/.\n\
                      # Commit it with scripts/vendor/; a render checks one against the other.\n";

/// The contents of `python.lock`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    /// The format's version.
    pub version: u32,
    /// `[python] dependencies` as they were when the lock was written.
    pub dependencies: Vec<String>,
    /// Each package, dependencies included, by name.
    #[serde(default, rename = "package")]
    pub packages: Vec<LockedPackage>,
}

/// One locked package.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LockedPackage {
    /// Its name, normalized.
    pub name: String,
    /// Its version.
    pub version: String,
    /// The wheel it was unpacked from.
    pub wheel: String,
    /// SHA-256 of that wheel.
    pub sha256: String,
    /// The compiled extensions of its wheel that are not vendored: the
    /// package imported without them in the sandbox when it was locked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<String>,
    /// Each file it vendors (relative to `scripts/vendor/`) and its SHA-256.
    pub files: BTreeMap<String, String>,
}

impl Lock {
    /// The current format.
    pub const VERSION: u32 = 1;

    /// `python.lock` of the site at `root`: `Ok(None)` when there is none.
    /// A pulled site's lock is untrusted (DESIGN §13): a link is refused
    /// before it is read (its target's lines would be quoted in a parse
    /// error), and so are a FIFO, a device and a file past
    /// [`MAX_LOCK_BYTES`].
    pub fn read(root: &Path) -> Result<Option<Lock>, String> {
        let path = root.join(LOCK_FILE);
        if crate::site_paths::is_link(&path) {
            return Err("is a symbolic link; links are not followed out of the site".into());
        }
        let text = match crate::input::read_text(&path, MAX_LOCK_BYTES) {
            Ok(text) => text,
            Err(crate::input::ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(None);
            }
            Err(e) => return Err(e.to_string()),
        };
        let lock: Lock = toml::from_str(&text).map_err(|e| e.to_string())?;
        if lock.version != Self::VERSION {
            return Err(format!(
                "format {} is not this host's ({}); run `host python lock`",
                lock.version,
                Self::VERSION
            ));
        }
        Ok(Some(lock))
    }

    /// The file's text.
    pub fn to_text(&self) -> String {
        let body = toml::to_string(self).expect("a lock always serializes");
        format!("{HEADER}{body}")
    }

    /// Every vendored file, relative to `scripts/vendor/`, with its SHA-256.
    pub fn files(&self) -> BTreeMap<&str, &str> {
        self.packages
            .iter()
            .flat_map(|p| p.files.iter().map(|(f, h)| (f.as_str(), h.as_str())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)]
    fn a_pulled_lock_that_is_a_link_a_fifo_a_device_or_too_large_is_refused_unread() {
        let site = tempfile::tempdir().unwrap();
        let lock = site.path().join(LOCK_FILE);
        assert_eq!(Lock::read(site.path()), Ok(None));

        // Its lines would be quoted in the parse error.
        let outside = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(outside.path(), "OUTSIDE = [ secret line").unwrap();
        std::os::unix::fs::symlink(outside.path(), &lock).unwrap();
        let error = Lock::read(site.path()).unwrap_err();
        assert!(error.contains("symbolic link"), "{error}");
        assert!(!error.contains("secret"), "{error}");

        std::fs::remove_file(&lock).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &lock).unwrap();
        assert!(
            Lock::read(site.path())
                .unwrap_err()
                .contains("symbolic link")
        );

        // With no writer, a blocking open would never return.
        std::fs::remove_file(&lock).unwrap();
        let name = std::ffi::CString::new(lock.to_str().unwrap()).unwrap();
        // SAFETY: a valid C string naming a path in a folder of our own.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        let error = Lock::read(site.path()).unwrap_err();
        assert!(error.contains("not a regular file"), "{error}");

        std::fs::remove_file(&lock).unwrap();
        std::fs::write(&lock, vec![b'#'; MAX_LOCK_BYTES as usize + 1]).unwrap();
        let error = Lock::read(site.path()).unwrap_err();
        assert!(error.contains("larger than the limit"), "{error}");

        let written = Lock {
            version: Lock::VERSION,
            dependencies: vec!["x==1".into()],
            packages: Vec::new(),
        };
        std::fs::write(&lock, written.to_text()).unwrap();
        assert_eq!(Lock::read(site.path()), Ok(Some(written)));
    }
}
