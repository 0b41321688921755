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
time (`_pinned` below), so a patch cannot corrupt how its answer is encoded.
"""

import ast
import binascii
import builtins
import collections.abc
import errno
import gc
import importlib.machinery
import io
import json
import linecache
import marshal
import os
import posixpath
import stat as _stat_module
import sys
import traceback
import types
import warnings

import wit_world
from componentize_py_types import Err
from wit_world.imports import host

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

import json.decoder  # noqa: E402
import json.encoder  # noqa: E402
import json.scanner  # noqa: E402


def _unserializable(value):
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# The C encoder and scanner objects keep their settings inside: patching
# `json.JSONEncoder`, `json.dumps` or `json.encoder.*` afterwards changes
# nothing about these.
def _encoder(escape):
    return json.encoder.c_make_encoder(
        None, _unserializable, escape, None, ": ", ", ", False, False, True)


_ENCODE = _encoder(json.encoder.c_encode_basestring)
_ENCODE_ASCII = _encoder(json.encoder.c_encode_basestring_ascii)
_SCAN = json.scanner.c_make_scanner(json.decoder.JSONDecoder())
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
_close = os.close
_STREAMS = (sys.stdout, sys.stderr)
_load_module = host.load_module
_ModuleSpec = importlib.machinery.ModuleSpec
_decode_source = importlib._bootstrap_external.decode_source
_sre_compile = sys.modules["_sre"].compile
_re_parse = sys.modules["re._parser"].parse
_re_code = sys.modules["re._compiler"]._code
_re_cache = sys.modules["re"]._cache
_re_cache2 = sys.modules["re"]._cache2
_re_compile = sys.modules["re"].compile
_catch_warnings = warnings.catch_warnings
_simplefilter = warnings.simplefilter


def _to_json(value, ascii_only=False):
    return "".join((_ENCODE_ASCII if ascii_only else _ENCODE)(value, 0))


def _from_json(text):
    try:
        value, end = _SCAN(text, 0)
    except StopIteration:
        raise ValueError("not a JSON document") from None
    if end != len(text):
        raise ValueError(f"extra data after the JSON document at {end}")
    return value

ABI_VERSION = 1

# Capabilities a sandboxed script never has. The host withholds them (no
# sockets, no preopened directories, no process spawning, no threads in
# WASI); what is patched here only turns an obscure failure into a message
# that says why. Every module imports (DESIGN §12): connecting, spawning
# and starting a thread are what is refused, at use.
_THREAD_STARTERS = ("start_new_thread", "start_new", "start_joinable_thread",
                    "_start_joinable_thread", "_start_new_thread")


class SandboxDenied(PermissionError):
    """Raised when a script reaches for a capability the sandbox withholds."""


def _denied(what):
    def deny(*_args, **_kwargs):
        raise SandboxDenied(f"{what} is not available to Blogmark scripts")

    return deny


def _no_threads(*_args, **_kwargs):
    raise SandboxDenied("starting a thread: Blogmark scripts have no access to threads")


def _deny_init(what):
    def __init__(self, *_args, **_kwargs):
        raise SandboxDenied(f"{what} is not available to Blogmark scripts")

    return __init__


_NETWORK_FUNCTIONS = ("create_connection", "create_server", "getaddrinfo",
                      "gethostbyname", "gethostbyname_ex", "gethostbyaddr",
                      "getnameinfo", "socketpair", "fromfd", "getfqdn")


def _patch_socket(module):
    for name in _NETWORK_FUNCTIONS:
        if hasattr(module, name):
            setattr(module, name, _denied(f"the network (socket.{name})"))
    if isinstance(getattr(module, "socket", None), type) and module.__name__ == "socket":
        module.socket.__init__ = _deny_init("the network (socket.socket)")


def _patch_subprocess(module):
    module.Popen.__init__ = _deny_init("starting a process (subprocess)")


def _patch_mp_process(module):
    module.BaseProcess.start = _denied("starting a process (multiprocessing)")


def _patch_asyncio_events(module):
    # The default loop needs a self-pipe (a socket pair) and a selector over
    # real descriptors; a script's coroutines need neither.
    module.new_event_loop = _sandbox_event_loop
    asyncio = sys.modules.get("asyncio")
    if asyncio is not None:
        asyncio.new_event_loop = _sandbox_event_loop


def _patch_asyncio(module):
    module.new_event_loop = _sandbox_event_loop


def _patch_tokenize(module):
    # `tokenize.open` (how linecache, and so tracebacks and `inspect`, read
    # a source) holds the `open` it found when it was imported.
    module._builtin_open = _open


_AT_USE = {
    "tokenize": _patch_tokenize,
    "_socket": _patch_socket,
    "socket": _patch_socket,
    "subprocess": _patch_subprocess,
    "multiprocessing.process": _patch_mp_process,
    "asyncio.events": _patch_asyncio_events,
    "asyncio": _patch_asyncio,
}


def _sandbox_event_loop():
    """An event loop for coroutines that compute: timers and callbacks run
    (a sleep advances the sandbox's virtual clock), I/O is refused."""
    import asyncio.base_events
    import time

    class _NoSelector:
        def select(self, timeout=None):
            if timeout:
                time.sleep(timeout)
            return []

        def close(self):
            pass

    class SandboxEventLoop(asyncio.base_events.BaseEventLoop):
        def __init__(self):
            super().__init__()
            self._selector = _NoSelector()

        def _process_events(self, event_list):
            pass

        def _write_to_self(self):
            pass

        def run_in_executor(self, executor, func, *args):
            raise SandboxDenied("run_in_executor: Blogmark scripts have no access to threads")

    return SandboxEventLoop()


# Compiled standard-library modules the guest's CPython lacks, imported
# unconditionally by modules that are useful without them (`bz2` by
# networkx, for one): each imports as a stand-in whose use says why.
_STAND_INS = {
    "_bz2": ("bzip2 compression", ()),
    "_lzma": ("lzma compression", (
        "CHECK_CRC32", "CHECK_CRC64", "CHECK_ID_MAX", "CHECK_NONE", "CHECK_SHA256",
        "CHECK_UNKNOWN", "FILTER_ARM", "FILTER_ARMTHUMB", "FILTER_DELTA", "FILTER_IA64",
        "FILTER_LZMA1", "FILTER_LZMA2", "FILTER_POWERPC", "FILTER_SPARC", "FILTER_X86",
        "FORMAT_ALONE", "FORMAT_AUTO", "FORMAT_RAW", "FORMAT_XZ", "LZMACompressor",
        "LZMADecompressor", "LZMAError", "MF_BT2", "MF_BT3", "MF_BT4", "MF_HC3",
        "MF_HC4", "MODE_FAST", "MODE_NORMAL", "PRESET_DEFAULT", "PRESET_EXTREME",
        "is_check_supported")),
}


class _StandIn(types.ModuleType):
    """A compiled module the guest lacks: any name it is asked for exists,
    and using it raises NotImplementedError naming the module."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        module = self.__name__
        what = _STAND_INS[module][0]

        def unavailable(*_args, **_kwargs):
            raise NotImplementedError(
                f"{module}.{name}: the sandbox's CPython is built without {what} "
                f"(`{module}` is a stand-in)")

        base = Exception if name.endswith("Error") else object
        member = type(name, (base,), {"__new__": unavailable, "__module__": module,
                                      "__init_subclass__": classmethod(lambda cls, **k: None)})
        setattr(self, name, member)
        return member


# `ctypes` itself needs `_ctypes` from its first line. Code that only asks
# the platform's C sizes (`sizeof(c_long)`: sympy, at import) gets this
# stand-in, where the simple types and `sizeof` work (with the sizes of
# wasm32, as a WASI build of CPython with ctypes would give) and anything
# that would reach native code raises NotImplementedError.
_CTYPES_STAND_IN = """
import struct as _struct


class _SimpleCData:
    _type_ = "i"

    def __init__(self, value=None):
        self.value = (0.0 if self._type_ in "fdg" else 0) if value is None else value

    def __repr__(self):
        return f"{type(self).__name__}({self.value!r})"


def _simple(name, code):
    return type(name, (_SimpleCData,), {"_type_": code, "__module__": "ctypes"})


_SIZES = {"z": "P", "Z": "P", "g": "d", "u": "I", "v": "h", "X": "P", "O": "P"}
c_byte, c_ubyte, c_short, c_ushort = (_simple(n, c) for n, c in (
    ("c_byte", "b"), ("c_ubyte", "B"), ("c_short", "h"), ("c_ushort", "H")))
c_int, c_uint, c_long, c_ulong = (_simple(n, c) for n, c in (
    ("c_int", "i"), ("c_uint", "I"), ("c_long", "l"), ("c_ulong", "L")))
c_longlong, c_ulonglong, c_float, c_double = (_simple(n, c) for n, c in (
    ("c_longlong", "q"), ("c_ulonglong", "Q"), ("c_float", "f"), ("c_double", "d")))
c_longdouble, c_bool, c_char, c_wchar = (_simple(n, c) for n, c in (
    ("c_longdouble", "g"), ("c_bool", "?"), ("c_char", "c"), ("c_wchar", "u")))
c_char_p, c_wchar_p, c_void_p, py_object = (_simple(n, c) for n, c in (
    ("c_char_p", "z"), ("c_wchar_p", "Z"), ("c_void_p", "P"), ("py_object", "O")))
c_int8, c_uint8, c_int16, c_uint16 = c_byte, c_ubyte, c_short, c_ushort
c_int32, c_uint32, c_int64, c_uint64 = c_int, c_uint, c_longlong, c_ulonglong
c_size_t, c_ssize_t = c_uint, c_int


def sizeof(obj):
    kind = obj if isinstance(obj, type) else type(obj)
    code = getattr(kind, "_type_", None)
    if not isinstance(code, str):
        raise TypeError("this type has no size")
    return _struct.calcsize(_SIZES.get(code, code))


def alignment(obj):
    return sizeof(obj)


class ArgumentError(Exception):
    pass


def __getattr__(name):
    # Submodules are imported, and refused, by the finder.
    if name.startswith("__") or name in ("util", "wintypes", "macholib", "_endian", "_aix",
                                         "_layout"):
        raise AttributeError(name)

    def unavailable(*_args, **_kwargs):
        raise NotImplementedError(
            f"ctypes.{name}: the sandbox's CPython is built without ctypes "
            "(its simple types and sizeof are a stand-in)")

    return type(name, (), {"__new__": unavailable, "__module__": "ctypes"})
"""


class _CtypesLoader:
    @staticmethod
    def create_module(spec):
        return None

    @staticmethod
    def exec_module(module):
        exec(compile(_CTYPES_STAND_IN, "<ctypes stand-in>", "exec"), module.__dict__)


class _StandInLoader:
    @staticmethod
    def create_module(spec):
        module = _StandIn(spec.name)
        names = _STAND_INS[spec.name][1]
        if names:
            module.__all__ = list(names)
        return module

    @staticmethod
    def exec_module(module):
        pass


# The guest's read-only file tree (DESIGN §12), served by the host: the
# site's scripts/lib/ and scripts/vendor/ at /scripts/lib and
# /scripts/vendor. The sandbox has no file system of its own (no preopened
# directory), so the file functions below answer every path from the host
# and leave file descriptors to the real ones (which have none to use).
_host_stat = host.stat
_host_read = host.read_file
_host_list = host.list_folder
_real_open = io.open
_real_stat = os.stat
_real_lstat = os.lstat
_real_listdir = os.listdir
_real_scandir = os.scandir
_real_access = os.access
_normpath = posixpath.normpath
_fspath = os.fspath
_fsdecode = os.fsdecode
_fsencode = os.fsencode
_stat_result = os.stat_result
_S_IFDIR = _stat_module.S_IFDIR
_S_IFREG = _stat_module.S_IFREG
_BytesIO = io.BytesIO
_TextIOWrapper = io.TextIOWrapper
_crc32 = binascii.crc32


def _tree_path(file):
    """The tree's absolute, normalized path for `file` (str, bytes or
    path-like), relative paths taken from `/` (the guest's working
    directory)."""
    path = _fspath(file)
    if isinstance(path, bytes):
        path = _fsdecode(path)
    if "\0" in path:
        raise ValueError("embedded null byte")
    path = _normpath("/" + path if not path.startswith("/") else path)
    if path.startswith("//"):
        path = "/" + path.lstrip("/")
    return path


def _not_found(file, code=errno.ENOENT):
    return OSError(code, os.strerror(code), file)


def _tree_stat_result(path, info):
    mode = (_S_IFDIR | 0o555) if info.is_folder else (_S_IFREG | 0o444)
    return _stat_result((mode, _crc32(path.encode("utf-8", "surrogateescape")), 1, 1,
                         0, 0, info.size, 0, 0, 0))


class _TreeFile(io.BytesIO):
    """A file of the tree opened for reading: its bytes, read-only."""

    def __init__(self, data, name):
        super().__init__(data)
        self.name = name
        self.mode = "rb"

    def writable(self):
        return False

    def write(self, _data):
        raise io.UnsupportedOperation("not writable")

    def truncate(self, _size=None):
        raise io.UnsupportedOperation("not writable")


def _open(file, mode="r", buffering=-1, encoding=None, errors=None, newline=None,
          closefd=True, opener=None):
    if isinstance(file, int) or opener is not None:
        return _real_open(file, mode, buffering, encoding, errors, newline, closefd, opener)
    path = _tree_path(file)
    if not isinstance(mode, str):
        raise TypeError(f"open() argument 'mode' must be str, not {type(mode).__name__}")
    if set(mode) - set("rbt") or ("b" in mode and "t" in mode):
        if set(mode) - set("rwxabt+"):
            raise ValueError(f"invalid mode: '{mode}'")
        raise OSError(errno.EROFS, "Read-only file system: Blogmark scripts write no files",
                      file)
    data = _host_read(path)
    if data is None:
        info = _host_stat(path)
        raise _not_found(file, errno.EISDIR if info is not None else errno.ENOENT)
    raw = _TreeFile(data, file)
    if "b" in mode:
        return raw
    return _TextIOWrapper(raw, encoding, errors, newline)


def _stat(path, *, dir_fd=None, follow_symlinks=True):
    if isinstance(path, int) or dir_fd is not None:
        return _real_stat(path, dir_fd=dir_fd, follow_symlinks=follow_symlinks)
    tree_path = _tree_path(path)
    info = _host_stat(tree_path)
    if info is None:
        raise _not_found(path)
    return _tree_stat_result(tree_path, info)


def _lstat(path, *, dir_fd=None):
    return _stat(path, dir_fd=dir_fd, follow_symlinks=False)


def _access(path, mode, *, dir_fd=None, effective_ids=False, follow_symlinks=True):
    if isinstance(path, int) or dir_fd is not None:
        return _real_access(path, mode, dir_fd=dir_fd, effective_ids=effective_ids,
                            follow_symlinks=follow_symlinks)
    info = _host_stat(_tree_path(path))
    return info is not None and not mode & os.W_OK


def _names(path):
    tree_path = _tree_path(path)
    names = _host_list(tree_path)
    if names is None:
        info = _host_stat(tree_path)
        raise _not_found(path, errno.ENOTDIR if info is not None else errno.ENOENT)
    return tree_path, names


def _listdir(path="."):
    if isinstance(path, int):
        return _real_listdir(path)
    _, names = _names(path)
    if isinstance(_fspath(path), bytes):
        return [_fsencode(name) for name in names]
    return list(names)


class _TreeEntry:
    """One entry of `os.scandir` over the tree."""

    __slots__ = ("name", "path", "_tree_path", "_info")

    def __init__(self, folder, tree_folder, name):
        as_bytes = isinstance(folder, bytes)
        self.name = _fsencode(name) if as_bytes else name
        joined = posixpath.join(folder, _fsencode(name) if as_bytes else name)
        self.path = joined
        self._tree_path = posixpath.join(tree_folder, name)
        self._info = None

    def _stat_info(self):
        if self._info is None:
            self._info = _host_stat(self._tree_path)
            if self._info is None:
                raise _not_found(self.path)
        return self._info

    def is_dir(self, *, follow_symlinks=True):
        try:
            return self._stat_info().is_folder
        except OSError:
            return False

    def is_file(self, *, follow_symlinks=True):
        try:
            return not self._stat_info().is_folder
        except OSError:
            return False

    def is_symlink(self):
        return False

    def is_junction(self):
        return False

    def stat(self, *, follow_symlinks=True):
        return _tree_stat_result(self._tree_path, self._stat_info())

    def inode(self):
        return self.stat().st_ino

    def __fspath__(self):
        return self.path

    def __repr__(self):
        return f"<DirEntry {self.name!r}>"


class _TreeScandir:
    """`os.scandir` over the tree: an iterator that is its own context."""

    def __init__(self, entries):
        self._entries = iter(entries)

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._entries)

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.close()

    def close(self):
        self._entries = iter(())


def _scandir(path="."):
    if isinstance(path, int):
        return _real_scandir(path)
    folder = _fspath(path)
    tree_folder, names = _names(path)
    return _TreeScandir([_TreeEntry(folder, tree_folder, name) for name in names])


def _read_tree_bytes(path):
    data = _host_read(_tree_path(path))
    if data is None:
        raise _not_found(path)
    return data


class _HostLoader:
    """Executes a module the host handed over (bytecode or source), and
    reads the files beside it from the guest's tree (`get_data`,
    `importlib.resources`). For a module of the base snapshot, the code is
    asked for only when it is executed again."""

    __slots__ = ("_found", "name", "path")

    def __init__(self, name, found, path):
        self._found = found
        self.name = name
        # Where importlib.resources' FileReader looks: the folder of this.
        self.path = path

    def create_module(self, spec):
        return None

    def _code(self):
        found = self._found
        if found is None:
            found = self._found = _load_module(self.name)
            if found is None:
                raise ImportError(f"no module named {self.name!r}", name=self.name)
        return found

    def exec_module(self, module):
        found = self._code()
        if found.bytecode:
            code = _marshal_loads(found.code)
        else:
            source = self.get_source(module.__name__)
            _linecache[found.origin] = (len(source), None,
                                        source.splitlines(keepends=True), found.origin)
            # From the bytes, as importlib compiles a file: a byte-order
            # mark or a coding line is the compiler's to read.
            code = compile(found.code, found.origin, "exec", dont_inherit=True)
        exec(code, module.__dict__)
        patch = _AT_USE.get(module.__name__)
        if patch is not None:
            patch(module)

    def get_source(self, name):
        found = self._code()
        return None if found.bytecode else _decode_source(found.code)

    def is_package(self, name):
        return self._code().is_package

    def get_filename(self, name):
        return self.path

    @staticmethod
    def get_data(path):
        return _read_tree_bytes(path)

    def get_resource_reader(self, name):
        from importlib.resources.readers import FileReader
        return FileReader(self)


class _HostFinder:
    """Meta-path finder for what the snapshot does not hold: the host has
    the standard library (as bytecode), the site's `scripts/lib/` and its
    vendored packages, and answers by module name only; and, for
    `importlib.metadata`, the vendored packages' `.dist-info`."""

    @staticmethod
    def find_spec(fullname, path=None, target=None):
        if fullname == "ctypes":
            # A package, as ctypes is, whose submodules all need `_ctypes`.
            return _ModuleSpec(fullname, _CtypesLoader, origin="stand-in", is_package=True)
        if fullname.startswith("ctypes."):
            raise ModuleNotFoundError(
                f"No module named '_ctypes' (`{fullname}` needs the real ctypes; "
                "the sandbox has a stand-in)", name="_ctypes")
        found = _load_module(fullname)
        if found is None:
            if fullname in _STAND_INS:
                return _ModuleSpec(fullname, _StandInLoader, origin="stand-in")
            return None
        origin = found.origin
        # A namespace package's origin is its folder.
        where = origin if origin.endswith(".py") else origin + "/__init__.py"
        spec = _ModuleSpec(fullname, _HostLoader(fullname, found, where), origin=origin,
                           is_package=found.is_package)
        spec.has_location = True
        return spec

    @staticmethod
    def find_distributions(context=None):
        from importlib.metadata import DistributionFinder, MetadataPathFinder
        name = getattr(context, "name", None)
        return MetadataPathFinder.find_distributions(
            DistributionFinder.Context(name=name, path=["/scripts/vendor"]))

    @staticmethod
    def invalidate_caches():
        pass


