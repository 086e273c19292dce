"""RMSprop and Adagrad: first steps worked by hand, validation, what a step skips, dtypes, state,
and state_dict round trips through save/load that continue bit for bit."""

import math
import os
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim

sys.path.insert(0, os.path.dirname(__file__))
from _steps import run_steps, set_grad  # noqa: E402


def param(values, dtype=np.float64):
    return nn.Parameter(np.array(values, dtype=dtype))


# -- by hand -------------------------------------------------------------------------------------

def test_rmsprop_first_steps_by_hand():
    p = param([1.0, -2.0])
    opt = optim.RMSprop([p], lr=0.1, alpha=0.9, eps=0.0)
    set_grad(p, [2.0, -1.0])
    opt.step()
    # v = 0.1 g^2 = [0.4, 0.1]; θ -= 0.1 g / sqrt(v) = 0.1 sign(g) / sqrt(0.1): the first step is
    # sqrt(10) ≈ 3.16 times lr, whatever the gradient's size (no bias correction)
    np.testing.assert_allclose(opt.state[p]["square_avg"], [0.4, 0.1], rtol=1e-15)
    np.testing.assert_allclose(p.data, [1.0 - 0.1 * math.sqrt(10), -2.0 + 0.1 * math.sqrt(10)], rtol=1e-15)
    set_grad(p, [2.0, -1.0])
    opt.step()
    # v = 0.9 v + 0.1 g^2 = 0.19 g^2; the step is 0.1 / sqrt(0.19)
    np.testing.assert_allclose(p.data, [1.0 - 0.1 * (math.sqrt(10) + 1 / math.sqrt(0.19)),
                                        -2.0 + 0.1 * (math.sqrt(10) + 1 / math.sqrt(0.19))], rtol=1e-14)
    assert opt.state[p]["step"] == 2 and set(opt.state[p]) == {"step", "square_avg"}


def test_rmsprop_centered_with_momentum_by_hand():
    p = param([0.0])
    opt = optim.RMSprop([p], lr=0.5, alpha=0.5, eps=0.0, momentum=0.5, centered=True)
    set_grad(p, [2.0])
    opt.step()
    # v = 0.5·4 = 2, ḡ = 0.5·2 = 1, v - ḡ² = 1; b = g / 1 = 2; θ = -0.5·2 = -1
    assert (opt.state[p]["square_avg"][0], opt.state[p]["grad_avg"][0], opt.state[p]["momentum_buffer"][0]) == (2, 1, 2)
    assert p.data[0] == -1.0
    set_grad(p, [4.0])
    opt.step()
    # v = 1 + 8 = 9, ḡ = 0.5 + 2 = 2.5, v - ḡ² = 2.75; b = 0.5·2 + 4/sqrt(2.75); θ -= 0.5 b
    b = 1 + 4 / math.sqrt(2.75)
    np.testing.assert_allclose(opt.state[p]["momentum_buffer"], [b], rtol=1e-15)
    np.testing.assert_allclose(p.data, [-1.0 - 0.5 * b], rtol=1e-15)


def test_adagrad_steps_by_hand():
    p = param([1.0, 1.0])
    opt = optim.Adagrad([p], lr=1.0, lr_decay=0.5, initial_accumulator_value=1.0, eps=0.0)
    assert opt.state[p]["step"] == 0 and np.array_equal(opt.state[p]["sum"], [1.0, 1.0])  # before any step
    set_grad(p, [0.0, math.sqrt(3.0)])
    opt.step()
    # s = 1 + g^2 = [1, 4]; lr_1 = 1; θ -= g / sqrt(s) = [0, sqrt(3)/2]
    np.testing.assert_allclose(p.data, [1.0, 1.0 - math.sqrt(3.0) / 2], rtol=1e-15)
    set_grad(p, [0.0, math.sqrt(5.0)])
    opt.step()
    # s = [1, 9]; lr_2 = 1 / (1 + 0.5) = 2/3; θ -= (2/3) sqrt(5) / 3
    np.testing.assert_allclose(p.data, [1.0, 1.0 - math.sqrt(3.0) / 2 - 2 * math.sqrt(5.0) / 9], rtol=1e-15)
    np.testing.assert_allclose(opt.state[p]["sum"], [1.0, 9.0], rtol=1e-15)


