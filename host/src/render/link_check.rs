//! `host check`'s link step over the finished output.

use super::output::Output;
use crate::content;
use crate::diagnostics::Diagnostic;
use crate::links::{self, PageSource};
use std::collections::HashMap;

/// Broken internal links and anchors in `output` (and external links, with
/// `external`), located in the Markdown or template they come from.
pub(super) fn check_links(
    root: &std::path::Path,
    base_url: &str,
    output: &Output,
    sources: &HashMap<String, PageSource>,
    external: Option<&links::external::Options>,
) -> Vec<Diagnostic> {
    let templates = site_templates(root);
    let site = links::Site {
        files: output.files(),
        sources,
        templates: &templates,
        base_url,
    };
    let (mut broken, found) = links::check(&site);
    if let Some(options) = external {
        broken.extend(links::external::check(root, &found, options));
    }
    broken
}

/// The site's own templates, by their path in the site, to find links in
/// (links are not followed, as everywhere).
fn site_templates(root: &std::path::Path) -> Vec<(String, String)> {
    let dir = root.join("templates");
    walkdir::WalkDir::new(&dir)
        .follow_root_links(false)
        .sort_by_file_name()
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| {
            let text =
                crate::input::read_text(e.path(), super::templates::MAX_TEMPLATE_BYTES).ok()?;
            Some((content::relative_path(root, e.path()), text))
        })
        .collect()
}
