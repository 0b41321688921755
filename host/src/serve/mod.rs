//! `host serve`: the site rendered into `.blogmark/serve/`, served over
//! HTTP, rendered again when its sources change, and every open page told
//! to reload (server-sent events), with the render's problems shown over
//! the page until they are fixed.

mod files;
mod idle;
mod reload;
mod watch;
pub mod workbench;

pub use reload::{EVENTS_PATH, inject};

use crate::diagnostics::Diagnostic;
use crate::render::{BuildOptions, BuildReport, OnWritten, PageCache, build};
use axum::body::Body;
use axum::http::{StatusCode, Uri, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use tokio::sync::broadcast;
use tokio_stream::StreamExt as _;

/// What `host serve` was asked for.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The site's folder.
    pub root: PathBuf,
    /// Where to listen; port 0 picks a free one.
    pub addr: SocketAddr,
    /// Include drafts.
    pub drafts: bool,
    /// Include pages dated in the future.
    pub future: bool,
    /// Render threads.
    pub jobs: Option<usize>,
    /// Let the workbench change scripts even when `addr` is beyond
    /// loopback.
    pub allow_remote_edits: bool,
    /// Names the server answers to besides loopback names and IP addresses.
    pub allowed_hosts: Vec<String>,
}

/// What the server tells open pages.
#[derive(Clone, Debug)]
enum Notice {
    /// A render finished with these problems (JSON): show them.
    Problems(Arc<String>),
    /// A render finished and changed these files (JSON `{"changed":
    /// [...]}`): a page among them reloads.
    Reload(Arc<String>),
    /// The server is stopping: close the stream.
    Stop,
}

struct State {
    out: PathBuf,
    /// The last render's pages, reused by the next where nothing they
    /// depend on changed.
    pages: Arc<PageCache>,
    /// The last render's content, reused while the watcher reports no
    /// change to it.
    content: Arc<crate::content::KeptContent>,
    /// The last render's data, of which a render reads again only the
    /// files the watcher reports changed.
    data: Arc<crate::site_data::KeptData>,
    /// The last render's generated pages, reused where made again alike.
    generated: Arc<crate::render::KeptGenerated>,
    /// The renders' sandbox, started once.
    sandbox: Arc<crate::python::SharedSandbox>,
    /// The last render's problems, as the JSON pages are served with.
    problems: RwLock<Arc<String>>,
    notices: broadcast::Sender<Notice>,
}

/// The folder `host serve` renders the site at `root` into.
pub fn serve_dir(root: &Path) -> PathBuf {
    root.join(".blogmark/serve")
}

/// Serve the site until Ctrl-C (or `stop` resolves); `listening` is told
/// the address once the first render is done and the server accepts.
pub fn serve(
    options: &ServeOptions,
    listening: impl FnOnce(SocketAddr),
    stop: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(options.clone(), listening, stop))
}

async fn run(
    options: ServeOptions,
    listening: impl FnOnce(SocketAddr),
    stop: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(options.addr)
        .await
        .map_err(|e| {
            let hint = if e.kind() == std::io::ErrorKind::AddrInUse {
                "; another server uses it: pass --port N, or --port 0 for any free port"
            } else {
                ""
            };
            anyhow::anyhow!("cannot listen on {}: {e}{hint}", options.addr)
        })?;
    let addr = listener.local_addr()?;
    let base_url = format!("http://{addr}/");
    let (notices, _) = broadcast::channel(16);
    let state = Arc::new(State {
        out: serve_dir(&options.root),
        pages: Arc::default(),
        content: Arc::default(),
        data: Arc::default(),
        generated: Arc::default(),
        sandbox: Arc::default(),
        problems: RwLock::new(Arc::new("[]".into())),
        notices,
    });
    render(&options, &base_url, &state).await;
    let (_watcher, changes) = watch::watch(&options.root)?;
    let rebuilds = tokio::spawn(rebuild_on_change(
        options.clone(),
        base_url,
        state.clone(),
        changes,
    ));
    let access = workbench::Access::new(addr, options.allow_remote_edits)
        .map_err(|e| anyhow::anyhow!("cannot make the workbench's token: {e}"))?
        .with_allowed_hosts(&options.allowed_hosts);
    let workbench = Arc::new(workbench::Workbench::new(&options.root, access.clone()));
    let app = axum::Router::new()
        .route(EVENTS_PATH, axum::routing::get(events))
        .fallback(file)
        .with_state(state.clone())
        .merge(workbench::routes(workbench))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(access),
            only_own_hosts,
        ));
    listening(addr);
    let stopping = state.clone();
    axum::serve(idle::IdleListener::new(listener, idle_timeout()), app)
        .with_graceful_shutdown(async move {
            stop.await;
            // Open pages hold their event streams: end them, or the
            // server would wait on them forever.
            let _ = stopping.notices.send(Notice::Stop);
        })
        .await?;
    rebuilds.abort();
    Ok(())
}

