#!/usr/bin/env python3
"""Build the guest component: pre-initialized CPython + Blogmark's dispatcher.

Usage: build.py OUT_DIR

Installs the pinned componentize-py (requirements.txt, hash-checked) into a
private virtual environment under OUT_DIR, then builds the component into
OUT_DIR/<inputs-hash>/guest.wasm, with the standard library it bundles compiled
to bytecode beside it (stdlib.code, stdlib.index, stdlib.builtins). The hash
covers every input (every file under guest/, the dispatcher's package included),
so a second build with nothing changed costs one directory lookup. Prints, one
per line:
the inputs hash, the component's SHA-256, the CPython version it bundles, and
the path of the component last.
"""

import hashlib
import os
import re
import subprocess
import sys
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
INPUTS = ["requirements.txt", "build.py", "wit", "guest"]


def inputs_hash():
    digest = hashlib.sha256()
    for name in INPUTS:
        path = HERE / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if "__pycache__" in file.parts:
                continue
            digest.update(str(file.relative_to(HERE)).encode())
            digest.update(b"\0")
            digest.update(file.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()[:20]


def tool(out_dir):
    """The pinned componentize-py, installed once per requirements.txt."""
    req = (HERE / "requirements.txt").read_bytes()
    env_dir = out_dir / f"venv-{hashlib.sha256(req).hexdigest()[:12]}"
    exe = env_dir / "bin" / "componentize-py"
    if not exe.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
        subprocess.run(
            [str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet",
             "--disable-pip-version-check", "--require-hashes", "--only-binary=:all:",
             "-r", str(HERE / "requirements.txt")],
            check=True,
        )
    return exe


def componentize(exe, app, paths, output):
    subprocess.run(
        [str(exe), "--quiet", "-d", str(HERE / "wit"), "-w", "python-guest",
         "componentize", *[arg for path in paths for arg in ("-p", str(path))], app,
         "-o", str(output)],
        check=True,
        # The guest must see only the interpreter's own stdlib.
        env={k: v for k, v in os.environ.items()
             if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")},
    )


def export_stdlib(exe, directory):
    """The bundled standard library as bytecode (`stdlib.code` and
    `stdlib.index` in `directory`), compiled by the guest's own interpreter
    in a throwaway build whose app is `guest/stdlib_export.py`, and as
    files (`stdlib.files`, `stdlib.files.index`)."""
    if (directory / "stdlib.builtins").exists():
        return
    staging = directory / "stdlib-export"
    staging.mkdir(parents=True, exist_ok=True)
    componentize(exe, "stdlib_export", [HERE / "guest", staging], staging / "unused.wasm")
    for name in ("stdlib.code", "stdlib.index", "stdlib.files", "stdlib.files.index",
                 "stdlib.builtins"):  # the last marks completion
        (staging / name).replace(directory / name)
    for leftover in staging.iterdir():
        leftover.unlink()
    staging.rmdir()


def main():
    out_dir = Path(sys.argv[1]).resolve()
    target = out_dir / inputs_hash() / "guest.wasm"
    if not target.exists():
        exe = tool(out_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".wasm.partial")
        componentize(exe, "dispatcher", [HERE / "guest"], partial)
        partial.replace(target)
    if not (target.parent / "stdlib.builtins").exists():
        export_stdlib(tool(out_dir), target.parent)
    data = target.read_bytes()
    print(target.parent.name)
    print(hashlib.sha256(data).hexdigest())
    print(cpython_version(data))
    print(target)


def cpython_version(component):
    """The version in CPython's `sys.version` string, as the component holds it."""
    found = re.search(rb"(3\.\d+\.\d+(?:[abrc]+\d+)?) \(main, ", component)
    return found.group(1).decode() if found else "unknown"


if __name__ == "__main__":
    main()
