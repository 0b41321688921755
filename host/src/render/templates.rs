//! The built-in theme and the site's overrides in `templates/`.

use crate::diagnostics::Diagnostic;
use minijinja::Environment;
use std::path::{Path, PathBuf};

const THEME: &[(&str, &str)] = &[
    ("base.html", include_str!("../../theme/base.html")),
    ("index.html", include_str!("../../theme/index.html")),
    ("post.html", include_str!("../../theme/post.html")),
    ("page.html", include_str!("../../theme/page.html")),
    ("tags.html", include_str!("../../theme/tags.html")),
    ("tag.html", include_str!("../../theme/tag.html")),
    ("taxonomy.html", include_str!("../../theme/taxonomy.html")),
    ("term.html", include_str!("../../theme/term.html")),
    ("404.html", include_str!("../../theme/404.html")),
    ("atom.xml", include_str!("../../theme/atom.xml")),
    ("sitemap.xml", include_str!("../../theme/sitemap.xml")),
];

/// The theme's stylesheet.
pub const STYLE_CSS: &str = include_str!("../../theme/style.css");

/// Templates larger than this are refused: `templates/` may come from
/// someone else's commit, and a template is read whole.
pub(crate) const MAX_TEMPLATE_BYTES: u64 = 8 << 20;

/// The template `file` as errors name it: in the site's `templates/` (at
/// `dir`), or the theme's.
pub(super) fn shown(dir: &Path, file: &str) -> String {
    if dir.join(file).exists() {
        format!("templates/{file}")
    } else {
        format!("<built-in theme>/{file}")
    }
}

/// The instructions one rendering of a template may run before it stops
/// with an error.
pub(crate) const TEMPLATE_FUEL: u64 = 30_000_000;

/// The text of the template `name`: the site's `dir/NAME`, else the
/// theme's; `None` when neither has it.
fn source(dir: &Path, name: &str) -> Result<Option<String>, minijinja::Error> {
    let refused =
        |message: String| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, message);
    // A name is a path under `templates/`: an absolute one, or one with
    // `..`, would read any file of the machine into the site's pages.
    let relative = match crate::site_paths::plain_segments(name) {
        Some(parts) if !parts.is_empty() && !name.starts_with('/') => parts.join("/"),
        _ => {
            return Err(refused(format!(
                "template `{name}` is not a path under templates/ (no `..`, not absolute)"
            )));
        }
    };
    // A link is never followed, nor read (`crate::symlinks` reports it):
    // the theme's template serves instead.
    let linked = crate::site_paths::is_link(dir)
        || crate::site_paths::first_link(dir, &relative, true).is_some();
    if !linked {
        match crate::input::read_text(&dir.join(&relative), MAX_TEMPLATE_BYTES) {
            Ok(text) => return Ok(Some(text)),
            Err(crate::input::ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(refused(format!("cannot read templates/{relative}: {e}"))),
        }
    }
    Ok(THEME
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| (*t).to_owned()))
}

/// The templates `text` names in `extends`, `include`, `import` and `from`
/// tags; `None` when one names it by anything but a string literal (a
/// variable, a list, `ignore missing`), so that what it loads is unknown.
fn named_templates(text: &str) -> Option<Vec<&str>> {
    let mut names = Vec::new();
    for tag in text.split("{%").skip(1) {
        let tag = tag.split("%}").next().unwrap_or_default();
        let tag = tag.trim_matches(|c: char| c == '-' || c == '+' || c.is_whitespace());
        let (word, rest) = tag.split_once(char::is_whitespace).unwrap_or((tag, ""));
        if !matches!(word, "extends" | "include" | "import" | "from") {
            continue;
        }
        let rest = rest.trim_start();
        let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let (name, after) = rest[1..].split_once(quote)?;
        let after = after.trim_start();
        // `import "x" as y` and `from "x" import a` load "x" and no more.
        let plain = after.is_empty() || after.starts_with("as ") || after.starts_with("import ");
        if !plain || word == "include" && !after.is_empty() {
            return None;
        }
        names.push(name);
    }
    Some(names)
}

