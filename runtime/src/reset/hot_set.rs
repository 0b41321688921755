//! The hot set: pages nearly every request writes, left writable and
//! restored on every reset instead of taking a write-protect fault (about
//! 1 us each) every time.
//!
//! It is learned per instance, and aged: for a short window every page is
//! protected and the writes are counted; pages written by most requests of
//! the window become hot. While the set is in use, pages outside it that
//! most requests of a window write join it (the workload changed: another
//! script, another module). After a long stretch the learning window runs
//! again, with every page protected, so pages that stopped being written
//! leave the set.
//! Whatever the set holds, every written page is restored: the set changes
//! only what a reset costs, never what it restores.

use std::ops::Range;

/// Requests observed, every page protected, to learn the set; also the
/// window over which pages outside the set are counted to join it.
const WINDOW: u32 = 16;
/// A page written by at least this many requests of a window is hot.
const HOT_AT: u16 = 12;
/// Requests served between two windows.
const RELEARN_AFTER: u32 = 4096;

/// Protection changes to apply before the next request.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Change {
    /// Runs of pages to write-protect again.
    pub(crate) protect: Vec<Range<usize>>,
    /// Runs of pages to leave writable.
    pub(crate) unprotect: Vec<Range<usize>>,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    Learning { seen: u32 },
    Steady { served: u32 },
}

/// One memory's hot set.
pub(crate) struct HotSet {
    hot: Vec<bool>,
    runs: Vec<Range<usize>>,
    counts: Vec<u16>,
    phase: Phase,
}

impl HotSet {
    /// An empty set for a memory of `pages` pages, learning from the first
    /// request on.
    pub(crate) fn new(pages: usize) -> Self {
        HotSet {
            hot: vec![false; pages],
            runs: Vec::new(),
            counts: vec![0; pages],
            phase: Phase::Learning { seen: 0 },
        }
    }

    /// Whether `page` is in the set (and so never write-protected).
    pub(crate) fn contains(&self, page: usize) -> bool {
        self.hot.get(page).copied().unwrap_or(false)
    }

    /// Whether any page of `pages` is in the set.
    pub(crate) fn any_in(&self, pages: Range<usize>) -> bool {
        self.hot.get(pages).is_some_and(|hot| hot.contains(&true))
    }

    /// The set, as runs of pages.
    pub(crate) fn runs(&self) -> &[Range<usize>] {
        &self.runs
    }

    /// Whether the set is being learned: every written page must then be
    /// protected again after each request, so that the next one's writes
    /// are counted.
    pub(crate) fn learning(&self) -> bool {
        matches!(self.phase, Phase::Learning { .. })
    }

    /// Pages in the set.
    pub(crate) fn len(&self) -> usize {
        self.runs.iter().map(ExactSizeIterator::len).sum()
    }

    /// Note the pages one request wrote (as found by the scan after it);
    /// returns the protection changes to make when the set changes.
    pub(crate) fn observe(&mut self, written: &[Range<usize>]) -> Option<Change> {
        match &mut self.phase {
            Phase::Learning { seen } => {
                for run in written {
                    for page in run.clone() {
                        if let Some(count) = self.counts.get_mut(page) {
                            *count = count.saturating_add(1);
                        }
                    }
                }
                *seen += 1;
                if *seen < WINDOW {
                    return None;
                }
                self.runs = runs_of(self.counts.iter().map(|&c| c >= HOT_AT));
                for (page, hot) in self.hot.iter_mut().enumerate() {
                    *hot = self.counts[page] >= HOT_AT;
                }
                self.counts.fill(0);
                self.phase = Phase::Steady { served: 0 };
                Some(Change {
                    protect: Vec::new(),
                    unprotect: self.runs.clone(),
                })
            }
            Phase::Steady { served } => {
                *served += 1;
                if *served >= RELEARN_AFTER {
                    self.counts.fill(0);
                    self.hot.fill(false);
                    self.phase = Phase::Learning { seen: 0 };
                    return Some(Change {
                        protect: std::mem::take(&mut self.runs),
                        unprotect: Vec::new(),
                    });
                }
                for run in written {
                    for page in run.clone() {
                        if !self.hot.get(page).copied().unwrap_or(true) {
                            self.counts[page] = self.counts[page].saturating_add(1);
                        }
                    }
                }
                if !served.is_multiple_of(WINDOW) {
                    return None;
                }
                let joining = runs_of(self.counts.iter().map(|&c| c >= HOT_AT));
                self.counts.fill(0);
                if joining.is_empty() {
                    return None;
                }
                for run in &joining {
                    for page in run.clone() {
                        self.hot[page] = true;
                    }
                }
                self.runs = runs_of(self.hot.iter().copied());
                Some(Change {
                    protect: Vec::new(),
                    unprotect: joining,
                })
            }
        }
    }
}

