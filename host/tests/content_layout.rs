//! Content as Hugo and Zola users keep it, through the real binary: page
//! bundles with their files, year folders, permalinks, aliases, summaries,
//! two taxonomies, future posts, and `ctx.page.resources` through the
//! gallery example; every clash is an error naming both files.

use crate::common;

use common::write;
use std::path::Path;
use std::process::{Command, Output};

/// 2025-01-01: posts after it are in the future.
const NOW: &str = "1735689600";

fn host(site: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_host"))
        .args(args)
        .arg("--site")
        .arg(site)
        .env("NO_COLOR", "1")
        .env("SOURCE_DATE_EPOCH", NOW)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn read(site: &Path, path: &str) -> String {
    std::fs::read_to_string(site.join("public").join(path))
        .unwrap_or_else(|e| panic!("public/{path}: {e}"))
}

/// The header of a 3x2 PNG: enough for a size reader and a link checker.
fn png() -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend_from_slice(&[0, 0, 0, 3, 0, 0, 0, 2, 8, 6, 0, 0, 0]);
    png
}

fn fixture() -> tempfile::TempDir {
    let site = common::site("taxonomies = [\"tags\", \"categories\"]\n");
    let root = site.path();
    write(
        root,
        "content/posts/my-trip/index.md",
        "+++\ntitle = \"My trip\"\ndate = 2024-06-01\nlastmod = 2024-07-02\n\
         tags = [\"Travel\"]\ncategories = [\"Journal\"]\naliases = [\"/old/trip/\"]\n+++\n\
         We went far.\n\n<!--more-->\n\nThe rest of the story.\n\n\
         ![cover](cover.png)\n\n{{< gallery columns=2 >}}\n",
    );
    std::fs::write(root.join("content/posts/my-trip/cover.png"), png()).unwrap();
    write(
        root,
        "content/posts/my-trip/notes/route.txt",
        "north, then west\n",
    );
    write(
        root,
        "content/posts/2024/winter.md",
        "+++\ntitle = \"Winter\"\ndate = 2024-12-01\ncategories = [\"Journal\", \"Weather\"]\n+++\nCold.\n",
    );
    write(
        root,
        "content/posts/soon.md",
        "+++\ntitle = \"Soon\"\ndate = 2030-01-01\n+++\nNot yet.\n",
    );
    let gallery = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/gallery.py"),
    )
    .unwrap();
    write(root, "scripts/gallery.py", &gallery);
    site
}

