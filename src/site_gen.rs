//! Generated sites for benchmarks: the same posts for Blogmark and for Hugo.

use std::path::Path;

/// Which engine the generated site is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// Blogmark host: built-in macros.
    Blogmark,
    /// Hugo: the equivalent shortcodes (`youtube`, `figure`, a `note` layout).
    Hugo,
    /// Blogmark host with three Python macros per post: a badge (20
    /// distinct argument sets), a paired word count (a distinct body per
    /// post) and fib(n) (10 distinct n).
    Python,
    /// Hugo with Go-template shortcodes doing the same as `Python`.
    HugoPython,
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("a file in a directory"))
        .expect("writable directory");
    std::fs::write(path, text).expect("writable file");
}

/// Write a site of `posts` posts, each with three macros (a video, a figure
/// and a paired note) and a code block, into `dir`.
pub fn generate(dir: &Path, posts: usize, flavor: Flavor) {
    if matches!(flavor, Flavor::Python | Flavor::HugoPython) {
        return generate_python(dir, posts, flavor);
    }
    match flavor {
        Flavor::Blogmark | Flavor::Python | Flavor::HugoPython => write(
            &dir.join("site.toml"),
            "title = \"Bench\"\nbase_url = \"https://example.org/\"\npaginate = 10\n",
        ),
        Flavor::Hugo => {
            write(
                &dir.join("hugo.toml"),
                "title = \"Bench\"\nbaseURL = \"https://example.org/\"\n[pagination]\npagerSize = 10\n[markup.goldmark.renderer]\nunsafe = true\n",
            );
            write(
                &dir.join("layouts/_default/baseof.html"),
                "<!doctype html><html><head><title>{{ .Title }}</title></head><body>{{ block \"main\" . }}{{ end }}</body></html>",
            );
            write(
                &dir.join("layouts/_default/single.html"),
                "{{ define \"main\" }}<article><h1>{{ .Title }}</h1><time>{{ .Date.Format \"2006-01-02\" }}</time>{{ range .Params.tags }}<a href=\"/tags/{{ . | urlize }}/\">{{ . }}</a>{{ end }}{{ .Content }}</article>{{ end }}",
            );
            write(
                &dir.join("layouts/_default/list.html"),
                "{{ define \"main\" }}<ul>{{ range .Paginator.Pages }}<li><a href=\"{{ .RelPermalink }}\">{{ .Title }}</a></li>{{ end }}</ul>{{ end }}",
            );
            write(
                &dir.join("layouts/shortcodes/note.html"),
                "<aside class=\"note note-{{ .Get \"type\" | default \"info\" }}\">{{ .Inner | markdownify }}</aside>",
            );
        }
    }
    for i in 0..posts {
        let (open, close) = ("{{<", ">}}");
        let body = format!(
            "## Part one\n\nSome *text* for post {i}, with a [link](https://example.org/{i}).\n\n\
             {open} youtube abc{i} {close}\n\n\
             {open} figure src=\"/img/{i}.png\" alt=\"Figure {i}\" {close}\n\n\
             {open} note type=\"tip\" {close}A **note** in post {i}.{open} /note {close}\n\n\
             ```rust\nfn post_{i}() -> u32 {{ {i} }}\n```\n"
        );
        let text = format!(
            "+++\ntitle = \"Post {i}\"\ndate = 2023-{:02}-{:02}\ntags = [\"t{}\", \"all\"]\n+++\n\n{body}",
            i % 12 + 1,
            i % 28 + 1,
            i % 10
        );
        write(&dir.join(format!("content/posts/post-{i:04}.md")), &text);
    }
}

/// Peak resident memory of this process so far, in bytes (Linux).
pub fn peak_resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

