//! Macro syntax parser throughput: every post body of the generated
//! 1,000-post bench site (built-in and Python flavors: inline, paired,
//! named and positional calls, code blocks), parsed once per iteration.

use blogmark_e2e::site_gen::{Flavor, generate};
use blogmark_host::content::{self, page};
use blogmark_host::macros::parser;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn bodies() -> Vec<(String, String)> {
    let mut bodies = Vec::new();
    for flavor in [Flavor::Blogmark, Flavor::Python] {
        let site = tempfile::tempdir().unwrap();
        generate(site.path(), 1_000, flavor);
        for entry in std::fs::read_dir(site.path().join("content/posts")).unwrap() {
            let path = entry.unwrap().path();
            let relative = content::relative_path(site.path(), &path);
            let bytes = std::fs::read(&path).unwrap();
            let page = page::parse(content::Kind::Post, &relative, &bytes).unwrap();
            bodies.push((relative, page.body));
        }
    }
    bodies
}

fn parse(c: &mut Criterion) {
    let bodies = bodies();
    let bytes: usize = bodies.iter().map(|(_, body)| body.len()).sum();
    let mut group = c.benchmark_group("macro_parser");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("bench_site_bodies", |b| {
        b.iter(|| {
            for (file, body) in &bodies {
                black_box(parser::parse(file, body, 1));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
