//! The site's content: posts and pages with their front matter.

pub mod front_matter;
mod kept;
pub mod page;
pub mod resources;
pub mod rewrite;
pub mod urls;
pub mod yaml_budget;

pub use kept::KeptContent;
pub use page::{Kind, Page};
pub use resources::Resource;

use crate::config::Permalinks;
use crate::diagnostics::Diagnostic;
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Everything loaded from `content/`, and what could not be.
#[derive(Clone, Debug, Default)]
pub struct Content {
    /// Posts and pages that loaded, sorted by path.
    pub pages: Vec<Page>,
    /// Files that failed to load, duplicate slugs, ...
    pub diagnostics: Vec<Diagnostic>,
}

/// Load the posts and pages of the site at `root`, published where its
/// site.toml's `[permalinks]` say (where their files sit when it has none
/// or does not load).
pub fn load(root: &Path) -> Content {
    let permalinks = crate::config::Config::load(root)
        .map(|config| config.permalinks)
        .unwrap_or_default();
    load_with(root, &permalinks)
}

/// Load `content/posts/**.md` and `content/pages/**.md` of the site at
/// `root`: a folder with an `index.md` is one page (a bundle) whose other
/// files are its resources.
pub fn load_with(root: &Path, permalinks: &Permalinks) -> Content {
    load_from(root, permalinks, None)
}

/// [`load_with`], each file read through `sources` when given (the
/// sources the last render kept).
pub fn load_from(
    root: &Path,
    permalinks: &Permalinks,
    sources: Option<&crate::source_files::SourceFiles>,
) -> Content {
    let mut content = Content::default();
    let mut resources: BTreeMap<String, Vec<Resource>> = BTreeMap::new();
    for (dir, kind) in [("content/posts", Kind::Post), ("content/pages", Kind::Page)] {
        let base = root.join(dir);
        // A link on the way (`content/` itself, or `content/posts/`) would
        // take the site's posts from outside it: skipped as every link is
        // (reported by `crate::symlinks`).
        if crate::site_paths::first_link(root, dir, true).is_some() || !base.is_dir() {
            continue;
        }
        // Links are skipped (reported by `crate::symlinks`), the folder's own too.
        let mut files: Vec<_> = walkdir::WalkDir::new(&base)
            .follow_root_links(false)
            .into_iter()
            .filter_map(|entry| match entry {
                Ok(entry) => Some(entry),
                Err(e) => {
                    content.diagnostics.push(Diagnostic::error(
                        dir,
                        0,
                        0,
                        format!("cannot read: {e}"),
                    ));
                    None
                }
            })
            .filter(|e| e.file_type().is_file())
            .map(|e| e.into_path())
            .collect();
        files.sort();
        let bundles: std::collections::HashSet<std::path::PathBuf> = files
            .iter()
            .filter(|f| f.file_name().is_some_and(|n| n == "index.md"))
            .filter_map(|f| f.parent())
            .filter(|dir| *dir != base)
            .map(Path::to_path_buf)
            .collect();
        // A file inside a bundle (at any depth) belongs to the nearest one.
        let bundle_of = |file: &Path| {
            file.ancestors()
                .skip(1)
                .take_while(|dir| *dir != base)
                .find(|dir| bundles.contains(*dir))
                .map(Path::to_path_buf)
        };
        let mut pages = Vec::new();
        for file in files {
            let is_index = file.file_name().is_some_and(|n| n == "index.md");
            match bundle_of(&file) {
                Some(bundle) if !(is_index && file.parent() == Some(bundle.as_path())) => {
                    let size = std::fs::symlink_metadata(&file).map_or(0, |m| m.len());
                    resources
                        .entry(relative_path(root, &bundle))
                        .or_default()
                        .push(Resource {
                            name: relative_path(&bundle, &file),
                            file: relative_path(root, &file),
                            size,
                        });
                }
                _ if file.extension().is_some_and(|x| x == "md") => pages.push(file),
                _ => {}
            }
        }
        let files = pages;
        // Read and parsed in parallel, kept in path order.
        let parsed: Vec<Result<Page, Diagnostic>> = files
            .par_iter()
            .map(|file| {
                let relative = relative_path(root, file);
                let max = crate::input::MAX_POST_BYTES;
                match crate::source_files::SourceFiles::read_from(sources, &relative, file, max) {
                    Ok(bytes) => page::parse(kind, &relative, &bytes),
                    Err(e) => Err(Diagnostic::error(relative, 0, 0, e.to_string())),
                }
            })
            .collect();
        for result in parsed {
            match result {
                Ok(page) => content.pages.push(page),
                Err(diagnostic) => content.diagnostics.push(diagnostic),
            }
        }
    }
    for page in &mut content.pages {
        if let Some(bundle) = &page.bundle {
            page.resources = resources.remove(bundle).unwrap_or_default();
        }
        if let Err(diagnostic) = urls::apply_permalinks(page, permalinks) {
            content.diagnostics.push(diagnostic);
        }
    }
    reject_duplicate_urls(&mut content);
    content
}