def _serve_files():
    """Point the file functions at the guest's tree."""
    builtins.open = io.open = _open
    sys.modules["_io"].open = _open
    os.stat = _stat
    os.lstat = _lstat
    os.access = _access
    os.listdir = _listdir
    os.scandir = _scandir


def _lock_down():
    # In place of the path finder: the sandbox has no files for it to find,
    # and looking for them would open WASI descriptors that a site snapshot
    # must not keep.
    finders = sys.meta_path
    at = finders.index(importlib.machinery.PathFinder) \
        if importlib.machinery.PathFinder in finders else len(finders)
    finders[at:at + 1] = [_HostFinder]
    # The modules of the base snapshot were loaded from files the guest
    # does not have: `find_spec(name).loader.exec_module(...)` (which
    # Python-Markdown does with `html.parser`) asks the host instead.
    for name, module in list(sys.modules.items()):
        spec = getattr(module, "__spec__", None)
        if spec is not None and isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            spec.loader = _HostLoader(name, None, spec.origin)
            module.__loader__ = spec.loader
    # `fork` only if WASI's `os` has it: code asks `hasattr(os, "fork")` to
    # learn whether it may fork (asyncio does, at import, and then needs
    # `os.register_at_fork`).
    for name in ("system", "popen", "fork", "forkpty", "execv", "execve",
                 "execvp", "execvpe", "spawnv", "spawnve", "posix_spawn",
                 "posix_spawnp", "kill", "killpg"):
        if hasattr(os, name) or not name.startswith("fork"):
            setattr(os, name, _denied(f"os.{name}"))
    import _thread
    for module in (_thread, sys.modules.get("threading")):
        for name in _THREAD_STARTERS:
            if module is not None and hasattr(module, name):
                setattr(module, name, _no_threads)
    for name, patch in _AT_USE.items():
        if name in sys.modules:
            patch(sys.modules[name])
    _serve_files()