#[test]
fn bundles_folders_aliases_summaries_and_taxonomies_render() {
    let site = fixture();
    let root = site.path();
    let out = host(root, &["check"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = host(root, &["render"]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    // The bundle: its page at its folder's name, its files beside it.
    let trip = read(root, "posts/my-trip/index.html");
    assert!(
        trip.contains(r#"<img src="cover.png" alt="cover" />"#),
        "{trip}"
    );
    assert_eq!(
        std::fs::read(root.join("public/posts/my-trip/cover.png")).unwrap(),
        png()
    );
    assert_eq!(
        read(root, "posts/my-trip/notes/route.txt"),
        "north, then west\n"
    );
    // The gallery saw the bundle's image, with its size.
    assert!(
        trip.contains(r#"<a href="cover.png"><img src="cover.png" width="3" height="2" loading="lazy" alt="cover.png"></a>"#),
        "{trip}"
    );
    assert!(trip.contains("repeat(2,1fr)"), "{trip}");
    // Its categories link to their pages.
    assert!(
        trip.contains(r#"<a class="term categories" href="https://example.org/categories/journal/">Journal</a>"#),
        "{trip}"
    );

    // A year folder keeps its folder in the URL.
    assert!(read(root, "posts/2024/winter/index.html").contains("Cold."));

    // The alias redirects to the page.
    insta::assert_snapshot!("alias_redirect", read(root, "old/trip/index.html"));

    // The index shows the part before <!--more-->.
    let index = read(root, "index.html");
    assert!(
        index.contains("<div class=\"summary\"><p>We went far.</p></div>"),
        "{index}"
    );
    assert!(!index.contains("The rest of the story"), "{index}");
    let feed = read(root, "atom.xml");
    assert!(
        feed.contains("<summary type=\"html\">&lt;p&gt;We went far.&lt;/p&gt;</summary>"),
        "{feed}"
    );

    // Two taxonomies, each with an index and a page per term.
    assert!(read(root, "tags/travel/index.html").contains("My trip"));
    let categories = read(root, "categories/index.html");
    assert!(categories.contains("Journal</a> (2)"), "{categories}");
    assert!(categories.contains("Weather</a> (1)"), "{categories}");
    let weather = read(root, "categories/weather/index.html");
    assert!(
        weather.contains("Winter") && !weather.contains("My trip"),
        "{weather}"
    );

    // The sitemap: lastmod where given, term pages, no alias.
    let sitemap = read(root, "sitemap.xml");
    assert!(
        sitemap
            .contains("<loc>https://example.org/posts/my-trip/</loc><lastmod>2024-07-02</lastmod>"),
        "{sitemap}"
    );
    assert!(
        sitemap.contains("https://example.org/categories/weather/"),
        "{sitemap}"
    );
    assert!(!sitemap.contains("old/trip"), "{sitemap}");

    // The future post is left out, and comes in with --future.
    assert!(!root.join("public/posts/soon/index.html").exists());
    assert!(!index.contains("Soon"), "{index}");
    let out = host(root, &["render", "--future"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(read(root, "posts/soon/index.html").contains("Not yet."));
}

#[test]
fn permalinks_place_posts_by_date_and_a_url_wins() {
    let site = common::site(
        "[permalinks]\nposts = \"/:year/:month/:slug/\"\npages = \"/:section/:slug/\"\n",
    );
    let root = site.path();
    write(
        root,
        "content/posts/2024/trip.md",
        "+++\ntitle = \"Trip\"\ndate = 2024-05-03\n+++\nx\n",
    );
    write(
        root,
        "content/posts/moved.md",
        "+++\ntitle = \"Moved\"\ndate = 2024-05-04\nurl = \"/elsewhere/\"\n+++\nx\n",
    );
    write(
        root,
        "content/pages/about.md",
        "+++\ntitle = \"About\"\n+++\nx\n",
    );
    let out = host(root, &["render"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(read(root, "2024/05/trip/index.html").contains("Trip"));
    assert!(read(root, "elsewhere/index.html").contains("Moved"));
    assert!(read(root, "pages/about/index.html").contains("About"));
}

#[test]
fn a_bad_permalink_pattern_names_its_line() {
    let site = common::site("[permalinks]\nposts = \"/:yaer/:slug/\"\n");
    let out = host(site.path(), &["render"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("site.toml:4:1: error: [permalinks] posts: `:yaer`"),
        "{stderr}"
    );
}

/// Render `site` and return the error lines.
fn errors(site: &Path) -> Vec<String> {
    let out = host(site, &["render"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    text(&out.stderr)
        .lines()
        .filter(|l| l.contains(": error: "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_clash_is_an_error_naming_both_files() {
    // Two bundles of one name in two folders under a pattern without folders.
    let site = common::site("[permalinks]\nposts = \"/:slug/\"\n");
    write(
        site.path(),
        "content/posts/a/trip/index.md",
        "+++\ntitle = \"A\"\n+++\n",
    );
    write(
        site.path(),
        "content/posts/b/trip/index.md",
        "+++\ntitle = \"B\"\n+++\n",
    );
    let found = errors(site.path());
    assert!(
        found.iter().any(|e| e.starts_with("content/posts/b/trip/index.md:1:1: error: duplicate URL `/trip/`: content/posts/a/trip/index.md")),
        "{found:?}"
    );

    // An alias at another page's URL.
    let site = common::site("");
    write(
        site.path(),
        "content/posts/one.md",
        "+++\ntitle = \"One\"\n+++\n",
    );
    write(
        site.path(),
        "content/posts/two.md",
        "+++\ntitle = \"Two\"\naliases = [\"/posts/one/\"]\n+++\n",
    );
    let found = errors(site.path());
    assert!(
        found.iter().any(|e| e.starts_with("content/posts/two.md:1:1: error: the alias `/posts/one/` cannot redirect: content/posts/one.md is published there")),
        "{found:?}"
    );

    // Two aliases of one old URL.
    let site = common::site("");
    for name in ["one", "two"] {
        write(
            site.path(),
            &format!("content/posts/{name}.md"),
            "+++\ntitle = \"T\"\naliases = [\"/old/\"]\n+++\n",
        );
    }
    let found = errors(site.path());
    assert!(
        found.iter().any(|e| e.starts_with("content/posts/two.md:1:1: error: the alias `/old/` cannot redirect: content/posts/one.md is published there")),
        "{found:?}"
    );

    // A page where the site writes a listing.
    let site = common::site("");
    write(
        site.path(),
        "content/pages/tags.md",
        "+++\ntitle = \"Tags\"\n+++\n",
    );
    let found = errors(site.path());
    assert!(
        found.iter().any(|e| e.starts_with("content/pages/tags.md:1:1: error: published at `/tags/index.html`, where the site writes its `tags.html` page")),
        "{found:?}"
    );
}

#[test]
fn a_changed_bundle_file_reruns_only_the_calls_that_saw_it() {
    let site = fixture();
    let root = site.path();
    write(
        root,
        "scripts/shout.py",
        "def render(ctx):\n    return '<b>' + ctx.args['text'].upper() + '</b>'\n",
    );
    write(
        root,
        "content/posts/2024/winter.md",
        "+++\ntitle = \"Winter\"\ndate = 2024-12-01\n+++\n{{< shout text=\"cold\" >}}\n",
    );
    let python = |out: &Output| {
        let stderr = text(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        stderr
            .split("Python: ")
            .nth(1)
            .and_then(|rest| rest.split(')').next())
            .unwrap_or_else(|| panic!("no Python counts in {stderr}"))
            .to_owned()
    };
    assert_eq!(
        python(&host(root, &["render"])),
        "2 sandbox runs, 0 from cache"
    );
    assert_eq!(
        python(&host(root, &["render"])),
        "0 sandbox runs, 2 from cache"
    );
    let mut bigger = png();
    bigger[19] = 9;
    std::fs::write(root.join("content/posts/my-trip/cover.png"), &bigger).unwrap();
    assert_eq!(
        python(&host(root, &["render"])),
        "1 sandbox runs, 1 from cache"
    );
    assert!(read(root, "posts/my-trip/index.html").contains(r#"width="9" height="2""#));
    assert_eq!(
        std::fs::read(root.join("public/posts/my-trip/cover.png")).unwrap(),
        bigger
    );
}

#[test]
fn scripts_run_on_a_bundle_page_sees_its_resources() {
    let site = fixture();
    let out = host(
        site.path(),
        &[
            "scripts",
            "run",
            "gallery",
            "--page",
            "content/posts/my-trip/index.md",
        ],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.contains(r#"<img src="cover.png" width="3" height="2""#),
        "{stdout}"
    );
}
