//! One command writing a site at a time: a lock on the site's folder.
//!
//! Two renders of one site (a `host render` while another runs, two jobs of
//! a CI matrix) would otherwise race on the output's staging folder. The
//! second takes its turn and says so, as cargo does for its build folder.
//! The lock is taken on the folder itself (`flock(2)` on its descriptor),
//! so a command that ends up changing nothing leaves no lock file behind.

use std::fs::{File, TryLockError};
use std::io;
use std::path::Path;

/// Held while a command writes the site; released when dropped (or when
/// the process ends, however it ends).
#[derive(Debug)]
pub struct SiteLock {
    _file: File,
}

/// What a command that waits prints, once.
pub const WAITING: &str = "Blocking waiting for another host command writing this site";

impl SiteLock {
    /// Take the lock of the site at `root`, waiting for it (and saying so
    /// on stderr) when another command holds it.
    pub fn acquire(root: &Path) -> io::Result<SiteLock> {
        let file = File::open(root)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                eprintln!("{WAITING} ({})", root.display());
                file.lock()?;
            }
            Err(TryLockError::Error(e)) => return Err(e),
        }
        Ok(SiteLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn a_second_writer_waits_for_the_first() {
        let site = tempfile::tempdir().unwrap();
        let first = SiteLock::acquire(site.path()).unwrap();
        let (tx, rx) = mpsc::channel();
        let root = site.path().to_path_buf();
        let waiter = std::thread::spawn(move || {
            let second = SiteLock::acquire(&root).unwrap();
            tx.send(()).unwrap();
            drop(second);
        });
        assert!(
            rx.recv_timeout(Duration::from_millis(200)).is_err(),
            "the second writer must wait while the first holds the lock"
        );
        drop(first);
        rx.recv_timeout(Duration::from_secs(10))
            .expect("the second writer goes on once the first is done");
        waiter.join().unwrap();
    }
}
