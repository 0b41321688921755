//! Expanding a page body: macros become HTML, Markdown is rendered around
//! them, and every problem becomes a located diagnostic plus a visible
//! marker in the page.
//!
//! Macro output is HTML and is not parsed as Markdown: each macro is replaced
//! by a placeholder word, the Markdown is rendered, and the placeholders are
//! swapped for the HTML (a placeholder alone in a paragraph replaces the
//! paragraph, so block HTML does not end up inside `<p>`).

use crate::content::Page;
use crate::diagnostics::Diagnostic;
use crate::macros::builtins::{Body, Builtin, Registry};
use crate::macros::parser::{self, Call, Segment};
use crate::macros::resolve::{PythonMacro, Resolved, Unresolved, resolve};
use crate::markdown::{self, Heading, escape};
use crate::python::{self, Session};
use crate::scripts::Script;
use crate::site_queries::{Filter, Question, SiteQueries, Summary};
use crate::stats::CallKind;

/// Stands in for the table of contents until the headings are known.
pub const TOC_MARKER: &str = "<!--blogmark:toc-->";

/// A page body, expanded and rendered.
#[derive(Debug, Default)]
pub struct Expanded {
    /// The page's HTML.
    pub html: String,
    /// Its headings.
    pub headings: Vec<Heading>,
    /// What went wrong, located.
    pub diagnostics: Vec<Diagnostic>,
    /// Each macro call the page made, built-in or Python, in order: what
    /// its HTML depends on besides its text, and what a reuse of the page
    /// counts as answered from a cache.
    pub calls: Vec<(CallKind, String)>,
    /// The questions its calls asked of the site (data, pages), sorted
    /// and once each: the page is keyed on their answers.
    pub reads: Vec<String>,
}

/// Expands the macros of one page.
pub struct Expander<'a> {
    registry: &'a Registry,
    site: &'a SiteQueries,
    python: Option<&'a Session>,
    stats: Option<&'a crate::stats::Recorder>,
    page: Option<&'a Page>,
    file: &'a str,
    diagnostics: Vec<Diagnostic>,
    made: Vec<(CallKind, String)>,
    reads: Vec<String>,
    depth: usize,
    in_destination: bool,
}

/// The HTML shown in place of a macro that failed.
pub fn marker(call_text: &str, reason: &str) -> String {
    format!(
        "<span class=\"macro-error\" title=\"{}\">{}</span>",
        escape(reason),
        escape(call_text)
    )
}

const PLACEHOLDER: &str = "BLOGMARKMACRO";

impl<'a> Expander<'a> {
    /// An expander for the page at `file`.
    pub fn new(registry: &'a Registry, site: &'a SiteQueries, file: &'a str) -> Self {
        Expander {
            registry,
            site,
            python: None,
            stats: None,
            page: None,
            file,
            diagnostics: Vec::new(),
            made: Vec::new(),
            reads: Vec::new(),
            depth: 0,
            in_destination: false,
        }
    }

    /// Resolve macros against `python` too; `page` is the page expanded.
    pub fn with_python(mut self, python: &'a Session, page: &'a Page) -> Self {
        self.python = Some(python);
        self.page = Some(page);
        self
    }

    /// Record every built-in call in `stats` (Python calls are recorded by
    /// the [`Session`] that runs them).
    pub fn with_stats(mut self, stats: &'a crate::stats::Recorder) -> Self {
        self.stats = Some(stats);
        self
    }

