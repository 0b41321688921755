//! A session: the sandbox runtime of one command, started on first use,
//! and its three entry points (a macro call, a transform, a check).

use super::abi_map::{self, MacroCall};
use super::build_results::{BuildResults, Memo};
use super::cache_keys::{CacheKeys, KeyParts};
use super::failure_text::counted_as;
use super::report::SandboxReport;
use super::settings::Settings;
use super::site_snapshot::{self, SitePlan};
use super::{Failure, Post};
use crate::content::Page;
use crate::diagnostics::Diagnostic;
use crate::scripts::Script;
use crate::site_queries::SiteQueries;
use crate::stats::{CallKind, Event, Recorder};
use crate::store::NewResult;
use blogmark_runtime::abi::{Operation, Reply, Request};
use blogmark_runtime::{
    CallSite, Captured, Isolation, IsolationMode, Job, Limits, Mode, Runtime, RuntimeConfig,
};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// What the guest printed and logged in one run, and what the run cost.
#[derive(Clone, Debug, Default)]
pub struct RunOutput {
    /// Its stdout.
    pub stdout: String,
    /// Its stderr.
    pub stderr: String,
    /// Its `ctx.log` lines: level and message.
    pub logs: Vec<(String, String)>,
    /// Fuel it burned.
    pub fuel_used: u64,
    /// Wall time from asking to the answer (queue included).
    pub elapsed: Duration,
}

impl RunOutput {
    /// What the guest printed and logged, at no cost yet.
    fn printed(captured: Captured) -> RunOutput {
        RunOutput {
            stdout: captured.stdout,
            stderr: captured.stderr,
            logs: captured
                .logs
                .into_iter()
                .map(|l| (l.level.to_owned(), l.message))
                .collect(),
            ..RunOutput::default()
        }
    }
}

/// An answer, and the run it came from when this call ran the script
/// (`None` when a cache answered).
#[derive(Clone, Debug)]
pub struct Answer<T> {
    /// The answer.
    pub value: T,
    /// The run, when there was one for this call.
    pub run: Option<Arc<RunOutput>>,
    /// The questions it asked of the site (data, pages), the run's or the
    /// stored result's: what it depends on besides its request.
    pub reads: Vec<String>,
}

impl Traced {
    /// The stored text (JSON) of a `what` result as its value.
    fn decoded<T: serde::de::DeserializeOwned>(self, what: &str) -> Tried<T> {
        let run = self.run.clone();
        let result = self.result.and_then(|stored| {
            let value = serde_json::from_str(&stored)
                .map_err(|e| Failure::AbiViolation(format!("a stored {what} result: {e}")))?;
            Ok(Answer {
                value,
                run: self.run,
                reads: self.reads,
            })
        });
        (result, run)
    }
}

/// A call's answer or failure, and its run (`None` when a cache answered;
/// there even when the call failed, for the workbench).
pub type Tried<T> = (Result<Answer<T>, Failure>, Option<Arc<RunOutput>>);

/// A call's result, its run (`None` when a cache answered) and the
/// questions it asked of the site.
struct Traced {
    result: Result<String, Failure>,
    run: Option<Arc<RunOutput>>,
    reads: Vec<String>,
}

/// What a check found in a script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    /// Its top-level functions, in source order.
    pub functions: Vec<String>,
    /// Whether its entrypoint is among them.
    pub has_entrypoint: bool,
}

impl Checked {
    /// What is wrong with `script`, if anything: a missing entrypoint.
    pub fn problem(&self, script: &Script) -> Option<String> {
        if self.has_entrypoint {
            return None;
        }
        let found = if self.functions.is_empty() {
            "none".to_owned()
        } else {
            self.functions.join(", ")
        };
        Some(format!(
            "no function `{}` (functions found: {found})",
            script.entrypoint
        ))
    }
}

/// A sandbox runtime that outlives one session (`host serve` keeps one
/// across renders and workbench runs, so no render pays for starting it).
/// It is started by the first session that needs it, and started again
/// when a session asks for another mode, isolation or guest (site.toml or the
/// site snapshot changed).
///
/// A site snapshot of its own component (a fresh instance per request) is
/// built in the background: until it is ready the runtime runs the base
/// guest, each call importing its modules, and the first session after it
/// is ready starts the runtime again on it. An edit that adds an import
/// never waits for a compile.
#[derive(Default)]
pub struct SharedSandbox {
    started: Mutex<Option<Started>>,
    /// Keys of the site snapshots being built in the background.
    building: Arc<Mutex<HashSet<String>>>,
    /// When to try again a site snapshot that failed for the machine's sake.
    retries: super::snapshot_retry::Retries,
}

/// A started runtime and what it was started for: its mode, isolation and
/// guest (the build id names the site snapshot too), and whether it runs
/// the base guest while its site snapshot is built (`provisional`; its
/// load report says whether it runs baseline code).
struct Started {
    mode: Mode,
    isolation: Isolation,
    guest: String,
    provisional: bool,
    runtime: Arc<Runtime>,
}

impl std::fmt::Debug for SharedSandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedSandbox")
    }
}

