//! Redirect pages at a page's old URLs (front matter `aliases`), written
//! as Hugo writes them: a meta refresh and a canonical link, kept out of
//! the feed and the sitemap.

use super::output::Output;
use super::site_context::SiteContext;
use crate::content::Page;
use crate::diagnostics::Diagnostic;
use std::collections::HashMap;

/// A redirect page for each alias of `pages`, after every other file of
/// the build is in `output`: an alias that would replace a file is an
/// error naming both owners.
pub(super) fn add_aliases(
    context: &SiteContext,
    pages: &[&Page],
    output: &mut Output,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let mut taken: HashMap<&str, &str> = pages
        .iter()
        .map(|p| (p.url.as_str(), p.path.as_str()))
        .collect();
    for page in pages {
        for alias in &page.aliases {
            let path = format!("{}index.html", alias.trim_start_matches('/'));
            let holder = match taken.get(alias.as_str()) {
                Some(owner) if *owner == page.path => Some("the page's own URL".to_owned()),
                Some(owner) => Some(format!("{owner} is published there")),
                None if output.files().contains_key(&path) => {
                    Some(format!("the site already writes `{path}`"))
                }
                None => path
                    .match_indices('/')
                    .map(|(end, _)| &path[..end])
                    .find(|file| output.files().contains_key(*file))
                    .map(|file| format!("the site writes a file at `{file}`, not a folder")),
            };
            if let Some(holder) = holder {
                diagnostics.push(Diagnostic::error(
                    &page.path,
                    1,
                    1,
                    format!("the alias `{alias}` cannot redirect: {holder}"),
                ));
                continue;
            }
            taken.insert(alias, &page.path);
            output.add(path, redirect(&context.url(page)));
        }
    }
}

/// A page that sends browsers and crawlers to `url`.
fn redirect(url: &str) -> String {
    let url = crate::markdown::escape(url);
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<title>{url}</title>\n\
         <link rel=\"canonical\" href=\"{url}\">\n<meta name=\"robots\" content=\"noindex\">\n\
         <meta charset=\"utf-8\">\n<meta http-equiv=\"refresh\" content=\"0; url={url}\">\n\
         </head>\n<body><p>This page moved to <a href=\"{url}\">{url}</a>.</p></body>\n</html>\n"
    )
}
