//! What every template of a build shares: the site's table, the
//! navigation, URLs and dates in one format, and rendering into the output.

use super::output::Output;
use super::templates::Templates;
use crate::config::Config;
use crate::content::{Kind, Page};
use crate::diagnostics::Diagnostic;
use chrono::{DateTime, Utc};
use minijinja::context;
use serde::Serialize;

/// A page as listings, the navigation and the feed show it.
#[derive(Serialize)]
pub(super) struct Listed {
    pub title: String,
    pub url: String,
    pub date: Option<String>,
    pub summary: Option<String>,
    /// The body before `<!--more-->`, rendered, when the front matter has
    /// no `summary`.
    pub summary_html: Option<String>,
}

/// The most pages the navigation lists without their saying `nav = true`.
/// Listing every page of a documentation site's thousands in every page
/// would make time and output grow with the square of the site (5,000
/// pages: 1.3 GB of output, 17 s): past this many, only the pages that
/// ask to be listed are, and the render says so.
pub(super) const NAV_BY_DEFAULT: usize = 30;

/// The shared part of every template context of one build.
pub(super) struct SiteContext {
    /// The site's `base_url`, with one trailing slash.
    pub base: String,
    /// `site` in every template.
    pub site: minijinja::Value,
    /// `nav` in every template: the pages (not posts) whose front matter
    /// does not say `nav = false`, in build order; of those that say
    /// nothing of it, none when there are more than [`NAV_BY_DEFAULT`].
    pub nav: Vec<Listed>,
    /// How many pages say nothing of `nav` when there are more than
    /// [`NAV_BY_DEFAULT`] (and so are left out of it); else 0.
    pub nav_left_out: usize,
    pub templates: Templates,
    /// The site's taxonomies, as site.toml lists them.
    pub taxonomies: Vec<String>,
    /// Each page's body before `<!--more-->`, by path, once rendered.
    pub summaries: std::collections::HashMap<String, String>,
    /// The file of the page written at each output path.
    pub published: std::collections::HashMap<String, String>,
    /// With a page cache: the listing files it kept, reused where their
    /// inputs did not change.
    pub kept: Option<super::page_cache::KeptListings>,
    /// `data` in listing templates (a kept listing is keyed on the answers
    /// to what its template read, as a page is).
    pub data: Option<std::sync::Arc<crate::site_queries::SiteQueries>>,
    /// The data files' template values, converted once per build.
    pub data_values: super::template_data::KeptValues,
}

impl SiteContext {
    /// The context of `config`'s site at `root`, whose pages are `pages`.
    pub fn new(root: &std::path::Path, config: &Config, pages: &[&Page]) -> Self {
        let base = config.base_url();
        let site = context! {
            title => config.title.clone(),
            base_url => base.clone(),
            description => config.description.clone(),
            author => config.author.clone(),
        };
        let mut context = SiteContext {
            base,
            site,
            nav: Vec::new(),
            nav_left_out: 0,
            templates: Templates::new(root),
            taxonomies: config.taxonomies.clone(),
            summaries: Default::default(),
            published: Default::default(),
            kept: None,
            data: None,
            data_values: Default::default(),
        };
        // `nav = false` leaves a page out (a generator's hundred pages).
        let says = |p: &Page| {
            p.front_matter
                .get("nav")
                .and_then(serde_json::Value::as_bool)
        };
        let silent = pages
            .iter()
            .filter(|p| p.kind == Kind::Page && says(p).is_none())
            .count();
        let by_default = silent <= NAV_BY_DEFAULT;
        context.nav_left_out = if by_default { 0 } else { silent };
        context.nav = pages
            .iter()
            .filter(|p| p.kind == Kind::Page && says(p).unwrap_or(by_default))
            .map(|p| Listed {
                date: None,
                summary: None,
                summary_html: None,
                ..context.listed(p)
            })
            .collect();
        context
    }

    /// The warning for a navigation left empty because too many pages say
    /// nothing of `nav` (see [`NAV_BY_DEFAULT`]).
    pub fn nav_warning(&self) -> Option<Diagnostic> {
        (self.nav_left_out > 0 && self.nav.is_empty()).then(|| {
            Diagnostic::warning(
                "content/pages",
                0,
                0,
                format!(
                    "the navigation lists no page: {} pages say nothing of `nav`, more than \
                     the {NAV_BY_DEFAULT} it lists by default (each would be in every page). \
                     Give the pages to list `nav = true` in their front matter",
                    self.nav_left_out
                ),
            )
        })
    }

    /// The page's full URL.
    pub fn url(&self, page: &Page) -> String {
        page.full_url(&self.base)
    }

    /// `page` as a listing shows it.
    pub fn listed(&self, page: &Page) -> Listed {
        Listed {
            title: page.title.clone(),
            url: self.url(page),
            date: page.date.map(iso_date),
            summary: page.summary.clone(),
            summary_html: page
                .summary
                .is_none()
                .then(|| self.summaries.get(&page.path).cloned())
                .flatten(),
        }
    }

    /// The URL of `term` in `taxonomy`.
    pub fn term_url(&self, taxonomy: &str, term: &str) -> String {
        format!(
            "{}{taxonomy}/{}/",
            self.base,
            crate::content::page::slugify(term)
        )
    }

    /// Render `template` with `ctx` into `output` at `path`; a template
    /// error becomes a diagnostic.
    pub fn render_into(
        &self,
        output: &mut Output,
        diagnostics: &mut Vec<Diagnostic>,
        path: impl Into<String>,
        template: &str,
        ctx: minijinja::Value,
    ) {
        let path = path.into();
        if let Some(file) = self.published.get(&path) {
            // The page keeps its URL; the clash fails the build.
            diagnostics.push(Diagnostic::error(
                file,
                1,
                1,
                format!("published at `/{path}`, where the site writes its `{template}` page; give it another `slug` or `url`"),
            ));
            return;
        }
        let data = super::template_data::TemplateData::recording(
            self.data.clone().unwrap_or_default(),
            &self.data_values,
        );
        let full = context! {
            data => data.value(),
            fetch => data.fetch(),
            image => data.image(None),
            ..ctx.clone()
        };
        let rendered = match &self.kept {
            Some(kept) => kept.render(&self.templates, &path, template, (&ctx, full), &data),
            None => self.templates.render(template, full),
        };
        match rendered {
            Ok(text) => output.add(path, text),
            Err(d) => diagnostics.push(d),
        }
    }
}

/// A date as pages, listings and the sitemap show it: `2024-05-01`.
pub(crate) fn iso_date(date: DateTime<Utc>) -> String {
    date.format("%Y-%m-%d").to_string()
}
