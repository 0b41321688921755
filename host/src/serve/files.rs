//! Answering a request from the rendered folder, as a static server would,
//! with the reload script in every HTML page.

use super::reload::inject;
use std::path::{Path, PathBuf};

/// What to send for a request.
pub enum Reply {
    /// A file: its media type and bytes.
    File(&'static str, Vec<u8>),
    /// A large file, sent as it is read: its media type, the file opened
    /// (as [`reply`] checked it) and its length.
    Stream(&'static str, std::fs::File, u64),
    /// A folder asked for without its `/`.
    Redirect(String),
    /// Nothing there: the site's 404 page, if it has one.
    NotFound(Option<Vec<u8>>),
}

/// The reply for the URL path `path` (percent-encoded) from the folder
/// `root`; HTML pages show `problems` (JSON).
pub fn reply(root: &Path, path: &str, problems: &str) -> Reply {
    let Some(file) = local_path(root, path) else {
        return not_found(root, problems);
    };
    let file = if path.ends_with('/') {
        file.join("index.html")
    } else if file.is_dir() {
        // One leading `/`: `//evil.example` would be another site.
        return Reply::Redirect(format!("/{}/", path.trim_start_matches('/')));
    } else {
        file
    };
    let Some((opened, len)) = open_served(root, &file) else {
        return not_found(root, problems);
    };
    let media_type = crate::content::resources::media_type(&file.to_string_lossy());
    let html = media_type == "text/html";
    if len
        > if html {
            MAX_INJECTED_BYTES
        } else {
            STREAM_FROM
        }
    {
        return Reply::Stream(media_type, opened, len);
    }
    let Some(bytes) = read_all(opened, len) else {
        return not_found(root, problems);
    };
    if html {
        let relative = crate::content::relative_path(root, &file);
        let page = inject(&String::from_utf8_lossy(&bytes), problems, Some(&relative));
        Reply::File("text/html; charset=utf-8", page.into_bytes())
    } else {
        Reply::File(media_type, bytes)
    }
}

/// At most `len` bytes of `file`.
fn read_all(file: std::fs::File, len: u64) -> Option<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::with_capacity(usize::try_from(len).ok()?);
    file.take(len).read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

fn not_found(root: &Path, problems: &str) -> Reply {
    Reply::NotFound(
        open_served(root, &root.join("404.html"))
            .filter(|(_, len)| *len <= MAX_INJECTED_BYTES)
            .and_then(|(file, len)| read_all(file, len))
            .map(|page| inject(&String::from_utf8_lossy(&page), problems, None).into_bytes()),
    )
}

/// Files past this size are sent as they are read, never held whole.
const STREAM_FROM: u64 = 1 << 20;

/// The largest HTML page the server reads whole to add its reload script
/// to (its copy with the script, and invalid UTF-8 replaced, may be three
/// times as large); a larger one is sent as it is.
const MAX_INJECTED_BYTES: u64 = 1 << 20;

/// `file`, a regular file under `root` (the site's `.blogmark/serve`),
/// opened, with its length, if it is reached through no link: not `root`
/// nor its `.blogmark/`, not a folder on the way, not the file itself. A
/// pulled site may hold links there (a render that fails leaves them), and
/// following one would serve any file of the machine.
fn open_served(root: &Path, file: &Path) -> Option<(std::fs::File, u64)> {
    use crate::site_paths::{first_link, is_link};
    if is_link(root) || root.parent().is_some_and(is_link) {
        return None;
    }
    let relative = file.strip_prefix(root).ok()?.to_str()?;
    // The folders on the way; the file itself is opened `O_NOFOLLOW`.
    if first_link(root, relative, false).is_some() {
        return None;
    }
    crate::state_dir::open_regular(file).map(|(opened, meta)| (opened, meta.len()))
}

/// The file under `root` that `path` names; `None` for a path that leaves
/// it or is not valid UTF-8 once decoded.
fn local_path(root: &Path, path: &str) -> Option<PathBuf> {
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .ok()?;
    let mut file = root.to_path_buf();
    for part in crate::site_paths::plain_segments(&decoded)? {
        file.push(part);
    }
    Some(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_file_is_sent_as_it_is_read_and_a_fifo_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let big = vec![1u8; (STREAM_FROM + 1) as usize];
        std::fs::write(dir.path().join("big.bin"), &big).unwrap();
        match reply(dir.path(), "/big.bin", "[]") {
            Reply::Stream(kind, file, len) => {
                assert_eq!((kind, len), ("application/octet-stream", big.len() as u64));
                assert_eq!(read_all(file, len).unwrap(), big);
            }
            _ => panic!("not streamed"),
        }
        // An HTML page too large to add the reload script to is sent as it is.
        std::fs::write(dir.path().join("big.html"), &big).unwrap();
        assert!(matches!(
            reply(dir.path(), "/big.html", "[]"),
            Reply::Stream("text/html", _, _)
        ));
        // A folder named like a host is redirected within this one.
        std::fs::create_dir_all(dir.path().join("evil.example")).unwrap();
        match reply(dir.path(), "//evil.example", "[]") {
            Reply::Redirect(to) => assert_eq!(to, "/evil.example/"),
            _ => panic!("not redirected"),
        }
        let fifo = dir.path().join("pipe.bin");
        let name = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid C string naming a path in a folder of our own.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        assert!(matches!(
            reply(dir.path(), "/pipe.bin", "[]"),
            Reply::NotFound(None)
        ));
    }

    #[test]
    #[cfg(unix)]
    fn nothing_is_served_through_a_link() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.txt"), "SECRET").unwrap();
        let site = tempfile::tempdir().unwrap();
        let serve = site.path().join(".blogmark/serve");
        std::fs::create_dir_all(serve.join("posts")).unwrap();
        std::fs::write(serve.join("ok.txt"), "fine").unwrap();
        assert!(matches!(reply(&serve, "/ok.txt", "[]"), Reply::File(_, b) if b == b"fine"));
        let link = |target: &Path, at: &Path| std::os::unix::fs::symlink(target, at).unwrap();
        // A linked file, a linked folder on the way, a linked 404 page.
        link(&outside.path().join("secret.txt"), &serve.join("c.txt"));
        link(outside.path(), &serve.join("posts/out"));
        link(&outside.path().join("secret.txt"), &serve.join("404.html"));
        for path in ["/c.txt", "/posts/out/secret.txt"] {
            assert!(
                matches!(reply(&serve, path, "[]"), Reply::NotFound(None)),
                "{path}"
            );
        }
        // The served folder itself a link.
        std::fs::remove_dir_all(&serve).unwrap();
        link(outside.path(), &serve);
        assert!(matches!(
            reply(&serve, "/secret.txt", "[]"),
            Reply::NotFound(None)
        ));
    }

    #[test]
    fn files_folders_and_escapes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("posts/a b")).unwrap();
        std::fs::write(dir.path().join("posts/a b/index.html"), "<body></body>").unwrap();
        std::fs::write(dir.path().join("style.css"), "p{}").unwrap();
        std::fs::write(dir.path().join("404.html"), "<body>gone</body>").unwrap();
        match reply(dir.path(), "/posts/a%20b/", "[]") {
            Reply::File(kind, bytes) => {
                assert_eq!(kind, "text/html; charset=utf-8");
                assert!(
                    String::from_utf8(bytes)
                        .unwrap()
                        .contains("data-blogmark-serve")
                );
            }
            _ => panic!("the page"),
        }
        assert!(
            matches!(reply(dir.path(), "/posts/a%20b", "[]"), Reply::Redirect(to) if to == "/posts/a%20b/")
        );
        assert!(
            matches!(reply(dir.path(), "/style.css", "[]"), Reply::File("text/css", b) if b == b"p{}")
        );
        assert!(matches!(
            reply(dir.path(), "/../secret", "[]"),
            Reply::NotFound(Some(_))
        ));
        assert!(matches!(
            reply(dir.path(), "/nothing", "[]"),
            Reply::NotFound(Some(_))
        ));
    }
}
