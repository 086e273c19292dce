"""NLLLoss, L1Loss, SmoothL1Loss and HuberLoss against PyTorch autograd: the same loss value and
the same gradient with respect to the input, for every option, reduction and input layout
(NLLLoss's layouts as in torch's common_nn tables: (N, C), (C,), (N, C, d1), (N, C, d1, d2), and
K-dim (N, C, d1, d2, d3, d4)); float64 to rtol 1e-10, float32 loosely."""

import numpy as np
import pytest

from chainrule import nn

torch = pytest.importorskip("torch", reason="torch is not installed")
F = torch.nn.functional

REDUCTIONS = ["mean", "sum", "none"]
DTYPES = pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
TOL = {np.float64: dict(rtol=1e-10, atol=1e-13), np.float32: dict(rtol=1e-5, atol=1e-6)}
C = 3
WEIGHT = np.array([0.5, 2.0, 3.0])


def compare(ours, theirs, x, target, dtype, seed=1):
    """Our loss and PyTorch's on the same data with the same upstream gradient: the value and
    dLoss/dinput agree, and ours keeps the input's dtype and shape."""
    value = ours(x, target)
    g = (np.random.default_rng(seed).standard_normal(np.shape(value)).astype(dtype) if ours.reduction == "none"
         else np.asarray(1.7, dtype=dtype))  # not 1, so that a missing upstream factor shows
    grad = ours.backward(g)
    xt = torch.tensor(x, requires_grad=True)
    value_t = theirs(xt, torch.tensor(target))
    value_t.backward(torch.tensor(g))
    np.testing.assert_allclose(np.asarray(value), value_t.detach().numpy(), **TOL[dtype])
    np.testing.assert_allclose(grad, xt.grad.numpy(), **TOL[dtype])
    assert grad.dtype == dtype and grad.shape == x.shape


# -- NLLLoss ------------------------------------------------------------------------------------

LAYOUTS = {"(N,C)": (6, C), "(C,)": (C,), "(N,C,d1)": (2, C, 5), "(N,C,d1,d2)": (2, C, 5, 5),
           "K-dim (N,C,d1,d2,d3,d4)": (2, C, 5, 5, 2, 2)}
NLL_OPTIONS = {
    "plain": {},
    "weight": {"weight": WEIGHT},
    "ignore_index=1": {"ignore_index": 1},
    "weight+ignore_index=-100 used": {"weight": WEIGHT},
    "weight+ignore_index=2": {"weight": WEIGHT, "ignore_index": 2},
}


def nll_data(layout, dtype, ignore=None, seed=0):
    """Log-probabilities (a log-softmax over the class axis) and class indices; every third
    target is ``ignore`` when given."""
    rng = np.random.default_rng(seed)
    shape = LAYOUTS[layout]
    logits = rng.standard_normal(shape) * 2
    axis = 0 if len(shape) == 1 else 1
    x = logits - np.log(np.exp(logits).sum(axis=axis, keepdims=True))
    t = rng.integers(0, C, () if len(shape) == 1 else shape[:1] + shape[2:])
    if ignore is not None and t.ndim:
        t.reshape(-1)[::3] = ignore
    return x.astype(dtype), t


def nll_pair(options, reduction, dtype):
    kwargs = dict(options)
    if "weight" in kwargs:
        kwargs["weight"] = torch.tensor(kwargs["weight"], dtype=torch.float32 if dtype == np.float32 else torch.float64)
    return nn.NLLLoss(reduction=reduction, **options), lambda x, t: F.nll_loss(x, t, reduction=reduction, **kwargs)


@DTYPES
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", list(NLL_OPTIONS))
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_nll_matches_torch(layout, options, reduction, dtype):
    opts = NLL_OPTIONS[options]
    ignore = opts.get("ignore_index", -100) if "ignore" in options else None
    x, t = nll_data(layout, dtype, ignore)
    compare(*nll_pair(opts, reduction, dtype), x, t, dtype)


@pytest.mark.parametrize("options", ["plain", "weight"])
def test_nll_all_ignored_matches_torch(options):
    """Every target ignored: the mean is nan and the gradient 0, in both."""
    x, _ = nll_data("(N,C)", np.float64)
    t = np.full(6, -100)
    ours, theirs = nll_pair(NLL_OPTIONS[options], "mean", np.float64)
    xt = torch.tensor(x, requires_grad=True)
    value_t = theirs(xt, torch.tensor(t))
    value_t.backward()
    assert np.isnan(ours(x, t)) and torch.isnan(value_t)
    np.testing.assert_array_equal(ours.backward(), xt.grad.numpy())


