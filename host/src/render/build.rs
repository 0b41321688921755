//! One build of a site: load, expand and render every page in parallel,
//! then the listings, feed and sitemap, then write.

use super::output::{Output, WriteReport};
use super::templates::{STYLE_CSS, Templates};
use crate::config::Config;
use crate::content::{self, Kind, Page};
use crate::diagnostics::{Diagnostic, Severity};
use crate::macros::builtins::Registry;
use crate::macros::expand::{Expander, IndexEntry, SiteIndex};
use crate::markdown;
use crate::store::Store;
use anyhow::Context as _;
use minijinja::context;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What to build and how.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// The site's directory.
    pub root: PathBuf,
    /// The output directory (default `<root>/public`).
    pub out: Option<PathBuf>,
    /// Include drafts.
    pub drafts: bool,
    /// Threads to render with (default: one per core).
    pub jobs: Option<usize>,
    /// Write the output (false: `host check`).
    pub write: bool,
    /// Show a progress bar (only drawn on a terminal).
    pub progress: bool,
    /// Use and fill the persistent macro result cache.
    pub use_cache: bool,
    /// Check internal links and anchors (`host check`).
    pub check_links: bool,
    /// Also check external links, with these options (`--external`).
    pub external_links: Option<crate::links::external::Options>,
}

/// What a build did.
#[derive(Debug, Default)]
pub struct BuildReport {
    /// Posts and pages rendered.
    pub pages: usize,
    /// Files in the output.
    pub files: usize,
    /// What writing did (nothing for `check`).
    pub written: WriteReport,
    /// Every warning and error, in file order.
    pub diagnostics: Vec<Diagnostic>,
    /// Macro calls expanded (built-in and Python).
    pub macro_calls: usize,
    /// Python macro calls that ran in the sandbox.
    pub sandbox_runs: usize,
    /// Python macro calls answered from a cache.
    pub cache_hits: usize,
    /// What each macro and transform did.
    pub macros: Vec<crate::stats::CallStats>,
    /// The sandbox's isolation and counters, when Python ran.
    pub sandbox: Option<crate::python::SandboxReport>,
    /// Wall time.
    pub elapsed: Duration,
}

impl BuildReport {
    /// Number of diagnostics of `severity`.
    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }
}

#[derive(Serialize)]
struct TagRef {
    name: String,
    slug: String,
}

#[derive(Serialize)]
struct Listed {
    title: String,
    url: String,
    date: Option<String>,
    summary: Option<String>,
}

