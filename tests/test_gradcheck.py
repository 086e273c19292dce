"""gradcheck itself: it passes a right backward and catches a wrong one, naming where."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


class WrongSigmoid(nn.Sigmoid):
    def backward(self, grad_output):
        (a,) = self.saved_tensors
        return grad_output * a  # forgot the (1 - a) factor


class WrongBiasLinear(nn.Linear):
    def backward(self, grad_output):
        out = super().backward(grad_output)
        self.bias.grad *= 2  # a bias gradient twice too large
        return out


def test_catches_wrong_input_gradient():
    with pytest.raises(cr.GradcheckError, match=r"WrongSigmoid: input 0 at index \(0, 0\): analytic .*, numeric"):
        cr.gradcheck(WrongSigmoid(), np.random.default_rng(0).standard_normal((3, 2)))


def test_catches_wrong_parameter_gradient():
    layer = WrongBiasLinear(3, 2, dtype=np.float64, rng=np.random.default_rng(0))
    with pytest.raises(cr.GradcheckError, match=r"parameter 'bias' at index \(0,\)"):
        cr.gradcheck(layer, np.ones((4, 3)))


def test_float32_module_is_checked_in_float64_and_restored():
    layer = nn.Linear(3, 2, rng=np.random.default_rng(0))
    before = layer.weight.data.copy()
    layer.weight.grad = np.full((2, 3), 5, dtype=np.float32)
    assert cr.gradcheck(layer, np.ones((4, 3), dtype=np.float32))
    assert layer.weight.dtype == np.float32
    np.testing.assert_array_equal(layer.weight.data, before)
    np.testing.assert_array_equal(layer.weight.grad, 5)
    assert layer.weight.grad.dtype == np.float32
    assert layer.bias.grad is None  # None before, None after


def test_frozen_parameters_are_not_checked():
    layer = nn.Linear(3, 2, dtype=np.float64, rng=np.random.default_rng(0))
    layer.weight.requires_grad = False  # backward computes no gradient for it
    assert cr.gradcheck(layer, np.random.default_rng(1).standard_normal((4, 3)))
    assert layer.weight.grad is None


class ForgetsBiasGradient(nn.Linear):
    def backward(self, grad_output):
        out = super().backward(grad_output)
        self.bias.grad = None  # as if backward never wrote it
        return out


def test_a_gradient_left_none_is_checked_as_zeros():
    layer = ForgetsBiasGradient(3, 2, dtype=np.float64, rng=np.random.default_rng(0))
    with pytest.raises(cr.GradcheckError, match=r"parameter 'bias' at index \(0,\): analytic 0.0, numeric"):
        cr.gradcheck(layer, np.ones((4, 3)))


def test_finite_difference_forwards_run_under_no_grad():
    seen = []
    layer = nn.Linear(3, 2, dtype=np.float64, rng=np.random.default_rng(0))
    layer.register_forward_hook(lambda module, args, output: seen.append(cr.is_grad_enabled()))
    assert cr.gradcheck(layer, np.ones((2, 3)))
    # the first forward keeps the cache its backward uses; the 2 * (6 + 8 + 2) others keep nothing
    assert seen == [True] + [False] * (2 * (6 + 6 + 2))


@pytest.mark.parametrize("kwargs, error, match", [
    ({"eps": 0}, ValueError, "gradcheck eps must be a finite number > 0, got 0"),
    ({"eps": -1e-6}, ValueError, "gradcheck eps must be a finite number > 0, got -1e-06"),
    ({"eps": float("nan")}, ValueError, "gradcheck eps must be a finite number > 0, got nan"),
    ({"eps": float("inf")}, ValueError, "gradcheck eps must be a finite number > 0, got inf"),
    ({"eps": "1e-6"}, TypeError, "gradcheck eps must be a finite number > 0, got '1e-6'"),
    ({"atol": -1e-5}, ValueError, "gradcheck atol must be a finite number >= 0, got -1e-05"),
    ({"atol": float("nan")}, ValueError, "gradcheck atol must be a finite number >= 0, got nan"),
    ({"rtol": -0.1}, ValueError, "gradcheck rtol must be a finite number >= 0, got -0.1"),
    ({"rtol": float("inf")}, ValueError, "gradcheck rtol must be a finite number >= 0, got inf"),
    ({"rtol": None}, TypeError, "gradcheck rtol must be a finite number >= 0, got None"),
])
def test_bad_tolerances_are_rejected(kwargs, error, match):
    with pytest.raises(error, match=match):
        cr.gradcheck(nn.Tanh(), np.ones((2, 2)), **kwargs)


def test_rejects_non_module():
    with pytest.raises(TypeError, match="gradcheck expects a Module"):
        cr.gradcheck(np.tanh, np.ones(2))
