//! The build: from a site's files to `public/`.

mod build;
mod output;
mod templates;

pub use build::{BuildOptions, BuildReport, build};
pub use output::{Output, WriteReport};
pub use templates::Templates;
