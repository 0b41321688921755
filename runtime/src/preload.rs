//! The reset-image way to a site snapshot: with reset in place, the
//! modules a site imports are imported once into a new instance of the
//! base guest, and the memory it then holds becomes the image every
//! instance starts from and is reset to.
//!
//! The component way ([`crate::snapshot`]) writes a new component and
//! compiles it: about 10 s per change of a site's imports. This way costs
//! the imports themselves and one copy of the memory, and no compile: the
//! code is the base guest's. It needs reset in place, whose instances have
//! memories the runtime maps itself (created at the image's size, then
//! filled from it); with a fresh instance per request the component way
//! remains.
//!
//! What the instances start from is the same as a snapshot's: the memory
//! after the imports (with the objects it holds made immortal), and the
//! globals a call leaves as it found them. The image is kept on disk beside
//! the component snapshots, by the caller's key, so that the next process
//! loads it rather than import again; a preload that failed is remembered
//! by the same key.

use crate::call::{Job, Prepared};
use crate::engine::SandboxEngine;
use crate::modules::ModuleSource;
use crate::reset::host_memory::Region;
use crate::reset::image::{Image, Mapping};
use crate::snapshot::immortal;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Modules to import into the image every instance starts from.
#[derive(Clone)]
pub struct Preload {
    /// The modules to import, in order.
    pub modules: Vec<String>,
    /// Scripts to compile into the image (none of them runs): a request for
    /// one of these, with the same slug, path and source, then carries its
    /// key instead of its source and code. The image's file name need not
    /// depend on them: a script edited since is sent whole, as any other.
    pub scripts: Vec<crate::abi::Script>,
    /// Where the modules the guest does not hold come from.
    pub source: Arc<dyn ModuleSource>,
    /// A hash of every input (base guest, module list, module sources):
    /// names the image's file.
    pub key: String,
    /// How long the imports may take.
    pub timeout: Duration,
    /// The fuel the imports may burn.
    pub fuel: u64,
    /// The largest memory the guest may grow to while importing.
    pub memory_bytes: usize,
    /// Where images are kept (`None`: import in every process).
    pub dir: Option<PathBuf>,
    /// Import even if the same inputs failed before.
    pub retry_failed: bool,
}

impl std::fmt::Debug for Preload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Preload")
            .field("modules", &self.modules)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// What the preload did.
#[derive(Clone, Debug, Default)]
pub struct PreloadReport {
    /// Whether the image came from the disk (else the imports ran now).
    pub from_disk: bool,
    /// Time spent importing (or loading the image), once per process.
    pub elapsed: Duration,
    /// Modules whose import failed, and why: left out of the image, they
    /// fail again at the call that imports them.
    pub failed: Vec<(String, String)>,
    /// Why there is no image with the modules: instances then start from
    /// the base guest, and every import costs its call.
    pub error: Option<String>,
    /// Whether a failure to make the image, or to compile the scripts into
    /// it, was the machine's, not the inputs' (too busy for the imports to
    /// finish, no instance to import into): it is not remembered, and a
    /// long-lived process may try again later.
    pub retry: bool,
    /// The keys (as `script_key` makes them) of the scripts compiled into the image.
    pub scripts: BTreeSet<String>,
}

/// The key a script is compiled into an image under: a hash of what the
/// compiled code depends on (the file name tracebacks show comes from the
/// slug and the path).
pub(crate) fn script_key(script: &crate::abi::Script) -> String {
    let mut hasher = Sha256::new();
    for part in [&script.slug, &script.path, &script.source] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hex::encode(&hasher.finalize()[..16])
}

/// The images of a preloaded instance's memories, in creation order.
pub(crate) type Images = Vec<Arc<Image>>;

/// What an image file holds besides the memories.
#[derive(Default)]
struct Filed {
    /// Modules whose import failed, and why.
    failed: Vec<(String, String)>,
    /// The keys of the scripts compiled in.
    scripts: BTreeSet<String>,
}

