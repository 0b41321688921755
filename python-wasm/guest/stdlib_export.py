"""Compile the interpreter's own standard library to bytecode, at build time.

build.py runs componentize-py a second time with this module as the app and
an export directory mounted as the second path entry (`/1`). While
componentize-py pre-initializes, the standard library it bundles is mounted
at `/python`; importing this module compiles every module there with the
guest's own compiler (so the bytecode matches the interpreter exactly) and
writes two files to `/1`:

- `stdlib.code`: the marshalled code objects, one after another;
- `stdlib.index`: one line per module, tab-separated: name, `1` for a
  package (its `__init__`) or `0`, offset and length in `stdlib.code`, and
  the file name the code object carries;
- `stdlib.builtins`: the modules compiled into the interpreter, one a line;
- `stdlib.files` and `stdlib.files.index`: the library's files themselves
  (sources and data, for the guest's read-only tree at `/python`), one
  after another, and one line per file: its path under `/python`, offset
  and length. Its test suite and the Tk tools are left out.

The component built with this app is thrown away; the dispatcher never
imports this module.
"""

import marshal
import os
import sys

import wit_world
from componentize_py_types import Err

ROOT = "/python"
OUT = "/1"
# Not modules a script could import: build configuration, the bundled pip
# wheels, and the directory componentize-py puts third-party packages in.
SKIP_DIRS = {"site-packages", "ensurepip", "__pycache__"}
# Not in the guest's file tree either: the test suite (data for CPython's
# own tests) and the tools that need Tk, which the guest lacks.
SKIP_FILE_DIRS = SKIP_DIRS | {"test", "idlelib", "tkinter", "turtledemo"}


def _modules():
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = sorted(d for d in dirs
                         if d not in SKIP_DIRS and not d.startswith("config-")
                         and d.isidentifier())
        rel = os.path.relpath(folder, ROOT)
        parts = [] if rel == "." else rel.split(os.sep)
        if parts and "__init__.py" not in files:
            continue  # not a package: nothing under it is importable
        for file in sorted(files):
            stem, ext = os.path.splitext(file)
            # `import_module` reaches names `import` cannot spell, such as
            # `_sysconfigdata__wasi_wasm32-wasi`.
            if ext != ".py" or "." in stem or not stem:
                continue
            path = os.path.join(folder, file)
            if stem == "__init__":
                if parts:
                    yield ".".join(parts), True, path
            else:
                yield ".".join(parts + [stem]), False, path


def _export():
    offset = 0
    lines = []
    with open(os.path.join(OUT, "stdlib.code"), "wb") as code_file:
        for name, is_package, path in _modules():
            with open(path, "rb") as source:
                text = source.read()
            # The path the guest's file tree serves it at.
            origin = path
            try:
                code = compile(text, origin, "exec", dont_inherit=True)
            except SyntaxError:
                continue  # e.g. a test fixture that is invalid on purpose
            blob = marshal.dumps(code)
            code_file.write(blob)
            lines.append(f"{name}\t{int(is_package)}\t{offset}\t{len(blob)}\t{origin}\n")
            offset += len(blob)
    _export_files()
    with open(os.path.join(OUT, "stdlib.builtins"), "w", encoding="utf-8") as builtins:
        builtins.writelines(name + "\n" for name in sorted(sys.builtin_module_names))
    with open(os.path.join(OUT, "stdlib.index"), "w", encoding="utf-8") as index:
        index.writelines(lines)


def _export_files():
    offset = 0
    lines = []
    with open(os.path.join(OUT, "stdlib.files"), "wb") as out:
        for folder, dirs, files in os.walk(ROOT):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_FILE_DIRS
                             and not d.startswith("config-"))
            for file in sorted(files):
                if file.endswith(".pyc"):
                    continue
                path = os.path.join(folder, file)
                with open(path, "rb") as source:
                    data = source.read()
                out.write(data)
                lines.append(f"{path}\t{offset}\t{len(data)}\n")
                offset += len(data)
    with open(os.path.join(OUT, "stdlib.files.index"), "w", encoding="utf-8") as index:
        index.writelines(lines)


if os.path.isdir(OUT):
    _export()


class WitWorld(wit_world.WitWorld):
    """componentize-py needs the world implemented; this build is never run."""

    def handle(self, request: str) -> str:
        raise Err("the standard-library export build handles no requests")
