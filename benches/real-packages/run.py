#!/usr/bin/env python3
"""Real packages from the index, called from macros in a real render, their
HTML compared with native CPython's on the same versions.

Usage: benches/real-packages/run.py HOST_BINARY NATIVE_PYTHON [WORK_DIR]

Uses the network (the package index): a benchmark, not a test. For each
entry of packages.py: `host python lock` resolves it with the others (an
entry the lock refuses is dropped, with the reason, and the lock retried),
a macro calls it, `host render` renders a post calling every macro, and
the HTML each macro put in the page is compared with what the same script
returns on NATIVE_PYTHON, with the locked versions installed by pip.
Prints a Markdown table (docs/python.md holds the last one), then the
render's exit code, its errors and its time.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from packages import PACKAGES  # noqa: E402

SCRIPT = '''"""
---
description: calls {name}
---
"""
{imports}


def _body():
    {code}


def render(ctx):
    return "<!--begin {slug}-->" + str(_body()) + "<!--end {slug}-->"
'''

NATIVE = '''
import importlib.util, json, sys, traceback
out = {}
for path in sys.argv[1:]:
    try:
        spec = importlib.util.spec_from_file_location("m", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        out[path] = {"ok": module.render(None)}
    except BaseException as e:
        out[path] = {"error": f"{type(e).__name__}: {e}"}
print(json.dumps(out))
'''


def requirement_name(requirement):
    return re.split(r"[<>=!~ \[;]", requirement, maxsplit=1)[0]


def normalized(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def run(command, **kwargs):
    return subprocess.run(command, capture_output=True, text=True, **kwargs)


def lock(host, site, requirements, refused):
    """Lock what the index and the host accept, dropping what they refuse."""
    while True:
        toml = ('title = "Packages"\nbase_url = "https://example.org/"\n\n[python]\n'
                "timeout_ms = 20000\nmemory_mb = 1024\nfuel = 100000000000\n"
                f"dependencies = {json.dumps(requirements)}\n")
        (site / "site.toml").write_text(toml)
        done = run([host, "python", "lock", "--site", str(site)])
        if done.returncode == 0:
            return requirements
        said = done.stderr
        named = re.search(r"pip found no wheel of `([^`]+)`|No matching distribution found "
                          r"for ([\w.-]+)|`([^`]+)` \S+ cannot run in the sandbox", said)
        named = normalized(next(g for g in named.groups() if g)) if named else None
        culprit = next((r for r in requirements
                        if normalized(requirement_name(r)) == named), None)
        if culprit is not None:
            refused[culprit] = reason(said)
            requirements = [r for r in requirements if r != culprit]
            continue
        # A dependency is refused: find which requirements pull it in.
        for requirement in requirements:
            alone = site.parent / "alone"
            (alone / "scripts").mkdir(parents=True, exist_ok=True)
            (alone / "site.toml").write_text(
                'title = "A"\nbase_url = "https://example.org/"\n[python]\n'
                f"dependencies = {json.dumps([requirement])}\n")
            single = run([host, "python", "lock", "--site", str(alone)])
            if single.returncode != 0:
                refused[requirement] = reason(single.stderr)
        requirements = [r for r in requirements if r not in refused]


def reason(said):
    """What a failed lock says about why, in a few words."""
    found = re.search(r"pip found no wheel of `([^`]+)`", said)
    if found:
        return f"`{found.group(1)}` has no wheel for CPython 3.14, only a source archive " \
               "(nothing is built on the host)"
    found = re.search(r"`([^`]+)` (\S+) cannot run in the sandbox: .*?(it has compiled "
                      r"extensions[^.]*|holds a native library[^.]*)", said)
    if found:
        return f"needs `{found.group(1)}` {found.group(2)}: {found.group(3)}"
    lines = [line.strip() for line in said.splitlines() if line.strip()]
    return lines[-1] if lines else "refused"


def main():
    host = os.path.abspath(sys.argv[1])
    native_python = sys.argv[2]
    work = Path(sys.argv[3] if len(sys.argv) > 3 else tempfile.mkdtemp(prefix="real-packages-"))
    site = work / "site"
    (site / "scripts").mkdir(parents=True, exist_ok=True)
    (site / "content" / "posts").mkdir(parents=True, exist_ok=True)
    requirements = [requirement for requirement, _, _ in PACKAGES]
    refused = {}
    started = time.monotonic()
    kept = lock(host, site, requirements, refused)
    lock_seconds = time.monotonic() - started
    locked = tomllib.loads((site / "python.lock").read_text())
    versions = {normalized(p["name"]): p["version"] for p in locked.get("package", [])}

    calls = []
    scripts = {}
    for index, (requirement, imports, code) in enumerate(PACKAGES):
        if requirement not in kept:
            continue
        slug = f"p{index:02d}"
        path = site / "scripts" / f"{slug}.py"
        path.write_text(SCRIPT.format(name=requirement, imports=imports, code=code, slug=slug))
        scripts[requirement] = (slug, path)
        calls.append(f"{{{{< {slug} >}}}}\n")
    post = "+++\ntitle = \"All\"\ndate = 2024-01-01\n+++\n" + "\n".join(calls)
    (site / "content" / "posts" / "all.md").write_text(post)

    started = time.monotonic()
    render = run([host, "render", "--site", str(site)])
    render_seconds = time.monotonic() - started
    page = (site / "public" / "posts" / "all" / "index.html").read_text()
    found = dict(re.findall(r"<!--begin (p\d+)-->(.*?)<!--end \1-->", page, flags=re.S))

    venv = work / "native"
    if not venv.exists():
        subprocess.run([native_python, "-m", "venv", str(venv)], check=True)
        pins = [f"{name}=={version}" for name, version in versions.items()]
        subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "--no-deps",
                        "--only-binary=:all:", *pins], check=True)
    native = json.loads(run([str(venv / "bin" / "python"), "-c", NATIVE,
                             *[str(p) for _, p in scripts.values()]],
                            cwd=site).stdout)

    rows = []
    identical = 0
    for requirement, _, _ in PACKAGES:
        name = requirement_name(requirement)
        version = versions.get(normalized(name), "")
        if requirement not in scripts:
            rows.append((name, version, "no", f"refused by the lock: {refused.get(requirement, '')}"))
            continue
        slug, path = scripts[requirement]
        sandbox = found.get(slug)
        expected = native.get(str(path), {})
        if "ok" not in expected:
            rows.append((name, version, "?", f"native: {expected.get('error', 'no result')}"))
            continue
        reference = expected["ok"].removeprefix(f"<!--begin {slug}-->").removesuffix(
            f"<!--end {slug}-->")
        if sandbox == reference:
            identical += 1
            rows.append((name, version, "yes", ""))
        else:
            problem = re.search(rf"{slug}\.py[^\n]*", render.stderr)
            note = problem.group(0) if problem else f"sandbox: {str(sandbox)[:80]!r}"
            rows.append((name, version, "no", note.replace("|", "\\|")))

    print("| package | version | identical to native | note |")
    print("|---|---|---|---|")
    for name, version, same, note in rows:
        print(f"| {name} | {version} | {same} | {note} |")
    errors = re.search(r"(\d+) errors?", render.stderr)
    print()
    print(f"{identical} of {len(PACKAGES)} identical; render exit {render.returncode}, "
          f"{errors.group(1) if errors else '?'} errors, {render_seconds:.1f} s "
          f"(lock {lock_seconds:.1f} s)")
    last = render.stderr.strip().splitlines()[-1:] or [""]
    print(last[0])
    if render.returncode != 0:
        print(render.stderr[-4000:], file=sys.stderr)


if __name__ == "__main__":
    main()
