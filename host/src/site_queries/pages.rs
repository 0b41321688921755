//! Pages as a query answers them: a summary each, and the filters and
//! orders `ctx.site.pages(...)` takes.

use crate::content::{Kind, Page};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One page as a query shows it: what a listing or a related-posts box
/// needs, never its body.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// Its source file, relative to the site.
    pub path: String,
    /// Its slug.
    pub slug: String,
    /// `posts` or `pages`.
    pub section: &'static str,
    /// Its title.
    pub title: String,
    /// Its full URL.
    pub url: String,
    /// Its date (`YYYY-MM-DD`), if any.
    pub date: Option<String>,
    /// Its tags.
    pub tags: Vec<String>,
    /// Its terms in each of the site's taxonomies.
    pub taxonomies: BTreeMap<String, Vec<String>>,
    /// The front matter's `summary`, if any.
    pub summary: Option<String>,
    /// The free `extra` table.
    pub extra: Map<String, Value>,
    /// The names of a bundle's files.
    pub resources: Vec<String>,
    /// Its date and time, for the order (the answer shows the day).
    #[serde(skip)]
    pub timestamp: Option<chrono::DateTime<chrono::Utc>>,
}

impl Summary {
    /// `page` published at `url`, with its terms in `taxonomies`.
    pub fn of(page: &Page, url: String, taxonomies: &[String]) -> Summary {
        Summary {
            path: page.path.clone(),
            slug: page.slug.clone(),
            section: match page.kind {
                Kind::Post => "posts",
                Kind::Page => "pages",
            },
            title: page.title.clone(),
            url,
            date: page.date.map(|d| d.format("%Y-%m-%d").to_string()),
            tags: page.tags.clone(),
            taxonomies: taxonomies
                .iter()
                .map(|t| (t.clone(), page.terms(t)))
                .collect(),
            summary: page.summary.clone(),
            extra: page.extra.clone(),
            resources: page.resources.iter().map(|r| r.name.clone()).collect(),
            timestamp: page.date,
        }
    }

    /// The names this page answers to, published under `base`: its source
    /// path, its URL (whole, and without the base), its slug.
    pub fn names<'a>(&'a self, base: &str) -> impl Iterator<Item = &'a str> {
        [
            Some(self.path.as_str()),
            // As Hugo's `ref` names a file: from the content folder.
            self.path.strip_prefix("content/"),
            Some(self.url.as_str()),
            self.url.strip_prefix(base.trim_end_matches('/')),
            Some(self.slug.as_str()),
        ]
        .into_iter()
        .flatten()
    }
}

/// The order of a query's answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    /// By date (undated last when newest first), then path.
    #[default]
    Date,
    /// By title, then path.
    Title,
    /// By source path.
    Path,
}

/// What `ctx.site.pages(...)` asks for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// `posts` or `pages`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    /// Pages with this tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// With `term`: pages with that term in this taxonomy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taxonomy: Option<String>,
    /// See `taxonomy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term: Option<String>,
    /// The order.
    #[serde(default)]
    pub sort: Sort,
    /// Last first: by default newest first for dates, A to Z otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverse: Option<bool>,
    /// At most this many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

impl Default for Filter {
    fn default() -> Self {
        Filter {
            section: None,
            tag: None,
            taxonomy: None,
            term: None,
            sort: Sort::Date,
            reverse: None,
            limit: None,
        }
    }
}

impl Filter {
    /// The posts, newest first, at most `limit`.
    pub fn recent_posts(limit: usize) -> Filter {
        Filter {
            section: Some("posts".into()),
            limit: Some(limit),
            ..Filter::default()
        }
    }

    /// Why the host refuses this filter, if it does.
    pub fn problem(&self) -> Option<&'static str> {
        (self.taxonomy.is_some() != self.term.is_some())
            .then_some("`taxonomy` and `term` go together")
    }

    fn keeps(&self, page: &Summary) -> bool {
        self.section.as_deref().is_none_or(|s| s == page.section)
            && self.tag.as_ref().is_none_or(|t| page.tags.contains(t))
            && match (&self.taxonomy, &self.term) {
                (Some(taxonomy), Some(term)) => page
                    .taxonomies
                    .get(taxonomy)
                    .is_some_and(|terms| terms.contains(term)),
                _ => true,
            }
    }

    /// The pages of `all` that match, in order, at most `limit`.
    pub fn apply<'a>(&self, all: &'a [Arc<Summary>]) -> Vec<&'a Summary> {
        self.places(all).into_iter().map(|i| &*all[i]).collect()
    }

    /// Where the pages of `all` that match are, in order, at most `limit`.
    pub fn places(&self, all: &[Arc<Summary>]) -> Vec<usize> {
        let mut found: Vec<(usize, &Summary)> = all
            .iter()
            .enumerate()
            .map(|(i, p)| (i, &**p))
            .filter(|(_, p)| self.keeps(p))
            .collect();
        match self.sort {
            // Oldest first, undated first; reversed: newest first, undated
            // last, as the site's listings (ties by path either way).
            Sort::Date => found
                .sort_by(|(_, a), (_, b)| a.timestamp.cmp(&b.timestamp).then(b.path.cmp(&a.path))),
            Sort::Title => {
                found.sort_by(|(_, a), (_, b)| a.title.cmp(&b.title).then(a.path.cmp(&b.path)));
            }
            Sort::Path => found.sort_by(|(_, a), (_, b)| a.path.cmp(&b.path)),
        }
        if self.reverse.unwrap_or(self.sort == Sort::Date) {
            found.reverse();
        }
        if let Some(limit) = self.limit {
            found.truncate(limit);
        }
        found.into_iter().map(|(i, _)| i).collect()
    }
}
