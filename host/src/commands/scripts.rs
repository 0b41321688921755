//! `host scripts list|show|check|enable|disable`.

use anyhow::{Context as _, bail};
use blogmark_host::diagnostics::Diagnostic;
use blogmark_host::macros::builtins::Registry;
use blogmark_host::python::{Session, Settings};
use blogmark_host::scripts::{self, Script, ScriptKind, Status};
use std::path::Path;
use std::process::ExitCode;

/// The scripts, with the `scripts` table brought in line with the files
/// first; what changed since the last command is said on stderr.
fn load(site: &Path) -> (Vec<Script>, Vec<Diagnostic>) {
    match scripts::load_and_reconcile(site) {
        Ok((scripts, diagnostics, changes)) => {
            for (what, slugs) in [
                ("new", &changes.added),
                ("changed", &changes.modified),
                ("gone", &changes.removed),
            ] {
                for slug in slugs {
                    eprintln!("scripts/{slug}.py: {what} since the last command");
                }
            }
            (scripts, diagnostics)
        }
        Err(e) => {
            eprintln!(
                "warning: cannot update {}: {e}",
                blogmark_host::store::DB_PATH
            );
            scripts::load(site)
        }
    }
}

pub fn rebuild(site: &Path) -> anyhow::Result<ExitCode> {
    let (scripts, diagnostics) = scripts::load(site);
    for d in &diagnostics {
        eprintln!("{d}");
    }
    let rows = scripts::rows(site, &scripts);
    blogmark_host::store::Store::open(site)?.rebuild_scripts(&rows)?;
    eprintln!(
        "Rebuilt the scripts table: {} script{}",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    );
    Ok(ExitCode::SUCCESS)
}

pub fn new(site: &Path, name: &str, kind: crate::cli::NewKind) -> anyhow::Result<ExitCode> {
    let kind = match kind {
        crate::cli::NewKind::Macro => ScriptKind::Macro,
        crate::cli::NewKind::Transform => ScriptKind::Transform,
        crate::cli::NewKind::Hook => ScriptKind::Hook,
        crate::cli::NewKind::Generator => ScriptKind::Generator,
    };
    scripts::templates::create(site, name, kind)?;
    eprintln!("Created scripts/{name}.py; try `host scripts check {name}`");
    Ok(ExitCode::SUCCESS)
}

pub fn delete(site: &Path, name: &str, yes: bool) -> anyhow::Result<ExitCode> {
    let (scripts, _) = load(site);
    let script = find(&scripts, name)?;
    if !yes {
        use std::io::{BufRead, IsTerminal, Write};
        if !std::io::stdin().is_terminal() {
            bail!(
                "refusing to delete {} without --yes (standard input is not a terminal)",
                script.path
            );
        }
        eprint!("Delete {}? [y/N] ", script.path);
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("Nothing deleted");
            return Ok(ExitCode::SUCCESS);
        }
    }
    std::fs::remove_file(site.join(&script.path))
        .with_context(|| format!("cannot delete {}", script.path))?;
    let path = script.path.clone();
    load(site);
    eprintln!("Deleted {path}");
    Ok(ExitCode::SUCCESS)
}

/// The script `name` (slug or macro name) among `scripts`.
pub(crate) fn find<'a>(scripts: &'a [Script], name: &str) -> anyhow::Result<&'a Script> {
    scripts
        .iter()
        .find(|s| s.slug == name)
        .or_else(|| scripts.iter().find(|s| s.name == name))
        .with_context(|| {
            let known: Vec<&str> = scripts.iter().map(|s| s.slug.as_str()).collect();
            format!(
                "no script `{name}` in scripts/ (there are: {})",
                if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                }
            )
        })
}

