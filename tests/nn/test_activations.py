"""The activations: GELU, SiLU, ELU and Softplus against central finite differences (float64)
over their options and shapes, extreme inputs without warnings, dtypes, reprs and errors; and
the behaviour of Sigmoid, Tanh, ReLU, LeakyReLU, Softmax and LogSoftmax that their entries in
test_layers.py's gradcheck table do not cover (stability, values, derivatives at 0 and NaN).
Flatten and Unflatten: test_flatten.py."""

import math
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

# Shapes from PyTorch's module tests (common_modules.py): a scalar, no batch dim, (3, 2, 5), 4-d.
SHAPES = [(), (4,), (3, 2, 5), (2, 3, 2, 5)]

ACTIVATIONS = {
    "GELU": nn.GELU,
    "GELU(approximate='tanh')": lambda: nn.GELU(approximate="tanh"),
    "SiLU": nn.SiLU,
    "ELU": nn.ELU,
    "ELU(alpha=2.0)": lambda: nn.ELU(alpha=2.0),
    "Softplus": nn.Softplus,
    "Softplus(beta=2)": lambda: nn.Softplus(2),
    "Softplus(beta=2, threshold=-100)": lambda: nn.Softplus(2, -100),
    "Softplus(beta=0.5, threshold=1)": lambda: nn.Softplus(0.5, 1.0),
}


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_gradcheck(name, shape):
    x = np.random.default_rng(0).standard_normal(shape) * 3
    # ELU's derivative jumps at 0 (1 vs alpha) and Softplus's at beta*x = threshold (sigma vs 1):
    # keep inputs away from the kinks so central differences are valid.
    x = np.where(np.abs(x) < 1e-3, 0.5, x)
    x = np.where(np.abs(x - 2.0) < 1e-3, 2.5, x)
    assert cr.gradcheck(ACTIVATIONS[name](), x)


FORMULAS = {  # (module, forward reference, derivative reference), plain NumPy/math
    "GELU": (nn.GELU, lambda z: z * 0.5 * (1 + math.erf(z / math.sqrt(2))),
             lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2))) + z * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)),
    "SiLU": (nn.SiLU, lambda z: z / (1 + math.exp(-z)),
             lambda z: (s := 1 / (1 + math.exp(-z))) * (1 + z * (1 - s))),
    "ELU(alpha=2.0)": (lambda: nn.ELU(2.0), lambda z: z if z > 0 else 2.0 * (math.exp(z) - 1),
                       lambda z: 1.0 if z > 0 else 2.0 * math.exp(z)),
    "Softplus(beta=2)": (lambda: nn.Softplus(2), lambda z: math.log1p(math.exp(2 * z)) / 2,
                         lambda z: 1 / (1 + math.exp(-2 * z))),
}


@pytest.mark.parametrize("name", list(FORMULAS))
def test_values_and_derivatives_match_the_formulas(name):
    make, f, df = FORMULAS[name]
    z = np.array([-3.0, -0.5, 0.25, 1.7])
    module = make()
    np.testing.assert_allclose(module(z), [f(v) for v in z], rtol=1e-13)
    np.testing.assert_allclose(module.backward(np.ones(4)), [df(v) for v in z], rtol=1e-12)


def test_gelu_tanh_is_close_to_exact_and_equal_at_zero():
    z = np.linspace(-4, 4, 81)
    with cr.no_grad():
        exact, approx = nn.GELU()(z), nn.GELU("tanh")(z)
    assert np.abs(exact - approx).max() < 1e-3
    assert approx[40] == exact[40] == 0.0


def test_elu_derivative_at_zero_is_alpha_as_pytorch():
    elu = nn.ELU(alpha=3.0)
    elu(np.array([0.0]))
    np.testing.assert_array_equal(elu.backward(np.ones(1)), [3.0])


