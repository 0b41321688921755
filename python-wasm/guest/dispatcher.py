"""Blogmark's Python dispatcher: the guest side of ABI v1.

componentize-py imports this module while it pre-initializes the interpreter,
so everything imported here lives in the snapshot and costs nothing per call.
Any other module a script imports is asked of the host by name (the sandbox
has no file system): the standard library as bytecode, the site's shared
modules and vendored packages; such an import costs its loading on that
call only.

Every request starts from the state this module leaves in the snapshot (a
fresh instance, or one reset in place), so nothing a script does (globals,
monkey-patched builtins, a seeded `random`) can leak into the next one.
Within its own request, though, a script may patch any shared module; the
dispatcher therefore works only through private references fixed at snapshot
time (each module's `_name = module.attribute` bindings, and every builtin
bound in each module's globals by `_pin` below), so a patch cannot corrupt
how its answer is encoded.

This module is the entry: it preloads the standard library of the snapshot,
locks the sandbox down, decodes a request, hands it to its handler and
encodes the result, and warms all of that up. The rest is in the
`blogmark_guest` package, by concern (its docstring lists them).
"""

import linecache
import os
import sys

import wit_world
from componentize_py_types import Err

import blogmark_guest
from blogmark_guest import ABI_VERSION
from blogmark_guest.abi import _PRELOADED as _PRELOADED_SCRIPTS
from blogmark_guest.abi import (
    HANDLERS,
    check,
    error_document,
    freeze,
    precompiled,
    preload_scripts,
    script_filename,
)
from blogmark_guest.ctx import CallInfo as CallInfo
from blogmark_guest.ctx import Context as Context
from blogmark_guest.jsoncodec import from_json as _from_json
from blogmark_guest.jsoncodec import to_json as _to_json
from blogmark_guest.lockdown import SandboxDenied as SandboxDenied
from blogmark_guest.lockdown import lock_down
from blogmark_guest.site import FetchError as FetchError
from blogmark_guest.site import ImageError as ImageError
from blogmark_guest.snapshot import preload, settle_heap


# The standard library in the snapshot (guest/preloaded.txt, which the host
# reads too): these imports cost nothing per call.
def _preloaded():
    with open(os.path.join(os.path.dirname(__file__), "preloaded.txt"),
              encoding="utf-8") as listing:
        return [line for line in listing.read().splitlines()
                if line and not line.startswith("#")]


PRELOADED = _preloaded()

for _name in PRELOADED:
    __import__(_name)

# `CallInfo`, `Context` and `SandboxDenied` above are the classes a script
# meets (their `__module__` still says "dispatcher"). `_to_json` is looked
# up in this module's globals by every `handle`: a script that replaces
# `dispatcher._to_json` forges its result document, which the host's
# validation must catch (the test suite does just that). These three are
# what the test suite looks into through `sys.modules["dispatcher"]`
# (whether the warm-up left their bytecode specialized).
_freeze = freeze
_precompiled = precompiled
_check = check

_close = os.close
_STREAMS = (sys.stdout, sys.stderr)
_linecache = linecache.cache

# After the standard library of the snapshot is imported (the lockdown
# hands each of its modules a loader that asks the host), before any
# request.
lock_down()

_WARMING_UP = True


