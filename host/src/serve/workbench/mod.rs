//! The scripts workbench at `/_blogmark/scripts`, served by `host serve`
//! only: the site's scripts listed with their status and numbers, an
//! editor that checks as you type through the sandbox, save with conflict
//! detection, and runs of a macro or a transform on the text being edited.
//! Its page and assets are compiled into the binary.

mod access;
mod api;
mod assets;
mod overview;
mod script_files;
mod trial;
mod trial_kinds;

pub use access::{Access, Refused, TOKEN_HEADER};

use crate::python::{Session, Settings, SharedSandbox};
use axum::routing::{get, post};
use script_files::ScriptFiles;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The workbench page's path.
pub const PAGE_PATH: &str = "/_blogmark/scripts";

/// The largest request body: a script at its cap, escaped as JSON (each
/// byte may take six), and the fields around it.
const MAX_BODY: usize = 6 * crate::input::MAX_SCRIPT_BYTES as usize + 64 * 1024;

/// The workbench of one server.
pub struct Workbench {
    root: PathBuf,
    access: Access,
    files: ScriptFiles,
    checks: overview::Checks,
    /// Runs and checks share one sandbox (not the renders': that one runs
    /// queued on workers, these inline).
    sandbox: Arc<SharedSandbox>,
}

impl Workbench {
    /// The workbench of the site at `root`, under `access`'s rules.
    pub fn new(root: &Path, access: Access) -> Workbench {
        Workbench {
            root: root.to_path_buf(),
            access,
            files: ScriptFiles::new(root),
            checks: overview::Checks::default(),
            sandbox: Arc::default(),
        }
    }

    /// A session for one request: no results kept from earlier ones (each
    /// run shows its own output and time), under the site's current limits.
    fn session(&self) -> Session {
        Session::for_command(Settings::for_command(&self.root)).sharing(self.sandbox.clone())
    }
}

/// The workbench's routes.
pub fn routes<S>(workbench: Arc<Workbench>) -> axum::Router<S> {
    axum::Router::new()
        .route(PAGE_PATH, get(assets::page))
        .route("/_blogmark/assets/{name}", get(assets::asset))
        .route("/_blogmark/api/scripts", get(api::list).post(api::create))
        .route(
            "/_blogmark/api/scripts/{slug}",
            get(api::open).put(api::save).delete(api::delete),
        )
        .route(
            "/_blogmark/api/scripts/{slug}/enabled",
            post(api::set_enabled),
        )
        .route("/_blogmark/api/pages", get(api::pages))
        .route("/_blogmark/api/check", post(api::check))
        .route("/_blogmark/api/run", post(api::run))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        // The page too: read under a rebound name, it would hand its token
        // to that site.
        .route_layer(axum::middleware::from_fn_with_state(
            workbench.clone(),
            api::guard,
        ))
        .with_state(workbench)
}
