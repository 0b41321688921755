//! `{{< figure src="..." alt="..." caption="..." >}}`: an image with a caption;
//! with `width=` (and `format=`), a local image made at that width by the
//! host when the site grants `[capabilities] images`.

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

    fn render(&self, call: &Call, expander: &mut Expander<'_>) -> Result<String, String> {
        let mut src = required(call, "src", Some(0))?;
        let alt = arg(call, "alt", None).unwrap_or_default();
        let mut width = arg(call, "width", None);
        let mut height = None;
        if let Some(made) = made_image(call, expander, &src, width.as_deref())? {
            src = made.0;
            width = Some(made.1.to_string());
            height = Some(made.2.to_string());
        }
        let mut html = format!(
            "<figure><img src=\"{}\" alt=\"{}\" loading=\"lazy\"",
            escape(&src),
            escape(&alt)
        );
        if let Some(width) = width {
            html.push_str(&format!(" width=\"{}\"", escape(&width)));
        }
        if let Some(height) = height {
            html.push_str(&format!(" height=\"{height}\""));
        }
        html.push('>');
        if let Some(caption) = arg(call, "caption", Some(1)) {
            html.push_str(&format!("<figcaption>{}</figcaption>", escape(&caption)));
        }
        html.push_str("</figure>");
        Ok(html)
    }
}

/// The image the host made for `src` at `width` (a number) in `format=`:
/// its URL, width and height. `None` where nothing is to be made: no
/// `format=` and a width that is not a number, a remote image, or a site
/// that grants no images (the width is then only the attribute, as before).
fn made_image(
    call: &Call,
    expander: &mut Expander<'_>,
    src: &str,
    width: Option<&str>,
) -> Result<Option<(String, u64, u64)>, String> {
    let format = arg(call, "format", None);
    let width: Option<u32> = width.and_then(|w| w.parse().ok());
    let remote = src.contains("://") || src.starts_with("//") || src.starts_with("data:");
    if remote || (width.is_none() && format.is_none()) {
        return match (&format, remote) {
            (Some(_), true) => Err("`figure` converts only the site's own images".into()),
            _ => Ok(None),
        };
    }
    let request = crate::capabilities::images::Request {
        src: src.to_owned(),
        page: Some(expander.page_path().to_owned()),
        op: "resize".into(),
        width,
        height: None,
        anchor: None,
        format: format.clone(),
        quality: None,
    };
    if request.width.is_none() {
        return Err("`figure` with `format=` needs a `width=` in pixels".into());
    }
    match expander.image(request) {
        Ok(made) => Ok(Some((
            made["url"].as_str().unwrap_or(src).to_owned(),
            made["width"].as_u64().unwrap_or_default(),
            made["height"].as_u64().unwrap_or_default(),
        ))),
        Err(why) if format.is_none() && why.starts_with(crate::capabilities::fetch::DENIED) => {
            Ok(None)
        }
        Err(why) => Err(format!(
            "`figure` cannot make {src}: {}",
            why.trim_start_matches(crate::capabilities::fetch::DENIED)
        )),
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
