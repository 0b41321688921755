//! `host rebuild`: the database is derived data; make it again from files.

use blogmark_host::{content, scripts, store};
use std::path::Path;
use std::process::ExitCode;

pub fn run(site: &Path) -> anyhow::Result<ExitCode> {
    let loaded = content::load(site);
    for diagnostic in &loaded.diagnostics {
        eprintln!("{diagnostic}");
    }
    let (found, script_diagnostics) = scripts::load(site);
    for diagnostic in &script_diagnostics {
        eprintln!("{diagnostic}");
    }
    let mut store = store::rebuild(site, &loaded.pages)?;
    store.sync_scripts(&scripts::rows(site, &found))?;
    eprintln!(
        "Rebuilt {}: {} posts and pages, {} scripts",
        store::DB_PATH,
        store.posts()?.len(),
        found.len()
    );
    Ok(ExitCode::SUCCESS)
}
