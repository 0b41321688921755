//! The Markdown elements a render hook may take, found in pulldown-cmark's
//! events, and their replacement by the hook's HTML.

use super::{heading_level, heading_of};
use blogmark_runtime::abi::Element;
use pulldown_cmark::{CodeBlockKind, CowStr, Event, LinkType, Tag, html};
use std::collections::HashMap;

/// What renders chosen elements instead of the default rendering.
pub trait ElementHooks {
    /// Whether a hook renders elements of type `kind` (`link`, `image`,
    /// `heading`, `codeblock`, `table`, `blockquote`; for a code block, in
    /// the language `lang`).
    fn wants(&self, kind: &str, lang: &str) -> bool;

    /// The HTML of `element`, found at byte `offset` of the Markdown; `None`
    /// for the default rendering.
    fn render(&mut self, element: Element, offset: usize) -> Option<String>;
}

/// The index of the event that ends the element starting at `events[i]`.
pub(super) fn end_of(events: &[Event], i: usize) -> usize {
    let mut depth = 0usize;
    for (at, event) in events.iter().enumerate().skip(i) {
        match event {
            Event::Start(_) => depth += 1,
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return at;
                }
            }
            _ => {}
        }
        if depth == 0 {
            return at;
        }
    }
    events.len().saturating_sub(1)
}

/// The code block starting at `events[i]`: its code, its language, the rest
/// of its info string, and the index of its end.
pub(super) fn code_block(
    events: &[Event],
    i: usize,
    kind: &CodeBlockKind,
) -> (String, String, String, usize) {
    let end = end_of(events, i);
    let code: String = events[i + 1..end]
        .iter()
        .filter_map(|e| match e {
            Event::Text(t) => Some(t.as_ref()),
            _ => None,
        })
        .collect();
    let (lang, attrs) = match kind {
        CodeBlockKind::Fenced(info) => {
            let info = info.trim();
            let (lang, rest) = info.split_once(char::is_whitespace).unwrap_or((info, ""));
            (lang.to_owned(), rest.trim().to_owned())
        }
        CodeBlockKind::Indented => (String::new(), String::new()),
    };
    (code, lang, attrs, end)
}

/// The default HTML of `events`.
fn html_of(events: &[Event]) -> String {
    let mut out = String::new();
    html::push_html(&mut out, events.iter().cloned());
    out
}

/// The text of `events`, without markup (an image's alternative text).
fn text_of(events: &[Event]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Text(t) | Event::Code(t) => Some(t.as_ref()),
            Event::SoftBreak | Event::HardBreak => Some(" "),
            _ => None,
        })
        .collect()
}