    /// The pages that match `filter`, noted as read by this page.
    pub fn pages(&mut self, filter: Filter) -> Vec<&'a Summary> {
        let site = self.site;
        let answer = site.pages(&filter);
        self.reads.push(Question::Pages(filter).text());
        answer
    }

    /// The page named `name` (source path, URL or slug), noted as read by
    /// this page.
    pub fn page(&mut self, name: &str) -> Option<&'a Summary> {
        self.reads.push(Question::Page(name.to_owned()).text());
        self.site.page(name)
    }

    /// The image `request` asks the host to make (`{url, width, height}`),
    /// noted as read by this page; an error starting `denied: ` when the
    /// site grants no images.
    pub fn image(
        &mut self,
        request: crate::capabilities::images::Request,
    ) -> Result<serde_json::Value, String> {
        use blogmark_runtime::QuerySource as _;
        let question = Question::Image(request).text();
        self.reads.push(question.clone());
        let answer = self.site.answer(&question)?;
        serde_json::from_str(&answer).map_err(|e| e.to_string())
    }

    /// Whether the call being expanded stands where a Markdown link's
    /// destination goes (`[text]({{< ref x >}})`): its output is then a URL,
    /// not HTML.
    pub fn in_link_destination(&self) -> bool {
        self.in_destination
    }

    /// The page being expanded.
    pub fn page_path(&self) -> &str {
        self.file
    }

    /// Expand and render a whole page body starting on file line `line`.
    pub fn expand_page(mut self, body: &str, line: usize) -> Expanded {
        let rendered = self.render_markdown(body, line);
        let html = if rendered.html.contains(TOC_MARKER) {
            let toc = markdown::toc_html(&rendered.headings);
            rendered
                .html
                .replace(&format!("<p>{TOC_MARKER}</p>"), &toc)
                .replace(TOC_MARKER, &toc)
        } else {
            rendered.html
        };
        let mut reads = self.reads;
        reads.sort_unstable();
        reads.dedup();
        Expanded {
            html,
            headings: rendered.headings,
            diagnostics: self.diagnostics,
            calls: self.made,
            reads,
        }
    }

    /// Render a Markdown fragment (a macro body) with its macros expanded.
    pub fn render_fragment(&mut self, body: &str, line: usize) -> String {
        if self.depth > 16 {
            self.diagnostics.push(Diagnostic::error(
                self.file,
                line,
                1,
                "macros nested more than 16 deep",
            ));
            return escape(body);
        }
        self.depth += 1;
        let html = self.render_markdown(body, line).html;
        self.depth -= 1;
        html
    }

    fn render_markdown(&mut self, body: &str, line: usize) -> markdown::Rendered {
        let segments = parser::parse(self.file, body, line);
        let mut source = String::with_capacity(body.len());
        let mut outputs = Vec::new();
        for segment in segments {
            match segment {
                Segment::Text(text) => source.push_str(&text),
                Segment::Literal(text) => {
                    outputs.push(escape(&text));
                    source.push_str(&placeholder(outputs.len() - 1));
                }
                Segment::Broken {
                    source: text,
                    diagnostic,
                } => {
                    outputs.push(marker(&text, &diagnostic.message));
                    self.diagnostics.push(diagnostic);
                    source.push_str(&placeholder(outputs.len() - 1));
                }
                Segment::Macro(call) => {
                    let place = url_place(&source);
                    let outer = std::mem::replace(&mut self.in_destination, place.is_some());
                    let problems = self.diagnostics.len();
                    let output = self.expand_call(&call);
                    self.in_destination = outer;
                    match place {
                        // Written into the Markdown, the URL is what the
                        // link's hook, the link checker and the page all
                        // see, as in Hugo: a placeholder would stand in the
                        // `href`, and a failed call's marker (HTML) break it.
                        Some(place) if self.diagnostics.len() == problems => {
                            source.push_str(&url_text(&output, place));
                        }
                        Some(_) => source.push('#'),
                        None => {
                            outputs.push(output);
                            source.push_str(&placeholder(outputs.len() - 1));
                        }
                    }
                }
            }
        }
        let mut rendered = match (self.python, self.page) {
            (Some(python), Some(page)) if python.has_hooks() => {
                let mut hooks = PageHooks {
                    python,
                    page,
                    file: self.file,
                    source: &source,
                    first_line: line,
                    diagnostics: &mut self.diagnostics,
                    reads: &mut self.reads,
                    made: &mut self.made,
                };
                markdown::render_with(&source, Some(&mut hooks))
            }
            _ => markdown::render(&source),
        };
        if !outputs.is_empty() {
            rendered.html = substitute(&rendered.html, &outputs);
        }
        rendered
    }

    fn expand_call(&mut self, call: &Call) -> String {
        let registered = self.registry.get(&call.name);
        let script = self.python.and_then(|p| p.macro_named(&call.name));
        let python = script.map(|s| PythonMacro {
            overrides_builtin: s.overrides_builtin,
        });
        let resolved = resolve(call.namespace, registered.is_some(), python);
        match (resolved, script, self.python, registered) {
            (Resolved::Python, Some(script), Some(session), _) => {
                self.made.push((CallKind::Python, call.name.clone()));
                self.expand_python(session, script, call)
            }
            (Resolved::Builtin, _, _, Some(builtin)) => {
                self.made.push((CallKind::Builtin, call.name.clone()));
                if self.in_destination && !builtin.gives_url() {
                    return self.not_a_url(call);
                }
                self.expand_builtin(builtin, call)
            }
            (Resolved::Unresolved(why), ..) => self.unresolved(call, why),
            // `resolve` names a side only when it has the macro.
            (Resolved::Python, ..) => self.unresolved(call, Unresolved::NoPython),
            (Resolved::Builtin, ..) => self.unresolved(call, Unresolved::NoBuiltin),
        }
    }

    fn not_a_url(&mut self, call: &Call) -> String {
        let reason = format!(
            "`{}` makes HTML, not a URL: it cannot stand where a link's destination goes",
            call.name
        );
        self.warn(call, reason)
    }

    fn unresolved(&mut self, call: &Call, why: Unresolved) -> String {
        self.warn(call, why.message(&call.name))
    }

    /// A warning at `call`, and the marker that stands for it.
    fn warn(&mut self, call: &Call, reason: String) -> String {
        self.diagnostics.push(Diagnostic::warning(
            self.file,
            call.line,
            call.column,
            reason.clone(),
        ));
        marker(&call.source, &reason)
    }

    fn expand_builtin(&mut self, builtin: &dyn Builtin, call: &Call) -> String {
        let problem = match (builtin.body(), call.body.is_some()) {
            (Body::Required, false) => Some(format!(
                "`{0}` needs a body: {{{{< {0} >}}}}...{{{{< /{0} >}}}}",
                call.name
            )),
            (Body::None, true) => Some(format!("`{}` takes no body", call.name)),
            _ => None,
        };
        let started = std::time::Instant::now();
        let result = match problem {
            Some(problem) => Err(problem),
            None => builtin.render(call, self),
        };
        if let Some(stats) = self.stats {
            let event = crate::stats::Event::Ran {
                elapsed: started.elapsed(),
                sandbox: false,
            };
            // A built-in that refuses its arguments counts as an error.
            let failure = result.is_err().then_some(crate::stats::Failed::Error);
            stats.record(CallKind::Builtin, &call.name, event, failure);
        }
        match result {
            Ok(html) => html,
            Err(reason) => {
                self.diagnostics.push(Diagnostic::error(
                    self.file,
                    call.line,
                    call.column,
                    reason.clone(),
                ));
                marker(&call.source, &reason)
            }
        }
    }
}

