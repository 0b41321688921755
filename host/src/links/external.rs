//! `host check --external`: every external link answers, checked with
//! bounded concurrency, a per-host limit and a timeout; a link that
//! answered well is remembered for a day in the site's database.

use super::ExternalLink;
use crate::diagnostics::Diagnostic;
use crate::store::{LinkResult, Store};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// Requests in flight at once, in all.
const CONCURRENCY: usize = 8;
/// Requests in flight at once to one host.
const PER_HOST: usize = 2;
/// How long a good result is trusted.
const KEEP_SECONDS: i64 = 24 * 60 * 60;

/// How to check.
#[derive(Clone, Debug)]
pub struct Options {
    /// Longest a link may take to answer, redirects included.
    pub timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: Duration::from_secs(10),
        }
    }
}

/// How one link ended.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Answer {
    /// It answered (any status).
    Status(u16),
    /// No answer: no such host, refused, unreachable, timed out.
    Unreachable(String),
}

/// Errors for the external links in `links` that do not answer with a
/// success; one warning instead when no link could be reached at all.
pub fn check(root: &Path, links: &[ExternalLink], options: &Options) -> Vec<Diagnostic> {
    if links.is_empty() {
        return Vec::new();
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut store = Store::open(root).ok();
    let known = store
        .as_ref()
        .and_then(|s| s.external_links(now - KEEP_SECONDS).ok())
        .unwrap_or_default();
    let mut urls: Vec<&str> = links.iter().map(|l| l.url.as_str()).collect();
    urls.sort_unstable();
    urls.dedup();
    let to_check: Vec<&str> = urls
        .iter()
        .copied()
        .filter(|u| !known.get(*u).is_some_and(|r| r.ok))
        .collect();
    let answers = fetch_all(&to_check, options);
    let reached = answers.values().any(|a| matches!(a, Answer::Status(_)))
        || urls.iter().any(|u| known.get(*u).is_some_and(|r| r.ok));
    if !to_check.is_empty() && !reached {
        let first = answers
            .values()
            .find_map(|a| match a {
                Answer::Unreachable(why) => Some(why.clone()),
                Answer::Status(_) => None,
            })
            .unwrap_or_default();
        return vec![Diagnostic::warning(
            "(external links)",
            0,
            0,
            format!(
                "not checked: no external link could be reached, so this machine seems \
                 to have no network ({} links; first error: {first})",
                to_check.len()
            ),
        )];
    }
    let results: BTreeMap<&str, LinkResult> = answers
        .iter()
        .map(|(url, answer)| {
            let result = match answer {
                Answer::Status(code) => LinkResult {
                    ok: (200..400).contains(code),
                    detail: format!("HTTP {code}"),
                },
                Answer::Unreachable(why) => LinkResult {
                    ok: false,
                    detail: why.clone(),
                },
            };
            (*url, result)
        })
        .collect();
    if let Some(store) = store.as_mut() {
        let good: Vec<(String, LinkResult)> = results
            .iter()
            .filter(|(_, r)| r.ok)
            .map(|(u, r)| ((*u).to_owned(), r.clone()))
            .collect();
        if let Err(e) = store.record_external_links(&good, now) {
            tracing::warn!("cannot remember checked links: {e}");
        }
    }
    links
        .iter()
        .filter_map(|link| {
            let result = results.get(link.url.as_str())?;
            (!result.ok).then(|| {
                Diagnostic::error(
                    link.file.clone(),
                    link.line,
                    link.column,
                    format!("broken external link `{}`: {}", link.url, result.detail),
                )
            })
        })
        .collect()
}

/// At most `PER_HOST` requests to one host at a time.
#[derive(Default)]
struct Hosts {
    busy: Mutex<HashMap<String, usize>>,
    freed: Condvar,
}

impl Hosts {
    fn enter(&self, host: &str) {
        let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        while busy.get(host).copied().unwrap_or(0) >= PER_HOST {
            busy = self.freed.wait(busy).unwrap_or_else(|e| e.into_inner());
        }
        *busy.entry(host.to_owned()).or_default() += 1;
    }

    fn leave(&self, host: &str) {
        let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = busy.get_mut(host) {
            *n -= 1;
        }
        self.freed.notify_all();
    }
}

fn fetch_all<'u>(urls: &[&'u str], options: &Options) -> BTreeMap<&'u str, Answer> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(options.timeout))
        .http_status_as_error(false)
        .max_redirects(10)
        .user_agent(concat!(
            "blogmark-host/",
            env!("CARGO_PKG_VERSION"),
            " (link check)"
        ))
        .build()
        .into();
    let next = AtomicUsize::new(0);
    let hosts = Hosts::default();
    let found = Mutex::new(BTreeMap::new());
    std::thread::scope(|scope| {
        for _ in 0..CONCURRENCY.min(urls.len()) {
            scope.spawn(|| {
                while let Some(url) = urls.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let host = host_of(url);
                    hosts.enter(&host);
                    let answer = fetch(&agent, url);
                    hosts.leave(&host);
                    found
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(*url, answer);
                }
            });
        }
    });
    found.into_inner().unwrap_or_else(|e| e.into_inner())
}

/// HEAD, then GET when HEAD fails or is refused (some servers answer HEAD
/// with 404 or 405 and GET with 200); a timeout is not tried twice.
fn fetch(agent: &ureq::Agent, url: &str) -> Answer {
    let head = answer(agent.head(url).call());
    match &head {
        Answer::Status(code) if *code < 400 => head,
        Answer::Unreachable(why) if why == TIMED_OUT => head,
        _ => match answer(agent.get(url).call()) {
            Answer::Unreachable(_) if matches!(head, Answer::Status(_)) => head,
            get => get,
        },
    }
}

const TIMED_OUT: &str = "timed out";

fn answer(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    match result {
        Ok(response) => Answer::Status(response.status().as_u16()),
        Err(ureq::Error::StatusCode(code)) => Answer::Status(code),
        Err(ureq::Error::Timeout(_)) => Answer::Unreachable(TIMED_OUT.into()),
        Err(ureq::Error::HostNotFound) => Answer::Unreachable("no such host".into()),
        Err(e) => Answer::Unreachable(e.to_string()),
    }
}

fn host_of(url: &str) -> String {
    let rest = url.split_once("//").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?', '#'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_the_authority_part() {
        assert_eq!(host_of("https://Example.org/a/b?c"), "example.org");
        assert_eq!(host_of("http://127.0.0.1:8080/x"), "127.0.0.1:8080");
        assert_eq!(host_of("//cdn.example.org/x.js"), "cdn.example.org");
    }
}
