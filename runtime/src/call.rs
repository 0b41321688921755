//! One request in one fresh instance, and the classification of how it ended.

use crate::abi::{self, Reply, Request};
use crate::engine::{PythonGuest, SandboxEngine};
use crate::failure::{Failure, GuestError, Output};
use crate::limits::Limits;
use crate::modules::Modules;
use crate::observed::{CallSite, Observed};
use crate::sandbox_env::{CallEnv, Captured, OutputOverflow, SleptPastDeadline};
use crate::sandbox_state::SandboxState;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::{Store, Trap};

/// One unit of work for the sandbox.
#[derive(Clone, Debug)]
pub struct Job {
    /// The ABI v1 request.
    pub request: Request,
    /// Its limits (already capped by the caller's policy).
    pub limits: Limits,
    /// What the guest's wall clock reads, as time since the Unix epoch: the
    /// build's timestamp, so that equal requests give equal results.
    pub clock: Duration,
    /// Where the macro call sits, handed to the guest only if it asks.
    pub call_site: Option<CallSite>,
    /// Filled in as the guest asks for the call site or the wall clock; the
    /// caller keeps a reference to learn what the result depends on.
    pub observed: Arc<Observed>,
    /// What the guest may import beyond its snapshot.
    pub modules: Modules,
    /// Where the guest's questions to the host are answered from.
    pub queries: crate::queries::Queries,
}

impl Job {
    /// A job with default limits and the clock at the Unix epoch.
    pub fn new(request: Request) -> Self {
        Job {
            request,
            limits: Limits::default(),
            clock: Duration::ZERO,
            call_site: None,
            observed: Arc::default(),
            modules: None,
            queries: None,
        }
    }

    /// The script's slug, for counters and reports.
    pub fn script(&self) -> &str {
        &self.request.script.slug
    }
}

/// A successful call.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The validated answer.
    pub reply: Reply,
    /// stdout, stderr and log lines of the call.
    pub captured: Captured,
    /// Fuel the call burned.
    pub fuel_used: u64,
    /// Time from the start of the call to its validated result.
    pub elapsed: Duration,
}

/// See [`SandboxEngine::reused_instance`].
#[doc(hidden)]
pub struct ReusedInstance(Prepared);

impl ReusedInstance {
    /// Run `job` in this (not fresh) instance.
    pub fn run(&mut self, job: &Job) -> Result<Outcome, Failure> {
        self.0.call_in_place(job)
    }
}

/// An instance created ahead of its request.
pub(crate) struct Prepared {
    pub(crate) store: Store<SandboxState>,
    guest: PythonGuest,
    /// Whether a call ended in a trap: the instance may then be in any state.
    pub(crate) trapped: bool,
    /// Kept awake while a call runs, for its deadline.
    pub(crate) clock: Arc<crate::epoch_clock::EpochClock>,
}

impl SandboxEngine {
    /// A fresh instance, not yet bound to a request.
    pub(crate) fn prepare(&self) -> Result<Prepared, Failure> {
        Ok(self.instantiate()?.0)
    }

    /// A fresh instance and the memories the runtime mapped for it (none
    /// with the pooling allocator), filled from the guest's memory image
    /// when its code was compiled apart from it.
    pub(crate) fn instantiate(
        &self,
    ) -> Result<(Prepared, Vec<Arc<crate::reset::host_memory::Region>>), Failure> {
        match self.base_images() {
            Some(images) => self
                .instantiate_from(images)
                .map(|(prepared, regions, _)| (prepared, regions)),
            None => self.instantiate_bare(),
        }
    }

