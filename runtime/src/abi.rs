//! ABI v1: the JSON documents that cross the sandbox boundary.
//!
//! These types are the contract: requests are serialized from them, results
//! are parsed into them ([`parse_result`]), and the JSON Schemas in
//! `docs/abi-v1/` are generated from them ([`request_schema`],
//! [`result_schema`]; a test checks the files are current and validates real
//! guest documents against them). Results come from an untrusted guest and
//! are parsed strictly: wrong types, unknown fields, missing fields,
//! inconsistent `ok` and oversized payloads are all [`Failure::AbiViolation`]
//! or [`Failure::OutputTooLarge`]. `docs/abi-v1.md` explains them.

use crate::failure::{Failure, GuestError, Output};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// The version every document carries in its `abi` field.
pub const ABI_VERSION: u32 = 1;

/// The `abi` field: always [`ABI_VERSION`], in both directions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AbiVersion;

impl Serialize for AbiVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u32(ABI_VERSION)
    }
}

impl<'de> Deserialize<'de> for AbiVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match u32::deserialize(deserializer)? {
            ABI_VERSION => Ok(AbiVersion),
            other => Err(serde::de::Error::custom(format!(
                "the document declares abi {other}, expected {ABI_VERSION}"
            ))),
        }
    }
}

impl JsonSchema for AbiVersion {
    fn schema_name() -> Cow<'static, str> {
        "AbiVersion".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "const": ABI_VERSION, "description": "The ABI version." })
    }
}

/// A boolean field that has one value in its document (`ok`, `unchanged`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Always<const VALUE: bool>;

impl<const VALUE: bool> Serialize for Always<VALUE> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bool(VALUE)
    }
}

impl<'de, const VALUE: bool> Deserialize<'de> for Always<VALUE> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if bool::deserialize(deserializer)? == VALUE {
            Ok(Always)
        } else {
            Err(serde::de::Error::custom(format!("expected `{VALUE}`")))
        }
    }
}

impl<const VALUE: bool> JsonSchema for Always<VALUE> {
    fn schema_name() -> Cow<'static, str> {
        if VALUE { "True" } else { "False" }.into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "const": VALUE })
    }
}

/// The script a request runs: its source travels with every request (or,
/// for a script the site snapshot holds, its key), so the guest never reads
/// a file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
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
    /// The key the site snapshot holds this script's compiled code under,
    /// sent instead of `source` and `code` (then empty and absent). Set by
    /// the runtime, only for an instance that starts from that snapshot;
    /// never read from a document.
    #[serde(default, skip_serializing_if = "Option::is_none", skip_deserializing)]
    pub preloaded: Option<String>,
}

/// One macro invocation as it appears in a page.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
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
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// The page's slug.
    pub slug: String,
    /// Its source, relative to the site (`content/posts/a.md`); what
    /// `ctx.resource` names a bundle's file against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
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
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// The site's title.
    pub title: String,
    /// The site's base URL.
    pub base_url: String,
}

/// A post as a transform sees it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Post {
    /// Path relative to the site.
    pub path: String,
    /// The front matter as a JSON object.
    pub front_matter: Map<String, Value>,
    /// The Markdown body.
    pub body: String,
}

/// A Markdown element a render hook is asked to render; `text` and `html`
/// are the element's content as the default rendering makes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Element {
    /// A link: `[text](url "title")`.
    Link {
        /// Its destination, as written.
        url: String,
        /// Its content, as HTML.
        text: String,
        /// Its title (empty when none).
        title: String,
    },
    /// An image: `![alt](src "title")`.
    Image {
        /// Its source, as written.
        src: String,
        /// Its alternative text.
        alt: String,
        /// Its title (empty when none).
        title: String,
        /// The page bundle's file it names, if any (as `ctx.page.resources`
        /// shows it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resource: Option<Value>,
    },
    /// A heading.
    Heading {
        /// 1 to 6.
        level: u8,
        /// Its content, as HTML.
        text: String,
        /// Its anchor id (unique in the page; the table of contents links it).
        id: String,
    },
    /// A fenced or indented code block.
    Codeblock {
        /// Its language (the info string's first word; empty when none).
        lang: String,
        /// The code, as written.
        text: String,
        /// The rest of the info string.
        attrs: String,
    },
    /// A table.
    Table {
        /// The table as the default rendering makes it.
        html: String,
    },
    /// A block quote.
    Blockquote {
        /// Its content, as HTML.
        html: String,
    },
}

