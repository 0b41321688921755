//! One build of a site, as the steps a reader can follow: load, apply
//! transforms, render pages, listings and taxonomies, feed and sitemap,
//! static files, link check, persist.

use super::apply_transforms::transform_all;
use super::listings::{render_404, render_index, render_taxonomy, terms};
use super::output::{Output, WriteReport};
use super::page_cache::{
    KeptListings, KeyHasher, PageCache, PageHasher, page_hasher, page_key, site_key, templates_part,
};
use super::site_context::SiteContext;
use super::{
    aliases, bundles, feeds, link_check, output_paths, pages, persist, progress, static_files,
};
use crate::config::Config;
use crate::content::{self, Kind, Page};
use crate::diagnostics::{Diagnostic, Severity};
use crate::macros::expand::SiteIndex;
use crate::python::{self, Session};
use crate::scripts::Script;
use crate::stats::{CallKind, Event};
use crate::store::Store;
use anyhow::Context as _;
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What to build and how.
#[derive(Clone, Debug)]
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
    /// Told as soon as the output folder is written, before the database is
    /// brought up to date (`host serve` reloads the open pages from here).
    pub on_written: Option<OnWritten>,
    /// Save `page_cache` in the site's `.blogmark/` for the next render
    /// (when it changed), beside the output ([`build_keeping_pages`] sets it).
    pub keep_pages: bool,
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
}

impl BuildReport {
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
    pages: Vec<Page>,
    scripts: Vec<Script>,
    diagnostics: Vec<Diagnostic>,
}

