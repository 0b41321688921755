//! Per-script counters (calls, cache hits, failures by class, latency) and
//! the isolation's own (resets, pages restored, instances replaced, checks).

use crate::failure::FailureClass;
use crate::reset::Discard;
use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[derive(Default)]
struct ScriptCounter {
    calls: u64,
    cache_hits: u64,
    failures: BTreeMap<FailureClass, u64>,
    latency_us: Option<Histogram<u64>>,
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
}

impl IsolationCounters {
    pub(crate) fn instance_created(&self) {
        self.instances.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn reset(&self, pages: usize) {
        self.resets.fetch_add(1, Ordering::Relaxed);
        self.pages.fetch_add(pages as u64, Ordering::Relaxed);
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
        }
    }
}

/// A point-in-time copy of one script's counters.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ScriptStats {
    /// Calls that reached the sandbox.
    pub calls: u64,
    /// Calls answered from a result cache instead.
    pub cache_hits: u64,
    /// Failed calls, by class.
    pub failures: BTreeMap<FailureClass, u64>,
    /// Median call latency, in microseconds.
    pub p50_us: u64,
    /// 95th percentile call latency, in microseconds.
    pub p95_us: u64,
    /// Slowest call, in microseconds.
    pub max_us: u64,
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
    pub fn record_call(&self, script: &str, latency: Duration, failure: Option<FailureClass>) {
        self.with(script, |c| {
            c.calls += 1;
            if let Some(class) = failure {
                *c.failures.entry(class).or_default() += 1;
            }
            let histogram = c.latency_us.get_or_insert_with(|| {
                Histogram::new_with_bounds(1, 3_600_000_000, 2).expect("valid histogram bounds")
            });
            let us = u64::try_from(latency.as_micros())
                .unwrap_or(u64::MAX)
                .max(1);
            histogram.saturating_record(us);
        });
    }

    /// Count one call of `script` answered from a cache.
    pub fn record_cache_hit(&self, script: &str) {
        self.with(script, |c| c.cache_hits += 1);
    }

    /// Every script's counters, by slug.
    pub fn snapshot(&self) -> BTreeMap<String, ScriptStats> {
        let scripts = self.scripts.lock().unwrap_or_else(|e| e.into_inner());
        scripts
            .iter()
            .map(|(name, c)| {
                let (p50_us, p95_us, max_us) = c
                    .latency_us
                    .as_ref()
                    .map(|h| (h.value_at_quantile(0.5), h.value_at_quantile(0.95), h.max()))
                    .unwrap_or_default();
                let stats = ScriptStats {
                    calls: c.calls,
                    cache_hits: c.cache_hits,
                    failures: c.failures.clone(),
                    p50_us,
                    p95_us,
                    max_us,
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
    fn percentiles_and_failures_are_counted_per_script() {
        let counters = Counters::default();
        for ms in 1..=100 {
            counters.record_call("badge", Duration::from_millis(ms), None);
        }
        counters.record_call(
            "badge",
            Duration::from_millis(5),
            Some(FailureClass::Timeout),
        );
        counters.record_cache_hit("badge");
        counters.record_call("other", Duration::from_micros(10), None);
        let stats = &counters.snapshot()["badge"];
        assert_eq!(stats.calls, 101);
        assert_eq!(stats.cache_hits, 1);
        assert_eq!(stats.failures[&FailureClass::Timeout], 1);
        assert!((49_000..=51_000).contains(&stats.p50_us), "{stats:?}");
        assert!((94_000..=96_000).contains(&stats.p95_us), "{stats:?}");
        assert!((99_000..=101_000).contains(&stats.max_us), "{stats:?}");
        assert_eq!(counters.snapshot()["other"].calls, 1);
    }
}
