//! The bytes a memory is reset to: copied from a first instance, or mapped
//! from a site snapshot's image file, so that a process starting on a
//! snapshot reads none of its 16 MB up front (reading it took 16-18 ms
//! before the first call; mapped, its pages come from the page cache as the
//! first instance is filled from them).

use std::ops::Deref;
use std::sync::Arc;

/// One memory's image.
pub(crate) struct Image(Backing);

enum Backing {
    Heap(Box<[u8]>),
    Mapped {
        map: Arc<Mapping>,
        offset: usize,
        len: usize,
    },
}

impl Image {
    /// An image held on the heap.
    pub(crate) fn heap(bytes: impl Into<Box<[u8]>>) -> Image {
        Image(Backing::Heap(bytes.into()))
    }

    /// The `len` bytes of `map` from `offset`; `None` when they are not
    /// all in it.
    pub(crate) fn mapped(map: &Arc<Mapping>, offset: usize, len: usize) -> Option<Image> {
        (offset.checked_add(len)? <= map.len).then(|| {
            Image(Backing::Mapped {
                map: map.clone(),
                offset,
                len,
            })
        })
    }
}

impl Image {
    /// The file this image is mapped from and the offset of its first byte
    /// in it; `None` for an image on the heap.
    pub(crate) fn file_range(&self) -> Option<(&std::fs::File, u64)> {
        match &self.0 {
            Backing::Heap(_) => None,
            Backing::Mapped { map, offset, .. } => {
                Some((&map.file, map.offset + u64::try_from(*offset).ok()?))
            }
        }
    }
}

impl Deref for Image {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &self.0 {
            Backing::Heap(bytes) => bytes,
            // SAFETY: `offset + len` lies inside the mapping (checked when
            // the image was made), which lives as long as `map`.
            Backing::Mapped { map, offset, len } => unsafe {
                std::slice::from_raw_parts(map.base.add(*offset), *len)
            },
        }
    }
}

/// A read-only private mapping of part of a file.
///
/// A private mapping still shows writes made to the file in place (in the
/// pages not copied yet), and a file cut short makes its pages fault. The
/// image files are written whole under a temporary name and renamed into
/// place, and old ones are removed by unlinking, so this project never
/// changes a file under a mapping; only another program of the same user
/// writing into the cache folder could. Instances map the same file (see
/// `Region::map_file`), so such a program would change what they read
/// too: the cache folder is trusted as the compiled guest's code in it is,
/// which that program could replace as well.
pub(crate) struct Mapping {
    base: *const u8,
    len: usize,
    /// The file and where the mapping starts in it, so that an instance's
    /// memory can map the same pages (see [`Image::file_range`]).
    file: std::fs::File,
    offset: u64,
}

// SAFETY: the mapping is read-only for this process, and the files mapped
// are only ever replaced by a rename (see above); any thread may read it.
unsafe impl Send for Mapping {}
// SAFETY: as above.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// `len` bytes of `file` from `offset` (a multiple of the page size).
    pub(crate) fn of(file: &std::fs::File, offset: u64, len: usize) -> std::io::Result<Mapping> {
        use std::os::fd::AsRawFd as _;
        if len == 0 {
            return Err(std::io::Error::other("an empty mapping"));
        }
        let file_offset = offset;
        let offset = libc::off_t::try_from(offset).map_err(std::io::Error::other)?;
        // Before mapping: a failure after it would leave the mapping behind.
        let kept = file.try_clone()?;
        // SAFETY: a new mapping of our own, read-only and private: nothing
        // else refers to it, and writes to the file by others after a
        // rename do not reach it.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                offset,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Mapping {
            base: base.cast(),
            len,
            file: kept,
            offset: file_offset,
        })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `of`, unmapped once, when no image
        // refers to it any more.
        unsafe {
            libc::munmap(self.base as *mut libc::c_void, self.len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn a_mapped_image_reads_as_the_file_and_stays_inside_it() {
        let mut file = tempfile::tempfile().unwrap();
        let mut bytes = vec![0u8; 4096];
        bytes.extend((0..8192u32).map(|i| (i % 251) as u8));
        file.write_all(&bytes).unwrap();
        let map = Arc::new(Mapping::of(&file, 4096, 8192).unwrap());
        let whole = Image::mapped(&map, 0, 8192).unwrap();
        assert_eq!(&*whole, &bytes[4096..]);
        let part = Image::mapped(&map, 4096, 4096).unwrap();
        assert_eq!(&*part, &bytes[8192..]);
        assert!(Image::mapped(&map, 4096, 4097).is_none());
        assert!(Image::mapped(&map, usize::MAX, 2).is_none());
        drop(map);
        // The images keep the mapping alive.
        assert_eq!(whole[1], 1);
        assert_eq!(&*Image::heap(vec![7u8; 3]), &[7, 7, 7]);
    }
}
