"""nn.init and nn.utils clipping against PyTorch. The two libraries cannot draw the same
random numbers, so initialisers are compared through their formulas (gain, fans, bounds)
and the moments of large samples; clipping is compared value for value."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed")

from chainrule import nn  # noqa: E402
from chainrule.nn import init  # noqa: E402
from chainrule.nn.utils import clip_grad_norm_, clip_grad_value_  # noqa: E402


@pytest.mark.parametrize("nonlinearity, param", [
    ("linear", None), ("conv1d", None), ("conv_transpose3d", None), ("sigmoid", None), ("tanh", None),
    ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.3), ("leaky_relu", math.sqrt(5)), ("selu", None),
])
def test_calculate_gain_matches_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param), rel=1e-15)


@pytest.mark.parametrize("shape", [(3, 5), (7, 2, 3), (4, 3, 2, 2)])
def test_fans_match_torch(shape):
    ours = init._calculate_fan_in_and_fan_out(np.empty(shape), "test")
    assert ours == torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


CASES = [
    ("uniform_", {"a": -0.5, "b": 1.5}),
    ("normal_", {"mean": 0.3, "std": 2.0}),
    ("xavier_uniform_", {"gain": 5 / 3}),
    ("xavier_normal_", {}),
    ("kaiming_uniform_", {"a": math.sqrt(5)}),
    ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"}),
    ("kaiming_normal_", {"nonlinearity": "relu"}),
    ("kaiming_normal_", {"a": 0.1, "mode": "fan_out"}),
]


@pytest.mark.parametrize("name, kwargs", CASES)
def test_init_moments_and_bounds_match_torch(name, kwargs):
    shape = (400, 300, 2)  # fan_in 600, fan_out 800
    ours = getattr(init, name)(np.empty(shape), **kwargs, rng=np.random.default_rng(0))
    theirs = getattr(torch.nn.init, name)(torch.empty(shape, dtype=torch.float64),
                                          **kwargs, generator=torch.Generator().manual_seed(0)).numpy()
    n = ours.size
    sd = theirs.std()
    assert abs(ours.mean() - theirs.mean()) < 5 * sd * math.sqrt(2 / n)
    assert ours.std() == pytest.approx(sd, rel=0.01)
    if name.endswith("uniform_"):
        # Same support: both extremes within 0.1% of the range of each other.
        span = theirs.max() - theirs.min()
        assert abs(ours.min() - theirs.min()) < 1e-3 * span and abs(ours.max() - theirs.max()) < 1e-3 * span


def grads_pair(seed, shapes, dtype=np.float32):
    rng = np.random.default_rng(seed)
    ours, theirs = [], []
    for shape in shapes:
        g = (rng.normal(size=shape) * 3).astype(dtype)
        p = nn.Parameter(np.zeros(shape, dtype=dtype))
        p.grad = g.copy()
        t = torch.zeros(shape, dtype=torch.float32 if dtype == np.float32 else torch.float64, requires_grad=True)
        t.grad = torch.from_numpy(g.copy())
        ours.append(p)
        theirs.append(t)
    return ours, theirs


@pytest.mark.parametrize("max_norm", [0.5, 5.0, 1e4])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clip_grad_norm_matches_torch(max_norm, norm_type, dtype):
    ours, theirs = grads_pair(0, [(4, 3), (3,), (2, 5)], dtype)
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    assert total == pytest.approx(float(expected), rel=rtol)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=rtol, atol=0)


@pytest.mark.parametrize("clip_value", [0.0, 0.7, 100.0])
def test_clip_grad_value_matches_torch(clip_value):
    ours, theirs = grads_pair(1, [(4, 3), (6,)])
    clip_grad_value_(ours, clip_value)
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    for p, t in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad, t.grad.numpy())
