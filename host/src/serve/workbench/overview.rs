//! The workbench's list: every script with its kind, whether it is
//! enabled, its status, and its numbers from recent renders.

use crate::macros::builtins::Registry;
use crate::python::Session;
use crate::scripts::{Script, ScriptKind, Status};
use crate::stats::CallKind;
use crate::store::{Store, StoredRun};
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

/// How many recent renders the numbers come from.
const RECENT_RENDERS: usize = 10;

/// One script in the list.
#[derive(Debug, Serialize)]
pub struct Entry {
    /// Its file name without `.py`.
    pub slug: String,
    /// `scripts/SLUG.py`.
    pub path: String,
    /// What calls it.
    pub name: String,
    /// `macro` or `transform`.
    pub kind: &'static str,
    /// Whether renders use it.
    pub enabled: bool,
    /// The version on disk (the SHA-256 of its bytes).
    pub version: String,
    /// `ok`, `invalid`, `syntax error`, `no entrypoint`, `shadowed` or
    /// `failing` (in the last render).
    pub status: &'static str,
    /// What the status means for this script.
    pub detail: String,
    /// Its numbers from recent renders.
    pub numbers: Numbers,
}

/// A script's numbers from the recent renders.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Numbers {
    /// Renders (of the recent ones) that called it.
    pub renders: u64,
    /// Calls across them (cache hits included).
    pub calls: u64,
    /// Failed calls across them.
    pub failures: u64,
    /// Failed calls in the last render.
    pub failures_last: u64,
    /// Median sandbox run time in the last render that ran it, µs.
    pub p50_us: Option<u64>,
    /// 95th percentile of the same, µs.
    pub p95_us: Option<u64>,
}

/// Checks of script versions already made, by content hash: a list does
/// not run the sandbox again for a file that did not change.
#[derive(Default)]
pub struct Checks(Mutex<HashMap<String, Status>>);

impl Checks {
    /// `script`'s status after a check in the sandbox.
    fn status(&self, session: &Session, script: &Script, registry: &Registry) -> Status {
        if let Some(known) = self.lock().get(&script.content_hash) {
            return known.clone();
        }
        let found = Status::checked(script, registry, &session.check(script));
        self.lock()
            .insert(script.content_hash.clone(), found.clone());
        found
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Status>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Every script of the site at `root`, by path.
pub fn list(root: &Path, session: &Session, checks: &Checks) -> Vec<Entry> {
    let (scripts, _) = crate::scripts::load(root);
    let runs = Store::open(root)
        .and_then(|store| store.recent_runs(RECENT_RENDERS))
        .unwrap_or_default();
    let registry = Registry::default();
    scripts
        .iter()
        .map(|script| {
            let numbers = numbers(&runs, script);
            let status = match Status::of(script, &registry) {
                Status::Invalid => Status::Invalid,
                _ => checks.status(session, script, &registry),
            }
            .with_failures(numbers.failures_last);
            Entry {
                slug: script.slug.clone(),
                path: script.path.clone(),
                name: script.name.clone(),
                kind: script.kind.name(),
                enabled: script.enabled,
                version: script.content_hash.clone(),
                status: status.label(),
                detail: status.detail(),
                numbers,
            }
        })
        .collect()
}

/// `script`'s numbers in `runs` (oldest first).
fn numbers(runs: &[StoredRun], script: &Script) -> Numbers {
    let kind = match script.kind {
        ScriptKind::Macro => CallKind::Python,
        ScriptKind::Transform => CallKind::Transform,
        ScriptKind::Hook => CallKind::Hook,
        ScriptKind::Generator => CallKind::Generator,
    };
    let mut numbers = Numbers::default();
    for (i, run) in runs.iter().enumerate() {
        let Some(row) = run
            .macros
            .iter()
            .find(|m| m.kind == kind && m.name == script.name)
        else {
            continue;
        };
        numbers.renders += 1;
        numbers.calls += row.calls;
        numbers.failures += row.failures.total();
        if i + 1 == runs.len() {
            numbers.failures_last = row.failures.total();
        }
        if row.sandbox_runs > 0 {
            numbers.p50_us = Some(row.p50_us);
            numbers.p95_us = Some(row.p95_us);
        }
    }
    numbers
}
