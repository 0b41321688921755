//! Pages rendered by an earlier build, reused when nothing they depend on
//! changed: kept in memory by `host serve`, in `.blogmark/` by `host
//! render`.
//!
//! A page's HTML depends on the page itself (after transforms, with its
//! bundle's files), on what each macro it calls resolves to (a built-in, or
//! a Python script at one version), on the templates its own may load, and
//! on the site: site.toml, the transforms, the guest, the build clock, and
//! what its template shows of the other pages (the navigation); and on the
//! answers to the questions its macros and template asked of the site (data
//! files, page queries such as `recent_posts`'s), as they are now. A page is
//! reused only when the hash of all of these is the one it was rendered
//! under, so a changed post title re-renders the pages that were shown it, a
//! changed data file the pages that read it, a changed body only its own
//! page, and a changed script only the pages that call it. A reused page's
//! macro
//! calls count as answered from a cache.

use super::pages::RenderedPage;
use super::templates::Templates;
use crate::content::Page;
use crate::machine_key::{MachineKey, TAG_LEN};
use crate::stats::CallKind;
use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// Past this size the file is not read (it is not one the host wrote).
const MAX_BYTES: u64 = 2 << 30;

/// Where `host render` keeps its pages, under the site's folder.
pub const FILE: &str = ".blogmark/pages.cache";

/// The pages of a build, by path, with the key each was rendered under.
/// Pages are shared, not copied, between the cache and the build that
/// reuses or keeps them: a warm build of a large site handles megabytes.
type Pages = HashMap<String, (String, Arc<RenderedPage>)>;

/// The files made from many pages (listings, taxonomies, feed, sitemap,
/// 404) by path, with the key each was made under, the questions its
/// template asked of the site (each with its answer's digest) and its text.
type Listings = HashMap<String, (String, Vec<(String, String)>, String)>;

/// The pages of the last build, by path, with the key each was rendered
/// under, and the listings made from them.
pub struct PageCache {
    /// Set once loaded: at once, or by the thread that loads it in the
    /// background ([`PageCache::load_in_background`]), which every use
    /// waits for.
    kept: OnceLock<Kept>,
    /// Whether the file was there when its load began.
    file_found: bool,
}

/// What a [`PageCache`] holds once loaded.
#[derive(Default)]
struct Kept {
    pages: Mutex<Pages>,
    listings: Mutex<Listings>,
    /// The file as loaded, when there was one.
    loaded: Option<Loaded>,
}

impl Default for PageCache {
    fn default() -> Self {
        PageCache::ready(Kept::default(), false)
    }
}

/// The file a cache was loaded from, kept so that a save reuses the bytes
/// of each part whose pages are still the very ones decoded from it: a
/// warm render that changed a page encodes its part, not every page
/// (encoding 2,000 pages took 11-16 ms of a 100 ms render).
struct Loaded {
    file: Vec<u8>,
    /// The parts holding pages (all but the listings), in order: where
    /// each lies in `file`, and the pages it holds, by path, with the key
    /// each was rendered under.
    parts: LoadedParts,
}

impl Loaded {
    /// The bytes of page part `index` when `chunk` holds exactly the pages
    /// decoded from it, with the same keys.
    fn reusable(
        &self,
        index: usize,
        chunk: &[(&String, &(String, Arc<RenderedPage>))],
    ) -> Option<&[u8]> {
        let (range, pages) = self.parts.get(index)?;
        let same = pages.len() == chunk.len()
            && pages
                .iter()
                .zip(chunk)
                .all(|((path, key, page), (now, (key_now, page_now)))| {
                    path == *now && key == key_now && Arc::ptr_eq(page, page_now)
                });
        same.then(|| &self.file[range.clone()])
    }
}

