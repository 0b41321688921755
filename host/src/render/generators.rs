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
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

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
    pub pages: Vec<Arc<Page>>,
    /// Their output files: path, text, and the generator that made it.
    pub files: Vec<(String, String, String)>,
    /// The generator of each page, by page path (for diagnostics).
    pub made_by: HashMap<String, String>,
}

/// The pages each generator made in the last render of `host serve`, with
/// what each was made from, under the permalinks of that render. A page a
/// generator makes again from the same path, front matter and body is that
/// same page: it is not parsed again, and it keeps its digest and summary
/// (a data edit re-runs a generator of 1,000 pages for one changed page).
#[derive(Default)]
pub struct KeptGenerated(Mutex<Option<(Permalinks, HashMap<String, KeptPages>)>>);

/// One generator's pages, by the path it gave each.
type KeptPages = HashMap<String, (GeneratedPage, Arc<Page>)>;

impl std::fmt::Debug for KeptGenerated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeptGenerated(..)")
    }
}

impl KeptGenerated {
    /// What `generator` made last time under `permalinks` (nothing under
    /// others).
    fn take(&self, generator: &str, permalinks: &Permalinks) -> KeptPages {
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match kept.as_mut() {
            Some((used, by_generator)) if used == permalinks => {
                by_generator.remove(generator).unwrap_or_default()
            }
            _ => {
                *kept = Some((permalinks.clone(), HashMap::new()));
                KeptPages::new()
            }
        }
    }

    /// Forget the generators that are not among `live` (a deleted script's
    /// pages are not held until the server stops).
    pub(super) fn retain(&self, live: &[&str]) {
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, by_generator)) = kept.as_mut() {
            by_generator.retain(|path, _| live.contains(&path.as_str()));
        }
    }

    /// Keep what `generator` made this time.
    fn keep(&self, generator: &str, pages: KeptPages) {
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, by_generator)) = kept.as_mut() {
            by_generator.insert(generator.to_owned(), pages);
        }
    }
}

/// Run every generator of `python` and gather what they made, beside the
/// site's `pages` (whose paths and URLs they may not take); `kept` holds
/// what they made last time, if anything is kept between renders.
pub(super) fn generate(
    python: &Session,
    pages: &[Page],
    permalinks: &Permalinks,
    kept: Option<&KeptGenerated>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Made {
    let mut made = Made::default();
    let mut taken = Taken::default();
    taken.files.reserve(pages.len() * 2);
    for page in pages {
        taken.files.insert(&page.path, &page.path);
        taken.files.insert(&page.url, &page.path);
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
        let pages = parsed(&script.path, generated.pages, permalinks, kept);
        made.take_pages(script, pages, &mut taken, diagnostics);
        made.take_files(script, generated.files, diagnostics);
    }
    made
}

/// The paths and URLs pages already have, with what has each: the site's
/// files (borrowed from their pages), then what generators made.
#[derive(Default)]
struct Taken<'a> {
    files: HashMap<&'a str, &'a str>,
    made: HashMap<String, String>,
}

