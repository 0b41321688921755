//! The site's transforms over every page, before anything is rendered.

use crate::content::Page;
use crate::diagnostics::Diagnostic;
use crate::python::Session;
use rayon::prelude::*;

/// Run the site's transforms over `pages`, in parallel: for each page, the
/// changed page (if a transform changed it) and the transforms' diagnostics.
pub(super) fn transform_all(
    root: &std::path::Path,
    python: &Session,
    pages: &[&Page],
    permalinks: &crate::config::Permalinks,
) -> Vec<(Option<Page>, Vec<Diagnostic>)> {
    if python.transforms().is_empty() {
        return pages.iter().map(|_| (None, Vec::new())).collect();
    }
    pages
        .par_iter()
        .map(|page| {
            // Transforms rewrite the file's text, so they start from it.
            let read =
                crate::input::read_text(&root.join(&page.path), crate::input::MAX_POST_BYTES);
            let text = match read {
                Ok(text) => text,
                Err(e) => return (None, vec![e.to_diagnostic(&page.path)]),
            };
            // The rest of the render uses the page as it was loaded: a file
            // edited since then would be transformed from other text.
            if crate::input::content_hash(text.as_bytes()) != page.content_hash {
                let changed = Diagnostic::warning(
                    &page.path,
                    0,
                    0,
                    "changed while the site was rendering: transforms skipped; render again"
                        .to_string(),
                );
                return (None, vec![changed]);
            }
            let applied =
                crate::transforms::apply(python, python.transforms(), page.kind, &page.path, &text);
            let mut diagnostics = applied.diagnostics;
            let page = applied.page.map(|mut new| {
                // Diagnostics name lines of the file on disk: while the body
                // is the file's, so are its line numbers.
                if new.body == page.body {
                    new.body_line = page.body_line;
                }
                // What loading gave the page beyond its text: a bundle's
                // files, the URL `[permalinks]` makes of its (new) date and slug.
                new.resources = page.resources.clone();
                if let Err(d) = crate::content::urls::apply_permalinks(&mut new, permalinks) {
                    diagnostics.push(d);
                }
                new
            });
            (page, diagnostics)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::content::{Kind, page};
    use std::time::Duration;

    #[test]
    fn a_post_edited_during_the_render_is_not_transformed_from_its_new_text() {
        let site = tempfile::tempdir().unwrap();
        let post = "content/posts/a.md";
        let loaded = "+++\ntitle = \"A\"\n+++\nAs loaded.\n";
        std::fs::create_dir_all(site.path().join("content/posts")).unwrap();
        std::fs::write(site.path().join(post), loaded).unwrap();
        let page = page::parse(Kind::Post, post, loaded.as_bytes()).unwrap();
        std::fs::write(
            site.path().join(post),
            loaded.replace("As loaded", "Edited"),
        )
        .unwrap();
        std::fs::create_dir_all(site.path().join("scripts")).unwrap();
        std::fs::write(
            site.path().join("scripts/same.py"),
            "\"\"\"\n---\nkind: transform\n---\n\"\"\"\ndef transform(ctx):\n    return ctx.post\n",
        )
        .unwrap();
        let (scripts, problems) = crate::scripts::load(site.path());
        assert!(problems.is_empty(), "{problems:?}");
        let config = Config::parse("title = \"t\"\nbase_url = \"https://example.org/\"\n").unwrap();
        let settings =
            crate::python::Settings::for_site(site.path(), &config, Duration::ZERO, false);
        let (python, problems) = Session::new(&scripts, settings, std::collections::HashMap::new());
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(python.transforms().len(), 1);

        let out = transform_all(site.path(), &python, &[&page], &Default::default());

        assert!(out[0].0.is_none(), "the page stays as loaded");
        let message = out[0].1.iter().map(|d| d.to_string()).collect::<String>();
        assert!(message.contains(post), "{message}");
        assert!(
            message.contains("changed while the site was rendering"),
            "{message}"
        );
    }
}
