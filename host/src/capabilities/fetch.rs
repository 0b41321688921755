//! `ctx.fetch(url)`: GET requests the host makes for scripts, for URLs the
//! site's `[capabilities] fetch` allows.
//!
//! A render replays what an earlier one fetched (kept in site.db with its
//! date): builds are deterministic and work offline, and a call is keyed on
//! the responses it read like on any other answer. A response is fetched
//! again with `--refresh-remote`, or once it is older than
//! `fetch_max_age`; when that fails, the stored one is used with a
//! warning. Each URL is fetched at most once per build, redirects are
//! followed by hand and each target is checked against the list again.

use super::allow_list::AllowList;
use base64::Engine as _;
use serde_json::json;
use std::collections::HashMap;
use std::io::Read as _;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use url::Url;

/// The most redirects one fetch follows.
const MAX_REDIRECTS: usize = 5;

/// How a guest tells a refusal (`SandboxDenied`) from a failure.
pub const DENIED: &str = "denied: ";

/// The limits of one fetch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most time per request, redirects included.
    pub timeout: Duration,
    /// Largest body.
    pub max_bytes: u64,
    /// How old a stored response may be before it is fetched again.
    pub max_age: Option<Duration>,
}

/// A response as kept in site.db.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The URL asked for.
    pub url: String,
    /// Where it was found, after redirects.
    pub final_url: String,
    /// The HTTP status (a success).
    pub status: u16,
    /// The `Content-Type` header.
    pub content_type: String,
    /// The body.
    pub body: Vec<u8>,
    /// When it was fetched (Unix seconds).
    pub fetched_at: i64,
}

impl Response {
    /// What a guest is answered: the body as text when it is UTF-8, else
    /// as base64. The date is left out, so that fetching the same body
    /// again does not change what the calls that read it are keyed on.
    pub fn answer(&self) -> String {
        let mut answer = json!({
            "url": self.final_url,
            "status": self.status,
            "content_type": self.content_type,
        });
        match std::str::from_utf8(&self.body) {
            Ok(text) => answer["text"] = json!(text),
            Err(_) => {
                answer["base64"] =
                    json!(base64::engine::general_purpose::STANDARD.encode(&self.body));
            }
        }
        answer.to_string()
    }
}

/// Why a fetch gave no response.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Refusal {
    /// The site does not allow it (a stored response is never used).
    Denied(String),
    /// The network or the server failed (a stored response is used).
    Failed(String),
}

/// A URL's answer in one build, fetched by the first caller who asks.
type Slot = Arc<OnceLock<Result<Response, Refusal>>>;

/// The fetches of one build.
pub struct Remote {
    allow: AllowList,
    limits: Limits,
    /// Fetch every URL again, whatever its age.
    refresh: bool,
    /// The build's time (Unix seconds).
    now: i64,
    /// What earlier builds fetched, by URL (only rows this machine wrote).
    stored: HashMap<String, Response>,
    /// Each URL's answer in this build, fetched once.
    answers: Mutex<HashMap<String, Slot>>,
    /// What this build fetched, to store.
    fetched: Mutex<Vec<Response>>,
    /// Stored responses used because fetching failed.
    warnings: Mutex<Vec<String>>,
    agent: ureq::Agent,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("allow", &self.allow)
            .field("refresh", &self.refresh)
            .finish_non_exhaustive()
    }
}

impl Default for Remote {
    fn default() -> Self {
        Remote::none()
    }
}

impl Remote {
    /// The fetches of a build at `now` (Unix seconds) that allows `allow`,
    /// replaying `stored` unless `refresh`.
    pub fn new(
        allow: AllowList,
        limits: Limits,
        refresh: bool,
        now: i64,
        stored: HashMap<String, Response>,
    ) -> Remote {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(limits.timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!(
                "blogmark-host/",
                env!("CARGO_PKG_VERSION"),
                " (ctx.fetch)"
            ))
            .build()
            .into();
        Remote {
            allow,
            limits,
            refresh,
            now,
            stored,
            answers: Mutex::default(),
            fetched: Mutex::default(),
            warnings: Mutex::default(),
            agent,
        }
    }

    /// The fetches of a build at `now` of a site granting `capabilities`,
    /// replaying what `store` kept unless `refresh`.
    pub fn for_site(
        capabilities: &super::Capabilities,
        store: Option<&crate::store::Store>,
        refresh: bool,
        now: i64,
    ) -> Remote {
        // site.toml was checked when it loaded.
        let allow = AllowList::new(&capabilities.fetch).unwrap_or_default();
        if allow.is_empty() {
            return Remote::none();
        }
        let stored = store
            .and_then(|store| {
                store
                    .remote_responses()
                    .inspect_err(|e| tracing::warn!("cannot read the stored responses: {e}"))
                    .ok()
            })
            .unwrap_or_default();
        Remote::new(allow, capabilities.fetch_limits(), refresh, now, stored)
    }

    /// A build that allows nothing (a site without `[capabilities] fetch`).
    pub fn none() -> Remote {
        Remote::new(
            AllowList::default(),
            super::Capabilities::default().fetch_limits(),
            false,
            0,
            HashMap::new(),
        )
    }

