//! `host render --stats`, `--stats-json` and `host stats` on a fixture site
//! whose macros fail in every way: the numbers must be what happened.

use crate::common;

use common::host;
use serde_json::Value;
use std::process::Command;

fn script(front: &str, body: &str) -> String {
    format!("\"\"\"\n---\n{front}---\n\"\"\"\ndef render(ctx):\n{body}")
}

fn fixture() -> tempfile::TempDir {
    let dir = common::site("[python]\ntimeout_ms = 2000\n");
    let root = dir.path();
    let scripts = [
        ("ok.py", script("", "    return 'ok'\n")),
        (
            "slow.py",
            script("timeout_ms: 200\n", "    while True:\n        pass\n"),
        ),
        (
            "hungry.py",
            script("fuel: 20000000\n", "    n = 0\n    while True:\n        n += 1\n"),
        ),
        (
            "big.py",
            script("memory_mb: 64\n", "    return str(len(bytearray(200 << 20)))\n"),
        ),
        ("boom.py", script("", "    raise ValueError('boom')\n")),
        ("liar.py", script("", "    return '\\ud800'\n")),
        (
            "mark.py",
            "\"\"\"\n---\nkind: transform\n---\n\"\"\"\ndef transform(post):\n    return {'body': post['body'] + '\\n\\nmarked'}\n".to_owned(),
        ),
    ];
    for (name, source) in scripts {
        std::fs::write(root.join("scripts").join(name), source).unwrap();
    }
    std::fs::write(
        root.join("content/posts/a.md"),
        "---\ntitle: A\n---\n{{< ok >}} {{< ok >}} {{< slow >}} {{< hungry >}}\n\n{{< big >}} {{< boom >}} {{< liar >}}\n\n{{< youtube id=\"dQw4w9WgXcQ\" >}}\n",
    )
    .unwrap();
    std::fs::write(
        root.join("content/posts/b.md"),
        "---\ntitle: B\n---\n{{< youtube id=\"dQw4w9WgXcQ\" >}}\n\n{{< youtube id=\"bad id!\" >}}\n",
    )
    .unwrap();
    dir
}

/// The JSON rows by name.
fn rows(json: &Value) -> std::collections::BTreeMap<String, Value> {
    json["macros"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| (row["name"].as_str().unwrap().to_owned(), row.clone()))
        .collect()
}

