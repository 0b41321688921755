//! Input over its size limits is a clear error naming the file, never a
//! hang or an exhausted memory; the rest of the site still renders.

use crate::common;

use common::{host, write};

#[test]
fn oversized_inputs_are_clear_errors_and_the_rest_renders() {
    let dir = common::site("");
    let site = dir.path();
    write(
        site,
        "content/posts/fine.md",
        "---\ntitle: Fine\n---\nStill here.\n",
    );
    // A post over 4 MiB.
    let huge = format!("---\ntitle: Huge\n---\n{}", "word ".repeat(1 << 20));
    write(site, "content/posts/huge.md", &huge);
    // A script over 1 MiB.
    let script = format!(
        "def render(ctx):\n    return ''\n#{}\n",
        "x".repeat(1 << 20)
    );
    write(site, "scripts/bloated.py", &script);
    // More macros than a page may hold.
    let many = format!(
        "---\ntitle: Many\n---\n{}",
        "{{< note >}}x{{< /note >}}\n".repeat(10_001)
    );
    write(site, "content/posts/many.md", &many);
    // Arguments and a body over their limits.
    let args = format!(
        "---\ntitle: Args\n---\n{{{{< figure src=\"{}\" >}}}}\n",
        "a".repeat(70 << 10)
    );
    write(site, "content/posts/args.md", &args);
    let body = format!(
        "---\ntitle: Body\n---\n{{{{< note >}}}}{}{{{{< /note >}}}}\n",
        "b".repeat((1 << 20) + 1)
    );
    write(site, "content/posts/body.md", &body);
    // Ten thousand paired tags never closed but one: the parser must not
    // scan the page once per tag.
    let unclosed = format!(
        "---\ntitle: Unclosed\n---\n{}{{{{< /note >}}}}\n",
        "{{< note >}} ".repeat(9_999)
    );
    write(site, "content/posts/unclosed.md", &unclosed);

    let out = host(site, &["render"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "errors fail the build: {stderr}"
    );
    for expected in [
        "content/posts/huge.md: error: larger than the limit of 4 MiB",
        "scripts/bloated.py: error: larger than the limit of 1 MiB",
        "content/posts/many.md:10004:1: error: more than 10000 macros in one page",
        "content/posts/args.md:4:1: error: the macro's arguments are 71695 bytes, over the limit of 65536",
        "content/posts/body.md:4:1: error: the body of `note` is 1048577 bytes, over the limit of 1048576",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    let fine = std::fs::read_to_string(site.join("public/posts/fine/index.html")).unwrap();
    assert!(fine.contains("Still here."));
    assert!(site.join("public/posts/unclosed/index.html").exists());
    assert!(!site.join("public/posts/huge").exists());
}
