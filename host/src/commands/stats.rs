//! `host stats`: recent render runs and the trend of each macro's latency.

use blogmark_host::stats::CallKind;
use blogmark_host::store::{DB_PATH, Store, StoredRun};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

pub fn run(site: &Path, last: usize) -> anyhow::Result<ExitCode> {
    let runs = if site.join(DB_PATH).exists() {
        Store::open(site)?.recent_runs(last)?
    } else {
        Vec::new()
    };
    if runs.is_empty() {
        eprintln!("No render runs recorded yet: `host render` records one each time.");
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", report(&runs));
    Ok(ExitCode::SUCCESS)
}

/// A run's p50 and p95 of one macro, in microseconds.
type Percentiles = (u64, u64);

/// The runs table, then p50/p95 per macro across the runs.
fn report(runs: &[StoredRun]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Last {} render run{} (oldest first):",
        runs.len(),
        if runs.len() == 1 { "" } else { "s" }
    );
    let _ = writeln!(
        out,
        "{:>6}  {:<19}  {:>6}  {:>8}  {:>6}  {:>9}  {:>7}  {:>7}  {:>7}",
        "run", "finished (UTC)", "pages", "warnings", "errors", "time", "calls", "runs", "hits"
    );
    for run in runs {
        let r = &run.record;
        let _ = writeln!(
            out,
            "{:>6}  {:<19}  {:>6}  {:>8}  {:>6}  {:>7.3} s  {:>7}  {:>7}  {:>7}",
            run.id,
            run.finished_at,
            r.pages,
            r.warnings,
            r.errors,
            r.duration_ms as f64 / 1000.0,
            r.macro_calls,
            r.sandbox_runs,
            r.cache_hits
        );
    }
    // Each macro's p50 and p95 in every run, `-` where it did not run.
    let mut trend: BTreeMap<(CallKind, &str), Vec<Option<Percentiles>>> = BTreeMap::new();
    for (i, run) in runs.iter().enumerate() {
        for m in &run.macros {
            let timed = m.calls > m.cache_hits;
            let row = trend
                .entry((m.kind, m.name.as_str()))
                .or_insert_with(|| vec![None; runs.len()]);
            row[i] = timed.then_some((m.p50_us, m.p95_us));
        }
    }
    let _ = writeln!(
        out,
        "\nLatency per macro, run by run (ms; - where every call was a cache hit):"
    );
    let label_width = trend
        .keys()
        .map(|(kind, name)| name.len() + kind.as_str().len() + 3)
        .max()
        .unwrap_or(0);
    for ((kind, name), row) in &trend {
        let label = format!("{name} ({})", kind.as_str());
        for (which, pick) in [("p50", 0), ("p95", 1)] {
            let cells: Vec<String> = row
                .iter()
                .map(|v| match v {
                    Some(pair) => {
                        let us = if pick == 0 { pair.0 } else { pair.1 };
                        format!("{:>8.3}", us as f64 / 1000.0)
                    }
                    None => format!("{:>8}", "-"),
                })
                .collect();
            let shown = if pick == 0 { label.as_str() } else { "" };
            let _ = writeln!(out, "{shown:<label_width$}  {which} {}", cells.join(" "));
        }
    }
    out
}
