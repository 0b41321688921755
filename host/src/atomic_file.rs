//! Replacing a file so that no reader, and no crash, ever sees half of it.

use std::io::Write as _;
use std::path::Path;

/// Write `bytes` to `path` through a temporary file in the same directory
/// and a rename. A new file gets the mode a plain write gives under the
/// process's umask (0644 with umask 022), as Hugo's and Zola's files do; an
/// existing file keeps its permissions (a mode set on purpose survives a
/// render).
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    write_in(path, bytes, dir, true)
}

/// [`write()`] for a path the user named on the command line
/// (`--stats-json FILE`): a device, a FIFO or a socket there (`/dev/null`,
/// `/dev/stdout`, a pipe), or a link to one, is opened and written in
/// place, as a shell redirection would; never renamed over. Anything else
/// is replaced atomically.
pub fn write_named(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let special = std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir());
    if special {
        let mut file = std::fs::OpenOptions::new().write(true).open(path)?;
        file.write_all(bytes)?;
        return file.flush();
    }
    write(path, bytes)
}

/// Like [`write()`], with the temporary file in `staging` (made if missing):
/// a process killed mid-write then leaves its partial file there, never
/// beside the real ones. When `staging` is on another file system than
/// `path`, the file is staged beside `path` instead.
pub fn write_via(path: &Path, bytes: &[u8], staging: &Path) -> std::io::Result<()> {
    // A staging folder that is a link, or is in one (`.blogmark -> ~`, from
    // a pull), would take the temporary file elsewhere: staged beside
    // `path` instead.
    let linked = [Some(staging), staging.parent()]
        .into_iter()
        .flatten()
        .any(|p| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_symlink()));
    if linked {
        return write(path, bytes);
    }
    std::fs::create_dir_all(staging)?;
    write_staged(path, bytes, staging, true)
}

/// [`write_via`] for a caller writing many files through one `staging`
/// folder it made already: `existing` says whether a file may be at `path`
/// (its permissions are then kept); a new file is written without that
/// look. Two system calls fewer per file, for a render writing thousands.
pub fn write_staged(
    path: &Path,
    bytes: &[u8],
    staging: &Path,
    existing: bool,
) -> std::io::Result<()> {
    match write_in(path, bytes, staging, existing) {
        Err(e) if e.kind() == std::io::ErrorKind::CrossesDevices => write(path, bytes),
        other => other,
    }
}

/// [`write_staged`] with the bytes streamed from the file `source`, never
/// held whole in memory; `source` being a symbolic link is an error.
pub fn copy_staged(
    source: &Path,
    path: &Path,
    staging: &Path,
    existing: bool,
) -> std::io::Result<()> {
    let fill = |tmp: &mut std::fs::File| copy_into(source, tmp);
    match stage_in(path, staging, existing, &fill) {
        Err(e) if e.kind() == std::io::ErrorKind::CrossesDevices => {
            stage_in(path, parent(path), existing, &fill)
        }
        other => other,
    }
}

/// Stream the file `source` into `to`; `source` being a symbolic link is
/// an error.
pub fn copy_into(source: &Path, to: &mut std::fs::File) -> std::io::Result<()> {
    let mut from = open_no_link(source)?;
    std::io::copy(&mut from, to)?;
    Ok(())
}

/// Whether the regular file `old` holds the same bytes as `source`,
/// compared by size then by streamed blocks; any error reads as no.
pub fn same_content(source: &Path, old: &Path) -> bool {
    use std::io::Read as _;
    let compare = || -> std::io::Result<bool> {
        let mut a = open_no_link(source)?;
        let mut b = open_no_link(old)?;
        if a.metadata()?.len() != b.metadata()?.len() {
            return Ok(false);
        }
        let (mut x, mut y) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
        loop {
            let n = a.read(&mut x)?;
            if n == 0 {
                return Ok(b.read(&mut y[..1])? == 0);
            }
            b.read_exact(&mut y[..n])?;
            if x[..n] != y[..n] {
                return Ok(false);
            }
        }
    };
    compare().unwrap_or(false)
}

/// Open the regular file at `path` for reading, refusing a link there.
fn open_no_link(path: &Path) -> std::io::Result<std::fs::File> {
    if std::fs::symlink_metadata(path)?.file_type().is_symlink() {
        return Err(std::io::Error::other(format!(
            "{} is a symbolic link: not followed",
            path.display()
        )));
    }
    std::fs::File::open(path)
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

fn write_in(path: &Path, bytes: &[u8], staging: &Path, existing: bool) -> std::io::Result<()> {
    stage_in(path, staging, existing, &|tmp| tmp.write_all(bytes))
}

fn stage_in(
    path: &Path,
    staging: &Path,
    existing: bool,
    fill: &dyn Fn(&mut std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut builder = tempfile::Builder::new();
    // A temporary file is private (0600) by default; asking for 0666 lets
    // the kernel apply the umask, as `open(2)` does for any new file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(staging)?;
    fill(tmp.as_file_mut())?;
    // Lstat: a link at `path` is replaced by the rename, and the mode of
    // whatever it points to is none of this file's business.
    if existing
        && let Ok(metadata) = std::fs::symlink_metadata(path)
        && metadata.is_file()
    {
        tmp.as_file().set_permissions(metadata.permissions())?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_and_keeps_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.md");
        std::fs::write(&path, "old").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        }
        super::write(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o640);
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn a_new_file_is_not_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.html");
        super::write(&path, b"x").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let umask = status
            .lines()
            .find_map(|l| l.strip_prefix("Umask:"))
            .map(|v| u32::from_str_radix(v.trim(), 8).unwrap())
            .expect("Linux reports the umask");
        assert_eq!(mode, 0o666 & !umask, "{mode:o} under umask {umask:o}");
    }
}
