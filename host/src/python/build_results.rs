//! Results within one session: each distinct request runs once, results
//! of earlier builds answer without running, and new results wait to be
//! stored.

use super::Failure;
use super::session::RunOutput;
use crate::store::{NewResult, Store};
use blogmark_runtime::CallSite;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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

/// Results stored by earlier builds, by key, read as calls look for them:
/// the first 64 one row at a time from the site's database,
/// then all at once. A render that makes a few calls (a data edit that
/// re-runs one generator) reads a few rows, one that makes none reads
/// none, and one that makes many reads the table once. A site's database
/// holds two or three rows a call: reading and checking 15,000 took 15 ms
/// of every render that built.
#[derive(Default)]
pub struct StoredResults {
    read: OnceLock<HashMap<String, String>>,
    database: Option<PathBuf>,
    connection: Mutex<Option<Store>>,
    looked_up: AtomicUsize,
    /// The keys found, when asked to record them (`host render --gc`).
    used: Option<Mutex<HashSet<String>>>,
    /// The newest row when the recording began: rows stored after it (by
    /// another process) are not this build's to judge.
    recorded_up_to: i64,
    /// Whether a lookup failed (the database unread, a row unreadable):
    /// what was found then says nothing of what is used.
    failed: AtomicBool,
}

/// The keys of the stored results a build found ([`StoredResults::used`]).
pub struct UsedResults {
    /// The keys.
    pub keys: HashSet<String>,
    /// Rows after this one were stored since the build began.
    pub up_to_rowid: i64,
}

/// Lookups answered one row at a time before the whole table is read.
const POINT_LOOKUPS: usize = 64;

impl StoredResults {
    /// The results stored in the database of the site at `root`.
    pub fn in_site(root: &Path) -> Self {
        StoredResults {
            database: Some(root.to_path_buf()),
            ..StoredResults::default()
        }
    }

    /// These results, recording the key of each one found: what
    /// [`StoredResults::used`] gives once the build is done. `up_to_rowid`:
    /// the newest row of the table now.
    pub fn recording_use(self, up_to_rowid: i64) -> Self {
        StoredResults {
            used: Some(Mutex::default()),
            recorded_up_to: up_to_rowid,
            ..self
        }
    }

    /// The keys of the results found so far, when recorded and every
    /// lookup could read the database.
    pub fn used(&self) -> Option<UsedResults> {
        if self.failed.load(Ordering::Relaxed) {
            return None;
        }
        self.used.as_ref().map(|used| UsedResults {
            keys: lock(used).clone(),
            up_to_rowid: self.recorded_up_to,
        })
    }

    /// Whether there are surely none (read, and empty).
    fn none(&self) -> bool {
        match self.read.get() {
            Some(read) => read.is_empty(),
            None => self.database.is_none(),
        }
    }

    /// The result stored under `key`.
    fn get(&self, key: &str) -> Option<String> {
        let found = self.find(key);
        if let (Some(used), Some(_)) = (&self.used, &found) {
            lock(used).insert(key.to_owned());
        }
        found
    }

    fn find(&self, key: &str) -> Option<String> {
        if let Some(read) = self.read.get() {
            return read.get(key).cloned();
        }
        let root = self.database.as_deref()?;
        if self.looked_up.fetch_add(1, Ordering::Relaxed) < POINT_LOOKUPS {
            let mut connection = lock(&self.connection);
            if connection.is_none() {
                let Some(store) = open(root, &self.failed) else {
                    // Said once: the calls run, none looks again.
                    return self.read.get_or_init(HashMap::new).get(key).cloned();
                };
                *connection = Some(store);
            }
            if let Some(store) = connection.as_ref() {
                match store.macro_result(key) {
                    Ok(found) => return found,
                    Err(error) => {
                        self.failed.store(true, Ordering::Relaxed);
                        tracing::warn!("a stored result unread: {error}");
                    }
                }
            }
        }
        self.read
            .get_or_init(|| read_all(root, lock(&self.connection).take(), &self.failed))
            .get(key)
            .cloned()
    }
}

fn open(root: &Path, failed: &AtomicBool) -> Option<Store> {
    Store::open(root)
        .inspect_err(|error| {
            failed.store(true, Ordering::Relaxed);
            tracing::warn!("stored results unread, so their calls run again: {error}");
        })
        .ok()
}

/// Every stored result, on `connection` (or a new one); none when the
/// database cannot be read (the calls then run).
fn read_all(
    root: &Path,
    connection: Option<Store>,
    failed: &AtomicBool,
) -> HashMap<String, String> {
    let reading = std::time::Instant::now();
    let Some(store) = connection.or_else(|| open(root, failed)) else {
        return HashMap::new();
    };
    let results = store.macro_results().unwrap_or_else(|error| {
        failed.store(true, Ordering::Relaxed);
        tracing::warn!("stored results unread, so their calls run again: {error}");
        HashMap::new()
    });
    tracing::debug!(
        results = results.len(),
        elapsed_us = reading.elapsed().as_micros() as u64,
        "stored results read"
    );
    results
}

impl From<HashMap<String, String>> for StoredResults {
    fn from(read: HashMap<String, String>) -> Self {
        StoredResults {
            read: OnceLock::from(read),
            ..StoredResults::default()
        }
    }
}

