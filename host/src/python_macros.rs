//! Python macros in the render path: resolution against the built-ins,
//! execution through the sandbox runtime, de-duplication within a build and
//! a persistent result cache.
//!
//! Caching is sound because a call is deterministic: its result depends
//! only on the script's source, the guest build and the request document
//! (the guest's clock reads the build timestamp, its randomness is seeded
//! from the request, it has no files or network), plus the call's position
//! and the build clock when the guest asked for them (they reach the guest
//! by no other way, and the host records the asking). The key hashes
//! exactly those.

use crate::content::Page;
use crate::macros::parser::Call;
use crate::scripts::Script;
use crate::stats::{Event, MacroKind, Recorder};
use crate::store::NewResult;
use blogmark_runtime::abi::{self, MacroCall, Operation, Reply, Request};
use blogmark_runtime::{
    CallSite, Failure, Isolation, IsolationStats, Job, Limits, Mode, ResolvedIsolation, Runtime,
    RuntimeConfig,
};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How a macro name resolves.
pub enum Resolution<'a> {
    /// The built-in of that name.
    Builtin,
    /// An enabled Python macro.
    Python(&'a Script),
    /// Nothing: the reason, for the warning.
    Unknown(String),
}

/// Settings of the Python side of a build.
pub struct Settings {
    /// Worker or inline, and how many workers.
    pub mode: Mode,
    /// How each call gets a fresh state.
    pub isolation: Isolation,
    /// The site's ceiling on every script's limits.
    pub ceiling: Limits,
    /// Site metadata for every request.
    pub site: abi::Site,
    /// What the guest's clock reads.
    pub clock: Duration,
    /// The guest build (`blogmark_guest::build_id`), part of every cache key.
    pub build_id: String,
    /// Use and fill the persistent cache.
    pub use_cache: bool,
}

impl Settings {
    /// The settings `config` asks for, with the guest clock at `clock`.
    pub fn for_site(config: &crate::config::Config, clock: Duration, use_cache: bool) -> Self {
        Settings {
            mode: match config.python.runtime_mode {
                crate::config::RuntimeMode::Worker => Mode::Worker {
                    workers: config.python.workers,
                },
                crate::config::RuntimeMode::Inline => Mode::Inline,
            },
            isolation: config.python.isolation(),
            ceiling: config.python.limits(),
            site: abi::Site {
                title: config.title.clone(),
                base_url: config.base_url(),
            },
            clock,
            build_id: blogmark_guest::build_id(),
            use_cache,
        }
    }
}

/// A result computed in this build.
#[derive(Clone)]
struct Memo {
    result: Result<String, Failure>,
    /// The call site the run was for, when it read it.
    read_site: Option<CallSite>,
    /// Its key in the persistent cache: the request and what the run read.
    key: String,
}

/// The Python macros of one build.
pub struct PythonMacros {
    by_name: HashMap<String, Script>,
    transforms: Vec<Script>,
    settings: Settings,
    runtime: OnceLock<Result<Runtime, Failure>>,
    stored: HashMap<String, String>,
    memo: Mutex<HashMap<String, Arc<OnceLock<Memo>>>>,
    fresh: Mutex<Vec<NewResult>>,
    stats: Recorder,
}

impl PythonMacros {
    /// Python macros from `scripts` (only valid, enabled macros take part;
    /// of two with one name, the first by path wins), with `stored`
    /// results of earlier builds.
    pub fn new(
        scripts: &[Script],
        settings: Settings,
        stored: HashMap<String, String>,
    ) -> (Self, Vec<crate::diagnostics::Diagnostic>) {
        let mut by_name: HashMap<String, Script> = HashMap::new();
        let mut diagnostics = Vec::new();
        for script in scripts.iter().filter(|s| s.is_runnable_macro()) {
            if let Some(first) = by_name.get(&script.name) {
                diagnostics.push(crate::diagnostics::Diagnostic::warning(
                    &script.path,
                    1,
                    1,
                    format!(
                        "macro `{}` is also defined by {}, which wins (first by path)",
                        script.name, first.path
                    ),
                ));
            } else {
                by_name.insert(script.name.clone(), script.clone());
            }
        }
        let mut transforms: Vec<Script> = scripts
            .iter()
            .filter(|s| s.is_runnable_transform())
            .cloned()
            .collect();
        transforms.sort_by(|a, b| (a.order, &a.name, &a.path).cmp(&(b.order, &b.name, &b.path)));
        let stored = if settings.use_cache {
            stored
        } else {
            HashMap::new()
        };
        let macros = PythonMacros {
            by_name,
            transforms,
            settings,
            runtime: OnceLock::new(),
            stored,
            memo: Mutex::new(HashMap::new()),
            fresh: Mutex::new(Vec::new()),
            stats: Recorder::default(),
        };
        (macros, diagnostics)
    }

