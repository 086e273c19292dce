"""Optimisers: first steps worked by hand, validation, param groups, zero_grad, state_dict, dtypes."""

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


# -- SGD, by hand ---------------------------------------------------------------------------

def test_sgd_plain_step():
    p = param([1.0, 2.0])
    opt = optim.SGD([p], lr=0.1)
    set_grad(p, [0.5, -1.0])
    opt.step()
    # θ - γ g = [1 - 0.05, 2 + 0.1]
    np.testing.assert_allclose(p.data, [0.95, 2.1], rtol=0, atol=1e-15)
    assert len(opt.state) == 0  # no buffer without momentum


def test_sgd_momentum_first_step_sets_buffer_to_gradient_then_accumulates():
    p = param([1.0, -2.0])
    opt = optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.5)
    set_grad(p, [1.0, 2.0])
    opt.step()
    # step 1: b = g = [1, 2] (no dampening on the first step); θ = [1 - 0.1, -2 - 0.2]
    np.testing.assert_array_equal(opt.state[p]["momentum_buffer"], [1.0, 2.0])
    np.testing.assert_allclose(p.data, [0.9, -2.2], atol=1e-15)
    set_grad(p, [3.0, 4.0])  # backward would accumulate; here we just set it
    opt.step()
    # step 2: b = 0.9 b + (1 - 0.5) g = [0.9 + 1.5, 1.8 + 2] = [2.4, 3.8]; θ -= 0.1 b
    np.testing.assert_allclose(opt.state[p]["momentum_buffer"], [2.4, 3.8], atol=1e-15)
    np.testing.assert_allclose(p.data, [0.9 - 0.24, -2.2 - 0.38], atol=1e-15)


def test_sgd_nesterov_weight_decay_and_maximize_by_hand():
    p = param([2.0])
    opt = optim.SGD([p], lr=0.1, momentum=0.5, nesterov=True, weight_decay=0.25, maximize=True)
    set_grad(p, [1.0])
    opt.step()
    # g = -1 + 0.25·2 = -0.5; b = g = -0.5; Nesterov: g + μb = -0.5 - 0.25 = -0.75; θ = 2 + 0.075
    np.testing.assert_allclose(p.data, [2.075], atol=1e-15)
    np.testing.assert_allclose(opt.state[p]["momentum_buffer"], [-0.5], atol=1e-15)
    opt.step()
    # g = -1 + 0.25·2.075 = -0.48125; b = 0.5·(-0.5) + g = -0.73125; g + μb = -0.846875
    np.testing.assert_allclose(p.data, [2.075 + 0.0846875], atol=1e-15)


def test_step_leaves_grad_untouched_and_updates_data_in_place():
    p = param([[1.0, 2.0], [3.0, 4.0]])
    data = p.data
    set_grad(p, [[0.1, 0.2], [0.3, 0.4]])
    for opt in (optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.1, maximize=True),
                optim.Adam([p], weight_decay=0.1, maximize=True), optim.AdamW([p], maximize=True)):
        opt.step()
        opt.step()
        assert p.data is data  # a view of p.data taken before stays live
        np.testing.assert_array_equal(p.grad, [[0.1, 0.2], [0.3, 0.4]])


