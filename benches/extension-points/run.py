#!/usr/bin/env python3
"""The extension points at scale, on the release binary (issue "Python
extension points"): the benchmark's 1,000-post site (`gen_site ... python`:
three Python macros a post), each post with two links and a tag, against
the same site where a link hook and a heading hook render every page, each
post makes a query (related posts by tag), and a generator makes 1,000 pages
from 1,000 data files.

Measures, RUNS times each, medians printed:
- cold: `host render` with no `.blogmark/` (no kept pages, no stored results),
  the compiled guest cached, the two sites in turns;
- warm after one data edit: one data file changed, kept pages and results
  used; the summary's sandbox runs are printed beside the time;
- the same edit under `host serve` (its sandbox already started), three
  times as many edits (each takes half a second): the
  render's own time, as the server reports it, and of it the time of the
  sandbox runs the edit re-ran (the issue's target: the rest within 50 ms).
Not a test: it times things.

    python3 benches/extension-points/run.py target/release/host [RUNS]

(run from the repository: it builds the site with `cargo run --release
--example gen_site`).
"""

import os
import queue
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HOST = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/release/host")
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
POSTS = 1000
BOOKS = 1000

LINK_HOOK = '''"""
---
kind: hook
hook: link
---
"""
import html


def render(ctx):
    if not ctx.link.url.startswith("http"):
        return None
    return f'<a href="{html.escape(ctx.link.url)}" rel="external">{ctx.link.text}</a>'
'''

HEADING_HOOK = '''"""
---
kind: hook
hook: heading
---
"""


def render(ctx):
    h = ctx.heading
    return f'<h{h.level} id="{h.id}">{h.text} <a href="#{h.id}">#</a></h{h.level}>'
'''

RELATED = '''"""
---
uses_page: true
---
"""


def render(ctx):
    tag = ctx.page["tags"][0]
    posts = ctx.site.pages(section="posts", tag=tag, limit=4)
    return ", ".join(p.title for p in posts if p.slug != ctx.page["slug"])
'''

GENERATOR = '''"""
---
kind: generator
---
"""


def generate(ctx):
    return [{"path": f"pages/books/{key}.md",
             "front_matter": {"title": book.title, "nav": False},
             "body": f"{book.title} ({book.year})."} for key, book in ctx.data["books"].items()]
'''


def write(root, path, text):
    full = os.path.join(root, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as f:
        f.write(text)


def make_site(root, extended):
    subprocess.run(["cargo", "run", "-q", "--release", "--example", "gen_site", "--",
                    root, str(POSTS), "python"], check=True)
    posts = os.path.join(root, "content", "posts")
    for i, name in enumerate(sorted(os.listdir(posts))):
        with open(os.path.join(posts, name)) as f:
            text = f.read()
        text = text.replace("\n+++\n", f'\ntags = ["t{i % 20}"]\n+++\n', 1)
        text += (f"\n\nText with [a link](https://example.com/{i}) and "
                 f"[one inside](/posts/).\n")
        if extended:
            text += "\n{{< related >}}\n"
        with open(os.path.join(posts, name), "w") as f:
            f.write(text)
    if extended:
        write(root, "scripts/links.py", LINK_HOOK)
        write(root, "scripts/headings.py", HEADING_HOOK)
        write(root, "scripts/related.py", RELATED)
        write(root, "scripts/books.py", GENERATOR)
        for b in range(BOOKS):
            write(root, f"data/books/b{b:04}.toml",
                  f'title = "Book {b}"\nyear = {1900 + b % 100}\n')


def render(root):
    started = time.perf_counter()
    out = subprocess.run([HOST, "render", "--site", root], capture_output=True, text=True,
                         env=dict(os.environ, NO_COLOR="1"))
    elapsed = time.perf_counter() - started
    if out.returncode != 0 or " 0 errors" not in out.stderr:
        raise SystemExit(out.stderr)
    summary = next(line for line in out.stderr.splitlines() if line.startswith("Rendered "))
    runs = re.search(r"(\d+) sandbox runs", summary)
    return elapsed, int(runs.group(1)) if runs else 0, summary


def serve_data_edits(site):
    """The render times `host serve` reports for 3 x RUNS data edits, with
    the time of the sandbox runs in each (`-vv` prints every run)."""
    server = subprocess.Popen([HOST, "-vv", "serve", "--port", "0", "--site", site],
                              stderr=subprocess.PIPE, text=True, env=dict(os.environ, NO_COLOR="1"))
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in server.stderr],
                     daemon=True).start()

    def next_render():
        """The next render's summary line and its sandbox runs' seconds."""
        ran = 0.0
        while True:
            line = lines.get(timeout=60)
            run = re.search(r"sandbox run .*elapsed_us=(\d+)", line)
            if run:
                ran += int(run.group(1)) / 1e6
            if line.startswith("Rendered "):
                return line.strip(), ran

    try:
        next_render()
        times, rests = [], []
        for r in range(RUNS * 3):
            time.sleep(0.5)
            write(site, "data/books/b0007.toml", f'title = "Book 7, serve edit {r}"\nyear = 1907\n')
            line, ran = next_render()
            amount, unit = re.search(r" in ([0-9.]+) (ms|s)$", line).groups()
            took = float(amount) / (1000 if unit == "ms" else 1)
            times.append(took)
            rests.append(took - ran)
            print(f"serve: one data edit rendered in {took * 1000:.0f} ms, of which sandbox runs "
                  f"{ran * 1000:.0f} ms, the rest {(took - ran) * 1000:.0f} ms: {line}", flush=True)
        print(f"median serve render after one data edit: {statistics.median(times) * 1000:.0f} ms; "
              f"besides its sandbox runs: {statistics.median(rests) * 1000:.0f} ms (target 50 ms)")
    finally:
        server.terminate()
        server.wait()


def cold_render(site):
    shutil.rmtree(os.path.join(site, ".blogmark"), ignore_errors=True)
    shutil.rmtree(os.path.join(site, "public"), ignore_errors=True)
    return render(site)


def main():
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    work = tempfile.mkdtemp(prefix="bench-ext-", dir=shm)
    try:
        sites = {}
        for extended in (False, True):
            sites[extended] = os.path.join(work, "extended" if extended else "plain")
            make_site(sites[extended], extended)
            render(sites[extended])  # the compiled guest and the site snapshot, cached
        # The two sites in turns, so that the machine's drift (this one's
        # speed moves by a third within an hour) falls on both alike.
        cold = {False: [], True: []}
        for _ in range(RUNS):
            for extended, label in ((False, "without"), (True, "with hooks, query, generator")):
                elapsed, runs, _ = cold_render(sites[extended])
                cold[extended].append(elapsed)
                print(f"{label}: cold {elapsed:.3f} s ({runs} sandbox runs)", flush=True)
        site = sites[True]
        warm = []
        for r in range(RUNS):
            write(site, "data/books/b0007.toml", f'title = "Book 7, edition {r}"\nyear = 1907\n')
            elapsed, runs, summary = render(site)
            warm.append(elapsed)
            print(f"with hooks, query, generator: warm after one data edit {elapsed * 1000:.0f} ms "
                  f"({runs} sandbox runs): {summary}", flush=True)
        print(f"median warm after one data edit: {statistics.median(warm) * 1000:.0f} ms")
        serve_data_edits(site)
        without, with_them = statistics.median(cold[False]), statistics.median(cold[True])
        print(f"median cold: without {without:.3f} s, with {with_them:.3f} s, "
              f"ratio {with_them / without:.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
