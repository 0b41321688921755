"""What the unit tests of the guest's Python share: the guest's sources on
the path, and a fake host for the modules that bind the host's calls.

The tests run on the host's CPython, not in the guest (CPython 3.14 on
WASI, built by componentize-py): what differs there (a 32-bit `ctypes`
stand-in, dlmalloc's heap, the WASI `os`) is left to the Rust suite.
"""

import dataclasses
import enum
import sys
import types
from pathlib import Path

GUEST = Path(__file__).resolve().parent.parent / "guest"
# No `__pycache__` of the host's Python among the guest's sources.
sys.dont_write_bytecode = True
if str(GUEST) not in sys.path:
    sys.path.insert(0, str(GUEST))

# The modules that import nothing of the guest's: host Python imports them
# as they are.
PURE_MODULES = ("blogmark_guest", "blogmark_guest.jsoncodec", "blogmark_guest.regex_literals",
                "blogmark_guest.snapshot", "blogmark_guest.stand_ins")


@dataclasses.dataclass
class FileInfo:
    is_folder: bool
    size: int


@dataclasses.dataclass
class Position:
    file: str
    line: int
    column: int


@dataclasses.dataclass
class ModuleCode:
    origin: str
    is_package: bool
    bytecode: bool
    code: bytes


class Level(enum.Enum):
    DEBUG = 0
    INFO = 1
    WARN = 2
    ERROR = 3


class FakeHost:
    """The host's side of the WIT world `python-guest` (wit/guest.wit), as
    `wit_world.imports.host` offers it to the guest: a read-only tree of
    files, modules by name, the macro call's position and a log."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.files = {}
        self.modules = {}
        self.position = None
        self.position_asked = 0
        self.logged = []
        self.answers = {}
        self.questions = []

    # The tree: the files, and every folder above one.
    def _folders(self):
        folders = {"/"}
        for path in self.files:
            parts = path.split("/")[1:-1]
            for i in range(1, len(parts) + 1):
                folders.add("/" + "/".join(parts[:i]))
        return folders

    def stat(self, path):
        if path in self.files:
            return FileInfo(False, len(self.files[path]))
        if path in self._folders():
            return FileInfo(True, 0)
        return None

    def read_file(self, path):
        return self.files.get(path)

    def list_folder(self, path):
        if path not in self._folders():
            return None
        prefix = path.rstrip("/") + "/"
        paths = set(self.files) | self._folders()
        return sorted({p[len(prefix):].split("/")[0] for p in paths
                       if p.startswith(prefix) and p != prefix})

    def load_module(self, name):
        return self.modules.get(name)

    def call_position(self):
        self.position_asked += 1
        return self.position

    def query(self, question):
        self.questions.append(question)
        answer = self.answers.get(question)
        if isinstance(answer, Err):
            raise answer
        if answer is None:
            raise Err(f"no answer to {question}")
        return answer

    def log(self, level, message):
        self.logged.append((level, message))


HOST = FakeHost()


class Err(Exception):
    """componentize-py's `Err`: the error value of a `result`."""

    def __init__(self, value):
        super().__init__(value)
        self.value = value


def install_fake_host():
    """Put the fake host where the guest's modules import it from
    (`wit_world.imports.host`, `componentize_py_types`), and return it.
    The modules bind its functions when they are imported: `HOST.reset()`
    and its attributes set what a test's host holds."""
    if "wit_world" not in sys.modules:
        world = types.ModuleType("wit_world")

        class WitWorld:
            pass

        world.WitWorld = WitWorld
        imports = types.ModuleType("wit_world.imports")
        host = types.ModuleType("wit_world.imports.host")
        for name in ("stat", "read_file", "list_folder", "load_module", "call_position", "log",
                     "query"):
            setattr(host, name, getattr(HOST, name))
        host.Level = Level
        host.FileInfo = FileInfo
        host.Position = Position
        host.ModuleCode = ModuleCode
        world.imports = imports
        imports.host = host
        cpt = types.ModuleType("componentize_py_types")
        cpt.Err = Err
        sys.modules.update({"wit_world": world, "wit_world.imports": imports,
                            "wit_world.imports.host": host, "componentize_py_types": cpt})
    HOST.reset()
    return HOST