_lock_down()


def _freeze(value):
    """A read-only deep copy: dicts become mappingproxies, lists tuples."""
    if isinstance(value, dict):
        return _MappingProxy({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


class CallInfo(collections.abc.Mapping):
    """`ctx.call`: the macro's `name`, and its `file`, `line` and `column`.

    The position is fetched from the host the first time a script reads it,
    and the host notes that it did: a result that never looked at the
    position is reused for the same call anywhere in the site."""

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
    `ctx.page` (None unless the script declares `uses_page`), `ctx.site`."""

    __slots__ = ("_fields",)

    def __init__(self, fields):
        object.__setattr__(self, "_fields", fields)

    def __getattr__(self, name):
        try:
            return object.__getattribute__(self, "_fields")[name]
        except KeyError:
            raise AttributeError(f"ctx has no field {name!r}") from None

    def __setattr__(self, name, value):
        raise AttributeError("ctx is read-only")

    def __repr__(self):
        return f"Context({dict(object.__getattribute__(self, '_fields'))!r})"

    @staticmethod
    def log(message, level="info"):
        """Send one line to the host's log (shown with `-v`)."""
        levels = {"debug": host.Level.DEBUG, "info": host.Level.INFO,
                  "warn": host.Level.WARN, "error": host.Level.ERROR}
        host.log(levels.get(level, host.Level.INFO), str(message))


def _script_filename(script):
    return script.get("path") or f"scripts/{script['slug']}.py"


def _error(exc, filename):
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


def _precompiled(script, filename):
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


# Module functions of `re` whose first argument is a pattern, and the
# position of their `flags` argument.
_RE_FLAGS_AT = {"compile": 1, "search": 2, "match": 2, "fullmatch": 2,
                "findall": 2, "finditer": 2, "sub": 4, "subn": 4, "split": 3}
_RE_FLAG_NAMES = {name: int(getattr(sys.modules["re"], name)) for name in (
    "A", "ASCII", "I", "IGNORECASE", "L", "LOCALE", "M", "MULTILINE", "S",
    "DOTALL", "U", "UNICODE", "X", "VERBOSE", "NOFLAG")}
# Flags whose compiling prints or that the cache never holds.
_RE_UNCACHED = int(sys.modules["re"].DEBUG)
# A script's literals compiled ahead, at most: `re` caches 256 patterns.
_RE_MAX = 64
# Their compiled code, at most, in words: it travels with every call of the
# script (and counts toward the request's size cap).
_RE_MAX_CODE = 16384


def _regex_literals(tree):
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


def _compiled_regexes(tree):
    """For each regular expression literal of the script, its flags as
    written and the arguments of `_sre.compile` that make it, as `re` makes
    them. A literal is left out when compiling it fails or warns (a call
    must still see that), or when the pattern built from those arguments
    differs from the one `re.compile` returns."""
    out = []
    words = 0
    for pattern, flags in _regex_literals(tree):
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


def _prefill_regex_cache(regexes):
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


def _load(script):
    """Compile and execute a script's module body; return its namespace."""
    filename = _script_filename(script)
    # An editor's byte-order mark, which Python skips in a file.
    source = script["source"].removeprefix("\ufeff")
    lines = source.splitlines(keepends=True)
    _linecache[filename] = (len(source), None, lines, filename)
    code, regexes = _precompiled(script, filename)
    if code is None:
        code = compile(source, filename, "exec", dont_inherit=True)
    _prefill_regex_cache(regexes)
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


def _macro(request):
    script = request["script"]
    call = request["call"]
    module = _load(script)
    fn, failure = _entrypoint(module, script)
    if failure:
        return failure
    ctx = Context({
        "args": _freeze(call.get("args") or {}),
        "positional": _freeze(call.get("positional") or []),
        "body": call.get("body"),
        "call": CallInfo(call.get("name")),
        "page": _freeze(request.get("page")),
        "site": _freeze(request.get("site") or {}),
    })
    value = fn(ctx)
    if isinstance(value, dict) and set(value) == {"html"}:
        value = value["html"]
    if not isinstance(value, str):
        raise TypeError(
            f"`{script['entrypoint']}` returned {type(value).__name__}; "
            "a macro returns a str or {'html': str}"
        )
    return {"abi": ABI_VERSION, "ok": True, "html": value}


def _transform(request):
    script = request["script"]
    post = request["post"]
    module = _load(script)
    fn, failure = _entrypoint(module, script)
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


def _check(request):
    """Syntax check and entrypoint discovery, without running the script."""
    script = request["script"]
    filename = _script_filename(script)
    tree = _ast_parse(script["source"].removeprefix("\ufeff"), filename)
    functions = [node.name for node in tree.body
                 if isinstance(node, _AST_FUNCTIONS)]
    code = compile(tree, filename, "exec", dont_inherit=True)
    compiled = (code, _compiled_regexes(tree))
    return {"abi": ABI_VERSION, "ok": True, "functions": functions,
            "has_entrypoint": script["entrypoint"] in functions,
            "code": _b64encode(_marshal_dumps(compiled), newline=False).decode("ascii")}


_HANDLERS = {"macro": _macro, "transform": _transform, "check": _check}


def _preload(doc):
    """Import `doc["modules"]` for a site snapshot, which the host takes
    right after: their imports then cost nothing per call. Touches no stream
    or file (the snapshot must hold no WASI handle) and reports the modules
    that failed rather than failing."""
    failed = []
    # What a module prints or warns while it imports goes nowhere: writing
    # to the real streams would open WASI handles the snapshot cannot keep.
    streams = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = io.StringIO()
    try:
        for name in doc["modules"]:
            try:
                __import__(name)
            except BaseException as exc:  # noqa: B036 - a module may raise anything
                failed.append([name, f"{type(exc).__name__}: {exc}"])
    finally:
        sys.stdout, sys.stderr = streams
    # An `import` statement for each, as `_warm_up` does for the base
    # snapshot: the lookup caches the statements fill are then in the
    # snapshot, and a call's imports find them warm (measured: the three
    # imports of the `imports` benchmark cost a call 28 µs before, 14 after).
    warm = "".join(f"import {name}\n" for name in doc["modules"] if name in sys.modules)
    try:
        exec(compile(warm, "<preload>", "exec", dont_inherit=True), {})
    except BaseException:  # noqa: B036 - only a warm-up; the imports themselves succeeded
        pass
    # Listed before the heap is settled: listing frees thousands of small
    # objects (the addresses it only looked up).
    objects = _snapshot_objects()
    _settle_heap()
    return {"abi": ABI_VERSION, "ok": True, "failed": failed, "objects": objects.tolist()}


# Object sizes whose free blocks are taken: the allocator keeps blocks of
# up to 256 bytes in lists by exact size, and larger ones split.
_HELD_MAX = 256
# Blocks are taken this many at a time.
_HELD_BATCH = 16
# The small free blocks of the heap, taken by `_hold_small_free_blocks` a
# batch to a slot and kept for the snapshot's life. The slots are all made
# here: a list that grew while blocks are taken would free its old array
# into the very lists being emptied. Their number bounds what is held
# (at most 1,024 x 16 x 256 bytes), should the heap never run out of them.
_HELD = [None] * 1024
# Where a batch is taken: freeing a list of its own would leave its blocks
# free in the lists just emptied.
_HELD_SCRATCH = [None] * _HELD_BATCH


def _settle_heap():
    """Leave the heap as a snapshot should hold it, in both snapshots (the
    base guest's and a site's). Objects of the snapshot never become
    garbage: frozen, the collector never walks (and so never dirties) their
    pages on a call. The small free blocks are held after the last
    collection, which frees some."""
    gc.collect()
    gc.freeze()
    _hold_small_free_blocks()


def _hold_small_free_blocks():
    """Allocate every small free block the heap holds, and keep them.

    Building a snapshot frees thousands of small blocks all over the heap
    (about 2,500 of 24 to 264 bytes in the base guest). malloc serves a
    small request from the free blocks of its exact size first, latest
    freed first, so a call's small objects landed one a page on a hundred
    pages or more, each of which the reset then copied back. With those
    blocks held, a call's objects come one right after the other from the
    free space that remains: 300 objects of 32 bytes on 11 to 18 pages.

    For each size, from the largest down (taking a block can put a smaller
    free block back in its list, never a larger one), blocks are taken a
    batch at a time until a whole batch lies block after block: malloc
    never leaves two free blocks side by side (it merges them), so such a
    batch was carved from free space, and that size's list is empty. That
    batch goes back where it came from. Blocks that merely come evenly
    spaced prove nothing: a list often holds blocks freed from between
    objects still alive, and stopping on four of those left a third of the
    guest's builds (its layout changes from one build to the next) with
    calls whose 300 objects took 110-120 pages. Larger free spaces are
    left as they are: holding them too (up to a page) was tried, and calls
    then wrote more pages, not fewer."""
    empty = sys.getsizeof(b"")
    batch = _HELD_SCRATCH
    # A site snapshot settles the heap of a snapshot that settled it once.
    slot = _HELD.index(None) if None in _HELD else len(_HELD)
    for size in range(_HELD_MAX - empty, -8, -8):
        # bytes(1) is a cached object; two bytes make the smallest block.
        size = max(size, 2)
        while slot < len(_HELD):
            for i in range(_HELD_BATCH):
                batch[i] = bytes(size)
            if _side_by_side(batch, size + empty):
                # Last first: each then merges into the free space after it.
                for i in range(_HELD_BATCH - 1, -1, -1):
                    batch[i] = None
                break
            _HELD[slot] = tuple(batch)
            slot += 1


def _side_by_side(blocks, size):
    """Whether each of `blocks` (objects of `size` bytes) starts where the
    one before ends, give or take malloc's header and rounding (4 bytes,
    then up to 15 to a multiple of 16). A block of its own in between
    would take 16 bytes or more, and a header."""
    at = id(blocks[0])
    for i in range(1, len(blocks)):
        step = id(blocks[i]) - at
        if not 0 < step < size + 20:
            return False
        at += step
    return True


# What `_snapshot_objects` listed, kept alive by this reference: the host
# writes into the snapshot at these addresses, so none may be freed between
# the listing and the snapshot.
_LISTED = []


def _snapshot_objects():
    """The address and the type's address of every mortal object reachable
    from `sys.modules`, flattened into an array of words. The host makes
    them immortal in the snapshot it writes: a call that touches them
    (every call touches thousands) then leaves their reference counts, and
    so their pages, unwritten, and a reset has fewer pages to copy back."""
    is_immortal = getattr(sys, "_is_immortal", None)
    if is_immortal is None:
        def is_immortal(obj, _count=sys.getrefcount):
            return _count(obj) >= 1 << 30
    from array import array
    seen = set()
    # Addresses as machine words, not as int objects: those would be freed
    # after the snapshot's small free blocks were held, all over the heap.
    flat = array("L")
    stack = [sys.modules]
    referents = gc.get_referents
    while stack:
        obj = stack.pop()
        address = id(obj)
        if address in seen:
            continue
        seen.add(address)
        if not is_immortal(obj):
            _LISTED.append(obj)
            flat.append(address)
            flat.append(id(type(obj)))
        stack.extend(referents(obj))
    return flat
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
                return _to_json(_preload(doc))
            handler = _HANDLERS[doc["kind"]]
            filename = _script_filename(doc["script"])
        except Exception as exc:  # a malformed request is the host's bug
            raise Err(f"malformed request: {type(exc).__name__}: {exc}")
        try:
            result = handler(doc)
        except BaseException as exc:  # noqa: B036 - scripts may raise anything
            result = _error(exc, filename)
        finally:
            _release_streams()
        try:
            text = _to_json(result)
        except BaseException as exc:  # noqa: B036 - e.g. a front-matter value JSON cannot hold
            text = _to_json(_error(exc, filename))
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
        except BaseException:  # noqa: B036 - a closed stream is not ours to fix
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
    checked = _from_json(world.handle(_to_json(
        {"abi": ABI_VERSION, "kind": "check", "script": script})))
    compiled = dict(script, code=checked["code"])
    for i in range(_WARM_UP_ROUNDS):
        call = {"name": "warm_up", "args": {"t": "a  <b>", "n": i},
                "positional": ["x", i], "body": "some  <i>words</i>" if i % 2 else None}
        for sent in (script, compiled):
            world.handle(_to_json({"abi": ABI_VERSION, "kind": "macro", "script": sent,
                                   "call": call, "page": None, "site": {}}))
    _linecache.pop("<warm-up>", None)
    _settle_heap()


# Enough for an instruction to specialize, or to fail to and back off.
_WARM_UP_ROUNDS = 8


def _pin_builtins():
    """Name lookups in this module find its globals before the builtins, so
    binding every builtin here now keeps a script's `builtins.isinstance =
    ...` from reaching the dispatcher."""
    namespace = globals()
    for name, value in vars(builtins).items():
        if not name.startswith("_") and name not in namespace:
            namespace[name] = value


_pin_builtins()
_warm_up()
_WARMING_UP = False
