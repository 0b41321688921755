//! One module per command.

mod build;
mod init;
mod python;
mod rebuild;
mod run_macro;
mod scripts;
mod serve;
mod shell_files;
mod stats;
mod sync;
mod transform_posts;

use crate::cli::{Cli, Command, PythonCommand, ScriptsCommand};
use std::process::ExitCode;

/// Whether a command writes the site (output, database or sources): such
/// commands take turns on the site's lock.
fn writes_site(command: &Command) -> bool {
    match command {
        Command::Render(_)
        | Command::Check(_)
        | Command::Rebuild
        | Command::Sync { .. }
        | Command::Python(PythonCommand::Lock(_) | PythonCommand::Add { .. }) => true,
        Command::RunScript(args) => args.write,
        Command::Scripts(command) => matches!(
            command,
            ScriptsCommand::New { .. }
                | ScriptsCommand::Delete { .. }
                | ScriptsCommand::Rebuild
                | ScriptsCommand::Enable(_)
                | ScriptsCommand::Disable(_)
        ),
        // `serve` takes the lock for each render, not for its lifetime.
        // `python prepare` writes the machine's cache alone, under a lock of
        // its own; started in the background at the lowest priority, it
        // would otherwise hold every render back for its whole compile
        // (minutes on a busy machine).
        Command::Python(PythonCommand::Prepare { .. })
        | Command::Init { .. }
        | Command::Serve(_)
        | Command::Stats { .. }
        | Command::Completions { .. }
        | Command::Man => false,
    }
}

/// Run the command `cli` names.
pub fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    let site = cli.site.as_path();
    // A site that does not exist yet has nothing to race on; the command
    // itself says what is wrong with it.
    let _lock = if writes_site(&cli.command) && site.join(blogmark_host::config::FILE).exists() {
        Some(
            blogmark_host::site_lock::SiteLock::acquire(site)
                .map_err(|e| anyhow::anyhow!("cannot lock {}: {e}", site.display()))?,
        )
    } else {
        None
    };
    match &cli.command {
        Command::Init { dir } => init::run(dir),
        Command::Serve(args) => serve::run(site, args),
        Command::Completions { shell } => shell_files::completions(*shell),
        Command::Man => shell_files::man(),
        Command::Render(args) => build::render(site, args, cli.quiet),
        Command::Check(args) => build::check(
            site,
            &args.build,
            args.external
                .then(|| blogmark_host::links::external::Options {
                    timeout: std::time::Duration::from_secs(args.link_timeout),
                }),
            cli.quiet,
        ),
        Command::Rebuild => rebuild::run(site),
        Command::Stats { last } => stats::run(site, *last as usize),
        Command::Sync { remote, branch } => sync::run(site, remote, branch.as_deref()),
        Command::RunScript(args) => transform_posts::run(site, args),
        Command::Scripts(ScriptsCommand::Run(args)) => run_macro::run(site, args),
        Command::Python(PythonCommand::Lock(pip)) => python::lock(site, pip),
        Command::Python(PythonCommand::Add { specs, pip }) => python::add(site, specs, pip),
        Command::Python(PythonCommand::Prepare { quiet, code_only }) => {
            python::prepare(site, *quiet, *code_only)
        }
        Command::Scripts(ScriptsCommand::New { name, kind }) => scripts::new(site, name, *kind),
        Command::Scripts(ScriptsCommand::Delete { name, yes }) => scripts::delete(site, name, *yes),
        Command::Scripts(ScriptsCommand::Rebuild) => scripts::rebuild(site),
        Command::Scripts(ScriptsCommand::List) => scripts::list(site),
        Command::Scripts(ScriptsCommand::Show(args)) => scripts::show(site, &args.name),
        Command::Scripts(ScriptsCommand::Check(args)) => scripts::check(site, args.name.as_deref()),
        Command::Scripts(ScriptsCommand::Enable(args)) => {
            scripts::set_enabled(site, &args.name, true)
        }
        Command::Scripts(ScriptsCommand::Disable(args)) => {
            scripts::set_enabled(site, &args.name, false)
        }
    }
}
