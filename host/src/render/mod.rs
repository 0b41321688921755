//! The build: from a site's files to `public/`. [`build`] runs the steps,
//! each in its own module, in this order: load and `apply_transforms`,
//! `pages`, `listings` (index with pagination, taxonomies, 404), `feeds`
//! (Atom and sitemap), `bundles` (a bundle's files beside its page),
//! `static_files`, `aliases` (redirects at old URLs), `link_check` (`host
//! check`), and `persist` (output folder and database).

mod aliases;
mod apply_transforms;
mod build;
mod bundles;
mod feeds;
mod generators;
mod link_check;
mod listings;
mod output;
mod output_manifest;
mod output_paths;
mod output_place;
mod page_cache;
mod page_keys;
mod pages;
mod persist;
mod progress;
mod site_context;
mod static_files;
mod template_data;
mod template_watchdog;
mod templates;
mod up_to_date;

pub use build::{BuildOptions, BuildReport, OnWritten, build, build_keeping_pages};
pub use generators::KeptGenerated;
pub use output::{Output, WriteReport};
pub use page_cache::PageCache;
pub use templates::Templates;
