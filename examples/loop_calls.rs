//! Run N trivial macro calls in fresh instances and print where the time
//! goes: instantiation, the call, teardown (for profiling the sandbox).
fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000);
    let mut config = blogmark_runtime::RuntimeConfig::new(blogmark_e2e::guest());
    config.mode = blogmark_runtime::Mode::Inline;
    if let Some(keep) = std::env::var("KEEP_RESIDENT")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        config.engine.keep_resident_bytes = keep;
    }
    let runtime = blogmark_runtime::Runtime::new(config).unwrap();
    let mut total = [std::time::Duration::ZERO; 3];
    for i in 0..n {
        let job = blogmark_e2e::macro_job(
            "bold",
            blogmark_e2e::TRIVIAL_MACRO,
            &[("text", serde_json::json!(i.to_string()))],
        );
        let phases = runtime.engine().phase_times(&job).unwrap();
        for (t, p) in total.iter_mut().zip(phases) {
            *t += p;
        }
    }
    let [inst, call, drop] = total.map(|t| t / n as u32);
    println!("{n} calls: instantiate {inst:?}, call {call:?}, teardown {drop:?}");
}
