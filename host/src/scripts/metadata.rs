//! A script's docstring front matter.

use crate::diagnostics::Diagnostic;
use crate::macros::is_name;
use serde_json::{Map, Value};

/// What a script is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScriptKind {
    /// Expands `{{< name >}}` in pages.
    Macro,
    /// Rewrites posts before rendering.
    Transform,
    /// Renders one kind of Markdown element (a render hook).
    Hook,
    /// Makes pages and files from the site's data.
    Generator,
}

/// The Markdown elements a render hook may render.
pub const HOOK_ELEMENTS: [&str; 6] = [
    "link",
    "image",
    "heading",
    "codeblock",
    "table",
    "blockquote",
];

/// The capabilities a script may declare in `needs:` (DESIGN §11).
pub const CAPABILITIES: [&str; 2] = ["fetch", "images"];

/// One script and its settings.
#[derive(Clone, Debug)]
pub struct Script {
    /// File stem.
    pub slug: String,
    /// Path relative to the site.
    pub path: String,
    /// Macro or transform.
    pub kind: ScriptKind,
    /// The macro's name (default: the slug).
    pub name: String,
    /// The function to call.
    pub entrypoint: String,
    /// Disabled scripts never run.
    pub enabled: bool,
    /// The author's version number.
    pub version: i64,
    /// One line about it.
    pub description: String,
    /// Pass page metadata in the context.
    pub uses_page: bool,
    /// Win over a built-in macro of the same name.
    pub overrides_builtin: bool,
    /// Render the returned HTML as Markdown.
    pub markdown: bool,
    /// Transforms run by `order` (lowest first), then by name.
    pub order: i64,
    /// Own time limit, capped by the site's.
    pub timeout_ms: Option<u64>,
    /// Own fuel limit, capped by the site's.
    pub fuel: Option<u64>,
    /// Own memory limit in MiB, capped by the site's.
    pub memory_mb: Option<usize>,
    /// HTML shown when the macro fails.
    pub fallback: Option<String>,
    /// A hook's element (one of [`HOOK_ELEMENTS`]).
    pub hook: Option<&'static str>,
    /// A code block hook's languages (empty: every code block).
    pub languages: Vec<String>,
    /// The capabilities it declares it needs (see [`CAPABILITIES`]); the
    /// site grants them in `[capabilities]`.
    pub needs: Vec<&'static str>,
    /// False when the front matter cannot be read: the script is listed,
    /// never run.
    pub valid: bool,
    /// The Python source.
    pub source: String,
    /// SHA-256 of the file.
    pub content_hash: String,
}

impl Script {
    /// Whether this script may run as a macro.
    pub fn is_runnable_macro(&self) -> bool {
        self.valid && self.enabled && self.kind == ScriptKind::Macro
    }

    /// Whether this script may run as a transform.
    pub fn is_runnable_transform(&self) -> bool {
        self.valid && self.enabled && self.kind == ScriptKind::Transform
    }

    /// Whether this script may run as a render hook (it names its element).
    pub fn is_runnable_hook(&self) -> bool {
        self.valid && self.enabled && self.kind == ScriptKind::Hook && self.hook.is_some()
    }

    /// Whether this script may run as a generator.
    pub fn is_runnable_generator(&self) -> bool {
        self.valid && self.enabled && self.kind == ScriptKind::Generator
    }
}

/// The docstring's text and the file line it starts on, if the module opens
/// with one.
fn docstring(source: &str) -> Option<(&str, usize)> {
    let mut offset = 0;
    for line in source.split_inclusive('\n') {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            offset += line.len();
            continue;
        }
        let start = offset + (line.len() - line.trim_start().len());
        let rest = &source[start..];
        let rest = rest.strip_prefix(['r', 'R']).unwrap_or(rest);
        let quote = ["\"\"\"", "'''"]
            .into_iter()
            .find(|q| rest.starts_with(q))?;
        let body = &rest[3..];
        let end = body.find(quote)?;
        let first_line = source[..start].matches('\n').count() + 1;
        return Some((&body[..end], first_line));
    }
    None
}

