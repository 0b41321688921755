//! The process-wide engine: configuration, the compiled guest (cached on
//! disk), the linker and the `InstancePre` every request instantiates from.

use crate::artifact_cache::ArtifactCache;
use crate::counters::IsolationCounters;
use crate::failure::Failure;
use crate::guest_component::{CompileObserver, CompileStage, GuestComponent};
use crate::isolation::{Isolation, IsolationMode, ResolvedIsolation};
use crate::sandbox_state::{self, SandboxState};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

wasmtime::component::bindgen!({
    path: "../python-wasm/wit",
    world: "python-guest",
});

pub(crate) use self::blogmark::guest::host as wit_host;

/// How often the epoch ticker advances: the resolution of time limits.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(1);

/// `time` in epoch ticks, rounded up to at least one.
pub(crate) fn epoch_ticks(time: Duration) -> u64 {
    u64::try_from(time.as_nanos().div_ceil(EPOCH_TICK.as_nanos()).max(1)).unwrap_or(u64::MAX)
}

/// Settings of the engine that are fixed for the life of the process.
#[derive(Clone, Debug)]
pub struct EngineSettings {
    /// The guest component.
    pub component: GuestComponent,
    /// Told when the guest is compiled (not when it loads from cache).
    pub on_compile: Option<CompileObserver>,
    /// Where compiled components are cached; `None` compiles every time.
    pub cache_dir: Option<PathBuf>,
    /// How many instances may exist at once (workers, inline callers and the
    /// instance each worker keeps ready).
    pub max_instances: u32,
    /// The largest memory limit any request may ask for.
    pub max_memory_bytes: usize,
    /// Bytes of each linear memory kept resident between instances: the pages
    /// a call dirties are reset in place instead of being unmapped, so the
    /// next instance does not fault them in again.
    pub keep_resident_bytes: usize,
    /// How each request gets a fresh state (defaults to
    /// `$BLOGMARK_ISOLATION`, else `auto`).
    pub isolation: Isolation,
    /// With reset in place, compare the whole memory with its image after
    /// every this many resets (0: never). A comparison costs about as much
    /// as copying the memory once (1-2 ms for this guest).
    pub verify_every: u64,
    /// When the disk cache has no optimized (Cranelift) code for the guest,
    /// compile it with the baseline compiler (Winch: about a quarter of the
    /// time, code that runs slower) rather than wait; the caller then has
    /// the optimized code made apart ([`SandboxEngine::precompile`]) for
    /// the runs that follow. [`LoadReport::baseline`] says which was used.
    pub baseline_first: bool,
    /// Modules imported once into the image every instance starts from
    /// (reset in place only; ignored with a fresh instance per request,
    /// whose way to a site snapshot is [`crate::snapshot`]).
    pub preload: Option<crate::Preload>,
    /// With reset in place, compile the guest whole, its memory in its data
    /// segments, rather than apart from it (see `guest_image`): only to
    /// check that both start from the same bytes.
    #[doc(hidden)]
    pub keep_data_in_code: bool,
}

/// The default of [`EngineSettings::verify_every`]: every reset in debug
/// builds (the test profile), and in release often enough to catch a
/// wrong reset quickly while costing under 1% of the time.
pub const DEFAULT_VERIFY_EVERY: u64 = if cfg!(debug_assertions) { 1 } else { 1024 };

impl EngineSettings {
    /// Defaults for `component`, caching in the user's cache directory.
    pub fn new(component: impl Into<GuestComponent>) -> Self {
        EngineSettings {
            component: component.into(),
            on_compile: None,
            cache_dir: default_cache_dir(),
            max_instances: 64,
            max_memory_bytes: 1 << 30,
            keep_resident_bytes: 64 << 20,
            isolation: Isolation::from_env().unwrap_or_default(),
            verify_every: DEFAULT_VERIFY_EVERY,
            baseline_first: false,
            preload: None,
            keep_data_in_code: false,
        }
    }
}