/// Build the site described by `options`.
pub fn build(options: &BuildOptions) -> anyhow::Result<BuildReport> {
    let started = Instant::now();
    let root = &options.root;
    let config = Config::load(root).map_err(|d| anyhow::anyhow!("{d}"))?;
    let base = config.base_url();
    let loaded = content::load(root);
    let mut diagnostics = loaded.diagnostics;
    diagnostics.extend(crate::symlinks::report(root));
    // Every page goes into the database; drafts are rendered only on request.
    let all_pages = loaded.pages;
    let built: Vec<&Page> = all_pages
        .iter()
        .filter(|p| options.drafts || !p.draft)
        .collect();
    let (scripts, script_diagnostics) = crate::scripts::load(root);
    diagnostics.extend(script_diagnostics);
    // `check` reads a database that exists but never creates one.
    let mut store = if options.write || root.join(crate::store::DB_PATH).exists() {
        Some(Store::open(root)?)
    } else {
        None
    };
    let stored = match &store {
        Some(store) if options.use_cache => store.macro_results()?,
        _ => Default::default(),
    };
    let settings = crate::python::Settings::for_site(
        &config,
        crate::python::guest_clock(built.iter().copied()),
        options.use_cache,
    );
    let (python, python_diagnostics) = crate::python::Session::new(&scripts, settings, stored);
    diagnostics.extend(python_diagnostics);
    // Pages wait on Python macros while the sandbox's workers run them:
    // more render threads than cores keep the workers busy.
    let threads = options.jobs.unwrap_or_else(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        if !python.has_macros() && python.transforms().is_empty() {
            cores
        } else {
            cores * 4
        }
    });
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start the render threads")?;

    tracing::info!(
        pages = built.len(),
        scripts = scripts.len(),
        threads,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "site loaded"
    );
    let transformed = pool.install(|| transform_all(root, &python, &built));
    if !python.transforms().is_empty() {
        tracing::info!(
            transforms = python.transforms().len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "transforms applied"
        );
    }
    let mut pages: Vec<&Page> = Vec::with_capacity(built.len());
    for (page, (new, transform_diagnostics)) in built.iter().zip(&transformed) {
        let page = new.as_ref().unwrap_or(page);
        // A transform may mark a post as a draft.
        if options.drafts || !page.draft {
            pages.push(page);
        }
        diagnostics.extend(transform_diagnostics.iter().cloned());
    }
    // Newest first; undated posts last; ties by path so the order never
    // depends on the file system.
    pages.sort_by(|a, b| b.date.cmp(&a.date).then_with(|| a.path.cmp(&b.path)));

    let url = |page: &Page| format!("{base}{}", page.url_path().trim_start_matches('/'));
    let index = SiteIndex {
        entries: pages
            .iter()
            .map(|p| IndexEntry {
                path: p.path.clone(),
                slug: p.slug.clone(),
                title: p.title.clone(),
                url: url(p),
                date: p.date.map(|d| d.format("%Y-%m-%d").to_string()),
                is_post: p.kind == Kind::Post,
            })
            .collect(),
    };
    let registry = Registry::default();
    let templates = Templates::new(root);
    let site = context! {
        title => config.title.clone(),
        base_url => base.clone(),
        description => config.description.clone(),
        author => config.author.clone(),
    };
    let nav: Vec<Listed> = pages
        .iter()
        .filter(|p| p.kind == Kind::Page)
        .map(|p| Listed {
            title: p.title.clone(),
            url: url(p),
            date: None,
            summary: None,
        })
        .collect();

    let progress = progress_bar(options.progress, pages.len());
    let rendered: Vec<(String, String, Vec<Diagnostic>, usize)> = pool.install(|| {
        pages
            .par_iter()
            .map(|page| {
                let expander =
                    Expander::new(&registry, &index, &page.path).with_stats(python.stats());
                let expander = if !python.has_macros() {
                    expander
                } else {
                    expander.with_python(&python, page)
                };
                let expanded = expander.expand_page(&page.body, page.body_line);
                let mut diagnostics = expanded.diagnostics;
                let tags: Vec<TagRef> = page
                    .tags
                    .iter()
                    .map(|t| TagRef {
                        name: t.clone(),
                        slug: content::page::slugify(t),
                    })
                    .collect();
                let template = match page.kind {
                    Kind::Post => "post.html",
                    Kind::Page => "page.html",
                };
                let html = templates
                    .render(
                        template,
                        context! {
                            site => site.clone(),
                            nav => &nav,
                            page => context! {
                                title => &page.title,
                                date => page.date.map(|d| d.format("%Y-%m-%d").to_string()),
                                tags => tags,
                                summary => &page.summary,
                                extra => &page.extra,
                                url => url(page),
                                content => &expanded.html,
                                toc => markdown::toc_html(&expanded.headings),
                                headings => &expanded.headings,
                            },
                        },
                    )
                    .unwrap_or_else(|d| {
                        diagnostics.push(d);
                        String::new()
                    });
                progress.inc(1);
                (expanded.html, html, diagnostics, expanded.macro_calls)
            })
            .collect()
    });
    progress.finish_and_clear();
    tracing::info!(
        pages = pages.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "pages rendered"
    );

    let mut output = Output::default();
    let mut macro_calls = 0;
    let mut contents = Vec::with_capacity(pages.len());
    let mut sources = std::collections::HashMap::new();
    for (page, (content_html, html, page_diagnostics, calls)) in pages.iter().zip(rendered) {
        diagnostics.extend(page_diagnostics);
        macro_calls += calls;
        let path = format!("{}index.html", page.url_path().trim_start_matches('/'));
        if options.check_links {
            sources.insert(
                path.clone(),
                crate::links::PageSource {
                    file: page.path.clone(),
                    body: page.body.clone(),
                    body_line: page.body_line,
                },
            );
        }
        output.add(path, html);
        contents.push(content_html);
    }

    let posts: Vec<(&Page, &String)> = pages
        .iter()
        .copied()
        .zip(&contents)
        .filter(|(p, _)| p.kind == Kind::Post)
        .collect();
    let listed = |p: &Page| Listed {
        title: p.title.clone(),
        url: url(p),
        date: p.date.map(|d| d.format("%Y-%m-%d").to_string()),
        summary: p.summary.clone(),
    };
    let mut render_into =
        |output: &mut Output, path: String, template: &str, ctx: minijinja::Value| match templates
            .render(template, ctx)
        {
            Ok(text) => output.add(path, text),
            Err(d) => diagnostics.push(d),
        };

    let per_page = config.paginate.max(1);
    let chunks: Vec<&[(&Page, &String)]> = if posts.is_empty() {
        vec![&[][..]]
    } else {
        posts.chunks(per_page).collect()
    };
    let total = chunks.len();
    let page_url = |n: usize| {
        if n == 1 {
            base.clone()
        } else {
            format!("{base}page/{n}/")
        }
    };
    for (i, chunk) in chunks.iter().enumerate() {
        let n = i + 1;
        let path = if n == 1 {
            "index.html".to_owned()
        } else {
            format!("page/{n}/index.html")
        };
        let ctx = context! {
            site => site.clone(),
            nav => &nav,
            posts => chunk.iter().map(|(p, _)| listed(p)).collect::<Vec<_>>(),
            paginator => context! {
                current => n,
                total => total,
                previous => (n > 1).then(|| page_url(n - 1)),
                next => (n < total).then(|| page_url(n + 1)),
            },
        };
        render_into(&mut output, path, "index.html", ctx);
    }

    let mut tags: BTreeMap<String, (String, Vec<&Page>)> = BTreeMap::new();
    for (post, _) in &posts {
        for tag in &post.tags {
            tags.entry(content::page::slugify(tag))
                .or_insert_with(|| (tag.clone(), Vec::new()))
                .1
                .push(post);
        }
    }
    let tag_list: Vec<_> = tags
        .iter()
        .map(|(slug, (name, posts))| context! { name => name, slug => slug, count => posts.len() })
        .collect();
    render_into(
        &mut output,
        "tags/index.html".into(),
        "tags.html",
        context! { site => site.clone(), nav => &nav, tags => tag_list },
    );
    for (slug, (name, tagged)) in &tags {
        let ctx = context! {
            site => site.clone(),
            nav => &nav,
            tag => context! { name => name, slug => slug },
            posts => tagged.iter().map(|p| listed(p)).collect::<Vec<_>>(),
        };
        render_into(
            &mut output,
            format!("tags/{slug}/index.html"),
            "tag.html",
            ctx,
        );
    }
    render_into(
        &mut output,
        "404.html".into(),
        "404.html",
        context! { site => site.clone(), nav => &nav },
    );

    let updated = posts
        .iter()
        .filter_map(|(p, _)| p.date)
        .max()
        .map(|d| d.to_rfc3339())
        .unwrap_or_else(|| "1970-01-01T00:00:00+00:00".into());
    let feed: Vec<_> = posts
        .iter()
        .take(20)
        .map(|(p, html)| {
            context! {
                title => &p.title,
                permalink => url(p),
                updated => p.date.map(|d| d.to_rfc3339()).unwrap_or_else(|| updated.clone()),
                content => html,
            }
        })
        .collect();
    render_into(
        &mut output,
        "atom.xml".into(),
        "atom.xml",
        context! { site => site.clone(), posts => feed, updated => &updated },
    );
    let mut urls = vec![context! { loc => base.clone() }];
    urls.extend(pages.iter().map(
        |p| context! { loc => url(p), lastmod => p.date.map(|d| d.format("%Y-%m-%d").to_string()) },
    ));
    urls.extend(
        tags.keys()
            .map(|slug| context! { loc => format!("{base}tags/{slug}/") }),
    );
    render_into(
        &mut output,
        "sitemap.xml".into(),
        "sitemap.xml",
        context! { urls => urls },
    );

    output.add("style.css", STYLE_CSS);
    output.add("syntax.css", syntax_css());
    copy_static(root, &mut output, &mut diagnostics);
    if options.check_links {
        let templates = site_templates(root);
        let base_url = config.base_url();
        let site = crate::links::Site {
            files: output.files(),
            sources: &sources,
            templates: &templates,
            base_url: &base_url,
        };
        let (broken, external) = crate::links::check(&site);
        diagnostics.extend(broken);
        if let Some(external_options) = &options.external_links {
            diagnostics.extend(crate::links::external::check(
                root,
                &external,
                external_options,
            ));
        }
    }

    diagnostics.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    let (sandbox_runs, cache_hits) = python.counts();
    let mut report = BuildReport {
        pages: pages.len(),
        files: output.len(),
        diagnostics,
        macro_calls,
        sandbox_runs,
        cache_hits,
        macros: python.stats().snapshot(),
        sandbox: python.sandbox_report(),
        ..BuildReport::default()
    };
    if options.write {
        let out = options.out.clone().unwrap_or_else(|| root.join("public"));
        report.written = output
            .write(&out)
            .with_context(|| format!("cannot write {}", out.display()))?;
        let store = store.as_mut().expect("the store is open when writing");
        store.sync_posts(&all_pages)?;
        store.sync_scripts(&crate::scripts::rows(root, &scripts))?;
        if options.use_cache {
            store.update_macro_results(
                &python.take_new_results(),
                &python.live_scripts(),
                python.guest_build(),
            )?;
        }
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        let run = crate::store::RunRecord {
            pages: count(report.pages),
            warnings: count(report.count(Severity::Warning)),
            errors: count(report.count(Severity::Error)),
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            macro_calls: count(report.macro_calls),
            sandbox_runs: count(report.sandbox_runs),
            cache_hits: count(report.cache_hits),
        };
        store.record_run(&run, &report.macros)?;
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Run the site's transforms over `pages`, in parallel: for each page, the
/// changed page (if a transform changed it) and the transforms' diagnostics.
fn transform_all(
    root: &std::path::Path,
    python: &crate::python::Session,
    pages: &[&Page],
) -> Vec<(Option<Page>, Vec<Diagnostic>)> {
    if python.transforms().is_empty() {
        return pages.iter().map(|_| (None, Vec::new())).collect();
    }
    pages
        .par_iter()
        .map(|page| {
            // Transforms rewrite the file's text, so they start from it.
            let read =
                crate::input::read_text(&root.join(&page.path), crate::input::MAX_POST_BYTES);
            let text = match read {
                Ok(text) => text,
                Err(e) => return (None, vec![e.to_diagnostic(&page.path)]),
            };
            // The rest of the render uses the page as it was loaded: a file
            // edited since then would be transformed from other text.
            if crate::input::content_hash(text.as_bytes()) != page.content_hash {
                let changed = Diagnostic::warning(
                    &page.path,
                    0,
                    0,
                    "changed while the site was rendering: transforms skipped; render again"
                        .to_string(),
                );
                return (None, vec![changed]);
            }
            let applied =
                crate::transforms::apply(python, python.transforms(), page.kind, &page.path, &text);
            let page = applied.page.map(|mut new| {
                // Diagnostics name lines of the file on disk: while the body
                // is the file's, so are its line numbers.
                if new.body == page.body {
                    new.body_line = page.body_line;
                }
                new
            });
            (page, applied.diagnostics)
        })
        .collect()
}

fn progress_bar(enabled: bool, len: usize) -> indicatif::ProgressBar {
    if !enabled {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} rendering {pos}/{len} pages {wide_bar} {elapsed}",
    ) {
        bar.set_style(style);
    }
    bar
}

