//! What `host render` writes: modes a web server can serve, no file behind
//! a symbolic link, and two renders of one site taking turns.

use crate::common;

use common::{site, write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output};

fn render_with_umask(site: &Path, umask: libc::mode_t) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_host"));
    command
        .args(["render", "--site"])
        .arg(site)
        .env("NO_COLOR", "1");
    // SAFETY: umask is async-signal-safe and touches only the child.
    unsafe {
        command.pre_exec(move || {
            libc::umask(umask);
            Ok(())
        });
    }
    command.output().expect("the host binary runs")
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn written_files_and_folders_get_the_modes_the_umask_allows() {
    for (umask, file_mode, dir_mode) in [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700)] {
        let site = site("");
        write(
            site.path(),
            "content/posts/hello.md",
            "---\ntitle: Hello\ndate: 2024-01-01\n---\nHi.\n",
        );
        write(site.path(), "static/img/a.txt", "a");
        let out = render_with_umask(site.path(), umask);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let public = site.path().join("public");
        for file in [
            "index.html",
            "posts/hello/index.html",
            "img/a.txt",
            "atom.xml",
        ] {
            assert_eq!(
                mode(&public.join(file)),
                file_mode,
                "{file} under umask {umask:o}"
            );
        }
        for dir in ["", "posts", "posts/hello", "img"] {
            assert_eq!(
                mode(&public.join(dir)),
                dir_mode,
                "{dir}/ under umask {umask:o}"
            );
        }
    }
}

#[test]
fn a_mode_set_on_purpose_survives_a_render_that_changes_the_file() {
    let site = site("");
    write(
        site.path(),
        "content/posts/hello.md",
        "---\ntitle: Hello\ndate: 2024-01-01\n---\nHi.\n",
    );
    assert!(render_with_umask(site.path(), 0o022).status.success());
    let page = site.path().join("public/posts/hello/index.html");
    std::fs::set_permissions(&page, std::fs::Permissions::from_mode(0o640)).unwrap();
    write(
        site.path(),
        "content/posts/hello.md",
        "---\ntitle: Hello\ndate: 2024-01-01\n---\nHi again.\n",
    );
    assert!(render_with_umask(site.path(), 0o022).status.success());
    assert!(
        std::fs::read_to_string(&page)
            .unwrap()
            .contains("Hi again.")
    );
    assert_eq!(mode(&page), 0o640);
}

#[test]
fn symbolic_links_are_reported_and_never_followed() {
    let site = site("");
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "secret.txt", "private key");
    write(
        outside.path(),
        "stolen.md",
        "---\ntitle: Stolen\ndate: 2024-01-01\n---\nNot mine.\n",
    );
    write(
        site.path(),
        "content/posts/hello.md",
        "---\ntitle: Hello\ndate: 2024-01-01\n---\nHi.\n",
    );
    write(site.path(), "static/real.txt", "real");
    std::os::unix::fs::symlink(
        outside.path().join("secret.txt"),
        site.path().join("static/key.txt"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("stolen.md"),
        site.path().join("content/posts/stolen.md"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("secret.txt"),
        site.path().join("scripts/leak.py"),
    )
    .unwrap();
    let out = render_with_umask(site.path(), 0o022);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    for link in [
        "static/key.txt",
        "content/posts/stolen.md",
        "scripts/leak.py",
    ] {
        let reports: Vec<&str> = stderr.lines().filter(|l| l.contains(link)).collect();
        assert_eq!(reports.len(), 1, "{link} reported once: {stderr}");
        assert!(reports[0].contains("symbolic link"), "{}", reports[0]);
        assert!(reports[0].contains("outside the site"), "{}", reports[0]);
        assert!(
            reports[0].contains(&outside.path().display().to_string()),
            "{}",
            reports[0]
        );
    }
    let public = site.path().join("public");
    assert!(public.join("real.txt").exists());
    assert!(
        !public.join("key.txt").exists(),
        "a linked static file is not copied"
    );
    assert!(
        !public.join("posts/stolen").exists(),
        "a linked post is not rendered"
    );
    let all = walk(&public);
    assert!(
        !all.contains("private key"),
        "nothing behind a link reaches the output"
    );
}

fn walk(dir: &Path) -> String {
    let mut text = String::new();
    for entry in walkdir::WalkDir::new(dir).into_iter().flatten() {
        if entry.file_type().is_file() {
            text.push_str(&String::from_utf8_lossy(
                &std::fs::read(entry.path()).unwrap(),
            ));
        }
    }
    text
}

/// Every file under `dir`, by relative path, with its bytes.
fn snapshot(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let relative = e.path().strip_prefix(dir).unwrap().display().to_string();
            (relative, std::fs::read(e.path()).unwrap())
        })
        .collect()
}

