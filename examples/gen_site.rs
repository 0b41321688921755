//! `cargo run --example gen_site -- DIR POSTS [blogmark|hugo|python|hugo-python] [bundles]`:
//! write a benchmark site (see `benches/compare-hugo.sh`); `bundles` turns
//! every fifth post into a page bundle with three images.
use blogmark_e2e::site_gen::{Flavor, generate, make_bundles};

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .expect("usage: gen_site DIR POSTS [blogmark|hugo|python|hugo-python]");
    let posts: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(1_000);
    let flavor = match args.next().as_deref() {
        Some("hugo") => Flavor::Hugo,
        Some("python") => Flavor::Python,
        Some("hugo-python") => Flavor::HugoPython,
        _ => Flavor::Blogmark,
    };
    let dir = std::path::Path::new(&dir);
    generate(dir, posts, flavor);
    if args.next().as_deref() == Some("bundles") {
        make_bundles(dir, 5, 3);
    }
}
