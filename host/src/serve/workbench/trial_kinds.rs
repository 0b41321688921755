//! Trying a render hook on a Markdown sample, and a generator on the
//! site's data, as the editor holds them (saved or not).

use super::trial::{RunResult, parse};
use crate::python::Session;
use crate::scripts::{ScriptKind, sample_kinds};
use std::path::Path;

/// Run `text`, as the hook script `slug`, on the elements of `sample`
/// (Markdown): the sample's HTML as the hook renders it.
pub fn run_hook(session: &Session, root: &Path, slug: &str, text: &str, sample: &str) -> RunResult {
    let (script, problems) = parse(slug, text);
    if !script.valid || !script.is_runnable_hook() {
        let mut problems = problems;
        if script.valid && script.kind != ScriptKind::Hook {
            problems.push(crate::diagnostics::Diagnostic::error(
                &script.path,
                1,
                1,
                format!("a {}, not a hook", script.kind.name()),
            ));
        }
        return RunResult::stopped(problems);
    }
    session.answer_from(sample_kinds::site_queries(root));
    let hook = sample_kinds::render_with_hook(session, &script, sample);
    let mut result = RunResult::default();
    if let Some(run) = &hook.run {
        result.output(run);
    }
    if let Some(failure) = &hook.failure {
        result.failed(&script, failure);
    }
    if hook.calls == 0 {
        result
            .problems
            .push(crate::diagnostics::Diagnostic::warning(
                "<sample>",
                0,
                0,
                format!(
                    "the sample has no {} for this hook to render",
                    script.hook.unwrap_or("element")
                ),
            ));
    }
    result.html = Some(hook.html);
    result
}

/// Run `text`, as the generator script `slug`, on the site's data: its
/// pages and files, listed as HTML.
pub fn run_generator(session: &Session, root: &Path, slug: &str, text: &str) -> RunResult {
    let (script, problems) = parse(slug, text);
    if !script.valid || script.kind != ScriptKind::Generator {
        let mut problems = problems;
        if script.valid {
            problems.push(crate::diagnostics::Diagnostic::error(
                &script.path,
                1,
                1,
                format!("a {}, not a generator", script.kind.name()),
            ));
        }
        return RunResult::stopped(problems);
    }
    session.answer_from(sample_kinds::site_queries(root));
    let (answer, run) = session.generate(&script);
    let mut result = RunResult::default();
    if let Some(run) = &run {
        result.output(run);
    }
    match answer {
        Ok(answer) => result.html = Some(sample_kinds::listing(&answer.value)),
        Err(failure) => result.failed(&script, &failure),
    }
    result
}
