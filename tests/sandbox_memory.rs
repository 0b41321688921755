//! Host memory stays flat over many requests. Measured in a process of its
//! own, so that no other test allocates in the process while it measures.

use blogmark_e2e::{TRIVIAL_MACRO, macro_job, resident_bytes};
use blogmark_runtime::abi::Reply;
use serde_json::json;

#[test]
fn a_thousand_sequential_requests_keep_host_memory_flat() {
    blogmark_e2e::alone("sandbox_memory::measured");
}

#[test]
#[ignore = "run by a_thousand_sequential_requests_keep_host_memory_flat, alone in its process"]
fn measured() {
    let runtime = blogmark_e2e::runtime(1);
    let run = |i: usize| {
        let job = macro_job("bold", TRIVIAL_MACRO, &[("text", json!(i.to_string()))]);
        assert_eq!(
            runtime.run(job).unwrap().reply,
            Reply::Html(format!("<b>{i}</b>"))
        );
    };
    (0..100).for_each(run);
    let before = resident_bytes().expect("/proc/self/statm");
    (100..1_000).for_each(run);
    let after = resident_bytes().expect("/proc/self/statm");
    let growth = after.saturating_sub(before);
    assert!(
        growth < 32 << 20,
        "RSS grew by {} MiB over 900 requests",
        growth >> 20
    );
}
