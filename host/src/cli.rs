//! Command-line definitions.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Blogmark host: a static blog engine whose macros are Python scripts run in
/// a WebAssembly sandbox.
#[derive(Parser, Debug)]
#[command(
    name = "host",
    version,
    long_version = long_version(),
    about,
    propagate_version = true
)]
pub struct Cli {
    /// More output (-v: info, -vv: debug). `BLOGMARK_LOG` or `RUST_LOG` overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// The site's directory (default: the current one); accepted before or
    /// after the command's name.
    #[arg(long, global = true, default_value = ".", value_name = "DIR")]
    pub site: PathBuf,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// `host --version`: the host, and which sandbox it runs (what a bug
/// report needs).
fn long_version() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        let sandbox = blogmark_host::python::sandbox_versions();
        let guest = if sandbox.guest_overridden {
            format!("{} (from $BLOGMARK_GUEST_WASM)", sandbox.guest_build)
        } else {
            sandbox.guest_build
        };
        format!(
            "{}\nguest build {guest}\nCPython {}\nwasmtime {}",
            env!("CARGO_PKG_VERSION"),
            sandbox.cpython,
            sandbox.wasmtime
        )
    })
}

/// Top-level commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a new site with example posts and scripts.
    Init {
        /// Where to create it (default: the current directory).
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Build the site into its output directory.
    Render(RenderArgs),
    /// Render the site and serve it with live reload: every open page
    /// reloads when a source changes and shows the render's problems.
    Serve(ServeArgs),
    /// Do everything `render` does, but write nothing.
    Check(CheckArgs),
    /// Show recent render runs and the trend of each macro's latency.
    Stats {
        /// How many runs to show.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=200))]
        last: u32,
    },
    /// Delete the site's database and rebuild it from the files.
    Rebuild,
    /// Work with the site's Python scripts.
    #[command(subcommand)]
    Scripts(ScriptsCommand),
    /// Third-party Python packages: pin and vendor `[python] dependencies`.
    #[command(subcommand)]
    Python(PythonCommand),
    /// Run a transform over the site's posts (a diff, or --write); to try a
    /// macro on sample arguments, see `host scripts run`.
    ///
    /// Prints a diff per changed post (the default, a dry run), or writes
    /// the changes with --write. Given a macro script, it prints its HTML,
    /// as `host scripts run` does.
    #[command(name = "run-script")]
    RunScript(RunScriptArgs),
    /// Print a shell's completion script for `host` (bash, zsh, fish,
    /// elvish, powershell).
    ///
    /// For example: `host completions bash > ~/.local/share/bash-completion/completions/host`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page of `host` (roff), e.g. `host man | man -l -`.
    Man,
    /// Fetch and fast-forward the site's git repository, then reconcile
    /// posts and scripts. Refuses (changing nothing) a pull that is not a
    /// fast-forward or would touch files with local changes.
    Sync {
        /// The remote to pull from.
        #[arg(long, default_value = "origin")]
        remote: String,
        /// The branch (default: the current one).
        #[arg(long)]
        branch: Option<String>,
    },
}

/// Arguments of `host serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The port to listen on (0: any free one).
    #[arg(long, short = 'p', default_value_t = 1111)]
    pub port: u16,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
    /// Open the site in the default browser.
    #[arg(long)]
    pub open: bool,
    /// Include drafts.
    #[arg(long)]
    pub drafts: bool,
    /// Include pages dated in the future.
    #[arg(long)]
    pub future: bool,
    /// Render threads, 1 to 256.
    #[arg(long, short = 'j', value_name = "N", value_parser = parse_jobs)]
    pub jobs: Option<usize>,
    /// Let the scripts workbench change files although --bind is beyond
    /// this machine (anyone who can reach the port could then edit scripts).
    #[arg(long)]
    pub allow_remote_edits: bool,
    /// Answer to NAME too (repeatable). Loopback names, and IP addresses
    /// on a server bound beyond loopback, are always answered; any other
    /// name is refused, so that a web page whose domain is rebound to this
    /// machine cannot read drafts or use the workbench.
    #[arg(long, value_name = "NAME")]
    pub allowed_host: Vec<String>,
}

/// Arguments of `host render`.
#[derive(Args, Debug)]
pub struct RenderArgs {
    /// The output directory (default: `public/` in the site).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Render every page again (no kept page reused), then remove from
    /// site.db the stored Python results that no call of this render used:
    /// those of edited pages, old data, queries' old answers and other
    /// options (drafts, another base URL). Nothing is removed when a call
    /// fails.
    #[arg(long, conflicts_with = "no_cache")]
    pub gc: bool,
    #[command(flatten)]
    pub build: BuildArgs,
}

