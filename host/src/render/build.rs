//! One build of a site, as the steps a reader can follow: load, apply
//! transforms, render pages, listings and taxonomies, feed and sitemap,
//! static files, link check, persist.

use super::apply_transforms::transform_all;
use super::listings::{render_404, render_index, render_taxonomy, terms};
use super::output::{Output, WriteReport};
use super::page_cache::PageCache;
use super::page_keys::PageKeys;
use super::site_context::SiteContext;
use super::{
    aliases, bundles, feeds, link_check, output_paths, pages, persist, progress, static_files,
    up_to_date,
};
use crate::capabilities::fetch::Remote;
use crate::capabilities::images::Images;
use crate::config::Config;
use crate::content::{self, Kind, Page};
use crate::diagnostics::{Diagnostic, Severity};
use crate::python::{self, Session};
use crate::scripts::Script;
use crate::site_queries::SiteQueries;
use crate::source_files::SourceFiles;
use crate::store::Store;
use anyhow::Context as _;
use std::borrow::Borrow;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What to build and how. Start from [`BuildOptions::render`],
/// [`BuildOptions::check`] or [`BuildOptions::serve`] and change what
/// differs: `BuildOptions { drafts: true, ..BuildOptions::render(root) }`.
#[derive(Clone, Debug, Default)]
pub struct BuildOptions {
    /// The site's directory.
    pub root: PathBuf,
    /// The output directory (default `<root>/public`).
    pub out: Option<PathBuf>,
    /// Include drafts.
    pub drafts: bool,
    /// Include pages dated after the build clock.
    pub future: bool,
    /// Threads to render with (default: one per core).
    pub jobs: Option<usize>,
    /// Write the output (false: `host check`).
    pub write: bool,
    /// Show a progress bar (only drawn on a terminal).
    pub progress: bool,
    /// Use and fill the persistent macro result cache.
    pub use_cache: bool,
    /// Check internal links and anchors (`host check`).
    pub check_links: bool,
    /// Also check external links, with these options (`--external`).
    pub external_links: Option<crate::links::external::Options>,
    /// Publish under this base URL instead of site.toml's (`host serve`).
    pub base_url: Option<String>,
    /// Pages of an earlier build to reuse where nothing they depend on
    /// changed (`host serve` keeps them in memory, `host render` on disk).
    pub page_cache: Option<std::sync::Arc<PageCache>>,
    /// A sandbox kept from build to build (`host serve`), so a build that
    /// runs a few calls does not start one.
    pub sandbox: Option<std::sync::Arc<python::SharedSandbox>>,
    /// The content of the last build, reused while nothing under
    /// `content/` changed (`host serve`, told by its file watcher).
    pub kept_content: Option<std::sync::Arc<content::KeptContent>>,
    /// The data of the last build, of which only the files under `data/`
    /// that changed are read again (`host serve`, told by its watcher).
    pub kept_data: Option<std::sync::Arc<crate::site_data::KeptData>>,
    /// The pages the generators made in the last build, reused where one
    /// is made again from the same path, front matter and body (`host
    /// serve`).
    pub kept_generated: Option<std::sync::Arc<super::generators::KeptGenerated>>,
    /// Told as soon as the output folder is written, before the database is
    /// brought up to date (`host serve` reloads the open pages from here).
    pub on_written: Option<OnWritten>,
    /// Save `page_cache` in the site's `.blogmark/` for the next render
    /// (when it changed), beside the output ([`build_keeping_pages`] sets it).
    pub keep_pages: bool,
    /// Fetch what scripts read with `ctx.fetch` again rather than replay
    /// the stored responses (`--refresh-remote`).
    pub refresh_remote: bool,
    /// Render every page without reusing kept ones, then remove the stored
    /// results that no call of this render found (`host render --gc`).
    pub gc: bool,
    /// Known before reading the site: no file or folder under `data/` has
    /// changed since the last render ([`build_keeping_pages`] sets it from
    /// the stamps), so a generator is not expected to run again and the
    /// build does not start its sandbox ahead for one. A hint about when
    /// to start the sandbox, never about what runs: generators still
    /// decide from what they read.
    pub data_unchanged: bool,
    /// The posts, pages and data files the last render kept, taken instead
    /// of opening each file whose stamp is unchanged
    /// ([`build_keeping_pages`] sets it when the inputs' stamps are
    /// trusted).
    pub sources: Option<std::sync::Arc<SourceFiles>>,
}

