//! The regression threshold checker: it passes on a good result, fails on
//! a doctored one and on a missing one, and reads the real thresholds file.

use blogmark_e2e::thresholds::{self, Verdict};
use std::path::Path;

/// A criterion output directory holding one benchmark with `median_ms`.
fn criterion_result(dir: &Path, full_id: &str, median_ms: f64) {
    let new = dir.join(full_id.replace('/', "_")).join("new");
    std::fs::create_dir_all(&new).unwrap();
    std::fs::write(
        new.join("benchmark.json"),
        serde_json::json!({"group_id": "g", "function_id": "f", "full_id": full_id,
            "directory_name": "d", "title": full_id, "value_str": null, "throughput": null})
        .to_string(),
    )
    .unwrap();
    let estimate = |ns: f64| {
        serde_json::json!({"confidence_interval": {"confidence_level": 0.95,
            "lower_bound": ns, "upper_bound": ns}, "point_estimate": ns, "standard_error": 0.0})
    };
    std::fs::write(
        new.join("estimates.json"),
        serde_json::json!({"mean": estimate(median_ms * 1e6), "median": estimate(median_ms * 1e6),
            "median_abs_dev": estimate(0.0), "slope": null, "std_dev": estimate(0.0)})
        .to_string(),
    )
    .unwrap();
}

const THRESHOLDS: &str = "[benchmarks.\"macro_call/fresh\"]\nbaseline_ms = 2.0\nmax_ratio = 1.5\n\n[benchmarks.\"render/cold\"]\nbaseline_ms = 400.0\nmax_ratio = 1.3\n";

#[test]
fn passes_within_the_ratio_and_fails_past_it() {
    let limits = thresholds::parse("t.toml", THRESHOLDS).unwrap();

    let good = tempfile::tempdir().unwrap();
    criterion_result(good.path(), "macro_call/fresh", 2.9);
    criterion_result(good.path(), "render/cold", 390.0);
    let report = thresholds::check(&limits, &thresholds::latest_medians(good.path()).unwrap());
    assert!(report.passed(), "{report}");

    // The same results with one median doctored past its ratio (3.1 / 2.0 > 1.5).
    let doctored = tempfile::tempdir().unwrap();
    criterion_result(doctored.path(), "macro_call/fresh", 3.1);
    criterion_result(doctored.path(), "render/cold", 390.0);
    let report = thresholds::check(
        &limits,
        &thresholds::latest_medians(doctored.path()).unwrap(),
    );
    assert!(!report.passed());
    let verdicts: Vec<_> = report.lines.iter().map(|l| (&*l.id, &l.verdict)).collect();
    assert_eq!(
        verdicts,
        [
            ("macro_call/fresh", &Verdict::Regressed),
            ("render/cold", &Verdict::Pass)
        ]
    );
    assert!(report.to_string().contains("REGRESSED"));

    // A benchmark that did not run fails too: a silent pass would hide it.
    let partial = tempfile::tempdir().unwrap();
    criterion_result(partial.path(), "render/cold", 390.0);
    let report = thresholds::check(
        &limits,
        &thresholds::latest_medians(partial.path()).unwrap(),
    );
    assert_eq!(report.lines[0].verdict, Verdict::Missing);
    assert!(!report.passed());
}

#[test]
fn the_bench_check_binary_exits_1_on_a_regression() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.toml");
    std::fs::write(&file, THRESHOLDS).unwrap();
    criterion_result(dir.path(), "macro_call/fresh", 2.0);
    criterion_result(dir.path(), "render/cold", 800.0);
    let bench_check = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_bench-check"))
            .args(["--no-run", "--thresholds"])
            .arg(&file)
            .arg("--criterion-dir")
            .arg(dir.path())
            .output()
            .unwrap()
    };
    let out = bench_check();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("render/cold") && stdout.contains("REGRESSED"),
        "{stdout}"
    );
    criterion_result(dir.path(), "render/cold", 410.0);
    let out = bench_check();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn the_repository_thresholds_parse_and_name_real_benchmarks() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("benches/thresholds.toml")).unwrap();
    let limits = thresholds::parse("benches/thresholds.toml", &text).unwrap();
    assert!(!limits.benchmarks.is_empty());
    let sources: String = ["runtime.rs", "render.rs", "parser.rs"]
        .iter()
        .map(|f| std::fs::read_to_string(root.join("benches").join(f)).unwrap())
        .collect();
    for id in limits.benchmarks.keys() {
        let (group, function) = id.split_once('/').expect("ids are group/function");
        assert!(
            sources.contains(&format!("\"{group}\""))
                && sources.contains(&format!("\"{function}\"")),
            "{id} is not a benchmark in benches/"
        );
    }
    for posts in ["1000", "10000", "100000"] {
        let measures = &limits.compare_hugo[posts];
        for measure in thresholds::COMPARE_HUGO_MEASURES {
            assert!(measures[measure] > 0.0, "compare_hugo.{posts}.{measure}");
        }
    }
    assert!(thresholds::parse("x", "[compare_hugo.1000]\ncold = 0.0\n").is_err());
    assert!(thresholds::parse("x", "[compare_hugo.big]\ncold = 0.5\n").is_err());
    assert!(thresholds::parse("x", "[compare_hugo.1000]\nhot = 0.5\n").is_err());
    assert!(
        thresholds::parse("x", "[benchmarks.a]\nbaseline_ms = 0.0\nmax_ratio = 1.2\n").is_err()
    );
    assert!(
        thresholds::parse("x", "[benchmarks.a]\nbaseline_ms = 1.0\nmax_ratio = 0.5\n").is_err()
    );
}
