//! The extension points of DESIGN §10 end to end on real sites: `data/`,
//! site queries, render hooks and generators, mixed with built-ins and
//! macros; and what an edit re-runs and re-renders, counted.

use crate::common;

use common::{host, listings, write};
use std::path::Path;

/// `host render ARGS`'s summary (and its log with `-v`), after checking it
/// succeeded.
fn render(root: &Path, args: &[&str]) -> String {
    let mut all = vec!["render"];
    all.extend_from_slice(args);
    let out = host(root, &all);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    stderr
}

/// The pages the summary says were reused, and the sandbox runs and cache
/// hits it counts.
fn counts(summary: &str) -> (usize, usize, usize) {
    let line = summary
        .lines()
        .find(|l| l.starts_with("Rendered "))
        .unwrap_or_else(|| panic!("no summary in {summary}"));
    let number_before = |marker: &str| -> usize {
        line.split(marker)
            .next()
            .filter(|_| line.contains(marker))
            .and_then(|head| head.rsplit(['(', ' ', ';']).find(|w| !w.is_empty()))
            .map_or(0, |n| n.parse().unwrap_or(0))
    };
    (
        number_before(" unchanged, reused"),
        number_before(" sandbox runs"),
        number_before(" from cache"),
    )
}

fn read(root: &Path, path: &str) -> String {
    std::fs::read_to_string(root.join("public").join(path))
        .unwrap_or_else(|e| panic!("public/{path}: {e}"))
}

const BOOK_MACRO: &str = "def render(ctx):\n    book = ctx.data['books'][ctx.args['key']]\n    \
                          return f\"<cite>{book['title']}</cite> ({book.year}){ctx.args.get('note', '')}\"\n";

const SHOUT_MACRO: &str = "def render(ctx):\n    return str(ctx.args['text']).upper()\n";

/// 100 posts: two cite a book from `data/books/`, the others shout.
fn hundred_posts() -> tempfile::TempDir {
    let site = common::site("");
    let root = site.path();
    write(root, "scripts/book.py", BOOK_MACRO);
    write(root, "scripts/shout.py", SHOUT_MACRO);
    write(
        root,
        "data/books/dune.toml",
        "title = \"Dune\"\nyear = 1965\n",
    );
    write(
        root,
        "data/books/emma.json",
        "{\"title\": \"Emma\", \"year\": 1815}",
    );
    write(root, "data/authors.csv", "name,born\nHerbert,1920\n");
    for i in 0..100 {
        let body = match i {
            10 => "See {{< book key=\"dune\" >}}.".to_owned(),
            20 => "Again {{< book key=\"dune\" note=\"!\" >}}.".to_owned(),
            _ => format!("Post {{{{< shout text=\"p{i}\" >}}}}."),
        };
        write(
            root,
            &format!("content/posts/p{i:03}.md"),
            &format!("+++\ntitle = \"P{i}\"\ndate = 2024-01-01\n+++\n{body}\n"),
        );
    }
    site
}

#[test]
fn a_data_edit_reruns_exactly_the_calls_and_pages_that_read_it() {
    let site = hundred_posts();
    let root = site.path();
    let first = render(root, &[]);
    assert_eq!(counts(&first), (0, 100, 0), "{first}");
    assert!(read(root, "posts/p010/index.html").contains("<cite>Dune</cite> (1965)"));
    assert!(read(root, "posts/p020/index.html").contains("<cite>Dune</cite> (1965)!"));

    // A data file no call read: nothing runs, every page is reused.
    write(
        root,
        "data/books/emma.json",
        "{\"title\": \"Emma\", \"year\": 1816}",
    );
    let untouched = render(root, &[]);
    assert_eq!(counts(&untouched), (100, 0, 100), "{untouched}");

    // A new file in a folder the calls read from: they read one file by
    // its key, not the folder's list, so nothing runs.
    write(
        root,
        "data/books/hobbit.toml",
        "title = \"The Hobbit\"\nyear = 1937\n",
    );
    let added = render(root, &[]);
    assert_eq!(counts(&added), (100, 0, 100), "{added}");

    // The file two calls read: those two run again, their two pages render again.
    write(
        root,
        "data/books/dune.toml",
        "title = \"Dune\"\nyear = 1966\n",
    );
    let edited = render(root, &[]);
    assert_eq!(counts(&edited), (98, 2, 98), "{edited}");
    assert!(read(root, "posts/p010/index.html").contains("(1966)"));
    assert!(read(root, "posts/p020/index.html").contains("(1966)!"));

    // Without the kept pages, the stored results answer every other call.
    std::fs::remove_file(root.join(".blogmark/pages.cache")).unwrap();
    write(
        root,
        "data/books/dune.toml",
        "title = \"Dune\"\nyear = 1967\n",
    );
    let stored = render(root, &[]);
    assert_eq!(counts(&stored), (0, 2, 98), "{stored}");
    assert!(read(root, "posts/p020/index.html").contains("(1967)!"));
}

