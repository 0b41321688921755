//! `ctx.fetch` against a real HTTP server on 127.0.0.1: what the site's
//! `[capabilities] fetch` allows is fetched by the host once, stored in
//! site.db and replayed; everything else is refused or fails with a message
//! that names the URL and the reason, and the render goes on.

use crate::common;

use common::http_stub::{Reply, Stub};
use common::{host, site, write};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the server answers at a path: status line, extra headers, body.
type Route = (&'static str, String, Vec<u8>);

/// A server whose routes a test changes as it goes, counting requests;
/// `/api/slow` answers after 3 s.
struct Server {
    stub: Stub,
    routes: Arc<Mutex<HashMap<String, Route>>>,
    hits: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start() -> Server {
        let routes: Arc<Mutex<HashMap<String, Route>>> = Arc::default();
        let hits: Arc<Mutex<Vec<String>>> = Arc::default();
        let (known, seen) = (routes.clone(), hits.clone());
        let stub = Stub::start(move |request, _| {
            seen.lock().unwrap().push(request.path.clone());
            if request.path == "/api/slow" {
                std::thread::sleep(Duration::from_secs(3));
            }
            let (status, headers, body) = known
                .lock()
                .unwrap()
                .get(&request.path)
                .cloned()
                .unwrap_or(("404 Not Found", String::new(), Vec::new()));
            Reply {
                status,
                headers,
                body,
            }
        });
        Server { stub, routes, hits }
    }

    fn url(&self, path: &str) -> String {
        self.stub.url(path)
    }

    fn route(&self, path: &str, status: &'static str, headers: &str, body: &[u8]) {
        self.routes
            .lock()
            .unwrap()
            .insert(path.to_owned(), (status, headers.to_owned(), body.to_vec()));
    }

    fn hits(&self, path: &str) -> usize {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|p| *p == path)
            .count()
    }
}

const FETCHER: &str = "\"\"\"\n---\nneeds: [fetch]\n---\n\"\"\"\n\
def render(ctx):\n    \
    repo = ctx.fetch(ctx.args['url'])\n    \
    return f'{repo.name}:{repo.stars}'\n";

const WITHOUT_NEED: &str = "def render(ctx):\n    return ctx.fetch(ctx.args['url'], as_='text')\n";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The sandbox runs a render's summary counts.
fn runs(stderr: &str) -> usize {
    let summary = stderr
        .lines()
        .find(|l| l.starts_with("Rendered "))
        .unwrap_or_else(|| panic!("no summary in {stderr}"));
    let before = summary
        .split(" sandbox runs")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .unwrap_or_default();
    before
        .parse()
        .unwrap_or_else(|_| panic!("no runs in {summary}"))
}

fn render(root: &std::path::Path, args: &[&str], epoch: u64) -> (String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_host"))
        .args(args)
        .arg("--site")
        .arg(root)
        .env("NO_COLOR", "1")
        .env("SOURCE_DATE_EPOCH", epoch.to_string())
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let html = std::fs::read_to_string(root.join("public/posts/p/index.html")).unwrap();
    (html, stderr)
}

