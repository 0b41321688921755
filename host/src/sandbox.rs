//! Starting the Python sandbox for a command.

use anyhow::Context as _;
use blogmark_runtime::{Mode, Runtime};

/// A runtime on the guest component this binary was built with (or
/// `$BLOGMARK_GUEST_WASM`).
pub fn start(mode: Mode) -> anyhow::Result<Runtime> {
    blogmark_host::python_macros::start_runtime(mode).context("cannot start the Python sandbox")
}
