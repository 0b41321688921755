//! A post or page: its metadata, checked, and its Markdown body.

use crate::content::front_matter;
use crate::diagnostics::Diagnostic;
use crate::site_queries::Summary;
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use std::sync::Arc;

/// Posts are dated and listed; pages stand alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// `content/posts/*.md`
    Post,
    /// `content/pages/*.md`
    Page,
}

/// A loaded post or page.
#[derive(Clone, Debug, Serialize)]
pub struct Page {
    /// Post or page.
    pub kind: Kind,
    /// Path relative to the site, with `/` separators.
    pub path: String,
    /// URL slug: the front matter's `slug`, else the file's name (a
    /// bundle's: its folder's).
    pub slug: String,
    /// Where it is published, a URL path such as `/posts/2024/trip/`.
    pub url: String,
    /// The folders between its section (`content/posts`, `content/pages`)
    /// and the file or bundle, e.g. `2024`; empty for flat files.
    pub folders: String,
    /// The bundle folder (relative to the site), when the page is a
    /// bundle's `index.md`.
    pub bundle: Option<String>,
    /// The bundle's other files.
    pub resources: Vec<super::resources::Resource>,
    /// Old URL paths that redirect here.
    pub aliases: Vec<String>,
    /// When it last changed (`lastmod` or `updated`), for the sitemap.
    pub lastmod: Option<DateTime<Utc>>,
    /// Title.
    pub title: String,
    /// Publication date, if any (posts without one sort last).
    pub date: Option<DateTime<Utc>>,
    /// Tags, as written.
    pub tags: Vec<String>,
    /// Drafts are left out unless `--drafts`.
    pub draft: bool,
    /// A summary for listings and feeds.
    pub summary: Option<String>,
    /// The free `extra` table.
    pub extra: Map<String, Value>,
    /// All front matter fields, as written.
    pub front_matter: Map<String, Value>,
    /// The Markdown body (left out when serialized: the page cache hashes
    /// its bytes as they are, without escaping megabytes into JSON).
    #[serde(skip)]
    pub body: String,
    /// The file line on which the body starts.
    pub body_line: usize,
    /// SHA-256 of the file's bytes.
    pub content_hash: String,
    /// [`Page::digest`], once made.
    #[serde(skip)]
    digest: Made<[u8; 32]>,
    /// [`Page::query_summary`], once made, with the base URL and taxonomies
    /// it was made for.
    #[serde(skip)]
    query_summary: Made<(String, Vec<String>, Arc<Summary>)>,
}

/// What is made of a page the first time it is asked for. A clone starts
/// without it: a clone is what gets changed (a transform's result, a
/// permalink applied), and the page it came from is not.
struct Made<T>(std::sync::OnceLock<T>);

impl<T> Default for Made<T> {
    fn default() -> Self {
        Made(std::sync::OnceLock::new())
    }
}

impl<T> Clone for Made<T> {
    fn clone(&self) -> Self {
        Made::default()
    }
}

impl<T> std::fmt::Debug for Made<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Made(..)")
    }
}

impl Kind {
    /// The kind of the content file at `relative` (a path in the site):
    /// `content/posts/...` or `content/pages/...`.
    pub fn of_path(relative: &str) -> Option<Kind> {
        if relative.starts_with("content/posts/") {
            Some(Kind::Post)
        } else if relative.starts_with("content/pages/") {
            Some(Kind::Page)
        } else {
            None
        }
    }
}

impl Page {
    /// The SHA-256 of everything the page holds (its fields and its body),
    /// for the page cache's keys. Made once per page: `host serve` keeps
    /// the pages of unchanged files from one render to the next, and
    /// serializing and hashing 2,000 of them was a fifth of what deciding
    /// to reuse them cost.
    pub fn digest(&self) -> [u8; 32] {
        let made = || {
            let mut hasher = crate::key_hasher::KeyHasher::new();
            hasher
                .part(&serde_json::to_vec(self).unwrap_or_default())
                .part(self.body.as_bytes());
            hasher.digest()
        };
        let digest = *self.digest.0.get_or_init(made);
        // A page is changed only before its first digest (while it is
        // loaded); every test checks that no path changes it after.
        debug_assert_eq!(digest, made(), "{} changed after its digest", self.path);
        digest
    }

