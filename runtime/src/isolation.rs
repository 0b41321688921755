//! How each request gets a state identical to a fresh instance: a fresh
//! instance per request, or one instance per worker reset in place.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Environment variable that overrides the configured isolation
/// (`auto`, `reset` or `instance`), for CI runs in each mode.
pub const ISOLATION_ENV: &str = "BLOGMARK_ISOLATION";

/// The isolation asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Isolation {
    /// `reset` where the kernel offers what it needs, else `instance`.
    #[default]
    Auto,
    /// One instance per worker; after each request the pages it wrote are
    /// copied back from the instance's image (Linux 6.7+, userfaultfd).
    Reset,
    /// A fresh instance per request (pooling allocator, copy-on-write).
    Instance,
}

impl Isolation {
    /// `$BLOGMARK_ISOLATION`, when it is set to a valid name. An invalid
    /// value is logged and ignored.
    pub fn from_env() -> Option<Isolation> {
        let value = std::env::var(ISOLATION_ENV).ok()?;
        if value.trim().is_empty() {
            return None;
        }
        match value.parse() {
            Ok(isolation) => Some(isolation),
            Err(e) => {
                tracing::warn!("${ISOLATION_ENV} ignored: {e}");
                None
            }
        }
    }
}

impl FromStr for Isolation {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "auto" => Ok(Isolation::Auto),
            "reset" => Ok(Isolation::Reset),
            "instance" => Ok(Isolation::Instance),
            other => Err(format!(
                "unknown isolation {other:?} (expected auto, reset or instance)"
            )),
        }
    }
}

impl fmt::Display for Isolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Isolation::Auto => "auto",
            Isolation::Reset => "reset",
            Isolation::Instance => "instance",
        })
    }
}

/// The mechanism in use, once `auto` is decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IsolationMode {
    /// One instance per worker, reset in place.
    Reset,
    /// A fresh instance per request.
    Instance,
}

impl fmt::Display for IsolationMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IsolationMode::Reset => "reset",
            IsolationMode::Instance => "instance",
        })
    }
}

/// The decision and why it was taken, for logs, `--version` and `--stats`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ResolvedIsolation {
    /// What was asked for.
    pub requested: Isolation,
    /// What runs.
    pub mode: IsolationMode,
    /// Why: the kernel's answer for `auto`, or "configured".
    pub reason: String,
}

impl fmt::Display for ResolvedIsolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}: {})", self.mode, self.requested, self.reason)
    }
}

impl Isolation {
    /// Decide, probing the kernel for `auto` and `reset`. `reset` on a
    /// kernel that cannot do it is an error with the kernel's reason.
    pub fn resolve(self) -> Result<ResolvedIsolation, String> {
        let resolved = |mode, reason: String| ResolvedIsolation {
            requested: self,
            mode,
            reason,
        };
        match self {
            Isolation::Instance => Ok(resolved(IsolationMode::Instance, "configured".into())),
            Isolation::Reset => match crate::reset::probe() {
                Ok(()) => Ok(resolved(IsolationMode::Reset, "configured".into())),
                Err(why) => Err(format!(
                    "isolation \"reset\" needs userfaultfd asynchronous write-protect and \
                     PAGEMAP_SCAN (Linux 6.7+), which this process cannot use: {why}; \
                     use isolation = \"auto\" or \"instance\""
                )),
            },
            Isolation::Auto => Ok(match crate::reset::probe() {
                Ok(()) => resolved(
                    IsolationMode::Reset,
                    "userfaultfd write-protect available".into(),
                ),
                Err(why) => resolved(IsolationMode::Instance, format!("fallback: {why}")),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_print_back() {
        for name in ["auto", "reset", "instance"] {
            assert_eq!(name.parse::<Isolation>().unwrap().to_string(), name);
        }
        let err = "fork".parse::<Isolation>().unwrap_err();
        assert!(err.contains("auto, reset or instance"), "{err}");
    }

    #[test]
    fn instance_needs_no_probe_and_auto_always_decides() {
        let instance = Isolation::Instance.resolve().unwrap();
        assert_eq!(instance.mode, IsolationMode::Instance);
        let auto = Isolation::Auto.resolve().unwrap();
        assert_eq!(
            auto.mode == IsolationMode::Reset,
            crate::reset::probe().is_ok()
        );
    }
}
