//! The guest's memory apart from its code, for reset in place.
//!
//! The guest component's one defined memory starts as its data segments
//! lay it out: CPython's heap as componentize-py's snapshot left it, 13 MB
//! in 2,982 segments. With reset in place the runtime makes every memory
//! itself, and wasmtime 48 then writes those segments at each
//! instantiation (it combines its copy-on-write images only with memories
//! of its own): 3,888 pages made and 13 MB copied, 10-20 ms of each
//! instance, before a site's image is mapped over them all the same.
//!
//! So the engine for reset in place compiles the component with those
//! segments emptied (each kept, with its offset and no bytes, so that no
//! index moves), and the memory's first bytes are kept apart as an image
//! file beside the compiled code. Every instance is filled from an image:
//! the site's, or this one, mapped from its file. Only a component whose
//! data all goes into one memory that one module defines is split so; any
//! other is compiled whole, as before.

use std::path::{Path, PathBuf};
use wasmparser::{
    BinaryReader, DataKind, DataSectionReader, ImportSectionReader, MemorySectionReader, Operator,
    TypeRef,
};

/// The wasm page: a memory's size is a number of these.
const WASM_PAGE: u64 = 65_536;

/// The largest first size of a memory this splits (its image is that big).
const LARGEST_IMAGE: u64 = 1 << 30;

/// A component with its data segments emptied, and the memory they laid
/// out.
pub(crate) struct Split {
    /// The component to compile.
    pub(crate) component: Vec<u8>,
    /// The defined memory as instantiation leaves it, at its first size.
    pub(crate) image: Vec<u8>,
}

/// One section of a binary: its id, where its header starts, and its body.
struct Section {
    id: u8,
    start: usize,
    body: std::ops::Range<usize>,
}

/// Why a component is compiled whole rather than split.
fn refuse(why: impl std::fmt::Display) -> String {
    format!("the guest's memory stays in its component: {why}")
}

/// The sections of the module or component `bytes`, after its 8-byte
/// header.
fn sections(bytes: &[u8]) -> Result<Vec<Section>, String> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(refuse("not a WebAssembly binary"));
    }
    let mut found = Vec::new();
    let mut at = 8;
    while at < bytes.len() {
        let mut reader = BinaryReader::new(&bytes[at + 1..], 0);
        let size = reader.read_var_u32().map_err(refuse)? as usize;
        let body_start = at + 1 + reader.current_position();
        let body_end = body_start
            .checked_add(size)
            .filter(|end| *end <= bytes.len())
            .ok_or_else(|| refuse("a section runs past the end"))?;
        found.push(Section {
            id: bytes[at],
            start: at,
            body: body_start..body_end,
        });
        at = body_end;
    }
    Ok(found)
}

/// Section ids of a component: a core module, a nested component.
const CORE_MODULE: u8 = 1;
const COMPONENT: u8 = 4;
/// Section ids of a core module.
const IMPORTS: u8 = 2;
const MEMORIES: u8 = 5;
const START: u8 = 8;
const DATA: u8 = 11;

/// What one core module holds of memory and data.
struct ModuleData<'a> {
    memories_imported: u32,
    memories_defined: Vec<wasmparser::MemoryType>,
    /// Active segments: offset and bytes.
    segments: Vec<(u32, &'a [u8])>,
    passive: usize,
    /// The data section, when there is one.
    data_section: Option<std::ops::Range<usize>>,
    data_header: usize,
    /// Whether the module runs a start function when instantiated (which
    /// could write the memory before it is filled).
    starts: bool,
}

