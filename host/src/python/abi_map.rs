//! The site's types as ABI v1 documents.

use crate::content::Page;
use crate::scripts::Script;
use blogmark_runtime::CallSite;
use blogmark_runtime::abi;
use serde_json::{Map, Value};
use std::path::Path;

/// One macro call as the sandbox sees it: what is in the request, and
/// where the call sits (handed to the guest only if it asks).
#[derive(Clone, Debug, Default)]
pub struct MacroCall {
    /// The macro's name, without namespace.
    pub name: String,
    /// Named arguments.
    pub args: Map<String, Value>,
    /// Positional arguments.
    pub positional: Vec<Value>,
    /// The raw body of a paired macro.
    pub body: Option<String>,
    /// The file the call is in, relative to the site (or a description
    /// such as `<command line>`).
    pub file: String,
    /// Its line, 1-based.
    pub line: usize,
    /// Its column, in characters, 1-based.
    pub column: usize,
}

impl MacroCall {
    pub(super) fn to_abi(&self) -> abi::MacroCall {
        abi::MacroCall {
            name: self.name.clone(),
            args: self.args.clone(),
            positional: self.positional.clone(),
            body: self.body.clone(),
        }
    }

    pub(super) fn call_site(&self) -> CallSite {
        CallSite {
            file: self.file.clone(),
            line: u32::try_from(self.line).unwrap_or(u32::MAX),
            column: u32::try_from(self.column).unwrap_or(u32::MAX),
        }
    }
}

/// `script` as the request names it.
pub(super) fn script(script: &Script) -> abi::Script {
    abi::Script {
        slug: script.slug.clone(),
        entrypoint: script.entrypoint.clone(),
        path: script.path.clone(),
        source: script.source.clone(),
        code: None,
        preloaded: None,
    }
}

/// A page's metadata as `ctx.page` shows it; a bundle's files are read
/// from the site at `root` (their hashes key the call's result).
pub(super) fn page(page: &Page, root: &Path) -> abi::Page {
    abi::Page {
        slug: page.slug.clone(),
        path: Some(page.path.clone()),
        title: page.title.clone(),
        date: page.date.map(|d| d.to_rfc3339()),
        tags: page.tags.clone(),
        extra: page.extra.clone(),
        resources: page
            .resources
            .iter()
            .filter_map(|r| r.info(root))
            .filter_map(|info| serde_json::to_value(info).ok())
            .collect(),
    }
}

/// An argument typed on a command line or in the workbench, as a macro
/// sees it: `true`/`false`, an integer, a number, else the text.
pub fn typed_argument(value: &str) -> Value {
    match value {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => value
            .parse::<i64>()
            .map(Into::into)
            .or_else(|_| value.parse::<f64>().map(Into::into))
            .unwrap_or_else(|_| value.into()),
    }
}
