//! `host python lock` and `host python add`: resolve, check, unpack into
//! `scripts/vendor/` and write `python.lock`, replacing both whole.

use super::error::PackageError;
use super::lock_file::{LOCK_FILE, Lock, LockedPackage};
use super::pip::{self, PipOptions};
use super::wheel::Wheel;
use crate::config::{self, Config};
use crate::scripts::library::VENDOR_DIR;
use std::path::Path;

/// What a lock did.
#[derive(Debug)]
pub struct Locked {
    /// The lock written.
    pub lock: Lock,
    /// Files now in `scripts/vendor/`.
    pub files: usize,
}

/// Whether the modules named import in the sandbox, from a folder laid out
/// as a site (its `scripts/vendor/`): the sandbox's answer, given by the
/// caller (this module runs nothing).
pub type ProveImports<'a> = &'a dyn Fn(&Path, &[String]) -> Result<(), String>;

/// Resolve `[python] dependencies` of the site at `root`, unpack every
/// package into `scripts/vendor/` and write `python.lock`. With no
/// dependencies, both are emptied. A wheel with compiled extensions is
/// vendored without them if its modules import so (`prove`), and refused
/// otherwise.
pub fn lock(
    root: &Path,
    options: &PipOptions,
    prove: ProveImports<'_>,
) -> Result<Locked, PackageError> {
    let config = Config::load(root).map_err(PackageError::Site)?;
    refuse_linked_scripts(root)?;
    let specs = config.python.dependencies.clone();
    let mut wheels = Vec::new();
    if !specs.is_empty() {
        let download = tempfile::tempdir().map_err(PackageError::io(std::env::temp_dir()))?;
        pip::download(&specs, options, download.path())?;
        let mut found: Vec<_> = std::fs::read_dir(download.path())
            .map_err(PackageError::io(download.path()))?
            .flatten()
            .map(|e| e.path())
            .collect();
        found.sort();
        for path in found {
            if path.extension().is_some_and(|x| x == "whl") {
                wheels.push(Wheel::read(&path)?);
            } else {
                // pip downloads an sdist only when told it may; say so anyway.
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                return Err(PackageError::Compiled {
                    name: name.to_string(),
                    version: String::new(),
                    why: "pip found a source archive, not a wheel".into(),
                });
            }
        }
    }
    let vendor = root.join(VENDOR_DIR);
    // Laid out as a site, so that the sandbox can import from it.
    let staging_root = root.join("scripts/.vendor.partial");
    let staging = staging_root.join(VENDOR_DIR);
    let _ = std::fs::remove_dir_all(&staging_root);
    let mut packages = Vec::new();
    let mut count = 0;
    for wheel in &wheels {
        let mut files = std::collections::BTreeMap::new();
        for (path, bytes) in &wheel.files {
            let target = staging.join(path);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(PackageError::io(parent))?;
            }
            std::fs::write(&target, bytes).map_err(PackageError::io(&target))?;
            files.insert(path.clone(), crate::input::content_hash(bytes));
            count += 1;
        }
        packages.push(LockedPackage {
            name: wheel.name.clone(),
            version: wheel.version.clone(),
            wheel: wheel.file_name.clone(),
            sha256: wheel.sha256.clone(),
            left_out: wheel
                .compiled
                .as_ref()
                .map(|c| c.left_out.clone())
                .unwrap_or_default(),
            files,
        });
    }
    for wheel in &wheels {
        let Some(compiled) = &wheel.compiled else {
            continue;
        };
        let modules = top_level_modules(&wheel.files);
        if let Err(why) = prove(&staging_root, &modules) {
            let _ = std::fs::remove_dir_all(&staging_root);
            return Err(PackageError::Compiled {
                name: wheel.name.clone(),
                version: wheel.version.clone(),
                why: format!(
                    "{}, and it does not import without them ({why})",
                    compiled.why
                ),
            });
        }
    }
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    let lock = Lock {
        version: Lock::VERSION,
        dependencies: specs,
        packages,
    };
    // The old folder goes aside before the new one takes its place, so an
    // interruption leaves one whole folder (and the lock says which).
    let old = root.join("scripts/.vendor.old");
    let _ = std::fs::remove_dir_all(&old);
    if vendor.exists() {
        std::fs::rename(&vendor, &old).map_err(PackageError::io(&vendor))?;
    }
    if staging.exists() {
        std::fs::rename(&staging, &vendor).map_err(PackageError::io(&staging))?;
    }
    let _ = std::fs::remove_dir_all(&staging_root);
    let _ = std::fs::remove_dir_all(&old);
    let lock_path = root.join(LOCK_FILE);
    crate::atomic_file::write(&lock_path, lock.to_text().as_bytes())
        .map_err(PackageError::io(&lock_path))?;
    Ok(Locked { lock, files: count })
}

