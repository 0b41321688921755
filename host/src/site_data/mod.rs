//! The site's `data/` folder: TOML, JSON, YAML and CSV files, parsed once
//! per build into one tree (`data/books/dune.json` is `data.books.dune`),
//! read by scripts (`ctx.data`) and templates (`data`) through questions
//! the build notes (see [`crate::site_queries`]).
//!
//! The folder is the site's, so untrusted: no link is followed (not the
//! folder itself, not a file or folder in it), each file and the whole are
//! capped, and every problem is a diagnostic at its file, line and column.
//!
//! A key is a file's stem or a folder's name as written; a name that is not
//! UTF-8 could not be asked for, so it is skipped with a warning. Hidden
//! files and folders (`.git`, an editor's `.dune.json.swp`) and files of
//! other types are not data, and are passed over without a word. When two
//! entries want one key (`books.json` and `books.toml`, or `books.json` and
//! the folder `books/`), the first by path keeps it, so a folder always
//! wins over a file, and the other is an error naming it.
//!
//! Every value is JSON, whatever the format: TOML dates and times are their
//! TOML text; a YAML mapping key that is a number or a boolean is its text
//! (`2024: ...` is common), any other non-string key is an error; a float
//! JSON cannot hold (TOML's `nan` and `inf`, YAML's `.nan` and `.inf`) is
//! `null`, as in JSON written by JavaScript; and a CSV file is a list of
//! objects keyed by its header row, every value a string.

mod formats;
mod kept;

pub use kept::KeptData;

use crate::diagnostics::Diagnostic;
use rayon::prelude::*;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

/// The site's data folder, relative to the site.
pub const FOLDER: &str = "data";

/// The largest data file, in bytes.
pub const MAX_FILE_BYTES: u64 = 8 << 20;

/// The most bytes of data a site may hold.
pub const MAX_TOTAL_BYTES: u64 = 64 << 20;

/// One entry of a folder.
#[derive(Debug)]
enum Entry {
    File { file: String, value: Arc<Value> },
    Folder(BTreeMap<String, Entry>),
}

/// Every data file of a site, parsed.
#[derive(Debug)]
pub struct DataTree {
    root: BTreeMap<String, Entry>,
    files: Vec<String>,
    digest: String,
}

impl Default for DataTree {
    fn default() -> Self {
        // The digest of nothing read: a site without `data/` and one with
        // an empty `data/` hold the same data, so no key should tell them
        // apart.
        DataTree {
            root: BTreeMap::new(),
            files: Vec::new(),
            digest: hex::encode(Sha256::new().finalize()),
        }
    }
}

/// A data file as read: its bytes and what they parse to (the value, or
/// the diagnostic saying why not). [`KeptData`] keeps them between renders.
#[derive(Debug)]
struct ReadFile {
    bytes: Vec<u8>,
    parsed: Result<Arc<Value>, Diagnostic>,
}

/// Every data file a load read, by path relative to the site.
type ReadFiles = HashMap<String, Arc<ReadFile>>;

/// The data files a walk of `data/` found, and what it said of the others.
#[derive(Debug)]
struct Walked {
    found: Vec<Found>,
    diagnostics: Vec<Diagnostic>,
}

/// What a load leaves for the next ([`KeptData`]): its walk and every file
/// it read.
#[derive(Debug, Default)]
struct Loaded {
    walked: Option<Arc<Walked>>,
    files: ReadFiles,
}

/// A data file's bytes, or why it could not be read: the earlier read kept
/// for it, else its bytes now; `None` when it was left to be read in order.
enum Got {
    Kept(Arc<ReadFile>),
    Read(Option<Result<Vec<u8>, crate::input::ReadError>>),
}

impl Got {
    fn len(&self) -> Option<u64> {
        match self {
            Got::Kept(file) => Some(file.bytes.len() as u64),
            Got::Read(Some(Ok(bytes))) => Some(bytes.len() as u64),
            Got::Read(_) => None,
        }
    }
}

