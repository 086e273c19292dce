"""save / load: round trips, atomic writes, and clear errors for files that are not checkpoints."""

import io
import json
import os
import re
import signal
import stat
import struct
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def test_round_trip_nested_state(tmp_path):
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    state = {
        "model": model.state_dict(),
        "optimizer": {"state": {0: {"momentum_buffer": np.arange(3.0)}},
                      "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "nesterov": False,
                                        "params": [0, 1], "eps": 1e-8, "foo": None}]},
        "epoch": 7,
    }
    path = tmp_path / "ckpt.npz"
    cr.save(state, path)
    loaded = cr.load(path)
    assert list(loaded["model"]) == list(state["model"])
    for key, value in state["model"].items():
        np.testing.assert_array_equal(loaded["model"][key], value)
        assert loaded["model"][key].dtype == value.dtype
    assert loaded["epoch"] == 7
    group = loaded["optimizer"]["param_groups"][0]
    assert group == state["optimizer"]["param_groups"][0]
    assert isinstance(group["betas"], tuple)
    assert list(loaded["optimizer"]["state"]) == [0]  # int keys stay ints
    np.testing.assert_array_equal(loaded["optimizer"]["state"][0]["momentum_buffer"], np.arange(3.0))
    other = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    other.load_state_dict(loaded["model"])
    np.testing.assert_array_equal(other[0].weight.data, model[0].weight.data)


def test_path_is_used_as_given_and_no_temp_left(tmp_path):
    path = tmp_path / "weights.ckpt"
    cr.save({"a": np.ones(2)}, path)
    assert os.listdir(tmp_path) == ["weights.ckpt"]


def test_failed_write_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    cr.save({"a": np.ones(2)}, path)

    def broken_savez(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        cr.save({"a": np.zeros(2)}, path)
    assert os.listdir(tmp_path) == ["ckpt.npz"]
    monkeypatch.undo()
    np.testing.assert_array_equal(cr.load(path)["a"], np.ones(2))


def test_unsupported_object_is_refused(tmp_path):
    with pytest.raises(TypeError, match="save cannot store objects of type object"):
        cr.save({"a": object()}, tmp_path / "x.npz")


def test_plain_npz_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, a=np.ones(2))
    with pytest.raises(ValueError, match=r"plain.npz is not a chainrule checkpoint \(no __chainrule__ entry; "
                                         r"its zip members are 'a.npy'\)"):
        cr.load(path)


def test_truncated_file(tmp_path):
    path = tmp_path / "ckpt.npz"
    cr.save({"a": np.ones(1000)}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="ckpt.npz is not a readable chainrule checkpoint"):
        cr.load(path)


def test_pickled_object_array_refused(tmp_path):
    path = tmp_path / "evil.npz"
    meta = '{"format": "chainrule-checkpoint", "version": 1, "tree": {"array": "a0"}}'
    np.savez(path, __chainrule__=np.array(meta), a0=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError, match="pickled objects"):
        cr.load(path)


def test_newer_version_refused(tmp_path):
    path = tmp_path / "future.npz"
    meta = '{"format": "chainrule-checkpoint", "version": 99, "tree": {"value": 1}}'
    np.savez(path, __chainrule__=np.array(meta))
    with pytest.raises(ValueError, match="format version 99, newer than"):
        cr.load(path)


def test_not_a_zip(tmp_path):
    path = tmp_path / "text.npz"
    path.write_text("hello")
    with pytest.raises(ValueError, match="text.npz"):
        cr.load(path)
    assert not zipfile.is_zipfile(path)


# -- faults at every point of the write ------------------------------------------------------


def _assert_previous_intact(tmp_path, path):
    assert os.listdir(tmp_path) == [path.name], "a temporary file was left behind"
    np.testing.assert_array_equal(cr.load(path)["a"], np.ones(2))


