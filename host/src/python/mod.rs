//! The host's one door into the Python sandbox: every request to
//! `blogmark_runtime` goes through here (elsewhere only `machine_key` names
//! it, for the user's cache folder).
//!
//! A [`Session`] owns the runtime of one command (started on first use,
//! with the site's isolation and limits), turns the site's types into ABI
//! v1 requests and answers back, keeps results within the session and
//! across builds, and words failures. It has three entry points:
//! [`Session::call_macro`], [`Session::transform`] and
//! [`Session::check`]. `host render`, `host scripts run`, `host scripts
//! check` and `host run-script` all go through them.
//!
//! A Python macro call goes down and never back up: the expander
//! (`macros::expand`) resolves the name (`macros::resolve`), hands a
//! [`MacroCall`] to [`Session::call_macro`], which builds the request
//! (`abi_map`), looks up its keys (`cache_keys`) in this session's and
//! earlier builds' results (`build_results`), runs it in the sandbox when
//! none answers, records it (`crate::stats`) and returns the HTML or a
//! [`Failure`] that `failure_text` words.

mod abi_map;
mod build_results;
mod cache_keys;
mod compile_notice;
mod failure_text;
mod file_tree;
mod import_probe;
mod modules;
mod precompile;
mod report;
mod session;
mod settings;
mod site_snapshot;
mod snapshot_retry;
mod versions;

pub use abi_map::{MacroCall, typed_argument};
pub use blogmark_runtime::abi::Post;
pub use blogmark_runtime::{Failure, Limits};
pub use build_results::StoredResults;
pub use failure_text::{failure_reason, failure_report};
pub use import_probe::prove_imports;
pub use modules::{Provider, SiteModules};
pub use precompile::{PrepareReport, precompile};
pub use report::SandboxReport;
pub use session::{Answer, Checked, RunOutput, Session, SharedSandbox};
pub use settings::{Settings, guest_clock};
pub use site_snapshot::SitePlan;
pub use versions::{SandboxVersions, sandbox_versions};