/// The file's layout: the listings and the pages in parts, each tagged on
/// its own so that parts are checked and decoded on every core; the tags
/// bind each part to its place and to this one save (`generation`), so
/// parts of two saves cannot be mixed. Another format reads as empty.
///
/// In bytes: the format (4, little-endian), the generation (16), the
/// number of parts (8), then each part's length (8), tag and bytes.
struct Envelope<'a> {
    format: u32,
    generation: [u8; 16],
    parts: Vec<(&'a [u8], [u8; TAG_LEN])>,
}

impl<'a> Envelope<'a> {
    fn read(bytes: &'a [u8]) -> Option<Self> {
        let (format, rest) = bytes.split_first_chunk::<4>()?;
        let (generation, rest) = rest.split_first_chunk::<16>()?;
        let (count, mut rest) = rest.split_first_chunk::<8>()?;
        let count = usize::try_from(u64::from_le_bytes(*count)).ok()?;
        // Each part takes 40 bytes at least: a count past that is damage.
        let mut parts = Vec::with_capacity(count.min(rest.len() / 40));
        for _ in 0..count {
            let (len, after) = rest.split_first_chunk::<8>()?;
            let (tag, after) = after.split_first_chunk::<TAG_LEN>()?;
            let (part, after) =
                after.split_at_checked(usize::try_from(u64::from_le_bytes(*len)).ok()?)?;
            parts.push((part, *tag));
            rest = after;
        }
        rest.is_empty().then_some(Envelope {
            format: u32::from_le_bytes(*format),
            generation: *generation,
            parts,
        })
    }

    fn write(&self) -> Vec<u8> {
        let size: usize = self.parts.iter().map(|(p, _)| p.len() + 8 + TAG_LEN).sum();
        let mut bytes = Vec::with_capacity(28 + size);
        bytes.extend_from_slice(&self.format.to_le_bytes());
        bytes.extend_from_slice(&self.generation);
        bytes.extend_from_slice(&(self.parts.len() as u64).to_le_bytes());
        for (part, tag) in &self.parts {
            bytes.extend_from_slice(&(part.len() as u64).to_le_bytes());
            bytes.extend_from_slice(tag);
            bytes.extend_from_slice(part);
        }
        bytes
    }
}

const FORMAT: u32 = 8;

/// The domain of the tags (see [`crate::machine_key`]).
const TAG_DOMAIN: &str = "blogmark pages cache v2";

/// Pages per part of the file: parts are decoded and tagged on every core,
/// and a save encodes again only the parts whose pages changed.
const PAGES_PER_PART: usize = 256;

/// What the tag of part `index` of `count` in the save `generation`
/// covers: the part bound to its place and its save.
fn tagged(generation: &[u8; 16], index: usize, count: usize) -> [u8; 32] {
    let mut covered = [0u8; 32];
    covered[..16].copy_from_slice(generation);
    covered[16..24].copy_from_slice(&(index as u64).to_le_bytes());
    covered[24..].copy_from_slice(&(count as u64).to_le_bytes());
    covered
}

/// A rendered page as the file keeps it: its content (the body's HTML) as
/// where it sits in the whole page when it does, which halves the file.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredPage<'a> {
    content: StoredContent<'a>,
    html: Cow<'a, str>,
    html_sha256: [u8; 32],
    summary: Cow<'a, Option<String>>,
    calls: Cow<'a, [(CallKind, String)]>,
    reads: Cow<'a, [String]>,
}

#[derive(serde::Serialize, serde::Deserialize)]
enum StoredContent<'a> {
    /// At this byte range of the page's HTML.
    Within(u64, u64),
    Text(Cow<'a, str>),
}

impl<'a> StoredPage<'a> {
    fn of(page: &'a RenderedPage) -> Self {
        let content = match page.html.find(page.content.as_str()) {
            Some(start) if !page.content.is_empty() => {
                StoredContent::Within(start as u64, (start + page.content.len()) as u64)
            }
            _ => StoredContent::Text(Cow::Borrowed(&page.content)),
        };
        StoredPage {
            content,
            html: Cow::Borrowed(&page.html),
            html_sha256: page.html_sha256,
            summary: Cow::Borrowed(&page.summary),
            calls: Cow::Borrowed(&page.calls),
            reads: Cow::Borrowed(&page.reads),
        }
    }

