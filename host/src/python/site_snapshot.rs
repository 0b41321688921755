//! The site snapshot: the guest with every module the site's scripts import
//! already imported, so that no call pays for an import, and the objects it
//! holds made immortal, so that no call writes their reference counts. Which modules
//! (read from the scripts' text, through the library modules they import,
//! plus `[python] preload`), its key (the guest, the list, the library
//! sources and other files), and building it when the disk has none, said
//! on a terminal.

use super::modules::{Provider, SiteModules};
use super::settings::Settings;
use crate::diagnostics::Diagnostic;
use crate::scripts::Script;
use crate::scripts::imports::{self, Import};
use blogmark_runtime::{Failure, GuestComponent, Preload, Runtime, SnapshotPlan};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal as _;
use std::sync::Arc;
use std::time::Duration;

/// What the site snapshot holds and its identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SitePlan {
    /// The modules to import, sorted.
    pub modules: Vec<String>,
    /// Those a script imports for sure (not only in a `try`, an `if` or a
    /// function): one that fails to import is worth a warning; the others
    /// (`yaml.cyaml` without its extension, a platform's module) are
    /// expected to fail now and then.
    pub required: BTreeSet<String>,
    /// A hash of the guest build, the modules, their library sources and
    /// the library's other files: names the snapshot's file.
    pub key: String,
    /// A hash of the guest build and the module names: what results are
    /// keyed by. A library module's source is not in it: the scripts that
    /// import the module have it in their own keys
    /// ([`super::SiteModules::identity`]), so editing it re-runs their
    /// calls and no others.
    pub identity: String,
}

/// The snapshot `scripts` run in (none when `[python] snapshot = false`),
/// and what is wrong with `[python] preload`. A site whose scripts import
/// nothing beyond the base snapshot gets one too: a snapshot's objects are
/// immortal, so its calls write fewer pages.
pub(super) fn plan(
    scripts: &[&Script],
    settings: &Settings,
) -> (Option<SitePlan>, Vec<Diagnostic>) {
    let modules = &settings.modules;
    let mut problems = Vec::new();
    let mut pending: Vec<Import> = scripts
        .iter()
        .flat_map(|s| imports::scan(&s.source, None))
        .collect();
    for name in &settings.preload {
        match modules.provider(name) {
            Provider::Missing => problems.push(Diagnostic::warning(
                "site.toml",
                0,
                0,
                format!("[python] preload: `{name}` is not a module a script can import"),
            )),
            _ => pending.push(Import {
                module: name.clone(),
                names: Vec::new(),
                line: 0,
                guarded: false,
                deferred: false,
            }),
        }
    }
    if !settings.snapshot {
        return (None, problems);
    }
    let base: BTreeSet<&str> = blogmark_guest::preloaded_modules().collect();
    // Module name to its library source hash (empty for the standard library).
    let mut chosen: BTreeMap<String, String> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    while let Some(import) = pending.pop() {
        let candidates = std::iter::once(import.module.clone()).chain(
            import
                .names
                .iter()
                .map(|n| format!("{}.{n}", import.module)),
        );
        for name in candidates {
            if !seen.insert(name.clone()) {
                continue;
            }
            match modules.provider(&name) {
                Provider::Library(module) => {
                    chosen.insert(name, module.hash.clone());
                    pending.extend(module.imports.iter().cloned());
                }
                Provider::Stdlib(_) | Provider::Builtin if !base.contains(name.as_str()) => {
                    chosen.insert(name, String::new());
                }
                _ => {}
            }
        }
    }
    let mut names = Sha256::new();
    names.update(b"blogmark site snapshot 2\0");
    names.update(settings.build_id.as_bytes());
    for name in chosen.keys() {
        names.update(b"\0");
        names.update(name.as_bytes());
    }
    let mut sources = names.clone();
    for hash in chosen.values() {
        sources.update(b"\0");
        sources.update(hash.as_bytes());
    }
    // A library module may read the library's other files as it is
    // imported: an edit of one makes another snapshot, or the image would
    // keep what the module read before.
    if chosen.values().any(|hash| !hash.is_empty())
        && let Some(data) = modules.data_hash()
    {
        sources.update(b"\0data\0");
        sources.update(data.as_bytes());
    }
    let plan = SitePlan {
        required: required(scripts, modules),
        modules: chosen.into_keys().collect(),
        key: hex::encode(&sources.finalize()[..16]),
        identity: hex::encode(&names.finalize()[..16]),
    };
    (Some(plan), problems)
}