impl SharedSandbox {
    /// Whether the site snapshot of `plan` is built and compiled (or failed).
    fn ready(&self, plan: &SitePlan) -> bool {
        snapshot_ready(plan, &self.building)
    }

    /// Whether a runtime started provisionally (the base guest while its
    /// site snapshot builds, or baseline code while the optimized compiles)
    /// can now start on what it waited for.
    fn better_ready(
        &self,
        settings: &Settings,
        snapshot: Option<&SitePlan>,
        started: &Started,
    ) -> bool {
        let waits_for_code = started.runtime.engine().load_report().baseline;
        (waits_for_code && super::precompile::optimized_ready(settings))
            || (started.provisional && snapshot.is_some_and(|plan| self.ready(plan)))
            || snapshot.is_some_and(|plan| self.image_retry_due(plan, started))
    }

    /// Whether to start the runtime again to make the site snapshot image
    /// the machine was too busy to make (the render that does waits for
    /// the imports, as the first one did).
    fn image_retry_due(&self, plan: &SitePlan, started: &Started) -> bool {
        let failed = started
            .runtime
            .engine()
            .preload_report()
            .is_some_and(|report| report.retry);
        if !failed {
            self.retries.forget(&plan.key);
            return false;
        }
        self.retries.due(&plan.key, Instant::now())
    }

    /// Build again in the background a site component snapshot whose last
    /// build ended with nothing settled (the machine was too busy), once its
    /// wait is over; until it is ready the runtime goes on without it.
    fn retry_build(&self, plan: &SitePlan, settings: &Settings) {
        let building = self
            .building
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&plan.key);
        if building {
            return;
        }
        if site_snapshot::settled(plan) {
            self.retries.forget(&plan.key);
        } else if self.retries.due(&plan.key, Instant::now()) {
            site_snapshot::build_in_background(
                plan,
                super::precompile::guest_component(),
                settings,
                &self.building,
            );
        }
    }

    fn get_or_start(
        &self,
        settings: &Settings,
        snapshot: Option<&SitePlan>,
        start: impl FnOnce() -> Result<(Runtime, bool), Failure>,
    ) -> Result<Arc<Runtime>, Failure> {
        let mut started = self.started.lock().unwrap_or_else(|e| e.into_inner());
        let guest_key = format!(
            "{}/{}",
            settings.build_id,
            snapshot.map(|p| p.key.as_str()).unwrap_or_default()
        );
        if let Some(now) = started.as_ref()
            && now.mode == settings.mode
            && now.isolation == settings.isolation
            && now.guest == guest_key
            && !self.better_ready(settings, snapshot, now)
        {
            return Ok(now.runtime.clone());
        }
        // The old runtime goes first: two at once would hold twice the memory.
        *started = None;
        let (runtime, provisional) = start()?;
        let runtime = Arc::new(runtime);
        *started = Some(Started {
            mode: settings.mode,
            isolation: settings.isolation,
            guest: guest_key,
            provisional,
            runtime: runtime.clone(),
        });
        Ok(runtime)
    }
}

/// Whether the component snapshot of `plan` is built and compiled (or
/// failed): settled on the disk, and not among those `building`.
fn snapshot_ready(plan: &SitePlan, building: &Mutex<HashSet<String>>) -> bool {
    site_snapshot::settled(plan)
        && !building
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&plan.key)
}

/// The Python side of one command: the enabled macros by name, the
/// transforms in order, the sandbox (started when first needed), the
/// results of this and earlier builds, and the statistics.
pub struct Session {
    macros: HashMap<String, Script>,
    transforms: Vec<Script>,
    /// Render hooks, by path.
    hooks: Vec<Script>,
    /// Generators, by path.
    generators: Vec<Script>,
    settings: Settings,
    runtime: OnceLock<Result<Arc<Runtime>, Failure>>,
    shared: Option<Arc<SharedSandbox>>,
    results: BuildResults,
    stats: Recorder,
    /// [`Session::script_identity`] by script path, worked out once.
    identities: Mutex<HashMap<String, String>>,
    /// The site snapshot the runtime starts from, when one is needed.
    snapshot: Option<SitePlan>,
    /// How long getting the runtime took (compile or load, site snapshot,
    /// workers): reported apart, never in a call's latency.
    prepared: OnceLock<Duration>,
    /// See [`Session::for_one_call`].
    one_call: bool,
    /// Whether the sandbox was started ahead of the first call
    /// ([`Session::start_sandbox`]).
    started_early: std::sync::atomic::AtomicBool,
    /// What calls may ask of the site; an empty site until a build says.
    queries: Mutex<Arc<SiteQueries>>,
}

