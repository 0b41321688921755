"""The `ctx` a macro is given: its arguments, body, page and site, read
only, and `ctx.call`, whose position is asked of the host on first read."""

import collections.abc

from wit_world.imports import host


class CallInfo(collections.abc.Mapping):
    """`ctx.call`: the macro's `name`, and its `file`, `line` and `column`.

    The position is fetched from the host the first time a script reads it,
    and the host notes that it did: a result that never looked at the
    position is reused for the same call anywhere in the site."""

    # As when defined in the dispatcher: `type(ctx.call)` reads the same.
    __module__ = "dispatcher"
    __slots__ = ("_name", "_position")
    _KEYS = ("name", "file", "line", "column")

    def __init__(self, name):
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_position", None)

    def __getitem__(self, key):
        if key == "name":
            return self._name
        if key not in self._KEYS:
            raise KeyError(key)
        if self._position is None:
            place = host.call_position()
            position = {"file": place.file, "line": place.line, "column": place.column} \
                if place is not None else {"file": "", "line": 0, "column": 0}
            object.__setattr__(self, "_position", position)
        return self._position[key]

    def __contains__(self, key):
        return key in self._KEYS

    def __iter__(self):
        return iter(self._KEYS)

    def __len__(self):
        return len(self._KEYS)

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"ctx.call has no field {name!r}") from None

    def __setattr__(self, name, value):
        raise AttributeError("ctx.call is read-only")

    def __repr__(self):
        return f"CallInfo({dict(self)!r})"


class Context:
    """What a macro sees: `ctx.args`, `ctx.positional`, `ctx.body`, `ctx.call`,
    `ctx.page` (None unless the script declares `uses_page`), `ctx.site`.

    Fields named in `lazy` (a name to a function of `source`) are made on
    first read, then kept: most calls read one or two of them, and making
    the others (the site, the data folder, the page's record) was a tenth
    of a small call's work."""

    __module__ = "dispatcher"
    __slots__ = ("_fields", "_source", "_lazy")

    def __init__(self, fields, source=None, lazy=None):
        object.__setattr__(self, "_fields", fields)
        object.__setattr__(self, "_source", source)
        object.__setattr__(self, "_lazy", lazy or {})

    def __getattr__(self, name):
        fields = object.__getattribute__(self, "_fields")
        try:
            return fields[name]
        except KeyError:
            pass
        make = object.__getattribute__(self, "_lazy").get(name)
        if make is None:
            raise AttributeError(f"ctx has no field {name!r}") from None
        value = fields[name] = make(object.__getattribute__(self, "_source"))
        return value

    def __setattr__(self, name, value):
        raise AttributeError("ctx is read-only")

    def __repr__(self):
        fields = object.__getattribute__(self, "_fields")
        lazy = object.__getattribute__(self, "_lazy")
        shown = {k: v for k, v in fields.items() if k not in lazy}
        for name in lazy:
            shown[name] = getattr(self, name)
        return f"Context({shown!r})"

    @staticmethod
    def log(message, level="info"):
        """Send one line to the host's log (shown with `-v`)."""
        levels = {"debug": host.Level.DEBUG, "info": host.Level.INFO,
                  "warn": host.Level.WARN, "error": host.Level.ERROR}
        host.log(levels.get(level, host.Level.INFO), str(message))