impl Expander<'_> {
    fn expand_python(&mut self, python: &Session, script: &Script, call: &Call) -> String {
        let sandbox_call = python::MacroCall {
            name: call.name.clone(),
            args: call.args.clone(),
            positional: call.positional.clone(),
            body: call.body.clone(),
            file: self.file.to_owned(),
            line: call.line,
            column: call.column,
        };
        match python.call_macro(script, &sandbox_call, self.page) {
            Ok(answer) => {
                self.reads.extend(answer.reads);
                // A URL is not rendered as Markdown (it would come back
                // in a paragraph).
                if script.markdown && !self.in_destination {
                    self.render_fragment(&answer.value, call.line)
                } else {
                    answer.value
                }
            }
            Err(failure) => {
                let reason = format!(
                    "macro `{}` {}",
                    call.name,
                    python::failure_reason(script, &failure)
                );
                self.diagnostics.push(Diagnostic::warning(
                    self.file,
                    call.line,
                    call.column,
                    reason.clone(),
                ));
                script
                    .fallback
                    .clone()
                    .unwrap_or_else(|| marker(&call.source, &reason))
            }
        }
    }
}

/// The render hooks of one page: each hooked element is rendered by its
/// script, a failure falls back to the default rendering with a warning
/// at the element's line.
struct PageHooks<'e> {
    python: &'e Session,
    page: &'e Page,
    file: &'e str,
    source: &'e str,
    first_line: usize,
    diagnostics: &'e mut Vec<Diagnostic>,
    reads: &'e mut Vec<String>,
    made: &'e mut Vec<(CallKind, String)>,
}

impl markdown::ElementHooks for PageHooks<'_> {
    fn wants(&self, kind: &str, lang: &str) -> bool {
        self.python.hook_for(kind, lang).is_some()
    }

    fn render(&mut self, element: blogmark_runtime::abi::Element, offset: usize) -> Option<String> {
        let lang = match &element {
            blogmark_runtime::abi::Element::Codeblock { lang, .. } => lang.clone(),
            _ => String::new(),
        };
        let script = self.python.hook_for(element.kind(), &lang)?;
        let element = match element {
            blogmark_runtime::abi::Element::Image {
                src, alt, title, ..
            } => blogmark_runtime::abi::Element::Image {
                resource: self.python.resource_of(self.page, &src),
                src,
                alt,
                title,
            },
            other => other,
        };
        self.made.push((CallKind::Hook, script.name.clone()));
        match self.python.call_hook(script, element, Some(self.page)).0 {
            Ok(answer) => {
                self.reads.extend(answer.reads);
                answer.value
            }
            Err(failure) => {
                // The placeholders that stand for macros hold no newline,
                // so lines after a multi-line macro call read a little early.
                let before = self.source.get(..offset).unwrap_or("");
                let line = self.first_line + before.matches('\n').count();
                let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                self.diagnostics.push(Diagnostic::warning(
                    self.file,
                    line,
                    column,
                    format!(
                        "render hook {} {}; the {} is rendered as without it",
                        script.path,
                        python::failure_reason(script, &failure),
                        script.hook.unwrap_or("element")
                    ),
                ));
                None
            }
        }
    }
}

