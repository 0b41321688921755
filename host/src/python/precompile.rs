//! The optimized compile of the sandbox, kept off the author's path.
//!
//! On a machine whose cache has no Cranelift code for this guest, a
//! session starts on Winch's (about 1.7 s to compile instead of about 7 s
//! on two cores; the code runs slower) and starts `host python prepare`
//! as a process of its own, at low priority, which compiles the optimized
//! code into the cache: the runs after it load that. A process rather than
//! a thread because a one-shot render ends long before the compile does.

use super::settings::Settings;
use blogmark_runtime::{EngineSettings, Failure, GuestComponent, LoadReport, SandboxEngine};
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

/// Compile the optimized code of the sandbox for `settings`' isolation
/// into the cache now, unless it is there (`host python prepare`). One
/// process compiles at a time: with `wait`, this waits for one that is
/// compiling (and then finds its code); without, it leaves the work to it
/// and returns `None`. Nothing is compiled when there is no cache folder:
/// the code would be thrown away.
pub fn precompile(settings: &Settings, wait: bool) -> Result<Option<LoadReport>, Failure> {
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
    SandboxEngine::precompile(&engine).map(Some)
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
pub(super) fn in_background(root: &Path) {
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
                "compiling the optimized Python sandbox in the background (`host python prepare`)"
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
