//! Pages and files made by generators (`kind: generator`): each runs
//! once per build (or is answered from the cache while what it read is
//! unchanged); its pages join the site's as if they were files under
//! `content/`, its files join the output.
//!
//! A generator is untrusted like any script: every path it returns is
//! checked (plain segments under `posts/` or `pages/`, a `.md` name; an
//! output path of plain segments), a page or file it makes where another
//! already is gets an error naming both, and the number and size of what it
//! makes are capped.

use crate::config::Permalinks;
use crate::content::{Kind, Page};
use crate::diagnostics::Diagnostic;
use crate::python::{self, Session};
use crate::scripts::Script;
use blogmark_runtime::abi::GeneratedPage;
use std::collections::HashMap;

/// The most pages one generator may make.
pub const MAX_PAGES: usize = 100_000;

/// The most output files one generator may make.
pub const MAX_FILES: usize = 10_000;

/// The largest output file a generator may make, in bytes.
pub const MAX_FILE_BYTES: usize = 16 << 20;

/// What the site's generators made.
#[derive(Debug, Default)]
pub(super) struct Made {
    /// Their pages, parsed as files of `content/` would be.
    pub pages: Vec<Page>,
    /// Their output files: path, text, and the generator that made it.
    pub files: Vec<(String, String, String)>,
    /// The generator of each page, by page path (for diagnostics).
    pub made_by: HashMap<String, String>,
}

/// Run every generator of `python` and gather what they made, beside the
/// site's `pages` (whose paths and URLs they may not take).
pub(super) fn generate(
    python: &Session,
    pages: &[Page],
    permalinks: &Permalinks,
    diagnostics: &mut Vec<Diagnostic>,
) -> Made {
    let mut made = Made::default();
    let mut taken: HashMap<String, String> = HashMap::new();
    for page in pages {
        taken.insert(page.path.clone(), page.path.clone());
        taken.insert(page.url.clone(), page.path.clone());
    }
    for script in python.generators() {
        let generated = match python.generate(script).0 {
            Ok(answer) => answer.value,
            Err(failure) => {
                diagnostics.push(Diagnostic::warning(
                    &script.path,
                    failure_line(&failure),
                    1,
                    format!(
                        "generator `{}` {}; its pages are left out",
                        script.name,
                        python::failure_reason(script, &failure)
                    ),
                ));
                continue;
            }
        };
        if generated.pages.len() > MAX_PAGES || generated.files.len() > MAX_FILES {
            diagnostics.push(Diagnostic::error(
                &script.path,
                1,
                1,
                format!(
                    "generator `{}` made {} pages and {} files, past the caps of {MAX_PAGES} \
                     and {MAX_FILES}; nothing of it is used",
                    script.name,
                    generated.pages.len(),
                    generated.files.len()
                ),
            ));
            continue;
        }
        made.take_pages(script, generated.pages, permalinks, &mut taken, diagnostics);
        made.take_files(script, generated.files, diagnostics);
    }
    made
}

impl Made {
    /// Say in each diagnostic of a generated page which generator made it.
    pub(super) fn name_generators(&self, diagnostics: &mut [Diagnostic]) {
        for diagnostic in diagnostics {
            if let Some(generator) = self.made_by.get(&diagnostic.file) {
                diagnostic.message = format!("{} (page made by {generator})", diagnostic.message);
            }
        }
    }

    /// Take the pages `script` made, each where no page (a file's, or
    /// another generator's: `taken`, by path and URL) already is.
    fn take_pages(
        &mut self,
        script: &Script,
        pages: Vec<GeneratedPage>,
        permalinks: &Permalinks,
        taken: &mut HashMap<String, String>,
        diagnostics: &mut Vec<Diagnostic>,
    ) {
        for page in pages {
            let built = match page_of(&page, permalinks) {
                Ok(built) => built,
                Err(problem) => {
                    diagnostics.push(Diagnostic::error(
                        &script.path,
                        1,
                        1,
                        format!(
                            "generator `{}`: {problem}; the page is left out",
                            script.name
                        ),
                    ));
                    continue;
                }
            };
            let clash = [&built.path, &built.url]
                .into_iter()
                .find_map(|key| taken.get(key.as_str()).map(|by| (key.clone(), by.clone())));
            if let Some((at, by)) = clash {
                diagnostics.push(Diagnostic::error(
                    &script.path,
                    1,
                    1,
                    format!(
                        "generator `{}` made a page at `{at}`, where {by} already is; \
                         the page is left out",
                        script.name
                    ),
                ));
                continue;
            }
            let by = format!("{} (made by {})", built.path, script.path);
            taken.insert(built.path.clone(), by.clone());
            taken.insert(built.url.clone(), by);
            self.made_by.insert(built.path.clone(), script.path.clone());
            self.pages.push(built);
        }
    }

