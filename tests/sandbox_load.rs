//! Load: 10,000 queued macro requests, three in ten of them hostile (fuel
//! and memory bombs, exceptions, output floods, forged results, endless
//! loops), through one runtime with two workers. Every good request gets its
//! right answer, every hostile one its failure class, and the host's memory
//! stays flat. Throughput and memory are printed (`--nocapture`). Measured
//! in a process of its own, so that no other test allocates in it meanwhile.

use blogmark_e2e::{
    RE_HTML_MACRO, TRIVIAL_MACRO, macro_job, macro_job_with, resident_bytes, runtime,
};
use blogmark_runtime::abi::Reply;
use blogmark_runtime::{FailureClass, Job, Limits};
use serde_json::json;
use std::time::{Duration, Instant};

const REQUESTS: usize = 10_000;

/// What request `i` is and what it must end in.
fn request(i: usize) -> (Job, Result<String, FailureClass>) {
    let tight = Limits {
        fuel: 5_000_000,
        memory_bytes: 64 << 20,
        timeout: Duration::from_secs(2),
        ..Limits::default()
    };
    let hostile = |source: &str| macro_job_with("hostile", source, tight.clone());
    if i % 500 == 499 {
        // An endless loop with fuel to spare: only the deadline stops it.
        let limits = Limits {
            timeout: Duration::from_millis(30),
            ..Limits::default()
        };
        return (
            macro_job_with(
                "spin",
                "def render(ctx):\n    while True:\n        pass\n",
                limits,
            ),
            Err(FailureClass::Timeout),
        );
    }
    match i % 10 {
        0..=5 => (
            macro_job("bold", TRIVIAL_MACRO, &[("text", json!(format!("t{i}")))]),
            Ok(format!("<b>t{i}</b>")),
        ),
        6 => (
            macro_job(
                "title",
                RE_HTML_MACRO,
                &[("text", json!(format!("a <b> {i}")))],
            ),
            Ok(format!("<span>A B {i}</span>")),
        ),
        7 => (
            hostile("def render(ctx):\n    n = 0\n    while True:\n        n += 1\n"),
            Err(FailureClass::FuelExhausted),
        ),
        8 => (
            hostile("def render(ctx):\n    return str(len(bytearray(512 << 20)))\n"),
            Err(FailureClass::MemoryLimit),
        ),
        _ => match (i / 10) % 3 {
            0 => (
                hostile("def render(ctx):\n    raise RuntimeError('no')\n"),
                Err(FailureClass::GuestError),
            ),
            1 => (
                hostile("def render(ctx):\n    print('x' * (1 << 20))\n    return ''\n"),
                Err(FailureClass::OutputTooLarge),
            ),
            _ => (
                hostile("def render(ctx):\n    return '\\ud800'\n"),
                Err(FailureClass::AbiViolation),
            ),
        },
    }
}

#[test]
fn ten_thousand_mixed_requests_keep_answers_right_and_memory_flat() {
    blogmark_e2e::alone("sandbox_load::measured");
}

#[test]
#[ignore = "run by ten_thousand_mixed_requests_keep_answers_right_and_memory_flat, alone in its process"]
fn measured() {
    let runtime = runtime(2);
    let (tx, rx) = std::sync::mpsc::channel();
    let started = Instant::now();
    let mut warm_rss = 0;
    std::thread::scope(|scope| {
        let runtime = &runtime;
        // The queue is bounded: submitting blocks while it is full, so the
        // submitter runs beside the checker.
        scope.spawn(move || {
            for i in 0..REQUESTS {
                let (job, expected) = request(i);
                tx.send((i, runtime.submit(job), expected)).unwrap();
            }
        });
        for (i, handle, expected) in rx {
            let got = match handle.wait() {
                Ok(outcome) => match outcome.reply {
                    Reply::Html(html) => Ok(html),
                    other => panic!("request {i}: {other:?}"),
                },
                Err(failure) => Err(failure.class()),
            };
            assert_eq!(got, expected, "request {i}");
            if i == 999 {
                warm_rss = resident_bytes().unwrap_or(0);
            }
        }
    });
    let elapsed = started.elapsed();
    let end_rss = resident_bytes().unwrap_or(0);
    println!(
        "{REQUESTS} requests (30% hostile) in {:.2} s: {:.0} req/s; resident memory after 1,000: {} MiB, after {REQUESTS}: {} MiB",
        elapsed.as_secs_f64(),
        REQUESTS as f64 / elapsed.as_secs_f64(),
        warm_rss >> 20,
        end_rss >> 20
    );
    let counters = runtime.counters().snapshot();
    let calls: u64 = counters.values().map(|c| c.calls).sum();
    assert_eq!(calls, REQUESTS as u64);
    if warm_rss > 0 {
        assert!(
            end_rss < warm_rss + (64 << 20),
            "memory grew from {} MiB to {} MiB",
            warm_rss >> 20,
            end_rss >> 20
        );
    }
}