    fn into_page(self) -> Option<RenderedPage> {
        let html = self.html.into_owned();
        let content = match self.content {
            StoredContent::Within(start, end) => html
                .get(usize::try_from(start).ok()?..usize::try_from(end).ok()?)?
                .to_owned(),
            StoredContent::Text(text) => text.into_owned(),
        };
        Some(RenderedPage {
            content,
            html,
            html_sha256: self.html_sha256,
            diagnostics: Vec::new(),
            summary: self.summary.into_owned(),
            calls: self.calls.into_owned(),
            reads: self.reads.into_owned(),
        })
    }
}

/// The pages and listings in `bytes` (a file [`encode`] wrote), if it is
/// this version's and every part is tagged by this machine.
fn decode(bytes: &[u8]) -> Option<(Pages, Listings, LoadedParts)> {
    use rayon::prelude::*;
    let envelope = Envelope::read(bytes)?;
    if envelope.format != FORMAT || envelope.parts.is_empty() {
        return None;
    }
    let count = envelope.parts.len();
    let trusted = envelope
        .parts
        .par_iter()
        .enumerate()
        .all(|(i, (part, tag))| {
            let place = tagged(&envelope.generation, i, count);
            MachineKey::get().verify(TAG_DOMAIN, &[&place, part], tag)
        });
    if !trusted {
        tracing::warn!(
            "{FILE} is not tagged by this machine (written elsewhere, or by an older host): \
             every page is rendered again"
        );
        return None;
    }
    let listings: Listings = postcard::from_bytes(envelope.parts[0].0).ok()?;
    let parts: Option<LoadedParts> = envelope.parts[1..]
        .par_iter()
        .map(|(part, _)| {
            let stored: Vec<(String, String, StoredPage)> = postcard::from_bytes(part).ok()?;
            let start = part.as_ptr() as usize - bytes.as_ptr() as usize;
            let pages = stored
                .into_iter()
                .map(|(path, key, page)| Some((path, key, Arc::new(page.into_page()?))))
                .collect::<Option<Vec<_>>>()?;
            Some((start..start + part.len(), pages))
        })
        .collect();
    let parts = parts?;
    let mut pages = Pages::with_capacity(parts.iter().map(|(_, p)| p.len()).sum());
    for (path, key, page) in parts.iter().flat_map(|(_, p)| p) {
        pages.insert(path.clone(), (key.clone(), page.clone()));
    }
    Some((pages, listings, parts))
}

/// `pages` in the order the file holds them: by path.
fn by_path(pages: &Pages) -> Vec<(&String, &(String, Arc<RenderedPage>))> {
    let mut sorted: Vec<_> = pages.iter().collect();
    sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
    sorted
}

/// The page parts of a file as decoded (see [`Loaded::parts`]).
type LoadedParts = Vec<(Range<usize>, Vec<(String, String, Arc<RenderedPage>)>)>;

