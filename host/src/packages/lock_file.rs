//! `python.lock`: every package `[python] dependencies` resolved to, with
//! its wheel's SHA-256 and the SHA-256 of each file it vendors.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The lock file's name, at the site's root.
pub const LOCK_FILE: &str = "python.lock";

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
    pub fn read(root: &Path) -> Result<Option<Lock>, String> {
        let path = root.join(LOCK_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
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
