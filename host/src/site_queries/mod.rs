//! What a script or a built-in may ask of the site beyond its own request:
//! its data files and its pages. Each question is a small JSON document;
//! its answer is computed once per build, and a call or page that asked is
//! keyed on the digests of the answers it got (see `docs/extending.md`).
//!
//! | question | answer |
//! |---|---|
//! | `{"data": ["books", "dune"]}` | `{"value": ...}` (a file), `{"folder": true}`, `{"missing": true}` |
//! | `{"keys": ["books"]}` | `{"keys": [names]}` (a folder's), `{"missing": true}` |
//! | `{"entries": ["books"]}` | `{"files": {name: value}, "folders": [names]}` (a folder's, whole), `{"missing": true}` |
//! | `{"pages": {"section": "posts", "tag": "rust", "limit": 3, ...}}` | `{"pages": [summary, ...]}` |
//! | `{"page": "content/posts/a.md"}` (or a URL, or a slug) | `{"page": summary}` or `{"page": null}` |
//! | `{"fetch": "https://…"}` (scripts that need `fetch`) | the response (see [`crate::capabilities::fetch`]) |

mod pages;

pub use pages::{Filter, Sort, Summary};

use crate::capabilities::fetch::Remote;
use crate::capabilities::images::Images;
use crate::site_data::{DataTree, Node};
use blogmark_runtime::QuerySource;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// One question, as the guest and the built-ins ask it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Question {
    /// A data file or folder, by its keys from `data/` (a folder's answer
    /// says only that it is one: reading a file in it does not depend on
    /// what else is there).
    Data(Vec<String>),
    /// The keys of a data folder.
    Keys(Vec<String>),
    /// Everything in a data folder: each file's content and the names of
    /// the folders in it (what `items()` and `values()` read).
    Entries(Vec<String>),
    /// The pages that match.
    Pages(Filter),
    /// One page, by source path, URL or slug.
    Page(String),
    /// A URL's response, fetched by the host when the site allows it.
    Fetch(String),
    /// An image made from one of the site's (when the site allows it).
    Image(crate::capabilities::images::Request),
}

impl Question {
    /// The question as a document (what a page's record holds).
    pub fn text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The site as a build's questions see it: its data, its pages (in build
/// order, newest first), and the answers given so far.
#[derive(Debug, Default)]
pub struct SiteQueries {
    data: Arc<DataTree>,
    pages: Vec<Arc<Summary>>,
    base: String,
    answers: Mutex<Answers>,
    remote: Arc<Remote>,
    images: Arc<Images>,
    /// Each name a page answers to (see [`SiteQueries::page`]), to its
    /// place in `pages`: made at the first such question, so that a site
    /// whose every page refers to others asks in constant time, not in
    /// time that grows with the site.
    names: OnceLock<HashMap<Box<str>, usize>>,
    /// Which pages each filter asked so far matched, by the filter's
    /// question: a built-in such as `recent_posts` on every page asks the
    /// same one thousands of times.
    matched: Mutex<Matched>,
}

/// The pages each filter matched, and how many places that is in all.
#[derive(Debug, Default)]
struct Matched {
    by_question: HashMap<String, Arc<[usize]>>,
    places: usize,
}

/// The most places kept for filters' matches (8 bytes each): past it a
/// filter's pages are found again each time it is asked.
const MAX_KEPT_PLACES: usize = 8 << 20;

/// The answers given so far, and their size.
#[derive(Debug, Default)]
struct Answers {
    by_question: HashMap<String, (Arc<Result<String, String>>, String)>,
    bytes: usize,
}

/// The most bytes of answers a build keeps: past it an answer is computed
/// each time it is asked (scripts that ask thousands of distinct large
/// questions cost time, which their deadline bounds, not memory).
const MAX_KEPT_BYTES: usize = 256 << 20;

impl SiteQueries {
    /// The questions of a build whose data is `data` and whose pages are
    /// `pages`, published under `base` (the base URL).
    pub fn new(data: Arc<DataTree>, pages: Vec<Summary>, base: String) -> Self {
        Self::of_summaries(data, pages.into_iter().map(Arc::new).collect(), base)
    }