impl BuildOptions {
    /// The folder the build writes (`out`, else `<root>/public`).
    pub fn out_dir(&self) -> PathBuf {
        self.out.clone().unwrap_or_else(|| self.root.join("public"))
    }

    /// `host render` of the site at `root`: written to `<root>/public`,
    /// with the persistent result cache, no progress bar.
    pub fn render(root: &std::path::Path) -> Self {
        BuildOptions {
            root: root.to_path_buf(),
            write: true,
            use_cache: true,
            ..BuildOptions::default()
        }
    }

    /// `host check` of the site at `root`: everything a render does but
    /// writing, and its internal links and anchors checked.
    pub fn check(root: &std::path::Path) -> Self {
        BuildOptions {
            write: false,
            check_links: true,
            ..BuildOptions::render(root)
        }
    }

    /// One build of `host serve`: into `out`, under `base_url`; the
    /// server adds what it keeps from build to build (pages, sandbox,
    /// content) and what it does once the output is written.
    pub fn serve(root: &std::path::Path, out: PathBuf, base_url: String) -> Self {
        BuildOptions {
            out: Some(out),
            base_url: Some(base_url),
            ..BuildOptions::render(root)
        }
    }
}

/// What to do once a build has written its output: given the report so
/// far (pages, diagnostics, the files that changed).
#[derive(Clone)]
pub struct OnWritten(pub std::sync::Arc<dyn Fn(&BuildReport) + Send + Sync>);

impl std::fmt::Debug for OnWritten {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OnWritten(..)")
    }
}

/// What a build did.
#[derive(Debug, Default)]
pub struct BuildReport {
    /// Posts and pages rendered.
    pub pages: usize,
    /// Of those, pages an earlier build rendered under the same inputs.
    pub pages_reused: usize,
    /// Whether the page cache now holds other pages or listings than
    /// before (so it is worth saving).
    pub kept_pages_changed: bool,
    /// Files in the output.
    pub files: usize,
    /// What writing did (nothing for `check`).
    pub written: WriteReport,
    /// The files writing created, changed or removed, relative to the
    /// output folder (`host serve` reloads the pages among them).
    pub changed: Vec<String>,
    /// Every warning and error, in file order.
    pub diagnostics: Vec<Diagnostic>,
    /// Macro calls expanded (built-in and Python).
    pub macro_calls: usize,
    /// Python macro calls that ran in the sandbox.
    pub sandbox_runs: usize,
    /// Python macro calls answered from a cache.
    pub cache_hits: usize,
    /// What each macro and transform did.
    pub macros: Vec<crate::stats::CallStats>,
    /// The sandbox's isolation and counters, when Python ran.
    pub sandbox: Option<python::SandboxReport>,
    /// Wall time.
    pub elapsed: Duration,
    /// Whether nothing changed since the last render, so nothing was built
    /// (every input and output file had its recorded stamp): the rest is
    /// what that render reported.
    pub up_to_date: bool,
    /// Whether the build depended on nothing but the site's files and
    /// database: nothing fetched over the network (or failed to be), no
    /// stored response that ages, no call that failed.
    pub repeatable: bool,
    /// When the first page left out for its future date comes due (Unix
    /// seconds).
    pub publishes_at: Option<i64>,
    /// How many stored results `--gc` removed (`None` without it).
    pub results_removed: Option<usize>,
}

impl BuildReport {
    /// Whether a call of this build (a macro, hook, transform or
    /// generator) failed.
    pub fn a_call_failed(&self) -> bool {
        self.macros.iter().any(|m| m.failures.total() > 0)
    }

    /// Number of diagnostics of `severity`.
    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }
}

/// The site as loaded: settings, every page (drafts too: they go into the
/// database), scripts, and what loading them said.
struct Loaded {
    config: Config,
    /// Every page of `content/` (and what loading them said), shared with
    /// the content `host serve` keeps.
    content: std::sync::Arc<content::Content>,
    scripts: Vec<Script>,
    /// The `data/` folder, parsed.
    data: std::sync::Arc<crate::site_data::DataTree>,
    diagnostics: Vec<Diagnostic>,
    /// What `ctx.fetch` answers from (set once the database is open).
    remote: std::sync::Arc<Remote>,
    /// What `ctx.resource` makes.
    images: std::sync::Arc<Images>,
}