/// When `events[i]` starts an element `hooks` renders and the hook gave
/// HTML: that HTML as one event, and the index of the element's end.
pub(super) fn hooked<'a>(
    events: &[Event<'a>],
    i: usize,
    offset: usize,
    hooks: &mut dyn ElementHooks,
    used_ids: &HashMap<String, usize>,
) -> Option<(Event<'a>, usize)> {
    let Event::Start(tag) = &events[i] else {
        return None;
    };
    let (kind, lang) = match tag {
        Tag::Link { .. } => ("link", String::new()),
        Tag::Image { .. } => ("image", String::new()),
        Tag::Heading { .. } => ("heading", String::new()),
        Tag::CodeBlock(kind) => ("codeblock", code_block(events, i, kind).1),
        // Block quotes and tables hold other elements: see `Renderer::container`.
        _ => return None,
    };
    if !hooks.wants(kind, &lang) {
        return None;
    }
    let end = end_of(events, i);
    let inner = &events[i + 1..end];
    let element = match tag {
        Tag::Link {
            link_type,
            dest_url,
            title,
            ..
        } => Element::Link {
            // What the default rendering writes in `href`.
            url: if *link_type == LinkType::Email {
                format!("mailto:{dest_url}")
            } else {
                dest_url.to_string()
            },
            text: html_of(inner),
            title: title.to_string(),
        },
        Tag::Image {
            dest_url, title, ..
        } => Element::Image {
            src: dest_url.to_string(),
            alt: text_of(inner),
            title: title.to_string(),
            resource: None,
        },
        Tag::Heading { level, .. } => Element::Heading {
            level: heading_level(*level),
            text: html_of(inner),
            id: heading_of(events, i, used_ids).0.id,
        },
        _ => {
            let (code, lang, attrs, _) = match tag {
                Tag::CodeBlock(kind) => code_block(events, i, kind),
                _ => return None,
            };
            Element::Codeblock {
                lang,
                text: code,
                attrs,
            }
        }
    };
    let mut html = hooks.render(element, offset)?;
    let event = if matches!(kind, "link" | "image") {
        Event::InlineHtml(CowStr::from(html))
    } else {
        if !html.ends_with('\n') {
            html.push('\n');
        }
        Event::Html(CowStr::from(html))
    };
    Some((event, end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::markdown::render_with;

    /// Hooks every element it is given, answering with its JSON, except
    /// links to `default.example`.
    struct Echo(Vec<&'static str>);

    impl ElementHooks for Echo {
        fn wants(&self, kind: &str, lang: &str) -> bool {
            self.0.contains(&kind) && (kind != "codeblock" || lang == "chart")
        }

        fn render(&mut self, element: Element, _offset: usize) -> Option<String> {
            if let Element::Link { url, .. } = &element
                && url.contains("default.example")
            {
                return None;
            }
            Some(format!("[{}]", serde_json::to_string(&element).unwrap()))
        }
    }

    fn hooked(markdown: &str, kinds: Vec<&'static str>) -> super::super::Rendered {
        render_with(markdown, Some(&mut Echo(kinds)))
    }

    #[test]
    fn a_link_is_given_its_url_text_and_title() {
        let out = hooked(
            "see [the *docs*](https://a.example/ \"Docs\") now",
            vec!["link"],
        );
        assert_eq!(
            out.html,
            "<p>see [{\"type\":\"link\",\"url\":\"https://a.example/\",\"text\":\"the <em>docs</em>\",\"title\":\"Docs\"}] now</p>\n"
        );
    }

    #[test]
    fn an_email_autolink_is_given_its_mailto_url() {
        let out = hooked("<me@a.example>", vec!["link"]);
        assert!(
            out.html.contains("\"url\":\"mailto:me@a.example\""),
            "{}",
            out.html
        );
    }

    #[test]
    fn none_keeps_the_default_rendering() {
        let out = hooked("[x](https://default.example/)", vec!["link"]);
        assert_eq!(
            out.html,
            "<p><a href=\"https://default.example/\">x</a></p>\n"
        );
    }

    #[test]
    fn a_hooked_heading_keeps_its_unique_id_and_its_place_in_the_toc() {
        let out = hooked("## Intro\n\n## Intro\n", vec!["heading"]);
        let ids: Vec<&str> = out.headings.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(ids, ["intro", "intro-1"]);
        assert!(out.html.contains("\"id\":\"intro-1\""), "{}", out.html);
        assert!(out.html.contains("\"level\":2"), "{}", out.html);
    }

    #[test]
    fn only_code_blocks_in_the_hooks_languages_are_taken() {
        let out = hooked(
            "```chart width=3\n1 2\n```\n\n```rust\nfn x() {}\n```\n",
            vec!["codeblock"],
        );
        assert!(
            out.html.contains(
                "[{\"type\":\"codeblock\",\"lang\":\"chart\",\"text\":\"1 2\\n\",\"attrs\":\"width=3\"}]"
            ),
            "{}",
            out.html
        );
        assert!(out.html.contains("language-rust"), "{}", out.html);
    }

    #[test]
    fn images_tables_and_quotes() {
        let out = hooked(
            "![a *cat*](cat.png \"Cat\")\n\n| a |\n|---|\n| 1 |\n\n> quoted\n",
            vec!["image", "table", "blockquote"],
        );
        assert!(
            out.html
                .contains("\"src\":\"cat.png\",\"alt\":\"a cat\",\"title\":\"Cat\""),
            "{}",
            out.html
        );
        assert!(
            out.html.contains("{\"type\":\"table\",\"html\":\"<table>"),
            "{}",
            out.html
        );
        assert!(
            out.html
                .contains("{\"type\":\"blockquote\",\"html\":\"<p>quoted</p>\\n\"}"),
            "{}",
            out.html
        );
    }

    #[test]
    fn a_hooked_quote_s_content_keeps_ids_highlighting_and_hooks() {
        let markdown =
            "> ## Note\n>\n> ```rust\n> fn x() {}\n> ```\n> [a](https://a.example/)\n\n## Note\n";
        let out = hooked(markdown, vec!["blockquote", "link"]);
        let ids: Vec<&str> = out.headings.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(ids, ["note", "note-1"], "{}", out.html);
        assert!(
            out.html.contains("<h2 id=\\\"note\\\">Note</h2>"),
            "{}",
            out.html
        );
        assert!(out.html.contains("language-rust"), "{}", out.html);
        assert!(
            out.html.contains("[{\\\"type\\\":\\\"link\\\""),
            "{}",
            out.html
        );
        assert!(
            out.html.contains("<h2 id=\"note-1\">Note</h2>"),
            "{}",
            out.html
        );
    }

    #[test]
    fn a_hook_that_declines_lets_nested_elements_be_hooked() {
        let out = hooked("> see [x](https://a.example/)\n", vec!["link"]);
        assert!(out.html.starts_with("<blockquote>"), "{}", out.html);
        assert!(out.html.contains("[{\"type\":\"link\""), "{}", out.html);
    }
}
