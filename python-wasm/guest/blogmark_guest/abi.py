"""ABI v1 (docs/abi-v1.md): a request's handlers and the result documents.

`HANDLERS` answers a `macro`, `transform`, `hook`, `generator` or `check` request with its result
document; `error_document` is the one for an exception a script raised.
The dispatcher decodes the request and encodes what these return.
"""

import ast
import binascii
import linecache
import marshal
import traceback
import types

from blogmark_guest import ABI_VERSION
from blogmark_guest.ctx import CallInfo, Context
from blogmark_guest.regex_literals import compiled_regexes, prefill_regex_cache
from blogmark_guest.site import (
    DataFolder,
    Record,
    Resources,
    Site,
    fetch,
    frozen,
    resource_of,
)

_MappingProxy = types.MappingProxyType
_ModuleType = types.ModuleType
_CodeType = types.CodeType
_FunctionType = types.FunctionType
_marshal_loads = marshal.loads
_marshal_dumps = marshal.dumps
# binascii's C functions rather than `base64`'s Python wrappers: a call
# then runs no `base64` bytecode, whose inline caches it would write.
_b64decode = binascii.a2b_base64
_b64encode = binascii.b2a_base64
_extract_tb = traceback.extract_tb
_format_exception = traceback.format_exception
_linecache = linecache.cache
_ast_parse = ast.parse
_AST_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def freeze(value):
    """A read-only deep copy: dicts become mappingproxies, lists tuples."""
    if isinstance(value, dict):
        return _MappingProxy({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    return value


def script_filename(script):
    return script.get("path") or f"scripts/{script['slug']}.py"


def error_document(exc, filename):
    """The ABI v1 error document for an exception raised by a script."""
    line = None
    if isinstance(exc, SyntaxError) and exc.filename == filename:
        line = exc.lineno
    frames = _extract_tb(exc.__traceback__)
    for frame in frames:
        if frame.filename == filename:
            line = frame.lineno
    # Keep only the script's own frames and what it called, not the dispatcher.
    first = next((i for i, f in enumerate(frames) if f.filename == filename), 0)
    tb = exc.__traceback__
    for _ in range(first):
        tb = tb.tb_next
    text = "".join(_format_exception(type(exc), exc, tb))
    if isinstance(exc, SystemExit):
        message = f"the script called sys.exit({exc.code!r})"
    elif isinstance(exc, KeyboardInterrupt):
        message = "the script raised KeyboardInterrupt"
    elif isinstance(exc, SyntaxError):
        message = f"{exc.msg} (line {exc.lineno}, column {exc.offset})"
    else:
        message = str(exc)
    error = {"type": type(exc).__name__, "message": message, "traceback": text}
    if line is not None:
        error["line"] = line
    if isinstance(exc, SyntaxError) and exc.offset is not None:
        error["column"] = exc.offset
    return {"abi": ABI_VERSION, "ok": False, "error": error}


def _failure(kind, message, line=None):
    error = {"type": kind, "message": message, "traceback": ""}
    if line is not None:
        error["line"] = line
    return {"abi": ABI_VERSION, "ok": False, "error": error}


def precompiled(script, filename):
    """The code object a `check` of this same source produced, and the
    regular expressions it compiled, if the host sent them: unmarshalling
    is cheaper than compiling on every call."""
    blob = script.get("code")
    if not blob:
        return None, ()
    try:
        code, regexes = _marshal_loads(_b64decode(blob))
    except (ValueError, TypeError, EOFError):
        return None, ()
    if isinstance(code, _CodeType) and code.co_filename == filename:
        return code, regexes
    return None, ()


# The site's scripts compiled into the site snapshot, by the key the host
# names them with (see `preload_scripts`): a request for one of them carries
# the key instead of its source and code. What a call does to an entry is
# undone with the rest of its writes when the instance is reset.
_PRELOADED = {}


def preload_scripts(scripts):
    """Compile `scripts` (each a dict of `key`, `slug`, `path` and `source`)
    for the site snapshot: code, regular expression literals and the lines
    tracebacks quote, filed under `key`. Nothing of a script runs. Returns
    what was filed, by key; a script that does not compile is left out (its
    calls send their source, and fail as they would have)."""
    filed = {}
    for script in scripts:
        filename = script_filename(script)
        source = script["source"].removeprefix("\ufeff")
        try:
            tree = _ast_parse(source, filename)
            code = compile(tree, filename, "exec", dont_inherit=True)
            regexes = compiled_regexes(tree)
        except Exception:  # noqa: BLE001 - a script that does not compile is not filed
            continue
        lines = source.splitlines(keepends=True)
        _PRELOADED[script["key"]] = (code, regexes, (len(source), None, lines, filename))
        # Its lines are in the snapshot too: a call only reads them.
        _linecache[filename] = _PRELOADED[script["key"]][2]
        prefill_regex_cache(regexes)
        filed[script["key"]] = _PRELOADED[script["key"]]
    return filed


def _load(script):
    """Compile and execute a script's module body; return its namespace."""
    filename = script_filename(script)
    key = script.get("preloaded")
    if key is not None:
        found = _PRELOADED.get(key)
        if found is None:
            raise LookupError(f"the site snapshot holds no script {key!r}")
        code, regexes, lines = found
        if _linecache.get(filename) is not lines:
            _linecache[filename] = lines
    else:
        # An editor's byte-order mark, which Python skips in a file.
        source = script["source"].removeprefix("\ufeff")
        lines = source.splitlines(keepends=True)
        _linecache[filename] = (len(source), None, lines, filename)
        code, regexes = precompiled(script, filename)
        if code is None:
            code = compile(source, filename, "exec", dont_inherit=True)
    prefill_regex_cache(regexes)
    module = _ModuleType(script["slug"])
    module.__file__ = filename
    exec(code, module.__dict__)
    return module


def _entrypoint(module, script):
    name = script["entrypoint"]
    fn = getattr(module, name, None)
    if callable(fn):
        return fn, None
    found = sorted(k for k, v in vars(module).items()
                   if isinstance(v, _FunctionType) and not k.startswith("_"))
    listed = ", ".join(found) if found else "none"
    return None, _failure(
        "EntrypointMissing",
        f"no function `{name}` in the script (functions found: {listed})",
    )


def _prepared(request):
    """The request's script loaded: its entrypoint, or the failure document
    that says it has none."""
    script = request["script"]
    return _entrypoint(_load(script), script)


class PageRecord(Record):
    """`ctx.page`: a `Record` whose objects and lists read as mappingproxies
    and tuples (as `ctx.args` does), each made when first read."""

    __slots__ = ()
    _made = staticmethod(freeze)


def _page_record(request):
    """`ctx.page`: None unless the script declares `uses_page`; else
    `ctx.page.title` or `ctx.page["title"]`, and its bundle's files by
    position or by name (`ctx.page.resources["cover.jpg"].resize(...)`)."""
    page = request.get("page")
    if page is None:
        return None
    fields = dict(page)
    fields["resources"] = Resources(freeze(page.get("resources", [])), page.get("path"))
    return PageRecord(fields)


# What every call on a page sees of it and of the site, made when the script
# first reads it: `ctx.page`, `ctx.site`, `ctx.data`, `ctx.fetch` and
# `ctx.resource` (for scripts the site lets fetch or process images).
_SITE_FIELDS = {
    "page": _page_record,
    "site": lambda request: Site(dict(request.get("site") or {})),
    "data": lambda request: DataFolder(),
    "fetch": lambda request: fetch,
    "resource": lambda request: resource_of(request.get("page")),
}


def _html_result(value, script, expected, none_allowed=False):
    """The result document of a macro or hook that returned `value`: a str,
    or {'html': str}; None too where `none_allowed`."""
    if isinstance(value, dict) and set(value) == {"html"}:
        value = value["html"]
    if not isinstance(value, str) and not (none_allowed and value is None):
        raise TypeError(
            f"`{script['entrypoint']}` returned {type(value).__name__}; {expected}")
    return {"abi": ABI_VERSION, "ok": True, "html": value}


def macro(request):
    script = request["script"]
    call = request["call"]
    fn, failure = _prepared(request)
    if failure:
        return failure
    ctx = Context({
        "args": freeze(call.get("args") or {}),
        "positional": freeze(call.get("positional") or []),
        "body": call.get("body"),
        "call": CallInfo(call.get("name")),
    }, request, _SITE_FIELDS)
    return _html_result(fn(ctx), script, "a macro returns a str or {'html': str}")


def transform(request):
    script = request["script"]
    post = request["post"]
    fn, failure = _prepared(request)
    if failure:
        return failure
    value = fn({"path": post["path"],
                "front_matter": dict(post.get("front_matter") or {}),
                "body": post["body"]})
    if value is None or value == "unchanged":
        return {"abi": ABI_VERSION, "ok": True, "unchanged": True}
    if not isinstance(value, dict):
        raise TypeError(
            f"`{script['entrypoint']}` returned {type(value).__name__}; a transform "
            "returns the post as a dict, or None when it leaves it unchanged"
        )
    new_post = {"path": post["path"],
                "front_matter": value.get("front_matter", post.get("front_matter") or {}),
                "body": value.get("body", post["body"])}
    if not isinstance(new_post["body"], str) or not isinstance(new_post["front_matter"], dict):
        raise TypeError("a transform's result needs `body` as str and `front_matter` as dict")
    return {"abi": ABI_VERSION, "ok": True, "post": new_post}


# `ctx.<name>` of each element type; `ctx.element` is always there too.
_ELEMENT_NAMES = {"link": "link", "image": "image", "heading": "heading",
                  "codeblock": "code", "table": "table", "blockquote": "blockquote"}


def hook(request):
    """A render hook: the element's HTML, or None for the default rendering."""
    script = request["script"]
    fn, failure = _prepared(request)
    if failure:
        return failure
    element = frozen(request["element"])
    ctx = Context({
        "element": element,
        _ELEMENT_NAMES.get(element["type"], "element"): element,
    }, request, _SITE_FIELDS)
    return _html_result(fn(ctx), script,
                        "a hook returns a str of HTML, or None for the default rendering",
                        none_allowed=True)


def _generated_page(index, page):
    if not isinstance(page, dict):
        raise TypeError(f"page {index} is a {type(page).__name__}; a page is a dict")
    path, body = page.get("path"), page.get("body", "")
    front_matter = page.get("front_matter", {})
    if not isinstance(path, str) or not isinstance(body, str) or not isinstance(front_matter, dict):
        raise TypeError(f"page {index} needs `path` (str), `front_matter` (dict) and `body` (str)")
    unknown = set(page) - {"path", "front_matter", "body"}
    if unknown:
        raise TypeError(f"page {index} has unknown keys: {', '.join(sorted(unknown))}")
    return {"path": path, "front_matter": front_matter, "body": body}


def _generated_file(index, file):
    if not isinstance(file, dict) or set(file) != {"output", "content"} \
            or not isinstance(file["output"], str) or not isinstance(file["content"], str):
        raise TypeError(f"file {index} needs exactly `output` (str) and `content` (str)")
    return {"output": file["output"], "content": file["content"]}


def generator(request):
    """A generator: pages and output files made from the site's data."""
    script = request["script"]
    fn, failure = _prepared(request)
    if failure:
        return failure
    ctx = Context({
        "site": Site(dict(request.get("site") or {})),
        "data": DataFolder(),
        "page": None,
        "fetch": fetch,
        "resource": resource_of(None),
    })
    value = fn(ctx)
    if value is None:
        value = {}
    if isinstance(value, (list, tuple)):
        value = {"pages": value}
    if not isinstance(value, dict) or set(value) - {"pages", "files"}:
        raise TypeError(
            f"`{script['entrypoint']}` returned {type(value).__name__}; a generator returns "
            "{'pages': [...], 'files': [...]} or a list of pages"
        )
    pages = [_generated_page(i, p) for i, p in enumerate(value.get("pages") or ())]
    files = [_generated_file(i, f) for i, f in enumerate(value.get("files") or ())]
    return {"abi": ABI_VERSION, "ok": True, "pages": pages, "files": files}


def check(request):
    """Syntax check and entrypoint discovery, without running the script."""
    script = request["script"]
    filename = script_filename(script)
    tree = _ast_parse(script["source"].removeprefix("\ufeff"), filename)
    functions = [node.name for node in tree.body
                 if isinstance(node, _AST_FUNCTIONS)]
    code = compile(tree, filename, "exec", dont_inherit=True)
    compiled = (code, compiled_regexes(tree))
    return {"abi": ABI_VERSION, "ok": True, "functions": functions,
            "has_entrypoint": script["entrypoint"] in functions,
            "code": _b64encode(_marshal_dumps(compiled), newline=False).decode("ascii")}


HANDLERS = {"macro": macro, "transform": transform, "hook": hook, "generator": generator,
            "check": check}
