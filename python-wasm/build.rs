//! Builds the guest component with `build.py` and compresses it (zstd) for
//! the crate to embed. Both are cached under the target directory by the
//! hash of the component's inputs, shared by every profile.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn target_dir(out_dir: &Path) -> PathBuf {
    if let Some(dir) = env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    // OUT_DIR is <target>/[<triple>/]<profile>/build/<pkg>-<hash>/out.
    out_dir
        .ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "build"))
        .and_then(|build| build.parent()?.parent())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| out_dir.to_path_buf())
}

fn main() {
    for input in ["build.py", "requirements.txt", "wit"] {
        println!("cargo::rerun-if-changed={input}");
    }
    watch_sources(Path::new("guest"));
    println!("cargo::rerun-if-env-changed=BLOGMARK_PYTHON");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let cache = target_dir(&out_dir).join("python-wasm");
    let python = env::var("BLOGMARK_PYTHON").unwrap_or_else(|_| "python3".into());
    let output = Command::new(&python)
        .arg("build.py")
        .arg(&cache)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run `{python} build.py` (python3 with pip is required): {e}")
        });
    if !output.status.success() {
        panic!(
            "building the Python guest component failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let stdout = String::from_utf8(output.stdout).expect("build.py prints UTF-8");
    let lines: Vec<&str> = stdout.lines().collect();
    let [build_id, sha256, cpython, wasm] = lines[lines.len().saturating_sub(4)..] else {
        panic!("build.py printed less than its four lines:\n{stdout}");
    };
    let compressed = compressed(Path::new(wasm));
    let (stdlib_index, stdlib_pack) =
        packed_stdlib(Path::new(wasm).parent().expect("in a directory"));
    println!(
        "cargo::rustc-env=BLOGMARK_STDLIB_INDEX={}",
        stdlib_index.display()
    );
    let builtins = std::fs::read_to_string(Path::new(wasm).with_file_name("stdlib.builtins"))
        .expect("build.py exported the interpreter's built-in modules");
    println!(
        "cargo::rustc-env=BLOGMARK_CPYTHON_BUILTINS={}",
        builtins.split_whitespace().collect::<Vec<_>>().join(",")
    );
    println!(
        "cargo::rustc-env=BLOGMARK_STDLIB_PACK={}",
        stdlib_pack.display()
    );
    let (files_index, files_pack) =
        packed_stdlib_files(Path::new(wasm).parent().expect("in a directory"));
    println!(
        "cargo::rustc-env=BLOGMARK_STDLIB_FILES_INDEX={}",
        files_index.display()
    );
    println!(
        "cargo::rustc-env=BLOGMARK_STDLIB_FILES_PACK={}",
        files_pack.display()
    );
    println!(
        "cargo::rustc-env=BLOGMARK_GUEST_ZST={}",
        compressed.display()
    );
    println!("cargo::rustc-env=BLOGMARK_GUEST_BUILD_ID={build_id}");
    println!("cargo::rustc-env=BLOGMARK_GUEST_SHA256={sha256}");
    println!("cargo::rustc-env=BLOGMARK_CPYTHON_VERSION={cpython}");
}

/// Watches the guest's sources one by one, in `dir` and the folders under
/// it (the dispatcher's package): building the component imports them,
/// which writes a `__pycache__` beside each, and watching a whole directory
/// would rebuild on every later cargo command. A new module is picked up
/// with the edit that imports it; build.py's hash covers every file.
fn watch_sources(dir: &Path) {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("python-wasm/{} is readable: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "__pycache__") {
                watch_sources(&path);
            }
        } else if path.extension().is_some_and(|x| x == "py" || x == "txt") {
            println!("cargo::rerun-if-changed={}", path.display());
        }
    }
}

/// `wasm` compressed beside it, made once per component.
fn compressed(wasm: &Path) -> PathBuf {
    let target = wasm.with_extension("wasm.zst");
    if target.exists() {
        return target;
    }
    let bytes = std::fs::read(wasm).expect("build.py wrote the component");
    // Level 12 packs 20 MB into 5.8 MB in about a second; 19 saves another
    // 0.6 MB for ten times the time on every fresh build.
    let packed = zstd::bulk::compress(&bytes, 12).expect("zstd compresses in memory");
    let partial = target.with_extension("zst.partial");
    std::fs::write(&partial, packed).expect("the component's directory is writable");
    std::fs::rename(&partial, &target).expect("the component's directory is writable");
    target
}

/// The standard library's bytecode that build.py exported, each module
/// compressed on its own (a script that imports one module unpacks only
/// that one): `stdlib.pack.index` (name, package flag, offset and length
/// in the pack, unpacked length, origin; tab-separated) and `stdlib.pack`.
fn packed_stdlib(dir: &Path) -> (PathBuf, PathBuf) {
    repack(dir, "stdlib.code", "stdlib.index", "stdlib.pack", 2, 19)
}

/// The standard library's files that build.py exported, each compressed on
/// its own (the guest reads a few of them, if any): `stdlib.files.pack.index`
/// (path, offset and length in the pack, unpacked length; tab-separated)
/// and `stdlib.files.pack`.
fn packed_stdlib_files(dir: &Path) -> (PathBuf, PathBuf) {
    repack(
        dir,
        "stdlib.files",
        "stdlib.files.index",
        "stdlib.files.pack",
        1,
        12,
    )
}

/// `blobs` (one after another, listed in `listing` with tab-separated
/// fields whose `at`-th and next are each blob's offset and length)
/// compressed one by one at `level` into `<pack>` and `<pack>.index`,
/// where the offset and length become those in the pack, followed by the
/// unpacked length; the other fields stay as they are.
fn repack(
    dir: &Path,
    blobs: &str,
    listing: &str,
    pack: &str,
    at: usize,
    level: i32,
) -> (PathBuf, PathBuf) {
    let index = dir.join(format!("{pack}.index"));
    let pack = dir.join(pack);
    if index.exists() && pack.exists() {
        return (index, pack);
    }
    let data = std::fs::read(dir.join(blobs)).expect("build.py exported the stdlib");
    let listing = std::fs::read_to_string(dir.join(listing)).expect("build.py exported the stdlib");
    let mut packed = Vec::new();
    let mut lines = String::new();
    for line in listing.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        let (Some(offset), Some(len)) = (fields.get(at), fields.get(at + 1)) else {
            panic!("{blobs} listing: malformed line {line:?}");
        };
        let offset: usize = offset.parse().expect("a listing's offset");
        let len: usize = len.parse().expect("a listing's length");
        let blob = zstd::bulk::compress(&data[offset..offset + len], level)
            .expect("zstd compresses in memory");
        let mut out: Vec<String> = fields[..at].iter().map(|f| (*f).to_owned()).collect();
        out.extend([packed.len(), blob.len(), len].map(|n| n.to_string()));
        out.extend(fields[at + 2..].iter().map(|f| (*f).to_owned()));
        lines.push_str(&out.join("\t"));
        lines.push('\n');
        packed.extend_from_slice(&blob);
    }
    std::fs::write(pack.with_extension("pack.partial"), packed).expect("writable");
    std::fs::rename(pack.with_extension("pack.partial"), &pack).expect("writable");
    std::fs::write(index.with_extension("index.partial"), lines).expect("writable");
    std::fs::rename(index.with_extension("index.partial"), &index).expect("writable");
    (index, pack)
}
