//! Writing a post back after a transform changed it.
//!
//! People keep their posts in git and read the diffs, so the rewrite is as
//! small as the change: front matter the transform left alone keeps every
//! byte, a changed field is rewritten in the file's own format (TOML stays
//! TOML, YAML stays YAML) at its own place, removed fields go, new fields
//! are appended. Every rewrite is read back and compared with what the
//! transform asked for before anyone writes it.

use super::front_matter::{self, Format};
use crate::diagnostics::Diagnostic;
use serde_json::{Map, Value};

/// The text of the file at `path`, now `text`, with `fields` as its front
/// matter and `body` after it.
pub fn rewrite(
    path: &str,
    text: &str,
    fields: &Map<String, Value>,
    body: &str,
) -> Result<String, Diagnostic> {
    let split = front_matter::split(path, text)?;
    let head = match &split.front {
        Some(front) if split.fields == *fields => text[..front.body_start].to_owned(),
        None if fields.is_empty() => text[..text.len() - split.body.len()].to_owned(),
        Some(front) => {
            let raw = &text[front.raw.clone()];
            let edited = match front.format {
                Format::Toml => edit_toml(raw, &split.fields, fields),
                Format::Yaml => edit_yaml(raw, &split.fields, fields)
                    .filter(|edited| reads_as(edited, Format::Yaml, fields))
                    .map_or_else(|| whole_yaml(fields, line_ending(raw)), Ok),
            }
            .map_err(|message| cannot(path, message))?;
            format!(
                "{}{}{}",
                &text[..front.raw.start],
                edited,
                &text[front.raw.end..front.body_start]
            )
        }
        // A file without front matter gets TOML, as `host init` writes.
        None => format!(
            "+++\n{}+++\n",
            edit_toml("", &Map::new(), fields).map_err(|message| cannot(path, message))?
        ),
    };
    let rewritten = format!("{head}{body}");
    let check = front_matter::split(path, &rewritten).map_err(|d| cannot(path, d.message))?;
    if check.fields != *fields || check.body != body {
        return Err(cannot(
            path,
            "the rewritten file does not read back as the transform's result".into(),
        ));
    }
    Ok(rewritten)
}

fn cannot(path: &str, message: String) -> Diagnostic {
    Diagnostic::error(
        path,
        1,
        1,
        format!("cannot write the transform's front matter: {message}"),
    )
}

fn reads_as(raw: &str, format: Format, fields: &Map<String, Value>) -> bool {
    front_matter::parse("", raw, format).is_ok_and(|read| read == *fields)
}

fn line_ending(raw: &str) -> &'static str {
    if raw.contains("\r\n") { "\r\n" } else { "\n" }
}

/// TOML through `toml_edit`, which keeps the decor (comments, spacing,
/// order) of every item it is not asked to change.
/// `old` is what `raw` reads as.
fn edit_toml(
    raw: &str,
    old: &Map<String, Value>,
    fields: &Map<String, Value>,
) -> Result<String, String> {
    let mut doc: toml_edit::DocumentMut = raw.parse().map_err(|e| format!("{e}"))?;
    let table = doc.as_table_mut();
    let stale: Vec<String> = table
        .iter()
        .map(|(k, _)| k.to_owned())
        .filter(|k| !fields.contains_key(k))
        .collect();
    for key in stale {
        table.remove(&key);
    }
    for (key, value) in fields {
        if old.get(key) == Some(value) {
            continue;
        }
        let was_datetime = table
            .get(key)
            .and_then(|item| item.as_value())
            .is_some_and(|v| v.is_datetime());
        let item = toml_item(value, was_datetime, table.get(key))?;
        match table.get_mut(key) {
            // Same shape: in place, keeping the key's decor.
            Some(slot) if slot.is_table() == item.is_table() => *slot = item,
            // A table becomes a value or the other way: the key's decor
            // belongs to the old shape (`[b]` has none around `=`).
            Some(_) => {
                table.remove(key);
                table.insert(key, item);
            }
            None => {
                table.insert(key, item);
            }
        }
    }
    Ok(doc.to_string())
}

/// `value` as a TOML item in the place of `old`: a table stays a table, a
/// date stays a date, a comment after the value stays.
fn toml_item(
    value: &Value,
    was_datetime: bool,
    old: Option<&toml_edit::Item>,
) -> Result<toml_edit::Item, String> {
    if let Value::String(s) = value
        && was_datetime
        && let Ok(date) = s.parse::<toml_edit::Datetime>()
    {
        return Ok(keep_decor(toml_edit::Item::Value(date.into()), old));
    }
    let converted = toml_value(value)?;
    let item = match converted {
        toml_edit::Value::InlineTable(inline)
            if old.is_none_or(|o| o.is_table())
                && !matches!(old, Some(o) if o.is_inline_table()) =>
        {
            toml_edit::Item::Table(inline.into_table())
        }
        other => toml_edit::Item::Value(other),
    };
    Ok(keep_decor(item, old))
}

