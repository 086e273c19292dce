"""Property tests: every module fed generated bad and edge inputs (any dtype, rank, zero-size
dimension, NaN/inf, lists, non-contiguous and read-only arrays, bad ``grad_output``).

Each case either works -- the output and the input gradient match a float64 NumPy reference,
in the dtype the module computes in, and the caller's arrays are untouched -- or raises a
``ValueError``/``TypeError`` whose message names the module. Anything else fails.

Generated cases per target in the slow tier (a tenth, at least 10, in the fast tier; see
``examples`` in _strategies.py) (hypothesis ``max_examples``, derandomized, so the same cases every run;
an upper bound: hypothesis stops early once a small strategy is exhausted):
Linear 300, Sigmoid 200, Tanh 200, ReLU 200, LeakyReLU 200, Identity 200, Softmax 200,
LogSoftmax 200, Dropout 200, Sequential 200 -- 2,100 in all.

Non-finite inputs: NumPy may warn (``RuntimeWarning: invalid value``, e.g. for inf - inf in
a max-shifted softmax); those warnings are allowed here for inputs holding NaN/inf only, and
the values must still equal the reference (NaN where the reference is NaN).
"""

import os
import sys
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.dirname(__file__))
from _strategies import DTYPES, arrays, examples, expected_dtype, snapshot, tol, unchanged  # noqa: E402

from chainrule import nn  # noqa: E402

pytestmark = pytest.mark.fuzz  # both tiers: a tenth of the cases in the fast one (conftest.py)
SETTINGS = dict(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def _ref_sigmoid(z):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def _ref_softmax(z, dim):
    if z.shape[dim] == 0:
        return z.copy()  # nothing to normalise (PyTorch returns the empty tensor)
    with np.errstate(invalid="ignore"):
        e = np.exp(z - z.max(axis=dim, keepdims=True))
        return e / e.sum(axis=dim, keepdims=True)


def _ref_log_softmax(z, dim):
    if z.shape[dim] == 0:
        return z.copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        shifted = z - z.max(axis=dim, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))


# name -> (factory, forward reference f(x64), backward reference b(x64, y64, g64))
ELEMENTWISE = {
    "Sigmoid": (nn.Sigmoid, _ref_sigmoid, lambda x, y, g: g * y * (1 - y)),
    "Tanh": (nn.Tanh, np.tanh, lambda x, y, g: g * (1 - y * y)),
    "ReLU": (nn.ReLU, lambda x: np.where(np.isnan(x) | (x > 0), x, 0.0),  # relu(nan) = nan, as torch
             # g * [not x <= 0]: the gradient passes where x is NaN, as in PyTorch; a non-finite g
             # stays visible at a dead unit (a documented difference, see ReLU.backward)
             lambda x, y, g: g * ~(x <= 0)),
    "LeakyReLU": (lambda: nn.LeakyReLU(0.1), lambda x: np.where(x > 0, x, 0.1 * x),
                  lambda x, y, g: np.where(x > 0, g, 0.1 * g)),
    "Identity": (nn.Identity, lambda x: x, lambda x, y, g: g),
}


def _is_nonfinite(x) -> bool:
    a = np.asarray(x)
    return a.dtype.kind in "fc" and a.size > 0 and not np.isfinite(a).all()


def _run(module, x, reference, backward_reference, param_dtype=None, g_bad=None, owner=None):
    """The property: forward and backward either match the reference or raise a clear error."""
    owner = owner or type(module).__name__
    before = snapshot(x)
    with warnings.catch_warnings():
        if _is_nonfinite(x) or (g_bad is not None and _is_nonfinite(g_bad)):
            warnings.simplefilter("ignore", RuntimeWarning)
        try:
            y = module(x)
        except (ValueError, TypeError) as error:
            assert owner in str(error), f"message does not name {owner}: {error}"
            assert unchanged(x, before)
            return "refused"
        arr = np.asarray(x)
        assert arr.dtype.kind != "c" or owner == "Identity", f"{owner} accepted a complex input"
        dtype = arr.dtype if owner == "Identity" else expected_dtype(x, param_dtype)
        if arr.ndim == 0 and isinstance(y, np.generic):
            y = np.asarray(y)  # 0-d in, NumPy scalar out: pinned separately, see test_zero_dim_*
        assert isinstance(y, np.ndarray) and y.dtype == dtype, (type(y), getattr(y, "dtype", None), dtype)
        x64 = arr.astype(dtype).astype(np.complex128 if dtype.kind == "c" else np.float64)  # what it saw
        np.testing.assert_allclose(y, reference(x64), equal_nan=True, **tol(dtype))

        g = np.random.default_rng(0).standard_normal(y.shape).astype(dtype if dtype.kind in "fc" else np.float32)
        if g_bad is not None:
            g_before = snapshot(g_bad)
            try:
                gx_bad = module.backward(g_bad)
            except (ValueError, TypeError) as error:
                assert f"{owner}.backward" in str(error), f"message does not name {owner}.backward: {error}"
                assert unchanged(g_bad, g_before)
            else:
                assert np.asarray(g_bad).shape == y.shape
                if np.asarray(g_bad).dtype.kind != "c":
                    g64 = np.asarray(g_bad).astype(dtype if dtype.kind == "f" else np.float32).astype(np.float64)
                    expected = backward_reference(x64, np.asarray(y).astype(x64.dtype), g64)
                    np.testing.assert_allclose(gx_bad, expected, equal_nan=True, **tol(dtype))
                assert np.asarray(g_bad).dtype.kind != "c" or owner == "Identity"
            module(x)  # a fresh forward for the clean backward below
        gx = module.backward(g)
        assert gx.shape == arr.shape
        expected = backward_reference(x64, np.asarray(y).astype(x64.dtype), g.astype(np.float64))
        np.testing.assert_allclose(gx, expected, equal_nan=True, **tol(dtype))
    assert unchanged(x, before), f"{owner} modified its input"
    return "worked"


