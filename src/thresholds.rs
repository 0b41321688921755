//! Benchmark regression thresholds: `benches/thresholds.toml` holds, per
//! criterion benchmark, a baseline median and the largest ratio a new
//! median may reach; [`check`] compares criterion's latest results with it.
//!
//! Machines are noisy, so this is a command of its own (`bench-check`),
//! never part of the test suite.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// `benches/thresholds.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Per benchmark id (criterion's full id, e.g. `macro_call/fresh_instance/trivial/worker`).
    pub benchmarks: BTreeMap<String, Threshold>,
    /// For `benches/compare-hugo.sh`: per site size (posts), per measure
    /// (`cold`, `warm`, `touched` and the peak memory of each), the largest allowed ratio
    /// of this project's median to Hugo's in the same run.
    #[serde(default)]
    pub compare_hugo: BTreeMap<String, BTreeMap<String, f64>>,
}

/// The measures `benches/compare-hugo.sh` prints a ratio for.
pub const COMPARE_HUGO_MEASURES: [&str; 6] = [
    "cold",
    "warm",
    "touched",
    "peak_cold",
    "peak_warm",
    "peak_touched",
];

/// One benchmark's baseline and allowance.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// The median that was measured when the baseline was set, in ms.
    pub baseline_ms: f64,
    /// The largest allowed `new median / baseline`.
    pub max_ratio: f64,
}

/// What became of one threshold.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// Within its ratio.
    Pass,
    /// Over its ratio.
    Regressed,
    /// No result for it: the benchmark did not run.
    Missing,
}

/// One line of the report.
#[derive(Debug)]
pub struct Line {
    /// The benchmark id.
    pub id: String,
    /// Its baseline, ms.
    pub baseline_ms: f64,
    /// The latest median, ms, if there is one.
    pub measured_ms: Option<f64>,
    /// The allowance.
    pub max_ratio: f64,
    /// The outcome.
    pub verdict: Verdict,
}

/// The whole comparison.
#[derive(Debug)]
pub struct Report {
    /// One line per threshold, by id.
    pub lines: Vec<Line>,
}

impl Report {
    /// Whether every threshold passed.
    pub fn passed(&self) -> bool {
        self.lines.iter().all(|l| l.verdict == Verdict::Pass)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<48} {:>12} {:>12} {:>7} {:>7}  verdict",
            "benchmark", "baseline ms", "median ms", "ratio", "max"
        )?;
        for line in &self.lines {
            let (measured, ratio) = match line.measured_ms {
                Some(ms) => (format!("{ms:.3}"), format!("{:.2}", ms / line.baseline_ms)),
                None => ("-".into(), "-".into()),
            };
            let verdict = match line.verdict {
                Verdict::Pass => "ok",
                Verdict::Regressed => "REGRESSED",
                Verdict::Missing => "MISSING (did it run?)",
            };
            writeln!(
                f,
                "{:<48} {:>12.3} {:>12} {:>7} {:>7.2}  {verdict}",
                line.id, line.baseline_ms, measured, ratio, line.max_ratio
            )?;
        }
        Ok(())
    }
}

/// Errors reading thresholds or results.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The thresholds file does not parse.
    #[error("{file}: {message}")]
    Thresholds {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A criterion result file cannot be read.
    #[error("{file}: {message}")]
    Result {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
}

/// Parse the text of a thresholds file named `file`.
pub fn parse(file: &str, text: &str) -> Result<Thresholds, Error> {
    let thresholds: Thresholds = toml::from_str(text).map_err(|e| Error::Thresholds {
        file: file.to_owned(),
        message: e.to_string(),
    })?;
    for (id, t) in &thresholds.benchmarks {
        if !(t.baseline_ms > 0.0 && t.max_ratio >= 1.0) {
            return Err(Error::Thresholds {
                file: file.to_owned(),
                message: format!("`{id}`: baseline_ms must be > 0 and max_ratio >= 1"),
            });
        }
    }
    for (posts, measures) in &thresholds.compare_hugo {
        for (measure, ratio) in measures {
            if posts.parse::<u64>().is_err()
                || !COMPARE_HUGO_MEASURES.contains(&measure.as_str())
                || ratio.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater)
            {
                return Err(Error::Thresholds {
                    file: file.to_owned(),
                    message: format!(
                        "`compare_hugo.{posts}.{measure}`: a number of posts, one of {} and a \
                         ratio > 0",
                        COMPARE_HUGO_MEASURES.join(", ")
                    ),
                });
            }
        }
    }
    Ok(thresholds)
}

#[derive(Deserialize)]
struct BenchmarkJson {
    full_id: String,
}

#[derive(Deserialize)]
struct Estimates {
    median: Estimate,
}

#[derive(Deserialize)]
struct Estimate {
    point_estimate: f64,
}

/// The latest median (ms) of every benchmark under criterion's output
/// directory `dir` (`target/criterion`), by full id.
pub fn latest_medians(dir: &Path) -> Result<BTreeMap<String, f64>, Error> {
    let mut medians = BTreeMap::new();
    if !dir.is_dir() {
        return Ok(medians);
    }
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|e| Error::Result {
            file: path.display().to_string(),
            message: e.to_string(),
        })
    };
    for entry in walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
    {
        let entry = entry.into_path();
        if !entry.ends_with("new/benchmark.json") {
            continue;
        }
        let Some(new_dir) = entry.parent() else {
            continue;
        };
        let bench: BenchmarkJson =
            serde_json::from_str(&read(&entry)?).map_err(|e| Error::Result {
                file: entry.display().to_string(),
                message: e.to_string(),
            })?;
        let estimates_path = new_dir.join("estimates.json");
        let estimates: Estimates =
            serde_json::from_str(&read(&estimates_path)?).map_err(|e| Error::Result {
                file: estimates_path.display().to_string(),
                message: e.to_string(),
            })?;
        medians.insert(bench.full_id, estimates.median.point_estimate / 1e6);
    }
    Ok(medians)
}

/// Compare `medians` (ms, by id) with `thresholds`.
pub fn check(thresholds: &Thresholds, medians: &BTreeMap<String, f64>) -> Report {
    let lines = thresholds
        .benchmarks
        .iter()
        .map(|(id, t)| {
            let measured_ms = medians.get(id).copied();
            let verdict = match measured_ms {
                None => Verdict::Missing,
                Some(ms) if ms / t.baseline_ms > t.max_ratio => Verdict::Regressed,
                Some(_) => Verdict::Pass,
            };
            Line {
                id: id.clone(),
                baseline_ms: t.baseline_ms,
                measured_ms,
                max_ratio: t.max_ratio,
                verdict,
            }
        })
        .collect();
    Report { lines }
}