/// Read the site, open its database and make its Python session; the
/// session's sandbox starts while the site is read when the build will
/// call it ([`starts_sandbox_early`]), not when its first page waits on it.
fn load_with_session(
    options: &BuildOptions,
    started: Instant,
) -> anyhow::Result<(Loaded, Session, Option<Store>)> {
    let config = load_config(options)?;
    let (scripts, script_diagnostics) = crate::scripts::load(&options.root);
    let store = open_store(options)?;
    phase(started, "database opened");
    let (python, python_diagnostics) = python_session(options, &config, &scripts, store.as_ref())?;
    phase(started, "Python session made");
    let mut loaded = std::thread::scope(|scope| {
        if starts_sandbox_early(options, &python) {
            let python = &python;
            let _ = std::thread::Builder::new()
                .name("sandbox start".into())
                .spawn_scoped(scope, move || python.start_sandbox());
        }
        load(options, config, scripts)
    });
    loaded.diagnostics.extend(script_diagnostics);
    loaded.diagnostics.extend(python_diagnostics);
    phase(started, "loaded");
    Ok((loaded, python, store))
}

/// Read the site's site.toml, published under `options`' base URL when it
/// has one.
fn load_config(options: &BuildOptions) -> anyhow::Result<Config> {
    let mut config = Config::load(&options.root)?;
    if let Some(base_url) = &options.base_url {
        config.base_url = base_url.clone();
    }
    Ok(config)
}

/// Read the rest of the site beside its `config` and `scripts`: its content
/// (the kept content when there is some) and data.
fn load(options: &BuildOptions, config: Config, scripts: Vec<Script>) -> Loaded {
    let root = &options.root;
    let content = match options.kept_content.as_deref() {
        Some(kept) => kept.load(root, &config.permalinks),
        None => std::sync::Arc::new(content::load_from(
            root,
            &config.permalinks,
            options.sources.as_deref(),
        )),
    };
    let mut diagnostics = content.diagnostics.clone();
    diagnostics.extend(crate::symlinks::report(root));
    let (data, data_diagnostics) = match options.kept_data.as_deref() {
        Some(kept) => kept.load(root),
        None => {
            let sources = options.sources.as_deref();
            let (data, diagnostics) = crate::site_data::DataTree::load_from(root, sources);
            (std::sync::Arc::new(data), diagnostics)
        }
    };
    diagnostics.extend(data_diagnostics);
    Loaded {
        images: std::sync::Arc::new(Images::for_site(root, &config, &content.pages)),
        content,
        config,
        scripts,
        data,
        diagnostics,
        remote: std::sync::Arc::default(),
    }
}

/// Whether this build starts its sandbox before it reads the site, so that
/// its first call does not wait for an instance: when it has scripts to
/// run and either no page kept from the last render (a first render,
/// `--no-cache`: its pages will call them) or a generator and a data file
/// that changed (a generator reads data). Not when it shares a sandbox
/// already started (`host serve`), nor otherwise: starting costs an
/// instance (about 15 ms of a core, and 15 MB) that a build answered from
/// kept pages and stored results never uses.
fn starts_sandbox_early(options: &BuildOptions, python: &Session) -> bool {
    // `--gc` keeps no page, but its calls' stored results answer them.
    let renders_all = !options.gc
        && options
            .page_cache
            .as_deref()
            .is_none_or(PageCache::likely_empty);
    let generates = !python.generators().is_empty() && !options.data_unchanged;
    options.sandbox.is_none() && python.runs_scripts() && (renders_all || generates)
}

/// What `ctx.fetch` answers from in this build: the site's grant, and the
/// responses earlier builds kept in `store` (none are replayed with
/// `--refresh-remote`).
fn remote(config: &Config, store: Option<&Store>, options: &BuildOptions) -> Remote {
    Remote::for_site(
        &config.capabilities,
        store,
        options.refresh_remote,
        build_clock().timestamp(),
    )
}