/// Runs of consecutive `true` indices.
fn runs_of(flags: impl Iterator<Item = bool>) -> Vec<Range<usize>> {
    let mut runs: Vec<Range<usize>> = Vec::new();
    for (i, flag) in flags.enumerate() {
        if !flag {
            continue;
        }
        match runs.last_mut() {
            Some(run) if run.end == i => run.end = i + 1,
            _ => runs.push(i..i + 1),
        }
    }
    runs
}

#[cfg(test)]
#[allow(
    clippy::single_range_in_vec_init,
    reason = "lists of page runs that hold one run"
)]
mod tests {
    use super::*;

    fn learn(set: &mut HotSet, each: &dyn Fn(u32) -> Vec<Range<usize>>) -> Change {
        for i in 0..WINDOW - 1 {
            assert_eq!(set.observe(&each(i)), None);
        }
        set.observe(&each(WINDOW - 1)).expect("the window closes")
    }

    #[test]
    fn pages_written_by_most_requests_of_the_window_become_hot() {
        let mut set = HotSet::new(100);
        // Pages 3-5 every time, page 40 every other time, 70 three times in four.
        let change = learn(&mut set, &|i| {
            let mut w = vec![3..6];
            if i % 2 == 0 {
                w.push(40..41);
            }
            if i % 4 != 0 {
                w.push(70..71);
            }
            w
        });
        assert_eq!(change.unprotect, [3..6, 70..71]);
        assert!(change.protect.is_empty());
        assert!(set.contains(4) && set.contains(70));
        assert!(!set.contains(40) && !set.contains(6));
        assert_eq!(set.len(), 4);
    }

    #[test]
    fn the_set_ages_pages_that_stop_being_written_leave_it() {
        let mut set = HotSet::new(50);
        learn(&mut set, &|_| vec![1..3]);
        assert_eq!(set.runs(), [1..3]);
        for _ in 0..RELEARN_AFTER - 1 {
            assert_eq!(set.observe(&[1..3]), None);
        }
        let relearn = set.observe(&[1..3]).expect("a new window starts");
        assert_eq!(relearn.protect, [1..3]);
        assert!(!set.contains(1), "every page is protected while learning");
        // The workload moved: pages 10-11 now, 1-2 no more.
        let change = learn(&mut set, &|_| vec![10..12]);
        assert_eq!(change.unprotect, [10..12]);
        assert_eq!(set.runs(), [10..12]);
        assert!(!set.contains(1));
    }

    #[test]
    fn pages_most_requests_write_join_the_set_without_waiting_to_relearn() {
        let mut set = HotSet::new(64);
        learn(&mut set, &|_| vec![1..3]);
        // The workload changes: pages 20-22 are written from now on, and
        // hot pages still show as written (they are never protected).
        let mut joined = None;
        for _ in 0..WINDOW {
            if let Some(change) = set.observe(&[1..3, 20..23]) {
                joined = Some(change);
            }
        }
        let change = joined.expect("the new pages join at the window's end");
        assert_eq!(change.unprotect, [20..23]);
        assert!(change.protect.is_empty());
        assert_eq!(set.runs(), [1..3, 20..23]);
        // Pages written now and then do not join.
        for i in 0..WINDOW {
            let w: &[Range<usize>] = if i.is_multiple_of(3) { &[40..41] } else { &[] };
            assert_eq!(set.observe(w), None);
        }
        assert!(!set.contains(40));
    }

    #[test]
    fn pages_past_the_end_are_ignored() {
        let mut set = HotSet::new(4);
        learn(&mut set, &|_| vec![2..9]);
        assert_eq!(set.runs(), [2..4]);
    }
}