def test_sgd_uses_each_parameters_own_grad_and_skips_one_without():
    a, b = param([1.0, 2.0]), param([[3.0], [4.0], [5.0]])
    opt = optim.SGD([a, b], lr=0.5, momentum=0.5)
    set_grad(a, [1.0, 1.0])
    set_grad(b, [[2.0], [2.0], [2.0]])
    opt.step()
    np.testing.assert_array_equal(a.data, [0.5, 1.5])  # θ - γ b_1 with b_1 = g_1
    a.grad = np.array([4.0, 4.0])  # a gradient assigned by hand is what the step uses
    opt.step()  # b = 0.5 [1, 1] + [4, 4] = [4.5, 4.5]
    np.testing.assert_array_equal(a.data, [0.5 - 2.25, 1.5 - 2.25])
    np.testing.assert_array_equal(opt.state[a]["momentum_buffer"], [4.5, 4.5])
    opt.state[b]["momentum_buffer"] = np.zeros((3, 1))  # so is a buffer replaced by hand
    opt.step()  # b = 0 + [2, 2, 2]
    np.testing.assert_array_equal(opt.state[b]["momentum_buffer"], [[2.0], [2.0], [2.0]])
    np.testing.assert_array_equal(b.data, [[3.0 - 1 - 1.5 - 1], [4.0 - 1 - 1.5 - 1], [5.0 - 1 - 1.5 - 1]])
    # A parameter whose grad is None is skipped and keeps its state, as in PyTorch.
    a.grad = None
    before = a.data.copy(), opt.state[a]["momentum_buffer"].copy()
    opt.step()
    np.testing.assert_array_equal(a.data, before[0])
    np.testing.assert_array_equal(opt.state[a]["momentum_buffer"], before[1])


# -- Adam / AdamW, by hand ------------------------------------------------------------------

def test_adam_first_step_moves_each_coordinate_by_about_lr():
    p = param([1.0, 1.0, 1.0])
    opt = optim.Adam([p], lr=0.01)
    set_grad(p, [4.0, -0.5, 1e-3])
    opt.step()
    # m = 0.1 g, v = 0.001 g²; bias-corrected: m/(1-0.9) = g, sqrt(v)/sqrt(1-0.999) = |g|,
    # so θ -= lr · g / (|g| + ε): each coordinate moves by lr·sign(g), whatever |g| is.
    g = np.array([4.0, -0.5, 1e-3])
    np.testing.assert_allclose(p.data, 1.0 - 0.01 * g / (np.abs(g) + 1e-8), rtol=1e-14)
    state = opt.state[p]
    assert state["step"] == 1
    np.testing.assert_allclose(state["exp_avg"], 0.1 * g, rtol=1e-15)
    np.testing.assert_allclose(state["exp_avg_sq"], 0.001 * g * g, rtol=1e-14)
    assert "max_exp_avg_sq" not in state


def test_adamw_decays_parameters_directly_and_adam_adds_l2_to_gradient():
    # Zero gradient: AdamW's Adam part is m/(sqrt(v)+ε) = 0/ε = 0, so only θ(1 - γλ) acts.
    p = param([2.0, -4.0])
    opt = optim.AdamW([p], lr=0.1, weight_decay=0.5)
    set_grad(p, [0.0, 0.0])
    opt.step()
    np.testing.assert_array_equal(p.data, [2.0 * 0.95, -4.0 * 0.95])
    # Adam's λθ = [1, -2] goes into the gradient, which Adam normalises: γ g/(|g| + ε).
    q = param([2.0, -4.0])
    set_grad(q, [0.0, 0.0])
    optim.Adam([q], lr=0.1, weight_decay=0.5).step()
    np.testing.assert_allclose(q.data, [2.0 - 0.1 / (1 + 1e-8), -4.0 + 0.1 * 2 / (2 + 1e-8)], rtol=1e-14)


def test_amsgrad_keeps_the_running_maximum_of_v():
    p = param([0.0])
    opt = optim.Adam([p], betas=(0.9, 0.5), amsgrad=True)
    for g in (10.0, 0.0, 0.0):
        set_grad(p, [g])
        opt.step()
    # v: 0.5·100 = 50, then 25, then 12.5; the max stays 50
    np.testing.assert_allclose(opt.state[p]["exp_avg_sq"], [12.5])
    np.testing.assert_allclose(opt.state[p]["max_exp_avg_sq"], [50.0])
    assert opt.state[p]["step"] == 3