/// What this build fetched (to keep in the database), with a warning for
/// each stored response it used because fetching failed.
fn fetched_responses(
    remote: &Remote,
    diagnostics: &mut Vec<Diagnostic>,
) -> (Vec<crate::capabilities::fetch::Response>, bool) {
    let (fetched, offline) = remote.take_fetched();
    let all_replayed = fetched.is_empty() && offline.is_empty();
    diagnostics.extend(
        offline
            .into_iter()
            .map(|why| Diagnostic::warning(crate::config::FILE, 0, 0, why)),
    );
    (fetched, all_replayed)
}

/// The database, when this build reads or writes it: `check` reads one
/// that exists but never creates one.
fn open_store(options: &BuildOptions) -> anyhow::Result<Option<Store>> {
    let root = &options.root;
    Ok(
        if options.write || root.join(crate::store::DB_PATH).exists() {
            Some(Store::open(root)?)
        } else {
            None
        },
    )
}

/// The Python session of this build, answering from results stored by
/// earlier builds when the cache is on.
fn python_session(
    options: &BuildOptions,
    config: &Config,
    scripts: &[Script],
    store: Option<&Store>,
) -> anyhow::Result<(Session, Vec<Diagnostic>)> {
    let stored = match store {
        Some(store) if options.use_cache && options.gc => {
            python::StoredResults::in_site(&options.root).recording_use(store.last_result_rowid()?)
        }
        Some(_) if options.use_cache => python::StoredResults::in_site(&options.root),
        _ => python::StoredResults::default(),
    };
    // The guest's clock is set once the pages are read (see `guest_clock`).
    let settings =
        python::Settings::for_site(&options.root, config, Duration::ZERO, options.use_cache);
    let (session, diagnostics) = Session::new(scripts, settings, stored);
    Ok(match &options.sandbox {
        Some(shared) => (session.sharing(shared.clone()), diagnostics),
        None => (session, diagnostics),
    })
}

/// Render threads: pages wait on Python macros while the sandbox's workers
/// run them, so with Python, more threads than cores keep the workers busy.
fn render_threads(options: &BuildOptions, python: &Session) -> anyhow::Result<rayon::ThreadPool> {
    let threads = options.jobs.unwrap_or_else(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        if !python.has_macros() && !python.has_hooks() && python.transforms().is_empty() {
            cores
        } else {
            cores * 4
        }
    });
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start the render threads")
}

/// What "now" is for a build: `SOURCE_DATE_EPOCH` when set (reproducible
/// builds, as the sandbox's clock), else the system's time. Pages dated
/// after it are left out unless `--future`.
pub(super) fn build_clock() -> chrono::DateTime<chrono::Utc> {
    crate::input::source_date_epoch()
        .and_then(|secs| i64::try_from(secs).ok())
        .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
        .unwrap_or_else(chrono::Utc::now)
}

/// Build as `host render` does: reusing the pages the last build kept in
/// the site's folder ([`PageCache::load`]) unless `options` turn the cache
/// off, and keeping them again when they changed (a build that writes).
pub fn build_keeping_pages(options: &BuildOptions) -> anyhow::Result<BuildReport> {
    let started = Instant::now();
    // The output folder is the user's to name (`--out`), but not over the
    // site's own files (`host serve` writes where it chose itself).
    if options.write
        && let Some(why) = super::output_place::problem(&options.root, &options.out_dir())
    {
        anyhow::bail!(why);
    }
    let repeatable = up_to_date::applies(options);
    let key = repeatable.then(|| up_to_date::key(options)).flatten();
    let mut last = match key.map(|key| up_to_date::unchanged(options, key)) {
        Some(Ok(report)) => {
            return Ok(BuildReport {
                elapsed: started.elapsed(),
                ..report
            });
        }
        Some(Err(last)) => Some(last),
        None => None,
    };
    // `--gc` needs every call looked up, so no kept page answers. The
    // kept pages are first needed once the site is read: they load
    // meanwhile.
    let page_cache = options.use_cache.then(|| {
        if options.gc {
            std::sync::Arc::new(PageCache::default())
        } else {
            PageCache::load_in_background(&options.root)
        }
    });
    let inputs = match last.as_mut().and_then(up_to_date::LastRender::take_inputs) {
        Some(inputs) => Some(inputs),
        None => key.and_then(|key| up_to_date::Inputs::before_reading(options, key)),
    };
    phase(started, "inputs stamped");
    let sources = inputs
        .as_ref()
        .map(|inputs| std::sync::Arc::new(SourceFiles::load(&options.root, inputs.stamps())));
    let options = BuildOptions {
        sources: sources.clone(),
        page_cache,
        keep_pages: options.use_cache,
        data_unchanged: inputs
            .as_ref()
            .zip(last.as_ref())
            .is_some_and(|(inputs, last)| last.data_unchanged(inputs)),
        ..options.clone()
    };
    let report = build(&options);
    if repeatable && let Ok(report) = &report {
        up_to_date::record(&options, inputs, report);
    }
    if let (Some(sources), Ok(_)) = (sources, &report) {
        sources.save(&options.root);
    }
    drop_later(options);
    report
}

