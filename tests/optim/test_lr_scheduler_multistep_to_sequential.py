"""MultiStepLR, LambdaLR, LinearLR, ConstantLR, PolynomialLR, OneCycleLR, ReduceLROnPlateau and
SequentialLR: values by hand and against their closed forms, state_dict round trips through
save/load that continue identically, and every bad argument named."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.optim import lr_scheduler as ls


def make_opt(lr=1.0, second_lr=None, name="SGD", **options):
    groups = [{"params": [nn.Parameter(np.zeros(2))], "lr": lr}]
    if second_lr is not None:
        groups.append({"params": [nn.Parameter(np.zeros(3))], "lr": second_lr})
    return getattr(optim, name)(groups, **options)


def schedule(scheduler, epochs, metric=None):
    """The lr of the first group at epochs 0..epochs (one scheduler.step() per epoch)."""
    values = [scheduler.get_last_lr()[0]]
    for epoch in range(epochs):
        scheduler.optimizer.step()
        scheduler.step() if metric is None else scheduler.step(metric(epoch))
        values.append(scheduler.get_last_lr()[0])
    return np.array(values)


# -- values by hand ------------------------------------------------------------------------------

def test_multistep_by_hand():
    # milestones 2 and 5 (twice): ×0.5 at epoch 2, ×0.25 at epoch 5
    values = schedule(ls.MultiStepLR(make_opt(), milestones=[5, 2, 5], gamma=0.5), 7)
    np.testing.assert_array_equal(values, [1, 1, 0.5, 0.5, 0.5, 0.125, 0.125, 0.125])


def test_lambda_by_hand_and_per_group():
    sched = ls.LambdaLR(make_opt(1.0, 0.1), lr_lambda=[lambda e: 1 / (e + 1), lambda e: 2.0 ** e])
    for _ in range(3):
        sched.optimizer.step()
        sched.step()
    assert sched.get_last_lr() == [0.25, 0.8]  # base × λ(3)


def test_linear_by_hand_and_closed_form():
    values = schedule(ls.LinearLR(make_opt(), start_factor=0.25, end_factor=1.0, total_iters=3), 5)
    np.testing.assert_allclose(values, [0.25, 0.5, 0.75, 1.0, 1.0, 1.0], rtol=1e-15)
    values = schedule(ls.LinearLR(make_opt(0.1), start_factor=0.9, end_factor=0.05, total_iters=40), 60)
    t = np.minimum(np.arange(61), 40)
    np.testing.assert_allclose(values, 0.1 * (0.9 + (0.05 - 0.9) * t / 40), rtol=1e-12)


def test_constant_by_hand():
    values = schedule(ls.ConstantLR(make_opt(0.3), factor=0.5, total_iters=2), 4)
    np.testing.assert_allclose(values, [0.15, 0.15, 0.3, 0.3, 0.3], rtol=1e-15)


@pytest.mark.parametrize("power", [1.0, 2.0, 0.5])
def test_polynomial_follows_the_closed_form(power):
    values = schedule(ls.PolynomialLR(make_opt(0.1), total_iters=20, power=power), 30)
    t = np.minimum(np.arange(31), 20)
    np.testing.assert_allclose(values, 0.1 * (1 - t / 20) ** power, rtol=1e-12, atol=1e-16)


def test_one_cycle_by_hand():
    # total 10, pct 0.3: warm-up ends at step 2 (0.3·10 - 1), annealing at step 9; linear
    opt = make_opt(name="SGD", momentum=0.9)
    sched = ls.OneCycleLR(opt, max_lr=1.0, total_steps=10, anneal_strategy="linear", div_factor=4.0,
                          final_div_factor=25.0, base_momentum=0.8, max_momentum=0.9)
    group = opt.param_groups[0]
    assert (group["initial_lr"], group["max_lr"], group["min_lr"]) == (0.25, 1.0, 0.01)
    values = schedule(sched, 9)
    np.testing.assert_allclose(values[:3], [0.25, 0.625, 1.0], rtol=1e-15)  # 0.25 → 1 over steps 0..2
    np.testing.assert_allclose(values[2:], 1.0 + (0.01 - 1.0) * np.arange(8) / 7, rtol=1e-14)  # 1 → 0.01 over 2..9
    assert group["momentum"] == pytest.approx(0.9)  # back at max_momentum at the end


def test_one_cycle_cos_peaks_at_max_lr_and_ends_at_min_lr():
    opt = make_opt(name="Adam")
    sched = ls.OneCycleLR(opt, max_lr=0.4, total_steps=100)
    values = schedule(sched, 99)
    assert values.argmax() == 29 and values.max() == pytest.approx(0.4)
    assert values[-1] == pytest.approx(0.4 / 25 / 1e4)
    assert opt.param_groups[0]["betas"][0] == pytest.approx(0.95) and opt.param_groups[0]["betas"][1] == 0.999


def test_plateau_by_hand():
    opt = make_opt(1.0)
    sched = ls.ReduceLROnPlateau(opt, patience=1, factor=0.5, cooldown=1, threshold=0.0)
    metrics = [5, 4, 4, 4, 4, 4, 3, 3, 3]
    # epoch 1: best 5; 2: best 4; 3: 1 bad; 4: 2 bad > 1 → ×0.5, cooldown 1; 5: in cooldown
    # (bad epochs ignored); 6: 1 bad; 7: 3 is better; 8: 1 bad; 9: 2 bad → ×0.5
    lrs = []
    for m in metrics:
        sched.step(m)
        lrs.append(sched.get_last_lr()[0])
    assert lrs == [1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.25]


def test_plateau_respects_min_lr_and_eps():
    opt = make_opt(1.0, 1.0)
    sched = ls.ReduceLROnPlateau(opt, patience=0, min_lr=[0.3, 0.0], eps=0.2)
    for _ in range(3):
        sched.step(1.0)
    # group 0: 1 → max(0.1, 0.3) = 0.3, then 0.3 - 0.3 = 0 < eps: kept; group 1: 1 → 0.1, then
    # 0.1 - 0.01 < eps: kept
    assert sched.get_last_lr() == [0.3, 0.1]


def test_sequential_warm_up_then_step():
    opt = make_opt(1.0)
    sched = ls.SequentialLR(opt, [ls.LinearLR(opt, start_factor=0.5, total_iters=2),
                                  ls.StepLR(opt, step_size=2, gamma=0.1)], milestones=[3])
    values = schedule(sched, 6)
    # LinearLR: 0.5, 0.75, 1.0; StepLR restarts at its epoch 0 at epoch 3: 1, 1, 0.1, 0.1
    np.testing.assert_allclose(values, [0.5, 0.75, 1.0, 1.0, 1.0, 0.1, 0.1], rtol=1e-15)


# -- state_dict ----------------------------------------------------------------------------------

class Warmup:
    """A callable object: its __dict__ is state (saved), unlike a plain function."""

    def __init__(self, epochs):
        self.epochs = epochs

    def __call__(self, epoch):
        return min(1.0, (epoch + 1) / self.epochs)


SCHEDULERS = {
    "MultiStepLR": (lambda opt: ls.MultiStepLR(opt, milestones=[3, 8, 8], gamma=0.5), None),
    "LambdaLR": (lambda opt: ls.LambdaLR(opt, [Warmup(10), lambda e: 0.9 ** e]), None),
    "LinearLR": (lambda opt: ls.LinearLR(opt, start_factor=0.1, total_iters=12), None),
    "ConstantLR": (lambda opt: ls.ConstantLR(opt, factor=0.2, total_iters=9), None),
    "PolynomialLR": (lambda opt: ls.PolynomialLR(opt, total_iters=15, power=2.0), None),
    "OneCycleLR": (lambda opt: ls.OneCycleLR(opt, max_lr=[0.5, 0.1], total_steps=20, three_phase=True), None),
    "ReduceLROnPlateau": (lambda opt: ls.ReduceLROnPlateau(opt, patience=1, cooldown=1, min_lr=[0.0, 1e-3]),
                          lambda epoch: 1.0 / (1 + min(epoch, 4))),
    "SequentialLR": (lambda opt: ls.SequentialLR(opt, [ls.ConstantLR(opt, factor=0.5, total_iters=2),
                                                       ls.MultiStepLR(opt, milestones=[2, 4]),
                                                       ls.CosineAnnealingLR(opt, T_max=5)], milestones=[4, 9]), None),
}


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_state_dict_round_trip_through_save_load_continues_identically(name, tmp_path):
    make, metric = SCHEDULERS[name]
    opt = make_opt(0.1, 0.02, momentum=0.9)
    sched = make(opt)
    schedule(sched, 6, metric)
    cr.save({"optim": opt.state_dict(), "sched": sched.state_dict()}, tmp_path / "ckpt.npz")
    later = schedule(sched, 12, None if metric is None else lambda e: metric(e + 6))

    checkpoint = cr.load(tmp_path / "ckpt.npz")
    new_opt = make_opt(0.5, 0.5, momentum=0.5)
    new_sched = make(new_opt)
    new_opt.load_state_dict(checkpoint["optim"])
    new_sched.load_state_dict(checkpoint["sched"])
    resumed = schedule(new_sched, 12, None if metric is None else lambda e: metric(e + 6))
    np.testing.assert_array_equal(resumed, later)
    assert new_sched.state_dict().keys() == sched.state_dict().keys()
    assert [g["lr"] for g in new_opt.param_groups] == [g["lr"] for g in opt.param_groups]


def test_lambda_state_dict_keeps_functions_out_and_object_state_in():
    opt = make_opt(1.0, 1.0)
    warmup = Warmup(10)
    sched = ls.LambdaLR(opt, [warmup, lambda e: 1.0])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"epochs": 10}, None]
    warmup.epochs = 3
    sched.load_state_dict(state)
    assert warmup.epochs == 10


def test_multistep_milestones_come_back_as_a_counter(tmp_path):
    sched = ls.MultiStepLR(make_opt(), milestones=[2, 2, 5])
    cr.save(sched.state_dict(), tmp_path / "s.npz")
    other = ls.MultiStepLR(make_opt(), milestones=[1])
    other.load_state_dict(cr.load(tmp_path / "s.npz"))
    assert other.milestones == {2: 2, 5: 1} and type(other.milestones).__name__ == "Counter"


def test_plateau_best_of_inf_round_trips(tmp_path):
    sched = ls.ReduceLROnPlateau(make_opt())
    cr.save(sched.state_dict(), tmp_path / "s.npz")
    assert cr.load(tmp_path / "s.npz")["best"] == math.inf


@pytest.mark.parametrize("make, state, error, message", [
    (lambda: ls.LinearLR(make_opt()), {"total_iters": 0}, ValueError, r"LinearLR\.load_state_dict 'total_iters' must be a positive int, got 0"),
    (lambda: ls.MultiStepLR(make_opt(), [1]), {"milestones": {"a": 1}}, TypeError, r"'milestones' must be ints"),
    (lambda: ls.LambdaLR(make_opt(), lambda e: 1.0), {"lr_lambdas": [None, None]}, TypeError, r"'lr_lambdas' must be a list of 1 entries"),
    (lambda: ls.ReduceLROnPlateau(make_opt()), {"mode": "up"}, ValueError, r"'mode' must be 'min' or 'max'"),
    (lambda: ls.ReduceLROnPlateau(make_opt()), {"patience": -1}, ValueError, r"'patience' must be an int >= 0, got -1"),
    (lambda: ls.ReduceLROnPlateau(make_opt()), {"speed": 1}, ValueError, r"unexpected keys \['speed'\]"),
], ids=["LinearLR", "MultiStepLR", "LambdaLR", "plateau mode", "plateau patience", "unknown key"])
def test_load_state_dict_checks_values_and_changes_nothing(make, state, error, message):
    sched = make()
    before = sched.state_dict()
    with pytest.raises(error, match=message):
        sched.load_state_dict(state)
    after = sched.state_dict()
    assert after.keys() == before.keys() and all(np.all(after[k] == before[k]) for k in before if k != "lr_lambdas")


def test_sequential_load_state_dict_changes_nothing_on_a_bad_inner_state():
    opt = make_opt()
    first, second = ls.LinearLR(opt, total_iters=3), ls.LinearLR(opt, total_iters=4)
    sched = ls.SequentialLR(opt, [first, second], milestones=[3])
    state = sched.state_dict()
    state["_schedulers"][1]["total_iters"] = -2
    state["_schedulers"][0]["total_iters"] = 7
    with pytest.raises(ValueError, match=r"total_iters' must be a positive int, got -2"):
        sched.load_state_dict(state)
    assert first.total_iters == 3 and second.total_iters == 4


# -- validation ----------------------------------------------------------------------------------

@pytest.mark.parametrize("build, error, message", [
    (lambda o: ls.MultiStepLR(o, milestones=[1.5]), TypeError, r"MultiStepLR milestones must be ints, got 1\.5"),
    (lambda o: ls.MultiStepLR(o, milestones=3), TypeError, r"MultiStepLR milestones must be an iterable of ints, got 3"),
    (lambda o: ls.MultiStepLR(o, [2], gamma=-1), ValueError, r"MultiStepLR gamma must be >= 0, got -1"),
    (lambda o: ls.LambdaLR(o, lr_lambda=0.5), TypeError, r"LambdaLR lr_lambda must be a function of the epoch, got 0\.5"),
    (lambda o: ls.LambdaLR(o, lr_lambda=[abs, abs, abs]), ValueError,
     r"LambdaLR lr_lambda must have one value per param group \(2\), got 3"),
    (lambda o: ls.LambdaLR("opt", abs), TypeError, r"LambdaLR expected a chainrule\.optim\.Optimizer, got str"),
    (lambda o: ls.LinearLR(o, start_factor=0.0), ValueError, r"LinearLR start_factor must be in \(0, 1\], got 0\.0"),
    (lambda o: ls.LinearLR(o, end_factor=1.5), ValueError, r"LinearLR end_factor must be in \[0, 1\], got 1\.5"),
    (lambda o: ls.LinearLR(o, total_iters=0), ValueError, r"LinearLR total_iters must be a positive int, got 0"),
    (lambda o: ls.ConstantLR(o, factor=1.5), ValueError, r"ConstantLR factor must be in \(0, 1\], got 1\.5"),
    (lambda o: ls.ConstantLR(o, factor=0), ValueError, r"ConstantLR factor must be in \(0, 1\], got 0"),
    (lambda o: ls.ConstantLR(o, total_iters=-1), ValueError, r"ConstantLR total_iters must be an int >= 0, got -1"),
    (lambda o: ls.PolynomialLR(o, power=-1.0), ValueError, r"PolynomialLR power must be in \[0, inf\], got -1\.0"),
    (lambda o: ls.PolynomialLR(o, total_iters=2.5), ValueError, r"PolynomialLR total_iters must be a positive int"),
    (lambda o: ls.OneCycleLR(o, max_lr=1.0), ValueError, r"OneCycleLR needs total_steps, or both epochs and steps_per_epoch"),
    (lambda o: ls.OneCycleLR(o, max_lr=1.0, total_steps=0), ValueError, r"OneCycleLR total_steps must be a positive int, got 0"),
    (lambda o: ls.OneCycleLR(o, max_lr=1.0, epochs=2, steps_per_epoch=-1), ValueError,
     r"OneCycleLR steps_per_epoch must be a positive int, got -1"),
    (lambda o: ls.OneCycleLR(o, max_lr=1.0, total_steps=10, pct_start=1.2), ValueError,
     r"OneCycleLR pct_start must be in \[0, 1\], got 1\.2"),
    (lambda o: ls.OneCycleLR(o, max_lr=1.0, total_steps=10, anneal_strategy="exp"), ValueError,
     r"OneCycleLR anneal_strategy must be 'cos' or 'linear', got 'exp'"),
    (lambda o: ls.OneCycleLR(o, max_lr=[1.0], total_steps=10), ValueError,
     r"OneCycleLR max_lr must have one value per param group \(2\), got 1"),
    (lambda o: ls.OneCycleLR(o, max_lr=1.0, total_steps=10, div_factor=0), ValueError,
     r"OneCycleLR div_factor must be in \(0, inf\], got 0"),
    (lambda o: ls.OneCycleLR(o, max_lr=1.0, total_steps=10, pct_start=0.1), ValueError,
     r"OneCycleLR phase 0 has length zero .* total_steps=10: choose another pct_start"),
    (lambda o: ls.ReduceLROnPlateau(o, mode="up"), ValueError, r"ReduceLROnPlateau mode must be 'min' or 'max', got 'up'"),
    (lambda o: ls.ReduceLROnPlateau(o, threshold_mode="pct"), ValueError,
     r"ReduceLROnPlateau threshold_mode must be 'rel' or 'abs', got 'pct'"),
    (lambda o: ls.ReduceLROnPlateau(o, factor=1.0), ValueError, r"ReduceLROnPlateau factor must be in \[0, 1\), got 1\.0"),
    (lambda o: ls.ReduceLROnPlateau(o, patience=-1), ValueError, r"ReduceLROnPlateau patience must be an int >= 0, got -1"),
    (lambda o: ls.ReduceLROnPlateau(o, min_lr=[0.1]), ValueError,
     r"ReduceLROnPlateau min_lr must have one value per param group \(2\), got 1"),
    (lambda o: ls.ReduceLROnPlateau(o, min_lr=-0.1), ValueError, r"ReduceLROnPlateau min_lr must be in \[0, inf\], got -0\.1"),
    (lambda o: ls.SequentialLR(o, [], milestones=[]), ValueError, r"SequentialLR expects a non-empty list of schedulers"),
    (lambda o: ls.SequentialLR(o, [ls.StepLR(o, 2), ls.StepLR(o, 3)], milestones=[]), ValueError,
     r"SequentialLR needs one milestone fewer than schedulers, got 2 schedulers and 0 milestones"),
    (lambda o: ls.SequentialLR(o, [ls.StepLR(o, 2), ls.StepLR(o, 3), ls.StepLR(o, 4)], milestones=[5, 2]), ValueError,
     r"SequentialLR milestones must be increasing ints >= 0, got \[5, 2\]"),
    (lambda o: ls.SequentialLR(o, [ls.ReduceLROnPlateau(o)], milestones=[]), ValueError,
     r"SequentialLR schedulers\[0\] is a ReduceLROnPlateau"),
    (lambda o: ls.SequentialLR(o, [ls.StepLR(make_opt(), 2)], milestones=[]), ValueError,
     r"SequentialLR schedulers\[0\] \(StepLR\) wraps another optimizer"),
    (lambda o: ls.SequentialLR(o, ["StepLR"], milestones=[]), TypeError,
     r"SequentialLR schedulers\[0\] must be a learning-rate scheduler, got str"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_bad_arguments_are_named(build, error, message):
    with pytest.raises(error, match=message):
        build(make_opt(1.0, 0.5))


def test_one_cycle_needs_momentum_or_betas_to_cycle():
    with pytest.raises(ValueError, match=r"OneCycleLR cycle_momentum=True needs an optimizer with momentum or betas, got Adagrad"):
        ls.OneCycleLR(make_opt(name="Adagrad"), max_lr=1.0, total_steps=10)
    ls.OneCycleLR(make_opt(name="Adagrad"), max_lr=1.0, total_steps=10, cycle_momentum=False)


def test_plateau_metric_must_be_a_number():
    sched = ls.ReduceLROnPlateau(make_opt())
    with pytest.raises(TypeError, match=r"ReduceLROnPlateau\.step expected the metric as a real number, got 'low'"):
        sched.step("low")
    sched.step(np.float32(0.5))  # a NumPy scalar or a 0-d array is fine
    sched.step(np.array(0.4))
    assert sched.best == pytest.approx(0.4)


def test_plateau_with_a_group_added_later():
    opt = make_opt()
    sched = ls.ReduceLROnPlateau(opt, patience=0, min_lr=0.01)
    opt.add_param_group({"params": [nn.Parameter(np.zeros(1))], "lr": 1.0})
    sched.step(1.0)
    sched.step(1.0)
    assert sched.get_last_lr() == [0.1, 0.1]
    listed = ls.ReduceLROnPlateau(opt, patience=0, min_lr=[0.01, 0.01])
    opt.add_param_group({"params": [nn.Parameter(np.zeros(1))], "lr": 1.0})
    listed.step(1.0)
    with pytest.raises(RuntimeError, match=r"ReduceLROnPlateau has 2 min_lrs, but the optimizer now has 3 param groups"):
        listed.step(1.0)
