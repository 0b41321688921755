"""What a snapshot holds: a site snapshot's preloaded modules, the heap as
a snapshot should leave it, and the objects the host makes immortal.

The dispatcher settles the heap at the end of the base snapshot's build;
`preload` (a `preload` request) imports a site's modules and settles it
again just before the host takes the site snapshot.
"""

import gc
import io
import sys

from blogmark_guest import ABI_VERSION


def preload(doc, compile_scripts=None):
    """Import `doc["modules"]` for a site snapshot, which the host takes
    right after: their imports then cost nothing per call. With
    `compile_scripts`, the site's scripts (`doc["scripts"]`) are compiled
    into it too, none of them run (see `abi.preload_scripts`). Touches no
    stream or file (the snapshot must hold no WASI handle) and reports the
    modules that failed rather than failing.

    With `doc["layer"]`, on a snapshot made this way before, only the
    scripts are compiled: the objects listed are theirs alone."""
    if doc.get("layer"):
        return _layer(doc, compile_scripts)
    failed = []
    filed = {}
    # What a module prints or warns while it imports goes nowhere: writing
    # to the real streams would open WASI handles the snapshot cannot keep.
    streams = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = io.StringIO()
    try:
        for name in doc["modules"]:
            try:
                __import__(name)
            except BaseException as exc:  # noqa: BLE001 - a module may raise anything
                failed.append([name, f"{type(exc).__name__}: {exc}"])
        # A compile's warnings (an invalid escape) go nowhere either.
        if compile_scripts is not None:
            filed = compile_scripts(doc.get("scripts") or ())
    finally:
        sys.stdout, sys.stderr = streams
    # An `import` statement for each, as the dispatcher's `_warm_up` does
    # for the base snapshot: the lookup caches the statements fill are then
    # in the snapshot, and a call's imports find them warm (measured: the
    # three imports of the `imports` benchmark cost a call 28 µs before, 14
    # after).
    warm = "".join(f"import {name}\n" for name in doc["modules"] if name in sys.modules)
    try:
        exec(compile(warm, "<preload>", "exec", dont_inherit=True), {})
    except BaseException:  # noqa: BLE001 - only a warm-up; the imports themselves succeeded
        pass
    # Listed before the heap is settled: listing frees thousands of small
    # objects (the addresses it only looked up).
    objects = snapshot_objects()
    settle_heap()
    return {"abi": ABI_VERSION, "ok": True, "failed": failed, "scripts": list(filed),
            "objects": objects.tolist()}


def _layer(doc, compile_scripts):
    """`preload` of scripts alone, over a snapshot: its own objects are
    listed (walking the whole heap again took most of a snapshot's 150 ms)
    and frozen, so that the collector never walks their pages, and the
    small blocks compiling freed are held again."""
    streams = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = io.StringIO()
    try:
        filed = compile_scripts(doc.get("scripts") or ())
    finally:
        sys.stdout, sys.stderr = streams
    objects = snapshot_objects(list(filed.values()))
    gc.freeze()
    hold_small_free_blocks()
    return {"abi": ABI_VERSION, "ok": True, "failed": [], "scripts": list(filed),
            "objects": objects.tolist()}


# Object sizes whose free blocks are taken: the allocator keeps blocks of
# up to 256 bytes in lists by exact size, and larger ones split.
_HELD_MAX = 256
# Blocks are taken this many at a time.
_HELD_BATCH = 16
# The small free blocks of the heap, taken by `hold_small_free_blocks` a
# batch to a slot and kept for the snapshot's life. The slots are all made
# here: a list that grew while blocks are taken would free its old array
# into the very lists being emptied. Their number bounds what is held
# (at most 1,024 x 16 x 256 bytes), should the heap never run out of them.
_HELD = [None] * 1024
# Where a batch is taken: freeing a list of its own would leave its blocks
# free in the lists just emptied.
_HELD_SCRATCH = [None] * _HELD_BATCH


def settle_heap():
    """Leave the heap as a snapshot should hold it, in both snapshots (the
    base guest's and a site's). Objects of the snapshot never become
    garbage: frozen, the collector never walks (and so never dirties) their
    pages on a call. The small free blocks are held after the last
    collection, which frees some."""
    gc.collect()
    gc.freeze()
    hold_small_free_blocks()


def hold_small_free_blocks():
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
            if side_by_side(batch, size + empty):
                # Last first: each then merges into the free space after it.
                for i in range(_HELD_BATCH - 1, -1, -1):
                    batch[i] = None
                break
            _HELD[slot] = tuple(batch)
            slot += 1


def side_by_side(blocks, size):
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


# What `snapshot_objects` listed, kept alive by this reference: the host
# writes into the snapshot at these addresses, so none may be freed between
# the listing and the snapshot.
_LISTED = []


def snapshot_objects(roots=None):
    """The address and the type's address of every mortal object reachable
    from `sys.modules` (or from `roots`), flattened into an array of words. The host makes
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
    stack = [sys.modules] if roots is None else list(roots)
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
