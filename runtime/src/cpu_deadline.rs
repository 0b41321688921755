//! Deadlines on the CPU time of the thread that runs the guest.
//!
//! A wall-clock deadline is missed by an endless loop and by a busy machine
//! alike. Where a failure is remembered (a site snapshot's imports, which are
//! not tried again until their inputs change), the two must be told apart:
//! an import that spends its CPU budget fails the same way every time, one
//! that was starved of CPU (a loaded CI runner, a laptop compiling beside
//! it) may well succeed at the next render. The guest's clocks are virtual
//! and its sleeps cost nothing, so the thread that runs it is on the CPU
//! whenever it is not waiting for its turn: its CPU time measures the work.

use std::time::{Duration, Instant};

/// How many times its CPU budget a guest may take on the wall clock before
/// it is stopped as starved: far more than any scheduling noise, bounded
/// all the same.
pub(crate) const WALL_FACTOR: u32 = 4;

/// Why a guest under a CPU deadline must stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CpuStop {
    /// It used its whole CPU budget: the same inputs would again.
    Spent,
    /// The wall clock reached [`WALL_FACTOR`] times the budget first: the
    /// thread waited for the CPU more than it ran.
    Starved {
        /// The CPU time it had used by then.
        used: Duration,
    },
}

/// A budget of CPU time for the calling thread, capped on the wall clock.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CpuDeadline {
    cpu_at_start: Duration,
    budget: Duration,
    /// `None` for a budget so large that its cap is past any clock.
    wall_cap: Option<Instant>,
}

impl CpuDeadline {
    /// A budget that starts now; only meaningful on the thread that runs
    /// the guest.
    pub(crate) fn start(budget: Duration) -> Self {
        CpuDeadline {
            cpu_at_start: thread_cpu_time(),
            budget,
            wall_cap: Instant::now().checked_add(budget.saturating_mul(WALL_FACTOR)),
        }
    }

    /// The longest the guest may still run (the rest of its CPU budget, no
    /// later than the wall cap), or why it must stop now.
    pub(crate) fn left(&self) -> Result<Duration, CpuStop> {
        let used = thread_cpu_time().saturating_sub(self.cpu_at_start);
        if used >= self.budget {
            return Err(CpuStop::Spent);
        }
        let cpu_left = self.budget - used;
        let Some(cap) = self.wall_cap else {
            return Ok(cpu_left);
        };
        let wall_left = cap.saturating_duration_since(Instant::now());
        if wall_left.is_zero() {
            return Err(CpuStop::Starved { used });
        }
        Ok(cpu_left.min(wall_left))
    }
}

/// The CPU time the calling thread has used.
pub(crate) fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec for the call to write.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    if status != 0 {
        // Without the clock, no CPU is ever counted: the wall cap stops
        // the guest, as starved, so its failure is not remembered.
        return Duration::ZERO;
    }
    Duration::new(
        u64::try_from(now.tv_sec).unwrap_or(0),
        u32::try_from(now.tv_nsec).unwrap_or(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_spends_the_budget_and_waiting_starves_it() {
        let budget = Duration::from_millis(40);
        let deadline = CpuDeadline::start(budget);
        let mut spins = 0u64;
        while deadline.left().is_ok() {
            spins = std::hint::black_box(spins + 1);
        }
        match deadline.left() {
            Err(CpuStop::Spent) => {}
            // A machine so loaded that this thread ran less than a quarter
            // of the time: what the wall cap is for.
            Err(CpuStop::Starved { used }) => assert!(used < budget, "{used:?}"),
            Ok(left) => panic!("{left:?} left after the loop"),
        }

        // A thread that waits (as one does on a loaded machine) uses no CPU
        // and is stopped by the wall cap, as starved.
        let long = CpuDeadline::start(Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(20));
        let left = long.left().expect("20 ms of waiting is within the cap");
        assert!(left > Duration::from_secs(4), "{left:?}");
        let short = CpuDeadline::start(Duration::from_millis(10));
        std::thread::sleep(Duration::from_millis(10) * (WALL_FACTOR + 1));
        match short.left() {
            Err(CpuStop::Starved { used }) => assert!(used < Duration::from_millis(10)),
            other => panic!("not starved: {other:?}"),
        }
    }

    #[test]
    fn a_budget_past_any_clock_has_no_wall_cap() {
        let deadline = CpuDeadline::start(Duration::MAX);
        assert!(deadline.left().expect("time left") > Duration::from_secs(1 << 40));
    }
}
