//! `scripts/*.py`: Python macros and transforms with front matter in their
//! module docstring (YAML between `---` lines). The file is the source of
//! truth; bad or missing values fall back to safe defaults with a warning.

pub mod edit;
pub mod imports;
pub mod library;
mod metadata;
pub mod sample;
pub mod sample_kinds;
mod status;
pub mod templates;

pub use metadata::{CAPABILITIES, HOOK_ELEMENTS, Script, ScriptKind, parse};
pub use status::Status;

use crate::diagnostics::Diagnostic;
use std::path::Path;

/// Every script of the site at `root`, sorted by path, and what was wrong
/// with them.
pub fn load(root: &Path) -> (Vec<Script>, Vec<Diagnostic>) {
    let mut scripts = Vec::new();
    let mut diagnostics = Vec::new();
    let dir = root.join("scripts");
    // Links are skipped (reported by `crate::symlinks`), the folder's own too.
    if crate::site_paths::is_link(&dir) {
        return (scripts, diagnostics);
    }
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return (scripts, diagnostics);
    };
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "py"))
        .collect();
    files.sort();
    for file in files {
        let relative = crate::content::relative_path(root, &file);
        match crate::input::read_capped(&file, crate::input::MAX_SCRIPT_BYTES) {
            Ok(bytes) => {
                let (script, found) = parse(&relative, &bytes);
                diagnostics.extend(found);
                scripts.push(script);
            }
            Err(e) => diagnostics.push(Diagnostic::error(relative, 0, 0, e.to_string())),
        }
    }
    (scripts, diagnostics)
}

/// The `scripts` table row of `script` (whose file is at `root`/`path`).
fn row(root: &Path, script: &Script) -> crate::store::ScriptRow {
    let mtime = std::fs::metadata(root.join(&script.path))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let limits = serde_json::json!({
        "timeout_ms": script.timeout_ms,
        "fuel": script.fuel,
        "memory_mb": script.memory_mb,
    });
    crate::store::ScriptRow {
        slug: script.slug.clone(),
        path: script.path.clone(),
        kind: script.kind.name().into(),
        name: script.name.clone(),
        entrypoint: script.entrypoint.clone(),
        enabled: script.enabled,
        version: script.version,
        description: script.description.clone(),
        limits: limits.to_string(),
        content_hash: script.content_hash.clone(),
        mtime,
    }
}

/// The `scripts` table rows of `scripts` (files under `root`).
pub fn rows(root: &Path, scripts: &[Script]) -> Vec<crate::store::ScriptRow> {
    scripts.iter().map(|s| row(root, s)).collect()
}

/// Load the scripts and bring the `scripts` table in line with them:
/// changes made while nothing ran (created, edited, deleted, renamed files)
/// are picked up here, before any command works with scripts.
pub fn load_and_reconcile(
    root: &Path,
) -> Result<(Vec<Script>, Vec<Diagnostic>, crate::store::Changes), crate::store::StoreError> {
    let (scripts, diagnostics) = load(root);
    let changes = crate::store::Store::open(root)?.sync_scripts(&rows(root, &scripts))?;
    Ok((scripts, diagnostics, changes))
}
