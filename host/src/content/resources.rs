//! The files of a page bundle: everything beside a folder's `index.md`
//! (images, data, attachments), copied beside the page's HTML so that
//! relative links work, and shown to macros as `ctx.page.resources`.

use serde::Serialize;
use std::path::Path;

/// One file of a bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Resource {
    /// Its path inside the bundle, with `/`: `cover.png`, `img/a.jpg`;
    /// also its URL relative to the page.
    pub name: String,
    /// Its path relative to the site.
    pub file: String,
    /// Its size in bytes, when the bundle was loaded.
    pub size: u64,
}

/// What a macro learns of a resource (`ctx.page.resources`): read from the
/// file when a macro that uses the page runs, hashed so that a changed
/// file re-runs exactly the calls that saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ResourceInfo {
    /// Path inside the bundle.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Media type guessed from the extension, e.g. `image/png`.
    pub media_type: String,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// Pixel width, for images whose header says it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Pixel height, for images whose header says it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}

impl Resource {
    /// What a macro learns of this resource in the site at `root`; `None`
    /// when the file cannot be read any more, or is no longer a regular
    /// file (a link or a FIFO swapped in since the bundle was loaded is not
    /// opened). A large file is hashed as it streams, never held whole.
    pub fn info(&self, root: &Path) -> Option<ResourceInfo> {
        use std::io::Read as _;
        let (file, _) = crate::state_dir::open_regular(&root.join(&self.file))?;
        let mut file = std::io::BufReader::new(file);
        let mut head = Vec::new();
        (&mut file).take(HEADER_BYTES).read_to_end(&mut head).ok()?;
        let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
        sha2::Digest::update(&mut hasher, &head);
        let rest = std::io::copy(&mut file, &mut HashWriter(&mut hasher)).ok()?;
        let (width, height) = match imagesize::blob_size(&head) {
            Ok(size) => (
                u32::try_from(size.width).ok(),
                u32::try_from(size.height).ok(),
            ),
            Err(_) => (None, None),
        };
        Some(ResourceInfo {
            name: self.name.clone(),
            size: head.len() as u64 + rest,
            media_type: media_type(&self.name).to_owned(),
            sha256: hex::encode(sha2::Digest::finalize(hasher)),
            width,
            height,
        })
    }
}

/// How much of a resource is read for its image size: every header
/// (an SVG's root element included) is well within it.
const HEADER_BYTES: u64 = 1 << 20;

/// Feeds what is written to a SHA-256.
struct HashWriter<'a>(&'a mut sha2::Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        sha2::Digest::update(self.0, bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The media type of a file named `name`, from its extension.
pub fn media_type(name: &str) -> &'static str {
    let extension = name
        .rsplit_once('.')
        .map(|(_, x)| x.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "svg" => "image/svg+xml",
        "ico" => "image/x-icon",
        "bmp" => "image/bmp",
        "tif" | "tiff" => "image/tiff",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "mp3" => "audio/mpeg",
        "ogg" => "audio/ogg",
        "wav" => "audio/wav",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "json" => "application/json",
        "csv" => "text/csv",
        "txt" => "text/plain",
        "md" => "text/markdown",
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "js" => "text/javascript",
        "xml" => "application/xml",
        "toml" => "application/toml",
        "yaml" | "yml" => "application/yaml",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_gets_its_size_type_and_hash() {
        let dir = tempfile::tempdir().unwrap();
        let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30"></svg>"#;
        std::fs::create_dir_all(dir.path().join("content/posts/trip")).unwrap();
        std::fs::write(dir.path().join("content/posts/trip/map.svg"), svg).unwrap();
        // A 1x1 PNG header: width and height at bytes 16-24.
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&[0, 0, 0, 3, 0, 0, 0, 2, 8, 6, 0, 0, 0]);
        std::fs::write(dir.path().join("content/posts/trip/dot.png"), &png).unwrap();
        let resource = |name: &str| Resource {
            name: name.into(),
            file: format!("content/posts/trip/{name}"),
            size: 0,
        };
        let png_info = resource("dot.png").info(dir.path()).unwrap();
        assert_eq!(png_info.media_type, "image/png");
        assert_eq!((png_info.width, png_info.height), (Some(3), Some(2)));
        assert_eq!(png_info.sha256, crate::input::content_hash(&png));
        let svg_info = resource("map.svg").info(dir.path()).unwrap();
        assert_eq!(svg_info.media_type, "image/svg+xml");
        assert!(resource("gone.png").info(dir.path()).is_none());
    }

    #[test]
    fn a_large_resource_is_hashed_whole_and_a_swapped_in_link_or_fifo_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let bundle = dir.path().join("content/posts/trip");
        std::fs::create_dir_all(&bundle).unwrap();
        let big: Vec<u8> = (0..3 * HEADER_BYTES).map(|i| (i % 251) as u8).collect();
        std::fs::write(bundle.join("big.bin"), &big).unwrap();
        let outside = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(outside.path(), "secret").unwrap();
        std::os::unix::fs::symlink(outside.path(), bundle.join("late.txt")).unwrap();
        let fifo = std::ffi::CString::new(bundle.join("pipe.bin").to_str().unwrap()).unwrap();
        // SAFETY: a valid C string naming a path in a folder of our own.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let resource = |name: &str| Resource {
            name: name.into(),
            file: format!("content/posts/trip/{name}"),
            size: 0,
        };
        let info = resource("big.bin").info(dir.path()).unwrap();
        assert_eq!(info.size, big.len() as u64);
        assert_eq!(info.sha256, crate::input::content_hash(&big));
        assert!(resource("late.txt").info(dir.path()).is_none());
        assert!(resource("pipe.bin").info(dir.path()).is_none());
    }

    #[test]
    fn media_types_by_extension() {
        assert_eq!(media_type("a.JPG"), "image/jpeg");
        assert_eq!(media_type("notes"), "application/octet-stream");
    }
}
