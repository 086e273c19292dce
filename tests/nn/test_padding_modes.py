"""The padding modes: the pair ``conv.pad`` / ``conv.pad_backward`` by hand and against central
differences, ``F.pad`` / ``F.pad_backward`` and Conv1d/Conv2d(padding_mode=...) against PyTorch
autograd (float64, rtol 1e-10), and the errors they raise."""

import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.nn.conv import pad, pad_backward

MODES = ["zeros", "reflect", "replicate", "circular"]
PAD_MODES = ["constant", "reflect", "replicate", "circular"]

# (description, constructor keywords, input shape); padding up to each mode's limit on the short axes.
CONV1D = [
    ("padding 2, stride 2", dict(in_channels=2, out_channels=3, kernel_size=3, stride=2, padding=2), (2, 2, 7)),
    ("padding 3 on length 4", dict(in_channels=2, out_channels=2, kernel_size=2, padding=3), (2, 2, 4)),
    ("dilation 2", dict(in_channels=2, out_channels=3, kernel_size=3, dilation=2, padding=1), (2, 2, 6)),
    ("groups 2, no bias", dict(in_channels=4, out_channels=6, kernel_size=3, groups=2, padding=1, bias=False),
     (2, 4, 5)),
    ("same, even kernel", dict(in_channels=2, out_channels=2, kernel_size=4, padding="same"), (2, 2, 6)),
    ("same, dilated", dict(in_channels=2, out_channels=2, kernel_size=3, padding="same", dilation=2), (2, 2, 5)),
    ("valid", dict(in_channels=2, out_channels=2, kernel_size=3, padding="valid"), (2, 2, 5)),
    ("unbatched", dict(in_channels=2, out_channels=3, kernel_size=3, stride=2, padding=(2,)), (2, 6)),
]
CONV2D = [
    ("tuple padding and stride", dict(in_channels=2, out_channels=3, kernel_size=(3, 2), stride=(2, 1),
                                      padding=(1, 2)), (2, 2, 5, 4)),
    ("padding (3, 4) on 4 x 5", dict(in_channels=1, out_channels=2, kernel_size=2, padding=(3, 4)), (2, 1, 4, 5)),
    ("dilation and groups", dict(in_channels=4, out_channels=2, kernel_size=2, dilation=(1, 2), groups=2,
                                 padding=1), (2, 4, 4, 4)),
    ("same, (3, 4) kernel", dict(in_channels=2, out_channels=2, kernel_size=(3, 4), padding="same"), (1, 2, 4, 5)),
    ("same, dilated", dict(in_channels=1, out_channels=2, kernel_size=(3, 2), padding="same", dilation=2),
     (2, 1, 5, 4)),
    ("all at once", dict(in_channels=2, out_channels=4, kernel_size=2, stride=(2, 3), padding=(1, 2), dilation=2,
                         groups=2), (2, 2, 6, 7)),
    ("unbatched", dict(in_channels=2, out_channels=2, kernel_size=3, padding=1), (2, 4, 4)),
]
CASES = [(1, *c[1:]) for c in CONV1D] + [(2, *c[1:]) for c in CONV2D]
IDS = [f"Conv1d {c[0]}" for c in CONV1D] + [f"Conv2d {c[0]}" for c in CONV2D]

# (before, after) per axis of a (2, 3, 4, 5) input, for conv.pad: each mode up to its limit
# (reflect below the length, circular at it, replicate and constant beyond).
PAIR_PADS = {"constant": ((1, 2), (0, 3)), "reflect": ((3, 1), (2, 4)), "replicate": ((5, 0), (1, 6)),
             "circular": ((4, 2), (5, 1))}


class _PadPair:
    """conv.pad as a function with a backward, for gradcheck."""

    def __init__(self, pads, mode):
        self.pads, self.mode = pads, mode

    def __call__(self, x):
        return pad(x, self.pads, self.mode)

    def backward(self, grad_output):
        return pad_backward(grad_output, self.pads, self.mode)


# -- the pair ----------------------------------------------------------------------------------


def test_replicate_by_hand():
    # x = [a, b, c] padded (2, 1) repeats the edges: [a, a | a, b, c | c]. Each copy of a passes
    # its gradient back to a, so g_x[0] = g[0] + g[1] (the left border) + g[2] (a itself).
    x, g = np.array([[[1.0, 2.0, 3.0]]]), np.random.default_rng(0).standard_normal((1, 1, 6))
    np.testing.assert_array_equal(pad(x, ((2, 1),), "replicate")[0, 0], x[0, 0, [0, 0, 0, 1, 2, 2]])
    g_x = pad_backward(g, ((2, 1),), "replicate")[0, 0]
    np.testing.assert_allclose(g_x, [g[0, 0, 0] + g[0, 0, 1] + g[0, 0, 2], g[0, 0, 3], g[0, 0, 4] + g[0, 0, 5]])