impl Element {
    /// The element's type, as in its `type` field.
    pub fn kind(&self) -> &'static str {
        match self {
            Element::Link { .. } => "link",
            Element::Image { .. } => "image",
            Element::Heading { .. } => "heading",
            Element::Codeblock { .. } => "codeblock",
            Element::Table { .. } => "table",
            Element::Blockquote { .. } => "blockquote",
        }
    }
}

/// What a request asks of the guest.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
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
    /// Render one Markdown element (a render hook).
    Hook {
        /// The element.
        element: Element,
        /// The page, for scripts that declare `uses_page`; else `null`.
        page: Option<Page>,
        /// The site.
        site: Site,
    },
    /// Make pages and files from the site's data (a generator).
    Generator {
        /// The site.
        site: Site,
    },
    /// Compile the script and list its top-level functions, running nothing.
    Check,
}

/// A [`Request`] whose script is named by its key (see
/// [`Request::seed_document`]): the same fields in the same order.
#[derive(Serialize)]
struct SeedForm<'a> {
    abi: &'a AbiVersion,
    script: KeyedScript<'a>,
    #[serde(flatten)]
    operation: &'a Operation,
}

/// A [`Script`] as a snapshot holding it is sent it.
#[derive(Serialize)]
struct KeyedScript<'a> {
    slug: &'a str,
    entrypoint: &'a str,
    path: &'a str,
    source: &'a str,
    preloaded: &'a str,
}

/// A host-to-guest document.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
pub struct Request {
    /// The ABI version, always 1.
    pub abi: AbiVersion,
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
            abi: AbiVersion,
            script,
            operation,
        }
    }

    /// The request document as sent to the guest.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a request always serializes")
    }

    /// What a call's random numbers are seeded from: the document as an
    /// instance started from a site snapshot holding the script receives
    /// it (the script by its key, no source, no code). A script then draws
    /// the same numbers however its code reached the guest: with its
    /// source, compiled code attached, or compiled into the snapshot.
    pub(crate) fn seed_document<'a>(&self, sent: &'a str) -> Cow<'a, str> {
        if self.script.preloaded.is_some() && self.script.code.is_none() {
            return Cow::Borrowed(sent);
        }
        let key = crate::preload::script_key(&self.script);
        let form = SeedForm {
            abi: &self.abi,
            script: KeyedScript {
                slug: &self.script.slug,
                entrypoint: &self.script.entrypoint,
                path: &self.script.path,
                source: "",
                preloaded: &key,
            },
            operation: &self.operation,
        };
        Cow::Owned(serde_json::to_string(&form).expect("a request always serializes"))
    }

    /// The operation's name, as in the `kind` field.
    pub fn kind(&self) -> &'static str {
        match self.operation {
            Operation::Macro { .. } => "macro",
            Operation::Transform { .. } => "transform",
            Operation::Hook { .. } => "hook",
            Operation::Generator { .. } => "generator",
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
    /// A hook's HTML, or `None` for the default rendering.
    Hook(Option<String>),
    /// A generator's pages and files.
    Generated(Generated),
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

/// A macro's result on the wire.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MacroResult {
    /// The version.
    pub abi: AbiVersion,
    /// A success.
    pub ok: Always<true>,
    /// The HTML that replaces the call.
    pub html: String,
}

/// A hook's result on the wire.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HookResult {
    /// The version.
    pub abi: AbiVersion,
    /// A success.
    pub ok: Always<true>,
    /// The HTML that replaces the element, or `null` for its default
    /// rendering (the field is required either way).
    #[schemars(required, extend("type" = ["string", "null"]))]
    pub html: Option<String>,
}

/// A page a generator makes, rendered like a file of `content/`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GeneratedPage {
    /// Where it would sit under `content/`, e.g. `pages/books/dune.md`.
    pub path: String,
    /// Its front matter.
    pub front_matter: Map<String, Value>,
    /// Its Markdown body (macros included).
    pub body: String,
}

/// A file a generator makes, written to the output as it is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GeneratedFile {
    /// Its path in the output, e.g. `search.json`.
    pub output: String,
    /// Its text.
    pub content: String,
}

/// What a generator made.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Generated {
    /// Its pages.
    #[serde(default)]
    pub pages: Vec<GeneratedPage>,
    /// Its output files.
    #[serde(default)]
    pub files: Vec<GeneratedFile>,
}

