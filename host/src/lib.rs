//! Blogmark host: the site (content, macros, Markdown, templates, storage)
//! and the build that turns it into `public/`.
//!
//! The `host` binary is a thin command line over this crate: its `cli` and
//! `commands` modules belong to the binary, not to the library. The Python
//! sandbox is the `blogmark_runtime` crate, which knows nothing of blogs;
//! every request to it goes through [`python`].
//!
//! # Modules
//!
//! - **The site's files.** [`config`] reads `site.toml`; [`content`] the
//!   posts and pages (front matter, URLs, bundles); [`input`] reads every
//!   file that comes from outside with a size cap; [`site_paths`] checks a
//!   path into the site (plain segments, no link on the way); [`symlinks`]
//!   reports the symbolic links no loader follows; [`diagnostics`] gives every warning
//!   and error its file, line and column.
//! - **Rendering.** [`render`] is the build, step by step, down to the
//!   output folder and the database; [`markdown`] turns Markdown into HTML
//!   (tables, footnotes, heading anchors, highlighted code); [`macros`]
//!   parses macro calls, holds the built-ins and expands a page body;
//!   [`transforms`] rewrites a post with a Python script before its macros
//!   run; [`links`] checks links and anchors for `host check`; [`stats`]
//!   counts every macro call and times those no cache answered.
//! - **Python.** [`python`] is the door into the sandbox: a
//!   [`Session`](python::Session) turns the site's types into ABI v1
//!   requests, keeps their results within the session and across builds,
//!   and words failures; [`scripts`] reads `scripts/*.py`, their front
//!   matter, their shared library and what they import; [`packages`] locks
//!   and vendors third-party packages, and checks the vendored files at
//!   each render.
//! - **Storage.** [`store`] is `.blogmark/site.db`, derived data only;
//!   [`state_dir`] refuses symbolic links in `.blogmark/`, which may come
//!   from a pull; [`machine_key`] tags what the host keeps there, so that
//!   only what this machine wrote is used again; [`atomic_file`] replaces a
//!   file so that no reader, and no crash, sees half of it; [`site_lock`]
//!   lets one command at a time write a site.
//! - **Sync.** [`sync`] is `host sync`: fetch, fast-forward, reconcile the
//!   database with the diff; [`pulled_path`] checks every path of a pulled
//!   tree before one is written.
//! - **Serve.** [`serve`] is `host serve`: render, serve over HTTP, watch
//!   the sources, render again and tell open pages to reload; its scripts
//!   workbench is [`serve::workbench`].
//!
//! # A render
//!
//! [`render::build`] runs these steps, in this order:
//!
//! 1. Load [`config::Config`], the pages ([`content`]) and the scripts
//!    ([`scripts::load`]); open the [`store::Store`] and a
//!    [`python::Session`] for the site's scripts (its sandbox starts at
//!    the first call).
//! 2. Run the [`transforms`] on each post, in memory.
//! 3. Render the pages in parallel: a [`macros::Expander`] replaces each
//!    macro call with HTML, from a built-in ([`macros::builtins`]) or from
//!    [`python::Session::call_macro`] (the sandbox, unless this session or
//!    an earlier build already has the result), [`markdown`] renders the
//!    text around the calls, and the page's template is applied. A page
//!    nothing it depends on changed for comes from the
//!    [`render::PageCache`] instead.
//! 4. Add the listings (index, taxonomies, 404), the feed and the sitemap,
//!    the bundles' files, the static files and the aliases; for `host
//!    check`, check the [`links`].
//! 5. Persist: the output folder (each file through [`atomic_file`]), the
//!    database, the pages kept for the next render, and the run's record
//!    (the [`stats`] of every macro).

#![deny(missing_docs)]

pub mod atomic_file;
pub mod capabilities;
pub mod config;
pub mod content;
pub mod diagnostics;
pub mod file_stamp;
pub mod input;
mod key_hasher;
pub mod links;
pub mod machine_key;
pub mod macros;
pub mod markdown;
pub mod packages;
pub mod pulled_path;
pub mod python;
pub mod render;
pub mod scripts;
pub mod serve;
pub mod site_data;
pub mod site_lock;
pub mod site_paths;
pub mod site_queries;
pub mod source_files;
pub mod state_dir;
pub mod stats;
pub mod store;
pub mod symlinks;
pub mod sync;
pub mod transforms;
