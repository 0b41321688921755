//! Snapshots: the guest pre-initialized further, with more modules imported.
//!
//! The guest is a snapshot of CPython taken after its dispatcher was
//! imported (componentize-py's build). A caller that knows which modules
//! its scripts import can have them imported once, here, instead of on
//! every call: the guest is instrumented with `component-init-transform`
//! (the machinery componentize-py pre-initializes with), instantiated, asked
//! to import the modules (a `preload` request), and its memory and globals
//! are written back into a new component. The import runs under the same
//! kind of limits as a call (its code may be a site's untrusted module),
//! and a snapshot that would keep a WASI handle open (a module that opened
//! a stream or a file while importing) is refused: a new instance would
//! not have that handle.
//!
//! Every snapshot also makes the objects it holds immortal (see
//! `immortal`), so that calls write fewer pages.
//!
//! Snapshots are kept on disk by a key the caller computes from every input
//! (base guest, module list, module sources), and compiled once like the
//! base guest.

pub(crate) mod immortal;

use crate::call::Job;
use crate::engine::PythonGuest;
use crate::epoch_clock::EpochClock;
use crate::failure::Failure;
use crate::guest_component::GuestComponent;
use crate::modules::ModuleSource;
use crate::sandbox_env::CallEnv;
use crate::sandbox_state::{self, SandboxState};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wasmtime::component::{Component, ComponentNamedList, Instance, Lift, Linker};
use wasmtime::{Engine, Store};
use wasmtime_wasi::async_trait;

/// What to build a snapshot from.
#[derive(Clone)]
pub struct SnapshotPlan {
    /// The guest to start from.
    pub base: GuestComponent,
    /// The modules to import, in order.
    pub modules: Vec<String>,
    /// Where the modules the guest does not hold come from.
    pub source: Arc<dyn ModuleSource>,
    /// Identifies the snapshot: a hash of every input (base guest, module
    /// list, module sources). Its file is `<key>.wasm` in the directory.
    pub key: String,
    /// How long the imports may take.
    pub timeout: Duration,
    /// The fuel the imports may burn.
    pub fuel: u64,
    /// The largest memory the guest may grow to while importing.
    pub memory_bytes: usize,
    /// The isolation the snapshot will run under: the imports are compiled
    /// with the same engine settings, so that compiling the snapshot
    /// afterwards reuses their functions.
    pub isolation: crate::Isolation,
    /// Build it even if the same inputs failed before (a failure is
    /// remembered beside the snapshots, so that it is not paid again on
    /// every render).
    pub retry_failed: bool,
}

impl std::fmt::Debug for SnapshotPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotPlan")
            .field("base", &self.base)
            .field("modules", &self.modules)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// A snapshot ready to load, and how it was obtained.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// The component to give the engine.
    pub component: GuestComponent,
    /// Whether it was built now (else it was on disk).
    pub built: bool,
    /// Time spent building it (zero when it was on disk).
    pub elapsed: Duration,
    /// Modules whose import failed, and why: they are left out of the
    /// snapshot and fail again at the call that imports them.
    pub failed: Vec<(String, String)>,
}

/// The `[module, why]` pairs of a preload answer's (or a record's)
/// `failed` list; `None` when it is not a list.
pub(crate) fn failed_list(value: &serde_json::Value) -> Option<Vec<(String, String)>> {
    Some(
        value
            .as_array()?
            .iter()
            .filter_map(|pair| Some((pair[0].as_str()?.to_owned(), pair[1].as_str()?.to_owned())))
            .collect(),
    )
}

/// `$BLOGMARK_CACHE_DIR`'s (or the platform cache's) `snapshots` folder.
pub fn default_snapshot_dir() -> Option<PathBuf> {
    crate::engine::default_cache_dir()
        .and_then(|compiled| compiled.parent().map(|p| p.join("snapshots")))
}

