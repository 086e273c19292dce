"""MultiStepLR, LambdaLR, LinearLR, ConstantLR, PolynomialLR, OneCycleLR, ReduceLROnPlateau and
SequentialLR against torch.optim.lr_scheduler: the same lr in every group at every epoch,
resuming with last_epoch, and state dicts with torch's keys and values.
"""

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.optim import lr_scheduler

torch = pytest.importorskip("torch", reason="torch is not installed")

EPOCHS = 60


def optimiser_pair(name="SGD", lrs=(0.1, 0.03), **options):
    """Our optimiser and torch's over two param groups with different lrs."""
    ours = [nn.Parameter(np.zeros(2)), nn.Parameter(np.zeros(3))]
    theirs = [torch.nn.Parameter(torch.zeros(2, dtype=torch.float64)),
              torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))]
    return (getattr(optim, name)([{"params": [ours[0]], "lr": lrs[0]}, {"params": [ours[1]], "lr": lrs[1]}], **options),
            getattr(torch.optim, name)([{"params": [theirs[0]], "lr": lrs[0]}, {"params": [theirs[1]], "lr": lrs[1]}],
                                       **options))


def assert_same_groups(our_opt, their_opt, our_sched, their_sched, where):
    np.testing.assert_allclose(our_sched.get_last_lr(), their_sched.get_last_lr(), rtol=1e-12, atol=1e-15, err_msg=where)
    for ours, theirs in zip(our_opt.param_groups, their_opt.param_groups):
        for key in ("lr", "initial_lr", "momentum", "betas", "max_lr", "min_lr"):
            if key in theirs:
                np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-12, atol=1e-15, err_msg=f"{where}: {key}")
    assert our_sched.last_epoch == their_sched.last_epoch, where


def run_schedules(our_opt, their_opt, our_sched, their_sched, epochs=EPOCHS, metric=None):
    assert_same_groups(our_opt, their_opt, our_sched, their_sched, "after construction")
    for epoch in range(epochs):
        our_opt.step()
        their_opt.step()  # before the scheduler's step, as torch expects (else it warns)
        if metric is None:
            our_sched.step()
            their_sched.step()
        else:
            our_sched.step(metric(epoch))
            their_sched.step(metric(epoch))
        assert_same_groups(our_opt, their_opt, our_sched, their_sched, f"epoch {epoch + 1}")


def halve(epoch):
    return 0.5 ** (epoch // 10)


SCHEDULERS = [
    ("MultiStepLR", dict(milestones=[5, 12, 12, 30])),
    ("MultiStepLR", dict(milestones=[40, 3], gamma=0.5)),
    ("LambdaLR", dict(lr_lambda=lambda epoch: 0.95 ** epoch)),
    ("LambdaLR", dict(lr_lambda=[halve, lambda epoch: 1 / (1 + epoch)])),
    ("LinearLR", dict()),
    ("LinearLR", dict(start_factor=0.1, end_factor=1.0, total_iters=25)),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.05, total_iters=40)),
    ("ConstantLR", dict()),
    ("ConstantLR", dict(factor=0.5, total_iters=12)),
    ("PolynomialLR", dict()),
    ("PolynomialLR", dict(total_iters=40, power=2.0)),
    ("PolynomialLR", dict(total_iters=30, power=0.5)),
]


@pytest.mark.parametrize("name, kwargs", SCHEDULERS, ids=lambda v: str(v))
def test_scheduler_values_match_torch(name, kwargs):
    our_opt, their_opt = optimiser_pair()
    run_schedules(our_opt, their_opt, getattr(lr_scheduler, name)(our_opt, **kwargs),
                  getattr(torch.optim.lr_scheduler, name)(their_opt, **kwargs))


@pytest.mark.parametrize("name, kwargs", [case for case in SCHEDULERS if case[0] != "LambdaLR"], ids=lambda v: str(v))
def test_resuming_with_last_epoch_matches_torch(name, kwargs):
    our_opt, their_opt = optimiser_pair()
    for opt in (our_opt, their_opt):
        for group in opt.param_groups:
            group["initial_lr"] = group["lr"]
            group["lr"] *= 0.5  # as if loaded from a checkpoint mid-schedule
    run_schedules(our_opt, their_opt, getattr(lr_scheduler, name)(our_opt, last_epoch=4, **kwargs),
                  getattr(torch.optim.lr_scheduler, name)(their_opt, last_epoch=4, **kwargs), epochs=30)


ONE_CYCLE = [
    dict(max_lr=0.5, total_steps=EPOCHS),
    dict(max_lr=[0.5, 0.2], total_steps=EPOCHS, anneal_strategy="linear"),
    dict(max_lr=0.5, epochs=6, steps_per_epoch=10, three_phase=True),
    dict(max_lr=0.5, total_steps=EPOCHS, three_phase=True, anneal_strategy="linear", pct_start=0.4),
    dict(max_lr=0.3, total_steps=EPOCHS, pct_start=0.1, div_factor=10.0, final_div_factor=100.0,
         base_momentum=[0.8, 0.7], max_momentum=0.9),
    dict(max_lr=0.3, total_steps=EPOCHS, cycle_momentum=False),
]


@pytest.mark.parametrize("kwargs", ONE_CYCLE, ids=str)
@pytest.mark.parametrize("opt_name, options", [("SGD", dict(momentum=0.9)), ("Adam", {}), ("RMSprop", dict(momentum=0.5))],
                         ids=["SGD", "Adam(betas)", "RMSprop"])