/// Read `root`'s site.toml, content and scripts.
fn load(root: &std::path::Path, kept: Option<&content::KeptContent>) -> anyhow::Result<Loaded> {
    let config = Config::load(root)?;
    let content = match kept {
        Some(kept) => kept.load(root, &config.permalinks),
        None => content::load_with(root, &config.permalinks),
    };
    let mut diagnostics = content.diagnostics;
    diagnostics.extend(crate::symlinks::report(root));
    let (scripts, script_diagnostics) = crate::scripts::load(root);
    diagnostics.extend(script_diagnostics);
    Ok(Loaded {
        config,
        pages: content.pages,
        scripts,
        diagnostics,
    })
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
    loaded: &Loaded,
    store: Option<&Store>,
    clock: Duration,
) -> anyhow::Result<(Session, Vec<Diagnostic>)> {
    let stored = match store {
        Some(store) if options.use_cache => store.macro_results()?,
        _ => HashMap::new(),
    };
    let settings =
        python::Settings::for_site(&options.root, &loaded.config, clock, options.use_cache);
    let (session, diagnostics) = Session::new(&loaded.scripts, settings, stored);
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
        if !python.has_macros() && python.transforms().is_empty() {
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

/// What every page may read of the others, and the transforms, for the
/// page cache's key.
fn site_inputs(
    context: &SiteContext,
    python: &Session,
    index: &SiteIndex,
    clock: Duration,
) -> Vec<u8> {
    let entries: Vec<_> = index
        .entries
        .iter()
        .map(|e| (&e.path, &e.slug, &e.title, &e.url, &e.date, e.is_post))
        .collect();
    // Macros' scripts are in each page's key, as the page calls them;
    // transforms change every page they run on.
    let mut scripts: Vec<(String, String)> = python
        .transforms()
        .iter()
        .map(|s| (s.path.clone(), python.script_identity(s)))
        .collect();
    scripts.sort();
    serde_json::to_vec(&(
        entries,
        scripts,
        clock.as_secs(),
        &context.base,
        python.guest_build(),
    ))
    .unwrap_or_default()
}

/// What "now" is for a build: `SOURCE_DATE_EPOCH` when set (reproducible
/// builds, as the sandbox's clock), else the system's time. Pages dated
/// after it are left out unless `--future`.
fn build_clock() -> chrono::DateTime<chrono::Utc> {
    crate::input::source_date_epoch()
        .and_then(|secs| i64::try_from(secs).ok())
        .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
        .unwrap_or_else(chrono::Utc::now)
}

/// Build as `host render` does: reusing the pages the last build kept in
/// the site's folder ([`PageCache::load`]) unless `options` turn the cache
/// off, and keeping them again when they changed (a build that writes).
pub fn build_keeping_pages(options: &BuildOptions) -> anyhow::Result<BuildReport> {
    build(&BuildOptions {
        page_cache: options
            .use_cache
            .then(|| std::sync::Arc::new(PageCache::load(&options.root))),
        keep_pages: options.use_cache,
        ..options.clone()
    })
}

/// Build the site described by `options`.
pub fn build(options: &BuildOptions) -> anyhow::Result<BuildReport> {
    let started = Instant::now();
    let root = &options.root;
    let mut loaded = load(root, options.kept_content.as_deref())?;
    if let Some(base_url) = &options.base_url {
        loaded.config.base_url = base_url.clone();
    }
    let mut diagnostics = std::mem::take(&mut loaded.diagnostics);
    let now = build_clock();
    let built: Vec<&Page> = loaded
        .pages
        .iter()
        .filter(|p| options.drafts || !p.draft)
        .filter(|p| options.future || p.date.is_none_or(|d| d <= now))
        .collect();
    let mut store = open_store(options)?;
    let clock = python::guest_clock(built.iter().copied());
    let (python, python_diagnostics) = python_session(options, &loaded, store.as_ref(), clock)?;
    diagnostics.extend(python_diagnostics);
    let pool = render_threads(options, &python)?;
    tracing::info!(
        pages = built.len(),
        scripts = loaded.scripts.len(),
        threads = pool.current_num_threads(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "site loaded"
    );

    let transformed = pool.install(|| transform_all(root, &python, &built));
    if !python.transforms().is_empty() {
        tracing::info!(
            transforms = python.transforms().len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "transforms applied"
        );
    }
    let mut pages: Vec<&Page> = Vec::with_capacity(built.len());
    for (page, (new, transform_diagnostics)) in built.iter().zip(&transformed) {
        let page = new.as_ref().unwrap_or(page);
        // A transform may mark a post as a draft.
        if options.drafts || !page.draft {
            pages.push(page);
        }
        diagnostics.extend(transform_diagnostics.iter().cloned());
    }
    // Newest first; undated posts last; ties by path so the order never
    // depends on the file system.
    pages.sort_by(|a, b| b.date.cmp(&a.date).then_with(|| a.path.cmp(&b.path)));

    let mut context = SiteContext::new(root, &loaded.config, &pages);
    let progress = progress::progress_bar(options.progress, pages.len());
    let index = pages::site_index(&context, &pages);
    // With a page cache: each page's hasher, made before its macros are
    // known; its key adds what each macro it called resolves to.
    let caching: Option<(&PageCache, KeyHasher, Vec<PageHasher>)> =
        options.page_cache.as_deref().map(|cache| {
            let site = site_key(root, &site_inputs(&context, &python, &index, clock));
            let templates: HashMap<Kind, String> = [Kind::Post, Kind::Page]
                .into_iter()
                .map(|kind| {
                    let name = pages::template_of(kind);
                    (kind, templates_part(&context.templates, root, name))
                })
                .collect();
            let hashers = pool.install(|| {
                pages
                    .par_iter()
                    .map(|p| page_hasher(&site, &templates[&p.kind], root, p))
                    .collect()
            });
            (cache, site, hashers)
        });
    if let (Some(cache), Some((_, site, _))) = (&options.page_cache, &caching) {
        context.kept = Some(KeptListings::new(cache.clone(), site, root));
    }
    let key = |hasher: &PageHasher, calls: &[(CallKind, String)]| {
        page_key(hasher, calls, |name| {
            python.macro_named(name).map_or_else(String::new, |s| {
                format!("{}\0{}", s.path, python.script_identity(s))
            })
        })
    };
    let reused = std::sync::atomic::AtomicUsize::new(0);
    let reuse = |i: usize| {
        let (cache, _, hashers) = caching.as_ref()?;
        let page = cache.get(&pages[i].path, |calls| key(&hashers[i], calls))?;
        reused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        for (kind, name) in &page.calls {
            python.stats().record(*kind, name, Event::CacheHit, None);
        }
        Some(page)
    };
    let rendered =
        pool.install(|| pages::render_pages(&context, &python, &index, &pages, &progress, &reuse));
    // Listings, feeds and the output call no macro.
    python.end_calls();
    // Each page's key; none for a page with problems (a macro that timed
    // out, ...): it is rendered again next time, the problem may be gone.
    let keys: Option<Vec<Option<String>>> = caching.as_ref().map(|(_, _, hashers)| {
        hashers
            .iter()
            .zip(&rendered)
            .map(|(hasher, rendered)| {
                rendered
                    .diagnostics
                    .is_empty()
                    .then(|| key(hasher, &rendered.calls))
            })
            .collect()
    });
    let mut kept_pages_changed = false;
    if let (Some((cache, _, _)), Some(keys)) = (&caching, &keys) {
        kept_pages_changed = cache.replace(
            pages
                .iter()
                .zip(keys)
                .zip(&rendered)
                .filter_map(|((page, key), rendered)| {
                    Some((page.path.clone(), (key.clone()?, rendered.clone())))
                })
                .collect(),
        );
    }
    progress.finish_and_clear();
    tracing::info!(
        pages = pages.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "pages rendered"
    );

    let mut output = Output::default();
    let mut macro_calls = 0;
    let mut sources = HashMap::new();
    let mut posts = Vec::new();
    let mut contents = Vec::new();
    for (page, rendered) in pages.iter().zip(&rendered) {
        if let Some(summary) = &rendered.summary {
            context.summaries.insert(page.path.clone(), summary.clone());
        }
        diagnostics.extend(rendered.diagnostics.iter().cloned());
        macro_calls += rendered.calls.len();
        let path = format!("{}index.html", page.url_path().trim_start_matches('/'));
        if options.check_links {
            sources.insert(
                path.clone(),
                crate::links::PageSource {
                    file: page.path.clone(),
                    body: page.body.clone(),
                    body_line: page.body_line,
                },
            );
        }
        context.published.insert(path.clone(), page.path.clone());
        output.add(path, rendered.html.as_str());
        if page.kind == Kind::Post {
            posts.push(*page);
            contents.push(&rendered.content);
        }
    }

    let paginate = loaded.config.paginate;
    render_index(&context, &posts, paginate, &mut output, &mut diagnostics);
    let taxonomies: Vec<(&str, _)> = context
        .taxonomies
        .iter()
        .map(|name| (name.as_str(), terms(&posts, name)))
        .collect();
    for (taxonomy, terms) in &taxonomies {
        render_taxonomy(&context, taxonomy, terms, &mut output, &mut diagnostics);
    }
    render_404(&context, &mut output, &mut diagnostics);
    feeds::render_feed(&context, &posts, &contents, &mut output, &mut diagnostics);
    feeds::render_sitemap(&context, &pages, &taxonomies, &mut output, &mut diagnostics);
    if let Some(kept) = context.kept.take() {
        let (reused, total, changed) = kept.finish();
        tracing::info!(
            reused,
            total,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "listings"
        );
        kept_pages_changed |= changed;
    }
    bundles::copy_resources(root, &pages, &mut output, &mut diagnostics);
    static_files::add_static_files(root, &mut output, &mut diagnostics);
    aliases::add_aliases(&context, &pages, &mut output, &mut diagnostics);
    output_paths::check(root, &mut output, &context.published, &mut diagnostics);
    if options.check_links {
        diagnostics.extend(link_check::check_links(
            root,
            &context.base,
            &output,
            &sources,
            options.external_links.as_ref(),
        ));
    }

    diagnostics.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    let (sandbox_runs, cache_hits) = python.counts();
    let mut report = BuildReport {
        pages: pages.len(),
        pages_reused: reused.into_inner(),
        kept_pages_changed,
        files: output.len(),
        diagnostics,
        macro_calls,
        sandbox_runs,
        cache_hits,
        macros: python.stats().snapshot(),
        sandbox: python.sandbox_report(),
        ..BuildReport::default()
    };
    if let Some(store) = store.as_mut().filter(|_| options.write) {
        persist::persist(
            options,
            &output,
            store,
            (&loaded.pages, &loaded.scripts),
            &python,
            &mut report,
            started.elapsed(),
        )?;
    }
    report.elapsed = started.elapsed();
    Ok(report)
}
