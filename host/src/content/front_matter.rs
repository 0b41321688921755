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
            .map(|table| toml_to_json(toml::Value::Table(table)))?,
        Format::Yaml => {
            if raw.trim().is_empty() {
                Value::Object(Map::new())
            } else {
                if let Err(line) = yaml_flow_depth_ok(raw) {
                    return Err(Diagnostic::error(
                        file,
                        line + 1,
                        1,
                        format!(
                            "invalid YAML front matter: nested deeper than {MAX_YAML_DEPTH} levels"
                        ),
                    ));
                }
                serde_yaml_ng::from_str::<Value>(raw).map_err(|e| {
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

/// TOML values as JSON; dates and times become their TOML text.
fn toml_to_json(value: toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => Value::from(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => Value::Object(
            table
                .into_iter()
                .map(|(k, v)| (k, toml_to_json(v)))
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
/// text `raw` nest deeper than [`MAX_YAML_DEPTH`]. Quoted strings and
/// comments are skipped.
pub fn yaml_flow_depth_ok(raw: &str) -> Result<(), usize> {
    let mut depth = 0usize;
    let mut line = 1;
    let mut chars = raw.chars().peekable();
    let mut previous = '\n';
    while let Some(c) = chars.next() {
        match c {
            '\n' => line += 1,
            '#' if previous.is_whitespace() => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        line += 1;
                        break;
                    }
                }
            }
            '"' | '\'' => {
                while let Some(q) = chars.next() {
                    match q {
                        '\n' => line += 1,
                        '\\' if c == '"' => {
                            chars.next();
                        }
                        q if q == c => break,
                        _ => {}
                    }
                }
            }
            '[' | '{' => {
                depth += 1;
                if depth > MAX_YAML_DEPTH {
                    return Err(line);
                }
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        previous = c;
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
        let quoted = format!("title: \"{0}\"\nt: '{0}' # {0}\n", "[".repeat(500));
        assert_eq!(yaml_flow_depth_ok(&quoted), Ok(()));
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
