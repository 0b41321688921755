"""`ctx.data` and `ctx.site`: what a script reads of the site beyond its
request, asked of the host one question at a time.

Every question (a data file, a folder's keys, a query over the pages) goes
through the host's `query` call, which notes the question and its answer:
a cached result is reused only where the same questions get the same
answers, so a script is re-run exactly when what it read changed. Nothing
is fetched before a script reads it.
"""

import binascii
import collections.abc
import json

from componentize_py_types import Err
from wit_world.imports import host

from blogmark_guest.jsoncodec import from_json, to_json
from blogmark_guest.lockdown import SandboxDenied


def ask(question):
    """The host's answer to `question` (a dict); its refusal as `LookupError`."""
    try:
        answer = host.query(to_json(question))
    except Err as refused:
        raise LookupError(str(refused.value)) from None
    return from_json(answer)


def frozen(value):
    """A read-only view of a decoded JSON value: an object becomes a
    `Record`, a list a tuple. What a `Record` holds is made read-only when
    it is first read, so a script that reads two fields of each of four
    pages pays for those, not for every field of every page (made all at
    once, that was most of a call that queried)."""
    kind = type(value)
    if kind is dict:
        return Record(value)
    if kind is list:
        return tuple(map(frozen, value))
    return value


class Record(collections.abc.Mapping):
    """A read-only mapping whose keys also read as attributes
    (`page.title` or `page["title"]`)."""

    __slots__ = ("_fields",)
    # What a field that holds an object or a list is made into when read.
    _made = staticmethod(frozen)

    def __init__(self, fields):
        object.__setattr__(self, "_fields", fields)

    def __getitem__(self, key):
        fields = self._fields
        value = fields[key]
        kind = type(value)
        if kind is dict or kind is list:
            # Kept made: the same field reads as the same object again.
            value = fields[key] = self._made(value)
        return value

    def __iter__(self):
        return iter(self._fields)

    def __len__(self):
        return len(self._fields)

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        raise AttributeError("site data is read-only")

    def __repr__(self):
        return f"Record({dict(self.items())!r})"


class DataFolder(collections.abc.Mapping):
    """`ctx.data` and each folder in it: a key names a data file (its
    content, read-only) or a folder (another `DataFolder`).

    Reading a key asks the host about that key alone (a folder's answer
    says only that it is one); listing the keys (`list()`, `len()`,
    iterating) asks for the folder's names, so a result depends on what
    else is in a folder only when the script looked. `items()` and
    `values()` read every file of the folder, so they ask for all of it in
    one question rather than one a file."""

    __slots__ = ("_path", "_names", "_read", "_whole")

    def __init__(self, path=(), names=None):
        object.__setattr__(self, "_path", tuple(path))
        object.__setattr__(self, "_names", names)
        object.__setattr__(self, "_read", {})
        object.__setattr__(self, "_whole", False)

    def __getitem__(self, key):
        if not isinstance(key, str):
            raise KeyError(key)
        read = object.__getattribute__(self, "_read")
        if key not in read:
            answer = ask({"data": [*self._path, key]})
            if "folder" in answer:
                read[key] = DataFolder((*self._path, key))
            elif "value" in answer:
                read[key] = frozen(answer["value"])
            else:
                read[key] = KeyError
        value = read[key]
        if value is KeyError:
            where = "/".join(("data", *self._path, key))
            raise KeyError(f"no data file or folder `{where}`")
        return value

    def __contains__(self, key):
        try:
            self[key]
        except KeyError:
            return False
        return True

    def _keys(self):
        if self._names is None:
            answer = ask({"keys": list(self._path)})
            object.__setattr__(self, "_names", tuple(answer.get("keys", ())))
        return self._names

    def _read_whole(self):
        """Every entry at once (one question, where reading key by key asks
        one a file); an answer too large for the call's input limit leaves
        the reads to `__getitem__`, key by key."""
        if self._whole:
            return
        object.__setattr__(self, "_whole", True)
        try:
            answer = ask({"entries": list(self._path)})
        except LookupError:
            return
        files = answer.get("files", {})
        folders = answer.get("folders", ())
        read = self._read
        for key, value in files.items():
            if key not in read:
                read[key] = frozen(value)
        for key in folders:
            if key not in read:
                read[key] = DataFolder((*self._path, key))
        if self._names is None:
            object.__setattr__(self, "_names", tuple(sorted((*files, *folders))))

    def items(self):
        self._read_whole()
        return super().items()

    def values(self):
        self._read_whole()
        return super().values()

    def __iter__(self):
        return iter(self._keys())

    def __len__(self):
        return len(self._keys())

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        raise AttributeError("ctx.data is read-only")

    def __repr__(self):
        return f"DataFolder({'/'.join(('data', *self._path))!r})"


