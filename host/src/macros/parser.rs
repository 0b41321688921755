//! The macro syntax of posts (see `docs/macros.md`):
//!
//! - `{{< name arg="text" n=3 flag=true >}}`, positional args allowed;
//! - `{{< name >}}body{{< /name >}}`, the body passed raw;
//! - `{{</* name */>}}` prints the macro text itself;
//! - `py:name` and `builtin:name` force a side;
//! - never expanded in code spans or code blocks.
//!
//! Every call knows its file, line and column.

use crate::diagnostics::Diagnostic;
use crate::macros::is_name;
use pulldown_cmark::{Event, Options, Parser, Tag};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::ops::Range;

/// Most macro calls expanded in one page; past it the text stays as is.
pub const MAX_MACROS_PER_PAGE: usize = 10_000;
/// Largest text between `{{<` and `>}}`: the name and arguments.
pub const MAX_TAG_BYTES: usize = 64 << 10;
/// Most arguments (named and positional) of one call.
pub const MAX_ARGS: usize = 256;
/// Largest body of a paired macro.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Which side a macro name was forced to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Namespace {
    /// `builtin:name`
    Builtin,
    /// `py:name`
    Python,
}

/// One macro invocation in a page.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// A forced side, if any.
    pub namespace: Option<Namespace>,
    /// The name, without namespace.
    pub name: String,
    /// Named arguments.
    pub args: Map<String, Value>,
    /// Positional arguments.
    pub positional: Vec<Value>,
    /// The raw body of a paired macro.
    pub body: Option<String>,
    /// File line on which the body starts.
    pub body_line: usize,
    /// File line of the opening `{{<`.
    pub line: usize,
    /// Column (in characters, 1-based) of the opening `{{<`.
    pub column: usize,
    /// The macro as written (for markers and messages).
    pub source: String,
}

