//! The standard library CPython bundles, as bytecode its own compiler made
//! at build time: what a script can import beyond the modules the snapshot
//! already holds. Each module is compressed on its own and unpacked only
//! when asked for.

use std::collections::BTreeMap;
use std::sync::OnceLock;

static INDEX: &str = include_str!(env!("BLOGMARK_STDLIB_INDEX"));
static PACK: &[u8] = include_bytes!(env!("BLOGMARK_STDLIB_PACK"));

/// One module of the bundled standard library.
#[derive(Debug)]
pub struct StdlibModule {
    /// Its dotted name, e.g. `xml.etree.ElementTree`.
    pub name: &'static str,
    /// Whether it is a package (the code is its `__init__`).
    pub is_package: bool,
    /// The file name its code carries, e.g. `<stdlib>/xml/etree/ElementTree.py`.
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
                let fields: Vec<&'static str> = line.split('\t').collect();
                let [name, package, offset, len, size, origin] = fields[..] else {
                    panic!("the embedded stdlib index is corrupt: {line:?}");
                };
                let number = |s: &str| -> usize {
                    s.parse().unwrap_or_else(|_| {
                        panic!("the embedded stdlib index is corrupt: {line:?}")
                    })
                };
                let offset = number(offset);
                let module = StdlibModule {
                    name,
                    is_package: package == "1",
                    origin,
                    packed: &PACK[offset..offset + number(len)],
                    size: number(size),
                };
                (name, module)
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
        assert_eq!(tree.origin, "<stdlib>/xml/etree/ElementTree.py");
        // marshal's code-object type byte, with or without its FLAG_REF bit.
        let code = tree.bytecode();
        assert!(code[0] == b'c' || code[0] == b'c' | 0x80, "{:x}", code[0]);
        assert!(modules.contains_key("tomllib"));
        assert!(!modules.contains_key("site-packages"));
        assert!(builtin_modules().any(|m| m == "sys"));
    }
}