impl Session {
    /// A session for `scripts` (only valid, enabled scripts take part; of
    /// two macros with one name, the first by path wins), answering from
    /// `stored` results of earlier builds when `settings` use the cache.
    pub fn new(
        scripts: &[Script],
        settings: Settings,
        stored: impl Into<super::StoredResults>,
    ) -> (Self, Vec<Diagnostic>) {
        let mut macros: HashMap<String, Script> = HashMap::new();
        let mut diagnostics = Vec::new();
        for script in scripts.iter().filter(|s| s.is_runnable_macro()) {
            if let Some(first) = macros.get(&script.name) {
                diagnostics.push(Diagnostic::warning(
                    &script.path,
                    1,
                    1,
                    format!(
                        "macro `{}` is also defined by {}, which wins (first by path)",
                        script.name, first.path
                    ),
                ));
            } else {
                macros.insert(script.name.clone(), script.clone());
            }
        }
        let mut transforms: Vec<Script> = scripts
            .iter()
            .filter(|s| s.is_runnable_transform())
            .cloned()
            .collect();
        transforms.sort_by(|a, b| (a.order, &a.name, &a.path).cmp(&(b.order, &b.name, &b.path)));
        let (hooks, hook_diagnostics) = runnable_hooks(scripts);
        diagnostics.extend(hook_diagnostics);
        let mut generators: Vec<Script> = scripts
            .iter()
            .filter(|s| s.is_runnable_generator())
            .cloned()
            .collect();
        generators.sort_by(|a, b| a.path.cmp(&b.path));
        let runnable: Vec<&Script> = macros
            .values()
            .chain(&transforms)
            .chain(&hooks)
            .chain(&generators)
            .collect();
        let (snapshot, problems) = site_snapshot::plan(&runnable, &settings);
        diagnostics.extend(problems);
        let mut settings = settings;
        if let Some(plan) = &snapshot {
            // Results of calls made in a snapshot are keyed by it.
            settings.build_id = format!("{}+site-{}", settings.build_id, plan.identity);
        }
        let results = BuildResults::new(stored.into(), settings.use_cache);
        let session = Session {
            macros,
            transforms,
            hooks,
            generators,
            settings,
            runtime: OnceLock::new(),
            shared: None,
            results,
            stats: Recorder::default(),
            identities: Mutex::default(),
            snapshot,
            prepared: OnceLock::new(),
            one_call: false,
            started_early: std::sync::atomic::AtomicBool::new(false),
            queries: Mutex::default(),
        };
        diagnostics.extend(session.library_problems().iter().cloned());
        diagnostics.extend(session.import_problems(scripts.iter().filter(|s| {
            s.is_runnable_macro()
                || s.is_runnable_transform()
                || s.is_runnable_hook()
                || s.is_runnable_generator()
        })));
        (session, diagnostics)
    }

    /// A session for commands on scripts given to each call (the
    /// workbench's, which shares the server's sandbox and so its site
    /// snapshot).
    pub fn for_command(settings: Settings) -> Self {
        Session::new(&[], settings, HashMap::new()).0
    }

    /// [`Session::for_command`] for a one-off command (`host scripts
    /// check`, `host run-script`): it starts from the base guest, since a
    /// site snapshot (its imports, or its image read from the disk) costs
    /// more than the few calls of such a command save.
    pub fn for_one_off(mut settings: Settings) -> Self {
        settings.snapshot = false;
        Session::for_command(settings)
    }

    /// A session for a command that makes one call (`host scripts run`):
    /// [`Session::for_one_off`], its call in a new instance that compiles
    /// its script itself, nothing kept for a next call.
    pub fn for_one_call(settings: Settings) -> Self {
        let mut session = Session::for_one_off(settings);
        session.one_call = true;
        session
    }

    /// Set what the guest's clock reads from now on (see
    /// [`super::guest_clock`]): a build knows it once its pages are read,
    /// after its session (and maybe its sandbox) started.
    pub fn set_clock(&mut self, clock: Duration) {
        self.settings.clock = clock;
    }

    /// Whether this session has scripts a build may call: macros, hooks,
    /// transforms or generators.
    pub fn runs_scripts(&self) -> bool {
        !(self.macros.is_empty()
            && self.hooks.is_empty()
            && self.transforms.is_empty()
            && self.generators.is_empty())
    }

    /// Start the sandbox now rather than at the first call, with one
    /// instance made at once for the first call. A failure to start is
    /// kept and reported by the first call, as when a call starts it.
    pub fn start_sandbox(&self) {
        self.started_early
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = self.runtime();
    }

    /// Let calls from now on ask `queries` about the site (its data, its
    /// pages): a build sets it once its pages are known (generators see
    /// the pages of files, the rest every page).
    pub fn answer_from(&self, queries: Arc<SiteQueries>) {
        *self.queries.lock().unwrap_or_else(|e| e.into_inner()) = queries;
    }

    /// What calls may ask of the site now.
    pub fn queries(&self) -> Arc<SiteQueries> {
        self.queries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// This session with its runtime taken from (or started into) `shared`.
    pub fn sharing(mut self, shared: Arc<SharedSandbox>) -> Self {
        self.shared = Some(shared);
        self
    }

    /// What `script`'s results depend on besides the request: its text
    /// and every library module it imports, directly or through another.
    /// Part of its results' keys, and of the page cache's.
    pub fn script_identity(&self, script: &Script) -> String {
        let mut known = self.identities.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(identity) = known.get(&script.path) {
            return identity.clone();
        }
        known
            .entry(script.path.clone())
            .or_insert_with(|| self.settings.modules.identity(script))
            .clone()
    }

    /// The imports `scripts` will really hit that nothing satisfies, as
    /// errors at their line: the same check for `render` and `scripts
    /// check` (see [`super::SiteModules::import_problems`]).
    pub fn import_problems<'s>(
        &self,
        scripts: impl IntoIterator<Item = &'s Script>,
    ) -> Vec<Diagnostic> {
        self.settings.modules.import_problems(
            scripts
                .into_iter()
                .map(|s| (s.path.as_str(), s.source.as_str())),
        )
    }

