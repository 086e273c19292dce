"""save / load: round trips, atomic writes, and clear errors for files that are not checkpoints."""

import os
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
    with pytest.raises(ValueError, match="plain.npz is not a chainrule checkpoint"):
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
