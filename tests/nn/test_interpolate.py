"""F.interpolate / F.interpolate_backward and Upsample's modes: PyTorch's numbers over the modes,
options and ranks, central differences, the errors PyTorch raises, and a case worked by hand."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

RNG = np.random.default_rng(0)

# (input shape, mode, keywords): every mode on the ranks it takes, sizes and factors up and down,
# a factor as a number and as a tuple, recompute_scale_factor, align_corners None/False/True.
CASES = [
    ((2, 3, 4), "nearest", {"size": 12}),
    ((2, 3, 5), "nearest", {"size": 3}),
    ((2, 3, 4), "nearest", {"scale_factor": 2.5}),
    ((2, 3, 7), "nearest", {"scale_factor": 0.4, "recompute_scale_factor": True}),
    ((1, 2, 3, 4), "nearest", {"size": (5, 9)}),
    ((1, 2, 4, 6), "nearest", {"scale_factor": (1.5, 0.5)}),
    ((1, 2, 3, 4), "nearest", {"scale_factor": (2.0, 1.0)}),
    ((1, 2, 2, 3, 4), "nearest", {"scale_factor": 2}),
    ((1, 2, 2, 3, 4), "nearest", {"size": (3, 5, 2)}),
    ((2, 3, 6), "nearest-exact", {"scale_factor": 1.7}),
    ((1, 2, 5, 3), "nearest-exact", {"size": (3, 7)}),
    ((1, 2, 2, 3, 4), "nearest-exact", {"scale_factor": (0.5, 2.0, 1.5)}),
    ((2, 3, 7), "area", {"size": 3}),
    ((1, 2, 5, 6), "area", {"scale_factor": 0.5}),
    ((1, 2, 4, 5, 6), "area", {"size": (2, 3, 4)}),
    ((2, 3, 4), "linear", {"size": 12}),
    ((2, 3, 4), "linear", {"size": 12, "align_corners": True}),
    ((2, 3, 4), "linear", {"scale_factor": 4.0, "align_corners": False}),
    ((2, 3, 4), "linear", {"scale_factor": 4.0, "align_corners": True}),
    ((2, 3, 9), "linear", {"scale_factor": 0.35}),
    ((2, 3, 9), "linear", {"scale_factor": 0.35, "recompute_scale_factor": True}),
    ((2, 3, 5), "linear", {"size": 1, "align_corners": True}),
    ((1, 2, 4, 4), "bilinear", {"size": 12}),
    ((1, 2, 2, 3), "bilinear", {"size": (4, 6), "align_corners": True}),
    ((1, 2, 4, 4), "bilinear", {"scale_factor": (2.0, 1.0)}),
    ((1, 2, 4, 5), "bilinear", {"scale_factor": (1.3, 0.6), "align_corners": True}),
    ((1, 2, 6, 5), "bilinear", {"scale_factor": 0.5, "recompute_scale_factor": True}),
    ((1, 2, 4, 4), "bicubic", {"size": 12}),
    ((1, 2, 2, 3), "bicubic", {"size": (4, 6), "align_corners": True}),
    ((1, 2, 4, 4), "bicubic", {"scale_factor": (2.0, 1.0), "align_corners": True}),
    ((1, 2, 5, 7), "bicubic", {"scale_factor": 0.6}),
    ((1, 2, 3, 4), "bicubic", {"scale_factor": 1.8, "recompute_scale_factor": True}),
    ((1, 2, 2, 3, 3), "trilinear", {"size": (4, 6, 6)}),
    ((1, 2, 3, 4, 5), "trilinear", {"scale_factor": 3.0, "align_corners": True}),
    ((1, 2, 3, 4, 5), "trilinear", {"scale_factor": (0.7, 1.5, 2.0)}),
    ((0, 2, 4, 4), "bicubic", {"size": 5}),  # an empty batch
]


def _id(case):
    shape, mode, kwargs = case
    return f"{mode}-{len(shape) - 2}d-" + "-".join(f"{k}={v}" for k, v in kwargs.items())


@pytest.mark.parametrize("shape, mode, kwargs", CASES, ids=[_id(c) for c in CASES])
def test_interpolate_and_its_backward_are_pytorchs(shape, mode, kwargs):
    torch = pytest.importorskip("torch", reason="compares with torch.nn.functional.interpolate")
    x = RNG.standard_normal(shape)
    xt = torch.tensor(x, requires_grad=True)
    out = torch.nn.functional.interpolate(xt, mode=mode, **kwargs)
    y = F.interpolate(x, mode=mode, **kwargs)
    assert y.shape == tuple(out.shape)
    np.testing.assert_allclose(y, out.detach().numpy(), rtol=1e-10, atol=1e-13)
    g = RNG.standard_normal(y.shape)
    if out.numel():
        out.backward(torch.tensor(g))
    else:
        xt.grad = torch.zeros_like(xt)
    np.testing.assert_allclose(F.interpolate_backward(g, x, mode=mode, **kwargs), xt.grad.numpy(),
                               rtol=1e-10, atol=1e-13)


class _Interpolate:
    """F.interpolate with its options fixed, as a callable with a backward, for gradcheck."""

    def __init__(self, **options):
        self.options = options

    def __call__(self, x):
        self.x = x
        return F.interpolate(x, **self.options)

    def backward(self, grad_output):
        return F.interpolate_backward(grad_output, self.x, **self.options)


@pytest.mark.parametrize("shape, mode, kwargs", CASES[:-1], ids=[_id(c) for c in CASES[:-1]])
def test_interpolate_backward_is_central_differences(shape, mode, kwargs):
    assert cr.gradcheck(_Interpolate(mode=mode, **kwargs), RNG.standard_normal(shape))


# A non-integer factor whose output is as long as the input (or twice as long, 'nearest' in 1-D):
# PyTorch's forward follows the factor, but its backward copies (or halves), so it is not the
# gradient of its forward. chainrule's forward is PyTorch's; its backward is S^T, the gradient.
@pytest.mark.parametrize("shape, mode, factor", [((2, 3, 4), "nearest", 1.2), ((2, 3, 5), "nearest", 2.05),
                                                 ((1, 2, 3, 4), "bicubic", 1.2)])
def test_where_pytorchs_backward_is_not_its_forwards_gradient_ours_is(shape, mode, factor):
    torch = pytest.importorskip("torch", reason="compares with torch.nn.functional.interpolate")
    x = RNG.standard_normal(shape)
    out = torch.nn.functional.interpolate(torch.tensor(x), scale_factor=factor, mode=mode)
    np.testing.assert_allclose(F.interpolate(x, scale_factor=factor, mode=mode), out.numpy(), rtol=1e-10, atol=1e-13)
    assert cr.gradcheck(_Interpolate(scale_factor=factor, mode=mode), x)


def test_linear_worked_by_hand():
    # L = 2 -> 4, align_corners=False: source s = (o + 1/2) * 2/4 - 1/2 = -1/4, 1/4, 3/4, 5/4,
    # clamped at 0; taps (i, i+1) with weights (1 - lambda, lambda), the last one on x_1 alone:
    # y = [x0, 3/4 x0 + 1/4 x1, 1/4 x0 + 3/4 x1, x1] = [0, 1, 3, 4] for x = [0, 4].
    x = np.array([[[0.0, 4.0]]])
    np.testing.assert_allclose(F.interpolate(x, size=4, mode="linear"), [[[0.0, 1.0, 3.0, 4.0]]])
    # S^T delta for delta = 1: column sums of S, [1 + 3/4 + 1/4, 1/4 + 3/4 + 1] = [2, 2].
    np.testing.assert_allclose(F.interpolate_backward(np.ones((1, 1, 4)), x, size=4, mode="linear"), [[[2.0, 2.0]]])
    # align_corners=True: s = o * (2 - 1)/(4 - 1), so y = [0, 4/3, 8/3, 4].
    np.testing.assert_allclose(F.interpolate(x, size=4, mode="linear", align_corners=True),
                               [[[0.0, 4 / 3, 8 / 3, 4.0]]])


def test_float32_stays_float32():
    x = RNG.standard_normal((1, 2, 3, 3)).astype(np.float32)
    y = F.interpolate(x, scale_factor=2, mode="bicubic")
    assert y.dtype == np.float32
    assert F.interpolate_backward(np.ones_like(y), x, scale_factor=2, mode="bicubic").dtype == np.float32


# (shape, keywords, chainrule's exception, a pattern its message matches): torch raises too.
ERRORS = [
    ((1, 2, 4), {"size": 3, "scale_factor": 2.0}, ValueError, "exactly one of size and scale_factor"),
    ((1, 2, 4), {}, ValueError, "exactly one of size and scale_factor"),
    ((1, 2, 4), {"size": 3, "align_corners": True}, ValueError, "align_corners .*mode='nearest'"),
    ((1, 2, 4, 4), {"size": 3, "mode": "area", "align_corners": False}, ValueError, "align_corners"),
    ((1, 2, 4), {"size": (3, 3)}, ValueError, "size must have one value per spatial axis"),
    ((1, 2, 4, 4), {"scale_factor": (2.0,)}, ValueError, "scale_factor must have one value per spatial axis"),
    ((1, 2, 4), {"size": 2.5}, TypeError, "size must be an int"),
    ((1, 2, 4), {"size": 8, "recompute_scale_factor": True}, ValueError, "recompute_scale_factor"),
    ((1, 2, 4), {"size": 8, "mode": "linear", "antialias": True}, ValueError, "antialias"),
    ((1, 2, 4), {"size": 8, "mode": "bilinear"}, NotImplementedError, r"mode='bilinear' .*\(N, C, H, W\)"),
    ((1, 2, 4, 4), {"size": 8, "mode": "linear"}, NotImplementedError, r"mode='linear' .*\(N, C, L\)"),
    ((1, 2, 4, 4), {"size": 8, "mode": "trilinear"}, NotImplementedError, "mode='trilinear'"),
    ((1, 2, 4, 4, 4), {"size": 8, "mode": "bicubic"}, NotImplementedError, "mode='bicubic'"),
    ((2, 4), {"size": 8}, NotImplementedError, "mode='nearest' expected input of shape"),
    ((1, 2, 4), {"size": 8, "mode": "cubic"}, NotImplementedError, "mode must be one of"),
    ((1, 2, 1), {"scale_factor": 0.5}, ValueError, "sizes greater than 0"),
]


@pytest.mark.parametrize("shape, kwargs, error, pattern", ERRORS)
def test_the_errors_pytorch_raises(shape, kwargs, error, pattern):
    torch = pytest.importorskip("torch", reason="checks that torch refuses the same call")
    with pytest.raises((ValueError, TypeError, NotImplementedError, RuntimeError)):
        torch.nn.functional.interpolate(torch.zeros(shape, dtype=torch.float64), **kwargs)
    with pytest.raises(error, match=f"interpolate .*{pattern}"):
        F.interpolate(np.zeros(shape), **kwargs)


def test_antialias_is_refused_where_pytorch_has_it():
    with pytest.raises(NotImplementedError, match="antialias=True is not supported"):
        F.interpolate(np.zeros((1, 1, 4, 4)), size=2, mode="bilinear", antialias=True)


# -- Upsample ------------------------------------------------------------------------------------
MODULES = [
    ({"scale_factor": 2, "mode": "linear"}, (2, 3, 4)),
    ({"size": 7, "mode": "linear", "align_corners": True}, (2, 3, 4)),
    ({"scale_factor": (1.5, 2.0), "mode": "bilinear"}, (1, 2, 4, 3)),
    ({"size": (5, 7), "mode": "bilinear", "align_corners": True}, (1, 2, 3, 4)),
    ({"scale_factor": 2, "mode": "bicubic"}, (1, 2, 3, 3)),
    ({"scale_factor": 0.6, "mode": "bicubic", "align_corners": True, "recompute_scale_factor": True}, (1, 2, 5, 6)),
    ({"scale_factor": 2, "mode": "trilinear"}, (1, 2, 2, 3, 2)),
    ({"scale_factor": 1.5, "mode": "nearest-exact"}, (1, 2, 4, 3)),
    ({"size": (2, 3), "mode": "area"}, (1, 2, 5, 7)),
    # nearest, the default mode: a copy of input elements, so equal to PyTorch's exactly
    ({"scale_factor": 2}, (2, 3, 4)), ({"scale_factor": 2}, (1, 2, 3, 3)), ({"size": (5, 7)}, (2, 2, 3, 4)),
    ({"scale_factor": (1.5, 0.5)}, (1, 2, 4, 6)), ({"size": 2}, (2, 3, 5)),
]


@pytest.mark.parametrize("kwargs, shape", MODULES)
def test_upsample_modes_are_pytorchs_forward_and_backward(kwargs, shape):
    torch = pytest.importorskip("torch", reason="compares with torch.nn.Upsample")
    x = RNG.standard_normal(shape)
    up = nn.Upsample(**kwargs)
    y = up(x)
    xt = torch.tensor(x, requires_grad=True)
    out = torch.nn.Upsample(**kwargs)(xt)
    g = RNG.standard_normal(tuple(out.shape))
    out.backward(torch.tensor(g))
    exact = kwargs.get("mode", "nearest") == "nearest"
    np.testing.assert_allclose(y, out.detach().numpy(), rtol=0 if exact else 1e-10, atol=0 if exact else 1e-13)
    np.testing.assert_allclose(up.backward(g), xt.grad.numpy(), rtol=1e-12 if exact else 1e-10, atol=0 if exact else 1e-13)


@pytest.mark.parametrize("kwargs, shape", MODULES)
def test_upsample_modes_backward_is_central_differences(kwargs, shape):
    assert cr.gradcheck(nn.Upsample(**kwargs), RNG.standard_normal(shape))


def test_upsample_refusals_and_repr():
    with pytest.raises(ValueError, match="Upsample align_corners .*mode='nearest'"):
        nn.Upsample(scale_factor=2, align_corners=False)
    with pytest.raises(NotImplementedError, match=r"Upsample mode='bilinear' expected input of shape \(N, C, H, W\)"):
        nn.Upsample(scale_factor=2, mode="bilinear")(np.zeros((1, 1, 3)))
    assert repr(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)) == \
        "Upsample(scale_factor=2, mode='bilinear', align_corners=True)"


def test_upsample_with_align_corners_moves_between_frameworks():
    torch = pytest.importorskip("torch", reason="moves a model to and from torch")
    from chainrule.interop import from_torch, to_torch
    ours = from_torch(torch.nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True))
    assert (ours.mode, ours.align_corners) == ("bilinear", True)
    back = to_torch(nn.Upsample(size=(3, 5), mode="bicubic", align_corners=False))
    assert (back.size, back.mode, back.align_corners) == ((3, 5), "bicubic", False)
    x = RNG.standard_normal((1, 2, 3, 3))
    np.testing.assert_allclose(ours(x), torch.nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)(
        torch.tensor(x)).numpy(), rtol=1e-10, atol=1e-13)