    /// The page as site queries show it, published under `base` with its
    /// terms in `taxonomies`. Made once per page for the same settings: a
    /// build asks twice (its generators see the files' pages, its pages
    /// see them all), and `host serve` keeps unchanged pages between
    /// renders.
    pub fn query_summary(&self, base: &str, taxonomies: &[String]) -> Arc<Summary> {
        let made = || Arc::new(Summary::of(self, self.full_url(base), taxonomies));
        if let Some((b, t, summary)) = self.query_summary.0.get()
            && b == base
            && t == taxonomies
        {
            debug_assert_eq!(
                serde_json::to_string(&**summary).ok(),
                serde_json::to_string(&*made()).ok(),
                "{} changed after its summary",
                self.path
            );
            return summary.clone();
        }
        let summary = made();
        let _ = self
            .query_summary
            .0
            .set((base.to_owned(), taxonomies.to_vec(), summary.clone()));
        summary
    }

    /// The page's URL path, e.g. `/posts/hello/`.
    pub fn url_path(&self) -> &str {
        &self.url
    }

    /// The page's full URL under `base` (a base URL with one trailing slash).
    pub fn full_url(&self, base: &str) -> String {
        format!("{base}{}", self.url.trim_start_matches('/'))
    }

    /// The terms of `taxonomy` this page lists: the front matter's
    /// `<taxonomy> = [...]`, or `[taxonomies] <taxonomy> = [...]` as Zola
    /// writes them (`tags` are also [`Page::tags`]). A term with no letter
    /// or digit (`..`, `!!!`) makes no URL segment, so it is left out (its
    /// page would be the taxonomy's own list); [`Page::terms_without_url`]
    /// names them.
    pub fn terms(&self, taxonomy: &str) -> Vec<String> {
        let mut terms = self.listed_terms(taxonomy);
        terms.retain(|t| !slugify(t).is_empty());
        terms
    }

    /// The terms of `taxonomy` that [`Page::terms`] leaves out.
    pub fn terms_without_url(&self, taxonomy: &str) -> Vec<String> {
        let mut terms = self.listed_terms(taxonomy);
        terms.retain(|t| slugify(t).is_empty());
        terms
    }

    fn listed_terms(&self, taxonomy: &str) -> Vec<String> {
        if taxonomy == "tags" {
            return self.tags.clone();
        }
        let listed = self.front_matter.get(taxonomy).or_else(|| {
            self.front_matter
                .get("taxonomies")
                .and_then(|t| t.get(taxonomy))
        });
        match listed {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect(),
            Some(Value::String(one)) => vec![one.clone()],
            _ => Vec::new(),
        }
    }
}

/// Where the file at `path` sits: its folders under its section, and its
/// bundle folder when it is a bundle's `index.md`.
fn place(path: &str) -> (String, Option<String>) {
    let inside = path
        .strip_prefix("content/posts/")
        .or_else(|| path.strip_prefix("content/pages/"))
        .unwrap_or(path);
    let parts: Vec<&str> = inside.split('/').collect();
    let (folders, bundle) = match parts.as_slice() {
        [dirs @ .., _, "index.md"] => (dirs, Some(path.trim_end_matches("/index.md"))),
        [dirs @ .., _] => (dirs, None),
        [] => (&[][..], None),
    };
    let folders = folders
        .iter()
        .map(|f| slugify(f))
        .collect::<Vec<_>>()
        .join("/");
    (folders, bundle.map(str::to_owned))
}

/// Parse `bytes`, the contents of the file at `path`.
pub fn parse(kind: Kind, path: &str, bytes: &[u8]) -> Result<Page, Diagnostic> {
    let text = crate::input::utf8(bytes).map_err(|e| e.to_diagnostic(path))?;
    let split = front_matter::split(path, text)?;
    from_fields(kind, path, text, split.fields, split.body, split.body_line)
}

