//! The pages that list posts: the paginated index, the tag index and one
//! page per tag, and the 404 page.

use super::output::Output;
use super::site_context::SiteContext;
use crate::content::{self, Page};
use crate::diagnostics::Diagnostic;
use minijinja::context;
use std::collections::BTreeMap;

/// A taxonomy's terms by slug: the term as first written, and its posts
/// in build order.
pub(super) type Terms<'a> = BTreeMap<String, (String, Vec<&'a Page>)>;

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

/// The posts of each term of `taxonomy`.
pub(super) fn terms<'a>(posts: &[&'a Page], taxonomy: &str) -> Terms<'a> {
    let mut terms = Terms::new();
    for post in posts {
        for term in post.terms(taxonomy) {
            terms
                .entry(content::page::slugify(&term))
                .or_insert_with(|| (term, Vec::new()))
                .1
                .push(post);
        }
    }
    terms
}

/// A warning for each term of `taxonomy` in `posts` that makes no URL
/// (see [`Page::terms`]), at its post.
pub(super) fn unnamable_terms(posts: &[&Page], taxonomy: &str) -> Vec<Diagnostic> {
    posts
        .iter()
        .flat_map(|post| {
            post.terms_without_url(taxonomy).into_iter().map(|term| {
                Diagnostic::warning(
                    &post.path,
                    1,
                    1,
                    format!(
                        "{taxonomy} term {term:?} has no letter or digit to make its URL \
                             from; it is left out of {taxonomy}"
                    ),
                )
            })
        })
        .collect()
}

/// `<taxonomy>/index.html` and `<taxonomy>/<slug>/index.html` for each
/// term: with `tags.html` and `tag.html` for tags (as before taxonomies),
/// `taxonomy.html` and `term.html` for the others.
pub(super) fn render_taxonomy(
    context: &SiteContext,
    taxonomy: &str,
    terms: &Terms<'_>,
    output: &mut Output,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let (list_template, term_template) = if taxonomy == "tags" {
        ("tags.html", "tag.html")
    } else {
        ("taxonomy.html", "term.html")
    };
    let term_list: Vec<_> = terms
        .iter()
        .map(|(slug, (name, posts))| {
            context! {
                name => name,
                slug => slug,
                url => context.term_url(taxonomy, name),
                count => posts.len(),
            }
        })
        .collect();
    let about = context! { name => taxonomy, url => format!("{}{taxonomy}/", context.base) };
    context.render_into(
        output,
        diagnostics,
        format!("{taxonomy}/index.html"),
        list_template,
        context! {
            site => context.site.clone(),
            nav => &context.nav,
            taxonomy => about.clone(),
            terms => term_list.clone(),
            tags => term_list,
        },
    );
    for (slug, (name, tagged)) in terms {
        let term = context! { name => name, slug => slug };
        let ctx = context! {
            site => context.site.clone(),
            nav => &context.nav,
            taxonomy => about.clone(),
            term => term.clone(),
            tag => term,
            posts => tagged.iter().map(|p| context.listed(p)).collect::<Vec<_>>(),
        };
        context.render_into(
            output,
            diagnostics,
            format!("{taxonomy}/{slug}/index.html"),
            term_template,
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
