//! The workbench's HTTP API, JSON in and out. Every request has passed
//! `access::guard` before it gets here.

use super::Workbench;
use super::access::Refused;
use super::script_files::{FileError, check_draft};
use super::trial::{self, Sample};
use super::trial_kinds;
use crate::scripts::ScriptKind;
use crate::scripts::templates::{self, CreateError};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

type Shared = State<Arc<Workbench>>;

/// An error as the page shows it: `{"error": "..."}` with its status.
fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, Json(json!({ "error": message.to_string() }))).into_response()
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        error(self.0, self.1)
    }
}

/// Refuse a request that `access` does not allow, before its body is read:
/// reads need a request addressed to this server; checks and runs the
/// workbench page's origin and token; writes also a server that allows
/// them.
pub async fn guard(
    State(wb): Shared,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::http::Method;
    let headers = request.headers();
    let path = request.uri().path();
    let allowed = if matches!(*request.method(), Method::GET | Method::HEAD) {
        wb.access.check_read(headers)
    } else if path == "/_blogmark/api/check" || path == "/_blogmark/api/run" {
        wb.access.check_run(headers)
    } else {
        wb.access.check_write(headers)
    };
    match allowed {
        Ok(()) => next.run(request).await,
        Err(refused) => refused.into_response(),
    }
}

impl IntoResponse for FileError {
    fn into_response(self) -> Response {
        let status = match &self {
            FileError::BadName(_) => StatusCode::BAD_REQUEST,
            FileError::Missing(_) => StatusCode::NOT_FOUND,
            FileError::Link(_) => StatusCode::FORBIDDEN,
            FileError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            FileError::NotText(_) | FileError::NotRegular(_) => StatusCode::UNPROCESSABLE_ENTITY,
            FileError::Io { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            FileError::Conflict { current, .. } => {
                return (
                    StatusCode::CONFLICT,
                    Json(json!({ "error": self.to_string(), "current": current })),
                )
                    .into_response();
            }
        };
        error(status, self)
    }
}

impl IntoResponse for CreateError {
    fn into_response(self) -> Response {
        let status = match &self {
            CreateError::BadName(_) => StatusCode::BAD_REQUEST,
            CreateError::Exists(_) => StatusCode::CONFLICT,
            CreateError::Io { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        };
        error(status, self)
    }
}

/// The answer of `work`, run off the server's thread (it reads files or
/// runs the sandbox).
async fn blocking<T: IntoResponse>(work: impl FnOnce() -> T + Send + 'static) -> Response {
    // The response is built on the blocking thread, so `T` need not be
    // `Send`.
    let answer = tokio::task::spawn_blocking(move || work().into_response()).await;
    answer.unwrap_or_else(|e| {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the request stopped: {e}"),
        )
    })
}

/// `GET /_blogmark/api/scripts`: the list.
pub async fn list(State(wb): Shared) -> Response {
    blocking(move || {
        let entries = super::overview::list(&wb.root, &wb.session(), &wb.checks);
        Json(json!({ "scripts": entries, "writable": wb.access.writable() }))
    })
    .await
}

/// `GET /_blogmark/api/pages`: the posts and pages a run may use.
pub async fn pages(State(wb): Shared) -> Response {
    blocking(move || {
        let mut paths: Vec<String> = crate::content::load(&wb.root)
            .pages
            .into_iter()
            .map(|p| p.path)
            .collect();
        paths.sort();
        Json(json!({ "pages": paths }))
    })
    .await
}

/// `GET /_blogmark/api/scripts/{slug}`: a script's text and version.
pub async fn open(State(wb): Shared, Path(slug): Path<String>) -> Response {
    blocking(move || wb.files.open(&slug).map(Json)).await
}

/// A save: the new text and the version it replaces.
#[derive(Deserialize)]
pub struct Save {
    text: String,
    version: Option<String>,
}

/// The version a write left on disk.
fn saved(version: String) -> Json<serde_json::Value> {
    Json(json!({ "version": version }))
}

/// `PUT /_blogmark/api/scripts/{slug}`: save (atomic; a file changed since
/// `version` is a conflict).
pub async fn save(State(wb): Shared, Path(slug): Path<String>, Json(save): Json<Save>) -> Response {
    blocking(move || {
        wb.files
            .save(&slug, &save.text, save.version.as_deref())
            .map(saved)
    })
    .await
}

/// A deletion, or an enable/disable: the version it applies to.
#[derive(Deserialize)]
pub struct Change {
    version: String,
    #[serde(default)]
    enabled: Option<bool>,
}

/// `DELETE /_blogmark/api/scripts/{slug}`.
pub async fn delete(
    State(wb): Shared,
    Path(slug): Path<String>,
    Json(change): Json<Change>,
) -> Response {
    blocking(move || {
        wb.files
            .delete(&slug, &change.version)
            .map(|()| Json(json!({ "deleted": true })))
    })
    .await
}

/// `POST /_blogmark/api/scripts/{slug}/enabled`: set `enabled:` in the
/// script's front matter.
pub async fn set_enabled(
    State(wb): Shared,
    Path(slug): Path<String>,
    Json(change): Json<Change>,
) -> Response {
    let Some(enabled) = change.enabled else {
        return error(StatusCode::BAD_REQUEST, "say `enabled`: true or false");
    };
    blocking(move || {
        let opened = match wb.files.open(&slug) {
            Ok(opened) => opened,
            Err(e) => return e.into_response(),
        };
        match crate::scripts::edit::set_enabled(&opened.text, enabled) {
            Some(text) => wb
                .files
                .save(&slug, &text, Some(&change.version))
                .map(saved)
                .into_response(),
            None => error(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("{}: no front matter in its docstring to edit", opened.path),
            ),
        }
    })
    .await
}

/// A new script: its name and kind.
#[derive(Deserialize)]
pub struct Create {
    name: String,
    kind: String,
}

/// `POST /_blogmark/api/scripts`: a new script from the template.
pub async fn create(State(wb): Shared, Json(new): Json<Create>) -> Response {
    let kind = match new.kind.as_str() {
        "macro" => ScriptKind::Macro,
        "transform" => ScriptKind::Transform,
        "hook" => ScriptKind::Hook,
        "generator" => ScriptKind::Generator,
        other => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("`{other}` is not a kind: macro, transform, hook or generator"),
            );
        }
    };
    blocking(move || {
        templates::create(&wb.root, &new.name, kind).map(|path| {
            (
                StatusCode::CREATED,
                Json(json!({ "slug": new.name, "path": path })),
            )
        })
    })
    .await
}

