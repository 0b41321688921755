//! The modules a Python file imports, read from its text without running
//! it: what the site snapshot should hold, which library files a script's
//! results depend on, and which imports nothing can satisfy.
//!
//! A small lexer is enough: it follows strings (so a docstring that says
//! "import" is not an import), comments, brackets and continuation lines,
//! and splits the file into logical lines with their indentation. An
//! import inside a `try`, `except`, `if`, `elif` or `else` block is
//! *guarded*: the script may well do without it, so it is never reported
//! as missing.

/// One module an `import` statement names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    /// The absolute dotted name (a relative import is resolved against the
    /// file's package).
    pub module: String,
    /// For `from module import a, b`: `a` and `b`, each possibly a submodule.
    pub names: Vec<String>,
    /// 1-based line of the statement.
    pub line: u32,
    /// Inside a `try`/`except`/`if`/`elif`/`else` block.
    pub guarded: bool,
    /// Inside a function: it runs when the function is called, not when
    /// the module is imported.
    pub deferred: bool,
}

/// A statement-level line: its first physical line, indentation and text
/// (strings blanked to `''`, comments dropped, brackets joined).
struct LogicalLine {
    line: u32,
    indent: usize,
    text: String,
}

/// The imports of `source`, in order. `package` is the package a relative
/// import starts from (`None` for a top-level script, whose relative
/// imports are left out: Python refuses them too).
pub fn scan(source: &str, package: Option<&str>) -> Vec<Import> {
    let mut found = Vec::new();
    // Open blocks: their indentation, whether they guard what they hold and
    // whether they are a function's body.
    let mut blocks: Vec<(usize, bool, bool)> = Vec::new();
    for logical in logical_lines(source) {
        while blocks
            .last()
            .is_some_and(|(indent, _, _)| *indent >= logical.indent)
        {
            blocks.pop();
        }
        let mut guarded = blocks.iter().any(|(_, guard, _)| *guard);
        let mut deferred = blocks.iter().any(|(_, _, function)| *function);
        let text = logical.text.trim();
        let opener = block_keyword(text);
        for statement in text.split(';') {
            let mut statement = statement.trim();
            // `try: import x` on one line.
            if let Some(keyword) = block_keyword(statement)
                && let Some((_, rest)) = statement.split_once(':')
                && !rest.trim().is_empty()
            {
                guarded |= is_guard(keyword);
                deferred |= keyword == "def";
                statement = rest.trim();
            }
            let place = Place {
                line: logical.line,
                guarded,
                deferred,
            };
            statements(statement, package, place, &mut found);
        }
        if let Some(keyword) = opener
            && text.ends_with(':')
        {
            blocks.push((logical.indent, is_guard(keyword), keyword == "def"));
        }
    }
    found
}

fn block_keyword(text: &str) -> Option<&'static str> {
    const KEYWORDS: [&str; 11] = [
        "try", "except", "finally", "if", "elif", "else", "def", "class", "for", "while", "with",
    ];
    // `async def` is a function's body too; `async with`/`async for` guard
    // nothing, as their plain forms.
    let text = text
        .strip_prefix("async")
        .filter(|rest| rest.starts_with(char::is_whitespace))
        .map_or(text, str::trim_start);
    let word: &str = text
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .next()?;
    KEYWORDS.iter().find(|k| **k == word).copied()
}

fn is_guard(keyword: &str) -> bool {
    matches!(keyword, "try" | "except" | "if" | "elif" | "else")
}

/// Where a statement stands: its line and the blocks around it.
#[derive(Clone, Copy)]
struct Place {
    line: u32,
    guarded: bool,
    deferred: bool,
}