/// The user's cache folder of Blogmark: `$BLOGMARK_CACHE_DIR`, else the
/// platform's cache directory's `blogmark`.
pub fn cache_root() -> Option<PathBuf> {
    std::env::var_os("BLOGMARK_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| dirs::cache_dir().map(|d| d.join("blogmark")))
}

/// Where compiled guests are kept: [`cache_root`]'s `compiled`.
pub fn default_cache_dir() -> Option<PathBuf> {
    cache_root().map(|d| d.join("compiled"))
}

/// The engine, the compiled guest and everything needed to instantiate it.
pub struct SandboxEngine {
    pub(crate) engine: Engine,
    pub(crate) pre: PythonGuestPre<SandboxState>,
    pub(crate) compiled: crate::compiled_scripts::CompiledScripts,
    build_id: String,
    load: LoadReport,
    isolation: ResolvedIsolation,
    verify_every: u64,
    /// Whether the guest was compiled apart from its memory (see
    /// `guest_image`): every instance is then filled from `images`.
    pub(crate) data_apart: bool,
    /// Each memory as instantiation leaves it: the guest's memory kept
    /// apart, else taken from the first instance reset in place; shared by
    /// the engine's instances.
    pub(crate) images: OnceLock<crate::preload::Images>,
    /// What to import into the image, with reset in place.
    preload: Option<crate::Preload>,
    /// The images with the preload's modules (`None` when it failed) and
    /// what it did, made by the first instance that needs them.
    preloaded: OnceLock<(Option<crate::preload::Images>, crate::PreloadReport)>,
    isolation_counters: IsolationCounters,
    /// Advances the epoch while calls run (started by the runtime).
    pub(crate) clock: Arc<crate::epoch_clock::EpochClock>,
}

/// How the compiled guest was obtained, for logs and benchmarks.
#[derive(Clone, Debug)]
pub struct LoadReport {
    /// Whether the compiled artifact came from the disk cache.
    pub from_cache: bool,
    /// Time spent loading (or compiling) the component.
    pub elapsed: Duration,
    /// Whether the code is the baseline compiler's (see
    /// [`EngineSettings::baseline_first`]).
    pub baseline: bool,
    /// Why code compiled now was not stored in the disk cache (a folder
    /// that cannot be written, a full disk): the next run compiles again.
    pub not_cached: Option<String>,
}

/// Which compiler makes the guest's code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tier {
    /// Cranelift: optimized code, about 7 s for this guest on 2 cores.
    Optimized,
    /// Winch: a single pass, about 1.7 s, code that runs slower.
    Baseline,
}

pub(crate) fn engine_config(settings: &EngineSettings, mode: IsolationMode, tier: Tier) -> Config {
    let mut pool = PoolingAllocationConfig::default();
    let instances = settings.max_instances.max(1);
    pool.total_component_instances(instances)
        // componentize-py's guest is a dozen core instances, each with at most
        // a memory and a table.
        .total_core_instances(instances * 16)
        .total_memories(instances * 4)
        .total_tables(instances * 16)
        .max_memories_per_component(8)
        .max_tables_per_component(32)
        .table_elements(200_000)
        .max_core_instance_size(8 << 20)
        .max_component_instance_size(8 << 20)
        .max_memory_size(settings.max_memory_bytes)
        .linear_memory_keep_resident(settings.keep_resident_bytes)
        .table_keep_resident(1 << 20)
        // PAGEMAP_SCAN restores at most 32 dirty regions and decommits the
        // rest; a CPython call dirties pages all over its heap, so the next
        // call faults them back in. Measured (release, 1,000 calls): with it,
        // call 1.6-1.9 ms and teardown 0.5 ms; without, call 0.3-0.5 ms and
        // teardown 2.1 ms. Teardown runs after the answer is sent, so
        // latency wins.
        .pagemap_scan(Enabled::No);
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .consume_fuel(true)
        .epoch_interruption(true)
        .memory_init_cow(true)
        .cranelift_opt_level(wasmtime::OptLevel::Speed)
        // Fill function tables at instantiation, which the workers do ahead
        // of the request, rather than lazily during the call.
        .table_lazy_init(false)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    match tier {
        // Only a compile that follows another of the same functions (a site
        // snapshot's) finds anything; the others pay a copy of their output.
        Tier::Optimized => {
            config
                .enable_incremental_compilation(crate::function_cache::FunctionCache::shared())
                .expect("Cranelift is the compiler");
        }
        // Winch fills tables lazily only; it meters fuel and checks epochs
        // as Cranelift does, so every limit holds the same.
        Tier::Baseline => {
            config
                .strategy(wasmtime::Strategy::Winch)
                .table_lazy_init(true);
        }
    }
    if mode == IsolationMode::Reset {
        // Instances are made once per worker, not per request, so the pool
        // and copy-on-write bring nothing, and reset in place needs memories
        // it maps itself (wasmtime 48 does not combine them with CoW).
        config
            .memory_init_cow(false)
            .allocation_strategy(InstanceAllocationStrategy::OnDemand)
            .with_host_memory(Arc::new(crate::reset::host_memory::HostMemoryCreator));
    }
    config
}

