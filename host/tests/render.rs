//! `host render` and `host check` end to end, on real files and a real
//! SQLite database.

use blogmark_host::diagnostics::Severity;
use blogmark_host::render::{BuildOptions, build};
use blogmark_host::store::Store;
use std::path::{Path, PathBuf};
use std::process::Command;

fn copy_dir(from: &Path, to: &Path) {
    let built = |e: &walkdir::DirEntry| e.file_name() == "public" || e.file_name() == ".blogmark";
    for entry in walkdir::WalkDir::new(from)
        .into_iter()
        .filter_entry(|e| !built(e))
    {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A copy of the demo site, which is what `host init` writes.
fn demo_site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo"),
        dir.path(),
    );
    dir
}

fn options(root: &Path) -> BuildOptions {
    BuildOptions {
        jobs: Some(2),
        ..BuildOptions::render(root)
    }
}

fn host(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_host"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn read(root: &Path, path: &str) -> String {
    std::fs::read_to_string(root.join("public").join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn files(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            e.path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    files.sort();
    files
}

#[test]
fn the_demo_site_renders_as_recorded() {
    let site = demo_site();
    let report = build(&options(site.path())).unwrap();
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    insta::assert_snapshot!("files", files(&site.path().join("public")).join("\n"));
    insta::assert_snapshot!(
        "macros_tour",
        read(site.path(), "posts/macros-tour/index.html")
    );
    insta::assert_snapshot!(
        "hello_world",
        read(site.path(), "posts/hello-world/index.html")
    );
    insta::assert_snapshot!(
        "python_macros",
        read(site.path(), "posts/python-macros/index.html")
    );
    insta::assert_snapshot!("index", read(site.path(), "index.html"));
    insta::assert_snapshot!("atom", read(site.path(), "atom.xml"));
    insta::assert_snapshot!("sitemap", read(site.path(), "sitemap.xml"));
}

#[test]
fn init_writes_a_site_that_renders_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("blog");
    let out = host(&["init", site.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = host(&["render", "--site", site.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("Rendered 10 pages"));
    let again = host(&["init", site.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds a site"));
}

#[test]
#[cfg(unix)]
fn init_writes_nothing_through_a_link_in_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    for (link, target) in [
        ("content", "posts-elsewhere"),
        ("site.toml", "not-yet.toml"),
    ] {
        let folder = dir.path().join(format!("with-{link}"));
        std::fs::create_dir_all(&folder).unwrap();
        // A dangling link too: its target does not exist yet.
        std::os::unix::fs::symlink(outside.join(target), folder.join(link)).unwrap();
        let out = host(&["init", folder.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("is a symbolic link"), "{stderr}");
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0, "{link}");
        assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 1, "{link}");
    }
}

#[test]
fn broken_posts_are_reported_and_the_others_still_render() {
    let site = demo_site();
    let posts = site.path().join("content/posts");
    std::fs::write(
        posts.join("broken.md"),
        "+++\ntitle = \"B\"\ndate = \"not a date\"\n+++\nx",
    )
    .unwrap();
    std::fs::write(posts.join("untitled.md"), "---\ndate: 2024-01-01\n---\nx").unwrap();
    std::fs::write(posts.join("latin1.md"), b"---\ntitle: L\n---\ncaf\xe9\n").unwrap();
    std::fs::write(
        posts.join("zz-dupe.md"),
        "---\ntitle: D\nslug: hello-world\n---\nx",
    )
    .unwrap();
    std::fs::write(posts.join("yaml.md"), "---\ntitle: [unclosed\n---\nx").unwrap();
    std::fs::write(
        posts.join("macros.md"),
        "---\ntitle: M\n---\n\n{{< nosuch >}}\n\n{{< youtube \"bad id!\" >}}\n",
    )
    .unwrap();
    let report = build(&options(site.path())).unwrap();
    let shown: Vec<String> = report.diagnostics.iter().map(ToString::to_string).collect();
    let expect = [
        "content/posts/broken.md:3:1: error: cannot read the date",
        "content/posts/zz-dupe.md:1:1: error: duplicate URL `/posts/hello-world/`: content/posts/hello-world.md is published there too",
        "content/posts/latin1.md:4:4: error: not valid UTF-8 (byte 20)",
        "content/posts/macros.md:5:1: warning: unknown macro `nosuch`",
        "content/posts/macros.md:7:1: error: `bad id!` is not a YouTube video id",
        "content/posts/untitled.md:1:1: error: missing `title`",
        "content/posts/yaml.md:3:1: error: invalid YAML front matter",
    ];
    for prefix in expect {
        assert!(
            shown.iter().any(|s| s.starts_with(prefix)),
            "{prefix} not in {shown:#?}"
        );
    }
    assert!(read(site.path(), "posts/hello-world/index.html").contains("Hello, world"));
    let page = read(site.path(), "posts/macros/index.html");
    assert!(page.contains("<span class=\"macro-error\""), "{page}");
    let out = host(&["render", "--site", site.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "errors fail the build");
}

#[test]
fn strict_turns_warnings_into_a_failing_exit() {
    let site = demo_site();
    std::fs::write(
        site.path().join("content/posts/w.md"),
        "---\ntitle: W\n---\n{{< nosuch >}}\n",
    )
    .unwrap();
    let root = site.path().to_str().unwrap();
    let out = host(&["render", "--site", root]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = host(&["render", "--site", root, "--strict"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("content/posts/w.md:4:1: warning: unknown macro `nosuch`")
    );
    let out = host(&["check", "--site", root, "--strict"]);
    assert_eq!(out.status.code(), Some(1));
    let out = host(&["render", "--site", root, "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn stale_files_go_static_files_come_and_drafts_wait() {
    let site = demo_site();
    let root = site.path();
    std::fs::write(
        root.join("content/posts/draft.md"),
        "---\ntitle: Draft\ndraft: true\n---\nwip",
    )
    .unwrap();
    build(&options(root)).unwrap();
    assert!(!root.join("public/posts/draft/index.html").exists());
    assert_eq!(read(root, "robots.txt"), "User-agent: *\nAllow: /\n");
    let mut with_drafts = options(root);
    with_drafts.drafts = true;
    build(&with_drafts).unwrap();
    assert!(root.join("public/posts/draft/index.html").exists());
    std::fs::remove_file(root.join("content/posts/hello-world.md")).unwrap();
    let report = build(&options(root)).unwrap();
    assert!(!root.join("public/posts/hello-world").exists());
    assert!(!root.join("public/posts/draft").exists());
    assert!(report.written.removed >= 2, "{:?}", report.written);
    let again = build(&options(root)).unwrap();
    assert_eq!(again.written.written, 0, "nothing changed, nothing written");
}

#[test]
fn check_writes_nothing() {
    let site = demo_site();
    let mut opts = options(site.path());
    opts.write = false;
    let report = build(&opts).unwrap();
    // Six files of content/, four pages the books generator makes.
    assert_eq!(report.pages, 10);
    assert!(!site.path().join("public").exists());
    assert!(!site.path().join(".blogmark").exists());
}

#[test]
fn templates_can_be_overridden_and_their_errors_name_file_and_line() {
    let site = demo_site();
    let templates = site.path().join("templates");
    std::fs::write(
        templates.join("page.html"),
        "<h1>{{ page.title | upper }}</h1>",
    )
    .unwrap();
    build(&options(site.path())).unwrap();
    assert_eq!(read(site.path(), "about/index.html"), "<h1>ABOUT</h1>");
    std::fs::write(templates.join("page.html"), "line one\n{% if %}\n").unwrap();
    let report = build(&options(site.path())).unwrap();
    let error = report
        .diagnostics
        .iter()
        .find(|d| d.file == "templates/page.html")
        .expect("a template error");
    assert_eq!(
        (error.severity, error.line),
        (Severity::Error, 2),
        "{error}"
    );
}

#[test]
fn crlf_files_render_like_lf_files() {
    let site = demo_site();
    let text = "---\r\ntitle: CRLF\r\n---\r\n\r\n## Head\r\n\r\n{{< note >}}\r\n*inside*\r\n{{< /note >}}\r\n\r\n{{< nosuch >}}\r\n";
    std::fs::write(site.path().join("content/posts/crlf.md"), text).unwrap();
    let report = build(&options(site.path())).unwrap();
    let page = read(site.path(), "posts/crlf/index.html");
    assert!(page.contains("<h2 id=\"head\">Head</h2>"), "{page}");
    assert!(
        page.contains("<aside class=\"note note-info\"><p><em>inside</em></p></aside>"),
        "{page}"
    );
    let warning = &report.diagnostics[0];
    assert_eq!(
        (warning.file.as_str(), warning.line, warning.column),
        ("content/posts/crlf.md", 11, 1)
    );
}

fn generate_site(posts: usize) -> tempfile::TempDir {
    let site = demo_site();
    let dir = site.path().join("content/posts");
    for i in 0..posts {
        let text = format!(
            "+++\ntitle = \"Post {i}\"\ndate = 2023-{:02}-{:02}\ntags = [\"t{}\", \"all\"]\n+++\n\n## Part one\n\nSome *text* for post {i}.\n\n{{{{< youtube abc{i} >}}}}\n\n{{{{< note >}}}}A note with {{{{< ref \"hello-world\" >}}}}.{{{{< /note >}}}}\n\n{{{{< figure src=\"/img/{i}.png\" alt=\"Figure {i}\" >}}}}\n\n```rust\nfn post_{i}() {{}}\n```\n",
            i % 12 + 1,
            i % 28 + 1,
            i % 10
        );
        std::fs::write(dir.join(format!("post-{i:04}.md")), text).unwrap();
    }
    site
}

#[test]
fn a_generated_thousand_post_site_renders() {
    let site = generate_site(1_000);
    let report = build(&options(site.path())).unwrap();
    assert!(
        report.diagnostics.is_empty(),
        "{:?}",
        &report.diagnostics[..report.diagnostics.len().min(3)]
    );
    assert_eq!(report.pages, 1_010);
    // The demo's: 7 + 5 in two posts, 1 in a third, 3 in generated pages.
    assert_eq!(report.macro_calls, 1_000 * 4 + 7 + 5 + 1 + 3);
    assert!(read(site.path(), "posts/post-0999/index.html").contains("embed/abc999"));
    assert!(site.path().join("public/page/101/index.html").exists());
    assert_eq!(
        read(site.path(), "tags/all/index.html")
            .matches("<li>")
            .count(),
        1_000
    );
}

#[test]
fn a_rebuilt_database_equals_the_incrementally_kept_one() {
    let site = generate_site(50);
    let root = site.path();
    build(&options(root)).unwrap();
    std::fs::remove_file(root.join("content/posts/post-0003.md")).unwrap();
    std::fs::write(
        root.join("content/posts/post-0004.md"),
        "---\ntitle: Changed\n---\nnew",
    )
    .unwrap();
    std::fs::write(
        root.join("content/posts/new.md"),
        "---\ntitle: New\ntags: [x]\n---\nnew",
    )
    .unwrap();
    build(&options(root)).unwrap();
    let incremental = Store::open(root).unwrap().posts().unwrap();
    let incremental_scripts = Store::open(root).unwrap().scripts().unwrap();
    assert_eq!(
        incremental_scripts.len(),
        8,
        "the demo's scripts are mirrored"
    );
    let out = host(&["rebuild", "--site", root.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rebuilt = Store::open(root).unwrap().posts().unwrap();
    let rebuilt_scripts = Store::open(root).unwrap().scripts().unwrap();
    assert_eq!(rebuilt_scripts, incremental_scripts);
    assert_eq!(
        incremental.len(),
        50 + 6,
        "files only: generated pages are not kept"
    );
    assert_eq!(incremental, rebuilt);
    assert!(
        rebuilt
            .iter()
            .any(|r| r.path == "content/posts/post-0004.md" && r.title == "Changed")
    );
}

#[test]
fn deleting_the_database_is_safe() {
    let site = demo_site();
    build(&options(site.path())).unwrap();
    std::fs::remove_dir_all(site.path().join(".blogmark")).unwrap();
    build(&options(site.path())).unwrap();
    assert_eq!(Store::open(site.path()).unwrap().posts().unwrap().len(), 6);
    let _: PathBuf = site.path().to_path_buf();
}

#[test]
fn on_written_is_told_once_the_output_is_written_and_before_the_run_is_recorded() {
    use blogmark_host::render::{BuildReport, OnWritten};
    use std::sync::{Arc, Mutex};
    let site = demo_site();
    let root = site.path().to_path_buf();
    // What the hook saw: the changed files, whether the output was written,
    // and how many runs the database had recorded.
    type Seen = Vec<(Vec<String>, bool, usize)>;
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let hook = {
        let (seen, root) = (seen.clone(), root.clone());
        OnWritten(Arc::new(move |report: &BuildReport| {
            let written = root.join("public/posts/hello-world/index.html").is_file();
            let runs = Store::open(&root).unwrap().recent_runs(10).unwrap().len();
            seen.lock()
                .unwrap()
                .push((report.changed.clone(), written, runs));
        }))
    };
    let report = build(&BuildOptions {
        on_written: Some(hook.clone()),
        ..options(&root)
    })
    .unwrap();
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    assert_eq!(seen.len(), 1, "told once");
    let (changed, written, runs) = &seen[0];
    assert!(*written, "after the output is written");
    assert_eq!(*runs, 0, "before the run is recorded");
    assert_eq!(changed, &report.changed);
    assert!(changed.contains(&"posts/hello-world/index.html".to_string()));
    assert_eq!(
        Store::open(&root).unwrap().recent_runs(10).unwrap().len(),
        1
    );

    // `host check` writes nothing, so there is nothing to tell.
    let checked = Arc::new(Mutex::new(0));
    let count = checked.clone();
    build(&BuildOptions {
        write: false,
        on_written: Some(OnWritten(Arc::new(move |_| *count.lock().unwrap() += 1))),
        ..options(&root)
    })
    .unwrap();
    assert_eq!(*checked.lock().unwrap(), 0);
}

/// The `<nav>` of the default theme, in `html`.
fn nav_of(html: &str) -> &str {
    let start = html.find("<nav>").expect("a <nav>");
    let end = start + html[start..].find("</nav>").expect("its end");
    &html[start..end]
}

#[test]
fn the_navigation_lists_pages_by_default_only_while_few_say_nothing_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("content/pages/docs")).unwrap();
    std::fs::write(
        root.join("site.toml"),
        "title = \"Docs\"\nbase_url = \"https://example.org/\"\n",
    )
    .unwrap();
    let page = |name: &str, nav: &str| {
        std::fs::write(
            root.join(format!("content/pages/{name}.md")),
            format!("+++\ntitle = \"T-{name}\"\n{nav}+++\n\nText.\n"),
        )
        .unwrap();
    };
    page("about", "");
    page("hidden", "nav = false\n");
    let report = build(&options(root)).unwrap();
    let html = read(root, "about/index.html");
    assert!(nav_of(&html).contains("T-about"), "{html}");
    assert!(!nav_of(&html).contains("T-hidden"));
    assert_eq!(
        report.count(Severity::Warning),
        0,
        "{:?}",
        report.diagnostics
    );

    // A documentation site of many pages: listing each in every page would
    // grow with the square of the site, so none is listed by default...
    for i in 0..40 {
        page(&format!("docs/d{i:02}"), "");
    }
    let report = build(&options(root)).unwrap();
    let html = read(root, "docs/d07/index.html");
    assert!(!nav_of(&html).contains("T-"), "{}", nav_of(&html));
    let warned: Vec<_> = report
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .map(|d| d.to_string())
        .collect();
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(warned[0].contains("content/pages"), "{}", warned[0]);
    assert!(
        warned[0].contains("41 pages say nothing of `nav`"),
        "{}",
        warned[0]
    );
    assert!(warned[0].contains("`nav = true`"), "{}", warned[0]);

    // ...and those that ask to be listed are, without a warning.
    page("about", "nav = true\n");
    page("docs/d03", "nav = true\n");
    let report = build(&options(root)).unwrap();
    let nav = nav_of(&read(root, "docs/d07/index.html")).to_owned();
    assert!(
        nav.contains("T-about") && nav.contains("T-docs/d03"),
        "{nav}"
    );
    assert!(
        !nav.contains("T-docs/d04") && !nav.contains("T-hidden"),
        "{nav}"
    );
    assert_eq!(
        report.count(Severity::Warning),
        0,
        "{:?}",
        report.diagnostics
    );
}
