//! `scripts/*.py`: Python macros and transforms with front matter in their
//! module docstring (YAML between `---` lines). The file is the source of
//! truth; bad or missing values fall back to safe defaults with a warning.

pub mod edit;
mod metadata;

pub use metadata::{Script, ScriptKind};

use crate::diagnostics::Diagnostic;
use std::path::Path;

/// Every script of the site at `root`, sorted by path, and what was wrong
/// with them.
pub fn load(root: &Path) -> (Vec<Script>, Vec<Diagnostic>) {
    let mut scripts = Vec::new();
    let mut diagnostics = Vec::new();
    let dir = root.join("scripts");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return (scripts, diagnostics);
    };
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "py"))
        .collect();
    files.sort();
    for file in files {
        let relative = crate::content::relative_path(root, &file);
        match std::fs::read(&file) {
            Ok(bytes) => {
                let (script, found) = metadata::parse(&relative, &bytes);
                diagnostics.extend(found);
                scripts.push(script);
            }
            Err(e) => diagnostics.push(Diagnostic::error(
                relative,
                0,
                0,
                format!("cannot read: {e}"),
            )),
        }
    }
    (scripts, diagnostics)
}
