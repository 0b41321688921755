//! What a script can import and where each module comes from: the
//! interpreter's built-in modules, the standard library (bytecode embedded
//! with the guest), the site's `scripts/lib/` and `scripts/vendor/`. The
//! sandbox asks for a module by name ([`SiteModules`] answers as its
//! [`ModuleSource`]); the same lookup, done on the imports read from the
//! text, reports an import nothing can satisfy before any call runs and
//! puts the library files a script uses into its results' keys.

use crate::diagnostics::Diagnostic;
use crate::scripts::Script;
use crate::scripts::imports::{self, Import};
use crate::scripts::library::{LibModule, Library};
use blogmark_runtime::{ModuleCode, ModuleForm, ModuleSource};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

/// The modules the sandbox refuses, and what each would reach for. The
/// dispatcher's `_DENIED_MODULES` says the same (a test holds them equal).
pub const DENIED: &[(&str, &str)] = &[
    ("socket", "the network"),
    ("_socket", "the network"),
    ("ssl", "the network"),
    ("subprocess", "processes"),
    ("multiprocessing", "processes"),
    ("concurrent", "threads"),
    ("asyncio", "an event loop"),
];

/// Where an import is satisfied from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider<'a> {
    /// Compiled into the interpreter.
    Builtin,
    /// The standard library.
    Stdlib,
    /// The site's library or vendored packages.
    Library(&'a LibModule),
    /// Refused by the sandbox, for this reason.
    Denied(&'static str),
    /// Nowhere.
    Missing,
}

/// The site's importable modules, answering the sandbox by name.
#[derive(Debug, Default)]
pub struct SiteModules {
    library: Library,
    problems: Vec<Diagnostic>,
}

impl SiteModules {
    /// The modules of the site at `root`, whose site.toml asks for
    /// `dependencies` (its vendored files are checked against python.lock).
    pub fn load(root: &Path, dependencies: &[String]) -> SiteModules {
        let verified = crate::packages::verify(root, dependencies);
        let (library, mut problems) = Library::load(root, &verified.refused);
        problems.extend(verified.problems);
        let mut modules = SiteModules {
            library,
            problems: Vec::new(),
        };
        for module in modules.library.modules.values() {
            if matches!(
                standard(&module.name),
                Some(Provider::Builtin | Provider::Stdlib)
            ) {
                problems.push(Diagnostic::warning(
                    &module.path,
                    1,
                    1,
                    format!(
                        "the standard library's `{}` wins over this module; rename it",
                        module.name
                    ),
                ));
            }
        }
        for module in modules.library.modules.values() {
            problems.extend(modules.unsatisfied(&module.path, &module.imports));
        }
        modules.problems = problems;
        modules
    }

    /// What is wrong with the library's files (unreadable, shadowed, an
    /// import nothing satisfies).
    pub fn problems(&self) -> &[Diagnostic] {
        &self.problems
    }

    /// The site's library.
    pub fn library(&self) -> &Library {
        &self.library
    }

    /// Where the module `name` comes from, in the order the sandbox looks.
    pub fn provider(&self, name: &str) -> Provider<'_> {
        if let Some(found) = standard(name) {
            return found;
        }
        match self.library.modules.get(name) {
            Some(module) => Provider::Library(module),
            None => Provider::Missing,
        }
    }

    /// The imports of `source` (a script or library file at `path`) that
    /// nothing satisfies or the sandbox refuses, as errors at their line.
    /// Guarded imports (in a `try` or `if`) are the script's own business.
    pub fn unsatisfied(&self, path: &str, imports: &[Import]) -> Vec<Diagnostic> {
        let mut found = Vec::new();
        for import in imports.iter().filter(|i| !i.guarded) {
            let mut prefix = String::new();
            for part in import.module.split('.') {
                if !prefix.is_empty() {
                    prefix.push('.');
                }
                prefix.push_str(part);
                let message = match self.provider(&prefix) {
                    Provider::Denied(what) => format!(
                        "`import {}`: Blogmark scripts have no access to {what}",
                        import.module
                    ),
                    Provider::Missing => format!(
                        "cannot import `{}`: no module `{prefix}` in the standard library, \
                         scripts/lib/ or scripts/vendor/",
                        import.module
                    ),
                    _ => continue,
                };
                found.push(Diagnostic::error(path, import.line as usize, 1, message));
                break;
            }
        }
        found
    }

    /// The library modules `script` runs when it imports what it says,
    /// directly or through other library modules, by name.
    pub fn used_by(&self, source: &str) -> BTreeMap<&str, &LibModule> {
        let mut used = BTreeMap::new();
        let mut pending: Vec<Import> = imports::scan(source, None);
        while let Some(import) = pending.pop() {
            let mut candidates: Vec<String> = Vec::new();
            let mut prefix = String::new();
            for part in import.module.split('.') {
                if !prefix.is_empty() {
                    prefix.push('.');
                }
                prefix.push_str(part);
                candidates.push(prefix.clone());
            }
            candidates.extend(
                import
                    .names
                    .iter()
                    .map(|n| format!("{}.{n}", import.module)),
            );
            for name in candidates {
                if let Provider::Library(module) = self.provider(&name)
                    && used.insert(module.name.as_str(), module).is_none()
                {
                    pending.extend(module.imports.iter().cloned());
                }
            }
        }
        used
    }

    /// What `script`'s results depend on besides its own text: its own
    /// hash when it uses no library module, else a hash of it and of every
    /// library file it uses.
    pub fn identity(&self, script: &Script) -> String {
        let used = self.used_by(&script.source);
        if used.is_empty() {
            return script.content_hash.clone();
        }
        let mut hasher = Sha256::new();
        hasher.update(script.content_hash.as_bytes());
        for (name, module) in used {
            hasher.update(b"\0");
            hasher.update(name.as_bytes());
            hasher.update(b"\0");
            hasher.update(module.hash.as_bytes());
        }
        hex::encode(hasher.finalize())
    }
}

