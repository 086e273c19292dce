"""Conv1d and Conv2d against central finite differences (float64) over their options, their
initialisation, repr, dtype handling, and the errors they raise."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

f64 = np.float64

# (description, constructor keywords, input shape); inputs are small: gradcheck perturbs every element.
CONV1D = [
    ("plain", dict(in_channels=2, out_channels=3, kernel_size=3), (2, 2, 7)),
    ("stride 2, padding 1", dict(in_channels=2, out_channels=3, kernel_size=3, stride=2, padding=1), (2, 2, 8)),
    ("stride 3, uncovered tail", dict(in_channels=2, out_channels=2, kernel_size=2, stride=3), (2, 2, 9)),
    ("dilation 2", dict(in_channels=2, out_channels=3, kernel_size=3, dilation=2), (2, 2, 9)),
    ("groups 2, no bias", dict(in_channels=4, out_channels=6, kernel_size=3, groups=2, bias=False), (2, 4, 6)),
    ("depthwise", dict(in_channels=3, out_channels=3, kernel_size=2, groups=3), (2, 3, 5)),
    ("same, odd kernel", dict(in_channels=2, out_channels=3, kernel_size=3, padding="same"), (2, 2, 6)),
    ("same, even kernel", dict(in_channels=2, out_channels=2, kernel_size=4, padding="same"), (2, 2, 6)),
    ("same, dilated", dict(in_channels=2, out_channels=2, kernel_size=2, padding="same", dilation=3), (2, 2, 7)),
    ("valid", dict(in_channels=2, out_channels=3, kernel_size=3, padding="valid"), (2, 2, 6)),
    ("padding larger than the kernel", dict(in_channels=1, out_channels=2, kernel_size=2, padding=3), (2, 1, 3)),
    ("all at once", dict(in_channels=4, out_channels=2, kernel_size=3, stride=2, padding=2, dilation=2, groups=2),
     (2, 4, 9)),
    ("unbatched", dict(in_channels=2, out_channels=3, kernel_size=3, stride=2, padding=1), (2, 7)),
]
CONV2D = [
    ("plain, (3, 2) kernel", dict(in_channels=2, out_channels=3, kernel_size=(3, 2)), (2, 2, 5, 4)),
    ("stride 2, padding 1", dict(in_channels=2, out_channels=2, kernel_size=3, stride=2, padding=1), (2, 2, 5, 6)),
    ("tuple stride and padding", dict(in_channels=1, out_channels=2, kernel_size=(2, 3), stride=(2, 1), padding=(1, 0)),
     (2, 1, 5, 5)),
    ("dilation (2, 1)", dict(in_channels=2, out_channels=2, kernel_size=2, dilation=(2, 1)), (2, 2, 5, 4)),
    ("groups 2, no bias", dict(in_channels=4, out_channels=2, kernel_size=2, groups=2, bias=False), (2, 4, 4, 4)),
    ("same, (3, 4) kernel", dict(in_channels=2, out_channels=2, kernel_size=(3, 4), padding="same"), (1, 2, 4, 5)),
    ("same, dilated", dict(in_channels=1, out_channels=2, kernel_size=(3, 2), padding="same", dilation=2), (2, 1, 5, 4)),
    ("valid", dict(in_channels=2, out_channels=2, kernel_size=2, padding="valid"), (2, 2, 4, 3)),
    ("all at once", dict(in_channels=2, out_channels=4, kernel_size=2, stride=(2, 3), padding=(1, 2), dilation=2,
                         groups=2), (2, 2, 6, 7)),
    ("unbatched", dict(in_channels=2, out_channels=2, kernel_size=3, padding=1), (2, 4, 4)),
]


@pytest.mark.parametrize("kwargs, shape", [c[1:] for c in CONV1D], ids=[c[0] for c in CONV1D])
def test_conv1d_gradcheck(kwargs, shape):
    rng = np.random.default_rng(0)
    layer = nn.Conv1d(**kwargs, dtype=f64, rng=rng)
    assert cr.gradcheck(layer, rng.standard_normal(shape))


@pytest.mark.parametrize("kwargs, shape", [c[1:] for c in CONV2D], ids=[c[0] for c in CONV2D])
def test_conv2d_gradcheck(kwargs, shape):
    rng = np.random.default_rng(1)
    layer = nn.Conv2d(**kwargs, dtype=f64, rng=rng)
    assert cr.gradcheck(layer, rng.standard_normal(shape))


def test_conv_in_a_network_gradcheck():
    rng = np.random.default_rng(2)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, dtype=f64, rng=rng), nn.Tanh(),
                          nn.Conv2d(2, 2, 2, stride=2, dtype=f64, rng=rng))
    assert cr.gradcheck(model, rng.standard_normal((2, 1, 4, 4)))


def test_output_shapes_follow_pytorchs_formula():
    # L_out = floor((L + 2p - d(k - 1) - 1) / s) + 1
    with cr.no_grad():
        assert nn.Conv1d(1, 25, 5, stride=2, padding=1)(np.zeros((100, 1, 40))).shape == (100, 25, 19)
        assert nn.Conv2d(3, 8, (3, 5), stride=(2, 1), padding=(0, 2), dilation=(1, 2))(np.zeros((2, 3, 9, 9))).shape \
            == (2, 8, 4, 5)
        assert nn.Conv1d(2, 2, 4, padding="same", dilation=3)(np.zeros((2, 7))).shape == (2, 7)


def test_same_padding_puts_the_odd_zero_after():
    layer = nn.Conv1d(1, 1, 2, padding="same", bias=False, dtype=f64)
    layer.weight.data[...] = [[[1.0, 10.0]]]  # y[i] = x[i] + 10 x[i + 1]: the extra zero is on the right
    with cr.no_grad():
        np.testing.assert_array_equal(layer(np.array([[1.0, 2.0, 3.0]])), [[21.0, 32.0, 3.0]])


def test_a_worked_example_by_hand():
    # x = [1, 2, 3, 4], w = [1, -1], b = 0.5, stride 2: y = [1 - 2 + .5, 3 - 4 + .5] = [-0.5, -0.5].
    layer = nn.Conv1d(1, 1, 2, stride=2, dtype=f64)
    layer.weight.data[...] = [[[1.0, -1.0]]]
    layer.bias.data[...] = 0.5
    y = layer(np.array([[[1.0, 2.0, 3.0, 4.0]]]))
    np.testing.assert_array_equal(y, [[[-0.5, -0.5]]])
    dx = layer.backward(np.array([[[2.0, 3.0]]]))
    # each delta goes back through the kernel it was made with: [2*1, 2*-1, 3*1, 3*-1]
    np.testing.assert_array_equal(dx, [[[2.0, -2.0, 3.0, -3.0]]])
    # dW[k] = sum_p delta[p] x[2p + k] = [2*1 + 3*3, 2*2 + 3*4]; db = 2 + 3
    np.testing.assert_array_equal(layer.weight.grad, [[[11.0, 16.0]]])
    np.testing.assert_array_equal(layer.bias.grad, [5.0])


def test_init_is_pytorchs_uniform_bound():
    layer = nn.Conv2d(6, 8, (3, 2), groups=2, rng=np.random.default_rng(0))
    fan_in = 3 * 3 * 2  # in_channels / groups * prod(kernel)
    assert layer.weight.shape == (8, 3, 3, 2) and layer.bias.shape == (8,)
    bound = 1 / math.sqrt(fan_in)
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.weight.data).max() > 0.9 * bound
    assert np.abs(layer.bias.data).max() <= bound
    assert layer.weight.dtype == np.float32
    cr.manual_seed(5)
    a = nn.Conv1d(2, 3, 3).weight.data.copy()
    cr.manual_seed(5)
    np.testing.assert_array_equal(a, nn.Conv1d(2, 3, 3).weight.data)


def test_repr_like_pytorchs():
    assert repr(nn.Conv2d(3, 4, 3)) == "Conv2d(3, 4, kernel_size=(3, 3), stride=(1, 1))"
    assert repr(nn.Conv1d(4, 4, 3, stride=2, padding=1, dilation=2, groups=2, bias=False)) == (
        "Conv1d(4, 4, kernel_size=(3,), stride=(2,), padding=(1,), dilation=(2,), groups=2, bias=False)")
    assert repr(nn.Conv2d(4, 4, (3, 2), padding="same")) == "Conv2d(4, 4, kernel_size=(3, 2), stride=(1, 1), padding=same)"
    assert repr(nn.Conv2d(4, 4, 3, padding=1, padding_mode="reflect")) == (
        "Conv2d(4, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), padding_mode=reflect)")
    assert list(nn.Conv1d(1, 2, 3).state_dict()) == ["weight", "bias"]


def test_float32_stays_float32():
    layer = nn.Conv2d(2, 3, 3, stride=2, padding=1, groups=1)
    x = np.random.default_rng(0).standard_normal((2, 2, 5, 5)).astype(np.float32)
    y = layer(x)
    dx = layer.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == layer.weight.grad.dtype == layer.bias.grad.dtype == np.float32


def test_gradients_accumulate_and_frozen_parameters_get_none():
    rng = np.random.default_rng(0)
    layer = nn.Conv1d(2, 2, 3, dtype=f64, rng=rng)
    x = rng.standard_normal((2, 2, 5))
    g = rng.standard_normal((2, 2, 3))
    layer(x)
    layer.backward(g)
    first = layer.weight.grad.copy()
    layer(x)
    layer.backward(g)
    np.testing.assert_allclose(layer.weight.grad, 2 * first)
    layer.zero_grad()
    layer.weight.requires_grad_(False)
    layer(x)
    dx = layer.backward(g)
    assert layer.weight.grad is None and layer.bias.grad is not None and dx.shape == x.shape


def test_needs_input_grad_false_skips_the_input_gradient():
    layer = nn.Conv1d(1, 2, 3)
    layer.needs_input_grad = False
    y = layer(np.ones((2, 1, 5), dtype=np.float32))
    assert layer.backward(np.ones_like(y)) is None
    assert layer.weight.grad is not None


def test_backward_twice_and_before_forward_raise():
    layer = nn.Conv1d(1, 1, 2)
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones((1, 1, 2)))
    y = layer(np.ones((1, 1, 3)))
    layer.backward(np.ones_like(y))
    with pytest.raises(RuntimeError, match="second time"):
        layer.backward(np.ones_like(y))


@pytest.mark.parametrize("make, match", [
    (lambda: nn.Conv2d(3, 4, 3, groups=2), r"in_channels must be divisible by groups, got in_channels=3, groups=2"),
    (lambda: nn.Conv2d(4, 3, 3, groups=2), r"out_channels must be divisible by groups, got out_channels=3, groups=2"),
    (lambda: nn.Conv2d(4, 4, 3, groups=0), r"groups must be a positive int, got 0"),
    (lambda: nn.Conv1d(0, 4, 3), r"in_channels must be a positive int, got 0"),
    (lambda: nn.Conv2d(3, 4, 3, stride=2, padding="same"), r"padding='same' needs stride 1"),
    (lambda: nn.Conv1d(3, 4, 3, padding="full"), r"padding must be an int, a tuple of 1 ints, 'same' or 'valid', got 'full'"),
    (lambda: nn.Conv2d(3, 4, 0), r"kernel_size must be >= 1, got 0"),
    (lambda: nn.Conv2d(3, 4, 3, stride=0), r"stride must be >= 1, got 0"),
    (lambda: nn.Conv2d(3, 4, 3, padding=-1), r"padding must be >= 0, got -1"),
    (lambda: nn.Conv2d(3, 4, (3, 3, 3)), r"kernel_size must be an int or a tuple of 2 ints, got \(3, 3, 3\)"),
    (lambda: nn.Conv2d(3, 4, 2.5), r"kernel_size must be an int or a tuple of 2 ints, got 2.5"),
    (lambda: nn.Conv2d(3, 4, 3, padding_mode="mirror"),
     r"Conv2d padding_mode must be one of 'zeros', 'reflect', 'replicate', 'circular', got 'mirror'"),
    (lambda: nn.Conv1d(3, 4, 3, padding_mode="constant"), r"Conv1d padding_mode must be one of 'zeros', .*got 'constant'"),
    (lambda: nn.Conv2d(3, 4, 3, dtype=np.int32), r"Conv2d dtype must be float32 or float64"),
])
def test_bad_arguments(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


@pytest.mark.parametrize("layer, shape, match", [
    (nn.Conv2d(3, 4, 3), (1, 3, 2, 2),
     r"Conv2d: the padded input is 2 x 2 per channel but the \(dilated\) kernel spans 3 x 3"),
    (nn.Conv1d(1, 1, 3, dilation=3), (1, 1, 6), r"the padded input is 6 per channel but the \(dilated\) kernel spans 7"),
    (nn.Conv2d(3, 4, 3), (1, 4, 5, 5), r"Conv2d expected input with 3 channels \(in_channels\) on axis 1, got shape \(1, 4, 5, 5\)"),
    (nn.Conv2d(3, 4, 3), (4, 5, 5), r"expected input with 3 channels \(in_channels\) on axis 0, got shape \(4, 5, 5\)"),
    (nn.Conv2d(3, 4, 3), (5, 5), r"Conv2d expected a 3-D \(unbatched\) or 4-D \(batched\) input, got shape \(5, 5\)"),
    (nn.Conv1d(3, 4, 3), (1, 3, 5, 5), r"Conv1d expected a 2-D \(unbatched\) or 3-D \(batched\) input, got shape"),
])
def test_bad_input(layer, shape, match):
    with cr.no_grad(), pytest.raises(ValueError, match=match):
        layer(np.zeros(shape, dtype=np.float32))


def test_bad_grad_output_shape():
    layer = nn.Conv1d(1, 2, 3)
    layer(np.zeros((2, 1, 5), dtype=np.float32))
    with pytest.raises(ValueError, match=r"Conv1d.backward expected grad_output of shape \(2, 2, 3\)"):
        layer.backward(np.zeros((2, 2, 4)))


@pytest.mark.parametrize("in_channels, out_channels, groups", [
    (2, 32, 1),   # many more outputs than inputs: all the windows' gradients at once (add_windows)
    (6, 6, 1),    # one kernel offset at a time
    (4, 8, 2),    # the boundary, per group
    (4, 16, 2),
])
def test_the_input_gradients_two_orders_agree_with_finite_differences_and_each_other(in_channels, out_channels,
                                                                                   groups):
    """conv_nd_backward adds W^T delta back one kernel offset at a time or all windows at once,
    by which moves less memory; both are the same sum."""
    from chainrule.nn import conv

    rng = np.random.default_rng(7)
    layer = nn.Conv2d(in_channels, out_channels, 3, stride=(1, 2), padding=1, dilation=(2, 1), groups=groups,
                      dtype=np.float64, rng=rng)
    x = rng.standard_normal((2, in_channels, 6, 5))
    assert cr.gradcheck(layer, x)
    y, cols = conv.conv_nd(x, layer.weight.data, None, (1, 2), ((1, 1), (1, 1)), (2, 1), groups)
    g = rng.standard_normal(y.shape)
    # the other order, written out: every window's gradient, then added back where it was read
    W = layer.weight.data.reshape(groups, out_channels // groups, -1)
    grad_cols = W.swapaxes(-1, -2) @ g.reshape(2, groups, out_channels // groups, -1)
    windows_order = conv.crop(conv.add_windows(grad_cols.reshape(2, in_channels, 3, 3, *y.shape[2:]),
                                               (2, in_channels, 8, 7), (1, 2), (2, 1)), ((1, 1), (1, 1)))
    dx = conv.conv_nd_backward(g, cols, layer.weight.data, x.shape, (1, 2), ((1, 1), (1, 1)), (2, 1), groups,
                               bias=False, weight_grad=False)[0]
    np.testing.assert_allclose(dx, windows_order, rtol=1e-12, atol=1e-12)