    /// Whether any Python macro is enabled.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// The enabled transforms, in the order they run: by `order`, then name.
    pub fn transforms(&self) -> &[Script] {
        &self.transforms
    }

    /// Resolve `call` by the one rule ([`crate::macros::resolve`]).
    pub fn resolve(&self, call: &Call, builtin_exists: bool) -> Resolution<'_> {
        use crate::macros::resolve::{PythonMacro, Resolved, resolve};
        let script = self.by_name.get(&call.name);
        let python = script.map(|s| PythonMacro {
            overrides_builtin: s.overrides_builtin,
        });
        match (resolve(call.namespace, builtin_exists, python), script) {
            (Resolved::Builtin, _) => Resolution::Builtin,
            (Resolved::Python, Some(script)) => Resolution::Python(script),
            (Resolved::Python, None) => Resolution::Unknown(
                crate::macros::resolve::Unresolved::NoPython.message(&call.name),
            ),
            (Resolved::Unresolved(why), _) => Resolution::Unknown(why.message(&call.name)),
        }
    }

    fn limits(&self, script: &Script) -> Limits {
        let ceiling = &self.settings.ceiling;
        let own = Limits {
            timeout: script
                .timeout_ms
                .map_or(ceiling.timeout, Duration::from_millis),
            fuel: script.fuel.unwrap_or(ceiling.fuel),
            memory_bytes: script.memory_mb.map_or(ceiling.memory_bytes, |mb| mb << 20),
            ..ceiling.clone()
        };
        own.capped_by(ceiling)
    }

    fn runtime(&self) -> Result<&Runtime, Failure> {
        let started = self
            .runtime
            .get_or_init(|| start_runtime(self.settings.mode, self.settings.isolation));
        started.as_ref().map_err(Clone::clone)
    }

    /// Run `call` with `script` on the page `file` (`page` for scripts that
    /// declare `uses_page`). Identical requests run once per build, and
    /// not at all when an earlier build stored their result.
    pub fn run(
        &self,
        script: &Script,
        call: &Call,
        file: &str,
        page: Option<&Page>,
    ) -> Result<String, Failure> {
        let request = Request::new(
            script.to_abi(),
            Operation::Macro {
                call: MacroCall {
                    name: call.name.clone(),
                    args: call.args.clone(),
                    positional: call.positional.clone(),
                    body: call.body.clone(),
                },
                page: page.filter(|_| script.uses_page).map(page_info),
                site: self.settings.site.clone(),
            },
        );
        let site = CallSite {
            file: file.to_owned(),
            line: u32::try_from(call.line).unwrap_or(u32::MAX),
            column: u32::try_from(call.column).unwrap_or(u32::MAX),
        };
        self.run_cached(
            script,
            MacroKind::Python,
            &call.name,
            request,
            Some(site),
            |reply| match reply {
                Reply::Html(html) => Ok(html),
                other => Err(Failure::AbiViolation(format!("a macro answered {other:?}"))),
            },
        )
    }

    /// Run the transform `script` on `post`: the new post, or `None` when
    /// the transform left it unchanged. Cached like macro calls.
    pub fn transform(
        &self,
        script: &Script,
        post: abi::Post,
    ) -> Result<Option<abi::Post>, Failure> {
        let path = post.path.clone();
        let request = Request::new(
            script.to_abi(),
            Operation::Transform {
                post,
                site: self.settings.site.clone(),
            },
        );
        let stored = self.run_cached(
            script,
            MacroKind::Transform,
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
        )?;
        serde_json::from_str(&stored).map_err(|e| {
            Failure::AbiViolation(format!("a stored transform result is unreadable: {e}"))
        })
    }

    /// Run `request` for `script` once per build and not at all when an
    /// earlier build stored its result; `decode` turns the reply into what
    /// is stored.
    ///
    /// Two inputs are not in the request: the call's position (`site`) and
    /// the build clock. The guest asks the host for them when a script
    /// reads them, and the host notes it ([`blogmark_runtime::Observed`]);
    /// a result is keyed by the request and by the inputs its run asked
    /// for, no more.
    fn run_cached(
        &self,
        script: &Script,
        kind: MacroKind,
        name: &str,
        request: Request,
        site: Option<CallSite>,
        decode: impl Fn(Reply) -> Result<String, Failure>,
    ) -> Result<String, Failure> {
        let limits = self.limits(script);
        let keys = CacheKeys::new(script, &self.settings, &limits, &request, site.as_ref());
        if let Some(html) = keys.all().find_map(|key| self.stored.get(&key)) {
            self.stats.record(kind, name, Event::CacheHit, None);
            return Ok(html.clone());
        }
        let mut ran = None;
        let mut run = || {
            let started = Instant::now();
            let job = Job {
                request: request.clone(),
                limits: limits.clone(),
                clock: self.settings.clock,
                call_site: site.clone(),
                observed: Arc::default(),
            };
            let observed = job.observed.clone();
            let result = self
                .runtime()
                .and_then(|runtime| runtime.run(job))
                .and_then(|outcome| decode(outcome.reply));
            ran = Some(started.elapsed());
            Memo {
                result,
                read_site: site.clone().filter(|_| observed.position()),
                key: keys.key(observed.position(), observed.wall_clock()),
            }
        };
        // Within one build the clock is the same for every call: results are
        // shared by request, and by position for runs that read it.
        let first = self.memo_slot(&keys.key(false, false));
        let first = first.get_or_init(&mut run);
        let done = if first.read_site.is_some() && first.read_site != site {
            // The first run read its position, which is not ours.
            self.memo_slot(&keys.key(true, false))
                .get_or_init(&mut run)
                .clone()
        } else {
            first.clone()
        };
        let Memo { result, key, .. } = done;
        let failure = result.as_ref().err().map(Failure::class);
        let event = match ran {
            Some(elapsed) => Event::Ran {
                elapsed,
                sandbox: true,
            },
            None => Event::CacheHit,
        };
        if let Some(elapsed) = ran {
            tracing::debug!(
                script = %script.path,
                kind = kind.as_str(),
                elapsed_us = elapsed.as_micros() as u64,
                failure = ?failure,
                "sandbox run"
            );
        }
        self.stats.record(kind, name, event, failure);
        if ran.is_some()
            && let Ok(html) = &result
        {
            self.fresh
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(NewResult {
                    key,
                    script_slug: script.slug.clone(),
                    script_hash: script.content_hash.clone(),
                    html: html.clone(),
                });
        }
        result
    }

    /// The build's one slot for the result under `key`.
    fn memo_slot(&self, key: &str) -> Arc<OnceLock<Memo>> {
        self.memo
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.to_owned())
            .or_default()
            .clone()
    }

    /// The isolation used and what it did, when the sandbox was started.
    pub fn sandbox_report(&self) -> Option<SandboxReport> {
        let runtime = self.runtime.get()?.as_ref().ok()?;
        Some(SandboxReport {
            isolation: runtime.isolation().clone(),
            counters: runtime.engine().isolation_counters().snapshot(),
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

    /// The build's statistics, built-in macros included (the expander
    /// records those here too).
    pub fn stats(&self) -> &Recorder {
        &self.stats
    }

    /// Results computed in this build, to store (empty without the cache).
    pub fn take_new_results(&self) -> Vec<NewResult> {
        if !self.settings.use_cache {
            return Vec::new();
        }
        std::mem::take(&mut *self.fresh.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The guest build every result of this build comes from.
    pub fn guest_build(&self) -> &str {
        &self.settings.build_id
    }

    /// The content hashes of the scripts that take part, by slug: stored
    /// results of any other script or version are stale.
    pub fn live_scripts(&self) -> Vec<(String, String)> {
        self.by_name
            .values()
            .chain(&self.transforms)
            .map(|s| (s.slug.clone(), s.content_hash.clone()))
            .collect()
    }
}

/// A runtime on the guest component this build made (or
/// `$BLOGMARK_GUEST_WASM`).
pub fn start_runtime(mode: Mode, isolation: Isolation) -> Result<Runtime, Failure> {
    let mut config = RuntimeConfig::new(blogmark_guest::component_path());
    config.mode = mode;
    config.engine.isolation = isolation;
    let runtime = Runtime::new(config)?;
    let load = runtime.engine().load_report();
    tracing::info!(
        from_cache = load.from_cache,
        elapsed_ms = load.elapsed.as_millis() as u64,
        "Python sandbox ready"
    );
    tracing::debug!(isolation = %runtime.isolation(), "Python sandbox isolation");
    Ok(runtime)
}

/// The sandbox's isolation and its counters, for `--stats`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SandboxReport {
    /// What was asked for, what runs, and why.
    pub isolation: ResolvedIsolation,
    /// Resets, pages restored, instances replaced, full checks.
    pub counters: IsolationStats,
}

impl std::fmt::Display for SandboxReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.counters;
        write!(f, "sandbox isolation: {}", self.isolation)?;
        if c.resets > 0 || c.instances_created > 0 {
            let per_reset = if c.resets > 0 {
                c.pages_restored as f64 / c.resets as f64
            } else {
                0.0
            };
            write!(
                f,
                "; {} resets ({per_reset:.0} pages each), {} instances made, {} full checks, {} mismatches",
                c.resets, c.instances_created, c.full_checks, c.mismatches
            )?;
            if !c.discarded.is_empty() {
                let reasons: Vec<String> = c
                    .discarded
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect();
                write!(f, "; replaced: {}", reasons.join(", "))?;
            }
        }
        Ok(())
    }
}

/// Where `script` failed and why, for a diagnostic: `(scripts/x.py:7)
/// failed: GuestError (ValueError: ...)`.
pub fn failure_reason(script: &Script, failure: &Failure) -> String {
    let mut place = script.path.clone();
    if let Some(line) = failure.guest_error().and_then(|e| e.line) {
        place = format!("{place}:{line}");
    }
    format!("({place}) failed: {} ({failure})", failure.class())
}

/// What the guest's clock reads: `SOURCE_DATE_EPOCH` when set (as for
/// reproducible builds), else the newest post's date, so that results, and
/// the cache, do not depend on when the build runs.
pub fn guest_clock<'a>(pages: impl IntoIterator<Item = &'a Page>) -> Duration {
    if let Some(secs) = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
    {
        return Duration::from_secs(secs);
    }
    pages
        .into_iter()
        .filter_map(|p| p.date)
        .max()
        .and_then(|d| u64::try_from(d.timestamp()).ok())
        .map_or(Duration::ZERO, Duration::from_secs)
}