    /// What is wrong with the site's `scripts/lib/` and `scripts/vendor/`.
    pub fn library_problems(&self) -> &[Diagnostic] {
        self.settings.modules.problems()
    }

    /// The enabled Python macro called `name`.
    pub fn macro_named(&self, name: &str) -> Option<&Script> {
        self.macros.get(name)
    }

    /// The enabled Python macros, each with its name.
    pub fn macros(&self) -> impl Iterator<Item = (&str, &Script)> {
        self.macros
            .iter()
            .map(|(name, script)| (name.as_str(), script))
    }

    /// Whether any Python macro is enabled.
    pub fn has_macros(&self) -> bool {
        !self.macros.is_empty()
    }

    /// The enabled render hooks, by path.
    pub fn hooks(&self) -> &[Script] {
        &self.hooks
    }

    /// Whether any render hook is enabled.
    pub fn has_hooks(&self) -> bool {
        !self.hooks.is_empty()
    }

    /// The hook that renders elements of type `element` (for a code block,
    /// in language `lang`): one that names the language wins over one
    /// that takes every code block.
    pub fn hook_for(&self, element: &str, lang: &str) -> Option<&Script> {
        let mut on = self.hooks.iter().filter(|s| s.hook == Some(element));
        if element != "codeblock" {
            return on.next();
        }
        let hooks: Vec<&Script> = on.collect();
        hooks
            .iter()
            .find(|s| s.languages.iter().any(|l| l == lang))
            .or_else(|| hooks.iter().find(|s| s.languages.is_empty()))
            .copied()
    }

    /// The bundle file `name` of `page`, as a hook's image element shows it.
    pub fn resource_of(&self, page: &Page, name: &str) -> Option<serde_json::Value> {
        let resource = page.resources.iter().find(|r| r.name == name)?;
        serde_json::to_value(resource.info(&self.settings.root)?).ok()
    }

    /// The enabled generators, by path.
    pub fn generators(&self) -> &[Script] {
        &self.generators
    }

    /// The enabled transforms, in the order they run: by `order`, then name.
    pub fn transforms(&self) -> &[Script] {
        &self.transforms
    }

    /// Run the macro `script` for `call`, on `page` when the script
    /// declares `uses_page`. Identical requests run once per session, and
    /// not at all when an earlier build stored their result.
    pub fn call_macro(
        &self,
        script: &Script,
        call: &MacroCall,
        page: Option<&Page>,
    ) -> Result<Answer<String>, Failure> {
        let traced = self.traced_macro(script, call, page);
        traced.result.map(|value| Answer {
            value,
            run: traced.run,
            reads: traced.reads,
        })
    }

    /// [`Session::call_macro`], with what the run printed and cost even
    /// when it failed (the workbench shows both).
    pub fn try_macro(
        &self,
        script: &Script,
        call: &MacroCall,
        page: Option<&Page>,
    ) -> (Result<String, Failure>, Option<Arc<RunOutput>>) {
        let traced = self.traced_macro(script, call, page);
        (traced.result, traced.run)
    }

    fn traced_macro(&self, script: &Script, call: &MacroCall, page: Option<&Page>) -> Traced {
        let request = Request::new(
            abi_map::script(script),
            Operation::Macro {
                call: call.to_abi(),
                page: page
                    .filter(|_| script.uses_page)
                    .map(|p| abi_map::page(p, &self.settings.root)),
                site: self.settings.site.clone(),
            },
        );
        self.run_traced(
            script,
            CallKind::Python,
            &call.name,
            request,
            Some(call.call_site()),
            |reply| match reply {
                Reply::Html(html) => Ok(html),
                other => Err(Failure::AbiViolation(format!("a macro answered {other:?}"))),
            },
        )
    }

    /// Run the transform `script` on `post`: the new post, or `None` when
    /// the transform left it unchanged. Cached like macro calls.
    pub fn transform(&self, script: &Script, post: Post) -> Result<Option<Post>, Failure> {
        self.try_transform(script, post).0
    }

