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