    fn of_summaries(data: Arc<DataTree>, pages: Vec<Arc<Summary>>, base: String) -> Self {
        SiteQueries {
            data,
            pages,
            base,
            answers: Mutex::default(),
            remote: Arc::default(),
            images: Arc::default(),
            names: OnceLock::new(),
            matched: Mutex::default(),
        }
    }

    /// These questions, with `ctx.fetch` answered by `remote`.
    pub fn with_remote(mut self, remote: Arc<Remote>) -> Self {
        self.remote = remote;
        self
    }

    /// These questions, with images made by `images`.
    pub fn with_images(mut self, images: Arc<Images>) -> Self {
        self.images = images;
        self
    }

    /// The capability `question` uses, if any (whatever its spelling: JSON
    /// allows escapes in keys).
    pub fn capability_of(question: &str) -> Option<&'static str> {
        let maybe = ["fetch", "image", "\\"]
            .iter()
            .any(|k| question.contains(k));
        match serde_json::from_str(question) {
            Ok(Question::Fetch(_)) if maybe => Some("fetch"),
            Ok(Question::Image(_)) if maybe => Some("images"),
            _ => None,
        }
    }

    /// The questions of a build whose data is `data` and whose pages are
    /// `pages` (in build order), published under `base`, with the terms of
    /// `taxonomies` in their summaries.
    pub fn of_pages(
        data: Arc<DataTree>,
        pages: &[&crate::content::Page],
        base: String,
        taxonomies: &[String],
    ) -> Self {
        // On every core: a few milliseconds at 1,000 pages the first time a
        // page is summarized (each page keeps its own).
        let summaries = pages
            .par_iter()
            .map(|p| p.query_summary(&base, taxonomies))
            .collect();
        SiteQueries::of_summaries(data, summaries, base)
    }

    /// The site's data.
    pub fn data(&self) -> &Arc<DataTree> {
        &self.data
    }

    /// The pages that match `filter`.
    pub fn pages(&self, filter: &Filter) -> Vec<&Summary> {
        let question = Question::Pages(filter.clone()).text();
        let known = lock(&self.matched).by_question.get(&question).cloned();
        let places = known.unwrap_or_else(|| {
            let places: Arc<[usize]> = filter.places(&self.pages).into();
            let mut matched = lock(&self.matched);
            if matched.places + places.len() <= MAX_KEPT_PLACES {
                matched.places += places.len();
                matched.by_question.insert(question, places.clone());
            }
            places
        });
        places.iter().map(|&i| &*self.pages[i]).collect()
    }

    /// The page named `name` (source path, from the site or the content
    /// folder, URL or slug; a post before a page of the same slug, then
    /// newest first).
    pub fn page(&self, name: &str) -> Option<&Summary> {
        let names = self.names.get_or_init(|| {
            let mut names = HashMap::new();
            for section in ["posts", "pages"] {
                for (i, page) in self.pages.iter().enumerate() {
                    if page.section != section {
                        continue;
                    }
                    // The first page to answer to a name keeps it: a post
                    // before a page, then in build order.
                    for name in page.names(&self.base) {
                        names.entry(name.into()).or_insert(i);
                    }
                }
            }
            names
        });
        // `/posts/a.md` is a file's path from the content folder, as Hugo
        // writes it, unless a URL path answers to it first.
        let found = names
            .get(name)
            .or_else(|| names.get(name.strip_prefix('/').filter(|n| n.ends_with(".md"))?));
        found.map(|&i| &*self.pages[i])
    }