impl SandboxEngine {
    /// Build the engine and load the guest, compiling it only when the disk
    /// cache has no artifact for this component and these settings.
    pub fn new(settings: &EngineSettings) -> Result<Arc<Self>, Failure> {
        let started = Instant::now();
        let unavailable = |what: String| {
            Failure::Unavailable(format!(
                "{what} (rebuild the guest with `{}`)",
                REBUILD_HINT
            ))
        };
        let isolation = settings.isolation.resolve().map_err(Failure::Unavailable)?;
        let configure = |tier| {
            Engine::new(&engine_config(settings, isolation.mode, tier))
                .map_err(|e| Failure::Unavailable(format!("cannot configure wasmtime: {e:#}")))
        };
        let mut engine = configure(Tier::Optimized)?;
        let cannot_read = |e: std::io::Error| {
            unavailable(format!(
                "cannot read the guest component {}: {e}",
                settings.component
            ))
        };
        let (sha256, read) = settings.component.identify().map_err(cannot_read)?;
        let apart = apart(settings, isolation.mode, &sha256, read.as_deref(), true);
        let code_key = apart
            .as_ref()
            .map_or(sha256.as_str(), |a| a.key())
            .to_owned();
        let mut cache = ArtifactCache::new(settings.cache_dir.clone(), &engine, &code_key);
        // Winch compiles for x86-64 only; without a cache folder the
        // optimized code could never be made apart.
        let baseline = settings.baseline_first
            && cfg!(target_arch = "x86_64")
            && settings.cache_dir.is_some()
            && !cache.holds_artifact();
        if baseline {
            engine = configure(Tier::Baseline)?;
            cache = ArtifactCache::new(settings.cache_dir.clone(), &engine, &code_key);
        }
        let (component, obtained) = cache
            .load_or_compile(&engine, || {
                if let Some(observer) = &settings.on_compile {
                    (observer.0)(CompileStage::Started);
                }
                let compiled = compile(
                    &engine,
                    &settings.component,
                    read.as_deref(),
                    apart.as_ref(),
                );
                if let Some(observer) = &settings.on_compile {
                    (observer.0)(CompileStage::Finished);
                }
                compiled
            })
            .map_err(|e| unavailable(format!("the guest component is unusable: {e:#}")))?;
        let images = OnceLock::new();
        if let Some(apart) = &apart {
            let whole = || whole_bytes(&settings.component, read.as_deref());
            let image = apart.image(whole).map_err(unavailable)?;
            let _ = images.set(vec![Arc::new(image)]);
        }
        drop(read);
        crate::function_cache::FunctionCache::shared().clear();
        let mut linker = Linker::new(&engine);
        sandbox_state::link(&mut linker)
            .map_err(|e| Failure::Unavailable(format!("cannot link the guest: {e:#}")))?;
        let pre = linker
            .instantiate_pre(&component)
            .and_then(PythonGuestPre::new)
            .map_err(|e| unavailable(format!("the guest does not fit the host: {e:#}")))?;
        let load = LoadReport {
            from_cache: obtained.is_loaded(),
            elapsed: started.elapsed(),
            baseline,
            not_cached: obtained.not_stored(),
        };
        tracing::debug!(?load, %isolation, "python sandbox ready");
        let preload = settings
            .preload
            .clone()
            .filter(|_| isolation.mode == IsolationMode::Reset);
        Ok(Arc::new(SandboxEngine {
            engine,
            pre,
            compiled: Default::default(),
            build_id: cache.key().to_string(),
            load,
            isolation,
            verify_every: settings.verify_every,
            data_apart: apart.is_some(),
            images,
            preload,
            preloaded: OnceLock::new(),
            isolation_counters: IsolationCounters::default(),
            clock: Arc::default(),
        }))
    }

