//! Markdown to HTML: CommonMark plus tables, footnotes, strikethrough, task
//! lists, smart punctuation, heading anchors, highlighted code, and the
//! table of contents; render hooks ([`ElementHooks`]) take the elements
//! they name.

use crate::content::page::slugify;
use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, html};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::OnceLock;
use syntect::html::{ClassStyle, ClassedHTMLGenerator};
use syntect::parsing::SyntaxSet;
use syntect::util::LinesWithEndings;

mod elements;

use blogmark_runtime::abi::Element;
pub use elements::ElementHooks;

/// A heading of the page, for the table of contents.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Heading {
    /// 1 to 6.
    pub level: u8,
    /// The anchor id.
    pub id: String,
    /// The heading's text.
    pub title: String,
}

/// Rendered HTML and the headings found.
#[derive(Debug, Default)]
pub struct Rendered {
    /// The HTML.
    pub html: String,
    /// Headings in document order.
    pub headings: Vec<Heading>,
}

fn syntaxes() -> &'static SyntaxSet {
    static SET: OnceLock<SyntaxSet> = OnceLock::new();
    SET.get_or_init(SyntaxSet::load_defaults_newlines)
}

/// The CSS prefix of highlighted tokens (see `syntax.css` of the theme).
pub const HIGHLIGHT_CLASS_PREFIX: &str = "hl-";

/// Render `markdown` to HTML.
pub fn render(markdown: &str) -> Rendered {
    render_with(markdown, None)
}

/// Render `markdown` to HTML, the elements `hooks` wants rendered by it.
pub fn render_with(markdown: &str, hooks: Option<&mut dyn ElementHooks>) -> Rendered {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_SMART_PUNCTUATION
        | Options::ENABLE_HEADING_ATTRIBUTES;
    let (events, offsets): (Vec<Event>, Vec<usize>) = Parser::new_ext(markdown, options)
        .into_offset_iter()
        .map(|(event, range)| (event, range.start))
        .unzip();
    let mut renderer = Renderer {
        hooks,
        headings: Vec::new(),
        used_ids: HashMap::new(),
    };
    let out = renderer.events(&events, &offsets);
    let mut html_out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut html_out, out.into_iter());
    Rendered {
        html: html_out,
        headings: renderer.headings,
    }
}

/// One render: the hooks, and the headings and ids so far (a hooked block
/// quote's content is rendered by the same renderer, so the ids in it stay
/// unique and its headings reach the table of contents).
struct Renderer<'h> {
    hooks: Option<&'h mut dyn ElementHooks>,
    headings: Vec<Heading>,
    used_ids: HashMap<String, usize>,
}

impl Renderer<'_> {
    /// `events` (whose byte offsets are `offsets`) as the events to write.
    fn events<'a>(&mut self, events: &[Event<'a>], offsets: &[usize]) -> Vec<Event<'a>> {
        let mut out = Vec::with_capacity(events.len());
        let mut i = 0;
        while i < events.len() {
            if let Some(end) = self.container(events, offsets, i, &mut out) {
                i = end + 1;
                continue;
            }
            // An element a hook rendered is replaced whole.
            if let Some(hooks) = self.hooks.as_deref_mut()
                && let Some((html, end)) =
                    elements::hooked(events, i, offsets[i], hooks, &self.used_ids)
            {
                if let Event::Start(Tag::Heading { .. }) = &events[i] {
                    let (heading, base) = heading_of(events, i, &self.used_ids);
                    note_id(&mut self.used_ids, base);
                    self.headings.push(heading);
                }
                out.push(html);
                i = end + 1;
                continue;
            }
            match &events[i] {
                Event::Start(Tag::Heading {
                    level,
                    classes,
                    attrs,
                    ..
                }) => {
                    let (heading, base) = heading_of(events, i, &self.used_ids);
                    note_id(&mut self.used_ids, base);
                    out.push(Event::Start(Tag::Heading {
                        level: *level,
                        id: Some(CowStr::from(heading.id.clone())),
                        classes: classes.clone(),
                        attrs: attrs.clone(),
                    }));
                    self.headings.push(heading);
                    i += 1;
                }
                Event::Start(Tag::CodeBlock(kind)) => {
                    let (code, lang, _, end) = elements::code_block(events, i, kind);
                    out.push(Event::Html(CowStr::from(highlight(&code, &lang))));
                    i = end + 1;
                }
                other => {
                    out.push(other.clone());
                    i += 1;
                }
            }
        }
        out
    }

    /// When `events[i]` starts a block quote or a table that a hook takes:
    /// its content rendered (hooks, ids and highlighting included), the
    /// hook's HTML or else the default around that content pushed to
    /// `out`, and the index of its end.
    fn container<'a>(
        &mut self,
        events: &[Event<'a>],
        offsets: &[usize],
        i: usize,
        out: &mut Vec<Event<'a>>,
    ) -> Option<usize> {
        let kind = match &events[i] {
            Event::Start(Tag::BlockQuote(_)) => "blockquote",
            Event::Start(Tag::Table(_)) => "table",
            _ => return None,
        };
        if !self.hooks.as_deref().is_some_and(|h| h.wants(kind, "")) {
            return None;
        }
        let end = elements::end_of(events, i);
        let inner = self.events(&events[i + 1..end], &offsets[i + 1..end]);
        let mut whole = vec![events[i].clone()];
        whole.extend(inner);
        whole.push(events[end].clone());
        let html_of = |slice: &[Event<'a>]| {
            let mut text = String::new();
            html::push_html(&mut text, slice.iter().cloned());
            text
        };
        let element = if kind == "table" {
            Element::Table {
                html: html_of(&whole),
            }
        } else {
            Element::Blockquote {
                html: html_of(&whole[1..whole.len() - 1]),
            }
        };
        match self.hooks.as_deref_mut()?.render(element, offsets[i]) {
            Some(mut html) => {
                if !html.ends_with('\n') {
                    html.push('\n');
                }
                out.push(Event::Html(CowStr::from(html)));
            }
            None => out.extend(whole),
        }
        Some(end)
    }
}

