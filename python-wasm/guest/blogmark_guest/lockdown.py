"""The sandbox's lockdown: what it refuses at use, and how it imports.

`lock_down()`, which the dispatcher runs once while the snapshot is built,
puts the host's import finder in place of the path finder, turns starting
a process or a thread into `SandboxDenied`, patches the modules that would
reach the network or spawn (now, or when a script imports them) and points
the file functions at the guest's tree (`files`).
"""

import importlib.machinery
import linecache
import marshal
import os
import sys

from wit_world.imports import host

from blogmark_guest.files import patch_tokenize, read_tree_bytes, serve_files
from blogmark_guest.stand_ins import STAND_INS, CtypesLoader, StandInLoader

_linecache = linecache.cache
_marshal_loads = marshal.loads
_load_module = host.load_module
_ModuleSpec = importlib.machinery.ModuleSpec
_decode_source = importlib._bootstrap_external.decode_source

# Capabilities a sandboxed script never has. The host withholds them (no
# sockets, no preopened directories, no process spawning, no threads in
# WASI); what is patched here only turns an obscure failure into a message
# that says why. Every module imports (DESIGN §12): connecting, spawning
# and starting a thread are what is refused, at use.
_THREAD_STARTERS = ("start_new_thread", "start_new", "start_joinable_thread",
                    "_start_joinable_thread", "_start_new_thread")


class SandboxDenied(PermissionError):
    """Raised when a script reaches for a capability the sandbox withholds."""

    # The name a script's traceback shows (`dispatcher.SandboxDenied: ...`),
    # as when this class was defined in the dispatcher, which still exports
    # it under that name.
    __module__ = "dispatcher"


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


_AT_USE = {
    "tokenize": patch_tokenize,
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
        return read_tree_bytes(path)

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
            return _ModuleSpec(fullname, CtypesLoader, origin="stand-in", is_package=True)
        if fullname.startswith("ctypes."):
            raise ModuleNotFoundError(
                f"No module named '_ctypes' (`{fullname}` needs the real ctypes; "
                "the sandbox has a stand-in)", name="_ctypes")
        found = _load_module(fullname)
        if found is None:
            if fullname in STAND_INS:
                return _ModuleSpec(fullname, StandInLoader, origin="stand-in")
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


def lock_down():
    """Lock the interpreter down, once, while the snapshot is built: after
    the standard library of the snapshot is imported, before any request."""
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
    serve_files()
