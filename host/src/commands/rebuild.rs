//! `host rebuild`: the database is derived data; make it again from files.

use blogmark_host::{content, store};
use std::path::Path;
use std::process::ExitCode;

pub fn run(site: &Path) -> anyhow::Result<ExitCode> {
    let loaded = content::load(site);
    for diagnostic in &loaded.diagnostics {
        eprintln!("{diagnostic}");
    }
    let store = store::rebuild(site, &loaded.pages)?;
    eprintln!(
        "Rebuilt {}: {} posts and pages",
        store::DB_PATH,
        store.posts()?.len()
    );
    Ok(ExitCode::SUCCESS)
}