/// The images for `plan`, from the disk or imported now into a new
/// instance of `engine` (which is then dropped), with every script of the
/// plan compiled in (see [`with_scripts`]).
pub(crate) fn images(engine: &SandboxEngine, plan: &Preload) -> (Option<Images>, PreloadReport) {
    let started = Instant::now();
    // A layer made for this very set of scripts needs nothing else (one
    // that does not compile is left out of it each time).
    if let Some((layered, filed)) = layer_file(plan).as_deref().and_then(read) {
        let report = PreloadReport {
            from_disk: true,
            elapsed: started.elapsed(),
            failed: filed.failed,
            error: None,
            retry: false,
            scripts: filed.scripts,
        };
        return (Some(layered), report);
    }
    match modules_images(engine, plan, started) {
        (Some(images), report) => {
            let (images, report) = with_scripts(engine, plan, images, report);
            (
                Some(images),
                PreloadReport {
                    elapsed: started.elapsed(),
                    ..report
                },
            )
        }
        none => none,
    }
}

/// The image of `plan`'s modules, keyed by them alone (shared by every
/// site importing the same modules, so it holds no script).
fn modules_images(
    engine: &SandboxEngine,
    plan: &Preload,
    started: Instant,
) -> (Option<Images>, PreloadReport) {
    let file = plan
        .dir
        .as_ref()
        .map(|d| d.join(format!("{}.image", plan.key)));
    let marker = plan
        .dir
        .as_ref()
        .map(|d| d.join(format!("{}.failed", plan.key)));
    if let Some(file) = &file
        && let Some((images, filed)) = read(file)
    {
        let report = PreloadReport {
            from_disk: true,
            elapsed: started.elapsed(),
            failed: filed.failed,
            error: None,
            retry: false,
            scripts: filed.scripts,
        };
        return (Some(images), report);
    }
    if !plan.retry_failed
        && let Some(why) = marker
            .as_ref()
            .and_then(|m| std::fs::read_to_string(m).ok())
    {
        let error = format!(
            "{why} (remembered from an earlier render with the same guest, modules and \
             sources, and not tried again until one of them changes or a render runs with \
             --no-cache)"
        );
        return (None, failed_report(started, error, false));
    }
    match import(engine, plan) {
        Ok((images, filed)) => {
            if let Some(file) = &file {
                if let Some(marker) = &marker {
                    let _ = std::fs::remove_file(marker);
                }
                if let Err(e) = write(file, &images, &filed) {
                    tracing::warn!("cannot keep the site snapshot's image: {e}");
                }
            }
            let report = PreloadReport {
                from_disk: false,
                elapsed: started.elapsed(),
                failed: filed.failed,
                error: None,
                retry: false,
                scripts: filed.scripts,
            };
            (Some(images), report)
        }
        Err(Refused::Guest(why)) => {
            // The guest's own failure: the same inputs fail the same way.
            if let Some(marker) = &marker
                && let Some(dir) = marker.parent()
            {
                let _ = std::fs::create_dir_all(dir);
                let _ = crate::snapshot::write_atomically(marker, why.as_bytes());
            }
            (None, failed_report(started, why, false))
        }
        Err(Refused::Host(why)) => (None, failed_report(started, why, true)),
    }
}

/// `images` (the modules' image) with the plan's scripts compiled in: a
/// layer over it, kept on the disk by the modules' key and the set of
/// scripts, so that its content depends on those alone, a script edited
/// (or added) does not re-run the imports, and the next process with the
/// same scripts maps the layer. About 35 ms for the first process with a
/// new set of scripts; on a failure, `images` as they are (the scripts are
/// then sent whole), and the failure is remembered for that set.
fn with_scripts(
    engine: &SandboxEngine,
    plan: &Preload,
    images: Images,
    report: PreloadReport,
) -> (Images, PreloadReport) {
    let missing: Vec<&crate::abi::Script> = plan
        .scripts
        .iter()
        .filter(|s| !report.scripts.contains(&script_key(s)))
        .collect();
    if missing.is_empty() {
        return (images, report);
    }
    let file = layer_file(plan);
    let marker = file.as_ref().map(|f| f.with_extension("failed"));
    if !plan.retry_failed && marker.as_ref().is_some_and(|m| m.is_file()) {
        return (images, report);
    }
    match layer(engine, plan, &images, &missing) {
        Ok((layered, filed)) => {
            let scripts: BTreeSet<String> = report.scripts.union(&filed).cloned().collect();
            let filed = Filed {
                failed: report.failed.clone(),
                scripts,
            };
            if let Some(file) = &file {
                match write(file, &layered, &filed) {
                    Ok(()) => crate::snapshot::prune_layers(file, LAYERS_KEPT),
                    Err(e) => tracing::warn!("cannot keep the site snapshot's scripts: {e}"),
                }
            }
            let report = PreloadReport {
                scripts: filed.scripts,
                ..report
            };
            (layered, report)
        }
        Err(Refused::Guest(why)) => {
            tracing::warn!("the site's scripts are sent whole with every call: {why}");
            // The same scripts fail the same way: not tried again.
            if let Some(marker) = &marker {
                let _ = crate::snapshot::write_atomically(marker, why.as_bytes());
            }
            (images, report)
        }
        Err(Refused::Host(why)) => {
            tracing::warn!("the site's scripts are sent whole with every call: {why}");
            // The machine's failure, not the scripts': a long-lived
            // process may try again.
            (
                images,
                PreloadReport {
                    retry: true,
                    ..report
                },
            )
        }
    }
}

