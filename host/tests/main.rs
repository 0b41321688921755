//! The host's integration tests: one binary, which links wasmtime once, with
//! a module per area. They run the real `host` binary on real site folders,
//! the real guest in real wasmtime, real SQLite files, real git repositories
//! and a real browser.
//!
//! `cargo test -p blogmark-host --test host AREA::` runs one area (e.g.
//! `serve::`).

mod common;

mod big_files;
mod content_layout;
mod crash_safety;
mod example_scripts;
mod extension_points;
mod fetch;
mod fuzz_parsers;
mod hostile_output;
mod hostile_site;
mod hostile_sync;
mod images;
mod input_caps;
mod links;
mod output;
mod page_cache;
mod python_library;
mod python_macros;
mod python_packages;
mod real_packages;
mod render;
mod sandbox_start;
mod scripts_cli;
mod scripts_run;
mod self_contained;
mod serve;
mod site_snapshot;
mod stats;
mod sync;
mod transforms;
mod up_to_date;
mod workbench;
mod workbench_browser;
