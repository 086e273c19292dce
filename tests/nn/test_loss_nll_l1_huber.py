"""NLLLoss, L1Loss, SmoothL1Loss and HuberLoss against central finite differences (float64) over
every option and reduction, a small case worked by hand, the relation CrossEntropyLoss =
LogSoftmax + NLLLoss, dtypes, the cache life cycle and every error."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

REDUCTIONS = ["mean", "sum", "none"]
C = 4
WEIGHT = np.array([0.5, 2.0, 1.0, 3.0])


# -- NLLLoss --------------------------------------------------------------------------------------

def nll_case(layout, ignore=None, seed=0):
    rng = np.random.default_rng(seed)
    shape = {"(N,C)": (5, C), "(C,)": (C,), "(N,C,d1)": (2, C, 3), "(N,C,d1,d2)": (2, C, 3, 2)}[layout]
    x = rng.standard_normal(shape) * 2  # any real numbers: the loss is linear in them
    t = rng.integers(0, C, () if len(shape) == 1 else shape[:1] + shape[2:])
    if ignore is not None and t.ndim:
        t.reshape(-1)[[1, -1]] = ignore  # two ignored entries
    return x, t


NLL_OPTIONS = {"plain": {}, "weight": {"weight": WEIGHT}, "ignore_index=2": {"ignore_index": 2},
               "weight+ignore_index=2": {"weight": WEIGHT, "ignore_index": 2}}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", list(NLL_OPTIONS))
@pytest.mark.parametrize("ignored", [False, True], ids=["all counted", "some ignored"])
@pytest.mark.parametrize("layout", ["(N,C)", "(C,)", "(N,C,d1)", "(N,C,d1,d2)"])
def test_nll_gradcheck(layout, ignored, options, reduction):
    x, t = nll_case(layout, NLL_OPTIONS[options].get("ignore_index", -100) if ignored else None)
    assert cr.gradcheck(nn.NLLLoss(reduction=reduction, **NLL_OPTIONS[options]), x, t)


def test_nll_by_hand():
    x = np.log(np.array([[0.5, 0.25, 0.25], [0.1, 0.6, 0.3], [0.2, 0.2, 0.6]]))
    t = np.array([0, 1, -100])
    loss = nn.NLLLoss(weight=[2.0, 1.0, 1.0])
    # (-2 log 0.5 - 1 log 0.6) / (2 + 1): the ignored row counts neither in the sum nor the weight
    assert loss(x, t) == pytest.approx((-2 * np.log(0.5) - np.log(0.6)) / 3, rel=1e-15)
    # -w_t / Σw at each counted target, 0 elsewhere
    np.testing.assert_allclose(loss.backward(), [[-2 / 3, 0, 0], [0, -1 / 3, 0], [0, 0, 0]], rtol=1e-15)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [{}, {"weight": WEIGHT, "ignore_index": 1}], ids=["plain", "weight+ignore"])
def test_log_softmax_then_nll_is_cross_entropy(options, reduction):
    """CrossEntropyLoss = LogSoftmax(dim=1) + NLLLoss, value and gradient, K-dim included."""
    rng = np.random.default_rng(3)
    z = rng.standard_normal((3, C, 5)) * 3
    t = rng.integers(0, C, (3, 5))
    log_softmax, nll = nn.LogSoftmax(dim=1), nn.NLLLoss(reduction=reduction, **options)
    ce = nn.CrossEntropyLoss(reduction=reduction, **options)
    g = rng.standard_normal((3, 5)) if reduction == "none" else 1.0
    np.testing.assert_allclose(nll(log_softmax(z), t), ce(z, t), rtol=1e-13)
    np.testing.assert_allclose(log_softmax.backward(nll.backward(g)), ce.backward(g), rtol=1e-12, atol=1e-15)


def test_nll_mean_over_nothing_is_nan_with_zero_gradient():
    x, _ = nll_case("(N,C)")
    loss = nn.NLLLoss()
    assert np.isnan(loss(x, np.full(5, -100)))
    np.testing.assert_array_equal(loss.backward(), np.zeros_like(x))
    assert np.isnan(loss(np.zeros((0, C)), np.zeros(0, dtype=int)))
    assert loss.backward().shape == (0, C)


def test_nll_weight_is_a_buffer_in_state_dict_and_not_aliased():
    w = WEIGHT.copy()
    loss = nn.NLLLoss(weight=w)
    w[0] = 100.0
    assert list(loss.parameters()) == [] and loss.weight[0] == 0.5
    assert list(loss.state_dict()) == ["weight"]
    assert list(nn.NLLLoss().state_dict()) == []


@pytest.mark.parametrize("kwargs, error, match", [
    ({"reduction": "avg"}, ValueError, r"NLLLoss reduction must be one of 'mean', 'sum', 'none', got 'avg'"),
    ({"ignore_index": 1.0}, TypeError, r"NLLLoss ignore_index must be an int, got 1.0"),
    ({"weight": np.ones((2, 3))}, ValueError, r"NLLLoss weight must be a 1-D array of per-class weights, got shape \(2, 3\)"),
    ({"weight": ["a"]}, TypeError, r"NLLLoss expected weight to be a real numeric array, got dtype <U1"),
])
def test_nll_bad_options(kwargs, error, match):
    with pytest.raises(error, match=match):
        nn.NLLLoss(**kwargs)


@pytest.mark.parametrize("x_shape, target, kwargs, error, match", [
    ((4, 3), np.array([0, 5, 1, 2]), {}, ValueError,
     r"NLLLoss target contains class 5, but input has 3 classes \(class indices must be in \[0, 3\) or equal "
     r"ignore_index=-100\)"),
    ((4, 3), np.array([0, -1, 1, 2]), {}, ValueError, r"NLLLoss target contains class -1"),
    ((4, 3), np.array([0, -100, 1, 2]), {"ignore_index": -1}, ValueError, r"NLLLoss target contains class -100"),
    ((3,), np.array(3), {}, ValueError, r"NLLLoss target contains class 3, but input has 3 classes"),
    ((4, 3), np.array([0, 1, 2]), {}, ValueError,
     r"NLLLoss expected target of shape \(4,\) \(class indices\) for input of shape \(4, 3\), got target of shape \(3,\)"),
    ((2, 3, 5), np.zeros((2, 3), dtype=int), {}, ValueError, r"NLLLoss expected target of shape \(2, 5\)"),
    ((4, 3), np.array([0.0, 1.0, 2.0, 1.0]), {}, TypeError,
     r"NLLLoss target holds class indices and must be an integer array, got dtype float64"),
    ((4, 3), np.array([0, 1, 2, 0]), {"weight": [1.0, 2.0]}, ValueError,
     r"NLLLoss weight must have one entry per class, shape \(3,\), got \(2,\)"),
    ((), np.array(0), {}, ValueError, r"NLLLoss expected input of shape \(C,\), \(N, C\) or \(N, C, d1, \.\.\.\) "
                                      r"with C >= 1, got shape \(\)"),
    ((4, 0), np.zeros(4, dtype=int), {}, ValueError, r"NLLLoss expected input .* with C >= 1, got shape \(4, 0\)"),
])
def test_nll_bad_input(x_shape, target, kwargs, error, match):
    with pytest.raises(error, match=match):
        nn.NLLLoss(**kwargs)(np.zeros(x_shape), target)


def test_nll_huge_unsigned_class_index_is_named_as_it_is():
    with pytest.raises(ValueError, match="NLLLoss target contains class 9223372036854775808, but input has 3 classes"):
        nn.NLLLoss()(np.zeros((2, 3)), np.array([2**63, 1], dtype=np.uint64))


# -- L1, smooth L1, Huber -------------------------------------------------------------------------

REGRESSION = {
    "L1Loss": lambda r: nn.L1Loss(r),
    "SmoothL1Loss": lambda r: nn.SmoothL1Loss(r),
    "SmoothL1Loss beta=0.3": lambda r: nn.SmoothL1Loss(r, beta=0.3),
    "SmoothL1Loss beta=2.5": lambda r: nn.SmoothL1Loss(r, beta=2.5),
    "SmoothL1Loss beta=0": lambda r: nn.SmoothL1Loss(r, beta=0.0),
    "HuberLoss": lambda r: nn.HuberLoss(r),
    "HuberLoss delta=0.3": lambda r: nn.HuberLoss(r, delta=0.3),
    "HuberLoss delta=2.5": lambda r: nn.HuberLoss(r, delta=2.5),
}


def regression_case(shape, seed=0):
    """x and y whose differences stay 0.05 away from the kinks (0, ±0.3, ±1, ±2.5), where the
    central difference straddles two branches."""
    rng = np.random.default_rng(seed)
    d = rng.uniform(-4.0, 4.0, shape)
    kinks = np.array([0.0, 0.3, 1.0, 2.5])
    near = np.min(np.abs(np.abs(d)[..., None] - kinks), axis=-1) < 0.05
    d = np.where(near, d + 0.1, d)
    y = rng.standard_normal(shape)
    return y + d, y


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", list(REGRESSION))
@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4), ()], ids=str)
def test_regression_gradcheck(shape, case, reduction):
    x, y = regression_case(shape)
    assert cr.gradcheck(REGRESSION[case](reduction), x, y)


def test_regression_losses_by_hand():
    x = np.array([0.0, 0.5, 2.0, -3.0])
    y = np.zeros(4)
    l1, smooth, huber = nn.L1Loss("none"), nn.SmoothL1Loss("none", beta=1.0), nn.HuberLoss("none", delta=2.0)
    np.testing.assert_array_equal(l1(x, y), [0.0, 0.5, 2.0, 3.0])
    np.testing.assert_array_equal(l1.backward(np.ones(4)), [0.0, 1.0, 1.0, -1.0])  # sign, 0 at equality
    # beta 1: 0.5 d² below 1, |d| - 0.5 above
    np.testing.assert_array_equal(smooth(x, y), [0.0, 0.125, 1.5, 2.5])
    np.testing.assert_array_equal(smooth.backward(np.ones(4)), [0.0, 0.5, 1.0, -1.0])
    # delta 2: 0.5 d² below 2, 2 (|d| - 1) from 2 on; the gradient is d clipped to [-2, 2]
    np.testing.assert_array_equal(huber(x, y), [0.0, 0.125, 2.0, 4.0])
    np.testing.assert_array_equal(huber.backward(np.ones(4)), [0.0, 0.5, 2.0, -2.0])


def test_huber_is_delta_times_smooth_l1():
    x, y = regression_case((6, 2))
    for delta in (0.3, 1.0, 2.5):
        np.testing.assert_allclose(nn.HuberLoss(delta=delta)(x, y), delta * nn.SmoothL1Loss(beta=delta)(x, y), rtol=1e-14)


@pytest.mark.parametrize("case", list(REGRESSION))
def test_mean_divides_by_the_number_of_elements(case):
    x, y = regression_case((4, 3))
    total, mean = REGRESSION[case]("sum"), REGRESSION[case]("mean")
    assert mean(x, y) == pytest.approx(total(x, y) / 12, rel=1e-14)
    np.testing.assert_allclose(mean.backward(), total.backward() / 12, rtol=1e-14)


@pytest.mark.parametrize("cls, kwargs, error, match", [
    (nn.SmoothL1Loss, {"beta": -1.0}, ValueError, r"SmoothL1Loss beta must be >= 0, got -1.0"),
    (nn.SmoothL1Loss, {"beta": float("nan")}, ValueError, r"SmoothL1Loss beta must be >= 0, got nan"),
    (nn.SmoothL1Loss, {"beta": "1"}, TypeError, r"SmoothL1Loss beta must be a real number, got '1'"),
    (nn.HuberLoss, {"delta": 0.0}, ValueError, r"HuberLoss delta must be > 0, got 0.0"),
    (nn.HuberLoss, {"delta": True}, TypeError, r"HuberLoss delta must be a real number, got True"),
    (nn.L1Loss, {"reduction": "max"}, ValueError, r"L1Loss reduction must be one of 'mean', 'sum', 'none', got 'max'"),
])
def test_regression_bad_options(cls, kwargs, error, match):
    with pytest.raises(error, match=match):
        cls(**kwargs)


@pytest.mark.parametrize("name", ["L1Loss", "SmoothL1Loss", "HuberLoss"])
def test_regression_bad_input(name):
    loss = getattr(nn, name)()
    with pytest.raises(ValueError, match=rf"{name} expected target of the same shape as input \(4, 3\), got \(3, 4\)"):
        loss(np.zeros((4, 3)), np.zeros((3, 4)))
    with pytest.raises(TypeError, match=rf"{name} expected input to be a real numeric array, got dtype <U1"):
        loss(np.array(["a"]), np.zeros(1))


# -- for all four -----------------------------------------------------------------------------------

def all_four(reduction="mean"):
    x, t = nll_case("(N,C)")
    y = np.random.default_rng(9).standard_normal(x.shape)
    return [(nn.NLLLoss(reduction=reduction, weight=WEIGHT), x, t), (nn.L1Loss(reduction), x, y),
            (nn.SmoothL1Loss(reduction, beta=0.5), x, y), (nn.HuberLoss(reduction, delta=0.5), x, y)]


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_float32_stays_float32(reduction):
    for loss, x, target in all_four(reduction):
        x32 = x.astype(np.float32)
        target = target if target.dtype.kind == "i" else target.astype(np.float32)
        value = loss(x32, target)
        if reduction == "none":
            assert value.dtype == np.float32
            grad = loss.backward(np.ones(value.shape))  # a float64 grad is cast, not upcast
        else:
            assert isinstance(value, float)
            grad = loss.backward()
        assert grad.dtype == np.float32 and grad.shape == x.shape, type(loss).__name__


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_upstream_gradient_scales(reduction):
    for loss, x, target in all_four(reduction):
        value = loss(x, target)
        g = np.full(np.shape(value), 2.5) if reduction == "none" else 2.5
        twice = loss.backward(g)
        loss(x, target)
        once = loss.backward(np.ones(np.shape(value)) if reduction == "none" else 1.0)
        np.testing.assert_allclose(twice, 2.5 * once, rtol=1e-15)


def test_cache_life_cycle():
    for loss, x, target in all_four():
        name = type(loss).__name__
        with pytest.raises(RuntimeError, match=rf"{name}\.backward\(\) called before forward\(\)"):
            loss.backward()
        with cr.no_grad():
            expected = loss(x, target)
        assert loss(x, target) == expected
        loss.backward()
        with pytest.raises(RuntimeError, match=rf"{name}\.backward\(\) called a second time"):
            loss.backward()


def test_backward_rejects_a_grad_of_the_wrong_shape():
    for loss, x, target in all_four("none"):
        loss(x, target)
        with pytest.raises(ValueError, match=rf"{type(loss).__name__}\.backward expected grad of shape"):
            loss.backward(np.ones(3))


def test_reprs():
    assert repr(nn.NLLLoss()) == "NLLLoss()"
    assert repr(nn.L1Loss("sum")) == "L1Loss(reduction='sum')"
    assert repr(nn.SmoothL1Loss(beta=0.5)) == "SmoothL1Loss(beta=0.5)"
    assert repr(nn.HuberLoss("none", delta=2.0)) == "HuberLoss(reduction='none', delta=2.0)"
