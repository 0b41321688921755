//! `data` in templates: the site's `data/` folder, read lazily, each read
//! noted as a question so that a page is rendered again exactly when a data
//! file its template read changed.

use crate::site_queries::{Question, SiteQueries};
use minijinja::value::{Enumerator, Object, Value};
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

    /// The questions the template asked.
    pub(super) fn reads(&self) -> Vec<String> {
        self.reads.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
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