/// Read the `found` files on every core (a thousand small files take a
/// third of the time of reading them one by one), in their order, those
/// `kept` gives excepted. Past [`MAX_TOTAL_BYTES`] held in all, a file is
/// not read here but left for the caller, so that the bytes held stay
/// within the cap and a few files in reading, however many a pulled site
/// holds.
fn read_all<'w>(
    root: &Path,
    found: &'w [Found],
    sources: Option<&crate::source_files::SourceFiles>,
    kept: impl Fn(&str) -> Option<Arc<ReadFile>> + Sync,
) -> Vec<(&'w Found, Got)> {
    use std::sync::atomic::{AtomicU64, Ordering};
    let held = AtomicU64::new(0);
    found
        .par_iter()
        .map(|one| {
            if held.load(Ordering::Relaxed) > MAX_TOTAL_BYTES {
                return (one, Got::Read(None));
            }
            let got = match kept(&one.file) {
                Some(file) => Got::Kept(file),
                None => Got::Read(Some(read(root, one, sources))),
            };
            if let Some(len) = got.len()
                && held.fetch_add(len, Ordering::Relaxed) + len > MAX_TOTAL_BYTES
            {
                return (one, Got::Read(None));
            }
            (one, got)
        })
        .collect()
}

/// The bytes of the data file `one` of the site at `root`, through
/// `sources` when given.
fn read(
    root: &Path,
    one: &Found,
    sources: Option<&crate::source_files::SourceFiles>,
) -> Result<Vec<u8>, crate::input::ReadError> {
    let full = root.join(&one.file);
    crate::source_files::SourceFiles::read_from(sources, &one.file, &full, MAX_FILE_BYTES)
}

/// What is at a path of the tree.
#[derive(Debug)]
pub enum Node<'a> {
    /// A data file: its parsed value and its path relative to the site.
    File {
        /// The parsed content.
        value: &'a Value,
        /// The file, e.g. `data/books/dune.json`.
        file: &'a str,
    },
    /// A folder: the keys in it, sorted.
    Folder(Vec<&'a str>),
}

/// A data file found on disk: its path relative to the site, its key path
/// and its format.
#[derive(Debug)]
struct Found {
    file: String,
    keys: Vec<String>,
    format: formats::Format,
}

impl DataTree {
    /// Load and parse every data file under `<root>/data`; each problem is
    /// a diagnostic at the file's line and column, and a file that fails is
    /// left out.
    pub fn load(root: &Path) -> (DataTree, Vec<Diagnostic>) {
        DataTree::load_from(root, None)
    }

    /// [`DataTree::load`], each file read through `sources` when given
    /// (the sources the last render kept).
    pub fn load_from(
        root: &Path,
        sources: Option<&crate::source_files::SourceFiles>,
    ) -> (DataTree, Vec<Diagnostic>) {
        let (tree, diagnostics, _) = DataTree::load_reusing(root, None, sources, |_| None);
        (tree, diagnostics)
    }

