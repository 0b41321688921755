//! Where the guest component comes from, and who hears that it is being
//! compiled.

use sha2::{Digest, Sha256};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The guest component an engine loads.
#[derive(Clone)]
pub enum GuestComponent {
    /// A component file, read and hashed when the engine starts.
    File(PathBuf),
    /// A component known by its SHA-256 (hex), whose bytes are produced
    /// only when the compiled-guest cache has no artifact for it: an
    /// embedded, compressed component costs nothing to start from cache.
    Known {
        /// SHA-256 of the component's bytes, in hex.
        sha256: String,
        /// Produces the bytes.
        bytes: fn() -> std::io::Result<Vec<u8>>,
    },
    /// A component file whose SHA-256 (hex) is already known (a site
    /// snapshot): read only when the compiled-guest cache has no artifact.
    KnownFile {
        /// SHA-256 of the file's bytes, in hex.
        sha256: String,
        /// The file.
        path: PathBuf,
    },
}

impl GuestComponent {
    /// The component's SHA-256 in hex, and its bytes when they had to be
    /// read to know it.
    pub(crate) fn identify(&self) -> std::io::Result<(String, Option<Vec<u8>>)> {
        match self {
            GuestComponent::File(path) => {
                let bytes = std::fs::read(path)?;
                Ok((hex::encode(Sha256::digest(&bytes)), Some(bytes)))
            }
            GuestComponent::Known { sha256, .. } | GuestComponent::KnownFile { sha256, .. } => {
                Ok((sha256.clone(), None))
            }
        }
    }

    /// The component's bytes.
    pub(crate) fn bytes(&self) -> std::io::Result<Vec<u8>> {
        match self {
            GuestComponent::File(path) => std::fs::read(path),
            GuestComponent::Known { bytes, .. } => bytes(),
            GuestComponent::KnownFile { path, .. } => std::fs::read(path),
        }
    }
}

impl fmt::Display for GuestComponent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GuestComponent::File(path) | GuestComponent::KnownFile { path, .. } => {
                write!(f, "{}", path.display())
            }
            GuestComponent::Known { sha256, .. } => {
                write!(
                    f,
                    "the embedded guest (sha256 {})",
                    &sha256[..sha256.len().min(12)]
                )
            }
        }
    }
}

impl fmt::Debug for GuestComponent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GuestComponent({self})")
    }
}

impl From<PathBuf> for GuestComponent {
    fn from(path: PathBuf) -> Self {
        GuestComponent::File(path)
    }
}

impl From<&str> for GuestComponent {
    fn from(path: &str) -> Self {
        GuestComponent::File(PathBuf::from(path))
    }
}

impl From<&Path> for GuestComponent {
    fn from(path: &Path) -> Self {
        GuestComponent::File(path.to_path_buf())
    }
}

/// A stage of compiling the guest, for a caller that shows progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompileStage {
    /// No compiled artifact is cached: compiling starts (seconds).
    Started,
    /// Compiling ended (well or not).
    Finished,
}

/// Called as the guest is compiled; never called when it loads from cache.
#[derive(Clone)]
pub struct CompileObserver(pub Arc<dyn Fn(CompileStage) + Send + Sync>);

impl fmt::Debug for CompileObserver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CompileObserver")
    }
}