/// Arguments of `host check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub build: BuildArgs,
    /// Also check external links (HEAD, then GET; 8 at a time, 2 per host;
    /// links that answered well are remembered for a day).
    #[arg(long)]
    pub external: bool,
    /// Longest an external link may take to answer, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10, requires = "external")]
    pub link_timeout: u64,
}

/// Options shared by `render` and `check`.
#[derive(Args, Debug)]
pub struct BuildArgs {
    /// Include drafts.
    #[arg(long)]
    pub drafts: bool,
    /// Include pages dated in the future (after `SOURCE_DATE_EPOCH`, or now).
    #[arg(long)]
    pub future: bool,
    /// Publish under this base URL instead of site.toml's `base_url` (a
    /// staging copy, a preview).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Fail (exit 1) on any warning, not only on errors.
    #[arg(long)]
    pub strict: bool,
    /// Render threads, 1 to 256 (default: one per core, four per core with
    /// Python macros).
    #[arg(long, short = 'j', value_name = "N", value_parser = parse_jobs)]
    pub jobs: Option<usize>,
    /// Render every page and run every Python macro, ignoring (and not
    /// filling) the kept pages and the result cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Fetch every URL scripts read with `ctx.fetch` again, instead of
    /// replaying the responses kept in site.db.
    #[arg(long)]
    pub refresh_remote: bool,
    /// Print a table per macro and transform: calls, cache hits, sandbox
    /// runs, failures by class, p50/p95/max latency.
    #[arg(long)]
    pub stats: bool,
    /// Write the same numbers as JSON to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub stats_json: Option<PathBuf>,
}

/// `host python ...`
#[derive(Subcommand, Debug)]
pub enum PythonCommand {
    /// Resolve `[python] dependencies` (with pip) to pure-Python wheels,
    /// write `python.lock` and unpack them into `scripts/vendor/`.
    ///
    /// Commit both with the site: a render then needs no network and no
    /// Python, and checks the vendored files against the lock.
    Lock(PipArgs),
    /// Add requirements to `[python] dependencies` in site.toml, then lock.
    ///
    /// For example: `host python add markdown==3.7 python-slugify`.
    Add {
        /// pip requirements (`name`, `name==1.2`, `name>=1,<2`).
        #[arg(required = true, value_name = "SPEC")]
        specs: Vec<String>,
        /// Where pip looks.
        #[command(flatten)]
        pip: PipArgs,
    },
    /// Compile the Python sandbox's optimized code for this machine now
    /// (Cranelift, about 7 s on two cores, once per host build), and the
    /// site snapshot where it is a component of its own (a fresh instance
    /// per request, about 10 s per set of imports).
    ///
    /// Without it the first command that needs the sandbox starts at once on
    /// a quicker compile whose code runs slower (and its calls import their
    /// modules), and runs this in the background for the commands after it.
    Prepare {
        /// Print nothing.
        #[arg(long, short)]
        quiet: bool,
        /// Compile the sandbox's code only, not the site snapshot.
        #[arg(long)]
        code_only: bool,
    },
}

/// Where pip looks for packages.
#[derive(Args, Debug)]
pub struct PipArgs {
    /// A folder (or page) of wheels to look in too.
    #[arg(long, value_name = "DIR")]
    pub find_links: Vec<PathBuf>,
    /// Use no package index, only --find-links.
    #[arg(long)]
    pub no_index: bool,
}

/// `host scripts ...`
#[derive(Subcommand, Debug)]
pub enum ScriptsCommand {
    /// List the site's scripts: name, kind, enabled, version, status.
    List,
    /// Show one script's settings.
    Show(NameArgs),
    /// Check scripts in the sandbox: syntax, entrypoint, shadowing built-ins.
    Check(CheckScriptArgs),
    /// Enable a script (edits its front matter, keeping every other byte).
    Enable(NameArgs),
    /// Disable a script (edits its front matter, keeping every other byte).
    Disable(NameArgs),
    /// Write a new script from a commented template that passes `check`.
    New {
        /// The script's name (lowercase letters, digits, `_`).
        name: String,
        /// Macro (default), transform, hook or generator.
        #[arg(long, value_enum, default_value = "macro")]
        kind: NewKind,
    },
    /// Delete a script (asks first, unless --yes).
    Delete {
        /// The script's name.
        name: String,
        /// Do not ask.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Rebuild the scripts table from `scripts/*.py`.
    Rebuild,
    /// Try one macro on arguments you give and print its HTML; a render
    /// hook on Markdown (`--markdown`); a generator on the site's data, and
    /// list what it makes. To run a transform over posts, see `host
    /// run-script`.
    ///
    /// Runs in the sandbox with a sample context; the script's stdout and
    /// log lines go to stderr.
    Run(RunArgs),
}

/// The kind of a new script.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum NewKind {
    /// A macro: `render(ctx)` returns HTML.
    Macro,
    /// A transform: `transform(post)` rewrites a post.
    Transform,
    /// A render hook: `render(ctx)` renders links (edit `hook:` for
    /// images, headings, code blocks, tables or block quotes).
    Hook,
    /// A generator: `generate(ctx)` makes pages and files from data.
    Generator,
}

