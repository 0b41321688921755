//! Crash safety: `host render` and `host sync` killed with SIGKILL at random
//! moments, again and again. After every kill the database passes
//! `PRAGMA integrity_check`, no output or work-tree file is partial, no
//! source file changed, and the next command succeeds.
//!
//! The moments come from a seeded generator; a failure prints the seed
//! (`BLOGMARK_CRASH_SEED=N` replays it).

use crate::common;

use common::{commit_all, files, host, push, write};
use git2::Repository;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// xorshift64*: enough randomness for kill moments, no dependency.
struct Moments(u64);

impl Moments {
    fn new() -> Self {
        Moments(common::seed("BLOGMARK_CRASH_SEED"))
    }

    /// A moment in `0..=max`.
    fn within(&mut self, max: Duration) -> Duration {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let r = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        max.mul_f64((r >> 11) as f64 / (1u64 << 53) as f64)
    }
}

/// How a run started by [`kill_after`] ended.
enum Ended {
    /// SIGKILLed while still running.
    Killed,
    /// Finished by itself, after this long: the run is quicker than was
    /// thought, so the next moments should be drawn from a shorter span
    /// (otherwise a machine slower at calibration than later kills little).
    Finished(Duration),
}

/// Start `host ARGS --site SITE`, SIGKILL it after `after` if still running.
fn kill_after(site: &Path, args: &[&str], after: Duration) -> Ended {
    let mut child = Command::new(env!("CARGO_BIN_EXE_host"))
        .args(args)
        .arg("--site")
        .arg(site)
        .arg("-q")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while started.elapsed() < after {
        if child.try_wait().unwrap().is_some() {
            return Ended::Finished(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let running = child.try_wait().unwrap().is_none();
    child.kill().unwrap();
    child.wait().unwrap();
    if running {
        Ended::Killed
    } else {
        Ended::Finished(started.elapsed())
    }
}

fn assert_database_intact(site: &Path) {
    let db = site.join(".blogmark/site.db");
    if !db.exists() {
        return;
    }
    let conn = rusqlite::Connection::open(&db).unwrap();
    let result: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(result, "ok", "integrity_check of {}", db.display());
}

fn post(i: usize, revision: usize) -> String {
    format!(
        "---\ntitle: Post {i}\ndate: 2024-01-{:02}\ntags: [t{}]\n---\n# Post {i}, revision {revision}\n\n{}\n\n{{{{< note >}}}}A note.{{{{< /note >}}}}\n\n{{{{< stamp n={} >}}}}\n",
        i % 28 + 1,
        i % 7,
        "Some text with *emphasis* and `code`. ".repeat(40),
        i % 50
    )
}

const STAMP: &str = "\"\"\"\n---\nkind: macro\n---\n\"\"\"\ndef render(ctx):\n    return f\"<b>{ctx.args['n'] * 2}</b>\"\n";

const SKIP: [&str; 4] = [".git", ".blogmark", "public", ".public.writing"];

#[test]
fn render_killed_at_random_moments_leaves_nothing_partial() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    write(&site, "site.toml", &common::site_toml(""));
    write(&site, "scripts/stamp.py", STAMP);
    for i in 0..300 {
        write(&site, &format!("content/posts/p{i:03}.md"), &post(i, 0));
    }
    // The complete output, from a copy of the site.
    let reference = dir.path().join("reference");
    for (path, bytes) in files(&site, &SKIP) {
        write(&reference, &path, &String::from_utf8(bytes).unwrap());
    }
    let started = Instant::now();
    let out = host(&reference, &["render"]);
    let mut cold = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let started = Instant::now();
    assert!(host(&reference, &["render"]).status.success());
    let mut warm = started.elapsed();
    let expected = files(&reference.join("public"), &[]);
    let sources = files(&site, &SKIP);

    let mut moments = Moments::new();
    let mut killed = 0;
    for round in 0..12 {
        // Every other round starts from an empty output and database, so
        // kills land in every phase: loading, the sandbox, writing.
        let full = if round % 2 == 0 {
            let _ = std::fs::remove_dir_all(site.join("public"));
            let _ = std::fs::remove_dir_all(site.join(".blogmark"));
            &mut cold
        } else {
            &mut warm
        };
        match kill_after(&site, &["render"], moments.within(full.mul_f64(1.1))) {
            Ended::Killed => killed += 1,
            Ended::Finished(took) => *full = (*full).min(took),
        }
        assert_database_intact(&site);
        for (path, bytes) in files(&site.join("public"), &[]) {
            assert!(
                expected.get(&path) == Some(&bytes),
                "round {round}: public/{path} is partial or unexpected"
            );
        }
        assert_eq!(
            files(&site, &SKIP),
            sources,
            "round {round}: a source file changed"
        );
    }
    assert!(
        killed >= 4,
        "only {killed} of 12 renders were killed mid-way"
    );

    let out = host(&site, &["render"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(files(&site.join("public"), &[]), expected);
    assert!(!site.join(".public.writing").exists());
    assert_database_intact(&site);
}

#[test]
fn sync_killed_at_random_moments_recovers_on_the_next_sync() {
    let dir = tempfile::tempdir().unwrap();
    let (bare, upstream) = common::remote_and_upstream(dir.path());
    let up_path = upstream.workdir().unwrap().to_path_buf();
    write(&up_path, "scripts/stamp.py", STAMP);
    for i in 0..300 {
        write(&up_path, &format!("content/posts/p{i:03}.md"), &post(i, 0));
    }
    commit_all(&upstream, "initial");
    push(&upstream);
    let site = dir.path().join("site");
    Repository::clone(bare.to_str().unwrap(), &site).unwrap();
    assert!(host(&site, &["rebuild"]).status.success());

    let mut moments = Moments::new();
    let mut killed = 0;
    let mut full = Duration::ZERO;
    for round in 1..=10 {
        let before = files(&site, &SKIP);
        // Upstream rewrites every post, deletes one and adds one.
        for i in 0..300 {
            write(
                &up_path,
                &format!("content/posts/p{i:03}.md"),
                &post(i, round),
            );
        }
        let _ = std::fs::remove_file(up_path.join(format!("content/posts/p{:03}.md", round)));
        write(
            &up_path,
            &format!("content/posts/new{round}.md"),
            &post(round, round),
        );
        commit_all(&upstream, &format!("round {round}"));
        push(&upstream);
        let after = files(&up_path, &[".git"]);

        if round == 1 {
            // Calibrate: how long a whole sync of such a change takes.
            let started = Instant::now();
            assert!(host(&site, &["sync"]).status.success());
            full = started.elapsed();
        } else {
            match kill_after(&site, &["sync"], moments.within(full.mul_f64(1.2))) {
                Ended::Killed => killed += 1,
                Ended::Finished(took) => full = full.min(took),
            }
            assert_database_intact(&site);
            for (path, bytes) in files(&site, &SKIP) {
                assert!(
                    before.get(&path) == Some(&bytes) || after.get(&path) == Some(&bytes),
                    "round {round}: {path} is neither the old nor the new version"
                );
            }
            let out = host(&site, &["sync"]);
            assert!(
                out.status.success(),
                "round {round}: the sync after a kill failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert_eq!(
            files(&site, &SKIP),
            after,
            "round {round}: the work tree is not upstream's"
        );
        let head = Repository::open(&site).unwrap().head().unwrap().target();
        assert_eq!(head, upstream.head().unwrap().target(), "round {round}");
        assert_database_intact(&site);
        let posts = rusqlite::Connection::open(site.join(".blogmark/site.db"))
            .unwrap()
            .query_row("SELECT count(*) FROM posts", [], |r| r.get::<_, i64>(0))
            .unwrap();
        let expected = after
            .keys()
            .filter(|k| k.starts_with("content/posts/"))
            .count();
        assert_eq!(posts as usize, expected, "round {round}: the posts table");
    }
    assert!(killed >= 3, "only {killed} of 9 syncs were killed mid-way");
}
