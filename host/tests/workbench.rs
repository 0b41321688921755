//! The scripts workbench's HTTP API through the real `host serve`: every
//! endpoint, and the requests it must refuse (other origins, missing or
//! wrong tokens, rebound host names, paths out of `scripts/`, oversize
//! bodies, saves over a file changed on disk).

use crate::common;

use common::server::Server;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpStream;

const SHOUT: &str = r#""""
---
kind: macro
name: shout
---
"""
def render(ctx):
    print("shouting", ctx.args["text"])
    return "<b class='shout'>" + str(ctx.args["text"]).upper() + "</b>"
"#;

const TITLE_CASE: &str = r#""""
---
kind: transform
name: title_case
---
"""
def transform(post):
    return {"body": post["body"].replace("quiet words", "Quiet Words")}
"#;

fn site() -> tempfile::TempDir {
    let site = common::site("");
    common::write(site.path(), "scripts/shout.py", SHOUT);
    common::write(site.path(), "scripts/title_case.py", TITLE_CASE);
    common::write(
        site.path(),
        "scripts/broken.py",
        "\"\"\"\n---\nkind: macro\n---\n\"\"\"\ndef render(ctx):\n    return (1 +\n",
    );
    common::write(
        site.path(),
        "scripts/no_entry.py",
        "\"\"\"\n---\nkind: macro\n---\n\"\"\"\ndef other(ctx):\n    return ''\n",
    );
    common::write(
        site.path(),
        "scripts/note.py",
        "\"\"\"\n---\nkind: macro\nname: note\n---\n\"\"\"\ndef render(ctx):\n    return ''\n",
    );
    common::write(
        site.path(),
        "scripts/raises.py",
        "\"\"\"\n---\nkind: macro\nname: raises\n---\n\"\"\"\ndef render(ctx):\n    print('before')\n    raise ValueError('no')\n",
    );
    common::write(
        site.path(),
        "content/posts/hello.md",
        "---\ntitle: Hello\ndate: 2024-01-02\n---\n{{< shout text=\"hi\" >}} quiet words {{< raises >}}\n",
    );
    site
}

/// One HTTP/1.1 request with exactly these headers (`Host` included, so a
/// test can send a rebound name), and its status and JSON answer. Status 0:
/// the server closed the connection before taking the whole body (it may
/// answer a too-large body at once and close, and the client's rest of the
/// body then meets a closed socket).
fn request(
    server: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Value) {
    let addr = server
        .base
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let mut stream = TcpStream::connect(addr).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        head.push_str("Content-Type: application/json\r\n");
    }
    head.push_str("\r\n");
    let closed = |e: &std::io::Error| {
        matches!(
            e.kind(),
            std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
        )
    };
    let sent = stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body.as_bytes()));
    if let Err(e) = &sent {
        assert!(closed(e), "{e}");
    }
    let mut answer = Vec::new();
    match stream.read_to_end(&mut answer) {
        Ok(_) => {}
        Err(e) if closed(&e) && sent.is_err() => {
            return (0, Value::String("connection closed by the server".into()));
        }
        Err(e) => panic!("{e}"),
    }
    if answer.is_empty() && sent.is_err() {
        return (0, Value::String("connection closed by the server".into()));
    }
    let answer = String::from_utf8_lossy(&answer);
    let status = answer[9..12].parse().unwrap();
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (
        status,
        serde_json::from_str(body).unwrap_or(Value::String(body.to_owned())),
    )
}

/// Whether `value` is a string that contains `part`.
fn has(value: &Value, part: &str) -> bool {
    value.as_str().is_some_and(|text| text.contains(part))
}

/// The workbench as its page uses it: the right Host, Origin and token.
struct Client<'a> {
    server: &'a Server,
    host: String,
    token: String,
}

impl<'a> Client<'a> {
    fn new(server: &'a Server) -> Client<'a> {
        let host = server
            .base
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let (status, page) = server.get("/_blogmark/scripts");
        assert_eq!(status, 200);
        let token = page
            .split("name=\"blogmark-token\" content=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("the page carries its token")
            .to_owned();
        assert_eq!(token.len(), 64, "{token}");
        Client {
            server,
            host,
            token,
        }
    }

    fn call(&self, method: &str, path: &str, body: Value) -> (u16, Value) {
        let origin = format!("http://{}", self.host);
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        request(
            self.server,
            method,
            path,
            &[
                ("Host", &self.host),
                ("Origin", &origin),
                ("X-Blogmark-Token", &self.token),
            ],
            &body,
        )
    }

    fn script(&self, slug: &str) -> Value {
        let (status, list) = self.call("GET", "/_blogmark/api/scripts", Value::Null);
        assert_eq!(status, 200, "{list}");
        list["scripts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["slug"] == slug)
            .cloned()
            .unwrap_or(Value::Null)
    }
}

#[test]
fn the_list_says_each_scripts_kind_and_status_and_numbers() {
    let site = site();
    let server = Server::start(site.path());
    let client = Client::new(&server);
    let shout = client.script("shout");
    assert_eq!(shout["kind"], "macro");
    assert_eq!(shout["enabled"], true);
    assert_eq!(shout["status"], "ok");
    assert_eq!(shout["numbers"]["renders"], 1, "{shout}");
    assert_eq!(shout["numbers"]["calls"], 1, "{shout}");
    assert!(shout["numbers"]["p50_us"].as_u64().unwrap() > 0, "{shout}");
    assert_eq!(client.script("title_case")["kind"], "transform");
    assert_eq!(client.script("broken")["status"], "syntax error");
    assert!(
        client.script("broken")["detail"]
            .as_str()
            .unwrap()
            .contains("scripts/broken.py:7"),
        "{}",
        client.script("broken")
    );
    assert_eq!(client.script("no_entry")["status"], "no entrypoint");
    assert_eq!(client.script("note")["status"], "shadowed");
    let raises = client.script("raises");
    assert_eq!(raises["status"], "failing", "{raises}");
    assert_eq!(raises["numbers"]["failures_last"], 1);
    let (status, pages) = client.call("GET", "/_blogmark/api/pages", Value::Null);
    assert_eq!(status, 200);
    assert_eq!(pages["pages"], json!(["content/posts/hello.md"]));
}

#[test]
fn check_finds_syntax_errors_at_their_line_and_the_entrypoint() {
    let site = site();
    let server = Server::start(site.path());
    let client = Client::new(&server);
    let (status, checked) = client.call(
        "POST",
        "/_blogmark/api/check",
        json!({ "slug": "shout", "text": "\"\"\"\n---\nkind: macro\n---\n\"\"\"\ndef render(ctx):\n    return [\n\nx = 1\n" }),
    );
    assert_eq!(status, 200);
    let problem = &checked["problems"][0];
    assert_eq!(problem["severity"], "error", "{checked}");
    assert_eq!(problem["line"], 7, "{checked}");
    assert!(has(&problem["message"], "SyntaxError"), "{problem}");
    let (_, checked) = client.call(
        "POST",
        "/_blogmark/api/check",
        json!({ "slug": "shout", "text": SHOUT }),
    );
    assert_eq!(checked["problems"], json!([]), "{checked}");
    assert_eq!(checked["functions"], json!(["render"]));
    assert_eq!(checked["name"], "shout");
    let no_entry = SHOUT.replace("def render", "def draw");
    let (_, checked) = client.call(
        "POST",
        "/_blogmark/api/check",
        json!({ "slug": "shout", "text": no_entry }),
    );
    assert!(
        has(&checked["problems"][0]["message"], "no function `render`"),
        "{checked}"
    );
}

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one session of the workbench, each run checked in turn"
)]
fn run_shows_html_output_failure_class_and_time_and_a_transforms_diff() {
    let site = site();
    let server = Server::start(site.path());
    let client = Client::new(&server);
    let (status, ran) = client.call(
        "POST",
        "/_blogmark/api/run",
        json!({ "slug": "shout", "text": SHOUT, "sample": { "args": { "text": "hey" } } }),
    );
    assert_eq!(status, 200, "{ran}");
    assert_eq!(ran["html"], "<b class='shout'>HEY</b>");
    assert_eq!(ran["stdout"], "shouting hey\n");
    assert!(ran["elapsed_us"].as_u64().unwrap() > 0);
    assert!(ran["fuel"].as_u64().unwrap() > 0);
    assert!(ran["failure"].is_null());
    // Unsaved text runs as typed; the file is not touched.
    let looping = SHOUT
        .replace("name: shout", "name: shout\ntimeout_ms: 100")
        .replace("    print(", "    while True: pass\n    print(");
    let (_, ran) = client.call(
        "POST",
        "/_blogmark/api/run",
        json!({ "slug": "shout", "text": looping, "sample": { "args": { "text": "x" } } }),
    );
    assert_eq!(ran["failure"]["class"], "Timeout", "{ran}");
    assert_eq!(
        std::fs::read_to_string(site.path().join("scripts/shout.py")).unwrap(),
        SHOUT
    );
    let (_, ran) = client.call(
        "POST",
        "/_blogmark/api/run",
        json!({ "slug": "raises", "text": std::fs::read_to_string(site.path().join("scripts/raises.py")).unwrap() }),
    );
    assert_eq!(ran["failure"]["class"], "GuestError", "{ran}");
    assert_eq!(ran["failure"]["line"], 9, "{ran}");
    assert_eq!(ran["stdout"], "before\n", "{ran}");
    assert!(ran["elapsed_us"].as_u64().unwrap() > 0, "{ran}");
    let (_, ran) = client.call(
        "POST",
        "/_blogmark/api/run",
        json!({ "slug": "title_case", "text": TITLE_CASE, "post": "content/posts/hello.md" }),
    );
    let diff = ran["diff"].as_str().unwrap();
    assert!(
        diff.contains("-{{< shout text=\"hi\" >}} quiet words"),
        "{ran}"
    );
    assert!(
        diff.contains("+{{< shout text=\"hi\" >}} Quiet Words"),
        "{ran}"
    );
    // A transform that fails: its class, line and output, and no diff.
    let raising = TITLE_CASE.replace(
        "    return {",
        "    print('looking at', post['path'])\n    raise KeyError('title')\n    return {",
    );
    let (_, ran) = client.call(
        "POST",
        "/_blogmark/api/run",
        json!({ "slug": "title_case", "text": raising, "post": "content/posts/hello.md" }),
    );
    assert_eq!(ran["failure"]["class"], "GuestError", "{ran}");
    assert_eq!(ran["failure"]["line"], 9, "{ran}");
    assert_eq!(
        ran["stdout"], "looking at content/posts/hello.md\n",
        "{ran}"
    );
    assert!(ran["diff"].is_null(), "{ran}");
    let (status, ran) = client.call(
        "POST",
        "/_blogmark/api/run",
        json!({ "slug": "title_case", "text": TITLE_CASE, "post": "../site.toml" }),
    );
    assert_eq!(status, 200);
    assert!(has(&ran["problems"][0]["message"], "not a page"), "{ran}");
    // A post that is a link out of the site, or under a linked folder, is
    // never read.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(
        outside.path().join("secret.md"),
        "---\ntitle: OUTSIDE-SECRET\n---\nOUTSIDE-SECRET\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("secret.md"),
        site.path().join("content/posts/leak.md"),
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.path(), site.path().join("content/linked")).unwrap();
    for (post, link) in [
        ("content/posts/leak.md", "content/posts/leak.md"),
        ("content/linked/secret.md", "content/linked"),
    ] {
        let (status, ran) = client.call(
            "POST",
            "/_blogmark/api/run",
            json!({ "slug": "title_case", "text": TITLE_CASE, "post": post }),
        );
        assert_eq!(status, 200);
        assert!(!ran.to_string().contains("OUTSIDE-SECRET"), "{ran}");
        assert!(
            has(
                &ran["problems"][0]["message"],
                &format!("`{link}` is a symbolic link")
            ),
            "{ran}"
        );
    }
    let (_, ran) = client.call(
        "POST",
        "/_blogmark/api/run",
        json!({ "slug": "shout", "text": SHOUT, "sample": { "page": "content/../site.toml" } }),
    );
    assert!(has(&ran["problems"][0]["message"], "not a page"), "{ran}");
}

#[test]
fn save_is_atomic_and_a_file_changed_on_disk_is_a_conflict() {
    let site = site();
    let server = Server::start(site.path());
    let client = Client::new(&server);
    let (status, opened) = client.call("GET", "/_blogmark/api/scripts/shout", Value::Null);
    assert_eq!(status, 200);
    assert_eq!(opened["text"], SHOUT);
    let version = opened["version"].as_str().unwrap().to_owned();
    let edited = SHOUT.replace(".upper()", ".upper() + '!'");
    let (status, saved) = client.call(
        "PUT",
        "/_blogmark/api/scripts/shout",
        json!({ "text": edited, "version": version }),
    );
    assert_eq!(status, 200, "{saved}");
    assert_eq!(
        std::fs::read_to_string(site.path().join("scripts/shout.py")).unwrap(),
        edited
    );
    // A save against the old version: someone else's edit is never lost.
    std::fs::write(site.path().join("scripts/shout.py"), "# edited elsewhere\n").unwrap();
    let (status, conflict) = client.call(
        "PUT",
        "/_blogmark/api/scripts/shout",
        json!({ "text": "mine", "version": saved["version"] }),
    );
    assert_eq!(status, 409, "{conflict}");
    assert_eq!(conflict["current"]["text"], "# edited elsewhere\n");
    assert_eq!(
        std::fs::read_to_string(site.path().join("scripts/shout.py")).unwrap(),
        "# edited elsewhere\n"
    );
    // Creating over an existing file is a conflict too.
    let (status, _) = client.call(
        "PUT",
        "/_blogmark/api/scripts/shout",
        json!({ "text": "x" }),
    );
    assert_eq!(status, 409);
    let leftovers: Vec<_> = std::fs::read_dir(site.path().join("scripts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".py"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn new_enable_disable_and_delete() {
    let site = site();
    let server = Server::start(site.path());
    let client = Client::new(&server);
    let (status, made) = client.call(
        "POST",
        "/_blogmark/api/scripts",
        json!({ "name": "fresh", "kind": "transform" }),
    );
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["path"], "scripts/fresh.py");
    let text = std::fs::read_to_string(site.path().join("scripts/fresh.py")).unwrap();
    assert!(
        text.contains("kind: transform") && text.contains("def transform(post)"),
        "{text}"
    );
    let (status, _) = client.call(
        "POST",
        "/_blogmark/api/scripts",
        json!({ "name": "fresh", "kind": "macro" }),
    );
    assert_eq!(status, 409);
    let (status, _) = client.call(
        "POST",
        "/_blogmark/api/scripts",
        json!({ "name": "../evil", "kind": "macro" }),
    );
    assert_eq!(status, 400);
    let (status, _) = client.call(
        "POST",
        "/_blogmark/api/scripts",
        json!({ "name": "ok", "kind": "plugin" }),
    );
    assert_eq!(status, 400);

    let version = client.script("shout")["version"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, changed) = client.call(
        "POST",
        "/_blogmark/api/scripts/shout/enabled",
        json!({ "version": version, "enabled": false }),
    );
    assert_eq!(status, 200, "{changed}");
    assert!(
        std::fs::read_to_string(site.path().join("scripts/shout.py"))
            .unwrap()
            .contains("enabled: false")
    );
    let (status, _) = client.call(
        "POST",
        "/_blogmark/api/scripts/shout/enabled",
        json!({ "version": version, "enabled": true }),
    );
    assert_eq!(status, 409, "the old version is gone");
    let (status, _) = client.call(
        "POST",
        "/_blogmark/api/scripts/shout/enabled",
        json!({ "version": changed["version"], "enabled": true }),
    );
    assert_eq!(status, 200);
    assert_eq!(client.script("shout")["enabled"], true);

    let version = client.script("fresh")["version"].clone();
    let (status, _) = client.call(
        "DELETE",
        "/_blogmark/api/scripts/fresh",
        json!({ "version": "0" }),
    );
    assert_eq!(status, 409);
    assert!(site.path().join("scripts/fresh.py").exists());
    let (status, _) = client.call(
        "DELETE",
        "/_blogmark/api/scripts/fresh",
        json!({ "version": version }),
    );
    assert_eq!(status, 200);
    assert!(!site.path().join("scripts/fresh.py").exists());
    let (status, _) = client.call("GET", "/_blogmark/api/scripts/fresh", Value::Null);
    assert_eq!(status, 404);
}

#[test]
fn requests_from_elsewhere_or_for_paths_out_of_scripts_are_refused() {
    let site = site();
    let server = Server::start(site.path());
    let client = Client::new(&server);
    let host = client.host.clone();
    let origin = format!("http://{host}");
    let save = json!({ "text": "x = 1\n" }).to_string();
    let put = "/_blogmark/api/scripts/made";
    for (what, headers) in [
        (
            "no token",
            vec![("Host", host.as_str()), ("Origin", origin.as_str())],
        ),
        (
            "wrong token",
            vec![
                ("Host", host.as_str()),
                ("Origin", origin.as_str()),
                ("X-Blogmark-Token", "00"),
            ],
        ),
        (
            "another origin",
            vec![
                ("Host", host.as_str()),
                ("Origin", "http://evil.example"),
                ("X-Blogmark-Token", client.token.as_str()),
            ],
        ),
        (
            "no origin",
            vec![
                ("Host", host.as_str()),
                ("X-Blogmark-Token", client.token.as_str()),
            ],
        ),
    ] {
        let (status, answer) = request(&server, "PUT", put, &headers, &save);
        assert_eq!(status, 403, "{what}: {answer}");
        assert!(answer["error"].is_string(), "{what}: {answer}");
        let (status, _) = request(&server, "POST", "/_blogmark/api/run", &headers, "{}");
        assert_eq!(status, 403, "{what}: a run");
    }
    assert!(!site.path().join("scripts/made.py").exists());
    // DNS rebinding: another name for 127.0.0.1 gets nothing, not even
    // the page with the token.
    let port = host.rsplit(':').next().unwrap();
    let rebound = format!("evil.example:{port}");
    for path in [
        "/_blogmark/scripts",
        "/_blogmark/api/scripts",
        "/_blogmark/api/scripts/shout",
    ] {
        let (status, answer) = request(&server, "GET", path, &[("Host", &rebound)], "");
        assert_eq!(status, 403, "{path}: {answer}");
        assert!(!answer.to_string().contains(&client.token));
    }
    // Names that leave scripts/.
    for slug in ["..%2Fsite", "%2E%2E", "Shout", "a.b", "x%00"] {
        let (status, answer) = client.call(
            "GET",
            &format!("/_blogmark/api/scripts/{slug}"),
            Value::Null,
        );
        assert_eq!(status, 400, "{slug}: {answer}");
        let (status, _) = client.call(
            "PUT",
            &format!("/_blogmark/api/scripts/{slug}"),
            json!({ "text": "x" }),
        );
        assert_eq!(status, 400, "{slug}");
    }
    let (status, _) = client.call(
        "POST",
        "/_blogmark/api/check",
        json!({ "slug": "../x", "text": "" }),
    );
    assert_eq!(status, 400);
    let before = std::fs::read_to_string(site.path().join(blogmark_host::config::FILE)).unwrap();
    assert!(before.contains("title"), "site.toml untouched");
    // Oversize: a script past the cap, and a body past the server's limit.
    let big = "#".repeat((1 << 20) + 1);
    let (status, answer) = client.call("PUT", put, json!({ "text": big }));
    assert_eq!(status, 413, "{answer}");
    let huge = "#".repeat(7 << 20);
    let (status, _) = client.call("PUT", put, json!({ "text": huge }));
    assert!(status == 413 || status == 0, "{status}");
    assert!(!site.path().join("scripts/made.py").exists());
}

#[test]
fn beyond_loopback_the_workbench_is_read_only_unless_allowed() {
    let site = site();
    let mut server = Server::start_with(site.path(), &["--bind", "0.0.0.0"]);
    server.next_line_containing("read-only");
    let client = Client::new(&server);
    let (status, list) = client.call("GET", "/_blogmark/api/scripts", Value::Null);
    assert_eq!(status, 200);
    assert_eq!(list["writable"], false);
    let (status, answer) = client.call(
        "PUT",
        "/_blogmark/api/scripts/made",
        json!({ "text": "x = 1\n" }),
    );
    assert_eq!(status, 403);
    assert!(has(&answer["error"], "--allow-remote-edits"), "{answer}");
    let (status, _) = client.call(
        "POST",
        "/_blogmark/api/run",
        json!({ "slug": "shout", "text": SHOUT }),
    );
    assert_eq!(status, 200, "runs change nothing and stay allowed");
    drop(server);
    let server = Server::start_with(site.path(), &["--bind", "0.0.0.0", "--allow-remote-edits"]);
    let client = Client::new(&server);
    let (status, _) = client.call(
        "PUT",
        "/_blogmark/api/scripts/made",
        json!({ "text": "x = 1\n" }),
    );
    assert_eq!(status, 200);
}

#[test]
fn saving_a_script_reloads_the_pages_and_serves_its_new_output() {
    let site = site();
    let server = Server::start(site.path());
    let client = Client::new(&server);
    let events = server.events();
    assert_eq!(
        events.recv_timeout(common::server::PATIENCE).unwrap().0,
        "problems"
    );
    let (_, page) = server.get("/posts/hello/");
    assert!(page.contains("<b class='shout'>HI</b>"), "{page}");
    let version = client.script("shout")["version"].clone();
    let edited = SHOUT.replace(".upper()", ".upper() + '!!'");
    let (status, _) = client.call(
        "PUT",
        "/_blogmark/api/scripts/shout",
        json!({ "text": edited, "version": version }),
    );
    assert_eq!(status, 200);
    loop {
        let (name, _) = events
            .recv_timeout(common::server::PATIENCE)
            .expect("a reload");
        if name == "reload" {
            break;
        }
    }
    let (_, page) = server.get("/posts/hello/");
    assert!(page.contains("<b class='shout'>HI!!</b>"), "{page}");
}

#[test]
fn hooks_run_on_a_markdown_sample_and_generators_list_what_they_make() {
    let site = site();
    common::write(site.path(), "data/books/dune.toml", "title = \"Dune\"\n");
    let server = Server::start(site.path());
    let client = Client::new(&server);
    let hook = "\"\"\"\n---\nkind: hook\nhook: link\n---\n\"\"\"\n\
                def render(ctx):\n    print('hooked', ctx.link.url)\n    \
                return None if ctx.link.url.startswith('/') else f'<a class=out>{ctx.link.text}</a>'\n";
    let (_, checked) = client.call(
        "POST",
        "/_blogmark/api/check",
        json!({ "slug": "links", "text": hook }),
    );
    assert_eq!(checked["kind"], "hook", "{checked}");
    assert_eq!(checked["problems"], json!([]), "{checked}");
    let (status, ran) = client.call(
        "POST",
        "/_blogmark/api/run",
        json!({ "slug": "links", "text": hook, "markdown": "[a](https://a.example/) and [b](/b/)" }),
    );
    assert_eq!(status, 200, "{ran}");
    assert_eq!(
        ran["html"], "<p><a class=out>a</a> and <a href=\"/b/\">b</a></p>\n",
        "{ran}"
    );
    assert_eq!(
        ran["stdout"], "hooked https://a.example/\n",
        "the first run's output"
    );
    let (_, ran) = client.call(
        "POST",
        "/_blogmark/api/run",
        json!({ "slug": "links", "text": hook, "markdown": "no links" }),
    );
    assert!(
        has(&ran["problems"][0]["message"], "the sample has no link"),
        "{ran}"
    );
    let failing = hook.replace("    print(", "    raise ValueError('no')\n    print(");
    let (_, ran) = client.call(
        "POST",
        "/_blogmark/api/run",
        json!({ "slug": "links", "text": failing, "markdown": "[a](https://a.example/)" }),
    );
    assert_eq!(ran["failure"]["class"], "GuestError", "{ran}");
    assert_eq!(
        ran["html"], "<p><a href=\"https://a.example/\">a</a></p>\n",
        "a failing hook leaves the default: {ran}"
    );

    let generator = "\"\"\"\n---\nkind: generator\n---\n\"\"\"\n\
                     def generate(ctx):\n    return {'pages': [{'path': f'pages/books/{k}.md', \
                     'front_matter': {'title': ctx.data['books'][k]['title']}} for k in ctx.data['books']], \
                     'files': [{'output': 'n.txt', 'content': '1'}]}\n";
    let (_, ran) = client.call(
        "POST",
        "/_blogmark/api/run",
        json!({ "slug": "books", "text": generator, "generate": true }),
    );
    let html = ran["html"].as_str().unwrap_or_else(|| panic!("{ran}"));
    assert!(html.starts_with("<p>1 pages, 1 files</p>"), "{html}");
    assert!(
        html.contains("<td>content/pages/books/dune.md</td><td>Dune</td>"),
        "{html}"
    );
    assert!(html.contains("<td>n.txt</td><td>1</td>"), "{html}");
    // A generator asked to render a sample, and a hook asked to generate:
    let (_, ran) = client.call(
        "POST",
        "/_blogmark/api/run",
        json!({ "slug": "books", "text": generator, "markdown": "x" }),
    );
    assert!(
        has(&ran["problems"][0]["message"], "a generator, not a hook"),
        "{ran}"
    );
}
