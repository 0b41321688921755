//! When `host render` starts the sandbox: while it reads the site when its
//! pages will call scripts (a first render) or a generator has changed data
//! to read; at the first call otherwise (kept pages answer most); not at all
//! when nothing runs.

use crate::common;

use blogmark_host::file_stamp::{Stamp, fs_now};
use common::write;
use std::path::Path;
use std::process::Command;

/// `host -vv render ARGS` of `root`: what it printed.
fn render_with(root: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_host"))
        .args(["-vv", "render"])
        .args(args)
        .arg("--site")
        .arg(root)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{log}");
    log
}

fn render(root: &Path) -> String {
    render_with(root, &[])
}

/// When the render whose `log` is given started its sandbox: `Some(true)`
/// before it had read the site, `Some(false)` after, `None` never.
fn started_ahead(log: &str) -> Option<bool> {
    let ready = log.find("Python sandbox ready")?;
    let loaded = log
        .find("build: loaded ")
        .unwrap_or_else(|| panic!("no end of loading in {log}"));
    Some(ready < loaded)
}

/// Wait until `path`'s last change is older than the file system's clock:
/// a render then trusts its stamp (see `host::file_stamp`), as it does for
/// an edit made a moment before.
fn settle(root: &Path, path: &str) {
    let stamp = Stamp::of_path(&root.join(path)).unwrap();
    while !stamp.settled_before(fs_now(root).unwrap()) {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

const SHOUT: &str = "\"\"\"\n---\nkind: macro\n---\n\"\"\"\n\
def render(ctx):\n    return ctx.args['text'].upper()\n";

const SHELF: &str = "\"\"\"\n---\nkind: generator\n---\n\"\"\"\n\
def generate(ctx):\n    return [{'path': f'pages/books/{key}.md', 'front_matter': \
{'title': b.title}, 'body': 'A book.'} for key, b in ctx.data['books'].items()]\n";

fn post(root: &Path, slug: &str, body: &str) {
    write(
        root,
        &format!("content/posts/{slug}.md"),
        &format!("---\ntitle: {slug}\ndate: 2024-01-01\n---\n{body}\n"),
    );
}

#[test]
fn a_first_render_starts_the_sandbox_while_reading_and_kept_pages_start_it_late_or_never() {
    let site = common::site("");
    let root = site.path();
    write(root, "scripts/shout.py", SHOUT);
    post(root, "a", "{{< shout text=\"one\" >}}");
    post(root, "b", "Plain.");
    let first = render(root);
    assert_eq!(started_ahead(&first), Some(true), "{first}");
    assert!(first.contains("Python: 1 sandbox runs"), "{first}");

    // `--gc` renders every page again, its calls answered by their stored
    // results.
    let gc = render_with(root, &["--gc"]);
    assert_eq!(started_ahead(&gc), None, "{gc}");
    assert!(gc.contains("Python: 0 sandbox runs"), "{gc}");

    // An edit that keeps the page's call: its stored result answers.
    post(root, "a", "{{< shout text=\"one\" >}} More.");
    settle(root, "content/posts/a.md");
    let kept = render(root);
    assert_eq!(started_ahead(&kept), None, "{kept}");
    assert!(kept.contains("Python: 0 sandbox runs"), "{kept}");

    // A new call: the sandbox starts for it, at the call.
    post(root, "b", "{{< shout text=\"two\" >}}");
    settle(root, "content/posts/b.md");
    let new_call = render(root);
    assert_eq!(started_ahead(&new_call), Some(false), "{new_call}");
    assert!(new_call.contains("Python: 1 sandbox runs"), "{new_call}");
    let page = std::fs::read_to_string(root.join("public/posts/b/index.html")).unwrap();
    assert!(page.contains("TWO"), "{page}");
}

#[test]
fn a_data_edit_starts_the_sandbox_for_a_generator_while_reading_and_a_post_edit_does_not() {
    let site = common::site("");
    let root = site.path();
    write(root, "scripts/shelf.py", SHELF);
    write(root, "data/books/dune.toml", "title = \"Dune\"\n");
    post(root, "a", "Plain.");
    settle(root, "data/books/dune.toml");
    let first = render(root);
    assert_eq!(started_ahead(&first), Some(true), "{first}");

    write(root, "data/books/dune.toml", "title = \"Dune Messiah\"\n");
    settle(root, "data/books/dune.toml");
    let data_edit = render(root);
    assert_eq!(started_ahead(&data_edit), Some(true), "{data_edit}");
    assert!(data_edit.contains("Python: 1 sandbox runs"), "{data_edit}");
    let book = std::fs::read_to_string(root.join("public/books/dune/index.html")).unwrap();
    assert!(book.contains("Dune Messiah"), "{book}");

    // The generator read nothing that changed: it does not run, and no
    // sandbox is started for it.
    post(root, "a", "Edited.");
    settle(root, "content/posts/a.md");
    let post_edit = render(root);
    assert_eq!(started_ahead(&post_edit), None, "{post_edit}");
    assert!(post_edit.contains("Python: 0 sandbox runs"), "{post_edit}");
}
