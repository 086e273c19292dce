"""Optimisers and LR schedulers against torch.optim: same start, same gradients, same trajectory.

Each side computes its own gradient from its own current parameters with the same
deterministic function (the gradient of a fixed quadratic plus a small non-linear term),
so only the optimiser's arithmetic can make the trajectories differ.
"""

import itertools
import math
import os
import sys

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.optim import lr_scheduler

torch = pytest.importorskip("torch", reason="torch is not installed")

sys.path.insert(0, os.path.dirname(__file__))
from _trajectory import ATOL, RTOL, STEPS, gradient, problem  # noqa: E402


def make_pair(starts):
    ours = [nn.Parameter(x.copy()) for x in starts]
    theirs = [torch.nn.Parameter(torch.from_numpy(x.copy())) for x in starts]
    return ours, theirs


def split_groups(params, group_options):
    """Parameters 0 and 1 in the first group, the rest in the second, with extra options."""
    if group_options is None:
        return params
    first, second = group_options
    return [dict(params=params[:2], **first), dict(params=params[2:], **second)]


def run_both(ours_cls, theirs_cls, options, group_options=None, dtype=np.float64, steps=STEPS):
    starts, terms = problem(dtype=dtype)
    ours, theirs = make_pair(starts)
    our_opt = ours_cls(split_groups(ours, group_options), **options)
    their_opt = theirs_cls(split_groups(theirs, group_options), foreach=False, **options)
    for _ in range(steps):
        our_opt.zero_grad()
        for p, (a, b) in zip(ours, terms):
            p.grad = gradient(p.data, a, b)
        for p, (a, b) in zip(theirs, terms):
            p.grad = torch.from_numpy(gradient(p.detach().numpy(), a, b))
        our_opt.step()
        their_opt.step()
    return ours, theirs, our_opt, their_opt


def assert_same_trajectory(ours, theirs, our_opt, their_opt, rtol=RTOL, atol=ATOL):
    for i, (p, q) in enumerate(zip(ours, theirs)):
        assert p.data.dtype == q.detach().numpy().dtype
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=rtol, atol=atol, err_msg=f"param {i}")
    # The state too: same keys, same buffers, same step count.
    their_state = their_opt.state_dict()["state"]
    our_state = our_opt.state_dict()["state"]
    assert sorted(our_state) == sorted(their_state)
    for index, entries in their_state.items():
        assert set(our_state[index]) == set(entries)
        for key, value in entries.items():
            expected = value.numpy()
            if key == "step":
                assert our_state[index][key] == float(expected)
            else:
                np.testing.assert_allclose(our_state[index][key], expected, rtol=rtol, atol=atol,
                                           err_msg=f"state[{index}][{key!r}]")


def sgd_cases():
    cases = []
    for momentum, dampening, nesterov, weight_decay, maximize in itertools.product(
        (0.0, 0.9), (0.0, 0.3), (False, True), (0.0, 0.05), (False, True)
    ):
        if nesterov and (momentum == 0 or dampening != 0):
            continue  # torch and chainrule both refuse these (tested in tests/optim)
        cases.append(dict(lr=0.03, momentum=momentum, dampening=dampening, nesterov=nesterov,
                          weight_decay=weight_decay, maximize=maximize))
    return cases


def case_id(options):
    return ",".join(f"{k}={v}" for k, v in options.items() if k != "lr")


@pytest.mark.parametrize("options", sgd_cases(), ids=case_id)
def test_sgd_trajectory_matches_torch(options):
    assert_same_trajectory(*run_both(optim.SGD, torch.optim.SGD, options))


ADAM_CASES = [
    dict(lr=0.02, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize)
    for betas, eps in (((0.9, 0.999), 1e-8), ((0.3, 0.9), 1e-3))  # β1 = 0.3: torch's other lerp branch
    for weight_decay in (0.0, 0.1)
    for amsgrad in (False, True)
    for maximize in (False, True)
]


@pytest.mark.parametrize("options", ADAM_CASES, ids=case_id)
@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_adam_trajectory_matches_torch(name, options):
    assert_same_trajectory(*run_both(getattr(optim, name), getattr(torch.optim, name), options))