fn statements(statement: &str, package: Option<&str>, place: Place, found: &mut Vec<Import>) {
    let Place {
        line,
        guarded,
        deferred,
    } = place;
    if let Some(rest) = statement.strip_prefix("import")
        && rest.starts_with(char::is_whitespace)
    {
        for part in rest.split(',') {
            if let Some(module) = part.split_whitespace().next().filter(|m| is_dotted(m)) {
                found.push(Import {
                    module: module.to_owned(),
                    names: Vec::new(),
                    line,
                    guarded,
                    deferred,
                });
            }
        }
    } else if let Some(rest) = statement.strip_prefix("from")
        && rest.starts_with(char::is_whitespace)
    {
        // `from <module> import <names>`: the module is one token (dots and
        // a dotted name, `from .import x` has no space), then `import`.
        let rest = rest.trim_start();
        let dots = rest.len() - rest.trim_start_matches('.').len();
        let after_dots = &rest[dots..];
        let name_end = after_dots
            .find(|c: char| c.is_whitespace())
            .unwrap_or(after_dots.len());
        let dots_then_import = after_dots
            .strip_prefix("import")
            .filter(|names| names.starts_with(|c: char| c.is_whitespace() || c == '('));
        let (from, names) = if let Some(names) = dots_then_import.filter(|_| dots > 0) {
            (&rest[..dots], names)
        } else {
            let Some(names) = after_dots[name_end..].trim_start().strip_prefix("import") else {
                return;
            };
            (&rest[..dots + name_end], names)
        };
        if !names.starts_with(|c: char| c.is_whitespace() || c == '(') {
            return;
        }
        let Some(module) = absolute(from, package) else {
            return;
        };
        let names = names
            .trim()
            .trim_start_matches('(')
            .trim_end_matches(')')
            .split(',')
            .filter_map(|n| n.split_whitespace().next())
            .filter(|n| *n != "*" && is_dotted(n))
            .map(str::to_owned)
            .collect();
        found.push(Import {
            module,
            names,
            line,
            guarded,
            deferred,
        });
    }
}

/// `from`'s module made absolute: `.x` in package `a.b` is `a.b.x`.
fn absolute(from: &str, package: Option<&str>) -> Option<String> {
    let rest = from.trim_start_matches('.');
    let level = from.len() - rest.len();
    if !rest.is_empty() && !is_dotted(rest) {
        return None;
    }
    if level == 0 {
        return Some(rest.to_owned());
    }
    let mut base: Vec<&str> = package?.split('.').collect();
    for _ in 1..level {
        base.pop()?;
    }
    // A package's own name is never empty: an `__init__.py` right in
    // scripts/lib/ is no package.
    if base.is_empty() || base.iter().any(|part| part.is_empty()) {
        return None;
    }
    if !rest.is_empty() {
        base.push(rest);
    }
    Some(base.join("."))
}

fn is_dotted(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|part| {
            part.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
                && part.chars().all(|c| c.is_alphanumeric() || c == '_')
        })
}

