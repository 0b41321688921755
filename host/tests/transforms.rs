//! Transforms end to end: `host render` and `host run-script` with the real
//! binary, the real sandbox and a real git repository.

use crate::common;

use common::host;
use std::collections::BTreeMap;
use std::path::Path;

/// Every file under `root` but `.git`.
fn files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    common::files(root, &[".git"])
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const TOML_POST: &str = "+++\n# Keep this comment.\ntitle   = \"Hello\"   # aligned\ndate = 2024-01-02\ntags = [\"a\"]\n\n[extra]\nmood = 'fine'\n+++\n\nHello body.\n";
const YAML_POST: &str = "---\ntitle: 'World'    # quoted\ndate: 2024-02-03\ntags:\n  - b\nsummary: >\n  folded\n  text\n---\nWorld body.\n";
const BAD_POST: &str = "---\ntitle: bad one\n---\nExplode here.\n";

fn site(posts: &[(&str, &str)], scripts: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = common::site("[python]\ntimeout_ms = 1000\n");
    let root = dir.path();
    for (name, body) in posts {
        std::fs::write(root.join("content/posts").join(name), body).unwrap();
    }
    for (name, source) in scripts {
        std::fs::write(root.join("scripts").join(name), source).unwrap();
    }
    dir
}

fn transform(front: &str, body: &str) -> String {
    format!("\"\"\"\n---\nkind: transform\n{front}---\n\"\"\"\n{body}")
}

/// Appends a tag and a line to the body; raises on posts titled "bad ...".
fn tagger() -> String {
    transform(
        "",
        "def transform(post):\n    fm = dict(post['front_matter'])\n    if fm['title'].startswith('bad'):\n        raise ValueError('no bad posts')\n    fm['tags'] = fm.get('tags', []) + ['seen']\n    return {'front_matter': fm, 'body': post['body'] + 'Tagged.\\n'}\n",
    )
}

fn commit_all(root: &Path) -> git2::Repository {
    let repo = git2::Repository::init(root).unwrap();
    let mut index = repo.index().unwrap();
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::now("T", "t@example.org").unwrap();
    repo.commit(Some("HEAD"), &sig, &sig, "posts", &tree, &[])
        .unwrap();
    drop(tree);
    repo
}