def test_write_failing_halfway_keeps_previous_file(tmp_path, monkeypatch):
    """Half of the new file reaches the disk, then the write raises (a full disk)."""
    path = tmp_path / "ckpt.npz"
    cr.save({"a": np.ones(2)}, path)
    real_savez = np.savez

    def half_then_fail(file, *args, **kwargs):
        real_savez(file, *args, **kwargs)  # the whole archive goes into the temp file ...
        file.seek(file.tell() // 2)
        file.truncate()                    # ... is cut in half ...
        raise OSError("No space left on device")  # ... and the write fails

    monkeypatch.setattr(np, "savez", half_then_fail)
    with pytest.raises(OSError, match="No space left"):
        cr.save({"a": np.zeros(1000)}, path)
    monkeypatch.undo()
    _assert_previous_intact(tmp_path, path)


def test_fsync_failure_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    cr.save({"a": np.ones(2)}, path)

    def broken_fsync(fd):
        raise OSError("Input/output error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="Input/output error"):
        cr.save({"a": np.zeros(2)}, path)
    monkeypatch.undo()
    _assert_previous_intact(tmp_path, path)


def test_replace_failure_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    cr.save({"a": np.ones(2)}, path)

    def broken_replace(src, dst):
        raise PermissionError("Permission denied")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(PermissionError):
        cr.save({"a": np.zeros(2)}, path)
    monkeypatch.undo()
    _assert_previous_intact(tmp_path, path)


def test_interrupt_during_write_keeps_previous_file(tmp_path, monkeypatch):
    """Ctrl-C (KeyboardInterrupt, not an Exception) in the middle also cleans up."""
    path = tmp_path / "ckpt.npz"
    cr.save({"a": np.ones(2)}, path)
    real_savez = np.savez

    def interrupted(file, *args, **kwargs):
        real_savez(file, *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", interrupted)
    with pytest.raises(KeyboardInterrupt):
        cr.save({"a": np.zeros(2)}, path)
    monkeypatch.undo()
    _assert_previous_intact(tmp_path, path)


def test_unsupported_object_leaves_no_file(tmp_path):
    """Encoding fails before anything is written: no temporary file, no target file."""
    with pytest.raises(TypeError, match="save cannot store objects of type function"):
        cr.save({"f": lambda: 0}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="numeric arrays only, got an array of dtype object"):
        cr.save({"a": np.array([None])}, tmp_path / "x.npz")
    assert os.listdir(tmp_path) == []


def test_fsync_is_called_before_replace(tmp_path, monkeypatch):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (calls.append("replace"), real_replace(a, b))[1])
    cr.save({"a": np.ones(2)}, tmp_path / "c.npz")
    assert calls.index("fsync") < calls.index("replace")


# -- files that are not (valid) checkpoints ------------------------------------------------------


@pytest.mark.parametrize("cut", [0, 10, 100, -30, -1])
def test_truncated_anywhere(tmp_path, cut):
    path = tmp_path / "ckpt.npz"
    cr.save({"a": np.arange(100.0), "b": {"c": np.ones((3, 3), np.float32)}}, path)
    data = path.read_bytes()
    path.write_bytes(data[:cut])
    with pytest.raises(ValueError, match="ckpt.npz"):
        cr.load(path)


def test_corrupted_bytes(tmp_path):
    path = tmp_path / "ckpt.npz"
    cr.save({"a": np.arange(100.0)}, path)
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(0)
    for i in rng.integers(0, len(data), 40):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="ckpt.npz"):
        cr.load(path)


@pytest.mark.parametrize("meta", [
    "not json at all",
    '{"format": "chainrule-checkpoint", "version": 1}',                        # no tree
    '{"format": "chainrule-checkpoint", "version": 1, "tree": {"array": "a9"}}',  # missing member
    '{"format": "chainrule-checkpoint", "version": 1, "tree": {"nonsense": 1}}',
    '["a", "list"]',
])
def test_malformed_description(tmp_path, meta):
    path = tmp_path / "odd.npz"
    np.savez(path, __chainrule__=np.array(meta))
    with pytest.raises(ValueError, match="odd.npz"):
        cr.load(path)


def test_other_format_marker(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, __chainrule__=np.array('{"format": "something-else", "version": 1, "tree": {"value": 1}}'))
    with pytest.raises(ValueError, match="other.npz is not a chainrule checkpoint .format 'something-else'"):
        cr.load(path)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        cr.load(tmp_path / "nope.npz")


def test_marker_and_version_are_in_the_file(tmp_path):
    path = tmp_path / "c.npz"
    cr.save({"a": 1}, path)
    with np.load(path, allow_pickle=False) as npz:
        meta = str(npz["__chainrule__"])
    assert '"format": "chainrule-checkpoint"' in meta and '"version": 1' in meta


# -- resumed training is bit-identical -------------------------------------------------------------


def _make_run(optimizer_factory):
    """A small network with Dropout, a shuffling loader and an optimiser, all seeded and each
    owning its generator, so that a checkpoint can capture every bit of state."""
    X, y = cr.data.datasets.make_moons(96, noise=0.2, seed=3)
    init_rng = np.random.default_rng(11)
    model = nn.Sequential(nn.Linear(2, 16, rng=init_rng), nn.Tanh(),
                          nn.Dropout(0.2, rng=np.random.default_rng(12)), nn.Linear(16, 2, rng=init_rng))
    loader_rng = np.random.default_rng(13)
    loader = cr.data.DataLoader(cr.data.TensorDataset(X, y), batch_size=16, shuffle=True, rng=loader_rng)
    return {"model": model, "loader": loader, "loader_rng": loader_rng,
            "opt": optimizer_factory(model.parameters()), "loss_fn": nn.CrossEntropyLoss()}


def _train_epochs(run, epochs):
    for _ in range(epochs):
        for xb, yb in run["loader"]:
            loss = run["loss_fn"](run["model"](xb), yb)
            run["opt"].zero_grad()
            run["model"].backward(run["loss_fn"].backward())
            run["opt"].step()
    return loss


def _checkpoint(run):
    return {"model": run["model"].state_dict(), "optimizer": run["opt"].state_dict(),
            "loader_rng": run["loader_rng"].bit_generator.state,
            "dropout_rng": run["model"][2].rng.bit_generator.state}


def _restore(run, ckpt):
    run["model"].load_state_dict(ckpt["model"])
    run["opt"].load_state_dict(ckpt["optimizer"])
    run["loader_rng"].bit_generator.state = ckpt["loader_rng"]
    run["model"][2].rng.bit_generator.state = ckpt["dropout_rng"]


@pytest.mark.parametrize("factory", [
    lambda p: cr.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    lambda p: cr.optim.SGD(p, lr=0.1, momentum=0.8, dampening=0.1),
    lambda p: cr.optim.Adam(p, lr=1e-2, betas=(0.8, 0.99), amsgrad=True),
    lambda p: cr.optim.AdamW(p, lr=1e-2),
], ids=["sgd-nesterov", "sgd-dampening", "adam-amsgrad", "adamw"])
def test_resumed_training_is_bit_identical(tmp_path, factory):
    straight = _make_run(factory)
    _train_epochs(straight, 5)

    first = _make_run(factory)
    _train_epochs(first, 2)
    cr.save(_checkpoint(first), tmp_path / "ckpt.npz")
    del first

    resumed = _make_run(factory)  # fresh objects: different initial weights would be overwritten
    resumed["model"][0].reset_parameters(np.random.default_rng(999))
    _restore(resumed, cr.load(tmp_path / "ckpt.npz"))
    _train_epochs(resumed, 3)

    for (name, a), b in zip(straight["model"].state_dict().items(), resumed["model"].state_dict().values()):
        assert a.dtype == b.dtype
        assert np.array_equal(a, b), f"{name} differs after resuming"
    s_state, r_state = straight["opt"].state_dict(), resumed["opt"].state_dict()
    assert s_state["param_groups"] == r_state["param_groups"]
    for index, entries in s_state["state"].items():
        for key, value in entries.items():
            assert np.array_equal(value, r_state["state"][index][key]), f"state[{index}][{key!r}] differs"
            if key == "step":
                assert type(r_state["state"][index][key]) is int


def test_optimizer_state_round_trip_keeps_types(tmp_path):
    model = nn.Linear(3, 2, rng=np.random.default_rng(0))
    opt = cr.optim.Adam([{"params": [model.weight], "lr": 0.5}, {"params": [model.bias]}], betas=(0.5, 0.9))
    model.weight.grad = np.ones_like(model.weight.data)  # .grad is None until a backward
    model.bias.grad = -np.ones_like(model.bias.data)
    opt.step()
    opt.step()
    cr.save(opt.state_dict(), tmp_path / "opt.npz")
    loaded = cr.load(tmp_path / "opt.npz")
    assert loaded["param_groups"] == opt.state_dict()["param_groups"]
    assert loaded["param_groups"][0]["betas"] == (0.5, 0.9)
    assert loaded["state"][0]["step"] == 2 and type(loaded["state"][0]["step"]) is int
    assert loaded["state"][1]["exp_avg"].dtype == np.float32


# -- hostile and foreign files: a ValueError naming the path, fast, nothing allocated ----------------
#
# Each bad file is built here, byte by byte where needed: a chainrule checkpoint is a zip of
# stored .npy members, `__chainrule__.npy` (the JSON description) and `a0.npy`, `a1.npy`, ...


def _npy(array):
    """The bytes numpy.save writes for `array`."""
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _npy_with_header(header_text: str, data: bytes) -> bytes:
    """A version 1.0 .npy member whose header dict text is exactly `header_text`."""
    header = header_text.encode("latin1")
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + data


def _meta(tree, version=1):
    return _npy(np.array(json.dumps({"format": "chainrule-checkpoint", "version": version, "tree": tree})))


def _write_zip(path, members, compress_type=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compress_type) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _patch_zip_entry(path, name, *, flag_bits=0, compress_type=None):
    """Set flag bits and/or the compression method of member `name` in both its local header
    and its central directory record (zipfile resets flag_bits when it writes, so we patch)."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        local = archive.getinfo(name).header_offset
    central = data.index(b"PK\x01\x02")  # the first central directory record ...
    while data[central + 46:central + 46 + len(name)] != name.encode():  # ... then the one for `name`
        central = data.index(b"PK\x01\x02", central + 4)
    for flags_at, method_at in ((local + 6, local + 8), (central + 8, central + 10)):
        flags = struct.unpack_from("<H", data, flags_at)[0] | flag_bits
        struct.pack_into("<H", data, flags_at, flags)
        if compress_type is not None:
            struct.pack_into("<H", data, method_at, compress_type)
    path.write_bytes(bytes(data))


def test_declared_shape_larger_than_the_data_is_refused_before_allocating(tmp_path):
    path = tmp_path / "huge.npz"
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }"
    _write_zip(path, {"__chainrule__.npy": _meta({"array": "a0"}),
                      "a0.npy": _npy_with_header(header, bytes(100))})
    # 8 TB declared, 100 bytes held: np.empty((10**6, 10**6)) would be a MemoryError
    with pytest.raises(ValueError, match=r"huge.npz is not a readable chainrule checkpoint: member 'a0.npy' "
                                         r"declares shape \(1000000, 1000000\) of float64, which needs "
                                         r"8000000000000 bytes of data, but holds 100"):
        cr.load(path)


@pytest.mark.parametrize("header, data", [
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", bytes(16)),    # too few bytes
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", bytes(32)),    # too many bytes
    ("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", bytes(40)),
    ("{'descr': '<i4', 'fortran_order': False, 'shape': (), }", bytes(8)),
], ids=["short", "long", "fortran-short", "scalar-long"])
def test_declared_size_must_match_the_member_exactly(tmp_path, header, data):
    path = tmp_path / "size.npz"
    _write_zip(path, {"__chainrule__.npy": _meta({"array": "a0"}), "a0.npy": _npy_with_header(header, data)})
    with pytest.raises(ValueError, match=r"size.npz is not a readable .* member 'a0.npy' declares shape "
                                         rf".* but holds {len(data)}$"):
        cr.load(path)


def test_negative_dimensions_are_refused_even_when_their_product_fits(tmp_path):
    path = tmp_path / "neg.npz"
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (-2, -4), }"  # (-2)(-4) * 8 = 64 bytes
    _write_zip(path, {"__chainrule__.npy": _meta({"array": "a0"}), "a0.npy": _npy_with_header(header, bytes(64))})
    with pytest.raises(ValueError, match=r"neg.npz .* member 'a0.npy' declares an impossible shape \(-2, -4\)"):
        cr.load(path)


@pytest.mark.parametrize("header", [
    "{'descr': '<f8', 'fortran_order': False, 'shape': (3,",       # tokenize.TokenError: EOF in statement
    "this is not a python literal at all !!!",                      # SyntaxError
    "{'descr': '<f8', 'fortran_order': False, 'shape': " + "(" * 5000 + ")" * 5000 + "}",  # nested 5,000 deep
    "[1, 2, 3]",                                                    # not a dict
    "{'descr': '<f8', 'shape': (3,)}",                              # a key missing
    "{'descr': '<f8', 'fortran_order': 'yes', 'shape': (3,), }",    # not a bool
    "{'descr': 'not a dtype', 'fortran_order': False, 'shape': (3,), }",
    "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }" + " " * 20000,  # over numpy's size limit
], ids=["unterminated", "not-python", "nested-5000", "list", "missing-key", "bad-order", "bad-descr",
        "oversized"])
def test_unparsable_npy_header(tmp_path, header):
    path = tmp_path / "header.npz"
    _write_zip(path, {"__chainrule__.npy": _meta({"array": "a0"}), "a0.npy": _npy_with_header(header, bytes(24))})
    with pytest.raises(ValueError, match=r"header.npz is not a readable chainrule checkpoint: member 'a0.npy' "
                                         r"has an unreadable .npy header"):
        cr.load(path)


def test_unknown_npy_version(tmp_path):
    path = tmp_path / "v9.npz"
    member = bytearray(_npy(np.ones(3)))
    member[6] = 9  # major version byte
    _write_zip(path, {"__chainrule__.npy": _meta({"array": "a0"}), "a0.npy": bytes(member)})
    with pytest.raises(ValueError, match=r"v9.npz .* member 'a0.npy' is .npy format version 9.0, expected 1.0 or 2.0"):
        cr.load(path)


def test_non_numeric_array_is_refused(tmp_path):
    path = tmp_path / "text.npz"
    _write_zip(path, {"__chainrule__.npy": _meta({"array": "a0"}), "a0.npy": _npy(np.array(["x", "y"]))})
    with pytest.raises(ValueError, match=r"text.npz .* member 'a0.npy' holds an array of dtype <U1, "
                                         r"expected a numeric dtype"):
        cr.load(path)


def test_deflated_member_is_refused_without_decompressing(tmp_path):
    """4 MB of deflated zeros inflate to 4 GB; the member must be refused from its directory
    entry, before a byte is inflated."""
    path = tmp_path / "bomb.npz"
    _write_zip(path, {"__chainrule__.npy": _meta({"list": [{"array": "a0"}, {"array": "a1"}]}),
                      "a0.npy": _npy(np.ones(1))})
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a1.npy", _npy(np.zeros(4 * 2**20, np.uint8)))  # 4 MB of zeros
    assert path.stat().st_size < 2**16  # deflated to a few kB
    with pytest.raises(ValueError, match=r"bomb.npz is not a chainrule checkpoint: member 'a1.npy' is "
                                         r"compressed \(deflate\); chainrule.save writes stored"):
        cr.load(path)


def test_savez_compressed_file_is_refused(tmp_path):
    path = tmp_path / "small.npz"
    meta = '{"format": "chainrule-checkpoint", "version": 1, "tree": {"value": 1}}'
    np.savez_compressed(path, __chainrule__=np.array(meta))
    with pytest.raises(ValueError, match=r"small.npz is not a chainrule checkpoint: member '__chainrule__.npy' "
                                         r"is compressed \(deflate\)"):
        cr.load(path)


def test_encrypted_member_is_refused(tmp_path):
    path = tmp_path / "secret.npz"
    _write_zip(path, {"__chainrule__.npy": _meta({"array": "a0"}), "a0.npy": _npy(np.ones(3))})
    _patch_zip_entry(path, "a0.npy", flag_bits=0x1)
    with pytest.raises(ValueError, match=r"secret.npz is not a chainrule checkpoint: member 'a0.npy' is "
                                         r"encrypted \(zip flag 0x1\)"):
        cr.load(path)


def test_unknown_compression_method_is_refused(tmp_path):
    path = tmp_path / "method.npz"
    _write_zip(path, {"__chainrule__.npy": _meta({"array": "a0"}), "a0.npy": _npy(np.ones(3))})
    _patch_zip_entry(path, "a0.npy", compress_type=99)
    with pytest.raises(ValueError, match=r"method.npz is not a chainrule checkpoint: member 'a0.npy' is "
                                         r"compressed \(unknown method 99\)"):
        cr.load(path)


@pytest.mark.parametrize("meta", [
    '{"format": "chainrule-checkpoint", "version": 1, "tree": ' + '{"list": [' * 5000 + "]}" * 5000 + "}",
    "[" * 5000 + "]" * 5000,
], ids=["tree", "json"])
def test_description_nested_5000_deep(tmp_path, meta):
    path = tmp_path / "deep.npz"
    _write_zip(path, {"__chainrule__.npy": _npy(np.array(meta))})
    with pytest.raises(ValueError, match=r"deep.npz is not a readable chainrule checkpoint: .* nested deeper "
                                         r"than Python's recursion limit"):
        cr.load(path)


@pytest.mark.parametrize("tree, message", [
    ({"array": 3}, r"an array node should name a member, found 3"),
    ({"value": [1, 2]}, r"a value node should hold a number, string, bool or null, found \[1, 2\]"),
    ({"dict": [[{"value": 1}]]}, r"a dict node should hold \[key, value\] pairs"),
    ({"dict": [[{"list": []}, {"value": 1}]]}, r"a dict node has a key that cannot be a dict key"),
    ({"tuple": {"value": 1}}, r"a tuple node should hold a list"),
    ({"list": [{"array": "a0"}, {"array": "a0"}]}, r"its description names member 'a0.npy' twice"),
    ({"value": 1, "array": "a0"}, r"expected a structure node with one key"),
])
def test_malformed_tree_says_what_is_wrong(tmp_path, tree, message):
    path = tmp_path / "tree.npz"
    _write_zip(path, {"__chainrule__.npy": _meta(tree), "a0.npy": _npy(np.ones(2))})
    with pytest.raises(ValueError, match=r"tree.npz is not a readable chainrule checkpoint: " + message):
        cr.load(path)


def test_two_members_with_one_name_are_refused(tmp_path):
    """Which of the two a zip reader returns is its choice: refuse rather than guess."""
    path = tmp_path / "twice.npz"
    _write_zip(path, {"__chainrule__.npy": _meta({"array": "a0"}), "a0.npy": _npy(np.ones(2))})
    with zipfile.ZipFile(path, "a") as archive, pytest.warns(UserWarning, match="Duplicate name"):
        archive.writestr("a0.npy", _npy(np.zeros(2)))
    with pytest.raises(ValueError, match=r"twice.npz .* expected each zip member name once, found 'a0.npy' 2 times"):
        cr.load(path)


def test_description_must_be_one_string(tmp_path):
    path = tmp_path / "two.npz"
    _write_zip(path, {"__chainrule__.npy": _npy(np.array(["{}", "{}"]))})
    with pytest.raises(ValueError, match=r"two.npz .* should be a single string, found an array of shape \(2,\)"):
        cr.load(path)


def test_members_the_tree_does_not_name_are_never_read(tmp_path):
    """A checkpoint with extra members a reader of them would choke on still loads."""
    path = tmp_path / "extra.npz"
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }"
    _write_zip(path, {"__chainrule__.npy": _meta({"dict": [[{"value": "w"}, {"array": "a0"}]]}),
                      "a0.npy": _npy(np.arange(3.0)),
                      "huge.npy": _npy_with_header(header, bytes(100)),
                      "pickle.npy": _npy_with_header("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
                                                     b"\x80\x04N.")})
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb.npy", bytes(2**20))
    loaded = cr.load(path)
    np.testing.assert_array_equal(loaded["w"], np.arange(3.0))


@pytest.mark.parametrize("content, found", [
    (b"hello, this is a text file\n", r"text starting with 'hello, this is a text file\\n'"),
    (b'{"model": {"weight": [1, 2, 3]}}', r"""JSON starting with '\{"model": \{"weight": \[1, 2, 3\]\}\}'"""),
    (b"\x89HDF\r\n\x1a\n" + bytes(200), r"an HDF5 file"),
    (b"\x80\x04\x95" + bytes(20), r"a pickle"),
    (_npy(np.ones(3)), r"a single .npy array \(numpy.save\)"),
    (b"", r"an empty file"),
    (bytes(range(250, 256)) * 4, r"bytes b'\\xfa\\xfb"),
], ids=["text", "json", "hdf5", "pickle", "npy", "empty", "binary"])
def test_file_that_is_not_a_zip_is_not_a_checkpoint(tmp_path, content, found):
    path = tmp_path / "model.bin"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"model.bin is not a chainrule checkpoint: expected a .npz file "
                                         r"\(a zip archive, starting with b'PK\\x03\\x04'\), found " + found):
        cr.load(path)


def test_missing_path_and_folder_raise_what_open_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        cr.load(tmp_path / "nope.npz")
    with pytest.raises(IsADirectoryError, match=str(tmp_path.name)):
        cr.load(tmp_path)


def test_file_written_by_numpy_savez_as_save_always_did_loads(tmp_path):
    """The format is numpy.savez's: a file put together by hand the way save writes it loads."""
    path = tmp_path / "old.npz"
    meta = json.dumps({"format": "chainrule-checkpoint", "version": 1, "tree": {"odict": [
        [{"value": "0.weight"}, {"array": "a0"}], [{"value": "0.bias"}, {"array": "a1"}],
        [{"value": 3}, {"tuple": [{"value": None}, {"value": True}, {"value": 0.5}]}]]}})
    weight = np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3))
    np.savez(path, __chainrule__=np.array(meta), a0=weight, a1=np.array([1, 2], ">i8"))
    loaded = cr.load(path)
    assert list(loaded) == ["0.weight", "0.bias", 3]
    np.testing.assert_array_equal(loaded["0.weight"], weight)
    assert loaded["0.weight"].dtype == np.float32 and loaded["0.weight"].flags.f_contiguous
    np.testing.assert_array_equal(loaded["0.bias"], [1, 2])
    assert loaded[3] == (None, True, 0.5)


