//! Starting the Python sandbox for a command.

use anyhow::Context as _;
use blogmark_runtime::{Mode, Runtime, RuntimeConfig};

/// A runtime on the guest component this binary was built with (or
/// `$BLOGMARK_GUEST_WASM`).
pub fn start(mode: Mode) -> anyhow::Result<Runtime> {
    let mut config = RuntimeConfig::new(blogmark_guest::component_path());
    config.mode = mode;
    let runtime = Runtime::new(config).context("cannot start the Python sandbox")?;
    let load = runtime.engine().load_report();
    tracing::info!(
        from_cache = load.from_cache,
        elapsed_ms = load.elapsed.as_millis() as u64,
        "Python sandbox ready"
    );
    Ok(runtime)
}
