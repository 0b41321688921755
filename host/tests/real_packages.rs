//! Real packages from the Python package index (wheels committed as
//! fixtures, no network) locked, vendored and called from a macro: the
//! sandbox returns exactly what native CPython returns for the same code
//! and the same versions, and neither `render` nor `scripts check` reports
//! a false error.

use crate::common;

use common::{host, site, write};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const PACKAGES: [&str; 8] = [
    "markdown==3.11.3",
    "markupsafe==3.0.4",
    "python-slugify==9.2.0",
    "smartypants==2.0.2",
    "six==1.17.0",
    "svgwrite==1.4.3",
    "latex2mathml==3.81.1",
    "segno==1.6.6",
];

/// A site with the fixture wheels locked and the probe macro. `scripts run`
/// imports nine packages in its one call (no site snapshot): the time limit
/// leaves room for a loaded machine.
fn locked_site() -> tempfile::TempDir {
    let site = site("[python]\ntimeout_ms = 20000\n");
    let root = site.path();
    let wheels = fixtures().join("wheels");
    let mut args = vec!["python", "add"];
    args.extend(PACKAGES);
    args.extend(["--find-links", wheels.to_str().unwrap(), "--no-index"]);
    let out = host(root, &args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Locked 9 packages"),
        "{}",
        stderr(&out)
    );
    let probe = std::fs::read_to_string(fixtures().join("packages_probe.py")).unwrap();
    write(root, "scripts/packages.py", &probe);
    site
}

#[test]
fn real_packages_return_what_native_cpython_returns() {
    let site = locked_site();
    let root = site.path();
    let native = std::fs::read_to_string(fixtures().join("packages_probe.native.html")).unwrap();

    // `.data/purelib` would be merged; scripts and man pages stay out; the
    // metadata is there for importlib.metadata.
    let vendor = root.join("scripts/vendor");
    assert!(vendor.join("smartypants.py").is_file());
    assert!(!vendor.join("smartypants-2.0.2.data").exists());
    assert!(!vendor.join("share").exists());
    assert!(
        vendor
            .join("segno-1.6.6.dist-info/entry_points.txt")
            .is_file()
    );
    assert!(vendor.join("text_unidecode/data.bin").is_file());
    // MarkupSafe's wheel is compiled; its accelerator is left out, and it
    // runs on its pure-Python fallback.
    let lock = std::fs::read_to_string(root.join("python.lock")).unwrap();
    assert!(
        lock.contains("left_out = [\"markupsafe/_speedups.cpython-314-x86_64-linux-gnu.so\"]"),
        "{lock}"
    );
    assert!(vendor.join("markupsafe/_native.py").is_file());
    assert!(
        !vendor
            .join("markupsafe/_speedups.cpython-314-x86_64-linux-gnu.so")
            .exists()
    );

    let out = host(root, &["scripts", "run", "packages"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(said.trim_end(), native, "{}", stderr(&out));

    // In a render (a site snapshot with the packages imported): the same
    // HTML in the page, no error, no false alarm from the import check.
    write(
        root,
        "content/posts/a.md",
        "+++\ntitle = \"A\"\ndate = 2024-01-01\n+++\n{{< packages >}}\n",
    );
    let out = host(root, &["render"]);
    let text = stderr(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("0 errors"), "{text}");
    assert!(!text.contains("cannot import"), "{text}");
    let page = std::fs::read_to_string(root.join("public/posts/a/index.html")).unwrap();
    for line in native.lines().filter(|l| !l.is_empty()) {
        assert!(page.contains(line), "{line} not in\n{page}");
    }
    let out = host(root, &["scripts", "check"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn the_file_tree_is_read_only_and_holds_nothing_else() {
    let site = locked_site();
    let root = site.path();
    let secret = tempfile::tempdir().unwrap();
    std::fs::write(secret.path().join("key"), "s3cret").unwrap();
    std::os::unix::fs::symlink(secret.path(), root.join("scripts/lib")).unwrap();
    std::os::unix::fs::symlink(
        secret.path().join("key"),
        root.join("scripts/vendor/slugify/key"),
    )
    .unwrap();
    let vendored = root.join("scripts/vendor/text_unidecode/data.bin");
    let before = std::fs::read(&vendored).unwrap();
    let key = secret.path().join("key");
    write(
        root,
        "scripts/tree.py",
        &format!(
            "import os, pathlib\n\n\
             def attempt(what, fn):\n    try:\n        return f'{{what}}: ok {{fn()!r}}'\n    \
             except Exception as e:\n        return f'{{what}}: {{type(e).__name__}}'\n\n\
             def render(ctx):\n    return '\\n'.join([\n\
             attempt('absolute', lambda: open({key:?}).read()),\n\
             attempt('dotdot', lambda: open('../../../../../../..' + {key:?}).read()),\n\
             attempt('linked file', lambda: open('scripts/vendor/slugify/key').read()),\n\
             attempt('linked folder', lambda: os.listdir('scripts/lib')),\n\
             attempt('passwd', lambda: open('/etc/passwd').read()),\n\
             attempt('write', lambda: open('scripts/vendor/text_unidecode/data.bin', 'wb')),\n\
             attempt('append', lambda: open('scripts/new.txt', 'a')),\n\
             attempt('pathlib write', lambda: pathlib.Path('scripts/x').write_text('x')),\n\
             attempt('root', lambda: sorted(os.listdir('/'))),\n\
             attempt('stdlib source', lambda: __import__('inspect').getsource(\
             __import__('textwrap').dedent).split('(')[0]),\n\
             attempt('stdlib write', lambda: open('/python/json/__init__.py', 'w')),\n\
             attempt('site', lambda: sorted(os.listdir('/scripts'))),\n\
             ])\n"
        ),
    );
    let out = host(root, &["scripts", "run", "tree"]);
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{}", stderr(&out));
    for expected in [
        "absolute: FileNotFoundError",
        "dotdot: FileNotFoundError",
        "linked file: FileNotFoundError",
        "linked folder: FileNotFoundError",
        "passwd: FileNotFoundError",
        "write: OSError",
        "append: OSError",
        "pathlib write: OSError",
        "root: ok ['python', 'scripts']",
        "stdlib source: ok 'def dedent'",
        "stdlib write: OSError",
        "site: ok ['vendor']",
    ] {
        assert!(said.contains(expected), "{expected} in\n{said}");
    }
    assert!(!said.contains("s3cret"), "{said}");
    assert_eq!(std::fs::read(&vendored).unwrap(), before);
    assert!(!root.join("scripts/new.txt").exists());
    assert!(!root.join("scripts/x").exists());
}
