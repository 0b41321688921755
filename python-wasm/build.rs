//! Builds the guest component with `build.py` and exports its path as
//! `BLOGMARK_GUEST_WASM`. The component is cached under the target directory
//! by the hash of its inputs, shared by every profile.

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
    // The guest's sources one by one: building the component imports them,
    // which writes `guest/__pycache__`, and watching the whole directory
    // would rebuild on every later cargo command.
    let guest = std::fs::read_dir("guest").expect("python-wasm/guest exists");
    for entry in guest.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|x| x == "py") {
            println!("cargo::rerun-if-changed={}", path.display());
        }
    }
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
    let stdout = String::from_utf8(output.stdout).expect("build.py prints a UTF-8 path");
    let wasm = stdout
        .lines()
        .last()
        .expect("build.py prints the component path");
    println!("cargo::rustc-env=BLOGMARK_GUEST_WASM={wasm}");
}
