//! One module per command.

mod build;
mod init;
mod rebuild;
mod run_script;
mod scripts;
mod scripts_run;
mod stats;
mod sync;

use crate::cli::{Cli, Command, ScriptsCommand};
use std::process::ExitCode;

/// The site a command writes (output, database or sources), if any: such
/// commands take turns on the site's lock.
fn written_site(command: &Command) -> Option<&std::path::Path> {
    match command {
        Command::Render(args) => Some(&args.build.site),
        Command::Check(args) => Some(&args.build.site),
        Command::Rebuild { site } | Command::Sync { site, .. } => Some(site),
        Command::RunScript(args) if args.write => Some(&args.site),
        Command::Scripts(
            ScriptsCommand::New { site, .. } | ScriptsCommand::Delete { site, .. },
        ) => Some(site),
        Command::Scripts(ScriptsCommand::Rebuild(args)) => Some(&args.site),
        Command::Scripts(ScriptsCommand::Enable(args) | ScriptsCommand::Disable(args)) => {
            Some(&args.site)
        }
        _ => None,
    }
}

/// Run the command `cli` names.
pub fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    let _lock = match written_site(&cli.command) {
        // A site that does not exist yet has nothing to race on; the
        // command itself says what is wrong with it.
        Some(site) if site.join(blogmark_host::config::FILE).exists() => Some(
            blogmark_host::site_lock::SiteLock::acquire(site)
                .map_err(|e| anyhow::anyhow!("cannot lock {}: {e}", site.display()))?,
        ),
        _ => None,
    };
    match &cli.command {
        Command::Init { dir } => init::run(dir),
        Command::Render(args) => build::run(
            &args.build,
            args.out.clone(),
            true,
            cli.quiet,
            build::Checks::default(),
        ),
        Command::Check(args) => build::run(
            &args.build,
            None,
            false,
            cli.quiet,
            build::Checks {
                links: true,
                external: args
                    .external
                    .then(|| blogmark_host::links::external::Options {
                        timeout: std::time::Duration::from_secs(args.link_timeout),
                    }),
            },
        ),
        Command::Rebuild { site } => rebuild::run(site),
        Command::Stats { last, site } => stats::run(site, *last as usize),
        Command::Sync {
            remote,
            branch,
            site,
        } => sync::run(site, remote, branch.as_deref()),
        Command::RunScript(args) => run_script::run(args),
        Command::Scripts(ScriptsCommand::Run(args)) => scripts_run::run(args),
        Command::Scripts(ScriptsCommand::New { name, kind, site }) => {
            scripts::new(site, name, matches!(kind, crate::cli::NewKind::Transform))
        }
        Command::Scripts(ScriptsCommand::Delete { name, yes, site }) => {
            scripts::delete(site, name, *yes)
        }
        Command::Scripts(ScriptsCommand::Rebuild(args)) => scripts::rebuild(&args.site),
        Command::Scripts(ScriptsCommand::List(args)) => scripts::list(&args.site),
        Command::Scripts(ScriptsCommand::Show(args)) => scripts::show(&args.site, &args.name),
        Command::Scripts(ScriptsCommand::Check(args)) => {
            scripts::check(&args.site, args.name.as_deref())
        }
        Command::Scripts(ScriptsCommand::Enable(args)) => {
            scripts::set_enabled(&args.site, &args.name, true)
        }
        Command::Scripts(ScriptsCommand::Disable(args)) => {
            scripts::set_enabled(&args.site, &args.name, false)
        }
    }
}