@pytest.mark.parametrize("array", [
    np.arange(12.0).reshape(3, 4), np.asfortranarray(np.arange(12, dtype=np.int16).reshape(3, 4)),
    np.array(2.5, np.float16), np.zeros((0, 3), np.float32), np.array([True, False]),
    np.array([1 + 2j], np.complex64), np.arange(4, dtype=">u4"), np.ones((1,) * 10, np.uint8),
], ids=["f64-2d", "fortran-i16", "f16-scalar", "empty", "bool", "c64", "big-endian", "10-dims"])
def test_every_numeric_array_round_trips(tmp_path, array):
    cr.save({"x": array}, tmp_path / "a.npz")
    loaded = cr.load(tmp_path / "a.npz")["x"]
    assert loaded.dtype == array.dtype and loaded.shape == array.shape
    np.testing.assert_array_equal(loaded, array)
    loaded[...] = 0  # a plain writable array, not a view into a buffer


def test_every_single_byte_corruption_is_refused_or_harmless(tmp_path):
    """Change each byte of a small checkpoint in turn: load either raises a ValueError naming
    the path or gives back exactly what was saved (a byte zip ignores, like a timestamp)."""
    path = tmp_path / "c.npz"
    state = {"w": np.arange(6.0).reshape(2, 3), "n": 3}
    cr.save(state, path)
    original = path.read_bytes()
    for index in range(len(original)):
        for value in (original[index] ^ 0xFF, original[index] ^ 0x01):
            data = bytearray(original)
            data[index] = value
            path.write_bytes(bytes(data))
            try:
                loaded = cr.load(path)
            except ValueError as error:
                assert str(error).startswith(str(path)), (index, value, error)
                continue
            assert loaded["n"] == 3 and list(loaded) == ["w", "n"], (index, value)
            np.testing.assert_array_equal(loaded["w"], state["w"], err_msg=f"byte {index} set to {value}")


