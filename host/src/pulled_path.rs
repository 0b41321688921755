//! The paths of a pulled tree, checked before `host sync` writes any.
//!
//! A commit from someone else can hold any name git's object format allows,
//! and libgit2 refuses some only when it comes to write them, which the
//! host does itself. A `.git/hooks/post-commit` written into the work tree
//! runs at the author's next commit, so every path is checked first, as
//! git's own `verify_path` does on every system: no `.git` component in
//! any spelling a file system may take for it (case, NTFS's trailing dots
//! and spaces and `git~1`, HFS+'s ignorable code points), no `..`, no
//! absolute path. One bad path refuses the whole pull.

/// Why `path` (`/`-separated, from a tree) may not be written into a work
/// tree, if it may not.
pub fn problem(path: &str) -> Option<String> {
    if path.is_empty() {
        return Some("an empty path".into());
    }
    if path.starts_with('/') {
        return Some("an absolute path".into());
    }
    if path.chars().any(|c| c.is_control() || c == '\\') {
        return Some("a control character or a `\\` in the path".into());
    }
    path.split('/').find_map(|component| {
        if component.is_empty() || component == "." || component == ".." {
            Some(format!("a `{component}` component"))
        } else if is_dot_git(component) {
            Some(format!(
                "`{component}` is the repository's own folder (`.git`) on some file system"
            ))
        } else {
            None
        }
    })
}

/// Whether a file system may take `name` for `.git`.
fn is_dot_git(name: &str) -> bool {
    // HFS+ ignores these code points in names (git's `is_hfs_dotgit`).
    let ignorable = |c: &char| {
        matches!(*c, '\u{200c}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{206a}'..='\u{206f}')
            || *c == '\u{feff}'
    };
    let folded: String = name
        .chars()
        .filter(|c| !ignorable(c))
        .flat_map(char::to_lowercase)
        .collect();
    // NTFS drops trailing dots and spaces, and may answer to the 8.3 name.
    let trimmed = folded.trim_end_matches(['.', ' ']);
    trimmed == ".git" || trimmed == "git~1" || trimmed.starts_with(".git:")
}

#[cfg(test)]
mod tests {
    use super::problem;

    #[test]
    fn every_spelling_of_dot_git_and_every_escape_is_refused() {
        for bad in [
            ".git/hooks/post-commit",
            "content/.git/config",
            ".GIT/config",
            "a/.Git/hooks/pre-push",
            ".git./config",
            ".git . ./config",
            "GIT~1/config",
            ".g\u{200c}it/config",
            ".git\u{feff}/config",
            ".git::$INDEX_ALLOCATION/config",
            "../outside",
            "a/../../outside",
            "/etc/passwd",
            "a//b",
            "a/./b",
            "a\\..\\b",
            "a\0b",
            "a\nb",
            "",
        ] {
            assert!(problem(bad).is_some(), "{bad:?} passed");
        }
        for good in [
            "content/posts/a.md",
            ".gitignore",
            ".github/workflows/ci.yml",
            "git/x",
            "a.git/b",
            ".gitx/y",
        ] {
            assert_eq!(problem(good), None, "{good:?}");
        }
    }
}
