//! New scripts: the starting text of each kind of script, and the rule
//! for a script's name (its file is `scripts/NAME.py`).

use super::ScriptKind;
use std::path::Path;

const MACRO_TEMPLATE: &str = r#""""
---
kind: macro
name: {name}
description: What this macro does, in one line.
enabled: true
version: 1
# uses_page: true      # ctx.page: the page's slug, title, date, tags, extra
# fallback: "<span>?</span>"   # shown if the macro fails
---
"""
import html


def render(ctx):
    # ctx.args: named arguments; ctx.positional: the others; ctx.body: the
    # body of a paired macro. Return HTML.
    text = str(ctx.args.get("text", "{name}"))
    return f'<span class="{name}">{html.escape(text)}</span>'
"#;

const TRANSFORM_TEMPLATE: &str = r#""""
---
kind: transform
name: {name}
description: What this transform does, in one line.
enabled: true
version: 1
order: 0         # transforms run by order (lowest first), then by name
---
"""


def transform(post):
    # post["path"], post["front_matter"] (a dict), post["body"] (Markdown).
    # Return the changed fields, e.g. {"body": post["body"] + "..."}, or
    # None to leave the post as it is. `host run-script {name} --all` shows
    # the diff; `host render` applies it in memory only.
    return None
"#;

const HOOK_TEMPLATE: &str = r#""""
---
kind: hook
hook: link       # or image, heading, codeblock, table, blockquote
# languages: [mermaid, chart]   # a codeblock hook: only these languages
description: What this hook does, in one line.
enabled: true
version: 1
# uses_page: true      # ctx.page: the page's slug, title, date, tags, extra
---
"""
import html


def render(ctx):
    # ctx.link: url, text (HTML) and title; ctx.image: src, alt, title,
    # resource; ctx.heading: level, text, id (keep the id: the table of
    # contents links to it); ctx.code: lang, text, attrs; ctx.table: html;
    # ctx.blockquote: html. ctx.element is the same, whatever the type.
    # Return HTML, or None for the default rendering.
    link = ctx.link
    site = ctx.site.base_url  # `ref` gives the site's own full URLs
    if not link.url.startswith(("http://", "https://")) or (site and link.url.startswith(site)):
        return None
    title = f' title="{html.escape(link.title)}"' if link.title else ""
    return (f'<a href="{html.escape(link.url)}"{title} rel="external noopener">'
            f"{link.text}</a>")
"#;

const GENERATOR_TEMPLATE: &str = r#""""
---
kind: generator
description: What this generator makes, in one line.
enabled: true
version: 1
---
"""


def generate(ctx):
    # ctx.data: the site's data/ folder (data/books/dune.toml is
    # ctx.data["books"]["dune"]); ctx.site.pages(...) the pages of its files.
    # Return pages (rendered like files of content/: their path starts with
    # posts/ or pages/) and output files. It runs again only when what it
    # read changed.
    pages = []
    for key in ctx.data.get("{name}", {}):
        entry = ctx.data["{name}"][key]
        pages.append({
            "path": f"pages/{name}/{key}.md",
            "front_matter": {"title": str(entry.get("title", key))},
            "body": str(entry.get("body", "")),
        })
    return {"pages": pages, "files": []}
"#;

/// Why `name` cannot name a script, if it cannot: a name is lowercase
/// letters, digits and `_` (it is a Python module and a macro's name).
pub fn name_problem(name: &str) -> Option<String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    (!ok).then(|| {
        format!("`{name}` is not a script name: use lowercase letters, digits and `_`, not first a digit")
    })
}

/// The text a new script of `kind` called `name` starts from.
pub fn text(name: &str, kind: ScriptKind) -> String {
    match kind {
        ScriptKind::Macro => MACRO_TEMPLATE,
        ScriptKind::Transform => TRANSFORM_TEMPLATE,
        ScriptKind::Hook => HOOK_TEMPLATE,
        ScriptKind::Generator => GENERATOR_TEMPLATE,
    }
    .replace("{name}", name)
}

/// What creating a script can run into.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// The name is not a script name.
    #[error("{0}")]
    BadName(String),
    /// A script of that name exists.
    #[error("scripts/{0}.py exists; nothing was changed")]
    Exists(String),
    /// The file could not be written.
    #[error("cannot write scripts/{name}.py: {source}")]
    Io {
        /// The script's name.
        name: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Create `scripts/NAME.py` in the site at `root` from the template of
/// `kind`; never replaces a file. Returns its path relative to the site.
pub fn create(root: &Path, name: &str, kind: ScriptKind) -> Result<String, CreateError> {
    if let Some(problem) = name_problem(name) {
        return Err(CreateError::BadName(problem));
    }
    let io = |source| CreateError::Io {
        name: name.to_owned(),
        source,
    };
    let dir = root.join("scripts");
    std::fs::create_dir_all(&dir).map_err(io)?;
    let path = dir.join(format!("{name}.py"));
    // `create_new` so a file made since the check is never replaced.
    let mut file = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(CreateError::Exists(name.to_owned()));
        }
        Err(e) => return Err(io(e)),
    };
    std::io::Write::write_all(&mut file, text(name, kind).as_bytes()).map_err(io)?;
    Ok(format!("scripts/{name}.py"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(name_problem("word_count2").is_none());
        for bad in ["", "Word", "a-b", "../x", "2x", "a.b", "a/b"] {
            assert!(name_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn templates_parse_as_enabled_scripts_of_their_kind() {
        for kind in [
            ScriptKind::Macro,
            ScriptKind::Transform,
            ScriptKind::Hook,
            ScriptKind::Generator,
        ] {
            let (script, problems) =
                crate::scripts::parse("scripts/fresh.py", text("fresh", kind).as_bytes());
            assert!(problems.is_empty(), "{problems:?}");
            assert_eq!(script.kind, kind);
            assert_eq!(script.name, "fresh");
            assert!(script.enabled && script.valid);
        }
    }

    #[test]
    fn create_never_replaces() {
        let site = tempfile::tempdir().unwrap();
        assert_eq!(
            create(site.path(), "fresh", ScriptKind::Macro).unwrap(),
            "scripts/fresh.py"
        );
        assert!(matches!(
            create(site.path(), "fresh", ScriptKind::Transform),
            Err(CreateError::Exists(_))
        ));
        assert!(matches!(
            create(site.path(), "../up", ScriptKind::Macro),
            Err(CreateError::BadName(_))
        ));
    }
}
