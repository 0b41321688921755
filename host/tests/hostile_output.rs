//! A pulled site whose output folder, `.blogmark/` or paths in them are
//! symbolic links, and command-line values that would hurt: `host` writes,
//! reads-to-compare and deletes nothing through a link, and says why.

use crate::common;

use common::{host, site, write};
use std::os::unix::fs::symlink;
use std::path::Path;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A folder beside the site standing for the author's home, with a file
/// that must survive.
fn home(parent: &Path) -> std::path::PathBuf {
    let home = parent.join("home");
    write(&home, ".bashrc", "mine");
    home
}

fn untouched(home: &Path) {
    let names: Vec<_> = std::fs::read_dir(home)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, [".bashrc"], "outside folder changed");
    assert_eq!(
        std::fs::read_to_string(home.join(".bashrc")).unwrap(),
        "mine"
    );
}

fn a_post(root: &Path) {
    write(
        root,
        "content/posts/hello.md",
        "---\ntitle: Hello\ndate: 2024-01-01\n---\nHi.\n",
    );
}

#[test]
fn a_linked_output_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let home = home(dir.path());
    for name in ["public", ".public.writing"] {
        let site = site("");
        a_post(site.path());
        symlink(&home, site.path().join(name)).unwrap();
        let out = host(site.path(), &["render"]);
        if name == "public" {
            assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
            assert!(
                stderr(&out).contains("is a symbolic link"),
                "{}",
                stderr(&out)
            );
        } else {
            // The staging link is removed, never written through.
            assert!(out.status.success(), "{}", stderr(&out));
            assert!(site.path().join("public/index.html").is_file());
        }
        untouched(&home);
    }
}