def test_reflect_and_circular_by_hand():
    # reflect (2, 2) of [a, b, c, d]: [c, b | a, b, c, d | c, b]; b gets its own and two copies' gradients
    g = np.random.default_rng(1).standard_normal((1, 1, 8))[0, 0]
    x = np.arange(4.0).reshape(1, 1, 4)
    np.testing.assert_array_equal(pad(x, ((2, 2),), "reflect")[0, 0], [2, 1, 0, 1, 2, 3, 2, 1])
    np.testing.assert_allclose(pad_backward(g.reshape(1, 1, 8), ((2, 2),), "reflect")[0, 0],
                               [g[2], g[3] + g[1] + g[7], g[4] + g[0] + g[6], g[5]])
    # circular (2, 2): [c, d | a, b, c, d | a, b]
    np.testing.assert_array_equal(pad(x, ((2, 2),), "circular")[0, 0], [2, 3, 0, 1, 2, 3, 0, 1])
    np.testing.assert_allclose(pad_backward(g.reshape(1, 1, 8), ((2, 2),), "circular")[0, 0],
                               [g[2] + g[6], g[3] + g[7], g[4] + g[0], g[5] + g[1]])


@pytest.mark.parametrize("mode", PAD_MODES)
def test_the_pair_is_central_differences(mode):
    x = np.random.default_rng(2).standard_normal((2, 3, 4, 5))
    assert cr.gradcheck(_PadPair(PAIR_PADS[mode], mode), x)


@pytest.mark.parametrize("mode", PAD_MODES)
def test_the_backward_is_the_adjoint(mode):
    # <pad(x), g> = <x, pad_backward(g)> for every x and g: the defining property of the adjoint
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 4, 5))
    g = rng.standard_normal(pad(x, PAIR_PADS[mode], mode).shape)
    np.testing.assert_allclose(np.vdot(pad(x, PAIR_PADS[mode], mode), g),
                               np.vdot(x, pad_backward(g, PAIR_PADS[mode], mode)), rtol=1e-12)


# -- the convolutions ------------------------------------------------------------------------


def _layer(n, kwargs, mode, rng):
    return getattr(nn, f"Conv{n}d")(**kwargs, padding_mode=mode, dtype=np.float64, rng=rng)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n, kwargs, shape", CASES, ids=IDS)
def test_conv_is_central_differences(n, kwargs, shape, mode):
    rng = np.random.default_rng(4)
    assert cr.gradcheck(_layer(n, kwargs, mode, rng), rng.standard_normal(shape))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n, kwargs, shape", CASES, ids=IDS)
