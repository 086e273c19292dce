"""save / load: nested state dicts in a ``.npz`` file, written atomically, read without pickle.

Arrays are stored as npz members; everything else (dict keys, lists, tuples, numbers,
strings, booleans, None) goes into a JSON description that names each array by its member.
Nothing is pickled, so loading a file can never run code.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections import OrderedDict

import numpy as np

FORMAT = "chainrule-checkpoint"
VERSION = 1
_META_KEY = "__chainrule__"


def _encode(obj, arrays: dict):
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "biufc":
            raise TypeError(f"save can store numeric arrays only, got an array of dtype {obj.dtype}")
        key = f"a{len(arrays)}"
        arrays[key] = obj
        return {"array": key}
    if isinstance(obj, np.generic):
        return _encode(obj.item(), arrays)
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"value": obj}
    if isinstance(obj, dict):
        kind = "odict" if isinstance(obj, OrderedDict) else "dict"
        return {kind: [[_encode(k, arrays), _encode(v, arrays)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return {type(obj).__name__: [_encode(v, arrays) for v in obj]}
    raise TypeError(f"save cannot store objects of type {type(obj).__name__}")


def _decode(node, arrays):
    (kind, payload), = node.items()
    if kind == "array":
        return arrays[payload]
    if kind == "value":
        return payload
    if kind in ("dict", "odict"):
        pairs = [(_decode(k, arrays), _decode(v, arrays)) for k, v in payload]
        return OrderedDict(pairs) if kind == "odict" else dict(pairs)
    if kind in ("list", "tuple"):
        items = [_decode(v, arrays) for v in payload]
        return items if kind == "list" else tuple(items)
    raise ValueError(f"unknown node kind {kind!r}")


def save(obj, path) -> None:
    """Save a state dict (or nested dicts/lists of arrays and plain values) to ``path``.

    The file is written to a temporary file in the same folder, flushed to disk, then
    moved over ``path`` in one step: a crash never leaves a half-written checkpoint, and
    an existing file at ``path`` stays intact until the new one is complete. If anything
    fails on the way (a full disk, an interrupt), the temporary file is removed and the
    error is raised; ``path`` still holds what it held before.

    Args:
        obj: a dict (e.g. ``{"model": model.state_dict(), "optimizer": opt.state_dict(),
            "epoch": 3}``) of numeric arrays, numbers, strings, bools, None, and nested
            dicts, lists and tuples of those.
        path: where to write; any file name works (``.npz`` is conventional).

    Raises:
        TypeError: if ``obj`` holds something else (an object array, a module, a function).
        OSError: if the file cannot be written.
    """
    path = os.fspath(path)
    arrays: dict = {}
    tree = _encode(obj, arrays)
    meta = json.dumps({"format": FORMAT, "version": VERSION, "tree": tree})
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **{_META_KEY: np.array(meta)}, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    _fsync_folder(folder)


def _fsync_folder(folder: str) -> None:
    """Flush the folder entry too, so the rename itself survives a power cut (POSIX only;
    best effort: some filesystems and Windows cannot open a folder for fsync)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load(path):
    """Load what :func:`save` wrote. Never unpickles.

    Raises:
        ValueError: naming ``path`` when it is not a chainrule checkpoint, is truncated or
            corrupted, holds pickled objects, or was written by a newer format version.
    """
    path = os.fspath(path)
    try:
        # Open the file ourselves: np.load leaks its handle when the zip is unreadable.
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as npz:
            if _META_KEY not in npz.files:
                raise ValueError(f"{path} is not a chainrule checkpoint (no {_META_KEY} entry)")
            meta = json.loads(str(npz[_META_KEY]))
            if meta.get("format") != FORMAT:
                raise ValueError(f"{path} is not a chainrule checkpoint (format {meta.get('format')!r})")
            if meta.get("version", 0) > VERSION:
                raise ValueError(
                    f"{path} has checkpoint format version {meta['version']}, newer than this "
                    f"chainrule reads ({VERSION}); upgrade chainrule"
                )
            arrays = {key: npz[key] for key in npz.files if key != _META_KEY}
        return _decode(meta["tree"], arrays)  # arrays are in memory: the file may close
    except ValueError as error:
        if str(error).startswith(path):
            raise
        if "allow_pickle" in str(error) or "pickle" in str(error).lower():
            raise ValueError(f"{path} holds pickled objects, which chainrule refuses to load (loading them could run code)") from error
        raise ValueError(f"{path} is not a readable chainrule checkpoint: {error}") from error
    except (zipfile.BadZipFile, KeyError, TypeError, AttributeError, OSError, EOFError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise ValueError(f"{path} is not a readable chainrule checkpoint (truncated or corrupted): {error}") from error
