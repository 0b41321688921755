//! Sandbox benchmarks, in both isolations: a macro call reset in place and
//! in a fresh instance (trivial, and one using `re` and `html`), a reused
//! instance never reset for comparison, throughput with one and two
//! workers, and the first request after a timeout.
//!
//! `cargo bench --bench runtime` runs them with criterion, then prints
//! p50/p95 latencies and requests per second measured over fixed counts.
//! With a kernel that cannot reset in place, the `reset` rows are skipped.
//!
//! They run the guest as a site's render does: the site snapshot, whose
//! objects are immortal (built first, in a temporary folder).

use blogmark_e2e::{RE_HTML_MACRO, TRIVIAL_MACRO, macro_job, macro_job_with, site_guest};
use blogmark_runtime::{Isolation, IsolationMode, Job, Limits, Runtime};
use criterion::{Criterion, criterion_group};
use hdrhistogram::Histogram;
use serde_json::json;
use std::time::{Duration, Instant};

fn runtime_in(workers: usize, isolation: Isolation) -> Runtime {
    runtime_with(workers, isolation, None)
}

fn runtime_with(workers: usize, isolation: Isolation, reset_helper: Option<bool>) -> Runtime {
    blogmark_e2e::runtime_on(site_guest(), workers, isolation, reset_helper)
}

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

fn endless_loop() -> Job {
    macro_job_with(
        "spin",
        "def render(ctx):\n    while True:\n        pass\n",
        Limits {
            timeout: Duration::from_millis(20),
            fuel: u64::MAX / 4,
            ..Limits::default()
        },
    )
}

/// Benchmark names of one isolation: trivial inline, trivial on a worker,
/// re+html on a worker.
type Names = [&'static str; 3];

/// The isolations this machine can run, with their benchmark names.
fn isolations() -> Vec<(&'static str, Isolation, Names)> {
    let mut all = vec![(
        "instance",
        Isolation::Instance,
        [
            "instance/trivial/inline",
            "instance/trivial/worker",
            "instance/re_html/worker",
        ],
    )];
    match Isolation::Auto.resolve() {
        Ok(auto) if auto.mode == IsolationMode::Reset => all.insert(
            0,
            (
                "reset",
                Isolation::Reset,
                [
                    "reset/trivial/inline",
                    "reset/trivial/worker",
                    "reset/re_html/worker",
                ],
            ),
        ),
        other => eprintln!("reset in place skipped: {other:?}"),
    }
    all
}

fn calls(c: &mut Criterion) {
    let mut group = c.benchmark_group("macro_call");
    let mut i = 0;
    for (_, isolation, [inline_trivial, worker_trivial, worker_re_html]) in isolations() {
        let inline = runtime_in(0, isolation);
        let one = runtime_in(1, isolation);
        group.bench_function(inline_trivial, |b| {
            b.iter(|| {
                i += 1;
                inline.run(trivial(i)).unwrap()
            })
        });
        group.bench_function(worker_trivial, |b| {
            b.iter(|| {
                i += 1;
                one.run(trivial(i)).unwrap()
            })
        });
        group.bench_function(worker_re_html, |b| {
            b.iter(|| {
                i += 1;
                one.run(re_html(i)).unwrap()
            })
        });
        if isolation == Isolation::Instance {
            let mut reused = inline.engine().reused_instance().unwrap();
            group.bench_function("reused_instance/trivial", |b| {
                b.iter(|| {
                    i += 1;
                    reused.run(&trivial(i)).unwrap()
                })
            });
        }
    }
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
        "{label:<44} p50 {:>7.3} ms   p95 {:>7.3} ms   max {:>7.3} ms   (n={n})",
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

/// Print the throughput of `one` worker and of `two`, each warmed up first.
fn scaling(label: &str, one: &Runtime, two: &Runtime) {
    throughput(one, 200);
    throughput(two, 200);
    let r1 = throughput(one, 6_000);
    let r2 = throughput(two, 6_000);
    println!(
        "throughput, {label}: 1 worker {r1:.0} req/s, 2 workers {r2:.0} req/s ({:.2}x)",
        r2 / r1
    );
}

fn report() {
    let n = 2_000;
    for (name, isolation, _) in isolations() {
        let inline = runtime_in(0, isolation);
        let one = runtime_in(1, isolation);
        println!("\n{name}: latency of one call, submit to validated result");
        // A fresh-instance worker makes its next instance while idle; back
        // to back, each request also pays for instantiating and tearing down.
        let idle = Duration::from_millis(8);
        let busy = Duration::ZERO;
        if isolation == Isolation::Instance {
            percentiles("trivial, worker idle", n / 2, idle, |i| {
                drop(one.run(trivial(i)).unwrap())
            });
        }
        percentiles("trivial, back to back", n, busy, |i| {
            drop(one.run(trivial(i)).unwrap())
        });
        percentiles("re+html, back to back", n, busy, |i| {
            drop(one.run(re_html(i)).unwrap())
        });
        percentiles("trivial, inline", n, busy, |i| {
            drop(inline.run(trivial(i)).unwrap())
        });
        // The request right after a timeout, which discards the instance in
        // reset mode (the spare takes over) and costs nothing extra otherwise.
        let mut after = Histogram::<u64>::new(3).unwrap();
        for i in 0..40 {
            let _ = one.run(endless_loop());
            let started = Instant::now();
            one.run(trivial(i)).unwrap();
            after.record(started.elapsed().as_micros() as u64).unwrap();
            // Let the worker make its next spare, as an idle render would.
            std::thread::sleep(Duration::from_millis(30));
        }
        println!(
            "{:<44} p50 {:>7.3} ms   max {:>7.3} ms   (n=40)",
            "trivial, right after a timeout",
            after.value_at_quantile(0.5) as f64 / 1000.0,
            after.max() as f64 / 1000.0,
        );
        scaling("trivial macro", &one, &runtime_in(2, isolation));
        if isolation == Isolation::Reset {
            // Scaling per core: each worker resets on its own thread, so one
            // worker uses one core (by default a lone worker has a helper).
            scaling(
                "no reset helper",
                &runtime_with(1, isolation, Some(false)),
                &runtime_with(2, isolation, Some(false)),
            );
        }
        println!(
            "counters: {:?}",
            one.engine().isolation_counters().snapshot()
        );
        if isolation == Isolation::Instance {
            let mut phases = [Duration::ZERO; 3];
            for i in 0..500 {
                let p = inline.engine().phase_times(&trivial(i)).unwrap();
                phases.iter_mut().zip(p).for_each(|(t, p)| *t += p);
            }
            let [a, b, c] = phases.map(|t| t / 500);
            println!(
                "fresh-instance phases (mean of 500): instantiate {a:?}, call {b:?}, teardown {c:?}"
            );
        }
    }
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
