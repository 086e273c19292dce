"""LR schedulers: values by hand and from the closed forms, initial_lr, state_dict, validation."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.optim.lr_scheduler import CosineAnnealingLR, ExponentialLR, LRScheduler, StepLR


def make_opt(lr=0.1, second_lr=None):
    groups = [{"params": [nn.Parameter(np.zeros(2))], "lr": lr}]
    if second_lr is not None:
        groups.append({"params": [nn.Parameter(np.zeros(3))], "lr": second_lr})
    return optim.SGD(groups, momentum=0.9)


def schedule(scheduler, epochs):
    """The lr of each group at epochs 0..epochs (one scheduler.step() per epoch)."""
    values = [scheduler.get_last_lr()]
    for _ in range(epochs):
        scheduler.optimizer.step()
        scheduler.step()
        values.append(scheduler.get_last_lr())
    return np.array(values)


def test_construction_records_initial_lr_and_keeps_lr():
    opt = make_opt(0.1, 0.02)
    sched = StepLR(opt, step_size=2)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.02]
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.02]
    assert sched.base_lrs == [0.1, 0.02] and sched.last_epoch == 0
    assert sched.get_last_lr() == [0.1, 0.02]
    assert isinstance(sched, LRScheduler)


def test_step_lr_by_hand():
    # step_size 2, gamma 0.5: epochs 0,1 -> 1; 2,3 -> 0.5; 4,5 -> 0.25; 6 -> 0.125
    values = schedule(StepLR(make_opt(1.0), step_size=2, gamma=0.5), 6)[:, 0]
    np.testing.assert_array_equal(values, [1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.125])


def test_exponential_lr_by_hand_and_closed_form():
    values = schedule(ExponentialLR(make_opt(1.0, 0.5), gamma=0.5), 4)
    np.testing.assert_array_equal(values[:, 0], [1.0, 0.5, 0.25, 0.125, 0.0625])
    np.testing.assert_array_equal(values[:, 1], [0.5, 0.25, 0.125, 0.0625, 0.03125])
    values = schedule(ExponentialLR(make_opt(0.1), gamma=0.9), 30)[:, 0]
    np.testing.assert_allclose(values, 0.1 * 0.9 ** np.arange(31), rtol=1e-13)


@pytest.mark.parametrize("t_max, eta_min", [(10, 0.0), (7, 0.001), (1, 0.01), (4, 0.05)])
def test_cosine_follows_the_closed_form_for_three_periods(t_max, eta_min):
    base = 0.1
    values = schedule(CosineAnnealingLR(make_opt(base), T_max=t_max, eta_min=eta_min), 3 * t_max)[:, 0]
    t = np.arange(3 * t_max + 1)
    closed = eta_min + (base - eta_min) * (1 + np.cos(np.pi * t / t_max)) / 2
    np.testing.assert_allclose(values, closed, rtol=1e-12, atol=1e-15)
    # the shape: at eta_min after T_max, back at the start after 2 T_max
    assert math.isclose(values[t_max], eta_min, abs_tol=1e-15)
    assert math.isclose(values[2 * t_max], base, rel_tol=1e-12)


def test_cosine_halfway_by_hand():
    values = schedule(CosineAnnealingLR(make_opt(1.0), T_max=4), 4)[:, 0]
    # (1 + cos(tπ/4))/2 for t = 0..4: 1, (1 + √2/2)/2, 1/2, (1 - √2/2)/2, 0
    r = math.sqrt(2) / 2
    np.testing.assert_allclose(values, [1.0, (1 + r) / 2, 0.5, (1 - r) / 2, 0.0], atol=1e-15)


def test_scheduler_drives_the_optimiser_step():
    p = nn.Parameter(np.zeros(1))
    opt = optim.SGD([p], lr=1.0)
    sched = StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):  # steps of 1, 0.5, 0.25 with a gradient of -1
        p.grad = np.array([-1.0])
        opt.step()
        sched.step()
    np.testing.assert_array_equal(p.data, [1.75])


def test_step_lr_keeps_an_lr_changed_from_outside():
    opt = make_opt(1.0)
    sched = StepLR(opt, step_size=2, gamma=0.5)
    sched.step()
    opt.param_groups[0]["lr"] = 0.3
    sched.step()  # epoch 2: decays the current lr
    assert sched.get_last_lr() == [0.15]


def test_get_last_lr_is_a_copy():
    sched = ExponentialLR(make_opt(0.1), gamma=0.5)
    sched.get_last_lr().append(7.0)
    sched.get_last_lr()[0] = 3.0
    assert sched.get_last_lr() == [0.1]


@pytest.mark.parametrize(
    "make",
    [lambda o: StepLR(o, step_size=3, gamma=0.3), lambda o: ExponentialLR(o, gamma=0.8),
     lambda o: CosineAnnealingLR(o, T_max=5, eta_min=0.01)],
    ids=["StepLR", "ExponentialLR", "CosineAnnealingLR"],
)
def test_state_dict_round_trip_through_save_load(make, tmp_path):
    opt = make_opt(0.1, 0.05)
    sched = make(opt)
    schedule(sched, 4)
    cr.save({"optim": opt.state_dict(), "sched": sched.state_dict()}, tmp_path / "ckpt.npz")
    expected = schedule(sched, 8)

    checkpoint = cr.load(tmp_path / "ckpt.npz")
    new_opt = make_opt(0.1, 0.05)
    new_sched = make(new_opt)  # built before loading, as PyTorch recommends
    new_opt.load_state_dict(checkpoint["optim"])
    new_sched.load_state_dict(checkpoint["sched"])
    assert new_sched.last_epoch == 4
    np.testing.assert_array_equal(schedule(new_sched, 8), expected)


def test_resuming_with_last_epoch_needs_initial_lr():
    with pytest.raises(ValueError, match=r"StepLR was given last_epoch=3 \(resuming\), but param_groups\[0\] has no 'initial_lr'"):
        StepLR(make_opt(), step_size=2, last_epoch=3)
    opt = make_opt(0.1)
    opt.param_groups[0]["initial_lr"] = 0.2
    sched = ExponentialLR(opt, gamma=0.5, last_epoch=3)
    # the constructor steps once, to epoch 4, and (for ExponentialLR) keeps the current lr
    assert sched.last_epoch == 4 and sched.get_last_lr() == [0.1] and sched.base_lrs == [0.2]


def test_cosine_built_with_last_epoch_keeps_the_current_lr_as_pytorch():
    """PyTorch's rule (checked against torch in tests/vs_torch): the constructor's step moves
    to last_epoch + 1 without changing the lr; later steps apply the recursive ratio."""
    opt = make_opt(0.1)
    schedule(CosineAnnealingLR(opt, T_max=10), 3)
    lr3 = opt.param_groups[0]["lr"]
    resumed = CosineAnnealingLR(opt, T_max=10, last_epoch=3)
    assert resumed.last_epoch == 4 and resumed.get_last_lr() == [lr3]
    resumed.step()
    ratio = (1 + math.cos(math.pi * 5 / 10)) / (1 + math.cos(math.pi * 4 / 10))
    assert resumed.get_last_lr() == [ratio * lr3]


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda o: StepLR(o, step_size=0), ValueError, "StepLR step_size must be a positive int, got 0"),
        (lambda o: StepLR(o, step_size=2.5), ValueError, "StepLR step_size must be a positive int, got 2.5"),
        (lambda o: StepLR(o, step_size=2, gamma=-0.1), ValueError, "StepLR gamma must be >= 0, got -0.1"),
        (lambda o: ExponentialLR(o, gamma="0.9"), TypeError, "ExponentialLR gamma must be a real number, got '0.9'"),
        (lambda o: CosineAnnealingLR(o, T_max=0), ValueError, "CosineAnnealingLR T_max must be a positive int, got 0"),
        (lambda o: CosineAnnealingLR(o, T_max=5, eta_min=None), TypeError, "eta_min must be a real number, got None"),
        (lambda o: StepLR(o, step_size=2, last_epoch=-2), ValueError, "StepLR last_epoch must be >= -1, got -2"),
        (lambda o: StepLR(o.param_groups, step_size=2), TypeError, "StepLR expected a chainrule.optim.Optimizer, got list"),
    ],
)
def test_bad_arguments_are_rejected(build, error, message):
    with pytest.raises(error, match=message):
        build(make_opt())


def test_load_state_dict_rejects_unknown_keys():
    sched = StepLR(make_opt(), step_size=2)
    with pytest.raises(ValueError, match=r"StepLR.load_state_dict got unexpected keys \['T_max'\]"):
        sched.load_state_dict({**sched.state_dict(), "T_max": 3})


@pytest.mark.parametrize("key, value, error, match", [
    # a string last_epoch used to be accepted here and to fail only at the next step()
    ("last_epoch", "3", TypeError, r"StepLR.load_state_dict 'last_epoch' must be an int >= -1, got '3'"),
    ("last_epoch", 2.0, TypeError, r"'last_epoch' must be an int >= -1, got 2.0"),
    ("last_epoch", True, TypeError, r"'last_epoch' must be an int >= -1, got True"),
    ("last_epoch", -2, ValueError, r"StepLR.load_state_dict 'last_epoch' must be an int >= -1, got -2"),
    ("_step_count", None, TypeError, r"StepLR.load_state_dict '_step_count' must be an int >= 0, got None"),
    ("base_lrs", 0.1, TypeError,
     r"StepLR.load_state_dict 'base_lrs' must be a list of 2 learning rates >= 0 \(one per param group\), got 0.1"),
    ("base_lrs", [0.1], ValueError, r"'base_lrs' must be a list of 2 learning rates >= 0 .*, got \[0.1\]"),
    ("base_lrs", [0.1, "0.05"], TypeError,
     r"'base_lrs' must be a list of 2 learning rates >= 0 .*, got \[0.1, '0.05'\]"),
    ("_last_lr", [0.1, -0.05], ValueError,
     r"'_last_lr' must be a list of 2 learning rates >= 0 .*, got \[0.1, -0.05\]"),
    ("step_size", 0, ValueError, r"StepLR.load_state_dict 'step_size' must be a positive int, got 0"),
    ("gamma", "0.5", TypeError, r"StepLR.load_state_dict 'gamma' must be a real number, got '0.5'"),
    ("gamma", -0.5, ValueError, r"StepLR.load_state_dict 'gamma' must be >= 0, got -0.5"),
])
def test_load_state_dict_checks_every_value_and_changes_nothing_on_error(key, value, error, match):
    sched = StepLR(make_opt(0.1, 0.05), step_size=2, gamma=0.5)
    schedule(sched, 3)
    before = sched.state_dict()
    good = StepLR(make_opt(0.1, 0.05), step_size=3, gamma=0.1).state_dict()  # all other values differ
    with pytest.raises(error, match=match):
        sched.load_state_dict({**good, key: value})
    assert sched.state_dict() == before  # not even the valid keys were loaded


@pytest.mark.parametrize("make, key, value, error, match", [
    (lambda o: ExponentialLR(o, gamma=0.5), "gamma", None, TypeError,
     r"ExponentialLR.load_state_dict 'gamma' must be a real number, got None"),
    (lambda o: CosineAnnealingLR(o, T_max=4), "T_max", 2.5, ValueError,
     r"CosineAnnealingLR.load_state_dict 'T_max' must be a positive int, got 2.5"),
    (lambda o: CosineAnnealingLR(o, T_max=4), "eta_min", "0", TypeError,
     r"CosineAnnealingLR.load_state_dict 'eta_min' must be a real number, got '0'"),
    (lambda o: CosineAnnealingLR(o, T_max=4), "last_epoch", "1", TypeError,
     r"CosineAnnealingLR.load_state_dict 'last_epoch' must be an int >= -1, got '1'"),
])
def test_load_state_dict_checks_each_schedulers_own_settings(make, key, value, error, match):
    sched = make(make_opt(0.1))
    with pytest.raises(error, match=match):
        sched.load_state_dict({**sched.state_dict(), key: value})


def test_load_state_dict_accepts_numpy_scalars_and_a_partial_dict_as_pytorch():
    sched = StepLR(make_opt(0.1, 0.05), step_size=2, gamma=0.5)
    sched.load_state_dict({"last_epoch": np.int64(3), "base_lrs": np.array([0.2, 0.1]), "gamma": np.float64(0.25)})
    assert sched.last_epoch == 3 and type(sched.last_epoch) is int
    assert sched.base_lrs == [0.2, 0.1] and sched.gamma == 0.25 and sched.step_size == 2
    sched.step()  # epoch 4: a multiple of step_size, so the lr decays by the loaded gamma
    assert sched.get_last_lr() == [0.025, 0.0125]
