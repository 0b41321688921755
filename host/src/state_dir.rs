//! The site's `.blogmark/` folder: the database, the kept pages, the
//! `host serve` output. It may come from a pull, so a symbolic link there
//! (`.blogmark -> ~/x`, `.blogmark/site.db -> ~/.bashrc`) would make the
//! host write, or SQLite open, whatever it points to: refused instead.

use std::path::{Path, PathBuf};

/// The folder's name in a site.
pub const DIR: &str = ".blogmark";

/// A symbolic link where the host keeps its own files.
#[derive(Debug, thiserror::Error)]
#[error(
    "{path} is a symbolic link (to `{target}`): refusing to keep the site's state through it \
     (remove the link; `host` makes this folder itself)"
)]
pub struct LinkedState {
    /// The link.
    pub path: PathBuf,
    /// What it points to, as written in the link.
    pub target: String,
}

/// Check that neither `.blogmark/` of the site at `root` nor any of
/// `files` in it (paths relative to the site) is a symbolic link.
pub fn check(root: &Path, files: &[&str]) -> Result<(), LinkedState> {
    std::iter::once(DIR)
        .chain(files.iter().copied())
        .map(|relative| root.join(relative))
        .try_for_each(|path| refuse_link(&path))
}

/// The bytes of the regular file at `path` (one the host keeps in
/// `.blogmark/`), if it is one of at most `cap` bytes: a link there is not
/// followed, and a FIFO or a device is not read (an archive or a sync may
/// put one there, and reading it would block the render or never end).
pub fn read_regular(path: &Path, cap: u64) -> Option<Vec<u8>> {
    read_file(path, cap, false)
}

/// [`read_regular`] for a file the host wrote whole, which therefore has
/// no hole: a sparse file (`truncate -s 15G .blogmark/pages.cache`) is not
/// the host's, and is refused before its gigabytes of nothing are
/// allocated and read.
pub fn read_written(path: &Path, cap: u64) -> Option<Vec<u8>> {
    read_file(path, cap, true)
}

/// The regular file at `path` opened for reading, with its metadata, if it
/// is one: a link at `path` is not followed, and a FIFO or a device is not
/// waited on.
pub fn open_regular(path: &Path) -> Option<(std::fs::File, std::fs::Metadata)> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    let meta = file.metadata().ok()?;
    meta.is_file().then_some((file, meta))
}

fn read_file(path: &Path, cap: u64, dense: bool) -> Option<Vec<u8>> {
    use std::io::{Read as _, Seek as _};
    use std::os::fd::AsRawFd as _;
    let (mut file, meta) = open_regular(path)?;
    if meta.len() > cap {
        return None;
    }
    if dense {
        // SAFETY: an open descriptor; seeking moves only its own offset.
        let hole = unsafe { libc::lseek(file.as_raw_fd(), 0, libc::SEEK_HOLE) };
        if u64::try_from(hole).is_ok_and(|hole| hole < meta.len()) {
            return None;
        }
        file.rewind().ok()?;
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).ok()?);
    file.take(cap + 1).read_to_end(&mut bytes).ok()?;
    (bytes.len() as u64 <= cap).then_some(bytes)
}

/// What the file `file` of the site at `root` (a path relative to the
/// site, in `.blogmark/`) holds before its tag, when it is a regular file
/// of at most `cap` bytes, not reached through a link, and ends with this
/// machine's tag for `domain` (see [`crate::machine_key`]).
pub fn read_tagged(root: &Path, file: &str, domain: &str, cap: u64) -> Option<Vec<u8>> {
    use crate::machine_key::{MachineKey, TAG_LEN};
    check(root, &[file]).ok()?;
    let mut bytes = read_written(&root.join(file), cap)?;
    let content = bytes.len().checked_sub(TAG_LEN)?;
    let (head, tag) = bytes.split_at(content);
    if !MachineKey::get().verify(domain, &[head], tag) {
        return None;
    }
    bytes.truncate(content);
    Some(bytes)
}

/// Write `bytes` and this machine's tag for `domain` to the file `file` of
/// the site at `root`, as [`read_tagged`] reads it back.
pub fn write_tagged(
    root: &Path,
    file: &str,
    domain: &str,
    mut bytes: Vec<u8>,
) -> std::io::Result<()> {
    let tag = crate::machine_key::MachineKey::get().tag(domain, &[&bytes]);
    bytes.extend_from_slice(&tag);
    check(root, &[file]).map_err(std::io::Error::other)?;
    crate::atomic_file::write(&root.join(file), &bytes)
}

/// An error when `path` is a symbolic link.
pub fn refuse_link(path: &Path) -> Result<(), LinkedState> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(LinkedState {
            target: std::fs::read_link(path)
                .map(|t| t.display().to_string())
                .unwrap_or_else(|_| "?".into()),
            path: path.to_path_buf(),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_regular_file_within_the_cap_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"12345").unwrap();
        assert_eq!(read_regular(&file, 5).as_deref(), Some(&b"12345"[..]));
        assert_eq!(read_regular(&file, 4), None);
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert_eq!(read_regular(&link, 5), None);
        let fifo = dir.path().join("p");
        let name = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        assert_eq!(
            read_regular(&fifo, 5),
            None,
            "a FIFO is not read (nor waited on)"
        );
        assert_eq!(read_regular(dir.path(), 5), None);
    }

    #[test]
    fn a_sparse_file_is_not_read_as_one_the_host_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, vec![7u8; 1 << 16]).unwrap();
        assert_eq!(read_written(&file, 1 << 20).map(|b| b.len()), Some(1 << 16));
        // A hole of a gigabyte, then one byte.
        let sparse = std::fs::File::create(dir.path().join("s")).unwrap();
        sparse.set_len(1 << 30).unwrap();
        std::os::unix::fs::FileExt::write_at(&sparse, b"x", (1 << 30) - 1).unwrap();
        assert_eq!(read_written(&dir.path().join("s"), 2 << 30), None);
    }
}