pub fn list(site: &Path) -> anyhow::Result<ExitCode> {
    let (scripts, diagnostics) = load(site);
    for d in &diagnostics {
        eprintln!("{d}");
    }
    let registry = Registry::default();
    println!(
        "{:<20} {:<10} {:<8} {:<8} status",
        "name", "kind", "enabled", "version"
    );
    for s in &scripts {
        println!(
            "{:<20} {:<10} {:<8} {:<8} {}",
            s.name,
            s.kind.name(),
            s.enabled,
            s.version,
            Status::of(s, &registry)
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn show(site: &Path, name: &str) -> anyhow::Result<ExitCode> {
    let (scripts, _) = load(site);
    let s = find(&scripts, name)?;
    let registry = Registry::default();
    println!("name:        {}", s.name);
    println!("path:        {}", s.path);
    println!("kind:        {}", s.kind.name());
    println!("entrypoint:  {}", s.entrypoint);
    println!("enabled:     {}", s.enabled);
    println!("version:     {}", s.version);
    println!("description: {}", s.description);
    println!("uses_page:   {}", s.uses_page);
    println!("markdown:    {}", s.markdown);
    println!(
        "needs:       {}",
        if s.needs.is_empty() {
            "-".to_owned()
        } else {
            s.needs.join(", ")
        }
    );
    println!(
        "overrides:   {}",
        if s.overrides_builtin { "builtin" } else { "-" }
    );
    println!(
        "limits:      timeout_ms={:?} fuel={:?} memory_mb={:?}",
        s.timeout_ms, s.fuel, s.memory_mb
    );
    println!(
        "fallback:    {}",
        s.fallback.as_deref().unwrap_or("(the error marker)")
    );
    println!("status:      {}", Status::of(s, &registry));
    println!("sha256:      {}", s.content_hash);
    Ok(ExitCode::SUCCESS)
}

pub fn check(site: &Path, only: Option<&str>) -> anyhow::Result<ExitCode> {
    let (scripts, diagnostics) = load(site);
    let selected: Vec<&Script> = match only {
        Some(name) => vec![find(&scripts, name)?],
        None => scripts.iter().collect(),
    };
    let mut failed = false;
    for d in diagnostics
        .iter()
        .filter(|d| selected.iter().any(|s| s.path == d.file))
    {
        eprintln!("{d}");
        failed |= d.severity == blogmark_host::diagnostics::Severity::Error;
    }
    let session = Session::for_one_off(Settings::for_command(site));
    let registry = Registry::default();
    let grants = blogmark_host::config::Config::load(site)
        .map(|c| c.capabilities)
        .ok();
    if only.is_none() {
        for problem in session.library_problems() {
            eprintln!("{problem}");
            failed |= problem.severity == blogmark_host::diagnostics::Severity::Error;
        }
    }
    for problem in session.import_problems(selected.iter().copied().filter(|s| s.valid)) {
        eprintln!("{problem}");
        failed = true;
    }
    for script in selected.iter().filter(|s| s.valid) {
        let status = Status::checked(script, &registry, &session.check(script));
        failed |= status.is_error();
        match status {
            Status::SyntaxError(line) => eprintln!("{line}"),
            Status::NoEntrypoint(problem) => eprintln!("{}: error: {problem}", script.path),
            _ => {}
        }
        // Said beside an error too: the status names only the most pressing.
        if let Status::Shadowed(message) = Status::of(script, &registry) {
            eprintln!("{}: warning: {message}", script.path);
        }
        for need in &script.needs {
            println!(
                "{}: needs {need} ({})",
                script.path,
                grant(grants.as_ref(), need)
            );
        }
    }
    eprintln!(
        "Checked {} script{}",
        selected.len(),
        if selected.len() == 1 { "" } else { "s" }
    );
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Whether the site grants `need`, said for `scripts check`.
fn grant(grants: Option<&blogmark_host::capabilities::Capabilities>, need: &str) -> String {
    let Some(grants) = grants else {
        return "site.toml does not load, so nothing is granted".to_owned();
    };
    match need {
        "fetch" if grants.fetch.is_empty() => {
            "not granted: `[capabilities] fetch` in site.toml lists no URL".to_owned()
        }
        "fetch" => format!("granted for {}", grants.fetch.join(", ")),
        "images" if grants.images => "granted".to_owned(),
        _ => format!("not granted: `{need} = true` is not in [capabilities] of site.toml"),
    }
}

pub fn set_enabled(site: &Path, name: &str, enabled: bool) -> anyhow::Result<ExitCode> {
    let (scripts, _) = load(site);
    let script = find(&scripts, name)?;
    if !script.valid {
        bail!(
            "{}: its front matter cannot be read; fix it by hand",
            script.path
        );
    }
    let path = site.join(&script.path);
    // Swapped for a link since it was listed: neither read nor replaced.
    if let Some(link) = blogmark_host::site_paths::first_link(site, &script.path, true) {
        bail!("{link} is a symbolic link; links are not followed out of the site");
    }
    let text = blogmark_host::input::read_text(&path, blogmark_host::input::MAX_SCRIPT_BYTES)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let updated = scripts::edit::set_enabled(&text, enabled)
        .with_context(|| format!("{}: no docstring front matter to edit", script.path))?;
    if updated != text {
        blogmark_host::atomic_file::write(&path, updated.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    eprintln!(
        "{} {}",
        if enabled { "Enabled" } else { "Disabled" },
        script.path
    );
    Ok(ExitCode::SUCCESS)
}
