//! ABI v1: the JSON documents that cross the sandbox boundary.
//!
//! Requests are built by the host and serialized here; results come from an
//! untrusted guest and are validated strictly ([`parse_result`]): wrong
//! types, unknown fields, missing fields, inconsistent `ok` and oversized
//! payloads are all [`Failure::AbiViolation`] or [`Failure::OutputTooLarge`].
//! `docs/abi-v1.md` is the reference.

use crate::failure::{Failure, GuestError, Output};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The version every document carries in its `abi` field.
pub const ABI_VERSION: u32 = 1;

/// The script a request runs: its source travels with every request, so the
/// guest never reads a file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    /// The script's slug (`scripts/<slug>.py`).
    pub slug: String,
    /// The function to call.
    pub entrypoint: String,
    /// The file name tracebacks show, e.g. `scripts/badge.py`.
    pub path: String,
    /// The Python source.
    pub source: String,
    /// The compiled module (base64 of `marshal`), as a `check` of this same
    /// source returned it. Set by the runtime, never by callers' guesses: a
    /// guest given a wrong one recompiles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// One macro invocation as it appears in a page.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MacroCall {
    /// The macro's name as written (without a `py:` prefix).
    pub name: String,
    /// Named arguments.
    pub args: Map<String, Value>,
    /// Positional arguments.
    pub positional: Vec<Value>,
    /// The raw body of a paired macro.
    pub body: Option<String>,
}

/// Page metadata, passed only to scripts that declare `uses_page`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// The page's slug.
    pub slug: String,
    /// The page's title.
    pub title: String,
    /// Its date, ISO 8601, if it has one.
    pub date: Option<String>,
    /// Its tags.
    pub tags: Vec<String>,
    /// The free `extra` table of its front matter.
    pub extra: Map<String, Value>,
    /// The files beside it, for a page that is a bundle (absent otherwise,
    /// so a request without them reads as before).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Value>,
}

/// Site metadata every request carries.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// The site's title.
    pub title: String,
    /// The site's base URL.
    pub base_url: String,
}

/// A post as a transform sees it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Post {
    /// Path relative to the site.
    pub path: String,
    /// The front matter as a JSON object.
    pub front_matter: Map<String, Value>,
    /// The Markdown body.
    pub body: String,
}

/// What a request asks of the guest.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Operation {
    /// Expand one macro call into HTML.
    Macro {
        /// The call.
        call: MacroCall,
        /// The page, for scripts that declare `uses_page`; else `null`.
        page: Option<Page>,
        /// The site.
        site: Site,
    },
    /// Rewrite one post.
    Transform {
        /// The post.
        post: Post,
        /// The site.
        site: Site,
    },
    /// Compile the script and list its top-level functions, running nothing.
    Check,
}

/// A host-to-guest document.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Request {
    /// Always [`ABI_VERSION`].
    pub abi: u32,
    /// The script to run.
    pub script: Script,
    /// What to do with it.
    #[serde(flatten)]
    pub operation: Operation,
}

impl Request {
    /// A request of the current ABI version.
    pub fn new(script: Script, operation: Operation) -> Self {
        Request {
            abi: ABI_VERSION,
            script,
            operation,
        }
    }

    /// The request document as sent to the guest.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a request always serializes")
    }

    /// The operation's name, as in the `kind` field.
    pub fn kind(&self) -> &'static str {
        match self.operation {
            Operation::Macro { .. } => "macro",
            Operation::Transform { .. } => "transform",
            Operation::Check => "check",
        }
    }
}

/// A validated, successful guest answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    /// A macro's HTML.
    Html(String),
    /// A transform's new post.
    Post(Post),
    /// A transform that left the post alone.
    Unchanged,
    /// A check's findings.
    Checked {
        /// The script's top-level functions, in source order.
        functions: Vec<String>,
        /// Whether the entrypoint is among them.
        has_entrypoint: bool,
        /// The compiled module, for later requests of the same source.
        code: Option<String>,
    },
}

/// The guest's result document, as it must look on the wire.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireResult {
    abi: u32,
    ok: bool,
    html: Option<String>,
    post: Option<Post>,
    unchanged: Option<bool>,
    functions: Option<Vec<String>>,
    has_entrypoint: Option<bool>,
    code: Option<String>,
    error: Option<WireError>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireError {
    #[serde(rename = "type")]
    type_name: String,
    message: String,
    line: Option<u32>,
    column: Option<u32>,
    traceback: String,
}

fn violation(msg: impl Into<String>) -> Failure {
    Failure::AbiViolation(msg.into())
}

