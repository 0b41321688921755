//! The data of one `Store`: WASI context, resource table, memory limiter and
//! the request environment, plus the linker that exposes them to the guest.

use crate::engine::wit_host;
use crate::modules::ModuleForm;
use crate::sandbox_env::{CallEnv, SeededRng};
use wasmtime::ResourceLimiter;
use wasmtime::component::{HasSelf, Linker, Resource, ResourceTable};
use wasmtime_wasi::p2::bindings::clocks::monotonic_clock;
use wasmtime_wasi::p2::bindings::random::random;
use wasmtime_wasi::p2::{DynPollable, Pollable, subscribe};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView, async_trait};

/// Per-instance state.
pub(crate) struct SandboxState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) env: CallEnv,
    /// The guest's random numbers (the request's seeded generator).
    rng: SeededRng,
    /// Largest linear memory the guest may have, in bytes.
    pub(crate) memory_limit: usize,
    /// Set when a grow past `memory_limit` was refused.
    pub(crate) memory_denied: bool,
}

impl SandboxState {
    /// A state with no capabilities: no preopened directories, no
    /// environment, no arguments, no network, an empty stdin; clocks,
    /// randomness and output all come from `env`.
    pub(crate) fn new(env: CallEnv) -> Self {
        SandboxState {
            wasi: Self::wasi(&env),
            table: ResourceTable::new(),
            rng: env.rng(),
            env,
            memory_limit: usize::MAX,
            memory_denied: false,
        }
    }

    /// Whether no host resource (stream, pollable) is left in the table.
    pub(crate) fn resources_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The state a new instance has: the resource table built anew, the
    /// request environment kept (every call arms it). The WASI context is
    /// kept too: it holds no state a call can change (its clocks, random
    /// source and streams all read the request environment, and it has no
    /// preopens, environment or arguments), and building one costs a
    /// system call for entropy the sandbox never uses.
    pub(crate) fn renew(&mut self) {
        self.table = ResourceTable::new();
        self.memory_limit = usize::MAX;
        self.memory_denied = false;
    }

    fn wasi(env: &CallEnv) -> WasiCtx {
        WasiCtxBuilder::new()
            .stdout(env.stdout())
            .stderr(env.stderr())
            .wall_clock(env.wall_clock())
            .monotonic_clock(env.monotonic_clock())
            .secure_random(env.rng())
            .insecure_random(env.rng())
            .insecure_random_seed(0)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build()
    }
}

impl WasiView for SandboxState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl ResourceLimiter for SandboxState {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_limit {
            self.memory_denied = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

impl wit_host::Host for SandboxState {
    fn log(&mut self, level: wit_host::Level, message: String) {
        let level = match level {
            wit_host::Level::Debug => "debug",
            wit_host::Level::Info => "info",
            wit_host::Level::Warn => "warn",
            wit_host::Level::Error => "error",
        };
        self.env.log(level, message);
    }

    fn load_module(&mut self, name: String) -> Option<wit_host::ModuleCode> {
        let found = self.env.load_module(&name)?;
        Some(wit_host::ModuleCode {
            origin: found.origin,
            is_package: found.is_package,
            bytecode: found.form == ModuleForm::Bytecode,
            code: found.code.to_vec(),
        })
    }

    fn stat(&mut self, path: String) -> Option<wit_host::FileInfo> {
        let info = self.env.stat(&path)?;
        Some(wit_host::FileInfo {
            is_folder: info.is_folder,
            size: info.size,
        })
    }

    fn read_file(&mut self, path: String) -> Option<Vec<u8>> {
        self.env.read_file(&path).map(|bytes| bytes.to_vec())
    }

    fn list_folder(&mut self, path: String) -> Option<Vec<String>> {
        self.env.list_folder(&path)
    }

    fn query(&mut self, question: String) -> Result<String, String> {
        self.env.query(&question)
    }