#[test]
fn a_dry_run_prints_diffs_and_changes_no_file() {
    let dir = site(
        &[("hello.md", TOML_POST), ("world.md", YAML_POST)],
        &[("tagger.py", &tagger())],
    );
    commit_all(dir.path());
    let before = files(dir.path());
    let out = host(dir.path(), &["run-script", "tagger", "--all"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(files(dir.path()), before, "a dry run wrote something");
    let diff = text(&out.stdout);
    assert!(diff.contains("--- a/content/posts/hello.md\n+++ b/content/posts/hello.md\n"));
    assert!(
        diff.contains("-tags = [\"a\"]\n+tags = [\"a\", \"seen\"]\n"),
        "{diff}"
    );
    assert!(diff.contains("+Tagged.\n"), "{diff}");
    assert!(
        text(&out.stderr).contains("2 changed, 0 unchanged, 0 failed; dry run"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn write_keeps_toml_and_yaml_front_matter_byte_for_byte_but_the_change() {
    let dir = site(
        &[("hello.md", TOML_POST), ("world.md", YAML_POST)],
        &[("tagger.py", &tagger())],
    );
    commit_all(dir.path());
    let out = host(dir.path(), &["run-script", "tagger", "--all", "--write"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let hello = std::fs::read_to_string(dir.path().join("content/posts/hello.md")).unwrap();
    assert_eq!(
        hello,
        TOML_POST
            .replace("tags = [\"a\"]", "tags = [\"a\", \"seen\"]")
            .replace("Hello body.\n", "Hello body.\nTagged.\n")
    );
    let world = std::fs::read_to_string(dir.path().join("content/posts/world.md")).unwrap();
    assert_eq!(
        world,
        YAML_POST
            .replace("tags:\n  - b\n", "tags:\n- b\n- seen\n")
            .replace("World body.\n", "World body.\nTagged.\n")
    );
    // What was written is still a site that builds.
    let check = host(dir.path(), &["check"]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
}

#[test]
fn a_failure_on_one_post_leaves_it_untouched_and_the_others_proceed() {
    let dir = site(
        &[
            ("bad.md", BAD_POST),
            ("hello.md", TOML_POST),
            ("world.md", YAML_POST),
        ],
        &[("tagger.py", &tagger())],
    );
    commit_all(dir.path());
    let out = host(dir.path(), &["run-script", "tagger", "--all", "--write"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed post must fail the run"
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("content/posts/bad.md")
            && stderr.contains("transform `tagger` (scripts/tagger.py:9) failed: GuestError")
            && stderr.contains("no bad posts"),
        "{stderr}"
    );
    assert!(
        stderr.contains("2 changed, 0 unchanged, 1 failed; 2 written"),
        "{stderr}"
    );
    let root = dir.path().join("content/posts");
    assert_eq!(
        std::fs::read_to_string(root.join("bad.md")).unwrap(),
        BAD_POST
    );
    assert!(
        std::fs::read_to_string(root.join("world.md"))
            .unwrap()
            .contains("Tagged.")
    );
}

#[test]
fn a_file_with_uncommitted_changes_is_refused_without_force() {
    let dir = site(
        &[("hello.md", TOML_POST), ("world.md", YAML_POST)],
        &[("tagger.py", &tagger())],
    );
    commit_all(dir.path());
    let dirty = format!("{YAML_POST}Local edit.\n");
    std::fs::write(dir.path().join("content/posts/world.md"), &dirty).unwrap();
    let out = host(dir.path(), &["run-script", "tagger", "--all", "--write"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("content/posts/world.md: not written: it has uncommitted changes"),
        "{stderr}"
    );
    let world = dir.path().join("content/posts/world.md");
    assert_eq!(std::fs::read_to_string(&world).unwrap(), dirty);
    assert!(
        std::fs::read_to_string(dir.path().join("content/posts/hello.md"))
            .unwrap()
            .contains("Tagged.")
    );

    let forced = host(
        dir.path(),
        &["run-script", "tagger", "--all", "--write", "--force"],
    );
    assert_eq!(forced.status.code(), Some(0), "{}", text(&forced.stderr));
    assert!(
        std::fs::read_to_string(&world)
            .unwrap()
            .ends_with("Local edit.\nTagged.\n")
    );
}

#[test]
fn write_outside_git_is_refused_without_force() {
    let dir = site(&[("hello.md", TOML_POST)], &[("tagger.py", &tagger())]);
    let before = files(dir.path());
    let out = host(dir.path(), &["run-script", "tagger", "--all", "--write"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("not in a git repository"));
    assert_eq!(files(dir.path()), before);
}

#[test]
fn a_script_outside_scripts_runs_on_chosen_posts_only() {
    let dir = site(&[("hello.md", TOML_POST), ("world.md", YAML_POST)], &[]);
    let outside = tempfile::tempdir().unwrap();
    let script = outside.path().join("shout.py");
    std::fs::write(
        &script,
        transform(
            "",
            "def transform(post):\n    return {'body': post['body'].upper()}\n",
        ),
    )
    .unwrap();
    let out = host(
        dir.path(),
        &[
            "run-script",
            script.to_str().unwrap(),
            "--post",
            "content/posts/world.md",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let diff = text(&out.stdout);
    assert!(
        diff.contains("+WORLD BODY.") && !diff.contains("hello.md"),
        "{diff}"
    );
    let by_tag = host(
        dir.path(),
        &["run-script", script.to_str().unwrap(), "--tag", "A"],
    );
    let diff = text(&by_tag.stdout);
    assert!(
        diff.contains("+HELLO BODY.") && !diff.contains("world.md"),
        "{diff}"
    );
    let none = host(dir.path(), &["run-script", script.to_str().unwrap()]);
    assert_eq!(none.status.code(), Some(2), "no posts chosen is bad usage");
}

#[test]
fn render_applies_transforms_in_order_in_memory_only() {
    let append = |mark: &str| {
        format!("def transform(post):\n    return {{'body': post['body'] + ' {mark}'}}\n")
    };
    let dir = site(
        &[("hello.md", TOML_POST)],
        &[
            ("b_second.py", &transform("order: 5\n", &append("SECOND"))),
            ("a_third.py", &transform("order: 9\n", &append("THIRD"))),
            ("z_first.py", &transform("order: -1\n", &append("FIRST"))),
            ("c_between.py", &transform("order: 5\n", &append("BETWEEN"))),
            (
                "off.py",
                &transform("enabled: false\n", &append("DISABLED")),
            ),
        ],
    );
    let before = files(dir.path());
    let out = host(dir.path(), &["render"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let html = std::fs::read_to_string(dir.path().join("public/posts/hello/index.html")).unwrap();
    assert!(
        html.contains("Hello body.\nFIRST SECOND BETWEEN THIRD"),
        "{html}"
    );
    assert!(!html.contains("DISABLED"));
    for (path, bytes) in &before {
        assert_eq!(
            std::fs::read(dir.path().join(path)).ok().as_ref(),
            Some(bytes),
            "render changed {path}"
        );
    }
}

#[test]
fn a_transform_that_times_out_or_returns_garbage_leaves_the_post_as_it_was() {
    let dir = site(
        &[("hello.md", TOML_POST)],
        &[
            (
                "loop.py",
                &transform(
                    "timeout_ms: 100\n",
                    "def transform(post):\n    while True:\n        pass\n",
                ),
            ),
            (
                "garbage.py",
                &transform("", "def transform(post):\n    return 42\n"),
            ),
            (
                "untitled.py",
                &transform(
                    "",
                    "def transform(post):\n    fm = dict(post['front_matter'])\n    del fm['title']\n    return {'front_matter': fm, 'body': 'LOST'}\n",
                ),
            ),
            (
                "fine.py",
                &transform(
                    "order: 1\n",
                    "def transform(post):\n    return {'body': post['body'] + 'STILL RUNS'}\n",
                ),
            ),
        ],
    );
    common::write(
        dir.path(),
        "site.toml",
        // The scripts that must finish have time to spare on a loaded
        // machine; the loop has its own short limit.
        &common::site_toml("[python]\ntimeout_ms = 10000\n"),
    );
    let out = host(dir.path(), &["render"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    for expected in [
        "transform `loop` (scripts/loop.py) failed: Timeout",
        "transform `garbage` (scripts/garbage.py) failed: GuestError (TypeError: `transform` returned int",
        "transform `untitled` (scripts/untitled.py) returned a post that cannot be used: missing `title`",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in {stderr}"
        );
    }
    assert!(
        stderr.contains("content/posts/hello.md:1:1: warning:"),
        "{stderr}"
    );
    let html = std::fs::read_to_string(dir.path().join("public/posts/hello/index.html")).unwrap();
    assert!(
        html.contains("STILL RUNS") && !html.contains("LOST"),
        "{html}"
    );

    let strict = host(dir.path(), &["render", "--strict"]);
    assert_eq!(strict.status.code(), Some(1), "{}", text(&strict.stderr));
}

#[test]
fn run_script_on_a_macro_prints_its_html() {
    let dir = site(
        &[("hello.md", TOML_POST)],
        &[(
            "shout.py",
            "def render(ctx):\n    return '<b>' + ctx.args['t'].upper() + str(ctx.page['title'] if ctx.page else '') + '</b>'\n",
        )],
    );
    let out = host(
        dir.path(),
        &[
            "run-script",
            "shout",
            "--arg",
            "t=hey",
            "--page",
            "content/posts/hello.md",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "<b>HEYHello</b>\n");
}

#[test]
fn a_transformed_bundle_keeps_its_files_and_its_permalink() {
    let dir = common::site("[permalinks]\nposts = \"/:year/:slug/\"\n");
    let root = dir.path();
    common::write(
        root,
        "content/posts/trip/index.md",
        "+++\ntitle = \"Trip\"\ndate = 2024-05-01\n+++\n![map](map.png)\n",
    );
    common::write(root, "content/posts/trip/map.png", "png");
    common::write(root, "scripts/tagger.py", &tagger());
    let out = host(root, &["render"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let page = std::fs::read_to_string(root.join("public/2024/trip/index.html")).unwrap();
    assert!(page.contains("Tagged."), "the transform ran: {page}");
    assert_eq!(
        std::fs::read(root.join("public/2024/trip/map.png")).unwrap(),
        b"png"
    );
    let check = host(root, &["check"]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
}
