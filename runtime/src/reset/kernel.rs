//! Linux's write tracking for one range of memory: a userfaultfd in
//! asynchronous write-protect mode, read back with `PAGEMAP_SCAN`.
//!
//! With `UFFD_FEATURE_WP_ASYNC` the kernel resolves a write to a protected
//! page by itself (no fault handler thread) and clears the page's protection;
//! `PAGEMAP_SCAN` then reports the page as written. With
//! `UFFD_FEATURE_WP_UNPOPULATED` pages never touched are protected too, so
//! the first write to a zero page of the heap is seen like any other.
//! The userfaultfd is created with `UFFD_USER_MODE_ONLY`, which an ordinary
//! user may do whatever `vm.unprivileged_userfaultfd` says. Both features and
//! the scan ioctl need Linux 6.7.

use std::io;
use std::ops::Range;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Size of a page as the tracker sees it.
pub(crate) const PAGE: usize = 4096;

const UFFD_API: u64 = 0xAA;
const UFFD_USER_MODE_ONLY: libc::c_int = 1;
const UFFD_FEATURE_WP_UNPOPULATED: u64 = 1 << 13;
const UFFD_FEATURE_WP_ASYNC: u64 = 1 << 15;
const UFFDIO_REGISTER_MODE_WP: u64 = 1 << 1;
const UFFDIO_WRITEPROTECT_MODE_WP: u64 = 1 << 0;
// _IOWR(0xAA, nr, size) of the structs below.
const UFFDIO_API: libc::c_ulong = 0xc018_aa3f;
const UFFDIO_REGISTER: libc::c_ulong = 0xc020_aa00;
const UFFDIO_WRITEPROTECT: libc::c_ulong = 0xc018_aa06;
// _IOWR('f', 16, struct pm_scan_arg)
const PAGEMAP_SCAN: libc::c_ulong = 0xc060_6610;
const PAGE_IS_WRITTEN: u64 = 1 << 1;
const PAGE_IS_FILE: u64 = 1 << 2;
const PAGE_IS_PRESENT: u64 = 1 << 3;
const PAGE_IS_SWAPPED: u64 = 1 << 4;
const PM_SCAN_CHECK_WPASYNC: u64 = 1 << 1;

#[repr(C)]
struct UffdioApi {
    api: u64,
    features: u64,
    ioctls: u64,
}

#[repr(C)]
struct UffdioRange {
    start: u64,
    len: u64,
}

#[repr(C)]
struct UffdioRegister {
    range: UffdioRange,
    mode: u64,
    ioctls: u64,
}

#[repr(C)]
struct UffdioWriteprotect {
    range: UffdioRange,
    mode: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct PageRegion {
    start: u64,
    end: u64,
    categories: u64,
}

#[repr(C)]
#[derive(Default)]
struct PmScanArg {
    size: u64,
    flags: u64,
    start: u64,
    end: u64,
    walk_end: u64,
    vec: u64,
    vec_len: u64,
    max_pages: u64,
    category_inverted: u64,
    category_mask: u64,
    category_anyof_mask: u64,
    return_mask: u64,
}

/// Set by tests and by users who want the `instance` fallback without
/// changing configuration: the tracker then refuses to start.
pub(crate) const DISABLE_ENV: &str = "BLOGMARK_NO_USERFAULTFD";

/// Tracks writes to one registered range.
pub(crate) struct WriteTracker {
    uffd: OwnedFd,
    pagemap: OwnedFd,
    range: Range<usize>,
    regions: Vec<PageRegion>,
}

fn check(ret: libc::c_int, what: &str) -> io::Result<()> {
    if ret < 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(e.kind(), format!("{what}: {e}")));
    }
    Ok(())
}

