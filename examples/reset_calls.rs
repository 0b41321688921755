//! Run N calls of one macro (trivial, or `re` + `html` with `RE=1`) reset in
//! place on the caller's thread, and the same calls in one instance never
//! reset, and print the median of each: the difference is what a reset
//! costs (for profiling the sandbox).
use blogmark_runtime::{Isolation, Job};
use std::time::{Duration, Instant};

fn job(i: usize) -> Job {
    let source = if std::env::var_os("RE").is_some() {
        blogmark_e2e::RE_HTML_MACRO
    } else {
        blogmark_e2e::TRIVIAL_MACRO
    };
    blogmark_e2e::macro_job(
        "m",
        source,
        &[("text", serde_json::json!(format!("t {i} <b>")))],
    )
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000);
    let runtime = blogmark_e2e::runtime_in(0, Isolation::Reset);
    let mut reset = Vec::with_capacity(n);
    for i in 0..n {
        let started = Instant::now();
        runtime.run(job(i)).unwrap();
        reset.push(started.elapsed());
    }
    let stats = runtime.engine().isolation_counters().snapshot();
    if std::env::var_os("ONLY_RESET").is_some() {
        println!(
            "{n} calls: reset in place p50 {:?} ({} pages per reset)",
            median(reset),
            stats.pages_restored / stats.resets.max(1)
        );
        return;
    }
    let fresh = blogmark_e2e::runtime_in(0, Isolation::Instance);
    fresh.run(job(0)).unwrap();
    let mut reused = fresh.engine().reused_instance().unwrap();
    let mut never = Vec::with_capacity(n);
    for i in 0..n {
        let mut job = job(i);
        // Compiled as a worker would have it, so only the call is timed.
        job.request.script.code = None;
        let started = Instant::now();
        reused.run(&job).unwrap();
        never.push(started.elapsed());
    }
    println!(
        "{n} calls: reset in place p50 {:?} ({} pages per reset); never reset p50 {:?}",
        median(reset),
        stats.pages_restored / stats.resets.max(1),
        median(never)
    );
}