/// Free `value` on a thread of its own: a build of 10,000 pages holds
/// hundreds of thousands of allocations, and its caller has its report.
/// Without a thread to spare, it is freed here.
fn drop_later<T: Send + 'static>(value: T) {
    let _ = std::thread::Builder::new()
        .name("drop".into())
        .spawn(move || drop(value));
}

/// Build the site described by `options`.
pub fn build(options: &BuildOptions) -> anyhow::Result<BuildReport> {
    let started = Instant::now();
    let root = &options.root;
    let (mut loaded, mut python, mut store) = load_with_session(options, started)?;
    // The output folder is looked at while the site renders.
    let look = options
        .write
        .then(|| super::output_manifest::Look::begin(root, &options.out_dir()));
    let mut diagnostics = std::mem::take(&mut loaded.diagnostics);
    let mut built = published(&loaded.content.pages, options);
    loaded.remote = std::sync::Arc::new(remote(&loaded.config, store.as_ref(), options));
    let clock = python::guest_clock(built.iter().copied());
    python.set_clock(clock);
    let kept_generated = options.kept_generated.as_deref();
    let mut made = run_generators(&loaded, &built, &python, kept_generated, &mut diagnostics);
    phase(started, "generators run");
    let pool = render_threads(options, &python)?;
    log_loaded(&built, &loaded, &python, &pool, started);

    // Transforms rewrite files: a generated page is not one.
    let permalinks = &loaded.config.permalinks;
    let mut transformed = pool.install(|| transform_all(root, &python, &built, permalinks));
    let generated = published(&made.pages, options);
    let publishes_at = publishes_at(&loaded.content.pages, &made.pages, options);
    transformed.extend(generated.iter().map(|_| (None, Vec::new())));
    built.extend(generated);
    let pages = after_transforms(&built, &transformed, options, &mut diagnostics);

    let mut context = SiteContext::new(root, &loaded.config, &pages);
    diagnostics.extend(context.nav_warning());
    let progress = progress::progress_bar(options.progress, pages.len());
    answer_about(&python, &mut context, &loaded, &pages);
    let keys = options
        .page_cache
        .as_deref()
        .map(|cache| PageKeys::new(cache, &python, root, &context, clock, &pages));
    if let (Some(cache), Some(keys)) = (&options.page_cache, &keys) {
        context.kept = Some(keys.listings(cache.clone(), root));
    }
    phase(started, "page keys made");
    let reuse = |i: usize| keys.as_ref()?.reuse(i, &pages[i].path);
    let note = |i, page: &_| keys.iter().for_each(|keys| keys.rendered(i, page));
    let rendered =
        pool.install(|| pages::render_pages(&context, &python, &pages, &progress, (&reuse, &note)));
    // Listings, feeds and the output call no macro.
    python.end_calls();
    let kept = |keys: &PageKeys| pool.install(|| keys.keep(&rendered));
    let mut kept_pages_changed = keys.as_ref().is_some_and(kept);
    progress.finish_and_clear();
    let elapsed_ms = started.elapsed().as_millis() as u64;
    tracing::info!(pages = pages.len(), elapsed_ms, "pages rendered");

    let mut output = Output::default();
    let gathered = gather_pages(&mut context, (&pages, &rendered), options, &mut output);
    diagnostics.extend(rendered.iter().flat_map(|r| r.diagnostics.iter().cloned()));
    phase(started, "pages gathered");
    render_site_files(
        &mut context,
        &loaded.config,
        (&pages, &gathered),
        &mut output,
        &mut diagnostics,
    );
    kept_pages_changed |= finish_listings(&mut context, started);
    phase(started, "listings made");
    let generated = (&pages[..], std::mem::take(&mut made.files), &*loaded.images);
    add_files(root, &context, generated, &mut output, &mut diagnostics);
    if options.check_links {
        let base = &context.base;
        let external = options.external_links.as_ref();
        let sources = &gathered.sources;
        diagnostics.extend(link_check::check_links(
            root, base, &output, sources, external,
        ));
    }
    made.name_generators(&mut diagnostics);
    let (fetched, all_replayed) = fetched_responses(&loaded.remote, &mut diagnostics);
    diagnostics.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    let mut report = BuildReport {
        diagnostics,
        publishes_at,
        ..report_of(
            &python,
            &pages,
            (&keys, kept_pages_changed),
            (&output, &gathered),
        )
    };
    report.repeatable = all_replayed
        && loaded.config.capabilities.fetch_max_age.is_none()
        && !report.a_call_failed();
    if let (Some(store), Some(look)) = (store.as_mut().filter(|_| options.write), look) {
        persist::persist(
            options,
            (&output, look),
            store,
            (&loaded.content.pages, &loaded.scripts),
            (&python, &fetched),
            &mut report,
            started.elapsed(),
        )?;
    }
    report.elapsed = started.elapsed();
    // The session too: unmapping its sandbox's memory took 2-3 ms.
    drop_later((loaded, transformed, made, rendered, output, python));
    Ok(report)
}

