//! The instances a worker (or an inline caller) runs requests in: a fresh
//! one per request, or instances reset in place.

use crate::call::{Job, Outcome, Prepared};
use crate::engine::SandboxEngine;
use crate::failure::Failure;
use crate::isolation::IsolationMode;
use crate::reset::ResetInstance;
use crate::reset::worker::ResetWorker;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One worker's instances.
pub(crate) enum Instances {
    /// A fresh instance per request; the next one is made while the worker
    /// would otherwise wait, and the used one dropped after the answer.
    Fresh {
        ready: Option<Prepared>,
        used: Option<Prepared>,
    },
    /// Instances reset in place (see [`ResetWorker`]).
    Reset(ResetWorker),
}

impl Instances {
    /// A worker's instances for the engine's isolation; with
    /// `reset_helper`, a reset worker resets on a helper thread. With
    /// `eager` (a long-lived runtime: its first request should not wait),
    /// the first instance is made now; without, a reset worker makes it for
    /// its first request, so a one-shot render that calls once makes one
    /// instance, not one per worker (11 ms of a core each, and 15 MB);
    /// `first` is the runtime's first instance, made as it started, which
    /// the first reset worker in need of one takes.
    pub(crate) fn for_worker(
        engine: &Arc<SandboxEngine>,
        reset_helper: bool,
        eager: bool,
        first: Option<Arc<crate::reset::worker::FirstInstance>>,
    ) -> Instances {
        match engine.isolation().mode {
            IsolationMode::Instance => Instances::Fresh {
                ready: engine.prepare().ok(),
                used: None,
            },
            IsolationMode::Reset => {
                Instances::Reset(ResetWorker::new(engine, reset_helper, eager, first))
            }
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
            Instances::Reset(worker) => worker.run(job),
        }
    }

    /// Work done after the answer is sent: tear down the used instance and
    /// prepare the next, or hand the used one to be reset.
    pub(crate) fn after_reply(&mut self, engine: &Arc<SandboxEngine>) {
        match self {
            Instances::Fresh { ready, used } => {
                drop(used.take());
                if ready.is_none() {
                    *ready = engine.prepare().ok();
                }
            }
            Instances::Reset(worker) => worker.after_reply(),
        }
    }

    /// How long the worker should wait with nothing queued before
    /// [`Instances::when_idle`]: at once for a reset worker with a helper
    /// (its second instance is how it serves while the helper resets),
    /// after `otherwise` for the rest (only failures need what it makes),
    /// and never when `otherwise` is `None`.
    pub(crate) fn idle_after(&self, otherwise: Option<Duration>) -> Option<Duration> {
        match self {
            Instances::Reset(worker) if worker.has_helper() => Some(Duration::ZERO),
            _ => otherwise,
        }
    }

    /// The worker has nothing queued: prepare what an idle moment allows.
    pub(crate) fn when_idle(&mut self) {
        if let Instances::Reset(worker) = self {
            worker.when_idle();
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
            return engine.run_inline(job);
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
        let job = engine.with_code_for_image(job, &mut serve);
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
