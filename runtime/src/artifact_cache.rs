//! The on-disk cache of compiled guests.
//!
//! Compiling CPython's component with Cranelift takes seconds; loading the
//! compiled artifact with `Component::deserialize_file` takes milliseconds.
//! The key covers the component's bytes and the engine's compatibility hash
//! (wasmtime's version and every setting that changes code), so a stale
//! artifact is never picked; one that fails to load anyway (corrupt, or
//! written by an incompatible build) is compiled again and replaced.

use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use wasmtime::Engine;
use wasmtime::component::Component;

pub(crate) struct ArtifactCache {
    dir: Option<PathBuf>,
    key: String,
    /// Whether storing may create the folder (see [`ArtifactCache::only_into_existing`]).
    create: bool,
}

/// A `Hasher` that feeds SHA-256, so the engine's hash is stable across runs.
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        unreachable!("only write() is used")
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// Remove every compiled artifact of the component whose SHA-256 is
/// `sha256` from `dir` (whatever engine compiled it), and of its form
/// compiled apart from its memory, with that memory's image (see
/// `guest_image`).
pub(crate) fn remove_for(dir: &Path, sha256: &str) {
    let split = crate::guest_image::split_key(sha256);
    let prefixes =
        [sha256, split.as_str()].map(|key| format!("guest-{}", &key[..key.len().min(24)]));
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = prefixes.iter().any(|prefix| {
            name.strip_prefix(prefix.as_str())
                .is_some_and(|rest| rest.starts_with('-') || rest == ".image")
        });
        if ours {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Compiled artifacts a cache folder keeps: the base guest (Winch's and
/// Cranelift's) of the builds in use, and the code of the site snapshots
/// that a fresh instance per request compiles (`snapshot::KEEP` of them,
/// two tiers each), with room to spare. At about 40 MB each, a folder that
/// kept every one grew with every upgrade of `host`.
const KEEP: usize = 24;

/// A load marks its artifact used when the mark is older than this (so a
/// load costs no write most of the time)...
const MARK_AFTER: Duration = Duration::from_secs(3600);

/// ...and an artifact marked within this time is never removed, however
/// many there are: one loaded within the hour is among them.
const IN_USE: Duration = Duration::from_secs(2 * 3600);

/// Mark the artifact at `path` used now, unless it was marked within
/// [`MARK_AFTER`] (a mark in the future is made right too).
fn mark_used(path: &Path) {
    let stale = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .is_ok_and(|at| at.elapsed().map_or(true, |age| age >= MARK_AFTER));
    if stale && let Ok(file) = std::fs::File::options().write(true).open(path) {
        let _ = file.set_modified(SystemTime::now());
    }
}

/// Remove all but the [`KEEP`] most recently used compiled artifacts of
/// `dir` (by their mark, see [`mark_used`]), and never one marked within
/// [`IN_USE`]: another process may be about to load it, and the memory
/// images left without code. Returns how many artifacts went.
fn prune(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut artifacts: Vec<(SystemTime, PathBuf)> = entries
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("guest-") && name.ends_with(".cwasm")
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    artifacts.sort_by_key(|a| std::cmp::Reverse(a.0));
    let removed = artifacts
        .into_iter()
        .skip(KEEP)
        .filter(|(used, _)| used.elapsed().map_or(true, |age| age >= IN_USE))
        .filter(|(_, path)| std::fs::remove_file(path).is_ok())
        .count();
    remove_orphan_images(dir);
    removed
}

/// Remove the memory images (`guest_image`) whose component has no
/// compiled code left in `dir`, unless written within [`IN_USE`] (its code
/// may be compiling now). Without its image, code is only loaded once the
/// component is split again.
fn remove_orphan_images(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    for name in &names {
        let Some(component) = name
            .strip_prefix("guest-")
            .and_then(|n| n.strip_suffix(".image"))
        else {
            continue;
        };
        let prefix = format!("guest-{component}-");
        let compiled = names
            .iter()
            .any(|n| n.starts_with(&prefix) && n.ends_with(".cwasm"));
        let path = dir.join(name);
        let recent = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .is_ok_and(|at| at.elapsed().is_ok_and(|age| age < IN_USE));
        if !compiled && !recent {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// How [`ArtifactCache::load_or_compile`] obtained the component.
pub(crate) enum Obtained {
    /// Loaded from the cache.
    Loaded,
    /// Compiled; `not_stored` says why the cache did not take it, if so.
    Compiled { not_stored: Option<String> },
}

impl Obtained {
    pub(crate) fn is_loaded(&self) -> bool {
        matches!(self, Obtained::Loaded)
    }

    pub(crate) fn not_stored(self) -> Option<String> {
        match self {
            Obtained::Loaded => None,
            Obtained::Compiled { not_stored } => not_stored,
        }
    }
}

impl ArtifactCache {
    /// The cache in `dir` for the component whose SHA-256 is `sha256` (hex).
    pub(crate) fn new(dir: Option<PathBuf>, engine: &Engine, sha256: &str) -> Self {
        let mut hasher = ShaHasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_hash = hex::encode(&hasher.0.finalize()[..8]);
        let component_hash = &sha256[..sha256.len().min(24)];
        ArtifactCache {
            dir,
            key: format!("{component_hash}-{engine_hash}"),
            create: true,
        }
    }

    /// Store only into a folder that still exists: a compile made apart
    /// for a cache that was removed meanwhile (a test's) is dropped rather
    /// than bring the folder back.
    pub(crate) fn only_into_existing(mut self) -> Self {
        self.create = false;
        self
    }

    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    fn path(&self) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|d| d.join(format!("guest-{}.cwasm", self.key)))
    }

    /// Whether the cache holds an artifact for this component and engine.
    pub(crate) fn holds_artifact(&self) -> bool {
        self.path().is_some_and(|p| p.is_file())
    }

    /// The compiled component, and how it was obtained.
    pub(crate) fn load_or_compile(
        &self,
        engine: &Engine,
        compile: impl FnOnce() -> wasmtime::Result<Component>,
    ) -> wasmtime::Result<(Component, Obtained)> {
        if let Some(path) = self.path().filter(|p| p.exists()) {
            // SAFETY: the file was written by `Component::serialize` of this
            // cache (the key names the engine and component), lives in the
            // user's own cache directory, and wasmtime checks its header and
            // engine compatibility before using it.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => {
                    mark_used(&path);
                    return Ok((component, Obtained::Loaded));
                }
                Err(e) => tracing::warn!(
                    path = %path.display(),
                    "failed to load code from the compiled-guest cache, compiling again: {e:#}"
                ),
            }
        }
        tracing::info!("compiling the Python guest (once per guest build)");
        let component = compile()?;
        let not_stored = self.path().and_then(|path| {
            let e = self.store(&component, &path).err()?;
            tracing::warn!(path = %path.display(), "cannot cache the compiled guest: {e:#}");
            Some(format!("cannot write {}: {e:#}", path.display()))
        });
        Ok((component, Obtained::Compiled { not_stored }))
    }

    fn store(&self, component: &Component, path: &Path) -> wasmtime::Result<()> {
        let dir = path.parent().expect("cache files live in a directory");
        if !self.create && !dir.is_dir() {
            wasmtime::bail!("{} is gone", dir.display());
        }
        std::fs::create_dir_all(dir)?;
        let serialized = component.serialize()?;
        // Write then rename, so a concurrent reader never sees half a file,
        // and a process that has the old file mapped keeps its inode (an
        // in-place write would pull pages from under it: SIGBUS).
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        std::io::Write::write_all(&mut tmp, &serialized)?;
        tmp.as_file().sync_all()?;
        tmp.persist(path)?;
        // A new artifact is a new guest build: those of builds no longer
        // used can go.
        let removed = prune(dir);
        if removed > 0 {
            tracing::debug!(
                removed,
                "compiled guests unused for a while removed from the cache"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest component: its header, no sections.
    const EMPTY_COMPONENT: &[u8] = b"\0asm\x0d\0\x01\0";

    fn compile(engine: &Engine) -> wasmtime::Result<Component> {
        Component::new(engine, EMPTY_COMPONENT)
    }

    #[test]
    fn stored_once_then_loaded() {
        let engine = Engine::default();
        let dir = tempfile::tempdir().unwrap();
        let cache = ArtifactCache::new(Some(dir.path().into()), &engine, &"ab".repeat(32));
        let (_, first) = cache.load_or_compile(&engine, || compile(&engine)).unwrap();
        assert!(!first.is_loaded());
        assert_eq!(first.not_stored(), None);
        assert!(cache.holds_artifact());
        let (_, second) = cache
            .load_or_compile(&engine, || panic!("loaded, not compiled"))
            .unwrap();
        assert!(second.is_loaded());
    }

    #[test]
    fn the_cache_keeps_the_artifacts_used_last_and_every_one_used_lately() {
        let engine = Engine::default();
        let dir = tempfile::tempdir().unwrap();
        let day = Duration::from_secs(86_400);
        let long_ago = SystemTime::now() - 30 * day;
        // Thirty artifacts of older builds, the first used longest ago; one
        // used a minute ago; a file of another kind.
        let name = |i: usize| dir.path().join(format!("guest-{i:02}-e.cwasm"));
        for i in 0..30 {
            std::fs::write(name(i), b"old").unwrap();
            let at = long_ago + Duration::from_secs(i as u64 * 60);
            let file = std::fs::File::options().write(true).open(name(i)).unwrap();
            file.set_modified(at).unwrap();
        }
        std::fs::write(dir.path().join("guest-recent-e.cwasm"), b"in use").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"not ours").unwrap();
        let cache = ArtifactCache::new(Some(dir.path().into()), &engine, &"ef".repeat(32));
        let (_, obtained) = cache.load_or_compile(&engine, || compile(&engine)).unwrap();
        assert!(!obtained.is_loaded());
        // Thirty of older builds: the new one, the recent one and the
        // twenty-two used last stay.
        let left = |i: usize| name(i).exists();
        assert!((0..8).all(|i| !left(i)), "the eight used longest ago went");
        assert!((8..30).all(left));
        assert!(dir.path().join("guest-recent-e.cwasm").exists());
        assert!(dir.path().join("notes.txt").exists());
        assert!(cache.holds_artifact());

        // A load marks an artifact used a long time ago as used now.
        let path = cache.path().unwrap();
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(long_ago).unwrap();
        let (_, again) = cache
            .load_or_compile(&engine, || panic!("loaded, not compiled"))
            .unwrap();
        assert!(again.is_loaded());
        let marked = std::fs::metadata(&path).unwrap().modified().unwrap();
        assert!(marked.elapsed().unwrap() < MARK_AFTER);
    }

    #[test]
    fn a_cache_that_cannot_be_written_says_why() {
        let engine = Engine::default();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-folder");
        std::fs::write(&file, b"").unwrap();
        let cache = ArtifactCache::new(Some(file.join("compiled")), &engine, &"cd".repeat(32));
        let (_, obtained) = cache.load_or_compile(&engine, || compile(&engine)).unwrap();
        assert!(!obtained.is_loaded());
        let why = obtained.not_stored().expect("the failure is reported");
        assert!(why.contains("not-a-folder"), "{why}");
        assert!(!cache.holds_artifact());
    }
}
