//! `host serve` through the real binary: a real HTTP server on a free
//! port, its event stream, real edits of the site's files, Ctrl-C.

mod common;

use common::browser::browser;
use common::server::{PATIENCE, Server};

use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

fn next(events: &mpsc::Receiver<(String, String)>) -> (String, String) {
    events.recv_timeout(PATIENCE).expect("an event comes")
}

/// The two events of one render: its problems, then the files it changed
/// (`changed` of the `reload` event).
fn rendered(events: &mpsc::Receiver<(String, String)>) -> (serde_json::Value, serde_json::Value) {
    let (name, problems) = next(events);
    assert_eq!(name, "problems", "{problems}");
    let (name, changed) = next(events);
    assert_eq!(name, "reload", "{changed}");
    let changed: serde_json::Value = serde_json::from_str(&changed).unwrap();
    (
        serde_json::from_str(&problems).unwrap(),
        changed["changed"].clone(),
    )
}

fn site() -> tempfile::TempDir {
    let site = common::site("");
    common::write(
        site.path(),
        "content/posts/hello.md",
        "+++\ntitle = \"Hello\"\ndate = 2024-01-01\n+++\nFirst words.\n",
    );
    site
}

#[test]
fn pages_are_served_with_the_reload_script_and_the_files_keep_none() {
    let site = site();
    let server = Server::start(site.path());
    let (status, page) = server.get("/posts/hello/");
    assert_eq!(status, 200);
    assert!(page.contains("First words."), "{page}");
    assert!(
        page.contains("new EventSource(\"/_blogmark/events\")"),
        "{page}"
    );
    // Links point at the server, not at the published site.
    assert!(
        page.contains(&format!("href=\"{}style.css\"", server.base)),
        "{page}"
    );
    let on_disk =
        std::fs::read_to_string(site.path().join(".blogmark/serve/posts/hello/index.html"))
            .unwrap();
    assert!(!on_disk.contains("EventSource"), "{on_disk}");
    assert!(
        !site.path().join("public").exists(),
        "serve leaves public/ alone"
    );
    let (status, _) = server.get("/posts/hello");
    assert_eq!(status, 301);
    let (status, missing) = server.get("/no/such/page/");
    assert_eq!(status, 404);
    assert!(missing.contains("EventSource"), "the 404 page reloads too");
}

#[test]
fn an_edit_reloads_open_pages_and_problems_show_until_fixed() {
    let site = site();
    let server = Server::start(site.path());
    let events = server.events();
    assert_eq!(next(&events), ("problems".into(), "[]".into()));

    common::write(
        site.path(),
        "content/posts/hello.md",
        "+++\ntitle = \"Hello\"\ndate = 2024-01-01\n+++\nSecond words.\n",
    );
    let (problems, changed) = rendered(&events);
    assert_eq!(problems, serde_json::json!([]));
    // Only the pages that show the body reload: the post and the feed.
    let changed: Vec<&str> = changed
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(changed.contains(&"posts/hello/index.html"), "{changed:?}");
    assert!(
        !changed.contains(&"index.html"),
        "the listing shows no body: {changed:?}"
    );
    assert!(server.get("/posts/hello/").1.contains("Second words."));

    common::write(
        site.path(),
        "content/posts/hello.md",
        "+++\ntitle = \"Hello\"\ndate = \"someday\"\n+++\nx\n",
    );
    rendered(&events);
    let (name, data) = next(&server.events());
    assert_eq!(name, "problems");
    let problems: serde_json::Value = serde_json::from_str(&data).unwrap();
    assert_eq!(problems[0]["file"], "content/posts/hello.md", "{data}");
    assert_eq!(problems[0]["line"], 3, "{data}");
    assert_eq!(problems[0]["severity"], "error", "{data}");
    assert!(
        problems[0]["message"]
            .as_str()
            .unwrap()
            .contains("cannot read the date"),
        "{data}"
    );

    common::write(
        site.path(),
        "content/posts/hello.md",
        "+++\ntitle = \"Hello\"\ndate = 2024-01-01\n+++\nFixed.\n",
    );
    rendered(&events);
    assert_eq!(next(&server.events()), ("problems".into(), "[]".into()));
}

#[test]
fn ctrl_c_stops_the_server_cleanly_even_with_pages_open() {
    let site = site();
    let mut server = Server::start(site.path());
    let events = server.events();
    assert_eq!(next(&events).0, "problems");
    let pid = i32::try_from(server.child.id()).unwrap();
    // SAFETY: signalling a child process this test started and still owns.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let deadline = std::time::Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "host serve did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
}

