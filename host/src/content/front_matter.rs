//! Splitting a Markdown file into front matter and body, and parsing the
//! front matter (TOML between `+++` lines or YAML between `---` lines).

use crate::diagnostics::Diagnostic;
use crate::diagnostics::line_col;
use serde_json::{Map, Value};

/// A file split at its front matter.
#[derive(Debug, PartialEq)]
pub struct Split<'a> {
    /// The front matter as a JSON object (empty when the file has none).
    pub fields: Map<String, Value>,
    /// The Markdown after the closing delimiter.
    pub body: &'a str,
    /// 1-based line of the file on which `body` starts.
    pub body_line: usize,
    /// Where the front matter is, when the file has one.
    pub front: Option<Front>,
}

/// The front matter's place in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Front {
    /// TOML or YAML.
    pub format: Format,
    /// Byte range of the text between the delimiter lines.
    pub raw: std::ops::Range<usize>,
    /// Byte offset at which the body starts.
    pub body_start: usize,
}

/// Split `text` (the contents of `file`) into front matter and body.
pub fn split<'a>(file: &str, text: &'a str) -> Result<Split<'a>, Diagnostic> {
    let full = text;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let bom = full.len() - text.len();
    let first = text.lines().next().unwrap_or("").trim_end();
    let (delimiter, format) = match first {
        "+++" => ("+++", Format::Toml),
        "---" => ("---", Format::Yaml),
        _ => {
            return Ok(Split {
                fields: Map::new(),
                body: text,
                body_line: 1,
                front: None,
            });
        }
    };
    let mut offset = first_line_len(text);
    let start = offset;
    let mut line = 2;
    loop {
        if offset >= text.len() {
            return Err(Diagnostic::error(
                file,
                1,
                1,
                format!("front matter opened with `{delimiter}` is never closed"),
            ));
        }
        let rest = &text[offset..];
        let len = first_line_len(rest);
        if rest[..len].trim_end() == delimiter {
            let raw = &text[start..offset];
            let fields = parse(file, raw, format)?;
            return Ok(Split {
                fields,
                body: &text[offset + len..],
                body_line: line + 1,
                front: Some(Front {
                    format,
                    raw: bom + start..bom + offset,
                    body_start: bom + offset + len,
                }),
            });
        }
        offset += len;
        line += 1;
    }
}

fn first_line_len(text: &str) -> usize {
    text.find('\n').map_or(text.len(), |i| i + 1)
}

/// A front matter format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// TOML between `+++` lines.
    Toml,
    /// YAML between `---` lines.
    Yaml,
}

/// Parse `raw` front matter of `file`.
pub fn parse(file: &str, raw: &str, format: Format) -> Result<Map<String, Value>, Diagnostic> {
    // Front matter starts on line 2 of the file.
    let value = match format {
        Format::Toml if toml_depth_ok(raw).is_err() => {
            return Err(Diagnostic::error(
                file,
                toml_depth_ok(raw).err().unwrap_or(0) + 1,
                1,
                format!("invalid TOML front matter: nested deeper than {MAX_YAML_DEPTH} levels"),
            ));
        }
        Format::Toml => toml::from_str::<toml::Table>(raw)
            .map_err(|e| {
                let (line, column) = e
                    .span()
                    .map(|span| line_col(raw, span.start))
                    .unwrap_or((0, 0));
                Diagnostic::error(
                    file,
                    line + 1,
                    column,
                    format!("invalid TOML front matter: {}", e.message()),
                )
            })
            .and_then(|table| {
                toml_to_json(toml::Value::Table(table)).map_err(|depth| {
                    Diagnostic::error(
                        file,
                        2,
                        1,
                        format!("invalid TOML front matter: nested {depth} levels deep, past {MAX_YAML_DEPTH}"),
                    )
                })
            })?,
        Format::Yaml => {
            if raw.trim().is_empty() {
                Value::Object(Map::new())
            } else {
                yaml_depth_checked(file, raw)?;
                super::yaml_budget::from_str(raw).map_err(|e| {
                    let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
                    let message = e.to_string();
                    let message = message.split(" at line ").next().unwrap_or(&message);
                    Diagnostic::error(
                        file,
                        line + 1,
                        column,
                        format!("invalid YAML front matter: {message}"),
                    )
                })?
            }
        }
    };
    match value {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        other => Err(Diagnostic::error(
            file,
            2,
            1,
            format!(
                "front matter must be a table of fields, found {}",
                kind(&other)
            ),
        )),
    }
}

