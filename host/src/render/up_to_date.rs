//! A render of a site where nothing changed since the last one, known by
//! stamps alone: cargo's "fresh" for a site.
//!
//! A render that depended on nothing but the site's files records the
//! stamp of every file and folder of the site as it found them before
//! reading any ([`Inputs::before_reading`]), the database's stamp once
//! written, and what it reported. The next `host render` with the same
//! options and the same `host` binary stats those paths and the output the
//! last render left ([`super::output_manifest`]); when every stamp is the
//! recorded one, the output is already what a render would write, and the
//! report is the recorded one. Anything else (an edit, a file added
//! anywhere in the site, since that changes its folder's stamp, an edited
//! or removed output file, a page whose date has come) renders as before.
//! When only files were edited in place, the stamps read for that check are
//! the next record's, and the site is not walked again
//! ([`Inputs::of_record`]).
//!
//! What cannot be known from stamps is never recorded: a render that
//! fetched over the network, or failed to, or may fetch again as stored
//! responses age (`fetch_max_age`), or in which a call failed (a time limit
//! depends on the machine's load), leaves no record. Stamps are trusted only
//! when settled before they were read (see [`crate::file_stamp`]), and the
//! record lives in `.blogmark/`, which a pull may bring: it is used only
//! when tagged by this machine's key.

use super::build::{BuildOptions, BuildReport};
use super::output::WriteReport;
use super::output_manifest::Manifest;
use crate::diagnostics::Diagnostic;
use crate::file_stamp::{Stamp, fs_now};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::path::Path;

/// Where `host render` keeps it, under the site's folder.
pub const FILE: &str = ".blogmark/inputs.record";

/// Folders at the top of the site that no render reads: its own state,
/// and git's.
const NOT_INPUTS: &[&str] = &[".blogmark", ".git"];

/// The database's files, whose stored responses a render replays.
const DATABASE: &[&str] = &[crate::store::DB_PATH, ".blogmark/site.db-wal"];

/// Past this size the file is not read (it is not one the host wrote).
const MAX_BYTES: u64 = 256 << 20;

const FORMAT: u32 = 1;

/// The domain of the tag that ends the file (see [`crate::machine_key`]).
const TAG_DOMAIN: &str = "blogmark inputs record v1";

/// What the last render that can be repeated by stamps found and said.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    format: u32,
    /// The options, binary and environment it ran with ([`key`]).
    key: [u8; 32],
    /// Every file, link and folder of the site it read from (`""`: the
    /// site's folder), with its stamp, by path under the site.
    inputs: Vec<(String, Stamp)>,
    /// The folder that holds the output folder, when it is in the site, by
    /// the names it holds but the output's and the render's own: each
    /// render changes its stamp (its staging folder comes and goes).
    listing: Option<(String, Vec<String>)>,
    /// The database's files as it left them (`None`: absent).
    database: Vec<Option<Stamp>>,
    /// When the first page left out for its future date comes due (Unix
    /// seconds): from then on a render publishes more.
    publishes_at: Option<i64>,
    pages: usize,
    files: usize,
    diagnostics: Vec<Diagnostic>,
}

/// The site's files and folders as a render found them before reading
/// any, when every stamp could be trusted.
pub(super) struct Inputs {
    key: [u8; 32],
    stamps: Vec<(String, Stamp)>,
    listing: Option<(String, Vec<String>)>,
}

/// Whether a build with `options` may be skipped or recorded: `host
/// render` with its cache, which writes and checks nothing else.
pub(super) fn applies(options: &BuildOptions) -> bool {
    options.write
        && options.use_cache
        && !options.check_links
        && options.external_links.is_none()
        && !options.refresh_remote
        && options.sandbox.is_none()
        && options.kept_content.is_none()
        && options.on_written.is_none()
        && !options.gc
}

/// What else than the site's files decides what a render writes: its
/// options, the `host` binary (its theme, guest and code), and the
/// build's clock when fixed.
pub(super) fn key(options: &BuildOptions) -> Option<[u8; 32]> {
    let exe = std::env::current_exe().ok()?;
    let binary = std::fs::metadata(&exe).ok().map(|m| Stamp::of(&m))?;
    let mut hasher = Sha256::new();
    let mut part = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    part(&FORMAT.to_le_bytes());
    part(env!("CARGO_PKG_VERSION").as_bytes());
    part(&postcard::to_stdvec(&binary).ok()?);
    part(exe.as_os_str().as_encoded_bytes());
    part(options.root.as_os_str().as_encoded_bytes());
    part(options.out_dir().as_os_str().as_encoded_bytes());
    part(&[u8::from(options.drafts), u8::from(options.future)]);
    part(options.base_url.as_deref().unwrap_or("\0").as_bytes());
    let epoch = std::env::var_os("SOURCE_DATE_EPOCH").unwrap_or_default();
    part(epoch.as_encoded_bytes());
    Some(hasher.finalize().into())
}