    /// [`Session::transform`], with what the run printed and cost even
    /// when it failed (the workbench shows both).
    pub fn try_transform(
        &self,
        script: &Script,
        post: Post,
    ) -> (Result<Option<Post>, Failure>, Option<Arc<RunOutput>>) {
        let path = post.path.clone();
        let request = Request::new(
            abi_map::script(script),
            Operation::Transform {
                post,
                site: self.settings.site.clone(),
            },
        );
        let Traced {
            result: stored,
            run,
            ..
        } = self.run_traced(
            script,
            CallKind::Transform,
            &script.name,
            request,
            None,
            |reply| {
                let new = match reply {
                    Reply::Post(new) if new.path == path => Some(new),
                    Reply::Post(new) => {
                        return Err(Failure::AbiViolation(format!(
                            "a transform of {path} answered a post at {}",
                            new.path
                        )));
                    }
                    Reply::Unchanged => None,
                    other => {
                        return Err(Failure::AbiViolation(format!(
                            "a transform answered {other:?}"
                        )));
                    }
                };
                Ok(serde_json::to_string(&new).expect("a post always serializes"))
            },
        );
        let post = stored.and_then(|stored| {
            serde_json::from_str(&stored).map_err(|e| {
                Failure::AbiViolation(format!("a stored transform result is unreadable: {e}"))
            })
        });
        (post, run)
    }

    /// Run the render hook `script` on `element` of `page` (the page is in
    /// the request when the script declares `uses_page`): its HTML, or
    /// `None` for the default rendering. Cached like macro calls.
    pub fn call_hook(
        &self,
        script: &Script,
        element: blogmark_runtime::abi::Element,
        page: Option<&Page>,
    ) -> Tried<Option<String>> {
        let request = Request::new(
            abi_map::script(script),
            Operation::Hook {
                element,
                page: page
                    .filter(|_| script.uses_page)
                    .map(|p| abi_map::page(p, &self.settings.root)),
                site: self.settings.site.clone(),
            },
        );
        let traced = self.run_traced(
            script,
            CallKind::Hook,
            &script.name,
            request,
            None,
            |reply| match reply {
                Reply::Hook(html) => Ok(serde_json::to_string(&html).unwrap_or_default()),
                other => Err(Failure::AbiViolation(format!("a hook answered {other:?}"))),
            },
        );
        traced.decoded("hook")
    }

    /// Run the generator `script`: the pages and files it makes. Cached
    /// like macro calls, keyed on what it read of the site.
    pub fn generate(&self, script: &Script) -> Tried<blogmark_runtime::abi::Generated> {
        let request = Request::new(
            abi_map::script(script),
            Operation::Generator {
                site: self.settings.site.clone(),
            },
        );
        let traced = self.run_traced(
            script,
            CallKind::Generator,
            &script.name,
            request,
            None,
            |reply| match reply {
                Reply::Generated(made) => Ok(serde_json::to_string(&made).unwrap_or_default()),
                other => Err(Failure::AbiViolation(format!(
                    "a generator answered {other:?}"
                ))),
            },
        );
        traced.decoded("generator")
    }

    /// Compile `script` in the sandbox and list its functions, without
    /// running it.
    pub fn check(&self, script: &Script) -> Result<Checked, Failure> {
        let job = Job {
            limits: self.settings.limits(script),
            clock: self.settings.clock,
            modules: Some(self.settings.modules.clone()),
            ..Job::new(Request::new(abi_map::script(script), Operation::Check))
        };
        match self.runtime()?.run(job)?.reply {
            Reply::Checked {
                functions,
                has_entrypoint,
                ..
            } => Ok(Checked {
                functions,
                has_entrypoint,
            }),
            other => Err(Failure::AbiViolation(format!("a check answered {other:?}"))),
        }
    }

    /// Run `job` as given, with this session's limits and modules: for
    /// the host's own probes, not scripts' calls (nothing is cached).
    pub(super) fn run_job(&self, mut job: Job) -> Result<Reply, Failure> {
        job.modules = Some(self.settings.modules.clone());
        // The site's limits, with time for a large package's first import
        // (a render imports it once, into the site snapshot).
        job.limits = Limits {
            timeout: self.settings.ceiling.timeout.max(Duration::from_secs(60)),
            fuel: self.settings.ceiling.fuel.max(200_000_000_000),
            ..self.settings.ceiling.clone()
        };
        job.clock = self.settings.clock;
        Ok(self.runtime()?.run(job)?.reply)
    }

    fn runtime(&self) -> Result<&Runtime, Failure> {
        let started = self.runtime.get_or_init(|| {
            let started = Instant::now();
            let runtime = match &self.shared {
                Some(shared) => {
                    let runtime =
                        shared.get_or_start(&self.settings, self.snapshot.as_ref(), || {
                            self.start(Some(&shared.building))
                        });
                    if let Some(plan) = &self.snapshot
                        && runtime.is_ok()
                        && !self.resets()
                    {
                        shared.retry_build(plan, &self.settings);
                    }
                    runtime
                }
                None => self.start(None).map(|(runtime, _)| Arc::new(runtime)),
            };
            let _ = self.prepared.set(started.elapsed());
            runtime
        });
        started.as_deref().map_err(Clone::clone)
    }

