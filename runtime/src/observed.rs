//! Inputs a guest gets only by asking, and the record of its asking.
//!
//! A macro call's position and the wall clock are not in the request
//! document: the guest asks the host for them (the `call-position` import,
//! WASI's wall clock) and the host notes that it did. The sandbox is
//! deterministic and these values reach the guest by no other way, so a call
//! that never asked for one ran exactly as it would have with any other
//! value of it, and its result may be reused wherever the rest agrees.

use crate::sandbox_env::Captured;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// A macro call's place in its source file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallSite {
    /// The source file, relative to the site.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

/// What one call asked for beyond its request document. The caller keeps a
/// reference and reads it after the call, whatever its outcome.
#[derive(Debug, Default)]
pub struct Observed {
    position: AtomicBool,
    wall_clock: AtomicBool,
    failed_output: Mutex<Option<Captured>>,
    modules: Mutex<Vec<String>>,
    questions: Mutex<Questions>,
    keep_documents: bool,
    documents: Mutex<Option<Documents>>,
}

/// The distinct questions of a call, in the order first asked.
#[derive(Debug, Default)]
struct Questions {
    asked: Vec<crate::queries::Asked>,
    seen: std::collections::HashSet<String>,
}

/// The two documents of a call, exactly as they crossed the boundary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Documents {
    /// The request as sent (with the compiled module the runtime added).
    pub request: String,
    /// The result as the guest returned it, before it was parsed.
    pub result: String,
}

impl Observed {
    /// A record that also keeps the call's [`Documents`] (for tests of the
    /// ABI contract and for debugging; others do not pay for the copies).
    pub fn keeping_documents() -> Self {
        Observed {
            keep_documents: true,
            ..Observed::default()
        }
    }

    /// The call's documents, when asked for by [`Observed::keeping_documents`]
    /// and the guest returned a result document.
    pub fn documents(&self) -> Option<Documents> {
        self.documents
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn exchanged(&self, request: &str, result: &str) {
        if self.keep_documents {
            *self.documents.lock().unwrap_or_else(|e| e.into_inner()) = Some(Documents {
                request: request.to_owned(),
                result: result.to_owned(),
            });
        }
    }

    /// Whether the guest asked for the call's position.
    pub fn position(&self) -> bool {
        self.position.load(Ordering::Acquire)
    }

    /// Whether the guest read the wall clock.
    pub fn wall_clock(&self) -> bool {
        self.wall_clock.load(Ordering::Acquire)
    }

    /// What the guest printed and logged before its call failed (a
    /// successful call's output is in its `Outcome`).
    pub fn failed_output(&self) -> Option<Captured> {
        self.failed_output
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The modules the guest asked the host for, in the order it asked
    /// (found or not).
    pub fn modules(&self) -> Vec<String> {
        self.modules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The questions the guest asked the host, in order, with a digest of
    /// each answer: the result holds wherever they get the same answers.
    pub fn questions(&self) -> Vec<crate::queries::Asked> {
        self.questions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .asked
            .clone()
    }

    /// Note a question and its answer, once per call (the answer source is
    /// the same for the whole call); `false` when it is new and the call
    /// has asked too many distinct ones.
    pub(crate) fn asked(&self, question: &str, answer: &Result<String, String>) -> bool {
        let mut questions = self.questions.lock().unwrap_or_else(|e| e.into_inner());
        if questions.seen.contains(question) {
            return true;
        }
        if questions.asked.len() >= crate::queries::MAX_QUESTIONS {
            return false;
        }
        questions.seen.insert(question.to_owned());
        questions.asked.push(crate::queries::Asked {
            question: question.to_owned(),
            answer: crate::queries::answer_digest(answer),
        });
        true
    }

    pub(crate) fn asked_for_module(&self, name: &str) {
        self.modules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(name.to_owned());
    }

    pub(crate) fn keep_failed_output(&self, captured: Captured) {
        *self.failed_output.lock().unwrap_or_else(|e| e.into_inner()) = Some(captured);
    }

    pub(crate) fn saw_position(&self) {
        self.position.store(true, Ordering::Release);
    }

    pub(crate) fn saw_wall_clock(&self) {
        self.wall_clock.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_input_is_recorded_on_its_own() {
        let observed = Observed::default();
        assert!(!observed.position() && !observed.wall_clock());
        observed.saw_wall_clock();
        assert!(!observed.position() && observed.wall_clock());
        observed.saw_position();
        assert!(observed.position() && observed.wall_clock());
    }
}
