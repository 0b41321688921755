//! `host scripts run` end to end: the real binary, the real sandbox.

use crate::common;

use std::path::Path;
use std::process::Output;

/// `host scripts run ARGS --site SITE`.
fn host(site: &Path, args: &[&str]) -> Output {
    let all: Vec<&str> = ["scripts", "run"].iter().chain(args).copied().collect();
    common::host(site, &all)
}

fn site_with(script: &str, source: &str) -> tempfile::TempDir {
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir(site.path().join("scripts")).unwrap();
    std::fs::write(site.path().join(format!("scripts/{script}.py")), source).unwrap();
    site
}

#[test]
fn prints_the_html_of_a_macro() {
    let site = site_with(
        "shout",
        "def render(ctx):\n    print('shouting')\n    return ctx.args['t'].upper() * ctx.args['n']\n",
    );
    let out = host(site.path(), &["shout", "--arg", "t=hey", "--arg", "n=2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "HEYHEY\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("shouting"));
}

#[test]
fn a_failing_macro_names_the_script_and_line_and_exits_1() {
    let site = site_with("bad", "def render(ctx):\n    x = 1\n    return x / 0\n");
    let out = host(site.path(), &["bad"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("scripts/bad.py:3: error: ZeroDivisionError"),
        "{stderr}"
    );
}

#[test]
fn a_missing_script_is_a_clear_error() {
    let site = tempfile::tempdir().unwrap();
    let out = host(site.path(), &["nothing"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
}

#[test]
fn invalid_utf8_is_reported_with_the_byte_offset() {
    let site = site_with("latin", "");
    std::fs::write(
        site.path().join("scripts/latin.py"),
        b"def render(ctx):\n    return '\xe9'\n",
    )
    .unwrap();
    let out = host(site.path(), &["latin"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("scripts/latin.py:2:13: error: not valid UTF-8 (byte 29)"),
        "{stderr}"
    );
}

#[test]
fn bad_usage_exits_2() {
    let site = tempfile::tempdir().unwrap();
    let out = host(site.path(), &["x", "--arg", "novalue"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_demo_badge_runs() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo");
    let out = host(
        &demo,
        &["badge", "--arg", "text=new", "--arg", "color=blue"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "<span class=\"badge badge-blue\">NEW</span>\n"
    );
}

#[test]
fn page_metadata_and_the_declared_entrypoint_are_used() {
    let site = site_with(
        "who",
        "\"\"\"\n---\nkind: macro\nentrypoint: draw\nuses_page: true\n---\n\"\"\"\ndef draw(ctx):\n    return ctx.page['title'] + '|' + ','.join(ctx.page['tags'])\n",
    );
    std::fs::create_dir_all(site.path().join("content/posts")).unwrap();
    std::fs::write(
        site.path().join("content/posts/p.md"),
        "---\ntitle: Hello\ntags: [a, b]\n---\nx",
    )
    .unwrap();
    let out = host(site.path(), &["who", "--page", "content/posts/p.md"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Hello|a,b\n");
}

#[test]
fn renders_markdown_with_a_hook_and_lists_what_a_generator_makes() {
    let site = site_with(
        "quotes",
        "\"\"\"\n---\nkind: hook\nhook: blockquote\n---\n\"\"\"\n\
         def render(ctx):\n    print('quoted')\n    return f'<aside>{ctx.blockquote.html}</aside>'\n",
    );
    common::write(site.path(), "site.toml", &common::site_toml(""));
    let out = host(site.path(), &["quotes", "--markdown", "> *wise*\n"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout, "<aside><p><em>wise</em></p>\n</aside>\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("quoted"));
    // With no Markdown, a sample with one element of each kind.
    let out = host(site.path(), &["quotes"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("<aside><p>A quote.</p>"));

    common::write(site.path(), "data/tags.json", "[\"rust\", \"wasm\"]");
    common::write(
        site.path(),
        "scripts/tags.py",
        "\"\"\"\n---\nkind: generator\n---\n\"\"\"\n\
         def generate(ctx):\n    return {'pages': [{'path': f'pages/t/{t}.md', 'front_matter': {'title': t}} \
         for t in ctx.data['tags']], 'files': [{'output': 'tags.txt', 'content': 'rust wasm'}]}\n",
    );
    let out = host(site.path(), &["tags"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "page content/pages/t/rust.md\trust\npage content/pages/t/wasm.md\twasm\nfile tags.txt\t9 bytes\n"
    );
}