/// The snapshot of `plan`, from `dir` or built into it.
pub fn snapshot(plan: &SnapshotPlan, dir: &Path) -> Result<Snapshot, Failure> {
    let wasm = dir.join(format!("{}.wasm", plan.key));
    let meta = dir.join(format!("{}.json", plan.key));
    if let Some(found) = on_disk(&wasm, &meta) {
        return Ok(found);
    }
    let marker = dir.join(format!("{}.failed", plan.key));
    if !plan.retry_failed
        && let Ok(why) = std::fs::read_to_string(&marker)
    {
        return Err(Failure::Unavailable(format!(
            "{why} (remembered from an earlier build with the same guest, modules and \
             sources, and not tried again until one of them changes or a render runs \
             with --no-cache)"
        )));
    }
    let started = Instant::now();
    let unavailable = |what: &str, e: &dyn std::fmt::Display| {
        Failure::Unavailable(format!("cannot build the site snapshot: {what}: {e:#}"))
    };
    // Processes that need the same snapshot at once (parallel tests, a
    // render beside `host serve`) build it once: the others wait here, then
    // find it on disk.
    std::fs::create_dir_all(dir).map_err(|e| unavailable("cannot create its folder", &e))?;
    let lock = std::fs::File::create(dir.join(format!("{}.lock", plan.key)))
        .map_err(|e| unavailable("cannot lock its folder", &e))?;
    lock.lock()
        .map_err(|e| unavailable("cannot lock its folder", &e))?;
    if let Some(found) = on_disk(&wasm, &meta) {
        return Ok(found);
    }
    let base = plan
        .base
        .bytes()
        .map_err(|e| unavailable("cannot read the guest", &e))?;
    let failed = Arc::new(Mutex::new(None));
    let run = preload_run(plan, failed.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| unavailable("cannot start a runtime", &e))?;
    let output = match runtime.block_on(component_init_transform::initialize(&base, run)) {
        Ok(output) => output,
        Err(e) if e.chain().any(|cause| cause.is::<Starved>()) => {
            return Err(Failure::Unavailable(format!("{e:#}")));
        }
        Err(e) => {
            // The guest's own failure (an import that traps, loops or
            // keeps a handle): the same inputs fail the same way.
            let why = format!("cannot build the site snapshot: the guest: {e:#}");
            let _ = write_atomically(&marker, why.as_bytes());
            return Err(Failure::Unavailable(why));
        }
    };
    let _ = std::fs::remove_file(&marker);
    let failed: Vec<(String, String)> = failed
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .unwrap_or_default();
    let sha256 = hex::encode(Sha256::digest(&output));
    write_atomically(&wasm, &output).map_err(|e| unavailable("cannot write it", &e))?;
    let record = serde_json::json!({ "sha256": sha256, "failed": failed });
    write_atomically(&meta, record.to_string().as_bytes())
        .map_err(|e| unavailable("cannot write it", &e))?;
    prune(dir, KEEP);
    Ok(Snapshot {
        component: GuestComponent::KnownFile { sha256, path: wasm },
        built: true,
        elapsed: started.elapsed(),
        failed,
    })
}

/// A snapshot written earlier: its record names its hash, so loading it
/// from the compiled cache needs no reading of the component.
fn on_disk(wasm: &Path, meta: &Path) -> Option<Snapshot> {
    let record: serde_json::Value = serde_json::from_slice(&std::fs::read(meta).ok()?).ok()?;
    if !wasm.is_file() {
        return None;
    }
    let sha256 = record["sha256"].as_str()?.to_owned();
    let failed = failed_list(&record["failed"])?;
    Some(Snapshot {
        component: GuestComponent::KnownFile {
            sha256,
            path: wasm.to_path_buf(),
        },
        built: false,
        elapsed: Duration::ZERO,
        failed,
    })
}

/// Snapshots kept per cache folder: a site's import set changes now and
/// then, and each snapshot (with its compiled code) takes tens of MB.
pub(crate) const KEEP: usize = 8;

/// Snapshots younger than this are never pruned, however many there are.
const PRUNE_GRACE: Duration = Duration::from_secs(3600);

/// Whether `path` is a layer of scripts over a site snapshot's image
/// (`<key>.<scripts>.image`, see `crate::preload`), not a snapshot.
fn is_layer(path: &Path) -> bool {
    path.file_stem()
        .is_some_and(|stem| stem.to_string_lossy().contains('.'))
}

