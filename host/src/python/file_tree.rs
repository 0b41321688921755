//! The read-only file tree a site's scripts see (DESIGN §12): the standard
//! library at `/python/...` (embedded in the host, where its modules'
//! `__file__` points), the site's `scripts/lib/` and `scripts/vendor/`
//! (each wheel's `.dist-info` included) at `/scripts/lib/...` and
//! `/scripts/vendor/...`, so that a package that reads its own data (`open`
//! beside `__file__`, `importlib.resources`, `importlib.metadata`,
//! `pkgutil.get_data`) finds it as on native CPython.
//!
//! The tree is listed once per render, walking without following a link;
//! a vendored file that python.lock refuses is not in it. Nothing else of
//! the machine is: the guest names a path, the tree answers from its own
//! list, and a file is read (without following a link) only if listed.

use crate::diagnostics::Diagnostic;
use crate::scripts::library::{LIB_DIR, VENDOR_DIR};
use blogmark_runtime::FileInfo;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The largest file the tree holds: a wheel's own cap on one file.
pub const MAX_TREE_FILE: u64 = crate::packages::MAX_FILE_BYTES;

#[derive(Debug)]
enum Entry {
    Folder(BTreeSet<String>),
    File { disk: PathBuf, size: u64 },
}

/// The guest's file tree for one site.
#[derive(Debug, Default)]
pub struct FileTree {
    entries: BTreeMap<String, Entry>,
    /// SHA-256 of every file that is not a module, by path: results of a
    /// script that may read them depend on them.
    data_hash: Option<String>,
    read: Mutex<HashMap<String, Arc<[u8]>>>,
}

