//! One instance that serves request after request, reset in place after
//! each, and the checks that decide whether it may serve the next one.
//!
//! What a request can change, and how each is brought back:
//! - linear memory: the pages it wrote (tracked by the kernel) and the hot
//!   set are copied back from the image; periodically, the whole memory is
//!   compared with the image;
//! - memory size: a request that grew the memory discards the instance;
//! - host state (WASI context, resource table): the table must be empty
//!   (the dispatcher closes what libc opened), then both are rebuilt;
//! - fuel, epoch deadline, the request environment: set afresh by every
//!   call, as for a fresh instance;
//! - globals, the stack, the component's own flags: a call that returns
//!   leaves them as it found them; a trap may not, so a trap discards.

use super::host_memory::Region;
use super::hot_set::HotSet;
use super::image::Image;
use super::kernel::{PAGE, WriteTracker};
use crate::call::{Job, Outcome, Prepared};
use crate::counters::IsolationCounters;
use crate::engine::SandboxEngine;
use crate::failure::Failure;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// Why an instance was not reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Discard {
    /// The call trapped (timeout, fuel, stack, output cap, exit, crash).
    Trapped,
    /// The call grew a linear memory.
    MemoryGrew,
    /// A host resource (stream, pollable) outlived the call.
    ResourceLeft,
    /// The kernel refused a tracking operation.
    Tracking,
    /// The periodic full comparison found memory unlike the image.
    Mismatch,
}

impl Discard {
    /// Every reason, for reports.
    pub(crate) const ALL: [Discard; 5] = [
        Discard::Trapped,
        Discard::MemoryGrew,
        Discard::ResourceLeft,
        Discard::Tracking,
        Discard::Mismatch,
    ];

    /// A short name for counters and logs.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Discard::Trapped => "trapped",
            Discard::MemoryGrew => "memory_grew",
            Discard::ResourceLeft => "resource_left",
            Discard::Tracking => "tracking_failed",
            Discard::Mismatch => "image_mismatch",
        }
    }
}

impl fmt::Display for Discard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One linear memory, its image and its tracking.
struct Tracked {
    region: Arc<Region>,
    image: Arc<Image>,
    tracker: WriteTracker,
    hot: HotSet,
    written: Vec<Range<usize>>,
    /// Whether the memory is a private mapping of the image's file, whose
    /// pages read as the image until written (see [`Tracked::equals_image`]).
    mapped: bool,
    /// Pages the full comparison looks at, when `mapped`.
    own: Vec<Range<usize>>,
    /// Every page a request wrote since the instance was made (or the hot
    /// set or the lazy list held), when `mapped`: compared with the rest,
    /// since a protected copy swapped out reads like a page never touched.
    ever: Vec<bool>,
    /// Pages outside the hot set that a request wrote and that were left
    /// writable after its reset (see [`Tracked::restore`]).
    lazy: Lazy,
}

/// Written pages left writable, restored at every reset until they are
/// protected again in one batch.
#[derive(Default)]
struct Lazy {
    runs: Vec<Range<usize>>,
    /// Resets since the last batch.
    age: u32,
}

/// Protecting pages again costs a TLB flush on every core running this
/// process: measured in a render, 41 us a call (the interprocessor
/// interrupt and the wait for the other core), about what copying 40-80
/// pages costs. So written pages are left writable, and copied back at
/// every reset, until there are more than this many...
const LAZY_PAGES: usize = 48;
/// ...or they have waited this many resets (fewer than the hot set's
/// threshold, so that a page left writable, which every scan reports as
/// written, does not join the hot set for that alone).
const LAZY_RESETS: u32 = 4;

/// Held while an instance is made: two made at once in one process took
/// 30-47 ms each, where one alone takes 13-19 ms (both fault in and fill
/// 15 MB under the process's one memory map), so the first is ready
/// sooner when the second waits.
static MAKING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A new instance, its memories, and which of them are mapped from the
/// image's file.
pub(crate) type Instantiated = (Prepared, Vec<Arc<Region>>, Vec<bool>);

/// Why an instance could not be filled from its images.
enum Refill {
    /// Instantiating failed.
    Failure(Failure),
    /// Mapping an image's file failed: the instance is dropped (its
    /// memories left reserved) and another one made by copying.
    MapFailed(std::io::Error),
}

/// An instance reset in place after every request.
pub(crate) struct ResetInstance {
    prepared: Prepared,
    memories: Vec<Tracked>,
    resets: u64,
    verify_every: u64,
}