#[test]
fn data_reaches_templates_and_broken_data_is_located() {
    let site = common::site("");
    let root = site.path();
    write(
        root,
        "data/site.yaml",
        "motto: Less is more\nlinks: [a, b]\n",
    );
    write(root, "data/broken.json", "{\n  \"a\": 1,\n  \"b\": \n}\n");
    write(
        root,
        "templates/page.html",
        "<html><body><p class=motto>{{ data.site.motto }} {{ data.site.links | length }}</p>\
         {% for key in data %}<i>{{ key }}</i>{% endfor %}{{ page.content }}</body></html>\n",
    );
    write(
        root,
        "content/pages/about.md",
        "+++\ntitle = \"About\"\n+++\nMe.\n",
    );
    write(
        root,
        "content/pages/other.md",
        "+++\ntitle = \"Other\"\n+++\nYou.\n",
    );
    let out = host(root, &["render"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("data/broken.json:4:1: error: invalid JSON"),
        "{stderr}"
    );
    let about = read(root, "about/index.html");
    assert!(
        about.contains("<p class=motto>Less is more 2</p>"),
        "{about}"
    );
    assert!(about.contains("<i>site</i>"), "{about}");
    assert!(
        !about.contains("<i>broken</i>"),
        "a broken file is left out: {about}"
    );

    // A template that read the data is rendered again when it changes.
    write(root, "data/broken.json", "{\"a\": 1}");
    render(root, &[]);
    write(root, "data/site.yaml", "motto: More is more\nlinks: []\n");
    let edited = render(root, &["-v"]);
    assert!(
        read(root, "about/index.html").contains("More is more 0"),
        "{edited}"
    );
    // The theme's HTML listings read `data.site` (the footer's motto), so
    // they were made again; the feed and the sitemap did not, and were kept.
    assert_eq!(listings(&edited), (2, 5), "{edited}");
    // A file no template read leaves every one kept.
    write(root, "data/other.json", "[1]");
    let other = render(root, &["-v"]);
    let (kept, total) = listings(&other);
    assert!(kept == total && total > 3, "{other}");
}

#[test]
fn queries_key_calls_and_pages_on_the_answers_they_got() {
    let site = common::site("");
    let root = site.path();
    write(
        root,
        "scripts/related.py",
        "\"\"\"\n---\nuses_page: true\n---\n\"\"\"\n\
         def render(ctx):\n    tag = ctx.page['tags'][0]\n    \
         pages = [p for p in ctx.site.pages(tag=tag, sort='title', reverse=False) \
         if p.slug != ctx.page['slug']]\n    \
         return ', '.join(p.title for p in pages) + ' / ' + ctx.site.page('content/posts/p0.md').url\n",
    );
    for i in 0..10 {
        let (tag, body) = match i {
            1 => ("rust", "{{< related >}}"),
            2 => ("rust", "plain"),
            3 => ("go", "{{< recent_posts n=2 >}}"),
            _ => ("go", "plain"),
        };
        write(
            root,
            &format!("content/posts/p{i}.md"),
            &format!(
                "+++\ntitle = \"P{i}\"\ndate = 2024-01-{:02}\ntags = [\"{tag}\"]\n+++\n{body}\n",
                i + 1
            ),
        );
    }
    render(root, &[]);
    let p1 = read(root, "posts/p1/index.html");
    assert!(p1.contains("P2 / https://example.org/posts/p0/"), "{p1}");
    let p3 = read(root, "posts/p3/index.html");
    assert!(p3.contains(">P9<") && p3.contains(">P8<"), "{p3}");

    // An old post's title no query showed: only its own page renders again
    // (a title is in the post's own page and in listings, not in others').
    write(
        root,
        "content/posts/p5.md",
        "+++\ntitle = \"P5 renamed\"\ndate = 2024-01-06\ntags = [\"go\"]\n+++\nplain\n",
    );
    let quiet = render(root, &[]);
    assert_eq!(counts(&quiet), (9, 0, 1), "{quiet}");

    // The title the Python query showed: its call runs again, its page renders again.
    write(
        root,
        "content/posts/p2.md",
        "+++\ntitle = \"P2 renamed\"\ndate = 2024-01-03\ntags = [\"rust\"]\n+++\nplain\n",
    );
    let related = render(root, &[]);
    assert_eq!(counts(&related), (8, 1, 0), "{related}");
    assert!(read(root, "posts/p1/index.html").contains("P2 renamed / "));

    // The newest post's title, which `recent_posts` shows.
    write(
        root,
        "content/posts/p9.md",
        "+++\ntitle = \"P9 renamed\"\ndate = 2024-01-10\ntags = [\"go\"]\n+++\nplain\n",
    );
    let recent = render(root, &[]);
    assert_eq!(counts(&recent), (8, 0, 1), "{recent}");
    assert!(read(root, "posts/p3/index.html").contains(">P9 renamed<"));
}

const LINK_HOOK: &str = "\"\"\"\n---\nkind: hook\nhook: link\n---\n\"\"\"\nimport html\n\
def render(ctx):\n    if not ctx.link.url.startswith('http'):\n        return None\n    \
return f'<a href=\"{html.escape(ctx.link.url)}\" rel=\"external\">{ctx.link.text} ↗</a>'\n";

const HEADING_HOOK: &str = "\"\"\"\n---\nkind: hook\nhook: heading\n---\n\"\"\"\n\
def render(ctx):\n    h = ctx.heading\n    \
return f'<h{h.level} id=\"{h.id}\"><a class=\"anchor\" href=\"#{h.id}\">#</a> {h.text}</h{h.level}>'\n";

const CHART_HOOK: &str = "\"\"\"\n---\nkind: hook\nhook: codeblock\nlanguages: [chart]\n---\n\"\"\"\n\
def render(ctx):\n    bars = [int(n) for n in ctx.code.text.split()]\n    \
return '<div class=\"chart\">' + ''.join(f'<span style=\"width:{n}px\"></span>' for n in bars) + '</div>'\n";

#[test]
fn hooks_render_their_elements_and_the_rest_keeps_working() {
    let site = common::site("");
    let root = site.path();
    write(root, "scripts/external.py", LINK_HOOK);
    write(root, "scripts/heading.py", HEADING_HOOK);
    write(root, "scripts/chart.py", CHART_HOOK);
    write(root, "scripts/shout.py", SHOUT_MACRO);
    write(
        root,
        "content/posts/a.md",
        "+++\ntitle = \"A\"\ndate = 2024-01-01\n+++\n{{< toc >}}\n\n## Intro\n\n\
         See [Rust](https://www.rust-lang.org/ \"R\") and [b](/posts/b/) and [gone](/nowhere/).\n\n\
         ## Intro\n\n```chart\n3 5\n```\n\n```rust\nfn main() {}\n```\n\n{{< shout text=\"x\" >}}\n",
    );
    write(
        root,
        "content/posts/b.md",
        "+++\ntitle = \"B\"\ndate = 2024-01-02\n+++\nSee [a](/posts/a/#intro-1).\n\n\
         As Hugo sites write it: [again]({{< ref \"a#intro-1\" >}}), [not]({{< relref \"a#nope\" >}}).\n",
    );
    let out = host(root, &["check"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // A heading that a `ref` names is checked, located at its fragment.
    assert!(
        stderr.contains(
            "content/posts/b.md:7:78: error: broken link `/posts/a/#nope`: no element with id `nope`"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("intro-1`"), "{stderr}");
    // Link checking still sees a hooked page's links, located in its Markdown.
    assert!(
        stderr.contains("content/posts/a.md:9:74: error: broken link `/nowhere/`"),
        "{stderr}"
    );
    render(root, &[]);
    let a = read(root, "posts/a/index.html");
    assert!(
        a.contains("<a href=\"https://www.rust-lang.org/\" rel=\"external\">Rust ↗</a>"),
        "{a}"
    );
    assert!(
        a.contains("<a href=\"/posts/b/\">b</a>"),
        "internal links keep the default: {a}"
    );
    // The link hook sees the URL a `ref` gives in a link, not a stand-in.
    let b = read(root, "posts/b/index.html");
    assert!(
        b.contains("<a href=\"https://example.org/posts/a/#intro-1\" rel=\"external\">again ↗</a>"),
        "{b}"
    );
    assert!(b.contains("<a href=\"/posts/a/#nope\">not</a>"), "{b}");
    assert!(
        a.contains("<h2 id=\"intro\"><a class=\"anchor\" href=\"#intro\">#</a> Intro</h2>"),
        "{a}"
    );
    assert!(a.contains("<h2 id=\"intro-1\">"), "ids stay unique: {a}");
    assert!(
        a.contains(
            "<nav class=\"toc\"><ul><li><a href=\"#intro\">Intro</a></li><li><a href=\"#intro-1\">"
        ),
        "the table of contents lists hooked headings: {a}"
    );
    assert!(
        a.contains("<div class=\"chart\"><span style=\"width:3px\"></span>"),
        "{a}"
    );
    assert!(
        a.contains("language-rust"),
        "other languages keep the highlighter: {a}"
    );
    assert!(a.contains(">X<") || a.contains("X"), "{a}");

    // Nothing changed: every hook call is answered from a cache.
    let again = render(root, &[]);
    assert_eq!(counts(&again).1, 0, "{again}");

    // An edited hook renders its elements again on every kept page; a
    // removed one leaves them to the default.
    write(root, "scripts/external.py", &LINK_HOOK.replace(" ↗", " ⇗"));
    render(root, &[]);
    assert!(read(root, "posts/a/index.html").contains("Rust ⇗</a>"));
    std::fs::remove_file(root.join("scripts/external.py")).unwrap();
    render(root, &[]);
    assert!(
        read(root, "posts/a/index.html")
            .contains("<a href=\"https://www.rust-lang.org/\" title=\"R\">Rust</a>")
    );
}

#[test]
fn a_call_that_asks_huge_or_endless_questions_keeps_a_small_record() {
    let site = common::site("");
    let root = site.path();
    write(
        root,
        "scripts/greedy.py",
        "import importlib\n\
         def render(ctx):\n    host = importlib.import_module('wit_world.imports.host')\n    big = '{\"page\": \"' + 'x' * (8 << 20) + '\"}'\n    \
         for i in range(20):\n        try:\n            host.query(big)\n        except Exception:\n            pass\n    \
         for i in range(5000):\n        ctx.site.page('same')\n    \
         return 'done'\n",
    );
    write(
        root,
        "content/posts/a.md",
        "+++\ntitle = \"A\"\n+++\n{{< greedy >}}\n",
    );
    render(root, &[]);
    assert!(read(root, "posts/a/index.html").contains("done"));
    let db = std::fs::metadata(root.join(".blogmark/site.db"))
        .unwrap()
        .len();
    let pages = std::fs::metadata(root.join(".blogmark/pages.cache"))
        .unwrap()
        .len();
    assert!(
        db < 2 << 20 && pages < 1 << 20,
        "site.db {db} bytes, pages.cache {pages}"
    );
    // Its stored result holds: the refused questions are recorded as refused.
    let again = render(root, &[]);
    assert_eq!(counts(&again).1, 0, "{again}");
    // Nothing changed, so the next render would build nothing: without
    // the record of its inputs and the kept pages, it asks the database.
    std::fs::remove_file(root.join(".blogmark/inputs.record")).unwrap();
    std::fs::remove_file(root.join(".blogmark/pages.cache")).unwrap();
    let stored = render(root, &[]);
    assert_eq!(counts(&stored), (0, 0, 1), "{stored}");
}

#[test]
fn a_failing_hook_falls_back_to_the_default_with_a_located_warning() {
    let site = common::site("[python]\ntimeout_ms = 300\n");
    let root = site.path();
    write(
        root,
        "scripts/external.py",
        "\"\"\"\n---\nkind: hook\nhook: link\n---\n\"\"\"\ndef render(ctx):\n    \
         if 'loop' in ctx.link.url:\n        while True:\n            pass\n    \
         if 'huge' in ctx.link.url:\n        return 'x' * (8 << 20)\n    \
         raise ValueError('no ' + ctx.link.url)\n",
    );
    write(
        root,
        "content/posts/a.md",
        "+++\ntitle = \"A\"\n+++\nFirst line.\n\nSee [x](https://a.example/) and\n[y](https://loop.example/).\n\n[z](https://huge.example/)\n",
    );
    let out = host(root, &["render"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "a failing hook fails no render: {stderr}"
    );
    assert!(
        stderr.contains("content/posts/a.md:6:5: warning: render hook scripts/external.py"),
        "{stderr}"
    );
    assert!(stderr.contains("ValueError"), "{stderr}");
    assert!(
        stderr.contains("content/posts/a.md:7:1: warning:") && stderr.contains("time"),
        "{stderr}"
    );
    // A flood of HTML: refused by the host's output cap, not written.
    assert!(
        stderr.contains("content/posts/a.md:9:1: warning:") && stderr.contains("OutputTooLarge"),
        "{stderr}"
    );
    let a = read(root, "posts/a/index.html");
    assert!(a.contains("<a href=\"https://a.example/\">x</a>"), "{a}");
    assert!(a.contains("<a href=\"https://loop.example/\">y</a>"), "{a}");
    assert!(a.contains("<a href=\"https://huge.example/\">z</a>"), "{a}");
    assert!(a.len() < 100_000, "no flood in the page");
}

const BOOKS_GENERATOR: &str = "\"\"\"\n---\nkind: generator\n---\n\"\"\"\nimport json\n\
def generate(ctx):\n    books = ctx.data['books']\n    pages = []\n    for key in books:\n        \
b = books[key]\n        pages.append({'path': f'pages/books/{key}.md', 'front_matter': \
{'title': b['title'], 'tags': ['books']}, 'body': f\"By {b['author']}. {{{{< shout text=\\\"{key}\\\" >}}}}\"})\n    \
return {'pages': pages, 'files': [{'output': 'books.json', 'content': json.dumps(sorted(books))}]}\n";

#[test]
fn generators_make_pages_and_files_and_run_again_only_when_what_they_read_changed() {
    let site = common::site("");
    let root = site.path();
    write(root, "scripts/books.py", BOOKS_GENERATOR);
    write(root, "scripts/shout.py", SHOUT_MACRO);
    write(
        root,
        "data/books/dune.toml",
        "title = \"Dune\"\nauthor = \"Herbert\"\n",
    );
    write(
        root,
        "data/books/emma.toml",
        "title = \"Emma\"\nauthor = \"Austen\"\n",
    );
    write(root, "data/other.toml", "x = 1\n");
    write(
        root,
        "content/posts/a.md",
        "+++\ntitle = \"A\"\n+++\n{{< ref \"dune\" >}}\n",
    );
    let first = render(root, &[]);
    let dune = read(root, "books/dune/index.html");
    assert!(
        dune.contains("By Herbert. DUNE"),
        "macros expand in generated pages: {dune}"
    );
    assert_eq!(read(root, "books.json"), "[\"dune\", \"emma\"]");
    assert!(
        read(root, "posts/a/index.html").contains("href=\"https://example.org/books/dune/\""),
        "built-ins see generated pages: {first}"
    );
    assert!(
        read(root, "sitemap.xml").contains("https://example.org/books/emma/"),
        "and so does the sitemap"
    );

    let (_, runs, _) = counts(&render(root, &[]));
    assert_eq!(runs, 0, "nothing changed, nothing runs");
    write(root, "data/other.toml", "x = 2\n");
    let (_, runs, _) = counts(&render(root, &[]));
    assert_eq!(runs, 0, "the generator did not read data/other.toml");
    write(
        root,
        "data/books/hobbit.toml",
        "title = \"The Hobbit\"\nauthor = \"Tolkien\"\n",
    );
    let grown = render(root, &[]);
    assert_eq!(
        counts(&grown).1,
        2,
        "the generator and the new page's macro: {grown}"
    );
    assert!(read(root, "books/hobbit/index.html").contains("By Tolkien. HOBBIT"));
}

/// A generator that reads `data/books/` with `items()`, and skips the
/// folder `more/` in it.
const SHELF_GENERATOR: &str = "\"\"\"\n---\nkind: generator\n---\n\"\"\"\n\
def generate(ctx):\n    return [{'path': f'pages/books/{key}.md', 'front_matter': {'title': b.title}, \
'body': f'By {b.author}.'}\n            for key, b in ctx.data['books'].items() if key != 'more']\n";

#[test]
fn a_generator_that_reads_a_folder_with_items_asks_once_and_runs_again_only_for_that_folder() {
    let site = common::site("");
    let root = site.path();
    write(root, "scripts/shelf.py", SHELF_GENERATOR);
    let book = |title: &str, author: &str| format!("title = \"{title}\"\nauthor = \"{author}\"\n");
    write(root, "data/books/dune.toml", &book("Dune", "Herbert"));
    write(root, "data/books/emma.toml", &book("Emma", "Austen"));
    write(root, "data/books/more/x.toml", "y = 1\n");
    write(root, "data/other.toml", "x = 1\n");
    render(root, &[]);
    assert!(read(root, "books/emma/index.html").contains("By Austen."));
    let questions = || -> Vec<String> {
        let db = rusqlite::Connection::open(root.join(".blogmark/site.db")).unwrap();
        let record: String = db
            .query_row(
                "SELECT html FROM macro_results WHERE script_slug = 'shelf'
                   AND key LIKE '%/questions' ORDER BY rowid DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        serde_json::from_str(&record).unwrap()
    };
    assert_eq!(
        questions(),
        [r#"{"data": ["books"]}"#, r#"{"entries": ["books"]}"#],
        "the folder, then all of it: not a question a file"
    );
    for (file, text) in [
        ("data/other.toml", "x = 2\n"),
        ("data/books/more/x.toml", "y = 2\n"),
    ] {
        write(root, file, text);
        let (_, runs, _) = counts(&render(root, &[]));
        assert_eq!(runs, 0, "{file} is not what the generator read");
    }
    write(root, "data/books/emma.toml", &book("Emma", "J. Austen"));
    let (_, runs, _) = counts(&render(root, &[]));
    assert_eq!(runs, 1, "a book's edit runs the generator again");
    assert!(read(root, "books/emma/index.html").contains("By J. Austen."));
    write(
        root,
        "data/books/hobbit.toml",
        &book("The Hobbit", "Tolkien"),
    );
    let (_, runs, _) = counts(&render(root, &[]));
    assert_eq!(runs, 1, "so does a new book");
    assert!(read(root, "books/hobbit/index.html").contains("By Tolkien."));
}

#[test]
fn a_folder_too_large_for_one_answer_is_read_key_by_key() {
    let site = common::site("");
    let root = site.path();
    let mega = format!("\"{}\"", "x".repeat(1 << 20));
    for i in 0..5 {
        write(root, &format!("data/big/{i}.json"), &mega);
    }
    write(
        root,
        "scripts/weigh.py",
        "def render(ctx):\n    return str(sum(len(v) for v in ctx.data['big'].values()))\n",
    );
    write(
        root,
        "content/posts/a.md",
        "+++\ntitle = \"A\"\n+++\n{{< weigh >}}\n",
    );
    render(root, &[]);
    assert!(read(root, "posts/a/index.html").contains(&(5 << 20).to_string()));
    // One file's edit re-runs the call, through its own question.
    write(root, "data/big/2.json", "\"short\"");
    let (_, runs, _) = counts(&render(root, &[]));
    assert_eq!(runs, 1);
    assert!(read(root, "posts/a/index.html").contains(&((4 << 20) + 5).to_string()));
}

#[test]
fn hostile_generators_are_contained() {
    // The generators that must finish have time to spare on a loaded
    // machine; the endless one has its own short limit.
    let site = common::site("[python]\ntimeout_ms = 10000\n");
    let root = site.path();
    write(
        root,
        "content/pages/taken.md",
        "+++\ntitle = \"Taken\"\n+++\nMine.\n",
    );
    write(
        root,
        "scripts/evil.py",
        "\"\"\"\n---\nkind: generator\n---\n\"\"\"\n\
         def generate(ctx):\n    return {'pages': [\n        \
         {'path': 'pages/taken.md', 'front_matter': {'title': 'Stolen'}},\n        \
         {'path': '../../../outside.md', 'front_matter': {'title': 'Out'}},\n        \
         {'path': 'pages/ok.md', 'front_matter': {'title': 'Fine'}, 'body': 'fine'},\n        \
         {'path': 'pages/ok2.md', 'front_matter': {'title': 'Twin', 'slug': 'ok'}},\n        \
         {'path': 'pages/nofm.md', 'front_matter': {}},\n    ],\n    \
         'files': [\n        {'output': '../escaped.txt', 'content': 'x'},\n        \
         {'output': 'taken/index.html', 'content': 'overwritten'},\n        \
         {'output': 'sitemap.xml', 'content': 'overwritten'},\n        \
         {'output': 'fine.txt', 'content': 'fine'},\n        \
         {'output': 'taken', 'content': 'a file where a folder is'},\n    ]}\n",
    );
    write(
        root,
        "scripts/flood.py",
        "\"\"\"\n---\nkind: generator\n---\n\"\"\"\n\
         def generate(ctx):\n    return [{'path': f'pages/f{i}.md'} for i in range(200000)]\n",
    );
    write(
        root,
        "scripts/spin.py",
        "\"\"\"\n---\nkind: generator\ntimeout_ms: 100\n---\n\"\"\"\ndef generate(ctx):\n    while True:\n        pass\n",
    );
    let out = host(root, &["render"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Rendered "), "the render goes on: {stderr}");
    for expected in [
        "made a page at `content/pages/taken.md`, where content/pages/taken.md already is",
        "`../../../outside.md` is not a plain path",
        "made a page at `/ok/`, where content/pages/ok.md (made by scripts/evil.py) already is",
        "missing `title`",
        "the output path `../escaped.txt` is not a plain relative path",
        "made `taken/index.html`, where content/pages/taken.md already publishes `taken/index.html`",
        "made `sitemap.xml`, where a file of the site already publishes `sitemap.xml`",
        "made `taken`, where content/pages/taken.md already publishes `taken/index.html`",
    ] {
        assert!(stderr.contains(expected), "no `{expected}` in {stderr}");
    }
    for name in ["flood", "spin"] {
        assert!(
            stderr.contains(&format!(
                "warning: generator `{name}` (scripts/{name}.py) failed"
            )),
            "{stderr}"
        );
    }
    assert!(
        stderr.contains("scripts/spin.py") && stderr.contains("time"),
        "{stderr}"
    );
    assert!(read(root, "taken/index.html").contains("Mine."));
    assert!(read(root, "ok/index.html").contains("fine"));
    assert_eq!(read(root, "fine.txt"), "fine");
    assert!(!read(root, "sitemap.xml").contains("overwritten"));
    assert!(!root.join("escaped.txt").exists() && !root.join("outside.md").exists());
    assert!(!root.parent().unwrap().join("escaped.txt").exists());
}

#[test]
fn a_data_folder_that_is_a_link_is_not_followed() {
    let secret = tempfile::tempdir().unwrap();
    write(secret.path(), "secret.json", "{\"password\": \"hunter2\"}");
    let site = common::site("");
    let root = site.path();
    #[cfg(unix)]
    std::os::unix::fs::symlink(secret.path(), root.join("data")).unwrap();
    write(
        root,
        "scripts/leak.py",
        "def render(ctx):\n    return str(dict(ctx.data))\n",
    );
    write(
        root,
        "content/posts/a.md",
        "+++\ntitle = \"A\"\n+++\n{{< leak >}}\n",
    );
    let stderr = render(root, &[]);
    assert!(stderr.contains("symbolic link"), "{stderr}");
    let a = read(root, "posts/a/index.html");
    assert!(!a.contains("hunter2"), "{a}");
    assert!(a.contains("{}"), "{a}");
}

#[test]
fn a_generator_keeps_its_last_four_results_and_an_undone_edit_runs_nothing() {
    let site = common::site("");
    let root = site.path();
    write(root, "scripts/books.py", BOOKS_GENERATOR);
    write(root, "scripts/shout.py", SHOUT_MACRO);
    let dune = |author: &str| format!("title = \"Dune\"\nauthor = \"{author}\"\n");
    write(root, "data/books/dune.toml", &dune("Herbert"));
    render(root, &[]);
    for i in 0..6 {
        write(root, "data/books/dune.toml", &dune(&format!("A{i}")));
        let (_, runs, _) = counts(&render(root, &[]));
        assert_eq!(runs, 1, "each edit runs the generator");
    }
    // Its results, not the record of the questions they asked.
    let stored = || -> i64 {
        let db = rusqlite::Connection::open(root.join(".blogmark/site.db")).unwrap();
        db.query_row(
            "SELECT count(*) FROM macro_results WHERE script_slug = 'books'
               AND key NOT LIKE '%/questions'",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(stored(), 4, "seven results made, the last four kept");
    // Back to an edit among the last four: answered from the database.
    write(root, "data/books/dune.toml", &dune("A3"));
    let (_, runs, _) = counts(&render(root, &[]));
    assert_eq!(runs, 0);
    assert!(read(root, "books/dune/index.html").contains("By A3."));
    // Back to one that went: the generator runs again.
    write(root, "data/books/dune.toml", &dune("A0"));
    let (_, runs, _) = counts(&render(root, &[]));
    assert_eq!(runs, 1);
    assert!(read(root, "books/dune/index.html").contains("By A0."));
    assert_eq!(stored(), 4);
}

#[test]
fn render_gc_removes_the_results_no_call_uses_and_keeps_every_one_in_use() {
    let site = hundred_posts();
    let root = site.path();
    write(root, "scripts/books.py", BOOKS_GENERATOR);
    let dune = |year: u32| format!("title = \"Dune\"\nyear = {year}\nauthor = \"Herbert\"\n");
    write(root, "data/books/dune.toml", &dune(1965));
    write(
        root,
        "data/books/emma.json",
        "{\"title\": \"Emma\", \"year\": 1815, \"author\": \"Austen\"}",
    );
    render(root, &[]);
    let stored = |slug: &str| -> i64 {
        let db = rusqlite::Connection::open(root.join(".blogmark/site.db")).unwrap();
        db.query_row(
            "SELECT count(*) FROM macro_results WHERE script_slug LIKE ?1",
            [slug],
            |r| r.get(0),
        )
        .unwrap()
    };
    // The generator's result, and the record of the questions it asked.
    assert_eq!(stored("books"), 2);
    let all = stored("%");
    // Each edit stores the book macro's two results and the generator's
    // one under the new answer; the old ones stay, no call asks for them.
    for year in 1966..1969 {
        write(root, "data/books/dune.toml", &dune(year));
        let (_, runs, _) = counts(&render(root, &[]));
        assert_eq!(runs, 3, "the two book calls and the generator");
    }
    assert_eq!(stored("%"), all + 9);
    assert_eq!(stored("books"), 5);

    let gc = render(root, &["--gc"]);
    let (reused, runs, _) = counts(&gc);
    assert_eq!(
        (reused, runs),
        (0, 0),
        "every page rendered, every call found: {gc}"
    );
    assert!(gc.contains("Removed 9 stored Python results"), "{gc}");
    assert_eq!(stored("%"), all, "as many as one render uses");
    assert_eq!(stored("books"), 2);
    // What is left is what the site uses: rendered again without the kept
    // pages, nothing runs.
    std::fs::remove_file(root.join(".blogmark/pages.cache")).unwrap();
    let again = render(root, &[]);
    assert_eq!(counts(&again).1, 0, "{again}");
    assert!(read(root, "posts/p010/index.html").contains("<cite>Dune</cite> (1968)"));
    // An undone edit's results went: its calls run again.
    write(root, "data/books/dune.toml", &dune(1965));
    assert_eq!(counts(&render(root, &[])).1, 3);
    assert!(read(root, "posts/p010/index.html").contains("<cite>Dune</cite> (1965)"));
    // Now those of 1968 are the ones no call asks for; then none is.
    assert!(render(root, &["--gc"]).contains("Removed 3 stored Python results"));
    assert!(render(root, &["--gc"]).contains("Removed 0 stored Python results"));
    assert_eq!(stored("%"), all);
    // A render in which a call fails cannot tell what its page would use:
    // nothing is removed, and it says why.
    write(root, "data/books/dune.toml", &dune(1970));
    render(root, &[]);
    let before = stored("%");
    write(
        root,
        "scripts/broken.py",
        "def render(ctx):\n    raise ValueError('no')\n",
    );
    write(
        root,
        "content/posts/p050.md",
        "+++\ntitle = \"P50\"\ndate = 2024-01-01\n+++\n{{< broken >}}\n",
    );
    let blocked = host(root, &["render", "--gc"]);
    let said = String::from_utf8_lossy(&blocked.stderr);
    assert!(
        said.contains("--gc removed nothing: something failed"),
        "{said}"
    );
    assert!(!said.contains("Removed "), "{said}");
    assert!(stored("%") >= before, "nothing removed");
    // It needs the result cache.
    let refused = host(root, &["render", "--gc", "--no-cache"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--no-cache"));
}
