//! Results within one session: each distinct request runs once, results
//! of earlier builds answer without running, and new results wait to be
//! stored.

use super::Failure;
use super::session::RunOutput;
use crate::store::NewResult;
use blogmark_runtime::CallSite;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// A result computed in this session.
#[derive(Clone)]
pub(super) struct Memo {
    /// What the run answered, decoded.
    pub result: Result<String, Failure>,
    /// What the guest printed and what the run cost.
    pub output: Arc<RunOutput>,
    /// The call site the run was for, when it read it.
    pub read_site: Option<CallSite>,
    /// Its key in the persistent cache: the request and what the run read.
    pub key: String,
}

/// The session's results: stored ones, computed ones, and new ones to store.
pub(super) struct BuildResults {
    stored: HashMap<String, String>,
    memo: Mutex<HashMap<String, Arc<OnceLock<Memo>>>>,
    fresh: Mutex<Vec<NewResult>>,
    persist: bool,
}

impl BuildResults {
    /// Results answered from `stored` and new ones kept to store, when
    /// `persist`; else neither.
    pub fn new(stored: HashMap<String, String>, persist: bool) -> Self {
        BuildResults {
            stored: if persist { stored } else { HashMap::new() },
            memo: Mutex::default(),
            fresh: Mutex::default(),
            persist,
        }
    }

    /// The stored result under the first of `keys` that has one.
    pub fn stored(&self, mut keys: impl Iterator<Item = String>) -> Option<&String> {
        keys.find_map(|key| self.stored.get(&key))
    }

    /// The session's one slot for the result under `key`.
    pub fn slot(&self, key: &str) -> Arc<OnceLock<Memo>> {
        lock(&self.memo).entry(key.to_owned()).or_default().clone()
    }

    /// Keep `result` to store at the end of the build.
    pub fn keep(&self, result: NewResult) {
        if self.persist {
            lock(&self.fresh).push(result);
        }
    }

    /// The results kept so far (empty without the persistent cache).
    pub fn take(&self) -> Vec<NewResult> {
        std::mem::take(&mut *lock(&self.fresh))
    }
}

/// A panic elsewhere while a lock was held leaves these maps consistent:
/// they are only ever inserted into.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
