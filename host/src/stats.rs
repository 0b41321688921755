//! Per-macro statistics of one build: calls, cache hits, sandbox runs,
//! failures by class and latency percentiles, for `host render --stats`,
//! `--stats-json` and the `render_run_macros` table behind `host stats`.
//!
//! Latency is what the page waited for: every call of a built-in, every
//! sandbox run of a Python macro or transform (queue wait included). Calls
//! answered from a cache are counted, not timed, so that a warm build does
//! not hide a slow script behind its hits.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// What was called: a built-in macro, a Python macro or a transform.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallKind {
    /// A macro built into the host.
    Builtin,
    /// A Python macro.
    Python,
    /// A Python transform.
    Transform,
    /// A Python render hook.
    Hook,
    /// A Python generator.
    Generator,
}

impl CallKind {
    /// The name used in tables, JSON and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            CallKind::Builtin => "builtin",
            CallKind::Python => "python",
            CallKind::Transform => "transform",
            CallKind::Hook => "hook",
            CallKind::Generator => "generator",
        }
    }

    /// The kind named `text` (as [`CallKind::as_str`] writes it).
    pub fn parse(text: &str) -> Option<Self> {
        [
            CallKind::Builtin,
            CallKind::Python,
            CallKind::Transform,
            CallKind::Hook,
            CallKind::Generator,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

/// Failed calls by class. A built-in's failure (bad arguments) is an
/// `error`; `other` holds output over its cap, an unavailable sandbox and
/// cancelled calls.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failures {
    /// Ran past the time limit.
    pub timeout: u64,
    /// Ran out of fuel.
    pub fuel: u64,
    /// Went past the memory limit.
    pub memory: u64,
    /// Raised (Python) or refused its arguments (built-in).
    pub error: u64,
    /// Answered something ABI v1 does not allow.
    pub abi: u64,
    /// Everything else.
    pub other: u64,
}

impl Failures {
    /// Every failure.
    pub fn total(&self) -> u64 {
        self.timeout + self.fuel + self.memory + self.error + self.abi + self.other
    }

    fn count(&mut self, failed: Failed) {
        let slot = match failed {
            Failed::Timeout => &mut self.timeout,
            Failed::Fuel => &mut self.fuel,
            Failed::Memory => &mut self.memory,
            Failed::Error => &mut self.error,
            Failed::Abi => &mut self.abi,
            Failed::Other => &mut self.other,
        };
        *slot += 1;
    }
}

/// How one call failed, as [`Failures`] counts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failed {
    /// Ran past the time limit.
    Timeout,
    /// Ran out of fuel.
    Fuel,
    /// Went past the memory limit.
    Memory,
    /// Raised (Python) or refused its arguments (built-in).
    Error,
    /// Answered something ABI v1 does not allow.
    Abi,
    /// Anything else.
    Other,
}

/// The numbers of one macro (built-in or Python) or transform for one build.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallStats {
    /// The macro's name (a transform's script name).
    pub name: String,
    /// Built-in, Python macro or transform.
    pub kind: CallKind,
    /// Calls in pages (a transform: posts it ran on).
    pub calls: u64,
    /// Calls answered by the persistent cache or an identical call earlier
    /// in the same build.
    pub cache_hits: u64,
    /// Calls that ran in a fresh sandbox instance.
    pub sandbox_runs: u64,
    /// Calls that failed, by class.
    pub failures: Failures,
    /// Median latency, microseconds.
    pub p50_us: u64,
    /// 95th percentile latency, microseconds.
    pub p95_us: u64,
    /// Slowest, microseconds.
    pub max_us: u64,
}

/// How one call ended.
#[derive(Clone, Copy, Debug)]
pub enum Event {
    /// Answered from a cache.
    CacheHit,
    /// Ran (a built-in, or a sandbox run) for `elapsed`.
    Ran {
        /// How long the page waited.
        elapsed: Duration,
        /// Whether it ran in the sandbox.
        sandbox: bool,
    },
}

#[derive(Default)]
struct Tally {
    calls: u64,
    cache_hits: u64,
    sandbox_runs: u64,
    failures: Failures,
    latencies_us: Vec<u64>,
}

/// Collects the numbers of one build from every render thread.
#[derive(Default)]
pub struct Recorder {
    /// By kind, then name: a name is looked up without a copy of it.
    tallies: Mutex<BTreeMap<CallKind, BTreeMap<String, Tally>>>,
}

impl Recorder {
    /// Count one call of `name`: how it ran and, if it failed, why.
    pub fn record(&self, kind: CallKind, name: &str, event: Event, failure: Option<Failed>) {
        let mut tallies = self.tallies.lock().unwrap_or_else(|e| e.into_inner());
        Self::count(tallies.entry(kind).or_default(), name, event, failure);
    }

    /// Count each of `calls` as answered from a cache, under one lock (a
    /// reused page's calls: the render threads take the lock once a page).
    pub fn record_hits(&self, calls: &[(CallKind, String)]) {
        let mut tallies = self.tallies.lock().unwrap_or_else(|e| e.into_inner());
        for (kind, name) in calls {
            Self::count(
                tallies.entry(*kind).or_default(),
                name,
                Event::CacheHit,
                None,
            );
        }
    }

