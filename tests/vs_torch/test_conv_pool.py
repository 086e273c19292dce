"""Convolution and pooling against PyTorch autograd: same weights, same outputs, same input and
parameter gradients. Shapes and options from torch's own tables (common_nn.py's module_tests
and new_module_tests, common_modules.py's module_inputs_torch_nn_*), plus the options they leave out."""

import warnings

import numpy as np
import pytest

from chainrule import nn

torch = pytest.importorskip("torch", reason="torch is not installed")
tnn = torch.nn

# (name, constructor args, constructor kwargs, input shape)
CONV = [
    ("Conv1d", (4, 5, 3), {}, (2, 4, 10)),
    ("Conv1d", (4, 5, 3, 2), {}, (2, 4, 10)),
    ("Conv1d", (4, 5, 3, 1, 1), {}, (2, 4, 10)),
    ("Conv1d", (4, 5, 5, 1, 2), {}, (2, 4, 10)),
    ("Conv1d", (4, 4, 3, 1, 1), {}, (1, 4, 1)),
    ("Conv1d", (4, 4, 5, 1, 2), {}, (1, 4, 1)),
    ("Conv1d", (4, 5, 3), {}, (0, 4, 10)),
    ("Conv1d", (4, 5), dict(kernel_size=3, dilation=2), (2, 4, 10)),
    ("Conv1d", (4, 6), dict(kernel_size=3, groups=2), (2, 4, 6)),
    ("Conv1d", (4, 5, 3), dict(padding="valid"), (2, 4, 10)),
    ("Conv1d", (4, 5, 3), dict(padding="same"), (2, 4, 10)),
    ("Conv1d", (4, 5, 4), dict(padding="same"), (2, 4, 10)),
    ("Conv1d", (4, 5, 4), dict(padding="same", dilation=2), (2, 4, 10)),
    ("Conv1d", (4, 5, 3), dict(stride=2, padding=1, bias=False), (4, 10)),  # unbatched
    ("Conv1d", (1, 25, 5), dict(stride=2, padding=1), (100, 1, 40)),        # the MNIST-1D CNN's layers
    ("Conv1d", (25, 25, 3), dict(stride=2, padding=1), (100, 25, 19)),
    ("Conv2d", (3, 4, (3, 2)), {}, (2, 3, 7, 5)),
    ("Conv2d", (3, 4, (3, 3), (2, 2)), {}, (2, 3, 6, 6)),
    ("Conv2d", (3, 4, (3, 3), (2, 2), (1, 1)), {}, (2, 3, 6, 6)),
    ("Conv2d", (3, 2, (3, 3), (2, 2), (1, 1), (2, 2)), {}, (2, 3, 8, 8)),
    ("Conv2d", (3, 4, (3, 2), 1, 0, 1, 1, False), {}, (2, 3, 6, 5)),
    ("Conv2d", (3, 4, (3, 2)), {}, (0, 3, 7, 5)),
    ("Conv2d", (4, 6, (3, 2)), dict(groups=2), (2, 4, 6, 5)),
    ("Conv2d", (2, 4, (3, 4)), dict(padding="valid"), (2, 2, 6, 5)),
    ("Conv2d", (2, 4, (3, 4)), dict(padding="same"), (2, 2, 6, 5)),
    ("Conv2d", (2, 4, (3, 4)), dict(padding="same", dilation=2), (2, 2, 6, 5)),
    ("Conv2d", (4, 4, (3, 3)), dict(groups=4), (2, 4, 6, 6)),
    ("Conv2d", (4, 8, (3, 3)), dict(groups=4), (2, 4, 6, 6)),
    ("Conv2d", (4, 4, (3, 3)), dict(stride=(2, 2), groups=4), (2, 4, 6, 6)),
    ("Conv2d", (4, 4, (3, 3)), dict(padding=(1, 1), groups=4), (2, 4, 6, 6)),
    ("Conv2d", (4, 4, (2, 2)), dict(dilation=(2, 2), groups=4), (2, 4, 5, 5)),
    ("Conv2d", (4, 6, 3), dict(stride=(2, 3), padding=(2, 1), dilation=(1, 2), groups=2), (3, 4, 9, 11)),
    ("Conv2d", (3, 4, 3), dict(padding=1), (3, 6, 5)),                       # unbatched
    ("Conv2d", (32, 64, 3), dict(padding=1), (4, 32, 16, 16)),               # the 2-D benchmark's second layer
]

