"""Forward and backward hooks: what they see, that they can replace values, and removal."""

import numpy as np
import pytest

from chainrule import nn


class WrappedLinear(nn.Linear):
    def backward(self, grad_output):
        return super().backward(grad_output)  # hooks must still fire once, not twice


def test_hooks_see_shapes_and_fire_once_per_call():
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), WrappedLinear(5, 2))
    seen = []
    handles = [
        m.register_forward_hook(lambda mod, args, out: seen.append(("fwd", type(mod).__name__, args[0].shape, out.shape)))
        for m in model
    ] + [
        m.register_full_backward_hook(
            lambda mod, gin, gout: seen.append(("bwd", type(mod).__name__, gin[0].shape, gout[0].shape)))
        for m in model
    ]
    model(np.ones((4, 3)))
    model.backward(np.ones((4, 2), dtype=np.float32))
    assert seen == [
        ("fwd", "Linear", (4, 3), (4, 5)), ("fwd", "Tanh", (4, 5), (4, 5)), ("fwd", "WrappedLinear", (4, 5), (4, 2)),
        ("bwd", "WrappedLinear", (4, 5), (4, 2)), ("bwd", "Tanh", (4, 5), (4, 5)), ("bwd", "Linear", (4, 3), (4, 5)),
    ]
    for h in handles:
        h.remove()
    seen.clear()
    model(np.ones((4, 3)))
    model.backward(np.ones((4, 2)))
    assert seen == []


def test_hooks_can_replace_output_and_grad_input():
    relu = nn.ReLU()
    relu.register_forward_hook(lambda mod, args, out: out * 2)
    relu.register_full_backward_hook(lambda mod, gin, gout: (gin[0] + 1,))
    np.testing.assert_array_equal(relu(np.array([1.0, -1.0])), [2.0, 0.0])
    np.testing.assert_array_equal(relu.backward(np.array([1.0, 1.0])), [2.0, 1.0])


def test_backward_without_argument_is_still_a_type_error_for_layers():
    layer = nn.Linear(2, 2)
    layer.register_full_backward_hook(lambda *a: None)
    layer(np.ones((1, 2)))
    with pytest.raises(TypeError):
        layer.backward()


def test_loss_backward_default_grad_with_hook():
    loss = nn.MSELoss()
    grads = []
    loss.register_full_backward_hook(lambda mod, gin, gout: grads.append(gout[0]))
    loss(np.ones(3), np.zeros(3))
    loss.backward()
    assert grads == [1.0]


def test_handle_as_context_manager():
    tanh = nn.Tanh()
    calls = []
    with tanh.register_forward_hook(lambda *a: calls.append(1)):
        tanh(np.ones(2))
    tanh.backward(np.ones(2))
    tanh(np.ones(2))
    assert calls == [1]
