"""save / load: nested state dicts in a ``.npz`` file, written atomically, read without pickle.

Arrays are stored as npz members; everything else (dict keys, lists, tuples, numbers,
strings, booleans, None) goes into a JSON description that names each array by its member.
Nothing is pickled, so loading a file can never run code.

The file is what ``numpy.savez`` writes: a zip archive of stored (uncompressed) ``.npy``
members, one named ``__chainrule__.npy`` holding the JSON description as a 0-d unicode
array, and ``a0.npy``, ``a1.npy``, ... holding the arrays. ``load`` reads it member by
member and trusts nothing a header declares until the bytes are there to back it.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import stat
import zipfile
from collections import Counter, OrderedDict

import numpy as np
from numpy.lib import format as npy_format

FORMAT = "chainrule-checkpoint"
VERSION = 1
_META_KEY = "__chainrule__"
_ZIP_MAGIC = b"PK\x03\x04"   # a zip archive starts with a local file header
_LOCAL_HEADER_SIZE = 30      # fixed part of a zip local file header, before the name
_NUMERIC_KINDS = "biufc"     # bool, signed and unsigned int, float, complex: all save stores
_COMPRESSION_NAMES = {zipfile.ZIP_DEFLATED: "deflate", zipfile.ZIP_BZIP2: "bzip2",
                      zipfile.ZIP_LZMA: "lzma"}
# Zip flag bits that change how a member's bytes must be read; chainrule sets none of them.
_UNREADABLE_FLAGS = {0x1: "encrypted", 0x20: "compressed patched data", 0x40: "strongly encrypted"}
_SIGNATURES = {  # what a file that is not a zip archive most likely is, by its first bytes
    b"\x89HDF\r\n\x1a\n": "an HDF5 file",
    b"\x93NUMPY": "a single .npy array (numpy.save)",
    b"\x80": "a pickle (pickle.dump, or torch.save before PyTorch 1.6)",
    b"PK\x05\x06": "an empty zip archive",
}


def _encode(obj, arrays: dict):
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in _NUMERIC_KINDS:
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


# -- save ----------------------------------------------------------------------------------------


def save(obj, path) -> None:
    """Save a state dict (or nested dicts/lists of arrays and plain values) to ``path``.

    The file is written to a temporary file in the same folder, flushed to disk, then
    moved over ``path`` in one step (``os.replace``): a crash never leaves a half-written
    checkpoint, and an existing file at ``path`` stays intact until the new one is
    complete. If anything fails on the way (a full disk, an exception, Ctrl-C), the
    temporary file is removed and the error is raised; ``path`` still holds what it held
    before. A process killed outright (``SIGKILL``, a power cut) cannot clean up: its
    temporary file stays behind, next to ``path``, named ``.<name>.<8 hex digits>.tmp``
    (``<name>`` is the file name of ``path``, cut to its first 32 characters; e.g.
    ``.ckpt.npz.3f9a0c1e.tmp``). It is never a complete checkpoint; delete it.

    A new file gets the permissions ``open()`` gives a new file (``0o666`` less the
    umask, as ``numpy.save`` would); a file that is replaced keeps its permission bits.

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
    mode = _permissions_of(path)  # None: no file yet
    fd, tmp = _create_temporary(folder, os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            if mode is not None:  # keep the replaced file's permissions, set before any data
                os.chmod(tmp, mode)  # is written: a 0600 checkpoint is never readable in transit
            np.savez(f, **{_META_KEY: np.array(meta)}, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    _fsync_folder(folder)


def _permissions_of(path: str):
    """The permission bits of the file at ``path``, or None if there is none yet."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return None


def _create_temporary(folder: str, name: str):
    """Create ``<folder>/.<name>.<8 hex digits>.tmp`` and return ``(fd, its path)``.

    ``os.open`` with mode ``0o666`` lets the system apply the umask (and any default ACL)
    exactly as ``open()`` does for a new file; ``tempfile.mkstemp`` would force ``0o600``.
    The name is cut to 32 characters so that the temporary name stays within the 255
    bytes a file name may have, even when ``name`` itself is close to that.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = os.path.join(folder, f".{name[:32]}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:  # 1 in 4 billion: draw another name
            continue
    raise FileExistsError(f"save could not create a temporary file in {folder}: 100 names taken")


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


# -- load ----------------------------------------------------------------------------------------


def load(path):
    """Load what :func:`save` wrote. Never unpickles.

    Only the members the file's JSON description names are read, and each one is checked
    before its data is: it must be stored uncompressed and unencrypted (as :func:`save`
    writes it), and its ``.npy`` header (shape, dtype, order) must describe exactly the
    bytes the member holds. A damaged or hostile file therefore fails fast, without
    decompressing anything or allocating what a header merely declares.

    Raises:
        FileNotFoundError: if there is no file at ``path``.
        IsADirectoryError: if ``path`` is a folder.
        ValueError: naming ``path`` when it is not a chainrule checkpoint (another kind
            of file, a compressed or encrypted archive), is truncated or corrupted, holds
            pickled objects, or was written by a newer format version.
    """
    path = os.fspath(path)
    shown = os.fsdecode(path)
    with open(path, "rb") as file:  # a missing path or a folder raises here, as open() does
        checkpoint = _Checkpoint(file, shown)
        try:
            return checkpoint.load()
        except ValueError as error:
            if str(error).startswith(shown):  # ours: it already says what and where
                raise
            raise checkpoint.broken(error) from error
        except (zipfile.BadZipFile, EOFError, OSError) as error:  # a bad CRC, a short read, ...
            raise checkpoint.corrupted(error) from error


class _Checkpoint:
    """One open checkpoint file: its zip directory, and the members its description names."""

    def __init__(self, file, path: str):
        self.file, self.path = file, path
        self.size = os.fstat(file.fileno()).st_size
        self.used: set = set()  # members read so far: each one may be named once

    def foreign(self, found: str) -> ValueError:
        return ValueError(f"{self.path} is not a chainrule checkpoint: {found}")

    def broken(self, problem: str) -> ValueError:
        return ValueError(f"{self.path} is not a readable chainrule checkpoint: {problem}")

    def corrupted(self, detail) -> ValueError:
        return ValueError(
            f"{self.path} is not a readable chainrule checkpoint (truncated or corrupted): {detail}")

    def load(self):
        head = self.file.read(len(_ZIP_MAGIC))
        if head != _ZIP_MAGIC:
            raise self.foreign(
                f"expected a .npz file (a zip archive, starting with {_ZIP_MAGIC!r}), "
                f"found {_describe(head + self.file.read(60))}"
            )
        self.file.seek(0)
        try:
            archive = zipfile.ZipFile(self.file)
        except zipfile.BadZipFile as error:
            raise self.corrupted(error) from error
        except NotImplementedError as error:  # a directory record asking for a newer zip reader
            raise self.corrupted(f"its zip directory asks for an unsupported {error}") from error
        with archive:
            self.archive = archive
            return self.contents()

    def contents(self):
        names = self.archive.namelist()
        repeated = [name for name, count in Counter(names).items() if count > 1]
        if repeated:  # which of the two would be read is up to the zip reader: refuse both
            raise self.broken(f"expected each zip member name once, found {_short(repeated[0])} "
                              f"{Counter(names)[repeated[0]]} times")
        if f"{_META_KEY}.npy" not in names:
            shown = ", ".join(repr(name) for name in names[:3]) + (", ..." if len(names) > 3 else "")
            raise ValueError(f"{self.path} is not a chainrule checkpoint (no {_META_KEY} entry; "
                             f"its zip members are {_cut(shown) or 'none'})")
        meta = self.description()
        try:
            return self.decode(meta["tree"])
        except RecursionError:
            raise self.broken("its structure description is nested deeper than Python's "
                              "recursion limit") from None

    def description(self) -> dict:
        """The JSON description in ``__chainrule__.npy``, checked for format and version."""
        text = self.member(_META_KEY, kinds="U")
        if text.shape != ():
            raise self.broken(f"its {_META_KEY} entry should be a single string, found an "
                              f"array of shape {text.shape}")
        try:
            meta = json.loads(str(text[()]))
        except json.JSONDecodeError as error:
            raise self.broken(f"its {_META_KEY} entry is not valid JSON ({error})") from None
        except RecursionError:
            raise self.broken(f"its {_META_KEY} entry is JSON nested deeper than Python's "
                              f"recursion limit") from None
        if not isinstance(meta, dict):
            raise self.broken(f"its {_META_KEY} entry should be a JSON object, found "
                              f"{type(meta).__name__} {_short(meta)}")
        if meta.get("format") != FORMAT:
            found = _short(meta.get("format"))
            raise ValueError(f"{self.path} is not a chainrule checkpoint (format {found})")
        version = meta.get("version", 0)
        if type(version) is not int:
            raise self.broken(f"format version should be an integer, found {_short(version)}")
        if version > VERSION:
            raise ValueError(
                f"{self.path} has checkpoint format version {version}, newer than this "
                f"chainrule reads ({VERSION}); upgrade chainrule"
            )
        if "tree" not in meta:
            raise self.broken(f"its {_META_KEY} entry has no 'tree' (found keys {sorted(meta)})")
        return meta

    def decode(self, node):
        """Rebuild the object a description node stands for, reading arrays as they are named."""
        if not isinstance(node, dict) or len(node) != 1:
            raise self.broken(f"expected a structure node with one key, found {_short(node)}")
        (kind, payload), = node.items()
        if kind == "array":
            if not isinstance(payload, str):
                raise self.broken(f"an array node should name a member, found {_short(payload)}")
            return self.member(payload, kinds=_NUMERIC_KINDS)
        if kind == "value":
            if payload is not None and not isinstance(payload, (bool, int, float, str)):
                raise self.broken(f"a value node should hold a number, string, bool or null, "
                                  f"found {_short(payload)}")
            return payload
        if kind in ("dict", "odict"):
            if not isinstance(payload, list) or not all(isinstance(p, list) and len(p) == 2 for p in payload):
                raise self.broken(f"a {kind} node should hold [key, value] pairs, found {_short(payload)}")
            pairs = [(self.decode(k), self.decode(v)) for k, v in payload]
            try:
                return OrderedDict(pairs) if kind == "odict" else dict(pairs)
            except TypeError as error:  # a key that decodes to a list or an array
                raise self.broken(f"a {kind} node has a key that cannot be a dict key ({error})") from None
        if kind in ("list", "tuple"):
            if not isinstance(payload, list):
                raise self.broken(f"a {kind} node should hold a list, found {_short(payload)}")
            items = [self.decode(v) for v in payload]
            return items if kind == "list" else tuple(items)
        raise self.broken(f"unknown structure node kind {kind!r} (expected array, value, dict, "
                          f"odict, list or tuple)")

    def member(self, key: str, kinds: str) -> np.ndarray:
        """Read member ``<key>.npy``: check the zip entry, then its .npy header against its
        size, and only then allocate and read the data."""
        name = f"{key}.npy"
        if name in self.used:
            raise self.broken(f"its description names member {name!r} twice")
        self.used.add(name)
        try:
            info = self.archive.getinfo(name)
        except KeyError:
            raise self.broken(f"its description names member {name!r}, which the file does "
                              f"not hold") from None
        self.check_entry(info)
        with self.archive.open(info) as member:
            shape, fortran_order, dtype = self.header(member, name)
            if dtype.hasobject:
                raise ValueError(
                    f"{self.path} holds pickled objects (member {name!r} has dtype {dtype}), which "
                    f"chainrule refuses to load (loading them could run code)"
                )
            if dtype.kind not in kinds:
                raise self.broken(f"member {name!r} holds an array of dtype {dtype}, expected "
                                  f"{'a unicode string' if kinds == 'U' else 'a numeric dtype'}")
            if any(n < 0 for n in shape) or len(shape) > 64:
                raise self.broken(f"member {name!r} declares an impossible shape {shape}")
            count = math.prod(shape)  # Python ints: a declared (10**6, 10**6) cannot overflow
            needed, held = count * dtype.itemsize, info.file_size - member.tell()
            if needed != held:
                raise self.broken(
                    f"member {name!r} declares shape {shape} of {dtype}, which needs {needed} bytes "
                    f"of data, but holds {held}"
                )
            flat = np.empty(count, dtype=dtype)  # bounded: `held` bytes are in the file
            _read_into(member, flat.view(np.uint8), name)
        if fortran_order:
            return flat.reshape(shape[::-1]).transpose()
        return flat.reshape(shape)

    def check_entry(self, info: zipfile.ZipInfo) -> None:
        """Refuse what save never writes, before a byte of the member is decompressed."""
        name = info.filename
        if info.compress_type != zipfile.ZIP_STORED:
            method = _COMPRESSION_NAMES.get(info.compress_type, f"unknown method {info.compress_type}")
            raise self.foreign(
                f"member {name!r} is compressed ({method}); chainrule.save writes stored "
                f"(uncompressed) members only, so another tool wrote or rewrote this file "
                f"(numpy.savez_compressed, a zip program)"
            )
        for bit, meaning in _UNREADABLE_FLAGS.items():
            if info.flag_bits & bit:
                raise self.foreign(f"member {name!r} is {meaning} (zip flag {bit:#x}); chainrule "
                                   f"writes plain stored members only")
        if info.compress_size != info.file_size:
            raise self.broken(f"member {name!r} is stored, so its size should equal its stored "
                              f"size, found {info.file_size} and {info.compress_size} bytes")
        end = info.header_offset + _LOCAL_HEADER_SIZE + len(name) + info.compress_size
        if info.header_offset < 0 or end > self.size:
            raise self.corrupted(f"member {name!r} would end at byte {end}, but the file has "
                                 f"{self.size} bytes")

    def header(self, member, name: str):
        """Parse the .npy header with numpy's own reader, refusing anything it raises."""
        try:
            version = npy_format.read_magic(member)
            if version == (1, 0):
                return npy_format.read_array_header_1_0(member)
            if version == (2, 0):
                return npy_format.read_array_header_2_0(member)
        except zipfile.BadZipFile:
            raise  # a bad CRC found while reading ahead: reported as corruption
        except Exception as error:  # noqa: BLE001 — SyntaxError, tokenize.TokenError, ValueError, ...
            raise self.broken(f"member {name!r} has an unreadable .npy header "
                              f"({type(error).__name__}: {_cut(str(error))})") from None
        raise self.broken(f"member {name!r} is .npy format version {version[0]}.{version[1]}, "
                          f"expected 1.0 or 2.0 (what numpy.savez writes for numeric arrays)")


def _read_into(member, out: np.ndarray, name: str) -> None:
    """Fill the byte view ``out`` from ``member`` in 16 MiB chunks (no second copy of the
    data); reading the last byte makes zipfile check the member's CRC-32."""
    filled, total = 0, out.size
    while filled < total:
        chunk = member.read(min(total - filled, 1 << 24))
        if not chunk:
            raise EOFError(f"member {name!r} ends after {filled} of its {total} data bytes")
        out[filled:filled + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
        filled += len(chunk)
    member.read(1)  # at the end already: triggers the CRC check if the last read did not


def _describe(head: bytes) -> str:
    """Say what a file that is not a zip archive looks like, from its first bytes."""
    if not head:
        return "an empty file"
    for signature, kind in _SIGNATURES.items():
        if head.startswith(signature):
            return kind
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return f"bytes {head[:16]!r}"
    if all(c.isprintable() or c in "\t\r\n" for c in text):
        kind = "JSON" if text.lstrip().startswith(("{", "[")) else "text"
        return f"{kind} starting with {text[:40]!r}"
    return f"bytes {head[:16]!r}"


def _short(value) -> str:
    """``repr`` of a value from the file, cut so that a hostile one cannot flood a message."""
    return _cut(repr(value))


def _cut(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