/// The page at `url` as a real browser leaves it after loading it and
/// running its scripts (headless Chromium).
fn browser_dom(url: &str) -> String {
    let browser = browser();
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--timeout=4000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn in_a_browser_the_overlay_names_the_problem_and_goes_when_fixed() {
    let site = site();
    common::write(
        site.path(),
        "content/posts/broken.md",
        "+++\ntitle = \"Broken\"\ndate = \"someday\"\n+++\nx\n",
    );
    let server = Server::start(site.path());
    let page = format!("{}posts/hello/", server.base);
    let dom = browser_dom(&page);
    assert!(dom.contains("First words."), "{dom}");
    assert!(
        dom.contains(r#"<div id="blogmark-overlay" role="alert""#),
        "{dom}"
    );
    assert!(
        dom.contains(r#"<div class="blogmark-problem">content/posts/broken.md:3:1: error: cannot read the date"#),
        "{dom}"
    );

    let events = server.events();
    assert_eq!(next(&events).0, "problems");
    std::fs::remove_file(site.path().join("content/posts/broken.md")).unwrap();
    rendered(&events);
    let dom = browser_dom(&page);
    assert!(dom.contains("First words."), "{dom}");
    assert!(!dom.contains(r#"<div id="blogmark-overlay""#), "{dom}");
}

#[test]
fn after_a_run_of_edits_the_served_files_equal_a_clean_render() {
    let site = site();
    let root = site.path();
    // Pages that read other pages and scripts, so that edits elsewhere
    // must reach them.
    common::write(
        root,
        "content/pages/latest.md",
        "+++\ntitle = \"Latest\"\n+++\n{{< recent_posts >}}\n",
    );
    common::write(
        root,
        "scripts/shout.py",
        "def render(ctx):\n    return ctx.args['text'].upper()\n",
    );
    common::write(
        root,
        "content/posts/loud.md",
        "+++\ntitle = \"Loud\"\ndate = 2023-01-01\n+++\n{{< shout text=\"hey\" >}}\n",
    );
    let server = Server::start(root);
    let events = server.events();
    assert_eq!(next(&events).0, "problems");
    let edits: [(&str, Option<&str>); 7] = [
        (
            "content/posts/two.md",
            Some("+++\ntitle = \"Two\"\ndate = 2024-02-01\ntags = [\"b\"]\n+++\nTwo.\n"),
        ),
        (
            "content/posts/hello.md",
            Some("+++\ntitle = \"Hello again\"\ndate = 2024-01-01\ntags = [\"a\"]\n+++\nNew.\n"),
        ),
        (
            "content/posts/hello.md",
            Some(
                "+++\ntitle = \"Hello again\"\ndate = 2024-01-01\ntags = [\"a\"]\n+++\nBody only.\n",
            ),
        ),
        (
            "scripts/shout.py",
            Some("def render(ctx):\n    return ctx.args['text'].upper() + '!'\n"),
        ),
        (
            "templates/page.html",
            Some("<html><body>{{ page.title }}: {{ page.content | safe }}</body></html>"),
        ),
        (
            "content/pages/about.md",
            Some("+++\ntitle = \"About\"\n+++\nMe.\n"),
        ),
        ("content/posts/two.md", None),
    ];
    for (path, text) in edits {
        match text {
            Some(text) => common::write(root, path, text),
            None => std::fs::remove_file(root.join(path)).unwrap(),
        }
        rendered(&events);
    }
    // An editor's write may come as two batches: wait for the last render.
    while events.recv_timeout(Duration::from_millis(500)).is_ok() {}
    let clean = tempfile::tempdir().unwrap();
    let out = common::host(
        root,
        &[
            "render",
            "--base-url",
            &server.base,
            "--out",
            clean.path().to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let served = common::files(&root.join(".blogmark/serve"), &[]);
    let rendered = common::files(clean.path(), &[]);
    assert_eq!(
        served.keys().collect::<Vec<_>>(),
        rendered.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &rendered {
        assert!(served[path] == *bytes, "{path} differs");
    }
    let latest = String::from_utf8_lossy(&served["latest/index.html"]).into_owned();
    assert!(latest.starts_with("<html><body>Latest: "), "{latest}");
    assert!(latest.contains("Hello again"), "{latest}");
    assert!(String::from_utf8_lossy(&served["posts/loud/index.html"]).contains("HEY!"));
}

/// Serve the test site with `other` as a second post, edit the first
/// post's body, and return what the server says of the render that
/// follows (the server, the line, and the site, in the order they end).
fn render_after_a_body_edit(other: &str) -> (Server, String, tempfile::TempDir) {
    let site = site();
    common::write(site.path(), "content/posts/other.md", other);
    let mut server = Server::start(site.path());
    let events = server.events();
    assert_eq!(next(&events).0, "problems");
    common::write(
        site.path(),
        "content/posts/hello.md",
        "+++\ntitle = \"Hello\"\ndate = 2024-01-01\n+++\nEdited body.\n",
    );
    rendered(&events);
    let line = server.next_line_containing("Rendered");
    (server, line, site)
}

#[test]
fn a_body_edit_renders_that_page_again_and_reuses_the_others() {
    let (server, line, _site) =
        render_after_a_body_edit("+++\ntitle = \"Other\"\ndate = 2023-01-01\n+++\nOther.\n");
    assert!(
        line.starts_with("Rendered 2 pages (1 unchanged, reused)"),
        "{line}"
    );
    assert!(server.get("/posts/hello/").1.contains("Edited body."));
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let site = site();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = common::host(site.path(), &["serve", "--port", &port]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}"))
            && stderr.contains("--port 0"),
        "{stderr}"
    );
}

#[test]
fn a_page_with_a_problem_is_rendered_again_every_time() {
    let (_server, line, _site) =
        render_after_a_body_edit("+++\ntitle = \"Odd\"\ndate = 2023-01-01\n+++\n{{< nosuch >}}\n");
    assert!(
        line.starts_with("Rendered 2 pages (0 unchanged, reused)"),
        "{line}"
    );
}

#[test]
fn a_site_toml_that_does_not_load_is_a_problem_at_its_line() {
    let site = site();
    let server = Server::start(site.path());
    let events = server.events();
    assert_eq!(next(&events).0, "problems");
    common::write(
        site.path(),
        "site.toml",
        &common::site_toml("paginate = 0\n"),
    );
    rendered(&events);
    let (name, data) = next(&server.events());
    assert_eq!(name, "problems");
    let problems: serde_json::Value = serde_json::from_str(&data).unwrap();
    assert_eq!(problems[0]["file"], "site.toml", "{data}");
    assert_eq!(problems[0]["line"], 3, "{data}");
    assert!(
        problems[0]["message"]
            .as_str()
            .unwrap()
            .contains("`paginate`"),
        "{data}"
    );
}
