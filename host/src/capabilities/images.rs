//! Image processing for scripts: `ctx.resource(src).resize(...)`, `.fit`,
//! `.fill`, `.crop`, in the source's format or converted to WebP, JPEG or
//! PNG, when the site grants `[capabilities] images`.
//!
//! Answering is cheap and happens during the render: the host reads the
//! source's header and content hash, computes the output's size and name,
//! and notes the work. The work itself is done once the pages are rendered,
//! in parallel, decoding each source once, and once per (content hash,
//! operation) ever: results are kept in the user's cache folder and copied
//! beside the page (a bundle's image) or beside the source (`static/`).
//! A name holds a hash of the source's content and the operation, so a
//! changed image gets new names and the calls that used it run again.

use super::known_sources::{KnownSources, Stamp};
use crate::render::Output;
use image::{DynamicImage, ImageFormat};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The largest source image, in pixels (a decompression bomb declares far
/// more in a few bytes of header).
pub const MAX_SOURCE_PIXELS: u64 = 100_000_000;

/// The largest source file read, in bytes.
pub const MAX_SOURCE_BYTES: u64 = 64 << 20;

/// The most distinct images one build makes: a site (pulled, granted
/// `images`) cannot have the host work without end.
pub const MAX_OUTPUTS: usize = 20_000;

/// The longest side an output may have, in pixels.
pub const MAX_OUTPUT_SIDE: u32 = 8_192;

/// Changes when what an operation writes changes (the encoders, the filter),
/// so that no older result is reused.
const PIPELINE: &str =
    "blogmark images v1 (image 0.25, fast_image_resize 5 Catmull-Rom, libwebp 1.x)";

/// One operation, as a script asks it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// A bundle file's name (relative to `page`) or a path under `static/`
    /// written as its URL (`/img/a.png`).
    pub src: String,
    /// The page whose bundle holds a relative `src` (its source path).
    #[serde(default)]
    pub page: Option<String>,
    /// `resize`, `fit`, `fill` or `crop`.
    pub op: String,
    /// Width in pixels.
    #[serde(default)]
    pub width: Option<u32>,
    /// Height in pixels.
    #[serde(default)]
    pub height: Option<u32>,
    /// Where `fill` and `crop` keep the image: `center` (default), `top`,
    /// `bottom`, `left`, `right`, `topleft`, `topright`, `bottomleft`,
    /// `bottomright`.
    #[serde(default)]
    pub anchor: Option<String>,
    /// `webp`, `jpeg` or `png` (default: the source's; GIF becomes PNG).
    #[serde(default)]
    pub format: Option<String>,
    /// 1 to 100 for WebP and JPEG (default 75).
    #[serde(default)]
    pub quality: Option<u8>,
}

/// A bundle page's files and where the page is published.
#[derive(Clone, Debug, Default)]
pub struct BundlePage {
    /// The page's URL path, e.g. `/posts/trip/`.
    pub url: String,
    /// Its files: name → path in the site.
    pub files: HashMap<String, String>,
}

/// A source image, read once per build.
#[derive(Clone, Debug)]
struct Source {
    /// Path in the site.
    file: String,
    content_hash: String,
    width: u32,
    height: u32,
    format: ImageFormat,
}

/// Work to do once the pages are rendered.
#[derive(Clone, Debug)]
struct Job {
    source: Source,
    op: Op,
    format: ImageFormat,
    quality: u8,
    /// Its name in the cache folder.
    key: String,
}

/// An operation with its sizes worked out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    /// Scale to exactly this size.
    Scale(u32, u32),
    /// Scale to cover (w, h) at (sw, sh), then cut (w, h) at the anchor.
    Fill {
        sw: u32,
        sh: u32,
        w: u32,
        h: u32,
        anchor: Anchor,
    },
    /// Cut (w, h) at the anchor, unscaled.
    Crop { w: u32, h: u32, anchor: Anchor },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Anchor {
    /// 0 = left, 1 = center, 2 = right.
    x: u8,
    /// 0 = top, 1 = center, 2 = bottom.
    y: u8,
}

