//! `site.toml`: the site's settings.

use crate::diagnostics::Diagnostic;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The file name of a site's configuration.
pub const FILE: &str = "site.toml";

/// A site's settings.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The site's title.
    pub title: String,
    /// Where the site is published, e.g. `https://example.org/`.
    pub base_url: String,
    /// A line about the site, for the feed and the index.
    #[serde(default)]
    pub description: String,
    /// The author's name, for the feed.
    #[serde(default)]
    pub author: String,
    /// Posts per index page.
    #[serde(default = "default_paginate")]
    pub paginate: usize,
    /// The Python sandbox.
    #[serde(default)]
    pub python: Python,
    /// URL patterns per kind of page.
    #[serde(default)]
    pub permalinks: Permalinks,
    /// The taxonomies posts are classified by, each with an index page and
    /// a page per term (default: `["tags"]`).
    #[serde(default = "default_taxonomies")]
    pub taxonomies: Vec<String>,
    /// What the site grants its scripts beyond their inputs.
    #[serde(default)]
    pub capabilities: crate::capabilities::Capabilities,
}

fn default_taxonomies() -> Vec<String> {
    vec!["tags".into()]
}

/// `[permalinks]`: where each kind of page is published, e.g.
/// `posts = "/:year/:month/:slug/"`. Without one, a page's URL follows its
/// folders under `content/`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Permalinks {
    /// The pattern for posts.
    pub posts: Option<String>,
    /// The pattern for pages.
    pub pages: Option<String>,
}

/// The tokens a `[permalinks]` pattern may use.
pub const PERMALINK_TOKENS: [&str; 5] = [":year", ":month", ":day", ":slug", ":section"];

/// Why `pattern` is not a permalink pattern, if it is not one.
pub fn check_permalink(pattern: &str) -> Result<(), String> {
    if !pattern.starts_with('/') {
        return Err(format!("`{pattern}` must start with `/`"));
    }
    let mut rest = pattern;
    while let Some(at) = rest.find(':') {
        let token: String = rest[at..]
            .chars()
            .enumerate()
            .take_while(|(i, c)| (*i == 0 && *c == ':') || c.is_ascii_alphabetic())
            .map(|(_, c)| c)
            .collect();
        if !PERMALINK_TOKENS.contains(&token.as_str()) {
            return Err(format!(
                "`{token}` in `{pattern}` is not one of {}",
                PERMALINK_TOKENS.join(", ")
            ));
        }
        rest = &rest[at + token.len()..];
    }
    if !pattern.contains(":slug") {
        return Err(format!(
            "`{pattern}` has no `:slug`, so all its pages would share one URL"
        ));
    }
    Ok(())
}

fn default_paginate() -> usize {
    10
}

/// The most memory a script may be given, in MiB: the sandbox reserves
/// this much address space per instance.
pub const MAX_MEMORY_MB: u64 = 1024;

/// `[python]`: where scripts run and the most any script may use.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Python {
    /// `worker` (a pool behind a queue) or `inline` (the calling thread).
    pub runtime_mode: RuntimeMode,
    /// Workers in `worker` mode; 0 means one per core.
    pub workers: usize,
    /// How each call gets a state identical to a fresh instance: `auto`,
    /// `reset` or `instance` (`$BLOGMARK_ISOLATION` overrides).
    pub isolation: Isolation,
    /// Most wall time per call, in milliseconds.
    pub timeout_ms: u64,
    /// Most fuel per call.
    pub fuel: u64,
    /// Most linear memory per call, in MiB.
    pub memory_mb: usize,
    /// Largest macro output (HTML or transformed post), in KiB.
    #[serde(alias = "output_kb")]
    pub max_output_kb: usize,
    /// Modules to put in the site snapshot besides those the scripts
    /// import by name (for imports made with `importlib`).
    pub preload: Vec<String>,
    /// Build a site snapshot holding every module the scripts import, so
    /// that no call pays for an import.
    pub snapshot: bool,
    /// Third-party packages (pip requirements, e.g. `markdown==3.7`),
    /// vendored in `scripts/vendor/` by `host python lock`.
    pub dependencies: Vec<String>,
}

/// See [`Python::runtime_mode`].
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RuntimeMode {
    /// A pool of workers behind a bounded queue.
    Worker,
    /// On the calling thread.
    Inline,
}