const BADGE: &str = "\"\"\"\n---\nkind: macro\n---\n\"\"\"\nimport html\n\ndef render(ctx):\n    return f'<span class=\"badge badge-{ctx.args[\"color\"]}\">{html.escape(str(ctx.args[\"text\"]).upper())}</span>'\n";
const WORDS: &str = "\"\"\"\n---\nkind: macro\nname: word_count\n---\n\"\"\"\nimport re\n\ndef render(ctx):\n    return f'<p>{len(re.findall(r\"\\w+\", ctx.body or \"\"))} words</p>'\n";
const FIB: &str = "\"\"\"\n---\nkind: macro\n---\n\"\"\"\ndef render(ctx):\n    a, b = 0, 1\n    for _ in range(int(ctx.args[\"n\"])):\n        a, b = b, a + b\n    return str(a)\n";

fn generate_python(dir: &Path, posts: usize, flavor: Flavor) {
    let hugo = flavor == Flavor::HugoPython;
    if hugo {
        generate(dir, 0, Flavor::Hugo);
        write(
            &dir.join("layouts/shortcodes/badge.html"),
            "<span class=\"badge badge-{{ .Get \"color\" }}\">{{ .Get \"text\" | upper }}</span>",
        );
        write(
            &dir.join("layouts/shortcodes/word_count.html"),
            "<p>{{ .Inner | countwords }} words</p>",
        );
        write(
            &dir.join("layouts/shortcodes/fib.html"),
            "{{ $a := 0 }}{{ $b := 1 }}{{ range seq (int (.Get \"n\")) }}{{ $c := add $a $b }}{{ $a = $b }}{{ $b = $c }}{{ end }}{{ $a }}",
        );
    } else {
        generate(dir, 0, Flavor::Blogmark);
        write(&dir.join("scripts/badge.py"), BADGE);
        write(&dir.join("scripts/word_count.py"), WORDS);
        write(&dir.join("scripts/fib.py"), FIB);
    }
    let colors = ["blue", "green", "red", "grey"];
    for i in 0..posts {
        let (open, close) = ("{{<", ">}}");
        let badge = i % 20;
        let body = format!(
            "## Post {i}\n\nSome *text*.\n\n\
             {open} badge text=\"tag{badge}\" color=\"{}\" {close}\n\n\
             {open} word_count {close}Post {i} has a body of its own with {i} in it.{open} /word_count {close}\n\n\
             fib: {open} fib n={} {close}\n",
            colors[badge % 4],
            20 + i % 10
        );
        let text = format!(
            "+++\ntitle = \"Post {i}\"\ndate = 2023-{:02}-{:02}\n+++\n\n{body}",
            i % 12 + 1,
            i % 28 + 1
        );
        write(&dir.join(format!("content/posts/post-{i:04}.md")), &text);
    }
}

/// Turn every `every`-th post of a generated site into a page bundle
/// (`post-NNNN/index.md`) with `images` images of 24 KiB beside it, each
/// shown in the post; the layout is the same for Hugo and Blogmark host.
pub fn make_bundles(dir: &Path, every: usize, images: usize) {
    let posts = dir.join("content/posts");
    let mut names: Vec<_> = std::fs::read_dir(&posts)
        .expect("a generated site has posts")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    names.sort();
    for (i, post) in names
        .iter()
        .enumerate()
        .filter(|(i, _)| i % every.max(1) == 0)
    {
        let stem = post.file_stem().expect("a post has a name").to_owned();
        let bundle = posts.join(&stem);
        let mut text = std::fs::read_to_string(post).expect("the post was just written");
        std::fs::create_dir_all(&bundle).expect("the site is writable");
        for n in 0..images {
            // A PNG header with its size, then bytes that differ per image.
            let mut png =
                b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x02\x80\0\0\x01\xe0\x08\x06\0\0\0".to_vec();
            let mut state = (i * 31 + n) as u64 + 1;
            png.extend((0..24 * 1024).map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 56) as u8
            }));
            std::fs::write(bundle.join(format!("img-{n}.png")), png)
                .expect("the bundle is writable");
            text.push_str(&format!("\n![Image {n}](img-{n}.png)\n"));
        }
        write(&bundle.join("index.md"), &text);
        std::fs::remove_file(post).expect("the flat post is replaced by its bundle");
    }
}
