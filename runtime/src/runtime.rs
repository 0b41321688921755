//! The runtime callers use: a bounded queue in front of N workers, each
//! running every request in a state identical to a fresh instance.

use crate::call::{Job, Outcome};
use crate::counters::Counters;
use crate::engine::{EngineSettings, SandboxEngine};
use crate::failure::Failure;
use crate::instances::{InlinePool, Instances};
use crate::isolation::ResolvedIsolation;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::oneshot;

/// Where requests run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// On a pool of worker threads behind a bounded queue (the default).
    Worker {
        /// Number of workers; 0 means one per core.
        workers: usize,
    },
    /// On the caller's thread, at `submit`.
    Inline,
}

impl Default for Mode {
    fn default() -> Self {
        Mode::Worker { workers: 0 }
    }
}

/// Everything needed to start a [`Runtime`].
#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    /// Engine settings (component, cache, pool sizes).
    pub engine: EngineSettings,
    /// Worker or inline.
    pub mode: Mode,
    /// Requests that may wait in the queue before `submit` blocks.
    pub queue_capacity: usize,
    /// Whether each `reset` worker resets its used instance on a helper
    /// thread while it serves the next request. `None` (the default): only
    /// when there are fewer workers than cores, since otherwise the helpers
    /// compete with the workers for the same cores.
    pub reset_helper: Option<bool>,
    /// Whether a worker with nothing queued for a moment makes a spare
    /// instance, so that a request after a failure is served at once
    /// (true, the default: right for a long-lived caller such as a
    /// server). A one-shot batch turns it off: its last request is followed
    /// by no other, and a spare made then only takes a core from the rest
    /// of its work. A worker with a reset helper makes its second instance
    /// whatever this says: it serves from it while the helper resets.
    /// Turned off, a worker also makes its first instance for its first
    /// request rather than when it starts.
    pub idle_spares: bool,
    /// Whether each inline request runs in a new instance, its script
    /// compiled by the call itself: for a command that makes one call
    /// (`host scripts run`), which then pays for no instance kept for
    /// reuse, no image taken and no compile ahead (about 10 ms of a 35 ms
    /// process). Ignored with a preload, whose image only reset instances
    /// start from.
    pub fresh_inline: bool,
    /// Whether one instance is made as soon as the runtime starts, on a
    /// thread of its own, for whichever worker first needs one: for a
    /// caller that starts the runtime ahead of its first request (a render,
    /// while it reads the site), so that the request does not wait for it.
    /// Reset in place, without `idle_spares`, only (a fresh-instance
    /// worker, or an eager one, makes its first one as it starts anyway).
    pub first_instance_now: bool,
}

impl RuntimeConfig {
    /// Defaults for the given component.
    pub fn new(component: impl Into<crate::GuestComponent>) -> Self {
        RuntimeConfig {
            engine: EngineSettings::new(component),
            mode: Mode::default(),
            queue_capacity: 1024,
            reset_helper: None,
            idle_spares: true,
            fresh_inline: false,
            first_instance_now: false,
        }
    }
}

type Reply = Result<Outcome, Failure>;

struct Queued {
    job: Job,
    cancelled: Arc<AtomicBool>,
    reply: oneshot::Sender<Reply>,
}

/// A request in flight. Wait for it, blocking or async, or cancel it.
pub struct Handle {
    reply: oneshot::Receiver<Reply>,
    cancelled: Arc<AtomicBool>,
}

fn stopped() -> Failure {
    Failure::Unavailable("the runtime stopped before answering".into())
}

impl Handle {
    /// Block until the request has run. Do not call from an async task.
    pub fn wait(self) -> Reply {
        self.reply
            .blocking_recv()
            .unwrap_or_else(|_| Err(stopped()))
    }

    /// Wait for the request without blocking the async runtime.
    pub async fn wait_async(self) -> Reply {
        self.reply.await.unwrap_or_else(|_| Err(stopped()))
    }

    /// Cancel the request if it has not started; it then ends as
    /// [`Failure::Cancelled`]. A request already running runs to its end.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }
}

/// The sandbox runtime: one engine, a queue and its workers, counters.
pub struct Runtime {
    engine: Arc<SandboxEngine>,
    counters: Arc<Counters>,
    /// `None` in inline mode; emptied by [`Runtime::close`].
    queue: RwLock<Option<Sender<Queued>>>,
    workers: Vec<JoinHandle<()>>,
    ticker: Option<JoinHandle<()>>,
    mode: Mode,
    inline: InlinePool,
    fresh_inline: bool,
}

