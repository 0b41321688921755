//! The last step of a build that writes: the output folder and, at the
//! same time, the database (posts, scripts, new macro results) and the
//! rendered pages kept for the next render, then the run's record.

use super::build::{BuildOptions, BuildReport};
use super::output::Output;
use super::output_manifest::Look;
use crate::capabilities::fetch::Response;
use crate::content::Page;
use crate::diagnostics::Severity;
use crate::python::Session;
use crate::scripts::Script;
use crate::store::{RunRecord, Store};
use anyhow::Context as _;
use std::time::Duration;

/// How many results of each generator the database keeps (see
/// [`Store::keep_latest_results`]).
const KEPT_GENERATOR_RESULTS: usize = 4;

/// Write `output` over what `look` saw of the output folder, and bring
/// `store` in line with this build (its pages and scripts, the results
/// `python` got, the responses it `fetched`), which took `elapsed` so far.
pub(super) fn persist(
    options: &BuildOptions,
    (output, look): (&Output, Look),
    store: &mut Store,
    (pages, scripts): (&[Page], &[Script]),
    (python, fetched): (&Session, &[Response]),
    report: &mut BuildReport,
    elapsed: Duration,
) -> anyhow::Result<()> {
    let root = &options.root;
    let started = std::time::Instant::now();
    let gc_blocked = options.gc && (report.count(Severity::Error) > 0 || report.a_call_failed());
    let out = options.out_dir();
    // The database does not depend on the output: it is brought up to date
    // on another thread while the output is written.
    std::thread::scope(|scope| {
        if let Some(pages) = options
            .page_cache
            .as_deref()
            .filter(|_| options.keep_pages && report.kept_pages_changed)
        {
            scope.spawn(move || {
                // Only a cache: a build that cannot keep it still succeeded.
                if let Err(e) = pages.save(root) {
                    tracing::warn!("cannot keep the rendered pages for the next render: {e}");
                }
            });
        }
        let syncing = scope.spawn(|| {
            let mut removed = None;
            store.sync_posts(pages)?;
            store.sync_scripts(&crate::scripts::rows(root, scripts))?;
            store.record_remote_responses(fetched)?;
            if options.use_cache {
                let new = python.take_new_results();
                store.update_macro_results(&new, &python.live_scripts(), python.guest_build())?;
                let generators: Vec<&str> = python
                    .generators()
                    .iter()
                    .map(|g| g.slug.as_str())
                    .filter(|slug| new.iter().any(|r| r.script_slug == *slug))
                    .collect();
                if !generators.is_empty() {
                    store.keep_latest_results(&generators, KEPT_GENERATOR_RESULTS)?;
                }
                if options.gc {
                    removed = collect_garbage(store, python, new, gc_blocked)?;
                }
            }
            anyhow::Ok(removed)
        });
        let existing = look.seen(root, &out);
        let written = output
            .write_recorded(&out, &existing)
            .with_context(|| format!("cannot write {}", out.display()))
            .map(|(written, changed, manifest)| {
                (report.written, report.changed) = (written, changed);
                // Only a help: without it, the next render reads the output.
                if manifest != existing.manifest
                    && let Err(e) = manifest.save(root)
                {
                    tracing::warn!("cannot keep what the output holds for the next render: {e}");
                }
                if let Some(hook) = &options.on_written {
                    report.elapsed = elapsed;
                    (hook.0)(report);
                }
            });
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "output written"
        );
        let synced = syncing
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "database brought up to date"
        );
        written?;
        report.results_removed = synced?;
        anyhow::Ok(())
    })?;
    let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    let run = RunRecord {
        pages: count(report.pages),
        warnings: count(report.count(Severity::Warning)),
        errors: count(report.count(Severity::Error)),
        duration_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        macro_calls: count(report.macro_calls),
        sandbox_runs: count(report.sandbox_runs),
        cache_hits: count(report.cache_hits),
    };
    store.record_run(&run, &report.macros)?;
    Ok(())
}

/// `host render --gc`: remove the stored results no call of this build
/// found, but only when every call could look for its own: nothing failed
/// (`blocked` says something did: a failed generator's pages made no
/// call), and the database could be read. Returns how many went (`None`:
/// none could be judged).
fn collect_garbage(
    store: &mut Store,
    python: &Session,
    new: Vec<crate::store::NewResult>,
    blocked: bool,
) -> anyhow::Result<Option<usize>> {
    let why = match python.used_result_keys() {
        _ if blocked => "something failed in this render, so what it would have used is unknown",
        None => "the stored results could not all be read",
        Some(mut used) => {
            used.keys.extend(new.into_iter().map(|r| r.key));
            return Ok(Some(store.keep_only_results(&used.keys, used.up_to_rowid)?));
        }
    };
    tracing::warn!("--gc removed nothing: {why}");
    Ok(None)
}
