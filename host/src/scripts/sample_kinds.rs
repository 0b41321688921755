//! A render hook or a generator run by hand, the same way wherever it is
//! done: `host scripts run` and the workbench's run panel.

use super::Script;
use crate::capabilities::{fetch::Remote, images::Images};
use crate::markdown::{self, ElementHooks, escape};
use crate::python::{Failure, RunOutput, Session};
use crate::site_queries::SiteQueries;
use blogmark_runtime::abi::Element;
use std::path::Path;
use std::sync::Arc;

/// What a trial's scripts may ask of the site: its data and the pages of
/// its files, as a render would answer (generated pages aside).
pub fn site_queries(root: &Path) -> Arc<SiteQueries> {
    let data = Arc::new(crate::site_data::DataTree::load(root).0);
    // A site.toml that does not load: the data alone (the render says why).
    let Ok(config) = crate::config::Config::load(root) else {
        return Arc::new(SiteQueries::new(data, Vec::new(), String::new()));
    };
    let content = crate::content::load_with(root, &config.permalinks);
    let pages: Vec<&crate::content::Page> = content.pages.iter().filter(|p| !p.draft).collect();
    // Fetches and images as a render answers them (what the render stored
    // is replayed; a trial stores and writes nothing).
    let store = root
        .join(crate::store::DB_PATH)
        .is_file()
        .then(|| crate::store::Store::open(root).ok())
        .flatten();
    let now = chrono::Utc::now().timestamp();
    let remote = Remote::for_site(&config.capabilities, store.as_ref(), false, now);
    let images = Images::for_site(root, &config, &content.pages);
    Arc::new(
        SiteQueries::of_pages(data, &pages, config.base_url(), &config.taxonomies)
            .with_remote(Arc::new(remote))
            .with_images(Arc::new(images)),
    )
}

/// Markdown rendered with one hook: its HTML, how many elements the hook
/// was asked to render, the first run's output and the first failure.
pub struct HookTrial {
    /// The HTML (a failed call leaves its element's default rendering).
    pub html: String,
    /// Elements the hook was asked to render.
    pub calls: usize,
    /// What the first run printed and cost.
    pub run: Option<Arc<RunOutput>>,
    /// The first failure.
    pub failure: Option<Failure>,
}

/// `markdown` rendered with the hook `script` alone.
pub fn render_with_hook(session: &Session, script: &Script, markdown: &str) -> HookTrial {
    let mut hook = TrialHook {
        session,
        script,
        calls: 0,
        run: None,
        failure: None,
    };
    let rendered = markdown::render_with(markdown, Some(&mut hook));
    HookTrial {
        html: rendered.html,
        calls: hook.calls,
        run: hook.run,
        failure: hook.failure,
    }
}

/// The one hook of a trial: every element it takes goes to the sandbox.
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

/// What a generator made, as a table a reader checks at a glance.
pub fn listing(made: &blogmark_runtime::abi::Generated) -> String {
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
