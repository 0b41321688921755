"""The guest's dispatcher, by concern; `dispatcher.py` (the app module
componentize-py builds) is its ABI v1 entry and imports all of these while
the interpreter is pre-initialized, so they live in the snapshot.

- `abi`: ABI v1 requests and result documents: the `macro`, `transform`
  and `check` handlers, error documents, compiled code.
- `ctx`: the `ctx` object a macro is given.
- `site`: `ctx.data` and `ctx.site`, read through the host's `query`
  call one question at a time (the host keys results on the answers).
- `jsoncodec`: the JSON encoder and scanner the dispatcher speaks through.
- `regex_literals`: a script's regular-expression literals, compiled by a
  `check` and put in `re`'s cache before a call.
- `snapshot`: a site snapshot's preload, the heap as a snapshot should hold
  it, the objects the host makes immortal.
- `lockdown`: what the sandbox refuses at use, the import finder that asks
  the host for modules, and `lock_down()`, which installs them.
- `files`: the file functions over the guest's read-only tree.
- `stand_ins`: modules the guest's CPython lacks (`_bz2`, `_lzma`,
  `ctypes`), as stand-ins that say why.

Pinned references. A script may patch any shared module within its own
request (`json.dumps`, `re.compile`, `builtins.isinstance`); the dispatcher
must still encode its answer right. So what a call's answer goes through
(decoding the request, loading the script, the error document, encoding
the result) uses private references that each module binds when it is
imported, at snapshot time (`_marshal_loads = marshal.loads`, the C JSON
objects of `jsoncodec`), and the dispatcher binds every builtin into the
globals of each module of this package and its own (`pin_builtins`)
before it warms up: a name is looked up in the module's globals before the
builtins. A module added here is pinned too (the dispatcher pins every
module of this package), but must bind its own references the same way
(`abi` and `lockdown` each bind `marshal.loads` for themselves; what one
module takes from another, it imports by name, fixed at import too). What
still reads a shared module when called (the file functions' `os.strerror`
or `posixpath.join`, `ctx`'s `host` calls) serves the script itself, whose
patch then changes only what it sees.

`jsoncodec`, `regex_literals`, `snapshot` and `stand_ins` import nothing of
the guest's (no `wit_world`): host Python imports them as they are. `ctx`,
`files` and `lockdown` bind the host's calls (`wit_world.imports.host`) when
imported, and `abi` imports `ctx`; their unit tests give them a fake host
(python-wasm/guest-tests).
"""

import builtins

# The version of the ABI (docs/abi-v1.md) every request and result carries.
ABI_VERSION = 1


def pin_builtins(*namespaces):
    """Bind every public builtin, as it is now, in each of `namespaces` (a
    module's globals) where that name is not bound already: name lookups in
    a module find its globals before the builtins, so a script's
    `builtins.isinstance = ...` then no longer reaches that module's code."""
    for namespace in namespaces:
        for name, value in vars(builtins).items():
            if not name.startswith("_") and name not in namespace:
                namespace[name] = value