/// Layers kept per modules' image: the scripts as they are and as they
/// were before the last edits, or those of a few sites that import the
/// same modules.
const LAYERS_KEPT: usize = 4;

/// Where the layer of `plan`'s scripts over its modules' image is kept:
/// named by the modules' key and the set of scripts.
fn layer_file(plan: &Preload) -> Option<PathBuf> {
    let mut set = Sha256::new();
    set.update(plan.key.as_bytes());
    for key in plan.scripts.iter().map(script_key).collect::<BTreeSet<_>>() {
        set.update([0]);
        set.update(key.as_bytes());
    }
    let name = format!("{}.{}.image", plan.key, hex::encode(&set.finalize()[..8]));
    plan.dir.as_ref().map(|d| d.join(name))
}

/// Compile `scripts` into a new instance started from `images`; its
/// memories, with the scripts' objects made immortal, and the keys filed.
fn layer(
    engine: &SandboxEngine,
    plan: &Preload,
    images: &Images,
    scripts: &[&crate::abi::Script],
) -> Result<(Images, BTreeSet<String>), Refused> {
    let (instance, regions, _) = engine
        .instantiate_from(images)
        .map_err(|f| Refused::Host(f.to_string()))?;
    let request = serde_json::json!({
        "abi": 1, "kind": "preload", "layer": true, "modules": [],
        "scripts": scripts.iter().map(|s| preload_entry(s)).collect::<Vec<_>>(),
    });
    let sent: BTreeSet<String> = scripts.iter().map(|s| script_key(s)).collect();
    let (images, filed) = run_preload(instance, &regions, &request, plan, &sent)?;
    Ok((images, filed.scripts))
}

/// A script as a preload request lists it.
fn preload_entry(script: &crate::abi::Script) -> serde_json::Value {
    serde_json::json!({
        "key": script_key(script), "slug": script.slug, "path": script.path,
        "source": script.source,
    })
}

fn failed_report(started: Instant, error: String, retry: bool) -> PreloadReport {
    PreloadReport {
        from_disk: false,
        elapsed: started.elapsed(),
        failed: Vec::new(),
        error: Some(error),
        retry,
        scripts: BTreeSet::new(),
    }
}

/// Why no image was made.
enum Refused {
    /// The imports trapped, spent their CPU time or kept a handle: the same
    /// inputs would again, so it is remembered.
    Guest(String),
    /// The host could not make an instance, or the machine was too busy
    /// for the imports to finish: tried again at the next render.
    Host(String),
}

/// Why an import stopped by its deadline is not the inputs' fault (it was
/// starved of CPU, see `crate::cpu_deadline`), or `None` when it is.
pub(crate) fn starved(env: &crate::sandbox_env::CallEnv, timeout: Duration) -> Option<String> {
    match env.cpu_stop()? {
        crate::cpu_deadline::CpuStop::Starved { used } => Some(format!(
            "cannot build the site snapshot now: the machine is too busy (the preload ran \
             {:.1} s of CPU in the {:.1} s it may take on the clock); not remembered, so a \
             later `host render` tries again (a running `host serve`, after a wait)",
            used.as_secs_f64(),
            timeout
                .saturating_mul(crate::cpu_deadline::WALL_FACTOR)
                .as_secs_f64()
        )),
        crate::cpu_deadline::CpuStop::Spent => None,
    }
}

