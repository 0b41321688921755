//! What a served page learns from the server: reload after a render, and
//! the render's problems as an overlay. Only served pages get this script;
//! the files a render writes never hold it.

use crate::diagnostics::Diagnostic;

/// `problems` as the JSON list that pages and the event stream show.
pub fn problems_json(problems: &[Diagnostic]) -> String {
    serde_json::to_string(problems).unwrap_or_else(|_| "[]".into())
}

/// The URL of the server's event stream.
pub const EVENTS_PATH: &str = "/_blogmark/events";

/// The script that shows the problems the page was served with at once,
/// then listens to the event stream: `problems` shows or hides the
/// overlay; `reload` reloads the page when the render changed its file or
/// something it may load (a style sheet, a script, an image, a font), or
/// always for a page served in place of a missing one. `PROBLEMS` stands
/// for the JSON list, `SELF` for the page's file (JSON, `null` for the
/// 404 page).
const SCRIPT: &str = r#"<script data-blogmark-serve>
(() => {
  const show = (problems) => {
    let overlay = document.getElementById("blogmark-overlay");
    if (problems.length === 0) {
      if (overlay) overlay.remove();
      return;
    }
    if (!overlay) {
      overlay = document.createElement("div");
      overlay.id = "blogmark-overlay";
      overlay.setAttribute("role", "alert");
      overlay.style.cssText = "position:fixed;inset:auto 0 0 0;max-height:50vh;overflow:auto;" +
        "margin:0;padding:1rem;background:#2b0b0b;color:#ffd7d7;font:14px/1.4 monospace;z-index:2147483647";
      document.body.appendChild(overlay);
    }
    overlay.replaceChildren(...problems.map((p) => {
      const line = document.createElement("div");
      line.className = "blogmark-problem";
      // As `Diagnostic::place` writes it: a line or column of 0 is left out.
      const place = p.line ? (p.column ? `${p.file}:${p.line}:${p.column}` : `${p.file}:${p.line}`) : p.file;
      line.textContent = `${place}: ${p.severity}: ${p.message}`;
      return line;
    }));
  };
  show(PROBLEMS);
  const events = new EventSource("/_blogmark/events");
  const self = SELF;
  const asset = /\.(css|js|mjs|png|jpe?g|gif|svg|webp|avif|ico|woff2?|ttf|otf)$/i;
  events.addEventListener("reload", (event) => {
    let changed = null;
    try { changed = JSON.parse(event.data).changed; } catch (_) { /* reload */ }
    if (!Array.isArray(changed) || self === null || changed.includes(self) ||
        changed.some((path) => asset.test(path))) {
      location.reload();
    }
  });
  events.addEventListener("problems", (event) => show(JSON.parse(event.data)));
})();
</script>
"#;

/// `html`, the page served from the file `file` (relative to the output
/// folder; `None` for the 404 page), with the script before its `</body>`
/// (at its end when it has none), showing `problems` (a JSON list of
/// diagnostics, see `problems_json`) from the start.
pub fn inject(html: &str, problems: &str, file: Option<&str>) -> String {
    // Inside a script element, `</` could end it early.
    let json = |value: String| value.replace("</", "<\\/");
    let problems = json(problems.to_owned());
    let file = json(serde_json::to_string(&file).unwrap_or_else(|_| "null".into()));
    let script = SCRIPT.replace("PROBLEMS", &problems).replace("SELF", &file);
    let at = html.rfind("</body>").unwrap_or(html.len());
    let mut out = String::with_capacity(html.len() + script.len());
    out.push_str(&html[..at]);
    out.push_str(&script);
    out.push_str(&html[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_goes_before_the_body_ends() {
        let page = inject(
            "<html><body><p>x</p></body></html>",
            "[]",
            Some("index.html"),
        );
        assert!(page.starts_with("<html><body><p>x</p><script data-blogmark-serve>"));
        assert!(page.ends_with("</script>\n</body></html>"));
        assert!(page.contains("show([]);"), "{page}");
        assert!(page.contains(r#"const self = "index.html";"#), "{page}");
        assert!(inject("<p>bare</p>", "[]", None).starts_with("<p>bare</p><script"));
        assert!(inject("<p>bare</p>", "[]", None).contains("const self = null;"));
        let tricky = Diagnostic::error("a.md", 1, 1, "</script><b>");
        let page = inject(
            "<body></body>",
            &problems_json(&[tricky]),
            Some("a</script>.html"),
        );
        assert!(page.contains(r#""message":"<\/script><b>""#), "{page}");
        assert_eq!(page.matches("</script>").count(), 1, "{page}");
        assert!(page.contains(r#""a<\/script>.html""#), "{page}");
    }
}