    /// [`DataTree::load`] from the files `walked` found, when given (else
    /// walking `data/`), taking a file's bytes and parsed value from `kept`
    /// (by path relative to the site) instead of reading it when `kept` has
    /// them; with the walk and every file it read or took, for the next.
    fn load_reusing(
        root: &Path,
        walked: Option<Arc<Walked>>,
        sources: Option<&crate::source_files::SourceFiles>,
        kept: impl Fn(&str) -> Option<Arc<ReadFile>> + Sync,
    ) -> (DataTree, Vec<Diagnostic>, Loaded) {
        let mut diagnostics = Vec::new();
        let dir = root.join(FOLDER);
        if crate::site_paths::is_link(&dir) {
            diagnostics.push(Diagnostic::warning(
                FOLDER,
                0,
                0,
                "`data` is a symbolic link, which a build never follows; the site has no data",
            ));
            return (DataTree::default(), diagnostics, Loaded::default());
        }
        if !dir.is_dir() {
            return (DataTree::default(), diagnostics, Loaded::default());
        }
        let walked = walked.unwrap_or_else(|| {
            let mut diagnostics = Vec::new();
            let found = find(root, &dir, &mut diagnostics);
            Arc::new(Walked { found, diagnostics })
        });
        diagnostics.extend(walked.diagnostics.iter().cloned());
        let mut total = 0u64;
        let mut read: Vec<(&Found, Got)> = Vec::new();
        for (one, got) in read_all(root, &walked.found, sources, kept) {
            // A file the parallel reads left for later (the site holds more
            // than the cap) is read here, in path order, so which files are
            // left out never depends on the threads.
            let got = match got {
                Got::Read(None) => Got::Read(Some(self::read(root, one, sources))),
                got => got,
            };
            match (got.len(), got) {
                (Some(len), _) if total + len > MAX_TOTAL_BYTES => {
                    diagnostics.push(Diagnostic::error(
                        &one.file,
                        0,
                        0,
                        format!(
                            "the site's data passes {} with this file; it is left out",
                            crate::input::size(MAX_TOTAL_BYTES)
                        ),
                    ));
                }
                (_, Got::Read(Some(Err(e)))) => diagnostics.push(e.to_diagnostic(&one.file)),
                (Some(len), got) => {
                    total += len;
                    read.push((one, got));
                }
                (None, _) => {}
            }
        }
        // Every file read, parsed or not: a broken file fixed must change
        // the digest too. Lengths first, so that no two trees share a
        // stream of bytes.
        let mut hasher = Sha256::new();
        for (one, got) in &read {
            let bytes = match got {
                Got::Kept(file) => file.bytes.as_slice(),
                Got::Read(Some(Ok(bytes))) => bytes.as_slice(),
                Got::Read(_) => continue,
            };
            for part in [one.file.as_bytes(), bytes] {
                hasher.update((part.len() as u64).to_le_bytes());
                hasher.update(part);
            }
        }
        let parsed: Vec<(&Found, Arc<ReadFile>)> = read
            .into_par_iter()
            .filter_map(|(one, got)| {
                let file = match got {
                    Got::Kept(file) => file,
                    Got::Read(Some(Ok(bytes))) => Arc::new(ReadFile {
                        parsed: formats::parse(&one.file, &bytes, one.format).map(Arc::new),
                        bytes,
                    }),
                    Got::Read(_) => return None,
                };
                Some((one, file))
            })
            .collect();
        let mut tree = DataTree {
            root: BTreeMap::new(),
            files: Vec::new(),
            digest: hex::encode(hasher.finalize()),
        };
        let mut files = ReadFiles::with_capacity(parsed.len());
        for (one, file) in parsed {
            match &file.parsed {
                Ok(value) => tree.insert(one, value.clone(), &mut diagnostics),
                Err(diagnostic) => diagnostics.push(diagnostic.clone()),
            }
            files.insert(one.file.clone(), file);
        }
        tree.files.sort();
        (
            tree,
            diagnostics,
            Loaded {
                walked: Some(walked),
                files,
            },
        )
    }

    /// Put `value`, read from `one`, at its keys; a key already taken (by
    /// a file of another format, or a folder) is an error naming both.
    fn insert(&mut self, one: &Found, value: Arc<Value>, diagnostics: &mut Vec<Diagnostic>) {
        let Some((last, folders)) = one.keys.split_last() else {
            return;
        };
        let mut folder = &mut self.root;
        for (depth, key) in folders.iter().enumerate() {
            let entry = folder
                .entry(key.clone())
                .or_insert_with(|| Entry::Folder(BTreeMap::new()));
            folder = match entry {
                Entry::Folder(inner) => inner,
                // Walked in path order, a folder (`books`) comes before any
                // file named after it (`books.json`), so a file cannot take
                // a folder's key first; a diagnostic all the same, not a
                // panic, should the order ever change.
                Entry::File { file, .. } => {
                    let folder = folder_path(&one.keys[..=depth]);
                    diagnostics.push(Diagnostic::error(
                        &one.file,
                        0,
                        0,
                        format!(
                            "its folder {folder} has the key `{key}` of {file}; this file is left out"
                        ),
                    ));
                    return;
                }
            };
        }
        match folder.get(last) {
            Some(Entry::File { file, .. }) => diagnostics.push(Diagnostic::error(
                &one.file,
                0,
                0,
                format!("`{last}` is already the data of {file}; this file is left out"),
            )),
            Some(Entry::Folder(_)) => diagnostics.push(Diagnostic::error(
                &one.file,
                0,
                0,
                format!(
                    "`{last}` is already the folder {}; this file is left out",
                    folder_path(&one.keys)
                ),
            )),
            None => {
                self.files.push(one.file.clone());
                folder.insert(
                    last.clone(),
                    Entry::File {
                        file: one.file.clone(),
                        value,
                    },
                );
            }
        }
    }