    /// A runtime on the guest component this binary embeds (or the file
    /// `$BLOGMARK_GUEST_WASM` names), and whether it runs the base guest
    /// while its site snapshot is built in the background (only when
    /// `background` says which snapshots are being built: a long-lived
    /// sandbox's).
    fn start(
        &self,
        background: Option<&Arc<Mutex<HashSet<String>>>>,
    ) -> Result<(Runtime, bool), Failure> {
        let component = super::precompile::guest_component();
        // With reset in place the site snapshot is an image made from the
        // base guest (no component to build or compile); with a fresh
        // instance per request it is a component of its own.
        let reset = self.resets();
        let preload = match &self.snapshot {
            Some(plan) if reset => Some(site_snapshot::preload(
                plan,
                &self.settings,
                self.runnable_scripts(),
            )),
            _ => None,
        };
        let mut provisional = false;
        let mut snapshot_component = false;
        let component = match &self.snapshot {
            Some(_) if reset => component,
            Some(plan) if background.is_some_and(|building| !snapshot_ready(plan, building)) => {
                if let Some(building) = background {
                    site_snapshot::build_in_background(
                        plan,
                        component.clone(),
                        &self.settings,
                        building,
                    );
                }
                provisional = true;
                component
            }
            // A one-shot command does not wait for it either (about 10 s
            // to build and compile): its calls import their modules, and
            // `host python prepare`, started apart, leaves the snapshot to
            // the next run.
            Some(plan) if background.is_none() && !site_snapshot::settled(plan) => {
                tracing::info!(
                    modules = plan.modules.len(),
                    "building the site snapshot apart (`host python prepare`); \
                     until it is ready, calls import their modules"
                );
                super::precompile::in_background(&self.settings.root, true);
                provisional = true;
                component
            }
            Some(plan) => match site_snapshot::build(plan, component.clone(), &self.settings) {
                Ok(Some(snapshot)) => {
                    snapshot_component = true;
                    snapshot
                }
                Ok(None) => component,
                Err(failure) => {
                    tracing::warn!("no site snapshot, so every import costs its call: {failure}");
                    component
                }
            },
            None => component,
        };
        let mut config = RuntimeConfig::new(component);
        config.engine.on_compile = super::compile_notice::on_terminal();
        config.mode = self.settings.mode;
        config.engine.isolation = self.settings.isolation;
        // A shared runtime outlives this command's calls (`host serve`);
        // any other ends with them, and a spare made after its last call
        // would never serve.
        config.idle_spares = self.shared.is_some();
        config.fresh_inline = self.one_call;
        config.first_instance_now = self
            .started_early
            .load(std::sync::atomic::Ordering::Relaxed);
        config.engine.preload = preload;
        // A first run on this machine does not wait for Cranelift: see
        // `precompile`.
        // (The optimized compile made apart is the base guest's: a
        // component snapshot is compiled by Cranelift, once.)
        config.engine.baseline_first = !snapshot_component;
        let runtime = Runtime::new(config)?;
        if runtime.engine().load_report().baseline {
            super::precompile::in_background(&self.settings.root, background.is_none());
        }
        if let Some(plan) = &self.snapshot
            && reset
        {
            site_snapshot::made(plan, &runtime);
        }
        let load = runtime.engine().load_report();
        let site_snapshot = match &self.snapshot {
            None => "none",
            Some(_) if reset => "image",
            Some(_) if provisional => "pending",
            Some(_) => "component",
        };
        tracing::info!(
            from_cache = load.from_cache,
            elapsed_ms = load.elapsed.as_millis() as u64,
            baseline = load.baseline,
            site_snapshot,
            "Python sandbox ready"
        );
        tracing::debug!(isolation = %runtime.isolation(), "Python sandbox isolation");
        Ok((runtime, provisional))
    }

    /// Every script this session may run, as requests name them: what the
    /// site snapshot's image compiles in.
    fn runnable_scripts(&self) -> Vec<blogmark_runtime::abi::Script> {
        let mut scripts: Vec<&Script> = self
            .macros
            .values()
            .chain(&self.transforms)
            .chain(&self.hooks)
            .chain(&self.generators)
            .collect();
        // The same file under two macro names is compiled once.
        scripts.sort_by(|a, b| a.path.cmp(&b.path));
        scripts.dedup_by(|a, b| a.path == b.path && a.source == b.source);
        scripts.into_iter().map(abi_map::script).collect()
    }

    /// Whether this session's sandbox resets instances in place (else a
    /// fresh instance per request).
    fn resets(&self) -> bool {
        self.settings
            .isolation
            .resolve()
            .is_ok_and(|r| r.mode == IsolationMode::Reset)
    }

    /// Build and compile this session's component snapshot into the cache
    /// now, unless it is there or remembered as failed: what `host python
    /// prepare` leaves for the next run with a fresh instance per request.
    /// (With reset in place the snapshot is an image a run makes in a
    /// tenth of a second; nothing is done.) Whether one was built.
    pub fn prepare_snapshot(&self) -> bool {
        match &self.snapshot {
            Some(plan) if !self.resets() && !site_snapshot::settled(plan) => {
                site_snapshot::build_and_compile(
                    plan,
                    super::precompile::guest_component(),
                    &self.settings,
                )
            }
            _ => false,
        }
    }