/// Remove all but the `keep` newest snapshots of `dir`, and their
/// compiled code and layers. Layers are not counted: a site's script edits
/// must not push out the snapshots that cost imports or a compile.
pub(crate) fn prune(dir: &Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut records: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json" || x == "image"))
        .filter(|p| !is_layer(p))
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .collect();
    records.sort_by_key(|r| std::cmp::Reverse(r.0));
    let compiled = crate::engine::default_cache_dir();
    let now = std::time::SystemTime::now();
    for (written, record) in records.into_iter().skip(keep) {
        // Another process may have written it a moment ago and be about to
        // compile or read it (parallel renders, serve's background builds).
        if now.duration_since(written).unwrap_or_default() < PRUNE_GRACE {
            continue;
        }
        let sha = (record.extension().is_some_and(|x| x == "json"))
            .then(|| std::fs::read(&record).ok())
            .flatten()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .and_then(|v| v["sha256"].as_str().map(str::to_owned));
        let _ = std::fs::remove_file(record.with_extension("wasm"));
        let _ = std::fs::remove_file(record.with_extension("image"));
        let _ = std::fs::remove_file(record.with_extension("json"));
        let _ = std::fs::remove_file(record.with_extension("lock"));
        let _ = std::fs::remove_file(record.with_extension("failed"));
        let _ = std::fs::remove_file(&record);
        remove_layers(&record, 0);
        if let (Some(sha), Some(compiled)) = (sha, &compiled) {
            crate::artifact_cache::remove_for(compiled, &sha);
        }
    }
}

/// Remove all but the `keep` newest layers over the same image as the
/// layer `written` (which is among them, being the newest).
pub(crate) fn prune_layers(written: &Path, keep: usize) {
    if let Some(key) = written.file_stem().and_then(|s| s.to_str()) {
        let image = key.split('.').next().unwrap_or(key);
        remove_layers(&written.with_file_name(format!("{image}.image")), keep);
    }
}

/// Remove all but the `keep` newest layers (and their failure markers)
/// over the snapshot whose record is `record`.
fn remove_layers(record: &Path, keep: usize) {
    let (Some(dir), Some(key)) = (record.parent(), record.file_stem().and_then(|s| s.to_str()))
    else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = format!("{key}.");
    let mut layers: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with(&prefix) && (n.ends_with(".image") || n.ends_with(".failed"))
            })
        })
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .collect();
    layers.sort_by_key(|l| std::cmp::Reverse(l.0));
    for (_, layer) in layers.into_iter().skip(keep) {
        let _ = std::fs::remove_file(layer);
    }
}

pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut file, bytes)?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The import ran out of wall-clock time with CPU time left: the machine
/// was busy, and the same inputs may well succeed at the next render.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Starved(String);

/// The export through which the transform reads the guest's memory.
const MEMORY_EXPORT: &str = "component-init-get-memory";

type Invoker = Box<dyn component_init_transform::Invoker>;
/// Modules that did not import, and why; filled in by the preload.
type Failed = Arc<Mutex<Option<Vec<(String, String)>>>>;
type Run =
    Box<dyn FnOnce(Vec<u8>) -> futures::future::BoxFuture<'static, anyhow::Result<Invoker>> + Send>;

/// What `component_init_transform` runs on the instrumented guest: the
/// preload request, under limits; `failed` receives what did not import.
fn preload_run(plan: &SnapshotPlan, failed: Failed) -> Run {
    let plan = plan.clone();
    Box::new(move |instrumented: Vec<u8>| {
        Box::pin(async move {
            // On a thread of its own, outside the async runtime this runs
            // in: WASI's blocking calls (a module that prints or sleeps
            // while it imports) start one of their own, which panics
            // inside another.
            let invoker = std::thread::scope(|scope| {
                scope
                    .spawn(|| preload(&plan, &instrumented, &failed))
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })?;
            Ok(Box::new(invoker) as Invoker)
        })
    })
}