def test_one_cycle_matches_torch(opt_name, options, kwargs):
    """The whole cycle, lr and momentum (or beta1) of each group, and the group keys it adds."""
    our_opt, their_opt = optimiser_pair(opt_name, **options)
    our_sched = lr_scheduler.OneCycleLR(our_opt, **kwargs)
    their_sched = torch.optim.lr_scheduler.OneCycleLR(their_opt, **kwargs)
    run_schedules(our_opt, their_opt, our_sched, their_sched)
    torch_only = {"foreach", "differentiable", "capturable", "fused", "decoupled_weight_decay"}
    for ours, theirs in zip(our_opt.param_groups, their_opt.param_groups):
        assert set(ours) - {"params"} == set(theirs) - {"params"} - torch_only
    with pytest.raises(ValueError, match="Tried to step 61 times"):
        their_sched.step()
    with pytest.raises(ValueError, match="OneCycleLR was stepped 61 times, but total_steps is 60"):
        our_sched.step()


def noisy_plateau(epoch):
    """Falls, then wobbles on a plateau, falls again: reductions, cooldowns and recoveries."""
    return (2.0 - 0.1 * epoch if epoch < 8 else 1.2 + 0.01 * np.sin(epoch) if epoch < 35 else 1.2 - 0.02 * epoch)


PLATEAU = [
    dict(),
    dict(patience=2, factor=0.5),
    dict(patience=3, cooldown=2, factor=0.3, min_lr=[1e-3, 5e-3]),
    dict(patience=1, threshold=0.05, threshold_mode="abs", min_lr=0.01),
    dict(mode="max", patience=2, factor=0.7),
    dict(mode="max", patience=0, threshold=0.0, threshold_mode="abs", cooldown=1, eps=1e-3),
]


@pytest.mark.parametrize("kwargs", PLATEAU, ids=str)
def test_reduce_lr_on_plateau_matches_torch(kwargs):
    our_opt, their_opt = optimiser_pair()
    our_sched = lr_scheduler.ReduceLROnPlateau(our_opt, **kwargs)
    their_sched = torch.optim.lr_scheduler.ReduceLROnPlateau(their_opt, **kwargs)
    sign = -1 if kwargs.get("mode") == "max" else 1
    run_schedules(our_opt, their_opt, our_sched, their_sched, metric=lambda epoch: sign * noisy_plateau(epoch))
    for key in ("best", "num_bad_epochs", "cooldown_counter", "min_lrs"):
        assert getattr(our_sched, key) == getattr(their_sched, key), key


def sequential_pair(make):
    our_opt, their_opt = optimiser_pair()
    return (our_opt, their_opt, make(lr_scheduler, our_opt), make(torch.optim.lr_scheduler, their_opt))


SEQUENCES = {
    "warm-up then cosine": lambda m, opt: m.SequentialLR(
        opt, [m.LinearLR(opt, start_factor=0.1, total_iters=5), m.CosineAnnealingLR(opt, T_max=50)], milestones=[5]),
    "three": lambda m, opt: m.SequentialLR(
        opt, [m.ConstantLR(opt, factor=0.2, total_iters=3), m.ExponentialLR(opt, gamma=0.9),
              m.StepLR(opt, step_size=4, gamma=0.5)], milestones=[8, 20]),
    "multistep, polynomial, lambda": lambda m, opt: m.SequentialLR(
        opt, [m.MultiStepLR(opt, milestones=[2, 4]), m.PolynomialLR(opt, total_iters=10, power=2.0),
              m.LambdaLR(opt, lr_lambda=lambda epoch: 1 / (1 + epoch))], milestones=[6, 12]),
    "milestone 0": lambda m, opt: m.SequentialLR(
        opt, [m.ExponentialLR(opt, gamma=0.5), m.LinearLR(opt, start_factor=0.5, total_iters=4)], milestones=[0]),
    "warm-up then exponential": lambda m, opt: m.SequentialLR(
        opt, [m.LinearLR(opt, start_factor=0.5, total_iters=3), m.ExponentialLR(opt, gamma=0.95)], milestones=[3]),
}


@pytest.mark.parametrize("name", list(SEQUENCES))
def test_sequential_lr_matches_torch(name):
    run_schedules(*sequential_pair(SEQUENCES[name]))


@pytest.mark.parametrize("case", ["MultiStepLR", "LinearLR", "OneCycleLR", "ReduceLROnPlateau", "SequentialLR"])
def test_state_dict_keys_and_values_are_torchs(case):
    """Our state_dict holds what torch's does (torch adds its get_lr bookkeeping flags), with the
    same values, after 7 steps."""
    our_opt, their_opt = optimiser_pair("SGD", momentum=0.9)
    make = {
        "MultiStepLR": lambda m, opt: m.MultiStepLR(opt, milestones=[2, 5, 5]),
        "LinearLR": lambda m, opt: m.LinearLR(opt, start_factor=0.2, total_iters=9),
        "OneCycleLR": lambda m, opt: m.OneCycleLR(opt, max_lr=0.4, total_steps=20, three_phase=True),
        "ReduceLROnPlateau": lambda m, opt: m.ReduceLROnPlateau(opt, patience=1, min_lr=[0.0, 0.01]),
        "SequentialLR": SEQUENCES["three"],
    }[case]
    our_sched, their_sched = make(lr_scheduler, our_opt), make(torch.optim.lr_scheduler, their_opt)
    for epoch in range(7):
        our_opt.step()
        their_opt.step()
        if case == "ReduceLROnPlateau":
            our_sched.step(1.0)
            their_sched.step(1.0)
        else:
            our_sched.step()
            their_sched.step()
    bookkeeping = {"_get_lr_called_within_step", "_is_initial"}

    def comparable(state):
        return {k: comparable(v) if isinstance(v, dict) else [comparable(x) if isinstance(x, dict) else x for x in v]
                if isinstance(v, list) else v for k, v in state.items() if k not in bookkeeping}

    assert comparable(our_sched.state_dict()) == comparable(their_sched.state_dict())
