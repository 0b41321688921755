//! `host completions SHELL` and `host man`: files for the shell, made
//! from the command-line definitions so they never drift from them.

use crate::cli::Cli;
use clap::CommandFactory as _;
use std::io::Write as _;
use std::process::ExitCode;

/// Print `shell`'s completion script.
pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<ExitCode> {
    let mut text = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "host", &mut text);
    print(&text)
}

/// Print the manual page, in roff.
pub fn man() -> anyhow::Result<ExitCode> {
    let mut text = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut text)?;
    print(&text)
}

/// Write `text` to stdout; a reader that stops early (`| head`) is no error.
fn print(text: &[u8]) -> anyhow::Result<ExitCode> {
    match std::io::stdout().lock().write_all(text) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}
