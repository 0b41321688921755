//! `host render` of a generated 1,000-post site, cold (empty output, no
//! database), warm (nothing changed, every page rendered again), warm with
//! the pages kept by the last render (as `host render` does when a file's
//! stamp changed: site.toml touched) and warm with nothing changed since
//! the last render (as `host render` does then: stamps only): with
//! built-in macros only (three per post and a highlighted code block), and
//! with three Python macros per post. Prints the process's peak memory at
//! the end.

use blogmark_e2e::site_gen::{Flavor, generate, peak_resident_bytes};
use blogmark_host::render::{BuildOptions, build, build_keeping_pages};
use criterion::{Criterion, criterion_group};
use std::time::Duration;

fn options(root: &std::path::Path) -> BuildOptions {
    BuildOptions::render(root)
}

fn render(c: &mut Criterion) {
    render_flavor(c, Flavor::Blogmark, "render_1000_posts");
    render_flavor(c, Flavor::Python, "render_1000_posts_python");
}

/// Cold: no output, no database (so no cached macro results). Warm:
/// nothing changed since the last build. Warm with kept pages: also the
/// pages of the last build, from the site's folder, site.toml touched
/// before each. Nothing changed: `host render`'s stamps of every input and
/// output file, all as recorded.
fn render_flavor(c: &mut Criterion, flavor: Flavor, name: &str) {
    let site = tempfile::tempdir().unwrap();
    generate(site.path(), 1_000, flavor);
    let opts = options(site.path());
    let mut group = c.benchmark_group(name);
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("cold", |b| {
        b.iter(|| {
            let _ = std::fs::remove_dir_all(site.path().join("public"));
            let _ = std::fs::remove_dir_all(site.path().join(".blogmark"));
            build(&opts).unwrap()
        })
    });
    group.bench_function("warm", |b| b.iter(|| build(&opts).unwrap()));
    let config = site.path().join("site.toml");
    group.bench_function("warm_kept_pages", |b| {
        build_keeping_pages(&opts).unwrap();
        b.iter_batched(
            || touch(&config),
            |()| build_keeping_pages(&opts).unwrap(),
            criterion::BatchSize::PerIteration,
        )
    });
    group.bench_function("nothing_changed", |b| {
        // Renders until one finds its inputs settled and records them.
        while !build_keeping_pages(&opts).unwrap().up_to_date {
            std::thread::sleep(Duration::from_millis(20));
        }
        b.iter(|| assert!(build_keeping_pages(&opts).unwrap().up_to_date))
    });
    group.finish();
}

/// Change the stamp of the file at `path`, not what it holds.
fn touch(path: &std::path::Path) {
    let file = std::fs::File::options().append(true).open(path).unwrap();
    file.set_modified(std::time::SystemTime::now()).unwrap();
}

criterion_group!(benches, render);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    if let Some(peak) = peak_resident_bytes() {
        println!(
            "peak resident memory of the benchmark process: {} MiB",
            peak >> 20
        );
    }
}