impl SandboxEngine {
    /// A new instance, its memories imaged and write-protected.
    pub(crate) fn reset_instance(&self) -> Result<ResetInstance, Failure> {
        let unavailable = |what: String| Failure::Unavailable(what);
        // The site snapshot's import (seconds, on first use) is not held
        // under the lock: only making the instance is.
        let preloaded = self.preloaded_images().or(self.base_images());
        let _one_at_a_time = MAKING.lock().unwrap_or_else(|e| e.into_inner());
        let started = std::time::Instant::now();
        let (prepared, regions, images, mapped) = match preloaded {
            Some(images) => {
                let (prepared, regions, mapped) = self.instantiate_from(images)?;
                (prepared, regions, Some(images.clone()), mapped)
            }
            None => {
                let (prepared, regions) = self.instantiate_bare()?;
                let mapped = vec![false; regions.len()];
                (prepared, regions, None, mapped)
            }
        };
        let instantiated = started.elapsed();
        let images = match images {
            Some(images) => images,
            None => self.images(&regions)?,
        };
        let imaged = started.elapsed();
        let mut memories = Vec::with_capacity(regions.len());
        for ((region, image), mapped) in regions.into_iter().zip(images).zip(mapped) {
            let pages = image.len() / PAGE;
            let tracker = WriteTracker::new(region.base()..region.base() + pages * PAGE)
                .map_err(|e| unavailable(format!("cannot track the guest's memory: {e}")))?;
            tracker
                .protect(0..pages, true)
                .map_err(|e| unavailable(format!("cannot track the guest's memory: {e}")))?;
            memories.push(Tracked {
                region,
                image,
                tracker,
                hot: HotSet::new(pages),
                written: Vec::new(),
                mapped,
                own: Vec::new(),
                ever: if mapped {
                    vec![false; pages]
                } else {
                    Vec::new()
                },
                lazy: Lazy::default(),
            });
        }
        self.isolation_counters().instance_created();
        tracing::debug!(
            memory_pages = memories.iter().map(|m| m.image.len() / PAGE).sum::<usize>(),
            instantiate_us = instantiated.as_micros() as u64,
            image_us = (imaged - instantiated).as_micros() as u64,
            total_us = started.elapsed().as_micros() as u64,
            "reset instance made"
        );
        Ok(ResetInstance {
            prepared,
            memories,
            resets: 0,
            verify_every: self.verify_every(),
        })
    }

    /// A new instance whose memories hold `images` (the preloaded ones),
    /// and which of them are mapped from the images' file rather than
    /// copied.
    pub(crate) fn instantiate_from(&self, images: &[Arc<Image>]) -> Result<Instantiated, Failure> {
        match self.instantiate_filled(images, true) {
            Err(Refill::MapFailed(e)) => {
                tracing::warn!("cannot map an image into a new instance ({e}): copied instead");
                self.instantiate_filled(images, false)
            }
            made => made,
        }
        .map_err(|refused| match refused {
            Refill::Failure(failure) => failure,
            Refill::MapFailed(e) => {
                Failure::Unavailable(format!("cannot bring an image into a new instance: {e}"))
            }
        })
    }