    /// The answer to `question`, as a value.
    pub fn value_of(&self, question: &Question) -> Value {
        match question {
            Question::Data(keys) => {
                let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                match self.data.get(&keys) {
                    Some(Node::File { value, .. }) => json!({ "value": value }),
                    Some(Node::Folder(_)) => json!({ "folder": true }),
                    None => json!({ "missing": true }),
                }
            }
            Question::Keys(keys) => {
                let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                match self.data.get(&keys) {
                    Some(Node::Folder(names)) => json!({ "keys": names }),
                    _ => json!({ "missing": true }),
                }
            }
            Question::Entries(keys) => match self.entries_of(keys) {
                Some(entries) => serde_json::to_value(entries).unwrap_or(Value::Null),
                None => json!({ "missing": true }),
            },
            Question::Pages(filter) => json!({ "pages": self.pages(filter) }),
            Question::Page(name) => json!({ "page": self.page(name) }),
            Question::Fetch(url) => self
                .remote
                .answer(url)
                .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()))
                .unwrap_or(Value::Null),
            Question::Image(request) => self
                .images
                .answer(request)
                .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()))
                .unwrap_or(Value::Null),
        }
    }

    /// What `{"entries": keys}` answers: each file's content in the folder
    /// and the names of the folders in it; `None` when no folder is there.
    fn entries_of<'a>(&'a self, keys: &[String]) -> Option<Entries<'a>> {
        let path: Vec<&str> = keys.iter().map(String::as_str).collect();
        let mut entries = Entries::default();
        for (name, value) in self.data.folder(&path)? {
            match value {
                Some(value) => {
                    entries.files.insert(name, value);
                }
                None => entries.folders.push(name),
            }
        }
        Some(entries)
    }

    /// The answer to `{"entries": keys}`, refused without being made whole
    /// past [`MAX_ENTRIES_BYTES`]: no call could take it, and the script
    /// then reads key by key only what it reads.
    fn entries(&self, keys: &[String]) -> Result<String, String> {
        let Some(entries) = self.entries_of(keys) else {
            return Ok(json!({ "missing": true }).to_string());
        };
        let mut text = Capped(Vec::new());
        match serde_json::to_writer(&mut text, &entries) {
            Ok(()) => String::from_utf8(text.0).map_err(|e| e.to_string()),
            Err(_) => Err(format!(
                "the folder's entries are larger than a call's input limit \
                 ({MAX_ENTRIES_BYTES} bytes): read its keys one by one"
            )),
        }
    }

    /// The answer to the question `text` and its digest, computed once per
    /// build.
    fn answer_text(&self, text: &str) -> (Arc<Result<String, String>>, String) {
        if let Some(known) = lock(&self.answers).by_question.get(text) {
            return known.clone();
        }
        let answer = match serde_json::from_str::<Question>(text) {
            Ok(Question::Pages(filter)) if filter.problem().is_some() => Err(format!(
                "the host does not understand the question: {}",
                filter.problem().unwrap_or_default()
            )),
            Ok(Question::Fetch(url)) => self.remote.answer(&url),
            Ok(Question::Image(request)) => self.images.answer(&request),
            Ok(Question::Entries(keys)) => self.entries(&keys),
            Ok(question) => Ok(self.value_of(&question).to_string()),
            Err(error) => Err(format!(
                "the host does not understand the question: {error}"
            )),
        };
        let digest = blogmark_runtime::answer_digest(&answer);
        let answer = Arc::new(answer);
        let size = text.len()
            + answer
                .as_ref()
                .as_ref()
                .map_or_else(String::len, String::len);
        let mut answers = lock(&self.answers);
        if answers.bytes + size <= MAX_KEPT_BYTES {
            answers.bytes += size;
            answers
                .by_question
                .insert(text.to_owned(), (answer.clone(), digest.clone()));
        }
        (answer, digest)
    }

    /// The digest of the answer to the question `text`: what a result or a
    /// page that asked it is keyed on.
    pub fn digest(&self, text: &str) -> String {
        self.answer_text(text).1
    }
}

impl QuerySource for SiteQueries {
    fn answer(&self, question: &str) -> Result<String, String> {
        (*self.answer_text(question).0).clone()
    }
}

/// A data folder's whole content, as `{"entries": keys}` answers it.
#[derive(Default, Serialize)]
struct Entries<'a> {
    files: std::collections::BTreeMap<&'a str, &'a Value>,
    folders: Vec<&'a str>,
}

/// The largest `entries` answer made: a call's input limit (a larger
/// answer would be refused by the runtime anyway).
const MAX_ENTRIES_BYTES: usize = blogmark_runtime::Limits::DEFAULT_INPUT_BYTES;

/// A buffer that refuses to grow past [`MAX_ENTRIES_BYTES`].
struct Capped(Vec<u8>);

impl std::io::Write for Capped {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + bytes.len() > MAX_ENTRIES_BYTES {
            return Err(std::io::ErrorKind::FileTooLarge.into());
        }
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Answers are only ever inserted: a panic elsewhere leaves the map whole.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests;