@pytest.mark.parametrize(
    "ours_cls, theirs_cls, options, groups",
    [
        (optim.SGD, torch.optim.SGD, dict(lr=0.03, momentum=0.9),
         (dict(lr=0.1, nesterov=True), dict(momentum=0.5, dampening=0.2, weight_decay=0.01))),
        (optim.Adam, torch.optim.Adam, dict(lr=0.01),
         (dict(lr=0.05, amsgrad=True), dict(betas=(0.8, 0.99), weight_decay=0.1))),
        (optim.AdamW, torch.optim.AdamW, dict(lr=0.01),
         (dict(weight_decay=0.0), dict(lr=0.002, maximize=True))),
    ],
    ids=["SGD", "Adam", "AdamW"],
)
def test_two_param_groups_match_torch(ours_cls, theirs_cls, options, groups):
    ours, theirs, our_opt, their_opt = run_both(ours_cls, theirs_cls, options, group_options=groups)
    assert_same_trajectory(ours, theirs, our_opt, their_opt)
    # The packed param groups carry the same hyper-parameters as torch's.
    for our_group, their_group in zip(our_opt.state_dict()["param_groups"], their_opt.state_dict()["param_groups"]):
        assert our_group["params"] == their_group["params"]
        for key, value in our_group.items():
            assert their_group[key] == value, key


@pytest.mark.parametrize(
    "ours_cls, theirs_cls, options",
    [
        (optim.SGD, torch.optim.SGD, dict(lr=0.03, momentum=0.9, nesterov=True, weight_decay=0.01)),
        (optim.Adam, torch.optim.Adam, dict(lr=0.02, amsgrad=True, weight_decay=0.1)),
        (optim.AdamW, torch.optim.AdamW, dict(lr=0.02)),
    ],
    ids=["SGD", "Adam", "AdamW"],
)
def test_float32_trajectory_matches_torch_in_float32(ours_cls, theirs_cls, options):
    ours, theirs, our_opt, their_opt = run_both(ours_cls, theirs_cls, options, dtype=np.float32)
    for p in ours:
        assert p.data.dtype == np.float32
    assert_same_trajectory(ours, theirs, our_opt, their_opt, rtol=2e-5, atol=1e-6)


def test_repr_matches_torch_apart_from_torch_only_options():
    p = nn.Parameter(np.zeros(2))
    q = torch.nn.Parameter(torch.zeros(2))
    torch_only = ("differentiable", "foreach", "fused", "capturable", "decoupled_weight_decay")
    for ours, theirs in [(optim.SGD([p], lr=0.1, momentum=0.9), torch.optim.SGD([q], lr=0.1, momentum=0.9)),
                         (optim.Adam([p]), torch.optim.Adam([q])), (optim.AdamW([p]), torch.optim.AdamW([q]))]:
        their_lines = [line for line in repr(theirs).splitlines() if line.strip().split(":")[0] not in torch_only]
        assert repr(ours).splitlines() == their_lines


# -- schedulers -------------------------------------------------------------------------------

T_MAX = 7


def scheduler_pair(name, kwargs, lrs=(0.1, 0.03)):
    ours = [nn.Parameter(np.zeros(2)), nn.Parameter(np.zeros(3))]
    theirs = [torch.nn.Parameter(torch.zeros(2, dtype=torch.float64)),
              torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))]
    our_opt = optim.SGD([{"params": [ours[0]], "lr": lrs[0]}, {"params": [ours[1]], "lr": lrs[1]}])
    their_opt = torch.optim.SGD([{"params": [theirs[0]], "lr": lrs[0]}, {"params": [theirs[1]], "lr": lrs[1]}])
    our_sched = getattr(lr_scheduler, name)(our_opt, **kwargs)
    their_sched = getattr(torch.optim.lr_scheduler, name)(their_opt, **kwargs)
    return our_opt, their_opt, our_sched, their_sched


