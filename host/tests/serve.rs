//! `host serve` through the real binary: a real HTTP server on a free
//! port, its event stream, real edits of the site's files, Ctrl-C.

use crate::common;

use common::browser::browser;
use common::server::{PATIENCE, Server};

use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

fn next(events: &mpsc::Receiver<(String, String)>) -> (String, String) {
    events.recv_timeout(PATIENCE).expect("an event comes")
}

/// The server's event stream, past the problems it starts with.
fn listen(server: &Server) -> mpsc::Receiver<(String, String)> {
    let events = server.events();
    assert_eq!(next(&events).0, "problems");
    events
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

/// Write `text` to `path` under `root` as an editor that saves by renaming
/// does, then renamed into place. The watcher sees one finished change, so
/// the edit makes one render; a save in several writes (which may make two)
/// is `watch.rs`'s unit tests'. The file is written in the site's own
/// folder, which the watcher ignores, not beside its target as
/// `blogmark_host::atomic_file::write` does: there it would be a source
/// change of its own.
fn edit(root: &std::path::Path, path: &str, text: &str) {
    let file = root.join(path);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let saving = tempfile::NamedTempFile::new_in(root).unwrap();
    std::fs::write(saving.path(), text).unwrap();
    saving.persist(file).unwrap();
}

/// The renders that follow an edit, until one of them has `settled` its
/// problems and changed files. An edit makes one render, but an earlier
/// edit's may still be on its way (a folder made, then a file renamed into
/// it, may be two batches on a busy machine).
fn rendered_until(
    events: &mpsc::Receiver<(String, String)>,
    settled: impl Fn(&serde_json::Value, &serde_json::Value) -> bool,
) -> (serde_json::Value, serde_json::Value) {
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let (problems, changed) = rendered(events);
        if settled(&problems, &changed) {
            return (problems, changed);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no render settled: the last had problems {problems} and changed {changed}"
        );
    }
}

/// Whether `changed` names `file`.
fn names(changed: &serde_json::Value, file: &str) -> bool {
    changed
        .as_array()
        .is_some_and(|files| files.iter().any(|f| f == file))
}