/// (calls, hits, runs, [timeout, fuel, memory, error, abi, other]) of a row.
fn counts(row: &Value) -> (u64, u64, u64, [u64; 6]) {
    let n = |v: &Value| v.as_u64().unwrap();
    let f = &row["failures"];
    (
        n(&row["calls"]),
        n(&row["cache_hits"]),
        n(&row["sandbox_runs"]),
        ["timeout", "fuel", "memory", "error", "abi", "other"].map(|k| n(&f[k])),
    )
}

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one render's counts, checked against its table and its JSON in order"
)]
fn stats_count_what_happened_and_the_json_matches_the_table() {
    let site = fixture();
    let json_path = site.path().join("stats.json");
    let out = host(
        site.path(),
        &[
            "render",
            "--stats",
            "--stats-json",
            json_path.to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a bad youtube id is an error: {stderr}"
    );
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    let rows = rows(&json);
    let expected = [
        ("ok", (2, 1, 1, [0, 0, 0, 0, 0, 0])),
        ("slow", (1, 0, 1, [1, 0, 0, 0, 0, 0])),
        ("hungry", (1, 0, 1, [0, 1, 0, 0, 0, 0])),
        ("big", (1, 0, 1, [0, 0, 1, 0, 0, 0])),
        ("boom", (1, 0, 1, [0, 0, 0, 1, 0, 0])),
        ("liar", (1, 0, 1, [0, 0, 0, 0, 1, 0])),
        ("youtube", (3, 0, 0, [0, 0, 0, 1, 0, 0])),
        ("mark", (2, 0, 2, [0, 0, 0, 0, 0, 0])),
    ];
    for (name, want) in expected {
        assert_eq!(counts(&rows[name]), want, "{name}: {}", rows[name]);
    }
    assert_eq!(rows.len(), expected.len(), "{rows:?}");
    assert_eq!(rows["mark"]["kind"], "transform");
    assert_eq!(rows["youtube"]["kind"], "builtin");
    assert_eq!(json["macro_calls"], 10);
    assert_eq!(json["sandbox_runs"], 8);
    assert_eq!(json["cache_hits"], 1);
    let slow = &rows["slow"];
    assert!(slow["p50_us"].as_u64().unwrap() >= 200_000, "{slow}");
    assert!(slow["p50_us"].as_u64() <= slow["p95_us"].as_u64());
    assert!(slow["p95_us"].as_u64() <= slow["max_us"].as_u64());

    // The table shows the same numbers, row by row.
    let table = String::from_utf8_lossy(&out.stdout);
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header[..5], ["name", "kind", "calls", "hits", "runs"]);
    let mut seen = 0;
    for line in lines.by_ref().take_while(|l| !l.is_empty()) {
        let cells: Vec<&str> = line.split_whitespace().collect();
        let row = &rows[cells[0]];
        assert_eq!(cells[1], row["kind"]);
        let (calls, hits, runs, failures) = counts(row);
        let numbers: Vec<u64> = cells[2..11].iter().map(|c| c.parse().unwrap()).collect();
        assert_eq!(numbers[..3], [calls, hits, runs], "{line}");
        assert_eq!(numbers[3..], failures, "{line}");
        let ms = |key: &str| format!("{:.3}", row[key].as_u64().unwrap() as f64 / 1000.0);
        assert_eq!(
            cells[11..],
            [ms("p50_us"), ms("p95_us"), ms("max_us")],
            "{line}"
        );
        seen += 1;
    }
    assert_eq!(seen, rows.len());

    // After the table, the sandbox's isolation and what it did, as in the JSON.
    let sandbox = &json["sandbox"];
    let mode = sandbox["isolation"]["mode"].as_str().unwrap();
    assert!(["reset", "instance"].contains(&mode), "{sandbox}");
    let line = lines.next().expect("a line about preparing the sandbox");
    assert!(line.starts_with("sandbox preparation: "), "{line}");
    let line = lines.next().expect("a line about the sandbox");
    assert!(
        line.starts_with(&format!("sandbox isolation: {mode} (")),
        "{line}"
    );
    if mode == "reset" {
        // The slow, hungry and big scripts trap or grow memory: each
        // replaces its instance; the others are reset in place.
        let counters = &sandbox["counters"];
        assert!(counters["resets"].as_u64().unwrap() >= 3, "{counters}");
        assert_eq!(counters["mismatches"], 0, "{counters}");
        assert!(line.contains(" resets ("), "{line}");
    }

    // A second render: the good results come from the stored cache, the
    // failures run again.
    let again = host(site.path(), &["render", "--stats-json", "-"]);
    let json2: Value = serde_json::from_slice(&again.stdout).unwrap();
    let rows2 = self::rows(&json2);
    assert_eq!(counts(&rows2["ok"]), (2, 2, 0, [0; 6]));
    assert_eq!(counts(&rows2["mark"]), (2, 2, 0, [0; 6]));
    assert_eq!(counts(&rows2["boom"]), (1, 0, 1, [0, 0, 0, 1, 0, 0]));

    // Both runs are stored, with their rows, and `host stats` shows them.
    let store = blogmark_host::store::Store::open(site.path()).unwrap();
    let runs = store.recent_runs(5).unwrap();
    assert_eq!(runs.len(), 2);
    let stored: Vec<Value> = runs[1]
        .macros
        .iter()
        .map(|m| serde_json::to_value(m).unwrap())
        .collect();
    assert_eq!(Value::Array(stored), json2["macros"]);
    assert_eq!(runs[0].record.sandbox_runs, 8);
    assert_eq!(runs[1].record.cache_hits, 4);
    let stats = host(site.path(), &["stats", "--last", "2"]);
    assert!(stats.status.success());
    let text = String::from_utf8_lossy(&stats.stdout);
    assert!(text.starts_with("Last 2 render runs"), "{text}");
    assert!(text.contains("slow (python)"), "{text}");
    let ok_line = text.lines().find(|l| l.starts_with("ok (python)")).unwrap();
    assert!(
        ok_line.trim_end().ends_with('-'),
        "all hits: no latency: {ok_line}"
    );
}

