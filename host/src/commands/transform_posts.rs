//! `host run-script SCRIPT`: one transform over chosen posts, as a diff
//! (the default) or written back with `--write`; a macro script prints its
//! HTML instead.

use crate::cli::RunScriptArgs;
use anyhow::{Context as _, bail};
use blogmark_host::config::Config;
use blogmark_host::content::{self, Kind};
use blogmark_host::diagnostics::Diagnostic;
use blogmark_host::input::{MAX_POST_BYTES, MAX_SCRIPT_BYTES, read_capped, read_text};
use blogmark_host::python::{Session, Settings, guest_clock};
use blogmark_host::scripts::{Script, ScriptKind, sample};
use blogmark_host::transforms;
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// A file chosen to transform.
struct Target {
    /// Path relative to the site.
    path: String,
    kind: Kind,
}

/// What became of one target.
enum PostResult {
    Unchanged,
    Changed { old: String, new: String },
    Failed(String),
}

pub fn run(site: &Path, args: &RunScriptArgs) -> anyhow::Result<ExitCode> {
    let script = resolve(site, &args.script)?;
    if script.kind == ScriptKind::Macro {
        return super::run_macro::run_macro(site, &script, &script.name, &args.call);
    }
    if !script.valid {
        bail!(
            "{}: it cannot be read (see above), so it does not run",
            script.path
        );
    }
    if args.post.is_empty() && !args.all && args.tag.is_empty() {
        eprintln!(
            "error: say which posts `{}` transforms: --post PATH (repeatable), --tag TAG or --all",
            script.name
        );
        return Ok(ExitCode::from(2));
    }
    let config = Config::load(site).map_err(|d| anyhow::anyhow!("{d}"))?;
    let repo = if args.write && !args.force {
        Some(
            blogmark_host::sync::site_repository(site).map_err(|e| match e {
                blogmark_host::sync::SyncError::NoRepository(_) => anyhow::anyhow!(
                    "{} is not in a git repository, so nothing could undo --write; \
                 commit the site to git first, or pass --force",
                    site.display()
                ),
                other => anyhow::anyhow!("{other}; pass --force to write without git"),
            })?,
        )
    } else {
        None
    };

    let loaded = content::load(site);
    let (targets, mut failures) = select(site, args, &loaded)?;
    let settings = Settings::for_site(site, &config, guest_clock(&loaded.pages), false);
    let python = Session::for_one_off(settings);
    let scripts = [script];

    let results: Vec<(&Target, PostResult)> = targets
        .par_iter()
        .map(|target| (target, transform(site, &python, &scripts, target)))
        .collect();

    let (mut changed, mut unchanged, mut written) = (0, 0, 0);
    for (target, result) in results {
        match result {
            PostResult::Unchanged => unchanged += 1,
            PostResult::Failed(reason) => failures.push(reason),
            PostResult::Changed { old, new } => {
                changed += 1;
                print!("{}", sample::diff(&target.path, &old, &new));
                if !args.write {
                    continue;
                }
                if let Some(reason) = repo.as_ref().and_then(|r| dirty(r, site, &target.path)) {
                    failures.push(format!(
                        "{}: not written: {reason}; commit or stash it first, or pass --force",
                        target.path
                    ));
                    continue;
                }
                // A link on the way (a pulled `content/` that is one, say)
                // would write outside the site.
                if let Some(link) = blogmark_host::site_paths::first_link(site, &target.path, true)
                {
                    failures.push(format!(
                        "{}: not written: `{link}` is a symbolic link, and links are not followed",
                        target.path
                    ));
                    continue;
                }
                // Staged under .blogmark/, so a kill leaves no stray file
                // among the posts.
                let staging = site.join(".blogmark/tmp");
                let path = site.join(&target.path);
                match blogmark_host::atomic_file::write_via(&path, new.as_bytes(), &staging) {
                    Ok(()) => written += 1,
                    Err(e) => failures.push(format!("{}: cannot write: {e}", target.path)),
                }
            }
        }
    }
    for failure in &failures {
        eprintln!("error: {failure}");
    }
    let done = if args.write {
        format!("{written} written")
    } else {
        "dry run, nothing written (pass --write to write)".to_owned()
    };
    eprintln!(
        "{}: {changed} changed, {unchanged} unchanged, {} failed; {done}",
        scripts[0].name,
        failures.len()
    );
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `spec` as a script: a path to a `.py` file, or a script of the site.
fn resolve(site: &Path, spec: &str) -> anyhow::Result<Script> {
    let is_path = spec.ends_with(".py") || spec.contains(['/', std::path::MAIN_SEPARATOR]);
    let script = if is_path {
        let path = PathBuf::from(spec);
        let bytes =
            read_capped(&path, MAX_SCRIPT_BYTES).with_context(|| format!("{}", path.display()))?;
        let (script, diagnostics) = blogmark_host::scripts::parse(spec, &bytes);
        for d in &diagnostics {
            eprintln!("{d}");
        }
        script
    } else {
        let (scripts, diagnostics) = blogmark_host::scripts::load(site);
        let script = super::scripts::find(&scripts, spec)?.clone();
        for d in diagnostics.iter().filter(|d| d.file == script.path) {
            eprintln!("{d}");
        }
        script
    };
    Ok(script)
}

/// The files `args` chooses, sorted by path, and the chosen files that
/// could not be chosen (not found, not a post, unreadable front matter).
fn select(
    site: &Path,
    args: &RunScriptArgs,
    loaded: &content::Content,
) -> anyhow::Result<(Vec<Target>, Vec<String>)> {
    let mut targets = std::collections::BTreeMap::new();
    let mut failures = Vec::new();
    let root = site
        .canonicalize()
        .with_context(|| format!("cannot open the site {}", site.display()))?;
    for path in &args.post {
        let Ok(full) = content::user_path(site, path).canonicalize() else {
            failures.push(format!("{}: no such file", path.display()));
            continue;
        };
        let relative = content::relative_path(&root, &full);
        let Some(kind) = Kind::of_path(&relative) else {
            failures.push(format!(
                "{}: not a post or page of the site (content/posts/ or content/pages/)",
                path.display()
            ));
            continue;
        };
        targets.insert(
            relative.clone(),
            Target {
                path: relative,
                kind,
            },
        );
    }
    let wanted: Vec<String> = args.tag.iter().map(|t| content::page::slugify(t)).collect();
    for page in &loaded.pages {
        let tagged = page
            .tags
            .iter()
            .any(|t| wanted.contains(&content::page::slugify(t)));
        if args.all || tagged {
            targets.insert(
                page.path.clone(),
                Target {
                    path: page.path.clone(),
                    kind: page.kind,
                },
            );
        }
    }
    if args.all {
        // Files that do not load are posts too: say why they were skipped.
        failures.extend(loaded.diagnostics.iter().map(ToString::to_string));
    }
    Ok((targets.into_values().collect(), failures))
}

fn transform(site: &Path, python: &Session, scripts: &[Script], target: &Target) -> PostResult {
    let failed = |d: Diagnostic| PostResult::Failed(format!("{}: {}", d.place(), d.message));
    let text = match read_text(&site.join(&target.path), MAX_POST_BYTES) {
        Ok(text) => text,
        Err(e) => return failed(e.to_diagnostic(&target.path)),
    };
    let applied = transforms::apply(python, scripts, target.kind, &target.path, &text);
    if let Some(d) = applied.diagnostics.into_iter().next() {
        return failed(d);
    }
    if applied.changed_by.is_empty() {
        PostResult::Unchanged
    } else {
        PostResult::Changed {
            old: text,
            new: applied.text,
        }
    }
}

/// Why `path` (relative to the site) must not be overwritten: it has
/// changes git does not have.
fn dirty(repo: &git2::Repository, site: &Path, path: &str) -> Option<String> {
    let relative = repo.workdir().and_then(|workdir| {
        let workdir = workdir.canonicalize().ok()?;
        let full = site.join(path).canonicalize().ok()?;
        full.strip_prefix(&workdir).ok().map(Path::to_path_buf)
    });
    let Some(relative) = relative else {
        return Some("it is not inside the git repository's work tree".into());
    };
    match repo.status_file(&relative) {
        Ok(status) if status.is_empty() => None,
        Ok(status) if status.contains(git2::Status::WT_NEW) => {
            Some("it is not committed to git".into())
        }
        Ok(status) if status.contains(git2::Status::IGNORED) => {
            Some("git ignores it, so nothing could undo the write".into())
        }
        Ok(_) => Some("it has uncommitted changes".into()),
        Err(e) => Some(format!("cannot ask git about it ({})", e.message())),
    }
}
