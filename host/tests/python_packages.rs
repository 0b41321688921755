//! Pinned third-party packages: wheels built here (no network), locked by
//! `host python add` / `host python lock` from a local folder through pip,
//! vendored, used by a macro, and checked by every render.

use crate::common;

use common::{host, site, write};
use std::io::Write as _;
use std::path::Path;
use std::process::Output;

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A wheel named `file` holding `files` (path, contents) and the metadata
/// of `name` `version` (`requires`: its dependencies).
fn wheel(
    dir: &Path,
    file: &str,
    name: &str,
    version: &str,
    requires: &[&str],
    files: &[(&str, &str)],
) {
    let out = std::fs::File::create(dir.join(file)).unwrap();
    let mut zip = zip::ZipWriter::new(out);
    let options = zip::write::SimpleFileOptions::default();
    let info = format!("{name}-{version}.dist-info");
    let mut metadata = format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n");
    for dependency in requires {
        metadata.push_str(&format!("Requires-Dist: {dependency}\n"));
    }
    let tag = file
        .trim_end_matches(".whl")
        .splitn(3, '-')
        .nth(2)
        .unwrap()
        .to_owned();
    let pure = tag.ends_with("none-any");
    let wheel_file =
        format!("Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: {pure}\nTag: {tag}\n");
    let mut entries: Vec<(String, String)> = files
        .iter()
        .map(|(p, c)| ((*p).to_owned(), (*c).to_owned()))
        .collect();
    entries.push((format!("{info}/METADATA"), metadata));
    entries.push((format!("{info}/WHEEL"), wheel_file));
    let record: String = entries.iter().map(|(p, _)| format!("{p},,\n")).collect();
    entries.push((
        format!("{info}/RECORD"),
        format!("{record}{info}/RECORD,,\n"),
    ));
    for (path, contents) in entries {
        zip.start_file(path, options).unwrap();
        zip.write_all(contents.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
}

fn wheels(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    wheel(
        dir,
        "tinyslug-1.0-py3-none-any.whl",
        "tinyslug",
        "1.0",
        &["tinytext>=0.5"],
        &[(
            "tinyslug/__init__.py",
            "from tinytext import words\n\ndef slug(s):\n    return '-'.join(words(s))\n",
        )],
    );
    wheel(
        dir,
        "tinytext-0.5-py3-none-any.whl",
        "tinytext",
        "0.5",
        &[],
        &[(
            "tinytext.py",
            "import re\n\ndef words(s):\n    return re.findall(r'[a-z0-9]+', s.lower())\n",
        )],
    );
    wheel(
        dir,
        "fastthing-1.0-cp314-cp314-linux_x86_64.whl",
        "fastthing",
        "1.0",
        &[],
        &[
            ("fastthing/__init__.py", "from ._speed import go\n"),
            ("fastthing/_speed.so", "\x7fELF"),
        ],
    );
    wheel(
        dir,
        "sneaky-1.0-py3-none-any.whl",
        "sneaky",
        "1.0",
        &[],
        &[
            ("sneaky/__init__.py", "from sneaky._native import x\n"),
            ("sneaky/_native.so", "\x7fELF"),
        ],
    );
    // An accelerator with a pure-Python fallback, as MarkupSafe has.
    wheel(
        dir,
        "speedy-1.0-cp314-cp314-linux_x86_64.whl",
        "speedy",
        "1.0",
        &[],
        &[
            (
                "speedy/__init__.py",
                "try:\n    from ._speed import shout\nexcept ImportError:\n    \
                 def shout(s):\n        return s.upper() + '!'\n",
            ),
            ("speedy/_speed.so", "\x7fELF"),
        ],
    );
    wheel(
        dir,
        "onlynative-1.0-cp314-cp314-linux_x86_64.whl",
        "onlynative",
        "1.0",
        &[],
        &[("onlynative.so", "\x7fELF")],
    );
}

fn lock_args<'a>(wheels: &'a str, first: &[&'a str]) -> Vec<&'a str> {
    let mut args = first.to_vec();
    args.extend(["--find-links", wheels, "--no-index"]);
    args
}

#[test]
fn a_locked_package_is_vendored_used_and_checked() {
    let site = site("");
    let root = site.path();
    let dir = tempfile::tempdir().unwrap();
    wheels(dir.path());
    let links = dir.path().to_str().unwrap();

    let out = host(root, &lock_args(links, &["python", "add", "tinyslug==1.0"]));
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("Locked 2 packages into python.lock"),
        "{}",
        text(&out)
    );
    let site_toml = std::fs::read_to_string(root.join("site.toml")).unwrap();
    assert!(
        site_toml.contains("dependencies = [\"tinyslug==1.0\"]"),
        "{site_toml}"
    );
    let lock = std::fs::read_to_string(root.join("python.lock")).unwrap();
    for expected in [
        "name = \"tinyslug\"",
        "version = \"1.0\"",
        "wheel = \"tinyslug-1.0-py3-none-any.whl\"",
        "name = \"tinytext\"",
        "\"tinyslug/__init__.py\" = \"",
        "\"tinytext.py\" = \"",
    ] {
        assert!(lock.contains(expected), "{expected} in\n{lock}");
    }
    let wheel_sha = blogmark_host::input::content_hash(
        &std::fs::read(dir.path().join("tinyslug-1.0-py3-none-any.whl")).unwrap(),
    );
    assert!(
        lock.contains(&format!("sha256 = \"{wheel_sha}\"")),
        "{lock}"
    );
    assert!(root.join("scripts/vendor/tinyslug/__init__.py").is_file());
    assert!(root.join("scripts/vendor/tinytext.py").is_file());
    // Its metadata too, for `importlib.metadata`.
    assert!(
        root.join("scripts/vendor/tinyslug-1.0.dist-info/METADATA")
            .is_file()
    );

    // A macro uses it; the render needs no pip and no network.
    write(
        root,
        "scripts/slugged.py",
        "import tinyslug\n\ndef render(ctx):\n    return tinyslug.slug(ctx.args['t'])\n",
    );
    write(
        root,
        "content/posts/a.md",
        "+++\ntitle = \"A\"\ndate = 2024-01-01\n+++\n{{< slugged t=\"Hello, Vendored World\" >}}\n",
    );
    let out = host(root, &["render"]);
    assert!(out.status.success(), "{}", text(&out));
    let page = std::fs::read_to_string(root.join("public/posts/a/index.html")).unwrap();
    assert!(page.contains("hello-vendored-world"), "{page}");

    // A tampered vendored file is refused, named, with the fix.
    std::fs::write(
        root.join("scripts/vendor/tinytext.py"),
        "def words(s):\n    return ['pwned']\n",
    )
    .unwrap();
    let out = host(root, &["render"]);
    let said = text(&out);
    assert!(
        said.contains(
            "scripts/vendor/tinytext.py: error: does not match python.lock (changed since it \
             was vendored), so scripts cannot import it: run `host python lock` to vendor it again"
        ),
        "{said}"
    );
    let page = std::fs::read_to_string(root.join("public/posts/a/index.html")).unwrap();
    assert!(!page.contains("pwned"), "{page}");
    assert!(page.contains("No module named"), "{page}");

    // Locking again restores it.
    let out = host(root, &lock_args(links, &["python", "lock"]));
    assert!(out.status.success(), "{}", text(&out));
    let out = host(root, &["render"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("python.lock"), "{}", text(&out));

    // site.toml asks for something else than the lock holds.
    let edited = std::fs::read_to_string(root.join("site.toml"))
        .unwrap()
        .replace("tinyslug==1.0", "tinyslug>=1.0");
    std::fs::write(root.join("site.toml"), edited).unwrap();
    let out = host(root, &["render"]);
    assert!(
        text(&out).contains(
            "site.toml: error: [python] dependencies changed since python.lock was written: \
             run `host python lock`"
        ),
        "{}",
        text(&out)
    );
}

#[test]
fn packages_that_need_their_compiled_extensions_are_refused_by_name() {
    let site = site("");
    let root = site.path();
    let dir = tempfile::tempdir().unwrap();
    wheels(dir.path());
    let links = dir.path().to_str().unwrap();
    let before = std::fs::read_to_string(root.join("site.toml")).unwrap();

    for (name, why) in [
        (
            "fastthing",
            "does not import without them (ModuleNotFoundError: No module named \
             'fastthing._speed')",
        ),
        (
            "sneaky",
            "holds a native library (sneaky/_native.so, .so), and it does not import \
             without them",
        ),
        (
            "onlynative",
            "it has compiled extensions, and no Python files",
        ),
    ] {
        let out = host(root, &lock_args(links, &["python", "add", name]));
        let said = text(&out);
        assert!(!out.status.success(), "{said}");
        assert!(
            said.contains(&format!("`{name}` 1.0 cannot run in the sandbox")),
            "{said}"
        );
        assert!(said.contains(why), "{why} in {said}");
        assert!(said.contains("pure-Python packages only"), "{said}");
        assert!(said.contains("site.toml is unchanged"), "{said}");
        assert_eq!(
            std::fs::read_to_string(root.join("site.toml")).unwrap(),
            before
        );
        assert!(!root.join("python.lock").exists());
        assert!(!root.join("scripts/vendor").exists());
        assert!(!root.join("scripts/.vendor.partial").exists());
    }
}

#[test]
fn a_package_whose_extension_is_an_optional_accelerator_is_vendored_without_it() {
    let site = site("");
    let root = site.path();
    let dir = tempfile::tempdir().unwrap();
    wheels(dir.path());
    let links = dir.path().to_str().unwrap();

    let out = host(root, &lock_args(links, &["python", "add", "speedy"]));
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains(
            "without its compiled extensions (speedy/_speed.so): it imports without them"
        ),
        "{said}"
    );
    let lock = std::fs::read_to_string(root.join("python.lock")).unwrap();
    assert!(lock.contains("left_out = [\"speedy/_speed.so\"]"), "{lock}");
    assert!(!lock.contains("\"speedy/_speed.so\" ="), "{lock}");
    assert!(root.join("scripts/vendor/speedy/__init__.py").is_file());
    assert!(!root.join("scripts/vendor/speedy/_speed.so").exists());

    write(
        root,
        "scripts/loud.py",
        "import speedy\n\ndef render(ctx):\n    return speedy.shout(ctx.args['t'])\n",
    );
    write(
        root,
        "content/posts/a.md",
        "+++\ntitle = \"A\"\ndate = 2024-01-01\n+++\n{{< loud t=\"hey\" >}}\n",
    );
    let out = host(root, &["render"]);
    assert!(out.status.success(), "{}", text(&out));
    let page = std::fs::read_to_string(root.join("public/posts/a/index.html")).unwrap();
    assert!(page.contains("HEY!"), "{page}");
}