/// The modules `scripts` import for sure: their unguarded imports and,
/// through the library modules those reach, their unguarded top-level ones.
fn required(scripts: &[&Script], modules: &SiteModules) -> BTreeSet<String> {
    let mut pending: Vec<Import> = scripts
        .iter()
        .flat_map(|s| imports::scan(&s.source, None))
        .filter(|i| !i.guarded)
        .collect();
    let mut found = BTreeSet::new();
    while let Some(import) = pending.pop() {
        let mut prefix = String::new();
        for part in import.module.split('.') {
            if !prefix.is_empty() {
                prefix.push('.');
            }
            prefix.push_str(part);
            if !found.insert(prefix.clone()) {
                continue;
            }
            if let Provider::Library(module) = modules.provider(&prefix) {
                pending.extend(
                    module
                        .imports
                        .iter()
                        .filter(|i| !i.guarded && !i.deferred)
                        .cloned(),
                );
            }
        }
    }
    found
}

/// Whether the component snapshot of `plan` is decided: on the disk, or
/// remembered as failed (or there is nowhere to keep one).
pub(super) fn settled(plan: &SitePlan) -> bool {
    let Some(dir) = blogmark_runtime::default_snapshot_dir() else {
        return true;
    };
    ["json", "failed"]
        .iter()
        .any(|ext| dir.join(format!("{}.{ext}", plan.key)).is_file())
}

