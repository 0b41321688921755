"""A site snapshot's preload, and the listing of the snapshot's objects.

The heap's layout is the guest's (dlmalloc, 32-bit): here only what does not
depend on it is checked."""

import json
import subprocess
import sys
import textwrap
import unittest

import support

from blogmark_guest import snapshot

# `preload` and `snapshot_objects` prepare a process's heap for a snapshot
# it never leaves (the collector frozen, every listed object kept alive):
# each runs in a child process, which ends without the collector's last
# pass (CPython 3.12.1's was seen to spin for minutes on such a heap).
CHILD = textwrap.dedent("""
    import io, json, os, sys, types
    sys.path.insert(0, sys.argv[1])
    sys.dont_write_bytecode = True
    from blogmark_guest import snapshot

    ok = types.ModuleType("preload_ok")
    sys.modules["preload_ok"] = ok
    probe = types.ModuleType("snapshot_probe")
    probe.value = ["a list of the probe's own"]
    sys.modules["snapshot_probe"] = probe
    pairs = snapshot.snapshot_objects()
    pairs = dict(zip(pairs[::2], pairs[1::2]))
    seen = io.StringIO()
    sys.stdout = seen
    result = snapshot.preload({"modules": ["preload_ok", "no_such_module_here"]})
    restored = sys.stdout is seen
    sys.stdout = sys.__stdout__
    print(json.dumps({
        "abi": result["abi"], "ok": result["ok"], "failed": result["failed"],
        "objects": len(result["objects"]), "even": len(result["objects"]) % 2 == 0,
        "words": all(type(n) is int for n in result["objects"]),
        "printed": seen.getvalue(), "restored": restored,
        "probe_listed": pairs.get(id(probe.value)) == id(list),
        "module_listed": pairs.get(id(probe)) == id(types.ModuleType),
        "none_listed": id(None) in pairs, "none_immortal": sys.getrefcount(None) >= 1 << 30,
    }))
    sys.stdout.flush()
    os._exit(0)
""")


class Snapshot(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        run = subprocess.run([sys.executable, "-c", CHILD, str(support.GUEST)],
                             capture_output=True, text=True, timeout=120, check=False)
        if run.returncode != 0:
            raise AssertionError(run.stderr)
        cls.seen = json.loads(run.stdout)

    def test_preload_imports_and_reports_what_failed(self):
        self.assertEqual(self.seen["abi"], 1)
        self.assertTrue(self.seen["ok"])
        self.assertEqual(self.seen["failed"], [[
            "no_such_module_here", "ModuleNotFoundError: No module named 'no_such_module_here'"]])

    def test_preload_lists_the_objects_as_pairs_of_words(self):
        # An object's address, its type's address.
        self.assertGreater(self.seen["objects"], 1000)
        self.assertTrue(self.seen["even"])
        self.assertTrue(self.seen["words"])

    def test_what_a_module_prints_while_preloaded_goes_nowhere(self):
        self.assertEqual(self.seen["printed"], "")
        self.assertTrue(self.seen["restored"])

    def test_the_mortal_objects_reachable_from_sys_modules_are_listed(self):
        self.assertTrue(self.seen["probe_listed"])
        self.assertTrue(self.seen["module_listed"])
        if self.seen["none_immortal"]:
            self.assertFalse(self.seen["none_listed"])


def side_by_side_at(addresses, size):
    """`side_by_side` of blocks at made-up addresses (it reads them with `id`)."""
    blocks = [object() for _ in addresses]
    where = {id(block): at for block, at in zip(blocks, addresses, strict=True)}
    snapshot.id = lambda block: where[id(block)]
    try:
        return snapshot.side_by_side(blocks, size)
    finally:
        del snapshot.id


class SideBySide(unittest.TestCase):
    def test_blocks_one_after_another_give_or_take_a_header(self):
        self.assertTrue(side_by_side_at([1000, 1048, 1096, 1144], 40))
        self.assertTrue(side_by_side_at([1000, 1059], 40))

    def test_a_gap_or_a_step_back_is_not(self):
        for addresses in ([1000, 1060], [1000, 1100], [1000, 990], [1000, 1000],
                          [1000, 1048, 1200]):
            with self.subTest(addresses=addresses):
                self.assertFalse(side_by_side_at(addresses, 40))


if __name__ == "__main__":
    unittest.main()