/// Where a URL is written in Markdown source: what must be escaped there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum UrlPlace {
    /// A link's destination after `](`, or in a `[label]:` definition.
    Destination,
    /// A destination in angle brackets, after `](<`.
    Angled,
    /// A raw HTML `href` or `src` attribute quoted with this character.
    Attribute(char),
}

/// Where a URL goes, when Markdown `source` ends where one starts: after
/// `](` or `](<` on its last line, after `[label]:` opening a line (not a
/// footnote's, and not within a paragraph), or in raw HTML after `href="`
/// or `src="`.
fn url_place(source: &str) -> Option<UrlPlace> {
    let (before, line) = source.rsplit_once('\n').unwrap_or(("", source));
    for quote in ['"', '\''] {
        if let Some(attribute) = line.strip_suffix(quote)
            && (attribute.ends_with(" href=") || attribute.ends_with(" src="))
        {
            return Some(UrlPlace::Attribute(quote));
        }
    }
    let tail = line.trim_end_matches([' ', '\t']);
    if tail.ends_with("](<") {
        return Some(UrlPlace::Angled);
    }
    if tail.ends_with("](") {
        return Some(UrlPlace::Destination);
    }
    let definition = |line: &str| {
        let start = line.trim_start_matches(' ');
        line.len() - start.len() <= 3
            && start.starts_with('[')
            && !start.starts_with("[^")
            && start.contains("]:")
    };
    // A definition cannot interrupt a paragraph, but may follow another.
    let previous = before.rsplit('\n').next().unwrap_or("");
    (tail.ends_with("]:")
        && definition(line)
        && (previous.trim().is_empty() || definition(previous)))
    .then_some(UrlPlace::Destination)
}

