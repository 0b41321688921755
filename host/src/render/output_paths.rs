//! The paths a build would write, checked before anything is written.
//!
//! Every path of the output comes from the site: a page's `url`, a tag, a
//! file name under `static/` or in a bundle. One the file system refuses
//! (a name past 255 bytes, a control character), one that needs a folder
//! where the build writes a file (`/sitemap.xml/` beside `sitemap.xml`),
//! or one inside a repository kept in the output (`public/.git/`) would
//! otherwise fail the writing half-way, or reach into that repository. Each
//! is an error naming the file it came from, and is left out; the rest of
//! the site is written.

use super::output::Output;
use crate::content::urls::segment_problem;
use crate::diagnostics::Diagnostic;
use std::collections::HashMap;
use std::path::Path;

/// Leave out of `output` every file whose path cannot be written, with an
/// error for each; `published` names the page each page file comes from.
pub(super) fn check(
    root: &Path,
    output: &mut Output,
    published: &HashMap<String, String>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let files = output.files();
    let mut refused = Vec::new();
    for path in files.keys() {
        let problem = path
            .split('/')
            .try_for_each(segment_problem)
            .err()
            .or_else(|| {
                // A proper prefix of `path` that the build writes as a file.
                path.match_indices('/')
                    .map(|(end, _)| &path[..end])
                    .find(|folder| files.contains_key(*folder))
                    .map(|file| {
                        format!(
                            "`{path}` needs `{file}` to be a folder, and the site writes a file \
                         there ({})",
                            owner(root, file, published)
                        )
                    })
            });
        if let Some(problem) = problem {
            refused.push((path.clone(), problem));
        }
    }
    for (path, problem) in refused {
        diagnostics.push(Diagnostic::error(
            owner(root, &path, published),
            0,
            0,
            format!("cannot publish `{path}`: {problem}"),
        ));
        output.remove(&path);
    }
}

/// The site file that `path` of the output comes from, as far as known.
fn owner(root: &Path, path: &str, published: &HashMap<String, String>) -> String {
    if let Some(page) = published.get(path) {
        return page.clone();
    }
    let in_static = format!("static/{path}");
    if std::fs::symlink_metadata(root.join(&in_static)).is_ok() {
        return in_static;
    }
    format!("public/{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwritable_paths_are_left_out_with_their_owner_and_the_rest_is_kept() {
        let root = tempfile::tempdir().unwrap();
        let mut output = Output::default();
        for path in [
            "sitemap.xml",
            "sitemap.xml/index.html",
            "ok/index.html",
            ".git/hooks/post-checkout",
            "a/.Git/config",
            &format!("{}/index.html", "x".repeat(256)),
            "nul\0/index.html",
        ] {
            output.add(path, "x");
        }
        let published = HashMap::from([(
            "sitemap.xml/index.html".to_owned(),
            "content/evil.md".to_owned(),
        )]);
        let mut diagnostics = Vec::new();
        check(root.path(), &mut output, &published, &mut diagnostics);
        let kept: Vec<&String> = output.files().keys().collect();
        assert_eq!(kept, ["ok/index.html", "sitemap.xml"]);
        assert_eq!(diagnostics.len(), 5, "{diagnostics:?}");
        let sitemap = diagnostics
            .iter()
            .find(|d| d.file == "content/evil.md")
            .expect("the page is named");
        assert!(
            sitemap
                .message
                .contains("needs `sitemap.xml` to be a folder"),
            "{sitemap:?}"
        );
    }
}
