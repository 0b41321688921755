//! What a session asks of the sandbox: the runtime's mode and isolation,
//! the ceiling on every script's limits, and what every request carries.

use super::Limits;
use super::modules::SiteModules;
use crate::config::{self, Config};
use crate::content::Page;
use crate::scripts::Script;
use blogmark_runtime::abi;
use blogmark_runtime::{Isolation, Mode};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Settings of one session.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Worker or inline, and how many workers.
    pub(super) mode: Mode,
    /// How each call gets a fresh state.
    pub(super) isolation: Isolation,
    /// The site's ceiling on every script's limits.
    pub(super) ceiling: Limits,
    /// Site metadata for every request.
    pub(super) site: abi::Site,
    /// What the guest's clock reads.
    pub(super) clock: Duration,
    /// The guest build (`blogmark_guest::build_id`), part of every cache key.
    pub(super) build_id: String,
    /// Use and fill the persistent cache.
    pub(super) use_cache: bool,
    /// The site's folder, where a bundle's files are read for `ctx.page`.
    pub(super) root: std::path::PathBuf,
    pub(super) modules: Arc<SiteModules>,
    /// `[python] preload`.
    pub(super) preload: Vec<String>,
    /// `[python] snapshot`.
    pub(super) snapshot: bool,
}

impl Settings {
    /// The settings `config` (of the site at `root`) asks for a render,
    /// with the guest clock at `clock` (see [`guest_clock`]).
    pub fn for_site(root: &Path, config: &Config, clock: Duration, use_cache: bool) -> Self {
        Settings {
            mode: match config.python.runtime_mode {
                config::RuntimeMode::Worker => Mode::Worker {
                    workers: config.python.workers,
                },
                config::RuntimeMode::Inline => Mode::Inline,
            },
            isolation: isolation(&config.python),
            ceiling: ceiling(&config.python),
            site: abi::Site {
                title: config.title.clone(),
                base_url: config.base_url(),
            },
            clock,
            build_id: blogmark_guest::build_id(),
            use_cache,
            root: root.to_path_buf(),
            modules: Arc::new(SiteModules::load(root, &config.python.dependencies)),
            preload: config.python.preload.clone(),
            snapshot: config.python.snapshot,
        }
    }

    /// The settings of a one-off command (`scripts run`, `scripts check`)
    /// on the site at `root`: on the calling thread, with no persistent
    /// cache, under its site.toml's limits and isolation (the defaults when
    /// site.toml does not load: a script can be tried on its own).
    pub fn for_command(root: &Path) -> Self {
        let (python, site) = match Config::load(root) {
            Ok(config) => (
                config.python.clone(),
                abi::Site {
                    title: config.title.clone(),
                    base_url: config.base_url(),
                },
            ),
            Err(_) => (config::Python::default(), abi::Site::default()),
        };
        Settings {
            mode: Mode::Inline,
            isolation: isolation(&python),
            ceiling: ceiling(&python),
            site,
            clock: Duration::ZERO,
            build_id: blogmark_guest::build_id(),
            use_cache: false,
            root: root.to_path_buf(),
            modules: Arc::new(SiteModules::load(root, &python.dependencies)),
            preload: python.preload.clone(),
            snapshot: python.snapshot,
        }
    }

    /// The limits `script` runs under: its own, capped by the site's.
    pub(super) fn limits(&self, script: &Script) -> Limits {
        let ceiling = &self.ceiling;
        let own = Limits {
            timeout: script
                .timeout_ms
                .map_or(ceiling.timeout, Duration::from_millis),
            fuel: script.fuel.unwrap_or(ceiling.fuel),
            memory_bytes: script.memory_mb.map_or(ceiling.memory_bytes, |mb| mb << 20),
            ..ceiling.clone()
        };
        own.capped_by(ceiling)
    }
}

/// The isolation to use: `$BLOGMARK_ISOLATION` when set, else `[python]
/// isolation`.
fn isolation(python: &config::Python) -> Isolation {
    Isolation::from_env().unwrap_or(match python.isolation {
        config::Isolation::Auto => Isolation::Auto,
        config::Isolation::Reset => Isolation::Reset,
        config::Isolation::Instance => Isolation::Instance,
    })
}

/// The ceiling `[python]` puts on every script's limits.
fn ceiling(python: &config::Python) -> Limits {
    Limits {
        timeout: Duration::from_millis(python.timeout_ms),
        fuel: python.fuel,
        memory_bytes: python.memory_mb << 20,
        output_bytes: python.max_output_kb << 10,
        ..Limits::default()
    }
}

/// What the guest's clock reads: `SOURCE_DATE_EPOCH` when set (as for
/// reproducible builds), else the newest post's date, so that results, and
/// the cache, do not depend on when the build runs.
pub fn guest_clock<'a>(pages: impl IntoIterator<Item = &'a Page>) -> Duration {
    if let Some(secs) = crate::input::source_date_epoch() {
        return Duration::from_secs(secs);
    }
    pages
        .into_iter()
        .filter_map(|p| p.date)
        .max()
        .and_then(|d| u64::try_from(d.timestamp()).ok())
        .map_or(Duration::ZERO, Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_python_table_gives_the_runtime_defaults() {
        assert_eq!(ceiling(&config::Python::default()), Limits::default());
    }

    #[test]
    fn the_python_table_sets_the_ceiling() {
        let config = Config::parse(
            "title = \"t\"\nbase_url = \"https://example.org/\"\n\
             [python]\ntimeout_ms = 200\nmemory_mb = 64\nmax_output_kb = 8\n",
        )
        .unwrap();
        let limits = ceiling(&config.python);
        assert_eq!(limits.timeout, Duration::from_millis(200));
        assert_eq!(limits.memory_bytes, 64 << 20);
        assert_eq!(limits.output_bytes, 8 << 10);
    }
}