# -- validation -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(lr=-0.1), "SGD lr must be >= 0, got -0.1"),
        (dict(lr=float("nan")), "SGD lr must be >= 0, got nan"),
        (dict(momentum=-0.5), "SGD momentum must be >= 0, got -0.5"),
        (dict(weight_decay=-1e-4), "SGD weight_decay must be >= 0, got -0.0001"),
        (dict(nesterov=True), r"SGD nesterov=True requires momentum > 0 and dampening == 0, got momentum=0 "),
        (dict(nesterov=True, momentum=0.9, dampening=0.1), r"got momentum=0.9 and dampening=0.1"),
    ],
)
def test_sgd_rejects_bad_hyperparameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        optim.SGD([param([1.0])], **kwargs)


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(lr=-1e-3), "lr must be >= 0, got -0.001"),
        (dict(eps=-1e-8), "eps must be >= 0, got -1e-08"),
        (dict(betas=(1.0, 0.999)), r"betas\[0\] must be in \[0, 1\), got 1.0"),
        (dict(betas=(0.9, -0.1)), r"betas\[1\] must be in \[0, 1\), got -0.1"),
        (dict(weight_decay=-0.5), "weight_decay must be >= 0, got -0.5"),
    ],
)
def test_adam_rejects_bad_hyperparameters(name, kwargs, message):
    with pytest.raises(ValueError, match=f"^{name} {message}"):
        getattr(optim, name)([param([1.0])], **kwargs)


def test_bad_types_are_type_errors():
    with pytest.raises(TypeError, match="SGD lr must be a real number, got '0.1'"):
        optim.SGD([param([1.0])], lr="0.1")
    with pytest.raises(TypeError, match="SGD nesterov must be a bool, got 1"):
        optim.SGD([param([1.0])], momentum=0.9, nesterov=1)
    with pytest.raises(TypeError, match=r"Adam betas must be a pair \(beta1, beta2\), got 0.9"):
        optim.Adam([param([1.0])], betas=0.9)
    with pytest.raises(TypeError, match=r"SGD can only optimize chainrule.nn.Parameter objects, but params\[1\] is a ndarray"):
        optim.SGD([param([1.0]), np.zeros(2)])
    with pytest.raises(TypeError, match="got a single Parameter"):
        optim.SGD(param([1.0]))
    with pytest.raises(TypeError, match="ordered collection"):
        optim.SGD({param([1.0])})


def test_empty_and_repeated_parameters_are_value_errors():
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.SGD([])
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.Adam(iter(()))
    p, q = param([1.0]), param([2.0])
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        optim.SGD([{"params": [p, q]}, {"params": [q]}])
    with pytest.raises(ValueError, match="SGD param group contains the same parameter more than once"):
        optim.SGD([p, p])
    opt = optim.SGD([p])
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        opt.add_param_group({"params": [p]})
    with pytest.raises(ValueError, match="SGD lr must be >= 0, got -1"):
        opt.add_param_group({"params": [q], "lr": -1})
    assert len(opt.param_groups) == 1


# -- param groups, zero_grad, closure -------------------------------------------------------

def test_param_groups_have_their_own_lr_and_the_defaults_filled_in():
    a, b = param([1.0]), param([1.0])
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5, "name": "head"}], lr=0.1, momentum=0.9)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[1]["lr"] == 0.5
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["name"] == "head"
    assert opt.param_groups[1]["params"] == [b]
    set_grad(a, [1.0])
    set_grad(b, [1.0])
    opt.step()
    np.testing.assert_allclose([a.data[0], b.data[0]], [0.9, 0.5])
    opt.param_groups[0]["lr"] = 0.2  # takes effect at the next step
    opt.step()
    np.testing.assert_allclose(a.data, [0.9 - 0.2 * 1.9])