#[test]
fn stats_on_a_site_never_rendered_say_so() {
    let site = tempfile::tempdir().unwrap();
    let out = host(site.path(), &["stats"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("No render runs recorded yet"));
    assert!(
        !site.path().join(".blogmark").exists(),
        "stats created a database"
    );
}

#[test]
fn verbosity_and_colour_follow_the_flags_and_no_color() {
    let site = fixture();
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_host"));
        command.args(args).arg("--site").arg(site.path());
        command
            .env_remove("NO_COLOR")
            .env_remove("RUST_LOG")
            .env_remove("BLOGMARK_LOG");
        for (k, v) in env {
            command.env(k, v);
        }
        String::from_utf8(command.output().unwrap().stderr).unwrap()
    };
    let verbose = run(&["check", "-v"], &[]);
    assert!(
        verbose.contains("site loaded") && verbose.contains("pages rendered"),
        "{verbose}"
    );
    assert!(
        !verbose.contains('\u{1b}'),
        "no colour when stderr is not a terminal"
    );
    let quiet = run(&["check", "-q"], &[]);
    assert!(
        !quiet.contains("Checked") && !quiet.contains("site loaded"),
        "{quiet}"
    );
    let debug = run(&["check"], &[("RUST_LOG", "blogmark_host=debug")]);
    assert!(debug.contains("sandbox run"), "{debug}");
    let forced = run(&["check", "-v"], &[("CLICOLOR_FORCE", "1")]);
    assert!(forced.contains('\u{1b}'), "{forced}");
    let no_color = run(
        &["check", "-v"],
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")],
    );
    assert!(
        !no_color.contains('\u{1b}') && no_color.contains("site loaded"),
        "{no_color}"
    );
}

#[test]
fn preparing_the_sandbox_is_reported_apart_and_not_in_any_calls_latency() {
    let site = common::site("");
    let root = site.path();
    std::fs::write(root.join("scripts/ok.py"), script("", "    return 'ok'\n")).unwrap();
    std::fs::write(
        root.join("content/posts/a.md"),
        "---\ntitle: A\n---\n{{< ok >}}\n",
    )
    .unwrap();
    // An empty cache: the guest is compiled before the first call.
    let cache = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_host"))
        .args(["render", "--stats", "--stats-json", "-", "--site"])
        .arg(root)
        .env("BLOGMARK_CACHE_DIR", cache.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("sandbox preparation: "), "{stdout}");
    assert!(stdout.contains("code compiled now"), "{stdout}");
    let json_start = stdout.find("{\n").unwrap();
    let json: Value = serde_json::from_str(&stdout[json_start..]).unwrap();
    let preparation = &json["sandbox"]["preparation"];
    assert_eq!(preparation["compiled"], true, "{preparation}");
    let prepared_ms = preparation["elapsed_ms"].as_u64().unwrap();
    let call_ms = rows(&json)["ok"]["max_us"].as_u64().unwrap() as f64 / 1000.0;
    // A compile takes seconds, the call milliseconds: counted in the call,
    // it would be the larger.
    assert!(
        call_ms < prepared_ms as f64,
        "the call took {call_ms} ms, the preparation {prepared_ms} ms"
    );
    // With reset in place, a first run on a machine runs the quick baseline
    // compile's code, and has the optimized code compiled in the
    // background... (With a fresh instance per request the site snapshot
    // is a component of its own, which Cranelift compiles.)
    let reset = json["sandbox"]["isolation"]["mode"] == "reset";
    if reset {
        assert_eq!(preparation["baseline"], true, "{preparation}");
        assert!(stdout.contains("optimized in the background"), "{stdout}");
    }
    // ...which `host python prepare` waits for (or does), after which the
    // optimized code is what loads.
    let prepare = Command::new(env!("CARGO_BIN_EXE_host"))
        .args(["python", "prepare", "--site"])
        .arg(root)
        .env("BLOGMARK_CACHE_DIR", cache.path())
        .output()
        .unwrap();
    assert!(prepare.status.success(), "{prepare:?}");
    let out = Command::new(env!("CARGO_BIN_EXE_host"))
        .args(["render", "--no-cache", "--stats-json", "-", "--site"])
        .arg(root)
        .env("BLOGMARK_CACHE_DIR", cache.path())
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let preparation = &json["sandbox"]["preparation"];
    assert_eq!(preparation["baseline"], false, "{preparation}");
    assert_eq!(preparation["compiled"], false, "{preparation}");
    assert_eq!(rows(&json)["ok"]["sandbox_runs"], 1, "{json}");
}
