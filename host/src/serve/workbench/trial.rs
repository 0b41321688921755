//! Trying a script as it stands in the editor, saved or not: its check
//! (front matter, syntax, entrypoint, shadowing), one macro call, one
//! transform on a post, all through the sandbox.

use crate::content::{self, Kind};
use crate::diagnostics::Diagnostic;
use crate::macros::builtins::Registry;
use crate::macros::resolve::{script_is_shadowed, shadowed_message};
use crate::python::{Failure, RunOutput, Session};
use crate::scripts::{self, Script, ScriptKind};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// A script's text, parsed as if it were `scripts/SLUG.py`.
pub fn parse(slug: &str, text: &str) -> (Script, Vec<Diagnostic>) {
    scripts::parse(&format!("scripts/{slug}.py"), text.as_bytes())
}

/// What the editor shows of a script as typed.
#[derive(Debug, Serialize)]
pub struct CheckResult {
    /// Macro or transform, from its front matter.
    pub kind: &'static str,
    /// The name it is called by.
    pub name: String,
    /// Its entrypoint.
    pub entrypoint: String,
    /// Its top-level functions (empty when it does not compile).
    pub functions: Vec<String>,
    /// Problems, each at its line (1-based; 0 for the whole file).
    pub problems: Vec<Diagnostic>,
}

/// Check `text` as the script `slug`.
pub fn check(session: &Session, slug: &str, text: &str) -> CheckResult {
    let (script, mut problems) = parse(slug, text);
    let mut functions = Vec::new();
    if script.valid {
        match session.check(&script) {
            Ok(checked) => {
                if let Some(problem) = checked.problem(&script) {
                    problems.push(Diagnostic::error(&script.path, 1, 1, problem));
                }
                functions = checked.functions;
            }
            Err(failure) => problems.push(failure_at(&script, &failure)),
        }
        if script_is_shadowed(&script, &Registry::default()) {
            problems.push(Diagnostic::warning(
                &script.path,
                1,
                1,
                shadowed_message(&script.name),
            ));
        }
    }
    CheckResult {
        kind: script.kind.name(),
        name: script.name,
        entrypoint: script.entrypoint,
        functions,
        problems,
    }
}

/// A failure as a diagnostic at the script's line when it has one.
fn failure_at(script: &Script, failure: &Failure) -> Diagnostic {
    match failure.guest_error() {
        Some(error) => Diagnostic::error(
            &script.path,
            error.line.map_or(0, |l| l as usize),
            error.column.map_or(0, |c| c as usize),
            format!("{}: {}", error.type_name, error.message),
        ),
        None => Diagnostic::error(
            &script.path,
            0,
            0,
            format!("{} ({failure})", failure.class()),
        ),
    }
}

/// How a run failed.
#[derive(Debug, Serialize)]
pub struct RunFailure {
    /// The class: Timeout, FuelExhausted, GuestError, ...
    pub class: String,
    /// The failure in full, traceback included.
    pub message: String,
    /// The script's line, when known.
    pub line: Option<u32>,
}

/// What one run showed.
#[derive(Debug, Default, Serialize)]
pub struct RunResult {
    /// The macro's HTML, a hook's sample as it renders it, or a
    /// generator's pages and files listed, when it succeeded.
    pub html: Option<String>,
    /// For a transform: the unified diff of the post (empty: unchanged).
    pub diff: Option<String>,
    /// Its stdout.
    pub stdout: String,
    /// Its stderr.
    pub stderr: String,
    /// Its `ctx.log` lines: level and message.
    pub logs: Vec<(String, String)>,
    /// Why it failed.
    pub failure: Option<RunFailure>,
    /// Problems that stopped it before it ran, or that it caused.
    pub problems: Vec<Diagnostic>,
    /// Wall time of the run, microseconds.
    pub elapsed_us: u64,
    /// Fuel it burned.
    pub fuel: u64,
}

impl RunResult {
    pub(super) fn output(&mut self, run: &RunOutput) {
        self.stdout.clone_from(&run.stdout);
        self.stderr.clone_from(&run.stderr);
        self.logs.clone_from(&run.logs);
        self.elapsed_us = u64::try_from(run.elapsed.as_micros()).unwrap_or(u64::MAX);
        self.fuel = run.fuel_used;
    }

    pub(super) fn failed(&mut self, script: &Script, failure: &Failure) {
        self.failure = Some(RunFailure {
            class: failure.class().to_string(),
            message: crate::python::failure_report(script, failure),
            line: failure.guest_error().and_then(|e| e.line),
        });
    }

    pub(super) fn stopped(problems: Vec<Diagnostic>) -> RunResult {
        RunResult {
            problems,
            ..RunResult::default()
        }
    }
}

