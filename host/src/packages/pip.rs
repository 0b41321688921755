//! pip as the resolver: it downloads the wheels `[python] dependencies`
//! need for the guest's CPython version, dependencies included.

use super::error::PackageError;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where pip looks for packages.
#[derive(Clone, Debug, Default)]
pub struct PipOptions {
    /// Folders or pages of wheels to look in too (`--find-links`).
    pub find_links: Vec<PathBuf>,
    /// Look nowhere else: no package index (`--no-index`).
    pub no_index: bool,
}

/// The Python that runs pip: `$BLOGMARK_PYTHON`, else `python3`.
fn python() -> String {
    std::env::var("BLOGMARK_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// The guest's CPython as pip's `--python-version` (`3.14`).
fn guest_python_version() -> String {
    let version = blogmark_guest::CPYTHON_VERSION;
    version.split('.').take(2).collect::<Vec<_>>().join(".")
}

/// Download the wheels of `specs` and their dependencies into `dest`.
pub(super) fn download(
    specs: &[String],
    options: &PipOptions,
    dest: &Path,
) -> Result<(), PackageError> {
    let python = python();
    let mut command = Command::new(&python);
    command
        .args([
            "-m",
            "pip",
            "download",
            "--disable-pip-version-check",
            "--no-input",
        ])
        .args(["--quiet", "--only-binary=:all:", "--python-version"])
        .arg(guest_python_version())
        .arg("--dest")
        .arg(dest);
    for link in &options.find_links {
        command.arg("--find-links").arg(link);
    }
    if options.no_index {
        command.arg("--no-index");
    }
    // Whatever an entry says, it is not an option: the lock checked each,
    // and `--` ends pip's options in case a check ever misses one.
    if let Some((spec, why)) = specs
        .iter()
        .find_map(|spec| super::requirement::check(spec).err().map(|why| (spec, why)))
    {
        return Err(PackageError::Config(format!(
            "`{spec}` is not a requirement: {why}"
        )));
    }
    command.arg("--").args(specs);
    let output = command.output().map_err(|e| PackageError::NoPip {
        python: python.clone(),
        why: e.to_string(),
    })?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("No module named pip") {
        return Err(PackageError::NoPip {
            python,
            why: "pip is not installed".into(),
        });
    }
    Err(PackageError::Resolve {
        specs: specs.join(" "),
        output: explain(&stderr),
    })
}

/// pip's error, with what it means here when pip found no wheel at all.
fn explain(stderr: &str) -> String {
    let mut text = stderr.trim().to_owned();
    if let Some(line) = stderr
        .lines()
        .find(|l| l.contains("No matching distribution found for"))
    {
        let spec = line.rsplit("found for").next().unwrap_or_default().trim();
        text.push_str(&format!(
            "\npip found no wheel of `{spec}` for CPython {}: the name may be wrong, or \
             the package may have only source archives or compiled wheels for other \
             systems (the sandbox runs pure-Python wheels, tagged py3-none-any)",
            blogmark_guest::CPYTHON_VERSION
        ));
    }
    text
}