impl Runtime {
    /// Load the guest and start the workers and the epoch ticker.
    pub fn new(config: RuntimeConfig) -> Result<Self, Failure> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let workers = match config.mode {
            Mode::Worker { workers: 0 } => cores,
            Mode::Worker { workers } => workers,
            Mode::Inline => 0,
        };
        let reset_helper = config.reset_helper.unwrap_or(workers < cores);
        let idle_spares = config.idle_spares;
        let mut settings = config.engine.clone();
        // Each worker holds the instance it runs and the one it keeps ready.
        settings.max_instances = settings
            .max_instances
            .max(u32::try_from(workers * 2 + 8).unwrap_or(u32::MAX));
        let engine = SandboxEngine::new(&settings)?;
        let counters = Arc::new(Counters::default());
        let ticker = engine
            .clock
            .start(engine.wasmtime().clone())
            .map_err(|e| Failure::Unavailable(format!("cannot start the epoch ticker: {e}")))?;
        // An eager runtime's workers make their own as they start.
        let first = (workers > 0
            && config.first_instance_now
            && !config.idle_spares
            && engine.isolation().mode == crate::isolation::IsolationMode::Reset)
            .then(|| crate::reset::worker::FirstInstance::start(&engine));
        let (queue, handles) = if workers > 0 {
            let (tx, rx) = crossbeam_channel::bounded(config.queue_capacity.max(1));
            let handles = (0..workers)
                .map(|i| {
                    let engine = engine.clone();
                    let counters = counters.clone();
                    let rx: Receiver<Queued> = rx.clone();
                    let first = first.clone();
                    std::thread::Builder::new()
                        .name(format!("blogmark-sandbox-{i}"))
                        .spawn(move || {
                            let instances =
                                Instances::for_worker(&engine, reset_helper, idle_spares, first);
                            worker(&engine, instances, &counters, &rx, idle_spares);
                        })
                        .map_err(|e| Failure::Unavailable(format!("cannot start a worker: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            (Some(tx), handles)
        } else {
            (None, Vec::new())
        };
        let fresh_inline = config.fresh_inline && !engine.has_preload();
        Ok(Runtime {
            engine,
            counters,
            queue: RwLock::new(queue),
            workers: handles,
            ticker: Some(ticker),
            mode: config.mode,
            inline: InlinePool::default(),
            fresh_inline,
        })
    }

    /// Queue `job`; blocks while the queue is full. In inline mode the job
    /// runs now, on this thread.
    pub fn submit(&self, job: Job) -> Handle {
        let (tx, rx) = oneshot::channel();
        let cancelled = Arc::new(AtomicBool::new(false));
        let handle = Handle {
            reply: rx,
            cancelled: cancelled.clone(),
        };
        let queue = self.queue.read().unwrap_or_else(PoisonError::into_inner);
        match &*queue {
            Some(queue) => {
                let queued = Queued {
                    job,
                    cancelled,
                    reply: tx,
                };
                if let Err(rejected) = queue.send(queued) {
                    let _ = rejected.0.reply.send(Err(stopped()));
                }
            }
            None if self.mode == Mode::Inline => {
                let reply = counted(&self.counters, &job, || {
                    if self.fresh_inline {
                        self.engine.run_fresh(&job)
                    } else {
                        self.inline.run(&self.engine, &job)
                    }
                });
                let _ = tx.send(reply);
            }
            None => {
                let _ = tx.send(Err(stopped()));
            }
        }
        handle
    }

    /// Take no more requests: the workers finish what is queued, then end,
    /// each freeing its instances on its own thread while the caller goes
    /// on (a one-shot command's last call was answered; tearing down
    /// instances at drop would add their cost to the command's end).
    /// Requests submitted after this fail as stopped. Counters, engine and
    /// isolation stay readable. In inline mode there is nothing to close.
    pub fn close(&self) {
        self.queue
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }

    /// Submit `job` and wait for it.
    pub fn run(&self, job: Job) -> Result<Outcome, Failure> {
        self.submit(job).wait()
    }

    /// The counters of every script run so far.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The engine (build id, load report).
    pub fn engine(&self) -> &SandboxEngine {
        &self.engine
    }

    /// Worker or inline.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The isolation in use and why.
    pub fn isolation(&self) -> &ResolvedIsolation {
        self.engine.isolation()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.close();
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
        self.engine.clock.stop();
        if let Some(ticker) = self.ticker.take() {
            let _ = ticker.join();
        }
    }
}

/// Run `job` through `run` and count it.
fn counted(counters: &Counters, job: &Job, run: impl FnOnce() -> Reply) -> Reply {
    let reply = run();
    let failure = reply.as_ref().err().map(Failure::class);
    counters.record_call(job.script(), failure);
    reply
}

/// How long a worker without a reset helper waits with nothing queued
/// before it prepares what an idle moment allows (a spare instance, which
/// serves at once after a failure): the short gaps of a busy render do not
/// pay for one.
const IDLE_BEFORE_SPARE: Duration = Duration::from_millis(20);

fn worker(
    engine: &Arc<SandboxEngine>,
    mut instances: Instances,
    counters: &Counters,
    queue: &Receiver<Queued>,
    idle_spares: bool,
) {
    loop {
        let idle = instances.idle_after(idle_spares.then_some(IDLE_BEFORE_SPARE));
        let next = match idle {
            Some(idle) => queue.recv_timeout(idle),
            None => queue.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        let queued = match next {
            Ok(queued) => queued,
            Err(RecvTimeoutError::Timeout) => {
                instances.when_idle();
                match queue.recv() {
                    Ok(queued) => queued,
                    Err(_) => return,
                }
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        if queued.cancelled.load(Ordering::Relaxed) || queued.reply.is_closed() {
            let _ = queued.reply.send(Err(Failure::Cancelled));
            continue;
        }
        let reply = counted(counters, &queued.job, || instances.run(engine, &queued.job));
        let _ = queued.reply.send(reply);
        instances.after_reply(engine);
    }
}