/// A generator's result on the wire.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GeneratorResult {
    /// The version.
    pub abi: AbiVersion,
    /// A success.
    pub ok: Always<true>,
    /// Its pages.
    pub pages: Vec<GeneratedPage>,
    /// Its output files.
    pub files: Vec<GeneratedFile>,
}

/// A transform's result on the wire, when it rewrote the post.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PostResult {
    /// The version.
    pub abi: AbiVersion,
    /// A success.
    pub ok: Always<true>,
    /// The new post.
    pub post: Post,
}

/// A transform's result on the wire, when it left the post alone.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnchangedResult {
    /// The version.
    pub abi: AbiVersion,
    /// A success.
    pub ok: Always<true>,
    /// Always `true`.
    pub unchanged: Always<true>,
}

/// A check's result on the wire.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckResult {
    /// The version.
    pub abi: AbiVersion,
    /// A success.
    pub ok: Always<true>,
    /// The script's top-level functions, in source order.
    pub functions: Vec<String>,
    /// Whether the entrypoint is among them.
    pub has_entrypoint: bool,
    /// The compiled module (base64 of `marshal`), for later requests of
    /// the same source (see [`Script::code`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// A script failure on the wire, for any kind.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorResult {
    /// The version.
    pub abi: AbiVersion,
    /// A failure.
    pub ok: Always<false>,
    /// What went wrong.
    pub error: WireError,
}

/// The `error` of an [`ErrorResult`].
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WireError {
    /// The Python exception type (or `EntrypointMissing`, `SandboxDenied`).
    #[serde(rename = "type")]
    pub type_name: String,
    /// Its message.
    pub message: String,
    /// The innermost line of the script's own file.
    #[serde(default)]
    pub line: Option<u32>,
    /// The column, for a `SyntaxError`.
    #[serde(default)]
    pub column: Option<u32>,
    /// The script's frames and what they called, never the dispatcher's.
    pub traceback: String,
}

/// The kinds of request, as in the `kind` field.
pub const KINDS: [&str; 5] = ["macro", "transform", "hook", "generator", "check"];

fn settings() -> schemars::generate::SchemaSettings {
    schemars::generate::SchemaSettings::draft2020_12()
}

/// The JSON Schema every request document satisfies: requests as the
/// runtime writes them (a field it writes but never reads, such as
/// `Script::preloaded`, is in it).
pub fn request_schema() -> Value {
    settings()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<Request>()
        .to_value()
}