/// See [`Python::isolation`].
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Isolation {
    /// `reset` where the kernel offers what it needs, else `instance`.
    #[default]
    Auto,
    /// One instance per worker, reset in place after each call.
    Reset,
    /// A fresh instance per call.
    Instance,
}

// The sandbox's own defaults (its `Limits::default()`); a unit test of
// `python::settings` holds the two equal.
impl Default for Python {
    fn default() -> Self {
        Python {
            runtime_mode: RuntimeMode::Worker,
            workers: 0,
            isolation: Isolation::Auto,
            timeout_ms: 1_000,
            fuel: 5_000_000_000,
            memory_mb: 256,
            max_output_kb: 4 << 10,
            preload: Vec::new(),
            snapshot: true,
            dependencies: Vec::new(),
        }
    }
}

impl Config {
    /// Read `site.toml` in `root`.
    pub fn load(root: &Path) -> Result<Config, Diagnostic> {
        let path = root.join(FILE);
        if crate::site_paths::is_link(&path) {
            return Err(Diagnostic::error(
                FILE,
                0,
                0,
                "is a symbolic link; links are not followed (make it a file)",
            ));
        }
        let text =
            crate::input::read_text(&path, crate::input::MAX_CONFIG_BYTES).map_err(
                |e| match e {
                    crate::input::ReadError::Io(_) => Diagnostic::error(
                        FILE,
                        0,
                        0,
                        format!(
                            "{}: {e} (is this a site? `host init` makes one)",
                            path.display()
                        ),
                    ),
                    other => other.to_diagnostic(FILE),
                },
            )?;
        Self::parse(&text)
    }

    /// Parse the text of a `site.toml`.
    pub fn parse(text: &str) -> Result<Config, Diagnostic> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|s| crate::diagnostics::line_col(text, s.start))
                .unwrap_or((0, 0));
            Diagnostic::error(FILE, line, column, e.message().to_owned())
        })?;
        config.validate(text)?;
        Ok(config)
    }

    /// Values that parse but cannot work, named with their line in `text`.
    fn validate(&self, text: &str) -> Result<(), Diagnostic> {
        self.check_permalinks(text)?;
        self.check_taxonomies(text)?;
        self.check_dependencies(text)?;
        self.check_capabilities(text)?;
        self.check_limits(text)
    }

    /// An error for `[capabilities]` settings that cannot work.
    fn check_capabilities(&self, text: &str) -> Result<(), Diagnostic> {
        match self.capabilities.problem() {
            Some(why) => {
                let key = why
                    .strip_prefix("[capabilities] ")
                    .and_then(|rest| rest.split([':', ' ']).next())
                    .unwrap_or("capabilities");
                Err(Diagnostic::error(FILE, line_of(text, key), 1, why))
            }
            None => Ok(()),
        }
    }

    /// An error for the first `[permalinks]` pattern that is not one.
    fn check_permalinks(&self, text: &str) -> Result<(), Diagnostic> {
        for (key, pattern) in [
            ("posts", &self.permalinks.posts),
            ("pages", &self.permalinks.pages),
        ] {
            if let Some(Err(why)) = pattern.as_deref().map(check_permalink) {
                return Err(Diagnostic::error(
                    FILE,
                    line_of(text, key),
                    1,
                    format!("[permalinks] {key}: {why}"),
                ));
            }
        }
        Ok(())
    }

    /// An error for the first taxonomy whose name cannot be one.
    fn check_taxonomies(&self, text: &str) -> Result<(), Diagnostic> {
        let mut seen = std::collections::HashSet::new();
        for name in &self.taxonomies {
            let valid = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
            let reserved = ["posts", "page", "atom.xml", "sitemap.xml", "404.html"];
            let problem = if !valid {
                Some("use lowercase letters, digits, `_` and `-`")
            } else if reserved.contains(&name.as_str()) {
                Some("that name is a path the site already uses")
            } else if !seen.insert(name) {
                Some("it is listed twice")
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(Diagnostic::error(
                    FILE,
                    line_of(text, "taxonomies"),
                    1,
                    format!("taxonomy `{name}`: {problem}"),
                ));
            }
        }
        Ok(())
    }

    /// An error for the first `[python] dependencies` entry that is not a
    /// requirement.
    fn check_dependencies(&self, text: &str) -> Result<(), Diagnostic> {
        for spec in &self.python.dependencies {
            if let Err(why) = crate::packages::requirement::check(spec) {
                // The entry's own line when it is found quoted as written.
                let quoted = [format!("\"{spec}\""), format!("'{spec}'")];
                let line = text
                    .lines()
                    .position(|l| quoted.iter().any(|q| l.contains(q.as_str())))
                    .map_or_else(|| line_of(text, "dependencies"), |i| i + 1);
                return Err(Diagnostic::error(
                    FILE,
                    line,
                    1,
                    format!("[python] dependencies: {spec:?} is not a requirement: {why}"),
                ));
            }
        }
        Ok(())
    }

    /// An error for the first number outside its range.
    fn check_limits(&self, text: &str) -> Result<(), Diagnostic> {
        let p = &self.python;
        let checks: [(&str, u64, u64, u64, &str); 6] = [
            ("paginate", self.paginate as u64, 1, 100_000, ""),
            ("timeout_ms", p.timeout_ms, 1, 600_000, " (10 minutes)"),
            ("fuel", p.fuel, 1, u64::MAX, ""),
            (
                "memory_mb",
                p.memory_mb as u64,
                1,
                MAX_MEMORY_MB,
                " (the sandbox's ceiling)",
            ),
            (
                "max_output_kb",
                p.max_output_kb as u64,
                1,
                1 << 20,
                " (1 GiB)",
            ),
            ("workers", p.workers as u64, 0, 256, ""),
        ];
        for (key, value, min, max, why) in checks {
            if value < min || value > max {
                let range = if max == u64::MAX {
                    format!("at least {min}")
                } else {
                    format!("from {min} to {max}{why}")
                };
                return Err(Diagnostic::error(
                    FILE,
                    limit_line(text, key),
                    1,
                    format!("`{key}` must be {range}, found {value}"),
                ));
            }
        }
        Ok(())
    }

    /// `base_url` with exactly one trailing slash.
    pub fn base_url(&self) -> String {
        format!("{}/", self.base_url.trim_end_matches('/'))
    }
}

