//! `host sync`: pull the site's repository (fast-forward only) and bring
//! the database in line with what the pull changed.

use blogmark_host::sync::{Change, sync};
use blogmark_host::{content, scripts, store};
use std::path::Path;
use std::process::ExitCode;

pub fn run(site: &Path, remote: &str, branch: Option<&str>) -> anyhow::Result<ExitCode> {
    let report = match sync(site, remote, branch) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    for change in &report.changes {
        match change {
            Change::Added(p) => println!("added     {p}"),
            Change::Modified(p) => println!("modified  {p}"),
            Change::Deleted(p) => println!("deleted   {p}"),
            Change::Renamed(from, to) => println!("renamed   {from} -> {to}"),
        }
    }
    for path in &report.submodules {
        eprintln!(
            "warning: {path} is a submodule: recorded, not checked out (`git submodule update` \
             checks it out)"
        );
    }
    for change in &report.capability_changes {
        eprintln!("warning: {change}");
    }
    // Reconciled even when nothing was pulled: a sync killed after moving
    // the branch but before this point left the database behind.
    let loaded = content::load(site);
    let (found, _) = scripts::load(site);
    let mut db = store::Store::open(site)?;
    db.sync_posts(&loaded.pages)?;
    db.sync_scripts(&scripts::rows(site, &found))?;
    if !report.updated {
        eprintln!("Already up to date");
    }
    if let Some((from, to)) = &report.from_to {
        eprintln!(
            "Fast-forwarded {}..{}: {} file{} changed; posts and scripts reconciled",
            &from[..8],
            &to[..8],
            report.changes.len(),
            if report.changes.len() == 1 { "" } else { "s" }
        );
    }
    Ok(ExitCode::SUCCESS)
}
