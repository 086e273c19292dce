"""The simple layers in one table (Linear, the classic activations, Softmax, LogSoftmax,
Sequential) against central finite differences (float64), over the shapes they accept; plus
Linear's and Dropout's behaviour and the errors the table's layers raise. The activations'
own behaviour: test_activations.py."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

SHAPES = [(5, 4), (4,), (2, 3, 4)]  # (N, F), (F,), (B, T, F)


def make(name):
    f64 = np.float64
    return {
        "Linear": lambda: nn.Linear(4, 3, dtype=f64, rng=np.random.default_rng(1)),
        "Linear(bias=False)": lambda: nn.Linear(4, 3, bias=False, dtype=f64, rng=np.random.default_rng(2)),
        "Sigmoid": nn.Sigmoid,
        "Tanh": nn.Tanh,
        "ReLU": nn.ReLU,
        "LeakyReLU": lambda: nn.LeakyReLU(0.2),
        "Identity": nn.Identity,
        "Softmax": nn.Softmax,
        "Softmax(dim=0)": lambda: nn.Softmax(dim=0),
        "LogSoftmax": nn.LogSoftmax,
        "LogSoftmax(dim=0)": lambda: nn.LogSoftmax(dim=0),
        "Sequential": lambda: nn.Sequential(
            nn.Linear(4, 6, dtype=f64, rng=np.random.default_rng(3)), nn.Tanh(),
            nn.Linear(6, 2, dtype=f64, rng=np.random.default_rng(4)), nn.LogSoftmax(),
        ),
    }[name]()


NAMES = ["Linear", "Linear(bias=False)", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Identity",
         "Softmax", "Softmax(dim=0)", "LogSoftmax", "LogSoftmax(dim=0)", "Sequential"]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", NAMES)
def test_gradcheck(name, shape):
    x = np.random.default_rng(0).standard_normal(shape)
    # ReLU/LeakyReLU have a kink at 0: keep inputs away from it so central differences are valid.
    x[np.abs(x) < 1e-3] = 0.5
    assert cr.gradcheck(make(name), x)


class _ReseededDropout(nn.Dropout):
    """Dropout whose mask is the same on every forward, so finite differences see one function."""

    def forward(self, x):
        self.rng = np.random.default_rng(7)
        return super().forward(x)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
def test_dropout_gradcheck(p, shape):
    x = np.random.default_rng(0).standard_normal(shape)
    assert cr.gradcheck(_ReseededDropout(p), x)


def test_dropout_is_inverted_and_identity_in_eval():
    x = np.ones((2000, 50), dtype=np.float32)
    drop = nn.Dropout(0.3, rng=np.random.default_rng(0))
    y = drop(x)
    assert y.dtype == np.float32
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_array_equal(drop.backward(np.ones_like(x)), y)  # same mask, same scale
    drop.eval()
    assert drop(x) is x or np.array_equal(drop(x), x)


def test_dropout_uses_manual_seed():
    cr.manual_seed(3)
    a = nn.Dropout(0.5)(np.ones(100))
    cr.manual_seed(3)
    b = nn.Dropout(0.5)(np.ones(100))
    np.testing.assert_array_equal(a, b)


def test_linear_shapes_and_default_init():
    layer = nn.Linear(400, 30, rng=np.random.default_rng(0))
    assert layer.weight.shape == (30, 400) and layer.bias.shape == (30,)
    assert layer.weight.dtype == np.float32
    bound = 1 / np.sqrt(400)
    assert np.abs(layer.weight.data).max() <= bound
    # U(-b, b) has std b / sqrt(3)
    assert abs(layer.weight.data.std() - bound / np.sqrt(3)) < 0.02 * bound
    with cr.no_grad():
        assert layer(np.zeros((7, 400))).shape == (7, 30)
        assert layer(np.zeros(400)).shape == (30,)
        assert layer(np.zeros((2, 5, 400))).shape == (2, 5, 30)
    assert repr(layer) == "Linear(in_features=400, out_features=30, bias=True)"


def test_linear_computes_in_parameter_dtype():
    layer = nn.Linear(3, 2, rng=np.random.default_rng(0))
    y = layer(np.ones((4, 3), dtype=np.float64))  # float64 data into a float32 layer
    assert y.dtype == np.float32
    assert layer.backward(np.ones((4, 2))).dtype == np.float32
    assert layer.weight.grad.dtype == np.float32
    assert nn.Linear(3, 2)(np.ones((1, 3), dtype=np.int64)).dtype == np.float32


def test_backward_accumulates_into_grad():
    layer = nn.Linear(3, 2, dtype=np.float64, rng=np.random.default_rng(0))
    x, g = np.ones((4, 3)), np.ones((4, 2))
    layer(x)
    layer.backward(g)
    once = layer.weight.grad.copy()
    layer(x)
    layer.backward(g)
    np.testing.assert_allclose(layer.weight.grad, 2 * once)
    layer.zero_grad()
    assert layer.weight.grad is None


# -- errors -------------------------------------------------------------------------------

@pytest.mark.parametrize("cls", [nn.Sigmoid, nn.Tanh, nn.ReLU, nn.LeakyReLU, nn.Identity,
                                 nn.Softmax, nn.LogSoftmax, nn.Dropout, nn.MSELoss])
def test_backward_before_forward(cls):
    with pytest.raises(RuntimeError, match=rf"{cls.__name__}.backward\(\) called before forward\(\)"):
        cls().backward(np.ones(3))


def test_linear_backward_before_forward():
    with pytest.raises(RuntimeError, match=r"Linear.backward\(\) called before forward\(\)"):
        nn.Linear(3, 2).backward(np.ones((1, 2)))


def test_linear_wrong_feature_count():
    with pytest.raises(ValueError, match=r"Linear expected input with last dimension 3 \(in_features\), got shape \(8, 4\)"):
        nn.Linear(3, 2)(np.ones((8, 4)))


def test_linear_bad_constructor_and_dtype():
    with pytest.raises(ValueError, match="Linear in_features must be a non-negative int, got -1"):
        nn.Linear(-1, 2)
    with pytest.raises(TypeError, match="Linear dtype must be float32 or float64, got .*int32"):
        nn.Linear(2, 2, dtype=np.int32)
    with pytest.raises(TypeError, match="Linear expected input to be a real numeric array, got dtype complex128"):
        nn.Linear(2, 2)(np.ones((1, 2), dtype=complex))


def test_grad_output_shape_is_checked():
    layer = nn.Linear(3, 2)
    layer(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"Linear.backward expected grad_output of shape \(4, 2\), got \(4, 3\)"):
        layer.backward(np.ones((4, 3)))
    tanh = nn.Tanh()
    tanh(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"Tanh.backward expected grad_output of shape \(4, 3\).*got \(3,\)"):
        tanh.backward(np.ones(3))


def test_dropout_bad_p():
    with pytest.raises(ValueError, match=r"Dropout p must be a probability in \[0, 1\], got 1.5"):
        nn.Dropout(1.5)


@pytest.mark.parametrize("cls", [nn.Sigmoid, nn.Tanh, nn.ReLU, nn.Identity])
def test_zero_dim_input_gives_arrays(cls):
    module = cls()
    y = module(np.array(0.5))
    assert isinstance(y, np.ndarray) and y.shape == ()
    assert isinstance(module.backward(np.array(1.0)), np.ndarray)


def test_linear_needs_input_grad_false_skips_only_the_input_gradient():
    rng = np.random.default_rng(0)
    x, g = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    full = nn.Linear(3, 2, dtype=np.float64, rng=np.random.default_rng(1))
    first = nn.Linear(3, 2, dtype=np.float64, rng=np.random.default_rng(1))
    first.needs_input_grad = False
    assert nn.Module.needs_input_grad and full.needs_input_grad
    full(x)
    first(x)
    assert full.backward(g).shape == (5, 3)
    assert first.backward(g) is None
    np.testing.assert_array_equal(first.weight.grad, full.weight.grad)
    np.testing.assert_array_equal(first.bias.grad, full.bias.grad)
