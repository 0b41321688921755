//! What a guest sees of the world: virtual clocks, seeded randomness, capped
//! stdout/stderr and a capped log, all per request.
//!
//! An instance may be created before its request is known (the workers keep
//! the next instance ready), so everything request-specific lives in one
//! [`CallEnv`] that is armed just before the call.

use crate::call::Job;
use crate::cpu_deadline::{CpuDeadline, CpuStop};
use crate::failure::Output;
use crate::modules::{ModuleCode, Modules};
use crate::observed::{CallSite, Observed};
use bytes::Bytes;
use rand::{SeedableRng, TryRng, rngs::SmallRng};
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, async_trait};

/// A log line a script sent through `ctx.log`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// `debug`, `info`, `warn` or `error`.
    pub level: &'static str,
    /// The message, truncated to the log cap.
    pub message: String,
}

/// The guest slept past its deadline: the virtual clock turns this into a
/// timeout at once instead of blocking a worker.
#[derive(Debug, thiserror::Error)]
#[error("slept past its deadline")]
pub(crate) struct SleptPastDeadline;

/// The guest wrote more than its stdout/stderr cap.
#[derive(Debug, thiserror::Error)]
#[error("wrote past its output cap")]
pub(crate) struct OutputOverflow;

#[derive(Default)]
struct CallState {
    wall_base: Duration,
    call_site: Option<CallSite>,
    observed: Arc<Observed>,
    modules: Modules,
    queries: crate::queries::Queries,
    answer_cap: usize,
    virtual_ns: u64,
    sleep_budget_ns: u64,
    slept_past_deadline: bool,
    seed: [u8; 32],
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    output_cap: usize,
    overflowed: Option<Output>,
    logs: Vec<LogLine>,
    log_bytes: usize,
    /// Time the host spent answering questions, not yet given back to the
    /// call's deadline.
    answer_credit: Duration,
    /// All the time given back so far (capped at [`MAX_ANSWER_CREDIT`]).
    answer_credit_total: Duration,
    /// A deadline on CPU time rather than wall time (see
    /// [`CallEnv::limit_cpu`]), and why it stopped the call if it did.
    cpu_deadline: Option<CpuDeadline>,
    cpu_stop: Option<CpuStop>,
}

/// The most time a call's questions may take on top of its timeout: the
/// host answers some (`ctx.fetch`) over the network, and that time is not
/// the script's, but it is bounded.
pub const MAX_ANSWER_CREDIT: Duration = Duration::from_secs(60);

/// Everything request-specific about one instance, shared by its clocks,
/// random source and pipes.
#[derive(Clone, Default)]
pub struct CallEnv(Arc<Mutex<CallState>>, Arc<AtomicU64>);

/// The largest total of log messages kept per call.
const LOG_CAP: usize = 64 << 10;

/// What the guest wrote while it ran.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Captured {
    /// stdout, lossily decoded.
    pub stdout: String,
    /// stderr, lossily decoded.
    pub stderr: String,
    /// `ctx.log` lines.
    pub logs: Vec<LogLine>,
}

impl CallEnv {
    fn lock(&self) -> MutexGuard<'_, CallState> {
        // A panic while holding this lock can only come from a bug in this
        // module; the state is still consistent, so go on with it.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Prepare for `job`: clocks at its timestamp, its call site, sleeping
    /// allowed up to its timeout, output capped at its stdout limit, what
    /// it asks for recorded in its `observed`, randomness from `seed`.
    pub(crate) fn arm(&self, job: &Job, seed: [u8; 32]) {
        let mut state = self.lock();
        *state = CallState {
            wall_base: job.clock,
            call_site: job.call_site.clone(),
            observed: job.observed.clone(),
            modules: job.modules.clone(),
            queries: job.queries.clone(),
            answer_cap: job.limits.input_bytes,
            sleep_budget_ns: u64::try_from(job.limits.timeout.as_nanos()).unwrap_or(u64::MAX),
            seed,
            output_cap: job.limits.stdout_bytes,
            ..CallState::default()
        };
        self.1.fetch_add(1, Ordering::Release);
    }

    /// The call site, for a guest that asks: from then on the result
    /// depends on it.
    pub(crate) fn call_position(&self) -> Option<CallSite> {
        let state = self.lock();
        let site = state.call_site.clone()?;
        state.observed.saw_position();
        Some(site)
    }

    /// The module the guest asks for, from the job's modules; noted in
    /// its `observed` whether found or not (either way the result depends
    /// on it).
    pub(crate) fn load_module(&self, name: &str) -> Option<ModuleCode> {
        let state = self.lock();
        state.observed.asked_for_module(name);
        state.modules.as_ref()?.find(name)
    }

