//! Every post and page, in parallel: macros expanded, Markdown rendered,
//! the page template applied.

use super::site_context::{SiteContext, iso_date};
use crate::content::{self, Page};
use crate::diagnostics::Diagnostic;
use crate::macros::builtins::Registry;
use crate::macros::expand::Expander;
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
    /// SHA-256 of `html`: what the output compares with the last render's
    /// file (computed once, where the page is rendered).
    pub html_sha256: [u8; 32],
    /// What went wrong, located. (A page with problems is never kept.)
    #[serde(skip)]
    pub diagnostics: Vec<Diagnostic>,
    /// The body's HTML before `<!--more-->`, when it has the marker.
    pub summary: Option<String>,
    /// Each macro call it made (the page cache's key holds what each name
    /// resolves to).
    pub calls: Vec<(CallKind, String)>,
    /// The questions its calls and its template asked of the site, sorted
    /// and once each (the page cache's key holds their answers).
    pub reads: Vec<String>,
}

/// A rendered page's HTML, shared with the page (the output holds it
/// without a copy).
pub(super) struct Html(pub Arc<RenderedPage>);

impl AsRef<[u8]> for Html {
    fn as_ref(&self) -> &[u8] {
        self.0.html.as_bytes()
    }
}

/// A term as a page shows it.
#[derive(Serialize)]
struct TermRef {
    name: String,
    slug: String,
    url: String,
}

/// What [`render_pages`] is told of each page: the one an earlier build
/// rendered under the same inputs, if any; and, for a page it renders, the
/// page as rendered (on its render thread).
pub(super) type Reuse<'r> = (
    &'r (dyn Fn(usize) -> Option<Arc<RenderedPage>> + Sync),
    &'r (dyn Fn(usize, &RenderedPage) + Sync),
);

/// Render `pages` on the current thread pool, in order; `reuse` gives the
/// ones an earlier build rendered under the same inputs, and is told of
/// each page rendered.
pub(super) fn render_pages(
    context: &SiteContext,
    python: &Session,
    pages: &[&Page],
    progress: &indicatif::ProgressBar,
    (reuse, rendered_one): Reuse<'_>,
) -> Vec<Arc<RenderedPage>> {
    let registry = Registry::default();
    pages
        .par_iter()
        .enumerate()
        .map(|(i, page)| {
            let rendered = reuse(i).unwrap_or_else(|| {
                let rendered = render_page(context, python, &registry, page);
                rendered_one(i, &rendered);
                Arc::new(rendered)
            });
            progress.inc(1);
            rendered
        })
        .collect()
}

fn render_page(
    context: &SiteContext,
    python: &Session,
    registry: &Registry,
    page: &Page,
) -> RenderedPage {
    let queries = python.queries();
    let expander = Expander::new(registry, &queries, &page.path).with_stats(python.stats());
    let expander = if python.has_macros() || python.has_hooks() {
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
    let data = super::template_data::TemplateData::recording(queries.clone(), &context.data_values);
    let html = context
        .templates
        .render(
            template,
            context! {
                site => context.site.clone(),
                nav => &context.nav,
                data => data.value(),
                fetch => data.fetch(),
                image => data.image(Some(page.path.clone())),
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
    let mut reads = expanded.reads;
    reads.extend(data.reads());
    reads.sort_unstable();
    reads.dedup();
    RenderedPage {
        summary,
        content: expanded.html,
        html_sha256: <sha2::Sha256 as sha2::Digest>::digest(html.as_bytes()).into(),
        html,
        diagnostics,
        calls: expanded.calls,
        reads,
    }
}