impl WriteTracker {
    /// Start tracking `range` (page-aligned, mapped private and anonymous).
    /// Nothing is protected until [`WriteTracker::protect`].
    pub(crate) fn new(range: Range<usize>) -> io::Result<Self> {
        if std::env::var_os(DISABLE_ENV).is_some_and(|v| !v.is_empty() && v != "0") {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("userfaultfd is disabled by ${DISABLE_ENV}"),
            ));
        }
        debug_assert!(range.start.is_multiple_of(PAGE) && range.end.is_multiple_of(PAGE));
        // SAFETY: plain system calls on descriptors this function owns and
        // structs laid out as the kernel's.
        unsafe {
            let fd = libc::syscall(
                libc::SYS_userfaultfd,
                libc::O_CLOEXEC | libc::O_NONBLOCK | UFFD_USER_MODE_ONLY,
            );
            if fd < 0 {
                let e = io::Error::last_os_error();
                return Err(io::Error::new(e.kind(), format!("userfaultfd: {e}")));
            }
            let uffd = OwnedFd::from_raw_fd(fd as libc::c_int);
            let mut api = UffdioApi {
                api: UFFD_API,
                features: UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED,
                ioctls: 0,
            };
            check(
                libc::ioctl(uffd.as_raw_fd(), UFFDIO_API, &mut api),
                "userfaultfd asynchronous write-protect (Linux 6.7+)",
            )?;
            if range.end > range.start {
                let mut register = UffdioRegister {
                    range: UffdioRange {
                        start: range.start as u64,
                        len: (range.end - range.start) as u64,
                    },
                    mode: UFFDIO_REGISTER_MODE_WP,
                    ioctls: 0,
                };
                check(
                    libc::ioctl(uffd.as_raw_fd(), UFFDIO_REGISTER, &mut register),
                    "userfaultfd register",
                )?;
            }
            let pagemap = libc::open(
                c"/proc/self/pagemap".as_ptr(),
                libc::O_RDONLY | libc::O_CLOEXEC,
            );
            check(pagemap, "open /proc/self/pagemap")?;
            Ok(WriteTracker {
                uffd,
                pagemap: OwnedFd::from_raw_fd(pagemap),
                range,
                regions: vec![PageRegion::default(); 512],
            })
        }
    }

    /// Write-protect (or, with `on == false`, unprotect) pages `pages` of
    /// the range, counted from its start.
    pub(crate) fn protect(&self, pages: Range<usize>, on: bool) -> io::Result<()> {
        if pages.is_empty() {
            return Ok(());
        }
        let start = self.range.start + pages.start * PAGE;
        debug_assert!(self.range.start + pages.end * PAGE <= self.range.end);
        let mut wp = UffdioWriteprotect {
            range: UffdioRange {
                start: start as u64,
                len: (pages.len() * PAGE) as u64,
            },
            mode: if on { UFFDIO_WRITEPROTECT_MODE_WP } else { 0 },
        };
        // SAFETY: an ioctl on our descriptor with a struct of the kernel's layout.
        check(
            unsafe { libc::ioctl(self.uffd.as_raw_fd(), UFFDIO_WRITEPROTECT, &mut wp) },
            "userfaultfd write-protect",
        )
    }

    /// Append to `out` the runs of pages (counted from the range's start)
    /// written since they were last protected, or never protected.
    pub(crate) fn written(&mut self, out: &mut Vec<Range<usize>>) -> io::Result<()> {
        self.scan_categories(
            PM_SCAN_CHECK_WPASYNC,
            PAGE_IS_WRITTEN,
            PAGE_IS_WRITTEN,
            |_| true,
            out,
        )
    }

    /// Append to `out` the runs of pages (counted from the range's start)
    /// that hold a copy of their own, when the range is a private mapping
    /// of a file: present pages that are not the file's (a write made them
    /// the process's own), and pages swapped out since they were written.
    /// Every other page reads as the file does. A page swapped out while
    /// protected is not listed: the kernel reports it as it reports a
    /// page never touched (both are protected entries with no page).
    pub(crate) fn own_copies(&mut self, out: &mut Vec<Range<usize>>) -> io::Result<()> {
        let wanted = PAGE_IS_WRITTEN | PAGE_IS_FILE | PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
        self.scan_categories(
            0,
            0,
            wanted,
            |categories| {
                let present = categories & PAGE_IS_PRESENT != 0;
                let swapped = categories & PAGE_IS_SWAPPED != 0;
                let file = categories & PAGE_IS_FILE != 0;
                let written = categories & PAGE_IS_WRITTEN != 0;
                (present && !file) || (swapped && written)
            },
            out,
        )
    }

    /// Append to `out` the runs of pages whose categories (those of
    /// `returned`) match `mask` and pass `keep`.
    fn scan_categories(
        &mut self,
        flags: u64,
        mask: u64,
        returned: u64,
        keep: impl Fn(u64) -> bool,
        out: &mut Vec<Range<usize>>,
    ) -> io::Result<()> {
        let end = self.range.end as u64;
        let mut start = self.range.start as u64;
        while start < end {
            let mut arg = PmScanArg {
                size: size_of::<PmScanArg>() as u64,
                flags,
                start,
                end,
                vec: self.regions.as_mut_ptr() as u64,
                vec_len: self.regions.len() as u64,
                category_mask: mask,
                return_mask: returned,
                ..Default::default()
            };
            // SAFETY: the kernel writes at most `vec_len` regions into `vec`.
            let found = unsafe { libc::ioctl(self.pagemap.as_raw_fd(), PAGEMAP_SCAN, &mut arg) };
            check(found, "PAGEMAP_SCAN")?;
            for region in &self.regions[..found as usize] {
                if !keep(region.categories) {
                    continue;
                }
                let first = (region.start as usize - self.range.start) / PAGE;
                let last = (region.end as usize - self.range.start) / PAGE;
                match out.last_mut() {
                    Some(run) if run.end == first => run.end = last,
                    _ => out.push(first..last),
                }
            }
            if arg.walk_end <= start {
                return Err(io::Error::other("PAGEMAP_SCAN made no progress"));
            }
            start = arg.walk_end;
        }
        Ok(())
    }
}