    /// Compile the guest's optimized code into the disk cache, unless it is
    /// there already (then this only checks that it loads): what a caller
    /// of [`EngineSettings::baseline_first`] runs apart, so that later runs
    /// load it.
    pub fn precompile(settings: &EngineSettings) -> Result<LoadReport, Failure> {
        let started = Instant::now();
        let isolation = settings.isolation.resolve().map_err(Failure::Unavailable)?;
        let engine = Engine::new(&engine_config(settings, isolation.mode, Tier::Optimized))
            .map_err(|e| Failure::Unavailable(format!("cannot configure wasmtime: {e:#}")))?;
        let (sha256, read) = settings
            .component
            .identify()
            .map_err(|e| Failure::Unavailable(format!("cannot read the guest: {e}")))?;
        // Made apart for a cache that exists: no folder is made again.
        let apart = apart(settings, isolation.mode, &sha256, read.as_deref(), false);
        let code_key = apart.as_ref().map_or(sha256.as_str(), |a| a.key());
        let cache =
            ArtifactCache::new(settings.cache_dir.clone(), &engine, code_key).only_into_existing();
        let (_, obtained) = cache
            .load_or_compile(&engine, || {
                compile(
                    &engine,
                    &settings.component,
                    read.as_deref(),
                    apart.as_ref(),
                )
            })
            .map_err(|e| Failure::Unavailable(format!("cannot compile the guest: {e:#}")))?;
        crate::function_cache::FunctionCache::shared().clear();
        Ok(LoadReport {
            from_cache: obtained.is_loaded(),
            elapsed: started.elapsed(),
            baseline: false,
            not_cached: obtained.not_stored(),
        })
    }

    /// Whether the disk cache holds the guest's optimized code for
    /// `settings` (so that [`EngineSettings::baseline_first`] changes
    /// nothing).
    pub fn holds_optimized(settings: &EngineSettings) -> bool {
        let Ok(isolation) = settings.isolation.resolve() else {
            return false;
        };
        let Ok(engine) = Engine::new(&engine_config(settings, isolation.mode, Tier::Optimized))
        else {
            return false;
        };
        let Ok((sha256, _)) = settings.component.identify() else {
            return false;
        };
        // Only asks: the code a reset engine would load is the split
        // component's (a component that cannot be split is then compiled
        // apart once more, for nothing).
        let code_key = if isolation.mode == IsolationMode::Reset && !settings.keep_data_in_code {
            crate::guest_image::split_key(&sha256)
        } else {
            sha256
        };
        ArtifactCache::new(settings.cache_dir.clone(), &engine, &code_key).holds_artifact()
    }

    /// Identifies the guest build and engine settings: part of every result
    /// cache key, so a new runtime never reuses an old runtime's results.
    pub fn build_id(&self) -> &str {
        &self.build_id
    }

    /// How the compiled guest was obtained.
    pub fn load_report(&self) -> &LoadReport {
        &self.load
    }

    /// The isolation in use and why.
    pub fn isolation(&self) -> &ResolvedIsolation {
        &self.isolation
    }

    /// What the isolation did so far.
    pub fn isolation_counters(&self) -> &IsolationCounters {
        &self.isolation_counters
    }

