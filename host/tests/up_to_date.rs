//! `host render` of a site where nothing changed since the last render:
//! known from stamps alone, nothing is built and the last report is
//! given again; any change of an input, the output, the options, the
//! database or the clock renders as before.

use crate::common;

use common::{site, write};
use std::path::Path;
use std::process::Command;

const NOTHING: &str = "nothing changed since the last render";

/// `host -vv render ARGS` of `site`, with the cache folder `cache` (whose
/// key tags what the render keeps) when given, else the user's (where the
/// sandbox is compiled already): its exit code and what it printed.
fn render_in(site: &Path, cache: Option<&Path>, args: &[&str]) -> (Option<i32>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_host"));
    command
        .args(["-vv", "render"])
        .args(args)
        .arg("--site")
        .arg(site)
        .env("NO_COLOR", "1")
        .env_remove("SOURCE_DATE_EPOCH");
    if let Some(cache) = cache {
        command.env("BLOGMARK_CACHE_DIR", cache);
    }
    let out = command.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Render until a render records its inputs, then once more: the
/// renders just after a file was written find it too fresh to trust (its
/// stamp may not change on an edit in the same tick of the clock).
fn settle(site: &Path) -> String {
    for _ in 0..5 {
        let (code, log) = render(site, &[]);
        assert_eq!(code, Some(0), "{log}");
        if log.contains(NOTHING) {
            return log;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("five renders of an unchanged site all built it");
}

fn render(site: &Path, args: &[&str]) -> (Option<i32>, String) {
    render_in(site, None, args)
}

fn page(site: &Path, slug: &str) -> String {
    std::fs::read_to_string(site.join(format!("public/posts/{slug}/index.html"))).unwrap()
}

fn post(site: &Path, slug: &str, body: &str) {
    write(
        site,
        &format!("content/posts/{slug}.md"),
        &format!("---\ntitle: {slug}\ndate: 2024-01-01\n---\n{body}\n"),
    );
}

/// A macro `scripts/NAME.py` whose `render(ctx)` is the one line `body`.
fn macro_script(site: &Path, name: &str, body: &str) {
    write(
        site,
        &format!("scripts/{name}.py"),
        &format!("\"\"\"\n---\nkind: macro\n---\n\"\"\"\ndef render(ctx):\n    {body}\n"),
    );
}

#[test]
fn nothing_changed_builds_nothing_and_any_change_renders_again() {
    let site = site("");
    let root = site.path();
    macro_script(root, "shout", "return ctx.args['text'].upper()");
    post(root, "a", "A {{< shout text=\"one\" >}}");
    post(root, "b", "B {{< nosuch >}}");
    let log = settle(root);
    // The report is the last render's, its warning (file and line) too.
    assert!(
        log.contains("Rendered 2 pages (2 unchanged, reused;"),
        "{log}"
    );
    assert!(log.contains("content/posts/b.md:5"), "{log}");
    assert!(log.contains("1 warning"), "{log}");
    assert!(!log.contains("site loaded"), "nothing was loaded: {log}");
    assert!(page(root, "a").contains("A ONE"));

    // An edit of the same length in the same second: its stamp tells.
    post(root, "a", "A {{< shout text=\"two\" >}}");
    let (_, log) = render(root, &[]);
    assert!(log.contains("\"content/posts/a.md\" changed"), "{log}");
    assert!(page(root, "a").contains("A TWO"), "{log}");
    settle(root);

    // A new post: its folder's stamp changed.
    post(root, "c", "C");
    let (_, log) = render(root, &[]);
    assert!(!log.contains(NOTHING), "{log}");
    assert!(page(root, "c").contains("C"));
    settle(root);

    // A new folder at the top of the site, beside the output.
    write(root, "data/books.toml", "title = 'x'\n");
    let (_, log) = render(root, &[]);
    assert!(log.contains("a name was added or removed in \"\""), "{log}");
    settle(root);

    // The output: a file removed, a stranger added; both undone.
    let public = root.join("public");
    std::fs::remove_file(public.join("posts/b/index.html")).unwrap();
    std::fs::write(public.join("posts/stranger.html"), "?").unwrap();
    let (_, log) = render(root, &[]);
    assert!(log.contains("the output changed"), "{log}");
    assert!(public.join("posts/b/index.html").is_file());
    assert!(!public.join("posts/stranger.html").exists());
    settle(root);

    // Other options: a render with drafts, then one without.
    let (_, log) = render(root, &["--drafts"]);
    assert!(log.contains("other options"), "{log}");
    let (_, log) = render(root, &[]);
    assert!(log.contains("other options"), "{log}");
    settle(root);

    // The database, whose stored responses a render replays.
    // The schema's version written again, as it is: a change of the file.
    let db = rusqlite::Connection::open(root.join(".blogmark/site.db")).unwrap();
    let version: i64 = db
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    db.pragma_update(None, "user_version", version).unwrap();
    drop(db);
    let (_, log) = render(root, &[]);
    assert!(log.contains("the database changed"), "{log}");
    settle(root);

    // A record with a byte edited is not trusted.
    settle(root);
    let record = root.join(".blogmark/inputs.record");
    let mut bytes = std::fs::read(&record).unwrap();
    bytes[4] ^= 1;
    std::fs::write(&record, bytes).unwrap();
    let (_, log) = render(root, &[]);
    assert!(log.contains("no record"), "{log}");
}

#[test]
fn a_failed_call_or_a_page_coming_due_is_never_taken_for_nothing_changed() {
    // A call that failed runs again on every render (a time limit depends
    // on the machine's load): no render of it is recorded.
    let site = site("[python]\ntimeout_ms = 2000\n");
    let root = site.path();
    macro_script(root, "boom", "raise ValueError('no')");
    post(root, "a", "{{< boom >}}");
    for _ in 0..3 {
        let (_, log) = render(root, &[]);
        assert!(!log.contains(NOTHING), "{log}");
        assert!(log.contains("ValueError"), "{log}");
    }
    assert!(!root.join(".blogmark/inputs.record").exists());

    // A post dated ahead is left out until its date has come; the render
    // after that publishes it. (Ahead by enough that the renders before it
    // finish first on a loaded machine.)
    std::fs::remove_file(root.join("scripts/boom.py")).unwrap();
    post(root, "a", "A");
    let due = chrono::Utc::now() + chrono::Duration::seconds(20);
    write(
        root,
        "content/posts/soon.md",
        &format!(
            "---\ntitle: soon\ndate: {}\n---\nSoon.\n",
            due.format("%Y-%m-%dT%H:%M:%SZ")
        ),
    );
    settle(root);
    assert!(!root.join("public/posts/soon").exists());
    while chrono::Utc::now() <= due + chrono::Duration::milliseconds(100) {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let (_, log) = render(root, &[]);
    assert!(log.contains("a page's date has come"), "{log}");
    assert!(page(root, "soon").contains("Soon."));

    // Another machine (another key; the site has no Python left to
    // compile for it) does not trust this one's record.
    settle(root);
    let elsewhere = tempfile::tempdir().unwrap();
    let (_, log) = render_in(root, Some(elsewhere.path()), &[]);
    assert!(log.contains("no record"), "{log}");
}

/// What a render that must build says when it took its inputs' stamps
/// from the last record, without walking the site again.
const NO_WALK: &str = "stamped without a walk";

#[test]
fn a_file_edited_in_place_is_stamped_without_a_walk_and_any_other_change_walks() {
    let site = site("");
    let root = site.path();
    post(root, "a", "A one");
    post(root, "b", "B");
    write(root, "data/books/x.toml", "title = 'X'\n");
    settle(root);

    // Edited in place: the paths are the recorded ones.
    post(root, "a", "A two");
    let (_, log) = render(root, &[]);
    assert!(log.contains("\"content/posts/a.md\" changed"), "{log}");
    assert!(log.contains(NO_WALK), "{log}");
    assert!(page(root, "a").contains("A two"));
    // What it recorded holds: the next render builds nothing, and the
    // edit after that is seen.
    settle(root);
    post(root, "a", "A six");
    let (_, log) = render(root, &[]);
    assert!(log.contains("\"content/posts/a.md\" changed"), "{log}");
    assert!(page(root, "a").contains("A six"));
    settle(root);

    // A file added: its folder changed, so the site is walked, and the
    // new file is recorded (its edit is seen by the render after).
    post(root, "c", "C one");
    let (_, log) = render(root, &[]);
    assert!(!log.contains(NO_WALK), "{log}");
    assert!(page(root, "c").contains("C one"));
    settle(root);
    post(root, "c", "C two");
    let (_, log) = render(root, &[]);
    assert!(log.contains("\"content/posts/c.md\" changed"), "{log}");
    assert!(page(root, "c").contains("C two"));
    settle(root);

    // Saved as editors do, a new file renamed over the old: a walk.
    let data = root.join("data/books");
    std::fs::write(data.join(".x.toml.tmp"), "title = 'Y'\n").unwrap();
    std::fs::rename(data.join(".x.toml.tmp"), data.join("x.toml")).unwrap();
    let (_, log) = render(root, &[]);
    assert!(!log.contains(NO_WALK), "{log}");
    assert!(!log.contains(NOTHING), "{log}");
    settle(root);

    // A file removed, and one replaced by a folder: walks, and pages go.
    std::fs::remove_file(root.join("content/posts/b.md")).unwrap();
    let (_, log) = render(root, &[]);
    assert!(!log.contains(NO_WALK), "{log}");
    assert!(!root.join("public/posts/b").exists(), "{log}");
    settle(root);
    std::fs::remove_file(root.join("content/posts/c.md")).unwrap();
    std::fs::create_dir(root.join("content/posts/c.md")).unwrap();
    let (_, log) = render(root, &[]);
    assert!(!log.contains(NO_WALK), "{log}");
    assert!(!root.join("public/posts/c").exists(), "{log}");
}

#[test]
fn a_render_takes_the_sources_it_kept_only_while_their_stamps_hold() {
    let site = site("");
    let root = site.path();
    post(root, "a", "A one");
    post(root, "b", "B one");
    write(root, "data/books/x.toml", "title = 'X one'\n");
    settle(root);

    // One post edited in place: the other and the data file are taken
    // from what the last render kept, the edit is read.
    post(root, "a", "A two");
    let (_, log) = render_settled(root);
    assert!(log.contains(NO_WALK), "{log}");
    assert!(log.contains(TAKEN_2_OF_3), "{log}");
    assert!(page(root, "a").contains("A two"), "{log}");
    assert!(page(root, "b").contains("B one"), "{log}");
    settle(root);

    // The same again, after the kept file was changed by someone else:
    // not this machine's, so every source is read from its file.
    let kept = root.join(".blogmark/sources.cache");
    let mut bytes = std::fs::read(&kept).unwrap();
    let at = bytes.windows(5).position(|w| w == b"B one").unwrap();
    bytes[at..at + 5].copy_from_slice(b"B bad");
    std::fs::write(&kept, &bytes).unwrap();
    post(root, "a", "A six");
    let (_, log) = render_settled(root);
    assert!(log.contains("taken=0 read=3"), "{log}");
    assert!(log.contains("sources.cache is not tagged"), "{log}");
    assert!(page(root, "b").contains("B one"), "{log}");
    assert!(!page(root, "b").contains("B bad"), "{log}");
    assert!(page(root, "a").contains("A six"), "{log}");
    settle(root);

    // A file saved as editors save it (a new file renamed over the old)
    // has a new stamp: read, not taken.
    let data = root.join("data/books");
    std::fs::write(data.join(".x.tmp"), "title = 'X two'\n").unwrap();
    std::fs::rename(data.join(".x.tmp"), data.join("x.toml")).unwrap();
    post(root, "b", "B two");
    let (_, log) = render_settled(root);
    assert!(!log.contains(NO_WALK), "{log}");
    assert!(log.contains("taken=1 read=3"), "{log}");
    assert!(page(root, "b").contains("B two"), "{log}");
}

const TAKEN_2_OF_3: &str = "taken=2 read=3";

/// A render once the last edit is old enough for its stamp to be trusted
/// (a later tick of the file system's clock than the render's own).
fn render_settled(site: &Path) -> (Option<i32>, String) {
    std::thread::sleep(std::time::Duration::from_millis(30));
    render(site, &[])
}