def test_add_param_group_and_named_parameters():
    model = nn.Sequential(nn.Linear(2, 3, dtype=np.float64), nn.Tanh(), nn.Linear(3, 1, dtype=np.float64))
    opt = optim.Adam(model[0].named_parameters(), lr=0.01)
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]
    opt.add_param_group({"params": model[2].named_parameters(), "lr": 0.1})
    assert [len(g["params"]) for g in opt.param_groups] == [2, 2]
    assert opt.param_groups[1]["betas"] == (0.9, 0.999) and opt.param_groups[1]["lr"] == 0.1
    with pytest.raises(ValueError, match="param groups must all be with names or all without names"):
        opt.add_param_group({"params": [nn.Parameter(np.zeros(1))]})


def test_zero_grad_sets_none_by_default_or_zeros_in_place():
    model = nn.Linear(3, 2, dtype=np.float64, rng=np.random.default_rng(0))
    opt = optim.SGD(model.parameters(), lr=0.1)
    model(np.ones((4, 3)))
    model.backward(np.ones((4, 2)))
    grads = [p.grad for p in model.parameters()]
    assert all(np.any(g != 0) for g in grads)
    opt.zero_grad(set_to_none=False)
    for p, g in zip(model.parameters(), grads):
        assert p.grad is g and p.grad.dtype == p.dtype
        np.testing.assert_array_equal(g, 0.0)
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_step_returns_what_the_closure_returns():
    p = param([3.0])
    opt = optim.SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        p.grad = 2 * p.data  # gradient of θ²
        return float(p.data[0] ** 2)

    assert opt.step(closure) == 9.0
    np.testing.assert_allclose(p.data, [1.5])
    assert opt.step() is None


def test_sgd_trains_a_linear_regression():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3))
    y = x @ np.array([[1.0], [-2.0], [0.5]]) + 0.3
    model = nn.Linear(3, 1, dtype=np.float64, rng=rng)
    loss_fn = nn.MSELoss()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(200):
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        model.backward(loss_fn.backward())
        opt.step()
    assert loss < 1e-8
    np.testing.assert_allclose(model.weight.data, [[1.0, -2.0, 0.5]], atol=1e-4)


def test_repr_is_pytorch_layout():
    opt = optim.SGD([{"params": [param([1.0])]}, {"params": [param([1.0])], "lr": 0.5}], lr=0.1, momentum=0.9)
    assert repr(opt) == (
        "SGD (\nParameter Group 0\n    dampening: 0\n    lr: 0.1\n    maximize: False\n    momentum: 0.9\n"
        "    nesterov: False\n    weight_decay: 0\n\nParameter Group 1\n    dampening: 0\n    lr: 0.5\n"
        "    maximize: False\n    momentum: 0.9\n    nesterov: False\n    weight_decay: 0\n)"
    )
    assert repr(optim.AdamW([param([1.0])])).startswith("AdamW (\nParameter Group 0\n    amsgrad: False\n")


# -- state_dict -----------------------------------------------------------------------------