_SORTS = ("date", "title", "path")


class Site(Record):
    """`ctx.site`: its `title` and `base_url`, and its pages by query."""

    __slots__ = ()

    def pages(self, section=None, tag=None, taxonomy=None, term=None, sort="date",
              reverse=None, limit=None):
        """The pages that match, as summaries (`title`, `url`, `path`,
        `slug`, `section`, `date`, `tags`, `taxonomies`, `summary`, `extra`,
        `resources`): `section` ("posts" or "pages"), `tag`, or `term` of
        `taxonomy`; sorted by `sort` (date, title or path), last first when
        `reverse` (by default newest first for dates, A to Z otherwise); at
        most `limit`."""
        if sort not in _SORTS:
            raise ValueError(f"sort must be one of {', '.join(_SORTS)}, not {sort!r}")
        if (taxonomy is None) != (term is None):
            raise ValueError("`taxonomy` and `term` go together")
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise ValueError("`limit` is a number of pages, 0 or more")
        query = {"section": section, "tag": tag, "taxonomy": taxonomy, "term": term,
                 "sort": sort, "reverse": None if reverse is None else bool(reverse),
                 "limit": limit}
        query = {k: v for k, v in query.items() if v is not None}
        for key in ("section", "tag", "taxonomy", "term"):
            if key in query and not isinstance(query[key], str):
                raise TypeError(f"`{key}` is a str")
        return frozen(ask({"pages": query})["pages"])

    def page(self, path_or_url):
        """One page's summary, by its source path (`content/posts/a.md`),
        its URL path (`/posts/a/`) or its slug; `None` when there is none."""
        if not isinstance(path_or_url, str):
            raise TypeError("a page is named by a str")
        return frozen(ask({"page": path_or_url})["page"])


class FetchError(OSError):
    """`ctx.fetch` got no response: the network, the server, or a limit
    (the message says which; a URL the site does not allow is
    `SandboxDenied` instead)."""

    __module__ = "dispatcher"


_DENIED = "denied: "
_FORMS = ("json", "text", "bytes")


def fetch(url, *, as_="json"):
    """`ctx.fetch(url, as_="json"|"text"|"bytes")`: a GET of `url` made by
    the host, when the site allows it (`[capabilities] fetch`) and the
    script declares `needs: [fetch]`. A render replays the response an
    earlier one stored, until `--refresh-remote` or `fetch_max_age`.
    JSON comes back read-only (`Record`s and tuples)."""
    if not isinstance(url, str):
        raise TypeError("ctx.fetch takes a URL as a str")
    if as_ not in _FORMS:
        raise ValueError(f"as_ must be one of {', '.join(_FORMS)}, not {as_!r}")
    try:
        answer = host.query(to_json({"fetch": url}))
    except Err as refused:
        message = str(refused.value)
        if message.startswith(_DENIED):
            raise SandboxDenied(message[len(_DENIED):]) from None
        raise FetchError(message) from None
    response = from_json(answer)
    if "text" in response:
        text, body = response["text"], None
    else:
        text, body = None, binascii.a2b_base64(response["base64"])
    if as_ == "bytes":
        return body if body is not None else text.encode()
    if text is None:
        text = body.decode("utf-8", errors="replace")
    if as_ == "text":
        return text
    return frozen(json.loads(text))


class ImageError(ValueError):
    """`ctx.resource(...)` cannot make the image asked for (no such file,
    not an image, a size out of range); the message says which."""

    __module__ = "dispatcher"