class WitWorld(wit_world.WitWorld):
    """The component's export: one ABI v1 request in, one result out.

    `random` needs no seeding here: componentize-py's runtime reseeds it from
    WASI's random source whenever an instance resumes from its snapshot,
    which every request does, and the host seeds that source from the
    request (so equal requests draw equal numbers, and different ones do
    not; `tests/sandbox_basics.rs` checks both)."""

    def handle(self, request: str) -> str:
        try:
            doc = _from_json(request)
            if doc.get("abi") != ABI_VERSION:
                raise ValueError(f"unsupported ABI version {doc.get('abi')!r}")
            if doc.get("kind") == "preload":
                return _to_json(preload(doc, preload_scripts))
            handler = HANDLERS[doc["kind"]]
            filename = script_filename(doc["script"])
        except Exception as exc:  # a malformed request is the host's bug
            raise Err(f"malformed request: {type(exc).__name__}: {exc}") from exc
        try:
            result = handler(doc)
        except BaseException as exc:  # noqa: BLE001 - scripts may raise anything
            result = error_document(exc, filename)
        finally:
            _release_streams()
        try:
            text = _to_json(result)
        except BaseException as exc:  # noqa: BLE001 - e.g. a front-matter value JSON cannot hold
            text = _to_json(error_document(exc, filename))
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            # A lone surrogate cannot cross the string boundary: escape it so
            # the host sees (and rejects) it as an ABI violation.
            text = _to_json(result, ascii_only=True)
        return text


def _release_streams():
    """Flush stdout and stderr, then close them, so that the WASI streams
    libc opened for them do not outlive the request in the host's table
    (an instance reset in place must end every request with none left).
    Closing stderr first hands the handles back in the order they were
    taken, so the next request is given the same ones."""
    for stream in _STREAMS:
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001 - a closed stream is not ours to fix
            pass
    if _WARMING_UP:
        return
    for fd in (2, 1):
        try:
            _close(fd)
        except OSError:
            pass


def _warm_up():
    """Run sample requests while componentize-py pre-initializes, so the
    snapshot already holds what every first call would otherwise build
    (compiler state, method caches, interned names).

    They run the paths a render's calls take (a `check`, then macros given
    its compiled code, with arguments, a body and regular expressions) a
    few times over: CPython specializes an instruction in place on its
    second run, so a dispatcher run only once would be specialized anew by
    every call (the state resets), which costs the call the specializing
    and writes the pages of the dispatcher's code, which the reset then
    copies back."""
    script = {"slug": "warm_up", "entrypoint": "render", "path": "<warm-up>",
              "source": "import html, re\n\ndef render(ctx):\n"
                        "    text = ctx.body or ctx.args['t']\n"
                        "    words = len(re.findall(r'\\w+', text))\n"
                        "    return html.escape(re.sub(r'\\s+', ' ', text)) + str(words)\n"}
    world = WitWorld()
    checked = _warm_call(world, {"abi": ABI_VERSION, "kind": "check", "script": script})
    compiled = dict(script, code=checked["code"])
    # And as a site snapshot holds a script (see `preload_scripts`).
    preload_scripts([dict(script, key="<warm-up>")])
    preloaded = dict(script, source="", preloaded="<warm-up>")
    for i in range(_WARM_UP_ROUNDS):
        call = {"name": "warm_up", "args": {"t": "a  <b>", "n": i},
                "positional": ["x", i], "body": "some  <i>words</i>" if i % 2 else None}
        for sent in (script, compiled, preloaded):
            _warm_call(world, {"abi": ABI_VERSION, "kind": "macro", "script": sent,
                               "call": call, "page": None, "site": {}})
    _warm_up_extension_points(world)
    _PRELOADED_SCRIPTS.clear()
    _linecache.pop("<warm-up>", None)
    settle_heap()


# A render hook and a macro that reads its page, the site's pages and its
# data: the paths of every call of a hook or a query, which otherwise each
# such call would specialize anew, writing pages of code that the reset
# then copies back (on a site of 1,000 posts with a heading hook, the pages
# a reset copied back went from 83 to 76 a call; no change of wall time
# stood out of the noise).
_WARM_UP_HOOK = """\
def render(ctx):
    e = ctx.element
    if e.type == "link":
        return None if not e.url.startswith("http") else f'<a href="{e.url}">{e.text}</a>'
    return f'<h{e.level} id="{e.id}">{e.text}</h{e.level}>'
"""

