//! The Python modules every script of a site can import: its shared code
//! in `scripts/lib/` and its vendored packages in `scripts/vendor/`.
//!
//! A `.py` file is a module; a folder is a package (its `__init__.py`, or
//! an empty namespace package without one). Names that Python could not
//! import (not identifiers), `__pycache__` and symbolic links are skipped.

use super::imports::{self, Import};
use crate::diagnostics::Diagnostic;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

/// Where the site's shared modules live.
pub const LIB_DIR: &str = "scripts/lib";
/// Where the site's vendored packages live.
pub const VENDOR_DIR: &str = "scripts/vendor";

/// Which folder a module comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shelf {
    /// `scripts/lib/`.
    Lib,
    /// `scripts/vendor/`.
    Vendor,
}

/// One module of the library.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LibModule {
    /// Its dotted name.
    pub name: String,
    /// Its file relative to the site (`scripts/lib/a/__init__.py`), or its
    /// folder for a namespace package.
    pub path: String,
    /// Whether it is a package.
    pub is_package: bool,
    /// Which folder it comes from.
    pub shelf: Shelf,
    /// Its source (empty for a namespace package).
    pub source: Arc<[u8]>,
    /// SHA-256 of its source.
    pub hash: String,
    /// What it imports.
    pub imports: Vec<Import>,
}

/// The site's importable modules beyond the standard library, by name.
#[derive(Clone, Debug, Default)]
pub struct Library {
    /// Every module, by dotted name.
    pub modules: BTreeMap<String, LibModule>,
}

impl Library {
    /// The library of the site at `root`, and what was wrong with it;
    /// `refused` files (site-relative) are left out.
    pub fn load(root: &Path, refused: &BTreeSet<String>) -> (Library, Vec<Diagnostic>) {
        let mut library = Library::default();
        let mut diagnostics = Vec::new();
        for (dir, shelf) in [(LIB_DIR, Shelf::Lib), (VENDOR_DIR, Shelf::Vendor)] {
            let Some(folder) = crate::site_paths::folder_in_site(root, dir) else {
                continue;
            };
            let mut found = Vec::new();
            walk(root, &folder, &[], shelf, &mut found, &mut diagnostics);
            for module in found {
                if refused.contains(&module.path) {
                    continue;
                }
                match library.modules.get(&module.name) {
                    Some(first) => diagnostics.push(Diagnostic::error(
                        &module.path,
                        1,
                        1,
                        format!(
                            "module `{}` is also {}, which wins; rename one of them",
                            module.name, first.path
                        ),
                    )),
                    None => {
                        library.modules.insert(module.name.clone(), module);
                    }
                }
            }
        }
        (library, diagnostics)
    }

    /// Whether there is no module at all.
    pub fn is_empty(&self) -> bool {
        self.modules.is_empty()
    }
}

fn walk(
    root: &Path,
    folder: &Path,
    package: &[String],
    shelf: Shelf,
    found: &mut Vec<LibModule>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if crate::site_paths::is_link(&path) {
            continue;
        }
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if path.is_dir() {
            if !is_identifier(name) {
                continue;
            }
            let mut inner = package.to_vec();
            inner.push(name.to_owned());
            let init = path.join("__init__.py");
            // Not followed: a linked `__init__.py` would import a file
            // from outside the site.
            let module = if crate::site_paths::is_plain_file(&init) {
                read_module(root, &init, &inner, true, shelf, diagnostics)
            } else {
                Some(module_of(
                    &inner,
                    crate::content::relative_path(root, &path),
                    true,
                    shelf,
                    Vec::new(),
                ))
            };
            found.extend(module);
            walk(root, &path, &inner, shelf, found, diagnostics);
        } else if let Some(stem) = name.strip_suffix(".py")
            && stem != "__init__"
            && is_identifier(stem)
        {
            let mut name = package.to_vec();
            name.push(stem.to_owned());
            found.extend(read_module(root, &path, &name, false, shelf, diagnostics));
        }
    }
}

fn read_module(
    root: &Path,
    file: &Path,
    name: &[String],
    is_package: bool,
    shelf: Shelf,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<LibModule> {
    let relative = crate::content::relative_path(root, file);
    let bytes = match crate::input::read_capped(file, crate::input::MAX_SCRIPT_BYTES) {
        Ok(bytes) => bytes,
        Err(e) => {
            diagnostics.push(Diagnostic::error(relative, 0, 0, e.to_string()));
            return None;
        }
    };
    if let Err(e) = std::str::from_utf8(&bytes) {
        let line = 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        diagnostics.push(Diagnostic::error(
            relative,
            line,
            1,
            "not valid UTF-8: Python source must be UTF-8",
        ));
        return None;
    }
    Some(module_of(name, relative, is_package, shelf, bytes))
}

fn module_of(
    name: &[String],
    path: String,
    is_package: bool,
    shelf: Shelf,
    source: Vec<u8>,
) -> LibModule {
    let dotted = name.join(".");
    let package = if is_package {
        Some(dotted.clone())
    } else {
        name.split_last()
            .map(|(_, parent)| parent.join("."))
            .filter(|p| !p.is_empty())
    };
    let text = String::from_utf8_lossy(&source);
    LibModule {
        imports: imports::scan(&text, package.as_deref()),
        hash: crate::input::content_hash(&source),
        name: dotted,
        path,
        is_package,
        shelf,
        source: source.into(),
    }
}

fn is_identifier(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_alphanumeric() || c == '_')
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Write `text` to `root/path`, making its folders.
    pub(crate) fn write(root: &Path, path: &str, text: &str) {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    #[cfg(unix)]
    fn no_module_source_comes_from_outside_the_site() {
        let outside = tempfile::tempdir().unwrap();
        write(outside.path(), "secret.py", "SECRET = 'outside'\n");
        write(outside.path(), "lib/far.py", "SECRET = 'outside'\n");

        let site = tempfile::tempdir().unwrap();
        write(site.path(), "scripts/lib/plain.py", "x = 1\n");
        // A package whose `__init__.py` is a link: a namespace package,
        // its target never read.
        std::fs::create_dir_all(site.path().join("scripts/lib/evil")).unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("secret.py"),
            site.path().join("scripts/lib/evil/__init__.py"),
        )
        .unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("secret.py"),
            site.path().join("scripts/lib/linked.py"),
        )
        .unwrap();
        let (library, _) = Library::load(site.path(), &BTreeSet::new());
        let names: Vec<&str> = library.modules.keys().map(String::as_str).collect();
        assert_eq!(names, ["evil", "plain"]);
        assert!(library.modules["evil"].source.is_empty());

        // `scripts/` a link: nothing of it is a module.
        let linked = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), linked.path().join("scripts")).unwrap();
        let (library, diagnostics) = Library::load(linked.path(), &BTreeSet::new());
        assert!(library.is_empty(), "{:?}", library.modules.keys());
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
    }
}
