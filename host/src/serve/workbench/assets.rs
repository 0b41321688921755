//! The workbench's page, script and style sheet, compiled into the binary
//! (no Node, nothing fetched).

use super::Workbench;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use std::sync::Arc;

const PAGE: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/app.css");

/// `GET /_blogmark/scripts`: the page, carrying this server's token.
pub async fn page(State(wb): State<Arc<Workbench>>) -> Response {
    let page = PAGE.replace("{{token}}", wb.access.token()).replace(
        "{{writable}}",
        if wb.access.writable() {
            "true"
        } else {
            "false"
        },
    );
    ([(header::CACHE_CONTROL, "no-store")], Html(page)).into_response()
}

/// `GET /_blogmark/assets/{name}`: the script and the style sheet.
pub async fn asset(Path(name): Path<String>) -> Response {
    let (media_type, body) = match name.as_str() {
        "app.js" => ("text/javascript; charset=utf-8", SCRIPT),
        "app.css" => ("text/css; charset=utf-8", STYLE),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    ([(header::CONTENT_TYPE, media_type)], body).into_response()
}