impl FileTree {
    /// The tree of the site at `root`; `refused` files (site-relative) are
    /// left out. Files past [`MAX_TREE_FILE`] are left out with a warning.
    /// `known` holds the SHA-256 of files already read (the vendored ones,
    /// checked against python.lock), which are not read again.
    pub fn load(
        root: &Path,
        refused: &BTreeSet<String>,
        known: &BTreeMap<String, String>,
    ) -> (FileTree, Vec<Diagnostic>) {
        let mut tree = FileTree::default();
        let mut problems = Vec::new();
        let mut data = Sha256::new();
        let mut any_data = false;
        for shelf in [LIB_DIR, VENDOR_DIR] {
            let Some(folder) = crate::site_paths::folder_in_site(root, shelf) else {
                continue;
            };
            tree.add_folder(shelf);
            let mut pending = vec![(folder, shelf.to_owned())];
            while let Some((disk, relative)) = pending.pop() {
                let Ok(listing) = std::fs::read_dir(&disk) else {
                    continue;
                };
                let mut names: Vec<_> = listing.flatten().collect();
                names.sort_by_key(|e| e.file_name());
                for entry in names {
                    let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                        continue;
                    };
                    let Ok(kind) = entry.file_type() else {
                        continue;
                    };
                    if kind.is_symlink() || name == "__pycache__" {
                        continue;
                    }
                    let inner = format!("{relative}/{name}");
                    if kind.is_dir() {
                        tree.add_folder(&inner);
                        pending.push((entry.path(), inner));
                    } else if kind.is_file() && !refused.contains(&inner) {
                        let size = entry.metadata().map_or(0, |m| m.len());
                        if size > MAX_TREE_FILE {
                            problems.push(Diagnostic::warning(
                                &inner,
                                0,
                                0,
                                format!(
                                    "larger than {}: scripts cannot read it",
                                    crate::input::size(MAX_TREE_FILE)
                                ),
                            ));
                            continue;
                        }
                        if !name.ends_with(".py") {
                            let hash = match known.get(&inner) {
                                Some(hash) => hash.clone(),
                                None => match read_listed(&entry.path(), size) {
                                    Some(bytes) => hex::encode(Sha256::digest(&bytes)),
                                    None => continue,
                                },
                            };
                            any_data = true;
                            data.update(inner.as_bytes());
                            data.update(b"\0");
                            data.update(hash.as_bytes());
                        }
                        tree.add_file(&inner, entry.path(), size);
                    }
                }
            }
        }
        tree.data_hash = any_data.then(|| hex::encode(data.finalize()));
        (tree, problems)
    }

    fn add_folder(&mut self, relative: &str) {
        let mut path = String::new();
        for part in relative.split('/') {
            let parent = if path.is_empty() { "/" } else { &path };
            if let Entry::Folder(names) = self
                .entries
                .entry(parent.to_owned())
                .or_insert_with(|| Entry::Folder(BTreeSet::new()))
            {
                names.insert(part.to_owned());
            }
            path.push('/');
            path.push_str(part);
        }
        self.entries
            .entry(path)
            .or_insert_with(|| Entry::Folder(BTreeSet::new()));
    }

    fn add_file(&mut self, relative: &str, disk: PathBuf, size: u64) {
        let (parent, name) = relative.rsplit_once('/').unwrap_or(("", relative));
        self.add_folder(parent);
        if let Some(Entry::Folder(names)) = self.entries.get_mut(&format!("/{parent}")) {
            names.insert(name.to_owned());
        }
        self.entries
            .insert(format!("/{relative}"), Entry::File { disk, size });
    }

    /// A hash of every file in the tree that is not a module (modules are
    /// in their importers' keys already); none when there is no such file.
    pub fn data_hash(&self) -> Option<&str> {
        self.data_hash.as_deref()
    }

    /// What is at the guest path `path`.
    pub fn stat(&self, path: &str) -> Option<FileInfo> {
        if let Some(file) = blogmark_guest::stdlib_files().get(path) {
            return Some(FileInfo {
                is_folder: false,
                size: file.size as u64,
            });
        }
        if path != "/" && stdlib_folders().contains_key(path) {
            return Some(FileInfo {
                is_folder: true,
                size: 0,
            });
        }
        Some(match self.entries.get(path)? {
            Entry::Folder(_) => FileInfo {
                is_folder: true,
                size: 0,
            },
            Entry::File { size, .. } => FileInfo {
                is_folder: false,
                size: *size,
            },
        })
    }

    /// The names in the folder at the guest path `path`.
    pub fn list(&self, path: &str) -> Option<Vec<String>> {
        if path == "/" {
            let mut names: BTreeSet<String> = match self.entries.get(path) {
                Some(Entry::Folder(names)) => names.clone(),
                _ => BTreeSet::new(),
            };
            names.insert("python".to_owned());
            return Some(names.into_iter().collect());
        }
        if let Some(names) = stdlib_folders().get(path) {
            return Some(names.iter().cloned().collect());
        }
        match self.entries.get(path)? {
            Entry::Folder(names) => Some(names.iter().cloned().collect()),
            Entry::File { .. } => None,
        }
    }

    /// The bytes of the file at the guest path `path`, read once per
    /// render.
    pub fn read(&self, path: &str) -> Option<Arc<[u8]>> {
        let unpack: Box<dyn FnOnce() -> Option<Vec<u8>> + '_> = match (
            blogmark_guest::stdlib_files().get(path),
            self.entries.get(path),
        ) {
            (Some(file), _) => Box::new(|| Some(file.bytes())),
            (None, Some(Entry::File { disk, size })) => Box::new(|| read_listed(disk, *size)),
            (None, _) => return None,
        };
        let mut read = self.read.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(bytes) = read.get(path) {
            return Some(bytes.clone());
        }
        let bytes: Arc<[u8]> = unpack()?.into();
        read.insert(path.to_owned(), bytes.clone());
        Some(bytes)
    }
}

/// The standard library's folders in the guest (`/python`, `/python/json`,
/// ...) and the names in each, from the embedded list of its files.
fn stdlib_folders() -> &'static BTreeMap<String, BTreeSet<String>> {
    static FOLDERS: std::sync::OnceLock<BTreeMap<String, BTreeSet<String>>> =
        std::sync::OnceLock::new();
    FOLDERS.get_or_init(|| {
        let mut folders: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for path in blogmark_guest::stdlib_files().keys() {
            let mut child = *path;
            while let Some((parent, name)) = child.rsplit_once('/') {
                let parent = if parent.is_empty() { "/" } else { parent };
                folders
                    .entry(parent.to_owned())
                    .or_default()
                    .insert(name.to_owned());
                if parent == "/" {
                    break;
                }
                child = parent;
            }
        }
        folders.remove("/");
        folders
    })
}

