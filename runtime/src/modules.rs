//! Modules a guest imports beyond its snapshot, and the read-only files it
//! may read, handed over by the host.
//!
//! The sandbox has no file system of its own: when a script imports a
//! module its snapshot does not hold, or opens a file, the guest asks the
//! host (the `load-module`, `stat`, `read-file` and `list-folder` imports),
//! which answers from what the caller put in the job's [`ModuleSource`].
//! The guest reads nothing the caller did not choose to offer, and writes
//! nothing.

use std::fmt;
use std::sync::Arc;

/// How a module's code is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModuleForm {
    /// A marshalled code object of the guest's CPython version.
    Bytecode,
    /// UTF-8 Python source, compiled by the guest as it imports it.
    Source,
}

/// One importable module.
#[derive(Clone)]
pub struct ModuleCode {
    /// The file name its code carries, shown in tracebacks.
    pub origin: String,
    /// Whether it is a package (the code is its `__init__`).
    pub is_package: bool,
    /// Bytecode or source.
    pub form: ModuleForm,
    /// The code itself.
    pub code: Arc<[u8]>,
}

impl fmt::Debug for ModuleCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModuleCode")
            .field("origin", &self.origin)
            .field("is_package", &self.is_package)
            .field("form", &self.form)
            .field("bytes", &self.code.len())
            .finish()
    }
}

/// What the guest's file tree holds at a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileInfo {
    /// A folder (else a file).
    pub is_folder: bool,
    /// A file's size in bytes; 0 for a folder.
    pub size: u64,
}

/// Where a job's imports and file reads are answered from. Paths are the
/// guest's: absolute and normalized (`/scripts/lib/data.json`); the
/// runtime refuses any other before asking.
pub trait ModuleSource: Send + Sync + fmt::Debug {
    /// The module of that dotted name, if there is one.
    fn find(&self, name: &str) -> Option<ModuleCode>;

    /// What is at `path` in the guest's read-only tree (none by default).
    fn stat(&self, _path: &str) -> Option<FileInfo> {
        None
    }

    /// The contents of the file at `path`.
    fn read_file(&self, _path: &str) -> Option<Arc<[u8]>> {
        None
    }

    /// The names in the folder at `path`, sorted.
    fn list_folder(&self, _path: &str) -> Option<Vec<String>> {
        None
    }
}

/// Whether `path` is absolute and normalized: `/`, or `/` followed by
/// segments that are neither empty, `.` nor `..` and hold no NUL.
pub fn is_tree_path(path: &str) -> bool {
    path == "/"
        || path.strip_prefix('/').is_some_and(|rest| {
            rest.split('/')
                .all(|s| !s.is_empty() && s != "." && s != ".." && !s.contains('\0'))
        })
}

/// A job's modules: none unless the caller offers some.
pub type Modules = Option<Arc<dyn ModuleSource>>;

#[cfg(test)]
mod tests {
    use super::is_tree_path;

    #[test]
    fn only_absolute_normalized_paths_reach_a_source() {
        for good in ["/", "/scripts", "/scripts/lib/a.json", "/a b/..c"] {
            assert!(is_tree_path(good), "{good}");
        }
        for bad in [
            "", "scripts", "//", "/a/", "/a//b", "/./a", "/a/..", "/../etc", "/a\0b",
        ] {
            assert!(!is_tree_path(bad), "{bad:?}");
        }
    }
}