impl Call {
    /// `name` as written, with its namespace.
    pub fn display_name(&self) -> String {
        match self.namespace {
            Some(Namespace::Builtin) => format!("builtin:{}", self.name),
            Some(Namespace::Python) => format!("py:{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// A piece of a page body.
#[derive(Clone, Debug, PartialEq)]
pub enum Segment {
    /// Markdown, untouched.
    Text(String),
    /// A macro call.
    Macro(Call),
    /// Text to show as is (an escaped macro).
    Literal(String),
    /// A malformed macro: shown in the page as a marker, reported.
    Broken {
        /// The text as written.
        source: String,
        /// What is wrong with it, with its position.
        diagnostic: Diagnostic,
    },
}

/// Split `body` (of `file`, starting on file line `body_line`) into text and
/// macros.
pub fn parse(file: &str, body: &str, body_line: usize) -> Vec<Segment> {
    let code = code_ranges(body);
    let pairs = Pairs::index(body, &code);
    let locator = Locator::new(body, body_line);
    let mut segments = Vec::new();
    let mut text_start = 0;
    let mut at = 0;
    let mut calls = 0;
    while let Some(found) = body[at..].find("{{<") {
        let start = at + found;
        if let Some(range) = code_range_at(&code, start) {
            at = range.end.max(start + 3);
            continue;
        }
        let (line, column) = locator.locate(start);
        let error = |len: usize, message: String| Segment::Broken {
            source: body[start..start + len].to_owned(),
            diagnostic: Diagnostic::error(file, line, column, message),
        };
        if calls == MAX_MACROS_PER_PAGE {
            push_text(&mut segments, &body[text_start..start]);
            segments.push(error(
                3,
                format!(
                    "more than {MAX_MACROS_PER_PAGE} macros in one page; the rest are left as text"
                ),
            ));
            text_start = start + 3;
            break;
        }
        calls += 1;
        if body[start + 3..].starts_with("/*") {
            push_text(&mut segments, &body[text_start..start]);
            match escaped(body, start) {
                Some((literal, end)) => {
                    segments.push(Segment::Literal(literal));
                    text_start = end;
                }
                None => {
                    let message = "escaped macro `{{</*` is never closed with `*/>}}`";
                    segments.push(error(3, message.into()));
                    text_start = start + 3;
                }
            }
            at = text_start;
            continue;
        }
        let Some(close) = find_tag_end(&body[start + 3..]) else {
            push_text(&mut segments, &body[text_start..start]);
            segments.push(error(3, "macro `{{<` is never closed with `>}}`".into()));
            text_start = start + 3;
            at = text_start;
            continue;
        };
        let inner = &body[start + 3..start + 3 + close];
        let tag_end = start + 3 + close + 3;
        push_text(&mut segments, &body[text_start..start]);
        match parse_tag(inner) {
            Err(message) => segments.push(error(tag_end - start, message)),
            Ok(Tag_::Closing(name)) => segments.push(error(
                tag_end - start,
                format!("closing `{{{{< /{name} >}}}}` without an opening `{{{{< {name} >}}}}`"),
            )),
            Ok(Tag_::Opening(mut call)) => {
                call.line = line;
                call.column = column;
                let mut end = tag_end;
                if let Some((body_range, closing_end)) =
                    pairs.closing(&call.display_name(), tag_end)
                {
                    if body_range.len() > MAX_BODY_BYTES {
                        segments.push(error(
                            tag_end - start,
                            format!(
                                "the body of `{}` is {} bytes, over the limit of {MAX_BODY_BYTES}",
                                call.display_name(),
                                body_range.len()
                            ),
                        ));
                        text_start = closing_end;
                        at = closing_end;
                        continue;
                    }
                    call.body = Some(body[body_range.clone()].to_owned());
                    call.body_line = locator.locate(body_range.start).0;
                    end = closing_end;
                }
                call.source = body[start..end].to_owned();
                segments.push(Segment::Macro(call));
                text_start = end;
                at = end;
                continue;
            }
        }
        text_start = tag_end;
        at = tag_end;
    }
    push_text(&mut segments, &body[text_start..]);
    segments
}

/// The text an escaped macro at `start` (`{{</* name */>}}`) prints, and
/// where it ends; `None` when it is never closed.
fn escaped(body: &str, start: usize) -> Option<(String, usize)> {
    // The closing `*/>}}` starts after the opening `{{</*` (in `{{</*/>}}`
    // the two overlap).
    let end = body[start + 5..].find("*/>}}")? + 5;
    Some((
        format!("{{{{<{}>}}}}", &body[start + 5..start + end]),
        start + end + 5,
    ))
}

fn push_text(segments: &mut Vec<Segment>, text: &str) {
    if text.is_empty() {
        return;
    }
    if let Some(Segment::Text(previous)) = segments.last_mut() {
        previous.push_str(text);
    } else {
        segments.push(Segment::Text(text.to_owned()));
    }
}

/// Byte offsets to file lines and character columns.
struct Locator<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
    first_line: usize,
}

impl<'a> Locator<'a> {
    fn new(text: &'a str, first_line: usize) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Locator {
            text,
            line_starts,
            first_line,
        }
    }

    fn locate(&self, offset: usize) -> (usize, usize) {
        let index = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let column = self.text[self.line_starts[index]..offset].chars().count() + 1;
        (self.first_line + index, column)
    }
}

/// The code range holding `offset`, if any (`code` is sorted and disjoint).
fn code_range_at(code: &[Range<usize>], offset: usize) -> Option<&Range<usize>> {
    let index = code.partition_point(|r| r.end <= offset);
    code.get(index).filter(|r| r.contains(&offset))
}

/// Byte ranges of code spans and code blocks, where macros are text.
fn code_ranges(body: &str) -> Vec<Range<usize>> {
    if may_hold_code(body) {
        parsed_code_ranges(body)
    } else {
        Vec::new()
    }
}

/// Whether `body` may hold a code span or block. A span needs a backtick,
/// a fence backticks or tildes, an indented block four columns of
/// indentation past its container's (a tab or four spaces in a row): a
/// body with none of them is spared a Markdown parse (8% of the host's
/// work on a cold render of pages of macros, measured).
fn may_hold_code(body: &str) -> bool {
    body.contains(['`', '~', '\t']) || body.contains("    ")
}

/// [`code_ranges`], as the Markdown parser finds them.
fn parsed_code_ranges(body: &str) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut block_start = None;
    for (event, range) in Parser::new_ext(body, Options::all()).into_offset_iter() {
        match event {
            Event::Code(_) => ranges.push(range),
            Event::Start(Tag::CodeBlock(_)) => block_start = Some(range.start),
            Event::End(pulldown_cmark::TagEnd::CodeBlock) => {
                ranges.push(block_start.take().unwrap_or(range.start)..range.end);
            }
            _ => {}
        }
    }
    ranges
}

/// The offset of `>}}` in `rest`, skipping quoted strings.
fn find_tag_end(rest: &str) -> Option<usize> {
    let bytes = rest.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        match (quote, bytes[i]) {
            (Some(b'"'), b'\\') => i += 1,
            (Some(q), c) if c == q => quote = None,
            (None, b'"' | b'`') => quote = Some(bytes[i]),
            (None, b'\n') if rest[..i].matches('\n').count() > 20 => return None,
            (None, b'>') if rest[i..].starts_with(">}}") => return Some(i),
            (None, b'{') if rest[i..].starts_with("{{<") => return None,
            _ => {}
        }
        i += 1;
    }
    None
}

