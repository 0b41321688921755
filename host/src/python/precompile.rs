//! The optimized compile of the sandbox and the component snapshot of a
//! site, kept off the author's path.
//!
//! On a machine whose cache has no Cranelift code for this guest, a
//! session starts on Winch's (about 1.7 s to compile instead of about 7 s
//! on two cores; the code runs slower) and starts `host python prepare`
//! as a process of its own, at low priority, which compiles the optimized
//! code into the cache: the runs after it load that. With a fresh instance
//! per request, a render whose site snapshot is not built yet runs on the
//! base guest and starts the same process, which builds and compiles the
//! snapshot (about 10 s) for the next run. A process rather than a thread
//! because a one-shot render ends long before either is done.

use super::session::Session;
use super::settings::Settings;
use blogmark_runtime::{EngineSettings, Failure, GuestComponent, LoadReport, SandboxEngine};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// The guest component this binary embeds (or the file
/// `$BLOGMARK_GUEST_WASM` names).
pub(super) fn guest_component() -> GuestComponent {
    match blogmark_guest::override_path() {
        Some(path) => GuestComponent::File(path),
        None => GuestComponent::Known {
            sha256: blogmark_guest::EMBEDDED_SHA256.to_owned(),
            bytes: blogmark_guest::embedded_component,
        },
    }
}

fn engine_settings(settings: &Settings) -> EngineSettings {
    let mut engine = EngineSettings::new(guest_component());
    engine.isolation = settings.isolation;
    engine
}

/// What `host python prepare` did.
#[derive(Debug)]
pub struct PrepareReport {
    /// The optimized code: loaded from the cache or compiled now.
    pub compiled: LoadReport,
    /// Whether a site snapshot was built and compiled (only with a fresh
    /// instance per request, and only when none was there).
    pub snapshot_built: bool,
}

/// Compile the optimized code of the sandbox for `settings`' isolation
/// into the cache now, unless it is there, then the site's component
/// snapshot when `snapshot` says so (see [`Session::prepare_snapshot`]):
/// `host python prepare`.
/// One process prepares at a time: with `wait`, this waits for one that
/// is at it (and then finds its work done); without, it leaves the work
/// to it and returns `None`. Nothing is done when there is no cache
/// folder: the code would be thrown away.
pub fn precompile(
    settings: &Settings,
    wait: bool,
    snapshot: bool,
) -> Result<Option<PrepareReport>, Failure> {
    let engine = engine_settings(settings);
    let Some(dir) = engine.cache_dir.clone() else {
        return Ok(None);
    };
    let unavailable = |e: std::io::Error| {
        Failure::Unavailable(format!("cannot lock the compiled-code cache: {e}"))
    };
    if wait {
        std::fs::create_dir_all(&dir).map_err(unavailable)?;
    } else if !dir.is_dir() {
        // Started in the background for a cache folder that is gone.
        return Ok(None);
    }
    let lock = std::fs::File::create(dir.join("prepare.lock")).map_err(unavailable)?;
    if wait {
        lock.lock().map_err(unavailable)?;
    } else if lock.try_lock().is_err() {
        return Ok(None);
    }
    let compiled = SandboxEngine::precompile(&engine)?;
    let snapshot_built = snapshot && {
        let (scripts, _) = crate::scripts::load(&settings.root);
        let (session, _) = Session::new(&scripts, settings.clone(), HashMap::new());
        session.prepare_snapshot()
    };
    Ok(Some(PrepareReport {
        compiled,
        snapshot_built,
    }))
}

/// Whether the cache holds the optimized code for `settings`.
pub(super) fn optimized_ready(settings: &Settings) -> bool {
    SandboxEngine::holds_optimized(&engine_settings(settings))
}

/// Started once per process at most.
static STARTED: AtomicBool = AtomicBool::new(false);

/// Start `host python prepare` for the site at `root` in the background:
/// its own process group (a Ctrl-C of the command does not stop it), no
/// terminal, lowest priority (the render it follows keeps the cores).
/// Without `snapshot` it compiles the code only: a long-lived sandbox
/// builds its site snapshots itself.
pub(super) fn in_background(root: &Path, snapshot: bool) {
    if STARTED.swap(true, Ordering::Relaxed) {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut command = std::process::Command::new(exe);
    // One argument, so that a site path that starts with `-` stays a value.
    let mut site = std::ffi::OsString::from("--site=");
    site.push(root);
    command
        .args(["python", "prepare", "--quiet"])
        .args((!snapshot).then_some("--code-only"))
        .arg(site)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        command.process_group(0);
        // SAFETY: `nice` is async-signal-safe and touches no memory of the
        // parent; it runs in the child between fork and exec.
        unsafe {
            command.pre_exec(|| {
                libc::nice(19);
                Ok(())
            });
        }
    }
    match command.spawn() {
        Ok(mut child) => {
            tracing::info!(
                pid = child.id(),
                "preparing the Python sandbox in the background (`host python prepare`)"
            );
            // Reaped when it ends, so a long-lived `host serve` keeps no
            // zombie; a one-shot command does not wait for it.
            let _ = std::thread::Builder::new()
                .name("blogmark-prepare".into())
                .spawn(move || child.wait());
        }
        Err(e) => tracing::warn!("cannot compile the optimized sandbox in the background: {e}"),
    }
}
