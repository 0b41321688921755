//! The site snapshot of `host render`: built by the host itself (with the
//! modules the scripts import that the base guest does not hold, if any,
//! and its objects made immortal), rebuilt when that set (or a library
//! module in it) changes, and not otherwise.

use crate::common;

use common::{site, write};
use std::path::Path;
use std::process::{Command, Output};

/// `host render -v` with its own cache folder, and `extra` arguments.
fn render_with(root: &Path, cache: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_host"))
        .args(["render", "-v"])
        .args(extra)
        .arg("--site")
        .arg(root)
        .env("BLOGMARK_CACHE_DIR", cache)
        .env("NO_COLOR", "1")
        .output()
        .expect("the host binary runs")
}

/// What a render did with its site snapshot, after checking it succeeded.
#[derive(Debug, PartialEq)]
enum Snapshot {
    /// Made it: an image (reset in place) or a component.
    Built,
    /// Ran on the base guest and left the component to `host python
    /// prepare`, started apart (a fresh instance per request).
    Apart,
    /// Used one made before, or none.
    Neither,
}

fn snapshot(out: &Output) -> Snapshot {
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    if text.contains("built the site snapshot") {
        Snapshot::Built
    } else if text.contains("building the site snapshot apart") {
        Snapshot::Apart
    } else {
        Snapshot::Neither
    }
}

