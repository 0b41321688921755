//! One module per command.

mod scripts_run;

use crate::cli::{Cli, Command, ScriptsCommand};
use std::process::ExitCode;

/// Run the command `cli` names.
pub fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Scripts(ScriptsCommand::Run(args)) => scripts_run::run(args),
    }
}