/// Whether the standard library or the interpreter has `name`.
fn standard(name: &str) -> Option<Provider<'static>> {
    let top = name.split('.').next().unwrap_or(name);
    if let Some((_, what)) = DENIED.iter().find(|(denied, _)| *denied == top) {
        return Some(Provider::Denied(what));
    }
    if blogmark_guest::builtin_modules().any(|m| m == name) {
        return Some(Provider::Builtin);
    }
    blogmark_guest::stdlib()
        .contains_key(name)
        .then_some(Provider::Stdlib)
}

/// Unpacked standard-library modules, shared by every session of the
/// process: a module is unpacked once, however many calls import it.
fn stdlib_code(name: &str) -> Option<ModuleCode> {
    type Unpacked = Mutex<HashMap<&'static str, Arc<[u8]>>>;
    static UNPACKED: OnceLock<Unpacked> = OnceLock::new();
    let module = blogmark_guest::stdlib().get(name)?;
    let mut unpacked = UNPACKED
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let code = unpacked
        .entry(module.name)
        .or_insert_with(|| module.bytecode().into())
        .clone();
    Some(ModuleCode {
        origin: module.origin.to_owned(),
        is_package: module.is_package,
        form: ModuleForm::Bytecode,
        code,
    })
}

impl ModuleSource for SiteModules {
    fn find(&self, name: &str) -> Option<ModuleCode> {
        if let Some(code) = stdlib_code(name) {
            return Some(code);
        }
        let module = self.library.modules.get(name)?;
        Some(ModuleCode {
            origin: module.path.clone(),
            is_package: module.is_package,
            form: ModuleForm::Source,
            code: module.source.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_denied_modules_are_the_dispatchers() {
        let dispatcher = include_str!("../../../python-wasm/guest/dispatcher.py");
        let start = dispatcher
            .find("_DENIED_MODULES = {")
            .expect("the dispatcher lists its denied modules");
        let listed = &dispatcher[start..];
        let listed = &listed[..listed.find('}').unwrap()];
        let guest: Vec<(&str, &str)> = listed
            .lines()
            .skip(1)
            .filter_map(|line| {
                let (name, what) = line.trim().trim_end_matches(',').split_once(": ")?;
                Some((name.trim_matches('"'), what.trim_matches('"')))
            })
            .collect();
        assert_eq!(guest, DENIED);
    }

    #[test]
    fn providers_follow_the_sandbox_order() {
        let modules = SiteModules::default();
        assert_eq!(modules.provider("sys"), Provider::Builtin);
        assert_eq!(modules.provider("xml.etree.ElementTree"), Provider::Stdlib);
        assert_eq!(modules.provider("tomllib"), Provider::Stdlib);
        assert_eq!(modules.provider("socket"), Provider::Denied("the network"));
        assert_eq!(modules.provider("numpy"), Provider::Missing);
        let code = modules.find("xml.etree").expect("a stdlib package");
        assert!(code.is_package && code.form == ModuleForm::Bytecode);
        assert!(modules.find("numpy").is_none());
    }
}
