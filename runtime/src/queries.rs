//! Questions a guest asks its host about what lies beyond its request (a
//! site's data files, its other pages), answered by the caller.
//!
//! The runtime knows nothing of what is asked: a question and its answer
//! are JSON documents whose forms the caller defines. It notes every
//! question and a digest of its answer in the job's
//! [`Observed`](crate::Observed): the result of a deterministic call is
//! then valid wherever the same questions get the same answers, which is
//! how a caller keys a cached result on exactly what the call read.

use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::Arc;

/// Where a job's questions are answered from.
pub trait QuerySource: Send + Sync + fmt::Debug {
    /// The answer to `question` (a JSON document), as a JSON document; an
    /// `Err` carries a message the guest raises to the script.
    fn answer(&self, question: &str) -> Result<String, String>;
}

/// A job's source of answers: `None` answers every question with an error.
pub type Queries = Option<Arc<dyn QuerySource>>;

/// The most questions one call may ask: past it the guest's question is
/// refused (the answers are kept for the call's key).
pub const MAX_QUESTIONS: usize = 10_000;

/// The longest question, in bytes (a data file's keys or a page filter
/// take tens of bytes: the cap bounds what a call's record of its
/// questions can hold, 20 MiB at most).
pub const MAX_QUESTION_BYTES: usize = 2 << 10;

/// One question a call asked and what its answer was, by digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Asked {
    /// The question, as the guest sent it.
    pub question: String,
    /// SHA-256 (hex) of the answer, an error's message included.
    pub answer: String,
}

/// The digest an answer is recorded under: callers compute it again to
/// check that a stored result still holds.
pub fn answer_digest(answer: &Result<String, String>) -> String {
    let mut hasher = Sha256::new();
    match answer {
        Ok(text) => {
            hasher.update(b"ok\0");
            hasher.update(text.as_bytes());
        }
        Err(message) => {
            hasher.update(b"err\0");
            hasher.update(message.as_bytes());
        }
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_and_an_error_of_the_same_text_differ() {
        let ok = answer_digest(&Ok("x".into()));
        let err = answer_digest(&Err("x".into()));
        assert_ne!(ok, err);
        assert_eq!(ok, answer_digest(&Ok("x".into())));
    }
}