impl Taken<'_> {
    /// What has `key` (a page's path or URL), if anything does.
    fn by(&self, key: &str) -> Option<String> {
        match self.files.get(key) {
            Some(file) => Some((*file).to_owned()),
            None => self.made.get(key).cloned(),
        }
    }
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
        pages: Vec<Result<Arc<Page>, String>>,
        taken: &mut Taken<'_>,
        diagnostics: &mut Vec<Diagnostic>,
    ) {
        for built in pages {
            let built = match built {
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
                .find_map(|key| taken.by(key).map(|by| (key.clone(), by)));
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
            taken.made.insert(built.path.clone(), by.clone());
            taken.made.insert(built.url.clone(), by);
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

/// The pages the generator at `generator` made, parsed on every core, in
/// order (each reused from `kept` when made again from the same path, front
/// matter and body); what it made this time is kept for the next.
fn parsed(
    generator: &str,
    pages: Vec<GeneratedPage>,
    permalinks: &Permalinks,
    kept: Option<&KeptGenerated>,
) -> Vec<Result<Arc<Page>, String>> {
    let Some(kept) = kept else {
        return pages
            .into_par_iter()
            .map(|page| page_of(page, permalinks).map(Arc::new))
            .collect();
    };
    let last = kept.take(generator, permalinks);
    let made: Vec<(GeneratedPage, Result<Arc<Page>, String>)> = pages
        .into_par_iter()
        .map(|generated| {
            let page = match last.get(&generated.path) {
                Some((before, page)) if made_alike(before, &generated) => Ok(page.clone()),
                _ => page_of(generated.clone(), permalinks).map(Arc::new),
            };
            (generated, page)
        })
        .collect();
    let mut next = KeptPages::with_capacity(made.len());
    let pages = made
        .into_iter()
        .map(|(generated, page)| {
            if let Ok(page) = &page {
                next.insert(generated.path.clone(), (generated, page.clone()));
            }
            page
        })
        .collect();
    kept.keep(generator, next);
    pages
}

/// Whether two generated pages are the same to the last bit: `Value`'s
/// equality takes `-0.0` for `0.0`, which a page would show otherwise.
fn made_alike(a: &GeneratedPage, b: &GeneratedPage) -> bool {
    fn same(a: &serde_json::Value, b: &serde_json::Value) -> bool {
        use serde_json::Value;
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => {
                x == y && x.as_f64().map(f64::to_bits) == y.as_f64().map(f64::to_bits)
            }
            (Value::Array(x), Value::Array(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
            }
            (Value::Object(x), Value::Object(y)) => same_map(x, y),
            _ => a == b,
        }
    }
    fn same_map(
        a: &serde_json::Map<String, serde_json::Value>,
        b: &serde_json::Map<String, serde_json::Value>,
    ) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|((ka, va), (kb, vb))| ka == kb && same(va, vb))
    }
    a.path == b.path && a.body == b.body && same_map(&a.front_matter, &b.front_matter)
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
fn page_of(generated: GeneratedPage, permalinks: &Permalinks) -> Result<Page, String> {
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
    let mut page =
        crate::content::page::from_generated(kind, &path, generated.front_matter, &generated.body)
            .map_err(|d| d.message)?;
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
    fn a_page_made_again_alike_is_the_same_page_and_any_difference_parses_anew() {
        let kept = KeptGenerated::default();
        let permalinks = Permalinks::default();
        let made = |pages: Vec<GeneratedPage>, permalinks: &Permalinks| -> Vec<Arc<Page>> {
            parsed("scripts/books.py", pages, permalinks, Some(&kept))
                .into_iter()
                .map(Result::unwrap)
                .collect()
        };
        let first = made(
            vec![generated("pages/a.md"), generated("pages/b.md")],
            &permalinks,
        );
        let _ = first[0].digest();
        let mut edited = generated("pages/b.md");
        edited.body = "Another *book*.".into();
        let again = made(vec![generated("pages/a.md"), edited], &permalinks);
        assert!(Arc::ptr_eq(&first[0], &again[0]), "the same page is reused");
        assert!(!Arc::ptr_eq(&first[1], &again[1]));
        assert_eq!(again[1].body.trim(), "Another *book*.");
        // Another generator's pages are its own.
        let other = parsed(
            "scripts/other.py",
            vec![generated("pages/a.md")],
            &permalinks,
            Some(&kept),
        );
        assert!(!Arc::ptr_eq(&first[0], other[0].as_ref().unwrap()));
        // Other permalinks give other URLs: nothing is reused under them.
        let moved = Permalinks {
            pages: Some("/p/:slug/".into()),
            ..Permalinks::default()
        };
        let under_moved = made(vec![generated("pages/a.md")], &moved);
        assert!(!Arc::ptr_eq(&again[0], &under_moved[0]));
        assert_eq!(under_moved[0].url, "/p/a/");
        // A page the generator no longer makes is not kept either.
        let back = made(vec![generated("pages/a.md")], &moved);
        assert!(Arc::ptr_eq(&under_moved[0], &back[0]));
        let b_again = made(vec![generated("pages/b.md")], &moved);
        assert!(!Arc::ptr_eq(&first[1], &b_again[0]));
        // A value that only its sign tells apart is another value.
        let mut signed = generated("pages/z.md");
        signed
            .front_matter
            .insert("weight".into(), serde_json::json!(0.0));
        let zero = made(vec![signed.clone()], &moved);
        signed
            .front_matter
            .insert("weight".into(), serde_json::json!(-0.0));
        let minus = made(vec![signed], &moved);
        assert!(!Arc::ptr_eq(&zero[0], &minus[0]));
        assert_eq!(minus[0].front_matter["weight"].to_string(), "-0.0");
        // A generator no longer among the site's has nothing kept.
        kept.retain(&["scripts/other.py"]);
        let after = made(vec![generated("pages/b.md")], &moved);
        assert!(!Arc::ptr_eq(&b_again[0], &after[0]));
        kept.retain(&["scripts/books.py"]);
        let still = made(vec![generated("pages/b.md")], &moved);
        assert!(Arc::ptr_eq(&after[0], &still[0]));
    }

    #[test]
    fn a_page_is_parsed_as_a_file_of_content_would_be() {
        let page = page_of(generated("pages/books/dune.md"), &Permalinks::default()).unwrap();
        assert_eq!(page.path, "content/pages/books/dune.md");
        assert_eq!(page.kind, Kind::Page);
        assert_eq!(page.title, "Dune");
        assert_eq!(page.body.trim(), "A *book*.");
    }

    /// The page of a file holding `front_matter` as YAML and then `body`,
    /// as generated pages were made before they skipped the writing out.
    fn as_a_file(
        path: &str,
        front_matter: &serde_json::Value,
        body: &str,
    ) -> Result<Page, Diagnostic> {
        let text = format!("---\n{front_matter}\n---\n{body}");
        crate::content::page::parse(Kind::Page, path, text.as_bytes())
    }

    #[test]
    fn a_generated_page_is_the_page_of_a_file_with_its_front_matter_and_body() {
        let path = "content/pages/books/dune.md";
        let rich = serde_json::json!({
            "title": "Dune, \"the\" novel: ünïcode ✓",
            "date": "1965-08-01",
            "lastmod": "2024-02-03T04:05:06Z",
            "tags": ["sf", "desert"],
            "slug": "dune-1965",
            "aliases": ["/old/dune/"],
            "draft": false,
            "summary": "Spice.\nMore spice.",
            "extra": {"pages": 412, "rating": 4.25, "series": null,
                      "nested": {"deep": [1, [2, {"three": true}]]}},
        });
        let body = "# Dune\n\nA *book* {{< badge text=\"sf\" >}}.\n";
        let map = rich.as_object().unwrap().clone();
        let made = crate::content::page::from_generated(Kind::Page, path, map, body).unwrap();
        // Every field, `content_hash` and `body_line` among them.
        let file = as_a_file(path, &rich, body).unwrap();
        assert_eq!(format!("{made:?}"), format!("{file:?}"));
        assert_eq!(made.body_line, 4);

        // What a file's front matter would be refused for, with the same
        // message at the same line.
        let refusals = [
            serde_json::json!({"date": "1965-08-01"}),
            serde_json::json!({"title": "Dune", "tags": "sf"}),
            serde_json::json!({"title": "Dune", "date": "someday"}),
            serde_json::json!({"title": 7}),
        ];
        let mut deep = serde_json::json!("bottom");
        for _ in 0..200 {
            deep = serde_json::json!([deep]);
        }
        for front_matter in refusals
            .into_iter()
            .chain([serde_json::json!({"title": "Deep", "extra": {"x": deep}})])
        {
            let map = front_matter.as_object().unwrap().clone();
            let made = crate::content::page::from_generated(Kind::Page, path, map, body);
            let file = as_a_file(path, &front_matter, body);
            assert!(made.is_err(), "{front_matter}");
            assert_eq!(made.unwrap_err(), file.unwrap_err(), "{front_matter}");
        }
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
                page_of(generated(path), &Permalinks::default()).is_err(),
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
