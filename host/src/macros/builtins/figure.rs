//! `{{< figure src="..." alt="..." caption="..." >}}`: an image with a caption.

use super::{Builtin, arg, required};
use crate::macros::expand::Expander;
use crate::macros::parser::Call;
use crate::markdown::escape;

/// An image, its alt text and an optional caption.
pub struct Figure;

impl Builtin for Figure {
    fn name(&self) -> &'static str {
        "figure"
    }

    fn render(&self, call: &Call, _: &mut Expander<'_>) -> Result<String, String> {
        let src = required(call, "src", Some(0))?;
        let alt = arg(call, "alt", None).unwrap_or_default();
        let mut html = format!(
            "<figure><img src=\"{}\" alt=\"{}\" loading=\"lazy\"",
            escape(&src),
            escape(&alt)
        );
        if let Some(width) = arg(call, "width", None) {
            html.push_str(&format!(" width=\"{}\"", escape(&width)));
        }
        html.push('>');
        if let Some(caption) = arg(call, "caption", Some(1)) {
            html.push_str(&format!("<figcaption>{}</figcaption>", escape(&caption)));
        }
        html.push_str("</figure>");
        Ok(html)
    }
}

#[cfg(test)]
mod tests {
    use super::super::expand_for_test as expand;

    #[test]
    fn figure_escapes_and_needs_src() {
        let out = expand(
            "{{< figure src=\"a.png\" alt=\"A <cat>\" caption=\"Cap\" width=300 >}}\n\n{{< figure >}}",
        );
        assert!(out.html.contains("<figure><img src=\"a.png\" alt=\"A &lt;cat&gt;\" loading=\"lazy\" width=\"300\"><figcaption>Cap</figcaption></figure>"), "{}", out.html);
        let messages: Vec<_> = out.diagnostics.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(messages, ["`figure` needs the argument `src`"]);
    }
}
