//! The workbench's reads and writes of `scripts/NAME.py`. Every write is
//! atomic and says which version of the file it replaces: a file changed on
//! disk since the editor opened it is a conflict, never overwritten.

use crate::input::{MAX_SCRIPT_BYTES, ReadError};
use crate::scripts::templates::name_problem;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A script's text and the version it was read at.
#[derive(Debug, serde::Serialize)]
pub struct Opened {
    /// `scripts/NAME.py`.
    pub path: String,
    /// Its text.
    pub text: String,
    /// The SHA-256 of its bytes: what a save says it replaces.
    pub version: String,
}

/// What stopped a read or a write.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Not a script name (a path, `..`, upper case, ...).
    #[error("{0}")]
    BadName(String),
    /// No such script.
    #[error("scripts/{0}.py does not exist")]
    Missing(String),
    /// A link: the site's scripts are plain files.
    #[error("scripts/{0}.py is a symbolic link; the workbench edits only plain files")]
    Link(String),
    /// Larger than a script may be: at least this many bytes.
    #[error("a script may have at most {MAX_SCRIPT_BYTES} bytes; this one has {0} or more")]
    TooLarge(usize),
    /// Not UTF-8.
    #[error("scripts/{0}.py is not UTF-8 text")]
    NotText(String),
    /// A FIFO, a device or a socket, which a pulled site may put where a
    /// script is expected.
    #[error("scripts/{0}.py is not a regular file (a FIFO, a device or a socket)")]
    NotRegular(String),
    /// The file changed since the editor read it.
    #[error("scripts/{slug}.py changed on disk since it was opened")]
    Conflict {
        /// The script.
        slug: String,
        /// What is on disk now (`None`: it was deleted).
        current: Option<Box<Opened>>,
    },
    /// The file system said no.
    #[error("scripts/{slug}.py: {source}")]
    Io {
        /// The script.
        slug: String,
        /// Why.
        source: std::io::Error,
    },
}

/// The version of a file whose bytes are `bytes`: their SHA-256.
pub fn version_of(bytes: &[u8]) -> String {
    crate::input::content_hash(bytes)
}

fn check_name(slug: &str) -> Result<(), FileError> {
    match name_problem(slug) {
        Some(problem) => Err(FileError::BadName(problem)),
        None => Ok(()),
    }
}

/// Refuse `text` as the script `slug` unless the name is a script's name
/// and the text is within a script's size: what a save checks, and what a
/// check or run of unsaved text checks too.
pub fn check_draft(slug: &str, text: &str) -> Result<(), FileError> {
    check_name(slug)?;
    check_size(text)
}

fn check_size(text: &str) -> Result<(), FileError> {
    if text.len() as u64 > MAX_SCRIPT_BYTES {
        return Err(FileError::TooLarge(text.len()));
    }
    Ok(())
}

/// The site's scripts folder, one writer at a time.
pub struct ScriptFiles {
    root: PathBuf,
    writing: Mutex<()>,
}

impl ScriptFiles {
    /// The scripts of the site at `root`.
    pub fn new(root: &Path) -> ScriptFiles {
        ScriptFiles {
            root: root.to_path_buf(),
            writing: Mutex::new(()),
        }
    }

    fn path(&self, slug: &str) -> Result<PathBuf, FileError> {
        check_name(slug)?;
        let path = self.root.join("scripts").join(format!("{slug}.py"));
        if crate::site_paths::is_link(&path)
            || crate::site_paths::is_link(&self.root.join("scripts"))
        {
            return Err(FileError::Link(slug.to_owned()));
        }
        Ok(path)
    }

    /// The script `slug` as it is on disk.
    pub fn open(&self, slug: &str) -> Result<Opened, FileError> {
        let path = self.path(slug)?;
        let text = match crate::input::read_text(&path, MAX_SCRIPT_BYTES) {
            Ok(text) => text,
            Err(ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(FileError::Missing(slug.to_owned()));
            }
            Err(ReadError::TooLarge { limit }) => {
                return Err(FileError::TooLarge(limit as usize + 1));
            }
            Err(ReadError::NotUtf8(_)) => return Err(FileError::NotText(slug.to_owned())),
            Err(ReadError::NotRegular) => return Err(FileError::NotRegular(slug.to_owned())),
            Err(ReadError::Io(source)) => {
                return Err(FileError::Io {
                    slug: slug.to_owned(),
                    source,
                });
            }
        };
        let version = version_of(text.as_bytes());
        Ok(Opened {
            path: format!("scripts/{slug}.py"),
            text,
            version,
        })
    }