/// Every opening and closing tag of a body, by macro name, indexed so that
/// finding the closing tag of a paired macro costs a binary search: a page
/// of many unclosed tags must not make the parser scan the page once per
/// tag.
struct Pairs {
    by_name: HashMap<String, NameTags>,
}

/// The tags of one name, in order.
#[derive(Default)]
struct NameTags {
    /// (start, end) of each tag.
    spans: Vec<(usize, usize)>,
    /// `level[i]`: closing minus opening tags among the first `i` tags.
    level: Vec<i64>,
    /// Per level, the tags (indexes) after which the count reaches it.
    reached: HashMap<i64, Vec<usize>>,
}

impl Pairs {
    fn index(body: &str, code: &[Range<usize>]) -> Pairs {
        let mut by_name: HashMap<String, NameTags> = HashMap::new();
        let mut at = 0;
        while let Some(found) = body[at..].find("{{<") {
            let start = at + found;
            if code_range_at(code, start).is_some() || body[start + 3..].starts_with("/*") {
                at = start + 3;
                continue;
            }
            let Some(close) = find_tag_end(&body[start + 3..]) else {
                at = start + 3;
                continue;
            };
            let end = start + 3 + close + 3;
            let (name, step) = match parse_tag(&body[start + 3..start + 3 + close]) {
                Ok(Tag_::Closing(name)) => (name, 1),
                Ok(Tag_::Opening(call)) => (call.display_name(), -1),
                Err(_) => {
                    at = end;
                    continue;
                }
            };
            let tags = by_name.entry(name).or_default();
            if tags.level.is_empty() {
                tags.level.push(0);
            }
            let i = tags.spans.len();
            let level = tags.level[i] + step;
            tags.spans.push((start, end));
            tags.level.push(level);
            tags.reached.entry(level).or_default().push(i);
            at = end;
        }
        Pairs { by_name }
    }

    /// The body range and end of the closing tag of a paired macro `name`
    /// opened before `from`, counting nested macros of the same name.
    fn closing(&self, name: &str, from: usize) -> Option<(Range<usize>, usize)> {
        let tags = self.by_name.get(name)?;
        let first = tags.spans.partition_point(|(start, _)| *start < from);
        // The first tag from `first` on after which there is one more
        // closing than opening tags is the matching closing tag.
        let reached = tags.reached.get(&(tags.level[first] + 1))?;
        let j = reached[reached.partition_point(|&j| j < first)..].first()?;
        let (start, end) = tags.spans[*j];
        Some((from..start, end))
    }
}

enum Tag_ {
    Opening(Call),
    Closing(String),
}

