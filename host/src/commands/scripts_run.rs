//! `host scripts run NAME`: one macro call in the sandbox, from the shell.

use crate::cli::{MacroCallArgs, RunArgs};
use anyhow::Context as _;
use blogmark_host::input::{MAX_POST_BYTES, MAX_SCRIPT_BYTES, read_capped};
use blogmark_host::scripts::Script;
use blogmark_runtime::abi::{MacroCall, Operation, Reply, Request, Site};
use blogmark_runtime::{CallSite, Failure, Job, Mode};
use std::process::ExitCode;

pub fn run(site: &std::path::Path, args: &RunArgs) -> anyhow::Result<ExitCode> {
    let relative = format!("scripts/{}.py", args.name);
    let path = site.join(&relative);
    let bytes =
        read_capped(&path, MAX_SCRIPT_BYTES).with_context(|| format!("{}", path.display()))?;
    let (meta, diagnostics) = blogmark_host::scripts::parse(&relative, &bytes);
    for d in &diagnostics {
        eprintln!("{d}");
    }
    run_macro(site, &meta, &args.name, &args.call)
}

/// Call the macro script `meta` once, as `name`, with the context `call`
/// gives, and print its HTML.
pub fn run_macro(
    site: &std::path::Path,
    meta: &Script,
    name: &str,
    call: &MacroCallArgs,
) -> anyhow::Result<ExitCode> {
    let relative = meta.path.as_str();
    if !meta.valid {
        anyhow::bail!("{relative}: it cannot be read (see above), so it does not run");
    }
    let args = call;
    let page = match &args.page {
        None => None,
        Some(page_path) => Some(page_info(site, page_path)?),
    };
    let call = MacroCall {
        name: name.to_owned(),
        args: args.args.iter().cloned().collect(),
        body: args.body.clone(),
        ..MacroCall::default()
    };
    let mut script = meta.to_abi();
    if let Some(entrypoint) = &args.entrypoint {
        script.entrypoint = entrypoint.clone();
    }
    let operation = Operation::Macro {
        call,
        page,
        site: Site::default(),
    };
    let runtime = crate::sandbox::start(Mode::Inline, site)?;
    let outcome = runtime.run(Job {
        call_site: Some(CallSite {
            file: "<command line>".into(),
            line: 1,
            column: 1,
        }),
        ..Job::new(Request::new(script, operation))
    });
    match outcome {
        Ok(outcome) => {
            for line in &outcome.captured.logs {
                eprintln!("{relative}: log {}: {}", line.level, line.message);
            }
            eprint!("{}", outcome.captured.stdout);
            eprint!("{}", outcome.captured.stderr);
            if let Reply::Html(html) = outcome.reply {
                println!("{html}");
            }
            tracing::info!(
                fuel = outcome.fuel_used,
                elapsed_us = outcome.elapsed.as_micros() as u64,
                "macro ran"
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(failure) => {
            eprintln!("error: {}", describe(relative, &failure));
            Ok(ExitCode::from(1))
        }
    }
}

/// The metadata of the post or page at `path` (relative to the site, or as given).
fn page_info(
    site: &std::path::Path,
    path: &std::path::Path,
) -> anyhow::Result<blogmark_runtime::abi::Page> {
    let full = blogmark_host::content::user_path(site, path);
    let bytes =
        read_capped(&full, MAX_POST_BYTES).with_context(|| format!("{}", full.display()))?;
    let relative = blogmark_host::content::relative_path(site, &full);
    // Any other file is read as a post.
    let kind = blogmark_host::content::Kind::of_path(&relative)
        .unwrap_or(blogmark_host::content::Kind::Post);
    let page = blogmark_host::content::page::parse(kind, &relative, &bytes)
        .map_err(|d| anyhow::anyhow!("{d}"))?;
    Ok(blogmark_host::python_macros::page_info(&page))
}

/// `scripts/x.py:7: ValueError: ...` plus the traceback, or the class.
fn describe(path: &str, failure: &Failure) -> String {
    match failure {
        Failure::GuestError(error) => {
            let place = error
                .line
                .map_or(path.to_owned(), |l| format!("{path}:{l}"));
            format!(
                "{place}: {}: {}\n{}",
                error.type_name, error.message, error.traceback
            )
        }
        other => format!("{path}: {} ({other})", other.class()),
    }
}
