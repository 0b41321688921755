//! Shared code in `scripts/lib/`: every script can import it, and editing a
//! library module re-runs the calls of exactly the scripts that import it,
//! directly or through another library module. Imports that nothing can
//! satisfy are errors at `script:line` before any call runs.

use crate::common;

use common::{host, site, write};
use std::path::Path;
use std::process::Output;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// "N sandbox runs, M from cache" of a render's summary.
fn python_counts(out: &Output) -> String {
    let text = stderr(out);
    assert!(out.status.success(), "{text}");
    text.split("Python: ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("no Python counts in {text}"))
        .to_owned()
}

fn page(root: &Path) -> String {
    std::fs::read_to_string(root.join("public/posts/all/index.html")).unwrap()
}

const CASE_V1: &str = "def loud(text):\n    return text.upper() + '!'\n";

#[test]
fn editing_a_library_module_reruns_exactly_the_calls_of_the_scripts_that_import_it() {
    let site = site("");
    let root = site.path();
    write(root, "scripts/lib/textkit/__init__.py", "");
    write(root, "scripts/lib/textkit/case.py", CASE_V1);
    write(
        root,
        "scripts/lib/fmt.py",
        "from textkit.case import loud\n\ndef framed(text):\n    return '[' + loud(text) + ']'\n",
    );
    write(root, "scripts/lib/unused.py", "VALUE = 1\n");
    write(
        root,
        "scripts/shout.py",
        "from textkit.case import loud\n\ndef render(ctx):\n    return loud(ctx.args['t'])\n",
    );
    write(
        root,
        "scripts/frame.py",
        "import fmt\n\ndef render(ctx):\n    return fmt.framed(ctx.args['t'])\n",
    );
    write(
        root,
        "scripts/plain.py",
        "import html\n\ndef render(ctx):\n    return html.escape(ctx.args['t'])\n",
    );
    write(
        root,
        "content/posts/all.md",
        "+++\ntitle = \"All\"\ndate = 2024-01-01\n+++\n\
         {{< shout t=\"a\" >}} {{< frame t=\"b\" >}} {{< plain t=\"c\" >}}\n",
    );

    assert_eq!(
        python_counts(&host(root, &["render"])),
        "3 sandbox runs, 0 from cache"
    );
    assert!(page(root).contains("A! [B!] c"), "{}", page(root));
    assert_eq!(
        python_counts(&host(root, &["render"])),
        "0 sandbox runs, 3 from cache"
    );

    // Used by shout directly and by frame through fmt.
    write(
        root,
        "scripts/lib/textkit/case.py",
        "def loud(text):\n    return text.upper() + '!!'\n",
    );
    assert_eq!(
        python_counts(&host(root, &["render"])),
        "2 sandbox runs, 1 from cache"
    );
    assert!(page(root).contains("A!! [B!!] c"), "{}", page(root));

    // Used by frame only.
    write(
        root,
        "scripts/lib/fmt.py",
        "from textkit.case import loud\n\ndef framed(text):\n    return '(' + loud(text) + ')'\n",
    );
    assert_eq!(
        python_counts(&host(root, &["render"])),
        "1 sandbox runs, 2 from cache"
    );
    assert!(page(root).contains("A!! (B!!) c"), "{}", page(root));

    // Used by nobody.
    write(root, "scripts/lib/unused.py", "VALUE = 2\n");
    assert_eq!(
        python_counts(&host(root, &["render"])),
        "0 sandbox runs, 3 from cache"
    );

    // The package's own `__init__` runs before its submodule.
    write(root, "scripts/lib/textkit/__init__.py", "PREFIX = '>'\n");
    assert_eq!(
        python_counts(&host(root, &["render"])),
        "2 sandbox runs, 1 from cache"
    );
}

#[test]
fn a_library_failure_shows_the_library_file_in_its_traceback() {
    let site = site("");
    let root = site.path();
    write(
        root,
        "scripts/lib/boom.py",
        "def explode(n):\n    return 10 // n\n",
    );
    write(
        root,
        "scripts/bang.py",
        "import boom\n\ndef render(ctx):\n    return str(boom.explode(0))\n",
    );
    let out = host(root, &["scripts", "run", "bang"]);
    let text = stderr(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("ZeroDivisionError"), "{text}");
    assert!(
        text.contains("File \"scripts/lib/boom.py\", line 2, in explode"),
        "{text}"
    );
    assert!(text.contains("return 10 // n"), "{text}");
}

#[test]
fn imports_nothing_satisfies_are_errors_at_their_line_before_any_call() {
    let site = site("");
    let root = site.path();
    write(
        root,
        "scripts/needs.py",
        "\"\"\"\n---\ndescription: import nothing here\n---\n\"\"\"\nimport json\n\
         import yaml\nfrom helpers import tidy\nimport socket\n\
         try:\n    import tomli\nexcept ImportError:\n    tomli = None\n\
         import os.path, collections.abc\nfrom importlib import import_module\n\n\
         def render(ctx):\n    return 'x'\n",
    );
    write(
        root,
        "scripts/lib/helpers.py",
        "import markdown\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    \
         import typing_only\nimport sys\nif sys.platform == 'win32':\n    import winreg_only\n\n\
         def tidy(s):\n    import only_when_called\n    return s\n",
    );
    // Nothing imports it: its imports never run.
    write(
        root,
        "scripts/lib/unused.py",
        "import nowhere_to_be_found\n",
    );
    let out = host(root, &["scripts", "check"]);
    let check = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{check}");
    assert!(
        check.contains(
            "scripts/needs.py:7:1: error: cannot import `yaml`: no module `yaml` in the \
             standard library, scripts/lib/ or scripts/vendor/"
        ),
        "{check}"
    );
    assert!(
        check.contains("scripts/lib/helpers.py:1:1: error: cannot import `markdown`"),
        "{check}"
    );
    // Importing the network works (using it is refused); guarded, deferred,
    // unreached, standard and library imports are fine.
    for silent in [
        "socket",
        "tomli",
        "typing_only",
        "winreg_only",
        "only_when_called",
        "nowhere_to_be_found",
        "os.path",
        "collections",
        "import_module",
        ":6:",
        ":8:",
    ] {
        assert!(!check.contains(silent), "{silent} in {check}");
    }
    let errors = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.contains("cannot import"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(errors(&check).len(), 2, "{check}");

    // A render says the same before it runs anything, and fails as well.
    write(
        root,
        "content/posts/a.md",
        "+++\ntitle = \"A\"\ndate = 2024-01-01\n+++\nNo macro.\n",
    );
    let out = host(root, &["render"]);
    let render = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{render}");
    assert_eq!(errors(&render), errors(&check), "{render}");
    assert!(!render.contains("sandbox run"), "{render}");
}