fn module_data(module: &[u8]) -> Result<ModuleData<'_>, String> {
    let mut found = ModuleData {
        memories_imported: 0,
        memories_defined: Vec::new(),
        segments: Vec::new(),
        passive: 0,
        data_section: None,
        data_header: 0,
        starts: false,
    };
    for section in sections(module)? {
        let reader = || BinaryReader::new(&module[section.body.clone()], section.body.start as u64);
        match section.id {
            IMPORTS => {
                for import in ImportSectionReader::new(reader())
                    .map_err(refuse)?
                    .into_imports()
                {
                    if matches!(import.map_err(refuse)?.ty, TypeRef::Memory(_)) {
                        found.memories_imported += 1;
                    }
                }
            }
            MEMORIES => {
                for memory in MemorySectionReader::new(reader()).map_err(refuse)? {
                    found.memories_defined.push(memory.map_err(refuse)?);
                }
            }
            DATA => {
                for segment in DataSectionReader::new(reader()).map_err(refuse)? {
                    let segment = segment.map_err(refuse)?;
                    match segment.kind {
                        DataKind::Passive => found.passive += 1,
                        DataKind::Active {
                            memory_index,
                            offset_expr,
                        } => {
                            if memory_index != 0 {
                                return Err(refuse("data for a second memory"));
                            }
                            let mut ops = offset_expr.get_operators_reader();
                            let offset = match (ops.read(), ops.read()) {
                                (Ok(Operator::I32Const { value }), Ok(Operator::End))
                                    if ops.eof() =>
                                {
                                    value as u32
                                }
                                _ => return Err(refuse("a data segment at a computed offset")),
                            };
                            found.segments.push((offset, segment.data));
                        }
                    }
                }
                found.data_section = Some(section.body.clone());
                found.data_header = section.start;
            }
            START => found.starts = true,
            _ => {}
        }
    }
    Ok(found)
}

