//! Reading a wheel: its name, version and tags, whether it is pure Python,
//! and the files it installs into site-packages (`.data/purelib` and
//! `.data/platlib` merged in, its scripts and data files left out).

use super::error::PackageError;
use std::io::Read as _;
use std::path::Path;

/// A pure-Python wheel, read whole.
#[derive(Debug)]
pub struct Wheel {
    /// The package's name, normalized.
    pub name: String,
    /// Its version.
    pub version: String,
    /// The wheel's file name.
    pub file_name: String,
    /// SHA-256 of the wheel file.
    pub sha256: String,
    /// What it installs, relative to site-packages, with the contents: its
    /// modules and data files, and its `.dist-info` (which
    /// `importlib.metadata` reads).
    pub files: Vec<(String, Vec<u8>)>,
    /// For a wheel built for one interpreter and platform: why it is not
    /// pure Python, and its compiled files, left out of `files`. It is
    /// kept only if it imports without them (see `vendor`).
    pub compiled: Option<Compiled>,
}

/// What a wheel with compiled extensions leaves out.
#[derive(Debug)]
pub struct Compiled {
    /// Why it is not pure Python, for an error message.
    pub why: String,
    /// Its compiled files (paths relative to site-packages).
    pub left_out: Vec<String>,
}

/// The most one file of a wheel may unpack to. Held in memory until the
/// wheel is vendored: the largest pure-Python files on the index (data
/// tables of sympy, babel's locale data) are a few MiB.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// The most a whole wheel may unpack to: a zip bomb stops here, not at
/// the disk's or the memory's end.
pub const MAX_WHEEL_BYTES: u64 = 256 << 20;

/// File endings of compiled extensions and native libraries.
const NATIVE: [&str; 5] = [".so", ".pyd", ".dylib", ".dll", ".a"];

impl Wheel {
    /// Read the wheel at `path`, refusing one that is not pure Python.
    pub fn read(path: &Path) -> Result<Wheel, PackageError> {
        let file_name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let bad = |why: String| PackageError::BadWheel {
            wheel: file_name.clone(),
            why,
        };
        let (name, version, built_for) = name_version_and_platform(&file_name, &bad)?;
        let compiled = |why: String| PackageError::Compiled {
            name: name.clone(),
            version: version.clone(),
            why,
        };
        let bytes = std::fs::read(path).map_err(PackageError::io(path))?;
        let sha256 = crate::input::content_hash(&bytes);
        let archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
            .map_err(|e| bad(format!("not a zip archive: {e}")))?;
        let Unpacked {
            mut files,
            left_out,
            purelib,
            native,
        } = unpack(archive, &bad)?;
        // The tags, when they name a platform, say why before any file does.
        let compiled_why = built_for.or(native);
        match purelib {
            Some(true) => {}
            // A platform wheel installs into platlib, which is
            // site-packages all the same.
            Some(false) if compiled_why.is_some() => {}
            Some(false) => {
                return Err(compiled(
                    "its wheel says it is not pure Python (Root-Is-Purelib: false)".into(),
                ));
            }
            None => return Err(bad("it has no .dist-info/WHEEL".into())),
        }
        let compiled_part = match compiled_why {
            None => None,
            Some(why) if !files.iter().any(|(p, _)| p.ends_with(".py")) => {
                return Err(compiled(format!("{why}, and no Python files")));
            }
            Some(why) => Some(Compiled { why, left_out }),
        };
        files.sort();
        if let Some(twice) = files.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(bad(format!("it installs {} twice", twice[0].0)));
        }
        Ok(Wheel {
            name,
            version,
            file_name,
            sha256,
            files,
            compiled: compiled_part,
        })
    }
}

/// The package name (normalized) and version `file_name` carries, and why
/// the wheel is not pure Python when its tags name one interpreter or
/// platform.
fn name_version_and_platform(
    file_name: &str,
    bad: &dyn Fn(String) -> PackageError,
) -> Result<(String, String, Option<String>), PackageError> {
    let stem = file_name
        .strip_suffix(".whl")
        .ok_or_else(|| bad("its name does not end in .whl".into()))?;
    // name-version(-build)?-python-abi-platform
    let parts: Vec<&str> = stem.split('-').collect();
    if parts.len() < 5 {
        return Err(bad("its name does not carry name, version and tags".into()));
    }
    let (name, version) = (super::normalize(parts[0]), parts[1].to_owned());
    let (abi, platform) = (parts[parts.len() - 2], parts[parts.len() - 1]);
    // Such a wheel may still be pure Python with optional accelerators
    // (MarkupSafe's `_speedups`, PyYAML's `_yaml`): it is read, its
    // compiled files left out, and the lock tries it.
    let built_for = (abi != "none" || platform != "any").then(|| {
        format!(
            "its wheel {file_name} is built for one interpreter and platform \
             ({abi}, {platform}): it has compiled extensions"
        )
    });
    Ok((name, version, built_for))
}

