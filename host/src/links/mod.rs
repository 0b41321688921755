//! Link checking for `host check`, as `zola check` does: every internal
//! link and image of the built site resolves to a file the render writes
//! (`static/` included), every `#anchor` to an id on its target page; each
//! broken one is an error at the place in the source that holds it.
//!
//! The check reads the built pages, not the Markdown alone, so links made
//! by macros and templates are checked too; a link is then found back in
//! the page's source (or the site's templates) to name its place.

pub mod external;

use crate::diagnostics::Diagnostic;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Where a built page came from.
#[derive(Clone, Debug)]
pub struct PageSource {
    /// The source file, relative to the site (`content/posts/a.md`).
    pub file: String,
    /// Its Markdown body.
    pub body: String,
    /// The line of the file the body starts on (1-based).
    pub body_line: usize,
}

/// A link found in the built site that points outside it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ExternalLink {
    /// The URL as written.
    pub url: String,
    /// Where it was found: file, line, column.
    pub file: String,
    /// 1-based line (0 when only the file is known).
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// Everything the check needs of a build.
pub struct Site<'a> {
    /// Every output file by its path under the output folder.
    pub files: &'a BTreeMap<String, bytes::Bytes>,
    /// The source of each page built from one, by output path.
    pub sources: &'a HashMap<String, PageSource>,
    /// The site's own templates (`templates/NAME`, text).
    pub templates: &'a [(String, String)],
    /// The site's base URL: links that start with it are internal.
    pub base_url: &'a str,
}

/// Broken internal links and anchors, and the external links to check.
pub fn check(site: &Site<'_>) -> (Vec<Diagnostic>, Vec<ExternalLink>) {
    let ids: HashMap<&str, BTreeSet<String>> = site
        .files
        .iter()
        .filter(|(path, _)| path.ends_with(".html"))
        .map(|(path, bytes)| (path.as_str(), ids_of(&String::from_utf8_lossy(bytes))))
        .collect();
    let mut broken = BTreeSet::new();
    let mut external = BTreeSet::new();
    for (path, bytes) in site.files.iter().filter(|(p, _)| p.ends_with(".html")) {
        let html = String::from_utf8_lossy(bytes);
        for url in urls_of(&html) {
            let place = || place_of(site, path, &url);
            match classify(&url, site.base_url) {
                Target::Ignored => {}
                Target::External => {
                    let (file, line, column) = place();
                    external.insert(ExternalLink {
                        url: url.clone(),
                        file,
                        line,
                        column,
                    });
                }
                Target::Internal(internal) => {
                    if let Err(reason) = resolve(path, &internal, site.files, &ids) {
                        let (file, line, column) = place();
                        broken.insert((file, line, column, format!("`{url}`: {reason}")));
                    }
                }
            }
        }
    }
    let diagnostics = broken
        .into_iter()
        .map(|(file, line, column, message)| {
            Diagnostic::error(file, line, column, format!("broken link {message}"))
        })
        .collect();
    (diagnostics, external.into_iter().collect())
}

enum Target {
    Ignored,
    External,
    Internal(String),
}

fn classify(url: &str, base_url: &str) -> Target {
    let lower = url.to_ascii_lowercase();
    if url.is_empty()
        || ["mailto:", "tel:", "data:", "javascript:"]
            .iter()
            .any(|s| lower.starts_with(s))
    {
        return Target::Ignored;
    }
    let base = base_url.trim_end_matches('/');
    if !base.is_empty() && (url == base || url.starts_with(&format!("{base}/"))) {
        let rest = &url[base.len()..];
        return Target::Internal(if rest.is_empty() {
            "/".into()
        } else {
            rest.into()
        });
    }
    if lower.starts_with("http://") || lower.starts_with("https://") || url.starts_with("//") {
        return Target::External;
    }
    if url.contains(':') && !url.starts_with(['/', '.', '#']) && !url.contains('/') {
        // Another scheme (`irc:`, `ftp:` without slashes...): not ours to judge.
        return Target::Ignored;
    }
    Target::Internal(url.into())
}