/// A sample call of a macro, as the run panel sends it.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Sample {
    /// Named arguments.
    #[serde(default)]
    pub args: BTreeMap<String, String>,
    /// The body, for a paired call.
    #[serde(default)]
    pub body: Option<String>,
    /// The page the call is on (a path under `content/`), if any.
    #[serde(default)]
    pub page: Option<String>,
}

/// The file of a page named by the run panel: only a Markdown file under
/// `content/`.
fn page_file(root: &Path, relative: &str) -> Result<std::path::PathBuf, Diagnostic> {
    // Every segment plain, and none empty.
    let safe = relative.starts_with("content/")
        && relative.ends_with(".md")
        && crate::site_paths::plain_segments(relative)
            .is_some_and(|parts| parts.join("/") == relative);
    if let Some(link) = crate::site_paths::first_link(root, relative, true).filter(|_| safe) {
        Err(Diagnostic::error(
            relative,
            0,
            0,
            format!("`{link}` is a symbolic link: links are not followed"),
        ))
    } else if safe {
        Ok(root.join(relative))
    } else {
        Err(Diagnostic::error(
            relative,
            0,
            0,
            "not a page of the site (a .md file under content/)",
        ))
    }
}

/// Run `text`, as the macro script `slug`, on `sample`.
pub fn run_macro(
    session: &Session,
    root: &Path,
    slug: &str,
    text: &str,
    sample: &Sample,
) -> RunResult {
    let (script, problems) = parse(slug, text);
    if !script.valid {
        return RunResult::stopped(problems);
    }
    if script.kind != ScriptKind::Macro {
        let problem = Diagnostic::error(
            &script.path,
            1,
            1,
            format!("a {}, not a macro", script.kind.name()),
        );
        return RunResult::stopped(vec![problem]);
    }
    let page = match sample.page.as_deref().filter(|p| !p.is_empty()) {
        None => None,
        Some(path) => match page_file(root, path).and_then(|file| {
            content::read_one(root, &file).map_err(|e| Diagnostic::error(path, 0, 0, e))
        }) {
            Ok(page) => Some(page),
            Err(problem) => return RunResult::stopped(vec![problem]),
        },
    };
    let script = scripts::sample::script_for(&script, page.as_ref());
    let call = scripts::sample::call(
        &script.name,
        sample
            .args
            .iter()
            .map(|(k, v)| (k.clone(), crate::python::typed_argument(v))),
        sample.body.clone(),
        "<workbench>",
    );
    let mut result = RunResult::default();
    session.answer_from(scripts::sample_kinds::site_queries(root));
    let (answer, run) = session.try_macro(&script, &call, page.as_ref());
    if let Some(run) = &run {
        result.output(run);
    }
    match answer {
        Ok(html) => result.html = Some(html),
        Err(failure) => result.failed(&script, &failure),
    }
    result
}

/// Run `text`, as the transform script `slug`, on the post at `post`, and
/// diff what it makes of it.
pub fn run_transform(
    session: &Session,
    root: &Path,
    slug: &str,
    text: &str,
    post: &str,
) -> RunResult {
    let (script, problems) = parse(slug, text);
    if !script.valid {
        return RunResult::stopped(problems);
    }
    if script.kind != ScriptKind::Transform {
        let problem = Diagnostic::error(
            &script.path,
            1,
            1,
            format!("a {}, not a transform", script.kind.name()),
        );
        return RunResult::stopped(vec![problem]);
    }
    let old = page_file(root, post).and_then(|file| {
        crate::input::read_text(&file, crate::input::MAX_POST_BYTES)
            .map_err(|e| e.to_diagnostic(post))
    });
    let old = match old {
        Ok(text) => text,
        Err(problem) => return RunResult::stopped(vec![problem]),
    };
    let kind = Kind::of_path(post).unwrap_or(Kind::Post);
    // The run first, for its output and failure class; `apply` then finds
    // its answer in the session and writes the post from it.
    let input = match crate::transforms::post_of(post, &old) {
        Ok(input) => input,
        Err(problem) => return RunResult::stopped(vec![problem]),
    };
    let mut result = RunResult::default();
    let (answer, run) = session.try_transform(&script, input);
    if let Some(run) = &run {
        result.output(run);
    }
    if let Err(failure) = answer {
        result.failed(&script, &failure);
        return result;
    }
    let applied =
        crate::transforms::apply(session, std::slice::from_ref(&script), kind, post, &old);
    if applied.failed() {
        // The answer cannot be written as a post: its diagnostics say why.
        result.problems = applied.diagnostics;
        return result;
    }
    result.diff = Some(scripts::sample::diff(post, &old, &applied.text));
    result
}
