"""The lockdown's refusals and the host's import finder, over a fake host.

`lock_down()` itself patches the interpreter it runs in: it runs in a
child process here."""

import asyncio
import importlib.util
import linecache
import marshal
import subprocess
import sys
import textwrap
import types
import unittest

import support

support.install_fake_host()

from blogmark_guest import lockdown  # noqa: E402 - after the fake host
from blogmark_guest.lockdown import SandboxDenied  # noqa: E402
from blogmark_guest.stand_ins import CtypesLoader, StandInLoader  # noqa: E402

find_spec = lockdown._HostFinder.find_spec


def source_module(origin, source, is_package=False):
    return support.ModuleCode(origin, is_package, False, source.encode())


def imported(spec):
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Finder(unittest.TestCase):
    def setUp(self):
        self.host = support.install_fake_host()

    def test_a_module_the_host_has_from_source(self):
        self.host.modules["textkit"] = source_module(
            "/scripts/lib/textkit.py", "def slugify(s):\n    return s.lower()\n")
        spec = find_spec("textkit")
        self.assertEqual(spec.origin, "/scripts/lib/textkit.py")
        self.assertTrue(spec.has_location)
        self.assertFalse(spec.submodule_search_locations)
        module = imported(spec)
        self.assertEqual(module.slugify("AB"), "ab")
        self.assertEqual(module.__file__, "/scripts/lib/textkit.py")
        # Tracebacks through it show its lines.
        self.assertIn("def slugify(s):\n", linecache.cache["/scripts/lib/textkit.py"][2])
        self.assertIn("slugify", spec.loader.get_source("textkit"))

    def test_a_package_from_bytecode_and_its_data(self):
        code = compile("VALUE = 42\n", "/python/pkg/__init__.py", "exec")
        self.host.modules["pkg"] = support.ModuleCode(
            "/python/pkg/__init__.py", True, True, marshal.dumps(code))
        self.host.files["/python/pkg/data.txt"] = b"data"
        spec = find_spec("pkg")
        self.assertTrue(spec.submodule_search_locations is not None)
        module = imported(spec)
        self.assertEqual(module.VALUE, 42)
        self.assertIsNone(spec.loader.get_source("pkg"))
        self.assertTrue(spec.loader.is_package("pkg"))
        self.assertEqual(spec.loader.get_data("/python/pkg/data.txt"), b"data")

    def test_a_namespace_package_s_origin_is_its_folder(self):
        self.host.modules["ns"] = source_module("/scripts/lib/ns", "", is_package=True)
        self.assertEqual(find_spec("ns").loader.get_filename("ns"), "/scripts/lib/ns/__init__.py")

    def test_what_the_host_lacks(self):
        self.assertIsNone(find_spec("no_such_module"))
        self.assertIs(find_spec("_bz2").loader, StandInLoader)
        self.assertIs(find_spec("_lzma").loader, StandInLoader)

    def test_ctypes_is_a_stand_in_and_its_submodules_are_refused(self):
        spec = find_spec("ctypes")
        self.assertIs(spec.loader, CtypesLoader)
        self.assertIsNotNone(spec.submodule_search_locations)
        with self.assertRaises(ModuleNotFoundError) as caught:
            find_spec("ctypes.util")
        self.assertEqual(caught.exception.name, "_ctypes")

    def test_a_module_of_the_snapshot_asks_the_host_when_executed_again(self):
        loader = lockdown._HostLoader("gone", None, "/python/gone.py")
        with self.assertRaisesRegex(ImportError, "no module named 'gone'"):
            loader.exec_module(types.ModuleType("gone"))


class Refusals(unittest.TestCase):
    def setUp(self):
        self.host = support.install_fake_host()

    def test_sandbox_denied(self):
        self.assertTrue(issubclass(SandboxDenied, PermissionError))
        self.assertEqual(SandboxDenied.__module__, "dispatcher")
        with self.assertRaisesRegex(SandboxDenied,
                                    r"^os.system is not available to Blogmark scripts$"):
            lockdown._denied("os.system")("true")
        with self.assertRaisesRegex(SandboxDenied, "no access to threads"):
            lockdown._no_threads(print)

    def test_a_module_is_patched_when_imported(self):
        self.host.modules["subprocess"] = source_module(
            "/python/subprocess.py", "class Popen:\n    def __init__(self, *args):\n        pass\n")
        module = imported(find_spec("subprocess"))
        with self.assertRaisesRegex(SandboxDenied, r"starting a process \(subprocess\)"):
            module.Popen(["ls"])

    def test_socket(self):
        module = types.ModuleType("socket")
        module.create_connection = module.getaddrinfo = lambda *a: "connected"

        class Socket:
            def __init__(self, *args):
                pass

        module.socket = Socket
        lockdown._patch_socket(module)
        with self.assertRaisesRegex(SandboxDenied, r"the network \(socket.create_connection\)"):
            module.create_connection(("example.org", 80))
        with self.assertRaisesRegex(SandboxDenied, r"the network \(socket.socket\)"):
            module.socket()
        self.assertFalse(hasattr(module, "create_server"))

    def test_the_event_loop_runs_coroutines_and_refuses_threads(self):
        async def compute():
            await asyncio.sleep(0)
            return sum(await asyncio.gather(*(asyncio.sleep(0, result=i) for i in range(3))))

        loop = lockdown._sandbox_event_loop()
        try:
            self.assertEqual(loop.run_until_complete(compute()), 3)
            with self.assertRaisesRegex(SandboxDenied, "run_in_executor"):
                loop.run_in_executor(None, print)
        finally:
            loop.close()


LOCK_DOWN = textwrap.dedent("""
    import os, socket, subprocess, sys, threading, tokenize
    sys.path.insert(0, sys.argv[1])
    import support
    host = support.install_fake_host()
    host.files["/scripts/lib/a.txt"] = b"tree"
    from blogmark_guest.lockdown import SandboxDenied, lock_down, _HostFinder
    lock_down()
    assert _HostFinder in sys.meta_path
    assert not any(f.__name__ == "PathFinder" for f in sys.meta_path if hasattr(f, "__name__"))
    assert open("/scripts/lib/a.txt").read() == "tree"
    assert os.listdir("/scripts") == ["lib"]
    assert tokenize._builtin_open is open
    for refused in (lambda: os.system("true"), lambda: subprocess.Popen(["true"]),
                    lambda: socket.create_connection(("127.0.0.1", 9)),
                    lambda: threading.Thread(target=print).start()):
        try:
            refused()
        except SandboxDenied:
            pass
        else:
            raise AssertionError("not refused")
    try:
        open("/etc/passwd")
    except FileNotFoundError:
        pass
    else:
        raise AssertionError("the host's files are out of the tree")
    print("locked down")
""")


class LockDown(unittest.TestCase):
    def test_in_a_child_process(self):
        run = subprocess.run([sys.executable, "-c", LOCK_DOWN, str(support.GUEST.parent /
                                                                   "guest-tests")],
                             capture_output=True, text=True, timeout=60, check=False)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(run.stdout, "locked down\n")


if __name__ == "__main__":
    unittest.main()