impl Op {
    fn size(self) -> (u32, u32) {
        match self {
            Op::Scale(w, h) | Op::Fill { w, h, .. } | Op::Crop { w, h, .. } => (w, h),
        }
    }
}

/// The images of one build.
#[derive(Debug, Default)]
pub struct Images {
    root: PathBuf,
    /// The base URL, with its final `/`: a made image's URL is under it.
    base: String,
    granted: bool,
    pages: HashMap<String, BundlePage>,
    sources: Mutex<HashMap<String, Arc<Result<Source, String>>>>,
    jobs: Mutex<BTreeMap<String, Job>>,
    known: std::sync::OnceLock<KnownSources>,
}

impl Images {
    /// The images of a build of the site at `root` whose bundle pages are
    /// `pages` (by source path); `granted`: whether site.toml grants
    /// `[capabilities] images`.
    pub fn new(
        root: &Path,
        base: String,
        granted: bool,
        pages: HashMap<String, BundlePage>,
    ) -> Images {
        Images {
            root: root.to_path_buf(),
            base,
            granted,
            pages,
            ..Images::default()
        }
    }

    /// The images of a build of the site at `root` configured by `config`,
    /// whose pages are `pages` (their bundles' files are what a relative
    /// name may name).
    pub fn for_site(
        root: &Path,
        config: &crate::config::Config,
        pages: &[crate::content::Page],
    ) -> Images {
        let bundles = pages
            .iter()
            .filter(|p| p.bundle.is_some())
            .map(|p| {
                let files = p
                    .resources
                    .iter()
                    .map(|r| (r.name.clone(), r.file.clone()))
                    .collect();
                let page = BundlePage {
                    url: p.url.clone(),
                    files,
                };
                (p.path.clone(), page)
            })
            .collect();
        Images::new(root, config.base_url(), config.capabilities.images, bundles)
    }

    /// The answer to an image question: `{"url", "width", "height"}` (the
    /// URL under the base URL, as pages' are), or
    /// why not (prefixed with `denied: ` when the site grants no images).
    pub fn answer(&self, request: &Request) -> Result<String, String> {
        if !self.granted {
            return Err(format!(
                "{}the site grants no image processing (`images = true` in [capabilities] of site.toml)",
                super::fetch::DENIED
            ));
        }
        let (file, folder) = self.locate(request)?;
        let source = self.source(&file)?;
        let op = plan(request, &source)?;
        let format = output_format(request.format.as_deref(), source.format)?;
        let quality = match request.quality {
            None => 75,
            Some(q @ 1..=100) => q,
            Some(q) => return Err(format!("quality must be from 1 to 100, not {q}")),
        };
        let canonical = format!("{op:?}|{format:?}|{quality}|{PIPELINE}");
        let key = hex::encode(Sha256::digest(
            format!("{}|{canonical}", source.content_hash).as_bytes(),
        ));
        let (w, h) = op.size();
        // Letters, digits, `-` and `_` only: the name goes into a URL as is.
        let stem: String = Path::new(&file)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("image")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .take(64)
            .collect();
        let extension = format.extensions_str()[0];
        let name = format!("{stem}_{}_{w}x{h}.{extension}", &key[..12]);
        let output = format!("{folder}{name}");
        let url = format!("{}{output}", self.base);
        let mut jobs = lock(&self.jobs);
        if jobs.len() >= MAX_OUTPUTS && !jobs.contains_key(&output) {
            return Err(format!(
                "the site asks for more than {MAX_OUTPUTS} distinct images in one build"
            ));
        }
        jobs.insert(
            output,
            Job {
                source,
                op,
                format,
                quality,
                key,
            },
        );
        drop(jobs);
        Ok(json!({ "url": url, "width": w, "height": h }).to_string())
    }

