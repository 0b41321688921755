//! The sandbox's isolation and counters, as `--stats` shows them.

use blogmark_runtime::{IsolationStats, ResolvedIsolation};

/// The sandbox's isolation and its counters, for `--stats`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SandboxReport {
    /// What was asked for, what runs, and why.
    pub isolation: ResolvedIsolation,
    /// Resets, pages restored, instances replaced, full checks.
    pub counters: IsolationStats,
    /// What starting the sandbox cost, once: never in a call's latency.
    pub preparation: Preparation,
}

/// The one-time work before the first call of a command.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Preparation {
    /// Time from the first call's request to a sandbox ready to run it.
    pub elapsed_ms: u64,
    /// Whether the guest was compiled (else its code came from the cache).
    pub compiled: bool,
    /// Whether the code is the quick baseline compile's (a first run on
    /// this machine; the optimized code is compiled in the background).
    pub baseline: bool,
    /// Of which the site snapshot's image (imports, or a read from the
    /// disk), with reset in place.
    pub site_snapshot_ms: Option<u64>,
}

impl std::fmt::Display for SandboxReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.counters;
        let p = &self.preparation;
        write!(
            f,
            "sandbox preparation: {} ms, once, not in the latencies above (code {}",
            p.elapsed_ms,
            match (p.compiled, p.baseline) {
                (true, true) => "compiled now, quick baseline; optimized in the background",
                (true, false) => "compiled now",
                (false, true) => "cached, quick baseline; optimized in the background",
                (false, false) => "cached",
            }
        )?;
        if let Some(ms) = p.site_snapshot_ms {
            write!(f, "; site snapshot image {ms} ms")?;
        }
        writeln!(f, ")")?;
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
        if c.preloaded_scripts > 0 {
            write!(
                f,
                "; {} requests named their script in the site snapshot",
                c.preloaded_scripts
            )?;
        }
        Ok(())
    }
}
