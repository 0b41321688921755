//! Sandbox benchmarks: a fresh-instance macro call (trivial, and one using
//! `re` and `html`), a reused-instance call for comparison, and throughput
//! with one and two workers.
//!
//! `cargo bench --bench runtime` runs them with criterion, then prints
//! p50/p95 latencies and requests per second measured over fixed counts.

use blogmark_e2e::{RE_HTML_MACRO, TRIVIAL_MACRO, macro_job, runtime};
use blogmark_runtime::{Job, Runtime};
use criterion::{Criterion, criterion_group};
use hdrhistogram::Histogram;
use serde_json::json;
use std::time::{Duration, Instant};

fn trivial(i: usize) -> Job {
    macro_job(
        "bold",
        TRIVIAL_MACRO,
        &[("text", json!(format!("t{}", i % 20)))],
    )
}

fn re_html(i: usize) -> Job {
    macro_job(
        "title",
        RE_HTML_MACRO,
        &[("text", json!(format!("hello <world> {i}")))],
    )
}

fn calls(c: &mut Criterion) {
    let inline = runtime(0);
    let one = runtime(1);
    let mut group = c.benchmark_group("macro_call");
    let mut i = 0;
    group.bench_function("fresh_instance/trivial/inline", |b| {
        b.iter(|| {
            i += 1;
            inline.run(trivial(i)).unwrap()
        })
    });
    group.bench_function("fresh_instance/trivial/worker", |b| {
        b.iter(|| {
            i += 1;
            one.run(trivial(i)).unwrap()
        })
    });
    group.bench_function("fresh_instance/re_html/worker", |b| {
        b.iter(|| {
            i += 1;
            one.run(re_html(i)).unwrap()
        })
    });
    let mut reused = inline.engine().reused_instance().unwrap();
    group.bench_function("reused_instance/trivial", |b| {
        b.iter(|| {
            i += 1;
            reused.run(&trivial(i)).unwrap()
        })
    });
    group.finish();
}

fn percentiles(label: &str, n: usize, pause: Duration, mut f: impl FnMut(usize)) {
    let mut histogram = Histogram::<u64>::new(3).unwrap();
    for i in 0..n {
        let started = Instant::now();
        f(i);
        histogram
            .record(started.elapsed().as_micros() as u64)
            .unwrap();
        std::thread::sleep(pause);
    }
    println!(
        "{label:<40} p50 {:>7.3} ms   p95 {:>7.3} ms   max {:>7.3} ms   (n={n})",
        histogram.value_at_quantile(0.5) as f64 / 1000.0,
        histogram.value_at_quantile(0.95) as f64 / 1000.0,
        histogram.max() as f64 / 1000.0,
    );
}

fn throughput(runtime: &Runtime, n: usize) -> f64 {
    let started = Instant::now();
    let handles: Vec<_> = (0..n).map(|i| runtime.submit(trivial(i))).collect();
    for handle in handles {
        handle.wait().unwrap();
    }
    n as f64 / started.elapsed().as_secs_f64()
}

fn report() {
    let n = 1_000;
    let inline = runtime(0);
    let one = runtime(1);
    // A worker makes its next instance while idle: a request that finds it
    // ready pays for its call only. Back to back, each request also pays
    // for instantiating and tearing down an instance.
    let idle = Duration::from_millis(8);
    let busy = Duration::ZERO;
    println!("\nlatency of one call, submit to validated result:");
    percentiles("fresh, trivial, worker idle", n, idle, |i| {
        drop(one.run(trivial(i)).unwrap())
    });
    percentiles("fresh, re+html, worker idle", n, idle, |i| {
        drop(one.run(re_html(i)).unwrap())
    });
    percentiles("fresh, trivial, back to back", n, busy, |i| {
        drop(one.run(trivial(i)).unwrap())
    });
    percentiles("fresh, re+html, back to back", n, busy, |i| {
        drop(one.run(re_html(i)).unwrap())
    });
    percentiles("fresh, trivial, inline", n, busy, |i| {
        drop(inline.run(trivial(i)).unwrap())
    });
    let mut reused = inline.engine().reused_instance().unwrap();
    percentiles("reused instance, trivial (comparison)", n, busy, |i| {
        drop(reused.run(&trivial(i)).unwrap())
    });
    let mut phases = [Duration::ZERO; 3];
    for i in 0..500 {
        let p = inline.engine().phase_times(&trivial(i)).unwrap();
        phases.iter_mut().zip(p).for_each(|(t, p)| *t += p);
    }
    let [a, b, c] = phases.map(|t| t / 500);
    println!("fresh-instance phases (mean of 500): instantiate {a:?}, call {b:?}, teardown {c:?}");
    let two = runtime(2);
    throughput(&one, 200);
    throughput(&two, 200);
    let r1 = throughput(&one, 4_000);
    let r2 = throughput(&two, 4_000);
    println!(
        "\nthroughput, trivial macro: 1 worker {r1:.0} req/s, 2 workers {r2:.0} req/s ({:.2}x)",
        r2 / r1
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(200).measurement_time(Duration::from_secs(5));
    targets = calls
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    report();
}
