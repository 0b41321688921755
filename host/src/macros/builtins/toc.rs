//! `{{< toc >}}`: the page's table of contents, filled in once the page's
//! headings are known.

use super::Builtin;
use crate::macros::expand::{Expander, TOC_MARKER};
use crate::macros::parser::Call;

/// The table of contents.
pub struct Toc;

impl Builtin for Toc {
    fn name(&self) -> &'static str {
        "toc"
    }

    fn render(&self, _: &Call, _: &mut Expander<'_>) -> Result<String, String> {
        Ok(TOC_MARKER.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::super::expand_for_test as expand;

    #[test]
    fn toc_lists_the_headings_that_follow() {
        let out = expand("{{< toc >}}\n\n## One\n\n## Two\n");
        assert!(
            out.html
                .starts_with("<nav class=\"toc\"><ul><li><a href=\"#one\">One</a></li>"),
            "{}",
            out.html
        );
    }
}