/// What the build did, so far: its pages, what it reused and ran, the
/// files of its `output`.
fn report_of(
    python: &Session,
    pages: &[&Page],
    (keys, kept_pages_changed): (&Option<PageKeys>, bool),
    (output, gathered): (&Output, &Gathered),
) -> BuildReport {
    let (sandbox_runs, cache_hits) = python.counts();
    BuildReport {
        pages: pages.len(),
        pages_reused: keys.as_ref().map_or(0, PageKeys::reused),
        kept_pages_changed,
        files: output.len(),
        macro_calls: gathered.macro_calls,
        sandbox_runs,
        cache_hits,
        macros: python.stats().snapshot(),
        sandbox: python.sandbox_report(),
        ..BuildReport::default()
    }
}

/// Note that a step of the build ended (`-vv` shows it), with the time
/// since the build started.
fn phase(started: Instant, step: &str) {
    tracing::debug!(elapsed_ms = started.elapsed().as_millis() as u64, "{step}");
}

/// Say what was loaded, and in what time.
fn log_loaded(
    built: &[&Page],
    loaded: &Loaded,
    python: &Session,
    pool: &rayon::ThreadPool,
    started: Instant,
) {
    tracing::info!(
        pages = built.len(),
        scripts = loaded.scripts.len(),
        data_files = loaded.data.files().len(),
        transforms = python.transforms().len(),
        generators = python.generators().len(),
        threads = pool.current_num_threads(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "site loaded"
    );
}

/// Let calls and templates ask about the site's data and its `pages`
/// (every page of this build, generated ones too).
fn answer_about(python: &Session, context: &mut SiteContext, loaded: &Loaded, pages: &[&Page]) {
    python.answer_from(std::sync::Arc::new(
        SiteQueries::of_pages(
            loaded.data.clone(),
            pages,
            context.base.clone(),
            &context.taxonomies,
        )
        .with_remote(loaded.remote.clone())
        .with_images(loaded.images.clone()),
    ));
    context.data = Some(python.queries());
}

/// Run the site's generators, which may ask about its data and the pages
/// of its files (`built`); what they made.
fn run_generators(
    loaded: &Loaded,
    built: &[&Page],
    python: &Session,
    kept: Option<&super::generators::KeptGenerated>,
    diagnostics: &mut Vec<Diagnostic>,
) -> super::generators::Made {
    // Before anything returns: a site whose last generator was deleted
    // keeps none of its pages.
    if let Some(kept) = kept {
        let live: Vec<&str> = python
            .generators()
            .iter()
            .map(|g| g.path.as_str())
            .collect();
        kept.retain(&live);
    }
    if python.generators().is_empty() {
        return super::generators::Made::default();
    }
    python.answer_from(std::sync::Arc::new(
        SiteQueries::of_pages(
            loaded.data.clone(),
            built,
            loaded.config.base_url(),
            &loaded.config.taxonomies,
        )
        .with_remote(loaded.remote.clone())
        .with_images(loaded.images.clone()),
    ));
    super::generators::generate(
        python,
        &loaded.content.pages,
        &loaded.config.permalinks,
        kept,
        diagnostics,
    )
}

/// Put the generators' files into `output`, each where nothing else is,
/// nor a folder of it or a file in it (a generated `posts` would take the
/// place of the folder every post is written in).
fn add_generated_files(
    context: &SiteContext,
    files: Vec<(String, String, String)>,
    output: &mut Output,
    diagnostics: &mut Vec<Diagnostic>,
) {
    for (path, content, generator) in files {
        let taken = output.files();
        let clash = taken
            .get_key_value(path.as_str())
            .map(|(p, _)| p)
            .or_else(|| {
                // A file of the output under `path`, or one at a folder of it.
                output.file_under(&path).or_else(|| {
                    path.match_indices('/')
                        .find_map(|(end, _)| taken.get_key_value(&path[..end]))
                        .map(|(p, _)| p)
                })
            })
            .cloned();
        if let Some(clash) = clash {
            let owner = context
                .published
                .get(&clash)
                .map_or_else(|| "a file of the site".to_owned(), Clone::clone);
            diagnostics.push(Diagnostic::error(
                &generator,
                1,
                1,
                format!("made `{path}`, where {owner} already publishes `{clash}`; it is left out"),
            ));
            continue;
        }
        output.add(path, content);
    }
}

/// The pages this build publishes: drafts only with `--drafts`, pages dated
/// after the build clock only with `--future`.
fn published<'a, P: Borrow<Page>>(pages: &'a [P], options: &BuildOptions) -> Vec<&'a Page> {
    let now = build_clock();
    pages
        .iter()
        .map(Borrow::borrow)
        .filter(|p| options.drafts || !p.draft)
        .filter(|p| options.future || p.date.is_none_or(|d| d <= now))
        .collect()
}

