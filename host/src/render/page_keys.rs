//! The page cache as one build uses it: each page's key, made of the site's
//! part (what every page may read of the others: the site index, the
//! transforms, the guest, the clock, site.toml), the templates it may load,
//! the page itself, and what each macro it called resolves to. See
//! [`super::page_cache`] for what is kept and why a key is exact.

use super::page_cache::{
    KeptListings, KeyHasher, PageCache, PageHasher, page_hasher, page_key, site_key, templates_part,
};
use super::pages::RenderedPage;
use super::site_context::SiteContext;
use crate::content::{Kind, Page};
use crate::python::Session;
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The keys of one build's pages, and what it reused.
pub(super) struct PageKeys<'a> {
    cache: &'a PageCache,
    python: &'a Session,
    root: &'a Path,
    pages: &'a [&'a Page],
    site: KeyHasher,
    /// The part of each kind of page's key for the templates it may load.
    templates: HashMap<Kind, String>,
    /// Each page's hasher, made before its macros are known, when first
    /// needed: on the render thread that looks for the page in the cache or
    /// renders it (a first render's pages are in no cache).
    hashers: Vec<std::sync::OnceLock<PageHasher>>,
    /// Each page's key, once known (reused, or kept).
    keys: Vec<std::sync::OnceLock<String>>,
    /// What each Python macro's name resolves to in a key: its script's
    /// path and identity (a built-in's name resolves to nothing).
    resolved: HashMap<&'a str, String>,
    reused: AtomicUsize,
}

impl<'a> PageKeys<'a> {
    /// The keys of `pages`, for a build of the site at `root` whose
    /// context, index and guest clock are these.
    pub(super) fn new(
        cache: &'a PageCache,
        python: &'a Session,
        root: &'a Path,
        context: &SiteContext,
        clock: Duration,
        pages: &'a [&'a Page],
    ) -> Self {
        let site = site_key(root, &site_inputs(context, python, clock));
        let templates: HashMap<Kind, String> = [Kind::Post, Kind::Page]
            .into_iter()
            .map(|kind| {
                let name = super::pages::template_of(kind);
                (kind, templates_part(&context.templates, root, name))
            })
            .collect();
        let resolved = python
            .macros()
            .map(|(name, s)| (name, format!("{}\0{}", s.path, python.script_identity(s))))
            .collect();
        PageKeys {
            cache,
            python,
            root,
            pages,
            site,
            templates,
            resolved,
            keys: pages.iter().map(|_| std::sync::OnceLock::new()).collect(),
            hashers: pages.iter().map(|_| std::sync::OnceLock::new()).collect(),
            reused: AtomicUsize::new(0),
        }
    }

    /// The hasher of page `i`.
    fn hasher(&self, i: usize) -> &PageHasher {
        self.hashers[i].get_or_init(|| {
            let page = self.pages[i];
            page_hasher(&self.site, &self.templates[&page.kind], self.root, page)
        })
    }

    /// The listings kept from the last build, keyed by this build's site
    /// and by the answers to what their templates asked.
    pub(super) fn listings(&self, cache: Arc<PageCache>, root: &Path) -> KeptListings {
        KeptListings::new(cache, self.python.queries(), &self.site, root)
    }

    /// The key of page `i` as `rendered`: its macro calls, each resolved,
    /// and the answers, as of now, to the questions it asked of the site.
    fn key(&self, i: usize, rendered: &RenderedPage) -> String {
        let queries = self.python.queries();
        page_key(
            self.hasher(i),
            &rendered.calls,
            |name| self.resolved.get(name).map_or("", String::as_str),
            rendered
                .reads
                .iter()
                .map(|q| (q.as_str(), queries.digest(q))),
        )
    }

    /// Page `i` as the last build rendered it, if nothing it depends on
    /// changed; its calls count as answered from a cache.
    pub(super) fn reuse(&self, i: usize, path: &str) -> Option<Arc<RenderedPage>> {
        let mut key = String::new();
        let page = self.cache.get(path, |page| {
            key = self.key(i, page);
            key.clone()
        })?;
        let _ = self.keys[i].set(key);
        self.reused.fetch_add(1, Ordering::Relaxed);
        self.python.stats().record_hits(&page.calls);
        Some(page)
    }

    /// Note that page `i` rendered as `rendered`: its key is made now, on
    /// the render thread, for [`PageKeys::keep`].
    pub(super) fn rendered(&self, i: usize, rendered: &RenderedPage) {
        if rendered.diagnostics.is_empty() {
            let _ = self.keys[i].get_or_init(|| self.key(i, rendered));
        }
    }

    /// Keep this build's pages for the next; whether the cache changed. A
    /// page with problems (a macro that timed out, ...) is not kept: it is
    /// rendered again next time, the problem may be gone.
    pub(super) fn keep(&self, rendered: &[Arc<RenderedPage>]) -> bool {
        self.cache.replace(
            self.pages
                .par_iter()
                .zip(rendered)
                .enumerate()
                .filter(|(_, (_, rendered))| rendered.diagnostics.is_empty())
                .map(|(i, (page, rendered))| {
                    let key = self.keys[i].get_or_init(|| self.key(i, rendered));
                    (page.path.clone(), (key.clone(), rendered.clone()))
                })
                .collect(),
        )
    }

    /// How many pages [`PageKeys::reuse`] gave.
    pub(super) fn reused(&self) -> usize {
        self.reused.load(Ordering::Relaxed)
    }
}

/// What every page's template shows of the others (the navigation), the
/// transforms and the render hooks, for the page cache's key. What a page's
/// macros read of the other pages is in its own key, as the answers to its
/// questions.
fn site_inputs(context: &SiteContext, python: &Session, clock: Duration) -> Vec<u8> {
    let nav: Vec<_> = context.nav.iter().map(|e| (&e.title, &e.url)).collect();
    // Macros' scripts are in each page's key, as the page calls them;
    // transforms change every page they run on, and a hook any page with
    // its element (added, removed, edited or winning over another).
    let mut scripts: Vec<(String, String)> = python
        .transforms()
        .iter()
        .chain(python.hooks())
        .map(|s| {
            let on = format!("{:?} {:?}", s.hook, s.languages);
            (format!("{}\0{on}", s.path), python.script_identity(s))
        })
        .collect();
    scripts.sort();
    serde_json::to_vec(&(
        nav,
        scripts,
        clock.as_secs(),
        &context.base,
        python.guest_build(),
    ))
    .unwrap_or_default()
}
