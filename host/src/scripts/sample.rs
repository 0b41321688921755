//! A script run by hand on a sample, the same way wherever it is done:
//! `host scripts run`, `host run-script` and the workbench's run panel.

use super::Script;
use crate::content::Page;
use crate::python::MacroCall;
use serde_json::Value;

/// The call a sample makes of the macro `name`, with these named arguments
/// and body, placed at `place` (what the script sees as the call's file,
/// such as `<command line>`).
pub fn call(
    name: &str,
    args: impl IntoIterator<Item = (String, Value)>,
    body: Option<String>,
    place: &str,
) -> MacroCall {
    MacroCall {
        name: name.to_owned(),
        args: args.into_iter().collect(),
        body,
        file: place.into(),
        line: 1,
        column: 1,
        ..MacroCall::default()
    }
}

/// `script` as a sample runs it: a page given with the sample is the page
/// the call sees, whatever the script declares.
pub fn script_for(script: &Script, page: Option<&Page>) -> Script {
    let mut script = script.clone();
    script.uses_page |= page.is_some();
    script
}

/// What a transform made of the post at `path`, as a unified diff with
/// three lines of context; empty when it left the text alone.
pub fn diff(path: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diff_names_the_post_and_is_empty_when_nothing_changed() {
        assert_eq!(diff("content/posts/a.md", "x\n", "x\n"), "");
        let d = diff("content/posts/a.md", "teh cat\n", "the cat\n");
        assert!(d.starts_with("--- a/content/posts/a.md\n+++ b/content/posts/a.md\n"));
        assert!(d.contains("-teh cat\n+the cat\n"), "{d}");
    }
}
