//! The sandbox's isolation and counters, as `--stats` shows them.

use blogmark_runtime::{IsolationStats, ResolvedIsolation};

/// The sandbox's isolation and its counters, for `--stats`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SandboxReport {
    /// What was asked for, what runs, and why.
    pub isolation: ResolvedIsolation,
    /// Resets, pages restored, instances replaced, full checks.
    pub counters: IsolationStats,
}

impl std::fmt::Display for SandboxReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.counters;
        write!(f, "sandbox isolation: {}", self.isolation)?;
        if c.resets > 0 || c.instances_created > 0 {
            let per_reset = if c.resets > 0 {
                c.pages_restored as f64 / c.resets as f64
            } else {
                0.0
            };
            write!(
                f,
                "; {} resets ({per_reset:.0} pages each), {} instances made, {} full checks, {} mismatches",
                c.resets, c.instances_created, c.full_checks, c.mismatches
            )?;
            if !c.discarded.is_empty() {
                let reasons: Vec<String> = c
                    .discarded
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect();
                write!(f, "; replaced: {}", reasons.join(", "))?;
            }
        }
        Ok(())
    }
}