/// The JSON Schema a result of a request of `kind` satisfies, `None` for
/// a kind that does not exist.
pub fn result_schema(kind: &str) -> Option<Value> {
    let mut generator = settings().into_generator();
    let success = match kind {
        "macro" => vec![generator.subschema_for::<MacroResult>()],
        "transform" => vec![
            generator.subschema_for::<PostResult>(),
            generator.subschema_for::<UnchangedResult>(),
        ],
        "hook" => vec![generator.subschema_for::<HookResult>()],
        "generator" => vec![generator.subschema_for::<GeneratorResult>()],
        "check" => vec![generator.subschema_for::<CheckResult>()],
        _ => return None,
    };
    let failure = generator.subschema_for::<ErrorResult>();
    let mut root = json_schema!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": format!("ABI v1 {kind} result"),
        "oneOf": success.into_iter().chain([failure]).collect::<Vec<_>>(),
    });
    let defs: Map<String, Value> = generator.take_definitions(true);
    if !defs.is_empty() {
        root.insert("$defs".into(), Value::Object(defs));
    }
    Some(root.to_value())
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
    let value: Value = serde_json::from_str(document)
        .map_err(|e| violation(format!("the result is not a valid ABI v1 document: {e}")))?;
    // The version and `ok` first: they decide which shape the rest has.
    match value.get("abi") {
        Some(abi) if abi == ABI_VERSION => {}
        Some(other) => {
            return Err(violation(format!(
                "the result declares abi {other}, expected {ABI_VERSION}"
            )));
        }
        None => return Err(violation("the result has no `abi`")),
    }
    let ok = value
        .get("ok")
        .and_then(Value::as_bool)
        .ok_or_else(|| violation("the result needs a boolean `ok`"))?;
    fn shaped<T: serde::de::DeserializeOwned>(value: Value, what: &str) -> Result<T, Failure> {
        serde_json::from_value(value)
            .map_err(|e| violation(format!("not a valid {what} result: {e}")))
    }
    if !ok {
        let error = shaped::<ErrorResult>(value, &format!("failed {kind}"))?.error;
        return Ok(Err(GuestError {
            type_name: error.type_name,
            message: error.message,
            line: error.line,
            column: error.column,
            traceback: error.traceback,
        }));
    }
    let reply = match kind {
        "macro" => Reply::Html(shaped::<MacroResult>(value, kind)?.html),
        "transform" if value.get("unchanged").is_some() => {
            shaped::<UnchangedResult>(value, kind)?;
            Reply::Unchanged
        }
        "transform" => Reply::Post(shaped::<PostResult>(value, kind)?.post),
        // serde reads a missing `Option` as `None`: the contract wants it said.
        "hook" if value.get("html").is_none() => {
            return Err(violation("not a valid hook result: missing field `html`"));
        }
        "hook" => Reply::Hook(shaped::<HookResult>(value, kind)?.html),
        "generator" => {
            let made = shaped::<GeneratorResult>(value, kind)?;
            Reply::Generated(Generated {
                pages: made.pages,
                files: made.files,
            })
        }
        "check" => {
            let check = shaped::<CheckResult>(value, kind)?;
            Reply::Checked {
                functions: check.functions,
                has_entrypoint: check.has_entrypoint,
                code: check.code,
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
    fn hook_and_generator_results_are_parsed_strictly() {
        let default = parse("hook", r#"{"abi":1,"ok":true,"html":null}"#);
        assert_eq!(default, Ok(Ok(Reply::Hook(None))));
        let html = parse("hook", r#"{"abi":1,"ok":true,"html":"<a>x</a>"}"#);
        assert_eq!(html, Ok(Ok(Reply::Hook(Some("<a>x</a>".into())))));
        let made = parse(
            "generator",
            r#"{"abi":1,"ok":true,"pages":[{"path":"pages/a.md","front_matter":{"title":"A"},"body":"x"}],"files":[{"output":"a.json","content":"{}"}]}"#,
        );
        let Ok(Ok(Reply::Generated(made))) = made else {
            panic!("{made:?}")
        };
        assert_eq!((made.pages.len(), made.files.len()), (1, 1));
        for (kind, doc) in [
            ("hook", r#"{"abi":1,"ok":true}"#),
            ("hook", r#"{"abi":1,"ok":true,"html":3}"#),
            ("generator", r#"{"abi":1,"ok":true,"pages":[]}"#),
            (
                "generator",
                r#"{"abi":1,"ok":true,"pages":[{"path":"a.md","body":""}],"files":[]}"#,
            ),
            (
                "generator",
                r#"{"abi":1,"ok":true,"pages":[],"files":[{"output":"a","content":1}]}"#,
            ),
        ] {
            let failure = parse(kind, doc).expect_err(doc);
            assert!(matches!(failure, Failure::AbiViolation(_)), "{doc}");
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
    fn a_script_draws_the_same_seed_however_its_code_is_sent() {
        let script = Script {
            slug: "dice".into(),
            entrypoint: "render".into(),
            path: "scripts/dice.py".into(),
            source: "import random\ndef render(ctx): return str(random.random())\n".into(),
            code: None,
            preloaded: None,
        };
        let call = MacroCall {
            name: "dice".into(),
            body: Some("b".into()),
            ..Default::default()
        };
        let operation = Operation::Macro {
            call,
            page: None,
            site: Site::default(),
        };
        let plain = Request::new(script.clone(), operation.clone());
        let with_code = Request::new(
            Script {
                code: Some("Y29kZQ==".into()),
                ..script.clone()
            },
            operation.clone(),
        );
        let by_key = Request::new(
            Script {
                source: String::new(),
                preloaded: Some(crate::preload::script_key(&script)),
                ..script.clone()
            },
            operation.clone(),
        );
        let sent = by_key.to_json();
        let seeds: Vec<String> = [&plain, &with_code, &by_key]
            .iter()
            .map(|r| r.seed_document(&r.to_json()).into_owned())
            .collect();
        assert!(seeds.iter().all(|s| *s == sent), "{seeds:#?}");
        // Another source is another seed.
        let edited = Request::new(
            Script {
                source: "X = 2\n".into(),
                ..script
            },
            operation,
        );
        assert_ne!(edited.seed_document(&edited.to_json()), sent);
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
                preloaded: None,
            },
            Operation::Check,
        );
        let value: Value = serde_json::from_str(&request.to_json()).unwrap();
        assert_eq!(value["abi"], 1);
        assert_eq!(value["kind"], "check");
        assert_eq!(value["script"]["slug"], "badge");
    }
}