class Resource:
    """`ctx.resource(src)`: an image of the site, from which the host makes
    other sizes and formats when the site grants `[capabilities] images`
    and the script declares `needs: [images]`. `src` is a file of the
    page's bundle (`"cover.jpg"`, for scripts that declare `uses_page`) or
    a file under `static/` written as its URL (`"/img/logo.png"`).

    Each method returns a `Record` with `url`, `width` and `height`; the
    file is made once the pages are rendered, and kept."""

    __slots__ = ("_src", "_page")

    def __init__(self, src, page=None):
        if not isinstance(src, str):
            raise TypeError("ctx.resource takes a file name as a str")
        object.__setattr__(self, "_src", src)
        object.__setattr__(self, "_page", page)

    def __setattr__(self, name, value):
        raise AttributeError("a resource is read-only")

    def __repr__(self):
        return f"Resource({self._src!r})"

    def _make(self, op, width, height, anchor=None, format=None, quality=None):
        for name, value in (("width", width), ("height", height), ("quality", quality)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                      or value < 1):
                raise ValueError(f"`{name}` is a whole number of 1 or more")
        request = {"src": self._src, "page": self._page, "op": op, "width": width,
                   "height": height, "anchor": anchor, "format": format, "quality": quality}
        request = {k: v for k, v in request.items() if v is not None}
        try:
            answer = host.query(to_json({"image": request}))
        except Err as refused:
            message = str(refused.value)
            if message.startswith(_DENIED):
                raise SandboxDenied(message[len(_DENIED):]) from None
            raise ImageError(message) from None
        return frozen(from_json(answer))

    def resize(self, width=None, height=None, *, format=None, quality=None):
        """Scaled to `width` or `height` (the other follows the aspect), or
        to both exactly."""
        return self._make("resize", width, height, format=format, quality=quality)

    def fit(self, width, height, *, format=None, quality=None):
        """Scaled down to fit in `width`×`height`, keeping the aspect."""
        return self._make("fit", width, height, format=format, quality=quality)

    def fill(self, width, height, *, anchor="center", format=None, quality=None):
        """Scaled to cover `width`×`height`, then cut to it at `anchor`."""
        return self._make("fill", width, height, anchor, format, quality)

    def crop(self, width, height, *, anchor="center", format=None, quality=None):
        """Cut to `width`×`height` at `anchor`, unscaled."""
        return self._make("crop", width, height, anchor, format, quality)

    def srcset(self, widths, *, format=None, quality=None):
        """`"url 400w, url 800w"` for an `<img srcset>`: one resize per
        width."""
        made = [self.resize(width, format=format, quality=quality) for width in widths]
        return ", ".join(f"{image.url} {image.width}w" for image in made)


class BundleFile(Resource):
    """One of `ctx.page.resources`, by name (`ctx.page.resources["cover.jpg"]`):
    its facts (`name`, `size`, `media_type`, `sha256`, `width`, `height`)
    as keys or attributes, and for an image the methods of `Resource`."""

    __slots__ = ("_info",)

    def __init__(self, info, page):
        super().__init__(info["name"], page)
        object.__setattr__(self, "_info", info)

    def __getitem__(self, key):
        return self._info[key]

    def __getattr__(self, name):
        try:
            return object.__getattribute__(self, "_info")[name]
        except KeyError:
            raise AttributeError(name) from None

    def get(self, key, default=None):
        return self._info.get(key, default)

    def __repr__(self):
        return f"BundleFile({self._src!r})"


class Resources(tuple):
    """`ctx.page.resources`: the bundle's files, in order (each a read-only
    mapping, as before), and by name (`["cover.jpg"]`, a `BundleFile`)."""

    def __new__(cls, files, page):
        made = super().__new__(cls, files)
        object.__setattr__(made, "_page", page)
        return made

    def __setattr__(self, name, value):
        raise AttributeError("ctx.page.resources is read-only")

    def __getitem__(self, key):
        if isinstance(key, str):
            for info in self:
                if info.get("name") == key:
                    return BundleFile(info, self._page)
            raise KeyError(f"the page's bundle has no file {key!r}")
        return super().__getitem__(key)


def resource_of(page):
    """`ctx.resource` for a call on `page` (its request's, or None)."""
    path = page.get("path") if page else None

    def resource(src):
        return Resource(src, path)

    return resource