/// What a wheel's archive installs.
struct Unpacked {
    /// The files it installs, relative to site-packages, with their contents.
    files: Vec<(String, Vec<u8>)>,
    /// Its compiled files, left out of `files`.
    left_out: Vec<String>,
    /// Its `.dist-info/WHEEL`'s `Root-Is-Purelib`, if it has that file.
    purelib: Option<bool>,
    /// Why it is not pure Python, from the first native library it holds.
    native: Option<String>,
}

/// What the wheel's `archive` installs, read within the size limits.
fn unpack(
    mut archive: zip::ZipArchive<std::io::Cursor<Vec<u8>>>,
    bad: &dyn Fn(String) -> PackageError,
) -> Result<Unpacked, PackageError> {
    let mut unpacked = Unpacked {
        files: Vec::new(),
        left_out: Vec::new(),
        purelib: None,
        native: None,
    };
    let mut total = 0u64;
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|e| bad(format!("entry {index}: {e}")))?;
        if entry.is_dir() {
            continue;
        }
        let entry_name = entry
            .name()
            .map_err(|e| bad(format!("entry {index} has an unreadable name: {e}")))?
            .into_owned();
        let Some(path) = crate::site_paths::plain_segments(&entry_name)
            .filter(|p| !p.is_empty() && crate::pulled_path::problem(&entry_name).is_none())
        else {
            return Err(bad(format!("{entry_name:?} is not a plain relative path")));
        };
        let declared = entry.size();
        let contents = read_entry(&mut entry, declared, &entry_name, bad)?;
        total += contents.len() as u64;
        if total > MAX_WHEEL_BYTES {
            return Err(bad(format!(
                "it unpacks to more than {} in all (at {entry_name})",
                crate::input::size(MAX_WHEEL_BYTES)
            )));
        }
        if path[0].ends_with(".dist-info") && path.len() == 2 && path[1] == "WHEEL" {
            unpacked.purelib = Some(root_is_purelib(&contents));
        }
        let Some(path) = installed_path(&path) else {
            continue;
        };
        if let Some(native) = NATIVE.iter().find(|end| entry_name.ends_with(*end)) {
            unpacked.native.get_or_insert_with(|| {
                format!("its wheel holds a native library ({entry_name}, {native})")
            });
            unpacked.left_out.push(path.join("/"));
            continue;
        }
        unpacked.files.push((path.join("/"), contents));
    }
    Ok(unpacked)
}

/// The contents of the archive's file `entry_name`, read from `entry`
/// (which declares `declared` bytes), or an error past the limit a file.
fn read_entry(
    entry: impl std::io::Read,
    declared: u64,
    entry_name: &str,
    bad: &dyn Fn(String) -> PackageError,
) -> Result<Vec<u8>, PackageError> {
    // The sizes an archive declares may lie: what is read counts.
    let too_large = |size: u64| {
        bad(format!(
            "{entry_name} unpacks to {} or more, past the limit of {} a file",
            crate::input::size(size),
            crate::input::size(MAX_FILE_BYTES)
        ))
    };
    if declared > MAX_FILE_BYTES {
        return Err(too_large(declared));
    }
    let mut contents = Vec::new();
    entry
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut contents)
        .map_err(|e| bad(format!("{entry_name}: {e}")))?;
    if contents.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(contents.len() as u64));
    }
    Ok(contents)
}

/// Whether a `.dist-info/WHEEL` file's `contents` say `Root-Is-Purelib: true`.
fn root_is_purelib(contents: &[u8]) -> bool {
    let text = String::from_utf8_lossy(contents);
    text.lines().any(|l| {
        l.split_once(':').is_some_and(|(k, v)| {
            k.trim() == "Root-Is-Purelib" && v.trim().eq_ignore_ascii_case("true")
        })
    })
}

/// Where the archive's file at `path` installs, relative to site-packages;
/// none for a file that does not go there.
fn installed_path<'a>(path: &'a [&'a str]) -> Option<&'a [&'a str]> {
    // `name.data/purelib/` and `platlib/` install into site-packages as the
    // wheel's root does; its scripts, headers and data files go elsewhere on
    // a real install, so no script could import them.
    if path[0].ends_with(".data") {
        match path.get(1) {
            Some(&"purelib" | &"platlib") if path.len() > 2 => Some(&path[2..]),
            _ => None,
        }
    } else {
        Some(path)
    }
}