fn site() -> tempfile::TempDir {
    let site = common::site("");
    edit(
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

    edit(
        site.path(),
        "content/posts/hello.md",
        "+++\ntitle = \"Hello\"\ndate = 2024-01-01\n+++\nSecond words.\n",
    );
    let (problems, changed) = rendered_until(&events, |_, changed| {
        names(changed, "posts/hello/index.html")
    });
    assert_eq!(problems, serde_json::json!([]));
    // Only the pages that show the body reload: the post and the feed.
    assert!(
        !names(&changed, "index.html"),
        "the listing shows no body: {changed}"
    );
    assert!(server.get("/posts/hello/").1.contains("Second words."));

    // A style sheet: every page may use it, so the event names it and the
    // pages' script reloads on it.
    edit(site.path(), "static/extra.css", "p { color: red }");
    let (_, changed) = rendered_until(&events, |_, changed| names(changed, "extra.css"));
    assert_eq!(changed, serde_json::json!(["extra.css"]));
    // A template: every page that uses it.
    edit(
        site.path(),
        "templates/post.html",
        "<html><body><main>{{ page.content | safe }}</main></body></html>",
    );
    rendered_until(&events, |_, changed| {
        names(changed, "posts/hello/index.html")
    });
    assert!(
        server
            .get("/posts/hello/")
            .1
            .starts_with("<html><body><main>")
    );

    edit(
        site.path(),
        "content/posts/hello.md",
        "+++\ntitle = \"Hello\"\ndate = \"someday\"\n+++\nx\n",
    );
    rendered_until(&events, |problems, _| {
        problems.to_string().contains("cannot read the date")
    });
    // A page opened now is told the problems at once.
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

    edit(
        site.path(),
        "content/posts/hello.md",
        "+++\ntitle = \"Hello\"\ndate = 2024-01-01\n+++\nFixed.\n",
    );
    rendered_until(&events, |problems, _| problems == &serde_json::json!([]));
    assert_eq!(next(&server.events()), ("problems".into(), "[]".into()));
}

#[test]
fn ctrl_c_stops_the_server_cleanly_even_with_pages_open() {
    let site = site();
    let mut server = Server::start(site.path());
    // An open page's stream, held while the server stops.
    let _open_page = listen(&server);
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
    edit(
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

    let events = listen(&server);
    std::fs::remove_file(site.path().join("content/posts/broken.md")).unwrap();
    rendered(&events);
    let dom = browser_dom(&page);
    assert!(dom.contains("First words."), "{dom}");
    assert!(!dom.contains(r#"<div id="blogmark-overlay""#), "{dom}");
}

#[test]
fn in_a_browser_a_problem_of_a_whole_folder_is_named_without_line() {
    let site = site();
    // Past 30 pages that say nothing of `nav`, the navigation lists none:
    // a warning about `content/pages` as a whole, with no line to give.
    for n in 0..31 {
        edit(
            site.path(),
            &format!("content/pages/p{n}.md"),
            &format!("+++\ntitle = \"P{n}\"\n+++\nx\n"),
        );
    }
    let server = Server::start(site.path());
    let dom = browser_dom(&format!("{}posts/hello/", server.base));
    assert!(
        dom.contains(
            r#"<div class="blogmark-problem">content/pages: warning: the navigation lists no page"#
        ),
        "{dom}"
    );
}

#[test]
fn after_a_run_of_edits_the_served_files_equal_a_clean_render() {
    let site = site();
    let root = site.path();
    // Pages that read other pages and scripts, so that edits elsewhere
    // must reach them.
    edit(
        root,
        "content/pages/latest.md",
        "+++\ntitle = \"Latest\"\n+++\n{{< recent_posts >}}\n",
    );
    edit(
        root,
        "scripts/shout.py",
        "def render(ctx):\n    return ctx.args['text'].upper()\n",
    );
    edit(
        root,
        "content/posts/loud.md",
        "+++\ntitle = \"Loud\"\ndate = 2023-01-01\n+++\n{{< shout text=\"hey\" >}}\n",
    );
    let server = Server::start(root);
    let events = listen(&server);
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
            Some(text) => edit(root, path, text),
            None => std::fs::remove_file(root.join(path)).unwrap(),
        }
        rendered(&events);
    }
    let served = served_equals_a_clean_render(root, &server, &events);
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
    edit(site.path(), "content/posts/other.md", other);
    let mut server = Server::start(site.path());
    let events = listen(&server);
    edit(
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
    let events = listen(&server);
    edit(
        site.path(),
        "site.toml",
        &common::site_toml("paginate = 0\n"),
    );
    rendered_until(&events, |problems, _| {
        problems.to_string().contains("site.toml")
    });
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

/// Wait for the last render, then check that the served folder equals,
/// file for file and byte for byte, a clean `host render` of the same
/// sources; returns the served files.
fn served_equals_a_clean_render(
    root: &std::path::Path,
    server: &Server,
    events: &mpsc::Receiver<(String, String)>,
) -> std::collections::BTreeMap<String, Vec<u8>> {
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
        assert!(
            served[path] == *bytes,
            "{path} differs:\nserved: {}\nclean: {}",
            String::from_utf8_lossy(&served[path]),
            String::from_utf8_lossy(bytes)
        );
    }
    served
}

/// A small deterministic generator (xorshift64*), so that a failing
/// sequence can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    }
}

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one random sequence of every kind of edit, replayable from its seed"
)]
fn after_random_edits_of_posts_scripts_templates_and_data_the_served_files_equal_a_clean_render() {
    let mut rng = Rng(common::seed("BLOGMARK_SEED"));
    let site = site();
    let root = site.path();
    // A data file per book, a macro and a generator that read them, a
    // link hook, and a page that queries the posts.
    let book = |title: usize| format!("title = \"Book {title}\"\nyear = {}\n", 1900 + title);
    edit(root, "data/books/a.toml", &book(0));
    edit(root, "data/books/b.toml", &book(1));
    edit(
        root,
        "scripts/book.py",
        "def render(ctx):\n    b = ctx.data['books'][ctx.args['key']]\n    return f\"{b.title} ({b.year})\"\n",
    );
    edit(
        root,
        "scripts/books.py",
        "\"\"\"\n---\nkind: generator\n---\n\"\"\"\ndef generate(ctx):\n    \
         return [{'path': f'pages/books/{k}.md', 'front_matter': {'title': ctx.data['books'][k].title}, \
         'body': f'{{{{< book key=\"{k}\" >}}}}'} for k in ctx.data['books']]\n",
    );
    let hook = |mark: &str| {
        format!(
            "\"\"\"\n---\nkind: hook\nhook: link\n---\n\"\"\"\ndef render(ctx):\n    \
             return f'<a href=\"{{ctx.link.url}}\">{{ctx.link.text}}{mark}</a>'\n"
        )
    };
    edit(root, "scripts/external.py", &hook(" ↗"));
    edit(
        root,
        "scripts/related.py",
        "def render(ctx):\n    return ', '.join(p.title for p in ctx.site.pages(tag='t1', sort='title', reverse=False))\n",
    );
    edit(
        root,
        "content/pages/related.md",
        "+++\ntitle = \"Related\"\n+++\n{{< related >}}\n",
    );
    let script = |suffix: &str| {
        format!(
            "\"\"\"\n---\nkind: macro\nname: shout\n---\n\"\"\"\ndef render(ctx):\n    return str(ctx.args.get('text', '')).upper() + '{suffix}'\n"
        )
    };
    edit(root, "scripts/shout.py", &script(""));
    edit(
        root,
        "content/pages/latest.md",
        "+++\ntitle = \"Latest\"\n+++\n{{< recent_posts >}}\n",
    );
    let server = Server::start(root);
    let events = listen(&server);
    let mut posts: Vec<String> = vec!["content/posts/hello.md".into()];
    let templates = [
        "<html><body><h1>{{ page.title }}</h1>{{ page.content | safe }}</body></html>",
        "<html><body><article>{{ page.content | safe }}</article><p>{{ page.date }}</p></body></html>",
    ];
    for step in 0..24 {
        let n = rng.below(1000);
        let post_text = |title: usize, body: usize| {
            format!(
                "+++\ntitle = \"Post {title}\"\ndate = 2024-01-{:02}\ntags = [\"t{}\"]\n+++\nBody {body} {{{{< shout text=\"w{body}\" >}}}} \
                 [link](https://example.com/{body}) {{{{< book key=\"{}\" >}}}}\n",
                title % 28 + 1,
                title % 3,
                ["a", "b"][body % 2]
            )
        };
        let what = match rng.below(11) {
            0 => {
                let path = format!("content/posts/new-{step}.md");
                edit(root, &path, &post_text(n, n));
                posts.push(path.clone());
                format!("add {path}")
            }
            1 | 2 if !posts.is_empty() => {
                let path = posts[rng.below(posts.len())].clone();
                edit(root, &path, &post_text(step, n));
                format!("edit {path}")
            }
            3 if posts.len() > 1 => {
                let from = posts.remove(rng.below(posts.len()));
                let to = format!("content/posts/moved-{step}.md");
                std::fs::rename(root.join(&from), root.join(&to)).unwrap();
                posts.push(to.clone());
                format!("rename {from} to {to}")
            }
            4 if posts.len() > 1 => {
                let path = posts.remove(rng.below(posts.len()));
                std::fs::remove_file(root.join(&path)).unwrap();
                format!("delete {path}")
            }
            5 => {
                edit(root, "scripts/shout.py", &script(&"!".repeat(n % 4)));
                "edit scripts/shout.py".to_owned()
            }
            6 => {
                // Renamed away (its calls fail) or back.
                let (from, to) = if root.join("scripts/shout.py").exists() {
                    ("scripts/shout.py", "scripts/loud.py")
                } else {
                    ("scripts/loud.py", "scripts/shout.py")
                };
                let text = std::fs::read_to_string(root.join(from)).unwrap();
                std::fs::remove_file(root.join(from)).unwrap();
                let name = if to.ends_with("loud.py") {
                    "loud"
                } else {
                    "shout"
                };
                edit(
                    root,
                    to,
                    &text
                        .replace("name: shout", &format!("name: {name}"))
                        .replace("name: loud", &format!("name: {name}")),
                );
                format!("rename {from} to {to}")
            }
            8 => {
                let path = ["data/books/a.toml", "data/books/b.toml"][n % 2];
                edit(root, path, &book(n));
                format!("edit {path}")
            }
            9 => {
                if root.join("data/books/c.toml").exists() {
                    std::fs::remove_file(root.join("data/books/c.toml")).unwrap();
                    "delete data/books/c.toml".to_owned()
                } else {
                    edit(root, "data/books/c.toml", &book(n));
                    "add data/books/c.toml".to_owned()
                }
            }
            10 => {
                edit(root, "scripts/external.py", &hook(&"↗".repeat(n % 3)));
                "edit scripts/external.py".to_owned()
            }
            _ => {
                let path = root.join("templates/post.html");
                if path.exists() && n.is_multiple_of(2) {
                    std::fs::remove_file(&path).unwrap();
                    "delete templates/post.html".to_owned()
                } else {
                    edit(root, "templates/post.html", templates[n % 2]);
                    "edit templates/post.html".to_owned()
                }
            }
        };
        eprintln!("step {step}: {what}");
        rendered(&events);
        if step % 8 == 7 {
            served_equals_a_clean_render(root, &server, &events);
        }
    }
}

