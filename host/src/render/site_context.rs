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

/// The shared part of every template context of one build.
pub(super) struct SiteContext {
    /// The site's `base_url`, with one trailing slash.
    pub base: String,
    /// `site` in every template.
    pub site: minijinja::Value,
    /// `nav` in every template: the pages (not posts) whose front matter
    /// does not say `nav = false`, in build order.
    pub nav: Vec<Listed>,
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
            templates: Templates::new(root),
            taxonomies: config.taxonomies.clone(),
            summaries: Default::default(),
            published: Default::default(),
            kept: None,
            data: None,
        };
        context.nav = pages
            .iter()
            // `nav = false` leaves a page out (a generator's hundred pages).
            .filter(|p| p.kind == Kind::Page && p.front_matter.get("nav") != Some(&false.into()))
            .map(|p| Listed {
                date: None,
                summary: None,
                summary_html: None,
                ..context.listed(p)
            })
            .collect();
        context
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
        let data =
            super::template_data::TemplateData::recording(self.data.clone().unwrap_or_default());
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
