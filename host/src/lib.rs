//! Blogmark host: the site (content, macros, Markdown, templates, storage)
//! and the build that turns it into `public/`.

#![deny(missing_docs)]

pub mod atomic_file;
pub mod config;
pub mod content;
pub mod diagnostics;
pub mod input;
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
pub mod site_lock;
pub mod state_dir;
pub mod stats;
pub mod store;
pub mod symlinks;
pub mod sync;
pub mod transforms;