/// The files of the bundle whose page is `page` (none for other pages),
/// for a page read on its own rather than through [`load`].
pub fn bundle_resources(root: &Path, page: &Page) -> Vec<Resource> {
    let Some(bundle) = &page.bundle else {
        return Vec::new();
    };
    let dir = root.join(bundle);
    let mut found: Vec<Resource> = walkdir::WalkDir::new(&dir)
        .min_depth(1)
        .follow_root_links(false)
        .sort_by_file_name()
        .into_iter()
        // A folder with its own index.md is a bundle of its own, as in `load`.
        .filter_entry(|e| !(e.file_type().is_dir() && e.path().join("index.md").is_file()))
        .flatten()
        .filter(|e| e.file_type().is_file() && e.path() != dir.join("index.md"))
        .map(|e| Resource {
            name: relative_path(&dir, e.path()),
            file: relative_path(root, e.path()),
            size: e.metadata().map_or(0, |m| m.len()),
        })
        .collect();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

/// The post or page at `full` (a file of the site at `site`) read on its
/// own, with its bundle's files; any file outside `content/pages/` is read
/// as a post. The error names the file.
pub fn read_one(site: &Path, full: &Path) -> Result<Page, String> {
    let bytes = crate::input::read_capped(full, crate::input::MAX_POST_BYTES)
        .map_err(|e| format!("{}: {e}", full.display()))?;
    let relative = relative_path(site, full);
    let kind = Kind::of_path(&relative).unwrap_or(Kind::Post);
    let mut page = page::parse(kind, &relative, &bytes).map_err(|d| d.to_string())?;
    page.resources = bundle_resources(site, &page);
    Ok(page)
}

/// A path the user typed for a file of the site at `site`: as given when
/// it exists (relative to the working directory, or absolute), else
/// relative to the site.
pub fn user_path(site: &Path, path: &Path) -> std::path::PathBuf {
    if path.is_absolute() || path.exists() {
        path.to_path_buf()
    } else {
        site.join(path)
    }
}

/// `path` relative to `root`, with `/` separators.
pub fn relative_path(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Two pages at one URL: the second (by path) is left out, with an error
/// naming both files.
fn reject_duplicate_urls(content: &mut Content) {
    let mut first: HashMap<String, String> = HashMap::new();
    let mut keep = Vec::with_capacity(content.pages.len());
    for page in std::mem::take(&mut content.pages) {
        if let Some(owner) = first.get(&page.url) {
            content.diagnostics.push(Diagnostic::error(
                &page.path,
                1,
                1,
                format!(
                    "duplicate URL `{}`: {owner} is published there too; give one of them a `slug` or `url`",
                    page.url
                ),
            ));
        } else {
            first.insert(page.url.clone(), page.path.clone());
            keep.push(page);
        }
    }
    content.pages = keep;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)]
    fn posts_behind_a_linked_content_folder_are_not_read() {
        let outside = tempfile::tempdir().unwrap();
        for dir in ["posts", "pages"] {
            let folder = outside.path().join(dir);
            std::fs::create_dir_all(&folder).unwrap();
            std::fs::write(folder.join("leak.md"), "---\ntitle: L\n---\nSECRET\n").unwrap();
        }
        let site = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), site.path().join("content")).unwrap();
        let loaded = load(site.path());
        assert!(
            loaded.pages.is_empty(),
            "{:?}",
            loaded.pages.iter().map(|p| &p.path).collect::<Vec<_>>()
        );
        // And a linked `content/posts/` inside a real `content/`.
        std::fs::remove_file(site.path().join("content")).unwrap();
        std::fs::create_dir_all(site.path().join("content")).unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("posts"),
            site.path().join("content/posts"),
        )
        .unwrap();
        assert!(load(site.path()).pages.is_empty());
    }

    #[test]
    fn a_bundle_read_alone_has_the_files_load_gives_it() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let write = |path: &str, text: &str| {
            let file = root.join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, text).unwrap();
        };
        write(
            "content/posts/trip/index.md",
            "+++\ntitle = \"Trip\"\n+++\n",
        );
        write("content/posts/trip/map.png", "png");
        write("content/posts/trip/notes/day1.txt", "walked");
        write(
            "content/posts/trip/side/index.md",
            "+++\ntitle = \"Side\"\n+++\n",
        );
        write("content/posts/trip/side/photo.jpg", "jpg");
        let loaded = load(root);
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        for page in &loaded.pages {
            assert_eq!(
                bundle_resources(root, page),
                page.resources,
                "{}",
                page.path
            );
        }
        let names = |path: &str| -> Vec<String> {
            let page = loaded.pages.iter().find(|p| p.path == path).unwrap();
            page.resources.iter().map(|r| r.name.clone()).collect()
        };
        assert_eq!(
            names("content/posts/trip/index.md"),
            ["map.png", "notes/day1.txt"]
        );
        assert_eq!(names("content/posts/trip/side/index.md"), ["photo.jpg"]);
    }
}