fn preload(
    plan: &SnapshotPlan,
    instrumented: &[u8],
    failed: &Failed,
) -> anyhow::Result<Instrumented> {
    let mut settings = crate::EngineSettings::new(plan.base.clone());
    settings.isolation = plan.isolation;
    settings.max_instances = 1;
    let mode = settings
        .isolation
        .resolve()
        .map_err(anyhow::Error::msg)?
        .mode;
    let engine = Engine::new(&crate::engine::engine_config(
        &settings,
        mode,
        crate::engine::Tier::Optimized,
    ))?;
    let component = Component::new(&engine, instrumented)?;
    let mut linker = Linker::new(&engine);
    sandbox_state::link(&mut linker)?;
    let env = CallEnv::default();
    let request = serde_json::json!({ "abi": 1, "kind": "preload", "modules": plan.modules });
    // The environment a call would have (clock, output cap, modules); the
    // request itself is the preload document above.
    let script = crate::abi::Script {
        slug: "preload".into(),
        entrypoint: String::new(),
        path: String::new(),
        source: String::new(),
        code: None,
        preloaded: None,
    };
    let mut job = Job::new(crate::abi::Request::new(
        script,
        crate::abi::Operation::Check,
    ));
    job.modules = Some(plan.source.clone());
    job.limits.timeout = plan.timeout;
    env.arm(&job, [0; 32]);
    let mut state = SandboxState::new(env.clone());
    state.memory_limit = plan.memory_bytes;
    let mut store = Store::new(&engine, state);
    store.limiter(|state| state);
    store.set_fuel(plan.fuel)?;
    // The snapshot is read out as one list of the whole memory, which
    // wasmtime caps at 128 MiB a call by default: a site that imports
    // large packages (sympy, babel) has more. The memory limit bounds it.
    store.set_hostcall_fuel(plan.memory_bytes.saturating_add(1 << 20));
    // The deadline is the timeout in the CPU time of this thread (a busy
    // machine must not make a remembered failure), checked at every
    // timeout's worth of epochs, which this engine's own clock ticks while
    // the import runs.
    store.epoch_deadline_callback(crate::call::deadline_reached);
    env.limit_cpu(plan.timeout);
    store.set_epoch_deadline(crate::engine::epoch_ticks(plan.timeout));
    let instance = linker.instantiate(&mut store, &component)?;
    let guest = PythonGuest::new(&mut store, &instance)?;
    let clock = Arc::new(EpochClock::default());
    let ticker = clock.start(engine.clone())?;
    let awake = clock.awake();
    let answer = guest.call_handle(&mut store, &request.to_string());
    drop(awake);
    clock.stop();
    let _ = ticker.join();
    let answer = match answer {
        Ok(Ok(text)) => text,
        Ok(Err(refused)) => anyhow::bail!("the guest refused the preload request: {refused}"),
        Err(trap) if store.data().memory_denied => {
            anyhow::bail!("importing the modules needs more than the memory limit ({trap:#})")
        }
        Err(trap) => {
            if let Some(why) = crate::preload::starved(&env, plan.timeout) {
                return Err(Starved(why).into());
            }
            anyhow::bail!(
                "importing the modules did not finish within the limits ({} s of CPU, {} fuel): \
                 {trap:#}",
                plan.timeout.as_secs(),
                plan.fuel
            )
        }
    };
    if !store.data().resources_empty() {
        anyhow::bail!("importing the modules opened a stream or file that a snapshot cannot keep");
    }
    let answer: serde_json::Value = serde_json::from_str(&answer)?;
    let list = failed_list(&answer["failed"])
        .ok_or_else(|| anyhow::anyhow!("the preload answer has no `failed` list: {answer}"))?;
    *failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(list);
    let objects = immortal::listed(&answer["objects"])?;
    // Reading memory and globals back is the transform's, not the script's.
    store.set_fuel(u64::MAX)?;
    store.set_epoch_deadline(u64::MAX / 2);
    Ok(Instrumented {
        store,
        instance,
        objects,
    })
}

/// The instrumented guest after the imports, read by the transform.
struct Instrumented {
    store: Store<SandboxState>,
    instance: Instance,
    /// The objects the guest listed, to be made immortal in the memory the
    /// snapshot keeps.
    objects: Vec<immortal::Listed>,
}

impl Instrumented {
    /// Call the export `function`, which takes nothing and returns one value.
    fn call<R>(&mut self, function: &str) -> anyhow::Result<R>
    where
        (R,): ComponentNamedList + Lift + Send + Sync + 'static,
    {
        let func = self
            .instance
            .get_typed_func::<(), (R,)>(&mut self.store, function)?;
        Ok(func.call(&mut self.store, ())?.0)
    }
}

#[async_trait]
impl component_init_transform::Invoker for Instrumented {
    async fn call_s32(&mut self, function: &str) -> anyhow::Result<i32> {
        self.call(function)
    }

    async fn call_s64(&mut self, function: &str) -> anyhow::Result<i64> {
        self.call(function)
    }

    async fn call_f32(&mut self, function: &str) -> anyhow::Result<f32> {
        self.call(function)
    }

    async fn call_f64(&mut self, function: &str) -> anyhow::Result<f64> {
        self.call(function)
    }

    async fn call_list_u8(&mut self, function: &str) -> anyhow::Result<Vec<u8>> {
        let mut bytes: Vec<u8> = self.call(function)?;
        if function == MEMORY_EXPORT {
            let made = immortal::make_immortal(&mut bytes, &self.objects);
            tracing::debug!(
                listed = self.objects.len(),
                immortal = made.immortal,
                skipped = made.skipped,
                "snapshot objects made immortal"
            );
        }
        Ok(bytes)
    }
}
