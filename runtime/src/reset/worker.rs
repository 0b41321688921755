//! A worker's reset instances: while a request runs in one, the one before
//! it is reset on a helper thread, so back-to-back requests do not wait for
//! the reset of the request before.
//!
//! The worker starts with one instance. A second (the spare) is made on a
//! helper thread when the worker is first idle, or at once after a discard
//! (discards come in runs: a hostile script is called again); a busy start
//! such as a cold render does not pay for an instance it may not need.
//! With two, each request finds one reset and ready, and a discarded
//! instance leaves the other to serve at once.

use super::{Discard, ResetInstance};
use crate::call::{Job, Outcome};
use crate::engine::SandboxEngine;
use crate::failure::Failure;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex};

/// A reset instance being made on another thread.
struct Spare(Receiver<Result<ResetInstance, Failure>>);

impl Spare {
    fn start(engine: &Arc<SandboxEngine>) -> Option<Spare> {
        Spare::start_named(engine, "blogmark-spare")
    }

    fn start_named(engine: &Arc<SandboxEngine>, name: &str) -> Option<Spare> {
        let (tx, rx) = mpsc::sync_channel(1);
        let engine = engine.clone();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let _ = tx.send(engine.reset_instance());
            })
            .ok()
            .map(|_| Spare(rx))
    }
}

/// An instance made as the runtime starts, for whichever worker first needs
/// one: a caller that starts the runtime ahead of its first request (a
/// render, while it reads the site) then finds it made.
pub(crate) struct FirstInstance(Mutex<Option<Spare>>);

impl FirstInstance {
    /// Start making it, on a thread of its own.
    pub(crate) fn start(engine: &Arc<SandboxEngine>) -> Arc<FirstInstance> {
        Arc::new(FirstInstance(Mutex::new(Spare::start_named(
            engine,
            "blogmark-first",
        ))))
    }

    /// It, for the first worker that asks.
    fn claim(&self) -> Option<Spare> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// The helper thread that resets used instances.
struct Resetter {
    used: Sender<ResetInstance>,
    reset: Receiver<Result<ResetInstance, Discard>>,
}

impl Resetter {
    fn start(engine: &Arc<SandboxEngine>) -> Option<Resetter> {
        let (used_tx, used_rx) = mpsc::channel::<ResetInstance>();
        let (reset_tx, reset_rx) = mpsc::channel();
        let engine = engine.clone();
        std::thread::Builder::new()
            .name("blogmark-reset".into())
            .spawn(move || {
                for mut instance in used_rx {
                    let health = instance
                        .reset_after(engine.isolation_counters())
                        .map(|()| instance);
                    if reset_tx.send(health).is_err() {
                        break;
                    }
                }
            })
            .ok()?;
        Some(Resetter {
            used: used_tx,
            reset: reset_rx,
        })
    }
}

/// One worker's reset instances.
pub(crate) struct ResetWorker {
    engine: Arc<SandboxEngine>,
    /// Reset and ready to serve.
    ready: Vec<ResetInstance>,
    /// The instance that served the last request, until `after_reply`.
    used: Option<ResetInstance>,
    /// Instances with the resetter, not back yet.
    resetting: usize,
    resetter: Option<Resetter>,
    spare: Option<Spare>,
    /// The runtime's first instance, until a worker claims it.
    first: Option<Arc<FirstInstance>>,
}

impl ResetWorker {
    /// A worker with `helper`, whose used instances are reset on a thread
    /// of their own; with `eager`, its first instance is made now, on this
    /// thread, else for its first request (the runtime's `first` one, when
    /// no other worker claimed it).
    pub(crate) fn new(
        engine: &Arc<SandboxEngine>,
        helper: bool,
        eager: bool,
        first: Option<Arc<FirstInstance>>,
    ) -> ResetWorker {
        ResetWorker {
            engine: engine.clone(),
            ready: if eager {
                engine.reset_instance().into_iter().collect()
            } else {
                Vec::new()
            },
            used: None,
            resetting: 0,
            resetter: if helper {
                Resetter::start(engine)
            } else {
                None
            },
            spare: None,
            first,
        }
    }

