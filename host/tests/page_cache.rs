//! `host render` keeps its rendered pages in `.blogmark/pages.cache` and
//! reuses those whose inputs did not change: the output always equals a
//! render that reuses nothing.

use crate::common;

use common::{files, host, listings, write};
use std::path::Path;

fn site() -> tempfile::TempDir {
    let site = common::site("");
    let root = site.path();
    write(
        root,
        "scripts/shout.py",
        "def render(ctx):\n    return str(ctx.args['text']).upper()\n",
    );
    write(
        root,
        "content/posts/a.md",
        "+++\ntitle = \"A\"\ndate = 2024-01-01\ntags = [\"x\"]\n+++\nAlpha {{< shout text=\"a\" >}}\n",
    );
    write(
        root,
        "content/posts/b.md",
        "+++\ntitle = \"B\"\ndate = 2024-01-02\n+++\nBeta.\n",
    );
    write(
        root,
        "content/posts/c.md",
        "+++\ntitle = \"C\"\ndate = 2024-01-03\n+++\nGamma {{< note >}}n{{< /note >}}\n",
    );
    write(
        root,
        "content/pages/about.md",
        "+++\ntitle = \"About\"\n+++\nMe.\n",
    );
    site
}

/// What `host render ARGS` says (its summary, and its log with `-v`),
/// after checking it succeeded.
fn render(root: &Path, args: &[&str]) -> String {
    let mut all = vec!["render"];
    all.extend_from_slice(args);
    let out = host(root, &all);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("Rendered "), "no summary in {stderr}");
    stderr
}

/// How many pages the summary says were reused.
fn reused(summary: &str) -> usize {
    summary
        .split(" unchanged, reused")
        .next()
        .filter(|_| summary.contains(" unchanged, reused"))
        .and_then(|head| head.rsplit('(').next())
        .map_or(0, |n| n.parse().unwrap())
}