#[test]
fn two_renders_of_one_site_take_turns_and_both_succeed() {
    let site = site("");
    for i in 0..1000 {
        write(
            site.path(),
            &format!("content/posts/post-{i:04}.md"),
            &format!(
                "---\ntitle: Post {i}\ndate: 2024-01-{:02}\ntags: [t{}]\n---\nBody {i} with **Markdown** and `code`.\n",
                i % 28 + 1,
                i % 7
            ),
        );
    }
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_host"))
            .args(["render", "--site"])
            .arg(site.path())
            .env("NO_COLOR", "1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    for out in [&a, &b] {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let both = snapshot(&site.path().join("public"));
    std::fs::remove_dir_all(site.path().join("public")).unwrap();
    std::fs::remove_dir_all(site.path().join(".blogmark")).unwrap();
    let one = common::host(site.path(), &["render"]);
    assert!(one.status.success());
    let alone = snapshot(&site.path().join("public"));
    assert_eq!(both.len(), alone.len());
    assert!(
        both == alone,
        "two renders in turn leave what one render writes"
    );
}

#[test]
fn a_waiting_render_says_why() {
    let site = site("");
    write(
        site.path(),
        "content/posts/hello.md",
        "---\ntitle: Hello\ndate: 2024-01-01\n---\nHi.\n",
    );
    let lock = blogmark_host::site_lock::SiteLock::acquire(site.path()).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_host"))
        .args(["render", "--site"])
        .arg(site.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The lock is let go once the render has said it waits (not after a
    // fixed time: on a loaded machine the process may start late).
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut said = String::new();
    let mut line = String::new();
    while std::io::BufRead::read_line(&mut stderr, &mut line).unwrap() > 0 {
        said.push_str(&line);
        if line.contains(blogmark_host::site_lock::WAITING) {
            break;
        }
        line.clear();
    }
    assert!(
        said.contains(blogmark_host::site_lock::WAITING),
        "the render ended without waiting: {said}"
    );
    drop(lock);
    std::io::Read::read_to_string(&mut stderr, &mut said).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{said}");
}

/// A child process killed when dropped, so that a failing assertion
/// leaves no compile running.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `host python prepare` compiles into the machine's cache only: a render
/// started while it compiles (as it does in the background after a first
/// render) neither waits for it nor says it waits, and runs its own calls.
#[test]
fn a_render_never_waits_for_the_sandbox_compile() {
    let site = site("");
    write(
        site.path(),
        "content/posts/hello.md",
        "---\ntitle: Hello\ndate: 2024-01-01\n---\nSaid: {{< shout >}}\n",
    );
    write(
        site.path(),
        "scripts/shout.py",
        "\"\"\"\n---\nname: shout\n---\n\"\"\"\n\ndef render(ctx):\n    return 'HEY'\n",
    );
    let cache = tempfile::tempdir().unwrap();
    let mut prepare = Killed(
        Command::new(env!("CARGO_BIN_EXE_host"))
            .args(["python", "prepare", "--site"])
            .arg(site.path())
            .env("BLOGMARK_CACHE_DIR", cache.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Compiling once it holds its own lock (an empty cache: a compile of
    // seconds), and before that it held the site's, if it takes it.
    let lock = cache.path().join("compiled/prepare.lock");
    let deadline = std::time::Instant::now() + common::server::PATIENCE;
    while std::fs::File::open(&lock).is_ok_and(|file| file.try_lock().is_ok()) || !lock.exists() {
        assert!(
            prepare.0.try_wait().unwrap().is_none(),
            "prepare ended at once"
        );
        assert!(std::time::Instant::now() < deadline, "prepare never locked");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = Command::new(env!("CARGO_BIN_EXE_host"))
        .args(["render", "--site"])
        .arg(site.path())
        .env("BLOGMARK_CACHE_DIR", cache.path())
        .output()
        .unwrap();
    drop(prepare);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(
        !said.contains(blogmark_host::site_lock::WAITING),
        "the render waited for the compile: {said}"
    );
    let page = std::fs::read_to_string(site.path().join("public/posts/hello/index.html")).unwrap();
    assert!(page.contains("Said: HEY"), "{page}");
}

/// `host -vv render` of `site` with the cache folder `cache` (whose key
/// tags what the render keeps in `.blogmark/`): what it printed.
fn render_verbose(site: &Path, cache: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_host"))
        .args(["-vv", "render", "--site"])
        .arg(site)
        .env("NO_COLOR", "1")
        .env("BLOGMARK_CACHE_DIR", cache)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    stderr
}

/// Whether `log` says the render wrote `written` files, found `unchanged`
/// unchanged, of which `by_stamp` without reading them.
fn says(log: &str, written: usize, unchanged: usize, by_stamp: usize) -> bool {
    log.contains(&format!("{written} written, {unchanged} unchanged"))
        && log.contains(&format!("by_stamp={by_stamp}"))
}

#[test]
fn the_output_is_checked_by_stamps_and_any_edit_there_is_undone() {
    let site = site("");
    let cache = tempfile::tempdir().unwrap();
    for i in 0..3 {
        write(
            site.path(),
            &format!("content/posts/p{i}.md"),
            &format!(
                "---\ntitle: P{i}\ndate: 2024-01-0{}\n---\nBody {i}.\n",
                i + 1
            ),
        );
    }
    let public = site.path().join("public");
    render_verbose(site.path(), cache.path());
    let before = snapshot(&public);
    let files = before.len();
    let log = render_verbose(site.path(), cache.path());
    assert!(says(&log, 0, files, files), "{log}");
    // An edit of the same length, in place: the folder does not change,
    // only the file's stamp tells.
    let page = public.join("posts/p1/index.html");
    let text = std::fs::read_to_string(&page).unwrap();
    std::fs::write(&page, text.replace("Body 1", "Evil 1")).unwrap();
    std::fs::write(public.join("posts/p0/stranger.html"), "?").unwrap();
    let log = render_verbose(site.path(), cache.path());
    assert!(says(&log, 1, files - 1, files - 1), "{log}");
    assert!(log.contains("1 removed"), "{log}");
    assert!(snapshot(&public) == before, "the render undid both");
    // A manifest kept by another machine (another key) is not trusted: the
    // output is compared by reading it, and still undone.
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(&page, text.replace("Body 1", "Evil 1")).unwrap();
    let log = render_verbose(site.path(), elsewhere.path());
    assert!(says(&log, 1, files - 1, 0), "{log}");
    assert!(snapshot(&public) == before);
}

/// Whether `log` (of `host -vv render`) shows the output's folders known
/// from the last render, not walked again.
fn folders_known(log: &str) -> bool {
    log.contains("tree_unchanged=true") || log.contains("nothing changed since the last render")
}

#[test]
fn a_render_that_writes_or_removes_a_page_keeps_every_folder_known_and_strangers_found() {
    let site = site("");
    let cache = tempfile::tempdir().unwrap();
    let post =
        |i: usize, body: &str| format!("---\ntitle: P{i}\ndate: 2024-01-0{}\n---\n{body}\n", i + 1);
    for i in 0..4 {
        write(
            site.path(),
            &format!("content/posts/p{i}.md"),
            &post(i, "Body."),
        );
    }
    let public = site.path().join("public");
    render_verbose(site.path(), cache.path());
    // One page changed: its folder is looked at again, the others keep
    // the stamps the render began with.
    write(site.path(), "content/posts/p2.md", &post(2, "Changed."));
    let log = render_verbose(site.path(), cache.path());
    assert!(log.contains("tree_unchanged=true"), "{log}");
    let log = render_verbose(site.path(), cache.path());
    assert!(folders_known(&log), "{log}");
    // A stranger in a folder that render did not touch is still found.
    std::fs::write(public.join("posts/p0/stranger.html"), "?").unwrap();
    let log = render_verbose(site.path(), cache.path());
    assert!(log.contains("1 removed"), "{log}");
    assert!(!public.join("posts/p0/stranger.html").exists());
    // A page gone: its folder goes, and is not taken for one still there.
    std::fs::remove_file(site.path().join("content/posts/p3.md")).unwrap();
    let log = render_verbose(site.path(), cache.path());
    assert!(!public.join("posts/p3").exists(), "{log}");
    let log = render_verbose(site.path(), cache.path());
    assert!(folders_known(&log), "{log}");
    std::fs::create_dir(public.join("posts/p3")).unwrap();
    std::fs::write(public.join("posts/p3/index.html"), "stale").unwrap();
    let log = render_verbose(site.path(), cache.path());
    assert!(!public.join("posts/p3").exists(), "{log}");
}
