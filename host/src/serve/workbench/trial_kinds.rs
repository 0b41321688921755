//! Trying a render hook on a Markdown sample, and a generator on the
//! site's data, as the editor holds them (saved or not).

use super::trial::{RunResult, parse};
use crate::markdown::{self, ElementHooks, escape};
use crate::python::{Failure, RunOutput, Session};
use crate::scripts::{Script, ScriptKind};
use crate::site_queries::{SiteQueries, Summary};
use blogmark_runtime::abi::Element;
use std::path::Path;
use std::sync::Arc;

/// What a trial's scripts may ask of the site: its data and the pages of
/// its files, as a render would answer (generated pages aside).
fn site_queries(root: &Path) -> Arc<SiteQueries> {
    let data = Arc::new(crate::site_data::DataTree::load(root).0);
    // A site.toml that does not load: the data alone (the render says why).
    let Ok(config) = crate::config::Config::load(root) else {
        return Arc::new(SiteQueries::new(data, Vec::new(), String::new()));
    };
    let base = config.base_url();
    let content = crate::content::load_with(root, &config.permalinks);
    let pages = content
        .pages
        .iter()
        .filter(|p| !p.draft)
        .map(|p| {
            let url = format!("{base}{}", p.url_path().trim_start_matches('/'));
            Summary::of(p, url, &config.taxonomies)
        })
        .collect();
    Arc::new(SiteQueries::new(data, pages, base))
}

/// The one hook of a trial: every element it takes goes to the sandbox;
/// the first run's output and failure are kept for the panel.
struct TrialHook<'a> {
    session: &'a Session,
    script: &'a Script,
    calls: usize,
    run: Option<Arc<RunOutput>>,
    failure: Option<Failure>,
}

impl ElementHooks for TrialHook<'_> {
    fn wants(&self, kind: &str, lang: &str) -> bool {
        self.script.hook == Some(kind)
            && (kind != "codeblock"
                || self.script.languages.is_empty()
                || self.script.languages.iter().any(|l| l == lang))
    }

    fn render(&mut self, element: Element, _offset: usize) -> Option<String> {
        self.calls += 1;
        let (answer, run) = self.session.call_hook(self.script, element, None);
        if self.run.is_none() {
            self.run = run;
        }
        match answer {
            Ok(answer) => answer.value,
            Err(failure) => {
                self.failure.get_or_insert(failure);
                None
            }
        }
    }
}

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
    session.answer_from(site_queries(root));
    let mut hook = TrialHook {
        session,
        script: &script,
        calls: 0,
        run: None,
        failure: None,
    };
    let rendered = markdown::render_with(sample, Some(&mut hook));
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
    result.html = Some(rendered.html);
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
    session.answer_from(site_queries(root));
    let (answer, run) = session.generate(&script);
    let mut result = RunResult::default();
    if let Some(run) = &run {
        result.output(run);
    }
    match answer {
        Ok(answer) => result.html = Some(listing(&answer.value)),
        Err(failure) => result.failed(&script, &failure),
    }
    result
}

/// What a generator made, as a table a reader checks at a glance.
fn listing(made: &blogmark_runtime::abi::Generated) -> String {
    let mut html = format!(
        "<p>{} pages, {} files</p><table><tr><th>page</th><th>title</th><th>body</th></tr>",
        made.pages.len(),
        made.files.len()
    );
    for page in &made.pages {
        let title = page
            .front_matter
            .get("title")
            .and_then(|t| t.as_str())
            .unwrap_or("(no title)");
        let body: String = page.body.chars().take(80).collect();
        html.push_str(&format!(
            "<tr><td>content/{}</td><td>{}</td><td>{}</td></tr>",
            escape(&page.path),
            escape(title),
            escape(&body)
        ));
    }
    html.push_str("</table><table><tr><th>file</th><th>bytes</th></tr>");
    for file in &made.files {
        html.push_str(&format!(
            "<tr><td>{}</td><td>{}</td></tr>",
            escape(&file.output),
            file.content.len()
        ));
    }
    html.push_str("</table>");
    html
}
