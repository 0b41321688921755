//! The site's content: posts and pages with their front matter.

pub mod front_matter;
pub mod page;
pub mod rewrite;

pub use page::{Kind, Page};

use crate::diagnostics::Diagnostic;
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::Path;

/// Everything loaded from `content/`, and what could not be.
#[derive(Debug, Default)]
pub struct Content {
    /// Posts and pages that loaded, sorted by path.
    pub pages: Vec<Page>,
    /// Files that failed to load, duplicate slugs, ...
    pub diagnostics: Vec<Diagnostic>,
}

/// Load `content/posts/*.md` and `content/pages/*.md` of the site at `root`.
pub fn load(root: &Path) -> Content {
    let mut content = Content::default();
    for (dir, kind) in [("content/posts", Kind::Post), ("content/pages", Kind::Page)] {
        let base = root.join(dir);
        if !base.is_dir() {
            continue;
        }
        // Links are skipped (reported by `crate::symlinks`), the folder's own too.
        let mut files: Vec<_> = walkdir::WalkDir::new(&base)
            .follow_root_links(false)
            .into_iter()
            .filter_map(|entry| match entry {
                Ok(entry) => Some(entry),
                Err(e) => {
                    content.diagnostics.push(Diagnostic::error(
                        dir,
                        0,
                        0,
                        format!("cannot read: {e}"),
                    ));
                    None
                }
            })
            .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "md"))
            .map(|e| e.into_path())
            .collect();
        files.sort();
        // Read and parsed in parallel, kept in path order.
        let parsed: Vec<Result<Page, Diagnostic>> = files
            .par_iter()
            .map(|file| {
                let relative = relative_path(root, file);
                match crate::input::read_capped(file, crate::input::MAX_POST_BYTES) {
                    Ok(bytes) => page::parse(kind, &relative, &bytes),
                    Err(e) => Err(Diagnostic::error(relative, 0, 0, e.to_string())),
                }
            })
            .collect();
        for result in parsed {
            match result {
                Ok(page) => content.pages.push(page),
                Err(diagnostic) => content.diagnostics.push(diagnostic),
            }
        }
    }
    reject_duplicate_slugs(&mut content);
    content
}

/// A path the user typed for a file of the site at `site`: as given when
/// it exists (relative to the working directory, or absolute), else
/// relative to the site.
pub fn user_path(site: &Path, path: &Path) -> std::path::PathBuf {
    if path.is_absolute() || path.exists() {
        path.to_path_buf()
    } else {
        site.join(path)
    }
}

/// `path` relative to `root`, with `/` separators.
pub fn relative_path(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn reject_duplicate_slugs(content: &mut Content) {
    let mut first: HashMap<(Kind, String), String> = HashMap::new();
    let mut keep = Vec::with_capacity(content.pages.len());
    for page in std::mem::take(&mut content.pages) {
        let key = (page.kind, page.slug.clone());
        if let Some(owner) = first.get(&key) {
            content.diagnostics.push(Diagnostic::error(
                &page.path,
                1,
                1,
                format!("duplicate slug `{}`: {} already uses it", page.slug, owner),
            ));
        } else {
            first.insert(key, page.path.clone());
            keep.push(page);
        }
    }
    content.pages = keep;
}
