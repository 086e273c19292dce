"""The activations' function pairs (``relu`` / ``relu_backward``, ...) in nn/activation.py:
each pair gives exactly its module's numbers, and torch.nn.functional's function's values and
autograd gradients, in float64 and float32, keeping the input's dtype.

A ``*_backward`` takes what PyTorch's derivative reads: the forward's output for sigmoid, tanh,
relu, softmax and log_softmax, its input for the others; then the forward's options, by the
same names.
"""

import numpy as np
import pytest

from chainrule import nn
from chainrule.nn import activation as A

OUTPUT, INPUT = "output", "input"

# name: (module class, what the backward takes, options)
CASES = {
    "sigmoid": (nn.Sigmoid, OUTPUT, {}),
    "tanh": (nn.Tanh, OUTPUT, {}),
    "relu": (nn.ReLU, OUTPUT, {}),
    "leaky_relu": (nn.LeakyReLU, INPUT, {}),
    "leaky_relu(0.2)": (nn.LeakyReLU, INPUT, {"negative_slope": 0.2}),
    "softmax(dim=-1)": (nn.Softmax, OUTPUT, {"dim": -1}),
    "softmax(dim=0)": (nn.Softmax, OUTPUT, {"dim": 0}),
    "log_softmax(dim=-1)": (nn.LogSoftmax, OUTPUT, {"dim": -1}),
    "log_softmax(dim=1)": (nn.LogSoftmax, OUTPUT, {"dim": 1}),
    "gelu": (nn.GELU, INPUT, {}),
    "gelu(tanh)": (nn.GELU, INPUT, {"approximate": "tanh"}),
    "silu": (nn.SiLU, INPUT, {}),
    "elu": (nn.ELU, INPUT, {}),
    "elu(alpha=0.5)": (nn.ELU, INPUT, {"alpha": 0.5}),
    "softplus": (nn.Softplus, INPUT, {}),
    "softplus(2, 5)": (nn.Softplus, INPUT, {"beta": 2.0, "threshold": 5.0}),
}
DTYPES = [np.float64, np.float32]


def pair(name):
    """The forward and backward functions of a case, by its F name."""
    fname = name.split("(")[0]
    return getattr(A, fname), getattr(A, f"{fname}_backward")


def inputs(dtype):
    rng = np.random.default_rng(0)
    spread = 3 * rng.standard_normal((3, 4, 5))
    # every regime: the far tails, softplus's switch, either side of 0, and 0 itself
    special = np.array([-1e4, -60.0, -20.0, -1.0, -1e-8, 0.0, 1e-8, 1.0, 2.5, 10.0, 20.0, 60.0,
                        700.0 if dtype == np.float64 else 80.0, 1e4, -0.3, 0.7, -5.0, 4.0, 12.0, -12.0])
    return [spread.astype(dtype), special.reshape(2, 2, 5).astype(dtype)]


def run_pair(name, x, g):
    _, takes, options = CASES[name]
    forward, backward = pair(name)
    y = forward(x, **options)
    return y, backward(g, y if takes == OUTPUT else x, **options)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", list(CASES))
def test_pair_gives_its_modules_numbers_exactly(name, dtype):
    make, _, options = CASES[name]
    for x in inputs(dtype):
        g = np.random.default_rng(1).standard_normal(x.shape).astype(dtype)
        module = make(**options)
        y_module = module(x)
        dx_module = module.backward(g)
        y, dx = run_pair(name, x, g)
        assert y.dtype == dx.dtype == dtype and y.shape == dx.shape == x.shape
        np.testing.assert_array_equal(y, y_module)
        np.testing.assert_array_equal(dx, dx_module)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "leaky_relu", "gelu", "gelu(tanh)", "silu",
                                  "elu", "softplus"])
def test_elementwise_pairs_keep_a_zero_dim_input_an_array(name):
    y, dx = run_pair(name, np.array(0.5), np.array(1.0))
    assert isinstance(y, np.ndarray) and y.shape == () and isinstance(dx, np.ndarray) and dx.shape == ()


@pytest.mark.parametrize("name", ["gelu", "gelu(tanh)", "silu"])
def test_a_kept_term_gives_the_same_numbers_as_recomputing_it(name):
    # GELU and SiLU modules hand the pair the term their forward computed (Phi(z), tanh u or
    # sigma(z)) instead of computing it again: the numbers must not depend on which.
    _, _, options = CASES[name]
    forward, backward = pair(name)
    for dtype in DTYPES:
        for x in inputs(dtype):
            g = np.random.default_rng(1).standard_normal(x.shape).astype(dtype)
            if name.startswith("gelu"):
                term = A.gelu_term(x, **options)
            else:
                term = np.asarray(A.sigmoid(x))
            np.testing.assert_array_equal(forward(x, **options, term=term), forward(x, **options))
            np.testing.assert_array_equal(backward(g, x, **options, term=term), backward(g, x, **options))


def test_attention_and_softmax_share_one_softmax_backward():
    from chainrule.nn import attention

    assert attention.softmax_backward is A.softmax_backward


# -- against torch.nn.functional --------------------------------------------------------------

# Where a derivative is a difference of terms near 1 its absolute error is about one rounding
# of 1 (1e-16, times |g| and the factors after it), and the two libraries' tanh differ in the
# last bit: tanh's 1 - a^2 as the unit saturates (a relative 2e-9 at z = 10), GELU(tanh)'s
# 1 + tanh u in its left tail (see tests/vs_torch/test_activations.py). Those two are compared
# absolutely below 1e-15 / 1e-14 in float64, everything else relatively to 1e-10.
# float32: relative 2e-6, absolute 1e-5, as in tests/vs_torch/test_activations.py.
ATOL64 = {"tanh": 1e-15, "gelu(tanh)": 1e-14}


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", list(CASES))
def test_pair_matches_torch_functional_and_autograd(name, dtype):
    torch = pytest.importorskip("torch", reason="torch is not installed")
    _, _, options = CASES[name]
    functional = getattr(torch.nn.functional, name.split("(")[0])
    rtol, atol = (1e-10, ATOL64.get(name, 1e-300)) if dtype == np.float64 else (2e-6, 1e-5)
    for x in inputs(dtype):
        g = np.random.default_rng(1).standard_normal(x.shape).astype(dtype)
        y, dx = run_pair(name, x, g)
        xt = torch.tensor(x, requires_grad=True)
        yt = functional(xt, **options)
        yt.backward(torch.from_numpy(g))
        assert y.dtype == dx.dtype == dtype
        np.testing.assert_allclose(y, yt.detach().numpy(), rtol=rtol, atol=atol)
        np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=rtol, atol=atol)