    /// What is at `path` (keys from the root; empty is the root folder,
    /// which exists even without a `data/` folder).
    pub fn get(&self, path: &[&str]) -> Option<Node<'_>> {
        let Some((last, folders)) = path.split_last() else {
            return Some(Node::Folder(self.root.keys().map(String::as_str).collect()));
        };
        match self.folder_at(folders)?.get(*last)? {
            Entry::File { file, value } => Some(Node::File { value, file }),
            Entry::Folder(inner) => Some(Node::Folder(inner.keys().map(String::as_str).collect())),
        }
    }

    /// What the folder at `path` holds, in key order: each key with its
    /// file's parsed content, or `None` for a folder. `None` when no folder
    /// is there.
    pub fn folder(&self, path: &[&str]) -> Option<Vec<(&str, Option<&Value>)>> {
        let entries = self.folder_at(path)?;
        Some(
            entries
                .iter()
                .map(|(key, entry)| match entry {
                    Entry::File { value, .. } => (key.as_str(), Some(&**value)),
                    Entry::Folder(_) => (key.as_str(), None),
                })
                .collect(),
        )
    }

    /// The folder at `path`, if one is there.
    fn folder_at(&self, path: &[&str]) -> Option<&BTreeMap<String, Entry>> {
        let mut folder = &self.root;
        for key in path {
            match folder.get(*key)? {
                Entry::Folder(inner) => folder = inner,
                Entry::File { .. } => return None,
            }
        }
        Some(folder)
    }

    /// A SHA-256 hex digest of every data file's path and bytes: for keys
    /// that depend on any of the data.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Whether there are no data files.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The data files in the tree, relative to the site, sorted.
    pub fn files(&self) -> Vec<&str> {
        self.files.iter().map(String::as_str).collect()
    }
}

/// The keys of the data file `path` under `dir`: its folders' names and its
/// stem; `None` when one of them is not UTF-8.
fn keys(dir: &Path, path: &Path) -> Option<Vec<String>> {
    let mut keys = path
        .strip_prefix(dir)
        .ok()?
        .components()
        .map(|c| c.as_os_str().to_str().map(str::to_owned))
        .collect::<Option<Vec<String>>>()?;
    let name = keys.last_mut()?;
    if let Some((stem, _extension)) = name.rsplit_once('.') {
        name.truncate(stem.len());
    }
    Some(keys)
}

/// `data/` and the folders `keys` under it, as a path relative to the site.
fn folder_path(keys: &[String]) -> String {
    std::iter::once(FOLDER)
        .chain(keys.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("/")
}

/// The data files under `dir` (the site's `data/`), in path order; links
/// and names that are not UTF-8 are reported and skipped, hidden entries
/// and files of other types passed over.
fn find(root: &Path, dir: &Path, diagnostics: &mut Vec<Diagnostic>) -> Vec<Found> {
    let mut found = Vec::new();
    // Sorted, so that which of two files keeps a key does not depend on
    // the file system's order.
    let walk = walkdir::WalkDir::new(dir)
        .follow_links(false)
        .follow_root_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().as_encoded_bytes().starts_with(b"."));
    for entry in walk {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                let place = e.path().map_or_else(
                    || FOLDER.to_owned(),
                    |p| crate::content::relative_path(root, p),
                );
                diagnostics.push(Diagnostic::error(place, 0, 0, format!("cannot read: {e}")));
                continue;
            }
        };
        let file = crate::content::relative_path(root, entry.path());
        if entry.path_is_symlink() {
            diagnostics.push(Diagnostic::warning(
                &file,
                0,
                0,
                "a symbolic link, which a build never follows; it is left out of the data",
            ));
            continue;
        }
        // The entry's own type, not its target's: a FIFO or a device would
        // hang a read or never end it.
        if !entry.file_type().is_file() {
            continue;
        }
        let Some(format) = entry
            .path()
            .extension()
            .and_then(|x| x.to_str())
            .and_then(formats::Format::of_extension)
        else {
            continue;
        };
        let Some(keys) = keys(dir, entry.path()) else {
            // A lossy key could never be asked for, and the lossy path
            // would not open the file again.
            diagnostics.push(Diagnostic::warning(
                &file,
                0,
                0,
                "its path is not valid UTF-8, which no key can spell; it is left out of the data",
            ));
            continue;
        };
        // Hidden names (`.json`) are passed over above, so no key should be
        // empty; checked here too, as an empty key could never be asked for.
        if keys.iter().any(String::is_empty) {
            continue;
        }
        found.push(Found { file, keys, format });
    }
    found
}

#[cfg(test)]
mod tests;
