//! Third-party Python packages, pinned and vendored: `[python]
//! dependencies` in site.toml, resolved by pip to pure-Python wheels
//! (`host python lock`), written to `python.lock` and unpacked into
//! `scripts/vendor/`, which is committed with the site (as `hugo mod
//! vendor` does with `_vendor/`). A render needs no network and no Python:
//! it checks the vendored files against the lock ([`verify`]).

mod error;
mod lock_file;
mod pip;
pub mod requirement;
mod vendor;
mod verify;
mod wheel;

pub use error::PackageError;
pub use lock_file::{LOCK_FILE, Lock, LockedPackage, MAX_LOCK_BYTES};
pub use pip::PipOptions;
pub use vendor::{Locked, ProveImports, add_dependencies, lock};
pub use verify::{Verified, verify};
pub use wheel::{MAX_FILE_BYTES, Wheel};

/// A requirement's package name, normalized as PyPI does (PEP 503):
/// `Markdown` and `markdown` are one package, so are `a_b` and `a-b`.
pub fn package_name(spec: &str) -> String {
    let name: String = spec
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    normalize(&name)
}

/// PEP 503's normal form of a package name.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut separator = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            separator = true;
        } else {
            if separator && !out.is_empty() {
                out.push('-');
            }
            separator = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_compared_as_pypi_does() {
        assert_eq!(package_name("Markdown==3.7"), "markdown");
        assert_eq!(package_name(" python_slugify>=8"), "python-slugify");
        assert_eq!(package_name("zope.interface"), "zope-interface");
        assert_eq!(package_name("a__b[extra]~=1.0"), "a-b");
    }
}
