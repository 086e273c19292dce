"""Losses against PyTorch autograd: the same loss value and the same gradient with respect to
the input, for every option, reduction and input layout; float64 tightly, float32 loosely."""

import numpy as np
import pytest

from chainrule import nn

torch = pytest.importorskip("torch", reason="torch is not installed")
F = torch.nn.functional

REDUCTIONS = ["mean", "sum", "none"]
C = 4
WEIGHT = np.array([0.5, 2.0, 1.0, 3.0])
TOL = {np.float64: dict(rtol=1e-10, atol=1e-13), np.float32: dict(rtol=1e-5, atol=1e-6)}


def compare(ours, theirs, x, target, dtype, seed=1):
    """Run our loss and PyTorch's on the same data with the same upstream gradient; compare
    the value and dLoss/dinput."""
    tol = TOL[dtype]
    value = ours(x, target)
    if ours.reduction == "none":
        g = np.random.default_rng(seed).standard_normal(np.shape(value)).astype(dtype)
    else:
        g = np.asarray(1.7, dtype=dtype)  # not 1, so a missing upstream factor shows
    grad = ours.backward(g)

    xt = torch.tensor(x, requires_grad=True)
    tt = torch.tensor(target)
    value_t = theirs(xt, tt)
    value_t.backward(torch.tensor(g))
    np.testing.assert_allclose(np.asarray(value), value_t.detach().numpy(), **tol)
    np.testing.assert_allclose(grad, xt.grad.numpy(), **tol)
    assert grad.dtype == dtype and grad.shape == x.shape


# -- CrossEntropyLoss -----------------------------------------------------------------------

LAYOUTS = {"(N,C)": (6, C), "(C,)": (C,), "(N,C,d1)": (3, C, 5), "(N,C,d1,d2)": (2, C, 3, 2)}
CE_OPTIONS = {
    "plain": {},
    "weight": {"weight": WEIGHT},
    "smoothing": {"label_smoothing": 0.25},
    "smoothing=1": {"label_smoothing": 1.0},
    "weight+smoothing": {"weight": WEIGHT, "label_smoothing": 0.25},
    "ignore_index=2": {"ignore_index": 2},
    "weight+smoothing+ignore_index=2": {"weight": WEIGHT, "label_smoothing": 0.1, "ignore_index": 2},
}


def ce_data(layout, target_kind, dtype, ignore_index=-100, seed=0):
    rng = np.random.default_rng(seed)
    shape = LAYOUTS[layout]
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    if target_kind == "probabilities":
        q = rng.uniform(0.0, 1.0, shape)
        return x, (q / q.sum(axis=0 if len(shape) == 1 else 1, keepdims=True)).astype(dtype)
    loss_shape = () if len(shape) == 1 else shape[:1] + shape[2:]
    t = rng.integers(0, C, loss_shape)
    if target_kind == "indices+ignored" and t.ndim:
        t.reshape(-1)[::3] = ignore_index  # every third entry ignored
    return x, t


def ce_pair(options, reduction, dtype):
    ours = nn.CrossEntropyLoss(reduction=reduction, **options)
    kwargs = dict(options)
    if "weight" in kwargs:
        kwargs["weight"] = torch.tensor(kwargs["weight"], dtype=torch.float32 if dtype == np.float32 else torch.float64)

    def theirs(x, t):
        return F.cross_entropy(x, t, reduction=reduction, **kwargs)

    return ours, theirs


