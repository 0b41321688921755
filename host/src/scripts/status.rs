//! What is the matter with a script, worked out in one place for every view
//! of it: `host scripts list`, `show` and `check`, and the workbench.

use super::{Script, ScriptKind};
use crate::macros::builtins::Registry;
use crate::macros::resolve::{script_is_shadowed, shadowed_message};
use crate::python::{Checked, Failure};

impl ScriptKind {
    /// `macro`, `transform`, `hook` or `generator`, as every view names it.
    pub fn name(self) -> &'static str {
        match self {
            ScriptKind::Macro => "macro",
            ScriptKind::Transform => "transform",
            ScriptKind::Hook => "hook",
            ScriptKind::Generator => "generator",
        }
    }
}

/// The most pressing thing wrong with a script, if anything, in the order
/// an author fixes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Its front matter cannot be read.
    Invalid,
    /// It does not compile: the first line of the sandbox's report.
    SyntaxError(String),
    /// Its entrypoint is not among its functions (which are listed).
    NoEntrypoint(String),
    /// A built-in macro of its name runs instead.
    Shadowed(String),
    /// Calls failed in the last render, this many.
    Failing(u64),
    /// Nothing known to be wrong.
    Ok,
}

impl Status {
    /// What is known of `script` without running it: its front matter and
    /// the built-in macros' names.
    pub fn of(script: &Script, registry: &Registry) -> Status {
        if !script.valid {
            Status::Invalid
        } else if script_is_shadowed(script, registry) {
            Status::Shadowed(shadowed_message(&script.name))
        } else {
            Status::Ok
        }
    }

    /// [`Status::of`], with what a check of `script` in the sandbox found.
    pub fn checked(
        script: &Script,
        registry: &Registry,
        check: &Result<Checked, Failure>,
    ) -> Status {
        match (Status::of(script, registry), check) {
            (Status::Invalid, _) => Status::Invalid,
            (_, Err(failure)) => Status::SyntaxError(
                // A check's traceback says nothing more than its first line.
                crate::python::failure_report(script, failure)
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
            ),
            (status, Ok(checked)) => checked.problem(script).map_or(status, Status::NoEntrypoint),
        }
    }

    /// This status, or [`Status::Failing`] when nothing else is wrong and
    /// `failures` calls failed in the last render.
    pub fn with_failures(self, failures: u64) -> Status {
        match self {
            Status::Ok if failures > 0 => Status::Failing(failures),
            other => other,
        }
    }

    /// Its name: `ok`, `invalid`, `syntax error`, `no entrypoint`,
    /// `shadowed` or `failing`.
    pub fn label(&self) -> &'static str {
        match self {
            Status::Invalid => "invalid",
            Status::SyntaxError(_) => "syntax error",
            Status::NoEntrypoint(_) => "no entrypoint",
            Status::Shadowed(_) => "shadowed",
            Status::Failing(_) => "failing",
            Status::Ok => "ok",
        }
    }

    /// What it means for this script; empty for `ok`.
    pub fn detail(&self) -> String {
        match self {
            Status::Invalid => "its front matter cannot be read".into(),
            Status::SyntaxError(detail)
            | Status::NoEntrypoint(detail)
            | Status::Shadowed(detail) => detail.clone(),
            Status::Failing(n) => format!(
                "{n} failed call{} in the last render",
                if *n == 1 { "" } else { "s" }
            ),
            Status::Ok => String::new(),
        }
    }

    /// Whether the script cannot run as it is (a check fails on it).
    pub fn is_error(&self) -> bool {
        matches!(
            self,
            Status::Invalid | Status::SyntaxError(_) | Status::NoEntrypoint(_)
        )
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Ok => f.write_str("ok"),
            other => write!(f, "{} ({})", other.label(), other.detail()),
        }
    }
}