    /// The source's path in the site, and the output folder (ending in `/`,
    /// relative to the output) its results go to.
    fn locate(&self, request: &Request) -> Result<(String, String), String> {
        let src = request.src.as_str();
        if let Some(path) = src.strip_prefix('/') {
            let plain = !path.is_empty()
                && path
                    .split('/')
                    .all(|s| !s.is_empty() && s != "." && s != ".." && !s.contains('\\'));
            if !plain {
                return Err(format!("`{src}` is not a plain path under static/"));
            }
            let file = format!("static/{path}");
            let folder = path
                .rsplit_once('/')
                .map_or(String::new(), |(f, _)| format!("{f}/"));
            return Ok((file, folder));
        }
        let Some(page) = request.page.as_deref() else {
            return Err(format!(
                "`{src}` is relative to a page: the script needs `uses_page: true` (or name a \
                 file under static/ as `/img/{src}`)"
            ));
        };
        let bundle = self
            .pages
            .get(page)
            .ok_or_else(|| format!("{page} is not a page bundle, so it has no `{src}`"))?;
        let file = bundle
            .files
            .get(src)
            .ok_or_else(|| format!("{page} has no file `{src}` in its bundle"))?;
        Ok((file.clone(), bundle.url.trim_start_matches('/').to_owned()))
    }

    fn source(&self, file: &str) -> Result<Source, String> {
        let slot = lock(&self.sources).get(file).cloned();
        if let Some(known) = slot {
            return (*known).clone();
        }
        let read = self.read_source(file);
        lock(&self.sources).insert(file.to_owned(), Arc::new(read.clone()));
        read
    }

    /// `file`'s header and content hash: as an earlier build noted them
    /// when its stamp says it has not changed since, else read.
    fn read_source(&self, file: &str) -> Result<Source, String> {
        let path = checked_path(&self.root, file)?;
        let stamp = std::fs::metadata(&path)
            .map(|m| Stamp::of(&m))
            .map_err(|_| format!("no file {file}"))?;
        let known = self.known.get_or_init(KnownSources::load);
        if let Some(k) = known.get(&path, stamp)
            && let Some(format) = ImageFormat::from_extension(&k.format)
        {
            return Ok(Source {
                file: file.to_owned(),
                content_hash: k.content_hash,
                width: k.width,
                height: k.height,
                format,
            });
        }
        let source = read_source(&self.root, file)?;
        let facts = (
            source.content_hash.clone(),
            source.width,
            source.height,
            source.format.extensions_str()[0].to_owned(),
        );
        known.put(path, stamp, facts);
        Ok(source)
    }

    /// Do the work noted so far (each source decoded once, in parallel,
    /// each result taken from the cache folder when it is there) and put
    /// the results into `output`, never in place of a file it has; for
    /// each result that failed, its source and why.
    pub fn produce(&self, output: &mut Output) -> Vec<(String, String)> {
        if let Some(known) = self.known.get() {
            known.save();
        }
        let jobs = std::mem::take(&mut *lock(&self.jobs));
        if jobs.is_empty() {
            return Vec::new();
        }
        let cache = blogmark_runtime::cache_root().map(|c| c.join("images"));
        let mut by_source: BTreeMap<String, Vec<(String, Job)>> = BTreeMap::new();
        for (path, job) in jobs {
            by_source
                .entry(job.source.file.clone())
                .or_default()
                .push((path, job));
        }
        let done: Vec<(String, String, Result<Made, String>)> = by_source
            .into_par_iter()
            .flat_map_iter(|(file, jobs)| {
                make_all(&self.root, cache.as_deref(), jobs)
                    .into_iter()
                    .map(move |(path, made)| (path, file.clone(), made))
            })
            .collect();
        let mut problems = Vec::new();
        for (path, source, made) in done {
            if output.files().contains_key(&path) {
                problems.push((
                    source,
                    format!("cannot make {path}: a file of the site is there"),
                ));
                continue;
            }
            match made {
                Ok(Made::Cached(file)) => output.add_copy(path, file),
                Ok(Made::Bytes(bytes)) => output.add(path, bytes),
                Err(why) => problems.push((source, format!("cannot make {path}: {why}"))),
            }
        }
        problems
    }
}

