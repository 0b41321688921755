//! The built-in macros, one file each, and their registry.

mod figure;
mod note;
mod recent_posts;
mod reference;
mod toc;
mod vimeo;
mod youtube;

use crate::macros::expand::Expander;
use crate::macros::parser::Call;
use serde_json::Value;
use std::collections::BTreeMap;

/// Whether a macro takes a body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    /// `{{< name >}}` only.
    None,
    /// `{{< name >}}...{{< /name >}}` only.
    Required,
}

/// A macro implemented in Rust.
pub trait Builtin: Send + Sync {
    /// Its name in posts.
    fn name(&self) -> &'static str;
    /// Whether it takes a body.
    fn body(&self) -> Body {
        Body::None
    }
    /// Expand `call` to HTML, or say what is wrong with it.
    fn render(&self, call: &Call, expander: &mut Expander<'_>) -> Result<String, String>;
    /// Whether it gives a URL where a link's destination goes
    /// ([`Expander::in_link_destination`]); the others make HTML, which
    /// cannot stand there.
    fn gives_url(&self) -> bool {
        false
    }
}

/// Every built-in macro, by name.
pub struct Registry {
    macros: BTreeMap<&'static str, Box<dyn Builtin>>,
}

impl Default for Registry {
    fn default() -> Self {
        let all: Vec<Box<dyn Builtin>> = vec![
            Box::new(youtube::Youtube),
            Box::new(vimeo::Vimeo),
            Box::new(figure::Figure),
            Box::new(note::Note),
            Box::new(toc::Toc),
            Box::new(reference::Ref("ref")),
            Box::new(reference::Ref("relref")),
            Box::new(recent_posts::RecentPosts),
        ];
        Registry {
            macros: all.into_iter().map(|m| (m.name(), m)).collect(),
        }
    }
}

impl Registry {
    /// The built-in called `name`.
    pub fn get(&self, name: &str) -> Option<&dyn Builtin> {
        self.macros.get(name).map(AsRef::as_ref)
    }

    /// Every built-in name, sorted.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.macros.keys().copied()
    }
}

/// A responsive embedded player for `src`.
pub(crate) fn video_embed(src: &str, title: &str) -> String {
    format!(
        "<div class=\"video\"><iframe src=\"{src}\" title=\"{}\" loading=\"lazy\" \
         allow=\"encrypted-media; picture-in-picture\" allowfullscreen></iframe></div>",
        crate::markdown::escape(title)
    )
}

/// Argument `name`, or positional argument `index`, as a string.
pub(crate) fn arg(call: &Call, name: &str, index: Option<usize>) -> Option<String> {
    let value = call
        .args
        .get(name)
        .or_else(|| index.and_then(|i| call.positional.get(i)))?;
    Some(match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// Like [`arg`], but required.
pub(crate) fn required(call: &Call, name: &str, index: Option<usize>) -> Result<String, String> {
    arg(call, name, index).ok_or_else(|| format!("`{}` needs the argument `{name}`", call.name))
}

/// `body` expanded as the page `content/posts/a.md` (at line 5) of a site
/// of two posts, `a` ("Ay") and the newer `b` ("Bee"): for the built-ins'
/// tests, each beside its macro.
#[cfg(test)]
pub(crate) fn expand_for_test(body: &str) -> crate::macros::expand::Expanded {
    expand_on_site_for_test(body, "")
}

/// [`expand_for_test`] on a site whose URLs start with `base`.
#[cfg(test)]
pub(crate) fn expand_on_site_for_test(body: &str, base: &str) -> crate::macros::expand::Expanded {
    use crate::site_queries::{SiteQueries, Summary};
    use std::collections::BTreeMap;
    let post = |slug: &str, title: &str, date: &str| Summary {
        path: format!("content/posts/{slug}.md"),
        slug: slug.into(),
        section: "posts",
        title: title.into(),
        url: format!("{base}/posts/{slug}/"),
        date: Some(date.into()),
        tags: Vec::new(),
        taxonomies: BTreeMap::new(),
        summary: None,
        extra: serde_json::Map::new(),
        resources: Vec::new(),
        timestamp: format!("{date}T00:00:00Z").parse().ok(),
    };
    let site = SiteQueries::new(
        std::sync::Arc::default(),
        vec![
            post("b", "Bee", "2024-02-01"),
            post("a", "Ay", "2024-01-01"),
        ],
        String::new(),
    );
    let registry = Registry::default();
    Expander::new(&registry, &site, "content/posts/a.md").expand_page(body, 5)
}

#[cfg(test)]
mod tests {
    use super::Registry;

    #[test]
    fn every_built_in_has_its_section_in_the_docs() {
        let docs = include_str!("../../../../docs/macros.md");
        for name in Registry::default().names() {
            assert!(
                docs.contains(&format!("### `{name}`")),
                "docs/macros.md has no section `### `{name}``"
            );
        }
    }
}