/// A private mapping of some pages, anonymous or of a file, unmapped when
/// dropped.
pub(crate) struct Pages {
    base: usize,
    len: usize,
}

impl Pages {
    fn map(count: usize) -> io::Result<Pages> {
        Pages::mapped(count, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1)
    }

    /// A private, writable mapping of `file`'s first `count` pages.
    #[cfg(test)]
    pub(crate) fn map_file(file: &std::fs::File, count: usize) -> io::Result<Pages> {
        Pages::mapped(count, libc::MAP_PRIVATE, file.as_raw_fd())
    }

    /// `count` readable and writable pages mapped with `flags` from `fd`
    /// (-1 for none).
    fn mapped(count: usize, flags: libc::c_int, fd: libc::c_int) -> io::Result<Pages> {
        let len = count * PAGE;
        // SAFETY: a new private mapping (anonymous, or of the caller's
        // file), owned by the value.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                fd,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Pages {
            base: base as usize,
            len,
        })
    }

    pub(crate) fn range(&self) -> Range<usize> {
        self.base..self.base + self.len
    }

    fn write(&self, page: usize, offset: usize) {
        assert!(page * PAGE + offset < self.len);
        // SAFETY: inside the mapping, checked above.
        unsafe { *((self.base + page * PAGE + offset) as *mut u8) = 1 };
    }
}

impl Drop for Pages {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `map` or `map_file`, no longer used.
        unsafe { libc::munmap(self.base as *mut libc::c_void, self.len) };
    }
}

