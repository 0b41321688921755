//! Linear memories the runtime maps itself (wasmtime's `MemoryCreator`), so
//! that it knows where each one lives and can track and restore its pages.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use wasmtime::{LinearMemory, MemoryCreator, MemoryType};

/// Where one linear memory lives and how large it is now.
#[derive(Debug)]
pub(crate) struct Region {
    base: usize,
    size: AtomicUsize,
    /// Set when a mapping into the region failed: the reservation is then
    /// never unmapped, since part of it may belong to someone else by then.
    leaked: std::sync::atomic::AtomicBool,
}

impl Region {
    /// Address of the first byte.
    pub(crate) fn base(&self) -> usize {
        self.base
    }

    /// Accessible bytes now (grows with `memory.grow`).
    pub(crate) fn size(&self) -> usize {
        self.size.load(Ordering::Acquire)
    }

    /// A region over memory the caller mapped (and unmaps), for tests.
    #[cfg(test)]
    pub(crate) fn over(base: usize, size: usize) -> Region {
        Region {
            base,
            size: AtomicUsize::new(size),
            leaked: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Whether a mapping into the region failed (see [`Region::map_file`]):
    /// its instance must not run.
    pub(crate) fn leaked(&self) -> bool {
        self.leaked.load(Ordering::Acquire)
    }

    /// Replace the region's first `len` bytes (all accessible, a whole
    /// number of pages) with a private, writable mapping of `file` from
    /// `offset`: the memory then reads as the file, and a page the guest
    /// writes becomes its own copy. Nothing is read or copied up front.
    /// After a failure the region must not be used: its instance is dropped
    /// and its reservation left mapped (see [`Region::leaked`]).
    ///
    /// # Safety
    ///
    /// No guest may be running in the region, and nothing may hold a
    /// reference into its first `len` bytes.
    pub(crate) unsafe fn map_file(
        &self,
        file: &std::fs::File,
        offset: u64,
        len: usize,
    ) -> std::io::Result<()> {
        use std::os::fd::AsRawFd as _;
        if len > self.size() || !len.is_multiple_of(4096) {
            return Err(std::io::Error::other(
                "a mapping past the memory's size, or not of whole pages",
            ));
        }
        let offset = libc::off_t::try_from(offset).map_err(std::io::Error::other)?;
        // SAFETY: `MAP_FIXED` over `len` bytes of our own reservation,
        // accessible now (checked above) and so inside it; the caller
        // vouches that nothing uses them.
        let mapped = unsafe {
            libc::mmap(
                self.base as *mut libc::c_void,
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_FIXED,
                file.as_raw_fd(),
                offset,
            )
        };
        if mapped == libc::MAP_FAILED {
            // Before Linux 6.12 a failed `MAP_FIXED` may have unmapped the
            // range already, and another thread's mapping may land in the
            // hole: nothing of this reservation is touched or unmapped
            // again (see `Region::leaked`).
            self.leaked.store(true, Ordering::Release);
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
}

thread_local! {
    /// Memories created on this thread since the last `take_created`:
    /// instantiation is synchronous, so these are the new instance's.
    static CREATED: RefCell<Vec<Arc<Region>>> = const { RefCell::new(Vec::new()) };
}

thread_local! {
    /// Sizes the next memories created on this thread start at, in order,
    /// and whether to populate them (see [`with_initial_sizes`]).
    static SIZES: RefCell<std::collections::VecDeque<(usize, bool)>> =
        const { RefCell::new(std::collections::VecDeque::new()) };
}

/// Run `instantiate` with the memories it creates starting at `sizes`
/// bytes, in creation order, rather than at their declared minimum: an
/// instance about to be filled from a larger image (see `crate::preload`).
/// Wasmtime reads a memory's size from it when it is created, so the
/// guest sees these sizes from the start. A memory whose flag is set is
/// populated whole (every page is about to be written).
pub(crate) fn with_initial_sizes<R>(sizes: &[(usize, bool)], instantiate: impl FnOnce() -> R) -> R {
    SIZES.with(|s| *s.borrow_mut() = sizes.iter().copied().collect());
    let made = instantiate();
    SIZES.with(|s| s.borrow_mut().clear());
    made
}

thread_local! {
    /// Whether memories created on this thread now back an instance that
    /// is never reset (see [`for_one_shot`]).
    static ONE_SHOT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Run `instantiate` with the memories it creates backed by transparent
/// huge pages where the kernel offers them: for an instance that serves one
/// request and is dropped, never reset in place (whose dirty-page tracking
/// works page by page). Filling the guest's 14 MB of data segments then
/// takes a few faults rather than 3,500: a trivial macro in a new process
/// went from 24 ms to 18-20 ms (medians of 20).
pub(crate) fn for_one_shot<R>(instantiate: impl FnOnce() -> R) -> R {
    ONE_SHOT.with(|one| one.set(true));
    let made = instantiate();
    ONE_SHOT.with(|one| one.set(false));
    made
}

/// The memories created on this thread since the last call.
pub(crate) fn take_created() -> Vec<Arc<Region>> {
    CREATED.with(|created| std::mem::take(&mut *created.borrow_mut()))
}

/// Maps every linear memory as a private anonymous reservation.
pub(crate) struct HostMemoryCreator;

struct HostMemory {
    region: Arc<Region>,
    reserved: usize,
    mapped: usize,
}

// SAFETY: `new_memory` returns a reservation of `reserved + guard` bytes whose
// first `minimum` are readable and writable, as the trait requires; the
// reservation never moves, and `grow_to` stays inside it.
unsafe impl MemoryCreator for HostMemoryCreator {
    fn new_memory(
        &self,
        _ty: MemoryType,
        minimum: usize,
        maximum: Option<usize>,
        reserved: Option<usize>,
        guard: usize,
    ) -> Result<Box<dyn LinearMemory>, String> {
        let from_image = SIZES.with(|s| s.borrow_mut().pop_front());
        let minimum = match from_image.map(|(size, _)| size) {
            Some(size) if maximum.is_some_and(|max| size > max) => {
                return Err(format!(
                    "an image of {size} bytes is past the memory's maximum"
                ));
            }
            Some(size) => size.max(minimum),
            None => minimum,
        };
        // Without a fixed reservation wasmtime bounds-checks every access
        // against `byte_capacity`, so any size that holds the minimum works.
        let reserved = reserved.unwrap_or(4 << 30).max(minimum);
        let mapped = reserved
            .checked_add(guard)
            .ok_or("memory reservation overflows")?;
        // SAFETY: a new mapping of our own; nothing else refers to it yet.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                mapped,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(format!(
                "cannot reserve {mapped} bytes: {}",
                std::io::Error::last_os_error()
            ));
        }
        let memory = HostMemory {
            region: Arc::new(Region {
                base: base as usize,
                size: AtomicUsize::new(0),
                leaked: std::sync::atomic::AtomicBool::new(false),
            }),
            reserved,
            mapped,
        };
        if ONE_SHOT.with(std::cell::Cell::get) {
            // SAFETY: advice on our own mapping; it changes no contents. A
            // kernel without transparent huge pages refuses it, and small
            // pages serve as before.
            unsafe { libc::madvise(base, mapped, libc::MADV_HUGEPAGE) };
        }
        if minimum > 0 {
            memory.make_accessible(minimum).map_err(|e| e.to_string())?;
        }
        if from_image.is_some_and(|(_, populate)| populate) {
            // Every page is about to be written (the data segments, or a
            // copy of the image): one system call gives them all, where
            // thousands of page faults did (a new instance of the site
            // snapshot went from 13.5-15 ms to 11.5 ms). Advice: without
            // it, they fault as before.
            // SAFETY: advice on our own mapping, accessible for `minimum`
            // bytes; the pages it gives are zero, as they would be anyway.
            unsafe { libc::madvise(base, minimum, libc::MADV_POPULATE_WRITE) };
        }
        memory.region.size.store(minimum, Ordering::Release);
        CREATED.with(|created| created.borrow_mut().push(memory.region.clone()));
        Ok(Box::new(memory))
    }
}

impl HostMemory {
    fn make_accessible(&self, bytes: usize) -> std::io::Result<()> {
        // SAFETY: inside our reservation (`bytes <= reserved`, checked by callers).
        let ret = unsafe {
            libc::mprotect(
                self.region.base as *mut libc::c_void,
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        };
        if ret != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
}

// SAFETY: the memory is only ever accessed through wasmtime, which holds the
// store that owns it; the raw base is an address, not a shared reference.
unsafe impl Send for HostMemory {}
// SAFETY: as above.
unsafe impl Sync for HostMemory {}

// SAFETY: `as_ptr` is stable for the memory's life and `byte_size` bytes
// from it are accessible.
unsafe impl LinearMemory for HostMemory {
    fn byte_size(&self) -> usize {
        self.region.size()
    }

    fn byte_capacity(&self) -> usize {
        self.reserved
    }

    fn grow_to(&mut self, new_size: usize) -> wasmtime::Result<()> {
        if new_size > self.reserved {
            wasmtime::bail!("{new_size} bytes is past the memory's reservation");
        }
        self.make_accessible(new_size)?;
        self.region.size.store(new_size, Ordering::Release);
        Ok(())
    }

    fn as_ptr(&self) -> *mut u8 {
        self.region.base as *mut u8
    }
}

impl Drop for HostMemory {
    fn drop(&mut self) {
        if self.region.leaked() {
            return;
        }
        // SAFETY: the reservation made in `new_memory`, no longer used by
        // wasmtime (it drops the memory with its instance).
        unsafe { libc::munmap(self.region.base as *mut libc::c_void, self.mapped) };
    }
}
