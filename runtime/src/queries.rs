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

/// The answer a guest gets to `question` from `answer` (the source's), in
/// a call whose input limit is `answer_cap`: a question past
/// [`MAX_QUESTION_BYTES`] or an answer past the cap is refused. Callers
/// that check a stored result compute it the same way.
pub fn effective_answer(
    question: &str,
    answer: impl FnOnce() -> Result<String, String>,
    answer_cap: usize,
) -> Result<String, String> {
    // A stand-in (see `recorded_question`) is refused as the question it
    // stands for was, so that a stored result's check agrees with its run.
    if question.len() > MAX_QUESTION_BYTES || question.starts_with(STAND_IN) {
        return Err(format!(
            "the question is longer than {MAX_QUESTION_BYTES} bytes"
        ));
    }
    match answer() {
        Ok(text) if text.len() > answer_cap => Err(format!(
            "the answer ({} bytes) is larger than the call's input limit ({answer_cap} bytes)",
            text.len()
        )),
        other => other,
    }
}

/// How the record of a refused, over-long question starts.
const STAND_IN: &str = "<a question of ";

/// What a question is recorded as: itself, or for one past
/// [`MAX_QUESTION_BYTES`] (refused) its length and digest, so that a call
/// cannot make its record as large as it likes.
pub fn recorded_question(question: &str) -> String {
    if question.len() <= MAX_QUESTION_BYTES {
        return question.to_owned();
    }
    format!(
        "{STAND_IN}{} bytes, sha256 {}>",
        question.len(),
        hex::encode(Sha256::digest(question.as_bytes()))
    )
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
    fn a_long_question_is_recorded_short_and_refused_alike_by_its_record() {
        let long = "x".repeat(MAX_QUESTION_BYTES + 1);
        let record = recorded_question(&long);
        assert!(record.len() < 120, "{record}");
        let refused = effective_answer(&long, || Ok("never".into()), 100);
        assert_eq!(
            refused,
            effective_answer(&record, || Ok("never".into()), 100)
        );
        assert!(refused.is_err());
        assert_eq!(recorded_question("{}"), "{}");
        let big = effective_answer("{}", || Ok("y".repeat(101)), 100);
        assert!(
            big.unwrap_err()
                .contains("larger than the call's input limit")
        );
    }

    #[test]
    fn an_answer_and_an_error_of_the_same_text_differ() {
        let ok = answer_digest(&Ok("x".into()));
        let err = answer_digest(&Err("x".into()));
        assert_ne!(ok, err);
        assert_eq!(ok, answer_digest(&Ok("x".into())));
    }
}