/// Resolve `url` (internal) found on the page at output path `page`.
fn resolve(
    page: &str,
    url: &str,
    files: &BTreeMap<String, bytes::Bytes>,
    ids: &HashMap<&str, BTreeSet<String>>,
) -> Result<(), String> {
    let (rest, fragment) = match url.split_once('#') {
        Some((rest, fragment)) => (rest, Some(fragment)),
        None => (url, None),
    };
    let rest = rest.split('?').next().unwrap_or_default();
    let target = if rest.is_empty() {
        page.to_owned()
    } else {
        let joined = if rest.starts_with('/') {
            rest.to_owned()
        } else {
            let dir = page.rsplit_once('/').map_or("", |(dir, _)| dir);
            format!("/{dir}/{rest}")
        };
        let Some(normal) = normalize(&percent_decode(&joined)) else {
            return Err("it climbs above the site's root".into());
        };
        let candidates = if normal.is_empty() || normal.ends_with('/') {
            vec![format!("{normal}index.html")]
        } else {
            vec![normal.clone(), format!("{normal}/index.html")]
        };
        match candidates.into_iter().find(|c| files.contains_key(c)) {
            Some(found) => found,
            None => {
                return Err(format!(
                    "no file `{}` in the output (nor in static/)",
                    if normal.is_empty() {
                        "index.html"
                    } else {
                        &normal
                    }
                ));
            }
        }
    };
    if let Some(fragment) = fragment.filter(|f| !f.is_empty()) {
        let id = percent_decode(fragment);
        let known = ids.get(target.as_str());
        if known.is_some_and(|ids| !ids.contains(&id)) {
            return Err(format!("no element with id `{id}` on `{target}`"));
        }
    }
    Ok(())
}