POOL = [
    ("AvgPool1d", (), dict(kernel_size=2), (3, 6)),
    ("AvgPool1d", (2,), {}, (2, 3, 6)),
    ("AvgPool1d", ((2,), (2,)), {}, (2, 3, 6)),
    ("AvgPool1d", (2, 2, 1), {}, (2, 3, 6)),
    ("AvgPool1d", (3, 2, 1), dict(count_include_pad=False, ceil_mode=True), (2, 3, 8)),
    ("AvgPool2d", ((2, 2),), {}, (3, 6, 6)),
    ("AvgPool2d", ((2, 2),), {}, (2, 3, 6, 6)),
    ("AvgPool2d", ((2, 2), (2, 2)), {}, (2, 3, 6, 6)),
    ("AvgPool2d", ((2, 2), (2, 2), (1, 1)), {}, (2, 3, 6, 6)),
    ("AvgPool2d", ((2, 2),), dict(divisor_override=1), (2, 3, 6, 6)),
    ("AvgPool2d", ((2, 2), (2, 2), (1, 1)), dict(count_include_pad=False), (2, 3, 6, 6)),
    ("AvgPool2d", (3, 2, 1), dict(ceil_mode=True), (2, 3, 6, 7)),
    ("AvgPool2d", (3, 2, 1), dict(ceil_mode=True, count_include_pad=False), (2, 3, 6, 7)),
    ("AvgPool2d", ((3, 2), 1, (1, 0)), {}, (2, 3, 5, 4)),
    ("MaxPool1d", (4,), {}, (2, 10, 4)),
    ("MaxPool1d", (4, 4), {}, (2, 10, 4)),
    ("MaxPool1d", (3, 1), {}, (2, 3, 9)),
    ("MaxPool1d", (3, 2, 1), dict(dilation=2, ceil_mode=True), (2, 3, 10)),
    ("MaxPool2d", ((3, 3), (2, 2), (1, 1)), {}, (3, 7, 7)),
    ("MaxPool2d", ((3, 3), (2, 2), (1, 1)), {}, (1, 3, 7, 7)),
    ("MaxPool2d", (2,), {}, (4, 3, 8, 8)),
    ("MaxPool2d", (3, 1), {}, (2, 2, 6, 5)),
    ("MaxPool2d", (2, 2), dict(ceil_mode=True), (2, 2, 5, 7)),
    ("MaxPool2d", ((2, 3), (1, 2), (1, 1)), dict(dilation=(2, 1)), (2, 2, 6, 7)),
    ("MaxPool2d", (2,), {}, (0, 3, 4, 4)),                                    # an empty batch
    ("AvgPool1d", (3, 1, 1), {}, (0, 2, 5)),
    ("AdaptiveAvgPool1d", (3,), {}, (1, 3, 5)),
    ("AdaptiveAvgPool1d", (3,), {}, (3, 5)),
    ("AdaptiveAvgPool1d", (1,), {}, (1, 3, 5)),
    ("AdaptiveAvgPool1d", (7,), {}, (2, 3, 5)),
    ("AdaptiveAvgPool2d", (3,), {}, (1, 3, 5, 6)),
    ("AdaptiveAvgPool2d", (3,), {}, (3, 5, 6)),
    ("AdaptiveAvgPool2d", (1,), {}, (1, 3, 5, 6)),
    ("AdaptiveAvgPool2d", ((3, 4),), {}, (1, 3, 5, 6)),
    ("AdaptiveAvgPool2d", ((3, None),), {}, (1, 3, 5, 6)),
    ("AdaptiveAvgPool2d", ((None, 7),), {}, (2, 3, 4, 5)),
]


def case_id(case):
    name, args, kwargs, shape = case
    options = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
    return f"{name}({options}) on {shape}"


