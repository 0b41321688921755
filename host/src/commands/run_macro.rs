//! `host scripts run NAME`: one macro call in the sandbox, from the shell.

use crate::cli::{MacroCallArgs, RunArgs};
use anyhow::Context as _;
use blogmark_host::content::{self, Page};
use blogmark_host::input::{MAX_SCRIPT_BYTES, read_capped};
use blogmark_host::python::{self, Session, Settings};
use blogmark_host::scripts::{Script, sample};
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
    args: &MacroCallArgs,
) -> anyhow::Result<ExitCode> {
    let relative = meta.path.as_str();
    if !meta.valid {
        anyhow::bail!("{relative}: it cannot be read (see above), so it does not run");
    }
    let page = match &args.page {
        None => None,
        Some(page_path) => Some(read_page(site, page_path)?),
    };
    let mut script = sample::script_for(meta, page.as_ref());
    if let Some(entrypoint) = &args.entrypoint {
        script.entrypoint = entrypoint.clone();
    }
    let call = sample::call(
        name,
        args.args.iter().cloned(),
        args.body.clone(),
        "<command line>",
    );
    let session = Session::for_one_call(Settings::for_command(site));
    match session.call_macro(&script, &call, page.as_ref()) {
        Ok(answer) => {
            if let Some(run) = &answer.run {
                for (level, message) in &run.logs {
                    eprintln!("{relative}: log {level}: {message}");
                }
                eprint!("{}", run.stdout);
                eprint!("{}", run.stderr);
                tracing::info!(
                    fuel = run.fuel_used,
                    elapsed_us = run.elapsed.as_micros() as u64,
                    "macro ran"
                );
            }
            println!("{}", answer.value);
            Ok(ExitCode::SUCCESS)
        }
        Err(failure) => {
            eprintln!("{}", python::failure_report(&script, &failure));
            Ok(ExitCode::from(1))
        }
    }
}

/// The post or page at `path` (relative to the site, or as given).
fn read_page(site: &std::path::Path, path: &std::path::Path) -> anyhow::Result<Page> {
    content::read_one(site, &content::user_path(site, path)).map_err(anyhow::Error::msg)
}
