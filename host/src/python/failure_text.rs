//! What a failed run says, in one wording for every command.

use super::Failure;
use crate::scripts::Script;
use crate::stats::Failed;
use blogmark_runtime::FailureClass;

/// Where `script` failed and why, for a diagnostic: `(scripts/x.py:7)
/// failed: GuestError (ValueError: ...)`.
pub fn failure_reason(script: &Script, failure: &Failure) -> String {
    let mut place = script.path.clone();
    if let Some(line) = failure.guest_error().and_then(|e| e.line) {
        place = format!("{place}:{line}");
    }
    format!("({place}) failed: {} ({failure})", failure.class())
}

/// A failure in full, for a command run on one script: `scripts/x.py:7:
/// error: ValueError: ...` and the traceback, or the class and reason.
pub fn failure_report(script: &Script, failure: &Failure) -> String {
    let path = &script.path;
    match failure.guest_error() {
        Some(error) => {
            let place = match (error.line, error.column) {
                (Some(l), Some(c)) => format!("{path}:{l}:{c}"),
                (Some(l), None) => format!("{path}:{l}"),
                _ => path.clone(),
            };
            let mut text = format!("{place}: error: {}: {}", error.type_name, error.message);
            if !error.traceback.is_empty() {
                text.push('\n');
                text.push_str(error.traceback.trim_end());
            }
            text
        }
        None => format!("{path}: error: {} ({failure})", failure.class()),
    }
}

/// How the build statistics count `failure`.
pub(super) fn counted_as(failure: &Failure) -> Failed {
    match failure.class() {
        FailureClass::Timeout => Failed::Timeout,
        FailureClass::FuelExhausted => Failed::Fuel,
        FailureClass::MemoryLimit => Failed::Memory,
        FailureClass::GuestError => Failed::Error,
        FailureClass::AbiViolation => Failed::Abi,
        FailureClass::OutputTooLarge
        | FailureClass::InputTooLarge
        | FailureClass::Unavailable
        | FailureClass::Cancelled => Failed::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use blogmark_runtime::GuestError;

    fn script() -> Script {
        let (script, problems) = crate::scripts::parse(
            "scripts/badge.py",
            b"\"\"\"\n---\nkind: macro\n---\n\"\"\"\ndef render(ctx):\n    return ''\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        script
    }

    fn raised(line: Option<u32>) -> Failure {
        Failure::GuestError(GuestError {
            type_name: "ValueError".into(),
            message: "no colour".into(),
            line,
            column: None,
            traceback: "Traceback (most recent call last):\n  ...".into(),
        })
    }

    #[test]
    fn a_raise_names_the_script_and_line() {
        let reason = failure_reason(&script(), &raised(Some(7)));
        assert!(
            reason.starts_with("(scripts/badge.py:7) failed: GuestError"),
            "{reason}"
        );
        assert!(reason.contains("no colour"), "{reason}");
        let report = failure_report(&script(), &raised(Some(7)));
        assert!(
            report.starts_with("scripts/badge.py:7: error: ValueError: no colour\nTraceback"),
            "{report}"
        );
    }

    #[test]
    fn a_limit_names_the_script_and_the_class() {
        let failure = Failure::Timeout { limit_ms: 200 };
        let reason = failure_reason(&script(), &failure);
        assert!(
            reason.starts_with("(scripts/badge.py) failed: Timeout"),
            "{reason}"
        );
        assert_eq!(counted_as(&failure), Failed::Timeout);
        assert!(
            failure_report(&script(), &failure).starts_with("scripts/badge.py: error: Timeout")
        );
    }
}
