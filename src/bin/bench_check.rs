//! `bench-check`: run the criterion benchmarks, then compare their medians
//! with `benches/thresholds.toml`; exit 1 when one is over its ratio (or did
//! not run). See `docs/benchmarks.md`.

use blogmark_e2e::thresholds;
use clap::Parser;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

/// Run the benchmarks and fail on a regression past `benches/thresholds.toml`.
#[derive(Parser)]
#[command(name = "bench-check")]
struct Args {
    /// Compare the results already in the criterion directory; run nothing.
    #[arg(long)]
    no_run: bool,
    /// The thresholds file.
    #[arg(long, default_value = "benches/thresholds.toml")]
    thresholds: PathBuf,
    /// Criterion's output directory.
    #[arg(long, default_value = "target/criterion")]
    criterion_dir: PathBuf,
}

const BENCHES: [&str; 3] = ["runtime", "render", "parser"];

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.thresholds)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", args.thresholds.display()))?;
    let limits = thresholds::parse(&args.thresholds.display().to_string(), &text)?;
    if !args.no_run {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut command = Command::new(cargo);
        command.args(["bench", "--locked"]);
        for bench in BENCHES {
            command.args(["--bench", bench]);
        }
        // The render benchmarks write a thousand files per iteration; on
        // some disks that costs more each time, so they run on tmpfs when
        // there is one and the caller did not choose a place.
        let shm = std::path::Path::new("/dev/shm");
        if std::env::var_os("TMPDIR").is_none() && shm.is_dir() {
            command.env("TMPDIR", shm);
        }
        let status = command.status()?;
        if !status.success() {
            anyhow::bail!("the benchmarks failed ({status})");
        }
    }
    let medians = thresholds::latest_medians(&args.criterion_dir)?;
    let report = thresholds::check(&limits, &medians);
    print!("{report}");
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        eprintln!("bench-check: a benchmark is over its threshold (see docs/benchmarks.md)");
        ExitCode::from(1)
    })
}