fn parse_tag(inner: &str) -> Result<Tag_, String> {
    if inner.len() > MAX_TAG_BYTES {
        return Err(format!(
            "the macro's arguments are {} bytes, over the limit of {MAX_TAG_BYTES}",
            inner.len()
        ));
    }
    let mut lexer = Lexer { rest: inner.trim() };
    if let Some(rest) = lexer.rest.strip_prefix('/') {
        let name = rest.trim();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(format!("malformed closing tag `{{{{<{inner}>}}}}`"));
        }
        return Ok(Tag_::Closing(name.to_owned()));
    }
    let full_name = lexer.word();
    if full_name.is_empty() {
        return Err("a macro needs a name: `{{< name ... >}}`".into());
    }
    let (namespace, name) = match full_name.split_once(':') {
        Some(("py", name)) => (Some(Namespace::Python), name),
        Some(("builtin", name)) => (Some(Namespace::Builtin), name),
        Some((ns, _)) => {
            return Err(format!(
                "unknown namespace `{ns}:`; use `py:` or `builtin:`"
            ));
        }
        None => (None, full_name),
    };
    if !is_name(name) {
        return Err(format!(
            "`{full_name}` is not a macro name (letters, digits, `_` and `-`)"
        ));
    }
    let mut call = Call {
        namespace,
        name: name.to_owned(),
        args: Map::new(),
        positional: Vec::new(),
        body: None,
        body_line: 0,
        line: 0,
        column: 0,
        source: String::new(),
    };
    loop {
        lexer.skip_space();
        if lexer.rest.is_empty() {
            break;
        }
        let checkpoint = lexer.rest;
        let word = lexer.word();
        if !word.is_empty() && lexer.rest.starts_with('=') {
            if !is_name(word) {
                return Err(format!("`{word}` is not an argument name"));
            }
            lexer.rest = &lexer.rest[1..];
            let value = lexer.value()?;
            if call.args.insert(word.to_owned(), value).is_some() {
                return Err(format!("argument `{word}` is given twice"));
            }
        } else {
            lexer.rest = checkpoint;
            call.positional.push(lexer.value()?);
        }
        if call.args.len() + call.positional.len() > MAX_ARGS {
            return Err(format!("more than {MAX_ARGS} arguments in one macro call"));
        }
    }
    Ok(Tag_::Opening(call))
}

struct Lexer<'a> {
    rest: &'a str,
}

impl<'a> Lexer<'a> {
    fn skip_space(&mut self) {
        self.rest = self.rest.trim_start();
    }