/// When the first of `pages` and `generated` that a build with `options`
/// leaves out for its future date comes due (Unix seconds).
fn publishes_at(
    pages: &[Page],
    generated: &[std::sync::Arc<Page>],
    options: &BuildOptions,
) -> Option<i64> {
    if options.future {
        return None;
    }
    let now = build_clock();
    pages
        .iter()
        .chain(generated.iter().map(|p| &**p))
        .filter(|p| options.drafts || !p.draft)
        .filter_map(|p| p.date)
        .filter(|date| *date > now)
        .min()
        .map(|date| date.timestamp())
}

/// The pages as the transforms left them, newest first (undated last, ties
/// by path, so the order never depends on the file system); a transform may
/// have made one a draft.
fn after_transforms<'a>(
    built: &[&'a Page],
    transformed: &'a [(Option<Page>, Vec<Diagnostic>)],
    options: &BuildOptions,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<&'a Page> {
    let mut pages: Vec<&Page> = Vec::with_capacity(built.len());
    for (page, (new, transform_diagnostics)) in built.iter().zip(transformed) {
        let page = new.as_ref().unwrap_or(page);
        if options.drafts || !page.draft {
            pages.push(page);
        }
        diagnostics.extend(transform_diagnostics.iter().cloned());
    }
    pages.sort_by(|a, b| b.date.cmp(&a.date).then_with(|| a.path.cmp(&b.path)));
    pages
}

/// What the rendered pages give the rest of the build.
struct Gathered<'a> {
    /// The posts, newest first, with their rendered content (for the feed).
    posts: Vec<&'a Page>,
    contents: Vec<&'a String>,
    /// Each page's source, by output path, for link checking.
    sources: HashMap<String, crate::links::PageSource>,
    macro_calls: usize,
}