/// The line of `text` on which `key` is set (0 if not found).
fn line_of(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            l.trim_start()
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map_or(0, |i| i + 1)
}

/// The line of `text` on which the limit `key` is set, also under its alias
/// (0 if not found).
fn limit_line(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.strip_prefix(key)
                .or_else(|| {
                    (key == "max_output_kb")
                        .then(|| l.strip_prefix("output_kb"))
                        .flatten()
                })
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map_or(0, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_python_limits() {
        let config = Config::parse(
            "title = \"T\"\nbase_url = \"https://x.org\"\n[python]\ntimeout_ms = 200\n",
        )
        .unwrap();
        assert_eq!(config.paginate, 10);
        assert_eq!(config.python.timeout_ms, 200);
        assert_eq!(config.base_url(), "https://x.org/");
    }

    #[test]
    fn limits_out_of_range_name_their_line() {
        let base = "title = \"T\"\nbase_url = \"u\"\n[python]\n";
        for (line, expected) in [
            ("timeout_ms = 0", "`timeout_ms` must be from 1 to 600000"),
            ("memory_mb = 4096", "`memory_mb` must be from 1 to 1024"),
            ("fuel = 0", "`fuel` must be at least 1"),
            ("output_kb = 0", "`max_output_kb` must be from 1"),
            ("workers = 1000", "`workers` must be from 0 to 256"),
        ] {
            let error = Config::parse(&format!("{base}{line}\n")).unwrap_err();
            assert_eq!(error.line, 4, "{error}");
            assert!(error.message.starts_with(expected), "{error}");
        }
        let error = Config::parse(
            "title = \"T\"\nbase_url = \"u\"\n[python]\nruntime_mode = \"threads\"\n",
        )
        .unwrap_err();
        assert_eq!(error.line, 4, "{error}");
        assert!(error.message.contains("worker"), "{error}");
    }

    #[test]
    fn unknown_keys_name_their_line() {
        let error = Config::parse("title = \"T\"\nbase_url = \"u\"\ntitel = 3\n").unwrap_err();
        assert_eq!(error.line, 3, "{error}");
    }
}
