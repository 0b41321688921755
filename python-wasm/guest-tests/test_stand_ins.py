"""The stand-ins for the compiled modules the guest's CPython lacks."""

import importlib.machinery
import importlib.util
import struct
import unittest

import support  # noqa: F401 - puts the guest's sources on the path

from blogmark_guest.stand_ins import STAND_INS, CtypesLoader, StandInLoader


def stand_in(name):
    spec = importlib.machinery.ModuleSpec(name, StandInLoader, origin="stand-in")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ctypes_stand_in():
    spec = importlib.machinery.ModuleSpec("ctypes", CtypesLoader, origin="stand-in",
                                          is_package=True)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class StandIns(unittest.TestCase):
    def test_any_name_exists_and_using_it_says_why(self):
        bz2 = stand_in("_bz2")
        compressor = bz2.BZ2Compressor
        self.assertIs(bz2.BZ2Compressor, compressor)
        self.assertEqual(compressor.__module__, "_bz2")
        with self.assertRaisesRegex(NotImplementedError,
                                    r"_bz2\.BZ2Compressor: the sandbox's CPython is built "
                                    r"without bzip2 compression \(`_bz2` is a stand-in\)"):
            compressor()

    def test_a_name_ending_in_error_is_an_exception_class(self):
        lzma = stand_in("_lzma")
        self.assertTrue(issubclass(lzma.LZMAError, Exception))
        self.assertFalse(issubclass(lzma.LZMACompressor, Exception))

        class Sub(lzma.LZMADecompressor, flavour=1):
            pass

        self.assertTrue(issubclass(Sub, lzma.LZMADecompressor))

    def test_lzma_lists_what_lzma_star_imports(self):
        lzma = stand_in("_lzma")
        self.assertEqual(lzma.__all__, list(STAND_INS["_lzma"][1]))
        self.assertIn("FORMAT_XZ", lzma.__all__)
        self.assertFalse(hasattr(stand_in("_bz2"), "__all__"))

    def test_dunder_names_do_not_exist(self):
        with self.assertRaises(AttributeError):
            _ = stand_in("_bz2").__wrapped__


class CtypesStandIn(unittest.TestCase):
    def test_sizeof_gives_the_platform_s_c_sizes(self):
        ctypes = ctypes_stand_in()
        for kind, code in ((ctypes.c_int, "i"), (ctypes.c_long, "l"), (ctypes.c_double, "d"),
                           (ctypes.c_void_p, "P"), (ctypes.c_char_p, "P"),
                           (ctypes.c_longdouble, "d"), (ctypes.c_wchar, "I"),
                           (ctypes.c_size_t, "I"), (ctypes.c_int64, "q")):
            with self.subTest(kind=kind.__name__):
                self.assertEqual(ctypes.sizeof(kind), struct.calcsize(code))
                self.assertEqual(ctypes.sizeof(kind()), struct.calcsize(code))
                self.assertEqual(ctypes.alignment(kind), ctypes.sizeof(kind))

    def test_simple_values(self):
        ctypes = ctypes_stand_in()
        self.assertEqual(ctypes.c_int().value, 0)
        self.assertEqual(ctypes.c_double().value, 0.0)
        self.assertEqual(repr(ctypes.c_long(7)), "c_long(7)")
        self.assertEqual(ctypes.c_long.__module__, "ctypes")
        with self.assertRaises(TypeError):
            ctypes.sizeof(object)

    def test_what_reaches_native_code_says_why(self):
        ctypes = ctypes_stand_in()
        with self.assertRaisesRegex(NotImplementedError, r"ctypes\.CDLL: the sandbox's CPython "
                                    r"is built without ctypes"):
            ctypes.CDLL("libc.so")
        with self.assertRaises(AttributeError):
            _ = ctypes.util  # a submodule: the finder refuses it


if __name__ == "__main__":
    unittest.main()