    /// The answer to the guest's `question`, from the job's queries; the
    /// question and its answer are noted in its `observed`. An answer
    /// larger than the call's input limit is refused like a request that
    /// large.
    pub(crate) fn query(&self, question: &str) -> Result<String, String> {
        let (queries, observed, cap) = {
            let state = self.lock();
            (
                state.queries.clone(),
                state.observed.clone(),
                state.answer_cap,
            )
        };
        // Answered outside the lock: the caller's source may take its time,
        // which is given back to the call's deadline.
        let asked = std::time::Instant::now();
        let answer = crate::queries::effective_answer(
            question,
            || match &queries {
                Some(source) => source.answer(question),
                None => Err("this call cannot ask the host anything".to_owned()),
            },
            cap,
        );
        self.credit(asked.elapsed());
        if !observed.asked(&crate::queries::recorded_question(question), &answer) {
            return Err(format!(
                "a call may ask the host at most {} distinct questions",
                crate::queries::MAX_QUESTIONS
            ));
        }
        answer
    }

    /// Give `spent` (answering a question) back to the call's deadline, up
    /// to [`MAX_ANSWER_CREDIT`] in all.
    fn credit(&self, spent: Duration) {
        let mut state = self.lock();
        let room = MAX_ANSWER_CREDIT.saturating_sub(state.answer_credit_total);
        let given = spent.min(room);
        state.answer_credit += given;
        state.answer_credit_total += given;
    }

    /// Measure the call's timeout in the CPU time of the calling thread
    /// (which must run the guest), with a wall-clock cap, until the next
    /// `arm`: for imports whose failure is remembered (`crate::cpu_deadline`).
    pub(crate) fn limit_cpu(&self, budget: Duration) {
        self.lock().cpu_deadline = Some(CpuDeadline::start(budget));
    }

    /// Under [`CallEnv::limit_cpu`], the longest the call may still run, or
    /// why it must stop (then also kept for [`CallEnv::cpu_stop`]); `None`
    /// for a call under a wall-clock deadline.
    pub(crate) fn cpu_time_left(&self) -> Option<Result<Duration, CpuStop>> {
        let mut state = self.lock();
        let left = state.cpu_deadline?.left();
        if let Err(stop) = left {
            state.cpu_stop = Some(stop);
        }
        Some(left)
    }

    /// Why the CPU deadline stopped the call, if it did.
    pub(crate) fn cpu_stop(&self) -> Option<CpuStop> {
        self.lock().cpu_stop
    }

    /// The time to add to the call's deadline when it is reached (zero:
    /// the call is out of time).
    pub(crate) fn take_answer_credit(&self) -> Duration {
        std::mem::take(&mut self.lock().answer_credit)
    }

    /// The job's module source, for a path of the guest's file tree; none
    /// for a path that is not absolute and normalized.
    fn tree(&self, path: &str) -> Option<Arc<dyn crate::ModuleSource>> {
        if !crate::modules::is_tree_path(path) {
            return None;
        }
        self.lock().modules.clone()
    }

    /// What the job's file tree holds at `path`.
    pub(crate) fn stat(&self, path: &str) -> Option<crate::FileInfo> {
        self.tree(path)?.stat(path)
    }

    /// The file at `path` of the job's file tree.
    pub(crate) fn read_file(&self, path: &str) -> Option<Arc<[u8]>> {
        self.tree(path)?.read_file(path)
    }

    /// The names in the folder at `path` of the job's file tree.
    pub(crate) fn list_folder(&self, path: &str) -> Option<Vec<String>> {
        self.tree(path)?.list_folder(path)
    }

    pub(crate) fn slept_past_deadline(&self) -> bool {
        self.lock().slept_past_deadline
    }

    pub(crate) fn overflowed(&self) -> Option<Output> {
        self.lock().overflowed
    }

    pub(crate) fn take_captured(&self) -> Captured {
        let mut state = self.lock();
        Captured {
            stdout: String::from_utf8_lossy(&std::mem::take(&mut state.stdout)).into_owned(),
            stderr: String::from_utf8_lossy(&std::mem::take(&mut state.stderr)).into_owned(),
            logs: std::mem::take(&mut state.logs),
        }
    }

