//! A wall-clock limit on one rendering of a template. Fuel bounds the
//! instructions a template runs, not what one costs: a filter over a
//! 100 MB string is one instruction. A pulled site's template could so run
//! for days; past the limit the process stops with an error naming the
//! template, as Hugo's `timeout` fails a build.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The limit when `BLOGMARK_TEMPLATE_TIMEOUT` (seconds) does not set one.
const DEFAULT_LIMIT: Duration = Duration::from_secs(60);

/// Renderings under way: when each began, the site's `templates/` and the
/// template's name.
type Running = BTreeMap<u64, (Instant, PathBuf, String)>;
static RUNNING: Mutex<Running> = Mutex::new(BTreeMap::new());
static NEXT: AtomicU64 = AtomicU64::new(0);

/// One rendering under watch, until dropped.
pub(super) struct Watched(u64);

impl Drop for Watched {
    fn drop(&mut self) {
        running().remove(&self.0);
    }
}

/// Watch a rendering of the template `name` of the site's `templates/` at
/// `dir` (or the theme's) from now.
pub(super) fn watch(dir: &Path, name: &str) -> Watched {
    static WATCHDOG: OnceLock<()> = OnceLock::new();
    WATCHDOG.get_or_init(|| {
        let limit = limit();
        let spawned = std::thread::Builder::new()
            .name("template-watchdog".into())
            .spawn(move || watchdog(limit));
        if let Err(e) = spawned {
            tracing::warn!("templates run without a time limit: {e}");
        }
    });
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    running().insert(id, (Instant::now(), dir.to_path_buf(), name.to_owned()));
    Watched(id)
}

fn limit() -> Duration {
    std::env::var("BLOGMARK_TEMPLATE_TIMEOUT")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map_or(DEFAULT_LIMIT, Duration::from_secs_f64)
}

fn running() -> std::sync::MutexGuard<'static, Running> {
    RUNNING.lock().unwrap_or_else(|e| e.into_inner())
}

fn watchdog(limit: Duration) {
    let tick = (limit / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
    loop {
        std::thread::sleep(tick);
        let late = running()
            .values()
            .find(|(began, ..)| began.elapsed() > limit)
            .map(|(_, dir, name)| super::templates::shown(dir, name));
        if let Some(template) = late {
            // minijinja cannot be interrupted: the process stops, as a
            // build that timed out does; what was written stays whole
            // (every output file is renamed into place).
            eprintln!(
                "{template}: error: one rendering ran for over {} s and was stopped (a loop over \
                 very large values?); set BLOGMARK_TEMPLATE_TIMEOUT (seconds) for a longer limit",
                limit.as_secs_f64()
            );
            #[expect(
                clippy::exit,
                reason = "minijinja cannot be interrupted; the build fails as a timed-out one does"
            )]
            std::process::exit(1);
        }
    }
}
