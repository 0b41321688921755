//! Where a page is published: by default where its file sits under
//! `content/` (as in Hugo and Zola), else by a `[permalinks]` pattern of
//! its kind, else by its own `url`.

use super::page::{Kind, Page};
use crate::config::{PERMALINK_TOKENS, Permalinks};
use crate::diagnostics::Diagnostic;
use chrono::Datelike as _;

/// The URL path (`/a/b/`) of a page at its place under `content/`:
/// `/posts/<folders>/<slug>/` for posts, `/<folders>/<slug>/` for pages.
pub fn folder_url(kind: Kind, folders: &str, slug: &str) -> String {
    let mut url = String::from("/");
    if kind == Kind::Post {
        url.push_str("posts/");
    }
    for part in folders.split('/').filter(|p| !p.is_empty()) {
        url.push_str(part);
        url.push('/');
    }
    url.push_str(slug);
    url.push('/');
    url
}

/// `url` as a URL path: one leading and one trailing `/`, no empty,
/// `.` or `..` segment; `Err` says why it is not one.
///
/// Each segment becomes a folder of the output, so what a file system
/// refuses, or what would reach into a repository kept in the output
/// (`public/.git` is how many deploy), is refused here, with the page's
/// line, rather than failing the render's writing half-way.
pub fn normalize(url: &str) -> Result<String, String> {
    let parts =
        crate::site_paths::plain_segments(url).ok_or("it has a `.` or `..` segment or a `\\`")?;
    for part in &parts {
        segment_problem(part)?;
    }
    if parts.is_empty() {
        return Ok("/".into());
    }
    Ok(format!("/{}/", parts.join("/")))
}

/// The longest name of a file or folder most file systems take, in bytes.
pub const MAX_SEGMENT_BYTES: usize = 255;

/// Why `segment` cannot name a file or folder of the output, if it cannot.
pub fn segment_problem(segment: &str) -> Result<(), String> {
    if segment.chars().any(char::is_control) {
        return Err(format!(
            "the segment {segment:?} holds a control character (NUL, newline, …)"
        ));
    }
    if segment.len() > MAX_SEGMENT_BYTES {
        return Err(format!(
            "a segment is {} bytes long, past the {MAX_SEGMENT_BYTES} a file name may have",
            segment.len()
        ));
    }
    if segment.eq_ignore_ascii_case(".git") {
        return Err("a `.git` segment would write into a repository".into());
    }
    Ok(())
}

/// The URL of `page` under `permalinks` (a front-matter `url` wins and was
/// applied when the page was parsed).
pub fn apply_permalinks(page: &mut Page, permalinks: &Permalinks) -> Result<(), Diagnostic> {
    if page.front_matter.contains_key("url") {
        return Ok(());
    }
    let pattern = match page.kind {
        Kind::Post => permalinks.posts.as_deref(),
        Kind::Page => permalinks.pages.as_deref(),
    };
    let Some(pattern) = pattern else {
        return Ok(());
    };
    page.url = expand(pattern, page)?;
    Ok(())
}