/// The file holding `pages` and `listings`, in parts encoded and tagged on
/// every core; a part of `loaded` whose pages are all unchanged is taken
/// as it was (it was checked when loaded, and is tagged again here).
fn encode(pages: &Pages, listings: &Listings, loaded: Option<&Loaded>) -> std::io::Result<Vec<u8>> {
    use rayon::prelude::*;
    let mut generation = [0u8; 16];
    getrandom::fill(&mut generation).map_err(std::io::Error::other)?;
    let sorted = by_path(pages);
    let mut parts: Vec<Cow<[u8]>> = vec![Cow::Owned(
        postcard::to_stdvec(listings).map_err(std::io::Error::other)?,
    )];
    let encoded: Result<Vec<Cow<[u8]>>, postcard::Error> = sorted
        .par_chunks(PAGES_PER_PART)
        .enumerate()
        .map(|(index, chunk)| {
            if let Some(bytes) = loaded.and_then(|l| l.reusable(index, chunk)) {
                return Ok(Cow::Borrowed(bytes));
            }
            let stored: Vec<(&String, &String, StoredPage)> = chunk
                .iter()
                .map(|(path, (key, page))| (*path, key, StoredPage::of(page)))
                .collect();
            postcard::to_stdvec(&stored).map(Cow::Owned)
        })
        .collect();
    parts.extend(encoded.map_err(std::io::Error::other)?);
    let count = parts.len();
    let tags: Vec<[u8; TAG_LEN]> = parts
        .par_iter()
        .enumerate()
        .map(|(i, part)| MachineKey::get().tag(TAG_DOMAIN, &[&tagged(&generation, i, count), part]))
        .collect();
    let envelope = Envelope {
        format: FORMAT,
        generation,
        parts: parts
            .iter()
            .zip(tags)
            .map(|(part, tag)| (&**part, tag))
            .collect(),
    };
    Ok(envelope.write())
}

/// What one page's key is made of before its macros are known.
pub(super) type PageHasher = KeyHasher;

impl std::fmt::Debug for PageCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PageCache")
    }
}

impl PageCache {
    /// The pages `host render` kept for the site at `root`; none when
    /// there is no file, or one this version cannot read.
    pub fn load(root: &Path) -> PageCache {
        PageCache::ready(Kept::load(root), true)
    }

    /// [`PageCache::load`] on a thread of its own, so that a render reads
    /// the site while the file is checked and decoded (3-6 ms for the
    /// 2,000 pages of a 1,000-post site with a generator); the first use
    /// of the cache waits for it.
    pub fn load_in_background(root: &Path) -> Arc<PageCache> {
        let cache = Arc::new(PageCache {
            kept: OnceLock::new(),
            file_found: std::fs::symlink_metadata(root.join(FILE)).is_ok(),
        });
        let (loading, at) = (cache.clone(), root.to_path_buf());
        let spawned = std::thread::Builder::new()
            .name("kept pages".into())
            .spawn(move || {
                // Set even if the load panics, so that no use waits forever.
                let kept = std::panic::catch_unwind(|| Kept::load(&at)).unwrap_or_default();
                let _ = loading.kept.set(kept);
            });
        if spawned.is_err() {
            let _ = cache.kept.set(Kept::load(root));
        }
        cache
    }

    fn ready(kept: Kept, file_found: bool) -> PageCache {
        PageCache {
            kept: OnceLock::from(kept),
            file_found,
        }
    }

    /// The cache once loaded.
    fn kept(&self) -> &Kept {
        self.kept.wait()
    }

    /// Whether no page is likely to be kept, without waiting for a load
    /// in the background: whether the file was missing when it began, or
    /// held no page it could read once done.
    pub(super) fn likely_empty(&self) -> bool {
        match self.kept.get() {
            Some(kept) => kept.loaded.is_none(),
            None => !self.file_found,
        }
    }

    /// Keep the pages for the next `host render` of the site at `root`.
    pub fn save(&self, root: &Path) -> std::io::Result<()> {
        let kept = self.kept();
        let bytes = encode(
            &lock(&kept.pages),
            &lock(&kept.listings),
            kept.loaded.as_ref(),
        )?;
        crate::state_dir::check(root, &[FILE]).map_err(std::io::Error::other)?;
        let file: PathBuf = root.join(FILE);
        crate::atomic_file::write(&file, &bytes)
    }

    /// The listing file `path` (its reads and text), if it was made under
    /// `key` and each question its template asked has the answer it had
    /// (`digest` gives the answer's digest now).
    pub(super) fn listing(
        &self,
        path: &str,
        key: &str,
        digest: impl Fn(&str) -> String,
    ) -> Option<(Vec<(String, String)>, String)> {
        let (kept, reads, text) = lock(&self.kept().listings).get(path)?.clone();
        (kept == key && reads.iter().all(|(q, d)| digest(q) == *d)).then_some((reads, text))
    }

