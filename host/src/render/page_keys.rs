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
use crate::macros::expand::SiteIndex;
use crate::python::Session;
use crate::stats::{CallKind, Event};
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
    site: KeyHasher,
    /// Each page's hasher, made before its macros are known.
    hashers: Vec<PageHasher>,
    reused: AtomicUsize,
}

impl<'a> PageKeys<'a> {
    /// The hashers of `pages` (in parallel, on the calling thread's pool),
    /// for a build of the site at `root` whose context, index and guest
    /// clock are these.
    pub(super) fn new(
        cache: &'a PageCache,
        python: &'a Session,
        root: &Path,
        context: &SiteContext,
        index: &SiteIndex,
        clock: Duration,
        pages: &[&Page],
    ) -> Self {
        let site = site_key(root, &site_inputs(context, python, index, clock));
        let templates: HashMap<Kind, String> = [Kind::Post, Kind::Page]
            .into_iter()
            .map(|kind| {
                let name = super::pages::template_of(kind);
                (kind, templates_part(&context.templates, root, name))
            })
            .collect();
        let hashers = pages
            .par_iter()
            .map(|p| page_hasher(&site, &templates[&p.kind], root, p))
            .collect();
        PageKeys {
            cache,
            python,
            site,
            hashers,
            reused: AtomicUsize::new(0),
        }
    }

    /// The listings kept from the last build, keyed by this build's site.
    pub(super) fn listings(&self, cache: Arc<PageCache>, root: &Path) -> KeptListings {
        KeptListings::new(cache, &self.site, root)
    }

    /// The key of page `i` that made the macro `calls`.
    fn key(&self, i: usize, calls: &[(CallKind, String)]) -> String {
        page_key(&self.hashers[i], calls, |name| {
            self.python.macro_named(name).map_or_else(String::new, |s| {
                format!("{}\0{}", s.path, self.python.script_identity(s))
            })
        })
    }

    /// Page `i` as the last build rendered it, if nothing it depends on
    /// changed; its calls count as answered from a cache.
    pub(super) fn reuse(&self, i: usize, path: &str) -> Option<Arc<RenderedPage>> {
        let page = self.cache.get(path, |calls| self.key(i, calls))?;
        self.reused.fetch_add(1, Ordering::Relaxed);
        for (kind, name) in &page.calls {
            self.python
                .stats()
                .record(*kind, name, Event::CacheHit, None);
        }
        Some(page)
    }

    /// Keep this build's pages for the next; whether the cache changed. A
    /// page with problems (a macro that timed out, ...) is not kept: it is
    /// rendered again next time, the problem may be gone.
    pub(super) fn keep(&self, pages: &[&Page], rendered: &[Arc<RenderedPage>]) -> bool {
        self.cache.replace(
            pages
                .iter()
                .zip(rendered)
                .enumerate()
                .filter(|(_, (_, rendered))| rendered.diagnostics.is_empty())
                .map(|(i, (page, rendered))| {
                    (
                        page.path.clone(),
                        (self.key(i, &rendered.calls), rendered.clone()),
                    )
                })
                .collect(),
        )
    }

    /// How many pages [`PageKeys::reuse`] gave.
    pub(super) fn reused(&self) -> usize {
        self.reused.load(Ordering::Relaxed)
    }
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