def assert_same_lrs(our_opt, their_opt, our_sched, their_sched, where):
    ours, theirs = our_sched.get_last_lr(), their_sched.get_last_lr()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15, err_msg=where)
    np.testing.assert_allclose([g["lr"] for g in our_opt.param_groups],
                               [g["lr"] for g in their_opt.param_groups], rtol=1e-12, atol=1e-15, err_msg=where)
    assert [g["initial_lr"] for g in our_opt.param_groups] == [g["initial_lr"] for g in their_opt.param_groups]
    assert our_sched.last_epoch == their_sched.last_epoch


SCHEDULERS = [
    ("StepLR", dict(step_size=3)),
    ("StepLR", dict(step_size=2, gamma=0.5)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=T_MAX)),
    ("CosineAnnealingLR", dict(T_max=T_MAX, eta_min=0.01)),
    ("CosineAnnealingLR", dict(T_max=1, eta_min=0.001)),
]


@pytest.mark.parametrize("name, kwargs", SCHEDULERS, ids=lambda v: str(v))
def test_scheduler_values_match_torch_for_three_periods(name, kwargs):
    our_opt, their_opt, our_sched, their_sched = scheduler_pair(name, kwargs)
    assert_same_lrs(our_opt, their_opt, our_sched, their_sched, "after construction")
    for epoch in range(3 * kwargs.get("T_max", T_MAX)):
        our_opt.step()
        their_opt.step()  # before the scheduler's step, as torch expects (else it warns)
        our_sched.step()
        their_sched.step()
        assert_same_lrs(our_opt, their_opt, our_sched, their_sched, f"epoch {epoch + 1}")


def test_cosine_is_torch_bit_for_bit_beyond_t_max():
    our_opt, their_opt, our_sched, their_sched = scheduler_pair("CosineAnnealingLR", dict(T_max=5, eta_min=1e-3))
    for _ in range(40):
        their_opt.step()
        our_sched.step()
        their_sched.step()
        assert our_sched.get_last_lr() == their_sched.get_last_lr()


@pytest.mark.parametrize("name, kwargs", SCHEDULERS, ids=lambda v: str(v))
def test_resuming_with_last_epoch_matches_torch(name, kwargs):
    """A scheduler built with last_epoch=k (after initial_lr was recorded) behaves as torch's."""
    our_opt, their_opt, _, _ = scheduler_pair(name, kwargs)
    for opt in (our_opt, their_opt):
        for group in opt.param_groups:
            group["lr"] *= 0.5  # as if loaded from a checkpoint mid-schedule
    our_sched = getattr(lr_scheduler, name)(our_opt, last_epoch=4, **kwargs)
    their_sched = getattr(torch.optim.lr_scheduler, name)(their_opt, last_epoch=4, **kwargs)
    assert_same_lrs(our_opt, their_opt, our_sched, their_sched, "after construction")
    for epoch in range(10):
        their_opt.step()
        our_sched.step()
        their_sched.step()
        assert_same_lrs(our_opt, their_opt, our_sched, their_sched, f"epoch {epoch + 1}")


def test_scheduled_sgd_momentum_trajectory_matches_torch():
    """lr changes between steps: the momentum convention (lr outside the buffer) shows."""
    starts, terms = problem()
    ours, theirs = make_pair(starts)
    our_opt = optim.SGD(ours, lr=0.05, momentum=0.9)
    their_opt = torch.optim.SGD(theirs, lr=0.05, momentum=0.9, foreach=False)
    our_sched = lr_scheduler.CosineAnnealingLR(our_opt, T_max=10)
    their_sched = torch.optim.lr_scheduler.CosineAnnealingLR(their_opt, T_max=10)
    for _ in range(STEPS):
        our_opt.zero_grad()
        for p, (a, b) in zip(ours, terms):
            p.grad = gradient(p.data, a, b)
        for p, (a, b) in zip(theirs, terms):
            p.grad = torch.from_numpy(gradient(p.detach().numpy(), a, b))
        our_opt.step()
        their_opt.step()
        our_sched.step()
        their_sched.step()
    assert_same_trajectory(ours, theirs, our_opt, their_opt)
    assert math.isclose(our_opt.param_groups[0]["lr"], their_opt.param_groups[0]["lr"], rel_tol=1e-12)