#[test]
fn a_linked_folder_named_with_out_is_the_users_choice() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("www");
    std::fs::create_dir(&target).unwrap();
    symlink(&target, dir.path().join("link")).unwrap();
    let site = site("");
    a_post(site.path());
    let link = dir.path().join("link");
    let out = host(site.path(), &["render", "--out", link.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(target.join("index.html").is_file());
    assert!(link.is_symlink());
}

#[test]
fn links_inside_the_output_are_removed_never_written_through() {
    let dir = tempfile::tempdir().unwrap();
    let home = home(dir.path());
    let site = site("");
    a_post(site.path());
    write(site.path(), "static/home/.bashrc", "evil");
    write(site.path(), "static/page.txt", "new");
    let public = site.path().join("public");
    std::fs::create_dir_all(public.join("deep")).unwrap();
    // A folder link on the way to a written file, a file link at a written
    // file's path, a stale link to a folder and one to a file.
    symlink(&home, public.join("home")).unwrap();
    symlink(home.join(".bashrc"), public.join("page.txt")).unwrap();
    symlink(&home, public.join("deep/stale")).unwrap();
    symlink(home.join(".bashrc"), public.join("stale.txt")).unwrap();
    let out = host(site.path(), &["render"]);
    assert!(out.status.success(), "{}", stderr(&out));
    untouched(&home);
    assert!(!public.join("home").is_symlink());
    assert_eq!(
        std::fs::read_to_string(public.join("home/.bashrc")).unwrap(),
        "evil"
    );
    assert!(!public.join("page.txt").is_symlink());
    assert_eq!(
        std::fs::read_to_string(public.join("page.txt")).unwrap(),
        "new"
    );
    assert!(!public.join("deep/stale").exists() && !public.join("deep/stale").is_symlink());
    assert!(!public.join("stale.txt").is_symlink());
}

#[test]
fn an_unchanged_file_behind_a_link_is_replaced_and_keeps_no_foreign_mode() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("same.txt");
    std::fs::write(&outside, "same").unwrap();
    std::fs::set_permissions(&outside, std::fs::Permissions::from_mode(0o777)).unwrap();
    let site = site("");
    write(site.path(), "static/same.txt", "same");
    let public = site.path().join("public");
    std::fs::create_dir_all(&public).unwrap();
    symlink(&outside, public.join("same.txt")).unwrap();
    let out = host(site.path(), &["render"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let file = public.join("same.txt");
    assert!(!file.is_symlink(), "a link that reads the same stays");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_ne!(mode, 0o777);
}

#[test]
fn a_linked_state_folder_or_database_is_refused() {
    for link in [
        ".blogmark",
        ".blogmark/site.db",
        ".blogmark/site.db-wal",
        ".blogmark/serve",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let home = home(dir.path());
        let site = site("");
        a_post(site.path());
        let path = site.path().join(link);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let target = if link == ".blogmark" || link == ".blogmark/serve" {
            home.clone()
        } else {
            home.join(".bashrc")
        };
        symlink(&target, &path).unwrap();
        let out = host(site.path(), &["render"]);
        if link == ".blogmark/serve" {
            // `render` does not use the serve folder.
            assert!(out.status.success(), "{link}: {}", stderr(&out));
        } else {
            assert_eq!(out.status.code(), Some(1), "{link}: {}", stderr(&out));
            assert!(
                stderr(&out).contains("is a symbolic link"),
                "{link}: {}",
                stderr(&out)
            );
        }
        for command in [&["check"][..], &["rebuild"], &["stats"]] {
            host(site.path(), command);
        }
        untouched(&home);
    }
}

#[test]
fn a_linked_page_cache_is_never_read_or_written_through() {
    let dir = tempfile::tempdir().unwrap();
    let home = home(dir.path());
    let site = site("");
    a_post(site.path());
    std::fs::create_dir_all(site.path().join(".blogmark")).unwrap();
    symlink(
        home.join(".bashrc"),
        site.path().join(".blogmark/pages.cache"),
    )
    .unwrap();
    let out = host(site.path(), &["render"]);
    assert!(out.status.success(), "{}", stderr(&out));
    untouched(&home);
}

#[test]
fn stats_json_to_a_special_file_writes_in_place() {
    // A FIFO of the test's own, not a device of the machine: a regression
    // here must not replace `/dev/null` for everything else running.
    use std::os::unix::fs::FileTypeExt as _;
    let site = site("");
    a_post(site.path());
    // Read by a thread while the render writes.
    let fifo = site.path().join("stats.fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let out = host(
        site.path(),
        &["render", "--stats-json", fifo.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(reader.join().unwrap().contains("\"pages\""));
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
}

#[test]
fn jobs_is_bounded() {
    let site = site("");
    for command in ["render", "check"] {
        for jobs in ["100000", "0", "257"] {
            let out = host(site.path(), &[command, "--jobs", jobs]);
            assert_eq!(out.status.code(), Some(2), "{command} --jobs {jobs}");
            assert!(stderr(&out).contains("1 to 256"), "{}", stderr(&out));
        }
        let out = host(site.path(), &[command, "--jobs", "256"]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_host"))
        .args(["render", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("1 to 256"));
}

#[test]
fn an_output_folder_over_the_sites_own_files_is_refused_and_nothing_is_removed() {
    let site = site("");
    a_post(site.path());
    let before = common::files(site.path(), &[]);
    // (A folder holding the site, say its parent, is refused the same way:
    // unit-tested in `output_place.rs`, never tried here on a shared one.)
    let root = site.path().to_path_buf();
    for out in [root.clone(), root.join("content"), root.join("scripts/out")] {
        let out_arg = out.to_str().unwrap();
        let run = host(site.path(), &["render", "--out", out_arg]);
        assert_eq!(run.status.code(), Some(1), "{out_arg}: {}", stderr(&run));
        assert!(
            stderr(&run).contains("would remove"),
            "{out_arg}: {}",
            stderr(&run)
        );
        assert_eq!(common::files(site.path(), &[]), before, "{out_arg}");
    }
    // The default output folder still renders.
    assert!(host(site.path(), &["render"]).status.success());
}