def test_conv_matches_pytorch(n, kwargs, shape, mode):
    torch = pytest.importorskip("torch", reason="compares with torch.nn.Conv1d/Conv2d")
    rng = np.random.default_rng(5)
    ours = _layer(n, kwargs, mode, rng)
    theirs = getattr(torch.nn, f"Conv{n}d")(**kwargs, padding_mode=mode, dtype=torch.float64)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    assert repr(ours) == repr(theirs)
    x = rng.standard_normal(shape)
    xt = torch.tensor(x, requires_grad=True)
    with warnings.catch_warnings():  # torch's note that 'same' with an even kernel copies the input
        warnings.simplefilter("ignore", UserWarning)
        out = theirs(xt)
    y = ours(x)
    g = rng.standard_normal(y.shape)
    (out * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(y, out.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.backward(g), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, getattr(theirs, name).grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("mode", MODES[1:])
def test_float32_stays_float32(mode):
    layer = nn.Conv2d(2, 3, 3, padding=2, padding_mode=mode, dtype=np.float32)
    x = np.random.default_rng(6).standard_normal((2, 2, 4, 5)).astype(np.float32)
    y = layer(x)
    assert y.dtype == np.float32 and layer.backward(np.ones_like(y)).dtype == np.float32


def test_repr_shows_a_padding_mode_other_than_zeros():
    assert repr(nn.Conv1d(2, 2, 3, padding=1, padding_mode="circular")) == (
        "Conv1d(2, 2, kernel_size=(3,), stride=(1,), padding=(1,), padding_mode=circular)")
    assert "padding_mode" not in repr(nn.Conv1d(2, 2, 3, padding=1, padding_mode="zeros"))


# -- F.pad ----------------------------------------------------------------------------------


def _pad_cases():
    """(mode, input shape, pad) for every rank PyTorch's non-constant modes take, and constant
    mode on more axes; the amounts asymmetric, at each mode's limit, and cropping."""
    amounts = {"reflect": [(3, 1), (0, 2), (-1, 2), (2, -1), (3, -6)],
               "replicate": [(5, 0), (1, 6), (-1, 2), (2, -5)],
               "circular": [(4, 2), (0, 1), (-1, 2), (2, -1)]}
    cases = []
    for mode, pairs in amounts.items():
        for k in (1, 2, 3):  # padded axes
            for extra in (1, 2):  # axes before them
                shape = (2, 3)[:extra] + (4, 5, 6)[:k]  # padded axes of lengths 4, 5, 6 (first padded first)
                for i, pair in enumerate(pairs):
                    # pad lists the last axis first; rotate the pairs so every axis sees each one
                    flat = sum((pairs[(i + j) % len(pairs)] for j in range(k)), ())
                    cases.append((mode, shape, flat))
    cases += [("constant", (2, 3, 4, 5, 2), (1, 2, 0, 3, -1, 2)), ("constant", (4, 5), (2, -3))]
    return cases


@pytest.mark.parametrize("mode, shape, amounts", _pad_cases())
def test_f_pad_and_its_backward_match_pytorch(mode, shape, amounts):
    torch = pytest.importorskip("torch", reason="compares with torch.nn.functional.pad")
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape)
    xt = torch.tensor(x, requires_grad=True)
    out = torch.nn.functional.pad(xt, amounts, mode=mode)
    y = F.pad(x, amounts, mode=mode)
    np.testing.assert_array_equal(y, out.detach().numpy())
    g = rng.standard_normal(y.shape)
    (out * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(F.pad_backward(g, amounts, mode=mode), xt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_f_pad_returns_a_new_array():
    x = np.ones((1, 2, 3))
    for mode in PAD_MODES:
        assert not np.may_share_memory(F.pad(x, (0, 0), mode=mode), x)
        assert not np.may_share_memory(F.pad_backward(x, (0, 0), mode=mode), x)


# -- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("call, error, match", [
    (lambda: F.pad(np.zeros((1, 2, 4)), (4, 0), mode="reflect"), ValueError,
     r"pad mode='reflect' needs each padding below the axis length 4 \(the edge is not repeated\), "
     r"got \(4, 0\) on axis 2 of input shape \(1, 2, 4\)"),
    (lambda: F.pad(np.zeros((1, 4, 3)), (1, 1, 0, 4), mode="reflect"), ValueError,
     r"below the axis length 4 .*got \(0, 4\) on axis 1"),
    (lambda: F.pad(np.zeros((1, 2, 4)), (0, 5), mode="circular"), ValueError,
     r"pad mode='circular' needs each padding at most the axis length 4 \(it wraps around once\), got \(0, 5\)"),
    (lambda: F.pad(np.zeros((2, 0)), (1, 1), mode="replicate"), ValueError,
     r"pad mode='replicate' needs each padding on a non-empty axis"),
    (lambda: F.pad(np.zeros((1, 2, 4)), (1, 1), mode="mirror"), ValueError,
     r"pad mode must be one of 'constant', 'reflect', 'replicate', 'circular', got 'mirror'"),
    (lambda: F.pad(np.zeros(4), (1, 1), mode="reflect"), ValueError,
     r"pad mode='reflect' pads the last 1, 2 or 3 axes of an input with one or two axes before them "
     r"\(as PyTorch\), got 1 \(before, after\) pairs for a 1-D input"),
    (lambda: F.pad(np.zeros((2, 3, 4, 5)), (1, 1), mode="circular"), ValueError, r"got 1 .* for a 4-D input"),
    (lambda: F.pad(np.zeros((2, 3, 4)), (1, 1), mode="reflect", value=1.0), ValueError,
     r"pad mode='reflect' takes no value \(only 'constant' fills\), got value=1.0"),
    (lambda: F.pad(np.zeros((2, 3, 4)), (1, 1, 1)), ValueError, r"pad expected an even number of amounts"),
    (lambda: F.pad(np.zeros((2, 3, 4)), (1.5, 1)), TypeError, r"pad amounts must be ints, got \(1.5, 1\)"),
    (lambda: F.pad(np.zeros((2, 3, 4)), (0, -5)), ValueError, r"pad mode='constant': the negative amounts"),
    (lambda: nn.Conv1d(2, 2, 3, padding=4, padding_mode="reflect")(np.zeros((1, 2, 4))), ValueError,
     r"Conv1d padding_mode='reflect' needs each padding below the axis length 4 .*got \(4, 4\) on axis 2 of "
     r"input shape \(1, 2, 4\)"),
    (lambda: nn.Conv2d(2, 2, 3, padding=(1, 4), padding_mode="circular")(np.zeros((2, 3, 3))), ValueError,
     r"Conv2d padding_mode='circular' needs each padding at most the axis length 3 .*got \(4, 4\) on axis 2 of "
     r"input shape \(2, 3, 3\)"),
    (lambda: nn.Conv2d(2, 2, 3, padding_mode="mirror"), ValueError,
     r"Conv2d padding_mode must be one of 'zeros', 'reflect', 'replicate', 'circular', got 'mirror'"),
    (lambda: nn.ConvTranspose2d(2, 2, 3, padding_mode="circular"), ValueError,
     r"ConvTranspose2d padding_mode must be 'zeros'"),
])
def test_errors_name_the_mode_the_amount_and_the_size(call, error, match):
    with pytest.raises(error, match=match):
        call()
