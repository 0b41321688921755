//! How a sandboxed call can fail, classified so callers can react per class.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A Python exception (or interpreter abort) reported by the guest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestError {
    /// The exception's type name, e.g. `ValueError` or `SyntaxError`.
    pub type_name: String,
    /// The exception's message.
    pub message: String,
    /// The script line the failure points at (innermost frame of the script).
    pub line: Option<u32>,
    /// The column, for syntax errors.
    pub column: Option<u32>,
    /// The Python traceback, limited to the script's own frames.
    pub traceback: String,
}

impl fmt::Display for GuestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.type_name, self.message)?;
        if let Some(line) = self.line {
            write!(f, " (script line {line})")?;
        }
        Ok(())
    }
}

/// Which of its outputs a guest made too large.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Output {
    /// The result document.
    Result,
    /// stdout and stderr together.
    Stdout,
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Output::Result => "a result",
            Output::Stdout => "stdout/stderr output",
        })
    }
}

/// A classified failure of one sandboxed call.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum Failure {
    /// The call ran past its time budget.
    #[error("timed out after {limit_ms} ms")]
    Timeout {
        /// The budget, in milliseconds.
        limit_ms: u64,
    },
    /// The call used its whole fuel budget.
    #[error("ran out of fuel (budget {limit} units)")]
    FuelExhausted {
        /// The budget.
        limit: u64,
    },
    /// The guest tried to grow past its memory limit or exhausted its stack.
    #[error("exceeded its memory limit ({detail})")]
    MemoryLimit {
        /// What ran out.
        detail: String,
    },
    /// The script raised an exception (or the interpreter aborted).
    #[error("{0}")]
    GuestError(GuestError),
    /// The guest's answer broke ABI v1.
    #[error("broke ABI v1: {0}")]
    AbiViolation(String),
    /// Output past the configured cap.
    #[error("{what} larger than the limit of {limit_bytes} bytes")]
    OutputTooLarge {
        /// Which output.
        what: Output,
        /// The cap.
        limit_bytes: usize,
    },
    /// The request document was larger than the input cap; the guest never
    /// saw it.
    #[error("a request larger than the limit of {limit_bytes} bytes")]
    InputTooLarge {
        /// The cap.
        limit_bytes: usize,
    },
    /// The sandbox could not run at all (component missing or corrupt, ...).
    #[error("the Python sandbox is unavailable: {0}")]
    Unavailable(String),
    /// The request was cancelled before it ran.
    #[error("cancelled before it ran")]
    Cancelled,
}

/// The class of a [`Failure`], for counters and reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum FailureClass {
    /// See [`Failure::Timeout`].
    Timeout,
    /// See [`Failure::FuelExhausted`].
    FuelExhausted,
    /// See [`Failure::MemoryLimit`].
    MemoryLimit,
    /// See [`Failure::GuestError`].
    GuestError,
    /// See [`Failure::AbiViolation`].
    AbiViolation,
    /// See [`Failure::OutputTooLarge`].
    OutputTooLarge,
    /// See [`Failure::InputTooLarge`].
    InputTooLarge,
    /// See [`Failure::Unavailable`].
    Unavailable,
    /// See [`Failure::Cancelled`].
    Cancelled,
}

impl FailureClass {
    /// Every class, in a stable order.
    pub const ALL: [FailureClass; 9] = [
        FailureClass::Timeout,
        FailureClass::FuelExhausted,
        FailureClass::MemoryLimit,
        FailureClass::GuestError,
        FailureClass::AbiViolation,
        FailureClass::OutputTooLarge,
        FailureClass::InputTooLarge,
        FailureClass::Unavailable,
        FailureClass::Cancelled,
    ];
}

impl fmt::Display for FailureClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl Failure {
    /// This failure's class.
    pub fn class(&self) -> FailureClass {
        match self {
            Failure::Timeout { .. } => FailureClass::Timeout,
            Failure::FuelExhausted { .. } => FailureClass::FuelExhausted,
            Failure::MemoryLimit { .. } => FailureClass::MemoryLimit,
            Failure::GuestError(_) => FailureClass::GuestError,
            Failure::AbiViolation(_) => FailureClass::AbiViolation,
            Failure::OutputTooLarge { .. } => FailureClass::OutputTooLarge,
            Failure::InputTooLarge { .. } => FailureClass::InputTooLarge,
            Failure::Unavailable(_) => FailureClass::Unavailable,
            Failure::Cancelled => FailureClass::Cancelled,
        }
    }

    /// The guest error, when this is one.
    pub fn guest_error(&self) -> Option<&GuestError> {
        match self {
            Failure::GuestError(e) => Some(e),
            _ => None,
        }
    }
}