fn copy_static(root: &std::path::Path, output: &mut Output, diagnostics: &mut Vec<Diagnostic>) {
    let dir = root.join("static");
    if !dir.is_dir() {
        return;
    }
    for entry in walkdir::WalkDir::new(&dir)
        .min_depth(1)
        .follow_root_links(false)
    {
        match entry {
            Ok(entry) if entry.file_type().is_file() => {
                let relative = content::relative_path(&dir, entry.path());
                match std::fs::read(entry.path()) {
                    Ok(bytes) => output.add(relative, bytes),
                    Err(e) => diagnostics.push(Diagnostic::error(
                        format!("static/{relative}"),
                        0,
                        0,
                        format!("cannot read: {e}"),
                    )),
                }
            }
            Ok(_) => {}
            Err(e) => diagnostics.push(Diagnostic::error(
                "static",
                0,
                0,
                format!("cannot read: {e}"),
            )),
        }
    }
}

/// The site's own templates, by their path in the site, to find links in
/// (links are not followed, as everywhere).
fn site_templates(root: &std::path::Path) -> Vec<(String, String)> {
    let dir = root.join("templates");
    walkdir::WalkDir::new(&dir)
        .follow_root_links(false)
        .sort_by_file_name()
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| {
            let text = std::fs::read_to_string(e.path()).ok()?;
            Some((content::relative_path(root, e.path()), text))
        })
        .collect()
}

