//! Reading files that come from outside (posts, scripts, `site.toml`) with
//! a size cap, so that a huge or endless file is a clear error, not an
//! exhausted memory or a hang.

use crate::diagnostics::Diagnostic;
use std::io::Read as _;
use std::path::Path;

/// Largest post or page.
pub const MAX_POST_BYTES: u64 = 4 << 20;
/// Largest script.
pub const MAX_SCRIPT_BYTES: u64 = 1 << 20;
/// Largest `site.toml`.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Why a capped read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be read.
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    /// The file is larger than the cap.
    #[error("larger than the limit of {}; it is skipped", size(*.limit))]
    TooLarge {
        /// The cap, in bytes.
        limit: u64,
    },
    /// The file is not text.
    #[error(transparent)]
    NotUtf8(#[from] NotUtf8),
    /// Not a regular file: a FIFO, a device or a socket, which a pulled
    /// site or an archive may put where a file is expected (reading a FIFO
    /// waits for a writer forever, a device may never end).
    #[error("not a regular file (a FIFO, a device or a socket)")]
    NotRegular,
}

impl ReadError {
    /// This error as a diagnostic of `file` (located for invalid UTF-8).
    pub fn to_diagnostic(&self, file: &str) -> Diagnostic {
        match self {
            ReadError::NotUtf8(e) => e.to_diagnostic(file),
            other => Diagnostic::error(file, 0, 0, other.to_string()),
        }
    }
}

/// Where bytes stop being UTF-8.
#[derive(Debug, thiserror::Error)]
#[error("not valid UTF-8 (byte {offset})")]
pub struct NotUtf8 {
    /// 1-based line of the first invalid byte.
    pub line: usize,
    /// 1-based column (in characters) of the first invalid byte.
    pub column: usize,
    /// Its byte offset.
    pub offset: usize,
}

impl NotUtf8 {
    /// This error as a diagnostic of `file` at the invalid byte.
    pub fn to_diagnostic(&self, file: &str) -> Diagnostic {
        Diagnostic::error(file, self.line, self.column, self.to_string())
    }
}

/// `bytes` as text, or where they stop being UTF-8.
pub fn utf8(bytes: &[u8]) -> Result<&str, NotUtf8> {
    std::str::from_utf8(bytes).map_err(|e| {
        let offset = e.valid_up_to();
        let valid = std::str::from_utf8(&bytes[..offset]).unwrap_or_default();
        let (line, column) = crate::diagnostics::line_col(valid, offset);
        NotUtf8 {
            line,
            column,
            offset,
        }
    })
}

/// The text of `path`, if it is UTF-8 of at most `limit` bytes.
pub fn read_text(path: &Path, limit: u64) -> Result<String, ReadError> {
    let bytes = read_capped(path, limit)?;
    utf8(&bytes)?;
    Ok(String::from_utf8(bytes).expect("checked just above"))
}

/// The bytes of `path`, if there are at most `limit` of them.
pub fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    read_capped_with_metadata(path, limit).map(|(bytes, _)| bytes)
}

/// [`read_capped`], with the metadata of the file it opened (as it was
/// when opened; `None` when it could not be read).
pub fn read_capped_with_metadata(
    path: &Path,
    limit: u64,
) -> Result<(Vec<u8>, Option<std::fs::Metadata>), ReadError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    // Opening a FIFO without O_NONBLOCK waits for a writer; it is refused
    // just below. A regular file reads the same either way.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    // Sized from the file's length, so that reading takes one call, not
    // one per doubling of the buffer; the cap holds whatever the length
    // says (a file growing while read).
    let meta = file.metadata().ok();
    if meta.as_ref().is_some_and(|m| !m.is_file()) {
        return Err(ReadError::NotRegular);
    }
    let len = meta.as_ref().map_or(0, |m| m.len()).min(limit + 1);
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok((bytes, meta))
}

/// The SHA-256 of a file's bytes, in hex: how posts and scripts are told
/// apart from their earlier versions.
pub fn content_hash(bytes: &[u8]) -> String {
    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes))
}

/// `bytes` for people: `4 MiB`, `1.5 KiB`, `12 bytes`.
pub fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / f64::from(1 << 20)),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} bytes"),
    }
}

/// `SOURCE_DATE_EPOCH`, when set to whole seconds since the epoch: the
/// reproducible-builds convention for "now".
pub fn source_date_epoch() -> Option<u64> {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)]
    fn a_fifo_or_a_device_is_refused_without_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("site.toml");
        let name = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid C string naming a path in a folder of our own.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        // With no writer, a blocking open would never return.
        assert!(matches!(
            read_capped(&fifo, 1024),
            Err(ReadError::NotRegular)
        ));
        assert!(matches!(
            read_capped(Path::new("/dev/zero"), 1024),
            Err(ReadError::NotRegular)
        ));
    }

    #[test]
    fn reads_up_to_the_cap_and_refuses_past_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![b'x'; 1024]).unwrap();
        assert_eq!(read_capped(&path, 1024).unwrap().len(), 1024);
        let err = read_capped(&path, 1023).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("larger than the limit of 1023 bytes"),
            "{err}"
        );
        assert!(matches!(
            read_capped(&dir.path().join("none"), 1),
            Err(ReadError::Io(_))
        ));
    }

    #[test]
    #[cfg(unix)]
    fn an_endless_file_is_not_read() {
        let err = read_capped(Path::new("/dev/zero"), MAX_POST_BYTES).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }

    #[test]
    fn invalid_utf8_is_located() {
        let err = utf8(b"ab\ncd\xffe").unwrap_err();
        assert_eq!((err.line, err.column, err.offset), (2, 3, 5));
        assert_eq!(
            err.to_diagnostic("f").to_string(),
            "f:2:3: error: not valid UTF-8 (byte 5)"
        );
        assert_eq!(utf8(b"ok").unwrap(), "ok");
    }

    #[test]
    fn sizes() {
        assert_eq!(size(4 << 20), "4 MiB");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(7), "7 bytes");
    }
}
