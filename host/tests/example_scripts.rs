//! The example scripts in the repository's `scripts/` directory, copied into
//! a site: they pass `host scripts check`, and render and rewrite posts as
//! their documentation says, in the real sandbox.

use crate::common;

use common::{host, write};
use std::path::{Path, PathBuf};

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts");
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "py"))
        .collect();
    scripts.sort();
    scripts
}

/// A site holding a copy of every example script and shared module, and
/// `post` as its one post. Its imports cost their calls: a site snapshot is
/// tested on its own (site_snapshot.rs) and would cost every test here the
/// seconds of building one.
fn site_with_examples(post: &str) -> tempfile::TempDir {
    let dir = common::site("[python]\nsnapshot = false\n");
    write(dir.path(), "content/posts/p.md", post);
    for script in examples() {
        let name = script.file_name().unwrap().to_str().unwrap();
        let source = std::fs::read_to_string(&script).unwrap();
        write(dir.path(), &format!("scripts/{name}"), &source);
    }
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/lib");
    for module in std::fs::read_dir(lib).unwrap() {
        let module = module.unwrap().path();
        let name = module.file_name().unwrap().to_str().unwrap();
        let source = std::fs::read_to_string(&module).unwrap();
        write(dir.path(), &format!("scripts/lib/{name}"), &source);
    }
    dir
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn every_example_passes_check_and_is_listed() {
    let names: Vec<String> = examples()
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(names.len() >= 4, "{names:?}");
    let dir = site_with_examples("+++\ntitle = \"P\"\n+++\nNothing.\n");
    let check = host(dir.path(), &["scripts", "check"]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
    assert!(
        !text(&check.stderr).contains("warning"),
        "{}",
        text(&check.stderr)
    );
    let list = text(&host(dir.path(), &["scripts", "list"]).stdout);
    for name in &names {
        assert!(list.contains(name.as_str()), "{name} missing from:\n{list}");
    }
}

#[test]
fn the_example_macros_render_what_their_docs_promise() {
    let post = "+++\ntitle = \"P\"\n+++\n\
        Press {{< kbd \"Ctrl+Shift+P\" >}}, then {{< kbd \"Ctrl++\" >}}.\n\n\
        See {{< gh \"rust-lang/rust#1\" >}}, {{< gh \"rust-lang/rust\" >}} and {{< gh \"@octocat\" >}}.\n\n\
        {{< details summary=\"Spoiler <b>\" >}}*hidden* text{{< /details >}}\n\n\
        {{< facts >}}\nlanguage = \"Rust\"\n\"Built with\" = [\"wasmtime\", \"CPython\"]\n{{< /facts >}}\n\n\
        Broken: {{< gh \"not a reference\" >}}.\n";
    let dir = site_with_examples(post);
    let out = host(dir.path(), &["render"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let html = std::fs::read_to_string(dir.path().join("public/posts/p/index.html")).unwrap();
    for expected in [
        "<kbd>Ctrl</kbd>+<kbd>Shift</kbd>+<kbd>P</kbd>",
        "<kbd>Ctrl</kbd>+<kbd>+</kbd>",
        "<a href=\"https://github.com/rust-lang/rust/issues/1\">rust-lang/rust#1</a>",
        "<a href=\"https://github.com/rust-lang/rust\">rust-lang/rust</a>",
        "<a href=\"https://github.com/octocat\">@octocat</a>",
        "<details><summary>Spoiler &lt;b&gt;</summary>",
        "<em>hidden</em> text",
        "</details>",
        "<dl class=\"facts\"><dt id=\"fact-language\">language</dt><dd>Rust</dd>\
         <dt id=\"fact-built-with\">Built with</dt><dd>wasmtime, CPython</dd></dl>",
    ] {
        assert!(html.contains(expected), "missing {expected} in:\n{html}");
    }
    // The bad reference is reported with the script and the reason, and
    // the rest of the page is unaffected.
    assert!(stderr.contains("content/posts/p.md:15:9"), "{stderr}");
    assert!(stderr.contains("scripts/gh.py:29"), "{stderr}");
    assert!(
        stderr.contains("is not owner/repo, owner/repo#number or @user"),
        "{stderr}"
    );
    let strict = host(dir.path(), &["render", "--strict"]);
    assert_eq!(strict.status.code(), Some(1), "{}", text(&strict.stderr));
}

#[test]
fn the_example_hooks_and_generator_do_what_their_docs_promise() {
    let post = "+++\ntitle = \"P\"\ndate = 2024-01-01\ntags = [\"rust\"]\nsummary = \"S\"\n+++\n\
        {{< toc >}}\n\n## Setup & run\n\n```mermaid\ngraph TD; A-->B<br>\n```\n\n```rust\nfn main() {}\n```\n";
    let dir = site_with_examples(post);
    let out = host(dir.path(), &["render"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let html = std::fs::read_to_string(dir.path().join("public/posts/p/index.html")).unwrap();
    for expected in [
        "<h2 id=\"setup-run\">Setup &amp; run <a class=\"anchor\" href=\"#setup-run\"",
        "<a href=\"#setup-run\">Setup &amp; run</a>",
        "<pre class=\"mermaid\">graph TD; A--&gt;B&lt;br&gt;\n</pre>",
        "<code class=\"language-rust\">",
    ] {
        assert!(html.contains(expected), "missing {expected} in:\n{html}");
    }
    let search = std::fs::read_to_string(dir.path().join("public/search.json")).unwrap();
    let search: serde_json::Value = serde_json::from_str(&search).unwrap();
    assert_eq!(
        search,
        serde_json::json!([{"title": "P", "url": "https://example.org/posts/p/",
                            "date": "2024-01-01", "tags": ["rust"], "summary": "S"}])
    );
}

#[test]
fn normalize_tags_rewrites_only_the_tags_through_run_script() {
    let post = "+++\ntitle = \"P\"\ntags = [\"Rust\", \"rust \", \"Web Assembly\", \"web_assembly\"]\n+++\nBody.\n";
    let dir = site_with_examples(post);
    let repo = git2::Repository::init(dir.path()).unwrap();
    common::commit_all(&repo, "site");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/normalize_tags.py");
    let script = script.to_str().unwrap();

    let dry = host(dir.path(), &["run-script", script, "--all"]);
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry.stderr));
    let diff = text(&dry.stdout);
    assert!(
        diff.contains("-tags = [\"Rust\", \"rust \", \"Web Assembly\", \"web_assembly\"]"),
        "{diff}"
    );
    assert!(
        diff.contains("+tags = [\"rust\", \"web-assembly\"]"),
        "{diff}"
    );
    let file = dir.path().join("content/posts/p.md");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), post);

    let write = host(dir.path(), &["run-script", script, "--all", "--write"]);
    assert_eq!(write.status.code(), Some(0), "{}", text(&write.stderr));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "+++\ntitle = \"P\"\ntags = [\"rust\", \"web-assembly\"]\n+++\nBody.\n"
    );
    common::commit_all(&repo, "tags");
    let again = host(dir.path(), &["run-script", script, "--all"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert_eq!(text(&again.stdout), "", "nothing left to change");
}