/// The page a generator made at `path` (under `content/`), from its front
/// matter and body: the page of a file holding the front matter as YAML
/// (JSON is YAML) and then the body, with the same checks, but the fields
/// taken as the generator gave them rather than written out and parsed
/// again (a fifth of a data edit's work on a site whose generator makes
/// 1,000 pages).
pub fn from_generated(
    kind: Kind,
    path: &str,
    front_matter: Map<String, Value>,
    body: &str,
) -> Result<Page, Diagnostic> {
    let written = serde_json::to_string(&front_matter).unwrap_or_default();
    front_matter::yaml_depth_checked(path, &written)?;
    let text = format!("---\n{written}\n---\n{body}");
    // The delimiter, the fields on one line, the delimiter, then the body.
    from_fields(kind, path, &text, front_matter, body, 4)
}

/// The page of the file at `path` whose text is `text`: its front matter
/// `map`, then `body` from line `body_line`.
fn from_fields(
    kind: Kind,
    path: &str,
    text: &str,
    map: Map<String, Value>,
    body: &str,
    body_line: usize,
) -> Result<Page, Diagnostic> {
    let fields = Fields {
        map: &map,
        text,
        path,
    };
    let title = fields
        .string("title")?
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| Diagnostic::error(path, 1, 1, "missing `title` in the front matter"))?;
    let date = fields.date()?;
    let (folders, bundle) = place(path);
    let slug = fields.slug(bundle.as_deref())?;
    let url = fields.url(kind, &folders, &slug)?;
    let aliases = fields.aliases()?;
    let lastmod = fields.lastmod()?;
    let tags = fields.string_list("tags")?;
    let draft = fields.draft()?;
    let extra = fields.extra()?;
    let summary = fields.string("summary")?;
    Ok(Page {
        kind,
        path: path.to_owned(),
        slug,
        url,
        folders,
        bundle,
        resources: Vec::new(),
        aliases,
        lastmod,
        title,
        date,
        tags,
        draft,
        summary,
        extra,
        body: body.to_owned(),
        body_line,
        content_hash: crate::input::content_hash(text.as_bytes()),
        front_matter: map,
        digest: Made::default(),
        query_summary: Made::default(),
    })
}

/// A page's front matter fields, with the file they were read from so that
/// an error can name the line of its field.
struct Fields<'a> {
    /// The fields, as written.
    map: &'a Map<String, Value>,
    /// The file's text.
    text: &'a str,
    /// The file's path relative to the site.
    path: &'a str,
}

impl Fields<'_> {
    /// An error about the field `name`, at its line.
    fn error(&self, name: &str, message: impl Into<String>) -> Diagnostic {
        Diagnostic::error(self.path, field_line(self.text, name), 1, message)
    }

    /// The string `name` (none when absent).
    fn string(&self, name: &str) -> Result<Option<String>, Diagnostic> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => {
                Err(self.error(name, format!("`{name}` must be a string, found {other}")))
            }
        }
    }

    /// The list of strings `name` (empty when absent).
    fn string_list(&self, name: &str) -> Result<Vec<String>, Diagnostic> {
        string_list(self.map, name, self.path, &|name| {
            field_line(self.text, name)
        })
    }

    /// The publication date, if set.
    fn date(&self) -> Result<Option<DateTime<Utc>>, Diagnostic> {
        match self.map.get("date") {
            None | Some(Value::Null) => Ok(None),
            Some(value) => parse_date(value).map(Some).ok_or_else(|| {
                self.error(
                    "date",
                    format!("cannot read the date {value}; use 2024-01-31, 2024-01-31T10:00:00Z or 2024-01-31 10:00"),
                )
            }),
        }
    }

    /// The slug: `slug`, cleaned, else the file's (or `bundle`'s) name.
    fn slug(&self, bundle: Option<&str>) -> Result<String, Diagnostic> {
        match self.string("slug")? {
            Some(slug) => {
                let cleaned = slugify(&slug);
                if cleaned.is_empty() {
                    return Err(self.error("slug", "the slug is empty"));
                }
                Ok(cleaned)
            }
            None => Ok(slugify(bundle.map_or(file_stem(self.path), file_stem))),
        }
    }

    /// The URL path: `url`, normalized, else the one its folders and `slug`
    /// make.
    fn url(&self, kind: Kind, folders: &str, slug: &str) -> Result<String, Diagnostic> {
        match self.string("url")? {
            Some(own) => super::urls::normalize(&own).map_err(|why| {
                self.error("url", format!("`url` {own:?} is not a URL path: {why}"))
            }),
            None => Ok(super::urls::folder_url(kind, folders, slug)),
        }
    }

    /// The `aliases`, normalized URL paths.
    fn aliases(&self) -> Result<Vec<String>, Diagnostic> {
        self.string_list("aliases")?
            .into_iter()
            .map(|alias| {
                super::urls::normalize(&alias).map_err(|why| {
                    self.error(
                        "aliases",
                        format!("the alias {alias:?} is not a URL path: {why}"),
                    )
                })
            })
            .collect()
    }

    /// When it last changed: `lastmod`, else `updated`, if set.
    fn lastmod(&self) -> Result<Option<DateTime<Utc>>, Diagnostic> {
        match self.map.get("lastmod").or_else(|| self.map.get("updated")) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => parse_date(value).map(Some).ok_or_else(|| {
                let name = if self.map.contains_key("lastmod") {
                    "lastmod"
                } else {
                    "updated"
                };
                self.error(name, format!("cannot read the date {value} of `{name}`"))
            }),
        }
    }

    /// Whether it is a draft (not when absent).
    fn draft(&self) -> Result<bool, Diagnostic> {
        match self.map.get("draft") {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(self.error(
                "draft",
                format!("`draft` must be true or false, found {other}"),
            )),
        }
    }

    /// The `extra` table (empty when absent).
    fn extra(&self) -> Result<Map<String, Value>, Diagnostic> {
        match self.map.get("extra") {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(Value::Object(map)) => Ok(map.clone()),
            Some(other) => {
                Err(self.error("extra", format!("`extra` must be a table, found {other}")))
            }
        }
    }
}

