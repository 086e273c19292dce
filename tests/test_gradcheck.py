"""gradcheck itself: it passes a right backward and catches a wrong one, naming where."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


class WrongSigmoid(nn.Sigmoid):
    def backward(self, grad_output):
        (a,) = self._saved()
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
    layer.weight.grad += 5
    assert cr.gradcheck(layer, np.ones((4, 3), dtype=np.float32))
    assert layer.weight.dtype == np.float32
    np.testing.assert_array_equal(layer.weight.data, before)
    np.testing.assert_array_equal(layer.weight.grad, 5)


def test_rejects_non_module():
    with pytest.raises(TypeError, match="gradcheck expects a Module"):
        cr.gradcheck(np.tanh, np.ones(2))
