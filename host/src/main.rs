//! `host`: the Blogmark command line. A thin binary over the `blogmark_host`
//! library and the sandbox runtime; every command lives in `commands/`.

mod cli;
mod commands;

use clap::Parser;
use std::process::ExitCode;

// A render allocates and frees many small strings on many threads (pages,
// templates, requests and replies). mimalloc made a cold render of the
// 1,000-post Python bench site 5% faster than glibc's allocator (0.345 s
// against 0.365 s, medians of 6 in turns) for 5% more peak memory. It is
// built without transparent huge pages (`no_thp`): with them, the same
// render's resident set grew by two thirds.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_logging(cli.verbose, cli.quiet);
    let code = match commands::run(&cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    };
    exit_now(code)
}

/// End the process with `code` once the command is done, skipping the C
/// library's exit handlers.
///
/// Everything a command writes is written and closed by the time it
/// returns (files renamed into place, the database closed). What `exit`
/// would still do is mimalloc's exit handler collecting every thread's
/// freed memory: after a render, about 500 `madvise` calls handing pages
/// back to a process about to end, 4-7 ms of a 150 ms cold render of
/// 1,000 posts (measured in turns, release build, 2 cores).
fn exit_now(code: ExitCode) -> ! {
    use std::io::Write as _;
    // Returning from `main` would have flushed them.
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    let status = (0..=u8::MAX)
        .find(|&status| ExitCode::from(status) == code)
        .unwrap_or(1);
    // SAFETY: `_exit` ends the process at once; no Rust code runs after it
    // and no value of this thread is used again. Other threads are ended
    // with it, as `exit` would end them.
    unsafe { libc::_exit(i32::from(status)) }
}

fn init_logging(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("BLOGMARK_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(use_color())
        .without_time()
        .init();
}

/// Colour on a terminal, or when `CLICOLOR_FORCE` asks for it; never with
/// `NO_COLOR` (<https://no-color.org>).
fn use_color() -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0");
    if set("NO_COLOR") {
        return false;
    }
    set("CLICOLOR_FORCE") || std::io::IsTerminal::is_terminal(&std::io::stderr())
}
