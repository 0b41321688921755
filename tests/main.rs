//! End-to-end tests of the sandbox: one binary, which links wasmtime once,
//! with a module per area. They run the real CPython-on-WASI guest in real
//! wasmtime.
//!
//! `cargo test --test e2e AREA::` runs one area (e.g. `sandbox_hostile::`).

mod abi_contract;
mod bench_thresholds;
mod python_stdlib;
mod sandbox_basics;
mod sandbox_compiled_cache;
mod sandbox_hostile;
mod sandbox_isolation;
mod sandbox_load;
mod sandbox_memory;
mod site_snapshot;