@pytest.mark.parametrize("name", ["RMSprop", "Adagrad"])
def test_weight_decay_and_maximize(name):
    """maximize negates the gradient; weight decay adds λθ to it: with g = 0 and λ > 0 a
    minimiser shrinks θ and a maximiser... still shrinks it (the penalty is not negated)."""
    for maximize in (False, True):
        p = param([2.0])
        opt = getattr(optim, name)([p], lr=0.1, weight_decay=0.5, maximize=maximize)
        set_grad(p, [0.0])
        opt.step()
        assert p.data[0] < 2.0
    p, q = param([2.0]), param([2.0])
    a, b = getattr(optim, name)([p], lr=0.1), getattr(optim, name)([q], lr=0.1, maximize=True)
    set_grad(p, [1.0])
    set_grad(q, [-1.0])
    a.step()
    b.step()
    assert p.data[0] == q.data[0] < 2.0


# -- what a step skips and keeps ------------------------------------------------------------------

@pytest.mark.parametrize("name, options", [("RMSprop", dict(momentum=0.9, centered=True)), ("Adagrad", {})])
def test_skips_params_without_grad_or_frozen(name, options):
    a, b, c = param([1.0]), param([2.0]), param([3.0])
    c.requires_grad_(False)
    opt = getattr(optim, name)([a, b, c], **options)
    set_grad(a, [1.0])
    set_grad(c, [1.0])
    opt.step()
    assert a.data[0] != 1.0 and b.data[0] == 2.0 and c.data[0] == 3.0
    if name == "RMSprop":
        assert b not in opt.state and c not in opt.state  # state appears at a parameter's first step
    else:
        assert opt.state[b]["step"] == 0 and opt.state[c]["step"] == 0  # created with the optimiser


@pytest.mark.parametrize("name", ["RMSprop", "Adagrad"])
def test_wrong_shape_grad_is_named(name):
    p = param([1.0, 2.0])
    opt = getattr(optim, name)([p])
    set_grad(p, [1.0, 1.0])
    p.data = np.zeros(3)
    with pytest.raises(ValueError, match=rf"{name}\.step: param_groups\[0\]\['params'\]\[0\] has a \.grad of shape \(2,\)"):
        opt.step()


@pytest.mark.parametrize("name, options", [("RMSprop", dict(momentum=0.9, centered=True, weight_decay=0.1)),
                                           ("Adagrad", dict(lr_decay=0.1, weight_decay=0.1, initial_accumulator_value=0.1))])
def test_float32_stays_float32(name, options):
    p = param(np.linspace(-1, 1, 6).reshape(2, 3), dtype=np.float32)
    opt = getattr(optim, name)([p], **options)
    for _ in range(3):
        set_grad(p, np.cos(p.data))
        opt.step()
    assert p.data.dtype == np.float32
    for key, value in opt.state[p].items():
        assert key == "step" or value.dtype == np.float32, key


def test_step_returns_the_closure_loss():
    p = param([1.0])
    opt = optim.RMSprop([p])
    set_grad(p, [1.0])
    assert opt.step(lambda: 3.5) == 3.5
    assert optim.Adagrad([p]).step(lambda: 2.5) == 2.5


def test_adagrad_group_added_later_gets_state_from_its_own_value():
    p, q = param([1.0]), param([2.0])
    opt = optim.Adagrad([p], initial_accumulator_value=0.5)
    opt.add_param_group({"params": [q], "initial_accumulator_value": 2.0})
    assert opt.state[p]["sum"][0] == 0.5 and opt.state[q]["sum"][0] == 2.0 and opt.state[q]["step"] == 0
    set_grad(q, [1.0])
    opt.step()
    assert opt.state[q]["sum"][0] == 3.0


def test_adagrad_groups_built_together_start_from_the_constructors_value_as_torch():
    p, q = param([1.0]), param([2.0])
    opt = optim.Adagrad([{"params": [p]}, {"params": [q], "initial_accumulator_value": 2.0}], initial_accumulator_value=0.5)
    assert opt.state[p]["sum"][0] == opt.state[q]["sum"][0] == 0.5


