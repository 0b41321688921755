"""Modules the guest's CPython lacks, as stand-ins that say why when used.

The import finder (`lockdown`) hands these out: `_bz2` and `_lzma`, which
modules useful without them import unconditionally, and `ctypes`, whose
simple types and `sizeof` some packages ask for at import.
"""

import types

# Compiled standard-library modules the guest's CPython lacks, imported
# unconditionally by modules that are useful without them (`bz2` by
# networkx, for one): each imports as a stand-in whose use says why.
STAND_INS = {
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
        what = STAND_INS[module][0]

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


class CtypesLoader:
    @staticmethod
    def create_module(spec):
        return None

    @staticmethod
    def exec_module(module):
        exec(compile(_CTYPES_STAND_IN, "<ctypes stand-in>", "exec"), module.__dict__)


class StandInLoader:
    @staticmethod
    def create_module(spec):
        module = _StandIn(spec.name)
        names = STAND_INS[spec.name][1]
        if names:
            module.__all__ = list(names)
        return module

    @staticmethod
    def exec_module(module):
        pass