/// The bytes of a listed file, opened without following a link (a file
/// swapped for one since the listing is not read), at most its listed
/// size or the tree's cap.
fn read_listed(disk: &Path, size: u64) -> Option<Vec<u8>> {
    let (file, _) = crate::state_dir::open_regular(disk)?;
    let mut bytes = Vec::new();
    file.take(size.min(MAX_TREE_FILE))
        .read_to_end(&mut bytes)
        .ok()?;
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_holds_the_library_and_nothing_else() {
        let site = tempfile::tempdir().unwrap();
        let root = site.path();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s3cret").unwrap();
        std::fs::create_dir_all(root.join("scripts/lib/pkg/data")).unwrap();
        std::fs::write(root.join("scripts/lib/pkg/__init__.py"), "").unwrap();
        std::fs::write(root.join("scripts/lib/pkg/data/words.txt"), "a b").unwrap();
        std::fs::write(root.join("scripts/site.py"), "x = 1").unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("secret"),
            root.join("scripts/lib/pkg/link"),
        )
        .unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("scripts/lib/away")).unwrap();
        std::fs::create_dir_all(root.join("scripts/vendor/v")).unwrap();
        std::fs::write(root.join("scripts/vendor/v/refused.bin"), "no").unwrap();
        let refused = BTreeSet::from(["scripts/vendor/v/refused.bin".to_owned()]);

        let (tree, problems) = FileTree::load(root, &refused, &BTreeMap::new());
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(tree.list("/").unwrap(), ["python", "scripts"]);
        // The standard library, embedded, where its modules' files say.
        assert!(tree.list("/python").unwrap().contains(&"json".to_owned()));
        assert!(tree.stat("/python/json").unwrap().is_folder);
        let source = tree.read("/python/json/__init__.py").unwrap();
        assert!(String::from_utf8_lossy(&source).contains("def dumps("));
        assert_eq!(
            tree.stat("/python/json/__init__.py").unwrap().size,
            source.len() as u64
        );
        assert_eq!(tree.list("/scripts").unwrap(), ["lib", "vendor"]);
        assert_eq!(tree.list("/scripts/lib").unwrap(), ["pkg"]);
        assert_eq!(
            tree.list("/scripts/lib/pkg").unwrap(),
            ["__init__.py", "data"]
        );
        assert!(tree.list("/scripts/vendor/v").unwrap().is_empty());
        assert_eq!(
            &*tree.read("/scripts/lib/pkg/data/words.txt").unwrap(),
            b"a b"
        );
        assert_eq!(
            tree.stat("/scripts/lib/pkg/data/words.txt"),
            Some(FileInfo {
                is_folder: false,
                size: 3
            })
        );
        assert!(tree.stat("/scripts/lib/pkg").unwrap().is_folder);
        for absent in [
            "/scripts/site.py",
            "/scripts/lib/pkg/link",
            "/scripts/lib/away/secret",
            "/scripts/vendor/v/refused.bin",
            "/etc/passwd",
        ] {
            assert!(tree.stat(absent).is_none(), "{absent}");
            assert!(tree.read(absent).is_none(), "{absent}");
        }
        assert!(tree.read("/scripts/lib/pkg").is_none());
        let before = tree.data_hash().unwrap().to_owned();
        std::fs::write(root.join("scripts/lib/pkg/data/words.txt"), "a c").unwrap();
        let (changed, _) = FileTree::load(root, &refused, &BTreeMap::new());
        assert_ne!(changed.data_hash().unwrap(), before);
    }

    #[test]
    #[cfg(unix)]
    fn a_linked_scripts_folder_puts_nothing_in_the_tree() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(outside.path().join("lib")).unwrap();
        std::fs::write(outside.path().join("lib/secret.txt"), "s3cret").unwrap();
        let site = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), site.path().join("scripts")).unwrap();
        let (tree, problems) = FileTree::load(site.path(), &BTreeSet::new(), &BTreeMap::new());
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(tree.list("/").unwrap(), ["python"]);
        assert!(tree.read("/scripts/lib/secret.txt").is_none());
        assert!(tree.data_hash().is_none());
    }
}
