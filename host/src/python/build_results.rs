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
    /// The questions the run asked of the site, with their answers' digests.
    pub asked: Vec<blogmark_runtime::Asked>,
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

    /// The stored result under the first of `keys` that has one, and the
    /// questions it asked of the site. A result that asked is stored under
    /// its key and the answers it got (see [`keys_with_answers`]): it
    /// answers only while `digest` (the current answer's digest of a
    /// question) gives each the digest it had.
    pub fn stored(
        &self,
        keys: impl Iterator<Item = String>,
        digest: impl Fn(&str) -> String,
    ) -> Option<(&String, Vec<String>)> {
        // A first render has none: its keys need not be made.
        if self.stored.is_empty() {
            return None;
        }
        for key in keys {
            if let Some(result) = self.stored.get(&key) {
                return Some((result, Vec::new()));
            }
            let Some(record) = self.stored.get(&questions_key(&key)) else {
                continue;
            };
            let Ok(questions) = serde_json::from_str::<Vec<String>>(record) else {
                continue;
            };
            let asked: Vec<blogmark_runtime::Asked> = questions
                .iter()
                .map(|q| blogmark_runtime::Asked {
                    question: q.clone(),
                    answer: digest(q),
                })
                .collect();
            if let Some(result) = self.stored.get(&keys_with_answers(&key, &asked)) {
                return Some((result, questions));
            }
        }
        None
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

/// Where the questions of the result stored under `key` are recorded.
pub(super) fn questions_key(key: &str) -> String {
    format!("{key}/questions")
}

/// The key of a result stored under `key` that asked `asked`: the answers'
/// digests are part of it, so a result is found only while every question
/// it asked gets the answer it got.
pub(super) fn keys_with_answers(key: &str, asked: &[blogmark_runtime::Asked]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(key.as_bytes());
    for one in asked {
        for part in [&one.question, &one.answer] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
    }
    hex::encode(hasher.finalize())
}

/// A panic elsewhere while a lock was held leaves these maps consistent:
/// they are only ever inserted into.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