fn keep_decor(mut item: toml_edit::Item, old: Option<&toml_edit::Item>) -> toml_edit::Item {
    if let (Some(new), Some(old)) = (item.as_value_mut(), old.and_then(|o| o.as_value())) {
        *new.decor_mut() = old.decor().clone();
    }
    if let (Some(new), Some(old)) = (item.as_table_mut(), old.and_then(|o| o.as_table())) {
        *new.decor_mut() = old.decor().clone();
        if let Some(position) = old.position() {
            new.set_position(position);
        }
    }
    item
}

fn toml_value(value: &Value) -> Result<toml_edit::Value, String> {
    Ok(match value {
        Value::Null => return Err("TOML has no null; remove the field instead".into()),
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.into(),
            (None, Some(f)) => f.into(),
            _ => return Err(format!("{n} does not fit in TOML")),
        },
        Value::String(s) => s.as_str().into(),
        Value::Array(items) => {
            let mut array = toml_edit::Array::new();
            for item in items {
                array.push(toml_value(item)?);
            }
            array.into()
        }
        Value::Object(map) => {
            let mut table = toml_edit::InlineTable::new();
            for (k, v) in map {
                table.insert(k, toml_value(v)?);
            }
            table.into()
        }
    })
}

/// A top-level YAML key and the lines its value spans.
struct Block {
    key: String,
    lines: std::ops::Range<usize>,
}

/// YAML by top-level blocks: a block is a key at the start of a line and
/// the indented lines under it. Blocks of unchanged keys keep their bytes.
/// `None` when the layout is not one this can follow (the caller then
/// writes the whole front matter).
fn edit_yaml(raw: &str, old: &Map<String, Value>, fields: &Map<String, Value>) -> Option<String> {
    let lines: Vec<&str> = raw.split_inclusive('\n').collect();
    let blocks = yaml_blocks(&lines)?;
    let eol = line_ending(raw);
    let mut out = String::with_capacity(raw.len());
    let mut at = 0;
    for block in &blocks {
        out.extend(lines[at..block.lines.start].iter().copied());
        match fields.get(&block.key) {
            Some(value) if old.get(&block.key) == Some(value) => {
                out.extend(lines[block.lines.clone()].iter().copied());
            }
            Some(value) => out.push_str(&yaml_entry(&block.key, value, eol)?),
            None => {}
        }
        at = block.lines.end;
    }
    out.extend(lines[at..].iter().copied());
    for (key, value) in fields.iter().filter(|(k, _)| !old.contains_key(*k)) {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push_str(eol);
        }
        out.push_str(&yaml_entry(key, value, eol)?);
    }
    Some(out)
}

