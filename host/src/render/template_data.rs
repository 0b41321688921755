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
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// The template values of the data files read so far in one build, by
/// question: a file that every page reads (a map keyed by slug, say) is
/// converted once, not once per page, which would cost time that grows
/// with the square of the site.
pub(super) type KeptValues = Arc<Mutex<Kept>>;

/// See [`KeptValues`].
#[derive(Debug, Default)]
pub(super) struct Kept {
    /// The values of the files read more than once.
    values: HashMap<String, Value>,
    /// The files read once so far: a value is kept from its second read,
    /// so that a folder of a file per page is not all held until the end.
    once: HashSet<String>,
}

/// The `data` of one template render, and the questions it asked.
pub(super) struct TemplateData {
    queries: Arc<SiteQueries>,
    reads: Arc<Mutex<Vec<String>>>,
    values: KeptValues,
}

impl TemplateData {
    /// A `data` that notes what the template reads, sharing with the rest
    /// of the build the values it converts.
    pub(super) fn recording(queries: Arc<SiteQueries>, values: &KeptValues) -> Self {
        TemplateData {
            queries,
            reads: Arc::default(),
            values: values.clone(),
        }
    }

    /// The root folder, as a template value.
    pub(super) fn value(&self) -> Value {
        Value::from_object(Folder {
            keys: Vec::new(),
            queries: self.queries.clone(),
            reads: self.reads.clone(),
            values: self.values.clone(),
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
    values: KeptValues,
}

impl Folder {
    /// Note (once) that the template asked `text`.
    fn note(&self, text: &str) {
        let mut reads = self.reads.lock().unwrap_or_else(|e| e.into_inner());
        if !reads.iter().any(|read| read == text) {
            reads.push(text.to_owned());
        }
    }

    /// The answer to `question`, noted (once) as read.
    fn ask_question(&self, question: Question) -> serde_json::Value {
        self.note(&question.text());
        self.queries.value_of(&question)
    }
}

impl Object for Folder {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let mut keys = self.keys.clone();
        keys.push(key.as_str()?.to_owned());
        let question = Question::Data(keys);
        let text = question.text();
        self.note(&text);
        let kept = |values: &KeptValues| {
            let kept = values.lock().unwrap_or_else(|e| e.into_inner());
            kept.values.get(&text).cloned()
        };
        if let Some(value) = kept(&self.values) {
            return Some(value);
        }
        let answer = self.queries.value_of(&question);
        if let Some(value) = answer.get("value") {
            let value = Value::from_serialize(value);
            let mut kept = self.values.lock().unwrap_or_else(|e| e.into_inner());
            if kept.once.contains(&text) {
                kept.values.insert(text, value.clone());
            } else {
                kept.once.insert(text);
            }
            return Some(value);
        }
        let Question::Data(keys) = question else {
            return None;
        };
        answer.get("folder").map(|_| {
            Value::from_object(Folder {
                keys,
                queries: self.queries.clone(),
                reads: self.reads.clone(),
                values: self.values.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site_data::DataTree;

    #[test]
    fn a_data_file_read_by_every_page_is_converted_once_and_noted_by_each() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        std::fs::write(
            dir.path().join("data/comments.json"),
            r#"{"a": {"count": 2}, "b": {"count": 5}}"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("data/site.json"), r#"{"motto": "hi"}"#).unwrap();
        let (tree, problems) = DataTree::load(dir.path());
        assert!(problems.is_empty(), "{problems:?}");
        let queries = Arc::new(SiteQueries::new(
            Arc::new(tree),
            Vec::new(),
            "https://example.org/".into(),
        ));
        let values = KeptValues::default();
        let mut env = minijinja::Environment::new();
        env.add_template("t", "{{ data.comments[key].count }}")
            .unwrap();
        env.add_template("once", "{{ data.site.motto }}").unwrap();
        let data = TemplateData::recording(queries.clone(), &values);
        let html = env
            .get_template("once")
            .unwrap()
            .render(minijinja::context! { data => data.value() })
            .unwrap();
        assert_eq!(html, "hi");
        for (key, count) in [("a", "2"), ("b", "5"), ("a", "2")] {
            let data = TemplateData::recording(queries.clone(), &values);
            let html = env
                .get_template("t")
                .unwrap()
                .render(minijinja::context! { data => data.value(), key })
                .unwrap();
            assert_eq!(html, count);
            assert_eq!(
                data.reads(),
                [r#"{"data":["comments"]}"#],
                "each page notes its read"
            );
        }
        // Kept: the file read by every page, not the one read once.
        let kept = values.lock().unwrap();
        assert_eq!(
            kept.values.keys().collect::<Vec<_>>(),
            [r#"{"data":["comments"]}"#]
        );
    }
}