/// [`idle::IDLE`], or `$BLOGMARK_SERVE_IDLE_SECS` (for tests that cannot
/// wait a minute).
fn idle_timeout() -> std::time::Duration {
    std::env::var("BLOGMARK_SERVE_IDLE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(idle::IDLE, std::time::Duration::from_secs)
}

/// Refuse, before any route, a request whose `Host` is not this server's:
/// drafts, problems and the event stream are the author's alone.
async fn only_own_hosts(
    axum::extract::State(access): axum::extract::State<Arc<workbench::Access>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::response::IntoResponse as _;
    match access.refuse_foreign_host(request.headers()) {
        Some(workbench::Refused(status, message)) => (status, message).into_response(),
        None => next.run(request).await,
    }
}

/// Render the site into the serve folder, keep its problems and tell the
/// open pages: its problems, then which files changed, as soon as the
/// output is written (the database is brought up to date after).
async fn render(options: &ServeOptions, base_url: &str, state: &Arc<State>) {
    let notified = Arc::new(AtomicBool::new(false));
    let on_written = {
        let state = state.clone();
        let notified = notified.clone();
        OnWritten(Arc::new(move |report: &BuildReport| {
            set_problems(&state, &report.diagnostics);
            notify(&state, Some(&report.changed));
            notified.store(true, Ordering::Relaxed);
        }))
    };
    let build_options = BuildOptions {
        drafts: options.drafts,
        future: options.future,
        jobs: options.jobs,
        page_cache: Some(state.pages.clone()),
        sandbox: Some(state.sandbox.clone()),
        kept_content: Some(state.content.clone()),
        kept_data: Some(state.data.clone()),
        kept_generated: Some(state.generated.clone()),
        on_written: Some(on_written),
        ..BuildOptions::serve(&options.root, state.out.clone(), base_url.to_owned())
    };
    let root = options.root.clone();
    let rendered = tokio::task::spawn_blocking(move || {
        let _lock = crate::site_lock::SiteLock::acquire(&root)?;
        build(&build_options)
    })
    .await;
    let problems = match rendered {
        Ok(Ok(report)) => {
            for d in &report.diagnostics {
                eprintln!("{d}");
            }
            eprintln!(
                "Rendered {} pages ({} unchanged, reused) in {:.0} ms",
                report.pages,
                report.pages_reused,
                report.elapsed.as_secs_f64() * 1000.0
            );
            if notified.load(Ordering::Relaxed) {
                return;
            }
            report.diagnostics
        }
        Ok(Err(error)) => {
            eprintln!("error: {error:#}");
            // site.toml that does not load comes back located; anything
            // else (the database, the output folder) is the site's.
            vec![match error.downcast_ref::<Diagnostic>() {
                Some(located) => located.clone(),
                None => Diagnostic::error(crate::config::FILE, 0, 0, format!("{error:#}")),
            }]
        }
        Err(panicked) => vec![Diagnostic::error(
            crate::config::FILE,
            0,
            0,
            format!("the render stopped: {panicked}"),
        )],
    };
    set_problems(state, &problems);
    if notified.load(Ordering::Relaxed) {
        // Written, then failed (the database): the pages already reloaded.
        let _ = state.notices.send(Notice::Problems(self::problems(state)));
    } else {
        // A failed render changed nothing a page shows but its problems.
        notify(state, None);
    }
}

fn set_problems(state: &State, problems: &[Diagnostic]) {
    *state.problems.write().unwrap_or_else(|e| e.into_inner()) =
        Arc::new(reload::problems_json(problems));
}

/// Tell every open page the render's problems, then which files changed.
fn notify(state: &State, changed: Option<&[String]>) {
    let changed = serde_json::json!({ "changed": changed.unwrap_or_default() }).to_string();
    let _ = state.notices.send(Notice::Problems(problems(state)));
    let _ = state.notices.send(Notice::Reload(Arc::new(changed)));
}

async fn rebuild_on_change(
    options: ServeOptions,
    base_url: String,
    state: Arc<State>,
    mut changes: tokio::sync::mpsc::Receiver<Vec<PathBuf>>,
) {
    // The watcher reports paths under the canonical root.
    let root = options
        .root
        .canonicalize()
        .unwrap_or_else(|_| options.root.clone());
    while let Some(changed) = changes.recv().await {
        for path in &changed {
            tracing::info!(path = %path.display(), "changed");
        }
        state.content.changed(&root, &changed);
        state.data.changed(&root, &changed);
        render(&options, &base_url, &state).await;
    }
}

/// The last render's problems, as JSON.
fn problems(state: &State) -> Arc<String> {
    state
        .problems
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
}

/// The event stream of one open page: the last render's problems at once,
/// then after each render its problems and the files it changed. (An
/// event's data is never empty: browsers drop such events.)
async fn events(
    axum::extract::State(state): axum::extract::State<Arc<State>>,
) -> Sse<impl tokio_stream::Stream<Item = Result<Event, Infallible>>> {
    let first = Event::default().event("problems").data(&*problems(&state));
    let later = tokio_stream::wrappers::BroadcastStream::new(state.notices.subscribe())
        .take_while(|notice| !matches!(notice, Ok(Notice::Stop)))
        .map(|notice| {
            Ok(match notice {
                Ok(Notice::Problems(json)) => Event::default().event("problems").data(&*json),
                Ok(Notice::Reload(json)) => Event::default().event("reload").data(&*json),
                // Missed notices (a slow page): whatever changed, reload.
                Ok(Notice::Stop) | Err(_) => {
                    Event::default().event("reload").data(r#"{"changed":null}"#)
                }
            })
        });
    Sse::new(tokio_stream::once(Ok(first)).chain(later)).keep_alive(KeepAlive::default())
}

/// The bytes of `file`, at most `len` of them, in chunks read on a
/// blocking thread a few chunks ahead of the connection: a large file is
/// never held whole.
fn file_chunks(
    file: std::fs::File,
    len: u64,
) -> impl tokio_stream::Stream<Item = std::io::Result<axum::body::Bytes>> {
    let (send, receive) = tokio::sync::mpsc::channel(4);
    tokio::task::spawn_blocking(move || {
        use std::io::Read as _;
        let mut file = file.take(len);
        loop {
            let mut chunk = vec![0; 256 << 10];
            let read = match file.read(&mut chunk) {
                Ok(0) => return,
                Ok(n) => Ok(n),
                Err(e) => Err(e),
            };
            let sent = read.map(|n| {
                chunk.truncate(n);
                axum::body::Bytes::from(chunk)
            });
            let failed = sent.is_err();
            // A closed connection drops the receiver: stop reading.
            if send.blocking_send(sent).is_err() || failed {
                return;
            }
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(receive)
}

/// Any other path: a file of the rendered site.
async fn file(axum::extract::State(state): axum::extract::State<Arc<State>>, uri: Uri) -> Response {
    let out = state.out.clone();
    let path = uri.path().to_owned();
    let problems = problems(&state);
    let reply = tokio::task::spawn_blocking(move || files::reply(&out, &path, &problems)).await;
    match reply {
        Ok(files::Reply::File(media_type, bytes)) => (
            [
                (header::CONTENT_TYPE, media_type),
                (header::CACHE_CONTROL, "no-store"),
            ],
            Body::from(bytes),
        )
            .into_response(),
        Ok(files::Reply::Stream(media_type, file, len)) => (
            [
                (header::CONTENT_TYPE, media_type.to_owned()),
                (header::CACHE_CONTROL, "no-store".to_owned()),
                (header::CONTENT_LENGTH, len.to_string()),
            ],
            Body::from_stream(file_chunks(file, len)),
        )
            .into_response(),
        Ok(files::Reply::Redirect(to)) => {
            (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, to)]).into_response()
        }
        Ok(files::Reply::NotFound(Some(page))) => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            Body::from(page),
        )
            .into_response(),
        Ok(files::Reply::NotFound(None)) | Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}