/// Parse the script at `path` from its bytes; problems become warnings (or
/// an error for a script that cannot run at all).
pub fn parse(path: &str, bytes: &[u8]) -> (Script, Vec<Diagnostic>) {
    let mut script = default_script(path, bytes);
    let source = match crate::input::utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            script.valid = false;
            return (script, vec![e.to_diagnostic(path)]);
        }
    };
    script.source = source.to_owned();
    let read = front_matter(path, source).and_then(|yaml| Ok((read_fields(path, &yaml)?, yaml)));
    let (fields, yaml) = match read {
        Ok(read) => read,
        Err(diagnostic) => {
            // A warning leaves the defaults, which can run; an error is front
            // matter that cannot be read, so the script must not run.
            if diagnostic.severity == crate::diagnostics::Severity::Error {
                script.valid = false;
            }
            return (script, vec![diagnostic]);
        }
    };
    let mut diagnostics = apply_fields(&mut script, &fields, path, &yaml);
    if script.kind == ScriptKind::Hook && script.hook.is_none() {
        diagnostics.push(Diagnostic::warning(
            path,
            yaml.line_of("kind"),
            1,
            format!(
                "a hook names the element it renders (`hook: {}`); it will not run",
                HOOK_ELEMENTS.join(" | ")
            ),
        ));
    }
    (script, diagnostics)
}

/// The script at `path` with every setting at its default, named after its
/// file.
fn default_script(path: &str, bytes: &[u8]) -> Script {
    let slug = path
        .rsplit('/')
        .next()
        .unwrap_or(path)
        .trim_end_matches(".py")
        .to_owned();
    Script {
        slug: slug.clone(),
        path: path.to_owned(),
        kind: ScriptKind::Macro,
        name: slug,
        entrypoint: "render".into(),
        enabled: true,
        version: 1,
        description: String::new(),
        uses_page: false,
        overrides_builtin: false,
        markdown: false,
        order: 0,
        timeout_ms: None,
        fuel: None,
        memory_mb: None,
        fallback: None,
        hook: None,
        languages: Vec::new(),
        needs: Vec::new(),
        valid: true,
        source: String::new(),
        content_hash: crate::input::content_hash(bytes),
    }
}

/// The YAML between the docstring's `---` lines.
struct FrontMatter<'a> {
    /// The YAML text.
    yaml: &'a str,
    /// The file line the YAML text starts on.
    first_line: usize,
}

impl FrontMatter<'_> {
    /// The file line on which `key` is set (the first line if not found).
    fn line_of(&self, key: &str) -> usize {
        self.yaml
            .lines()
            .position(|l| l.trim_start().starts_with(&format!("{key}:")))
            .map_or(self.first_line, |i| self.first_line + i)
    }
}

/// The docstring's front matter, or a warning (none there) or an error (one
/// never closed).
fn front_matter<'a>(path: &str, source: &'a str) -> Result<FrontMatter<'a>, Diagnostic> {
    let Some((doc, doc_line)) = docstring(source) else {
        return Err(Diagnostic::warning(
            path,
            1,
            1,
            "no docstring front matter; using the defaults (a macro named after the file)",
        ));
    };
    let mut lines = doc
        .lines()
        .enumerate()
        .skip_while(|(_, l)| l.trim().is_empty());
    if lines.next().is_none_or(|(_, l)| l.trim() != "---") {
        return Err(Diagnostic::warning(
            path,
            doc_line,
            1,
            "the docstring has no `---` front matter; using the defaults",
        ));
    }
    let yaml_start = doc.find("---").map_or(0, |i| i + 3);
    let yaml_end = doc[yaml_start..].find("\n---").map(|i| yaml_start + i);
    let Some(yaml_end) = yaml_end else {
        return Err(Diagnostic::error(
            path,
            doc_line,
            1,
            "front matter opened with `---` is never closed; the script will not run",
        ));
    };
    Ok(FrontMatter {
        yaml: &doc[yaml_start..yaml_end],
        first_line: doc_line + doc[..yaml_start].matches('\n').count(),
    })
}

/// The front matter's fields, or the error that keeps them from being read.
fn read_fields(
    path: &str,
    front_matter: &FrontMatter<'_>,
) -> Result<Map<String, Value>, Diagnostic> {
    let yaml_line = front_matter.first_line;
    if let Err(line) = crate::content::front_matter::yaml_flow_depth_ok(front_matter.yaml) {
        return Err(Diagnostic::error(
            path,
            yaml_line + line - 1,
            1,
            format!(
                "invalid YAML front matter (nested deeper than {} levels); the script will not run",
                crate::content::front_matter::MAX_YAML_DEPTH
            ),
        ));
    }
    match crate::content::yaml_budget::from_str(front_matter.yaml) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(Value::Null) => Ok(Map::new()),
        Ok(_) => Err(Diagnostic::error(
            path,
            yaml_line + 1,
            1,
            "the front matter must be a table of fields; the script will not run",
        )),
        Err(e) => {
            let line = e.location().map_or(yaml_line, |l| yaml_line + l.line() - 1);
            Err(Diagnostic::error(
                path,
                line,
                1,
                format!("invalid YAML front matter ({e}); the script will not run"),
            ))
        }
    }
}

