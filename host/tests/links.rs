//! `host check` checks links: internal ones against what the render
//! writes, anchors against ids, external ones (with `--external`) against a
//! real HTTP server on 127.0.0.1; each broken one named at its source.

use crate::common;

use common::http_stub::{Reply, Stub};
use common::{host, site, write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The lines of `text` that hold `marker`.
fn lines_with<'t>(text: &'t str, marker: &str) -> Vec<&'t str> {
    text.lines().filter(|l| l.contains(marker)).collect()
}

#[test]
fn broken_internal_links_anchors_and_images_are_errors_at_their_place() {
    let site = site("");
    write(
        site.path(),
        "content/posts/first.md",
        "---\ntitle: First\ndate: 2024-01-01\n---\n## Setup\n\nText.\n",
    );
    write(
        site.path(),
        "content/posts/second.md",
        "---\ntitle: Second\ndate: 2024-01-02\n---\nGood: [first](/posts/first/) and [setup](/posts/first/#setup)\nand [relative](../first/) and ![logo](/img/logo.png).\n\nBad: [gone](/posts/gone/), [anchor](/posts/first/#nowhere),\n![missing](/img/missing.png) and [self](#nope).\n",
    );
    write(site.path(), "static/img/logo.png", "png");
    let out = host(site.path(), &["check"]);
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let errors = lines_with(&stderr, "broken link");
    assert_eq!(errors.len(), 4, "{stderr}");
    for (needle, place) in [
        ("`/posts/gone/`", "content/posts/second.md:8:13:"),
        ("`/posts/first/#nowhere`", "content/posts/second.md:8:37:"),
        ("`/img/missing.png`", "content/posts/second.md:9:12:"),
        ("`#nope`", "content/posts/second.md:9:41:"),
    ] {
        let line = errors
            .iter()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle} not reported: {stderr}"));
        assert!(line.contains(place), "{needle} at {place}: {line}");
    }
    // A link a template of the site writes is named in the template.
    write(
        site.path(),
        "templates/404.html",
        "{% extends \"base.html\" %}\n{% block content %}\n<p>Lost? Try the <a href=\"/archive/\">archive</a>.</p>\n{% endblock %}\n",
    );
    let out = host(site.path(), &["check"]);
    let stderr = stderr_of(&out);
    let line = stderr
        .lines()
        .find(|l| l.contains("`/archive/`"))
        .unwrap_or_else(|| panic!("the template's link is checked: {stderr}"));
    assert!(line.starts_with("templates/404.html:3:"), "{line}");
    // `host render` does not check links: it renders.
    assert!(host(site.path(), &["render"]).status.success());
}

#[test]
fn the_demo_site_has_no_broken_link() {
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo");
    let copy = tempfile::tempdir().unwrap();
    for entry in walkdir::WalkDir::new(&demo).into_iter().flatten() {
        let relative = entry.path().strip_prefix(&demo).unwrap();
        if relative.starts_with("public") || relative.starts_with(".blogmark") {
            continue;
        }
        let target = copy.path().join(relative);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
    let out = host(copy.path(), &["check", "--strict"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
}

/// A small HTTP server on a free port of 127.0.0.1: `/ok` 200, `/missing`
/// 404, `/moved` 301 to `/ok`, `/slow` 200 after 20 s, `/no-head` 405 to
/// HEAD and 200 to GET. It records what was asked for (`METHOD path`), and
/// stops by itself after ten minutes or when dropped.
struct Server {
    stub: Stub,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start() -> Server {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let asked = seen.clone();
        let stub = Stub::start(move |request, port| {
            let (method, path) = (request.method.as_str(), request.path.as_str());
            asked.lock().unwrap().push(format!("{method} {path}"));
            let (status, headers) = match (method, path) {
                (_, "/ok") => ("200 OK", String::new()),
                (_, "/moved") => (
                    "301 Moved Permanently",
                    format!("Location: http://127.0.0.1:{port}/ok\r\n"),
                ),
                (_, "/slow") => {
                    std::thread::sleep(Duration::from_secs(20));
                    ("200 OK", String::new())
                }
                ("HEAD", "/no-head") => ("405 Method Not Allowed", String::new()),
                ("GET", "/no-head") => ("200 OK", String::new()),
                _ => ("404 Not Found", String::new()),
            };
            Reply {
                status,
                headers,
                body: Vec::new(),
            }
        });
        Server { stub, seen }
    }

    fn url(&self, path: &str) -> String {
        self.stub.url(path)
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

#[test]
fn external_links_are_checked_against_a_real_server() {
    let server = Server::start();
    let site = site("");
    let body = format!(
        "---\ntitle: Out\ndate: 2024-01-01\n---\n[ok]({}) [missing]({})\n[moved]({}) [slow]({}) [no-head]({})\n",
        server.url("/ok"),
        server.url("/missing"),
        server.url("/moved"),
        server.url("/slow"),
        server.url("/no-head"),
    );
    write(site.path(), "content/posts/out.md", &body);
    // Without --external, external links are not fetched.
    assert!(host(site.path(), &["check"]).status.success());
    assert!(server.seen().is_empty(), "{:?}", server.seen());

    let out = host(site.path(), &["check", "--external", "--link-timeout", "4"]);
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let errors = lines_with(&stderr, "broken external link");
    assert_eq!(errors.len(), 2, "{stderr}");
    assert!(
        errors.iter().any(|l| l.contains("/missing")
            && l.contains("HTTP 404")
            && l.contains("content/posts/out.md:5:")),
        "{stderr}"
    );
    assert!(
        errors.iter().any(|l| l.contains("/slow")
            && l.contains("timed out")
            && l.contains("content/posts/out.md:6:")),
        "{stderr}"
    );
    let seen = server.seen();
    assert!(seen.contains(&"HEAD /ok".to_owned()), "{seen:?}");
    assert!(
        seen.contains(&"GET /no-head".to_owned()),
        "HEAD refused, then GET: {seen:?}"
    );

    // Good results are remembered for a day: the next check asks only again
    // for what failed.
    server.seen.lock().unwrap().clear();
    let again = host(site.path(), &["check", "--external", "--link-timeout", "4"]);
    assert_eq!(again.status.code(), Some(1));
    let seen = server.seen();
    assert!(
        !seen
            .iter()
            .any(|s| s.ends_with(" /ok") || s.ends_with(" /no-head")),
        "{seen:?}"
    );
    assert!(seen.iter().any(|s| s.ends_with(" /missing")), "{seen:?}");
}

#[test]
fn without_network_external_links_are_not_failed_one_by_one() {
    let site = site("");
    write(
        site.path(),
        "content/posts/out.md",
        "---\ntitle: Out\ndate: 2024-01-01\n---\n[a](http://blogmark-test.invalid/a) [b](https://another.invalid/b)\n",
    );
    let out = host(site.path(), &["check", "--external", "--link-timeout", "2"]);
    let stderr = stderr_of(&out);
    assert!(out.status.success(), "a warning, not an error: {stderr}");
    assert!(!stderr.contains("broken external link"), "{stderr}");
    assert!(stderr.contains("no network"), "{stderr}");
    assert!(stderr.contains("2 links"), "{stderr}");
}
