//! Where a macro call sits in its page. The position is not part of the
//! request document: the guest asks the host for it (the `call-position`
//! import) the first time a script reads it, and the host records that it
//! did. A call that never asked ran exactly as it would have anywhere else
//! (the sandbox is deterministic and the position reaches it by no other
//! way), so its result may serve equal calls at every position.

use std::sync::atomic::{AtomicBool, Ordering};

/// A macro call's place in its page, and whether the guest read it.
#[derive(Debug)]
pub struct CallSite {
    /// The page's source file, relative to the site.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    read: AtomicBool,
}

impl CallSite {
    /// The call at `file:line:column`, not read yet.
    pub fn new(file: impl Into<String>, line: u32, column: u32) -> Self {
        CallSite {
            file: file.into(),
            line,
            column,
            read: AtomicBool::new(false),
        }
    }

    /// Whether a guest asked for this position.
    pub fn was_read(&self) -> bool {
        self.read.load(Ordering::Acquire)
    }

    /// The position, for the guest: from now on the result depends on it.
    pub(crate) fn read(&self) -> (&str, u32, u32) {
        self.read.store(true, Ordering::Release);
        (&self.file, self.line, self.column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_the_position_is_recorded() {
        let site = CallSite::new("content/posts/a.md", 3, 7);
        assert!(!site.was_read());
        assert_eq!(site.read(), ("content/posts/a.md", 3, 7));
        assert!(site.was_read());
    }
}