/// Validate a guest's result document for a request of kind `kind`.
///
/// `Ok(Ok(reply))` is a success, `Ok(Err(guest_error))` a script failure the
/// guest reported properly, `Err(_)` a broken contract.
pub fn parse_result(
    kind: &str,
    document: &str,
    output_limit: usize,
) -> Result<Result<Reply, GuestError>, Failure> {
    if document.len() > output_limit {
        return Err(Failure::OutputTooLarge {
            what: Output::Result,
            limit_bytes: output_limit,
        });
    }
    let wire: WireResult = serde_json::from_str(document)
        .map_err(|e| violation(format!("the result is not a valid ABI v1 document: {e}")))?;
    if wire.abi != ABI_VERSION {
        return Err(violation(format!(
            "the result declares abi {}, expected {ABI_VERSION}",
            wire.abi
        )));
    }
    let payload = [
        ("html", wire.html.is_some()),
        ("post", wire.post.is_some()),
        ("unchanged", wire.unchanged.is_some()),
        ("functions", wire.functions.is_some()),
        ("has_entrypoint", wire.has_entrypoint.is_some()),
        ("code", wire.code.is_some()),
    ];
    let present = |allowed: &[&str]| -> Result<(), Failure> {
        for (name, is_present) in payload {
            if is_present && !allowed.contains(&name) {
                return Err(violation(format!(
                    "field `{name}` does not belong in a {kind} result with ok={}",
                    wire.ok
                )));
            }
        }
        Ok(())
    };
    if !wire.ok {
        present(&[])?;
        let error = wire
            .error
            .ok_or_else(|| violation("a result with ok=false needs an `error`"))?;
        return Ok(Err(GuestError {
            type_name: error.type_name,
            message: error.message,
            line: error.line,
            column: error.column,
            traceback: error.traceback,
        }));
    }
    if wire.error.is_some() {
        return Err(violation("a result with ok=true has no `error`"));
    }
    let reply = match kind {
        "macro" => {
            present(&["html"])?;
            Reply::Html(
                wire.html
                    .ok_or_else(|| violation("a macro result needs `html`"))?,
            )
        }
        "transform" => {
            present(&["post", "unchanged"])?;
            match (wire.post, wire.unchanged) {
                (Some(post), None) => Reply::Post(post),
                (None, Some(true)) => Reply::Unchanged,
                _ => {
                    return Err(violation(
                        "a transform result needs exactly one of `post` or `unchanged: true`",
                    ));
                }
            }
        }
        "check" => {
            present(&["functions", "has_entrypoint", "code"])?;
            match (wire.functions, wire.has_entrypoint) {
                (Some(functions), Some(has_entrypoint)) => Reply::Checked {
                    functions,
                    has_entrypoint,
                    code: wire.code,
                },
                _ => {
                    return Err(violation(
                        "a check result needs `functions` and `has_entrypoint`",
                    ));
                }
            }
        }
        other => return Err(violation(format!("unknown request kind `{other}`"))),
    };
    Ok(Ok(reply))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(kind: &str, doc: &str) -> Result<Result<Reply, GuestError>, Failure> {
        parse_result(kind, doc, 1 << 20)
    }

    #[test]
    fn a_macro_result_is_accepted() {
        let reply = parse("macro", r#"{"abi":1,"ok":true,"html":"<b>x</b>"}"#);
        assert_eq!(reply, Ok(Ok(Reply::Html("<b>x</b>".into()))));
    }

    #[test]
    fn a_guest_error_is_reported_as_such() {
        let doc = r#"{"abi":1,"ok":false,"error":{"type":"ValueError","message":"m","line":7,"traceback":"tb"}}"#;
        let error = parse("macro", doc).unwrap().unwrap_err();
        assert_eq!(error.type_name, "ValueError");
        assert_eq!(error.line, Some(7));
    }

    #[test]
    fn broken_documents_are_abi_violations() {
        let cases = [
            r#"[1,2]"#,
            r#"{"abi":1,"ok":true}"#,
            r#"{"abi":2,"ok":true,"html":""}"#,
            r#"{"abi":1,"ok":true,"html":5}"#,
            r#"{"abi":1,"ok":true,"html":"","extra":1}"#,
            r#"{"abi":1,"ok":true,"html":"","post":{"path":"a","front_matter":{},"body":""}}"#,
            r#"{"abi":1,"ok":false}"#,
            r#"{"abi":1,"ok":true,"html":"\ud800"}"#,
            "not json",
        ];
        for doc in cases {
            let failure = parse("macro", doc).expect_err(doc);
            assert!(
                matches!(failure, Failure::AbiViolation(_)),
                "{doc}: {failure:?}"
            );
        }
    }

    #[test]
    fn oversized_results_are_rejected_before_parsing() {
        let doc = format!(r#"{{"abi":1,"ok":true,"html":"{}"}}"#, "x".repeat(100));
        let failure = parse_result("macro", &doc, 50).unwrap_err();
        assert_eq!(failure.class(), crate::FailureClass::OutputTooLarge);
    }

    #[test]
    fn a_transform_needs_exactly_one_outcome() {
        let unchanged = parse("transform", r#"{"abi":1,"ok":true,"unchanged":true}"#);
        assert_eq!(unchanged, Ok(Ok(Reply::Unchanged)));
        let neither = parse("transform", r#"{"abi":1,"ok":true,"unchanged":false}"#);
        assert!(matches!(neither, Err(Failure::AbiViolation(_))));
    }

    #[test]
    fn requests_serialize_to_the_documented_shape() {
        let request = Request::new(
            Script {
                slug: "badge".into(),
                entrypoint: "render".into(),
                path: "scripts/badge.py".into(),
                source: "def render(ctx): return ''".into(),
                code: None,
            },
            Operation::Check,
        );
        let value: Value = serde_json::from_str(&request.to_json()).unwrap();
        assert_eq!(value["abi"], 1);
        assert_eq!(value["kind"], "check");
        assert_eq!(value["script"]["slug"], "badge");
    }
}