    fn count(
        by_name: &mut BTreeMap<String, Tally>,
        name: &str,
        event: Event,
        failure: Option<Failed>,
    ) {
        let tally = match by_name.get_mut(name) {
            Some(tally) => tally,
            None => by_name.entry(name.to_owned()).or_default(),
        };
        tally.calls += 1;
        match event {
            Event::CacheHit => tally.cache_hits += 1,
            Event::Ran { elapsed, sandbox } => {
                tally.sandbox_runs += u64::from(sandbox);
                tally
                    .latencies_us
                    .push(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX));
            }
        }
        if let Some(class) = failure {
            tally.failures.count(class);
        }
    }

    /// Sandbox runs and cache hits so far, over every Python row.
    pub fn python_totals(&self) -> (u64, u64) {
        let tallies = self.tallies.lock().unwrap_or_else(|e| e.into_inner());
        tallies
            .iter()
            .filter(|(kind, _)| **kind != CallKind::Builtin)
            .flat_map(|(_, by_name)| by_name.values())
            .fold((0, 0), |(runs, hits), t| {
                (runs + t.sandbox_runs, hits + t.cache_hits)
            })
    }

    /// The rows, ordered by kind, then name.
    pub fn snapshot(&self) -> Vec<CallStats> {
        let tallies = self.tallies.lock().unwrap_or_else(|e| e.into_inner());
        tallies
            .iter()
            .flat_map(|(kind, by_name)| by_name.iter().map(move |(name, t)| (kind, name, t)))
            .map(|(kind, name, tally)| {
                let mut sorted = tally.latencies_us.clone();
                sorted.sort_unstable();
                CallStats {
                    name: name.clone(),
                    kind: *kind,
                    calls: tally.calls,
                    cache_hits: tally.cache_hits,
                    sandbox_runs: tally.sandbox_runs,
                    failures: tally.failures.clone(),
                    p50_us: percentile(&sorted, 50),
                    p95_us: percentile(&sorted, 95),
                    max_us: sorted.last().copied().unwrap_or(0),
                }
            })
            .collect()
    }
}

/// The nearest-rank percentile of `sorted` (0 when empty).
pub fn percentile(sorted: &[u64], pct: u64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (pct * sorted.len() as u64).div_ceil(100).max(1);
    sorted[usize::try_from(rank - 1).unwrap_or(0).min(sorted.len() - 1)]
}

/// `rows` as an aligned text table, one line per row under a header.
pub fn table(rows: &[CallStats]) -> String {
    let header = [
        "name", "kind", "calls", "hits", "runs", "timeout", "fuel", "memory", "error", "abi",
        "other", "p50 ms", "p95 ms", "max ms",
    ];
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let f = &r.failures;
            // Cache hits are not timed: a row of hits only has no latency.
            let ms = |us: u64| {
                if r.calls > r.cache_hits {
                    format!("{:.3}", us as f64 / 1000.0)
                } else {
                    "-".to_owned()
                }
            };
            vec![
                r.name.clone(),
                r.kind.as_str().to_owned(),
                r.calls.to_string(),
                r.cache_hits.to_string(),
                r.sandbox_runs.to_string(),
                f.timeout.to_string(),
                f.fuel.to_string(),
                f.memory.to_string(),
                f.error.to_string(),
                f.abi.to_string(),
                f.other.to_string(),
                ms(r.p50_us),
                ms(r.p95_us),
                ms(r.max_us),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            cells
                .iter()
                .map(|row| row[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let mut line = |row: Vec<&str>| {
        let padded: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, width))| {
                // Names left, numbers right.
                if i < 2 {
                    format!("{cell:<width$}")
                } else {
                    format!("{cell:>width$}")
                }
            })
            .collect();
        out.push_str(padded.join("  ").trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in &cells {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&values, 50), 50);
        assert_eq!(percentile(&values, 95), 95);
        assert_eq!(percentile(&[7], 95), 7);
        assert_eq!(percentile(&[], 50), 0);
        assert_eq!(percentile(&[1, 2], 50), 1);
    }

    #[test]
    fn records_become_rows() {
        let recorder = Recorder::default();
        let ran = |ms| Event::Ran {
            elapsed: Duration::from_millis(ms),
            sandbox: true,
        };
        recorder.record(CallKind::Python, "badge", ran(2), None);
        recorder.record(CallKind::Python, "badge", Event::CacheHit, None);
        recorder.record(CallKind::Python, "badge", ran(8), Some(Failed::Timeout));
        recorder.record(CallKind::Builtin, "note", ran(0), Some(Failed::Error));
        let rows = recorder.snapshot();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].name.as_str(), rows[0].failures.error), ("note", 1));
        let badge = &rows[1];
        assert_eq!(
            (badge.calls, badge.cache_hits, badge.sandbox_runs),
            (3, 1, 2)
        );
        assert_eq!((badge.failures.timeout, badge.failures.total()), (1, 1));
        assert_eq!((badge.p50_us, badge.max_us), (2000, 8000));
        assert_eq!(recorder.python_totals(), (2, 1));
        let table = table(&rows);
        let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
        assert_eq!(header[..3], ["name", "kind", "calls"]);
        assert_eq!(table.lines().count(), 3);
    }

    #[test]
    fn a_reused_pages_calls_count_as_hits_in_order_of_kind_then_name() {
        let recorder = Recorder::default();
        recorder.record_hits(&[
            (CallKind::Hook, "links".into()),
            (CallKind::Python, "zeta".into()),
            (CallKind::Python, "alpha".into()),
            (CallKind::Python, "zeta".into()),
        ]);
        let rows: Vec<_> = recorder
            .snapshot()
            .into_iter()
            .map(|r| (r.kind, r.name, r.calls, r.cache_hits, r.sandbox_runs))
            .collect();
        assert_eq!(
            rows,
            [
                (CallKind::Python, "alpha".into(), 1, 1, 0),
                (CallKind::Python, "zeta".into(), 2, 2, 0),
                (CallKind::Hook, "links".into(), 1, 1, 0),
            ]
        );
        assert_eq!(recorder.python_totals(), (0, 4));
    }
}