/// The editor's text, as the script `slug`.
#[derive(Deserialize)]
pub struct Draft {
    slug: String,
    text: String,
    #[serde(default)]
    sample: Sample,
    /// For a transform: the post to run it on.
    #[serde(default)]
    post: Option<String>,
    /// For a hook: the Markdown to render with it.
    #[serde(default)]
    markdown: Option<String>,
    /// For a generator: run it.
    #[serde(default)]
    generate: bool,
}

/// `POST /_blogmark/api/check`: check the editor's text in the sandbox.
pub async fn check(State(wb): Shared, Json(draft): Json<Draft>) -> Response {
    if let Err(e) = check_draft(&draft.slug, &draft.text) {
        return e.into_response();
    }
    blocking(move || Json(trial::check(&wb.session(), &draft.slug, &draft.text))).await
}

/// `POST /_blogmark/api/run`: run the editor's text once: a macro on the
/// sample, a transform on the post, a hook on Markdown, a generator.
pub async fn run(State(wb): Shared, Json(draft): Json<Draft>) -> Response {
    if let Err(e) = check_draft(&draft.slug, &draft.text) {
        return e.into_response();
    }
    blocking(move || {
        let session = wb.session();
        let (root, slug, text) = (&wb.root, &draft.slug, &draft.text);
        Json(match (&draft.post, &draft.markdown) {
            (Some(post), _) => trial::run_transform(&session, root, slug, text, post),
            (_, Some(sample)) => trial_kinds::run_hook(&session, root, slug, text, sample),
            _ if draft.generate => trial_kinds::run_generator(&session, root, slug, text),
            _ => trial::run_macro(&session, root, slug, text, &draft.sample),
        })
    })
    .await
}
