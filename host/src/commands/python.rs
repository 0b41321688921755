//! `host python lock` and `host python add`.

use crate::cli::PipArgs;
use anyhow::Context as _;
use blogmark_host::packages::{self, Locked, PipOptions};
use std::path::Path;
use std::process::ExitCode;

fn options(pip: &PipArgs) -> PipOptions {
    PipOptions {
        find_links: pip.find_links.clone(),
        no_index: pip.no_index,
    }
}

/// `host python lock`.
pub fn lock(site: &Path, pip: &PipArgs) -> anyhow::Result<ExitCode> {
    let locked = packages::lock(site, &options(pip), &prove(site))
        .context("cannot lock [python] dependencies")?;
    report(&locked);
    Ok(ExitCode::SUCCESS)
}

/// `host python add SPEC...`.
pub fn add(site: &Path, specs: &[String], pip: &PipArgs) -> anyhow::Result<ExitCode> {
    let site_toml = site.join(blogmark_host::config::FILE);
    // Capped and refusing a FIFO: a pulled site.toml may be either; a
    // link is refused by `add_dependencies` before anything is written.
    let before =
        blogmark_host::input::read_capped(&site_toml, blogmark_host::input::MAX_CONFIG_BYTES)
            .with_context(|| format!("cannot read {}", site_toml.display()))?;
    packages::add_dependencies(site, specs).context("cannot add to [python] dependencies")?;
    match packages::lock(site, &options(pip), &prove(site)) {
        Ok(locked) => {
            report(&locked);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            // A requirement that cannot be locked is not left in site.toml.
            blogmark_host::atomic_file::write(&site_toml, &before)
                .with_context(|| format!("cannot restore {}", site_toml.display()))?;
            Err(anyhow::Error::new(e).context(format!(
                "cannot add {} (site.toml is unchanged)",
                specs.join(" ")
            )))
        }
    }
}

/// The sandbox, asked whether a package imports without its compiled
/// extensions.
fn prove(site: &Path) -> impl Fn(&Path, &[String]) -> Result<(), String> + '_ {
    move |staging, modules| blogmark_host::python::prove_imports(site, staging, modules)
}

fn report(locked: &Locked) {
    for package in &locked.lock.packages {
        eprintln!("  {} {} ({})", package.name, package.version, package.wheel);
        if !package.left_out.is_empty() {
            eprintln!(
                "    without its compiled extensions ({}): it imports without them",
                package.left_out.join(", ")
            );
        }
    }
    eprintln!(
        "Locked {} package{} into {}: {} files in {}",
        locked.lock.packages.len(),
        if locked.lock.packages.len() == 1 {
            ""
        } else {
            "s"
        },
        packages::LOCK_FILE,
        locked.files,
        blogmark_host::scripts::library::VENDOR_DIR
    );
}

/// `host python prepare`: the sandbox's optimized code, and the site's
/// snapshot where it is a component of its own, made now.
pub fn prepare(site: &Path, quiet: bool, code_only: bool) -> anyhow::Result<ExitCode> {
    let settings = blogmark_host::python::Settings::for_command(site);
    // Quiet is how a command starts it in the background: another
    // process preparing already is enough.
    let report = blogmark_host::python::precompile(&settings, !quiet, !code_only)
        .map_err(|failure| anyhow::anyhow!("{failure}"))?;
    if let Some(report) = report.filter(|_| !quiet) {
        let compiled = &report.compiled;
        if compiled.from_cache {
            println!("The Python sandbox was compiled for this machine already");
        } else if let Some(why) = &compiled.not_cached {
            anyhow::bail!("compiled the Python sandbox but could not keep it: {why}");
        } else {
            println!(
                "Compiled the Python sandbox for this machine in {:.1} s",
                compiled.elapsed.as_secs_f64()
            );
        }
        if report.snapshot_built {
            println!("Built the site snapshot for the next run");
        }
    }
    Ok(ExitCode::SUCCESS)
}
