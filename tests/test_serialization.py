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
    model.weight.grad[...] = 1.0
    model.bias.grad[...] = -1.0
    opt.step()
    opt.step()
    cr.save(opt.state_dict(), tmp_path / "opt.npz")
    loaded = cr.load(tmp_path / "opt.npz")
    assert loaded["param_groups"] == opt.state_dict()["param_groups"]
    assert loaded["param_groups"][0]["betas"] == (0.5, 0.9)
    assert loaded["state"][0]["step"] == 2 and type(loaded["state"][0]["step"]) is int
    assert loaded["state"][1]["exp_avg"].dtype == np.float32