    /// Keep exactly these listing files; returns whether that changed
    /// anything.
    pub(super) fn replace_listings(&self, listings: Listings) -> bool {
        let mut kept = lock(&self.kept().listings);
        let changed = *kept != listings;
        *kept = listings;
        changed
    }

    /// The page at `path`, if it was rendered under the key `key_of` gives
    /// for it now (from the macro calls it made and the questions it asked
    /// then).
    pub(super) fn get(
        &self,
        path: &str,
        key_of: impl FnOnce(&RenderedPage) -> String,
    ) -> Option<Arc<RenderedPage>> {
        // The key is computed outside the lock, which every render thread
        // takes.
        let (key, page) = lock(&self.kept().pages).get(path).cloned()?;
        (key == key_of(&page)).then_some(page)
    }

    /// Keep exactly these pages (the others are gone from the site);
    /// returns whether that changed anything.
    pub(super) fn replace(&self, pages: Pages) -> bool {
        let mut kept = lock(&self.kept().pages);
        let same = kept.len() == pages.len()
            && pages
                .iter()
                .all(|(path, (key, _))| kept.get(path).is_some_and(|(k, _)| k == key));
        *kept = pages;
        !same
    }
}

impl Kept {
    /// The file of the site at `root`, decoded (see [`PageCache::load`]).
    fn load(root: &Path) -> Kept {
        // A linked file is not this machine's: read as no file.
        let bytes = crate::state_dir::check(root, &[FILE])
            .ok()
            .and_then(|()| crate::state_dir::read_written(&root.join(FILE), MAX_BYTES));
        let decoded = bytes.as_deref().and_then(decode);
        match (decoded, bytes) {
            (Some((pages, listings, parts)), Some(file)) => Kept {
                pages: Mutex::new(pages),
                listings: Mutex::new(listings),
                loaded: Some(Loaded { file, parts }),
            },
            _ => Kept::default(),
        }
    }
}

/// A panic elsewhere while a lock was held leaves these whole: they are
/// only ever replaced.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

pub(super) use crate::key_hasher::KeyHasher;

/// What every page of a build depends on besides itself and its
/// templates: `inputs` (the site index, navigation, transforms, guest,
/// clock and options, serialized by the caller) and site.toml.
pub(super) fn site_key(root: &Path, inputs: &[u8]) -> KeyHasher {
    let mut hasher = KeyHasher::new();
    hasher
        .part(env!("CARGO_PKG_VERSION").as_bytes())
        .part(binary_stamp().as_bytes())
        .part(inputs);
    // Capped and never a FIFO: the file may have changed since it loaded.
    let config = root.join(crate::config::FILE);
    hasher.part(
        &crate::input::read_capped(&config, crate::input::MAX_CONFIG_BYTES).unwrap_or_default(),
    );
    hasher
}

/// What a page rendered with the template `name` depends on of the
/// templates: the text of each it may load; every file of `templates/`
/// when that is not known.
pub(super) fn templates_part(templates: &Templates, root: &Path, name: &str) -> String {
    let mut hasher = KeyHasher::new();
    match templates.loaded_by(name) {
        Some(loaded) => {
            for (name, text) in loaded {
                hasher.part(name.as_bytes()).part(text.as_bytes());
            }
        }
        None => every_template(&mut hasher, root),
    }
    hasher.finish()
}

/// Every file of the site's `templates/` (the theme's are in the binary).
fn every_template(hasher: &mut KeyHasher, root: &Path) {
    hasher.part(b"every template");
    let dir = root.join("templates");
    for entry in walkdir::WalkDir::new(&dir)
        .follow_root_links(false)
        .sort_by_file_name()
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
    {
        hasher.part(crate::content::relative_path(&dir, entry.path()).as_bytes());
        // Capped as the loader caps it: a huge file is an error there.
        let bytes = crate::input::read_capped(entry.path(), super::templates::MAX_TEMPLATE_BYTES);
        hasher.part(&bytes.unwrap_or_default());
    }
}