fn yaml_blocks(lines: &[&str]) -> Option<Vec<Block>> {
    let mut blocks: Vec<Block> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let blank = line.trim().is_empty();
        let indented = !blank && line.starts_with([' ', '\t', '-']);
        if blank || indented {
            // A blank line belongs to a block when the block goes on after
            // it (as in a block scalar with an empty line).
            let goes_on = indented
                || lines[i..]
                    .iter()
                    .find(|l| !l.trim().is_empty())
                    .is_some_and(|l| l.starts_with([' ', '\t', '-']));
            match blocks.last_mut() {
                Some(last) if last.lines.end == i && goes_on => last.lines.end = i + 1,
                _ if indented => return None,
                _ => {}
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (key, _) = line.split_once(':')?;
        let key = key.trim();
        let key = key
            .strip_prefix('"')
            .and_then(|k| k.strip_suffix('"'))
            .or_else(|| key.strip_prefix('\'').and_then(|k| k.strip_suffix('\'')))
            .unwrap_or(key);
        if key.is_empty() || key.starts_with(['{', '[', '?', '&', '*', '!']) {
            return None;
        }
        if blocks.iter().any(|b| b.key == key) {
            return None;
        }
        blocks.push(Block {
            key: key.to_owned(),
            lines: i..i + 1,
        });
    }
    Some(blocks)
}

fn yaml_entry(key: &str, value: &Value, eol: &str) -> Option<String> {
    let mut one = Map::new();
    one.insert(key.to_owned(), value.clone());
    let text = serde_yaml_ng::to_string(&one).ok()?;
    Some(if eol == "\n" {
        text
    } else {
        text.replace('\n', eol)
    })
}

fn whole_yaml(fields: &Map<String, Value>, eol: &str) -> Result<String, String> {
    if fields.is_empty() {
        return Ok(String::new());
    }
    let text = serde_yaml_ng::to_string(fields).map_err(|e| e.to_string())?;
    Ok(if eol == "\n" {
        text
    } else {
        text.replace('\n', eol)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(text: &str) -> Map<String, Value> {
        front_matter::split("p.md", text).unwrap().fields
    }

    fn with(text: &str, change: impl FnOnce(&mut Map<String, Value>)) -> Map<String, Value> {
        let mut f = fields(text);
        change(&mut f);
        f
    }

    #[test]
    fn a_body_change_keeps_the_front_matter_bytes() {
        let text = "+++\ntitle   =  'A'   # spaced\n[extra]\nx=1\n+++\nold body\n";
        let out = rewrite("p.md", text, &fields(text), "new body\n").unwrap();
        assert_eq!(
            out,
            "+++\ntitle   =  'A'   # spaced\n[extra]\nx=1\n+++\nnew body\n"
        );
    }

    #[test]
    fn toml_changes_only_the_changed_key_in_place() {
        let text = "+++\n# the title\ntitle = \"A\" # keep me\ndate = 2024-01-02\ntags = [\"x\"]\n\n[extra]\nmood = \"ok\"\n+++\nBody\n";
        let f = with(text, |f| {
            f.insert("title".into(), json!("B"));
            f.insert("date".into(), json!("2024-03-04"));
            f.insert("summary".into(), json!("new"));
            f.remove("tags");
        });
        let out = rewrite("p.md", text, &f, "Body\n").unwrap();
        assert_eq!(
            out,
            "+++\n# the title\ntitle = \"B\" # keep me\ndate = 2024-03-04\nsummary = \"new\"\n\n[extra]\nmood = \"ok\"\n+++\nBody\n"
        );
    }

    #[test]
    fn toml_tables_stay_tables() {
        let text = "+++\ntitle = \"A\"\n[extra]\nmood = \"ok\"\n+++\n";
        let f = with(text, |f| {
            f.insert("extra".into(), json!({"mood": "great", "n": 2}));
        });
        let out = rewrite("p.md", text, &f, "").unwrap();
        assert_eq!(
            out,
            "+++\ntitle = \"A\"\n[extra]\nmood = \"great\"\nn = 2\n+++\n"
        );
    }

    #[test]
    fn a_toml_table_that_becomes_a_value_is_written_as_one() {
        let text = "+++\ntitle = \"A\"\n\n[extra]\nx = 1\n+++\n";
        let f = with(text, |f| {
            f.insert("extra".into(), json!(false));
        });
        let out = rewrite("p.md", text, &f, "").unwrap();
        assert_eq!(out, "+++\ntitle = \"A\"\nextra = false\n+++\n");
    }

    #[test]
    fn yaml_keeps_order_comments_and_untouched_blocks() {
        let text = "---\ntitle: A   # spaced\n# about tags\ntags:\n  - x\n  - y\ndate: 2024-01-02\nextra:\n  mood: ok\n---\nBody\n";
        let f = with(text, |f| {
            f.insert("tags".into(), json!(["x", "y", "z"]));
            f.insert("draft".into(), json!(true));
            f.remove("date");
        });
        let out = rewrite("p.md", text, &f, "Body\n").unwrap();
        assert_eq!(
            out,
            "---\ntitle: A   # spaced\n# about tags\ntags:\n- x\n- y\n- z\nextra:\n  mood: ok\ndraft: true\n---\nBody\n"
        );
    }

    #[test]
    fn yaml_with_crlf_stays_crlf() {
        let text = "---\r\ntitle: A\r\ndraft: false\r\n---\r\nBody\r\n";
        let f = with(text, |f| {
            f.insert("draft".into(), json!(true));
        });
        let out = rewrite("p.md", text, &f, "Body\r\n").unwrap();
        assert_eq!(out, "---\r\ntitle: A\r\ndraft: true\r\n---\r\nBody\r\n");
    }

    #[test]
    fn yaml_block_scalars_move_as_a_whole() {
        let text = "---\nsummary: |\n  one\n\n  two\ntitle: A\n---\n";
        let f = with(text, |f| {
            f.insert("title".into(), json!("B"));
        });
        let out = rewrite("p.md", text, &f, "").unwrap();
        assert_eq!(out, "---\nsummary: |\n  one\n\n  two\ntitle: B\n---\n");
    }

    #[test]
    fn a_file_without_front_matter_gets_toml() {
        let mut f = Map::new();
        f.insert("title".into(), json!("T"));
        let out = rewrite("p.md", "Just text\n", &f, "Just text\n").unwrap();
        assert_eq!(out, "+++\ntitle = \"T\"\n+++\nJust text\n");
    }

    #[test]
    fn values_toml_cannot_hold_are_refused() {
        let text = "+++\ntitle = \"A\"\n+++\n";
        let f = with(text, |f| {
            f.insert("extra".into(), json!({"gone": null}));
        });
        let err = rewrite("p.md", text, &f, "").unwrap_err();
        assert!(err.message.contains("no null"), "{err}");
    }
}