/// `url` made safe to write at `place`: the characters that would end or
/// split it there are percent-encoded, and no other (parentheses stay
/// when they pair up, as in `Rust_(programming_language)`).
fn url_text(url: &str, place: UrlPlace) -> String {
    let paired = {
        let mut depth = 0usize;
        url.chars().all(|c| match c {
            '(' => {
                depth += 1;
                true
            }
            ')' => depth.checked_sub(1).map(|d| depth = d).is_some(),
            _ => true,
        }) && depth == 0
    };
    let mut out = String::with_capacity(url.len());
    for (at, c) in url.char_indices() {
        let encode = match place {
            UrlPlace::Destination => {
                c.is_whitespace()
                    || matches!(c, '<' | '>' | '\\')
                    || (!paired && matches!(c, '(' | ')'))
            }
            UrlPlace::Angled => matches!(c, '<' | '>' | '\\' | '\n' | '\r'),
            UrlPlace::Attribute(quote) => c == quote || c == '\n' || c == '\r',
        };
        // Nor may it hold a placeholder, which another macro's HTML would
        // replace once the Markdown is rendered (`%42` is a `B`).
        let placeholder = c == 'B' && url[at..].starts_with(PLACEHOLDER);
        if encode || placeholder {
            let mut bytes = [0; 4];
            for byte in c.encode_utf8(&mut bytes).bytes() {
                out.push_str(percent_encoding::percent_encode_byte(byte));
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn placeholder(index: usize) -> String {
    format!("{PLACEHOLDER}{index}X")
}

/// Swap placeholders in `html` for their outputs.
fn substitute(html: &str, outputs: &[String]) -> String {
    let mut out =
        String::with_capacity(html.len() + outputs.iter().map(String::len).sum::<usize>());
    let mut rest = html;
    while let Some(at) = rest.find(PLACEHOLDER) {
        let digits_start = at + PLACEHOLDER.len();
        let digits_len = rest[digits_start..]
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(0);
        let index: Option<usize> = rest[digits_start..digits_start + digits_len].parse().ok();
        let end = digits_start + digits_len;
        match (index, rest[end..].starts_with('X')) {
            (Some(index), true) if index < outputs.len() => {
                let before = &rest[..at];
                let after = &rest[end + 1..];
                // A placeholder alone in its paragraph: the output replaces the paragraph.
                if before.ends_with("<p>") && after.starts_with("</p>") {
                    out.push_str(&before[..before.len() - 3]);
                    out.push_str(&outputs[index]);
                    rest = &after[4..];
                } else {
                    out.push_str(before);
                    out.push_str(&outputs[index]);
                    rest = after;
                }
            }
            _ => {
                out.push_str(&rest[..digits_start]);
                rest = &rest[digits_start..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(body: &str) -> Expanded {
        crate::macros::builtins::expand_for_test(body)
    }

    #[test]
    fn unknown_macros_warn_and_leave_a_marker() {
        let out = expand("text\n\nsee {{< nosuch x=1 >}} here");
        assert_eq!(out.diagnostics.len(), 1);
        assert_eq!(
            out.diagnostics[0].to_string(),
            "content/posts/a.md:7:5: warning: unknown macro `nosuch`"
        );
        assert!(out.html.contains("<span class=\"macro-error\" title=\"unknown macro `nosuch`\">{{&lt; nosuch x=1 &gt;}}</span>"), "{}", out.html);
    }

    #[test]
    fn escaped_macros_print_literally() {
        let out = expand("`code {{< x >}}` and {{</* youtube id */>}}");
        assert!(
            out.html
                .contains("<code>code {{&lt; x &gt;}}</code> and {{&lt; youtube id &gt;}}"),
            "{}",
            out.html
        );
        assert!(out.diagnostics.is_empty());
    }

    #[test]
    fn where_a_url_goes_is_found_at_the_end_of_the_source() {
        use UrlPlace::*;
        for (source, place) in [
            ("[a](", Destination),
            ("x [a]( ", Destination),
            ("[a](<", Angled),
            ("para\n\n[a]: ", Destination),
            ("   [a]:", Destination),
            ("[a]: /x\n[b]:", Destination),
            ("<a href=\"", Attribute('"')),
            ("<img class=\"x\" src='", Attribute('\'')),
        ] {
            assert_eq!(url_place(source), Some(place), "{source:?}");
        }
        for source in [
            "",
            "[a]",
            "(",
            "[a](x) ",
            "[a](\n",
            "    [a]: ",
            "x [a]:",
            "a paragraph\n[a]:",
            "[^1]:",
            "href=\" ",
            "<a data-href=\"",
        ] {
            assert_eq!(url_place(source), None, "{source:?}");
        }
    }

    #[test]
    fn a_url_is_escaped_only_where_its_place_needs_it() {
        use UrlPlace::*;
        let wiki = "https://en.wikipedia.org/wiki/Rust_(programming_language)";
        assert_eq!(url_text(wiki, Destination), wiki);
        assert_eq!(
            url_text("/a b/c)<d>\\é", Destination),
            "/a%20b/c%29%3Cd%3E%5C\u{e9}"
        );
        assert_eq!(url_text("/a b/c)", Angled), "/a b/c)");
        assert_eq!(url_text("/a\"b'c", Attribute('"')), "/a%22b'c");
        assert_eq!(url_text("/a\"b'c", Attribute('\'')), "/a\"b%27c");
        assert_eq!(
            url_text("/BLOGMARKMACRO0X", Destination),
            "/%42LOGMARKMACRO0X"
        );
    }

    #[test]
    fn a_call_in_a_link_destination_that_fails_leaves_the_link_whole() {
        for body in [
            "[gone]({{< nosuch >}})",
            "[vid]({{< youtube abc >}})",
            "<a href=\"{{< ref nowhere >}}\">gone</a>",
        ] {
            let out = expand(body);
            assert_eq!(out.diagnostics.len(), 1, "{body}: {:?}", out.diagnostics);
            assert!(out.html.contains("href=\"#\""), "{body}: {}", out.html);
            assert!(!out.html.contains("macro-error"), "{body}: {}", out.html);
        }
        let out = expand("[vid]({{< youtube abc >}})");
        assert!(out.diagnostics[0].message.contains("not a URL"));
    }

    #[test]
    fn body_rules_are_checked() {
        let out = expand("{{< note >}}");
        assert!(out.diagnostics[0].message.contains("needs a body"));
        let out = expand("{{< youtube x >}}b{{< /youtube >}}");
        assert!(out.diagnostics[0].message.contains("takes no body"));
    }
}