/// The session's results: stored ones, computed ones, and new ones to store.
pub(super) struct BuildResults {
    stored: StoredResults,
    memo: Mutex<HashMap<String, Arc<OnceLock<Memo>>>>,
    fresh: Mutex<Vec<NewResult>>,
    persist: bool,
}

impl BuildResults {
    /// Results answered from `stored` and new ones kept to store, when
    /// `persist`; else neither.
    pub fn new(stored: StoredResults, persist: bool) -> Self {
        BuildResults {
            stored: if persist {
                stored
            } else {
                StoredResults::default()
            },
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
    ) -> Option<(String, Vec<String>)> {
        // A first render has none: its keys need not be made.
        if self.stored.none() {
            return None;
        }
        for key in keys {
            if let Some(result) = self.stored.get(&key) {
                return Some((result, Vec::new()));
            }
            let Some(record) = self.stored.get(&questions_key(&key)) else {
                continue;
            };
            let Ok(questions) = serde_json::from_str::<Vec<String>>(&record) else {
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

    /// The keys of the stored results this session found, when it recorded
    /// them ([`StoredResults::recording_use`]) and could read every one.
    pub fn used_keys(&self) -> Option<UsedResults> {
        self.stored.used()
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
    format!("{key}{}", crate::store::QUESTIONS_SUFFIX)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn stored_in(root: &Path, count: usize) {
        let mut store = Store::open(root).unwrap();
        let new: Vec<NewResult> = (0..count)
            .map(|i| NewResult {
                key: format!("k{i}"),
                script_slug: "s".into(),
                script_hash: "h".into(),
                html: format!("<{i}>"),
            })
            .collect();
        let live = [("s".to_string(), "h".to_string())];
        store.update_macro_results(&new, &live, "guest").unwrap();
    }

    #[test]
    fn a_few_lookups_read_their_rows_and_many_read_the_table_once() {
        let site = tempfile::tempdir().unwrap();
        stored_in(site.path(), 100);
        let stored = StoredResults::in_site(site.path());
        assert!(!stored.none());
        assert_eq!(stored.get("k7").as_deref(), Some("<7>"));
        assert_eq!(stored.get("nothing"), None);
        assert!(stored.read.get().is_none(), "a few lookups read no table");
        for i in 0..POINT_LOOKUPS {
            assert_eq!(stored.get(&format!("k{i}")), Some(format!("<{i}>")));
        }
        let read = stored
            .read
            .get()
            .expect("past the point lookups, the table");
        assert_eq!(read.len(), 100);
        assert_eq!(stored.get("k99").as_deref(), Some("<99>"));
    }

    #[test]
    fn a_row_this_machine_did_not_tag_is_not_a_result_either_way() {
        let site = tempfile::tempdir().unwrap();
        stored_in(site.path(), 2);
        rusqlite::Connection::open(site.path().join(crate::store::DB_PATH))
            .unwrap()
            .execute(
                "UPDATE macro_results SET html = '<forged>' WHERE key = 'k1'",
                [],
            )
            .unwrap();
        let stored = StoredResults::in_site(site.path());
        assert_eq!(stored.get("k1"), None);
        assert_eq!(stored.get("k0").as_deref(), Some("<0>"));
        // Dropped when found, as a read of the whole table drops it.
        let all = read_all(site.path(), None, &AtomicBool::new(false));
        assert_eq!(all.keys().collect::<Vec<_>>(), ["k0"]);
        let count = Store::open(site.path()).unwrap().macro_result_count();
        assert_eq!(count.unwrap(), 1);
    }

    #[test]
    fn a_database_that_cannot_be_opened_answers_nothing_and_is_tried_once() {
        let site = tempfile::tempdir().unwrap();
        // A folder where the database file would be.
        std::fs::create_dir_all(site.path().join(crate::store::DB_PATH)).unwrap();
        let stored = StoredResults::in_site(site.path()).recording_use(0);
        assert_eq!(stored.get("k0"), None);
        assert!(stored.none(), "given up after the first try");
        // What was found says nothing of what is used (`--gc` removes none).
        assert!(stored.used().is_none());
        // A database there now is not looked at again within this session.
        std::fs::remove_dir(site.path().join(crate::store::DB_PATH)).unwrap();
        stored_in(site.path(), 2);
        assert_eq!(stored.get("k1"), None);
    }

    #[test]
    fn the_keys_found_are_recorded_when_asked() {
        let site = tempfile::tempdir().unwrap();
        stored_in(site.path(), 3);
        let stored = StoredResults::in_site(site.path()).recording_use(7);
        assert_eq!(stored.get("k1").as_deref(), Some("<1>"));
        assert_eq!(stored.get("absent"), None);
        let used = stored.used().unwrap();
        assert_eq!(used.keys, HashSet::from(["k1".to_owned()]));
        assert_eq!(used.up_to_rowid, 7);
        assert!(
            StoredResults::in_site(site.path()).used().is_none(),
            "not asked"
        );
    }

    #[test]
    fn a_site_without_a_database_has_none_and_a_first_render_none_to_find() {
        assert!(StoredResults::default().none());
        let site = tempfile::tempdir().unwrap();
        stored_in(site.path(), 0);
        let stored = StoredResults::in_site(site.path());
        for i in 0..=POINT_LOOKUPS {
            assert_eq!(stored.get(&format!("k{i}")), None);
        }
        assert!(stored.none(), "the table read, and empty");
    }
}