/// `pattern` with its tokens replaced by `page`'s values.
fn expand(pattern: &str, page: &Page) -> Result<String, Diagnostic> {
    let needs_date = [":year", ":month", ":day"]
        .iter()
        .any(|t| pattern.contains(t));
    let date = match (needs_date, page.date) {
        (true, None) => {
            return Err(Diagnostic::error(
                &page.path,
                1,
                1,
                format!("the permalink pattern `{pattern}` needs a `date`, and this page has none"),
            ));
        }
        (_, date) => date,
    };
    let section = match page.kind {
        Kind::Post => "posts",
        Kind::Page => "pages",
    };
    let mut url = pattern.to_owned();
    // Longest tokens first would matter if one were a prefix of another;
    // none is.
    for token in PERMALINK_TOKENS {
        let value = match (token, date) {
            (":year", Some(d)) => format!("{:04}", d.year()),
            (":month", Some(d)) => format!("{:02}", d.month()),
            (":day", Some(d)) => format!("{:02}", d.day()),
            (":slug", _) => page.slug.clone(),
            (":section", _) => section.to_owned(),
            _ => continue,
        };
        url = url.replace(token, &value);
    }
    normalize(&url).map_err(|why| {
        Diagnostic::error(
            &page.path,
            1,
            1,
            format!(
                "the permalink pattern `{pattern}` gives `{url}`, which is not a URL path: {why}"
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::page;

    fn post(path: &str, text: &str) -> Page {
        page::parse(Kind::Post, path, text.as_bytes()).unwrap()
    }

    #[test]
    fn urls_follow_folders() {
        assert_eq!(folder_url(Kind::Post, "", "a"), "/posts/a/");
        assert_eq!(folder_url(Kind::Post, "2024/05", "a"), "/posts/2024/05/a/");
        assert_eq!(folder_url(Kind::Page, "", "about"), "/about/");
        assert_eq!(folder_url(Kind::Page, "docs", "intro"), "/docs/intro/");
    }

    #[test]
    fn patterns_expand_and_bad_ones_say_why() {
        let mut p = post(
            "content/posts/2024/trip.md",
            "+++\ntitle = \"Trip\"\ndate = 2024-05-03\n+++\n",
        );
        let permalinks = Permalinks {
            posts: Some("/:year/:month/:day/:slug/".into()),
            pages: None,
        };
        apply_permalinks(&mut p, &permalinks).unwrap();
        assert_eq!(p.url, "/2024/05/03/trip/");
        let permalinks = Permalinks {
            posts: Some("/:section/:slug".into()),
            pages: None,
        };
        apply_permalinks(&mut p, &permalinks).unwrap();
        assert_eq!(p.url, "/posts/trip/");
        use crate::config::check_permalink;
        assert!(check_permalink("/:year/:slug/").is_ok());
        assert!(
            check_permalink(":slug/")
                .unwrap_err()
                .contains("start with")
        );
        assert!(
            check_permalink("/:yaer/:slug/")
                .unwrap_err()
                .contains(":yaer")
        );
        assert!(check_permalink("/:year/").unwrap_err().contains(":slug"));
    }

    #[test]
    fn a_date_pattern_needs_a_date_and_a_url_wins() {
        let mut undated = post("content/posts/a.md", "+++\ntitle = \"A\"\n+++\n");
        let permalinks = Permalinks {
            posts: Some("/:year/:slug/".into()),
            pages: None,
        };
        let err = apply_permalinks(&mut undated, &permalinks).unwrap_err();
        assert!(err.message.contains("needs a `date`"), "{err}");
        let mut own = post(
            "content/posts/a.md",
            "+++\ntitle = \"A\"\nurl = \"old/place\"\n+++\n",
        );
        apply_permalinks(&mut own, &permalinks).unwrap();
        assert_eq!(own.url, "/old/place/");
    }

    #[test]
    fn normalized_paths() {
        assert_eq!(normalize("a/b").as_deref(), Ok("/a/b/"));
        assert_eq!(normalize("//a//").as_deref(), Ok("/a/"));
        assert_eq!(normalize("/").as_deref(), Ok("/"));
        assert!(normalize("/a/../b/").is_err());
    }

    #[test]
    fn segments_no_file_system_takes_are_refused_with_the_reason() {
        let long = "x".repeat(MAX_SEGMENT_BYTES + 1);
        for (url, why) in [
            ("/a\0b/", "control character"),
            ("/a\nb/", "control character"),
            (&format!("/ok/{long}/"), "256 bytes long"),
            ("/.git/hooks/", "`.git`"),
            ("/x/.GIT/", "`.git`"),
        ] {
            let err = normalize(url).unwrap_err();
            assert!(err.contains(why), "{url:?}: {err}");
        }
        let longest = "é".repeat(MAX_SEGMENT_BYTES / 2);
        assert!(normalize(&format!("/{longest}/")).is_ok());
        assert!(normalize("/.github/").is_ok());
    }
}
