//! The epoch ticker: it advances the engine's epoch every [`EPOCH_TICK`]
//! while a call runs, which is what wall-clock deadlines count in, and
//! sleeps while none does. An idle `host serve` (or any embedder holding a
//! runtime) would otherwise wake the machine a thousand times a second.

use crate::engine::EPOCH_TICK;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::{JoinHandle, Thread};

/// Whether calls are running, and the thread that ticks for them.
#[derive(Debug, Default)]
pub(crate) struct EpochClock {
    /// Calls under a deadline right now.
    running: AtomicUsize,
    /// The ticker, once started; woken when the first call starts.
    ticker: OnceLock<Thread>,
    stop: AtomicBool,
    /// Ticks given so far.
    #[cfg(test)]
    ticks: AtomicUsize,
}

impl EpochClock {
    /// Start ticking `engine`'s epoch for the calls that say they run.
    pub(crate) fn start(
        self: &Arc<Self>,
        engine: wasmtime::Engine,
    ) -> std::io::Result<JoinHandle<()>> {
        let clock = self.clone();
        let handle = std::thread::Builder::new()
            .name("blogmark-epoch".into())
            .spawn(move || {
                while !clock.stop.load(Ordering::SeqCst) {
                    if clock.running.load(Ordering::SeqCst) == 0 {
                        // A call that starts after the check unparks this
                        // thread, so the park returns at once: no call
                        // waits for a tick that never comes.
                        std::thread::park();
                        continue;
                    }
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                    #[cfg(test)]
                    clock.ticks.fetch_add(1, Ordering::Relaxed);
                }
            })?;
        // Known before `start` returns, so before any call can say it runs:
        // a call's `awake` always finds the thread to wake.
        let _ = self.ticker.set(handle.thread().clone());
        Ok(handle)
    }

    /// The epoch advances until the returned guard is dropped: taken by a
    /// call for as long as it runs guest code under a deadline.
    pub(crate) fn awake(self: &Arc<Self>) -> Awake {
        if self.running.fetch_add(1, Ordering::SeqCst) == 0
            && let Some(ticker) = self.ticker.get()
        {
            ticker.unpark();
        }
        Awake(self.clone())
    }

    /// Stop the ticker for good (it then ends its thread).
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(ticker) = self.ticker.get() {
            ticker.unpark();
        }
    }

    /// Ticks given since the ticker started.
    #[cfg(test)]
    pub(crate) fn ticks(&self) -> usize {
        self.ticks.load(Ordering::Relaxed)
    }
}

/// A running call's hold on the ticker (see [`EpochClock::awake`]).
pub(crate) struct Awake(Arc<EpochClock>);

impl Drop for Awake {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_epoch_advances_while_a_call_runs_and_not_while_none_does() {
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        let engine = wasmtime::Engine::new(&config).unwrap();
        let clock = Arc::new(EpochClock::default());
        let thread = clock.start(engine).unwrap();
        // Idle from the start: no tick at all.
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(clock.ticks(), 0, "ticks while nothing runs");
        // A call: ticks until it ends.
        let awake = clock.awake();
        let waited = std::time::Instant::now();
        while clock.ticks() < 5 {
            assert!(
                waited.elapsed() < Duration::from_secs(30),
                "no tick for a call"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(awake);
        // At most the tick under way when the call ended, then none.
        let after = clock.ticks();
        std::thread::sleep(Duration::from_millis(100));
        assert!(clock.ticks() <= after + 1, "ticks after the call ended");
        clock.stop();
        thread.join().unwrap();
    }
}