/// A script name.
#[derive(Args, Debug)]
pub struct NameArgs {
    /// The script's name (its macro name or file stem).
    pub name: String,
}

/// Arguments of `host scripts check`.
#[derive(Args, Debug)]
pub struct CheckScriptArgs {
    /// Only this script (default: all).
    pub name: Option<String>,
}

/// Arguments of `host run-script`.
#[derive(Args, Debug)]
#[command(group = clap::ArgGroup::new("posts").args(["post", "all", "tag"]).multiple(true))]
pub struct RunScriptArgs {
    /// A script of the site (its name) or a path to a `.py` file.
    pub script: String,
    /// A post or page to transform (path in the site); repeat for more.
    #[arg(long, value_name = "PATH")]
    pub post: Vec<PathBuf>,
    /// Every post and page, drafts included.
    #[arg(long)]
    pub all: bool,
    /// Every post and page with this tag.
    #[arg(long, value_name = "TAG")]
    pub tag: Vec<String>,
    /// Print what would change and write nothing (the default).
    #[arg(long, conflicts_with = "write")]
    pub dry_run: bool,
    /// Write the changed posts (each by a temporary file and a rename).
    #[arg(long)]
    pub write: bool,
    /// Write files that have uncommitted changes, or outside a git repository.
    #[arg(long, requires = "write")]
    pub force: bool,
    /// For a macro script: the context of the call.
    #[command(flatten, next_help_heading = "For a macro script")]
    pub call: MacroCallArgs,
}

/// The context of one macro call, given on the command line.
#[derive(Args, Debug, Default)]
pub struct MacroCallArgs {
    /// A named argument, `key=value`; numbers and true/false are typed.
    #[arg(long = "arg", value_name = "KEY=VALUE", value_parser = parse_arg)]
    pub args: Vec<(String, serde_json::Value)>,
    /// The body of a paired macro.
    #[arg(long)]
    pub body: Option<String>,
    /// A post or page (path in the site) whose metadata `ctx.page` holds.
    #[arg(long, value_name = "PATH")]
    pub page: Option<PathBuf>,
    /// The function to call (default: the script's `entrypoint`).
    #[arg(long)]
    pub entrypoint: Option<String>,
}

/// Arguments of `host scripts run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The script's name: `scripts/NAME.py` in the site.
    pub name: String,
    /// The context of the call.
    #[command(flatten)]
    pub call: MacroCallArgs,
    /// For a render hook: the Markdown to render with it (default: a link,
    /// an image, a heading, a code block, a table and a quote).
    #[arg(long, value_name = "TEXT")]
    pub markdown: Option<String>,
}

fn parse_arg(text: &str) -> Result<(String, serde_json::Value), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE"))?;
    if key.is_empty() {
        return Err(format!("`{text}` has an empty key"));
    }
    Ok((key.to_owned(), blogmark_host::python::typed_argument(value)))
}

/// Most render threads `--jobs` accepts: each is an OS thread with its own
/// stack and, with Python macros, its own sandbox, so a typo such as
/// `--jobs 100000` would exhaust the machine instead of rendering.
pub const MAX_JOBS: usize = 256;

fn parse_jobs(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (1..=MAX_JOBS).contains(&n) => Ok(n),
        _ => Err(format!("expected a number of threads from 1 to {MAX_JOBS}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arguments_are_typed() {
        assert_eq!(parse_arg("n=3").unwrap(), ("n".into(), json!(3)));
        assert_eq!(parse_arg("x=1.5").unwrap(), ("x".into(), json!(1.5)));
        assert_eq!(parse_arg("on=true").unwrap(), ("on".into(), json!(true)));
        assert_eq!(parse_arg("t=a=b").unwrap(), ("t".into(), json!("a=b")));
        assert!(parse_arg("novalue").is_err());
        assert!(parse_arg("=x").is_err());
    }

    #[test]
    fn the_cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
