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
use blogmark_runtime::{FileInfo, ModuleCode, ModuleForm, ModuleSource};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

/// Where an import is satisfied from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider<'a> {
    /// Compiled into the interpreter.
    Builtin,
    /// The standard library; whether the module is a package.
    Stdlib(bool),
    /// The site's library or vendored packages.
    Library(&'a LibModule),
    /// Nowhere.
    Missing,
}

/// The site's importable modules, answering the sandbox by name.
#[derive(Debug, Default)]
pub struct SiteModules {
    library: Library,
    tree: super::file_tree::FileTree,
    problems: Vec<Diagnostic>,
}

impl SiteModules {
    /// The modules of the site at `root`, whose site.toml asks for
    /// `dependencies` (its vendored files are checked against python.lock).
    pub fn load(root: &Path, dependencies: &[String]) -> SiteModules {
        let verified = crate::packages::verify(root, dependencies);
        let (library, mut problems) = Library::load(root, &verified.refused);
        let (tree, tree_problems) =
            super::file_tree::FileTree::load(root, &verified.refused, &verified.hashes);
        problems.extend(verified.problems);
        problems.extend(tree_problems);
        let mut modules = SiteModules {
            library,
            tree,
            problems: Vec::new(),
        };
        for module in modules.library.modules.values() {
            if matches!(
                standard(&module.name),
                Some(Provider::Builtin | Provider::Stdlib(_))
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
        modules.problems = problems;
        modules
    }

    /// The modules of the site-like folder `root` as they are, its
    /// vendored packages not checked against a lock: for proving, while
    /// locking, that packages import.
    pub fn unverified(root: &Path) -> SiteModules {
        let none = BTreeSet::new();
        let (library, mut problems) = Library::load(root, &none);
        let (tree, tree_problems) = super::file_tree::FileTree::load(root, &none, &BTreeMap::new());
        problems.extend(tree_problems);
        SiteModules {
            library,
            tree,
            problems,
        }
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

    /// The imports the site's `scripts` (path and source) will really hit
    /// that nothing satisfies, as errors at the line that names them.
    ///
    /// Only what runs is followed: every unguarded import of a script, then,
    /// through the library modules those reach, their unguarded top-level
    /// imports (an import in a `try`, an `if` or a function may never run).
    /// Library modules no script reaches are never read for this. Below a
    /// standard-library name (which may set its submodules itself:
    /// `os.path`) and the names of `from m import a` (attributes as often as
    /// submodules), nothing is reported.
    pub fn import_problems<'s>(
        &self,
        scripts: impl IntoIterator<Item = (&'s str, &'s str)>,
    ) -> Vec<Diagnostic> {
        let mut problems = Vec::new();
        let mut visited: BTreeSet<&str> = BTreeSet::new();
        let mut pending: Vec<&LibModule> = Vec::new();
        for (path, source) in scripts {
            for import in imports::scan(source, None).iter().filter(|i| !i.guarded) {
                self.follow(path, import, &mut problems, &mut pending);
            }
        }
        while let Some(module) = pending.pop() {
            if !visited.insert(module.name.as_str()) {
                continue;
            }
            for import in module.imports.iter().filter(|i| !i.guarded && !i.deferred) {
                self.follow(&module.path, import, &mut problems, &mut pending);
            }
        }
        problems.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        problems.dedup();
        problems
    }

    /// Resolves `import` (written in the file at `path`) as Python would,
    /// queueing the library modules it runs and noting what is missing.
    fn follow<'m>(
        &'m self,
        path: &str,
        import: &Import,
        problems: &mut Vec<Diagnostic>,
        pending: &mut Vec<&'m LibModule>,
    ) {
        let mut prefix = String::new();
        for (depth, part) in import.module.split('.').enumerate() {
            if depth > 0 {
                prefix.push('.');
            }
            prefix.push_str(part);
            let more = prefix.len() < import.module.len();
            match self.provider(&prefix) {
                // The standard library sets some of its modules itself
                // (`os.path`, `collections.abc` in 3.14): past its top-level
                // name, only running the import would tell.
                Provider::Builtin | Provider::Stdlib(_) => return,
                Provider::Library(module) => {
                    pending.push(module);
                    if more && !module.is_package {
                        return;
                    }
                }
                Provider::Missing => {
                    let message = if depth == 0 {
                        format!(
                            "cannot import `{}`: no module `{prefix}` in the standard library, \
                             scripts/lib/ or scripts/vendor/",
                            import.module
                        )
                    } else {
                        format!(
                            "cannot import `{}`: package `{}` has no module `{part}`",
                            import.module,
                            &prefix[..prefix.len() - part.len() - 1]
                        )
                    };
                    problems.push(Diagnostic::error(path, import.line as usize, 1, message));
                    return;
                }
            }
        }
        for name in &import.names {
            if let Provider::Library(module) = self.provider(&format!("{}.{name}", import.module)) {
                pending.push(module);
            }
        }
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

    /// A hash of every library file that is not a module (which a module
    /// may read as it is imported); none when there is no such file.
    pub fn data_hash(&self) -> Option<&str> {
        self.tree.data_hash()
    }

    /// What `script`'s results depend on besides its own text: its own
    /// hash when it uses no library module and the library holds no data
    /// file, else a hash of it, of every library module it uses and of
    /// every data file (any of which it may read).
    pub fn identity(&self, script: &Script) -> String {
        let used = self.used_by(&script.source);
        let data = self.tree.data_hash();
        if used.is_empty() && data.is_none() {
            return script.content_hash.clone();
        }
        let mut hasher = Sha256::new();
        hasher.update(script.content_hash.as_bytes());
        if let Some(data) = data {
            hasher.update(b"\0data\0");
            hasher.update(data.as_bytes());
        }
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
    if blogmark_guest::builtin_modules().any(|m| m == name) {
        return Some(Provider::Builtin);
    }
    blogmark_guest::stdlib()
        .get(name)
        .map(|module| Provider::Stdlib(module.is_package))
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

    fn stat(&self, path: &str) -> Option<FileInfo> {
        self.tree.stat(path)
    }

    fn read_file(&self, path: &str) -> Option<Arc<[u8]>> {
        self.tree.read(path)
    }

    fn list_folder(&self, path: &str) -> Option<Vec<String>> {
        self.tree.list(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_follow_the_sandbox_order() {
        let modules = SiteModules::default();
        assert_eq!(modules.provider("sys"), Provider::Builtin);
        assert_eq!(
            modules.provider("xml.etree.ElementTree"),
            Provider::Stdlib(false)
        );
        assert_eq!(modules.provider("xml.etree"), Provider::Stdlib(true));
        assert_eq!(modules.provider("tomllib"), Provider::Stdlib(true));
        // Importing works; connecting is what the sandbox refuses.
        assert_eq!(modules.provider("socket"), Provider::Stdlib(false));
        assert_eq!(modules.provider("numpy"), Provider::Missing);
        let code = modules.find("xml.etree").expect("a stdlib package");
        assert!(code.is_package && code.form == ModuleForm::Bytecode);
        assert!(modules.find("numpy").is_none());
    }
}