/// Import `plan.modules` into a new instance under the plan's limits, and
/// compile `plan.scripts` into it; its memories, with the objects they hold
/// made immortal, what failed and which scripts it holds.
fn import(engine: &SandboxEngine, plan: &Preload) -> Result<(Images, Filed), Refused> {
    let (instance, regions) = engine
        .instantiate()
        .map_err(|f| Refused::Host(f.to_string()))?;
    // No script: the modules' image is shared by every site that imports
    // the same modules, so it must hold nothing of any one site's scripts
    // (their sources would be readable from another site's calls). They
    // go into a layer of the site's own (see `with_scripts`).
    let request = serde_json::json!({
        "abi": 1, "kind": "preload", "modules": plan.modules, "scripts": [],
    });
    run_preload(instance, &regions, &request, plan, &BTreeSet::new())
}

/// Send `request` (a preload) to `instance` under the plan's limits; its
/// memories then, with the objects the answer lists made immortal, what
/// failed to import and which of the `sent` scripts were compiled.
fn run_preload(
    mut instance: Prepared,
    regions: &[Arc<Region>],
    request: &serde_json::Value,
    plan: &Preload,
    sent: &BTreeSet<String>,
) -> Result<(Images, Filed), Refused> {
    let mut job = Job::new(crate::abi::Request::new(
        crate::abi::Script {
            slug: "preload".into(),
            entrypoint: String::new(),
            path: String::new(),
            source: String::new(),
            code: None,
            preloaded: None,
        },
        crate::abi::Operation::Check,
    ));
    job.modules = Some(plan.source.clone());
    job.limits.timeout = plan.timeout;
    job.limits.fuel = plan.fuel;
    job.limits.memory_bytes = plan.memory_bytes;
    let answer = instance.call_raw(&job, &request.to_string());
    let answer = match answer {
        Ok(Ok(text)) => text,
        Ok(Err(refused)) => {
            return Err(Refused::Guest(format!(
                "cannot build the site snapshot: the guest refused the preload request: {refused}"
            )));
        }
        Err(trap) if instance.store.data().memory_denied => {
            return Err(Refused::Guest(format!(
                "cannot build the site snapshot: importing the modules needs more than the \
                 memory limit ({trap:#})"
            )));
        }
        Err(trap) => {
            if let Some(why) = starved(&instance.store.data().env, plan.timeout) {
                return Err(Refused::Host(why));
            }
            return Err(Refused::Guest(format!(
                "cannot build the site snapshot: importing the modules did not finish within \
                 the limits ({} s of CPU, {} fuel): {trap:#}",
                plan.timeout.as_secs(),
                plan.fuel
            )));
        }
    };
    if !instance.store.data().resources_empty() {
        return Err(Refused::Guest(
            "cannot build the site snapshot: importing the modules opened a stream or file \
             that a snapshot cannot keep"
                .into(),
        ));
    }
    let bad =
        |e: &dyn std::fmt::Display| Refused::Guest(format!("cannot build the site snapshot: {e}"));
    let answer: serde_json::Value = serde_json::from_str(&answer).map_err(|e| bad(&e))?;
    let failed = crate::snapshot::failed_list(&answer["failed"])
        .ok_or_else(|| bad(&"the preload answer has no `failed` list"))?;
    // Only keys that were sent: what the guest answers is not trusted to
    // name anything else.
    let scripts = filed_scripts(&answer["scripts"])
        .ok_or_else(|| bad(&"the preload answer's `scripts` is not a list of keys"))?
        .into_iter()
        .filter(|key| sent.contains(key))
        .collect();
    let objects = immortal::listed(&answer["objects"]).map_err(|e| bad(&e))?;
    let mut memories: Vec<Vec<u8>> = regions.iter().map(|r| memory_of(r).to_vec()).collect();
    // The objects live in the interpreter's memory, the largest.
    if let Some(main) = memories.iter_mut().max_by_key(|m| m.len()) {
        let made = immortal::make_immortal(main, &objects);
        tracing::debug!(
            listed = objects.len(),
            immortal = made.immortal,
            skipped = made.skipped,
            "site image objects made immortal"
        );
    }
    drop(instance);
    Ok((
        memories
            .into_iter()
            .map(|m| Arc::new(Image::heap(m)))
            .collect(),
        Filed { failed, scripts },
    ))
}

