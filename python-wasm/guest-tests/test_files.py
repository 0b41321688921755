"""The file functions over the guest's read-only tree, over a fake host."""

import errno
import os
import stat
import unittest
from pathlib import PurePosixPath

import support

support.install_fake_host()

from blogmark_guest import files  # noqa: E402 - after the fake host


class TreeFiles(unittest.TestCase):
    def setUp(self):
        self.host = support.install_fake_host()
        self.host.files = {
            "/scripts/lib/textkit.py": b"def slugify(s):\n    return s\n",
            "/scripts/lib/data/words.txt": "caf\u00e9\n".encode(),
            "/scripts/vendor/pkg/__init__.py": b"",
        }

    def test_paths_are_absolute_and_normalized(self):
        for given, path in (("scripts/lib", "/scripts/lib"), ("/scripts//lib/", "/scripts/lib"),
                            ("//scripts/lib", "/scripts/lib"), ("///x/../scripts", "/scripts"),
                            ("./a/./b", "/a/b"), ("..", "/"), (b"/scripts/lib", "/scripts/lib"),
                            (PurePosixPath("scripts/lib"), "/scripts/lib")):
            with self.subTest(given=given):
                self.assertEqual(files._tree_path(given), path)
        with self.assertRaisesRegex(ValueError, "embedded null byte"):
            files._tree_path("/a\0b")

    def test_open_reads_text_and_bytes(self):
        with files._open("/scripts/lib/data/words.txt", encoding="utf-8") as f:
            self.assertEqual(f.read(), "caf\u00e9\n")
        with files._open("scripts/lib/textkit.py", "rb") as f:
            self.assertEqual(f.name, "scripts/lib/textkit.py")
            self.assertEqual(f.mode, "rb")
            self.assertFalse(f.writable())
            self.assertTrue(f.read().startswith(b"def slugify"))
            with self.assertRaises(OSError):
                f.write(b"x")
            with self.assertRaises(OSError):
                f.truncate()

    def test_open_refuses_writes_and_odd_modes(self):
        for mode in ("w", "a", "r+", "x", "wb", "rbt"):
            with self.subTest(mode=mode), self.assertRaises(OSError) as caught:
                files._open("/scripts/lib/new.txt", mode)
            self.assertEqual(caught.exception.errno, errno.EROFS)
        with self.assertRaisesRegex(ValueError, "invalid mode: 'rq'"):
            files._open("/scripts/lib/textkit.py", "rq")
        with self.assertRaises(TypeError):
            files._open("/scripts/lib/textkit.py", b"r")

    def test_open_of_what_is_no_file(self):
        with self.assertRaises(FileNotFoundError):
            files._open("/etc/passwd")
        with self.assertRaises(IsADirectoryError):
            files._open("/scripts/lib")

    def test_stat(self):
        info = files._stat("/scripts/lib/textkit.py")
        self.assertEqual(stat.S_IFMT(info.st_mode), stat.S_IFREG)
        self.assertEqual(stat.S_IMODE(info.st_mode), 0o444)
        self.assertEqual(info.st_size, len(self.host.files["/scripts/lib/textkit.py"]))
        self.assertEqual(info.st_ino, files._stat("scripts/lib/../lib/textkit.py").st_ino)
        folder = files._lstat("/scripts")
        self.assertTrue(stat.S_ISDIR(folder.st_mode))
        self.assertEqual(stat.S_IMODE(folder.st_mode), 0o555)
        with self.assertRaises(FileNotFoundError):
            files._stat("/nope")

    def test_access_reads_never_writes(self):
        self.assertTrue(files._access("/scripts/lib/textkit.py", os.R_OK))
        self.assertTrue(files._access("/scripts", os.F_OK))
        self.assertFalse(files._access("/scripts/lib/textkit.py", os.W_OK))
        self.assertFalse(files._access("/nope", os.R_OK))

    def test_listdir(self):
        self.assertEqual(files._listdir("/"), ["scripts"])
        self.assertEqual(files._listdir("scripts/lib"), ["data", "textkit.py"])
        self.assertEqual(files._listdir(b"/scripts/lib"), [b"data", b"textkit.py"])
        with self.assertRaises(NotADirectoryError):
            files._listdir("/scripts/lib/textkit.py")
        with self.assertRaises(FileNotFoundError):
            files._listdir("/nope")

    def test_scandir(self):
        with files._scandir("/scripts/lib") as entries:
            found = {entry.name: entry for entry in entries}
        self.assertEqual(set(found), {"data", "textkit.py"})
        data, module = found["data"], found["textkit.py"]
        self.assertEqual(data.path, "/scripts/lib/data")
        self.assertTrue(data.is_dir())
        self.assertFalse(data.is_file())
        self.assertTrue(module.is_file())
        self.assertFalse(module.is_symlink())
        self.assertEqual(module.stat().st_size, len(self.host.files["/scripts/lib/textkit.py"]))
        self.assertEqual(os.fspath(module), "/scripts/lib/textkit.py")
        self.assertEqual(repr(module), "<DirEntry 'textkit.py'>")
        relative = next(iter(files._scandir("scripts")))
        self.assertEqual(relative.path, "scripts/lib")
        as_bytes = {entry.name for entry in files._scandir(b"/scripts/lib")}
        self.assertEqual(as_bytes, {b"data", b"textkit.py"})

    def test_read_tree_bytes(self):
        self.assertEqual(files.read_tree_bytes("/scripts/vendor/pkg/__init__.py"), b"")
        with self.assertRaises(FileNotFoundError):
            files.read_tree_bytes("/scripts/vendor/pkg/missing.py")


if __name__ == "__main__":
    unittest.main()
