//! A site folder from someone else's commit, as an attacker would build it:
//! a `.blogmark/` this machine did not write, and URLs, aliases and file
//! names meant to break the writing of the output or reach into a
//! repository kept there. The real binary on real files and a real SQLite
//! database.

use crate::common;

use common::{host, site, write};
use std::path::Path;

const SHOUT: &str = "\"\"\"\n---\nkind: macro\n---\n\"\"\"\n\
    def render(ctx):\n    return '<b>PY:' + ' '.join(str(p) for p in ctx.positional) + '</b>'\n";

fn render(root: &Path) -> (bool, String) {
    let out = host(root, &["render"]);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn read(root: &Path, path: &str) -> String {
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn a_macro_result_this_machine_did_not_write_is_run_again_not_published() {
    let site = site("");
    write(site.path(), "scripts/shout.py", SHOUT);
    write(
        site.path(),
        "content/posts/p.md",
        "---\ntitle: P\ndate: 2024-01-01\n---\nsay {{< shout hi >}}\n",
    );
    let (ok, stderr) = render(site.path());
    assert!(ok, "{stderr}");
    assert!(read(site.path(), "public/posts/p/index.html").contains("<b>PY:hi</b>"));

    // The attacker's commit: the cached result edited, and no page cache,
    // so the page is rendered again from the database's results.
    let db = rusqlite::Connection::open(site.path().join(".blogmark/site.db")).unwrap();
    let edited = db
        .execute(
            "UPDATE macro_results SET html = '<script>steal()</script>'",
            [],
        )
        .unwrap();
    assert_eq!(edited, 1);
    drop(db);
    std::fs::remove_file(site.path().join(".blogmark/pages.cache")).unwrap();

    let (ok, stderr) = render(site.path());
    assert!(ok, "{stderr}");
    for file in ["public/posts/p/index.html", "public/atom.xml"] {
        let text = read(site.path(), file);
        assert!(!text.contains("steal()"), "{file}: {text}");
    }
    assert!(read(site.path(), "public/posts/p/index.html").contains("<b>PY:hi</b>"));
    assert!(stderr.contains("not tagged by this machine"), "{stderr}");

    // The row was dropped and replaced by a result this machine tagged:
    // the next render (which would otherwise find nothing changed and
    // build nothing) says nothing more.
    std::fs::remove_file(site.path().join(".blogmark/pages.cache")).unwrap();
    let _ = std::fs::remove_file(site.path().join(".blogmark/inputs.record"));
    let (ok, stderr) = render(site.path());
    assert!(ok, "{stderr}");
    assert!(!stderr.contains("nothing changed"), "{stderr}");
    assert!(!stderr.contains("not tagged"), "{stderr}");
}

#[test]
fn a_page_cache_this_machine_did_not_write_is_not_used() {
    let site = site("");
    write(
        site.path(),
        "content/posts/p.md",
        "---\ntitle: P\ndate: 2024-01-01\n---\nMARKER-1234567 here\n",
    );
    let (ok, stderr) = render(site.path());
    assert!(ok, "{stderr}");
    let cache = site.path().join(".blogmark/pages.cache");
    let bytes = std::fs::read(&cache).unwrap();
    let at = bytes
        .windows(14)
        .position(|w| w == b"MARKER-1234567")
        .expect("the page's HTML is in the cache");
    // Same length, so the file still decodes: only its tag can tell.
    let mut forged = bytes.clone();
    forged[at..at + 14].copy_from_slice(b"<script>x()</>");
    std::fs::write(&cache, &forged).unwrap();
    // The page's inputs are unchanged, so the cache would be used.
    std::fs::remove_file(site.path().join("public/posts/p/index.html")).unwrap();

    let (ok, stderr) = render(site.path());
    assert!(ok, "{stderr}");
    let page = read(site.path(), "public/posts/p/index.html");
    assert!(!page.contains("<script>x()"), "{page}");
    assert!(page.contains("MARKER-1234567"), "{page}");
    assert!(stderr.contains("pages.cache is not tagged"), "{stderr}");
}

#[test]
fn unwritable_urls_are_errors_at_their_line_and_the_rest_is_written() {
    let site = site("");
    let long = "x".repeat(300);
    write(
        site.path(),
        "content/posts/good.md",
        "---\ntitle: Good\ndate: 2024-01-01\n---\nfine\n",
    );
    write(
        site.path(),
        "content/posts/nul.md",
        "---\ntitle: Nul\ndate: 2024-01-01\nurl: \"/a\\0b/\"\n---\nx\n",
    );
    write(
        site.path(),
        "content/posts/long.md",
        &format!("---\ntitle: Long\ndate: 2024-01-01\nurl: /ok/{long}/\n---\nx\n"),
    );
    write(
        site.path(),
        "content/posts/sitemap.md",
        "---\ntitle: S\ndate: 2024-01-01\naliases: [/sitemap.xml]\n---\nx\n",
    );
    write(
        site.path(),
        "content/posts/feed.md",
        "---\ntitle: F\ndate: 2024-01-01\nurl: /atom.xml/\n---\nx\n",
    );
    write(
        site.path(),
        "content/posts/git.md",
        "---\ntitle: G\ndate: 2024-01-01\nurl: /.git/hooks/\n---\nx\n",
    );
    let (ok, stderr) = render(site.path());
    assert!(!ok, "a broken site fails the build");
    for expected in [
        "content/posts/nul.md:4:1: error: `url` \"/a\\0b/\" is not a URL path: the segment",
        "content/posts/long.md:4:1: error: `url`",
        "content/posts/sitemap.md:1:1: error: the alias `/sitemap.xml/` cannot redirect: \
         the site writes a file at `sitemap.xml`",
        "content/posts/feed.md: error: cannot publish `atom.xml/index.html`: \
         `atom.xml/index.html` needs `atom.xml` to be a folder",
        "content/posts/git.md:4:1: error: `url` \"/.git/hooks/\" is not a URL path: \
         a `.git` segment",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    assert!(
        stderr.contains("past the 255 a file name may have"),
        "{stderr}"
    );
    assert!(!stderr.contains("os error"), "{stderr}");
    // The rest of the site is written, and no staging folder is left.
    assert!(read(site.path(), "public/posts/good/index.html").contains("fine"));
    assert!(read(site.path(), "public/sitemap.xml").starts_with("<?xml"));
    assert!(read(site.path(), "public/atom.xml").starts_with("<?xml"));
    assert!(!site.path().join(".public.writing").exists());
    assert!(!site.path().join("public/.git").exists());
}

#[test]
fn static_files_never_reach_into_a_repository_kept_in_the_output() {
    let site = site("");
    write(
        site.path(),
        "static/.git/hooks/post-checkout",
        "#!/bin/sh\ntouch pwned\n",
    );
    write(site.path(), "static/sub/.GIT/config", "[core]\n");
    write(site.path(), "static/.github/ok.txt", "fine");
    let (ok, stderr) = render(site.path());
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains(
            "static/.git/hooks/post-checkout: error: cannot publish \
             `.git/hooks/post-checkout`: a `.git` segment"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("static/sub/.GIT/config"), "{stderr}");
    assert!(!site.path().join("public/.git").exists());
    assert!(!site.path().join("public/sub/.GIT").exists());
    assert_eq!(read(site.path(), "public/.github/ok.txt"), "fine");
}

/// A source archive whose `setup.py` leaves `marker` behind if anything
/// ever runs it, in a folder of its own.
fn evil_sdist(dir: &Path, marker: &Path) -> std::path::PathBuf {
    let script = format!(
        "import io, tarfile\n\
         setup = b'open({marker:?}, \"w\").write(\"ran\")\\nfrom setuptools import setup\\nsetup(name=\"evilpkg\", version=\"1.0\")\\n'\n\
         with tarfile.open({archive:?}, 'w:gz') as t:\n\
         \x20   info = tarfile.TarInfo('evilpkg-1.0/setup.py')\n\
         \x20   info.size = len(setup)\n\
         \x20   t.addfile(info, io.BytesIO(setup))\n",
        marker = marker.to_str().unwrap(),
        archive = dir.join("evilpkg-1.0.tar.gz").to_str().unwrap(),
    );
    let made = std::process::Command::new("python3")
        .args(["-c", &script])
        .status()
        .expect("python3 runs");
    assert!(made.success());
    dir.join("evilpkg-1.0.tar.gz")
}

#[test]
fn dependencies_reach_pip_as_requirements_only_and_nothing_is_built() {
    let links = tempfile::tempdir().unwrap();
    let marker = links.path().join("setup-py-ran");
    let sdist = evil_sdist(links.path(), &marker);
    let url = format!("file://{}", sdist.display());
    for (line, entry) in [
        (5, format!("evilpkg @ {url}")),
        (5, "--no-binary=:all:".to_owned()),
        (5, "-r/etc/hostname".to_owned()),
        (5, "evilpkg --no-deps".to_owned()),
    ] {
        let site = site(&format!(
            "\n[python]\ndependencies = [{entry:?}]\n",
            entry = entry
        ));
        let before = std::fs::read(site.path().join("site.toml")).unwrap();
        let links_arg = links.path().to_str().unwrap();
        let out = host(
            site.path(),
            &["python", "lock", "--no-index", "--find-links", links_arg],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{entry}: {stderr}");
        assert!(
            stderr.contains(&format!("site.toml:{line}:1: error: [python] dependencies")),
            "{entry}: {stderr}"
        );
        assert!(stderr.contains("is not a requirement"), "{entry}: {stderr}");
        // A render refuses the same site.toml the same way.
        let (ok, stderr) = render(site.path());
        assert!(!ok && stderr.contains("is not a requirement"), "{stderr}");
        assert_eq!(
            std::fs::read(site.path().join("site.toml")).unwrap(),
            before
        );
        assert!(!site.path().join("scripts/vendor").exists());
    }
    // `host python add` refuses before site.toml is touched.
    let site = site("");
    let before = std::fs::read(site.path().join("site.toml")).unwrap();
    let spec = format!("evilpkg @ {url}");
    let out = host(
        site.path(),
        &[
            "python",
            "add",
            &spec,
            "--no-index",
            "--find-links",
            links.path().to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("direct reference"), "{stderr}");
    assert_eq!(
        std::fs::read(site.path().join("site.toml")).unwrap(),
        before
    );
    assert!(!marker.exists(), "pip ran the archive's setup.py");
}

/// A pure-Python wheel `bomb-1.0` whose entries unpack to `sizes` bytes of
/// zeros each (a few KiB of deflate apiece).
fn bomb_wheel(dir: &Path, sizes: &[usize]) {
    use std::io::Write as _;
    let out = std::fs::File::create(dir.join("bomb-1.0-py3-none-any.whl")).unwrap();
    let mut zip = zip::ZipWriter::new(out);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let info = "bomb-1.0.dist-info";
    let small = [
        (
            format!("{info}/METADATA"),
            "Metadata-Version: 2.1\nName: bomb\nVersion: 1.0\n",
        ),
        (
            format!("{info}/WHEEL"),
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        ),
        (format!("{info}/RECORD"), ""),
    ];
    for (path, text) in small {
        zip.start_file(path, options).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    let zeros = vec![0u8; 1 << 20];
    for (i, size) in sizes.iter().enumerate() {
        zip.start_file(format!("bomb/part{i}.bin"), options)
            .unwrap();
        for _ in 0..size >> 20 {
            zip.write_all(&zeros).unwrap();
        }
    }
    zip.finish().unwrap();
}

#[test]
fn a_wheel_that_unpacks_past_its_limits_is_refused_before_anything_is_vendored() {
    for (sizes, why) in [
        (
            vec![65 << 20],
            "bomb/part0.bin unpacks to 65 MiB or more, past the limit of 64 MiB a file",
        ),
        (
            vec![60 << 20; 5],
            "it unpacks to more than 256 MiB in all (at bomb/part4.bin)",
        ),
    ] {
        let links = tempfile::tempdir().unwrap();
        bomb_wheel(links.path(), &sizes);
        let site = site("\n[python]\ndependencies = [\"bomb==1.0\"]\n");
        let out = host(
            site.path(),
            &[
                "python",
                "lock",
                "--no-index",
                "--find-links",
                links.path().to_str().unwrap(),
            ],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        assert!(stderr.contains(why), "{why}: {stderr}");
        assert!(!site.path().join("scripts/vendor/bomb").exists());
        assert!(!site.path().join("python.lock").exists());
    }
}

/// One HTTP/1.1 request to `127.0.0.1:port` with the `Host` header given,
/// on a raw socket: the status and the whole answer.
fn raw_request(port: u16, host: Option<&str>, request_line: &str, extra: &str) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(common::server::PATIENCE))
        .unwrap();
    let host = host.map(|h| format!("Host: {h}\r\n")).unwrap_or_default();
    write!(
        stream,
        "{request_line}\r\n{host}Connection: close\r\n{extra}\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, answer)
}

#[test]
fn serve_answers_no_page_event_or_edit_to_a_foreign_host() {
    let site = site("");
    write(
        site.path(),
        "content/posts/secret.md",
        "---\ntitle: Secret\ndate: 2024-01-01\ndraft: true\n---\nDRAFT-TEXT-42\n",
    );
    write(site.path(), "scripts/shout.py", SHOUT);
    for bind in [
        &["--drafts"][..],
        &["--drafts", "--bind", "0.0.0.0", "--allow-remote-edits"],
    ] {
        let mut server = common::server::Server::start_with(site.path(), bind);
        server.next_line_containing("workbench");
        let port: u16 = server
            .base
            .trim_end_matches('/')
            .rsplit(':')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let own = format!("127.0.0.1:{port}");
        let (status, page) = raw_request(port, Some(&own), "GET /posts/secret/ HTTP/1.1", "");
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("DRAFT-TEXT-42"));
        for foreign in [
            format!("evil.example:{port}"),
            format!("localhost.evil.example:{port}"),
            format!("127.0.0.1.nip.io:{port}"),
            "evil.example".to_owned(),
        ] {
            for path in [
                "/posts/secret/",
                "/_blogmark/events",
                "/",
                "/_blogmark/scripts",
            ] {
                let (status, answer) =
                    raw_request(port, Some(&foreign), &format!("GET {path} HTTP/1.1"), "");
                assert_eq!(status, 403, "{bind:?} {foreign} {path}: {answer}");
                assert!(!answer.contains("DRAFT-TEXT-42"), "{answer}");
                assert!(answer.contains("--allowed-host"), "{answer}");
            }
            let body = "{\"text\": \"x = 1\\n\"}";
            let (status, _) = raw_request(
                port,
                Some(&foreign),
                "PUT /_blogmark/api/scripts/planted HTTP/1.1",
                &format!(
                    "Origin: http://{foreign}\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\n\r\n{body}",
                    body.len()
                ),
            );
            assert_eq!(status, 403, "{bind:?} {foreign}");
            assert!(!site.path().join("scripts/planted.py").exists());
        }
        let (status, _) = raw_request(port, None, "GET /posts/secret/ HTTP/1.0", "");
        assert!(status == 403 || status == 400, "no Host: {status}");
    }
}

#[test]
fn serve_closes_connections_that_say_nothing_and_answers_the_rest() {
    use std::io::Read as _;
    let site = site("");
    write(
        site.path(),
        "content/posts/p.md",
        "---\ntitle: P\ndate: 2024-01-01\n---\nhello\n",
    );
    let mut server = common::server::Server::start_with_env(
        site.path(),
        &[],
        &[("BLOGMARK_SERVE_IDLE_SECS", "2")],
    );
    server.next_line_containing("workbench");
    let port: u16 = server
        .base
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let idle: Vec<std::net::TcpStream> = (0..50)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    let own = format!("127.0.0.1:{port}");
    let (status, page) = raw_request(port, Some(&own), "GET /posts/p/ HTTP/1.1", "");
    assert_eq!(status, 200, "{page}");
    for mut stream in idle {
        stream
            .set_read_timeout(Some(common::server::PATIENCE))
            .unwrap();
        let mut rest = Vec::new();
        // The server ends the connection: end of file, or a reset.
        match stream.read_to_end(&mut rest) {
            Ok(_) => assert!(
                rest.is_empty() || rest.starts_with(b"HTTP/1.1 "),
                "{rest:?}"
            ),
            Err(e) => assert_ne!(e.kind(), std::io::ErrorKind::WouldBlock, "still open: {e}"),
        }
    }
}

#[test]
fn a_repository_kept_in_the_output_is_neither_cleaned_nor_written() {
    let site = site("");
    write(
        site.path(),
        "content/posts/p.md",
        "---\ntitle: P\ndate: 2024-01-01\n---\nhello\n",
    );
    let (ok, stderr) = render(site.path());
    assert!(ok, "{stderr}");
    // The author deploys from public/, a repository of its own.
    write(site.path(), "public/.git/config", "[core]\n");
    write(site.path(), "public/.git/hooks/pre-push", "#!/bin/sh\n");
    write(site.path(), "public/stale.html", "old");
    let (ok, stderr) = render(site.path());
    assert!(ok, "{stderr}");
    assert_eq!(read(site.path(), "public/.git/config"), "[core]\n");
    assert!(site.path().join("public/.git/hooks/pre-push").is_file());
    assert!(!site.path().join("public/stale.html").exists());
}

/// Every file of `dir`, as text, joined (what a leak would show up in).
fn all_text(dir: &Path) -> String {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| String::from_utf8_lossy(&std::fs::read(e.path()).unwrap()).into_owned())
        .collect()
}

#[test]
#[cfg(unix)]
fn a_pulled_site_reads_no_file_outside_it_through_templates_or_a_linked_content_folder() {
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.txt");
    std::fs::write(&secret, "OUTSIDE-SECRET").unwrap();
    write(
        outside.path(),
        "posts/leak.md",
        "---\ntitle: L\n---\nOUTSIDE-SECRET\n",
    );

    // A template that includes a file of the machine by an absolute path.
    let pulled = site("");
    write(
        pulled.path(),
        "content/posts/p.md",
        "---\ntitle: P\n---\nhello\n",
    );
    let include = format!(
        "<html><body>{{% include \"{}\" %}}{{{{ content }}}}</body></html>",
        secret.display()
    );
    write(pulled.path(), "templates/post.html", &include);
    let (_, stderr) = render(pulled.path());
    assert!(stderr.contains("not a path under templates/"), "{stderr}");
    assert!(!all_text(&pulled.path().join("public")).contains("OUTSIDE-SECRET"));
    assert!(!all_text(&pulled.path().join(".blogmark")).contains("OUTSIDE-SECRET"));

    // ... and by `..`.
    let up = "../".repeat(pulled.path().components().count() + 1);
    let include = format!(
        "{{% include \"{up}{}\" %}}",
        secret.strip_prefix("/").unwrap().display()
    );
    write(pulled.path(), "templates/post.html", &include);
    let (_, stderr) = render(pulled.path());
    assert!(stderr.contains("not a path under templates/"), "{stderr}");
    assert!(!all_text(&pulled.path().join("public")).contains("OUTSIDE-SECRET"));

    // A `content/` that is a link to posts outside the site: warned, and
    // nothing of them published or kept.
    let linked = site("");
    std::fs::remove_dir_all(linked.path().join("content")).unwrap();
    std::os::unix::fs::symlink(outside.path(), linked.path().join("content")).unwrap();
    let (ok, stderr) = render(linked.path());
    assert!(ok, "{stderr}");
    assert!(stderr.contains("symbolic link"), "{stderr}");
    assert!(!all_text(&linked.path().join("public")).contains("OUTSIDE-SECRET"));
    assert!(!all_text(&linked.path().join(".blogmark")).contains("OUTSIDE-SECRET"));
}

/// `host ARGS --site ROOT`, killed if it has not ended after two minutes
/// (a read blocked on a FIFO never ends): whether it ended, and its stderr.
fn host_ends(root: &Path, args: &[&str]) -> (bool, String) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_host"))
        .args(args)
        .arg("--site")
        .arg(root)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let ended = child.try_wait().unwrap().is_some();
    if !ended {
        child.kill().unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (ended, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
#[cfg(unix)]
fn a_pulled_site_reads_no_file_outside_it_through_its_python_lock_or_scripts_folders() {
    let outside = tempfile::tempdir().unwrap();
    write(
        outside.path(),
        "secret.py",
        "SECRET = 'OUTSIDE-SECRET'\nbroken = [ OUTSIDE-SECRET-LINE\n",
    );
    write(outside.path(), "good.py", "SECRET = 'OUTSIDE-SECRET'\n");
    let leak = "\"\"\"\n---\nkind: macro\n---\n\"\"\"\nimport evil\n\n\
        def render(ctx):\n    return 'LEAK:' + str(getattr(evil, 'SECRET', 'none'))\n";

    // A package of scripts/lib whose `__init__.py` links to a Python file
    // of the machine: the package is empty, the file never imported.
    let pulled = site("");
    write(pulled.path(), "scripts/leak.py", leak);
    write(
        pulled.path(),
        "content/posts/p.md",
        "---\ntitle: P\n---\n{{< leak >}}\n",
    );
    std::fs::create_dir_all(pulled.path().join("scripts/lib/evil")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("good.py"),
        pulled.path().join("scripts/lib/evil/__init__.py"),
    )
    .unwrap();
    // A python.lock that links to a file whose lines a parse error would
    // quote.
    std::os::unix::fs::symlink(
        outside.path().join("secret.py"),
        pulled.path().join("python.lock"),
    )
    .unwrap();
    let (ended, stderr) = host_ends(pulled.path(), &["render"]);
    assert!(ended, "{stderr}");
    assert!(stderr.contains("python.lock"), "{stderr}");
    assert!(!stderr.contains("OUTSIDE-SECRET"), "{stderr}");
    let page = read(pulled.path(), "public/posts/p/index.html");
    assert!(page.contains("LEAK:none"), "{page}");
    assert!(!all_text(&pulled.path().join("public")).contains("OUTSIDE-SECRET"));
    assert!(!all_text(&pulled.path().join(".blogmark")).contains("OUTSIDE-SECRET"));

    // A python.lock that is a FIFO, and a FIFO in scripts/vendor/: the
    // render and the check end, and say what they refused.
    std::fs::remove_file(pulled.path().join("python.lock")).unwrap();
    let fifo = |path: &Path| {
        let name = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: a valid C string naming a path in a folder of our own.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
    };
    fifo(&pulled.path().join("python.lock"));
    std::fs::create_dir_all(pulled.path().join("scripts/vendor/pkg")).unwrap();
    fifo(&pulled.path().join("scripts/vendor/pkg/__init__.py"));
    for command in ["render", "check"] {
        let (ended, stderr) = host_ends(pulled.path(), &[command]);
        assert!(ended, "`host {command}` waited on a FIFO: {stderr}");
        assert!(
            stderr.contains("python.lock: error: cannot be read: not a regular file"),
            "{stderr}"
        );
    }

    // `scripts/` a link to a folder of the machine: no file of it is
    // walked, hashed or named, and `host python lock` writes nothing there.
    write(outside.path(), "scripts/vendor/private_name.py", "x = 1\n");
    write(outside.path(), "scripts/shout.py", SHOUT);
    let linked = site("");
    std::fs::remove_dir_all(linked.path().join("scripts")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("scripts"),
        linked.path().join("scripts"),
    )
    .unwrap();
    let (ended, stderr) = host_ends(linked.path(), &["render"]);
    assert!(ended, "{stderr}");
    assert!(stderr.contains("symbolic link"), "{stderr}");
    assert!(!stderr.contains("private_name"), "{stderr}");
    let before = common::files(&outside.path().join("scripts"), &[]);
    let (ended, stderr) = host_ends(linked.path(), &["python", "lock"]);
    assert!(ended, "{stderr}");
    assert!(stderr.contains("scripts is a symbolic link"), "{stderr}");
    assert_eq!(common::files(&outside.path().join("scripts"), &[]), before);
}

#[test]
fn a_term_that_makes_no_url_does_not_replace_the_taxonomy_list() {
    let pulled = site("");
    write(
        pulled.path(),
        "content/posts/a.md",
        "---\ntitle: A\ntags: [\"..\", rust]\n---\nbody\n",
    );
    write(
        pulled.path(),
        "content/posts/b.md",
        "---\ntitle: B\ntags: [\"!!!\"]\n---\nbody\n",
    );
    let (ok, stderr) = render(pulled.path());
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("content/posts/a.md:1:1: warning: tags term \"..\" has no letter or digit"),
        "{stderr}"
    );
    assert!(stderr.contains("content/posts/b.md"), "{stderr}");
    let list = read(pulled.path(), "public/tags/index.html");
    assert!(list.contains("/tags/rust/"), "{list}");
    assert!(!list.contains("/tags//"), "{list}");
    let post = read(pulled.path(), "public/posts/a/index.html");
    assert!(!post.contains("/tags//"), "{post}");
}

#[test]
fn a_template_that_runs_past_its_time_stops_the_build_with_its_name() {
    let pulled = site("");
    write(
        pulled.path(),
        "content/posts/a.md",
        "---\ntitle: A\n---\nbody\n",
    );
    // Few instructions, each over 100 MB: fuel alone would let it run for
    // hours.
    write(
        pulled.path(),
        "templates/post.html",
        "{% set s = \"x\" * 100000000 %}{% for j in range(100000) %}{{ (s|upper)|length }}{% endfor %}",
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_host"))
        .args(["render", "--site"])
        .arg(pulled.path())
        .env("NO_COLOR", "1")
        .env("BLOGMARK_TEMPLATE_TIMEOUT", "2")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("templates/post.html: error: one rendering ran for over 2 s"),
        "{stderr}"
    );
    assert!(!pulled.path().join("public/posts/a/index.html").exists());
}