    /// Run `request` for `script` once per session and not at all when an
    /// earlier build stored its result; `decode` turns the reply into what
    /// is stored.
    ///
    /// Two inputs are not in the request: the call's position (`site`) and
    /// the build clock. The guest asks the host for them when a script
    /// reads them, and the runtime notes it; a result is keyed by the
    /// request and by the inputs its run asked for, no more.
    ///
    /// Returns what the run printed and cost, whether it succeeded or
    /// failed (`None` when a cache answered).
    fn run_traced(
        &self,
        script: &Script,
        kind: CallKind,
        name: &str,
        request: Request,
        site: Option<CallSite>,
        decode: impl Fn(Reply) -> Result<String, Failure>,
    ) -> Traced {
        let limits = self.settings.limits(script);
        let request_json = request.to_json();
        let identity = self.script_identity(script);
        let keys = CacheKeys::new(
            &KeyParts {
                script_hash: &identity,
                build_id: &self.settings.build_id,
                limits: &limits,
                request_json: &request_json,
                clock_secs: self.settings.clock.as_secs(),
            },
            site.as_ref(),
        );
        let queries = Arc::new(ScriptQueries {
            site: self.queries(),
            script: script.path.clone(),
            needs: script.needs.clone(),
        });
        if let Some(traced) = self.stored(&keys, &*queries, &limits) {
            self.stats.record(kind, name, Event::CacheHit, None);
            return traced;
        }
        let mut ran = false;
        let mut run = || {
            ran = true;
            let job = Job {
                request: request.clone(),
                limits: limits.clone(),
                clock: self.settings.clock,
                call_site: site.clone(),
                observed: Arc::default(),
                modules: Some(self.settings.modules.clone()),
                // A transform rewrites its post alone: it has no site to ask.
                queries: (kind != CallKind::Transform).then(|| queries.clone() as _),
            };
            let observed = job.observed.clone();
            let mut output = RunOutput::default();
            // Preparing the sandbox is not this call's latency.
            let runtime = self.runtime();
            let started = Instant::now();
            let result = runtime
                .and_then(|runtime| runtime.run(job))
                .and_then(|outcome| {
                    output = RunOutput {
                        fuel_used: outcome.fuel_used,
                        elapsed: outcome.elapsed,
                        ..RunOutput::printed(outcome.captured)
                    };
                    decode(outcome.reply)
                })
                .inspect_err(|_| {
                    if let Some(captured) = observed.failed_output() {
                        output = RunOutput::printed(captured);
                    }
                });
            output.elapsed = started.elapsed();
            Memo {
                result,
                output: Arc::new(output),
                read_site: site.clone().filter(|_| observed.position()),
                key: keys.key(observed.position(), observed.wall_clock()),
                asked: observed.questions(),
            }
        };
        // Within one session the clock is the same for every call: results
        // are shared by request, and by position for runs that read it.
        let first = self.results.slot(&keys.key(false, false));
        let first = first.get_or_init(&mut run);
        let done = if first.read_site.is_some() && first.read_site != site {
            // The first run read its position, which is not ours.
            self.results
                .slot(&keys.key(true, false))
                .get_or_init(&mut run)
                .clone()
        } else {
            first.clone()
        };
        let failure = done.result.as_ref().err().map(counted_as);
        let event = if ran {
            tracing::debug!(
                script = %script.path,
                kind = kind.as_str(),
                elapsed_us = done.output.elapsed.as_micros() as u64,
                failure = ?failure,
                "sandbox run"
            );
            Event::Ran {
                elapsed: done.output.elapsed,
                sandbox: true,
            }
        } else {
            Event::CacheHit
        };
        self.stats.record(kind, name, event, failure);
        let output = ran.then(|| done.output.clone());
        if let (true, Ok(value)) = (ran, &done.result) {
            self.keep_result(script, &done, value);
        }
        Traced {
            result: done.result,
            run: output,
            reads: done.asked.iter().map(|a| a.question.clone()).collect(),
        }
    }

    /// The result an earlier build stored for a request with `keys`, when
    /// the questions it asked of the site still get the answers it got (as
    /// a call under `limits` would get them from `queries`).
    fn stored(
        &self,
        keys: &CacheKeys<'_>,
        queries: &dyn blogmark_runtime::QuerySource,
        limits: &Limits,
    ) -> Option<Traced> {
        let digest = |q: &str| {
            let answer =
                blogmark_runtime::effective_answer(q, || queries.answer(q), limits.input_bytes);
            blogmark_runtime::answer_digest(&answer)
        };
        let (stored, reads) = self.results.stored(keys.all(), digest)?;
        Some(Traced {
            result: Ok(stored),
            run: None,
            reads,
        })
    }

    /// Keep `value`, the result of `done`, for the persistent cache: under
    /// its key, or, when it asked questions of the site, under its key and
    /// their answers, with the questions beside (see
    /// [`BuildResults::stored`]).
    fn keep_result(&self, script: &Script, done: &Memo, value: &str) {
        let keep = |key: String, html: String| {
            self.results.keep(NewResult {
                key,
                script_slug: script.slug.clone(),
                script_hash: script.content_hash.clone(),
                html,
            });
        };
        if done.asked.is_empty() {
            keep(done.key.clone(), value.to_owned());
        } else {
            let questions: Vec<&str> = done.asked.iter().map(|a| a.question.as_str()).collect();
            keep(
                super::build_results::questions_key(&done.key),
                serde_json::to_string(&questions).unwrap_or_default(),
            );
            keep(
                super::build_results::keys_with_answers(&done.key, &done.asked),
                value.to_owned(),
            );
        }
    }