/// Put each rendered page into `output` (shared, with its digest) and
/// `context` (its summary, its published path).
fn gather_pages<'a>(
    context: &mut SiteContext,
    (pages, rendered): (&[&'a Page], &'a [std::sync::Arc<pages::RenderedPage>]),
    options: &BuildOptions,
    output: &mut Output,
) -> Gathered<'a> {
    let mut gathered = Gathered {
        posts: Vec::new(),
        contents: Vec::new(),
        sources: HashMap::new(),
        macro_calls: 0,
    };
    for (page, rendered) in pages.iter().zip(rendered) {
        if let Some(summary) = &rendered.summary {
            context.summaries.insert(page.path.clone(), summary.clone());
        }
        gathered.macro_calls += rendered
            .calls
            .iter()
            .filter(|(kind, _)| *kind != crate::stats::CallKind::Hook)
            .count();
        let path = format!("{}index.html", page.url_path().trim_start_matches('/'));
        if options.check_links {
            gathered.sources.insert(
                path.clone(),
                crate::links::PageSource {
                    file: page.path.clone(),
                    body: page.body.clone(),
                    body_line: page.body_line,
                },
            );
        }
        context.published.insert(path.clone(), page.path.clone());
        let html = bytes::Bytes::from_owner(pages::Html(rendered.clone()));
        output.add_digested(path, html, rendered.html_sha256);
        if page.kind == Kind::Post {
            gathered.posts.push(*page);
            gathered.contents.push(&rendered.content);
        }
    }
    gathered
}

/// Log what the listings reused; whether the kept ones changed.
fn finish_listings(context: &mut SiteContext, started: Instant) -> bool {
    let Some(kept) = context.kept.take() else {
        return false;
    };
    let (reused, total, changed) = kept.finish();
    tracing::info!(
        reused,
        total,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "listings"
    );
    changed
}

/// The files made from many pages: the index with its pagination, the
/// taxonomies, the 404 page, the feed and the sitemap. Each group is made on
/// a core of its own (a listing's time is building its context and its
/// key), into an output of its own, added in this order.
fn render_site_files(
    context: &mut SiteContext,
    config: &Config,
    (pages, gathered): (&[&Page], &Gathered),
    output: &mut Output,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let context = &*context;
    let taxonomies: Vec<(&str, _)> = context
        .taxonomies
        .iter()
        .map(|name| (name.as_str(), terms(&gathered.posts, name)))
        .collect();
    for name in &context.taxonomies {
        diagnostics.extend(super::listings::unnamable_terms(&gathered.posts, name));
    }
    let mut index = Group::default();
    let mut by_taxonomy: Vec<Group> = taxonomies.iter().map(|_| Group::default()).collect();
    let mut others = Group::default();
    let mut sitemap = Group::default();
    rayon::scope(|scope| {
        scope.spawn(|_| {
            let (out, found) = &mut index;
            render_index(context, &gathered.posts, config.paginate, out, found);
        });
        for ((taxonomy, terms), (out, found)) in taxonomies.iter().zip(&mut by_taxonomy) {
            scope.spawn(move |_| render_taxonomy(context, taxonomy, terms, out, found));
        }
        scope.spawn(|_| {
            let (out, found) = &mut others;
            render_404(context, out, found);
            feeds::render_feed(context, &gathered.posts, &gathered.contents, out, found);
        });
        scope.spawn(|_| {
            let (out, found) = &mut sitemap;
            feeds::render_sitemap(context, pages, &taxonomies, out, found);
        });
    });
    for (out, found) in std::iter::once(index)
        .chain(by_taxonomy)
        .chain([others, sitemap])
    {
        output.append(out);
        diagnostics.extend(found);
    }
}

/// What one group of listings made: its files and diagnostics.
type Group = (Output, Vec<Diagnostic>);

/// A generator's file: its path in the output, its text, its generator.
type GeneratedFile = (String, String, String);

/// The files copied or made beside the pages: a bundle's files, `static/`,
/// redirects at old URLs, the generators' files (path, text, generator),
/// the images scripts made; then the output's paths checked.
fn add_files(
    root: &std::path::Path,
    context: &SiteContext,
    (pages, generated, images): (&[&Page], Vec<GeneratedFile>, &Images),
    output: &mut Output,
    diagnostics: &mut Vec<Diagnostic>,
) {
    bundles::copy_resources(root, pages, output, diagnostics);
    static_files::add_static_files(root, output, diagnostics);
    aliases::add_aliases(context, pages, output, diagnostics);
    add_generated_files(context, generated, output, diagnostics);
    for (source, why) in images.produce(output) {
        diagnostics.push(Diagnostic::warning(source, 0, 0, why));
    }
    output_paths::check(root, output, &context.published, diagnostics);
}