/// Whether this process may track writes as the reset isolation needs:
/// `Ok` or the reason it may not.
pub(crate) fn probe() -> Result<(), String> {
    // SAFETY: sysconf has no preconditions.
    let page_size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if page_size != PAGE as libc::c_long {
        return Err(format!(
            "the tracker works in 4 KiB pages and this kernel's are {page_size} bytes"
        ));
    }
    const PAGES: usize = 4;
    let pages = Pages::map(PAGES).map_err(|e| format!("mmap: {e}"))?;
    let mut tracker = WriteTracker::new(pages.range()).map_err(|e| e.to_string())?;
    tracker.protect(0..PAGES, true).map_err(|e| e.to_string())?;
    pages.write(2, 7);
    let mut written = Vec::new();
    tracker.written(&mut written).map_err(|e| e.to_string())?;
    if written.len() != 1 || written[0] != (2..3) {
        return Err(format!(
            "PAGEMAP_SCAN reported pages {written:?} after a write to page 2"
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(
    clippy::single_range_in_vec_init,
    reason = "lists of page runs that hold one run"
)]
mod tests {
    use super::*;

    #[test]
    fn a_file_mappings_own_copies_are_the_pages_written_whether_protected_or_not() {
        if let Err(why) = probe() {
            eprintln!("skipped: this kernel cannot track writes ({why})");
            return;
        }
        use std::io::Write as _;
        const PAGES: usize = 8;
        // On the disk the cache folder is on, as a rule, not a tmpfs (whose
        // files are shared memory, tracked another way).
        let mut file = tempfile::tempfile_in(env!("CARGO_MANIFEST_DIR")).unwrap();
        file.write_all(&vec![7u8; PAGES * PAGE]).unwrap();
        let pages = Pages::map_file(&file, PAGES).unwrap();
        let mut tracker = WriteTracker::new(pages.range()).unwrap();
        tracker.protect(0..PAGES, true).unwrap();
        let mut own = Vec::new();
        tracker.own_copies(&mut own).unwrap();
        assert!(own.is_empty(), "{own:?}");
        // Read pages hold the file's pages; a written one is its own copy.
        // SAFETY: inside the mapping.
        let read = unsafe { *((pages.base + PAGE + 3) as *const u8) };
        assert_eq!(read, 7);
        pages.write(3, 0);
        pages.write(4, 9);
        tracker.own_copies(&mut own).unwrap();
        assert_eq!(own, [3..5]);
        // Protected again (as a reset leaves a page it restored), a copy
        // is still listed: a write the tracking missed would show there.
        let mut written = Vec::new();
        tracker.written(&mut written).unwrap();
        assert_eq!(written, [3..5]);
        tracker.protect(3..5, true).unwrap();
        written.clear();
        tracker.written(&mut written).unwrap();
        assert!(written.is_empty(), "{written:?}");
        own.clear();
        tracker.own_copies(&mut own).unwrap();
        assert_eq!(own, [3..5]);
        // So is a page written while unprotected (the hot set's).
        tracker.protect(6..7, false).unwrap();
        pages.write(6, 1);
        own.clear();
        tracker.own_copies(&mut own).unwrap();
        assert_eq!(own, [3..5, 6..7]);
    }

    #[test]
    fn writes_are_seen_page_by_page_until_protected_again() {
        if let Err(why) = probe() {
            eprintln!("skipped: this kernel cannot track writes ({why})");
            return;
        }
        const PAGES: usize = 8;
        let pages = Pages::map(PAGES).unwrap();
        let mut tracker = WriteTracker::new(pages.range()).unwrap();
        tracker.protect(0..PAGES, true).unwrap();
        let mut written = Vec::new();
        tracker.written(&mut written).unwrap();
        assert!(written.is_empty(), "{written:?}");
        for page in [1, 5, 6] {
            pages.write(page, 100);
        }
        tracker.written(&mut written).unwrap();
        assert_eq!(written, [1..2, 5..7]);
        tracker.protect(5..7, true).unwrap();
        written.clear();
        tracker.written(&mut written).unwrap();
        assert_eq!(written, [1..2]);
        tracker.protect(0..PAGES, false).unwrap();
        written.clear();
        tracker.written(&mut written).unwrap();
        assert_eq!(written, [0..PAGES], "unprotected pages count as written");
    }
}