    /// A fresh instance as wasmtime leaves it, and the memories the runtime
    /// mapped for it.
    pub(crate) fn instantiate_bare(
        &self,
    ) -> Result<(Prepared, Vec<Arc<crate::reset::host_memory::Region>>), Failure> {
        crate::reset::host_memory::take_created();
        let mut store = Store::new(&self.engine, SandboxState::new(CallEnv::default()));
        store.limiter(|state| state);
        // Instantiation runs no Python (the interpreter is a snapshot), but
        // give it room rather than guess its cost.
        store
            .set_fuel(u64::MAX)
            .map_err(|e| Failure::Unavailable(format!("cannot set fuel: {e:#}")))?;
        store.set_epoch_deadline(u64::MAX / 2);
        store.epoch_deadline_callback(deadline_reached);
        let guest = self
            .pre
            .instantiate(&mut store)
            .map_err(|e| Failure::Unavailable(format!("cannot instantiate the guest: {e:#}")))?;
        let regions = crate::reset::host_memory::take_created();
        let prepared = Prepared {
            store,
            guest,
            trapped: false,
            clock: self.clock.clone(),
        };
        Ok((prepared, regions))
    }

    /// An instance that serves several requests, for benchmarks only: it
    /// shows what instantiation costs. Production code never reuses one.
    #[doc(hidden)]
    pub fn reused_instance(&self) -> Result<ReusedInstance, Failure> {
        Ok(ReusedInstance(self.prepare()?))
    }

    /// Time the three phases of a fresh-instance call: instantiate, call,
    /// tear down. For benchmarks.
    #[doc(hidden)]
    pub fn phase_times(&self, job: &Job) -> Result<[Duration; 3], Failure> {
        let job = &*self.with_compiled_code(job, |check| self.run_fresh(check));
        let t0 = Instant::now();
        let mut prepared = self.prepare()?;
        let t1 = Instant::now();
        prepared.call_in_place(job)?;
        let t2 = Instant::now();
        drop(prepared);
        Ok([t1 - t0, t2 - t1, t2.elapsed()])
    }

    /// Run `job` in a fresh instance on this thread, whatever the
    /// isolation (with reset in place, instantiating costs about 10 ms).
    pub fn run_inline(&self, job: &Job) -> Result<Outcome, Failure> {
        let job = self.with_compiled_code(job, |check| self.run_fresh(check));
        self.run_fresh(&job)
    }

    /// Run `job` as it comes, in a new instance.
    pub(crate) fn run_fresh(&self, job: &Job) -> Result<Outcome, Failure> {
        crate::reset::host_memory::for_one_shot(|| self.prepare())?.call_in_place(job)
    }
}

impl Prepared {
    /// Call the guest's `handle` with `document`, as the instance stands.
    pub(crate) fn guest_call(
        &mut self,
        document: &str,
    ) -> wasmtime::Result<Result<String, String>> {
        self.guest.call_handle(&mut self.store, document)
    }

    /// Run `job` in this instance. The caller drops the instance afterwards
    /// (never reuses it), when tearing it down costs no one any latency.
    pub(crate) fn call_in_place(&mut self, job: &Job) -> Result<Outcome, Failure> {
        let limits = &job.limits;
        let document = job.request.to_json();
        if document.len() > limits.input_bytes {
            return Err(Failure::InputTooLarge {
                limit_bytes: limits.input_bytes,
            });
        }
        let seed: [u8; 32] = Sha256::digest(job.request.seed_document(&document).as_bytes()).into();
        let env = self.store.data().env.clone();
        env.arm(job, seed);
        self.store.data_mut().memory_limit = limits.memory_bytes;
        self.store.data_mut().memory_denied = false;
        self.store
            .set_fuel(limits.fuel)
            .map_err(|e| Failure::Unavailable(format!("cannot set fuel: {e:#}")))?;
        self.store
            .set_epoch_deadline(crate::engine::epoch_ticks(limits.timeout));

        let started = Instant::now();
        let awake = self.clock.awake();
        let result = self.guest.call_handle(&mut self.store, &document);
        drop(awake);
        self.trapped |= result.is_err();
        let elapsed = started.elapsed();
        let fuel_used = limits.fuel - self.store.get_fuel().unwrap_or(0);
        let memory_denied = self.store.data().memory_denied;
        let classified = match result {
            Err(error) => Err(classify_trap(&error, &env, memory_denied, limits)),
            Ok(Err(message)) => Err(Failure::AbiViolation(format!(
                "the guest rejected the request: {message}"
            ))),
            Ok(Ok(answer)) => {
                job.observed.exchanged(&document, &answer);
                match abi::parse_result(job.request.kind(), &answer, limits.output_bytes) {
                    Ok(Ok(reply)) => Ok(reply),
                    Ok(Err(guest)) => Err(classify_guest_error(guest, limits)),
                    Err(failure) => Err(failure),
                }
            }
        };
        // Stdout past its cap may also surface as a failed write the script
        // caught; the cap wins either way.
        if env.overflowed().is_some() {
            return Err(Failure::OutputTooLarge {
                what: Output::Stdout,
                limit_bytes: limits.stdout_bytes,
            });
        }
        let reply = classified.inspect_err(|_| {
            job.observed.keep_failed_output(env.take_captured());
        })?;
        Ok(Outcome {
            reply,
            captured: env.take_captured(),
            fuel_used,
            elapsed,
        })
    }
}

