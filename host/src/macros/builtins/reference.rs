//! `{{< ref "slug" >}}` or `{{< ref slug="..." text="..." >}}`: a link to
//! another post or page, checked at build time.

use super::{Builtin, arg, required};
use crate::macros::expand::Expander;
use crate::macros::parser::Call;
use crate::markdown::escape;

/// A checked internal link.
pub struct Ref;

impl Builtin for Ref {
    fn name(&self) -> &'static str {
        "ref"
    }

    fn render(&self, call: &Call, expander: &mut Expander<'_>) -> Result<String, String> {
        let slug = required(call, "slug", Some(0))?;
        let target = expander.page(&slug).ok_or_else(|| {
            format!("`ref` to `{slug}`: no post or page has that slug, path or URL")
        })?;
        let text = arg(call, "text", Some(1)).unwrap_or_else(|| target.title.clone());
        Ok(format!(
            "<a href=\"{}\">{}</a>",
            escape(&target.url),
            escape(&text)
        ))
    }
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
}