#[test]
fn allowed_urls_are_fetched_once_stored_and_replayed_and_the_rest_refused() {
    let server = Server::start();
    let json = |stars: u32| format!("{{\"name\": \"r\", \"stars\": {stars}}}");
    server.route(
        "/api/repo",
        "200 OK",
        "Content-Type: application/json\r\n",
        json(5).as_bytes(),
    );
    server.route(
        "/api/out",
        "302 Found",
        &format!("Location: {}\r\n", server.url("/elsewhere")),
        b"",
    );
    server.route("/api/big", "200 OK", "", &[b'x'; 2048]);
    server.route("/api/slow", "200 OK", "", json(1).as_bytes());
    server.route("/elsewhere", "200 OK", "", json(666).as_bytes());
    let site = site(&format!(
        "[capabilities]\nfetch = [\"{}\"]\nfetch_timeout_ms = 1500\nfetch_max_kb = 1\nfetch_max_age = \"1h\"\n",
        server.url("/api/*")
    ));
    let root = site.path();
    write(root, "scripts/stars.py", FETCHER);
    write(root, "scripts/plain.py", WITHOUT_NEED);
    let call =
        |name: &str, path: &str| format!("{{{{< {name} url=\"{}\" >}}}}\n\n", server.url(path));
    let calls = [
        call("stars", "/api/repo"),
        call("stars", "/elsewhere"),
        call("stars", "/api/out"),
        call("stars", "/api/big"),
        call("stars", "/api/slow"),
        call("plain", "/api/repo"),
    ]
    .concat();
    let post = |extra: &str| format!("+++\ntitle = \"P\"\ndate = 2024-01-01\n+++\n{calls}{extra}");
    write(root, "content/posts/p.md", &post(""));
    // A template reads the same response (one request for both).
    write(
        root,
        "templates/post.html",
        &format!(
            "<p class=\"stars\">{{{{ fetch(\"{}\").stars }}}}</p>{{{{ page.content | safe }}}}",
            server.url("/api/repo")
        ),
    );
    let t0 = 1_800_000_000;

    let (html, stderr) = render(root, &["render"], t0);
    assert!(html.contains("r:5"), "{html}");
    assert!(html.contains("<p class=\"stars\">5</p>"), "{html}");
    for expected in [
        // Not in the list: denied, naming the setting.
        format!(
            "SandboxDenied: cannot fetch {}: `[capabilities] fetch` in site.toml does not list it",
            server.url("/elsewhere")
        ),
        // A redirect out of the list is checked again and denied.
        format!(
            "{} redirects to {}, and `[capabilities] fetch` in site.toml does not list it",
            server.url("/api/out"),
            server.url("/elsewhere")
        ),
        "the response is larger than `fetch_max_kb` (1 KiB)".into(),
        "timed out after 1500 ms (no stored response to replay)".into(),
        "scripts/plain.py does not declare `needs: [fetch]` in its front matter".into(),
    ] {
        assert!(
            stderr.contains(&expected),
            "missing {expected:?} in {stderr}"
        );
    }
    // The slow fetch took longer than the call's own limit (1 s): the time
    // the host spent fetching is not the script's.
    assert!(!stderr.contains("Timeout"), "{stderr}");
    assert_eq!(
        server.hits("/elsewhere"),
        0,
        "a denied URL is never requested"
    );
    assert_eq!(server.hits("/api/repo"), 1, "once per build, whoever asks");
    // Tried by hand, the macro gets what the render stored.
    let tried = host(
        root,
        &[
            "scripts",
            "run",
            "stars",
            "--arg",
            &format!("url={}", server.url("/api/repo")),
        ],
    );
    assert_eq!(text(&tried.stdout).trim(), "r:5", "{}", text(&tried.stderr));
    assert_eq!(server.hits("/api/repo"), 1);

    // Replayed: nothing is requested, nothing runs again.
    server.route(
        "/api/repo",
        "200 OK",
        "Content-Type: application/json\r\n",
        json(6).as_bytes(),
    );
    // (The five failed calls run again in every render: a failure is
    // never stored.)
    let (html, stderr) = render(root, &["render"], t0 + 60);
    assert!(html.contains("r:5"), "{html}");
    assert_eq!(server.hits("/api/repo"), 1, "{stderr}");
    assert_eq!(runs(&stderr), 5, "{stderr}");

    // --refresh-remote fetches again; the new body re-runs the call.
    let (html, stderr) = render(root, &["render", "--refresh-remote"], t0 + 120);
    assert!(html.contains("r:6"), "{html}");
    assert!(html.contains("<p class=\"stars\">6</p>"), "{html}");
    assert_eq!(server.hits("/api/repo"), 2, "{stderr}");
    assert_eq!(runs(&stderr), 6, "{stderr}");
    // The same body again: the call that read it is not run again.
    let (_, stderr) = render(root, &["render", "--refresh-remote"], t0 + 180);
    assert_eq!(server.hits("/api/repo"), 3, "{stderr}");
    assert_eq!(runs(&stderr), 5, "{stderr}");

    // Older than fetch_max_age (1h): fetched again without being asked.
    let (_, stderr) = render(root, &["render"], t0 + 2 * 3600);
    assert_eq!(server.hits("/api/repo"), 4, "{stderr}");

    // Offline: the stored response is replayed with a warning; a URL never
    // fetched fails its call and the render goes on.
    let unfetched = server.url("/api/never");
    drop(server);
    std::thread::sleep(Duration::from_millis(100));
    write(
        root,
        "content/posts/p.md",
        &post(&format!("{{{{< stars url=\"{unfetched}\" >}}}}\n")),
    );
    let (html, stderr) = render(root, &["render", "--refresh-remote"], t0 + 3 * 3600);
    assert!(html.contains("r:6"), "{html}");
    assert!(
        stderr.contains("; using the response stored 2027-01-15"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("fetching {unfetched} failed")),
        "{stderr}"
    );
    assert!(stderr.contains("no stored response to replay"), "{stderr}");
}

#[test]
fn a_site_that_grants_nothing_refuses_every_fetch_and_check_lists_the_needs() {
    let site = site("");
    let root = site.path();
    write(root, "scripts/stars.py", FETCHER);
    write(
        root,
        "content/posts/p.md",
        "+++\ntitle = \"P\"\n+++\n{{< stars url=\"http://127.0.0.1:9/api/repo\" >}}\n",
    );
    let out = host(root, &["render"]);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "the site grants no fetch (`[capabilities] fetch` in site.toml lists no URL)"
        ),
        "{stderr}"
    );
    let check = host(root, &["scripts", "check"]);
    let stdout = text(&check.stdout);
    assert!(stdout.contains("needs fetch"), "{stdout}");
    // A pattern that is not one is an error at its line.
    write(
        root,
        "site.toml",
        &common::site_toml("[capabilities]\nfetch = [\"https://example.org*\"]\n"),
    );
    let out = host(root, &["render"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("site.toml:4:1"), "{stderr}");
    assert!(stderr.contains("may only start it"), "{stderr}");
}