/// Build the component snapshot of `plan` on a thread of its own, unless
/// one is building it already (`building` holds their keys); sessions
/// started after it is [`settled`] use it.
pub(super) fn build_in_background(
    plan: &SitePlan,
    base: GuestComponent,
    settings: &Settings,
    building: &Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
) {
    if !building
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(plan.key.clone())
    {
        return;
    }
    let (key, registry) = (plan.key.clone(), building.clone());
    let (plan, settings, building) = (plan.clone(), settings.clone(), building.clone());
    let spawned = std::thread::Builder::new()
        .name("blogmark-snapshot".into())
        .spawn(move || {
            tracing::info!(
                modules = plan.modules.len(),
                "building the site snapshot in the background; calls import their modules \
                 until it is ready"
            );
            // On a pool of its own: in rayon's global pool, which the
            // render writes its pages with, the compile's tasks would make
            // the render wait for them.
            let built = match rayon::ThreadPoolBuilder::new().num_threads(1).build() {
                Ok(pool) => pool.install(|| build_and_compile(&plan, base, &settings)),
                Err(_) => build_and_compile(&plan, base, &settings),
            };
            building
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&plan.key);
            if built {
                tracing::info!(modules = plan.modules.len(), "site snapshot ready");
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("cannot build the site snapshot in the background: {e}");
        registry
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
    }
}

/// Build the component snapshot of `plan` and compile it into the disk
/// cache, so that the session that picks it up only loads it; whether it
/// is ready.
pub(super) fn build_and_compile(
    plan: &SitePlan,
    base: GuestComponent,
    settings: &Settings,
) -> bool {
    match build_quietly(plan, base, settings, true) {
        Ok(Some(component)) => {
            let mut engine = blogmark_runtime::EngineSettings::new(component);
            engine.isolation = settings.isolation;
            match blogmark_runtime::SandboxEngine::new(&engine) {
                Ok(_) => true,
                Err(failure) => {
                    tracing::warn!("the site snapshot does not load: {failure}");
                    false
                }
            }
        }
        Ok(None) => false,
        Err(failure) => {
            tracing::warn!("no site snapshot, so every import costs its call: {failure}");
            false
        }
    }
}

/// The snapshot of `plan` over `base`, from the disk or built now (with a
/// spinner on a terminal). `None` when there is nowhere to keep one.
pub(super) fn build(
    plan: &SitePlan,
    base: GuestComponent,
    settings: &Settings,
) -> Result<Option<GuestComponent>, Failure> {
    build_quietly(plan, base, settings, false)
}

/// [`build`], with no spinner when `quiet`.
fn build_quietly(
    plan: &SitePlan,
    base: GuestComponent,
    settings: &Settings,
    quiet: bool,
) -> Result<Option<GuestComponent>, Failure> {
    let Some(dir) = blogmark_runtime::default_snapshot_dir() else {
        return Ok(None);
    };
    let ceiling = &settings.ceiling;
    let source: Arc<SiteModules> = settings.modules.clone();
    let request = SnapshotPlan {
        base,
        modules: plan.modules.clone(),
        source,
        key: plan.key.clone(),
        // Importing is a call's worth of work per module at most.
        timeout: ceiling.timeout.saturating_mul(10),
        fuel: ceiling.fuel.saturating_mul(10),
        memory_bytes: ceiling.memory_bytes,
        isolation: settings.isolation,
        // `--no-cache` tries again a snapshot that failed before.
        retry_failed: !settings.use_cache,
    };
    let spinner = (!quiet && !dir.join(format!("{}.wasm", plan.key)).exists()).then(|| {
        format!(
            "Building the site's Python snapshot ({})…",
            modules(plan.modules.len())
        )
    });
    let spinner = spinner.and_then(on_terminal);
    let built = blogmark_runtime::snapshot(&request, &dir);
    if let Some(bar) = spinner {
        bar.finish_and_clear();
    }
    let built = built?;
    warn_failed(plan, &built.failed);
    if built.built {
        tracing::info!(
            modules = plan.modules.len(),
            elapsed_ms = built.elapsed.as_millis() as u64,
            "built the site snapshot"
        );
        if !quiet && std::io::stderr().is_terminal() {
            eprintln!(
                "Built the site's Python snapshot ({}) in {:.1} s",
                modules(plan.modules.len()),
                built.elapsed.as_secs_f64()
            );
        }
    }
    Ok(Some(built.component))
}

/// The site snapshot of `plan` the reset-image way: the modules imported
/// into the base guest's image by the runtime (see [`made`]), and
/// `scripts` compiled into it when the image is made.
pub(super) fn preload(
    plan: &SitePlan,
    settings: &Settings,
    scripts: Vec<blogmark_runtime::abi::Script>,
) -> Preload {
    let ceiling = &settings.ceiling;
    Preload {
        modules: plan.modules.clone(),
        scripts,
        source: settings.modules.clone(),
        key: plan.key.clone(),
        // Importing is a call's worth of work per module at most.
        timeout: ceiling.timeout.saturating_mul(10),
        fuel: ceiling.fuel.saturating_mul(10),
        memory_bytes: ceiling.memory_bytes,
        dir: blogmark_runtime::default_snapshot_dir(),
        // `--no-cache` tries again a snapshot that failed before.
        retry_failed: !settings.use_cache,
    }
}

/// Have `runtime` make the image of [`preload`] now (a spinner on a
/// terminal when it imports), and say what did not import.
pub(super) fn made(plan: &SitePlan, runtime: &Runtime) {
    let on_disk = blogmark_runtime::default_snapshot_dir()
        .is_some_and(|dir| dir.join(format!("{}.image", plan.key)).exists());
    let spinner = (!on_disk && plan.modules.len() > 20).then(|| {
        format!(
            "Importing the site's Python modules ({})…",
            modules(plan.modules.len())
        )
    });
    let spinner = spinner.and_then(on_terminal);
    let report = runtime.engine().preload_report().cloned();
    if let Some(bar) = spinner {
        bar.finish_and_clear();
    }
    let Some(report) = report else {
        return;
    };
    if let Some(error) = &report.error {
        tracing::warn!("no site snapshot, so every import costs its call: {error}");
    }
    warn_failed(plan, &report.failed);
    if report.from_disk || report.error.is_some() {
        tracing::debug!(
            elapsed_ms = report.elapsed.as_millis() as u64,
            "site snapshot image read"
        );
    } else {
        tracing::info!(
            modules = plan.modules.len(),
            way = "image",
            elapsed_ms = report.elapsed.as_millis() as u64,
            "built the site snapshot"
        );
    }
}

/// Say which modules did not import: a warning for one a script imports
/// for sure.
fn warn_failed(plan: &SitePlan, failed: &[(String, String)]) {
    for (module, why) in failed {
        if plan.required.contains(module) {
            tracing::warn!("`{module}` is not in the site snapshot: importing it failed: {why}");
        } else {
            tracing::debug!("`{module}` is not in the site snapshot: importing it failed: {why}");
        }
    }
}

/// A spinner saying `message`, when stderr is a terminal.
fn on_terminal(message: String) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(message);
    bar.enable_steady_tick(Duration::from_millis(100));
    Some(bar)
}

/// "no added module", "1 module", "3 modules".
fn modules(count: usize) -> String {
    match count {
        0 => "no added module".into(),
        1 => "1 module".into(),
        n => format!("{n} modules"),
    }
}
