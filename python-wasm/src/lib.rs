//! The guest side of Blogmark host: CPython 3.14 on WASI, pre-initialized
//! with the ABI v1 dispatcher (`guest/dispatcher.py`) by componentize-py.
//!
//! The build script builds the component (pinned tool, hash-checked, cached
//! by the hash of its inputs); this crate only tells where it is.

use std::path::{Path, PathBuf};

/// Environment variable that points the host at another component file.
pub const COMPONENT_ENV: &str = "BLOGMARK_GUEST_WASM";

/// The component this crate's build produced.
pub fn built_component() -> &'static Path {
    Path::new(env!("BLOGMARK_GUEST_WASM"))
}

/// The component to load: `$BLOGMARK_GUEST_WASM` when set, else the built one.
pub fn component_path() -> PathBuf {
    std::env::var_os(COMPONENT_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| built_component().to_path_buf())
}

/// Identifies the guest build: the hash of its inputs (sources, WIT, pinned
/// tool), or of the component file when `$BLOGMARK_GUEST_WASM` names one.
/// Part of every result cache key.
pub fn build_id() -> String {
    match std::env::var_os(COMPONENT_ENV) {
        Some(path) => std::fs::metadata(&path)
            .map(|m| format!("file-{}-{:?}", m.len(), m.modified().ok()))
            .unwrap_or_else(|_| "missing".into()),
        None => built_component()
            .parent()
            .and_then(|dir| dir.file_name())
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default(),
    }
}