def test_nll_zero_total_weight_matches_torch():
    """The counted targets all have weight 0: nan at each counted row's target, 0 elsewhere, in both."""
    x, _ = nll_data("(N,C)", np.float64)
    t = np.array([0, 0, -100, 0, 0, 0])
    ours, theirs = nll_pair({"weight": np.array([0.0, 1.0, 1.0])}, "mean", np.float64)
    xt = torch.tensor(x, requires_grad=True)
    value_t = theirs(xt, torch.tensor(t))
    value_t.backward()
    assert np.isnan(ours(x, t)) and torch.isnan(value_t)
    np.testing.assert_array_equal(ours.backward(), xt.grad.numpy())  # nan == nan position by position


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [{}, {"weight": WEIGHT, "ignore_index": 1}], ids=["plain", "weight+ignore"])
def test_log_softmax_then_nll_is_torch_cross_entropy(options, reduction):
    """LogSoftmax(dim=1) + NLLLoss, backpropagated through both modules, is F.cross_entropy."""
    rng = np.random.default_rng(5)
    z = rng.standard_normal((7, C, 4)) * 3
    t = rng.integers(0, C, (7, 4))
    log_softmax, nll = nn.LogSoftmax(dim=1), nn.NLLLoss(reduction=reduction, **options)
    value = nll(log_softmax(z), t)
    g = rng.standard_normal(np.shape(value)) if reduction == "none" else 1.3
    grad = log_softmax.backward(nll.backward(g))
    zt = torch.tensor(z, requires_grad=True)
    kwargs = {k: torch.tensor(v) if k == "weight" else v for k, v in options.items()}
    value_t = F.cross_entropy(zt, torch.tensor(t), reduction=reduction, **kwargs)
    value_t.backward(torch.tensor(g, dtype=torch.float64))
    np.testing.assert_allclose(value, value_t.detach().numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(grad, zt.grad.numpy(), rtol=1e-10, atol=1e-13)


def test_torch_also_rejects_out_of_range_classes():
    x, t = nll_data("(N,C)", np.float64)
    t[2] = C
    with pytest.raises((IndexError, RuntimeError), match="out of bounds"):
        F.nll_loss(torch.tensor(x), torch.tensor(t))
    with pytest.raises(ValueError, match=r"NLLLoss target contains class 3, but input has 3 classes"):
        nn.NLLLoss()(x, t)


# -- L1Loss, SmoothL1Loss, HuberLoss -------------------------------------------------------------

REGRESSION = {
    "L1Loss": ({}, lambda r: lambda x, y: F.l1_loss(x, y, reduction=r)),
    "SmoothL1Loss": ({}, lambda r: lambda x, y: F.smooth_l1_loss(x, y, reduction=r)),
    "SmoothL1Loss beta=0.5": ({"beta": 0.5}, lambda r: lambda x, y: F.smooth_l1_loss(x, y, reduction=r, beta=0.5)),
    "SmoothL1Loss beta=2": ({"beta": 2.0}, lambda r: lambda x, y: F.smooth_l1_loss(x, y, reduction=r, beta=2.0)),
    "SmoothL1Loss beta=0": ({"beta": 0.0}, lambda r: lambda x, y: F.smooth_l1_loss(x, y, reduction=r, beta=0.0)),
    "HuberLoss": ({}, lambda r: lambda x, y: F.huber_loss(x, y, reduction=r)),
    "HuberLoss delta=0.5": ({"delta": 0.5}, lambda r: lambda x, y: F.huber_loss(x, y, reduction=r, delta=0.5)),
    "HuberLoss delta=3": ({"delta": 3.0}, lambda r: lambda x, y: F.huber_loss(x, y, reduction=r, delta=3.0)),
}


# (the mean over an empty input is nan in both; it has its own test below)
SHAPE_REDUCTIONS = [pytest.param(shape, reduction, id=f"{shape}-{reduction}")
                    for shape in [(4, 5), (2, 3, 4), (), (0, 3)] for reduction in REDUCTIONS
                    if not (shape == (0, 3) and reduction == "mean")]


@DTYPES
@pytest.mark.parametrize("case", list(REGRESSION))
@pytest.mark.parametrize("shape, reduction", SHAPE_REDUCTIONS)
def test_regression_losses_match_torch(shape, reduction, case, dtype):
    options, theirs = REGRESSION[case]
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape) * 2
    y = rng.standard_normal(shape) * 2
    if x.size >= 6:  # the kinks: equality, and |d| exactly at beta / delta (1 by default)
        y.reshape(-1)[:3] = x.reshape(-1)[:3] + np.array([0.0, 1.0, -0.5])
    ours = getattr(nn, case.split()[0])(reduction=reduction, **options)
    compare(ours, theirs(reduction), x.astype(dtype), y.astype(dtype), dtype)


@pytest.mark.parametrize("case", list(REGRESSION))
def test_regression_mean_over_nothing_matches_torch(case):
    options, theirs = REGRESSION[case]
    x = np.zeros((0, 3))
    ours = getattr(nn, case.split()[0])(**options)
    xt = torch.tensor(x, requires_grad=True)
    value_t = theirs("mean")(xt, torch.tensor(x))
    value_t.backward()
    assert np.isnan(ours(x, x)) and torch.isnan(value_t)
    assert ours.backward().shape == xt.grad.shape == (0, 3)


def test_torch_refuses_the_options_we_refuse():
    x = torch.zeros(2)
    with pytest.raises(RuntimeError, match="negative values for beta"):
        F.smooth_l1_loss(x, x, beta=-1.0)
    with pytest.raises(RuntimeError, match="non-positive values for delta"):
        F.huber_loss(x, x, delta=0.0)
    with pytest.raises(ValueError, match=r"SmoothL1Loss beta must be >= 0, got -1.0"):
        nn.SmoothL1Loss(beta=-1.0)
    with pytest.raises(ValueError, match=r"HuberLoss delta must be > 0, got 0.0"):
        nn.HuberLoss(delta=0.0)


def test_reprs_match_torch():
    for ours, theirs in [(nn.NLLLoss(), torch.nn.NLLLoss()), (nn.L1Loss(), torch.nn.L1Loss()),
                         (nn.SmoothL1Loss(), torch.nn.SmoothL1Loss()), (nn.HuberLoss(), torch.nn.HuberLoss())]:
        assert repr(ours) == repr(theirs)
