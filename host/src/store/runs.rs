//! Render runs and what their macros did: written after every `host
//! render`, read by `host stats`. Only the newest [`KEPT_RUNS`] are kept.

use super::{Store, StoreError};
use crate::stats::{CallKind, CallStats, Failures};
use rusqlite::params;

/// How many runs the database keeps.
pub const KEPT_RUNS: i64 = 200;

/// The totals of one render run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunRecord {
    /// Posts and pages rendered.
    pub pages: u64,
    /// Warnings reported.
    pub warnings: u64,
    /// Errors reported.
    pub errors: u64,
    /// Wall time.
    pub duration_ms: u64,
    /// Macro calls in pages.
    pub macro_calls: u64,
    /// Python calls (macros and transforms) that ran in the sandbox.
    pub sandbox_runs: u64,
    /// Python calls answered from a cache.
    pub cache_hits: u64,
}

/// A stored run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRun {
    /// Its id (increasing).
    pub id: i64,
    /// When it finished, UTC, `YYYY-MM-DD HH:MM:SS`.
    pub finished_at: String,
    /// Its totals.
    pub record: RunRecord,
    /// Its rows, by kind then name.
    pub macros: Vec<CallStats>,
}

fn int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn uint(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

impl Store {
    /// Store one render run and its per-macro rows; returns the run's id.
    pub fn record_run(&mut self, run: &RunRecord, macros: &[CallStats]) -> Result<i64, StoreError> {
        let path = self.path.clone();
        let err = super::sqlite_error(&path);
        let tx = self.conn.transaction().map_err(err)?;
        tx.execute(
            "INSERT INTO render_runs (finished_at, pages, warnings, errors, duration_ms, macro_calls, sandbox_runs, cache_hits)
             VALUES (datetime('now'), ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                int(run.pages),
                int(run.warnings),
                int(run.errors),
                int(run.duration_ms),
                int(run.macro_calls),
                int(run.sandbox_runs),
                int(run.cache_hits)
            ],
        )
        .map_err(err)?;
        let id = tx.last_insert_rowid();
        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO render_run_macros (run_id, kind, name, calls, cache_hits, sandbox_runs,
                        fail_timeout, fail_fuel, fail_memory, fail_error, fail_abi, fail_other, p50_us, p95_us, max_us)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                )
                .map_err(err)?;
            for m in macros {
                let f = &m.failures;
                insert
                    .execute(params![
                        id,
                        m.kind.as_str(),
                        m.name,
                        int(m.calls),
                        int(m.cache_hits),
                        int(m.sandbox_runs),
                        int(f.timeout),
                        int(f.fuel),
                        int(f.memory),
                        int(f.error),
                        int(f.abi),
                        int(f.other),
                        int(m.p50_us),
                        int(m.p95_us),
                        int(m.max_us)
                    ])
                    .map_err(err)?;
            }
        }
        tx.execute(
            "DELETE FROM render_runs WHERE id <= ?1 - ?2",
            params![id, KEPT_RUNS],
        )
        .map_err(err)?;
        tx.execute(
            "DELETE FROM render_run_macros WHERE run_id NOT IN (SELECT id FROM render_runs)",
            [],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(id)
    }

    /// The newest `last` runs, oldest first, with their rows.
    pub fn recent_runs(&self, last: usize) -> Result<Vec<StoredRun>, StoreError> {
        let err = |e| self.err(e);
        let mut runs: Vec<StoredRun> = self
            .conn
            .prepare(
                "SELECT id, finished_at, pages, warnings, errors, duration_ms, macro_calls, sandbox_runs, cache_hits
                 FROM render_runs ORDER BY id DESC LIMIT ?1",
            )
            .and_then(|mut stmt| {
                stmt.query_map([i64::try_from(last).unwrap_or(i64::MAX)], |r| {
                    Ok(StoredRun {
                        id: r.get(0)?,
                        finished_at: r.get(1)?,
                        record: RunRecord {
                            pages: uint(r.get(2)?),
                            warnings: uint(r.get(3)?),
                            errors: uint(r.get(4)?),
                            duration_ms: uint(r.get(5)?),
                            macro_calls: uint(r.get(6)?),
                            sandbox_runs: uint(r.get(7)?),
                            cache_hits: uint(r.get(8)?),
                        },
                        macros: Vec::new(),
                    })
                })?
                .collect()
            })
            .map_err(err)?;
        runs.reverse();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT kind, name, calls, cache_hits, sandbox_runs, fail_timeout, fail_fuel, fail_memory,
                        fail_error, fail_abi, fail_other, p50_us, p95_us, max_us
                 FROM render_run_macros WHERE run_id = ?1 ORDER BY kind, name",
            )
            .map_err(err)?;
        for run in &mut runs {
            run.macros = stmt
                .query_map([run.id], |r| {
                    let kind: String = r.get(0)?;
                    Ok(CallStats {
                        kind: CallKind::parse(&kind).unwrap_or(CallKind::Builtin),
                        name: r.get(1)?,
                        calls: uint(r.get(2)?),
                        cache_hits: uint(r.get(3)?),
                        sandbox_runs: uint(r.get(4)?),
                        failures: Failures {
                            timeout: uint(r.get(5)?),
                            fuel: uint(r.get(6)?),
                            memory: uint(r.get(7)?),
                            error: uint(r.get(8)?),
                            abi: uint(r.get(9)?),
                            other: uint(r.get(10)?),
                        },
                        p50_us: uint(r.get(11)?),
                        p95_us: uint(r.get(12)?),
                        max_us: uint(r.get(13)?),
                    })
                })
                .and_then(|rows| rows.collect())
                .map_err(err)?;
        }
        Ok(runs)
    }
}