/// Listing files made through one build's template context: each is made
/// again only when its key changed (the site key, its template and what
/// that may load, and the whole context it is rendered with), else its
/// text is taken from the cache.
pub(super) struct KeptListings {
    cache: Arc<PageCache>,
    queries: Arc<crate::site_queries::SiteQueries>,
    site: String,
    root: PathBuf,
    parts: Mutex<HashMap<String, String>>,
    made: Mutex<Listings>,
    reused: std::sync::atomic::AtomicUsize,
}

impl KeptListings {
    /// Listings kept in `cache`, for a build whose site key is `site` and
    /// whose templates ask `queries` about the site.
    pub(super) fn new(
        cache: Arc<PageCache>,
        queries: Arc<crate::site_queries::SiteQueries>,
        site: &KeyHasher,
        root: &Path,
    ) -> Self {
        KeptListings {
            cache,
            queries,
            site: site.clone().finish(),
            root: root.to_path_buf(),
            parts: Mutex::default(),
            made: Mutex::default(),
            reused: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// The file `path`: `template` rendered with `full` (`ctx`, and `data`
    /// which notes what the template reads) by `templates`, or the kept
    /// text when it was made under the same key and what it read is
    /// unchanged.
    pub(super) fn render(
        &self,
        templates: &Templates,
        path: &str,
        template: &str,
        (ctx, full): (&minijinja::Value, minijinja::Value),
        data: &super::template_data::TemplateData,
    ) -> Result<String, crate::diagnostics::Diagnostic> {
        let part = lock(&self.parts)
            .entry(template.to_owned())
            .or_insert_with(|| templates_part(templates, &self.root, template))
            .clone();
        let mut hasher = KeyHasher::new();
        hasher
            .part(self.site.as_bytes())
            .part(path.as_bytes())
            .part(template.as_bytes())
            .part(part.as_bytes())
            .part(&serde_json::to_vec(ctx).unwrap_or_default());
        let key = hasher.finish();
        let (reads, text) = match self.cache.listing(path, &key, |q| self.queries.digest(q)) {
            Some(kept) => {
                self.reused
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                kept
            }
            None => {
                let text = templates.render(template, full)?;
                let mut reads = data.reads();
                reads.sort_unstable();
                reads.dedup();
                let reads = reads
                    .into_iter()
                    .map(|q| {
                        let digest = self.queries.digest(&q);
                        (q, digest)
                    })
                    .collect();
                (reads, text)
            }
        };
        lock(&self.made).insert(path.to_owned(), (key, reads, text.clone()));
        Ok(text)
    }

    /// Keep this build's listing files in the cache; returns how many were
    /// taken from it, of how many, and whether the cache changed.
    pub(super) fn finish(self) -> (usize, usize, bool) {
        let made = self.made.into_inner().unwrap_or_else(|e| e.into_inner());
        let total = made.len();
        (
            self.reused.into_inner(),
            total,
            self.cache.replace_listings(made),
        )
    }
}

/// The key of a page whose hasher is `page` and that made the macro
/// `calls`, each name resolved by `resolve` (to a script's path and
/// version, or to nothing for a built-in), and asked the questions `read`
/// (each with the digest of its answer now).
pub(super) fn page_key<'q, 'r>(
    page: &PageHasher,
    calls: &[(CallKind, String)],
    resolve: impl Fn(&str) -> &'r str,
    read: impl Iterator<Item = (&'q str, String)>,
) -> String {
    let mut hasher = page.clone();
    let names: BTreeSet<&str> = calls.iter().map(|(_, name)| name.as_str()).collect();
    for name in names {
        hasher.part(name.as_bytes()).part(resolve(name).as_bytes());
    }
    hasher.part(b"reads");
    for (question, answer) in read {
        hasher.part(question.as_bytes()).part(answer.as_bytes());
    }
    hasher.finish()
}

/// The size and time of the running binary: pages kept on disk by another
/// build of `host` (same version, other code) are not reused.
fn binary_stamp() -> String {
    std::env::current_exe()
        .and_then(std::fs::metadata)
        .map(|m| format!("{}-{:?}", m.len(), m.modified().ok()))
        .unwrap_or_default()
}

/// The hasher of `page`, rendered with templates whose part is
/// `templates` (see [`templates_part`]), in a build whose site key is
/// `site`.
pub(super) fn page_hasher(
    site: &KeyHasher,
    templates: &str,
    root: &Path,
    page: &Page,
) -> PageHasher {
    let mut hasher = site.clone();
    hasher.part(templates.as_bytes());
    hasher.part(&page.digest());
    for resource in &page.resources {
        // A macro may read a resource's bytes: its size and time stand in.
        let stamp = std::fs::metadata(root.join(&resource.file))
            .map(|m| format!("{}-{:?}", m.len(), m.modified().ok()))
            .unwrap_or_default();
        hasher.part(resource.file.as_bytes()).part(stamp.as_bytes());
    }
    hasher
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn page(n: usize) -> (String, (String, Arc<RenderedPage>)) {
        let content = format!("<p>Body {n}</p>");
        let html = format!("<html><main>{content}</main></html>");
        let page = RenderedPage {
            html_sha256: Sha256::digest(html.as_bytes()).into(),
            html,
            content,
            diagnostics: Vec::new(),
            summary: n.is_multiple_of(2).then(|| format!("<p>Sum {n}</p>")),
            calls: vec![(CallKind::Python, "m".into())],
            reads: vec![format!("q{n}")],
        };
        (
            format!("content/posts/p{n}.md"),
            (format!("key{n}"), Arc::new(page)),
        )
    }

    fn pages(count: usize) -> Pages {
        (0..count).map(page).collect()
    }

    #[test]
    fn pages_in_many_parts_read_back_as_written() {
        let pages = pages(PAGES_PER_PART * 2 + 3);
        let mut listings = Listings::new();
        listings.insert("index.html".into(), ("k".into(), Vec::new(), "<ul>".into()));
        let bytes = encode(&pages, &listings, None).unwrap();
        let envelope = Envelope::read(&bytes).unwrap();
        assert_eq!(
            envelope.parts.len(),
            4,
            "the listings and three parts of pages"
        );
        let (back, listings_back, _) = decode(&bytes).unwrap();
        assert_eq!(listings_back, listings);
        assert_eq!(back.len(), pages.len());
        for (path, (key, page)) in &pages {
            let (k, p) = &back[path];
            assert_eq!((k, &p.html, &p.content), (key, &page.html, &page.content));
            assert_eq!(
                (&p.summary, &p.calls, &p.reads),
                (&page.summary, &page.calls, &page.reads)
            );
        }
    }

    #[test]
    fn a_save_reuses_the_loaded_bytes_of_parts_whose_pages_did_not_change() {
        let pages = pages(PAGES_PER_PART * 2 + 3);
        let file = encode(&pages, &Listings::new(), None).unwrap();
        let (mut now, listings, parts) = decode(&file).unwrap();
        let loaded = Loaded {
            file: file.clone(),
            parts,
        };
        // One page of the second part rendered again (a new page, equal
        // or not), and one of the third kept under a new key.
        let sorted_paths: Vec<String> = by_path(&now).into_iter().map(|(p, _)| p.clone()).collect();
        let rendered = &sorted_paths[PAGES_PER_PART + 5];
        let mut again = RenderedPage::clone(&now[rendered].1);
        again.html.push_str("<!-- again -->");
        now.get_mut(rendered).unwrap().1 = Arc::new(again);
        let rekeyed = &sorted_paths[PAGES_PER_PART * 2 + 1];
        now.get_mut(rekeyed).unwrap().0 = "another key".into();

        let sorted = by_path(&now);
        let chunks: Vec<_> = sorted.chunks(PAGES_PER_PART).collect();
        let old = Envelope::read(&file).unwrap();
        assert_eq!(loaded.reusable(0, chunks[0]), Some(old.parts[1].0));
        assert_eq!(loaded.reusable(1, chunks[1]), None, "a page rendered again");
        assert_eq!(
            loaded.reusable(2, chunks[2]),
            None,
            "a page under a new key"
        );
        assert_eq!(loaded.reusable(1, chunks[0]), None, "another part's pages");

        let saved = encode(&now, &listings, Some(&loaded)).unwrap();
        let (back, _, _) = decode(&saved).expect("tagged again as one save");
        assert_eq!(back.len(), now.len());
        for (path, (key, page)) in &now {
            let (k, p) = &back[path];
            assert_eq!((k, &p.html), (key, &page.html));
        }
        // The file's own parts, not a mix of two saves.
        let new = Envelope::read(&saved).unwrap();
        assert_ne!(new.generation, old.generation);
        assert_eq!(new.parts[1].0, old.parts[1].0);
    }

    #[test]
    fn a_changed_byte_a_part_of_another_save_or_a_cut_file_reads_as_nothing() {
        let pages = pages(PAGES_PER_PART + 1);
        let first = encode(&pages, &Listings::new(), None).unwrap();
        let second = encode(&pages, &Listings::new(), None).unwrap();
        assert!(decode(&first).is_some());
        // A byte of a page's HTML changed.
        let mut changed = first.clone();
        let at = changed.len() - 10;
        changed[at] ^= 1;
        assert!(decode(&changed).is_none());
        // The last part taken from another save of the same pages: each
        // part's tag is right for its own save only.
        let a = Envelope::read(&first).unwrap();
        let b = Envelope::read(&second).unwrap();
        let mixed = Envelope {
            parts: vec![a.parts[0], a.parts[1], b.parts[2]],
            ..a
        };
        assert!(decode(&mixed.write()).is_none());
        // A part left out, the count told accordingly.
        let a = Envelope::read(&first).unwrap();
        let fewer = Envelope {
            parts: a.parts[..2].to_vec(),
            ..a
        };
        assert!(decode(&fewer.write()).is_none());
        assert!(decode(&first[..first.len() - 1]).is_none());
    }

    #[test]
    fn a_load_in_the_background_gives_what_a_load_gives_and_waits_for_it() {
        let site = tempfile::tempdir().unwrap();
        let root = site.path();
        let none = PageCache::load_in_background(root);
        assert!(none.likely_empty(), "no file: known before the load ends");
        assert!(none.get("content/posts/p1.md", |_| "key1".into()).is_none());

        std::fs::create_dir(root.join(".blogmark")).unwrap();
        let saved = PageCache::default();
        assert!(saved.replace(pages(PAGES_PER_PART + 2)), "new pages");
        saved.save(root).unwrap();
        let kept = PageCache::load_in_background(root);
        assert!(
            !kept.likely_empty(),
            "a file: likely pages, before the load ends"
        );
        // Each use waits for the load: the first finds its page.
        let page = kept.get("content/posts/p1.md", |_| "key1".into());
        assert_eq!(
            page.map(|p| p.html.clone()),
            Some("<html><main><p>Body 1</p></main></html>".into())
        );
        assert!(!kept.likely_empty());
        let at_once = PageCache::load(root);
        assert_eq!(
            lock(&at_once.kept().pages).len(),
            lock(&kept.kept().pages).len()
        );

        // A file of another machine: found, but nothing in it is kept.
        std::fs::write(root.join(FILE), b"not a cache").unwrap();
        let foreign = PageCache::load_in_background(root);
        assert!(
            foreign
                .get("content/posts/p1.md", |_| "key1".into())
                .is_none()
        );
        assert!(foreign.likely_empty(), "known once loaded");
    }
}