/// A list of script keys (absent: none, as in an image written before
/// scripts were compiled in); `None` when it is something else.
fn filed_scripts(value: &serde_json::Value) -> Option<BTreeSet<String>> {
    if value.is_null() {
        return Some(BTreeSet::new());
    }
    value
        .as_array()?
        .iter()
        .map(|key| key.as_str().map(str::to_owned))
        .collect()
}

/// The accessible bytes of `region`.
fn memory_of(region: &Region) -> &[u8] {
    // SAFETY: the region is mapped readable for `size()` bytes while its
    // instance lives, and the guest is not running (we hold its store).
    unsafe { std::slice::from_raw_parts(region.base() as *const u8, region.size()) }
}

/// A WebAssembly page: every memory's size is a whole number of them.
const WASM_PAGE: u64 = 64 << 10;

/// The first bytes of an image file, then its version.
const MAGIC: &[u8; 8] = b"BMIMAGE2";

/// Where the memories start in an image file: a multiple of this (a
/// WebAssembly page, a multiple of every page size Linux uses), so that
/// they can be mapped from it.
const ALIGN: u64 = 64 << 10;

/// The offset of the memories in a file whose header is `length` bytes.
fn memories_offset(length: usize) -> Option<u64> {
    let end = u64::try_from(MAGIC.len() + 4 + length).ok()?;
    Some(end.div_ceil(ALIGN) * ALIGN)
}

/// An image file: the magic, the length of a JSON header (little-endian
/// u32), the header (the memories' sizes, the modules that failed and the
/// scripts compiled in), zeros up to the next multiple of [`ALIGN`], then
/// the memories one after another.
fn write(file: &Path, images: &[Arc<Image>], filed: &Filed) -> std::io::Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let header = serde_json::json!({
        "sizes": images.iter().map(|m| m.len()).collect::<Vec<_>>(),
        "failed": filed.failed,
        "scripts": filed.scripts,
    })
    .to_string();
    let offset = memories_offset(header.len()).ok_or_else(|| std::io::Error::other("header"))?;
    let padding =
        usize::try_from(offset).map_err(std::io::Error::other)? - (MAGIC.len() + 4 + header.len());
    let mut out = tempfile::NamedTempFile::new_in(dir)?;
    {
        let mut writer = std::io::BufWriter::new(out.as_file_mut());
        writer.write_all(MAGIC)?;
        let length = u32::try_from(header.len()).map_err(std::io::Error::other)?;
        writer.write_all(&length.to_le_bytes())?;
        writer.write_all(header.as_bytes())?;
        writer.write_all(&vec![0u8; padding])?;
        for memory in images {
            writer.write_all(memory)?;
        }
        writer.flush()?;
    }
    out.persist(file).map_err(|e| e.error)?;
    crate::snapshot::prune(dir, crate::snapshot::KEEP);
    Ok(())
}