fn classify_guest_error(guest: GuestError, limits: &Limits) -> Failure {
    // In the sandbox an allocation fails only against the host's memory cap
    // (or wasm32's address space, which is above any cap).
    if guest.type_name == "MemoryError" {
        return Failure::MemoryLimit {
            detail: format!("{} bytes of linear memory", limits.memory_bytes),
        };
    }
    Failure::GuestError(guest)
}

fn classify_trap(
    error: &wasmtime::Error,
    env: &CallEnv,
    memory_denied: bool,
    limits: &Limits,
) -> Failure {
    let timeout = Failure::Timeout {
        limit_ms: u64::try_from(limits.timeout.as_millis()).unwrap_or(u64::MAX),
    };
    if env.overflowed().is_some() || error.downcast_ref::<OutputOverflow>().is_some() {
        return Failure::OutputTooLarge {
            what: Output::Stdout,
            limit_bytes: limits.stdout_bytes,
        };
    }
    if env.slept_past_deadline() || error.downcast_ref::<SleptPastDeadline>().is_some() {
        return timeout;
    }
    if let Some(exit) = error.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return Failure::GuestError(GuestError {
            type_name: "SystemExit".into(),
            message: format!("the script exited the interpreter with status {}", exit.0),
            line: None,
            column: None,
            traceback: String::new(),
        });
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => timeout,
        Some(Trap::OutOfFuel) => Failure::FuelExhausted { limit: limits.fuel },
        Some(Trap::StackOverflow) => Failure::MemoryLimit {
            detail: "the WebAssembly stack is exhausted (unbounded recursion?)".into(),
        },
        _ if memory_denied => Failure::MemoryLimit {
            detail: format!("{} bytes of linear memory", limits.memory_bytes),
        },
        trap => Failure::GuestError(GuestError {
            type_name: "InterpreterCrash".into(),
            message: match trap {
                Some(trap) => format!("the Python interpreter trapped: {trap}"),
                None => format!("the Python interpreter failed: {error:#}"),
            },
            line: None,
            column: None,
            traceback: String::new(),
        }),
    }
}

/// What a call does when its epoch deadline is reached: under a CPU
/// deadline (`CallEnv::limit_cpu`), run on for the CPU time it has left;
/// else, run on for the time the host spent answering its questions, which
/// is not the script's (see `CallEnv::credit`); else stop.
pub(crate) fn deadline_reached(
    store: wasmtime::StoreContextMut<'_, SandboxState>,
) -> wasmtime::Result<wasmtime::UpdateDeadline> {
    let env = &store.data().env;
    let more = match env.cpu_time_left() {
        Some(Ok(left)) => left,
        Some(Err(_)) => return Ok(wasmtime::UpdateDeadline::Interrupt),
        None => env.take_answer_credit(),
    };
    Ok(if more.is_zero() {
        wasmtime::UpdateDeadline::Interrupt
    } else {
        wasmtime::UpdateDeadline::Continue(crate::engine::epoch_ticks(more))
    })
}
