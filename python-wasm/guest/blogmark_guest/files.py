"""The file functions over the guest's read-only tree.

`builtins.open`, `io.open`, `os.stat`, `os.lstat`, `os.access`,
`os.listdir` and `os.scandir` answer every path from the host (its
`stat`, `read-file` and `list-folder` calls) once `serve_files()` has
installed them; a file descriptor is left to the real functions (which
have none to use).
"""

import binascii
import builtins
import errno
import io
import os
import posixpath
import stat as _stat_module
import sys

from wit_world.imports import host

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


def read_tree_bytes(path):
    data = _host_read(_tree_path(path))
    if data is None:
        raise _not_found(path)
    return data


def serve_files():
    """Point the file functions at the guest's tree."""
    builtins.open = io.open = _open
    sys.modules["_io"].open = _open
    os.stat = _stat
    os.lstat = _lstat
    os.access = _access
    os.listdir = _listdir
    os.scandir = _scandir


def patch_tokenize(module):
    # `tokenize.open` (how linecache, and so tracebacks and `inspect`, read
    # a source) holds the `open` it found when it was imported.
    module._builtin_open = _open
