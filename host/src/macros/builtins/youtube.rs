//! `{{< youtube ID >}}`: a responsive YouTube player (privacy-enhanced domain).

use super::video_embed;
use super::{Builtin, required};
use crate::macros::expand::Expander;
use crate::macros::parser::Call;

/// YouTube, through the privacy-enhanced domain.
pub struct Youtube;

impl Builtin for Youtube {
    fn name(&self) -> &'static str {
        "youtube"
    }

    fn render(&self, call: &Call, _: &mut Expander<'_>) -> Result<String, String> {
        let id = required(call, "id", Some(0))?;
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!("`{id}` is not a YouTube video id"));
        }
        let title = super::arg(call, "title", None).unwrap_or_else(|| "YouTube video".into());
        Ok(video_embed(
            &format!("https://www.youtube-nocookie.com/embed/{id}"),
            &title,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::expand_for_test as expand;

    #[test]
    fn block_macros_replace_their_paragraph() {
        let out = expand("Intro\n\n{{< youtube abc_D-1 >}}\n\nOutro");
        assert!(out.html.contains("</p>\n<div class=\"video\"><iframe src=\"https://www.youtube-nocookie.com/embed/abc_D-1\""), "{}", out.html);
        assert!(out.diagnostics.is_empty());
    }
}
