//! Per-script counters (sandbox calls, failures by class) and the
//! isolation's own (resets, pages restored, instances replaced, checks).
//! Latency is measured by the caller, where it is seen (the host's
//! `--stats` times every macro, cache hits and built-ins included).

use crate::failure::FailureClass;
use crate::reset::Discard;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
struct ScriptCounter {
    calls: u64,
    failures: BTreeMap<FailureClass, u64>,
}

/// Counters of every script seen by one runtime.
#[derive(Default)]
pub struct Counters {
    scripts: Mutex<HashMap<String, ScriptCounter>>,
}

/// What the isolation did: instances made, resets, pages copied back,
/// instances discarded and why, full comparisons and their mismatches.
#[derive(Default)]
pub struct IsolationCounters {
    instances: AtomicU64,
    resets: AtomicU64,
    pages: AtomicU64,
    verified: AtomicU64,
    discarded: [AtomicU64; Discard::ALL.len()],
    preloaded: AtomicU64,
}

/// A point-in-time copy of [`IsolationCounters`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct IsolationStats {
    /// Instances created for reset in place (the first of each worker, its
    /// spare, and every replacement).
    pub instances_created: u64,
    /// Requests after which an instance was reset in place.
    pub resets: u64,
    /// Pages copied back from the image, in all.
    pub pages_restored: u64,
    /// Full comparisons of memory with the image.
    pub full_checks: u64,
    /// Full comparisons that found a difference (each discarded its instance).
    pub mismatches: u64,
    /// Instances discarded instead of reset, by reason.
    pub discarded: BTreeMap<&'static str, u64>,
    /// Requests sent with the key of a script the site snapshot holds
    /// compiled, instead of its source and code.
    pub preloaded_scripts: u64,
}

impl IsolationCounters {
    pub(crate) fn instance_created(&self) {
        self.instances.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn reset(&self, pages: usize) {
        self.resets.fetch_add(1, Ordering::Relaxed);
        self.pages.fetch_add(pages as u64, Ordering::Relaxed);
    }

    pub(crate) fn preloaded_script(&self) {
        self.preloaded.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn verified(&self) {
        self.verified.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn discarded(&self, reason: Discard) {
        let i = Discard::ALL
            .iter()
            .position(|r| *r == reason)
            .unwrap_or_default();
        self.discarded[i].fetch_add(1, Ordering::Relaxed);
    }

    /// A copy of the counts now.
    pub fn snapshot(&self) -> IsolationStats {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let discarded: BTreeMap<_, _> = Discard::ALL
            .iter()
            .zip(&self.discarded)
            .map(|(reason, n)| (reason.name(), load(n)))
            .filter(|(_, n)| *n > 0)
            .collect();
        IsolationStats {
            instances_created: load(&self.instances),
            resets: load(&self.resets),
            pages_restored: load(&self.pages),
            full_checks: load(&self.verified),
            mismatches: discarded.get("image_mismatch").copied().unwrap_or(0),
            discarded,
            preloaded_scripts: load(&self.preloaded),
        }
    }
}

/// A point-in-time copy of one script's counters.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ScriptStats {
    /// Calls that reached the sandbox.
    pub calls: u64,
    /// Failed calls, by class.
    pub failures: BTreeMap<FailureClass, u64>,
}

impl Counters {
    fn with(&self, script: &str, f: impl FnOnce(&mut ScriptCounter)) {
        let mut scripts = self.scripts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(counter) = scripts.get_mut(script) {
            f(counter);
        } else {
            f(scripts.entry(script.to_owned()).or_default());
        }
    }

    /// Count one sandbox call of `script`.
    pub fn record_call(&self, script: &str, failure: Option<FailureClass>) {
        self.with(script, |c| {
            c.calls += 1;
            if let Some(class) = failure {
                *c.failures.entry(class).or_default() += 1;
            }
        });
    }

    /// Every script's counters, by slug.
    pub fn snapshot(&self) -> BTreeMap<String, ScriptStats> {
        let scripts = self.scripts.lock().unwrap_or_else(|e| e.into_inner());
        scripts
            .iter()
            .map(|(name, c)| {
                let stats = ScriptStats {
                    calls: c.calls,
                    failures: c.failures.clone(),
                };
                (name.clone(), stats)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_and_failures_are_counted_per_script() {
        let counters = Counters::default();
        for _ in 0..100 {
            counters.record_call("badge", None);
        }
        counters.record_call("badge", Some(FailureClass::Timeout));
        counters.record_call("other", None);
        let stats = &counters.snapshot()["badge"];
        assert_eq!(stats.calls, 101);
        assert_eq!(stats.failures[&FailureClass::Timeout], 1);
        assert_eq!(counters.snapshot()["other"].calls, 1);
    }
}