/// Templates: a file in the site's `templates/` wins over the theme's.
pub struct Templates {
    env: Environment<'static>,
    dir: PathBuf,
}

impl Templates {
    /// Templates for the site at `root`.
    pub fn new(root: &Path) -> Self {
        let dir = root.join("templates");
        let mut env = Environment::new();
        let override_dir = dir.clone();
        env.set_loader(move |name| source(&override_dir, name));
        // A pulled site's template may loop without end; a sitemap of a
        // million pages takes about 15 million instructions.
        env.set_fuel(Some(TEMPLATE_FUEL));
        // minijinja's own HTML escaping also escapes `/`, which turns every
        // URL into `https:&#x2f;&#x2f;...`; escape what HTML needs, no more.
        env.set_formatter(|out, state, value| {
            if state.auto_escape() == minijinja::AutoEscape::None || value.is_safe() {
                return minijinja::escape_formatter(out, state, value);
            }
            match value.as_str() {
                Some(text) => out
                    .write_str(&crate::markdown::escape(text))
                    .map_err(Into::into),
                None => minijinja::escape_formatter(out, state, value),
            }
        });
        Templates { env, dir }
    }

    /// Every template rendering `name` may load, itself included, with its
    /// text, by name; `None` when that is not known from their text alone
    /// (a template named by a variable) or one cannot be read.
    pub fn loaded_by(&self, name: &str) -> Option<std::collections::BTreeMap<String, String>> {
        let mut found = std::collections::BTreeMap::new();
        let mut next = vec![name.to_owned()];
        while let Some(name) = next.pop() {
            if found.contains_key(&name) {
                continue;
            }
            let text = source(&self.dir, &name).ok()??;
            next.extend(named_templates(&text)?.into_iter().map(str::to_owned));
            found.insert(name, text);
        }
        Some(found)
    }

