//! `data` in templates: the site's `data/` folder, read lazily, each read
//! noted as a question so that a page is rendered again exactly when a data
//! file its template read changed. `fetch(url)` and `image(src, ...)` are
//! questions too, answered as for scripts (what the site grants in
//! `[capabilities]`).

use crate::capabilities::images::Request;
use crate::site_queries::{Question, SiteQueries};
use blogmark_runtime::QuerySource as _;
use minijinja::value::{Enumerator, Kwargs, Object, Value};
use minijinja::{Error, ErrorKind};
use std::sync::{Arc, Mutex};

/// The `data` of one template render, and the questions it asked.
pub(super) struct TemplateData {
    queries: Arc<SiteQueries>,
    reads: Arc<Mutex<Vec<String>>>,
}

impl TemplateData {
    /// A `data` that notes what the template reads.
    pub(super) fn recording(queries: Arc<SiteQueries>) -> Self {
        TemplateData {
            queries,
            reads: Arc::default(),
        }
    }

    /// The root folder, as a template value.
    pub(super) fn value(&self) -> Value {
        Value::from_object(Folder {
            keys: Vec::new(),
            queries: self.queries.clone(),
            reads: self.reads.clone(),
        })
    }

    /// `fetch(url, as="json")` (or `as="text"`): a URL's response, for a
    /// site whose `[capabilities] fetch` allows it.
    pub(super) fn fetch(&self) -> Value {
        let (queries, reads) = (self.queries.clone(), self.reads.clone());
        Value::from_function(move |url: String, kwargs: Kwargs| -> Result<Value, Error> {
            let form: Option<String> = kwargs.get("as")?;
            kwargs.assert_all_used()?;
            let answer = ask(&queries, &reads, Question::Fetch(url))?;
            let text = answer["text"].as_str().unwrap_or_default();
            match form.as_deref().unwrap_or("json") {
                "text" => Ok(Value::from(text)),
                "json" => serde_json::from_str::<serde_json::Value>(text)
                    .map(|v| Value::from_serialize(&v))
                    .map_err(|e| failed(format!("the response is not JSON: {e}"))),
                other => Err(failed(format!("`as` is json or text, not `{other}`"))),
            }
        })
    }

    /// `image(src, width=800, op="resize", height=, format=, quality=,
    /// anchor=)`: `{url, width, height}` of an image made from `src` (a file
    /// of `page`'s bundle, or `/…` under `static/`), for a site whose
    /// `[capabilities] images` is on.
    pub(super) fn image(&self, page: Option<String>) -> Value {
        let (queries, reads) = (self.queries.clone(), self.reads.clone());
        Value::from_function(move |src: String, kwargs: Kwargs| -> Result<Value, Error> {
            let request = Request {
                src,
                page: page.clone(),
                op: kwargs
                    .get::<Option<String>>("op")?
                    .unwrap_or_else(|| "resize".into()),
                width: kwargs.get("width")?,
                height: kwargs.get("height")?,
                anchor: kwargs.get("anchor")?,
                format: kwargs.get("format")?,
                quality: kwargs.get("quality")?,
            };
            kwargs.assert_all_used()?;
            let answer = ask(&queries, &reads, Question::Image(request))?;
            Ok(Value::from_serialize(&answer))
        })
    }

    /// The questions the template asked.
    pub(super) fn reads(&self) -> Vec<String> {
        self.reads.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The answer to `question` from `queries`, noted (once) in `reads`; a
/// refusal or failure is the template's error.
fn ask(
    queries: &SiteQueries,
    reads: &Mutex<Vec<String>>,
    question: Question,
) -> Result<serde_json::Value, Error> {
    let text = question.text();
    {
        let mut reads = reads.lock().unwrap_or_else(|e| e.into_inner());
        if !reads.contains(&text) {
            reads.push(text.clone());
        }
    }
    let answer = queries.answer(&text).map_err(|why| {
        failed(
            why.trim_start_matches(crate::capabilities::fetch::DENIED)
                .to_owned(),
        )
    })?;
    serde_json::from_str(&answer).map_err(|e| failed(e.to_string()))
}

fn failed(message: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, message)
}

/// One folder of `data/`: a key is a file's content or a folder.
#[derive(Debug)]
struct Folder {
    keys: Vec<String>,
    queries: Arc<SiteQueries>,
    reads: Arc<Mutex<Vec<String>>>,
}

impl Folder {
    fn ask(&self, keys: Vec<String>) -> serde_json::Value {
        self.ask_question(Question::Data(keys))
    }

    /// The answer to `question`, noted (once) as read.
    fn ask_question(&self, question: Question) -> serde_json::Value {
        let text = question.text();
        let mut reads = self.reads.lock().unwrap_or_else(|e| e.into_inner());
        if !reads.contains(&text) {
            reads.push(text);
        }
        drop(reads);
        self.queries.value_of(&question)
    }
}

impl Object for Folder {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let mut keys = self.keys.clone();
        keys.push(key.as_str()?.to_owned());
        let answer = self.ask(keys.clone());
        if let Some(value) = answer.get("value") {
            return Some(Value::from_serialize(value));
        }
        answer.get("folder").map(|_| {
            Value::from_object(Folder {
                keys,
                queries: self.queries.clone(),
                reads: self.reads.clone(),
            })
        })
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let answer = self.ask_question(Question::Keys(self.keys.clone()));
        let names: Vec<Value> = answer
            .get("keys")
            .and_then(|f| f.as_array())
            .map(|names| {
                names
                    .iter()
                    .filter_map(|n| n.as_str())
                    .map(Value::from)
                    .collect()
            })
            .unwrap_or_default();
        Enumerator::Values(names)
    }
}