impl Inputs {
    /// Stamp every file, link and folder of the site at `root` but its
    /// state, git's folder and the output; `None` when one cannot be
    /// trusted (changed in this tick of the file system's clock, on
    /// another file system, a name that is not UTF-8) or read.
    pub(super) fn before_reading(options: &BuildOptions, key: [u8; 32]) -> Option<Inputs> {
        let root = &options.root;
        let (now, device) = clock(root)?;
        let out = options.out_dir();
        let walk = walkdir::WalkDir::new(root)
            .follow_links(false)
            .into_iter()
            .filter_entry(|e| {
                let top = e.depth() == 1 && NOT_INPUTS.iter().any(|n| e.file_name() == *n);
                !top && e.path() != out
            });
        // The walk reads folders only (an entry's kind comes with its
        // name); the stamps are read on every core.
        let mut paths = Vec::new();
        let mut listing = None;
        for entry in walk {
            let entry = entry.ok()?;
            let path = entry.path().strip_prefix(root).ok()?.to_str()?.to_owned();
            if Some(entry.path()) == out.parent() {
                listing = Some((path, names(entry.path(), &out)?));
            } else {
                paths.push(path);
            }
        }
        let stamps = paths
            .into_par_iter()
            .map(|path| {
                let stamp = Stamp::of_path(&root.join(&path)).ok()?;
                (stamp.settled_before(now) && stamp.device() == device).then_some((path, stamp))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Inputs {
            key,
            stamps,
            listing,
        })
    }

    /// Every path stamped, under the site, with its stamp.
    pub(super) fn stamps(&self) -> impl Iterator<Item = (&str, Stamp)> {
        self.stamps
            .iter()
            .map(|(path, stamp)| (path.as_str(), *stamp))
    }

    /// The inputs when the site holds the very paths `record` lists, known
    /// without a walk: each path `seen` (its stamp now, and whether it is a
    /// regular file; read after the clock said `now` on `device`) kept its
    /// stamp or is a file edited in place. A name added, removed or
    /// renamed anywhere changes the stamp of the folder that holds it, and
    /// a folder is no regular file; so does the output's neighbours'
    /// listing, read again here. `None`: a walk must tell.
    fn of_record(
        record: &Record,
        seen: &[Option<(Stamp, bool)>],
        (now, device): (i128, u64),
        options: &BuildOptions,
    ) -> Option<Inputs> {
        let stamps = record
            .inputs
            .iter()
            .zip(seen)
            .map(|((path, before), seen)| {
                let (stamp, is_file) = (*seen)?;
                let kept_names = stamp == *before || is_file;
                let trusted = stamp.settled_before(now) && stamp.device() == device;
                (kept_names && trusted).then(|| (path.clone(), stamp))
            })
            .collect::<Option<Vec<_>>>()?;
        let listing = match &record.listing {
            Some((path, before)) => {
                let names = names(&options.root.join(path), &options.out_dir())?;
                (names == *before).then(|| Some((path.clone(), names)))?
            }
            None => None,
        };
        tracing::debug!("the site's paths are the last render's: stamped without a walk");
        Some(Inputs {
            key: record.key,
            stamps,
            listing,
        })
    }
}

/// The file system's clock in the site's state folder at `root`, and the
/// device it is on; `None` if the folder cannot be used. The clock's probe
/// goes in the state folder: made in the site's own folder, it would
/// change the stamp being recorded.
fn clock(root: &Path) -> Option<(i128, u64)> {
    crate::state_dir::check(root, &[]).ok()?;
    let state = root.join(".blogmark");
    let now = fs_now(&state).ok()?;
    let device = Stamp::of_path(&state).ok()?.device();
    Some((now, device))
}

/// The stamp of the entry at `path` under `root` now, and whether it is a
/// regular file.
fn seen(root: &Path, path: &str) -> Option<(Stamp, bool)> {
    let meta = std::fs::symlink_metadata(root.join(path)).ok()?;
    Some((Stamp::of(&meta), meta.is_file()))
}

/// What the last render recorded, as [`unchanged`] read it (`None`: no
/// record from this machine), for a render that must build again; and
/// this render's inputs when [`unchanged`] could stamp them already.
pub(super) struct LastRender(Option<Box<Record>>, Option<Inputs>);

impl LastRender {
    /// Whether every file and folder under the site's `data/` has in
    /// `inputs` the stamp this record has (none added or removed either);
    /// false when there is no record to tell.
    pub(super) fn data_unchanged(&self, inputs: &Inputs) -> bool {
        let Some(record) = &self.0 else {
            return false;
        };
        let in_data = |(path, _): &&(String, Stamp)| in_data(path);
        record
            .inputs
            .iter()
            .filter(in_data)
            .eq(inputs.stamps.iter().filter(in_data))
    }
}

impl LastRender {
    /// This render's inputs, when [`unchanged`] stamped them; else
    /// [`Inputs::before_reading`] must.
    pub(super) fn take_inputs(&mut self) -> Option<Inputs> {
        self.1.take()
    }
}

/// Whether `path` (under the site, `/`-separated) is `data/` or in it.
fn in_data(path: &str) -> bool {
    path.strip_prefix("data")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The names in `dir` (which holds the output folder `out`) but the
/// output's, its staging folder's and those no render reads, sorted;
/// `None` if one is not UTF-8 or the folder cannot be read.
fn names(dir: &Path, out: &Path) -> Option<Vec<String>> {
    let staging = super::output::staging_dir(out);
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).ok()? {
        let entry = entry.ok()?;
        let path = entry.path();
        let name = entry.file_name().into_string().ok()?;
        if path != out && path != staging && !NOT_INPUTS.contains(&name.as_str()) {
            names.push(name);
        }
    }
    names.sort_unstable();
    Some(names)
}

/// The stamps of the database's files of the site at `root`.
fn database(root: &Path) -> Vec<Option<Stamp>> {
    DATABASE
        .iter()
        .map(|p| Stamp::of_path(&root.join(p)).ok())
        .collect()
}

/// The seconds since the Unix epoch of the build's clock.
fn now() -> i64 {
    super::build::build_clock().timestamp()
}

fn load(root: &Path) -> Option<Record> {
    let content = crate::state_dir::read_tagged(root, FILE, TAG_DOMAIN, MAX_BYTES)?;
    postcard::from_bytes::<Record>(&content)
        .ok()
        .filter(|r| r.format == FORMAT)
}

/// The report of a render with `options` when nothing it depends on
/// changed since the last one, which it recorded: nothing to do. Else
/// what the last render recorded, for the build that follows.
pub(super) fn unchanged(options: &BuildOptions, key: [u8; 32]) -> Result<BuildReport, LastRender> {
    let root = &options.root;
    let changed = |what: &str| tracing::debug!("a render is needed: {what}");
    let Some(record) = load(root) else {
        changed("no record of the last render's inputs from this machine");
        return Err(LastRender(None, None));
    };
    let stale = |record: Record, inputs: Option<Inputs>, what: &str| {
        changed(what);
        Err(LastRender(Some(Box::new(record)), inputs))
    };
    if record.key != key {
        return stale(record, None, "other options, binary or SOURCE_DATE_EPOCH");
    }
    if record.publishes_at.is_some_and(|at| at <= now()) {
        return stale(record, None, "a page's date has come");
    }
    if record.database != database(root) {
        return stale(record, None, "the database changed");
    }
    // Read before the stamps, so that a render that follows can record
    // them (see `Inputs::before_reading`); every stamp is read, as a site
    // with nothing changed needs all of them anyway.
    let clock = clock(root);
    let seen: Vec<Option<(Stamp, bool)>> = record
        .inputs
        .par_iter()
        .map(|(path, _)| seen(root, path))
        .collect();
    let edited = record
        .inputs
        .iter()
        .zip(&seen)
        .find(|((_, stamp), now)| now.map(|(now, _)| now) != Some(*stamp));
    if let Some(((path, _), _)) = edited {
        let what = format!("{path:?} changed");
        let inputs = clock.and_then(|clock| Inputs::of_record(&record, &seen, clock, options));
        return stale(record, inputs, &what);
    }
    let out = options.out_dir();
    if let Some((path, names)) = &record.listing
        && self::names(&root.join(path), &out).as_ref() != Some(names)
    {
        let what = format!("a name was added or removed in {path:?}");
        return stale(record, None, &what);
    }
    if !Manifest::load(root, &out).all_unchanged(&out) {
        let inputs = clock.and_then(|clock| Inputs::of_record(&record, &seen, clock, options));
        return stale(record, inputs, "the output changed");
    }
    tracing::info!(
        inputs = record.inputs.len(),
        files = record.files,
        "nothing changed since the last render: every input and output file has its recorded stamp"
    );
    Ok(BuildReport {
        pages: record.pages,
        pages_reused: record.pages,
        files: record.files,
        written: WriteReport {
            unchanged: record.files,
            ..WriteReport::default()
        },
        diagnostics: record.diagnostics,
        up_to_date: true,
        ..BuildReport::default()
    })
}

/// Keep what the next render needs to know nothing changed, when `report`
/// (of a build that found `inputs` before reading) can be repeated so;
/// otherwise remove an earlier record.
pub(super) fn record(options: &BuildOptions, inputs: Option<Inputs>, report: &BuildReport) {
    let root = &options.root;
    let Some(inputs) = inputs.filter(|_| report.repeatable) else {
        tracing::debug!(
            repeatable = report.repeatable,
            "no record of this render's inputs"
        );
        if crate::state_dir::check(root, &[FILE]).is_ok() {
            let _ = std::fs::remove_file(root.join(FILE));
        }
        return;
    };
    let record = Record {
        format: FORMAT,
        key: inputs.key,
        inputs: inputs.stamps,
        listing: inputs.listing,
        database: database(root),
        publishes_at: report.publishes_at,
        pages: report.pages,
        files: report.files,
        diagnostics: report.diagnostics.clone(),
    };
    let saved = postcard::to_stdvec(&record)
        .map_err(std::io::Error::other)
        .and_then(|bytes| crate::state_dir::write_tagged(root, FILE, TAG_DOMAIN, bytes));
    // Only a help: without it, the next render renders.
    if let Err(e) = saved {
        tracing::warn!("cannot record this render's inputs for the next render: {e}");
    }
}