/// A result: a file in the cache folder, or bytes (no cache folder).
enum Made {
    Cached(PathBuf),
    Bytes(Vec<u8>),
}

/// Every job of one source, decoding it only if some result is not cached.
fn make_all(
    root: &Path,
    cache: Option<&Path>,
    jobs: Vec<(String, Job)>,
) -> Vec<(String, Result<Made, String>)> {
    let mut decoded: Option<Result<DynamicImage, String>> = None;
    jobs.into_iter()
        .map(|(path, job)| {
            let cached = cache.map(|c| {
                c.join(&job.key[..2]).join(format!(
                    "{}.{}",
                    job.key,
                    job.format.extensions_str()[0]
                ))
            });
            if let Some(file) = cached.as_ref().filter(|f| f.is_file()) {
                return (path, Ok(Made::Cached(file.clone())));
            }
            let image = decoded.get_or_insert_with(|| decode(root, &job.source));
            let made = match image {
                Ok(image) => make(image, &job).and_then(|bytes| match &cached {
                    Some(file) => keep(file, &bytes).map(|()| Made::Cached(file.clone())),
                    None => Ok(Made::Bytes(bytes)),
                }),
                Err(why) => Err(why.clone()),
            };
            (path, made)
        })
        .collect()
}

/// Write `bytes` at `file` in the cache folder, whole or not at all.
fn keep(file: &Path, bytes: &[u8]) -> Result<(), String> {
    let dir = file.parent().unwrap_or(file);
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot write the cache folder: {e}"))?;
    crate::atomic_file::write(file, bytes)
        .map_err(|e| format!("cannot write the cache folder: {e}"))
}

fn decode(root: &Path, source: &Source) -> Result<DynamicImage, String> {
    let bytes = read_capped(root, &source.file)?;
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes));
    reader.set_format(source.format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(source.width);
    limits.max_image_height = Some(source.height);
    limits.max_alloc = Some(MAX_SOURCE_PIXELS * 4 + (64 << 20));
    reader.limits(limits);
    reader
        .decode()
        .map_err(|e| format!("{} cannot be decoded: {e}", source.file))
}

fn make(image: &DynamicImage, job: &Job) -> Result<Vec<u8>, String> {
    let pick = |extent: u32, size: u32, at: u8| match at {
        0 => 0,
        2 => extent.saturating_sub(size),
        _ => extent.saturating_sub(size) / 2,
    };
    let (w0, h0) = (f64::from(image.width()), f64::from(image.height()));
    let result = match job.op {
        Op::Scale(w, h) => scale(image, w, h, None)?,
        Op::Fill {
            sw,
            sh,
            w,
            h,
            anchor,
        } => {
            // The part of the source that, scaled to (sw, sh), is cut to (w, h).
            let (cw, ch) = (
                f64::from(w) * w0 / f64::from(sw),
                f64::from(h) * h0 / f64::from(sh),
            );
            let at = |extra: f64, a: u8| extra.max(0.0) * f64::from(a) / 2.0;
            let part = (at(w0 - cw, anchor.x), at(h0 - ch, anchor.y), cw, ch);
            scale(image, w, h, Some(part))?
        }
        Op::Crop { w, h, anchor } => image.crop_imm(
            pick(image.width(), w, anchor.x),
            pick(image.height(), h, anchor.y),
            w,
            h,
        ),
    };
    encode(&result, job.format, job.quality)
}