/// An error when `scripts/` is a symbolic link: the folders a lock removes
/// and renames (`scripts/vendor/` and its staging copies) would be outside
/// the site (DESIGN §13). A link in their own place is removed or renamed
/// as a link, never followed.
fn refuse_linked_scripts(root: &Path) -> Result<(), PackageError> {
    match crate::site_paths::first_link(root, "scripts", true) {
        Some(link) => Err(PackageError::Linked(link)),
        None => Ok(()),
    }
}

/// The modules a wheel's files make importable at the top: its packages
/// (folders with an `__init__.py`) and single-file modules; the public ones
/// only, when it has any (PyYAML's `_yaml` is a shim over the extension
/// left out, which `yaml` does without).
fn top_level_modules(files: &[(String, Vec<u8>)]) -> Vec<String> {
    let all = all_top_level_modules(files);
    let public: Vec<String> = all
        .iter()
        .filter(|n| !n.starts_with('_'))
        .cloned()
        .collect();
    if public.is_empty() { all } else { public }
}

fn all_top_level_modules(files: &[(String, Vec<u8>)]) -> Vec<String> {
    let mut names = std::collections::BTreeSet::new();
    for (path, _) in files {
        match path.split_once('/') {
            Some((top, "__init__.py")) => {
                names.insert(top.to_owned());
            }
            None => {
                if let Some(stem) = path.strip_suffix(".py") {
                    names.insert(stem.to_owned());
                }
            }
            Some(_) => {}
        }
    }
    names.into_iter().collect()
}

/// Add `specs` to `[python] dependencies` in site.toml (replacing a
/// requirement of the same package), keeping the file's comments and
/// layout.
pub fn add_dependencies(root: &Path, specs: &[String]) -> Result<(), PackageError> {
    let path = root.join(config::FILE);
    if crate::site_paths::is_link(&path) {
        return Err(PackageError::Config(
            "is a symbolic link; it is edited only inside the site".into(),
        ));
    }
    let text = crate::input::read_text(&path, crate::input::MAX_CONFIG_BYTES)
        .map_err(|e| PackageError::Config(e.to_string()))?;
    let mut document: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| PackageError::Config(e.to_string()))?;
    let python = document
        .entry("python")
        .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()))
        .as_table_like_mut()
        .ok_or_else(|| PackageError::Config("`python` is not a table".into()))?;
    let list = python
        .entry("dependencies")
        .or_insert(toml_edit::value(toml_edit::Array::new()))
        .as_array_mut()
        .ok_or_else(|| PackageError::Config("[python] dependencies is not a list".into()))?;
    if let Some((spec, why)) = specs
        .iter()
        .find_map(|spec| super::requirement::check(spec).err().map(|why| (spec, why)))
    {
        return Err(PackageError::Config(format!(
            "`{spec}` is not a requirement: {why}"
        )));
    }
    for spec in specs {
        let name = super::package_name(spec);
        if name.is_empty() {
            return Err(PackageError::Config(format!("`{spec}` names no package")));
        }
        let same = (0..list.len()).find(|&i| {
            list.get(i)
                .and_then(|v| v.as_str())
                .is_some_and(|s| super::package_name(s) == name)
        });
        match same {
            Some(i) => {
                list.replace(i, spec.as_str());
            }
            None => list.push(spec.as_str()),
        }
    }
    crate::atomic_file::write(&path, document.to_string().as_bytes())
        .map_err(PackageError::io(&path))?;
    Ok(())
}
