//! A bundle's files, copied beside its page's `index.html` so that
//! relative links and images resolve.

use super::output::Output;
use crate::content::Page;
use crate::diagnostics::Diagnostic;
use rayon::prelude::*;

/// Every resource of `pages` at its place under the page's URL; a file
/// that the build already writes there (another page, a listing) is an
/// error, and the build's file wins.
pub(super) fn copy_resources(
    root: &std::path::Path,
    pages: &[&Page],
    output: &mut Output,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let read: Vec<(String, &str, std::io::Result<Vec<u8>>)> = pages
        .par_iter()
        .flat_map_iter(|page| {
            page.resources.iter().map(move |resource| {
                (
                    format!("{}{}", page.url.trim_start_matches('/'), resource.name),
                    resource.file.as_str(),
                    std::fs::read(root.join(&resource.file)),
                )
            })
        })
        .collect();
    for (path, file, bytes) in read {
        match bytes {
            Ok(_) if output.files().contains_key(&path) => diagnostics.push(Diagnostic::error(
                file,
                0,
                0,
                format!("not copied: the site already writes `{path}`"),
            )),
            Ok(bytes) => output.add(path, bytes),
            Err(e) => diagnostics.push(Diagnostic::error(file, 0, 0, format!("cannot read: {e}"))),
        }
    }
}