    fn word(&mut self) -> &'a str {
        let end = self
            .rest
            .find(|c: char| c.is_whitespace() || c == '=' || c == '"' || c == '`')
            .unwrap_or(self.rest.len());
        let (word, rest) = self.rest.split_at(end);
        self.rest = rest;
        word
    }

    fn value(&mut self) -> Result<Value, String> {
        if let Some(rest) = self.rest.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = rest.char_indices();
            while let Some((i, c)) = chars.next() {
                match c {
                    '"' => {
                        self.rest = &rest[i + 1..];
                        return Ok(Value::String(out));
                    }
                    '\\' => match chars.next().map(|(_, c)| c) {
                        Some('n') => out.push('\n'),
                        Some('t') => out.push('\t'),
                        Some(c @ ('"' | '\\')) => out.push(c),
                        Some(c) => return Err(format!("unknown escape `\\{c}` in a string")),
                        None => break,
                    },
                    c => out.push(c),
                }
            }
            return Err("a string is never closed with `\"`".into());
        }
        if let Some(rest) = self.rest.strip_prefix('`') {
            let end = rest
                .find('`')
                .ok_or("a raw string is never closed with a backtick")?;
            self.rest = &rest[end + 1..];
            return Ok(Value::String(rest[..end].to_owned()));
        }
        let word = self.word();
        if word.is_empty() {
            return Err(format!(
                "expected a value, found `{}`",
                self.rest.chars().next().unwrap_or(' ')
            ));
        }
        Ok(match word {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => word
                .parse::<i64>()
                .map(Value::from)
                .or_else(|_| word.parse::<f64>().map(Value::from))
                .unwrap_or_else(|_| Value::String(word.to_owned())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// Pieces of Markdown with no backtick, tilde or tab: containers,
    /// markers, odd whitespace and line ends, entities, math, metadata.
    const PLAIN: &[&str] = &[
        " ",
        "  ",
        "   ",
        "\n",
        "\n\n",
        "\r",
        "\r\n",
        "\u{b}",
        "\u{c}",
        "\u{a0}",
        "\u{3000}",
        "> ",
        ">",
        "- ",
        "* ",
        "+ ",
        "1. ",
        "10) ",
        ": ",
        "[^1]: ",
        "---",
        "+++",
        "$$",
        "$x$",
        "- [ ] ",
        "&#96;",
        "&#126;",
        "x",
        "*y*",
        "{{< a >}}",
        "<pre>",
        "</pre>",
        "<code>",
        "|a|b|\n|-|-|",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        /// A body the shortcut passes by holds no code as the parse finds
        /// it, whatever its containers, markers and whitespace.
        #[test]
        fn a_body_without_the_marks_of_code_holds_none(parts in proptest::collection::vec(
            prop::sample::select(PLAIN), 0..40,
        )) {
            let mut body: String = parts.concat();
            // Four spaces in a row (which pieces may add up to) are a mark.
            while body.contains("    ") {
                body = body.replace("    ", "   x");
            }
            prop_assert!(!may_hold_code(&body));
            prop_assert_eq!(parsed_code_ranges(&body), Vec::<Range<usize>>::new(), "{:?}", body);
        }

        /// With the marks of code mixed in, the shortcut and the parse
        /// agree.
        #[test]
        fn code_is_found_with_or_without_the_parse(parts in proptest::collection::vec(
            prop::sample::select(vec![
                "`", "``", "```", "~", "~~~", "\t", " ", "  ", "\n", "\n\n", "> ", ">",
                "- ", "* ", "1. ", "10) ", "x", "*y*", "{{< a >}}", "<pre>", "\u{a0}",
            ]),
            0..24,
        )) {
            let body: String = parts.concat();
            prop_assert_eq!(code_ranges(&body), parsed_code_ranges(&body), "{:?}", body);
        }
    }

    #[test]
    fn indented_code_in_containers_is_never_passed_by() {
        for body in [
            "    x",
            "\tx",
            "-     x",
            ">     x",
            "a\n:     x",
            "1.\n\n       x",
            "- a\n\n      x",
            "> - a\n>\n>       x",
        ] {
            assert!(may_hold_code(body), "{body:?}");
            assert!(!parsed_code_ranges(body).is_empty(), "{body:?} holds code");
        }
    }

    fn macros(body: &str) -> Vec<Call> {
        parse("p.md", body, 1)
            .into_iter()
            .filter_map(|s| match s {
                Segment::Macro(c) => Some(c),
                _ => None,
            })
            .collect()
    }

    fn broken(body: &str) -> Vec<Diagnostic> {
        parse("p.md", body, 1)
            .into_iter()
            .filter_map(|s| match s {
                Segment::Broken { diagnostic, .. } => Some(diagnostic),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn inline_with_typed_arguments() {
        let calls = macros(r#"a {{< badge text="a \"b\"" n=3 x=1.5 on=true raw=`c\d` >}} b"#);
        assert_eq!(calls.len(), 1);
        let call = &calls[0];
        assert_eq!(call.name, "badge");
        assert_eq!(call.args["text"], json!("a \"b\""));
        assert_eq!(call.args["n"], json!(3));
        assert_eq!(call.args["x"], json!(1.5));
        assert_eq!(call.args["on"], json!(true));
        assert_eq!(call.args["raw"], json!("c\\d"));
        assert_eq!((call.line, call.column), (1, 3));
    }

    #[test]
    fn positional_arguments_and_namespaces() {
        let calls =
            macros("{{< youtube dQw4w9WgXcQ >}} {{< py:badge \"x\" 2 >}} {{< builtin:toc >}}");
        assert_eq!(calls[0].positional, [json!("dQw4w9WgXcQ")]);
        assert_eq!(calls[1].namespace, Some(Namespace::Python));
        assert_eq!(calls[1].positional, [json!("x"), json!(2)]);
        assert_eq!(calls[2].namespace, Some(Namespace::Builtin));
    }

    #[test]
    fn paired_with_nesting() {
        let body = "{{< note >}}outer {{< note >}}inner{{< /note >}} tail{{< /note >}} after";
        let calls = macros(body);
        assert_eq!(calls.len(), 1);
        assert_eq!(
            calls[0].body.as_deref(),
            Some("outer {{< note >}}inner{{< /note >}} tail")
        );
        let segments = parse("p.md", body, 1);
        assert_eq!(segments.last(), Some(&Segment::Text(" after".into())));
    }

    #[test]
    fn an_unclosed_outer_tag_leaves_the_inner_pair_whole() {
        let calls = macros("{{< note >}}a {{< note >}}b{{< /note >}} {{< x >}}{{< /y >}}");
        let bodies: Vec<_> = calls.iter().map(|c| c.body.as_deref()).collect();
        assert_eq!(bodies, [None, Some("b"), None]);
    }

    #[test]
    fn caps_on_calls_arguments_and_bodies() {
        let many = "{{< x >}}".repeat(MAX_MACROS_PER_PAGE + 5);
        let segments = parse("p.md", &many, 1);
        let broken: Vec<_> = segments
            .iter()
            .filter_map(|s| match s {
                Segment::Broken { diagnostic, .. } => Some(diagnostic.message.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(broken.len(), 1);
        assert!(
            broken[0].starts_with("more than 10000 macros"),
            "{broken:?}"
        );
        assert_eq!(macros(&many).len(), MAX_MACROS_PER_PAGE);
        let args: String = (0..=MAX_ARGS).map(|i| format!(" a{i}=1")).collect();
        let segments = parse("p.md", &format!("{{{{< x{args} >}}}}"), 1);
        assert!(
            matches!(&segments[0], Segment::Broken { diagnostic, .. } if diagnostic.message.contains("more than 256 arguments"))
        );
    }

    #[test]
    fn an_escape_whose_ends_overlap_is_not_closed() {
        // Found by fuzzing: this used to slice backwards and panic.
        let segments = parse("p.md", "*/>}}{{</*/>}}", 1);
        assert!(
            matches!(&segments[1], Segment::Broken { diagnostic, .. } if diagnostic.message.contains("never closed")),
            "{segments:?}"
        );
        assert_eq!(
            parse("p.md", "{{</**/>}}", 1),
            [Segment::Literal("{{<>}}".into())]
        );
    }

    #[test]
    fn escapes_print_the_macro() {
        let segments = parse("p.md", "{{</* badge text=\"x\" */>}}", 1);
        assert_eq!(
            segments,
            [Segment::Literal("{{< badge text=\"x\" >}}".into())]
        );
    }

    #[test]
    fn never_inside_code() {
        let body = "`{{< badge >}}`\n\n```\n{{< badge >}}\n```\n\n    {{< badge >}}\n\nreal {{< badge >}}\n";
        let calls = macros(body);
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].line, 9);
    }

    #[test]
    fn positions_count_front_matter_lines_and_unicode_columns() {
        let calls = macros("héllo wörld\r\n  ünïcode {{< x >}}\r\n");
        assert_eq!((calls[0].line, calls[0].column), (2, 11));
        let shifted = parse("p.md", "{{< x >}}", 7);
        let Segment::Macro(call) = &shifted[0] else {
            panic!()
        };
        assert_eq!(call.line, 7);
    }

    #[test]
    fn malformed_macros_are_reported_where_they_are() {
        let errors = broken("ok\n  {{< badge text=\"x >}}\n");
        assert_eq!((errors[0].line, errors[0].column), (2, 3));
        assert!(errors[0].message.contains("never closed"), "{}", errors[0]);
        let errors = broken("{{< /note >}}");
        assert!(errors[0].message.contains("without an opening"));
        let errors = broken("{{< 9lives >}}");
        assert!(errors[0].message.contains("not a macro name"));
        let errors = broken("{{< x a=1 a=2 >}}");
        assert!(errors[0].message.contains("twice"));
        let errors = broken("{{< x bad=\"\\q\" >}}");
        assert!(errors[0].message.contains("escape"));
        let errors = broken("{{< ns:x >}}");
        assert!(errors[0].message.contains("namespace"));
    }

    #[test]
    fn an_unterminated_macro_keeps_the_rest_of_the_page() {
        let segments = parse("p.md", "a {{< oops\n\nlater {{< fine >}}", 1);
        assert!(matches!(segments[1], Segment::Broken { .. }));
        assert!(
            segments
                .iter()
                .any(|s| matches!(s, Segment::Macro(c) if c.name == "fine"))
        );
    }
}
