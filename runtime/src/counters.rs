//! Per-script counters: calls, cache hits, failures by class, latency.

use crate::failure::FailureClass;
use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
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
