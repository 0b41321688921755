//! `{{< note type="warning" title="..." >}}Markdown{{< /note >}}`: an
//! admonition. The body is Markdown, and macros inside it are expanded.

use super::{Body, Builtin, arg};
use crate::macros::expand::Expander;
use crate::macros::parser::Call;
use crate::markdown::escape;

/// A boxed remark: `info` (default), `tip`, `warning` or `danger`.
pub struct Note;

const KINDS: [&str; 4] = ["info", "tip", "warning", "danger"];

impl Builtin for Note {
    fn name(&self) -> &'static str {
        "note"
    }

    fn body(&self) -> Body {
        Body::Required
    }

    fn render(&self, call: &Call, expander: &mut Expander<'_>) -> Result<String, String> {
        let kind = arg(call, "type", Some(0)).unwrap_or_else(|| "info".into());
        if !KINDS.contains(&kind.as_str()) {
            return Err(format!(
                "unknown note type `{kind}`; use one of {}",
                KINDS.join(", ")
            ));
        }
        let body = call.body.as_deref().unwrap_or_default();
        let inner = expander.render_fragment(body, call.body_line);
        let mut html = format!("<aside class=\"note note-{kind}\">");
        if let Some(title) = arg(call, "title", None) {
            html.push_str(&format!("<p class=\"note-title\">{}</p>", escape(&title)));
        }
        html.push_str(inner.trim_end());
        html.push_str("</aside>");
        Ok(html)
    }
}

#[cfg(test)]
mod tests {
    use super::super::expand_for_test as expand;

    #[test]
    fn note_bodies_are_markdown_with_macros() {
        let out = expand("{{< note type=\"tip\" >}}**bold** and {{< ref b >}}{{< /note >}}");
        assert!(out.html.contains("<aside class=\"note note-tip\"><p><strong>bold</strong> and <a href=\"/posts/b/\">Bee</a></p></aside>"), "{}", out.html);
    }
}