    fn call_position(&mut self) -> Option<wit_host::Position> {
        let site = self.env.call_position()?;
        Some(wit_host::Position {
            file: site.file,
            line: site.line,
            column: site.column,
        })
    }
}

/// A pollable that is always ready: sleeping costs virtual time, not real.
struct Elapsed;

#[async_trait]
impl Pollable for Elapsed {
    async fn ready(&mut self) {}
}

impl SandboxState {
    fn sleep(&mut self, ns: u64) -> wasmtime::Result<Resource<DynPollable>> {
        self.env.sleep(ns)?;
        let elapsed = self.table.push(Elapsed)?;
        subscribe(&mut self.table, elapsed)
    }
}

// The guest's monotonic clock is virtual: a sleep advances it at once, and a
// sleep that would pass the deadline ends the call as a timeout. A guest
// blocked in the host could not be interrupted by epochs, and real sleeps
// would make results depend on timing.
impl monotonic_clock::Host for SandboxState {
    fn now(&mut self) -> wasmtime::Result<monotonic_clock::Instant> {
        Ok(self.env.monotonic_now())
    }

    fn resolution(&mut self) -> wasmtime::Result<monotonic_clock::Duration> {
        Ok(1)
    }

    fn subscribe_instant(
        &mut self,
        when: monotonic_clock::Instant,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        let now = self.env.monotonic_now();
        self.sleep(when.saturating_sub(now))
    }

    fn subscribe_duration(
        &mut self,
        duration: monotonic_clock::Duration,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        self.sleep(duration)
    }
}

/// The most random bytes one call may ask for: WASI's own default.
const MAX_RANDOM_BYTES: u64 = wasmtime_wasi::random::DEFAULT_MAX_SIZE;

// Filled in one pass, not drawn a word per byte: componentize-py's runtime
// asks for 2,496 random bytes on every call (it reseeds `random`).
impl random::Host for SandboxState {
    fn get_random_bytes(&mut self, len: u64) -> wasmtime::Result<Vec<u8>> {
        if len > MAX_RANDOM_BYTES {
            wasmtime::bail!("requested {len} random bytes, more than {MAX_RANDOM_BYTES}");
        }
        let mut bytes = vec![0; len as usize];
        rand::Rng::fill_bytes(&mut self.rng, &mut bytes);
        Ok(bytes)
    }

    fn get_random_u64(&mut self) -> wasmtime::Result<u64> {
        Ok(rand::Rng::next_u64(&mut self.rng))
    }
}

/// The `wasi:io/poll` interface WASI links, whose functions are replaced.
const POLL_INTERFACE: &str = "wasi:io/poll@0.2.12";

/// Runs `future` to its end if it needs no waiting: the sandbox's
/// pollables (virtual clocks, in-memory streams) are all ready at once.
/// WASI's own blocking calls start an async runtime for this, which
/// panics inside one (building a site snapshot runs in one), and would
/// wait for ever on something that can never be ready.
fn at_once<R>(future: impl Future<Output = wasmtime::Result<R>>) -> wasmtime::Result<R> {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(result) => result,
        std::task::Poll::Pending => {
            wasmtime::bail!("the guest waited for something that is never ready in the sandbox")
        }
    }
}

/// `wasi:io/poll`'s functions over the sandbox's pollables, none of which
/// waits (see [`at_once`]).
fn link_poll(linker: &mut Linker<SandboxState>) -> wasmtime::Result<()> {
    use wasmtime_wasi_io::bindings::wasi::io::poll::{Host, HostPollable};
    let mut poll = linker.instance(POLL_INTERFACE)?;
    poll.func_wrap(
        "poll",
        |mut store, (list,): (Vec<Resource<DynPollable>>,)| {
            let table = &mut store.data_mut().table;
            Ok((at_once(Host::poll(table, list))?,))
        },
    )?;
    poll.func_wrap(
        "[method]pollable.ready",
        |mut store, (pollable,): (Resource<DynPollable>,)| {
            let table = &mut store.data_mut().table;
            Ok((at_once(HostPollable::ready(table, pollable))?,))
        },
    )?;
    poll.func_wrap(
        "[method]pollable.block",
        |mut store, (pollable,): (Resource<DynPollable>,)| {
            let table = &mut store.data_mut().table;
            at_once(HostPollable::block(table, pollable))
        },
    )?;
    Ok(())
}

/// Everything the guest may import.
pub(crate) fn link(linker: &mut Linker<SandboxState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_sync(linker)?;
    linker.allow_shadowing(true);
    monotonic_clock::add_to_linker::<SandboxState, HasSelf<SandboxState>>(linker, |s| s)?;
    random::add_to_linker::<SandboxState, HasSelf<SandboxState>>(linker, |s| s)?;
    link_poll(linker)?;
    linker.allow_shadowing(false);
    wit_host::add_to_linker::<SandboxState, HasSelf<SandboxState>>(linker, |s| s)?;
    Ok(())
}
