//! The instances a worker (or an inline caller) runs requests in: a fresh
//! one per request, or one reset in place with a spare ready for when it
//! has to be discarded.

use crate::call::{Job, Outcome, Prepared};
use crate::engine::SandboxEngine;
use crate::failure::Failure;
use crate::isolation::IsolationMode;
use crate::reset::ResetInstance;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

/// A reset instance being made on another thread.
pub(crate) struct Spare(mpsc::Receiver<Result<ResetInstance, Failure>>);

impl Spare {
    fn start(engine: &Arc<SandboxEngine>) -> Option<Spare> {
        let (tx, rx) = mpsc::sync_channel(1);
        let engine = engine.clone();
        std::thread::Builder::new()
            .name("blogmark-spare".into())
            .spawn(move || {
                let _ = tx.send(engine.reset_instance());
            })
            .ok()
            .map(|_| Spare(rx))
    }

    fn take(self) -> Result<ResetInstance, Failure> {
        self.0.recv().unwrap_or_else(|_| {
            Err(Failure::Unavailable(
                "the spare instance was not made".into(),
            ))
        })
    }
}

/// One worker's instances.
pub(crate) enum Instances {
    /// A fresh instance per request; the next one is made while the worker
    /// would otherwise wait, and the used one dropped after the answer.
    Fresh {
        ready: Option<Prepared>,
        used: Option<Prepared>,
    },
    /// One instance reset in place (after the answer is sent: `used`
    /// holds it until then), and a spare made ahead so that a request after
    /// a discarded instance does not wait for a new one. The spare is made
    /// when the worker is first idle, or at once after a discard: a busy
    /// start (a cold render) does not pay for instances it may never use.
    Reset {
        current: Option<ResetInstance>,
        used: Option<ResetInstance>,
        spare: Option<Spare>,
    },
}

impl Instances {
    /// A worker's instances for the engine's isolation, made now.
    pub(crate) fn for_worker(engine: &Arc<SandboxEngine>) -> Instances {
        match engine.isolation().mode {
            IsolationMode::Instance => Instances::Fresh {
                ready: engine.prepare().ok(),
                used: None,
            },
            IsolationMode::Reset => Instances::Reset {
                current: engine.reset_instance().ok(),
                used: None,
                spare: None,
            },
        }
    }

    /// Run `job` (after compiling its script once per source).
    pub(crate) fn run(&mut self, engine: &SandboxEngine, job: &Job) -> Result<Outcome, Failure> {
        match self {
            Instances::Fresh { ready, used } => {
                let job = engine.with_compiled_code(job, |check| engine.run_fresh(check));
                let mut instance = match ready.take() {
                    Some(instance) => instance,
                    None => engine.prepare()?,
                };
                let reply = instance.call_in_place(&job);
                *used = Some(instance);
                reply
            }
            Instances::Reset {
                current,
                used,
                spare,
            } => {
                let counters = engine.isolation_counters();
                if let Some(mut instance) = used.take()
                    && instance.reset_after(counters).is_ok()
                {
                    *current = Some(instance);
                }
                let mut next = |current: &mut Option<ResetInstance>| match current.take() {
                    Some(instance) => Ok(instance),
                    None => match spare.take() {
                        Some(spare) => spare.take(),
                        None => engine.reset_instance(),
                    },
                };
                let job = engine.with_compiled_code(job, |check| {
                    let mut instance = next(current)?;
                    let (reply, health) = instance.serve(check, counters);
                    if health.is_ok() {
                        *current = Some(instance);
                    }
                    reply
                });
                let mut instance = next(current)?;
                let reply = instance.call(&job);
                *used = Some(instance);
                reply
            }
        }
    }

    /// Work done after the answer is sent: tear down and prepare; or reset,
    /// and make the spare anew when it replaced a discarded instance.
    pub(crate) fn after_reply(&mut self, engine: &Arc<SandboxEngine>) {
        match self {
            Instances::Fresh { ready, used } => {
                drop(used.take());
                if ready.is_none() {
                    *ready = engine.prepare().ok();
                }
            }
            Instances::Reset {
                current,
                used,
                spare,
            } => {
                if let Some(mut instance) = used.take()
                    && instance.reset_after(engine.isolation_counters()).is_ok()
                {
                    *current = Some(instance);
                }
                if current.is_none() {
                    *current = match spare.take() {
                        Some(spare) => spare.take().ok(),
                        None => engine.reset_instance().ok(),
                    };
                    // Discards come in runs (a hostile script is called
                    // again): have the next replacement ready.
                    if spare.is_none() {
                        *spare = Spare::start(engine);
                    }
                }
            }
        }
    }

    /// The worker has nothing queued: make the spare if there is none.
    pub(crate) fn when_idle(&mut self, engine: &Arc<SandboxEngine>) {
        if let Instances::Reset { spare, .. } = self
            && spare.is_none()
        {
            *spare = Spare::start(engine);
        }
    }
}

/// Reset instances for inline callers, one per concurrent caller.
#[derive(Default)]
pub(crate) struct InlinePool(Mutex<Vec<ResetInstance>>);

impl InlinePool {
    /// Run `job` on the caller's thread.
    pub(crate) fn run(&self, engine: &SandboxEngine, job: &Job) -> Result<Outcome, Failure> {
        if engine.isolation().mode == IsolationMode::Instance {
            let job = engine.with_compiled_code(job, |check| engine.run_fresh(check));
            return engine.run_fresh(&job);
        }
        let taken = self.0.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut instance = Some(match taken {
            Some(instance) => instance,
            None => engine.reset_instance()?,
        });
        let mut serve = |job: &Job| -> Result<Outcome, Failure> {
            let mut used = match instance.take() {
                Some(used) => used,
                None => engine.reset_instance()?,
            };
            let (reply, health) = used.serve(job, engine.isolation_counters());
            if health.is_ok() {
                instance = Some(used);
            }
            reply
        };
        let job = engine.with_compiled_code(job, &mut serve);
        let reply = serve(&job);
        if let Some(instance) = instance {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(instance);
        }
        reply
    }
}
