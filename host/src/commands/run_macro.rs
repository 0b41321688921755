//! `host scripts run NAME`: one macro call, a hook on Markdown, or a
//! generator, in the sandbox, from the shell.

use crate::cli::{MacroCallArgs, RunArgs};
use anyhow::Context as _;
use blogmark_host::content::{self, Page};
use blogmark_host::input::{MAX_SCRIPT_BYTES, read_capped};
use blogmark_host::python::{self, Session, Settings};
use blogmark_host::scripts::{Script, ScriptKind, sample, sample_kinds};
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
    match meta.kind {
        ScriptKind::Hook if meta.valid => run_hook(site, &meta, args.markdown.as_deref()),
        ScriptKind::Generator if meta.valid => run_generator(site, &meta),
        ScriptKind::Transform => anyhow::bail!(
            "{relative} is a transform: run it over posts with `host run-script {} --all`",
            args.name
        ),
        _ => run_macro(site, &meta, &args.name, &args.call),
    }
}

/// What `host scripts run` renders with a hook when given no Markdown:
/// one element of each kind.
const HOOK_SAMPLE: &str = "[A link](https://example.org/ \"Title\") and ![an image](cat.png)\n\n\
## A heading\n\n```python\nprint('code')\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n> A quote.\n";

/// Render `markdown` (or [`HOOK_SAMPLE`]) with the hook `meta` and print
/// the HTML.
fn run_hook(
    site: &std::path::Path,
    meta: &Script,
    markdown: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let session = Session::for_one_off(Settings::for_command(site));
    session.answer_from(sample_kinds::site_queries(site));
    let trial = sample_kinds::render_with_hook(&session, meta, markdown.unwrap_or(HOOK_SAMPLE));
    if let Some(run) = &trial.run {
        print_run(&meta.path, run);
    }
    if trial.calls == 0 {
        eprintln!(
            "{}: the Markdown has no {} for this hook to render",
            meta.path,
            meta.hook.unwrap_or("element")
        );
    }
    print!("{}", trial.html);
    Ok(match &trial.failure {
        Some(failure) => {
            eprintln!("{}", python::failure_report(meta, failure));
            ExitCode::from(1)
        }
        None => ExitCode::SUCCESS,
    })
}

/// Run the generator `meta` on the site's data and list what it makes.
fn run_generator(site: &std::path::Path, meta: &Script) -> anyhow::Result<ExitCode> {
    let session = Session::for_one_off(Settings::for_command(site));
    session.answer_from(sample_kinds::site_queries(site));
    let (answer, run) = session.generate(meta);
    if let Some(run) = &run {
        print_run(&meta.path, run);
    }
    match answer {
        Ok(answer) => {
            for page in &answer.value.pages {
                let title = page.front_matter.get("title").and_then(|t| t.as_str());
                println!(
                    "page content/{}\t{}",
                    page.path,
                    title.unwrap_or("(no title)")
                );
            }
            for file in &answer.value.files {
                println!("file {}\t{} bytes", file.output, file.content.len());
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(failure) => {
            eprintln!("{}", python::failure_report(meta, &failure));
            Ok(ExitCode::from(1))
        }
    }
}

/// What a run printed and logged, to stderr.
fn print_run(relative: &str, run: &python::RunOutput) {
    for (level, message) in &run.logs {
        eprintln!("{relative}: log {level}: {message}");
    }
    eprint!("{}", run.stdout);
    eprint!("{}", run.stderr);
    tracing::info!(
        fuel = run.fuel_used,
        elapsed_us = run.elapsed.as_micros() as u64,
        "ran"
    );
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
    session.answer_from(sample_kinds::site_queries(site));
    match session.call_macro(&script, &call, page.as_ref()) {
        Ok(answer) => {
            if let Some(run) = &answer.run {
                print_run(relative, run);
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