def quadratic_problem(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    params = [nn.Parameter(rng.standard_normal(s).astype(dtype)) for s in [(3, 2), (4,)]]
    targets = [rng.standard_normal(p.shape).astype(dtype) for p in params]
    return params, targets


OPTIMISERS = {
    "SGD": lambda ps: optim.SGD([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.02}],
                                lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    "Adam": lambda ps: optim.Adam(ps, lr=0.05, amsgrad=True, weight_decay=0.1),
    "AdamW": lambda ps: optim.AdamW([{"params": ps[:1], "betas": (0.5, 0.9)}, {"params": ps[1:]}], lr=0.05),
}


@pytest.mark.parametrize("name", list(OPTIMISERS))
def test_state_dict_round_trip_through_save_load_continues_identically(name, tmp_path):
    params, targets = quadratic_problem()
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


def test_state_dict_layout_is_pytorchs_and_deep_copied():
    params, targets = quadratic_problem()
    opt = optim.SGD([{"params": params[:1]}, {"params": params[1:], "lr": 0.5}], lr=0.1, momentum=0.9)
    run_steps(opt, params, targets, 2)
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert sorted(sd["state"]) == [0, 1] and list(sd["state"][0]) == ["momentum_buffer"]
    assert sd["param_groups"] == [
        dict(lr=0.1, momentum=0.9, dampening=0, weight_decay=0, nesterov=False, maximize=False, params=[0]),
        dict(lr=0.5, momentum=0.9, dampening=0, weight_decay=0, nesterov=False, maximize=False, params=[1]),
    ]
    saved = sd["state"][0]["momentum_buffer"].copy()
    assert sd["state"][0]["momentum_buffer"] is not opt.state[params[0]]["momentum_buffer"]
    sd["state"][0]["momentum_buffer"][...] = 123.0
    sd["param_groups"][0]["lr"] = 99.0
    run_steps(opt, params, targets, 1)
    assert opt.param_groups[0]["lr"] == 0.1
    assert not np.array_equal(opt.state[params[0]]["momentum_buffer"], saved)  # it moved on...
    np.testing.assert_array_equal(sd["state"][0]["momentum_buffer"], 123.0)  # ...the copy did not

    # Loading copies too: changing the dict afterwards does not reach the optimiser.
    sd = opt.state_dict()
    opt.load_state_dict(sd)
    sd["state"][0]["momentum_buffer"][...] = -1.0
    assert not np.any(opt.state[params[0]]["momentum_buffer"] == -1.0)


def test_load_state_dict_validates_and_changes_nothing_on_error():
    params, targets = quadratic_problem()
    opt = optim.Adam(params, lr=0.01)
    run_steps(opt, params, targets, 2)
    good = opt.state_dict()
    before = opt.state_dict()

    other = optim.Adam([{"params": params[:1]}, {"params": params[1:]}])
    with pytest.raises(ValueError, match="loaded state dict has 2 parameter groups, but the optimizer has 1"):
        opt.load_state_dict(other.state_dict())
    with pytest.raises(ValueError, match="parameter group 0 has 1 parameters in the loaded state dict, but 2 in the optimizer"):
        opt.load_state_dict(optim.Adam(params[:1]).state_dict())
    bad = opt.state_dict()
    bad["state"][1]["exp_avg"] = np.zeros(5)
    with pytest.raises(ValueError, match=r"state\[1\]\['exp_avg'\] has shape \(5,\), but parameter 1 has shape \(4,\)"):
        opt.load_state_dict(bad)
    bad = opt.state_dict()
    bad["state"][7] = bad["state"].pop(1)
    with pytest.raises(ValueError, match="state has an entry for parameter 7"):
        opt.load_state_dict(bad)
    bad = opt.state_dict()
    bad["param_groups"][0]["lr"] = -1.0
    with pytest.raises(ValueError, match="Adam lr must be >= 0, got -1.0"):
        opt.load_state_dict(bad)
    with pytest.raises(TypeError, match="expected a dict with keys 'state' and 'param_groups'"):
        opt.load_state_dict({"state": {}})

    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    for index in before["state"]:
        for key, value in before["state"][index].items():
            np.testing.assert_array_equal(after["state"][index][key], value)
    opt.load_state_dict(good)  # and a valid one still loads


def test_load_state_dict_takes_hyperparameters_from_the_dict():
    p = param([1.0])
    source = optim.SGD([p], lr=0.5, momentum=0.7, nesterov=True)
    target = optim.SGD([param([1.0])], lr=0.1)
    target.load_state_dict(source.state_dict())
    assert target.param_groups[0]["lr"] == 0.5 and target.param_groups[0]["nesterov"] is True
    assert target.param_groups[0]["params"] != [p]


# -- dtypes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(OPTIMISERS))
def test_float32_stays_float32_even_with_numpy_float64_hyperparameters(name):
    params, targets = quadratic_problem(dtype=np.float32)
    opt = OPTIMISERS[name](params)
    for group in opt.param_groups:  # np.float64 scalars would upcast float32 work in NumPy 2
        group["lr"] = np.float64(group["lr"])
        group["weight_decay"] = np.float64(group["weight_decay"])
    data = [p.data for p in params]
    run_steps(opt, params, targets, 5)
    for p, d in zip(params, data):
        assert p.data is d and p.data.dtype == np.float32 and p.grad.dtype == np.float32
    for entries in opt.state.values():
        for key, value in entries.items():
            if key != "step":
                assert value.dtype == np.float32, key
    # And it is the same optimisation as in float64, to float32 precision.
    params64, targets64 = quadratic_problem(dtype=np.float64)
    run_steps(OPTIMISERS[name](params64), params64, targets64, 5)
    for p, q in zip(params, params64):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-4, atol=1e-5)


