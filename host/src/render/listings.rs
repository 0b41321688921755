//! The pages that list posts: the paginated index, the tag index and one
//! page per tag, and the 404 page.

use super::output::Output;
use super::site_context::SiteContext;
use crate::content::{self, Page};
use crate::diagnostics::Diagnostic;
use minijinja::context;
use std::collections::BTreeMap;

/// Posts by tag slug: the tag as first written, and its posts in build
/// order.
pub(super) type Tags<'a> = BTreeMap<String, (String, Vec<&'a Page>)>;

/// `index.html`, then `page/N/index.html`: `config.paginate` posts each.
pub(super) fn render_index(
    context: &SiteContext,
    posts: &[&Page],
    per_page: usize,
    output: &mut Output,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let chunks: Vec<&[&Page]> = if posts.is_empty() {
        vec![&[][..]]
    } else {
        posts.chunks(per_page.max(1)).collect()
    };
    let total = chunks.len();
    let base = &context.base;
    let page_url = |n: usize| {
        if n == 1 {
            base.clone()
        } else {
            format!("{base}page/{n}/")
        }
    };
    for (i, chunk) in chunks.iter().enumerate() {
        let n = i + 1;
        let path = if n == 1 {
            "index.html".to_owned()
        } else {
            format!("page/{n}/index.html")
        };
        let ctx = context! {
            site => context.site.clone(),
            nav => &context.nav,
            posts => chunk.iter().map(|p| context.listed(p)).collect::<Vec<_>>(),
            paginator => context! {
                current => n,
                total => total,
                previous => (n > 1).then(|| page_url(n - 1)),
                next => (n < total).then(|| page_url(n + 1)),
            },
        };
        context.render_into(output, diagnostics, path, "index.html", ctx);
    }
}

/// The posts of each tag.
pub(super) fn tags<'a>(posts: &[&'a Page]) -> Tags<'a> {
    let mut tags = Tags::new();
    for post in posts {
        for tag in &post.tags {
            tags.entry(content::page::slugify(tag))
                .or_insert_with(|| (tag.clone(), Vec::new()))
                .1
                .push(post);
        }
    }
    tags
}

/// `tags/index.html` and `tags/<slug>/index.html` for each tag.
pub(super) fn render_taxonomies(
    context: &SiteContext,
    tags: &Tags<'_>,
    output: &mut Output,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let tag_list: Vec<_> = tags
        .iter()
        .map(|(slug, (name, posts))| context! { name => name, slug => slug, count => posts.len() })
        .collect();
    context.render_into(
        output,
        diagnostics,
        "tags/index.html",
        "tags.html",
        context! { site => context.site.clone(), nav => &context.nav, tags => tag_list },
    );
    for (slug, (name, tagged)) in tags {
        let ctx = context! {
            site => context.site.clone(),
            nav => &context.nav,
            tag => context! { name => name, slug => slug },
            posts => tagged.iter().map(|p| context.listed(p)).collect::<Vec<_>>(),
        };
        context.render_into(
            output,
            diagnostics,
            format!("tags/{slug}/index.html"),
            "tag.html",
            ctx,
        );
    }
}

/// `404.html`.
pub(super) fn render_404(
    context: &SiteContext,
    output: &mut Output,
    diagnostics: &mut Vec<Diagnostic>,
) {
    context.render_into(
        output,
        diagnostics,
        "404.html",
        "404.html",
        context! { site => context.site.clone(), nav => &context.nav },
    );
}