/// `image` (or the part `crop` of it: left, top, width, height) scaled to
/// exactly `w`×`h`, with a Catmull-Rom filter on the pixels as they are
/// (SIMD, no floating-point copy of the image).
fn scale(
    image: &DynamicImage,
    w: u32,
    h: u32,
    crop: Option<(f64, f64, f64, f64)>,
) -> Result<DynamicImage, String> {
    // The resizer takes 8-bit grey, grey with alpha, RGB and RGBA; any
    // other layout is widened to RGBA first.
    let widened;
    let source = match image {
        DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageRgb8(_)
        | DynamicImage::ImageRgba8(_) => image,
        other => {
            widened = DynamicImage::ImageRgba8(other.to_rgba8());
            &widened
        }
    };
    let mut out = DynamicImage::new(w, h, source.color());
    let mut options = fast_image_resize::ResizeOptions::new().resize_alg(
        fast_image_resize::ResizeAlg::Convolution(fast_image_resize::FilterType::CatmullRom),
    );
    if let Some((left, top, width, height)) = crop {
        options = options.crop(left, top, width, height);
    }
    fast_image_resize::Resizer::new()
        .resize(source, &mut out, &options)
        .map_err(|e| format!("resizing failed: {e}"))?;
    Ok(out)
}

fn encode(image: &DynamicImage, format: ImageFormat, quality: u8) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    match format {
        ImageFormat::WebP => {
            let (data, width, height, alpha) = if image.color().has_alpha() {
                let rgba = image.to_rgba8();
                let (w, h) = rgba.dimensions();
                (rgba.into_raw(), w, h, true)
            } else {
                let rgb = image.to_rgb8();
                let (w, h) = rgb.dimensions();
                (rgb.into_raw(), w, h, false)
            };
            let encoder = if alpha {
                webp::Encoder::from_rgba(&data, width, height)
            } else {
                webp::Encoder::from_rgb(&data, width, height)
            };
            out.extend_from_slice(&encoder.encode(f32::from(quality)));
        }
        ImageFormat::Jpeg => {
            let rgb = image.to_rgb8();
            let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
            rgb.write_with_encoder(encoder)
                .map_err(|e| format!("JPEG encoding failed: {e}"))?;
        }
        _ => {
            image
                .write_to(&mut std::io::Cursor::new(&mut out), ImageFormat::Png)
                .map_err(|e| format!("PNG encoding failed: {e}"))?;
        }
    }
    Ok(out)
}

/// The bytes of `file` (a path in the site at `root`), refusing a link
/// anywhere on the way and a file past [`MAX_SOURCE_BYTES`].
fn read_capped(root: &Path, file: &str) -> Result<Vec<u8>, String> {
    let at = checked_path(root, file)?;
    let meta = std::fs::metadata(&at).map_err(|_| format!("no file {file}"))?;
    if !meta.is_file() {
        return Err(format!("{file} is not a file"));
    }
    if meta.len() > MAX_SOURCE_BYTES {
        return Err(format!(
            "{file} is larger than {} MiB",
            MAX_SOURCE_BYTES >> 20
        ));
    }
    std::fs::read(&at).map_err(|e| format!("cannot read {file}: {e}"))
}

/// The path of `file` (a path in the site at `root`), when no part of the
/// way to it is a symbolic link.
fn checked_path(root: &Path, file: &str) -> Result<PathBuf, String> {
    let mut at = root.to_path_buf();
    for part in file.split('/') {
        at.push(part);
        let meta = std::fs::symlink_metadata(&at).map_err(|_| format!("no file {file}"))?;
        if meta.file_type().is_symlink() {
            return Err(format!(
                "{file} goes through a symbolic link; links are not followed"
            ));
        }
    }
    Ok(at)
}

