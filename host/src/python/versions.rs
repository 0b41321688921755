//! Which sandbox this binary runs, for `host --version` and bug reports.

/// The versions of everything that runs a script.
pub struct SandboxVersions {
    /// The guest build: the hash of its inputs, or of the file
    /// `$BLOGMARK_GUEST_WASM` names.
    pub guest_build: String,
    /// Whether the guest is a file given by `$BLOGMARK_GUEST_WASM`.
    pub guest_overridden: bool,
    /// The CPython version the embedded guest bundles.
    pub cpython: &'static str,
    /// The wasmtime version.
    pub wasmtime: &'static str,
}

/// The versions of this binary's sandbox, on this machine.
pub fn sandbox_versions() -> SandboxVersions {
    SandboxVersions {
        guest_build: blogmark_guest::build_id(),
        guest_overridden: blogmark_guest::override_path().is_some(),
        cpython: blogmark_guest::CPYTHON_VERSION,
        wasmtime: blogmark_runtime::WASMTIME_VERSION,
    }
}