def test_sgd_float32_step_matches_float32_arithmetic_exactly():
    p = nn.Parameter(np.array([0.1, 0.7, -1.3], dtype=np.float32))
    g = np.array([0.3, -0.2, 0.9], dtype=np.float32)
    opt = optim.SGD([p], lr=np.float64(0.1), momentum=0.9)
    expected = p.data.copy()
    buf = g.copy()
    for _ in range(3):
        set_grad(p, g)
        opt.step()
        expected = expected - np.float32(0.1) * buf
        buf = buf * np.float32(0.9) + g
    np.testing.assert_array_equal(p.data, expected)


def test_load_state_dict_casts_state_to_the_parameter_dtype():
    p64 = param([1.0, 2.0])
    source = optim.Adam([p64])
    set_grad(p64, [0.1, 0.2])
    source.step()
    p32 = param([1.0, 2.0], dtype=np.float32)
    target = optim.Adam([p32])
    target.load_state_dict(source.state_dict())
    assert target.state[p32]["exp_avg"].dtype == np.float32
    assert target.state[p32]["step"] == 1


def test_a_parameter_no_backward_reached_since_zero_grad_is_skipped():
    # As in PyTorch: after zero_grad() its .grad is None, so neither it nor its momentum moves.
    used, unused = param([1.0, 1.0]), param([1.0, 1.0])
    opt = optim.SGD([used, unused], lr=1.0, momentum=0.5)
    set_grad(used, [1.0, 1.0])
    set_grad(unused, [1.0, 1.0])
    opt.step()  # both: b = 1, θ = 0
    opt.zero_grad()
    set_grad(used, [2.0, 2.0])
    opt.step()  # used: b = 0.5 + 2 = 2.5; unused: untouched
    np.testing.assert_array_equal(used.data, [-2.5, -2.5])
    np.testing.assert_array_equal(unused.data, [0.0, 0.0])
    np.testing.assert_array_equal(opt.state[unused]["momentum_buffer"], [1.0, 1.0])


def test_a_gradient_of_the_wrong_shape_is_named():
    p = param([[1.0, 2.0]])
    p.grad = np.ones((1, 2))
    p.data = np.zeros(3)  # the data replaced after the backward
    for opt in (optim.SGD([p], lr=0.1), optim.Adam([p]), optim.AdamW([p])):
        with pytest.raises(ValueError, match=rf"{type(opt).__name__}.step: param_groups\[0\]\['params'\]\[0\] has a "
                                             r".grad of shape \(1, 2\), expected \(3,\)"):
            opt.step()


def test_adam_refuses_the_state_of_another_optimiser():
    p = param([1.0])
    sgd = optim.SGD([p], lr=0.1, momentum=0.9)
    set_grad(p, [1.0])
    sgd.step()
    with pytest.raises(ValueError, match=r"Adam.load_state_dict: param_groups\[0\] has no \['betas', 'eps', 'amsgrad'\]"):
        optim.Adam([p]).load_state_dict(sgd.state_dict())


def test_a_param_group_without_lr_is_named():
    p = param([1.0])
    opt = optim.SGD([p], lr=0.1)
    set_grad(p, [1.0])
    del opt.param_groups[0]["lr"]
    with pytest.raises(ValueError, match=r"SGD.step: param_groups\[0\] has no \['lr'\]; every group needs"):
        opt.step()