    /// A new instance filled from `images`: mapped from their file where
    /// they come from one and `map` allows it, else copied.
    fn instantiate_filled(&self, images: &[Arc<Image>], map: bool) -> Result<Instantiated, Refill> {
        // A memory is made whole at once (one system call, not a fault a
        // page) when every page of it is about to be written: by the data
        // segments, or by a copy of the image. One mapped from the image's
        // file, of a guest with no data segments, is left as reserved.
        let sizes: Vec<(usize, bool)> = images
            .iter()
            .map(|m| {
                let mapped = map && m.file_range().is_some();
                (m.len(), !(mapped && self.data_apart))
            })
            .collect();
        let (prepared, regions) =
            super::host_memory::with_initial_sizes(&sizes, || self.instantiate_bare())
                .map_err(Refill::Failure)?;
        if regions.len() != images.len()
            || regions.iter().zip(images).any(|(r, m)| r.size() != m.len())
        {
            return Err(Refill::Failure(Failure::Unavailable(
                "a new instance's memories do not match the images it is to be filled from".into(),
            )));
        }
        let copying = std::time::Instant::now();
        let mut mapped = vec![false; regions.len()];
        for ((region, image), mapped) in regions.iter().zip(images).zip(&mut mapped) {
            // An image read from a file is mapped from it, privately: the
            // pages come from the page cache as the guest touches them and
            // a written one becomes the instance's own, where copying all
            // 15 MB took 5 ms per instance (and as much memory).
            if let Some((file, offset)) = image.file_range().filter(|_| map) {
                // SAFETY: the guest is not running (we hold its store) and
                // nothing refers into its memory yet.
                unsafe { region.map_file(file, offset, image.len()) }.map_err(Refill::MapFailed)?;
                *mapped = true;
                continue;
            }
            // SAFETY: the region is mapped writable for `image.len()` bytes
            // (checked above) and the guest is not running (we hold its
            // store); the image is apart from it.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    image.as_ptr(),
                    region.base() as *mut u8,
                    image.len(),
                );
            }
        }
        tracing::debug!(
            mapped = mapped.iter().filter(|m| **m).count(),
            copy_us = copying.elapsed().as_micros() as u64,
            "image brought into a new instance"
        );
        Ok((prepared, regions, mapped))
    }

    /// The images of a new instance's memories: the engine's, taken from its
    /// first instance, after checking that this one starts equal to them.
    fn images(&self, regions: &[Arc<Region>]) -> Result<Vec<Arc<Image>>, Failure> {
        let current: Vec<&[u8]> = regions.iter().map(|r| memory_of(r)).collect();
        if current.iter().any(|m| !m.len().is_multiple_of(PAGE)) {
            return Err(Failure::Unavailable(
                "a guest memory is not a whole number of pages".into(),
            ));
        }
        let mut taken_here = false;
        let shared = self.images.get_or_init(|| {
            taken_here = true;
            current.iter().map(|m| Arc::new(Image::heap(*m))).collect()
        });
        // An image just copied from this instance needs no comparing with
        // it (14 MiB, 3 ms, while the first calls wait).
        let equal = taken_here
            || shared.len() == current.len()
                && shared.iter().zip(&current).all(|(a, b)| a[..] == **b);
        if equal {
            return Ok(shared.clone());
        }
        // Instantiation is deterministic, so this is not expected; an
        // instance then keeps its own image rather than trust another's.
        tracing::error!("a new instance's memory differs from the engine's image; using its own");
        Ok(current.iter().map(|m| Arc::new(Image::heap(*m))).collect())
    }
}

/// The accessible bytes of `region`.
pub(crate) fn memory_of(region: &Region) -> &[u8] {
    // SAFETY: the region is mapped readable for `size()` bytes while its
    // instance lives, and the guest is not running (we hold its store).
    unsafe { std::slice::from_raw_parts(region.base() as *const u8, region.size()) }
}

impl ResetInstance {
    /// Run `job`, then bring the instance back to its image. The reply is
    /// the call's; `Err` in the second place says the instance must go.
    pub(crate) fn serve(
        &mut self,
        job: &Job,
        counters: &IsolationCounters,
    ) -> (Result<Outcome, Failure>, Result<(), Discard>) {
        let reply = self.call(job);
        (reply, self.reset_after(counters))
    }

    /// Run `job`; [`ResetInstance::reset_after`] must follow before the
    /// next call (a worker answers first, then resets).
    pub(crate) fn call(&mut self, job: &Job) -> Result<Outcome, Failure> {
        self.prepared.call_in_place(job)
    }

    /// Bring the instance back to its image after a call; `Err` says the
    /// instance must go, and why.
    pub(crate) fn reset_after(&mut self, counters: &IsolationCounters) -> Result<(), Discard> {
        let health = self.reset(counters);
        if let Err(reason) = health {
            counters.discarded(reason);
            if reason == Discard::Mismatch {
                tracing::error!("memory after reset differs from the image: instance discarded");
            } else {
                tracing::debug!(%reason, "instance discarded");
            }
        }
        health
    }

    fn reset(&mut self, counters: &IsolationCounters) -> Result<(), Discard> {
        if self.prepared.trapped {
            return Err(Discard::Trapped);
        }
        if self
            .memories
            .iter()
            .any(|m| m.region.size() != m.image.len())
        {
            return Err(Discard::MemoryGrew);
        }
        if !self.prepared.store.data().resources_empty() {
            return Err(Discard::ResourceLeft);
        }
        let mut pages = 0;
        for memory in &mut self.memories {
            pages += memory.restore().map_err(|e| {
                tracing::warn!("write tracking failed: {e}");
                Discard::Tracking
            })?;
        }
        self.resets += 1;
        counters.reset(pages);
        // The first reset of every instance is checked too, so a render
        // shorter than the period still compares each instance once.
        if self.verify_every > 0
            && (self.resets == 1 || self.resets.is_multiple_of(self.verify_every))
        {
            counters.verified();
            if !self.memories.iter_mut().all(Tracked::equals_image) {
                return Err(Discard::Mismatch);
            }
        }
        self.prepared.store.data_mut().renew();
        Ok(())
    }
}