/// The error for YAML front matter `raw` (of `file`) that may nest deeper
/// than [`MAX_YAML_DEPTH`], at its line in the file.
pub fn yaml_depth_checked(file: &str, raw: &str) -> Result<(), Diagnostic> {
    yaml_flow_depth_ok(raw).map_err(|line| {
        Diagnostic::error(
            file,
            line + 1,
            1,
            format!("invalid YAML front matter: nested deeper than {MAX_YAML_DEPTH} levels"),
        )
    })
}

/// `Err(line)` (1-based, within `raw`) where the TOML text `raw` may nest
/// values deeper than [`MAX_YAML_DEPTH`], counted before parsing: the
/// parser recurses once per level, and dotted keys inside inline tables
/// reach thousands of levels in a few kilobytes. A bound, not the exact
/// depth: each open bracket counts one level plus the dots of the key it
/// is the value of, and a table header its dots; strings and comments are
/// skipped.
pub fn toml_depth_ok(raw: &str) -> Result<(), usize> {
    let mut line = 1;
    let mut header = 0usize;
    let mut open: Vec<usize> = Vec::new();
    let mut key_dots = 0usize;
    let mut value_dots = 0usize;
    let mut at_line_start = true;
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        let starts_line = std::mem::replace(&mut at_line_start, false);
        match c {
            '\n' => {
                line += 1;
                at_line_start = true;
                key_dots = 0;
                value_dots = 0;
            }
            ' ' | '\t' | '\r' => at_line_start = starts_line,
            '#' => {
                while chars.peek().is_some_and(|c| *c != '\n') {
                    chars.next();
                }
            }
            '"' | '\'' => line += skip_toml_string(c, &mut chars),
            '[' if starts_line && open.is_empty() => {
                // A table header: its dots nest the keys below it.
                header = 1;
                for c in chars.by_ref() {
                    match c {
                        '.' => header += 1,
                        ']' | '\n' => break,
                        _ => {}
                    }
                }
                if header > MAX_YAML_DEPTH {
                    return Err(line);
                }
            }
            '.' => key_dots += 1,
            '=' => {
                value_dots = key_dots;
                key_dots = 0;
                if header + open.iter().sum::<usize>() + value_dots > MAX_YAML_DEPTH {
                    return Err(line);
                }
            }
            '[' | '{' => {
                open.push(value_dots + 1);
                value_dots = 0;
                key_dots = 0;
                if header + open.iter().sum::<usize>() > MAX_YAML_DEPTH {
                    return Err(line);
                }
            }
            ']' | '}' => {
                open.pop();
            }
            ',' => {
                key_dots = 0;
                value_dots = 0;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Skip the TOML string that `quote` opened (basic or literal, one line or
/// three quotes); the newlines it held.
fn skip_toml_string(quote: char, chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> usize {
    let mut newlines = 0;
    let triple = {
        let mut ahead = chars.clone();
        ahead.next() == Some(quote) && ahead.next() == Some(quote)
    };
    if triple {
        chars.next();
        chars.next();
    }
    let mut run = 0;
    while let Some(c) = chars.next() {
        match c {
            '\\' if quote == '"' => {
                if chars.next() == Some('\n') {
                    newlines += 1;
                }
                run = 0;
            }
            '\n' => {
                newlines += 1;
                run = 0;
                if !triple {
                    break;
                }
            }
            c if c == quote => {
                run += 1;
                if !triple || run == 3 {
                    break;
                }
            }
            _ => run = 0,
        }
    }
    newlines
}

/// TOML values as JSON, dates and times as their TOML text; `Err(depth)`
/// when the value nests deeper than [`MAX_YAML_DEPTH`] (dotted keys inside
/// inline tables reach thousands of levels, which would exhaust the stack of
/// whatever walks them recursively).
pub fn toml_to_json(value: toml::Value) -> Result<Value, usize> {
    let depth = toml_depth(&value);
    if depth > MAX_YAML_DEPTH {
        return Err(depth);
    }
    Ok(toml_to_json_within(value))
}

/// How deep `value` nests, counted without recursion.
fn toml_depth(value: &toml::Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 1usize)];
    while let Some((value, depth)) = stack.pop() {
        deepest = deepest.max(depth);
        match value {
            toml::Value::Array(items) => stack.extend(items.iter().map(|v| (v, depth + 1))),
            toml::Value::Table(table) => stack.extend(table.values().map(|v| (v, depth + 1))),
            _ => {}
        }
    }
    deepest
}

/// [`toml_to_json`] of a value known to nest no deeper than the cap.
fn toml_to_json_within(value: toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => Value::from(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => {
            Value::Array(items.into_iter().map(toml_to_json_within).collect())
        }
        toml::Value::Table(table) => Value::Object(
            table
                .into_iter()
                .map(|(k, v)| (k, toml_to_json_within(v)))
                .collect(),
        ),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a table",
    }
}

/// Deepest `[`/`{` nesting YAML front matter may have. The YAML parser
/// refuses deeper documents anyway, but only after a time that grows with
/// the square of the depth (seconds for a few kilobytes of `[`).
pub const MAX_YAML_DEPTH: usize = 128;

/// `Err(line)` (1-based, within `raw`) where flow collections in the YAML
/// text `raw` may nest deeper than [`MAX_YAML_DEPTH`]. Every bracket
/// counts, in strings and comments too: telling those apart would take a
/// YAML lexer (an apostrophe in `it's` is no quote), and counting them all
/// can only refuse more (a string of 129 unmatched `[`), never less.
pub fn yaml_flow_depth_ok(raw: &str) -> Result<(), usize> {
    let mut depth = 0usize;
    let mut line = 1;
    for c in raw.chars() {
        match c {
            '\n' => line += 1,
            '[' | '{' => {
                depth += 1;
                if depth > MAX_YAML_DEPTH {
                    return Err(line);
                }
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_front_matter() {
        let split = split("a.md", "+++\ntitle = \"A\"\ntags = [\"x\"]\n+++\nBody\n").unwrap();
        assert_eq!(split.fields["title"], "A");
        assert_eq!(split.body, "Body\n");
        assert_eq!(split.body_line, 5);
    }

    #[test]
    fn yaml_front_matter_with_crlf() {
        let split = split("a.md", "---\r\ntitle: A\r\n---\r\nBody\r\n").unwrap();
        assert_eq!(split.fields["title"], "A");
        assert_eq!(split.body, "Body\r\n");
        assert_eq!(split.body_line, 4);
    }

    #[test]
    fn no_front_matter() {
        let split = split("a.md", "# Just text\n").unwrap();
        assert!(split.fields.is_empty());
        assert_eq!(split.body_line, 1);
    }

    #[test]
    fn errors_name_the_line() {
        let error = split("a.md", "+++\ntitle = \"A\"\ndate = \n+++\n").unwrap_err();
        assert_eq!((error.file.as_str(), error.line), ("a.md", 3), "{error}");
        let error = split("b.md", "---\ntitle: A\ntags: [x\n---\n").unwrap_err();
        assert_eq!(error.file, "b.md");
        assert!(error.line >= 3, "{error}");
        let error = split("c.md", "---\ntitle: A\n").unwrap_err();
        assert!(error.message.contains("never closed"), "{error}");
        let error = split("d.md", "---\n- a\n- b\n---\n").unwrap_err();
        assert!(error.message.contains("a list"), "{error}");
    }

    #[test]
    fn deep_yaml_nesting_is_refused_before_parsing() {
        let deep = format!("title: A\nx: {}\n", "[".repeat(MAX_YAML_DEPTH + 1));
        assert_eq!(yaml_flow_depth_ok(&deep), Err(2));
        let dotted = format!("x = {}1{}\n", "{ k.k.k.k = ".repeat(40), " }".repeat(40));
        assert_eq!(toml_depth_ok(&dotted), Err(1), "dots count as levels");
        let fine = "a = \"x.y.z [[[{\"\nb = '''\n{{{{\n'''\n[t.u]\nc.d = [1.5, 2.5] # {{{\n";
        assert_eq!(toml_depth_ok(fine), Ok(()));
        let header = format!("[{}]\n", vec!["k"; MAX_YAML_DEPTH + 1].join("."));
        assert_eq!(toml_depth_ok(&header), Err(1));
        // Brackets in strings count too: an apostrophe is no quote to skip by.
        let apostrophe = format!("a: it's\nb: {}\n", "[".repeat(MAX_YAML_DEPTH + 1));
        assert_eq!(yaml_flow_depth_ok(&apostrophe), Err(2));
        let balanced = format!("title: \"{0}{1}\"\n", "[".repeat(100), "]".repeat(100));
        assert_eq!(yaml_flow_depth_ok(&balanced), Ok(()));
        let error = split("a.md", &format!("---\n{deep}---\n")).unwrap_err();
        assert_eq!(error.line, 3, "{error}");
        assert!(error.message.contains("nested deeper than 128"), "{error}");
    }

    #[test]
    fn line_and_column() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("ab", 0), (1, 1));
    }
}