#[test]
fn a_new_import_shows_at_once_and_the_site_snapshot_never_blocks_a_render() {
    let site = site();
    let cache = tempfile::tempdir().unwrap();
    let root = site.path();
    edit(
        root,
        "content/posts/hello.md",
        "+++\ntitle = \"Hello\"\ndate = 2024-01-01\n+++\n{{< sorted >}}\n",
    );
    edit(
        root,
        "scripts/sorted.py",
        "\"\"\"\n---\nname: sorted\n---\n\"\"\"\n\ndef render(ctx):\n    return 'plain'\n",
    );
    let cache_dir = cache.path().to_str().unwrap();
    let mut server = Server::start_with_env(root, &["-v"], &[("BLOGMARK_CACHE_DIR", cache_dir)]);
    let events = listen(&server);
    // (The first render's lines came before the address.)
    assert!(server.get("/posts/hello/").1.contains("plain"));

    // A module no snapshot holds yet.
    edit(
        root,
        "scripts/sorted.py",
        "\"\"\"\n---\nname: sorted\n---\n\"\"\"\nimport graphlib\n\ndef render(ctx):\n    \
         ts = graphlib.TopologicalSorter({'b': {'a'}, 'c': {'b'}})\n    \
         return '-'.join(ts.static_order())\n",
    );
    rendered_until(&events, |problems, _| problems == &serde_json::json!([]));
    assert!(server.get("/posts/hello/").1.contains("a-b-c"));
    // The render's sandbox: with reset in place an image of the base guest
    // (no component built or compiled); else the base guest while the
    // component snapshot builds in the background.
    let ready = server.next_line_containing("Python sandbox ready");
    let snapshot_way = if ready.contains("site_snapshot=\"image\"") {
        "image"
    } else {
        assert!(ready.contains("site_snapshot=\"pending\""), "{ready}");
        "component"
    };
    // With an image, compiled code (`guest-<component>-<engine>.cwasm`: the
    // quick and the optimized compile) of one component only, the base
    // guest. (A pending component snapshot says the render did not wait.)
    let components: std::collections::BTreeSet<String> =
        std::fs::read_dir(cache.path().join("compiled"))
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|name| name.ends_with(".cwasm"))
            .filter_map(|name| name.split('-').nth(1).map(str::to_owned))
            .collect();
    if snapshot_way == "image" {
        assert_eq!(components.len(), 1, "only the base guest: {components:?}");
    }
    if snapshot_way == "component" {
        // Built in the background, it is picked up by the next render.
        // Built and compiled on one core while the server goes on: on a
        // loaded machine that takes minutes.
        server.next_line_within("site snapshot ready modules=1", PATIENCE * 5);
        edit(
            root,
            "content/posts/hello.md",
            // A call with other arguments: no result is stored for it.
            "+++\ntitle = \"Hello\"\ndate = 2024-01-01\n+++\nNow: {{< sorted again=1 >}}\n",
        );
        // Renders that changed nothing (a second event of an earlier save)
        // may be queued from the wait above: the one wanted writes the page.
        let (problems, changed) = rendered_until(&events, |_, changed| {
            names(changed, "posts/hello/index.html")
        });
        let ready = server.next_line_containing("Python sandbox ready");
        assert!(ready.contains("site_snapshot=\"component\""), "{ready}");
        let page = server.get("/posts/hello/").1;
        assert!(
            page.contains("Now: a-b-c"),
            "problems {problems}, changed {changed}, page {page}"
        );
    }
}