    /// Say that this session makes no more calls: a runtime of its own lets
    /// its workers end and free their instances while the command goes on
    /// (writing the output); a shared runtime (`host serve`) stays up.
    pub fn end_calls(&self) {
        if self.shared.is_none()
            && let Some(Ok(runtime)) = self.runtime.get()
        {
            runtime.close();
        }
    }

    /// The isolation used and what it did, when the sandbox was started.
    pub fn sandbox_report(&self) -> Option<SandboxReport> {
        let runtime = self.runtime.get()?.as_ref().ok()?;
        let load = runtime.engine().load_report();
        Some(SandboxReport {
            isolation: runtime.isolation().clone(),
            counters: runtime.engine().isolation_counters().snapshot(),
            preparation: super::report::Preparation {
                elapsed_ms: self
                    .prepared
                    .get()
                    .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                compiled: !load.from_cache,
                baseline: load.baseline,
                site_snapshot_ms: runtime
                    .engine()
                    .preload_report()
                    .map(|r| u64::try_from(r.elapsed.as_millis()).unwrap_or(u64::MAX)),
            },
        })
    }

    /// Sandbox runs made and calls answered from a cache.
    pub fn counts(&self) -> (usize, usize) {
        let (runs, hits) = self.stats.python_totals();
        (
            usize::try_from(runs).unwrap_or(usize::MAX),
            usize::try_from(hits).unwrap_or(usize::MAX),
        )
    }

    /// The session's statistics, built-in macros included (the expander
    /// records those here too).
    pub fn stats(&self) -> &Recorder {
        &self.stats
    }

    /// The keys of the stored results this session's calls found, when its
    /// results were made to record them (`host render --gc`) and every
    /// lookup could read the database.
    pub fn used_result_keys(&self) -> Option<super::build_results::UsedResults> {
        self.results.used_keys()
    }

    /// Results computed in this session, to store (empty without the cache).
    pub fn take_new_results(&self) -> Vec<NewResult> {
        self.results.take()
    }

    /// The guest build every result of this session comes from.
    pub fn guest_build(&self) -> &str {
        &self.settings.build_id
    }

    /// The content hashes of the scripts that take part, by slug: stored
    /// results of any other script or version are stale.
    pub fn live_scripts(&self) -> Vec<(String, String)> {
        self.macros
            .values()
            .chain(&self.transforms)
            .chain(&self.hooks)
            .chain(&self.generators)
            .map(|s| (s.slug.clone(), s.content_hash.clone()))
            .collect()
    }
}

/// The enabled render hooks, by path, and a warning for each that another
/// takes the place of (one hook per element, or per code block language).
fn runnable_hooks(scripts: &[Script]) -> (Vec<Script>, Vec<Diagnostic>) {
    let mut hooks: Vec<Script> = scripts
        .iter()
        .filter(|s| s.is_runnable_hook())
        .cloned()
        .collect();
    hooks.sort_by(|a, b| a.path.cmp(&b.path));
    let mut diagnostics = Vec::new();
    let mut taken: HashMap<(Option<&str>, Option<&str>), &str> = HashMap::new();
    for hook in &hooks {
        let languages: Vec<Option<&str>> = if hook.languages.is_empty() {
            vec![None]
        } else {
            hook.languages.iter().map(|l| Some(l.as_str())).collect()
        };
        for language in languages {
            if let Some(first) = taken.get(&(hook.hook, language)) {
                diagnostics.push(Diagnostic::warning(
                    &hook.path,
                    1,
                    1,
                    format!(
                        "{} is also rendered by the hook {first}, which wins (first by path)",
                        match language {
                            Some(l) => format!("a `{l}` code block"),
                            None => format!("a {}", hook.hook.unwrap_or("element")),
                        }
                    ),
                ));
            } else {
                taken.insert((hook.hook, language), &hook.path);
            }
        }
    }
    (hooks, diagnostics)
}

/// What one script may ask: the site's answers, with a capability's
/// questions (`ctx.fetch`, `ctx.resource`) refused unless the script
/// declares it in `needs:` (what the site grants is checked by the answer
/// itself).
#[derive(Debug)]
struct ScriptQueries {
    site: Arc<SiteQueries>,
    script: String,
    needs: Vec<&'static str>,
}

impl blogmark_runtime::QuerySource for ScriptQueries {
    fn answer(&self, question: &str) -> Result<String, String> {
        if let Some(need) = SiteQueries::capability_of(question)
            && !self.needs.contains(&need)
        {
            return Err(format!(
                "{}{} does not declare `needs: [{need}]` in its front matter",
                crate::capabilities::fetch::DENIED,
                self.script
            ));
        }
        self.site.answer(question)
    }
}