/// An image file written by [`write`], if it is whole: its memories mapped
/// from it, not read.
fn read(file: &Path) -> Option<(Images, Filed)> {
    let mut input = std::fs::File::open(file).ok()?;
    let mut magic = [0u8; 8];
    input.read_exact(&mut magic).ok()?;
    if &magic != MAGIC {
        return None;
    }
    let mut length = [0u8; 4];
    input.read_exact(&mut length).ok()?;
    let length = usize::try_from(u32::from_le_bytes(length)).ok()?;
    if length > 1 << 24 {
        return None;
    }
    let mut header = vec![0u8; length];
    input.read_exact(&mut header).ok()?;
    let header: serde_json::Value = serde_json::from_slice(&header).ok()?;
    let sizes: Vec<usize> = header["sizes"]
        .as_array()?
        .iter()
        .map(|s| s.as_u64().and_then(|s| usize::try_from(s).ok()))
        .collect::<Option<_>>()?;
    let failed = crate::snapshot::failed_list(&header["failed"])?;
    let scripts = filed_scripts(&header["scripts"])?;
    // Whole wasm pages, and exactly what the file holds after the header.
    let total = sizes.iter().try_fold(0u64, |sum, &size| {
        let size = u64::try_from(size).ok()?;
        (size.is_multiple_of(WASM_PAGE) && size <= 1 << 32).then_some(sum + size)
    })?;
    let offset = memories_offset(length)?;
    let file_length = input.metadata().ok()?.len();
    if file_length != offset.checked_add(total)? {
        return None;
    }
    let map = Arc::new(Mapping::of(&input, offset, usize::try_from(total).ok()?).ok()?);
    let mut images = Vec::with_capacity(sizes.len());
    let mut at = 0;
    for size in sizes {
        images.push(Arc::new(Image::mapped(&map, at, size)?));
        at += size;
    }
    Some((images, Filed { failed, scripts }))
}

impl Prepared {
    /// Call the guest with `document` as it is (not a job's request), under
    /// `job`'s environment and limits, its timeout counted in CPU time.
    pub(crate) fn call_raw(
        &mut self,
        job: &Job,
        document: &str,
    ) -> wasmtime::Result<Result<String, String>> {
        let env = self.store.data().env.clone();
        env.arm(job, [0; 32]);
        // Its failure is remembered: a busy machine must not cause one.
        env.limit_cpu(job.limits.timeout);
        self.store.data_mut().memory_limit = job.limits.memory_bytes;
        self.store.data_mut().memory_denied = false;
        self.store.set_fuel(job.limits.fuel)?;
        self.store
            .set_epoch_deadline(crate::engine::epoch_ticks(job.limits.timeout));
        let _awake = self.clock.awake();
        let result = self.guest_call(document);
        self.trapped |= result.is_err();
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(byte: u8) -> Arc<Image> {
        Arc::new(Image::heap(vec![byte; WASM_PAGE as usize * 2]))
    }

    #[test]
    fn an_image_file_reads_back_whole_and_a_damaged_one_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("k.image");
        let filed = Filed {
            failed: vec![("gone".to_owned(), "ImportError: no".to_owned())],
            scripts: BTreeSet::from(["k1".to_owned(), "k2".to_owned()]),
        };
        write(&file, &[page(1), page(2)], &filed).unwrap();
        let (images, back) = read(&file).expect("a whole image reads back");
        assert_eq!(images.len(), 2);
        assert!(images[0].iter().all(|&b| b == 1) && images[1].iter().all(|&b| b == 2));
        assert_eq!((back.failed, back.scripts), (filed.failed, filed.scripts));
        // Mapped from the file, where the memories start on a page.
        let whole = std::fs::read(&file).unwrap();
        assert_eq!(whole.len() as u64 % ALIGN, 0);
        assert_eq!(&whole[whole.len() - images[1].len()..], &images[1][..]);
        // The file is rewritten in place below, which a mapping of it must
        // not outlive.
        drop(images);

        // Cut short, or one byte longer.
        std::fs::write(&file, &whole[..whole.len() - 1]).unwrap();
        assert!(read(&file).is_none());
        let mut longer = whole.clone();
        longer.push(0);
        std::fs::write(&file, &longer).unwrap();
        assert!(read(&file).is_none());
        // A header that claims sizes the file does not hold, or sizes that
        // are not whole pages, is refused before anything is allocated.
        let forged = |sizes: &str| {
            let header = format!("{{\"sizes\":{sizes},\"failed\":[]}}");
            let mut bytes = MAGIC.to_vec();
            bytes.extend_from_slice(&u32::try_from(header.len()).unwrap().to_le_bytes());
            bytes.extend_from_slice(header.as_bytes());
            bytes.extend_from_slice(&[0u8; 100]);
            bytes
        };
        for sizes in ["[4294967296]", "[100]", "[65536]", "[-1]", "\"x\""] {
            std::fs::write(&file, forged(sizes)).unwrap();
            assert!(read(&file).is_none(), "{sizes}");
        }
        std::fs::write(&file, b"not an image").unwrap();
        assert!(read(&file).is_none());
    }
}
