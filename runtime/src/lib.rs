//! The Python sandbox of Blogmark host.
//!
//! CPython 3.14 compiled to WASI and pre-initialized with Blogmark's
//! dispatcher runs inside wasmtime. Every request starts from a state
//! identical to a fresh instance ([`Isolation`]: one instance per worker
//! reset in place, or a fresh instance each time) with no capabilities (no
//! files, no environment, no network), virtual clocks, randomness seeded
//! from the request, and host-enforced limits on time, fuel, memory and
//! output. Requests and results are ABI v1 JSON documents
//! ([`abi`]); failures are classified ([`Failure`]).
//!
//! This crate knows nothing of blogs.
//!
//! ```no_run
//! use blogmark_runtime::{abi, Job, Runtime, RuntimeConfig};
//! # fn main() -> Result<(), blogmark_runtime::Failure> {
//! let runtime = Runtime::new(RuntimeConfig::new("guest.wasm"))?;
//! let script = abi::Script {
//!     slug: "hello".into(),
//!     entrypoint: "render".into(),
//!     path: "scripts/hello.py".into(),
//!     source: "def render(ctx):\n    return '<b>hi</b>'\n".into(),
//!     code: None,
//!     preloaded: None,
//! };
//! let call = abi::MacroCall { name: "hello".into(), ..Default::default() };
//! let op = abi::Operation::Macro { call, page: None, site: abi::Site::default() };
//! let outcome = runtime.run(Job::new(abi::Request::new(script, op)))?;
//! assert_eq!(outcome.reply, abi::Reply::Html("<b>hi</b>".into()));
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

pub mod abi;
mod artifact_cache;
mod call;
mod compiled_scripts;
mod counters;
mod cpu_deadline;
mod engine;
mod epoch_clock;
mod failure;
mod function_cache;
mod guest_component;
mod guest_image;
mod instances;
mod isolation;
mod limits;
mod modules;
mod observed;
mod preload;
mod queries;
mod reset;
mod runtime;
mod sandbox_env;
mod sandbox_state;
mod snapshot;

pub use call::{Job, Outcome, ReusedInstance};
pub use counters::{Counters, IsolationCounters, IsolationStats, ScriptStats};
pub use engine::{
    DEFAULT_VERIFY_EVERY, EngineSettings, LoadReport, SandboxEngine, cache_root, default_cache_dir,
};
pub use failure::{Failure, FailureClass, GuestError, Output};
pub use guest_component::{CompileObserver, CompileStage, GuestComponent};
pub use isolation::{ISOLATION_ENV, Isolation, IsolationMode, ResolvedIsolation};
pub use limits::Limits;
pub use modules::{FileInfo, ModuleCode, ModuleForm, ModuleSource, Modules, is_tree_path};
pub use observed::{CallSite, Documents, Observed};
pub use preload::{Preload, PreloadReport};
pub use queries::{
    Asked, MAX_QUESTION_BYTES, MAX_QUESTIONS, Queries, QuerySource, answer_digest,
    effective_answer, recorded_question,
};
pub use runtime::{Handle, Mode, Runtime, RuntimeConfig};
pub use sandbox_env::{Captured, LogLine};
pub use snapshot::{Snapshot, SnapshotPlan, default_snapshot_dir, snapshot};

/// The wasmtime version the sandbox runs on.
pub const WASMTIME_VERSION: &str = wasmtime_environ::VERSION;
