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
        env.set_loader(move |name| {
            let file = override_dir.join(name);
            // A link is never followed (`crate::symlinks` reports it): the
            // theme's template serves instead.
            let linked = crate::input::is_link(&override_dir)
                || Path::new(name)
                    .ancestors()
                    .filter(|a| !a.as_os_str().is_empty())
                    .any(|a| crate::input::is_link(&override_dir.join(a)));
            match std::fs::read_to_string(&file) {
                Ok(_) if linked => {}
                Ok(text) => return Ok(Some(text)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(minijinja::Error::new(
                        minijinja::ErrorKind::InvalidOperation,
                        format!("cannot read templates/{name}: {e}"),
                    ));
                }
            }
            Ok(THEME
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, t)| (*t).to_owned()))
        });
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

    /// Render template `name` with `context`; errors name the template file and line.
    pub fn render(&self, name: &str, context: minijinja::Value) -> Result<String, Diagnostic> {
        let result = self.env.get_template(name).and_then(|t| t.render(context));
        result.map_err(|e| {
            let file = e.name().unwrap_or(name);
            let shown = if self.dir.join(file).exists() {
                format!("templates/{file}")
            } else {
                format!("<built-in theme>/{file}")
            };
            let mut message = e.kind().to_string();
            if let Some(detail) = e.detail() {
                message = format!("{message}: {detail}");
            }
            Diagnostic::error(shown, e.line().unwrap_or(0), 0, message)
        })
    }
}