def compare(ours, theirs, x, rtol, atol, seed=1):
    """Forward, input gradient and every parameter gradient, for the same upstream gradient."""
    if hasattr(ours, "weight"):
        theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    out = ours(x)
    g = np.random.default_rng(seed).standard_normal(out.shape).astype(x.dtype)
    dx = ours.backward(g)
    xt = torch.tensor(x, requires_grad=True)
    with warnings.catch_warnings():  # PyTorch's note that an even 'same' kernel pads a copy
        warnings.filterwarnings("ignore", message="Using padding='same'", category=UserWarning)
        outt = theirs(xt)
    outt.backward(torch.from_numpy(g))
    assert out.dtype == dx.dtype == x.dtype
    np.testing.assert_allclose(out, outt.detach().numpy(), rtol=rtol, atol=atol)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=rtol, atol=atol)
    for (name, p), (name_t, pt) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        assert name == name_t and p.grad.dtype == x.dtype
        np.testing.assert_allclose(p.grad, pt.grad.numpy(), rtol=rtol, atol=atol * max(1, x.shape[0]), err_msg=name)


@pytest.mark.parametrize("case", CONV + POOL, ids=case_id)
def test_float64_matches_autograd(case):
    name, args, kwargs, shape = case
    is_conv = name.startswith("Conv")
    ours = getattr(nn, name)(*args, **kwargs, **({"dtype": np.float64} if is_conv else {}))
    theirs = getattr(tnn, name)(*args, **kwargs, **({"dtype": torch.float64} if is_conv else {}))
    assert repr(ours) == repr(theirs)
    x = np.random.default_rng(0).standard_normal(shape)
    if name.startswith("MaxPool"):
        x = np.round(x * 2)  # many ties inside windows: the gradient goes to PyTorch's choice
    compare(ours, theirs, x, rtol=1e-10, atol=1e-12)



@pytest.mark.parametrize("name, args, kwargs, shape", [
    ("MaxPool1d", (3, 1, 1), {}, (2, 3, 11)), ("MaxPool2d", (2,), {}, (2, 3, 6, 8)),
    ("MaxPool2d", ((3, 2), (2, 1), (1, 1)), dict(dilation=(1, 2)), (2, 2, 7, 8))])
def test_max_pool_ties_and_nans_route_as_pytorchs(name, args, kwargs, shape):
    """Ties (the first maximum) and NaNs (propagated; the last NaN of a window takes delta): the
    gradient lands where PyTorch's return_indices points."""
    rng = np.random.default_rng(1)
    x = np.round(rng.standard_normal(shape) * 2)
    x[rng.random(shape) < 0.2] = np.nan  # windows with one NaN and windows with several
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(tnn, name)(*args, **kwargs)
    y = ours(x)
    g = rng.standard_normal(y.shape)
    dx = ours.backward(g)
    xt = torch.tensor(x, requires_grad=True)
    yt = theirs(xt)
    yt.backward(torch.from_numpy(g))
    assert np.isnan(y).any() and not np.isnan(y).all()
    np.testing.assert_array_equal(y, yt.detach().numpy())  # NaN where torch has NaN
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-12, atol=0)

@pytest.mark.parametrize("case", [c for c in CONV + POOL if c[3][0] != 0], ids=case_id)
def test_float32_matches_autograd_float32(case):
    name, args, kwargs, shape = case
    ours = getattr(nn, name)(*args, **kwargs)
    theirs = getattr(tnn, name)(*args, **kwargs)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    compare(ours, theirs, x, rtol=1e-4, atol=1e-5)


def test_state_dict_keys_and_shapes_are_pytorchs():
    for ours, theirs in ((nn.Conv1d(4, 6, 3, groups=2), tnn.Conv1d(4, 6, 3, groups=2)),
                         (nn.Conv2d(3, 8, (3, 2), bias=False), tnn.Conv2d(3, 8, (3, 2), bias=False))):
        assert {k: v.shape for k, v in ours.state_dict().items()} == \
            {k: tuple(v.shape) for k, v in theirs.state_dict().items()}


def test_init_bounds_match_pytorchs():
    torch.manual_seed(0)
    theirs = tnn.Conv2d(6, 8, (3, 2), groups=2)
    ours = nn.Conv2d(6, 8, (3, 2), groups=2, rng=np.random.default_rng(0))
    bound = float(theirs.weight.detach().abs().max())  # close to PyTorch's 1/sqrt(fan_in) = 1/sqrt(18)
    assert abs(np.abs(ours.weight.data).max() - bound) < 0.05 and np.abs(ours.weight.data).max() <= 1 / np.sqrt(18)
    assert np.abs(ours.bias.data).max() <= 1 / np.sqrt(18) and float(theirs.bias.detach().abs().max()) <= 1 / np.sqrt(18)