/// The heading that starts at `events[i]`, with the id it gets among
/// `used_ids` (not yet noted there: see [`note_id`]), and the id it asked
/// for or would get from its title (what [`note_id`] counts).
fn heading_of(events: &[Event], i: usize, used_ids: &HashMap<String, usize>) -> (Heading, String) {
    let (level, id) = match &events[i] {
        Event::Start(Tag::Heading { level, id, .. }) => (*level, id.clone()),
        _ => (HeadingLevel::H1, None),
    };
    let end = elements::end_of(events, i);
    let title: String = events[i + 1..end]
        .iter()
        .filter_map(|e| match e {
            Event::Text(t) | Event::Code(t) => Some(t.as_ref()),
            _ => None,
        })
        .collect();
    let base = id.as_ref().map(|s| s.to_string()).unwrap_or_else(|| {
        let slug = slugify(&title);
        if slug.is_empty() {
            "section".into()
        } else {
            slug
        }
    });
    let unique = match used_ids.get(&base).copied().unwrap_or(0) {
        0 => base.clone(),
        count => format!("{base}-{count}"),
    };
    (
        Heading {
            level: heading_level(level),
            id: unique,
            title,
        },
        base,
    )
}

/// Count one more heading whose id was made from `base`.
fn note_id(used_ids: &mut HashMap<String, usize>, base: String) {
    *used_ids.entry(base).or_default() += 1;
}

fn heading_level(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// A code block as HTML, highlighted when its language is known.
pub fn highlight(code: &str, lang: &str) -> String {
    let set = syntaxes();
    let syntax = (!lang.is_empty())
        .then(|| set.find_syntax_by_token(lang))
        .flatten();
    let Some(syntax) = syntax else {
        let class = if lang.is_empty() {
            String::new()
        } else {
            format!(" class=\"language-{}\"", escape(lang))
        };
        return format!("<pre><code{class}>{}</code></pre>\n", escape(code));
    };
    let mut generator = ClassedHTMLGenerator::new_with_class_style(
        syntax,
        set,
        ClassStyle::SpacedPrefixed {
            prefix: HIGHLIGHT_CLASS_PREFIX,
        },
    );
    for line in LinesWithEndings::from(code) {
        if generator
            .parse_html_for_line_which_includes_newline(line)
            .is_err()
        {
            return format!("<pre><code>{}</code></pre>\n", escape(code));
        }
    }
    format!(
        "<pre class=\"highlight\"><code class=\"language-{}\">{}</code></pre>\n",
        escape(lang),
        generator.finalize()
    )
}

/// The table of contents of `headings` as nested lists.
pub fn toc_html(headings: &[Heading]) -> String {
    if headings.is_empty() {
        return String::new();
    }
    let base = headings.iter().map(|h| h.level).min().unwrap_or(1);
    let mut html_out = String::from("<nav class=\"toc\">");
    let mut depth = 0;
    for heading in headings {
        let level = (heading.level - base + 1) as usize;
        while depth < level {
            html_out.push_str("<ul>");
            depth += 1;
        }
        while depth > level {
            html_out.push_str("</ul>");
            depth -= 1;
        }
        html_out.push_str(&format!(
            "<li><a href=\"#{}\">{}</a></li>",
            escape(&heading.id),
            escape(&heading.title)
        ));
    }
    while depth > 0 {
        html_out.push_str("</ul>");
        depth -= 1;
    }
    html_out.push_str("</nav>");
    html_out
}

/// HTML-escape text.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_are_on() {
        let r = render(
            "# Title\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n~~gone~~ \"quoted\"\n\n- [x] done\n\nnote[^1]\n\n[^1]: foot\n",
        );
        assert!(r.html.contains("<table>"), "{}", r.html);
        assert!(r.html.contains("<del>gone</del>"));
        assert!(r.html.contains("“quoted”"));
        assert!(r.html.contains("checkbox"));
        assert!(r.html.contains("footnote"));
        assert!(r.html.contains("<h1 id=\"title\">Title</h1>"));
    }

    #[test]
    fn heading_ids_are_unique_and_collected() {
        let r = render("## Intro\n\n## Intro\n\n### Deep `code`\n");
        let ids: Vec<_> = r.headings.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(ids, ["intro", "intro-1", "deep-code"]);
        let toc = toc_html(&r.headings);
        assert!(
            toc.starts_with("<nav class=\"toc\"><ul><li><a href=\"#intro\">"),
            "{toc}"
        );
        assert!(toc.contains("<ul><li><a href=\"#deep-code\">"), "{toc}");
    }

    #[test]
    fn code_is_highlighted_by_language() {
        let r = render("```rust\nfn main() {}\n```\n\n```nosuchlang\n<x>\n```\n");
        assert!(
            r.html
                .contains("<pre class=\"highlight\"><code class=\"language-rust\">"),
            "{}",
            r.html
        );
        assert!(r.html.contains("hl-"), "{}", r.html);
        assert!(
            r.html
                .contains("<code class=\"language-nosuchlang\">&lt;x&gt;"),
            "{}",
            r.html
        );
    }
}
