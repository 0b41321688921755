//! When `host serve` tries again a site snapshot that failed for the
//! machine's sake (too busy for its imports to finish, see the runtime's
//! CPU deadline): such a failure is not remembered on the disk, and a
//! one-shot command simply tries at its next run, but a server would
//! otherwise run without the snapshot until it is started again. It waits
//! before each try, longer each time, so a machine that stays busy is not
//! made busier by imports that cannot finish.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The wait before the first try after the failure is seen.
const FIRST: Duration = Duration::from_secs(30);
/// The longest wait: each try waits twice as long as the one before, up to this.
const LONGEST: Duration = Duration::from_secs(600);

/// The tries of each failed snapshot, by its key.
#[derive(Default)]
pub(super) struct Retries {
    by_key: Mutex<HashMap<String, Backoff>>,
}

struct Backoff {
    next: Instant,
    tries: u32,
}

impl Retries {
    /// Whether to try the snapshot `key` again `now`, seeing that it
    /// failed for the machine's sake: the first time a failure is seen only
    /// starts the wait; a `true` counts as a try.
    pub(super) fn due(&self, key: &str, now: Instant) -> bool {
        let mut by_key = self.by_key.lock().unwrap_or_else(|e| e.into_inner());
        match by_key.get_mut(key) {
            None => {
                by_key.insert(
                    key.to_owned(),
                    Backoff {
                        next: now + wait(0),
                        tries: 0,
                    },
                );
                false
            }
            Some(backoff) if now >= backoff.next => {
                backoff.tries += 1;
                backoff.next = now + wait(backoff.tries);
                true
            }
            Some(_) => false,
        }
    }
}

impl Retries {
    /// The snapshot `key` is made, or failed for good: a later failure of
    /// it starts from the first wait again.
    pub(super) fn forget(&self, key: &str) {
        self.by_key
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

/// The wait after `tries` tries.
fn wait(tries: u32) -> Duration {
    FIRST.saturating_mul(1 << tries.min(16)).min(LONGEST)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_snapshot_is_tried_again_after_longer_and_longer_waits() {
        let retries = Retries::default();
        let start = Instant::now();
        let at = |seconds: u64| start + Duration::from_secs(seconds);
        assert!(!retries.due("k", at(0)), "seen: the wait starts");
        assert!(!retries.due("k", at(29)));
        assert!(retries.due("k", at(30)), "the first try");
        assert!(!retries.due("k", at(31)), "then the wait doubles");
        assert!(!retries.due("k", at(89)));
        assert!(retries.due("k", at(90)));
        assert!(!retries.due("k", at(209)));
        assert!(retries.due("k", at(210)));
        // Another snapshot has its own wait.
        assert!(!retries.due("other", at(210)));
        // Once made, a later failure waits from the start again.
        retries.forget("k");
        assert!(!retries.due("k", at(1000)));
        assert!(retries.due("k", at(1030)));
        assert_eq!(wait(3), Duration::from_secs(240));
        assert_eq!(wait(5), LONGEST);
        assert_eq!(wait(40), LONGEST);
    }
}