    /// Run `job` (after compiling its script once per source).
    pub(crate) fn run(&mut self, job: &Job) -> Result<Outcome, Failure> {
        let engine = self.engine.clone();
        let counters = engine.isolation_counters();
        let job = engine.with_code_for_image(job, |check| {
            let mut instance = self.take()?;
            let (reply, health) = instance.serve(check, counters);
            if health.is_ok() {
                self.ready.push(instance);
            }
            reply
        });
        let mut instance = self.take()?;
        let reply = instance.call(&job);
        self.used = Some(instance);
        reply
    }

    /// After the answer is sent: hand the used instance to the resetter
    /// (or reset it here when there is none), and after a discard have the
    /// next replacement made.
    pub(crate) fn after_reply(&mut self) {
        let Some(mut used) = self.used.take() else {
            return;
        };
        match &self.resetter {
            Some(resetter) => match resetter.used.send(used) {
                Ok(()) => self.resetting += 1,
                Err(back) => {
                    self.resetter = None;
                    self.reset_here(back.0);
                }
            },
            None => {
                if used.reset_after(self.engine.isolation_counters()).is_ok() {
                    self.ready.push(used);
                } else {
                    self.replace_soon();
                }
            }
        }
    }

    /// Whether the worker resets on a helper thread, and so serves from a
    /// second instance while the first is reset: it wants that one at the
    /// first idle moment, not only for failures.
    pub(crate) fn has_helper(&self) -> bool {
        self.resetter.is_some()
    }

    /// The worker has nothing queued: make the spare if it has only one
    /// instance.
    pub(crate) fn when_idle(&mut self) {
        self.collect(false);
        if self.ready.len() + self.resetting < 2 && self.spare.is_none() {
            self.spare = self.first_or_new();
        }
    }

    /// The runtime's first instance, while no worker has claimed it, else a
    /// new one made on a thread of its own: a worker with a reset helper
    /// asks for its second instance before its first request, and would
    /// otherwise leave the first one unused.
    fn first_or_new(&mut self) -> Option<Spare> {
        self.claim_first().or_else(|| Spare::start(&self.engine))
    }

    /// The runtime's first instance, unless a worker claimed it already.
    fn claim_first(&mut self) -> Option<Spare> {
        self.first.take().and_then(|first| first.claim())
    }

    fn reset_here(&mut self, mut instance: ResetInstance) {
        if instance
            .reset_after(self.engine.isolation_counters())
            .is_ok()
        {
            self.ready.push(instance);
        } else {
            self.replace_soon();
        }
    }

    fn replace_soon(&mut self) {
        if self.spare.is_none() {
            self.spare = self.first_or_new();
        }
    }

    /// Take back what the resetter finished; with `wait`, at least one.
    fn collect(&mut self, wait: bool) {
        let mut wait = wait && self.resetting > 0;
        while self.resetting > 0 {
            let Some(resetter) = &self.resetter else {
                return;
            };
            let next = if wait {
                resetter
                    .reset
                    .recv()
                    .map_err(|_| TryRecvError::Disconnected)
            } else {
                resetter.reset.try_recv()
            };
            match next {
                Ok(Ok(instance)) => {
                    self.resetting -= 1;
                    self.ready.push(instance);
                }
                Ok(Err(_discarded)) => {
                    self.resetting -= 1;
                    self.replace_soon();
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.resetting = 0;
                    self.resetter = None;
                    break;
                }
            }
            wait = false;
        }
    }

    /// A reset instance: a ready one, else a finished spare, else the next
    /// one back from the resetter, else the spare or a new one.
    fn take(&mut self) -> Result<ResetInstance, Failure> {
        self.collect(false);
        if let Some(instance) = self.ready.pop() {
            return Ok(instance);
        }
        if self.spare.is_none() && self.resetting == 0 {
            self.spare = self.claim_first();
        }
        if let Some(spare) = self.spare.take() {
            match spare.0.try_recv() {
                Ok(made) => return made,
                Err(TryRecvError::Empty) if self.resetting == 0 => {
                    return spare
                        .0
                        .recv()
                        .unwrap_or_else(|_| self.engine.reset_instance());
                }
                Err(TryRecvError::Empty) => self.spare = Some(spare),
                Err(TryRecvError::Disconnected) => {}
            }
        }
        if self.resetting > 0 {
            self.collect(true);
            if let Some(instance) = self.ready.pop() {
                return Ok(instance);
            }
        }
        match self.spare.take() {
            Some(spare) => spare
                .0
                .recv()
                .unwrap_or_else(|_| self.engine.reset_instance()),
            None => self.engine.reset_instance(),
        }
    }
}
