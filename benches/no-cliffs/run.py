#!/usr/bin/env python3
"""The waits an author meets, measured on the release binary (issue "no
ten-second cliffs"): the first `host render` of a `host init` site on a
machine with an empty cache, a page showing an edit that adds an import
while `host serve` runs, and one macro in a new process (`host scripts run`).
Prints each run and the medians. Not a test: it times things.

    python3 benches/no-cliffs/run.py target/release/host [RUNS]
"""

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HOST = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/release/host")
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 5


def env(cache):
    return dict(os.environ, BLOGMARK_CACHE_DIR=cache, NO_COLOR="1")


def wait_for_prepare(cache):
    """The background `host python prepare` of a first run, finished."""
    lock = os.path.join(cache, "compiled", "prepare.lock")
    deadline = time.time() + 120
    while time.time() < deadline:
        out = subprocess.run(["pgrep", "-f", "python prepare --quiet"], capture_output=True)
        if not out.stdout.strip():
            return
        time.sleep(0.2)
    raise SystemExit(f"the background compile did not end ({lock})")


def first_render(work):
    times = []
    for run in range(RUNS):
        cache = os.path.join(work, f"cache-{run}")
        site = os.path.join(work, f"site-{run}")
        subprocess.run([HOST, "init", site], check=True, capture_output=True, env=env(cache))
        started = time.perf_counter()
        subprocess.run([HOST, "render", "--site", site], check=True, capture_output=True, env=env(cache))
        times.append(time.perf_counter() - started)
        print(f"first render, empty cache: {times[-1]:.2f} s", flush=True)
        wait_for_prepare(cache)
    return times


def scripts_run(work):
    cache = os.path.join(work, "cache-0")
    site = os.path.join(work, "site-0")
    # Warm: the optimized code is cached by now.
    subprocess.run([HOST, "render", "--site", site], check=True, capture_output=True, env=env(cache))
    times = []
    for _ in range(RUNS * 4):
        started = time.perf_counter()
        subprocess.run(
            [HOST, "scripts", "run", "badge", "--site", site, "--arg", "text=new"],
            check=True, capture_output=True, env=env(cache),
        )
        times.append(time.perf_counter() - started)
    print("scripts run: " + " ".join(f"{t * 1000:.0f}" for t in times) + " ms", flush=True)
    return times


IMPORTS = ["graphlib", "tomllib", "xml.etree.ElementTree", "fractions", "difflib",
           "textwrap", "string", "calendar", "statistics", "ipaddress"]


def serve_new_import(work):
    cache = os.path.join(work, "cache-0")
    site = os.path.join(work, "site-0")
    script = os.path.join(site, "scripts", "badge.py")
    original = open(script, encoding="utf-8").read()
    server = subprocess.Popen(
        [HOST, "serve", "--port", "0", "--site", site],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env(cache), text=True,
    )
    try:
        base = None
        for line in server.stderr:
            found = re.search(r" at (http://\S+)", line)
            if found:
                base = found.group(1)
                break
        threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()
        events = urllib.request.urlopen(base + "_blogmark/events")
        reloads = []

        def read():
            name = None
            for raw in events:
                line = raw.decode().strip()
                if line.startswith("event:"):
                    name = line[6:].strip()
                elif not line and name == "reload":
                    reloads.append(time.perf_counter())
                    name = None

        threading.Thread(target=read, daemon=True).start()
        time.sleep(1)
        times = []
        for module in IMPORTS[: max(RUNS, 3)]:
            seen = len(reloads)
            started = time.perf_counter()
            with open(script, "w", encoding="utf-8") as f:
                f.write(original.replace("import html", f"import html\nimport {module}", 1))
            while len(reloads) == seen:
                time.sleep(0.001)
            times.append(reloads[seen] - started)
            print(f"serve, a new import ({module}) shown after {times[-1] * 1000:.0f} ms", flush=True)
            time.sleep(0.5)
        return times
    finally:
        with open(script, "w", encoding="utf-8") as f:
            f.write(original)
        server.terminate()
        server.wait()


def main():
    work = tempfile.mkdtemp(prefix="no-cliffs-")
    try:
        results = {
            "first_render_s": statistics.median(first_render(work)),
            "serve_new_import_ms": statistics.median(serve_new_import(work)) * 1000,
            "scripts_run_ms": statistics.median(scripts_run(work)) * 1000,
        }
        print(json.dumps(results, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
