//! Compiled scripts, so that a call unmarshals its script instead of
//! compiling it (compiling is about a third of a fresh-instance call).
//!
//! The code comes only from `check` requests, in which no script code runs:
//! a script cannot forge what later calls load. A call given code of another
//! source or file recompiles (the dispatcher checks), so a stale entry costs
//! time, never correctness.

use crate::abi::{Operation, Reply, Request};
use crate::call::{Job, Outcome};
use crate::engine::SandboxEngine;
use crate::failure::Failure;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Entries kept before the cache starts over.
const CAPACITY: usize = 4096;

/// Code by SHA-256 of a script's path and source; `None` when the source
/// does not compile.
#[derive(Default)]
pub(crate) struct CompiledScripts(Mutex<HashMap<[u8; 32], Option<Arc<str>>>>);

impl SandboxEngine {
    /// `job` as an instance started from the preloaded image runs it: with
    /// the key of its script in place of source and code when the image
    /// holds that script compiled, else as [`SandboxEngine::with_compiled_code`]
    /// makes it. A call then decodes a few hundred bytes fewer and
    /// unmarshals nothing.
    pub(crate) fn with_code_for_image<'j>(
        &self,
        job: &'j Job,
        run: impl FnOnce(&Job) -> Result<Outcome, Failure>,
    ) -> Cow<'j, Job> {
        let script = &job.request.script;
        let plain = script.code.is_none()
            && script.preloaded.is_none()
            && !matches!(job.request.operation, Operation::Check);
        if plain
            && self.preloaded_images().is_some()
            && let Some(report) = self.preload_report()
            && !report.scripts.is_empty()
        {
            let key = crate::preload::script_key(script);
            if report.scripts.contains(&key) {
                let mut job = job.clone();
                job.request.script.source = String::new();
                job.request.script.preloaded = Some(key);
                self.isolation_counters().preloaded_script();
                return Cow::Owned(job);
            }
        }
        self.with_compiled_code(job, run)
    }

    /// `job` with its script's compiled code attached, compiling it the
    /// first time this source is seen with a `check` request given to `run`.
    pub(crate) fn with_compiled_code<'j>(
        &self,
        job: &'j Job,
        run: impl FnOnce(&Job) -> Result<Outcome, Failure>,
    ) -> Cow<'j, Job> {
        let script = &job.request.script;
        if script.code.is_some() || matches!(job.request.operation, Operation::Check) {
            return Cow::Borrowed(job);
        }
        let mut hasher = Sha256::new();
        hasher.update(script.path.as_bytes());
        hasher.update([0]);
        hasher.update(script.source.as_bytes());
        let key: [u8; 32] = hasher.finalize().into();
        let known = self
            .compiled
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .cloned();
        let code = match known {
            Some(code) => code,
            None => {
                let check = Job {
                    request: Request::new(script.clone(), Operation::Check),
                    call_site: None,
                    observed: Arc::default(),
                    ..job.clone()
                };
                let code = match run(&check) {
                    Ok(outcome) => match outcome.reply {
                        Reply::Checked { code, .. } => code.map(Arc::from),
                        _ => None,
                    },
                    Err(_) => None,
                };
                let mut cache = self.compiled.0.lock().unwrap_or_else(|e| e.into_inner());
                if cache.len() >= CAPACITY {
                    cache.clear();
                }
                cache.insert(key, code.clone());
                code
            }
        };
        match code {
            Some(code) => {
                let mut job = job.clone();
                job.request.script.code = Some(code.to_string());
                Cow::Owned(job)
            }
            None => Cow::Borrowed(job),
        }
    }
}