_WARM_UP_QUERY = """\
def render(ctx):
    tag = ctx.page["tags"][0]
    posts = ctx.site.pages(section="posts", tag=tag, limit=4)
    title = ctx.data["warm"]["up"]["title"]
    return ", ".join(p.title for p in posts if p.slug != ctx.page.slug) + title
"""

_WARM_UP_SUMMARY = {"title": "A", "url": "/posts/a/", "path": "content/posts/a.md",
                    "slug": "a", "section": "posts", "date": "2024-01-01T00:00:00Z",
                    "tags": ["t"], "taxonomies": {"tags": ["t"]}, "summary": None,
                    "extra": {}, "resources": []}


def _warm_answer(question):
    doc = _from_json(question)
    if "pages" in doc:
        return _to_json({"pages": [dict(_WARM_UP_SUMMARY, slug=s) for s in "abcd"]})
    if doc.get("data") == ["warm"]:
        return _to_json({"folder": True})
    return _to_json({"value": {"title": "warm"}})


def _warm_call(world, request):
    """One warm-up request, which must succeed: a warm-up that fails warms
    nothing, and the snapshot would be made without a word. Returns its
    result document."""
    result = _from_json(world.handle(_to_json(request)))
    if not result.get("ok"):
        raise RuntimeError(f"the warm-up's {request['kind']} request failed: {result}")
    return result


def _warm_up_extension_points(world):
    """Hooks on links and headings, and a macro given its page that queries
    the site's pages and data; the host's `query` answered here while the
    snapshot is made (the binding is put back as it was: its module's names
    do not change, so what the calls specialized on it still holds)."""
    from wit_world.imports import host

    answer = host.query
    host.query = _warm_answer
    try:
        hook = {"slug": "warm_up_hook", "entrypoint": "render", "path": "<warm-up>",
                "source": _WARM_UP_HOOK}
        query = {"slug": "warm_up_query", "entrypoint": "render", "path": "<warm-up>",
                 "source": _WARM_UP_QUERY}
        preload_scripts([dict(hook, key="<warm-up-hook>"), dict(query, key="<warm-up-query>")])
        hook = dict(hook, source="", preloaded="<warm-up-hook>")
        query = dict(query, source="", preloaded="<warm-up-query>")
        site = {"title": "Warm", "base_url": "https://example.org/"}
        for i in range(_WARM_UP_ROUNDS):
            elements = ({"type": "link", "url": f"https://example.org/{i}", "text": "a",
                         "title": ""},
                        {"type": "link", "url": "/posts/", "text": "b", "title": ""},
                        {"type": "heading", "level": 2, "text": f"H {i}", "id": f"h-{i}"})
            for element in elements:
                _warm_call(world, {"abi": ABI_VERSION, "kind": "hook", "script": hook,
                                   "element": element, "page": None, "site": site})
            page = {"slug": f"p{i}", "path": f"content/posts/p{i}.md", "title": "P",
                    "date": "2024-01-01T00:00:00Z", "tags": ["t"], "extra": {}}
            _warm_call(world, {"abi": ABI_VERSION, "kind": "macro", "script": query,
                               "call": {"name": "warm_up_query", "args": {},
                                        "positional": [], "body": None},
                               "page": page, "site": site})
    finally:
        host.query = answer


# Enough for an instruction to specialize, or to fail to and back off.
_WARM_UP_ROUNDS = 8


def _pin():
    """Bind every builtin, as it is now, in this module's globals and in
    those of every module of `blogmark_guest`: name lookups find a module's
    globals before the builtins, so a script's `builtins.isinstance = ...`
    then reaches none of the dispatcher's code. After the lockdown (which
    sets `builtins.open`), as it always was."""
    package = blogmark_guest.__name__
    modules = [module for name, module in sys.modules.items()
               if name == package or name.startswith(package + ".")]
    blogmark_guest.pin_builtins(globals(), *(vars(module) for module in modules))


_pin()
_warm_up()
_WARMING_UP = False