/// `/a/./b/../c/` as `a/c/`: `None` when `..` climbs above the root.
fn normalize(path: &str) -> Option<String> {
    let trailing = path.ends_with('/') || path.ends_with("/.") || path.ends_with("/..");
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    let mut joined = parts.join("/");
    if trailing && !joined.is_empty() {
        joined.push('/');
    }
    Some(joined)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(high), Some(low)) = (
                bytes.get(i + 1).and_then(|b| (*b as char).to_digit(16)),
                bytes.get(i + 2).and_then(|b| (*b as char).to_digit(16)),
            )
        {
            out.push((high * 16 + low) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The values of `href` and `src` attributes, unescaped.
fn urls_of(html: &str) -> Vec<String> {
    attribute_values(html, &["href", "src"])
}

/// The values of `id` attributes.
fn ids_of(html: &str) -> BTreeSet<String> {
    attribute_values(html, &["id", "name"])
        .into_iter()
        .collect()
}

/// Values of double-quoted attributes named `names` in tags of `html` (the
/// host writes every attribute it makes that way).
fn attribute_values(html: &str, names: &[&str]) -> Vec<String> {
    let mut values = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        rest = &rest[at + 1..];
        let end = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[..end];
        if tag.starts_with('!') || tag.starts_with('/') {
            rest = &rest[end..];
            continue;
        }
        for name in names {
            let pattern = format!(" {name}=\"");
            let mut search = tag;
            while let Some(found) = search.find(&pattern) {
                let value_start = found + pattern.len();
                let Some(len) = search[value_start..].find('"') else {
                    break;
                };
                values.push(unescape(&search[value_start..value_start + len]));
                search = &search[value_start + len..];
            }
        }
        rest = &rest[end..];
    }
    values
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Where `url`, found on the built page `page`, is written: in the page's
/// source when it is there, else in a template of the site, else the page.
fn place_of(site: &Site<'_>, page: &str, url: &str) -> (String, usize, usize) {
    if let Some(source) = site.sources.get(page)
        && let Some((line, column)) = find(&source.body, url)
    {
        return (source.file.clone(), source.body_line + line - 1, column);
    }
    for (name, text) in site.templates {
        if let Some((line, column)) = find(text, url) {
            return (name.clone(), line, column);
        }
    }
    // A URL a macro gave (`[x]({{< ref "a#part" >}})`) is not in the
    // source, but its fragment is.
    if let Some(source) = site.sources.get(page)
        && let Some((_, fragment)) = url.split_once('#')
        && let Some(at) = fragment_in(&source.body, fragment)
    {
        let (line, column) = crate::diagnostics::line_col(&source.body, at);
        return (source.file.clone(), source.body_line + line - 1, column);
    }
    match site.sources.get(page) {
        Some(source) => (source.file.clone(), 0, 0),
        None => (format!("(built) {page}"), 0, 0),
    }
}

/// Where `#fragment` is written in `text` as the end of a link or a
/// macro's argument: not a hashtag in prose (after a space), nor the start
/// of a longer fragment (`#intro` in `#introduction`).
fn fragment_in(text: &str, fragment: &str) -> Option<usize> {
    if fragment.is_empty() {
        return None;
    }
    let needle = format!("#{fragment}");
    text.match_indices(&needle).map(|(at, _)| at).find(|&at| {
        let before = text[..at].chars().next_back();
        let after = text[at + needle.len()..].chars().next();
        before.is_some_and(|c| !c.is_whitespace())
            && after.is_none_or(|c| c.is_whitespace() || matches!(c, '"' | '\'' | ')' | '>'))
    })
}

/// 1-based line and column of the first `needle` in `text`, as written
/// (or HTML-escaped, as in a template).
fn find(text: &str, needle: &str) -> Option<(usize, usize)> {
    let escaped = needle.replace('&', "&amp;");
    let at = text.find(needle).or_else(|| text.find(&escaped))?;
    Some(crate::diagnostics::line_col(text, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(pages: &[(&str, &str)]) -> BTreeMap<String, bytes::Bytes> {
        pages
            .iter()
            .map(|(p, html)| ((*p).to_owned(), html.as_bytes().to_vec().into()))
            .collect()
    }

    #[test]
    fn a_fragment_is_found_where_a_link_or_a_macro_ends_with_it() {
        let text = "#intro here, [x](#introduction) and {{< ref \"b#intro\" >}}";
        assert_eq!(fragment_in(text, "intro"), text.find("#intro\""));
        assert_eq!(fragment_in("a #intro hashtag", "intro"), None);
        assert_eq!(fragment_in("[x](b#intro)", "intro"), Some(5));
        assert_eq!(fragment_in("[x](b#intro)", ""), None);
    }

    #[test]
    fn paths_normalize_and_never_climb_out() {
        assert_eq!(normalize("/a/./b/../c/").as_deref(), Some("a/c/"));
        assert_eq!(normalize("/posts/x").as_deref(), Some("posts/x"));
        assert_eq!(normalize("/").as_deref(), Some(""));
        assert_eq!(normalize("/../etc/passwd"), None);
    }

    #[test]
    fn internal_links_resolve_to_files_and_anchors_to_ids() {
        let files = files(&[
            (
                "index.html",
                r#"<a href="/posts/a/">a</a> <a href="posts/b/#two">b</a>"#,
            ),
            (
                "posts/a/index.html",
                r#"<h2 id="one">One</h2><img src="cover.png"> <a href="../b/#nope">x</a>"#,
            ),
            ("posts/a/cover.png", ""),
            (
                "posts/b/index.html",
                r#"<h2 id="two">Two</h2><a href="/missing/">m</a> <a href="https://example.com/x">e</a> <a href="https://blog.example.org/posts/a/#one">self</a>"#,
            ),
        ]);
        let sources = HashMap::from([(
            "posts/b/index.html".to_owned(),
            PageSource {
                file: "content/posts/b.md".into(),
                body: "Intro.\n\nSee [m](/missing/) and [e](https://example.com/x).\n".into(),
                body_line: 5,
            },
        )]);
        let site = Site {
            files: &files,
            sources: &sources,
            templates: &[],
            base_url: "https://blog.example.org/",
        };
        let (broken, external) = check(&site);
        let found: Vec<(String, usize, usize)> = broken
            .iter()
            .map(|d| (d.file.clone(), d.line, d.column))
            .collect();
        assert_eq!(
            found,
            [
                ("(built) posts/a/index.html".to_owned(), 0, 0),
                ("content/posts/b.md".to_owned(), 7, 9),
            ],
            "{broken:#?}"
        );
        assert!(broken[0].message.contains("#nope"), "{}", broken[0].message);
        assert!(
            broken[1].message.contains("no file `missing/index.html`")
                || broken[1].message.contains("missing"),
            "{}",
            broken[1].message
        );
        assert_eq!(external.len(), 1);
        assert_eq!(external[0].url, "https://example.com/x");
        assert_eq!((external[0].line, external[0].column), (7, 28));
    }

    #[test]
    fn other_schemes_are_left_alone() {
        for url in [
            "mailto:me@example.org",
            "tel:+123",
            "data:image/png;base64,xx",
            "javascript:void(0)",
        ] {
            assert!(
                matches!(classify(url, "https://x.org/"), Target::Ignored),
                "{url}"
            );
        }
    }
}