/// The warnings, in line order, for the `fields` that cannot be used; the
/// others are set on `script`.
fn apply_fields(
    script: &mut Script,
    fields: &Map<String, Value>,
    path: &str,
    front_matter: &FrontMatter<'_>,
) -> Vec<Diagnostic> {
    let has_entrypoint = fields.contains_key("entrypoint");
    let mut diagnostics = Vec::new();
    for (key, value) in fields {
        if let Some(message) = apply_field(script, key, value, has_entrypoint) {
            diagnostics.push(Diagnostic::warning(
                path,
                front_matter.line_of(key),
                1,
                message,
            ));
        }
    }
    diagnostics.sort_by_key(|d| d.line);
    diagnostics
}

/// The warning for `key: value` if it cannot be used; otherwise it is set on
/// `script`.
fn apply_field(
    script: &mut Script,
    key: &str,
    value: &Value,
    has_entrypoint: bool,
) -> Option<String> {
    match key {
        "kind" => match value.as_str() {
            Some("macro") => script.kind = ScriptKind::Macro,
            Some("transform") => {
                script.kind = ScriptKind::Transform;
                if !has_entrypoint {
                    script.entrypoint = "transform".into();
                }
            }
            Some("hook") => script.kind = ScriptKind::Hook,
            Some("generator") => {
                script.kind = ScriptKind::Generator;
                if !has_entrypoint {
                    script.entrypoint = "generate".into();
                }
            }
            _ => {
                return Some(format!(
                    "`kind` must be macro, transform, hook or generator, found {value}; using macro"
                ));
            }
        },
        "hook" => match value
            .as_str()
            .and_then(|v| HOOK_ELEMENTS.iter().find(|e| **e == v))
        {
            Some(element) => script.hook = Some(element),
            None => {
                return Some(format!(
                    "`hook` must be one of {}, found {value}; the hook will not run",
                    HOOK_ELEMENTS.join(", ")
                ));
            }
        },
        "languages" => match value.as_array().map(|a| {
            a.iter()
                .map(|l| l.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
        }) {
            Some(Some(languages)) => script.languages = languages,
            _ => {
                return Some(format!(
                    "`languages` must be a list of names, found {value}; every code block is hooked"
                ));
            }
        },
        "needs" => return apply_needs(script, value),
        "name" => match value.as_str().filter(|s| is_name(s)) {
            Some(name) => script.name = name.to_owned(),
            None => {
                return Some(format!(
                    "`name` must be a macro name, found {value}; using `{}`",
                    script.slug
                ));
            }
        },
        "entrypoint" => match value.as_str().filter(|s| is_name(s)) {
            Some(name) => script.entrypoint = name.to_owned(),
            None => {
                return Some(format!(
                    "`entrypoint` must be a function name, found {value}; using `{}`",
                    script.entrypoint
                ));
            }
        },
        "overrides" => match value.as_str() {
            Some("builtin") => script.overrides_builtin = true,
            _ => {
                return Some(format!(
                    "`overrides` can only be `builtin`, found {value}; ignored"
                ));
            }
        },
        "description" => {
            script.description = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
        }
        "fallback" => match value.as_str() {
            Some(html) => script.fallback = Some(html.to_owned()),
            None => {
                return Some(format!(
                    "`fallback` must be a string of HTML, found {value}; ignored"
                ));
            }
        },
        _ => return apply_flag_or_number(script, key, value),
    }
    None
}

/// The warning for a `needs:` that is not a list of capabilities, or
/// names one this host does not know (it is left out: a call that uses it
/// is denied).
fn apply_needs(script: &mut Script, value: &Value) -> Option<String> {
    let Some(names) = value.as_array() else {
        return Some(format!(
            "`needs` must be a list such as [fetch], found {value}; ignored"
        ));
    };
    let mut unknown = Vec::new();
    for name in names {
        match CAPABILITIES.iter().find(|c| name.as_str() == Some(**c)) {
            Some(known) if !script.needs.contains(known) => script.needs.push(known),
            Some(_) => {}
            None => unknown.push(name.to_string()),
        }
    }
    (!unknown.is_empty()).then(|| {
        format!(
            "`needs` names {} which this host does not know (it knows {}); ignored",
            unknown.join(", "),
            CAPABILITIES.join(", ")
        )
    })
}

/// The warning for a flag, number or limit `key: value` (or an unknown
/// `key`) if it cannot be used; otherwise it is set on `script`.
fn apply_flag_or_number(script: &mut Script, key: &str, value: &Value) -> Option<String> {
    match key {
        "enabled" | "uses_page" | "uses_call" | "markdown" => match value.as_bool() {
            Some(b) => match key {
                "enabled" => script.enabled = b,
                "uses_page" => script.uses_page = b,
                // Once needed for `ctx.call`'s position, which every
                // script now gets on demand; still accepted so that
                // older scripts check clean.
                "uses_call" => {}
                _ => script.markdown = b,
            },
            None => {
                return Some(format!(
                    "`{key}` must be true or false, found {value}; using the default"
                ));
            }
        },
        "version" | "order" => match value.as_i64() {
            Some(v) if key == "version" => script.version = v,
            Some(v) => script.order = v,
            None => {
                return Some(format!(
                    "`{key}` must be a whole number, found {value}; using {}",
                    if key == "version" { 1 } else { 0 }
                ));
            }
        },
        "timeout_ms" | "fuel" | "memory_mb" => match value.as_u64().filter(|v| *v > 0) {
            Some(v) => match key {
                "timeout_ms" => script.timeout_ms = Some(v),
                "fuel" => script.fuel = Some(v),
                _ => script.memory_mb = usize::try_from(v).ok(),
            },
            None => {
                return Some(format!(
                    "`{key}` must be a positive whole number, found {value}; using the site's limit"
                ));
            }
        },
        other => return Some(format!("unknown field `{other}`; ignored")),
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_front_matter() {
        let src = "\"\"\"\n---\nkind: macro\nname: badge\nentrypoint: draw\nenabled: false\nversion: 3\nuses_page: true\ntimeout_ms: 200\nfallback: \"<span>?</span>\"\noverrides: builtin\n---\n\"\"\"\ndef draw(ctx):\n    return ''\n";
        let (s, d) = parse("scripts/b.py", src.as_bytes());
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(
            (s.name.as_str(), s.entrypoint.as_str(), s.enabled, s.version),
            ("badge", "draw", false, 3)
        );
        assert!(s.uses_page && s.overrides_builtin && s.valid);
        assert_eq!(s.timeout_ms, Some(200));
        assert_eq!(s.fallback.as_deref(), Some("<span>?</span>"));
    }

    #[test]
    fn bad_values_fall_back_with_warnings_naming_the_line() {
        let src = "# comment\n\"\"\"\n---\nkind: gizmo\ntimeout_ms: -5\nmystery: 1\n---\n\"\"\"\n";
        let (s, d) = parse("scripts/x.py", src.as_bytes());
        assert!(s.valid);
        assert_eq!(s.kind, ScriptKind::Macro);
        let lines: Vec<usize> = d.iter().map(|d| d.line).collect();
        assert_eq!(lines, [4, 5, 6], "{d:?}");
    }

    #[test]
    fn unreadable_front_matter_marks_the_script_invalid() {
        let (s, d) = parse("scripts/x.py", b"\"\"\"\n---\nkind: [macro\n---\n\"\"\"\n");
        assert!(!s.valid);
        assert_eq!(d[0].severity, crate::diagnostics::Severity::Error);
        let (s, _) = parse("scripts/x.py", b"\"\"\"\n---\nkind: macro\n\"\"\"\n");
        assert!(!s.valid);
    }

    #[test]
    fn hooks_and_generators() {
        let src =
            "\"\"\"\n---\nkind: hook\nhook: codeblock\nlanguages: [mermaid, chart]\n---\n\"\"\"\n";
        let (s, d) = parse("scripts/h.py", src.as_bytes());
        assert!(d.is_empty(), "{d:?}");
        assert!(s.is_runnable_hook());
        assert_eq!(
            (s.hook, s.entrypoint.as_str()),
            (Some("codeblock"), "render")
        );
        assert_eq!(s.languages, ["mermaid", "chart"]);
        let (s, d) = parse("scripts/h.py", b"\"\"\"\n---\nkind: hook\n---\n\"\"\"\n");
        assert!(!s.is_runnable_hook());
        assert_eq!(d.len(), 1);
        assert!(d[0].message.contains("names the element"), "{d:?}");
        let (s, d) = parse(
            "scripts/h.py",
            b"\"\"\"\n---\nkind: hook\nhook: footer\n---\n\"\"\"\n",
        );
        assert!(!s.is_runnable_hook() && d.len() == 2, "{d:?}");
        let (s, d) = parse(
            "scripts/g.py",
            b"\"\"\"\n---\nkind: generator\n---\n\"\"\"\n",
        );
        assert!(d.is_empty() && s.is_runnable_generator());
        assert_eq!(s.entrypoint, "generate");
    }

    #[test]
    fn no_docstring_means_defaults() {
        let (s, d) = parse("scripts/plain.py", b"def render(ctx):\n    return ''\n");
        assert_eq!((s.name.as_str(), s.valid), ("plain", true));
        assert_eq!(d.len(), 1);
    }
}