# Every layout x target kind x option, except a non-negative ignore_index with probability
# targets, which PyTorch rejects (tested below).
CE_CASES = [
    pytest.param(layout, kind, options, id=f"{layout}-{kind}-{options}")
    for layout in LAYOUTS
    for kind in ["indices", "indices+ignored", "probabilities"]
    for options in CE_OPTIONS
    if not (kind == "probabilities" and "ignore_index" in CE_OPTIONS[options])
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("layout, target_kind, options", CE_CASES)
def test_cross_entropy_matches_torch(layout, target_kind, options, reduction, dtype):
    opts = CE_OPTIONS[options]
    x, t = ce_data(layout, target_kind, dtype, opts.get("ignore_index", -100))
    compare(*ce_pair(opts, reduction, dtype), x, t, dtype)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", ["plain", "weight+smoothing"])
def test_cross_entropy_large_logits_match_torch(options, reduction):
    x = np.array([[1e4, -1e4, 0.0, 3.0], [-1e4, 1e4, 1e4, 0.0], [1e4, 1e4, 1e4, 1e4]])
    compare(*ce_pair(CE_OPTIONS[options], reduction, np.float64), x, np.array([1, 0, 3]), np.float64)


@pytest.mark.parametrize("options", ["plain", "weight", "smoothing", "weight+smoothing"])
def test_cross_entropy_all_ignored_matches_torch(options):
    """Every target ignored: the mean is nan and the gradient 0, in both."""
    x, _ = ce_data("(N,C)", "indices", np.float64)
    ours, theirs = ce_pair(CE_OPTIONS[options], "mean", np.float64)
    t = np.full(6, -100)
    xt = torch.tensor(x, requires_grad=True)
    value_t = theirs(xt, torch.tensor(t))
    value_t.backward()
    assert np.isnan(ours(x, t)) and torch.isnan(value_t)
    np.testing.assert_array_equal(ours.backward(), xt.grad.numpy())


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_zero_total_weight_matches_torch(smoothing):
    """The counted targets all have weight 0: mean 0/0 = nan, nan rows and a 0 ignored row, in both."""
    x, _ = ce_data("(N,C)", "indices", np.float64)
    w = np.array([0.0, 1.0, 1.0, 1.0])
    t = np.array([0, 0, -100, 0, 0, 0])
    ours, theirs = ce_pair({"weight": w, "label_smoothing": smoothing}, "mean", np.float64)
    xt = torch.tensor(x, requires_grad=True)
    value_t = theirs(xt, torch.tensor(t))
    value_t.backward()
    assert np.isnan(ours(x, t)) and torch.isnan(value_t)
    np.testing.assert_array_equal(ours.backward(), xt.grad.numpy())  # nan == nan position by position


def test_torch_also_rejects_ignore_index_with_probability_targets():
    x, q = ce_data("(N,C)", "probabilities", np.float64)
    with pytest.raises(RuntimeError, match="ignore_index is not supported"):
        F.cross_entropy(torch.tensor(x), torch.tensor(q), ignore_index=1)
    with pytest.raises(ValueError, match="ignore_index is not supported with probability targets"):
        nn.CrossEntropyLoss(ignore_index=1)(x, q)
    # a negative ignore_index (not the default) is allowed by both and changes nothing
    compare(*ce_pair({"ignore_index": -1}, "mean", np.float64), x, q, np.float64)


# -- BCELoss --------------------------------------------------------------------------------

BCE_SHAPE = (5, 3)
BCE_OPTIONS = {
    "plain": {},
    "weight (C,)": {"weight": np.array([0.5, 2.0, 1.5])},
    "weight (N,C)": {"weight": np.random.default_rng(9).uniform(0.1, 2.0, BCE_SHAPE)},
    "weight (N,1)": {"weight": np.random.default_rng(10).uniform(0.1, 2.0, (5, 1))},
}


def torch_weights(options, dtype):
    tdtype = torch.float32 if dtype == np.float32 else torch.float64
    return {k: torch.tensor(v, dtype=tdtype) for k, v in options.items()}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", list(BCE_OPTIONS))
@pytest.mark.parametrize("edges", [False, True], ids=["interior", "with 0 and 1"])
def test_bce_matches_torch(edges, options, reduction, dtype):
    rng = np.random.default_rng(3)
    x = rng.uniform(0.01, 0.99, BCE_SHAPE)
    y = rng.uniform(0.0, 1.0, BCE_SHAPE)
    if edges:  # the log clamp at -100 and the 1e-12 denominator clamp
        x[0] = [0.0, 1.0, 0.0]
        y[0] = [1.0, 0.0, 0.0]
        y[1] = [0.0, 1.0, 1.0]
    x, y = x.astype(dtype), y.astype(dtype)
    opts = BCE_OPTIONS[options]
    tw = torch_weights(opts, dtype)
    compare(nn.BCELoss(reduction=reduction, **opts),
            lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction, **tw), x, y, dtype)


# -- BCEWithLogitsLoss ----------------------------------------------------------------------

LOGITS_OPTIONS = dict(BCE_OPTIONS, **{
    "pos_weight": {"pos_weight": np.array([3.0, 0.5, 1.0])},
    "weight+pos_weight": {"weight": np.array([0.5, 2.0, 1.5]), "pos_weight": np.array([3.0, 0.5, 1.0])},
})


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", list(LOGITS_OPTIONS))
@pytest.mark.parametrize("large", [False, True], ids=["moderate", "with +-1e4"])
def test_bce_with_logits_matches_torch(large, options, reduction, dtype):
    rng = np.random.default_rng(4)
    x = rng.standard_normal(BCE_SHAPE) * 3
    y = rng.uniform(0.0, 1.0, BCE_SHAPE)
    if large:
        x[0] = [1e4, -1e4, 1e4]
        x[1] = [-1e4, 1e4, -50.0]
        y[0] = [0.0, 1.0, 1.0]
    x, y = x.astype(dtype), y.astype(dtype)
    opts = LOGITS_OPTIONS[options]
    tw = torch_weights(opts, dtype)
    compare(nn.BCEWithLogitsLoss(reduction=reduction, **opts),
            lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=reduction, **tw), x, y, dtype)


# -- MSELoss (the reference loss this file's harness was first written for) -----------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_matches_torch(reduction, dtype):
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((4, 3)).astype(dtype), rng.standard_normal((4, 3)).astype(dtype)
    compare(nn.MSELoss(reduction), lambda a, b: F.mse_loss(a, b, reduction=reduction), x, y, dtype)