    /// The answer to `ctx.fetch(url)`: the response as JSON, or why there
    /// is none (prefixed with [`DENIED`] when the site does not allow it).
    pub fn answer(&self, url: &str) -> Result<String, String> {
        match self.get(url) {
            Ok(response) => Ok(response.answer()),
            Err(Refusal::Denied(why)) => Err(format!("{DENIED}{why}")),
            Err(Refusal::Failed(why)) => Err(why),
        }
    }

    fn get(&self, url: &str) -> Result<Response, Refusal> {
        let parsed = self.allowed(url, None)?;
        let slot = lock(&self.answers)
            .entry(parsed.to_string())
            .or_default()
            .clone();
        slot.get_or_init(|| self.resolve(&parsed)).clone()
    }

    /// `url` parsed, when the list allows it (`from`: the URL that
    /// redirected to it).
    fn allowed(&self, url: &str, from: Option<&Url>) -> Result<Url, Refusal> {
        let mut parsed = match from {
            Some(base) => base.join(url),
            None => Url::parse(url),
        }
        .map_err(|e| Refusal::Failed(format!("`{url}` is not a URL: {e}")))?;
        parsed.set_fragment(None);
        if self.allow.allows(&parsed) {
            return Ok(parsed);
        }
        let grant = if self.allow.is_empty() {
            "the site grants no fetch (`[capabilities] fetch` in site.toml lists no URL)".to_owned()
        } else {
            "`[capabilities] fetch` in site.toml does not list it".to_owned()
        };
        Err(Refusal::Denied(match from {
            Some(from) => format!("{from} redirects to {parsed}, and {grant}"),
            None => format!("cannot fetch {parsed}: {grant}"),
        }))
    }

    fn resolve(&self, url: &Url) -> Result<Response, Refusal> {
        let stored = self.stored.get(url.as_str());
        if let Some(stored) = stored.filter(|s| !self.refresh && self.fresh(s)) {
            return Ok(stored.clone());
        }
        match self.download(url) {
            Ok(response) => {
                lock(&self.fetched).push(response.clone());
                Ok(response)
            }
            Err(Refusal::Failed(why)) => match stored {
                Some(stored) => {
                    lock(&self.warnings).push(format!(
                        "fetching {url} failed ({why}); using the response stored {}",
                        date(stored.fetched_at)
                    ));
                    Ok(stored.clone())
                }
                None => Err(Refusal::Failed(format!(
                    "fetching {url} failed: {why} (no stored response to replay)"
                ))),
            },
            Err(denied) => Err(denied),
        }
    }

    fn fresh(&self, stored: &Response) -> bool {
        match self.limits.max_age {
            None => true,
            Some(age) => {
                let age = i64::try_from(age.as_secs()).unwrap_or(i64::MAX);
                self.now.saturating_sub(stored.fetched_at) <= age
            }
        }
    }

    fn download(&self, url: &Url) -> Result<Response, Refusal> {
        let mut current = url.clone();
        for _ in 0..=MAX_REDIRECTS {
            let mut response = self
                .agent
                .get(current.as_str())
                .call()
                .map_err(|e| Refusal::Failed(describe(&e, &self.limits)))?;
            let status = response.status();
            if status.is_redirection() {
                let Some(location) = response
                    .headers()
                    .get("location")
                    .and_then(|l| l.to_str().ok())
                else {
                    return Err(Refusal::Failed(format!(
                        "{current} answered {status} without a Location"
                    )));
                };
                current = self.allowed(location, Some(&current))?;
                continue;
            }
            if !status.is_success() {
                return Err(Refusal::Failed(format!("{current} answered {status}")));
            }
            let content_type = response
                .headers()
                .get("content-type")
                .and_then(|t| t.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let mut body = Vec::new();
            response
                .body_mut()
                .as_reader()
                .take(self.limits.max_bytes + 1)
                .read_to_end(&mut body)
                .map_err(|e| Refusal::Failed(format!("reading the response failed: {e}")))?;
            if body.len() as u64 > self.limits.max_bytes {
                return Err(Refusal::Failed(format!(
                    "the response is larger than `fetch_max_kb` ({} KiB)",
                    self.limits.max_bytes / 1024
                )));
            }
            return Ok(Response {
                url: url.to_string(),
                final_url: current.to_string(),
                status: status.as_u16(),
                content_type,
                body,
                fetched_at: self.now,
            });
        }
        Err(Refusal::Failed(format!(
            "more than {MAX_REDIRECTS} redirects"
        )))
    }

    /// What this build fetched (to store), and the warnings about stored
    /// responses used because fetching failed.
    pub fn take_fetched(&self) -> (Vec<Response>, Vec<String>) {
        (
            std::mem::take(&mut *lock(&self.fetched)),
            std::mem::take(&mut *lock(&self.warnings)),
        )
    }
}

/// A failed request, said plainly.
fn describe(error: &ureq::Error, limits: &Limits) -> String {
    match error {
        ureq::Error::Timeout(_) => format!("timed out after {} ms", limits.timeout.as_millis()),
        ureq::Error::HostNotFound => "no such host".to_owned(),
        ureq::Error::Io(e) => e.to_string(),
        other => other.to_string(),
    }
}

/// `at` (Unix seconds) as a date for a message.
fn date(at: i64) -> String {
    chrono::DateTime::from_timestamp(at, 0).map_or_else(
        || at.to_string(),
        |d| d.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

/// Only ever inserted into: a panic elsewhere leaves them whole.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