impl Tracked {
    /// Copy back every page written since the last reset, the hot set and
    /// the pages left writable; returns how many pages were copied.
    ///
    /// Written pages outside the hot set are protected again after the
    /// copy, but lazily: each protecting call costs a TLB flush on every
    /// core running this process (an interprocessor interrupt, dear in a
    /// virtual machine), so they are left writable (and so restored at
    /// every reset, the scan listing them as written) until [`LAZY_PAGES`]
    /// gather or [`LAZY_RESETS`] pass, then protected in as few calls as
    /// the hot set allows: protecting a clean page again changes nothing,
    /// so runs are joined across clean gaps. While the hot set is learned,
    /// every written page is protected at once.
    fn restore(&mut self) -> std::io::Result<usize> {
        self.written.clear();
        self.tracker.written(&mut self.written)?;
        if self.mapped {
            for run in self
                .written
                .iter()
                .chain(self.hot.runs())
                .chain(&self.lazy.runs)
            {
                self.ever[run.clone()].fill(true);
            }
        }
        let mut copied = 0;
        for run in &self.written {
            self.copy(run.clone());
            copied += run.len();
        }
        // Hot pages and pages left writable are restored whether or not
        // the scan listed them: neither list may decide what is restored.
        copied += self.copy_unlisted(self.hot.runs());
        copied += self.copy_unlisted(&self.lazy.runs);
        // The pages written outside the hot set, exactly.
        let mut loose: Vec<Range<usize>> = Vec::new();
        for run in merged(&self.written, &self.lazy.runs) {
            for page in run {
                if self.hot.contains(page) {
                    continue;
                }
                match loose.last_mut() {
                    Some(open) if open.end == page => open.end = page + 1,
                    _ => loose.push(page..page + 1),
                }
            }
        }
        let loose_pages: usize = loose.iter().map(ExactSizeIterator::len).sum();
        self.lazy.age += 1;
        if self.hot.learning() || loose_pages > LAZY_PAGES || self.lazy.age >= LAZY_RESETS {
            let mut pending: Option<Range<usize>> = None;
            for run in loose {
                pending = match pending.take() {
                    Some(open) if !self.hot.any_in(open.end..run.start) => {
                        Some(open.start..run.end)
                    }
                    Some(done) => {
                        self.tracker.protect(done, true)?;
                        Some(run)
                    }
                    None => Some(run),
                };
            }
            if let Some(done) = pending {
                self.tracker.protect(done, true)?;
            }
            self.lazy = Lazy::default();
        } else {
            self.lazy.runs = loose;
        }
        if let Some(change) = self.hot.observe(&self.written) {
            tracing::trace!(hot_pages = self.hot.len(), "hot set changed");
            for run in change.protect {
                self.tracker.protect(run, true)?;
            }
            for run in change.unprotect {
                self.tracker.protect(run, false)?;
            }
        }
        Ok(copied)
    }

    /// Copy back the pages of `runs` (sorted) that the scan did not list;
    /// returns how many.
    fn copy_unlisted(&self, runs: &[Range<usize>]) -> usize {
        let mut copied = 0;
        // Both lists are sorted and disjoint within themselves: one pass over each.
        let mut written = self.written.iter().peekable();
        for run in runs {
            while written.next_if(|w| w.end <= run.start).is_some() {}
            let covered = written
                .peek()
                .is_some_and(|w| w.start <= run.start && run.end <= w.end);
            if !covered {
                self.copy(run.clone());
                copied += run.len();
            }
        }
        copied
    }