    /// Render template `name` with `context`; errors name the template file and line.
    pub fn render(&self, name: &str, context: minijinja::Value) -> Result<String, Diagnostic> {
        let watched = super::template_watchdog::watch(&self.dir, name);
        let result = self.env.get_template(name).and_then(|t| t.render(context));
        drop(watched);
        result.map_err(|e| {
            let shown = shown(&self.dir, e.name().unwrap_or(name));
            let mut message = e.kind().to_string();
            if e.kind() == minijinja::ErrorKind::OutOfFuel {
                message = format!(
                    "stopped after {} million instructions (a loop without end, or one over far \
                     too much?); the page is not written",
                    TEMPLATE_FUEL / 1_000_000
                );
            }
            if let Some(detail) = e.detail() {
                message = format!("{message}: {detail}");
            }
            Diagnostic::error(shown, e.line().unwrap_or(0), 0, message)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_templates_are_literal_or_unknown() {
        assert_eq!(
            named_templates(
                "{% extends \"base.html\" %}{%- include 'nav.html' -%}{% import \"m.html\" as m %}\
                 {% from 'f.html' import a %}{% block x %}{% endblock %}"
            ),
            Some(vec!["base.html", "nav.html", "m.html", "f.html"])
        );
        for dynamic in [
            "{% extends layout %}",
            "{% include [\"a.html\", \"b.html\"] %}",
            "{% include \"a.html\" ignore missing %}",
            "{% include 'a' ~ name %}",
        ] {
            assert_eq!(named_templates(dynamic), None, "{dynamic}");
        }
    }

    #[test]
    fn a_post_loads_its_template_and_what_that_extends() {
        let site = tempfile::tempdir().unwrap();
        let templates = Templates::new(site.path());
        let loaded = templates.loaded_by("post.html").unwrap();
        assert_eq!(
            loaded.keys().collect::<Vec<_>>(),
            ["base.html", "post.html"]
        );
        std::fs::create_dir_all(site.path().join("templates")).unwrap();
        std::fs::write(
            site.path().join("templates/post.html"),
            "{% extends \"base.html\" %}{% include \"nav.html\" %}",
        )
        .unwrap();
        std::fs::write(site.path().join("templates/nav.html"), "nav").unwrap();
        let loaded = templates.loaded_by("post.html").unwrap();
        assert_eq!(
            loaded.keys().collect::<Vec<_>>(),
            ["base.html", "nav.html", "post.html"]
        );
        std::fs::remove_file(site.path().join("templates/nav.html")).unwrap();
        assert_eq!(templates.loaded_by("post.html"), None, "a missing include");
    }

    #[test]
    fn a_template_that_loops_without_end_stops_with_an_error_at_its_file() {
        let site = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(site.path().join("templates")).unwrap();
        std::fs::write(
            site.path().join("templates/post.html"),
            "{% for a in range(100000) %}{% for b in range(100000) %}{% for c in range(100000) %}\
             {% endfor %}{% endfor %}{% endfor %}",
        )
        .unwrap();
        let templates = Templates::new(site.path());
        let error = templates
            .render("post.html", minijinja::context! {})
            .unwrap_err();
        assert_eq!(error.file, "templates/post.html");
        assert!(error.message.contains("million instructions"), "{error}");
        // A sitemap of 100,000 pages is well within the limit.
        let urls: Vec<_> = (0..100_000)
            .map(|i| minijinja::context! { loc => format!("https://example.org/posts/{i}/"), lastmod => "2024-01-01" })
            .collect();
        let sitemap = templates
            .render("sitemap.xml", minijinja::context! { urls })
            .unwrap();
        assert_eq!(sitemap.matches("<url>").count(), 100_000);
    }

    #[test]
    #[cfg(unix)]
    fn a_template_reads_nothing_outside_templates_nor_through_a_link_nor_a_fifo() {
        let outside = tempfile::tempdir().unwrap();
        let secret = outside.path().join("secret.txt");
        std::fs::write(&secret, "SECRET").unwrap();
        let site = tempfile::tempdir().unwrap();
        let dir = site.path().join("templates");
        std::fs::create_dir_all(&dir).unwrap();
        let escapes = [
            secret.display().to_string(),
            format!("../../{}", secret.strip_prefix("/").unwrap().display()),
            "../site.toml".to_owned(),
            "a/../../x".to_owned(),
        ];
        for name in &escapes {
            let text = format!("<p>{{% include \"{name}\" %}}</p>");
            std::fs::write(dir.join("post.html"), text).unwrap();
            // A new set each time: a set keeps what it loaded.
            let rendered =
                Templates::new(site.path()).render("post.html", minijinja::Value::UNDEFINED);
            let problem = rendered.expect_err(name).to_string();
            assert!(
                problem.contains("not a path under templates/"),
                "{name}: {problem}"
            );
            assert!(!problem.contains("SECRET"), "{problem}");
        }
        // A link to a file outside, and a FIFO: not read (the FIFO would
        // never end), the theme's template serves for the link.
        std::fs::remove_file(dir.join("post.html")).unwrap();
        std::os::unix::fs::symlink(&secret, dir.join("post.html")).unwrap();
        let loaded = Templates::new(site.path()).loaded_by("post.html").unwrap();
        let theme = THEME.iter().find(|(n, _)| *n == "post.html").unwrap().1;
        assert_eq!(loaded["post.html"], theme);
        std::fs::remove_file(dir.join("post.html")).unwrap();
        let fifo = std::ffi::CString::new(dir.join("post.html").to_str().unwrap()).unwrap();
        // SAFETY: a valid C string naming a path in a folder of our own.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let problem = Templates::new(site.path())
            .render("post.html", minijinja::Value::UNDEFINED)
            .expect_err("a FIFO")
            .to_string();
        assert!(problem.contains("not a regular file"), "{problem}");
    }
}