@pytest.mark.parametrize("name", list(ELEMENTWISE))
@settings(max_examples=examples(200), **SETTINGS)
@given(data=st.data())
def test_elementwise(name, data):
    factory, fwd, bwd = ELEMENTWISE[name]
    # Identity passes any array through untouched (as PyTorch's does), complex included.
    x = data.draw(arrays(dtypes=DTYPES[:-1] if name == "Identity" else DTYPES), label="x")
    g_bad = data.draw(st.none() | arrays(), label="grad_output")
    _run(factory(), x, fwd, bwd, g_bad=g_bad)


@pytest.mark.parametrize("name", ["Softmax", "LogSoftmax"])
@settings(max_examples=examples(200), **SETTINGS)
@given(data=st.data())
def test_softmax_family(name, data):
    dim = data.draw(st.integers(-4, 3), label="dim")
    x = data.draw(arrays(), label="x")
    g_bad = data.draw(st.none() | arrays(), label="grad_output")
    axis = 0 if np.asarray(x).ndim == 0 else dim  # a 0-d input is a softmax over its one value, as PyTorch's

    def one_d(f):  # the reference on a 0-d array: as a 1-element vector
        return lambda *a: f(*(np.asarray(v).reshape(-1) if np.ndim(v) == 0 else v for v in a)).reshape(np.shape(a[0]))

    if name == "Softmax":
        module = nn.Softmax(dim)
        fwd = one_d(lambda z: _ref_softmax(z, axis))

        def bwd(z, s, g):
            return s * (g - (g * s).sum(axis=axis, keepdims=True))
    else:
        module = nn.LogSoftmax(dim)
        fwd = one_d(lambda z: _ref_log_softmax(z, axis))

        def bwd(z, y, g):
            return g - np.exp(y) * g.sum(axis=axis, keepdims=True)
    outcome = _run(module, x, fwd, one_d(bwd), g_bad=g_bad)
    span = max(np.asarray(x).ndim, 1)
    if outcome == "worked":
        assert -span <= dim < span, f"{name}(dim={dim}) accepted an input of rank {np.asarray(x).ndim}"


@settings(max_examples=examples(300), **SETTINGS)
@given(data=st.data())
def test_linear(data):
    in_f, out_f = data.draw(st.integers(0, 4), label="in"), data.draw(st.integers(0, 4), label="out")
    dtype = data.draw(st.sampled_from([np.float32, np.float64]), label="dtype")
    bias = data.draw(st.booleans(), label="bias")
    module = nn.Linear(in_f, out_f, bias=bias, dtype=dtype, rng=np.random.default_rng(0))
    shape = data.draw(st.lists(st.integers(0, 3), max_size=2), label="batch") + [
        data.draw(st.sampled_from([in_f, in_f, in_f + 1, max(in_f - 1, 0)]), label="last")]
    rank0 = data.draw(st.booleans(), label="rank0")
    x = data.draw(arrays(shape=() if rank0 and not in_f else tuple(shape)), label="x")
    g_bad = data.draw(st.none() | arrays(), label="grad_output")
    W = module.weight.data.astype(np.float64)
    b = module.bias.data.astype(np.float64) if bias else 0.0

    def fwd(z):
        return z @ W.T + b

    def bwd(z, y, g):
        return g @ W

    weight_before = module.weight.data.copy()
    outcome = _run(module, x, fwd, bwd, param_dtype=dtype, g_bad=g_bad)
    arr = np.asarray(x)
    if outcome == "worked":
        assert arr.ndim >= 1 and arr.shape[-1] == in_f
        # the parameter gradient too: dC/dW = g^T x, summed over every leading dimension
        if arr.size and np.isfinite(arr.astype(np.float64)).all() and arr.dtype.kind != "c":
            module.zero_grad()
            module(x)
            g = np.ones(arr.shape[:-1] + (out_f,), dtype)
            module.backward(g)
            rows = int(np.prod(arr.shape[:-1]))
            x64 = arr.astype(dtype).astype(np.float64).reshape(rows, in_f)
            np.testing.assert_allclose(module.weight.grad, g.reshape(rows, out_f).T.astype(np.float64) @ x64,
                                       **tol(dtype))
    elif arr.dtype.kind != "c" and arr.ndim >= 1 and arr.shape[-1] == in_f:
        pytest.fail(f"Linear refused a valid input of shape {arr.shape} and dtype {arr.dtype}")
    np.testing.assert_array_equal(module.weight.data, weight_before)