/// The front matter's list of strings `name` (none when absent).
fn string_list(
    fields: &Map<String, Value>,
    name: &str,
    path: &str,
    field_line: &dyn Fn(&str) -> usize,
) -> Result<Vec<String>, Diagnostic> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|t| match t {
                Value::String(s) => Ok(s.clone()),
                other => Err(Diagnostic::error(
                    path,
                    field_line(name),
                    1,
                    format!("each of `{name}` must be a string, found {other}"),
                )),
            })
            .collect(),
        Some(other) => Err(Diagnostic::error(
            path,
            field_line(name),
            1,
            format!("`{name}` must be a list, found {other}"),
        )),
    }
}

/// The line of the front matter on which `name` is set (1 if not found).
fn field_line(text: &str, name: &str) -> usize {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.strip_prefix(name)
                .is_some_and(|rest| rest.trim_start().starts_with(['=', ':']))
        })
        .map_or(1, |i| i + 1)
}

fn file_stem(path: &str) -> &str {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.strip_suffix(".md").unwrap_or(name)
}

/// A URL-safe slug: lowercase letters and digits joined by `-`.
pub fn slugify(text: &str) -> String {
    let mut slug = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_owned()
}

/// Dates as people write them in front matter.
pub fn parse_date(value: &Value) -> Option<DateTime<Utc>> {
    let text = value.as_str()?.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Some(dt.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Some(Utc.from_utc_datetime(&naive));
        }
    }
    for format in ["%Y-%m-%d", "%Y/%m/%d", "%d %B %Y", "%B %d, %Y"] {
        if let Ok(date) = NaiveDate::parse_from_str(text, format) {
            return Some(Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0)?));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn post(text: &str) -> Page {
        parse(Kind::Post, "content/posts/a.md", text.as_bytes()).unwrap()
    }

    #[test]
    fn the_digest_covers_every_field_and_the_body_and_a_clone_makes_its_own() {
        let text = "+++\ntitle = \"A\"\ntags = [\"x\"]\n+++\nBody";
        let page = post(text);
        assert_eq!(page.digest(), post(text).digest());
        assert_ne!(
            page.digest(),
            post(&text.replace("\"A\"", "\"B\"")).digest()
        );
        assert_ne!(
            page.digest(),
            post(&text.replace("\"x\"", "\"y\"")).digest()
        );
        assert_ne!(page.digest(), post(&text.replace("Body", "Other")).digest());
        // Changing a clone of a page whose digest is made gives another.
        let mut changed = page.clone();
        changed.title = "C".into();
        assert_ne!(changed.digest(), page.digest());
        let mut back = changed.clone();
        back.title = "A".into();
        assert_eq!(back.digest(), page.digest());
    }

    #[test]
    fn a_summary_is_made_once_per_settings_and_a_clone_makes_its_own() {
        let page = post("+++\ntitle = \"A\"\ntags = [\"x\"]\n+++\nBody");
        let tags = ["tags".to_owned()];
        let first = page.query_summary("https://a.example/", &tags);
        assert!(Arc::ptr_eq(
            &first,
            &page.query_summary("https://a.example/", &tags)
        ));
        assert_eq!(first.url, "https://a.example/posts/a/");
        let elsewhere = page.query_summary("https://b.example/", &tags);
        assert_eq!(elsewhere.url, "https://b.example/posts/a/");
        assert!(
            page.query_summary("https://a.example/", &[])
                .taxonomies
                .is_empty()
        );
        assert_eq!(first.taxonomies["tags"], ["x"]);
        let mut changed = page.clone();
        changed.title = "C".into();
        assert_eq!(
            changed.query_summary("https://a.example/", &tags).title,
            "C"
        );
    }

    #[test]
    fn a_term_with_no_letter_or_digit_is_left_out_and_named() {
        let page = post(
            "+++\ntitle = \"A\"\ntags = [\"..\", \"Rust\", \"!!!\"]\ncategories = [\"/\", \"x\"]\n+++\nBody",
        );
        assert_eq!(page.terms("tags"), ["Rust"]);
        assert_eq!(page.terms_without_url("tags"), ["..", "!!!"]);
        assert_eq!(page.terms("categories"), ["x"]);
        assert_eq!(page.terms_without_url("categories"), ["/"]);
    }

    #[test]
    fn a_complete_post() {
        let text = "+++\ntitle = \"Hello\"\ndate = 2024-01-02\ntags = [\"a\", \"b\"]\n[extra]\nmood = \"good\"\n+++\nBody";
        let page = parse(Kind::Post, "content/posts/Hello World.md", text.as_bytes()).unwrap();
        assert_eq!(page.slug, "hello-world");
        assert_eq!(page.date.unwrap().to_rfc3339(), "2024-01-02T00:00:00+00:00");
        assert_eq!(page.tags, ["a", "b"]);
        assert_eq!(page.extra["mood"], "good");
        assert_eq!(page.body_line, 8);
        assert_eq!(page.url_path(), "/posts/hello-world/");
    }

    #[test]
    fn common_date_formats() {
        for text in [
            "2024-01-02",
            "2024-01-02T10:00:00Z",
            "2024-01-02T12:00:00+02:00",
            "2024-01-02 10:00",
            "2024/01/02",
            "2 January 2024",
        ] {
            assert!(parse_date(&json!(text)).is_some(), "{text}");
        }
        assert!(parse_date(&json!("yesterday")).is_none());
    }

    #[test]
    fn errors_name_file_and_line() {
        let err = parse(Kind::Post, "p.md", b"---\ntitle: A\ndate: soon\n---\n").unwrap_err();
        assert_eq!(err.to_string().split(": ").next(), Some("p.md:3:1"));
        let err = parse(Kind::Post, "p.md", b"---\ndate: 2024-01-01\n---\n").unwrap_err();
        assert!(err.message.contains("missing `title`"), "{err}");
        let err = parse(Kind::Post, "p.md", b"---\ntitle: A\n---\nok\n\xff\n").unwrap_err();
        assert_eq!(
            (err.line, err.message.as_str()),
            (5, "not valid UTF-8 (byte 20)")
        );
        let err = parse(Kind::Post, "p.md", b"---\ntitle: A\ntags: x\n---\n").unwrap_err();
        assert_eq!(err.line, 3);
    }

    #[test]
    fn slugs() {
        assert_eq!(slugify("Héllo, World!"), "héllo-world");
        assert_eq!(slugify("--a--b--"), "a-b");
    }
}
