"""RMSprop and Adagrad against torch.optim (foreach=False, the single-tensor path): same start,
same gradients, same trajectory and the same state, over the option grids of torch's own
common_optimizers.py plus the combinations they leave out; float64 to rtol 1e-10 after 25 steps.

Each side computes its own gradient from its own current parameters with the same
deterministic function, so only the optimiser's arithmetic can make the trajectories differ.
"""

import os
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim

torch = pytest.importorskip("torch", reason="torch is not installed")

sys.path.insert(0, os.path.dirname(__file__))
from _trajectory import ATOL, RTOL, STEPS, gradient, problem  # noqa: E402


def set_gradients(ours, theirs, terms):
    for p, (a, b) in zip(ours, terms):
        p.grad = gradient(p.data, a, b)
    for p, (a, b) in zip(theirs, terms):
        p.grad = torch.from_numpy(gradient(p.detach().numpy(), a, b))


def split_groups(params, group_options):
    """Parameters 0 and 1 in the first group, the rest in the second, with extra options."""
    if group_options is None:
        return params
    first, second = group_options
    return [dict(params=params[:2], **first), dict(params=params[2:], **second)]


def run_both(name, options, group_options=None, dtype=np.float64, steps=STEPS):
    starts, terms = problem(dtype=dtype)
    ours = [nn.Parameter(x.copy()) for x in starts]
    theirs = [torch.nn.Parameter(torch.from_numpy(x.copy())) for x in starts]
    our_opt = getattr(optim, name)(split_groups(ours, group_options), **options)
    their_opt = getattr(torch.optim, name)(split_groups(theirs, group_options), foreach=False, **options)
    for _ in range(steps):
        our_opt.zero_grad()
        their_opt.zero_grad()
        set_gradients(ours, theirs, terms)
        our_opt.step()
        their_opt.step()
    return ours, theirs, our_opt, their_opt


def assert_same_trajectory(ours, theirs, our_opt, their_opt, rtol=RTOL, atol=ATOL):
    for i, (p, q) in enumerate(zip(ours, theirs)):
        assert p.data.dtype == q.detach().numpy().dtype
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=rtol, atol=atol, err_msg=f"param {i}")
    their_state = their_opt.state_dict()["state"]
    our_state = our_opt.state_dict()["state"]
    assert sorted(our_state) == sorted(their_state)
    for index, entries in their_state.items():
        assert set(our_state[index]) == set(entries), index
        for key, value in entries.items():
            if key == "step":
                assert our_state[index][key] == float(value)
            else:
                np.testing.assert_allclose(our_state[index][key], value.numpy(), rtol=rtol, atol=atol,
                                           err_msg=f"state[{index}][{key!r}]")


def case_id(options):
    return ",".join(f"{k}={v}" for k, v in options.items()) or "default"


# torch's optim_inputs_func_rmsprop (CPU), then the full grid of the options it mixes.
RMSPROP_TORCH_TABLE = [
    {}, {"lr": 1e-3}, {"weight_decay": 0.1}, {"maximize": True}, {"weight_decay": 0.1, "centered": True},
    {"maximize": True, "weight_decay": 0.1}, {"weight_decay": 0.1, "centered": True, "momentum": 0.1},
    {"weight_decay": 0.1, "centered": True, "momentum": 0.1, "maximize": True},
]
RMSPROP_GRID = [
    dict(lr=0.01, alpha=alpha, eps=eps, weight_decay=wd, momentum=momentum, centered=centered, maximize=maximize)
    # alpha = 0.45: lerp's other branch for grad_avg. (Not much lower: PyTorch rounds v's update
    # with a fused multiply-add, one ulp from NumPy's, and with a small alpha the centered
    # variance v - g_avg^2 of a converging parameter cancels to a few digits, which amplifies
    # that ulp past 1e-10 in 25 steps.)
    for alpha, eps in ((0.99, 1e-8), (0.45, 1e-3))
    for wd in (0.0, 0.05)
    for momentum in (0.0, 0.9)
    for centered in (False, True)
    for maximize in (False, True)
]


@pytest.mark.parametrize("options", RMSPROP_TORCH_TABLE + RMSPROP_GRID, ids=case_id)
def test_rmsprop_trajectory_matches_torch(options):
    assert_same_trajectory(*run_both("RMSprop", options))


ADAGRAD_TORCH_TABLE = [
    {}, {"weight_decay": 0.1}, {"weight_decay": 0.1, "maximize": True}, {"lr": 0.1},
    {"initial_accumulator_value": 0.1, "weight_decay": 0.1}, {"lr": 0.1, "lr_decay": 0.5, "weight_decay": 0.1},
]
ADAGRAD_GRID = [
    dict(lr=0.1, lr_decay=lr_decay, weight_decay=wd, initial_accumulator_value=iav, eps=eps, maximize=maximize)
    for lr_decay in (0.0, 0.3)
    for wd in (0.0, 0.05)
    for iav, eps in ((0.0, 1e-10), (0.5, 1e-3))
    for maximize in (False, True)
]


@pytest.mark.parametrize("options", ADAGRAD_TORCH_TABLE + ADAGRAD_GRID, ids=case_id)
def test_adagrad_trajectory_matches_torch(options):
    assert_same_trajectory(*run_both("Adagrad", options))


