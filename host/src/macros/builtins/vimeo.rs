//! `{{< vimeo ID >}}`: a responsive Vimeo player.

use super::video_embed;
use super::{Builtin, required};
use crate::macros::expand::Expander;
use crate::macros::parser::Call;

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
        Ok(video_embed(
            &format!("https://player.vimeo.com/video/{id}"),
            &title,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::expand_for_test as expand;

    #[test]
    fn vimeo_takes_digits_only() {
        let out = expand("{{< vimeo 123 >}}\n\n{{< vimeo abc >}}");
        assert!(
            out.html
                .contains("src=\"https://player.vimeo.com/video/123\""),
            "{}",
            out.html
        );
        let messages: Vec<_> = out.diagnostics.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(messages, ["`abc` is not a Vimeo video id (digits only)"]);
    }
}
