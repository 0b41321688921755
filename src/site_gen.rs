//! Generated sites for benchmarks: the same posts for Blogmark and for Hugo.

use std::path::Path;

/// Which engine the generated site is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// Blogmark host: built-in macros.
    Blogmark,
    /// Hugo: the equivalent shortcodes (`youtube`, `figure`, a `note` layout).
    Hugo,
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("a file in a directory"))
        .expect("writable directory");
    std::fs::write(path, text).expect("writable file");
}

/// Write a site of `posts` posts, each with three macros (a video, a figure
/// and a paired note) and a code block, into `dir`.
pub fn generate(dir: &Path, posts: usize, flavor: Flavor) {
    match flavor {
        Flavor::Blogmark => write(
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
