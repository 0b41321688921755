//! Modules a guest imports beyond its snapshot, handed over by the host.
//!
//! The sandbox has no file system: when a script imports a module its
//! snapshot does not hold, the guest asks the host (the `load-module`
//! import), which answers from what the caller put in the job's
//! [`ModuleSource`]. The guest cannot name a file, only a module, so it
//! reads nothing the caller did not choose to offer.

use std::fmt;
use std::sync::Arc;

/// How a module's code is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModuleForm {
    /// A marshalled code object of the guest's CPython version.
    Bytecode,
    /// UTF-8 Python source, compiled by the guest as it imports it.
    Source,
}

/// One importable module.
#[derive(Clone)]
pub struct ModuleCode {
    /// The file name its code carries, shown in tracebacks.
    pub origin: String,
    /// Whether it is a package (the code is its `__init__`).
    pub is_package: bool,
    /// Bytecode or source.
    pub form: ModuleForm,
    /// The code itself.
    pub code: Arc<[u8]>,
}

impl fmt::Debug for ModuleCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModuleCode")
            .field("origin", &self.origin)
            .field("is_package", &self.is_package)
            .field("form", &self.form)
            .field("bytes", &self.code.len())
            .finish()
    }
}

/// Where a job's imports are answered from.
pub trait ModuleSource: Send + Sync + fmt::Debug {
    /// The module of that dotted name, if there is one.
    fn find(&self, name: &str) -> Option<ModuleCode>;
}

/// A job's modules: none unless the caller offers some.
pub type Modules = Option<Arc<dyn ModuleSource>>;