fn syntax_css() -> String {
    let themes = syntect::highlighting::ThemeSet::load_defaults();
    themes
        .themes
        .get("InspiredGitHub")
        .and_then(|theme| {
            syntect::html::css_for_theme_with_class_style(
                theme,
                syntect::html::ClassStyle::SpacedPrefixed {
                    prefix: markdown::HIGHLIGHT_CLASS_PREFIX,
                },
            )
            .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::page;
    use std::time::Duration;

    #[test]
    fn a_post_edited_during_the_render_is_not_transformed_from_its_new_text() {
        let site = tempfile::tempdir().unwrap();
        let post = "content/posts/a.md";
        let loaded = "+++\ntitle = \"A\"\n+++\nAs loaded.\n";
        std::fs::create_dir_all(site.path().join("content/posts")).unwrap();
        std::fs::write(site.path().join(post), loaded).unwrap();
        let page = page::parse(Kind::Post, post, loaded.as_bytes()).unwrap();
        std::fs::write(
            site.path().join(post),
            loaded.replace("As loaded", "Edited"),
        )
        .unwrap();
        std::fs::create_dir_all(site.path().join("scripts")).unwrap();
        std::fs::write(
            site.path().join("scripts/same.py"),
            "\"\"\"\n---\nkind: transform\n---\n\"\"\"\ndef transform(ctx):\n    return ctx.post\n",
        )
        .unwrap();
        let (scripts, problems) = crate::scripts::load(site.path());
        assert!(problems.is_empty(), "{problems:?}");
        let config = Config::parse("title = \"t\"\nbase_url = \"https://example.org/\"\n").unwrap();
        let settings = crate::python::Settings::for_site(&config, Duration::ZERO, false);
        let (python, problems) =
            crate::python::Session::new(&scripts, settings, Default::default());
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(python.transforms().len(), 1);

        let out = transform_all(site.path(), &python, &[&page]);

        assert!(out[0].0.is_none(), "the page stays as loaded");
        let message = out[0].1.iter().map(|d| d.to_string()).collect::<String>();
        assert!(message.contains(post), "{message}");
        assert!(
            message.contains("changed while the site was rendering"),
            "{message}"
        );
    }
}