@pytest.mark.parametrize(
    "name, options, groups",
    [
        ("RMSprop", dict(lr=0.01), (dict(momentum=0.5, centered=True), dict(lr=0.003, alpha=0.9, weight_decay=0.1))),
        ("Adagrad", dict(lr=0.1), (dict(lr_decay=0.2), dict(initial_accumulator_value=1.0, maximize=True))),
    ],
    ids=["RMSprop", "Adagrad"],
)
def test_two_param_groups_match_torch(name, options, groups):
    ours, theirs, our_opt, their_opt = run_both(name, options, group_options=groups)
    assert_same_trajectory(ours, theirs, our_opt, their_opt)
    torch_only = {"foreach", "differentiable", "capturable", "fused"}
    for our_group, their_group in zip(our_opt.state_dict()["param_groups"], their_opt.state_dict()["param_groups"]):
        assert set(our_group) == set(their_group) - torch_only
        for key, value in our_group.items():
            assert their_group[key] == value, key


@pytest.mark.parametrize("name, options", [("RMSprop", dict(momentum=0.9, centered=True, weight_decay=0.01)),
                                           ("Adagrad", dict(lr=0.1, lr_decay=0.1))], ids=["RMSprop", "Adagrad"])
def test_float32_trajectory_matches_torch_in_float32(name, options):
    ours, theirs, our_opt, their_opt = run_both(name, options, dtype=np.float32)
    for p in ours:
        assert p.data.dtype == np.float32
        for value in our_opt.state[p].values():
            assert not isinstance(value, np.ndarray) or value.dtype == np.float32
    assert_same_trajectory(ours, theirs, our_opt, their_opt, rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("name, options", [("RMSprop", dict(momentum=0.9, centered=True)),
                                           ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.2))],
                         ids=["RMSprop", "Adagrad"])
def test_state_dict_through_save_load_continues_as_torch(name, options, tmp_path):
    """10 steps, a checkpoint through cr.save/cr.load into a fresh optimiser, 15 more steps:
    the same trajectory as torch's 25 uninterrupted steps."""
    starts, terms = problem()
    ours = [nn.Parameter(x.copy()) for x in starts]
    theirs = [torch.nn.Parameter(torch.from_numpy(x.copy())) for x in starts]
    our_opt = getattr(optim, name)(ours, **options)
    their_opt = getattr(torch.optim, name)(theirs, foreach=False, **options)
    for step in range(STEPS):
        if step == 10:
            cr.save({"params": [p.data for p in ours], "optim": our_opt.state_dict()}, tmp_path / "ckpt.npz")
            checkpoint = cr.load(tmp_path / "ckpt.npz")
            ours = [nn.Parameter(x) for x in checkpoint["params"]]
            our_opt = getattr(optim, name)(ours, lr=123.0)  # hyper-parameters come from the checkpoint
            our_opt.load_state_dict(checkpoint["optim"])
        set_gradients(ours, theirs, terms)
        our_opt.step()
        their_opt.step()
    assert_same_trajectory(ours, theirs, our_opt, their_opt)


def test_adagrad_state_exists_before_any_step_as_in_torch():
    p, q = nn.Parameter(np.ones(3)), torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    ours = optim.Adagrad([p], initial_accumulator_value=0.25)
    theirs = torch.optim.Adagrad([q], initial_accumulator_value=0.25)
    our_state, their_state = ours.state_dict()["state"], theirs.state_dict()["state"]
    assert our_state[0]["step"] == float(their_state[0]["step"]) == 0
    np.testing.assert_array_equal(our_state[0]["sum"], their_state[0]["sum"].numpy())


def test_repr_matches_torch_apart_from_torch_only_options():
    p = nn.Parameter(np.zeros(2))
    q = torch.nn.Parameter(torch.zeros(2))
    torch_only = ("differentiable", "foreach", "fused", "capturable")
    for ours, theirs in [(optim.RMSprop([p], momentum=0.9), torch.optim.RMSprop([q], momentum=0.9)),
                         (optim.Adagrad([p], lr_decay=0.1), torch.optim.Adagrad([q], lr_decay=0.1))]:
        their_lines = [line for line in repr(theirs).splitlines() if line.strip().split(":")[0] not in torch_only]
        assert repr(ours).splitlines() == their_lines


@pytest.mark.parametrize("name, options, message", [
    ("RMSprop", dict(lr=-0.1), "Invalid learning rate"),
    ("RMSprop", dict(momentum=-1.0), "Invalid momentum value"),
    ("RMSprop", dict(alpha=-0.5), "Invalid alpha value"),
    ("RMSprop", dict(eps=-1e-8), "Invalid epsilon value"),
    ("RMSprop", dict(weight_decay=-0.1), "Invalid weight_decay value"),
    ("Adagrad", dict(lr_decay=-0.5), "Invalid lr_decay value"),
    ("Adagrad", dict(initial_accumulator_value=-1.0), "Invalid initial_accumulator_value"),
    ("Adagrad", dict(eps=-1.0), "Invalid epsilon value"),
], ids=lambda v: str(v))
def test_torch_refuses_what_we_refuse(name, options, message):
    key, value = next(iter(options.items()))
    with pytest.raises(ValueError, match=message):
        getattr(torch.optim, name)([torch.nn.Parameter(torch.zeros(2))], **options)
    with pytest.raises(ValueError, match=rf"{name} {key} must be >= 0, got {value}"):
        getattr(optim, name)([nn.Parameter(np.zeros(2))], **options)