def test_softplus_is_linear_above_threshold():
    sp = nn.Softplus(beta=2.0, threshold=10.0)
    x = np.array([4.9, 5.1])                  # beta x = 9.8 (log form) and 10.2 (identity)
    y = sp(x)
    assert y[1] == 5.1 and y[0] == pytest.approx(math.log1p(math.exp(9.8)) / 2, rel=1e-15)
    np.testing.assert_allclose(sp.backward(np.ones(2)), [1 / (1 + math.exp(-9.8)), 1.0], rtol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_extreme_inputs_give_no_warnings_and_keep_dtype(name, dtype):
    # pytest turns warnings into errors: an overflow in exp, tanh's argument or x**3 would fail here.
    x = np.array([-1e4, -100.0, -1.0, 0.0, 1.0, 100.0, 1e4], dtype=dtype)
    module = ACTIVATIONS[name]()
    y = module(x)
    g = module.backward(np.ones_like(y))
    assert y.dtype == dtype and g.dtype == dtype
    assert np.isfinite(y).all() and np.isfinite(g).all()


def test_extreme_values():
    x = np.array([-1e4, 0.0, 1e4])
    with cr.no_grad():
        np.testing.assert_array_equal(nn.GELU()(x), [0.0, 0.0, 1e4])
        np.testing.assert_array_equal(nn.GELU("tanh")(x), [0.0, 0.0, 1e4])
        np.testing.assert_array_equal(nn.SiLU()(x), [0.0, 0.0, 1e4])
        np.testing.assert_array_equal(nn.ELU(2.0)(x), [-2.0, 0.0, 1e4])
        np.testing.assert_array_equal(nn.Softplus()(x), [0.0, math.log(2.0), 1e4])
        # a threshold so large that the log form is used at 1e4 still does not overflow
        np.testing.assert_array_equal(nn.Softplus(threshold=1e6)(x), [0.0, math.log(2.0), 1e4])


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_zero_dim_input_gives_arrays(name):
    module = ACTIVATIONS[name]()
    y = module(np.array(0.5))
    assert isinstance(y, np.ndarray) and y.shape == ()
    g = module.backward(np.array(1.0))
    assert isinstance(g, np.ndarray) and g.shape == ()


def test_reprs_like_pytorch():
    assert repr(nn.GELU()) == "GELU(approximate='none')"
    assert repr(nn.GELU(approximate="tanh")) == "GELU(approximate='tanh')"
    assert repr(nn.SiLU()) == "SiLU()"
    assert repr(nn.ELU()) == "ELU(alpha=1.0)"
    assert repr(nn.Softplus()) == "Softplus(beta=1.0, threshold=20.0)"
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    assert repr(nn.Unflatten(1, (2, 5, 5))) == "Unflatten(dim=1, unflattened_size=(2, 5, 5))"
    assert repr(nn.Unflatten(-1, [2, 3])) == "Unflatten(dim=-1, unflattened_size=[2, 3])"


# -- errors -------------------------------------------------------------------------------

def test_gelu_refuses_other_approximations():
    with pytest.raises(ValueError, match=r"GELU approximate must be 'none' or 'tanh', got 'erf'"):
        nn.GELU("erf")
    with pytest.raises(ValueError, match=r"GELU approximate must be 'none' or 'tanh', got None"):
        nn.GELU(None)


def test_bad_numbers():
    with pytest.raises(TypeError, match="ELU alpha must be a number, got '1'"):
        nn.ELU("1")
    with pytest.raises(TypeError, match="Softplus beta must be a number, got None"):
        nn.Softplus(None)
    with pytest.raises(TypeError, match="Softplus threshold must be a number, got True"):
        nn.Softplus(1.0, True)
    with pytest.raises(ValueError, match="Softplus beta must be non-zero"):
        nn.Softplus(0)


@pytest.mark.parametrize("cls", [nn.GELU, nn.SiLU, nn.ELU, nn.Softplus, nn.Flatten])
def test_backward_before_forward_and_twice(cls):
    module = cls()
    with pytest.raises(RuntimeError, match=rf"{cls.__name__}.backward\(\) called before forward\(\)"):
        module.backward(np.ones((2, 3)))
    module(np.ones((2, 3)))
    module.backward(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match=rf"{cls.__name__}.backward\(\) called a second time"):
        module.backward(np.ones((2, 3)))


@pytest.mark.parametrize("cls", [nn.GELU, nn.SiLU, nn.ELU, nn.Softplus, nn.Flatten])
def test_grad_output_shape_is_checked(cls):
    module = cls()
    out_shape = module(np.ones((2, 3))).shape
    with pytest.raises(ValueError, match=rf"{cls.__name__}.backward expected grad_output of shape "
                                         rf"{re.escape(str(out_shape))}.*got \(3,\)"):
        module.backward(np.ones(3))


def test_activation_input_type_error():
    with pytest.raises(TypeError, match="GELU expected input to be a real numeric array, got dtype complex128"):
        nn.GELU()(np.ones(2, dtype=complex))


@pytest.mark.parametrize("cls", [nn.Sigmoid, nn.Softmax, nn.LogSoftmax, nn.Tanh])
def test_stable_for_huge_inputs(cls):
    x = np.array([[-1e4, 0.0, 1e4], [1e4, 1e4, -1e4]], dtype=np.float32)
    module = cls()
    y = module(x)  # warnings are errors in this test suite
    g = module.backward(np.ones_like(y))
    assert np.isfinite(y).all() and np.isfinite(g).all()
    assert y.dtype == np.float32


def test_softmax_values():
    s = nn.Softmax()(np.array([[1.0, 2.0, 3.0]]))
    e = np.exp([1.0, 2.0, 3.0])
    np.testing.assert_allclose(s[0], e / e.sum())
    np.testing.assert_allclose(nn.LogSoftmax()(np.array([1e4, 0.0])), [0.0, -1e4])


def test_relu_derivative_at_zero_is_zero():
    relu = nn.ReLU()
    relu(np.array([-1.0, 0.0, 2.0]))
    np.testing.assert_array_equal(relu.backward(np.ones(3)), [0.0, 0.0, 1.0])
    leaky = nn.LeakyReLU(0.1)
    leaky(np.array([-1.0, 0.0, 2.0]))
    np.testing.assert_allclose(leaky.backward(np.ones(3)), [0.1, 0.1, 1.0])


def test_softmax_dim_out_of_range():
    with pytest.raises(ValueError, match="Softmax dim=2 is out of range for input with 2 dimension"):
        nn.Softmax(dim=2)(np.ones((2, 3)))


def test_relu_passes_the_gradient_where_the_input_is_nan_as_pytorch():
    relu = nn.ReLU()
    a = relu(np.array([np.nan, -1.0, 2.0, 0.0]))
    assert np.isnan(a[0])
    np.testing.assert_array_equal(relu.backward(np.full(4, 3.0)), [3.0, 0.0, 3.0, 0.0])