    /// The images with the preloaded modules, made on first use (the
    /// imports run then, or the image is read from the disk); `None` when
    /// there is no preload or it failed.
    pub(crate) fn preloaded_images(&self) -> Option<&crate::preload::Images> {
        let plan = self.preload.as_ref()?;
        self.preloaded
            .get_or_init(|| crate::preload::images(self, plan))
            .0
            .as_ref()
    }

    /// The images of the guest's memories kept apart from its code (see
    /// `guest_image`), which every instance is filled from; `None` when
    /// instantiation fills them.
    pub(crate) fn base_images(&self) -> Option<&crate::preload::Images> {
        self.images.get().filter(|_| self.data_apart)
    }

    /// The SHA-256 of each memory of a new instance, as the guest's first
    /// instruction would find it, and how many of its bytes are not zero:
    /// what a test compares across engines.
    #[doc(hidden)]
    pub fn new_instance_memories(&self) -> Result<Vec<(String, usize)>, Failure> {
        use sha2::Digest as _;
        let (prepared, regions) = self.instantiate()?;
        let digests = regions
            .iter()
            .map(|region| {
                // Read while its instance (`prepared`, alive here) lives.
                let bytes = crate::reset::instance::memory_of(region);
                let set = bytes.iter().filter(|b| **b != 0).count();
                (hex::encode(sha2::Sha256::digest(bytes)), set)
            })
            .collect();
        drop(prepared);
        Ok(digests)
    }

    /// Whether the guest was compiled apart from its memory (see
    /// `guest_image`).
    #[doc(hidden)]
    pub fn data_apart(&self) -> bool {
        self.data_apart
    }

    /// Whether instances start from a preloaded image.
    pub(crate) fn has_preload(&self) -> bool {
        self.preload.is_some()
    }

    /// What the preload did, running it now if no instance has yet; `None`
    /// without one (no modules asked for, or a fresh instance per request).
    pub fn preload_report(&self) -> Option<&crate::PreloadReport> {
        self.preloaded_images();
        self.preloaded.get().map(|(_, report)| report)
    }

    pub(crate) fn verify_every(&self) -> u64 {
        self.verify_every
    }

    /// The wasmtime engine (for the epoch ticker).
    pub(crate) fn wasmtime(&self) -> &Engine {
        &self.engine
    }
}

/// The guest's code apart from its memory, with reset in place (whose
/// memories the runtime fills itself) when the component can be split;
/// `read`: its bytes, when identifying it read them; `create`: whether
/// keeping its image may make the cache folder.
fn apart(
    settings: &EngineSettings,
    mode: IsolationMode,
    sha256: &str,
    read: Option<&[u8]>,
    create: bool,
) -> Option<crate::guest_image::Apart> {
    if mode != IsolationMode::Reset || settings.keep_data_in_code {
        return None;
    }
    let dir = settings.cache_dir.as_deref();
    crate::guest_image::Apart::choose(sha256, (dir, create), || {
        whole_bytes(&settings.component, read)
    })
}

/// The bytes of `component`: `read`, when identifying it read them.
fn whole_bytes(component: &GuestComponent, read: Option<&[u8]>) -> std::io::Result<Vec<u8>> {
    read.map_or_else(|| component.bytes(), |bytes| Ok(bytes.to_vec()))
}

/// Compile `component` for `engine` (split, when `apart`), from `read`
/// when identifying it already read its bytes.
fn compile(
    engine: &Engine,
    component: &GuestComponent,
    read: Option<&[u8]>,
    apart: Option<&crate::guest_image::Apart>,
) -> wasmtime::Result<Component> {
    if let Some(apart) = apart {
        let split = apart
            .component(|| whole_bytes(component, read))
            .map_err(wasmtime::Error::msg)?;
        return Component::new(engine, split);
    }
    match read {
        Some(bytes) => Component::new(engine, bytes),
        None => Component::new(engine, component.bytes()?),
    }
}

/// The command that rebuilds the guest, for `Unavailable` messages.
const REBUILD_HINT: &str = "cargo build -p blogmark-guest";