# -- validation ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name, options, error, message", [
    ("RMSprop", dict(lr=-0.1), ValueError, r"RMSprop lr must be >= 0, got -0\.1"),
    ("RMSprop", dict(alpha=-0.5), ValueError, r"RMSprop alpha must be >= 0, got -0\.5"),
    ("RMSprop", dict(eps=float("nan")), ValueError, r"RMSprop eps must be >= 0, got nan"),
    ("RMSprop", dict(momentum=-1.0), ValueError, r"RMSprop momentum must be >= 0, got -1\.0"),
    ("RMSprop", dict(weight_decay=-1), ValueError, r"RMSprop weight_decay must be >= 0, got -1"),
    ("RMSprop", dict(centered=1), TypeError, r"RMSprop centered must be a bool, got 1"),
    ("RMSprop", dict(lr="0.1"), TypeError, r"RMSprop lr must be a real number, got '0\.1'"),
    ("Adagrad", dict(lr_decay=-0.5), ValueError, r"Adagrad lr_decay must be >= 0, got -0\.5"),
    ("Adagrad", dict(initial_accumulator_value=-1.0), ValueError,
     r"Adagrad initial_accumulator_value must be >= 0, got -1\.0"),
    ("Adagrad", dict(eps=-1e-10), ValueError, r"Adagrad eps must be >= 0, got -1e-10"),
    ("Adagrad", dict(maximize="yes"), TypeError, r"Adagrad maximize must be a bool, got 'yes'"),
], ids=lambda v: str(v))
def test_bad_hyperparameters_are_named(name, options, error, message):
    with pytest.raises(error, match=message):
        getattr(optim, name)([param([1.0])], **options)


@pytest.mark.parametrize("name", ["RMSprop", "Adagrad"])
def test_bad_hyperparameter_in_a_param_group(name):
    with pytest.raises(ValueError, match=rf"{name} lr must be >= 0, got -1"):
        getattr(optim, name)([{"params": [param([1.0])], "lr": -1}])


# -- state_dict ------------------------------------------------------------------------------------

OPTIMISERS = {
    "RMSprop": lambda ps: optim.RMSprop([{"params": ps[:1], "momentum": 0.9, "centered": True},
                                         {"params": ps[1:], "alpha": 0.9}], lr=0.01, weight_decay=0.01),
    "Adagrad": lambda ps: optim.Adagrad([{"params": ps[:1]}, {"params": ps[1:], "lr_decay": 0.1}],
                                        lr=0.1, initial_accumulator_value=0.1),
}


@pytest.mark.parametrize("name", list(OPTIMISERS))
def test_state_dict_round_trip_through_save_load_continues_identically(name, tmp_path):
    rng = np.random.default_rng(0)
    params = [nn.Parameter(rng.standard_normal(s)) for s in [(3, 2), (4,)]]
    targets = [rng.standard_normal(p.shape) for p in params]
    opt = OPTIMISERS[name](params)
    run_steps(opt, params, targets, 7)
    cr.save({"params": [p.data for p in params], "optim": opt.state_dict()}, tmp_path / "ckpt.npz")
    run_steps(opt, params, targets, 8)  # the uninterrupted run

    checkpoint = cr.load(tmp_path / "ckpt.npz")
    resumed = [nn.Parameter(data.copy()) for data in checkpoint["params"]]
    new_opt = OPTIMISERS[name](resumed)
    new_opt.load_state_dict(checkpoint["optim"])
    run_steps(new_opt, resumed, targets, 8)
    for p, q in zip(params, resumed):
        np.testing.assert_array_equal(p.data, q.data)  # bit for bit
    assert repr(new_opt) == repr(opt)
    assert new_opt.state_dict()["state"][0]["step"] == 15


def test_state_dict_keys_are_pytorchs():
    p = param([1.0, 2.0])
    rms = optim.RMSprop([p], momentum=0.5, centered=True)
    set_grad(p, [1.0, 1.0])
    rms.step()
    assert set(rms.state_dict()["state"][0]) == {"step", "square_avg", "momentum_buffer", "grad_avg"}
    assert list(rms.state_dict()["param_groups"][0]) == ["lr", "momentum", "alpha", "eps", "centered",
                                                         "weight_decay", "maximize", "params"]
    ada = optim.Adagrad([p])
    assert set(ada.state_dict()["state"][0]) == {"step", "sum"}


def test_load_state_dict_refuses_another_optimisers_state():
    p = param([1.0])
    adam = optim.Adam([p])
    with pytest.raises(ValueError, match=r"RMSprop\.load_state_dict: param_groups\[0\] has no \['momentum', 'alpha', 'centered'\]"):
        optim.RMSprop([p]).load_state_dict(adam.state_dict())