/// `host python prepare` for `root`, waiting for any started apart.
fn prepare(root: &Path, cache: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_host"))
        .args(["python", "prepare", "--site"])
        .arg(root)
        .env("BLOGMARK_CACHE_DIR", cache)
        .env("NO_COLOR", "1")
        .output()
        .expect("the host binary runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// Wait until no `host python prepare` for `root` runs: one a render
/// started in the background may start late (it runs at the lowest
/// priority) and would then build the snapshot of scripts edited since.
fn wait_for_background(root: &Path) {
    let site = format!("--site={}", root.display());
    let running = || {
        std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .any(|entry| {
                std::fs::read(entry.path().join("cmdline")).is_ok_and(|cmdline| {
                    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
                    args.contains(&b"prepare".as_slice()) && args.contains(&site.as_bytes())
                })
            })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    while running() {
        assert!(
            std::time::Instant::now() < deadline,
            "a background prepare never ended"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// `host render`, and whether it built a site snapshot. A render that left
/// it to `host python prepare` (a fresh instance per request) did not wait
/// for it; that is checked here, and the snapshot made for the next run.
fn render(root: &Path, cache: &Path) -> Output {
    let out = render_with(root, cache, &[]);
    if snapshot(&out) == Snapshot::Apart {
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("site_snapshot=\"pending\""),
            "the render ran on the base guest"
        );
        prepare(root, cache);
    }
    wait_for_background(root);
    out
}

/// Whether the render made the site snapshot its imports need (itself, or
/// apart for the next run).
fn built(out: &Output) -> bool {
    snapshot(out) != Snapshot::Neither
}

fn snapshots(cache: &Path) -> usize {
    std::fs::read_dir(cache.join("snapshots")).map_or(0, |entries| {
        entries
            .flatten()
            // A component (a fresh instance per request) or an image
            // (reset in place); not a layer of scripts over an image
            // (`<key>.<scripts>.image`).
            .filter(|e| {
                let path = e.path();
                path.extension()
                    .is_some_and(|x| x == "wasm" || x == "image")
                    && !path
                        .file_stem()
                        .is_some_and(|s| s.to_string_lossy().contains('.'))
            })
            .count()
    })
}

/// The `tree` macro, importing `extra` besides its two modules and ending
/// its output with `suffix`.
fn tree(root: &Path, extra: &str, suffix: &str) {
    write(
        root,
        "scripts/tree.py",
        &format!(
            "import xml.etree.ElementTree as ET{extra}\nfrom textkit import loud\n\n\
             def render(ctx):\n    return loud(ET.fromstring('<a>leaf</a>').text) + '{suffix}'\n"
        ),
    );
}

/// The library module `tree` imports; its output ends with `mark`.
fn textkit(root: &Path, mark: &str) {
    write(
        root,
        "scripts/lib/textkit.py",
        &format!("def loud(s):\n    return s.upper() + '{mark}'\n"),
    );
}

fn page(root: &Path) -> String {
    std::fs::read_to_string(root.join("public/posts/a/index.html")).unwrap()
}

/// A site whose one post, `a`, holds `body`, and a cache folder.
fn one_post(body: &str) -> (tempfile::TempDir, tempfile::TempDir) {
    let site = site("");
    write(
        site.path(),
        "content/posts/a.md",
        &format!("+++\ntitle = \"A\"\ndate = 2024-01-01\n+++\n{body}\n"),
    );
    (site, tempfile::tempdir().unwrap())
}

#[test]
fn the_snapshot_is_rebuilt_when_the_imports_change_and_not_otherwise() {
    let (site, cache) = one_post("{{< tree >}}");
    let root = site.path();
    let cache = cache.path().join("blogmark");
    tree(root, "", "");
    textkit(root, "");

    assert!(built(&render(root, &cache)), "the first render builds it");
    assert!(page(root).contains("LEAF"), "{}", page(root));
    assert_eq!(snapshots(&cache), 1);

    assert!(!built(&render(root, &cache)), "nothing changed");
    // A body edit imports nothing new.
    tree(root, "", "!");
    assert!(!built(&render(root, &cache)), "a body edit");
    assert!(page(root).contains("LEAF!"), "{}", page(root));
    assert_eq!(snapshots(&cache), 1);

    // A new import: a new snapshot.
    tree(root, ", tomllib", "?");
    assert!(built(&render(root, &cache)), "a new import");
    assert!(page(root).contains("LEAF?"), "{}", page(root));
    assert_eq!(snapshots(&cache), 2);

    // A library module in the snapshot changed: its code is in it.
    textkit(root, "*");
    assert!(built(&render(root, &cache)), "a library module changed");
    assert!(page(root).contains("LEAF*?"), "{}", page(root));

    // Back to the first set: read from the disk, not built.
    tree(root, "", "");
    textkit(root, "");
    assert!(!built(&render(root, &cache)), "a snapshot made before");
    assert!(page(root).contains("LEAF"), "{}", page(root));
}

/// A library module that reads a file of the library as it is imported
/// (a table, a word list) is imported again when that file is edited: the
/// snapshot holds what it read, so the file is in the snapshot's key.
#[test]
fn a_library_file_read_at_import_is_read_again_when_edited() {
    let (site, cache) = one_post("Said: {{< say >}}");
    let root = site.path();
    let cache = cache.path().join("blogmark");
    write(
        root,
        "scripts/lib/wordy/__init__.py",
        "import os\n\nwith open(os.path.join(os.path.dirname(__file__), 'word.txt')) as f:\n    \
         WORD = f.read().strip()\n",
    );
    write(root, "scripts/lib/wordy/word.txt", "one\n");
    write(
        root,
        "scripts/say.py",
        "import wordy\n\ndef render(ctx):\n    return wordy.WORD\n",
    );
    assert!(built(&render(root, &cache)), "the first render builds it");
    assert!(page(root).contains("Said: one"), "{}", page(root));
    let before = snapshots(&cache);

    write(root, "scripts/lib/wordy/word.txt", "two\n");
    assert!(
        built(&render(root, &cache)),
        "an edited file: another snapshot"
    );
    assert!(page(root).contains("Said: two"), "{}", page(root));
    assert_eq!(snapshots(&cache), before + 1);

    // Back to the first text: the first snapshot, kept, is used again.
    write(root, "scripts/lib/wordy/word.txt", "one\n");
    assert!(!built(&render(root, &cache)), "the first snapshot again");
    assert!(page(root).contains("Said: one"), "{}", page(root));
}

#[test]
fn without_a_snapshot_the_same_imports_still_work() {
    let site = site("[python]\nsnapshot = false\n");
    let root = site.path();
    let cache = tempfile::tempdir().unwrap();
    write(
        root,
        "content/posts/a.md",
        "+++\ntitle = \"A\"\ndate = 2024-01-01\n+++\n{{< tree >}}\n",
    );
    write(
        root,
        "scripts/tree.py",
        "import xml.etree.ElementTree as ET\n\n\
         def render(ctx):\n    return ET.fromstring('<a>leaf</a>').text.upper()\n",
    );
    assert!(!built(&render(root, cache.path())));
    assert!(page(root).contains("LEAF"), "{}", page(root));
    assert_eq!(snapshots(cache.path()), 0);
}

/// A macro that says whether `re.compile`, an object of the base snapshot,
/// is immortal.
fn refs(root: &Path) {
    write(
        root,
        "content/posts/a.md",
        "+++\ntitle = \"A\"\ndate = 2024-01-01\n+++\n{{< refs >}}\n",
    );
    write(
        root,
        "scripts/refs.py",
        "import re, sys\n\n\
         def render(ctx):\n    return f'immortal={sys.getrefcount(re.compile) >= 1 << 30}'\n",
    );
}

#[test]
fn a_site_importing_nothing_new_still_gets_a_snapshot_whose_objects_are_immortal() {
    let site = site("");
    let root = site.path();
    let cache = tempfile::tempdir().unwrap();
    refs(root);
    assert!(
        built(&render(root, cache.path())),
        "a snapshot with no added module"
    );
    // A render that ran on the base guest while the snapshot was made
    // apart ran `refs` there: its result is not the snapshot's.
    assert_eq!(
        snapshot(&render_with(root, cache.path(), &["--no-cache"])),
        Snapshot::Neither,
        "made before"
    );
    assert!(page(root).contains("immortal=True"), "{}", page(root));
    assert_eq!(snapshots(cache.path()), 1);

    // `[python] snapshot = false`: the base guest as it is.
    write(
        root,
        "site.toml",
        &common::site_toml("[python]\nsnapshot = false\n"),
    );
    assert!(!built(&render(root, cache.path())));
    assert!(page(root).contains("immortal=False"), "{}", page(root));
}

/// The line of `--stats` that says how many requests named their script in
/// the site snapshot (0 when it says nothing), or `None` when the render
/// did not reset instances in place (no image, so nothing to name).
fn by_key(out: &Output) -> Option<u64> {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    let line = text
        .lines()
        .find(|l| l.starts_with("sandbox isolation: reset"))?;
    Some(
        line.split("; ")
            .find_map(|part| part.strip_suffix(" requests named their script in the site snapshot"))
            .map_or(0, |n| n.parse().unwrap()),
    )
}

#[test]
fn the_scripts_are_in_the_image_and_an_edited_one_in_a_layer_over_it() {
    let site = site("");
    let root = site.path();
    let cache = tempfile::tempdir().unwrap();
    let cache = cache.path().join("blogmark");
    for (name, word) in [("a", "one"), ("b", "two")] {
        write(
            root,
            &format!("content/posts/{name}.md"),
            &format!(
                "+++\ntitle = \"{name}\"\ndate = 2024-01-01\n+++\n{{{{< tree >}}}}{word}{{{{< /tree >}}}}\n"
            ),
        );
    }
    let tree = |suffix: &str| {
        write(
            root,
            "scripts/tree.py",
            &format!("def render(ctx):\n    return ctx.body.upper() + '{suffix}'\n"),
        )
    };
    tree("");
    let Some(named) = by_key(&render_with(root, &cache, &["--stats", "--no-cache"])) else {
        eprintln!("no reset in place here: no image");
        return;
    };
    assert_eq!(named, 2, "both calls name the script the image holds");
    assert!(page(root).contains("ONE"), "{}", page(root));

    // Edited: the imports did not change, so the modules' image is kept
    // (not made again); the new script is compiled into a layer over it.
    let images = |cache: &Path| -> usize {
        std::fs::read_dir(cache.join("snapshots"))
            .unwrap()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "image"))
            .count()
    };
    // The modules' image (shared by every site importing the same
    // modules, so holding no script) and the layer of this site's script.
    assert_eq!(images(&cache), 2);
    tree("!");
    let out = render_with(root, &cache, &["--stats", "--no-cache"]);
    assert_eq!(snapshot(&out), Snapshot::Neither);
    assert_eq!(by_key(&out), Some(2));
    assert!(page(root).contains("ONE!"), "{}", page(root));
    assert_eq!(images(&cache), 3, "the modules' image and two layers");
    // The next render maps that layer.
    let out = render_with(root, &cache, &["--stats", "--no-cache"]);
    assert_eq!(by_key(&out), Some(2));
    assert_eq!(images(&cache), 3);
}
