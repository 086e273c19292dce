"""detect_anomaly: the first non-finite forward output or backward gradient stops the run,
naming the module by its path, the direction and the count; off, nothing is registered."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import module as module_mod


def _model(seed=0):
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Linear(3, 4, rng=rng, dtype=np.float64), nn.Tanh(),
                         nn.Linear(4, 2, rng=rng, dtype=np.float64))


def _x(n=5):
    return np.random.default_rng(1).standard_normal((n, 3))


def test_clean_run_is_unchanged():
    model, loss_fn = _model(), nn.MSELoss()
    x, y = _x(), np.zeros((5, 2))
    plain_out = model(x)
    loss_fn(plain_out, y)
    plain_grad = model.backward(loss_fn.backward())
    model.zero_grad()
    with cr.detect_anomaly(model):
        out = model(x)
        loss_fn(out, y)
        grad = model.backward(loss_fn.backward())
    np.testing.assert_array_equal(out, plain_out)
    np.testing.assert_array_equal(grad, plain_grad)


def test_forward_names_the_module_by_path():
    model = _model()
    model[2].weight.data[1, 0] = np.inf
    with pytest.raises(RuntimeError, match=r"^detect_anomaly: 2 \(Linear\) produced 5 non-finite values "
                                           r"\(inf: 5\) out of 10 in its forward output of shape \(5, 2\); "
                                           r"its input was finite$"):
        with cr.detect_anomaly(model):
            model(_x())


def test_nan_and_inf_are_counted_separately():
    model = _model()
    x = _x()
    x[0, 0] = np.nan
    model[0].weight.data[0, 1] = np.inf
    with pytest.raises(RuntimeError, match=r"0 \(Linear\) produced 8 non-finite values \(nan: 4, inf: 4\) out of 20 .*"
                                           r"its input was already non-finite \(1 value\)"):
        with cr.detect_anomaly(model):
            model(x)


def test_an_input_given_by_keyword_is_looked_at_too():
    layer = nn.Linear(3, 4, dtype=np.float64)
    x = _x()
    x[0, 0] = np.inf
    with pytest.raises(RuntimeError, match=r"^detect_anomaly: Linear \(the model itself\) produced .* its input "
                                           r"was already non-finite \(1 value\)$"):
        with cr.detect_anomaly(layer):
            layer(input=x)  # forward(input=x), as in torch: the hook finds it among the keywords


def test_path_found_without_the_model_argument():
    inner = nn.Sequential(nn.Linear(3, 3, dtype=np.float64), nn.Sigmoid())
    model = nn.Sequential(inner, nn.Linear(3, 1, dtype=np.float64))
    inner[0].bias.data[0] = np.nan
    with pytest.raises(RuntimeError, match=r"detect_anomaly: 0\.0 \(Linear\) produced"):
        with cr.detect_anomaly():
            model(_x())


def test_backward_names_direction_and_module():
    # A finite forward, and a large (finite) upstream gradient that the last layer's
    # delta @ W overflows to inf on the way back.
    model = nn.Sequential(nn.Linear(3, 2, dtype=np.float64), nn.Tanh())
    model[0].weight.data[...] = 2.0
    model[0].bias.data[...] = 0.0
    with cr.detect_anomaly(model), np.errstate(over="ignore"):  # the overflow is the point
        model(np.zeros((5, 3)))  # tanh(0) = 0: the upstream gradient passes through unchanged
        with pytest.raises(RuntimeError, match=r"^detect_anomaly: 0 \(Linear\) produced 15 non-finite values "
                                               r"\(inf: 15\) out of 15 in its backward gradient \(with respect "
                                               r"to its input\) of shape \(5, 3\); the gradient it received "
                                               r"was finite$"):
            model.backward(np.full((5, 2), 1e308))


def test_backward_parameter_gradient_is_checked():
    # grad_input = delta @ W stays finite, but dC/dW = delta^T x overflows.
    model = nn.Sequential(nn.Linear(3, 2, dtype=np.float64))
    x = _x()
    x[0] = 1e300
    with cr.detect_anomaly(model), np.errstate(over="ignore"):
        model(x)
        with pytest.raises(RuntimeError, match=r"^detect_anomaly: 0 \(Linear\) has 6 non-finite values \(inf: 6\) "
                                               r"out of 6 in the backward gradient of its parameter 'weight' "
                                               r"of shape \(2, 3\)"):
            model.backward(np.full((5, 2), 1e10))


def test_loss_outside_the_model_is_named_by_class():
    loss_fn = nn.MSELoss()
    with pytest.raises(RuntimeError, match=r"^detect_anomaly: MSELoss produced 1 non-finite value \(nan: 1\) "
                                           r"out of 1 in its forward output \(a scalar\); its input was "
                                           r"already non-finite \(1 value\)$"):
        with cr.detect_anomaly():
            loss_fn(np.array([1.0, np.nan]), np.zeros(2))


def test_root_module_itself():
    model = nn.Linear(2, 2, dtype=np.float64)
    model.bias.data[0] = np.nan
    with pytest.raises(RuntimeError, match=r"Linear \(the model itself\) produced 3 non-finite"):
        with cr.detect_anomaly(model):
            model(np.ones((3, 2)))


def test_off_by_default_and_free_when_off():
    assert not module_mod._global_forward_hooks and not module_mod._global_backward_hooks
    model = _model()
    model[0].bias.data[0] = np.nan
    out = model(_x())  # no detector: NaNs flow silently, as in PyTorch
    assert np.isnan(out).any()
    with cr.detect_anomaly(model):
        assert len(module_mod._global_forward_hooks) == 1 and len(module_mod._global_backward_hooks) == 1
    assert not module_mod._global_forward_hooks and not module_mod._global_backward_hooks


def test_hooks_removed_after_an_anomaly():
    model = _model()
    model[0].bias.data[0] = np.nan
    with pytest.raises(RuntimeError):
        with cr.detect_anomaly(model):
            model(_x())
    assert not module_mod._global_forward_hooks and not module_mod._global_backward_hooks
    with cr.no_grad():
        model(_x())  # no longer raises


def test_training_loop_stops_at_the_first_bad_step():
    """A learning rate that makes SGD diverge: the detector stops the loop at the step where
    the first non-finite value appears, before the weights are all NaN."""
    X, y = cr.data.datasets.make_moons(64, noise=0.1, seed=0)
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(2, 8, rng=rng), nn.ReLU(), nn.Linear(8, 1, rng=rng))
    loss_fn = nn.MSELoss()
    opt = cr.optim.SGD(model.parameters(), lr=1e3)
    target = y[:, None].astype(np.float32)
    steps = 0
    with pytest.raises(RuntimeError, match=r"detect_anomaly: (0 \(Linear\)|2 \(Linear\)|MSELoss)"):
        with cr.detect_anomaly(model), np.errstate(over="ignore", invalid="ignore"):
            for steps in range(1, 100):
                loss_fn(model(X), target)
                opt.zero_grad()
                model.backward(loss_fn.backward())
                opt.step()
    assert steps < 99


def test_model_must_be_a_module():
    with pytest.raises(TypeError, match="detect_anomaly model must be a chainrule.nn.Module or None, got list"):
        with cr.detect_anomaly([1, 2]):
            pass
