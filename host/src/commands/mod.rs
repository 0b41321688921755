//! One module per command.

mod build;
mod init;
mod rebuild;
mod scripts_run;

use crate::cli::{Cli, Command, ScriptsCommand};
use std::process::ExitCode;

/// Run the command `cli` names.
pub fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Init { dir } => init::run(dir),
        Command::Render(args) => build::run(&args.build, args.out.clone(), true, cli.quiet),
        Command::Check(args) => build::run(&args.build, None, false, cli.quiet),
        Command::Rebuild { site } => rebuild::run(site),
        Command::Scripts(ScriptsCommand::Run(args)) => scripts_run::run(args),
    }
}
