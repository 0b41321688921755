"""The package as a whole: which modules host Python imports as they are,
and the pinning of builtins that keeps a script's patches out."""

import builtins
import subprocess
import sys
import textwrap
import unittest

import support

PURE = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[1])
    import importlib
    for name in sys.argv[2:]:
        importlib.import_module(name)
    assert "wit_world" not in sys.modules, "a pure module imported the host's calls"
    print("pure")
""")


class Package(unittest.TestCase):
    def test_the_pure_modules_import_without_the_guest(self):
        run = subprocess.run([sys.executable, "-c", PURE, str(support.GUEST),
                              *support.PURE_MODULES],
                             capture_output=True, text=True, timeout=60, check=False)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(run.stdout, "pure\n")

    def test_pinned_builtins_keep_a_patch_out(self):
        import blogmark_guest
        from blogmark_guest import jsoncodec

        namespace = dict(vars(jsoncodec))
        namespace["len"] = "the module's own"
        blogmark_guest.pin_builtins(namespace)
        self.assertIs(namespace["isinstance"], builtins.isinstance)
        self.assertEqual(namespace["len"], "the module's own")
        self.assertNotIn("__import__", namespace)
        self.assertNotIn("__build_class__", namespace)

        # A function whose globals are pinned no longer sees a patched builtin.
        code = compile("def size(x):\n    return len(x)\n", "<pinned>", "exec")
        pinned = {"__name__": "pinned"}
        exec(code, pinned)
        blogmark_guest.pin_builtins(pinned)
        saved = builtins.len
        try:
            builtins.len = lambda x: 42
            self.assertEqual(pinned["size"]("abc"), 3)
        finally:
            builtins.len = saved


if __name__ == "__main__":
    unittest.main()
