//! The guest side of Blogmark host: CPython on WASI, pre-initialized with
//! the ABI v1 dispatcher (`guest/dispatcher.py`) by componentize-py.
//!
//! The build script builds the component (pinned tool, hash-checked, cached
//! by the hash of its inputs) and this crate embeds it, zstd-compressed, so
//! a binary that links it carries its sandbox wherever it is copied.

use std::path::PathBuf;

mod stdlib;

pub use stdlib::{
    StdlibFile, StdlibModule, builtin_modules, preloaded_modules, stdlib, stdlib_files,
};

/// Environment variable that points the host at another component file
/// (for guest development).
pub const COMPONENT_ENV: &str = "BLOGMARK_GUEST_WASM";

/// The embedded component, zstd-compressed.
static COMPRESSED: &[u8] = include_bytes!(env!("BLOGMARK_GUEST_ZST"));

/// SHA-256 of the embedded component (uncompressed), in hex.
pub const EMBEDDED_SHA256: &str = env!("BLOGMARK_GUEST_SHA256");

/// The embedded guest's build: the hash of its inputs.
pub const EMBEDDED_BUILD_ID: &str = env!("BLOGMARK_GUEST_BUILD_ID");

/// The CPython version the component bundles, e.g. `3.14.0`.
pub const CPYTHON_VERSION: &str = env!("BLOGMARK_CPYTHON_VERSION");

/// The embedded component's bytes, unpacked (a few tens of milliseconds:
/// needed only when the compiled sandbox is not cached yet).
pub fn embedded_component() -> std::io::Result<Vec<u8>> {
    zstd::stream::decode_all(COMPRESSED)
}

/// Size of the embedded component as stored in the binary, in bytes.
pub fn embedded_size() -> usize {
    COMPRESSED.len()
}

/// The component file `$BLOGMARK_GUEST_WASM` names, when set.
pub fn override_path() -> Option<PathBuf> {
    std::env::var_os(COMPONENT_ENV)
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
}

/// Identifies the guest build: the hash of its inputs (sources, WIT, pinned
/// tool) and the start of the component's own SHA-256, or the component
/// file's size and time when `$BLOGMARK_GUEST_WASM` names one. Part of
/// every result cache key and of the site snapshot's.
///
/// The component's hash is in it because the same inputs do not always
/// build the same bytes (two checkouts of one commit differ): a snapshot
/// image made from one guest must never be taken for another's.
pub fn build_id() -> String {
    match override_path() {
        Some(path) => std::fs::metadata(&path)
            .map(|m| format!("file-{}-{:?}", m.len(), m.modified().ok()))
            .unwrap_or_else(|_| "missing".into()),
        None => format!("{EMBEDDED_BUILD_ID}-{}", &EMBEDDED_SHA256[..16]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    #[test]
    fn the_embedded_component_unpacks_to_a_wasm_component() {
        let mut head = [0u8; 8];
        zstd::stream::read::Decoder::new(COMPRESSED)
            .unwrap()
            .read_exact(&mut head)
            .unwrap();
        // `\0asm`, then a component's version and layer (0x0d, 0x01).
        assert_eq!(&head[..4], b"\0asm");
        assert_eq!(&head[4..], &[0x0d, 0x00, 0x01, 0x00]);
    }

    #[test]
    fn the_versions_are_known() {
        assert!(CPYTHON_VERSION.starts_with("3."), "{CPYTHON_VERSION}");
        assert_eq!(EMBEDDED_SHA256.len(), 64);
        assert!(!EMBEDDED_BUILD_ID.is_empty());
        if override_path().is_none() {
            assert!(
                build_id().ends_with(&EMBEDDED_SHA256[..16]),
                "{}",
                build_id()
            );
        }
    }
}
