//! `{{< ref "slug" >}}` or `{{< ref slug="..." text="..." >}}`: a link to
//! another post or page, checked at build time; in a Markdown link's
//! destination (`[text]({{< ref "slug" >}})`), its URL alone.

use super::{Builtin, arg, required};
use crate::macros::expand::Expander;
use crate::macros::parser::Call;
use crate::markdown::escape;

/// A checked internal link: `ref` (the target's full URL) or `relref` (its
/// path on the site), as in Hugo.
pub struct Ref(pub &'static str);

impl Builtin for Ref {
    fn name(&self) -> &'static str {
        self.0
    }

    fn gives_url(&self) -> bool {
        true
    }

    fn render(&self, call: &Call, expander: &mut Expander<'_>) -> Result<String, String> {
        let name = required(call, "slug", Some(0))?;
        // `ref "post#section"` links to a heading of the post, and
        // `ref "#section"` to one of this page, as in Hugo.
        let (slug, anchor) = match name.split_once('#') {
            Some(("", anchor)) => (expander.page_path().to_owned(), Some(anchor)),
            Some((slug, anchor)) => (slug.to_owned(), Some(anchor)),
            None => (name.clone(), None),
        };
        let slug = slug.as_str();
        let target = expander.page(slug).ok_or_else(|| {
            format!(
                "`{}` to `{slug}`: no post or page has that slug, path or URL",
                self.0
            )
        })?;
        let url = if self.0 == "relref" {
            site_path(&target.url)
        } else {
            target.url.clone()
        };
        let url = match anchor {
            Some(anchor) => format!("{url}#{anchor}"),
            None => url,
        };
        if expander.in_link_destination() {
            return Ok(url);
        }
        let text = arg(call, "text", Some(1)).unwrap_or_else(|| target.title.clone());
        Ok(format!(
            "<a href=\"{}\">{}</a>",
            escape(&url),
            escape(&text)
        ))
    }
}

/// The path of a full URL (`https://example.org/blog/a/` is `/blog/a/`); a
/// URL with no scheme as it is.
fn site_path(url: &str) -> String {
    url::Url::parse(url).map_or_else(|_| url.to_owned(), |parsed| parsed.path().to_owned())
}

#[cfg(test)]
mod tests {
    use super::super::expand_for_test as expand;

    #[test]
    fn a_missing_ref_target_is_an_error_with_position() {
        let out = expand("{{< ref nowhere >}}");
        assert_eq!(
            out.diagnostics[0].severity,
            crate::diagnostics::Severity::Error
        );
        assert_eq!((out.diagnostics[0].line, out.diagnostics[0].column), (5, 1));
    }

    #[test]
    fn in_a_link_destination_a_ref_is_the_url_alone() {
        let out = expand(
            "See [the bee]({{< ref b >}}), [its intro]({{< ref \"b#intro\" >}} \"Intro\") \
             and [ay][].\n\n[ay]: {{< relref a >}}\n",
        );
        assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
        assert!(
            out.html.contains(
                "See <a href=\"/posts/b/\">the bee</a>, \
                 <a href=\"/posts/b/#intro\" title=\"Intro\">its intro</a> and \
                 <a href=\"/posts/a/\">ay</a>."
            ),
            "{}",
            out.html
        );
        assert_eq!(out.reads.len(), 2, "{:?}", out.reads);
        // As Hugo sites name files, from the content folder.
        let out = expand("[by file]({{< ref \"/posts/b.md\" >}}) {{< ref \"posts/a.md\" >}}");
        assert!(
            out.html
                .contains("<a href=\"/posts/b/\">by file</a> <a href=\"/posts/a/\">Ay</a>"),
            "{}",
            out.html
        );
        let out = expand("<a href=\"{{< ref b >}}\">raw</a>");
        assert!(
            out.html.contains("<a href=\"/posts/b/\">raw</a>"),
            "{}",
            out.html
        );
    }

    #[test]
    fn elsewhere_a_ref_is_a_whole_link() {
        let out = expand("go to {{< ref b >}} or {{< ref \"b#x\" text=\"its x\" >}}");
        assert!(
            out.html.contains(
                "go to <a href=\"/posts/b/\">Bee</a> or <a href=\"/posts/b/#x\">its x</a>"
            ),
            "{}",
            out.html
        );
    }

    #[test]
    fn a_missing_target_in_a_link_destination_is_still_an_error() {
        let out = expand("[gone]({{< ref nowhere >}})");
        assert_eq!(out.diagnostics.len(), 1);
        assert_eq!((out.diagnostics[0].line, out.diagnostics[0].column), (5, 8));
        assert!(out.diagnostics[0].message.contains("`nowhere`"));
    }

    #[test]
    fn ref_gives_the_full_url_and_relref_its_path() {
        let out = super::super::expand_on_site_for_test(
            "[full]({{< ref b >}}) [path]({{< relref \"b#x\" >}}) [here]({{< relref \"#top\" >}}) \
             {{< relref a >}}",
            "https://example.org/blog",
        );
        assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
        assert!(
            out.html.contains(
                "<a href=\"https://example.org/blog/posts/b/\">full</a> \
                 <a href=\"/blog/posts/b/#x\">path</a> \
                 <a href=\"/blog/posts/a/#top\">here</a> \
                 <a href=\"/blog/posts/a/\">Ay</a>"
            ),
            "{}",
            out.html
        );
    }

    #[test]
    fn relref_is_the_path_of_the_full_url() {
        assert_eq!(super::site_path("https://example.org/blog/a/"), "/blog/a/");
        assert_eq!(super::site_path("https://example.org"), "/");
        assert_eq!(super::site_path("/posts/a/"), "/posts/a/");
    }
}
