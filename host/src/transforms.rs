//! Transforms: Python scripts that rewrite a post before its macros are
//! expanded. In a render they change the post in memory only; `host
//! run-script --write` writes what they return back to the file.
//!
//! Each transform sees the post as the transforms before it left it. One
//! that fails, returns something that cannot be written, or leaves the post
//! without what a post needs (a title, a readable date, ...) changes
//! nothing: its diagnostic says why and the next transform goes on.

use crate::content::{Kind, Page, front_matter, page, rewrite};
use crate::diagnostics::Diagnostic;
use crate::python::{Post, Session, failure_reason};
use crate::scripts::Script;

/// What the transforms made of one file.
#[derive(Debug)]
pub struct Applied {
    /// The file's text after every transform that succeeded.
    pub text: String,
    /// The post parsed from `text`, when a transform changed it.
    pub page: Option<Page>,
    /// The names of the transforms that changed something, in order.
    pub changed_by: Vec<String>,
    /// One per transform that failed.
    pub diagnostics: Vec<Diagnostic>,
}

impl Applied {
    /// Whether any transform failed on this post.
    pub fn failed(&self) -> bool {
        !self.diagnostics.is_empty()
    }
}

/// The file at `path` (relative to the site) whose contents are `text`,
/// as a transform sees it.
pub fn post_of(path: &str, text: &str) -> Result<Post, Diagnostic> {
    front_matter::split(path, text).map(|split| Post {
        path: path.to_owned(),
        front_matter: split.fields,
        body: split.body.to_owned(),
    })
}

/// Run `scripts`, in the order given, over the file at `path` (relative to
/// the site) whose contents are `text`.
pub fn apply(python: &Session, scripts: &[Script], kind: Kind, path: &str, text: &str) -> Applied {
    let mut applied = Applied {
        text: text.to_owned(),
        page: None,
        changed_by: Vec::new(),
        diagnostics: Vec::new(),
    };
    for script in scripts {
        let post = match post_of(path, &applied.text) {
            Ok(post) => post,
            Err(diagnostic) => {
                applied.diagnostics.push(diagnostic);
                break;
            }
        };
        let failed = |message: String| {
            Diagnostic::warning(
                path,
                1,
                1,
                format!(
                    "transform `{}` {message}; the post is left as it was",
                    script.name
                ),
            )
        };
        let new = match python.transform(script, post) {
            Ok(Some(new)) => new,
            Ok(None) => continue,
            Err(failure) => {
                applied
                    .diagnostics
                    .push(failed(failure_reason(script, &failure)));
                continue;
            }
        };
        let written = rewrite::rewrite(path, &applied.text, &new.front_matter, &new.body)
            .and_then(|text| page::parse(kind, path, text.as_bytes()).map(|page| (text, page)));
        match written {
            Ok((text, _)) if text == applied.text => {}
            Ok((text, page)) => {
                applied.text = text;
                applied.page = Some(page);
                applied.changed_by.push(script.name.clone());
            }
            Err(d) => applied.diagnostics.push(failed(format!(
                "({}) returned a post that cannot be used: {}",
                script.path, d.message
            ))),
        }
    }
    applied
}
