//! The Atom feed and the sitemap.

use super::listings::Terms;
use super::output::Output;
use super::site_context::{SiteContext, iso_date};
use crate::content::Page;
use crate::diagnostics::Diagnostic;
use minijinja::context;

/// Posts in the feed, newest first.
const FEED_POSTS: usize = 20;

/// `atom.xml`: the newest posts with their content (`contents[i]` is the
/// body of `posts[i]`).
pub(super) fn render_feed(
    context: &SiteContext,
    posts: &[&Page],
    contents: &[&String],
    output: &mut Output,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let updated = posts
        .iter()
        .filter_map(|p| p.date)
        .max()
        .map(|d| d.to_rfc3339())
        .unwrap_or_else(|| "1970-01-01T00:00:00+00:00".into());
    let feed: Vec<_> = posts
        .iter()
        .zip(contents)
        .take(FEED_POSTS)
        .map(|(p, html)| {
            let listed = context.listed(p);
            let summary = listed
                .summary_html
                .or_else(|| listed.summary.map(|text| crate::markdown::escape(&text)));
            context! {
                title => &p.title,
                summary => summary,
                permalink => context.url(p),
                updated => p.date.map(|d| d.to_rfc3339()).unwrap_or_else(|| updated.clone()),
                content => html,
            }
        })
        .collect();
    context.render_into(
        output,
        diagnostics,
        "atom.xml",
        "atom.xml",
        context! { site => context.site.clone(), posts => feed, updated => &updated },
    );
}

/// `sitemap.xml`: the index, every page and every term page (aliases
/// are not pages).
pub(super) fn render_sitemap(
    context: &SiteContext,
    pages: &[&Page],
    taxonomies: &[(&str, Terms<'_>)],
    output: &mut Output,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let base = &context.base;
    let mut urls = vec![context! { loc => base.clone() }];
    urls.extend(pages.iter().map(
        |p| context! { loc => context.url(p), lastmod => p.lastmod.or(p.date).map(iso_date) },
    ));
    for (taxonomy, terms) in taxonomies {
        urls.extend(
            terms
                .keys()
                .map(|slug| context! { loc => format!("{base}{taxonomy}/{slug}/") }),
        );
    }
    context.render_into(
        output,
        diagnostics,
        "sitemap.xml",
        "sitemap.xml",
        context! { urls => urls },
    );
}
