//! Every post and page, in parallel: macros expanded, Markdown rendered,
//! the page template applied.

use super::site_context::{SiteContext, iso_date};
use crate::content::{self, Page};
use crate::diagnostics::Diagnostic;
use crate::macros::builtins::Registry;
use crate::macros::expand::{Expander, IndexEntry, SiteIndex};
use crate::markdown;
use crate::python::Session;
use crate::stats::CallKind;
use minijinja::context;
use rayon::prelude::*;
use serde::Serialize;
use std::sync::Arc;

/// Where a body's summary ends.
const MORE: &str = "<!--more-->";

/// The template a page of `kind` is rendered with.
pub(super) fn template_of(kind: content::Kind) -> &'static str {
    match kind {
        content::Kind::Post => "post.html",
        content::Kind::Page => "page.html",
    }
}

/// One page, rendered.
#[derive(Clone, Serialize, serde::Deserialize)]
pub(super) struct RenderedPage {
    /// The body's HTML (for the feed).
    pub content: String,
    /// The whole page.
    pub html: String,
    /// What went wrong, located. (A page with problems is never kept.)
    #[serde(skip)]
    pub diagnostics: Vec<Diagnostic>,
    /// The body's HTML before `<!--more-->`, when it has the marker.
    pub summary: Option<String>,
    /// Each macro call it made (the page cache's key holds what each name
    /// resolves to).
    pub calls: Vec<(CallKind, String)>,
}

/// A term as a page shows it.
#[derive(Serialize)]
struct TermRef {
    name: String,
    slug: String,
    url: String,
}

/// What macros may know of the other pages: every page, newest first.
pub(super) fn site_index(context: &SiteContext, pages: &[&Page]) -> SiteIndex {
    SiteIndex {
        entries: pages
            .iter()
            .map(|p| IndexEntry {
                path: p.path.clone(),
                slug: p.slug.clone(),
                title: p.title.clone(),
                url: context.url(p),
                date: p.date.map(iso_date),
                is_post: p.kind == content::Kind::Post,
            })
            .collect(),
    }
}

/// Render `pages` on the current thread pool, in order; `reuse` gives the
/// ones an earlier build rendered under the same inputs.
pub(super) fn render_pages(
    context: &SiteContext,
    python: &Session,
    index: &SiteIndex,
    pages: &[&Page],
    progress: &indicatif::ProgressBar,
    reuse: &(dyn Fn(usize) -> Option<Arc<RenderedPage>> + Sync),
) -> Vec<Arc<RenderedPage>> {
    let registry = Registry::default();
    pages
        .par_iter()
        .enumerate()
        .map(|(i, page)| {
            let rendered = reuse(i)
                .unwrap_or_else(|| Arc::new(render_page(context, python, &registry, index, page)));
            progress.inc(1);
            rendered
        })
        .collect()
}

fn render_page(
    context: &SiteContext,
    python: &Session,
    registry: &Registry,
    index: &SiteIndex,
    page: &Page,
) -> RenderedPage {
    let expander = Expander::new(registry, index, &page.path).with_stats(python.stats());
    let expander = if python.has_macros() {
        expander.with_python(python, page)
    } else {
        expander
    };
    let expanded = expander.expand_page(&page.body, page.body_line);
    let mut diagnostics = expanded.diagnostics;
    let terms = |taxonomy: &str| -> Vec<TermRef> {
        page.terms(taxonomy)
            .into_iter()
            .map(|t| TermRef {
                slug: content::page::slugify(&t),
                url: context.term_url(taxonomy, &t),
                name: t,
            })
            .collect()
    };
    let taxonomies: std::collections::BTreeMap<&str, Vec<TermRef>> = context
        .taxonomies
        .iter()
        .map(|name| (name.as_str(), terms(name)))
        .collect();
    let template = template_of(page.kind);
    let html = context
        .templates
        .render(
            template,
            context! {
                site => context.site.clone(),
                nav => &context.nav,
                page => context! {
                    title => &page.title,
                    date => page.date.map(iso_date),
                    lastmod => page.lastmod.map(iso_date),
                    tags => terms("tags"),
                    taxonomies => taxonomies,
                    summary => &page.summary,
                    extra => &page.extra,
                    url => context.url(page),
                    content => &expanded.html,
                    toc => markdown::toc_html(&expanded.headings),
                    headings => &expanded.headings,
                },
            },
        )
        .unwrap_or_else(|d| {
            diagnostics.push(d);
            String::new()
        });
    let summary = expanded
        .html
        .split_once(MORE)
        .map(|(before, _)| before.trim_end().to_owned());
    RenderedPage {
        summary,
        content: expanded.html,
        html,
        diagnostics,
        calls: expanded.calls,
    }
}