@settings(max_examples=examples(200), **SETTINGS)
@given(data=st.data())
def test_dropout(data):
    p = data.draw(st.sampled_from([0.0, 0.25, 0.5, 1.0]), label="p")
    training = data.draw(st.booleans(), label="training")
    module = nn.Dropout(p, rng=np.random.default_rng(0)).train(training)
    x = data.draw(arrays(), label="x")
    before = snapshot(x)
    with warnings.catch_warnings():
        if _is_nonfinite(x):
            warnings.simplefilter("ignore", RuntimeWarning)
        try:
            y = module(x)
        except (ValueError, TypeError) as error:
            assert "Dropout" in str(error)
            assert np.asarray(x).dtype.kind == "c", f"Dropout refused a real input: {error}"
            return
        x64 = np.asarray(x).astype(expected_dtype(x)).astype(np.float64)
        assert y.dtype == expected_dtype(x)
        if not training or p == 0.0:
            np.testing.assert_array_equal(y, x64.astype(y.dtype))
        else:
            scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
            kept = np.isclose(y, x64 * scale, rtol=1e-6, equal_nan=True)
            dropped = (y == 0) | (np.isnan(y) & ~np.isfinite(x64))  # 0 * inf and 0 * nan are nan
            assert (kept | dropped).all(), "Dropout output is neither x / (1 - p) nor 0"
        if training:
            g = np.ones(y.shape, y.dtype)
            gx = module.backward(g)
            assert gx.shape == y.shape
            if p not in (0.0, 1.0):
                assert np.isin(gx, [0.0, np.float64(scale).astype(y.dtype)]).all()
    assert unchanged(x, before)


@settings(max_examples=examples(200), **SETTINGS)
@given(data=st.data())
def test_sequential(data):
    """A whole network: validation happens in the first layer, the rest sees clean arrays."""
    model = nn.Sequential(nn.Linear(3, 4, rng=np.random.default_rng(1)), nn.Tanh(),
                          nn.Linear(4, 2, rng=np.random.default_rng(2)), nn.LogSoftmax(dim=-1))
    W1, b1 = (p.data.astype(np.float64) for p in model[0].parameters())
    W2, b2 = (p.data.astype(np.float64) for p in model[2].parameters())
    shape = tuple(data.draw(st.lists(st.integers(0, 3), max_size=2), label="batch")) + (
        data.draw(st.sampled_from([3, 3, 2]), label="features"),)
    x = data.draw(arrays(shape=shape), label="x")

    def fwd(z):
        return _ref_log_softmax(np.tanh(z @ W1.T + b1) @ W2.T + b2, -1)

    def bwd(z, y, g):
        h = np.tanh(z @ W1.T + b1)
        d = g - np.exp(y) * g.sum(axis=-1, keepdims=True)
        return ((d @ W2) * (1 - h * h)) @ W1

    _run(model, x, fwd, bwd, param_dtype=np.float32, owner="Linear")


@pytest.mark.parametrize("name", list(ELEMENTWISE) + ["Softmax", "LogSoftmax", "Dropout"])
def test_zero_dim_input_gives_ndarray(name):
    """API: outputs are ndarrays. A 0-d input must not come back as a NumPy scalar (a ufunc
    applied to a 0-d array returns one); the input gradient likewise."""
    factory = ELEMENTWISE[name][0] if name in ELEMENTWISE else {
        "Softmax": lambda: nn.Softmax(0), "LogSoftmax": lambda: nn.LogSoftmax(0), "Dropout": nn.Dropout}[name]
    module = factory()
    x = np.array(0.5)
    y = module(x)
    if name in ("Softmax", "LogSoftmax"):  # PyTorch's: a softmax over the one value
        assert y == (1.0 if name == "Softmax" else 0.0)
        with pytest.raises(ValueError, match=f"{name} dim=1 is out of range for input with 0 dimension"):
            type(module)(1)(x)
    assert isinstance(y, np.ndarray) and y.shape == (), type(y)
    g = module.backward(np.array(1.0, dtype=y.dtype))
    assert isinstance(g, np.ndarray) and g.shape == (), type(g)