/// Whether any module inside the component `bytes` (nested components
/// included) has data segments or a memory of its own; refused when one
/// has a start function.
fn any_data_or_memory(bytes: &[u8]) -> Result<bool, String> {
    for section in sections(bytes)? {
        let inner = &bytes[section.body.clone()];
        let has = match section.id {
            CORE_MODULE => {
                let data = module_data(inner)?;
                if data.starts {
                    return Err(refuse("a module with a start function"));
                }
                !data.segments.is_empty() || data.passive > 0 || !data.memories_defined.is_empty()
            }
            COMPONENT => any_data_or_memory(inner)?,
            _ => false,
        };
        if has {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Split `component`: its one module with data (which must define its one
/// memory and put every segment into it, active at a constant offset) gets
/// empty segments, and the memory those segments lay out comes back apart.
pub(crate) fn split(component: &[u8]) -> Result<Split, String> {
    let top = sections(component)?;
    let mut with_data = None;
    for (index, section) in top.iter().enumerate() {
        let inner = &component[section.body.clone()];
        match section.id {
            CORE_MODULE => {
                let data = module_data(inner)?;
                if data.starts {
                    return Err(refuse("a module with a start function"));
                }
                if data.segments.is_empty() && data.passive == 0 {
                    // One image fills one memory: a second would start
                    // empty.
                    if !data.memories_defined.is_empty() {
                        return Err(refuse("a module without data defines a memory"));
                    }
                    continue;
                }
                if with_data.replace(index).is_some() {
                    return Err(refuse("more than one module has data"));
                }
            }
            COMPONENT if any_data_or_memory(inner)? => {
                return Err(refuse("a nested component has data or a memory"));
            }
            _ => {}
        }
    }
    let index = with_data.ok_or_else(|| refuse("no module has data"))?;
    let section = &top[index];
    let module = &component[section.body.clone()];
    let data = module_data(module)?;
    if data.passive > 0 {
        return Err(refuse("passive data segments"));
    }
    let memory = match (data.memories_imported, data.memories_defined.as_slice()) {
        (0, [memory]) => *memory,
        _ => return Err(refuse("its data module does not define exactly one memory")),
    };
    if memory.memory64 || memory.shared || memory.page_size_log2.is_some() {
        return Err(refuse("a 64-bit, shared or custom-page memory"));
    }
    let size = memory
        .initial
        .checked_mul(WASM_PAGE)
        .filter(|size| *size <= LARGEST_IMAGE)
        .ok_or_else(|| refuse("a memory too large to image"))?;
    let mut image = vec![0u8; size as usize];
    let mut emptied = wasm_encoder::DataSection::new();
    for (offset, bytes) in &data.segments {
        let start = *offset as usize;
        image
            .get_mut(start..start + bytes.len())
            .ok_or_else(|| refuse("a data segment past the memory's first size"))?
            .copy_from_slice(bytes);
        emptied.active(
            0,
            &wasm_encoder::ConstExpr::i32_const(*offset as i32),
            std::iter::empty(),
        );
    }
    let body = data
        .data_section
        .expect("a module with segments has a data section");
    let mut new_module = module[..data.data_header].to_vec();
    wasm_encoder::Section::append_to(&emptied, &mut new_module);
    new_module.extend_from_slice(&module[body.end..]);
    let mut out = Vec::with_capacity(component.len().saturating_sub(image.len()));
    out.extend_from_slice(&component[..section.start]);
    out.push(CORE_MODULE);
    wasm_encoder::Encode::encode(&new_module.len(), &mut out);
    out.extend_from_slice(&new_module);
    out.extend_from_slice(&component[section.body.end..]);
    Ok(Split {
        component: out,
        image,
    })
}

/// The key the split component is compiled under, from the whole
/// component's SHA-256: another component, so other code in the cache.
pub(crate) fn split_key(sha256: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(format!("{sha256}:data-apart-2")))
}

/// Where the memory image of the component split under `key` is kept in
/// the compiled-guest cache folder `dir`.
pub(crate) fn image_path(dir: &Path, key: &str) -> PathBuf {
    dir.join(format!("guest-{}.image", &key[..key.len().min(24)]))
}

/// The first bytes of an image file, then the memory's size (a
/// little-endian u64); the memory itself starts at [`WASM_PAGE`], so that
/// it can be mapped from the file.
const MAGIC: &[u8; 8] = b"BMGUEST1";

/// Keep `image` at `path` (making its folder if `create`): a header that
/// names its size, then the memory; written whole and synced under a
/// temporary name, then renamed, so that a reader never sees part of one
/// and a process mapping the old file keeps its pages.
pub(crate) fn store_image(path: &Path, image: &[u8], create: bool) -> std::io::Result<()> {
    let dir = path.parent().expect("cache files live in a directory");
    if create {
        std::fs::create_dir_all(dir)?;
    }
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    let mut header = vec![0u8; WASM_PAGE as usize];
    header[..8].copy_from_slice(MAGIC);
    header[8..16].copy_from_slice(&(image.len() as u64).to_le_bytes());
    std::io::Write::write_all(&mut tmp, &header)?;
    std::io::Write::write_all(&mut tmp, image)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The image kept at `path`, mapped, when the file is whole: its header,
/// and exactly the size it names after it (whole wasm pages).
pub(crate) fn load_image(path: &Path) -> std::io::Result<crate::reset::image::Image> {
    use std::io::Read as _;
    let bad = |why: &str| std::io::Error::other(format!("not a whole image file: {why}"));
    let mut file = std::fs::File::open(path)?;
    let mut header = [0u8; 16];
    file.read_exact(&mut header).map_err(|_| bad("too short"))?;
    if &header[..8] != MAGIC {
        return Err(bad("another format"));
    }
    let size = u64::from_le_bytes(header[8..16].try_into().expect("8 bytes"));
    if size == 0 || !size.is_multiple_of(WASM_PAGE) || size > LARGEST_IMAGE {
        return Err(bad("a size that is no memory's"));
    }
    if file.metadata()?.len() != WASM_PAGE + size {
        return Err(bad("cut short or too long"));
    }
    let len = size as usize;
    let map = std::sync::Arc::new(crate::reset::image::Mapping::of(&file, WASM_PAGE, len)?);
    crate::reset::image::Image::mapped(&map, 0, len).ok_or_else(|| bad("outside its mapping"))
}

/// A guest compiled apart from its memory: the key its code is cached
/// under, and the image every instance of it is filled from.
pub(crate) struct Apart {
    key: String,
    image_path: Option<PathBuf>,
    /// Whether keeping the image may make the cache folder.
    create: bool,
    /// The split made while choosing, when one was: its component is the
    /// next compile's, its image the engine's.
    made: std::sync::Mutex<Option<Split>>,
}

impl Apart {
    /// The split form of the component whose SHA-256 is `sha256`, cached
    /// in `dir`; `None` when it cannot be split (it is then compiled whole).
    /// A component with an image kept already was split before; any other
    /// is read (`whole`) and split now. The image is kept only in a folder
    /// that exists, unless `create`.
    pub(crate) fn choose(
        sha256: &str,
        (dir, create): (Option<&Path>, bool),
        whole: impl FnOnce() -> std::io::Result<Vec<u8>>,
    ) -> Option<Apart> {
        let key = split_key(sha256);
        let image_path = dir.map(|dir| image_path(dir, &key));
        let mut apart = Apart {
            key,
            image_path,
            create,
            made: std::sync::Mutex::new(None),
        };
        if apart.image_path.as_deref().is_some_and(Path::is_file) {
            return Some(apart);
        }
        match whole()
            .map_err(|e| e.to_string())
            .and_then(|bytes| split(&bytes))
        {
            Ok(split) => {
                apart.keep(&split.image);
                *apart.made.get_mut().unwrap_or_else(|e| e.into_inner()) = Some(split);
                Some(apart)
            }
            Err(why) => {
                tracing::warn!("{why}");
                None
            }
        }
    }

    /// The SHA-256 the split component's code is cached under.
    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    /// Keep `image` beside the compiled code (only a help: without it the
    /// next process splits the component again).
    fn keep(&self, image: &[u8]) {
        if let Some(path) = &self.image_path
            && let Err(e) = store_image(path, image, self.create)
        {
            tracing::warn!(path = %path.display(), "cannot keep the guest's memory image: {e}");
        }
    }

    /// The split component, to compile: the one made while choosing, else
    /// `whole` split again.
    pub(crate) fn component(
        &self,
        whole: impl FnOnce() -> std::io::Result<Vec<u8>>,
    ) -> Result<Vec<u8>, String> {
        let mut made = self.made.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(split) = made.as_mut() {
            return Ok(std::mem::take(&mut split.component));
        }
        let split = split(&whole().map_err(|e| e.to_string())?)?;
        let component = split.component.clone();
        *made = Some(split);
        Ok(component)
    }

    /// The memory every instance starts from: the split's made in this
    /// process, else the kept file mapped, else `whole` split again (and
    /// the image kept).
    pub(crate) fn image(
        &self,
        whole: impl FnOnce() -> std::io::Result<Vec<u8>>,
    ) -> Result<crate::reset::image::Image, String> {
        let mut made = self.made.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(split) = made.take() {
            return Ok(crate::reset::image::Image::heap(split.image));
        }
        if let Some(path) = &self.image_path {
            match load_image(path) {
                Ok(image) => return Ok(image),
                Err(e) => {
                    // Replaced below by a whole one (a file never
                    // changes in place: a process mapping it keeps it).
                    tracing::warn!(path = %path.display(), "the guest's memory image is split again: {e}");
                    let _ = std::fs::remove_file(path);
                }
            }
        }
        let split = split(&whole().map_err(|e| e.to_string())?)?;
        self.keep(&split.image);
        Ok(crate::reset::image::Image::heap(split.image))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A memory section with one memory of `pages` pages.
    fn one_memory(pages: u64) -> wasm_encoder::MemorySection {
        let mut memories = wasm_encoder::MemorySection::new();
        memories.memory(wasm_encoder::MemoryType {
            minimum: pages,
            maximum: None,
            memory64: false,
            shared: false,
            page_size_log2: None,
        });
        memories
    }

    /// A component of one module: one memory of `pages` pages, the given
    /// active segments (offset, bytes), and a function using the memory.
    fn component(pages: u64, segments: &[(i32, &[u8])]) -> Vec<u8> {
        use wasm_encoder::*;
        let mut module = Module::new();
        let memories = one_memory(pages);
        module.section(&memories);
        let mut data = DataSection::new();
        for (offset, bytes) in segments {
            data.active(0, &ConstExpr::i32_const(*offset), bytes.iter().copied());
        }
        module.section(&data);
        let mut component = Component::new();
        component.section(&ModuleSection(&module));
        component.finish()
    }

    #[test]
    fn the_data_comes_out_as_an_image_and_the_segments_stay_empty() {
        let whole = component(2, &[(10, b"hello"), (70_000, b"world")]);
        let split = split(&whole).unwrap();
        assert_eq!(split.image.len(), 2 * 65_536);
        assert_eq!(&split.image[10..15], b"hello");
        assert_eq!(&split.image[70_000..70_005], b"world");
        assert_eq!(split.image.iter().filter(|b| **b != 0).count(), 10);
        // The emptied component is valid, keeps both segments (no index
        // moved) and their offsets, and carries none of the bytes.
        wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
            .validate_all(&split.component)
            .unwrap();
        let top = sections(&split.component).unwrap();
        let module = top.iter().find(|s| s.id == CORE_MODULE).unwrap();
        let data = module_data(&split.component[module.body.clone()]).unwrap();
        let offsets: Vec<u32> = data.segments.iter().map(|(o, _)| *o).collect();
        assert_eq!(offsets, [10, 70_000]);
        assert!(data.segments.iter().all(|(_, bytes)| bytes.is_empty()));
        // Splitting again changes nothing and lays out no byte.
        let again = super::split(&split.component).unwrap();
        assert_eq!(again.component, split.component);
        assert!(again.image.iter().all(|b| *b == 0));
    }

    #[test]
    fn data_past_the_first_size_is_refused() {
        let whole = component(1, &[(65_534, b"abc")]);
        let refused = split(&whole).err().expect("refused");
        assert!(
            refused.contains("past the memory's first size"),
            "{refused}"
        );
        assert!(split(b"not wasm").is_err());
        let no_data = component(1, &[]);
        let refused = split(&no_data).err().expect("refused");
        assert!(
            refused.contains("without data defines a memory"),
            "{refused}"
        );
        let nothing = wasm_encoder::Component::new().finish();
        let refused = split(&nothing).err().expect("refused");
        assert!(refused.contains("no module has data"), "{refused}");
    }

    #[test]
    fn a_start_function_keeps_the_memory_in_the_component() {
        use wasm_encoder::*;
        let mut module = Module::new();
        let mut types = TypeSection::new();
        types.ty().function([], []);
        module.section(&types);
        let mut functions = FunctionSection::new();
        functions.function(0);
        module.section(&functions);
        let memories = one_memory(1);
        module.section(&memories);
        module.section(&StartSection { function_index: 0 });
        let mut code = CodeSection::new();
        let mut body = Function::new([]);
        body.instructions().end();
        code.function(&body);
        module.section(&code);
        let mut data = DataSection::new();
        data.active(0, &ConstExpr::i32_const(0), b"x".iter().copied());
        module.section(&data);
        let mut component = Component::new();
        component.section(&ModuleSection(&module));
        let refused = split(&component.finish()).err().expect("refused");
        assert!(refused.contains("start function"), "{refused}");
    }

    /// The first process splits and keeps the image; the next maps it; one
    /// that finds it gone splits again.
    #[test]
    fn the_image_is_split_once_then_mapped_from_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let whole = component(2, &[(5, b"kept"), (65_540, b"apart")]);
        let sha = "cd".repeat(32);
        let read = std::cell::Cell::new(0);
        let reading = || {
            read.set(read.get() + 1);
            Ok(whole.clone())
        };
        let first = Apart::choose(&sha, (Some(dir.path()), true), reading).unwrap();
        assert_eq!(read.get(), 1);
        let path = image_path(dir.path(), first.key());
        assert!(path.is_file());
        let compiled = first.component(reading).unwrap();
        assert_eq!(read.get(), 1, "the split made while choosing is compiled");
        assert_eq!(compiled, split(&whole).unwrap().component);
        let made_now = first.image(reading).unwrap();
        assert!(made_now.file_range().is_none());
        let next = Apart::choose(&sha, (Some(dir.path()), true), reading).unwrap();
        let mapped = next.image(reading).unwrap();
        assert_eq!(read.get(), 1, "a kept image needs no read of the component");
        assert!(mapped.file_range().is_some());
        assert_eq!(&*mapped, &*made_now);
        assert_eq!(&mapped[5..9], b"kept");
        std::fs::remove_file(&path).unwrap();
        let again = Apart::choose(&sha, (Some(dir.path()), true), reading).unwrap();
        assert_eq!(read.get(), 2);
        assert_eq!(&*again.image(reading).unwrap(), &*made_now);
        // A file cut short is split again and replaced by a whole one.
        let whole_file = std::fs::read(&path).unwrap();
        std::fs::write(&path, &whole_file[..whole_file.len() - 65_536]).unwrap();
        let cut = Apart::choose(&sha, (Some(dir.path()), true), reading).unwrap();
        assert_eq!(&*cut.image(reading).unwrap(), &*made_now);
        assert_eq!(read.get(), 3);
        assert_eq!(std::fs::read(&path).unwrap(), whole_file);
        // No folder is made unless asked.
        let gone = dir.path().join("gone");
        assert!(Apart::choose(&sha, (Some(&gone), false), reading).is_some());
        assert!(!gone.exists());
        // A component that cannot be split is compiled whole.
        let no_data = component(1, &[]);
        assert!(
            Apart::choose(&"ef".repeat(32), (Some(dir.path()), true), || Ok(
                no_data.clone()
            ))
            .is_none()
        );
    }

    #[test]
    fn a_kept_image_maps_back_only_when_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = image_path(dir.path(), &split_key(&"ab".repeat(32)));
        let mut image = vec![0u8; 65_536];
        image[100] = 7;
        store_image(&path, &image, true).unwrap();
        let mapped = load_image(&path).unwrap();
        assert_eq!(&*mapped, &image[..]);
        let whole = std::fs::read(&path).unwrap();
        for broken in [
            &whole[..whole.len() - 1],
            &whole[..16],
            &whole[8..],
            b"".as_slice(),
        ] {
            std::fs::write(&path, broken).unwrap();
            assert!(load_image(&path).is_err(), "{} bytes", broken.len());
        }
        let mut longer = whole.clone();
        longer.extend_from_slice(&[0u8; 65_536]);
        std::fs::write(&path, &longer).unwrap();
        assert!(load_image(&path).is_err());
        assert!(load_image(&dir.path().join("none.image")).is_err());
    }

    #[test]
    fn a_second_memory_keeps_the_memory_in_the_component() {
        use wasm_encoder::*;
        let with_data = component(1, &[(0, b"x")]);
        let top = sections(&with_data).unwrap();
        let data_module = &with_data[top[0].body.clone()];
        let mut other = Module::new();
        let memories = one_memory(1);
        other.section(&memories);
        let mut both = Component::new();
        both.section(&RawSection {
            id: ComponentSectionId::CoreModule as u8,
            data: data_module,
        });
        both.section(&ModuleSection(&other));
        let refused = split(&both.finish()).err().expect("refused");
        assert!(refused.contains("defines a memory"), "{refused}");
    }
}
