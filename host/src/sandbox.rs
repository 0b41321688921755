//! Starting the Python sandbox for a command.

use anyhow::Context as _;
use blogmark_runtime::{Mode, Runtime};

/// A runtime on the guest component this binary was built with (or
/// `$BLOGMARK_GUEST_WASM`), with the isolation `site`'s configuration asks
/// for (the default when it has none that parses).
pub fn start(mode: Mode, site: &std::path::Path) -> anyhow::Result<Runtime> {
    let isolation = blogmark_host::config::Config::load(site)
        .map(|config| config.python)
        .unwrap_or_default()
        .isolation();
    blogmark_host::python_macros::start_runtime(mode, isolation)
        .context("cannot start the Python sandbox")
}
