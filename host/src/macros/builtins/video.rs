//! `{{< youtube ID >}}` and `{{< vimeo ID >}}`: responsive embedded players.

use super::{Builtin, required};
use crate::macros::expand::Expander;
use crate::macros::parser::Call;
use crate::markdown::escape;

fn embed(src: &str, title: &str) -> String {
    format!(
        "<div class=\"video\"><iframe src=\"{src}\" title=\"{}\" loading=\"lazy\" \
         allow=\"encrypted-media; picture-in-picture\" allowfullscreen></iframe></div>",
        escape(title)
    )
}

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
        Ok(embed(
            &format!("https://www.youtube-nocookie.com/embed/{id}"),
            &title,
        ))
    }
}

/// Vimeo.
pub struct Vimeo;

impl Builtin for Vimeo {
    fn name(&self) -> &'static str {
        "vimeo"
    }

    fn render(&self, call: &Call, _: &mut Expander<'_>) -> Result<String, String> {
        let id = required(call, "id", Some(0))?;
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!("`{id}` is not a Vimeo video id (digits only)"));
        }
        let title = super::arg(call, "title", None).unwrap_or_else(|| "Vimeo video".into());
        Ok(embed(
            &format!("https://player.vimeo.com/video/{id}"),
            &title,
        ))
    }
}