    /// Take the output files `script` made, their paths checked.
    fn take_files(
        &mut self,
        script: &Script,
        files: Vec<blogmark_runtime::abi::GeneratedFile>,
        diagnostics: &mut Vec<Diagnostic>,
    ) {
        for file in files {
            match output_path(&file.output) {
                Ok(path) if file.content.len() > MAX_FILE_BYTES => {
                    diagnostics.push(Diagnostic::error(
                        &script.path,
                        1,
                        1,
                        format!(
                            "generator `{}` made `{path}` of {} bytes, past the cap of \
                             {MAX_FILE_BYTES}; it is left out",
                            script.name,
                            file.content.len()
                        ),
                    ));
                }
                Ok(path) => self.files.push((path, file.content, script.path.clone())),
                Err(problem) => diagnostics.push(Diagnostic::error(
                    &script.path,
                    1,
                    1,
                    format!(
                        "generator `{}`: {problem}; the file is left out",
                        script.name
                    ),
                )),
            }
        }
    }
}

/// The line a failure points at in its script, else the first.
fn failure_line(failure: &python::Failure) -> usize {
    match failure {
        python::Failure::GuestError(error) => error.line.map_or(1, |l| l as usize),
        _ => 1,
    }
}

/// `generated` as a page of the site: its path under `content/` checked,
/// its front matter and body parsed as a file's would be.
fn page_of(generated: &GeneratedPage, permalinks: &Permalinks) -> Result<Page, String> {
    let segments = crate::site_paths::plain_segments(&generated.path)
        .filter(|s| {
            s.len() >= 2
                && s.iter()
                    .all(|p| crate::content::urls::segment_problem(p).is_ok())
        })
        .ok_or_else(|| {
            format!(
                "the page path `{}` is not a plain path under posts/ or pages/",
                generated.path
            )
        })?;
    let path = format!("content/{}", segments.join("/"));
    let kind = Kind::of_path(&path).ok_or_else(|| {
        format!(
            "the page path `{}` is under neither posts/ nor pages/",
            generated.path
        )
    })?;
    if !path.ends_with(".md") {
        return Err(format!(
            "the page path `{}` does not end in `.md`",
            generated.path
        ));
    }
    // JSON is YAML: the front matter goes through the parser a file's does.
    let front_matter = serde_json::to_string(&generated.front_matter).unwrap_or_default();
    let text = format!("---\n{front_matter}\n---\n{}", generated.body);
    let mut page =
        crate::content::page::parse(kind, &path, text.as_bytes()).map_err(|d| d.message)?;
    crate::content::urls::apply_permalinks(&mut page, permalinks).map_err(|d| d.message)?;
    Ok(page)
}

/// A generated output file's path, checked: plain segments that the file
/// system takes.
fn output_path(output: &str) -> Result<String, String> {
    let segments = crate::site_paths::plain_segments(output)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("the output path `{output}` is not a plain relative path"))?;
    for segment in &segments {
        crate::content::urls::segment_problem(segment)
            .map_err(|problem| format!("the output path `{output}`: {problem}"))?;
    }
    Ok(segments.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generated(path: &str) -> GeneratedPage {
        let mut front_matter = serde_json::Map::new();
        front_matter.insert("title".into(), "Dune".into());
        GeneratedPage {
            path: path.into(),
            front_matter,
            body: "A *book*.".into(),
        }
    }

    #[test]
    fn a_page_is_parsed_as_a_file_of_content_would_be() {
        let page = page_of(&generated("pages/books/dune.md"), &Permalinks::default()).unwrap();
        assert_eq!(page.path, "content/pages/books/dune.md");
        assert_eq!(page.kind, Kind::Page);
        assert_eq!(page.title, "Dune");
        assert_eq!(page.body.trim(), "A *book*.");
    }

    #[test]
    fn paths_that_leave_content_or_are_not_pages_are_refused() {
        for path in [
            "../pages/x.md",
            "pages/../../x.md",
            "/etc/x.md",
            "x.md",
            "books/x.md",
            "pages/x.html",
            "pages\\x.md",
            "pages/a\u{0}b.md",
        ] {
            assert!(
                page_of(&generated(path), &Permalinks::default()).is_err(),
                "{path}"
            );
        }
    }

    #[test]
    fn output_paths_are_plain() {
        assert_eq!(
            output_path("search/index.json").unwrap(),
            "search/index.json"
        );
        for path in ["../x", "/x/../../y", "", "a/\u{7}b", "a\\b"] {
            assert!(output_path(path).is_err(), "{path:?}");
        }
    }
}
