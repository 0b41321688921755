//! Editing a script's front matter in place, every other byte kept.

/// `text` with `enabled:` set in its docstring front matter (the line
/// replaced, or added before the closing `---`); `None` when the script has
/// no front matter.
pub fn set_enabled(text: &str, enabled: bool) -> Option<String> {
    let value = if enabled { "true" } else { "false" };
    let mut offset = 0;
    let mut in_front = false;
    let mut opened = false;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        let ending = &line[bare.len()..];
        let trimmed = bare.trim();
        if !opened && trimmed == "---" {
            opened = true;
            in_front = true;
        } else if in_front && trimmed == "---" {
            let newline = if ending.is_empty() { "\n" } else { ending };
            let insert = format!("enabled: {value}{newline}");
            return Some(format!("{}{insert}{}", &text[..offset], &text[offset..]));
        } else if in_front && trimmed.starts_with("enabled:") {
            let indent = &bare[..bare.len() - bare.trim_start().len()];
            // Keep a trailing comment and the spaces before it.
            let comment = bare
                .find(" #")
                .map(|i| &bare[bare[..i + 1].trim_end().len()..])
                .unwrap_or("");
            let replaced = format!("{indent}enabled: {value}{comment}{ending}");
            return Some(format!(
                "{}{replaced}{}",
                &text[..offset],
                &text[offset + line.len()..]
            ));
        }
        offset += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_line_and_keeps_everything_else() {
        let text =
            "\"\"\"\r\n---\r\nkind: macro\r\nenabled: true   # on\r\n---\r\n\"\"\"\r\nx = 1\r\n";
        let off = set_enabled(text, false).unwrap();
        assert_eq!(
            off,
            text.replace("enabled: true   # on", "enabled: false   # on")
        );
        assert_eq!(set_enabled(&off, true).unwrap(), text);
    }

    #[test]
    fn adds_the_line_when_missing() {
        let text = "\"\"\"\n---\nkind: macro\n---\n\"\"\"\n";
        assert_eq!(
            set_enabled(text, false).unwrap(),
            "\"\"\"\n---\nkind: macro\nenabled: false\n---\n\"\"\"\n"
        );
        assert_eq!(set_enabled("x = 1\n", false), None);
    }
}