# -- file permissions, and what a killed save leaves behind ----------------------------------------

posix_only = pytest.mark.skipif(os.name != "posix", reason="permission bits and SIGKILL are POSIX")


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@posix_only
@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_file_gets_0666_less_the_umask_like_numpy_save(tmp_path, umask, expected):
    old = os.umask(umask)
    try:
        cr.save({"a": np.ones(2)}, tmp_path / "new.npz")
        np.save(tmp_path / "by_numpy.npy", np.ones(2))
    finally:
        os.umask(old)
    assert _mode(tmp_path / "new.npz") == expected == _mode(tmp_path / "by_numpy.npy")


@posix_only
@pytest.mark.parametrize("mode", [0o644, 0o600, 0o640, 0o444])
def test_replaced_file_keeps_its_mode(tmp_path, monkeypatch, mode):
    path = tmp_path / "ckpt.npz"
    cr.save({"a": np.ones(2)}, path)
    os.chmod(path, mode)
    modes_while_writing = []
    real_savez = np.savez

    def savez(file, *args, **kwargs):  # the temporary file has the final mode before data arrives
        modes_while_writing.append(stat.S_IMODE(os.fstat(file.fileno()).st_mode))
        real_savez(file, *args, **kwargs)

    monkeypatch.setattr(np, "savez", savez)
    old = os.umask(0o002 if mode == 0o600 else 0o077)  # a umask that disagrees with `mode`
    try:
        cr.save({"a": np.zeros(2)}, path)
    finally:
        os.umask(old)
    monkeypatch.undo()
    assert modes_while_writing == [mode]
    assert _mode(path) == mode
    np.testing.assert_array_equal(cr.load(path)["a"], np.zeros(2))
    assert os.listdir(tmp_path) == ["ckpt.npz"]


