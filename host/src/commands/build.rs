//! `host render` and `host check`.

use crate::cli::{BuildArgs, RenderArgs};
use anyhow::Context as _;
use blogmark_host::diagnostics::Severity;
use blogmark_host::render::{BuildOptions, build_keeping_pages};
use std::io::IsTerminal;
use std::process::ExitCode;

/// `host render`: the site written to `--out` (default `<site>/public`).
pub fn render(site: &std::path::Path, args: &RenderArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let out = args.out.clone();
    // A link named with --out is the user's choice of place: resolved
    // here, as the render never writes through a link in its output path.
    let out = match out {
        Some(path) if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_symlink()) => Some(
            std::fs::canonicalize(&path)
                .with_context(|| format!("cannot resolve --out {}", path.display()))?,
        ),
        other => other,
    };
    run(
        BuildOptions {
            out,
            gc: args.gc,
            ..BuildOptions::render(site)
        },
        &args.build,
        quiet,
    )
}

/// `host check`: a render that writes nothing, its links checked too
/// (external ones with `external`).
pub fn check(
    site: &std::path::Path,
    args: &BuildArgs,
    external: Option<blogmark_host::links::external::Options>,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    run(
        BuildOptions {
            external_links: external,
            ..BuildOptions::check(site)
        },
        args,
        quiet,
    )
}

/// Build with `base` and the options both commands share, then report.
fn run(base: BuildOptions, args: &BuildArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let options = BuildOptions {
        drafts: args.drafts,
        future: args.future,
        jobs: args.jobs,
        progress: !quiet && std::io::stderr().is_terminal(),
        use_cache: !args.no_cache,
        refresh_remote: args.refresh_remote,
        base_url: args.base_url.clone(),
        ..base
    };
    let write = options.write;
    let report = build_keeping_pages(&options)?;
    for diagnostic in &report.diagnostics {
        eprintln!("{diagnostic}");
    }
    let warnings = report.count(Severity::Warning);
    let errors = report.count(Severity::Error);
    if !quiet {
        let files = if write {
            format!(
                "{} files: {} written, {} unchanged, {} removed",
                report.files,
                report.written.written,
                report.written.unchanged,
                report.written.removed
            )
        } else {
            format!("{} files checked, none written", report.files)
        };
        let python = if report.up_to_date {
            "; nothing changed since the last render".to_owned()
        } else if report.sandbox_runs + report.cache_hits > 0 {
            format!(
                "; Python: {} sandbox runs, {} from cache",
                report.sandbox_runs, report.cache_hits
            )
        } else {
            String::new()
        };
        let reused = if report.pages_reused > 0 {
            format!("{} unchanged, reused; ", report.pages_reused)
        } else {
            String::new()
        };
        eprintln!(
            "{} {} pages ({reused}{files}{python}) in {:.2} s; {warnings} warning{}, {errors} error{}",
            if write { "Rendered" } else { "Checked" },
            report.pages,
            report.elapsed.as_secs_f64(),
            if warnings == 1 { "" } else { "s" },
            if errors == 1 { "" } else { "s" },
        );
    }
    if args.stats {
        print!("{}", blogmark_host::stats::table(&report.macros));
        if let Some(sandbox) = &report.sandbox {
            println!("\n{sandbox}");
        }
    }
    if let Some(path) = &args.stats_json {
        let json = serde_json::to_string_pretty(&stats_document(&report))?;
        if path.as_os_str() == "-" {
            println!("{json}");
        } else {
            blogmark_host::atomic_file::write_named(path, format!("{json}\n").as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    if let Some(removed) = report.results_removed.filter(|_| !quiet) {
        eprintln!(
            "Removed {removed} stored Python result{} that no call of this render used",
            if removed == 1 { "" } else { "s" }
        );
    }
    let failed = errors > 0 || (args.strict && warnings > 0);
    if failed && args.strict && errors == 0 {
        eprintln!(
            "error: --strict: {warnings} warning{} above",
            if warnings == 1 { "" } else { "s" }
        );
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The `--stats-json` document.
fn stats_document(report: &blogmark_host::render::BuildReport) -> serde_json::Value {
    serde_json::json!({
        "pages": report.pages,
        "up_to_date": report.up_to_date,
        "elapsed_ms": u64::try_from(report.elapsed.as_millis()).unwrap_or(u64::MAX),
        "warnings": report.count(Severity::Warning),
        "errors": report.count(Severity::Error),
        "macro_calls": report.macro_calls,
        "sandbox_runs": report.sandbox_runs,
        "cache_hits": report.cache_hits,
        "macros": report.macros,
        "sandbox": report.sandbox,
    })
}