/// The site's output equals, file for file, a render with `args` that
/// reuses nothing.
fn equals_a_fresh_render_with(root: &Path, args: &[&str]) {
    let fresh = tempfile::tempdir().unwrap();
    let mut all = vec!["--no-cache", "--out", fresh.path().to_str().unwrap()];
    all.extend_from_slice(args);
    render(root, &all);
    let kept = files(&root.join("public"), &[]);
    let fresh = files(fresh.path(), &[]);
    assert_eq!(
        kept.keys().collect::<Vec<_>>(),
        fresh.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &fresh {
        assert!(kept[path] == *bytes, "{path} differs from a fresh render");
    }
}

/// The site's output equals a render that reuses nothing.
fn equals_a_fresh_render(root: &Path) {
    equals_a_fresh_render_with(root, &[]);
}

#[test]
fn a_render_with_nothing_changed_reuses_every_page() {
    let site = site();
    let root = site.path();
    let first = render(root, &[]);
    assert_eq!(reused(&first), 0, "{first}");
    assert!(root.join(".blogmark/pages.cache").is_file());
    let second = render(root, &["-v"]);
    assert_eq!(reused(&second), 4, "{second}");
    // Nor are the listings, feed and sitemap made again.
    let (kept, total) = listings(&second);
    assert!(kept == total && total > 5, "{second}");
    // The reused page's Python call counts as answered from a cache.
    assert!(
        second.contains("Python: 0 sandbox runs, 1 from cache"),
        "{second}"
    );
    assert!(second.contains("0 written"), "{second}");
    equals_a_fresh_render(root);
}

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one site through each kind of edit in turn, each checked against a fresh render"
)]
fn each_kind_of_edit_renders_again_exactly_what_it_touches() {
    let site = site();
    let root = site.path();
    render(root, &[]);
    // A body: that page only.
    write(
        root,
        "content/posts/b.md",
        "+++\ntitle = \"B\"\ndate = 2024-01-02\n+++\nBeta, again.\n",
    );
    let log = render(root, &["-v"]);
    assert_eq!(reused(&log), 3, "{log}");
    // The feed shows the body, the tag pages and the 404 page do not.
    let (kept, total) = listings(&log);
    assert!(kept > 0 && kept < total, "{log}");
    equals_a_fresh_render(root);
    // A script: the pages that call it.
    write(
        root,
        "scripts/shout.py",
        "def render(ctx):\n    return str(ctx.args['text']).upper() + '!'\n",
    );
    let summary = render(root, &[]);
    assert_eq!(reused(&summary), 3, "{summary}");
    assert!(
        std::fs::read_to_string(root.join("public/posts/a/index.html"))
            .unwrap()
            .contains("A!")
    );
    equals_a_fresh_render(root);
    // A post's title: its own page, and the pages whose macros were shown
    // it (none here: no page lists the others).
    write(
        root,
        "content/posts/c.md",
        "+++\ntitle = \"C2\"\ndate = 2024-01-03\n+++\nGamma {{< note >}}n{{< /note >}}\n",
    );
    let summary = render(root, &[]);
    assert_eq!(reused(&summary), 3, "{summary}");
    equals_a_fresh_render(root);
    // A page's title: every page, whose navigation shows it.
    write(
        root,
        "content/pages/about.md",
        "+++\ntitle = \"About me\"\n+++\nMe.\n",
    );
    let summary = render(root, &[]);
    assert_eq!(reused(&summary), 0, "{summary}");
    equals_a_fresh_render(root);
    // A template: the pages rendered with it, and those with a template
    // that extends it.
    write(
        root,
        "templates/post.html",
        "{% extends \"base.html\" %}{% block content %}<main>{{ page.content | safe }}</main>{% endblock %}",
    );
    let summary = render(root, &[]);
    assert_eq!(
        reused(&summary),
        1,
        "only the page, not the posts: {summary}"
    );
    equals_a_fresh_render(root);
    write(
        root,
        "templates/page.html",
        "<html><body>{{ page.content | safe }}</body></html>",
    );
    let summary = render(root, &[]);
    assert_eq!(
        reused(&summary),
        3,
        "only the posts, not the page: {summary}"
    );
    equals_a_fresh_render(root);
    write(
        root,
        "templates/base.html",
        "<html><body>{% block content %}{% endblock %}</body></html>",
    );
    let summary = render(root, &[]);
    assert_eq!(
        reused(&summary),
        1,
        "the posts extend base.html, the page no more: {summary}"
    );
    equals_a_fresh_render(root);
    // A template named by a variable: what it loads is unknown, so any
    // template's change renders its pages again.
    write(
        root,
        "templates/post.html",
        "{% extends layout or \"base.html\" %}{% block content %}{{ page.content | safe }}{% endblock %}",
    );
    render(root, &[]);
    write(root, "templates/unrelated.html", "x");
    let summary = render(root, &[]);
    assert_eq!(reused(&summary), 1, "{summary}");
    equals_a_fresh_render(root);
    // site.toml, and a draft brought in by --drafts, change what every
    // page may read.
    let toml = std::fs::read_to_string(root.join("site.toml")).unwrap();
    std::fs::write(root.join("site.toml"), format!("{toml}\n# edited\n")).unwrap();
    let summary = render(root, &[]);
    assert_eq!(reused(&summary), 0, "{summary}");
    write(
        root,
        "content/posts/d.md",
        "+++\ntitle = \"D\"\ndate = 2024-01-04\ndraft = true\n+++\nDraft.\n",
    );
    assert_eq!(reused(&render(root, &[])), 4);
    let summary = render(root, &["--drafts"]);
    assert_eq!(reused(&summary), 0, "{summary}");
    equals_a_fresh_render_with(root, &["--drafts"]);
    let summary = render(root, &["--no-cache"]);
    assert_eq!(reused(&summary), 0, "--no-cache reuses nothing: {summary}");
}

#[test]
fn a_damaged_cache_file_is_ignored_and_written_again() {
    let site = site();
    let root = site.path();
    render(root, &[]);
    std::fs::write(root.join(".blogmark/pages.cache"), b"{ not json").unwrap();
    let summary = render(root, &[]);
    assert_eq!(reused(&summary), 0, "{summary}");
    equals_a_fresh_render(root);
    let summary = render(root, &[]);
    assert_eq!(reused(&summary), 4, "{summary}");
}
