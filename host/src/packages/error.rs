//! What can go wrong when locking packages.

use std::path::PathBuf;

/// A failure of `host python lock` or `host python add`.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// No usable Python with pip on the machine.
    #[error(
        "resolving packages needs Python 3 with pip (`{python} -m pip`), which failed: {why}. \
         A render needs neither; set $BLOGMARK_PYTHON to use another Python"
    )]
    NoPip {
        /// The interpreter tried.
        python: String,
        /// What happened.
        why: String,
    },
    /// pip could not resolve or download the requirements.
    #[error("pip could not resolve {specs}:\n{output}")]
    Resolve {
        /// The requirements.
        specs: String,
        /// pip's own words.
        output: String,
    },
    /// A package has no pure-Python wheel.
    #[error(
        "`{name}` {version} cannot run in the sandbox: {why}. Blogmark scripts can use \
         pure-Python packages only (wheels tagged `py3-none-any`)"
    )]
    Compiled {
        /// The package.
        name: String,
        /// Its version.
        version: String,
        /// What makes it so.
        why: String,
    },
    /// A wheel that is not a valid wheel.
    #[error("{wheel}: not a valid wheel: {why}")]
    BadWheel {
        /// The wheel's file name.
        wheel: String,
        /// What is wrong.
        why: String,
    },
    /// site.toml cannot be read or edited.
    #[error("site.toml: {0}")]
    Config(String),
    /// site.toml does not load: the diagnostic, with its line.
    #[error("{0}")]
    Site(crate::diagnostics::Diagnostic),
    /// A folder the lock writes in is reached through a symbolic link.
    #[error(
        "{0} is a symbolic link; a lock writes only inside the site (make it a folder of the site)"
    )]
    Linked(String),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

impl PackageError {
    pub(super) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> PackageError {
        let path = path.into();
        move |source| PackageError::Io { path, source }
    }
}