fn read_source(root: &Path, file: &str) -> Result<Source, String> {
    let bytes = read_capped(root, file)?;
    let format = image::guess_format(&bytes)
        .ok()
        .filter(|f| {
            matches!(
                f,
                ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP | ImageFormat::Gif
            )
        })
        .ok_or_else(|| format!("{file} is not a JPEG, PNG, WebP or GIF image"))?;
    let size = imagesize::blob_size(&bytes).map_err(|e| format!("{file}: {e}"))?;
    let (width, height) = (
        u32::try_from(size.width).unwrap_or(u32::MAX),
        u32::try_from(size.height).unwrap_or(u32::MAX),
    );
    if width == 0 || height == 0 || u64::from(width) * u64::from(height) > MAX_SOURCE_PIXELS {
        return Err(format!(
            "{file} declares {width}×{height} pixels; at most {} million are read",
            MAX_SOURCE_PIXELS / 1_000_000
        ));
    }
    Ok(Source {
        file: file.to_owned(),
        content_hash: crate::input::content_hash(&bytes),
        width,
        height,
        format,
    })
}

fn output_format(asked: Option<&str>, source: ImageFormat) -> Result<ImageFormat, String> {
    match asked {
        None => Ok(match source {
            ImageFormat::Gif => ImageFormat::Png,
            other => other,
        }),
        Some("webp") => Ok(ImageFormat::WebP),
        Some("jpeg" | "jpg") => Ok(ImageFormat::Jpeg),
        Some("png") => Ok(ImageFormat::Png),
        Some(other) => Err(format!("format must be webp, jpeg or png, not `{other}`")),
    }
}

fn anchor(name: Option<&str>) -> Result<Anchor, String> {
    let (x, y) = match name.unwrap_or("center") {
        "center" => (1, 1),
        "top" => (1, 0),
        "bottom" => (1, 2),
        "left" => (0, 1),
        "right" => (2, 1),
        "topleft" => (0, 0),
        "topright" => (2, 0),
        "bottomleft" => (0, 2),
        "bottomright" => (2, 2),
        other => {
            return Err(format!(
                "`{other}` is not an anchor (center, top, bottomright, …)"
            ));
        }
    };
    Ok(Anchor { x, y })
}

/// The operation `request` asks of `source`, with its sizes.
fn plan(request: &Request, source: &Source) -> Result<Op, String> {
    let (w0, h0) = (f64::from(source.width), f64::from(source.height));
    let scaled = |v: f64| -> u32 { (v.round() as u32).max(1) };
    let op = match (request.op.as_str(), request.width, request.height) {
        ("resize", Some(w), None) => Op::Scale(w, scaled(h0 * f64::from(w) / w0)),
        ("resize", None, Some(h)) => Op::Scale(scaled(w0 * f64::from(h) / h0), h),
        ("resize", Some(w), Some(h)) => Op::Scale(w, h),
        ("resize", None, None) => return Err("resize needs a width or a height".into()),
        ("fit", Some(w), Some(h)) => {
            let scale = (f64::from(w) / w0).min(f64::from(h) / h0).min(1.0);
            Op::Scale(scaled(w0 * scale), scaled(h0 * scale))
        }
        ("fill", Some(w), Some(h)) => {
            let scale = (f64::from(w) / w0).max(f64::from(h) / h0);
            Op::Fill {
                sw: scaled(w0 * scale).max(w),
                sh: scaled(h0 * scale).max(h),
                w,
                h,
                anchor: anchor(request.anchor.as_deref())?,
            }
        }
        ("crop", Some(w), Some(h)) => Op::Crop {
            w: w.min(source.width),
            h: h.min(source.height),
            anchor: anchor(request.anchor.as_deref())?,
        },
        ("fit" | "fill" | "crop", _, _) => {
            return Err(format!("{} needs a width and a height", request.op));
        }
        (other, _, _) => {
            return Err(format!("`{other}` is not resize, fit, fill or crop"));
        }
    };
    let (w, h) = op.size();
    let big = |v: u32| v == 0 || v > MAX_OUTPUT_SIDE;
    let scaled_big = matches!(op, Op::Fill { sw, sh, .. } if sw > MAX_OUTPUT_SIDE * 4 || sh > MAX_OUTPUT_SIDE * 4);
    if big(w) || big(h) || scaled_big {
        return Err(format!(
            "{w}×{h} is outside 1 to {MAX_OUTPUT_SIDE} pixels a side"
        ));
    }
    Ok(op)
}

