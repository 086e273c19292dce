"""nn.init: PyTorch's formulas (checked as exact draws from the same generator), the gain
table, fans for (out, in, *kernel) weights, statistics, and the errors."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import init


@pytest.mark.parametrize("nonlinearity, param, gain", [
    ("linear", None, 1.0), ("conv2d", None, 1.0), ("sigmoid", None, 1.0), ("tanh", None, 5 / 3),
    ("relu", None, math.sqrt(2)), ("leaky_relu", None, math.sqrt(2 / (1 + 0.01 ** 2))),
    ("leaky_relu", 0.2, math.sqrt(2 / 1.04)), ("leaky_relu", math.sqrt(5), math.sqrt(1 / 3)), ("selu", None, 0.75),
])
def test_calculate_gain_table(nonlinearity, param, gain):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(gain, rel=1e-15)


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="calculate_gain got unsupported nonlinearity 'gelu'"):
        init.calculate_gain("gelu")
    with pytest.raises(ValueError, match="calculate_gain negative_slope must be a number, got 'a'"):
        init.calculate_gain("leaky_relu", "a")


# (shape, fan_in, fan_out): weights are (out, in, *kernel)
FANS = [((5, 3), 3, 5), ((8, 4, 3), 12, 24), ((6, 2, 3, 3), 18, 54)]


@pytest.mark.parametrize("shape, fan_in, fan_out", FANS)
@pytest.mark.parametrize("name", ["xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"])
def test_formulas_are_exact_draws(name, shape, fan_in, fan_out):
    arr = np.empty(shape, dtype=np.float64)
    out = getattr(init, name)(arr, rng=np.random.default_rng(7))
    assert out is arr
    ref = np.random.default_rng(7)
    if name.startswith("xavier"):
        std = math.sqrt(2.0 / (fan_in + fan_out))
    else:
        std = math.sqrt(2.0 / (1 + 0.0)) / math.sqrt(fan_in)  # leaky_relu with a=0, mode fan_in
    if name.endswith("uniform_"):
        expected = ref.uniform(-math.sqrt(3) * std, math.sqrt(3) * std, shape)
    else:
        expected = ref.normal(0.0, std, shape)
    np.testing.assert_array_equal(arr, expected)


def test_kaiming_options_and_gain_arguments():
    arr = np.empty((4, 9))
    init.kaiming_uniform_(arr, a=math.sqrt(5), rng=np.random.default_rng(0))  # PyTorch's Linear default
    bound = 1 / math.sqrt(9)
    np.testing.assert_allclose(arr, np.random.default_rng(0).uniform(-bound, bound, (4, 9)), rtol=1e-12)
    init.kaiming_normal_(arr, mode="fan_out", nonlinearity="relu", rng=np.random.default_rng(0))
    np.testing.assert_array_equal(arr, np.random.default_rng(0).normal(0, math.sqrt(2) / 2, (4, 9)))
    init.xavier_uniform_(arr, gain=init.calculate_gain("tanh"), rng=np.random.default_rng(0))
    b = 5 / 3 * math.sqrt(6 / 13)
    np.testing.assert_array_equal(arr, np.random.default_rng(0).uniform(-b, b, (4, 9)))


def test_fill_a_parameter_in_place_keeping_its_dtype():
    layer = nn.Linear(200, 300, rng=np.random.default_rng(0))
    data_id = id(layer.weight.data)
    assert init.kaiming_normal_(layer.weight, nonlinearity="relu", rng=np.random.default_rng(1)) is layer.weight
    assert id(layer.weight.data) == data_id and layer.weight.dtype == np.float32
    w = layer.weight.data.astype(np.float64)
    std = math.sqrt(2 / 200)
    n = w.size
    assert abs(w.mean()) < 4 * std / math.sqrt(n)             # mean 0 within 4 standard errors
    assert abs(w.std() / std - 1) < 4 * math.sqrt(1 / (2 * n))  # std within 4 standard errors
    init.zeros_(layer.bias)
    assert not layer.bias.data.any()
    init.ones_(layer.bias)
    assert (layer.bias.data == 1).all()
    init.constant_(layer.bias, 0.25)
    assert (layer.bias.data == np.float32(0.25)).all()


@pytest.mark.parametrize("name, kwargs, low, high, mean, var", [
    ("uniform_", {"a": -2.0, "b": 4.0}, -2.0, 4.0, 1.0, 36 / 12),
    ("normal_", {"mean": 1.5, "std": 0.5}, -math.inf, math.inf, 1.5, 0.25),
    ("xavier_uniform_", {}, -math.sqrt(6 / 900), math.sqrt(6 / 900), 0.0, 2 / 900),
    ("kaiming_uniform_", {"nonlinearity": "relu"}, -math.sqrt(6 / 400), math.sqrt(6 / 400), 0.0, 2 / 400),
])
def test_statistics_and_bounds(name, kwargs, low, high, mean, var):
    arr = np.empty((500, 400))
    getattr(init, name)(arr, **kwargs, rng=np.random.default_rng(3))
    n = arr.size
    assert low <= arr.min() and arr.max() <= high
    assert abs(arr.mean() - mean) < 4 * math.sqrt(var / n)
    assert abs(arr.var() / var - 1) < 0.02


def test_default_generator_is_used_and_seeded():
    cr.manual_seed(11)
    a = init.normal_(np.empty((3, 3)))
    cr.manual_seed(11)
    b = init.normal_(np.empty((3, 3)))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("call, error, match", [
    (lambda: init.xavier_uniform_(np.empty(5)), ValueError,
     r"xavier_uniform_ cannot compute fan in and fan out for an array with fewer than 2 dimensions, got shape \(5,\)"),
    (lambda: init.kaiming_normal_(np.empty((2, 2)), mode="fan"), ValueError,
     "kaiming_normal_ mode must be 'fan_in' or 'fan_out', got 'fan'"),
    (lambda: init.kaiming_uniform_(np.empty((2, 2)), nonlinearity="swish"), ValueError, "unsupported nonlinearity 'swish'"),
    (lambda: init.uniform_(np.empty(3), a=1.0, b=0.0), ValueError, "uniform_ expects a <= b, got a=1.0, b=0.0"),
    (lambda: init.normal_(np.empty(3), std=-1.0), ValueError, "normal_ std must be >= 0, got -1.0"),
    (lambda: init.zeros_(np.zeros(3, dtype=np.int64)), TypeError, "zeros_ expects a float array, got dtype int64"),
    (lambda: init.ones_([1.0, 2.0]), TypeError, "ones_ expects a chainrule.nn.Parameter or a numpy ndarray, got list"),
    (lambda: init.normal_(np.empty(3), rng=0), TypeError, "normal_ rng must be a numpy.random.Generator, got int"),
])
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
