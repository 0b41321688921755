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
    let read: Vec<(String, &str, std::io::Result<Resource>)> = pages
        .par_iter()
        .flat_map_iter(|page| {
            page.resources.iter().map(move |resource| {
                (
                    format!("{}{}", page.url.trim_start_matches('/'), resource.name),
                    resource.file.as_str(),
                    Resource::read(&root.join(&resource.file)),
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
            Ok(Resource::Bytes(bytes)) => output.add(path, bytes),
            Ok(Resource::Large(source)) => output.add_copy(path, source),
            Err(e) => diagnostics.push(Diagnostic::error(file, 0, 0, format!("cannot read: {e}"))),
        }
    }
}

/// A resource's bytes, or its path when it is large enough to be streamed.
enum Resource {
    Bytes(Vec<u8>),
    Large(std::path::PathBuf),
}

impl Resource {
    fn read(path: &std::path::Path) -> std::io::Result<Resource> {
        // Lstat: the loader skips links already; a late one is not read.
        let metadata = std::fs::symlink_metadata(path)?;
        if !metadata.is_file() {
            return Err(std::io::Error::other("not a regular file"));
        }
        if metadata.len() >= super::output::STREAM_FROM {
            return Ok(Resource::Large(path.to_path_buf()));
        }
        std::fs::read(path).map(Resource::Bytes)
    }
}