    fn copy(&self, pages: Range<usize>) {
        let bytes = pages.start * PAGE..pages.end * PAGE;
        // SAFETY: `bytes` lies inside both the image and the accessible
        // memory (same length, checked before), which do not overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.image.as_ptr().add(bytes.start),
                (self.region.base() + bytes.start) as *mut u8,
                bytes.len(),
            );
        }
    }

    /// Whether the memory holds the image, byte for byte. A memory mapped
    /// from the image's file reads as the file wherever it holds no copy
    /// of its own, so only these pages are compared: those the kernel
    /// lists as its own copies, and every page a request ever wrote (a
    /// protected copy swapped out is listed as a page never touched is).
    /// That spares reading (and faulting in) 15 MB that cannot differ: the
    /// first reset of an instance took 3-4 ms.
    fn equals_image(&mut self) -> bool {
        let memory = memory_of(&self.region);
        if !self.mapped {
            return memory == &**self.image;
        }
        self.own.clear();
        if let Err(e) = self.tracker.own_copies(&mut self.own) {
            tracing::warn!("cannot list the pages to compare ({e}): comparing all");
            return memory == &**self.image;
        }
        let mut compared = self.ever.clone();
        for run in &self.own {
            compared[run.clone()].fill(true);
        }
        let same = |page: usize| {
            let bytes = page * PAGE..(page + 1) * PAGE;
            memory[bytes.clone()] == self.image[bytes]
        };
        (0..compared.len()).filter(|&page| compared[page]).all(same)
    }
}

/// The union of two sorted lists of disjoint runs, sorted and disjoint.
fn merged(a: &[Range<usize>], b: &[Range<usize>]) -> Vec<Range<usize>> {
    let mut all: Vec<Range<usize>> = a.iter().chain(b).cloned().collect();
    all.sort_by_key(|r| r.start);
    let mut out: Vec<Range<usize>> = Vec::with_capacity(all.len());
    for run in all {
        match out.last_mut() {
            Some(last) if run.start <= last.end => last.end = last.end.max(run.end),
            _ => out.push(run),
        }
    }
    out
}

#[cfg(test)]
#[allow(
    clippy::single_range_in_vec_init,
    reason = "lists of page runs that hold one run"
)]
mod tests {
    use super::merged;

    #[test]
    fn merged_runs_are_sorted_disjoint_and_cover_both_lists() {
        assert_eq!(merged(&[0..2, 5..6], &[1..3, 8..9]), [0..3, 5..6, 8..9]);
        assert_eq!(merged(&[], &[4..7]), [4..7]);
        assert_eq!(merged(&[2..4], &[4..5]), [2..5]);
        assert!(merged(&[], &[]).is_empty());
    }
}

#[cfg(test)]
mod mapped_tests {
    use super::*;
    use crate::reset::image::Mapping;
    use crate::reset::kernel::Pages;
    use std::io::Write as _;

    fn poke(base: usize, at: usize, byte: u8) {
        // SAFETY: inside the test's mapping.
        unsafe { *((base + at) as *mut u8) = byte };
    }

    /// The comparison after a reset looks only at a mapped memory's own
    /// copies: a write the reset did not bring back must still be found.
    #[test]
    fn a_write_the_reset_missed_is_found_in_a_memory_mapped_from_the_image() {
        if let Err(why) = super::super::kernel::probe() {
            eprintln!("skipped: this kernel cannot track writes ({why})");
            return;
        }
        const PAGES: usize = 16;
        let len = PAGES * PAGE;
        let mut file = tempfile::tempfile_in(env!("CARGO_MANIFEST_DIR")).unwrap();
        let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        file.write_all(&bytes).unwrap();
        let map = Arc::new(Mapping::of(&file, 0, len).unwrap());
        let image = Arc::new(Image::mapped(&map, 0, len).unwrap());
        let pages = Pages::map_file(&file, PAGES).unwrap();
        let base = pages.range().start;
        let tracker = WriteTracker::new(pages.range()).unwrap();
        tracker.protect(0..PAGES, true).unwrap();
        let mut memory = Tracked {
            region: Arc::new(Region::over(base, len)),
            image,
            tracker,
            hot: HotSet::new(PAGES),
            written: Vec::new(),
            mapped: true,
            own: Vec::new(),
            ever: vec![false; PAGES],
            lazy: Lazy::default(),
        };
        assert!(memory.equals_image());
        // A request's write, seen, then brought back.
        poke(base, 3 * PAGE + 5, 0xff);
        assert!(!memory.equals_image());
        assert_eq!(memory.restore().unwrap(), 1);
        assert!(memory.equals_image());
        // A write the tracking does not report (protected again before
        // the reset scans): the reset leaves it, the comparison finds it.
        poke(base, 7 * PAGE, 0xee);
        memory.tracker.protect(7..8, true).unwrap();
        assert_eq!(memory.restore().unwrap(), 0);
        assert!(!memory.equals_image());
    }
}