    /// The version on disk, `None` when there is no file.
    fn current(&self, slug: &str) -> Result<Option<Opened>, FileError> {
        match self.open(slug) {
            Ok(opened) => Ok(Some(opened)),
            Err(FileError::Missing(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Refuse unless the file is at `expected` (`None`: no file yet).
    fn expect(&self, slug: &str, expected: Option<&str>) -> Result<(), FileError> {
        let current = self.current(slug)?;
        if current.as_ref().map(|c| c.version.as_str()) == expected {
            Ok(())
        } else {
            Err(FileError::Conflict {
                slug: slug.to_owned(),
                current: current.map(Box::new),
            })
        }
    }

    /// Replace the script `slug` (at version `expected`, `None` to create
    /// it) with `text`; returns the new version.
    pub fn save(
        &self,
        slug: &str,
        text: &str,
        expected: Option<&str>,
    ) -> Result<String, FileError> {
        let path = self.path(slug)?;
        check_size(text)?;
        let _writing = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        self.expect(slug, expected)?;
        let io = |source| FileError::Io {
            slug: slug.to_owned(),
            source,
        };
        std::fs::create_dir_all(self.root.join("scripts")).map_err(io)?;
        // Staged outside scripts/, so the watcher sees one finished file.
        crate::atomic_file::write_via(&path, text.as_bytes(), &self.root.join(".blogmark/tmp"))
            .map_err(io)?;
        Ok(version_of(text.as_bytes()))
    }

    /// Delete the script `slug`, which must be at version `expected`.
    pub fn delete(&self, slug: &str, expected: &str) -> Result<(), FileError> {
        let path = self.path(slug)?;
        let _writing = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        self.expect(slug, Some(expected))?;
        std::fs::remove_file(&path).map_err(|source| FileError::Io {
            slug: slug.to_owned(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_open_conflict_delete() {
        let site = tempfile::tempdir().unwrap();
        let files = ScriptFiles::new(site.path());
        assert!(matches!(files.open("nope"), Err(FileError::Missing(_))));
        let v1 = files.save("one", "x = 1\n", None).unwrap();
        assert!(matches!(
            files.save("one", "x = 9\n", None),
            Err(FileError::Conflict {
                current: Some(_),
                ..
            })
        ));
        let v2 = files.save("one", "x = 2\n", Some(&v1)).unwrap();
        std::fs::write(site.path().join("scripts/one.py"), "x = 3\n").unwrap();
        match files.save("one", "x = 4\n", Some(&v2)) {
            Err(FileError::Conflict {
                current: Some(now), ..
            }) => assert_eq!(now.text, "x = 3\n"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            files.delete("one", &v2),
            Err(FileError::Conflict { .. })
        ));
        let now = files.open("one").unwrap();
        files.delete("one", &now.version).unwrap();
        assert!(!site.path().join("scripts/one.py").exists());
        assert!(
            std::fs::read_dir(site.path().join("scripts"))
                .unwrap()
                .next()
                .is_none(),
            "nothing staged beside the scripts"
        );
    }

    #[test]
    fn names_sizes_and_links_are_refused() {
        let site = tempfile::tempdir().unwrap();
        let files = ScriptFiles::new(site.path());
        for bad in ["../site", "a/b", "A", ""] {
            assert!(
                matches!(files.open(bad), Err(FileError::BadName(_))),
                "{bad}"
            );
            assert!(matches!(
                files.save(bad, "", None),
                Err(FileError::BadName(_))
            ));
        }
        let big = "#".repeat(MAX_SCRIPT_BYTES as usize + 1);
        assert!(matches!(
            files.save("big", &big, None),
            Err(FileError::TooLarge(_))
        ));
        std::fs::create_dir_all(site.path().join("scripts")).unwrap();
        std::fs::write(site.path().join("secret.txt"), "keep").unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(
                site.path().join("secret.txt"),
                site.path().join("scripts/link.py"),
            )
            .unwrap();
            assert!(matches!(files.open("link"), Err(FileError::Link(_))));
            assert!(matches!(
                files.save("link", "x", None),
                Err(FileError::Link(_))
            ));
            assert_eq!(
                std::fs::read_to_string(site.path().join("secret.txt")).unwrap(),
                "keep"
            );
            let fifo = site.path().join("scripts/pipe.py");
            let name = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
            // SAFETY: a valid C string naming a path in a folder of our own.
            assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
            let error = files.open("pipe").unwrap_err();
            assert!(matches!(error, FileError::NotRegular(_)), "{error:?}");
            assert!(error.to_string().contains("not a regular file"), "{error}");
        }
    }
}