    pub(crate) fn log(&self, level: &'static str, message: String) {
        let mut state = self.lock();
        let room = LOG_CAP.saturating_sub(state.log_bytes);
        if room == 0 {
            return;
        }
        let mut message = message;
        if message.len() > room {
            let mut cut = room;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        state.log_bytes += message.len();
        state.logs.push(LogLine { level, message });
    }

    /// Advance virtual time by a sleep of `ns`, or fail when it would pass the
    /// deadline.
    pub(crate) fn sleep(&self, ns: u64) -> Result<(), SleptPastDeadline> {
        let mut state = self.lock();
        if ns > state.sleep_budget_ns {
            state.slept_past_deadline = true;
            return Err(SleptPastDeadline);
        }
        state.sleep_budget_ns -= ns;
        state.virtual_ns = state.virtual_ns.saturating_add(ns);
        Ok(())
    }

    pub(crate) fn monotonic_now(&self) -> u64 {
        self.lock().virtual_ns
    }

    fn write(&self, stream: Stream, bytes: &[u8]) -> StreamResult<()> {
        let mut state = self.lock();
        let used = state.stdout.len() + state.stderr.len();
        if used + bytes.len() > state.output_cap {
            state.overflowed = Some(Output::Stdout);
            return Err(StreamError::Trap(OutputOverflow.into()));
        }
        match stream {
            Stream::Stdout => state.stdout.extend_from_slice(bytes),
            Stream::Stderr => state.stderr.extend_from_slice(bytes),
        }
        Ok(())
    }

    /// The guest's wall clock.
    pub(crate) fn wall_clock(&self) -> impl HostWallClock + 'static {
        VirtualWallClock(self.clone())
    }

    /// The guest's monotonic clock.
    pub(crate) fn monotonic_clock(&self) -> impl HostMonotonicClock + 'static {
        VirtualMonotonicClock(self.clone())
    }

    /// A random source for the guest, seeded from the request's seed at
    /// its first use in each request.
    pub(crate) fn rng(&self) -> SeededRng {
        SeededRng {
            env: self.clone(),
            armed: u64::MAX,
            rng: SmallRng::from_seed([0; 32]),
        }
    }

    /// The guest's stdout.
    pub(crate) fn stdout(&self) -> CapturedStream {
        CapturedStream(self.clone(), Stream::Stdout)
    }

    /// The guest's stderr.
    pub(crate) fn stderr(&self) -> CapturedStream {
        CapturedStream(self.clone(), Stream::Stderr)
    }
}

struct VirtualWallClock(CallEnv);

impl HostWallClock for VirtualWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }

    fn now(&self) -> Duration {
        let state = self.0.lock();
        state.observed.saw_wall_clock();
        state.wall_base + Duration::from_nanos(state.virtual_ns)
    }
}

struct VirtualMonotonicClock(CallEnv);

impl HostMonotonicClock for VirtualMonotonicClock {
    fn resolution(&self) -> u64 {
        1
    }

    fn now(&self) -> u64 {
        self.0.monotonic_now()
    }
}

/// Randomness seeded from the request, so equal requests see equal numbers.
///
/// The generator is the source's own, reseeded when the environment was
/// armed for a new request: wasmtime draws random bytes one at a time, and
/// the guest asks for about 2,500 per call, so a lock per draw would cost
/// tens of microseconds a call.
pub(crate) struct SeededRng {
    env: CallEnv,
    armed: u64,
    rng: SmallRng,
}

impl SeededRng {
    fn current(&mut self) -> &mut SmallRng {
        let armed = self.env.1.load(Ordering::Acquire);
        if armed != self.armed {
            self.rng = SmallRng::from_seed(self.env.lock().seed);
            self.armed = armed;
        }
        &mut self.rng
    }
}

impl TryRng for SeededRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        self.current().try_next_u32()
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        self.current().try_next_u64()
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Infallible> {
        self.current().try_fill_bytes(dest)
    }
}

#[derive(Clone, Copy)]
enum Stream {
    Stdout,
    Stderr,
}

/// stdout or stderr of one instance, kept in memory up to the cap.
#[derive(Clone)]
pub(crate) struct CapturedStream(CallEnv, Stream);

impl IsTerminal for CapturedStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CapturedStream {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

#[async_trait]
impl Pollable for CapturedStream {
    async fn ready(&mut self) {}
}

#[async_trait]
impl OutputStream for CapturedStream {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.0.write(self.1, &bytes)
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        // Grant more than any cap: CPython drops what a short write leaves
        // over, so output past the cap must reach `write` (and fail the
        // call) rather than vanish.
        Ok(1 << 30)
    }
}

impl tokio::io::AsyncWrite for CapturedStream {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let result = self
            .0
            .write(self.1, buf)
            .map(|()| buf.len())
            .map_err(|_| std::io::Error::other(OutputOverflow));
        std::task::Poll::Ready(result)
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}
