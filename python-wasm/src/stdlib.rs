//! The standard library CPython bundles, as bytecode its own compiler made
//! at build time: what a script can import beyond the modules the snapshot
//! already holds. Each module is compressed on its own and unpacked only
//! when asked for.

use std::collections::BTreeMap;
use std::sync::OnceLock;

static INDEX: &str = include_str!(env!("BLOGMARK_STDLIB_INDEX"));
static PACK: &[u8] = include_bytes!(env!("BLOGMARK_STDLIB_PACK"));
static FILES_INDEX: &str = include_str!(env!("BLOGMARK_STDLIB_FILES_INDEX"));
static FILES_PACK: &[u8] = include_bytes!(env!("BLOGMARK_STDLIB_FILES_PACK"));

/// One module of the bundled standard library.
#[derive(Debug)]
pub struct StdlibModule {
    /// Its dotted name, e.g. `xml.etree.ElementTree`.
    pub name: &'static str,
    /// Whether it is a package (the code is its `__init__`).
    pub is_package: bool,
    /// The file name its code carries, e.g. `/python/xml/etree/ElementTree.py`
    /// (where the guest's file tree has its source).
    pub origin: &'static str,
    packed: &'static [u8],
    size: usize,
}

impl StdlibModule {
    /// Its code object, as `marshal.dumps` wrote it.
    pub fn bytecode(&self) -> Vec<u8> {
        // The pack was written and checked by this crate's build script, so
        // a failure here is a corrupt binary, not bad input.
        zstd::bulk::decompress(self.packed, self.size)
            .unwrap_or_else(|e| panic!("the embedded stdlib module {} is corrupt: {e}", self.name))
    }
}

/// The modules the base snapshot already holds (`guest/preloaded.txt`):
/// importing them costs a script nothing.
pub fn preloaded_modules() -> impl Iterator<Item = &'static str> {
    include_str!("../guest/preloaded.txt")
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
}

/// The modules compiled into the interpreter (`sys.builtin_module_names`).
pub fn builtin_modules() -> impl Iterator<Item = &'static str> {
    env!("BLOGMARK_CPYTHON_BUILTINS").split(',')
}

/// The whole bundled standard library, by module name.
pub fn stdlib() -> &'static BTreeMap<&'static str, StdlibModule> {
    static MODULES: OnceLock<BTreeMap<&'static str, StdlibModule>> = OnceLock::new();
    MODULES.get_or_init(|| {
        INDEX
            .lines()
            .map(|line| {
                let (fields, packed, size) = entry(line, PACK, 2);
                let [name, package, origin] = fields[..] else {
                    panic!("the embedded stdlib index is corrupt: {line:?}");
                };
                let module = StdlibModule {
                    name,
                    is_package: package == "1",
                    origin,
                    packed,
                    size,
                };
                (name, module)
            })
            .collect()
    })
}

/// One line of an index the build script wrote (see its `repack`): the
/// fields around the `at`-th (offset, length in `pack`, unpacked length),
/// the compressed bytes they name, and the unpacked length.
fn entry(
    line: &'static str,
    pack: &'static [u8],
    at: usize,
) -> (Vec<&'static str>, &'static [u8], usize) {
    let mut fields: Vec<&'static str> = line.split('\t').collect();
    let corrupt = || -> ! { panic!("an embedded stdlib index is corrupt: {line:?}") };
    if fields.len() < at + 3 {
        corrupt();
    }
    let numbers: Vec<usize> = fields
        .drain(at..at + 3)
        .map(|n| n.parse().unwrap_or_else(|_| corrupt()))
        .collect();
    let (offset, len, size) = (numbers[0], numbers[1], numbers[2]);
    let packed = pack.get(offset..offset + len).unwrap_or_else(|| corrupt());
    (fields, packed, size)
}

/// One file of the standard library, as the guest's file tree serves it.
#[derive(Debug)]
pub struct StdlibFile {
    packed: &'static [u8],
    /// Its size in bytes.
    pub size: usize,
}

impl StdlibFile {
    /// Its bytes.
    pub fn bytes(&self) -> Vec<u8> {
        // Written and checked by this crate's build script: a failure is a
        // corrupt binary, not bad input.
        zstd::bulk::decompress(self.packed, self.size)
            .unwrap_or_else(|e| panic!("an embedded stdlib file is corrupt: {e}"))
    }
}

/// The standard library's files (sources and data, without its test suite
/// and Tk tools), by their path in the guest (`/python/json/decoder.py`).
pub fn stdlib_files() -> &'static BTreeMap<&'static str, StdlibFile> {
    static FILES: OnceLock<BTreeMap<&'static str, StdlibFile>> = OnceLock::new();
    FILES.get_or_init(|| {
        FILES_INDEX
            .lines()
            .map(|line| {
                let (fields, packed, size) = entry(line, FILES_PACK, 1);
                let [path] = fields[..] else {
                    panic!("the embedded stdlib file index is corrupt: {line:?}");
                };
                (path, StdlibFile { packed, size })
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stdlib_holds_its_packages_and_modules_as_bytecode() {
        let modules = stdlib();
        assert!(modules.len() > 500, "{}", modules.len());
        let xml = &modules["xml"];
        assert!(xml.is_package);
        let tree = &modules["xml.etree.ElementTree"];
        assert!(!tree.is_package);
        assert_eq!(tree.origin, "/python/xml/etree/ElementTree.py");
        // marshal's code-object type byte, with or without its FLAG_REF bit.
        let code = tree.bytecode();
        assert!(code[0] == b'c' || code[0] == b'c' | 0x80, "{:x}", code[0]);
        assert!(modules.contains_key("tomllib"));
        assert!(!modules.contains_key("site-packages"));
        assert!(builtin_modules().any(|m| m == "sys"));
    }
}
