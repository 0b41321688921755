//! Macros in posts: the parser, the built-in registry and the expander.

pub mod builtins;
pub mod expand;
pub mod parser;
pub mod resolve;

pub use expand::{Expanded, Expander};
pub use parser::{Call, Namespace, Segment};

/// Whether `s` is a macro or argument name: a letter or `_`, then letters,
/// digits, `_` and `-`.
pub fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}