/// A page's metadata as `ctx.page` shows it.
pub fn page_info(page: &Page) -> abi::Page {
    abi::Page {
        slug: page.slug.clone(),
        title: page.title.clone(),
        date: page.date.map(|d| d.to_rfc3339()),
        tags: page.tags.clone(),
        extra: page.extra.clone(),
    }
}

/// The keys a request's result may be stored under: the request alone, or
/// with the call's position, the build clock, or both, whichever the run
/// asked for. Each hashes the script's content, the guest build, the limits
/// and the request document, then the inputs.
struct CacheKeys<'a> {
    request: Sha256,
    site: Option<&'a CallSite>,
    clock: u64,
}

impl<'a> CacheKeys<'a> {
    fn new(
        script: &Script,
        settings: &Settings,
        limits: &Limits,
        request: &Request,
        site: Option<&'a CallSite>,
    ) -> Self {
        // A result that needed more than a tighter limit allows must not be
        // reused under that limit.
        let limits: Vec<u8> = [
            u64::try_from(limits.timeout.as_micros()).unwrap_or(u64::MAX),
            limits.fuel,
            limits.memory_bytes as u64,
            limits.output_bytes as u64,
            limits.stdout_bytes as u64,
            limits.input_bytes as u64,
        ]
        .iter()
        .flat_map(|n| n.to_le_bytes())
        .collect();
        let mut hasher = Sha256::new();
        for part in [
            script.content_hash.as_bytes(),
            settings.build_id.as_bytes(),
            &limits,
            request.to_json().as_bytes(),
        ] {
            update(&mut hasher, part);
        }
        CacheKeys {
            request: hasher,
            site,
            clock: settings.clock.as_secs(),
        }
    }

    /// The key for a run that read the position (if there is one) and the
    /// clock as said.
    fn key(&self, position: bool, clock: bool) -> String {
        let mut hasher = self.request.clone();
        match self.site.filter(|_| position) {
            Some(site) => {
                update(&mut hasher, b"position");
                update(&mut hasher, site.file.as_bytes());
                update(&mut hasher, &site.line.to_le_bytes());
                update(&mut hasher, &site.column.to_le_bytes());
            }
            None => update(&mut hasher, b"-"),
        }
        if clock {
            update(&mut hasher, b"clock");
            update(&mut hasher, &self.clock.to_le_bytes());
        } else {
            update(&mut hasher, b"-");
        }
        hex::encode(hasher.finalize())
    }

    /// Every key a stored result for this request may have.
    fn all(&self) -> impl Iterator<Item = String> + '_ {
        let positions: &[bool] = if self.site.is_some() {
            &[false, true]
        } else {
            &[false]
        };
        positions
            .iter()
            .flat_map(move |&p| [(p, false), (p, true)])
            .map(|(p, c)| self.key(p, c))
    }
}

fn update(hasher: &mut Sha256, part: &[u8]) {
    hasher.update((part.len() as u64).to_le_bytes());
    hasher.update(part);
}