@posix_only
def test_sigkill_during_save_leaves_the_documented_temporary_file(tmp_path):
    """SIGKILL cannot be caught: the temporary file stays, named as the docs say, and the
    previous checkpoint is untouched."""
    path = tmp_path / "ckpt.npz"
    cr.save({"a": np.ones(2)}, path)
    script = (
        "import os, signal, numpy as np, chainrule as cr\n"
        "def killed(file, *args, **kwargs):\n"
        "    file.write(b'PK half a checkpoint')\n"
        "    file.flush()\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "np.savez = killed\n"
        f"cr.save({{'a': np.zeros(2)}}, {str(path)!r})\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert result.returncode == -signal.SIGKILL, result.stderr.decode()
    left = sorted(set(os.listdir(tmp_path)) - {"ckpt.npz"})
    assert len(left) == 1 and re.fullmatch(r"\.ckpt\.npz\.[0-9a-f]{8}\.tmp", left[0]), left
    np.testing.assert_array_equal(cr.load(path)["a"], np.ones(2))


def test_temporary_name_is_cut_for_long_file_names(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: (seen.append(os.path.basename(src)), real_replace(src, dst))[1])
    name = "x" * 240 + ".npz"  # 244 characters: 14 more would pass the 255-byte limit
    cr.save({"a": np.ones(2)}, tmp_path / name)
    assert re.fullmatch(r"\.x{32}\.[0-9a-f]{8}\.tmp", seen[0])
    assert os.listdir(tmp_path) == [name]