/// Only ever inserted into: a panic elsewhere leaves them whole.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(w: u32, h: u32) -> Source {
        Source {
            file: "static/a.jpg".into(),
            content_hash: "h".into(),
            width: w,
            height: h,
            format: ImageFormat::Jpeg,
        }
    }

    fn ask(op: &str, w: Option<u32>, h: Option<u32>) -> Result<(u32, u32), String> {
        let request = Request {
            src: "/a.jpg".into(),
            page: None,
            op: op.into(),
            width: w,
            height: h,
            anchor: None,
            format: None,
            quality: None,
        };
        plan(&request, &source(2000, 1500)).map(Op::size)
    }

    #[test]
    fn sizes_keep_the_aspect_unless_both_are_given() {
        assert_eq!(ask("resize", Some(800), None), Ok((800, 600)));
        assert_eq!(ask("resize", None, Some(300)), Ok((400, 300)));
        assert_eq!(ask("resize", Some(10), Some(10)), Ok((10, 10)));
        assert_eq!(ask("fit", Some(1000), Some(1000)), Ok((1000, 750)));
        // Fit never enlarges.
        assert_eq!(ask("fit", Some(4000), Some(4000)), Ok((2000, 1500)));
        assert_eq!(ask("fill", Some(500), Some(500)), Ok((500, 500)));
        assert_eq!(ask("crop", Some(3000), Some(100)), Ok((2000, 100)));
    }

    #[test]
    fn what_cannot_be_done_says_why() {
        assert!(
            ask("resize", None, None)
                .unwrap_err()
                .contains("needs a width")
        );
        assert!(
            ask("fill", Some(5), None)
                .unwrap_err()
                .contains("a width and a height")
        );
        assert!(
            ask("resize", Some(100_000), None)
                .unwrap_err()
                .contains("outside 1 to 8192")
        );
        assert!(
            ask("blur", None, None)
                .unwrap_err()
                .contains("not resize, fit")
        );
    }

    #[test]
    fn a_made_name_is_plain_whatever_the_source_is_called() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("static")).unwrap();
        let mut png = Vec::new();
        image::RgbImage::new(4, 4)
            .write_to(&mut std::io::Cursor::new(&mut png), ImageFormat::Png)
            .unwrap();
        std::fs::write(dir.path().join("static/a b?#\"é.png"), &png).unwrap();
        let images = Images::new(dir.path(), "https://x.test/".into(), true, HashMap::new());
        let request = Request {
            src: "/a b?#\"é.png".into(),
            page: None,
            op: "resize".into(),
            width: Some(2),
            height: None,
            anchor: None,
            format: None,
            quality: None,
        };
        let answer: serde_json::Value =
            serde_json::from_str(&images.answer(&request).unwrap()).unwrap();
        let url = answer["url"].as_str().unwrap();
        assert!(url.starts_with("https://x.test/a-b----_"), "{url}");
        assert!(url.ends_with("_2x2.png"), "{url}");
    }

    #[test]
    fn a_bomb_is_refused_from_its_header() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("static")).unwrap();
        // A valid PNG header declaring 60000×60000 pixels, and no data.
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&60_000u32.to_be_bytes());
        png.extend_from_slice(&60_000u32.to_be_bytes());
        png.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
        std::fs::write(dir.path().join("static/bomb.png"), &png).unwrap();
        let err = read_source(dir.path(), "static/bomb.png").unwrap_err();
        assert!(err.contains("60000×60000"), "{err}");
    }
}
