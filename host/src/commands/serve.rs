//! `host serve`: live preview.

use crate::cli::ServeArgs;
use blogmark_host::serve::{ServeOptions, serve};
use std::process::ExitCode;

pub fn run(site: &std::path::Path, args: &ServeArgs) -> anyhow::Result<ExitCode> {
    if !site.join(blogmark_host::config::FILE).is_file() {
        anyhow::bail!(
            "{} has no {}: not a site (create one with `host init`)",
            site.display(),
            blogmark_host::config::FILE
        );
    }
    let options = ServeOptions {
        root: site.to_path_buf(),
        addr: std::net::SocketAddr::new(args.bind, args.port),
        drafts: args.drafts,
        future: args.future,
        jobs: args.jobs,
        allow_remote_edits: args.allow_remote_edits,
        allowed_hosts: args.allowed_host.clone(),
    };
    let open = args.open;
    let allow_remote_edits = args.allow_remote_edits;
    serve(
        &options,
        |addr| {
            let url = format!("http://{addr}/");
            eprintln!("Serving {} at {url} (Ctrl-C stops)", site.display());
            if addr.ip().is_loopback() || allow_remote_edits {
                eprintln!("Scripts workbench: {url}_blogmark/scripts");
            } else {
                eprintln!(
                    "Scripts workbench (read-only: {} is beyond this machine; \
                     --allow-remote-edits allows edits): {url}_blogmark/scripts",
                    addr.ip()
                );
            }
            if open {
                open_browser(&url);
            }
        },
        async {
            let _ = tokio::signal::ctrl_c().await;
            eprintln!("Stopping");
        },
    )?;
    Ok(ExitCode::SUCCESS)
}

/// The desktop's way to open a URL; a machine without one says so.
fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    if let Err(e) = std::process::Command::new(opener).arg(url).spawn() {
        eprintln!("warning: cannot open a browser ({opener}: {e}); open {url}");
    }
}
