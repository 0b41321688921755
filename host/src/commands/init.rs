//! `host init [DIR]`: a new site with examples of every feature.

use anyhow::{Context as _, bail};
use std::path::Path;
use std::process::ExitCode;

const FILES: &[(&str, &[u8])] = &[
    ("site.toml", include_bytes!("../../../demo/site.toml")),
    (".gitignore", b"public/\n.blogmark/\n"),
    (
        "content/posts/hello-world.md",
        include_bytes!("../../../demo/content/posts/hello-world.md"),
    ),
    (
        "content/posts/macros-tour.md",
        include_bytes!("../../../demo/content/posts/macros-tour.md"),
    ),
    (
        "content/posts/python-macros.md",
        include_bytes!("../../../demo/content/posts/python-macros.md"),
    ),
    (
        "scripts/word_count.py",
        include_bytes!("../../../demo/scripts/word_count.py"),
    ),
    (
        "content/pages/about.md",
        include_bytes!("../../../demo/content/pages/about.md"),
    ),
    (
        "scripts/badge.py",
        include_bytes!("../../../demo/scripts/badge.py"),
    ),
    (
        "scripts/reading_time.py",
        include_bytes!("../../../demo/scripts/reading_time.py"),
    ),
    (
        "static/robots.txt",
        include_bytes!("../../../demo/static/robots.txt"),
    ),
    (
        "static/images/office-cat.svg",
        include_bytes!("../../../demo/static/images/office-cat.svg"),
    ),
    (
        "content/posts/extending.md",
        include_bytes!("../../../demo/content/posts/extending.md"),
    ),
    (
        "scripts/external_links.py",
        include_bytes!("../../../demo/scripts/external_links.py"),
    ),
    (
        "scripts/chart.py",
        include_bytes!("../../../demo/scripts/chart.py"),
    ),
    (
        "scripts/related.py",
        include_bytes!("../../../demo/scripts/related.py"),
    ),
    (
        "scripts/books.py",
        include_bytes!("../../../demo/scripts/books.py"),
    ),
    (
        "data/books/dune.toml",
        include_bytes!("../../../demo/data/books/dune.toml"),
    ),
    (
        "data/books/left-hand.toml",
        include_bytes!("../../../demo/data/books/left-hand.toml"),
    ),
    (
        "data/books/piranesi.toml",
        include_bytes!("../../../demo/data/books/piranesi.toml"),
    ),
    (
        "data/site.yaml",
        include_bytes!("../../../demo/data/site.yaml"),
    ),
    (
        "templates/README.md",
        include_bytes!("../../../demo/templates/README.md"),
    ),
    (
        "content/posts/photos/index.md",
        include_bytes!("../../../demo/content/posts/photos/index.md"),
    ),
    (
        "content/posts/photos/waves.jpg",
        include_bytes!("../../../demo/content/posts/photos/waves.jpg"),
    ),
    (
        "scripts/responsive_images.py",
        include_bytes!("../../../demo/scripts/responsive_images.py"),
    ),
];

pub fn run(dir: &Path) -> anyhow::Result<ExitCode> {
    // A folder may hold links (a dangling one too, which `exists` does not
    // see): every file and folder is written only inside `dir`.
    for (path, _) in FILES {
        if let Some(link) = blogmark_host::site_paths::first_link(dir, path, true) {
            bail!(
                "{} is a symbolic link; `host init` writes only inside {}, and nothing was changed",
                dir.join(link).display(),
                dir.display()
            );
        }
    }
    if dir.join("site.toml").exists() {
        bail!(
            "{} already holds a site (site.toml exists); nothing was changed",
            dir.display()
        );
    }
    for (path, _) in FILES {
        if std::fs::symlink_metadata(dir.join(path)).is_ok() {
            bail!(
                "{} exists; `host init` writes only into a new or empty directory",
                dir.join(path).display()
            );
        }
    }
    for (path, text) in FILES {
        let file = dir.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&file, text).with_context(|| format!("cannot write {}", file.display()))?;
    }
    eprintln!(
        "Created a site in {}. Next: `host render --site {}`",
        dir.display(),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
