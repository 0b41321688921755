//! Run a Python file as a macro through the sandbox and print the outcome.
fn main() {
    let path = std::env::args().nth(1).expect("usage: probe FILE.py");
    let source = std::fs::read_to_string(path).expect("readable script");
    let runtime = blogmark_e2e::runtime(0);
    let result = runtime.run(blogmark_e2e::macro_job("probe", &source, &[]));
    match result {
        Ok(outcome) => println!(
            "ok: {:?}\nstdout: {} bytes\nfuel: {}\nelapsed: {:?}",
            outcome.reply,
            outcome.captured.stdout.len(),
            outcome.fuel_used,
            outcome.elapsed
        ),
        Err(failure) => println!("failure: {failure:?}"),
    }
}
