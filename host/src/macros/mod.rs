//! Macros in posts: the parser, the built-in registry and the expander.

pub mod builtins;
pub mod expand;
pub mod parser;
pub mod resolve;

pub use expand::{Expanded, Expander, SiteIndex};
pub use parser::{Call, Namespace, Segment};
