//! `cargo run --example gen_site -- DIR POSTS [blogmark|hugo|python|hugo-python]`: write a
//! benchmark site (see `benches/compare-hugo.sh`).
use blogmark_e2e::site_gen::{Flavor, generate};

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
    generate(std::path::Path::new(&dir), posts, flavor);
}
