"""A script's regular-expression literals, compiled ahead.

A `check` finds every `re.<function>("literal", ...)` call whose flags are
literal too, and compiles each as `re` would (`compiled_regexes`); the
result travels with the script's compiled code, and before the script's
module runs each is put in `re`'s cache (`prefill_regex_cache`), where a
first `re.compile` of it would have put it.
"""

import _sre
import ast
import re
import re._compiler
import re._parser
import warnings

_sre_compile = _sre.compile
_re_parse = re._parser.parse
_re_code = re._compiler._code
_re_cache = re._cache
# `re`'s second cache, which it reads first (CPython 3.12 on, as the
# guest's); on an older host Python that runs the unit tests, a dict of
# its own, and `re._cache` alone is read, as `re` there does.
_re_cache2 = getattr(re, "_cache2", {})
_re_compile = re.compile
_catch_warnings = warnings.catch_warnings
_simplefilter = warnings.simplefilter

# Module functions of `re` whose first argument is a pattern, and the
# position of their `flags` argument.
_RE_FLAGS_AT = {"compile": 1, "search": 2, "match": 2, "fullmatch": 2,
                "findall": 2, "finditer": 2, "sub": 4, "subn": 4, "split": 3}
_RE_FLAG_NAMES = {name: int(getattr(re, name)) for name in (
    "A", "ASCII", "I", "IGNORECASE", "L", "LOCALE", "M", "MULTILINE", "S",
    "DOTALL", "U", "UNICODE", "X", "VERBOSE", "NOFLAG")}
# Flags whose compiling prints or that the cache never holds.
_RE_UNCACHED = int(re.DEBUG)
# A script's literals compiled ahead, at most: `re` caches 256 patterns.
_RE_MAX = 64
# Their compiled code, at most, in words: it travels with every call of the
# script (and counts toward the request's size cap).
_RE_MAX_CODE = 16384


def regex_literals(tree):
    """The (pattern, flags) of every `re.<function>("literal", ...)` call in
    `tree` whose flags are literal too, in order, without repeats."""
    names = {alias.asname or "re" for node in ast.walk(tree)
             if isinstance(node, ast.Import) for alias in node.names
             if alias.name == "re"}
    if not names:
        return []

    def flags_of(node):
        if node is None:
            return 0
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in names and node.attr in _RE_FLAG_NAMES):
            return _RE_FLAG_NAMES[node.attr]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            left, right = flags_of(node.left), flags_of(node.right)
            if left is not None and right is not None:
                return left | right
        return None

    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in names and node.func.attr in _RE_FLAGS_AT):
            continue
        keywords = {k.arg: k.value for k in node.keywords if k.arg}
        pattern = node.args[0] if node.args else keywords.get("pattern")
        if not (isinstance(pattern, ast.Constant) and type(pattern.value) in (str, bytes)):
            continue
        at = _RE_FLAGS_AT[node.func.attr]
        flags = flags_of(node.args[at] if len(node.args) > at else keywords.get("flags"))
        entry = (pattern.value, flags)
        if flags is not None and not flags & _RE_UNCACHED and entry not in found:
            found.append(entry)
    return found[:_RE_MAX]


def compiled_regexes(tree):
    """For each regular expression literal of the script, its flags as
    written and the arguments of `_sre.compile` that make it, as `re` makes
    them. A literal is left out when compiling it fails or warns (a call
    must still see that), or when the pattern built from those arguments
    differs from the one `re.compile` returns."""
    out = []
    words = 0
    for pattern, flags in regex_literals(tree):
        try:
            with _catch_warnings(record=True) as caught:
                _simplefilter("always")
                parsed = _re_parse(pattern, flags)
                code = [int(op) for op in _re_code(parsed, flags)]
                expected = _re_compile(pattern, flags)
            if caught or words + len(code) > _RE_MAX_CODE:
                continue
            groupindex = dict(parsed.state.groupdict)
            indexgroup = [None] * parsed.state.groups
            for name, index in groupindex.items():
                indexgroup[index] = name
            made = (pattern, int(flags | parsed.state.flags), code,
                    parsed.state.groups - 1, groupindex, tuple(indexgroup))
            if _sre_compile(*made) == expected:
                out.append((flags, made))
                words += len(code)
        except Exception:  # noqa: BLE001 - the call compiles it as usual
            continue
    return tuple(out)


def prefill_regex_cache(regexes):
    """Put the script's compiled literals in `re`'s cache, as a first
    `re.compile` of each would: the call then finds them compiled."""
    for flags, made in regexes:
        pattern = made[0]
        key = (type(pattern), pattern, flags)
        if key in _re_cache2 or key in _re_cache:
            continue
        compiled = _sre_compile(*made)
        _re_cache[key] = compiled
        _re_cache2[key] = compiled