fn logical_lines(source: &str) -> Vec<LogicalLine> {
    let chars: Vec<char> = source.chars().collect();
    let mut lines = Vec::new();
    let mut text = String::new();
    let mut line = 1u32;
    let mut start = 1u32;
    let mut indent = 0usize;
    let mut depth = 0usize;
    let mut at_start = true;
    let mut i = 0;
    let finish = |text: &mut String, lines: &mut Vec<LogicalLine>, start, indent| {
        if !text.trim().is_empty() {
            lines.push(LogicalLine {
                line: start,
                indent,
                text: std::mem::take(text),
            });
        }
        text.clear();
    };
    while i < chars.len() {
        if at_start {
            at_start = false;
            let mut width = 0;
            while i < chars.len() && matches!(chars[i], ' ' | '\t' | '\x0c') {
                width += if chars[i] == '\t' { 8 - width % 8 } else { 1 };
                i += 1;
            }
            indent = width;
            start = line;
            continue;
        }
        let c = chars[i];
        match c {
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '\'' | '"' => {
                let triple = i + 2 < chars.len() && chars[i + 1] == c && chars[i + 2] == c;
                i += if triple { 3 } else { 1 };
                while i < chars.len() {
                    match chars[i] {
                        // In every kind of string a backslash keeps the next
                        // character from ending it.
                        '\\' => {
                            if chars.get(i + 1) == Some(&'\n') {
                                line += 1;
                            }
                            i += 2;
                            continue;
                        }
                        '\n' if !triple => break,
                        '\n' => line += 1,
                        q if q == c
                            && (!triple
                                || (chars.get(i + 1) == Some(&c)
                                    && chars.get(i + 2) == Some(&c))) =>
                        {
                            i += if triple { 3 } else { 1 };
                            break;
                        }
                        _ => {}
                    }
                    i += 1;
                }
                text.push_str("''");
                continue;
            }
            '\\' if chars.get(i + 1) == Some(&'\n') => {
                line += 1;
                i += 2;
                text.push(' ');
                continue;
            }
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            '\n' => {
                line += 1;
                i += 1;
                if depth > 0 {
                    text.push(' ');
                } else {
                    finish(&mut text, &mut lines, start, indent);
                    at_start = true;
                }
                continue;
            }
            _ => {}
        }
        text.push(c);
        i += 1;
    }
    finish(&mut text, &mut lines, start, indent);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modules(source: &str) -> Vec<(String, u32, bool)> {
        scan(source, None)
            .into_iter()
            .map(|i| (i.module, i.line, i.guarded))
            .collect()
    }

    #[test]
    fn imports_in_functions_are_deferred_and_classes_are_not() {
        let source = "import top
class A:
    import in_class
    def m(self):
                              import in_method
async def f():
    import in_async
                      def g(): import one_line
import after
";
        let found: Vec<(String, bool)> = scan(source, None)
            .into_iter()
            .map(|i| (i.module, i.deferred))
            .collect();
        assert_eq!(
            found,
            [
                ("top".into(), false),
                ("in_class".into(), false),
                ("in_method".into(), true),
                ("in_async".into(), true),
                ("one_line".into(), true),
                ("after".into(), false),
            ]
        );
    }

    #[test]
    fn every_form_of_import_is_found_with_its_line() {
        let source = "\"\"\"\n---\nname: x\n---\nimport this is not code\n\"\"\"\n\
                      import json, xml.etree.ElementTree as ET\n\
                      from html import escape\n\
                      from helpers.text import (\n    slug,\n    title as t,\n)\n\
                      x = 1; import re\n\
                      s = 'import nothing'  # import nor this\n\
                      def render(ctx):\n    import tomllib\n    return ''\n";
        assert_eq!(
            modules(source),
            vec![
                ("json".into(), 7, false),
                ("xml.etree.ElementTree".into(), 7, false),
                ("html".into(), 8, false),
                ("helpers.text".into(), 9, false),
                ("re".into(), 13, false),
                ("tomllib".into(), 16, false),
            ]
        );
        let from = &scan(source, None)[3];
        assert_eq!(from.names, ["slug", "title"]);
        // A module whose name starts with `import`.
        let found = scan(
            "from importlib import import_module\nfrom important import x\n",
            None,
        );
        let found: Vec<(&str, &[String])> = found
            .iter()
            .map(|i| (i.module.as_str(), i.names.as_slice()))
            .collect();
        assert_eq!(
            found,
            [
                ("importlib", &["import_module".to_owned()][..]),
                ("important", &["x".to_owned()][..])
            ]
        );
    }

    #[test]
    fn imports_in_try_or_if_blocks_are_guarded() {
        let source = "try:\n    import tomllib\nexcept ImportError:\n    import tomli as tomllib\n\
                      if False:\n    import nothing\nelse:\n    pass\n\
                      import after\n\
                      def f():\n    try: import inner\n    except Exception: pass\n    import plain\n";
        assert_eq!(
            modules(source),
            vec![
                ("tomllib".into(), 2, true),
                ("tomli".into(), 4, true),
                ("nothing".into(), 6, true),
                ("after".into(), 9, false),
                ("inner".into(), 11, true),
                ("plain".into(), 13, false),
            ]
        );
    }

    #[test]
    fn relative_imports_start_from_the_package() {
        let found = scan(
            "from . import a\nfrom .b import c\nfrom ..d import e\nfrom .import f\n\
             from .g import(h)\nfrom .importer import i\n",
            Some("pkg.sub"),
        );
        let found: Vec<_> = found.iter().map(|i| i.module.as_str()).collect();
        assert_eq!(
            found,
            [
                "pkg.sub",
                "pkg.sub.b",
                "pkg.d",
                "pkg.sub",
                "pkg.sub.g",
                "pkg.sub.importer"
            ]
        );
        assert!(scan("from . import a\n", None).is_empty());
        assert!(scan("from . import a\n", Some("")).is_empty());
    }

    #[test]
    fn strings_that_span_lines_keep_line_numbers_right() {
        let source = "x = '''\nimport a\n'''\ny = \"a\\\nb\"\nimport real\n";
        assert_eq!(modules(source), vec![("real".into(), 6, false)]);
    }
}
