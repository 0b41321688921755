//! `{{< recent_posts n=5 >}}`: the newest posts, newest first.

use super::{Builtin, arg};
use crate::macros::expand::Expander;
use crate::macros::parser::Call;
use crate::markdown::escape;
use crate::site_queries::Filter;

/// A list of the newest posts (the current one left out).
pub struct RecentPosts;

impl Builtin for RecentPosts {
    fn name(&self) -> &'static str {
        "recent_posts"
    }

    fn render(&self, call: &Call, expander: &mut Expander<'_>) -> Result<String, String> {
        let n = match arg(call, "n", Some(0)) {
            None => 5,
            Some(n) => n
                .parse::<usize>()
                .map_err(|_| format!("`n` must be a number, found `{n}`"))?,
        };
        let current = expander.page_path().to_owned();
        let mut html = String::from("<ul class=\"recent-posts\">");
        // One more than shown, in case the current post is among them: the
        // question is then the same on every page that shows `n`.
        let posts = expander.pages(Filter::recent_posts(n.saturating_add(1)));
        for post in posts.iter().filter(|p| p.path != current).take(n) {
            html.push_str(&format!(
                "<li><a href=\"{}\">{}</a>",
                escape(&post.url),
                escape(&post.title)
            ));
            if let Some(date) = &post.date {
                html.push_str(&format!(" <time datetime=\"{date}\">{date}</time>"));
            }
            html.push_str("</li>");
        }
        html.push_str("</ul>");
        Ok(html)
    }
}

#[cfg(test)]
mod tests {
    use super::super::expand_for_test as expand;

    #[test]
    fn recent_posts_leaves_out_the_current_post() {
        let out = expand("{{< recent_posts n=5 >}}");
        assert!(
            out.html
                .contains("<ul class=\"recent-posts\"><li><a href=\"/posts/b/\">Bee</a>"),
            "{}",
            out.html
        );
        assert!(
            !out.html.contains("/posts/a/"),
            "the current post is left out"
        );
    }
}
