#!/usr/bin/env bash
# Render the same generated 1,000-post site with `host render` and with Hugo
# (if installed: `apt-get install hugo`), cold, and print wall time and peak
# memory of each. Usage: benches/compare-hugo.sh [POSTS]
set -euo pipefail
cd "$(dirname "$0")/.."
posts="${1:-1000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo build -q --release -p blogmark-host && cargo build -q --release --example gen_site
cargo run -q --release --example gen_site -- "$work/blogmark" "$posts" blogmark
cargo run -q --release --example gen_site -- "$work/hugo" "$posts" hugo
cargo run -q --release --example gen_site -- "$work/python" "$posts" python
cargo run -q --release --example gen_site -- "$work/hugo-python" "$posts" hugo-python
cargo run -q --release --example gen_site -- "$work/bundles" "$posts" blogmark bundles
cargo run -q --release --example gen_site -- "$work/hugo-bundles" "$posts" hugo bundles
measure() {
    local label="$1"; shift
    /usr/bin/time -f "$label: %e s wall, %M KiB peak" "$@" > /dev/null 2> "$work/time.txt" || { cat "$work/time.txt"; return 1; }
    tail -1 "$work/time.txt"
}
for run in 1 2 3; do
    rm -rf "$work/blogmark/public" "$work/blogmark/.blogmark"
    measure "host render, cold, run $run" target/release/host -q render --site "$work/blogmark"
done
measure "host render, warm" target/release/host -q render --site "$work/blogmark"
for run in 1 2 3; do
    rm -rf "$work/python/public" "$work/python/.blogmark"
    measure "host render, Python macros, cold, run $run" target/release/host -q render --site "$work/python"
done
measure "host render, Python macros, warm" target/release/host -q render --site "$work/python"
for run in 1 2 3; do
    rm -rf "$work/bundles/public" "$work/bundles/.blogmark"
    measure "host render, a fifth of posts as bundles of 3 images, cold, run $run" target/release/host -q render --site "$work/bundles"
done
measure "host render, bundles, warm" target/release/host -q render --site "$work/bundles"
if command -v hugo > /dev/null; then
    for run in 1 2 3; do
        rm -rf "$work/hugo/public" "$work/hugo/resources"
        measure "hugo $(hugo version | cut -d' ' -f2), cold, run $run" hugo --quiet -s "$work/hugo"
    done
    for run in 1 2 3; do
        rm -rf "$work/hugo-bundles/public" "$work/hugo-bundles/resources"
        measure "hugo, bundles, cold, run $run" hugo --quiet -s "$work/hugo-bundles"
    done
    for run in 1 2 3; do
        rm -rf "$work/hugo-python/public" "$work/hugo-python/resources"
        measure "hugo, Go-template shortcodes, cold, run $run" hugo --quiet -s "$work/hugo-python"
    done
fi
