//! The files a build copies or generates as they are: the stylesheets and
//! everything under `static/`.

use super::output::Output;
use super::templates::STYLE_CSS;
use crate::content;
use crate::diagnostics::Diagnostic;

/// `style.css`, `syntax.css` (the code highlighting theme), then the
/// site's `static/` folder, which may replace either.
pub(super) fn add_static_files(
    root: &std::path::Path,
    output: &mut Output,
    diagnostics: &mut Vec<Diagnostic>,
) {
    output.add("style.css", STYLE_CSS);
    output.add("syntax.css", SYNTAX_CSS);
    copy_static(root, output, diagnostics);
}

fn copy_static(root: &std::path::Path, output: &mut Output, diagnostics: &mut Vec<Diagnostic>) {
    let dir = root.join("static");
    if !dir.is_dir() {
        return;
    }
    for entry in walkdir::WalkDir::new(&dir)
        .min_depth(1)
        .follow_root_links(false)
    {
        match entry {
            Ok(entry) if entry.file_type().is_file() => {
                let relative = content::relative_path(&dir, entry.path());
                if entry
                    .metadata()
                    .is_ok_and(|m| m.len() >= super::output::STREAM_FROM)
                {
                    output.add_copy(relative, entry.into_path());
                    continue;
                }
                match std::fs::read(entry.path()) {
                    Ok(bytes) => output.add(relative, bytes),
                    Err(e) => diagnostics.push(Diagnostic::error(
                        format!("static/{relative}"),
                        0,
                        0,
                        format!("cannot read: {e}"),
                    )),
                }
            }
            Ok(_) => {}
            Err(e) => diagnostics.push(Diagnostic::error(
                "static",
                0,
                0,
                format!("cannot read: {e}"),
            )),
        }
    }
}

/// The code highlighting theme's stylesheet, as `syntax_css` makes it:
/// made once and kept in the theme, since loading syntect's themes to make
/// it took 1.3-2 ms of every render that writes its output (a test checks
/// that it is what syntect makes).
const SYNTAX_CSS: &str = include_str!("../../theme/syntax.css");

/// The code highlighting theme's stylesheet, from syntect's themes.
#[cfg(test)]
fn syntax_css() -> String {
    let themes = syntect::highlighting::ThemeSet::load_defaults();
    themes
        .themes
        .get("InspiredGitHub")
        .and_then(|theme| {
            syntect::html::css_for_theme_with_class_style(
                theme,
                syntect::html::ClassStyle::SpacedPrefixed {
                    prefix: crate::markdown::HIGHLIGHT_CLASS_PREFIX,
                },
            )
            .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_kept_syntax_stylesheet_is_the_one_syntect_makes() {
        assert_eq!(
            super::SYNTAX_CSS,
            super::syntax_css(),
            "syntect makes another stylesheet now: write its output to host/theme/syntax.css"
        );
    }
}
