//! The workbench's HTTP API, JSON in and out. Every request has passed
//! `access::guard` before it gets here.

use super::Workbench;
use super::access::Refused;
use super::script_files::FileError;
use super::trial::{self, Sample};
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

fn file_error(e: FileError) -> Response {
    let status = match &e {
        FileError::BadName(_) => StatusCode::BAD_REQUEST,
        FileError::Missing(_) => StatusCode::NOT_FOUND,
        FileError::Link(_) => StatusCode::FORBIDDEN,
        FileError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        FileError::NotText(_) => StatusCode::UNPROCESSABLE_ENTITY,
        FileError::Io { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        FileError::Conflict { current, .. } => {
            return (
                StatusCode::CONFLICT,
                Json(json!({ "error": e.to_string(), "current": current })),
            )
                .into_response();
        }
    };
    error(status, e)
}

/// Run `work` off the server's thread (it reads files or runs the sandbox).
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Response> {
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the request stopped: {e}"),
        )
    })
}

/// `GET /_blogmark/api/scripts`: the list.
pub async fn list(State(wb): Shared) -> Response {
    match blocking(move || {
        let session = wb.session();
        let entries = super::overview::list(&wb.root, &session, &wb.checks);
        (entries, wb.access.writable())
    })
    .await
    {
        Ok((entries, writable)) => {
            Json(json!({ "scripts": entries, "writable": writable })).into_response()
        }
        Err(response) => response,
    }
}

/// `GET /_blogmark/api/pages`: the posts and pages a run may use.
pub async fn pages(State(wb): Shared) -> Response {
    match blocking(move || {
        let mut paths: Vec<String> = crate::content::load(&wb.root)
            .pages
            .into_iter()
            .map(|p| p.path)
            .collect();
        paths.sort();
        paths
    })
    .await
    {
        Ok(paths) => Json(json!({ "pages": paths })).into_response(),
        Err(response) => response,
    }
}

/// `GET /_blogmark/api/scripts/{slug}`: a script's text and version.
pub async fn open(State(wb): Shared, Path(slug): Path<String>) -> Response {
    match blocking(move || wb.files.open(&slug)).await {
        Ok(Ok(opened)) => Json(opened).into_response(),
        Ok(Err(e)) => file_error(e),
        Err(response) => response,
    }
}

/// A save: the new text and the version it replaces.
#[derive(Deserialize)]
pub struct Save {
    text: String,
    version: Option<String>,
}

/// `PUT /_blogmark/api/scripts/{slug}`: save (atomic; a file changed since
/// `version` is a conflict).
pub async fn save(State(wb): Shared, Path(slug): Path<String>, Json(save): Json<Save>) -> Response {
    match blocking(move || wb.files.save(&slug, &save.text, save.version.as_deref())).await {
        Ok(Ok(version)) => Json(json!({ "version": version })).into_response(),
        Ok(Err(e)) => file_error(e),
        Err(response) => response,
    }
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
    match blocking(move || wb.files.delete(&slug, &change.version)).await {
        Ok(Ok(())) => Json(json!({ "deleted": true })).into_response(),
        Ok(Err(e)) => file_error(e),
        Err(response) => response,
    }
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
    let result = blocking(move || {
        let opened = wb.files.open(&slug)?;
        let Some(text) = crate::scripts::edit::set_enabled(&opened.text, enabled) else {
            return Ok(Err(format!(
                "{}: no front matter in its docstring to edit",
                opened.path
            )));
        };
        wb.files.save(&slug, &text, Some(&change.version)).map(Ok)
    })
    .await;
    match result {
        Ok(Ok(Ok(version))) => Json(json!({ "version": version })).into_response(),
        Ok(Ok(Err(message))) => error(StatusCode::UNPROCESSABLE_ENTITY, message),
        Ok(Err(e)) => file_error(e),
        Err(response) => response,
    }
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
        other => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("`{other}` is not a kind: macro or transform"),
            );
        }
    };
    match blocking(move || {
        templates::create(&wb.root, &new.name, kind).map(|path| (new.name, path))
    })
    .await
    {
        Ok(Ok((slug, path))) => (
            StatusCode::CREATED,
            Json(json!({ "slug": slug, "path": path })),
        )
            .into_response(),
        Ok(Err(e @ CreateError::BadName(_))) => error(StatusCode::BAD_REQUEST, e),
        Ok(Err(e @ CreateError::Exists(_))) => error(StatusCode::CONFLICT, e),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
        Err(response) => response,
    }
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
}

fn draft_problem(draft: &Draft) -> Option<Response> {
    if let Some(problem) = templates::name_problem(&draft.slug) {
        return Some(error(StatusCode::BAD_REQUEST, problem));
    }
    (draft.text.len() as u64 > crate::input::MAX_SCRIPT_BYTES)
        .then(|| file_error(FileError::TooLarge(draft.text.len())))
}

/// `POST /_blogmark/api/check`: check the editor's text in the sandbox.
pub async fn check(State(wb): Shared, Json(draft): Json<Draft>) -> Response {
    if let Some(problem) = draft_problem(&draft) {
        return problem;
    }
    match blocking(move || trial::check(&wb.session(), &draft.slug, &draft.text)).await {
        Ok(result) => Json(result).into_response(),
        Err(response) => response,
    }
}

/// `POST /_blogmark/api/run`: run the editor's text once: a macro on the
/// sample, a transform on the post.
pub async fn run(State(wb): Shared, Json(draft): Json<Draft>) -> Response {
    if let Some(problem) = draft_problem(&draft) {
        return problem;
    }
    let result = blocking(move || {
        let session = wb.session();
        match &draft.post {
            Some(post) => trial::run_transform(&session, &wb.root, &draft.slug, &draft.text, post),
            None => trial::run_macro(&session, &wb.root, &draft.slug, &draft.text, &draft.sample),
        }
    })
    .await;
    match result {
        Ok(result) => Json(result).into_response(),
        Err(response) => response,
    }
}
