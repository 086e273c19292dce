"""Losses against central finite differences (float64) over every option, plus the worked
identity softmax - onehot, stability at +-1e4, dtype preservation and every error."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

REDUCTIONS = ["mean", "sum", "none"]
C = 4  # classes in the cross-entropy cases


# -- cross-entropy inputs -------------------------------------------------------------------

def ce_case(layout, target_kind, seed=0):
    """Logits and a target for one input layout: (N, C), (C,) or K-dim (N, C, d1, d2)."""
    rng = np.random.default_rng(seed)
    shape = {"(N,C)": (5, C), "(C,)": (C,), "(N,C,d1,d2)": (2, C, 3, 2)}[layout]
    x = rng.standard_normal(shape) * 2
    loss_shape = () if len(shape) == 1 else shape[:1] + shape[2:]
    if target_kind == "probabilities":
        q = rng.uniform(0.1, 1.0, shape)
        return x, q / q.sum(axis=0 if len(shape) == 1 else 1, keepdims=True)
    t = rng.integers(0, C, loss_shape)
    if target_kind == "indices+ignored" and t.ndim:
        t.reshape(-1)[[1, -1]] = -100  # two ignored entries
    return x, t


CE_OPTIONS = {
    "plain": {},
    "weight": {"weight": np.array([0.5, 2.0, 1.0, 3.0])},
    "smoothing": {"label_smoothing": 0.3},
    "weight+smoothing": {"weight": np.array([0.5, 2.0, 1.0, 3.0]), "label_smoothing": 0.3},
    "smoothing=1": {"label_smoothing": 1.0},
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", list(CE_OPTIONS))
@pytest.mark.parametrize("target_kind", ["indices", "indices+ignored", "probabilities"])
@pytest.mark.parametrize("layout", ["(N,C)", "(C,)", "(N,C,d1,d2)"])
def test_cross_entropy_gradcheck(layout, target_kind, options, reduction):
    x, t = ce_case(layout, target_kind)
    loss = nn.CrossEntropyLoss(reduction=reduction, **CE_OPTIONS[options])
    assert cr.gradcheck(loss, x, t)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_gradcheck_with_ignore_index_inside_the_class_range(reduction):
    x, t = ce_case("(N,C)", "indices")
    t[:] = [1, 0, 1, 2, 3]
    loss = nn.CrossEntropyLoss(weight=[0.5, 2.0, 1.0, 3.0], ignore_index=1, reduction=reduction, label_smoothing=0.2)
    assert cr.gradcheck(loss, x, t)
    loss(x, t)
    assert np.all(loss.backward(np.ones(5) if reduction == "none" else 1.0)[t == 1] == 0)


# -- binary cross-entropy inputs ------------------------------------------------------------

BCE_OPTIONS = {
    "plain": {},
    "weight (C,)": {"weight": np.array([0.5, 2.0, 1.5])},
    "weight (N,C)": {"weight": np.random.default_rng(5).uniform(0.2, 2.0, (4, 3))},
}
LOGITS_OPTIONS = dict(BCE_OPTIONS, **{
    "pos_weight": {"pos_weight": np.array([3.0, 0.5, 1.0])},
    "weight+pos_weight": {"weight": np.array([0.5, 2.0, 1.5]), "pos_weight": np.array([3.0, 0.5, 1.0])},
})


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", list(BCE_OPTIONS))
def test_bce_gradcheck(options, reduction):
    rng = np.random.default_rng(1)
    x = rng.uniform(0.05, 0.95, (4, 3))  # away from 0 and 1, where log and the clamp kink
    y = rng.uniform(0.0, 1.0, (4, 3))
    assert cr.gradcheck(nn.BCELoss(reduction=reduction, **BCE_OPTIONS[options]), x, y)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", list(LOGITS_OPTIONS))
def test_bce_with_logits_gradcheck(options, reduction):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3)) * 3
    y = rng.uniform(0.0, 1.0, (4, 3))
    assert cr.gradcheck(nn.BCEWithLogitsLoss(reduction=reduction, **LOGITS_OPTIONS[options]), x, y)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_gradcheck(reduction):
    rng = np.random.default_rng(3)
    assert cr.gradcheck(nn.MSELoss(reduction=reduction), rng.standard_normal((4, 3)), rng.standard_normal((4, 3)))


# -- worked values --------------------------------------------------------------------------

def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_cross_entropy_gradient_is_softmax_minus_onehot_over_n():
    x, t = ce_case("(N,C)", "indices")
    loss = nn.CrossEntropyLoss()
    value = loss(x, t)
    p = softmax(x)
    onehot = np.eye(C)[t]
    assert value == pytest.approx(-np.mean(np.log(p[np.arange(5), t])), rel=1e-12)
    np.testing.assert_allclose(loss.backward(), (p - onehot) / 5, rtol=1e-12, atol=1e-15)


def test_cross_entropy_two_classes_by_hand():
    # logits (0, ln 3): p = (1/4, 3/4). Target 1: loss = -ln(3/4); gradient p - y = (1/4, -1/4).
    loss = nn.CrossEntropyLoss(reduction="sum")
    assert loss(np.array([[0.0, np.log(3.0)]]), np.array([1])) == pytest.approx(-np.log(0.75), rel=1e-14)
    np.testing.assert_allclose(loss.backward(), [[0.25, -0.25]], rtol=1e-14)


def test_cross_entropy_weighted_mean_divides_by_the_weights_of_the_targets():
    x, t = ce_case("(N,C)", "indices+ignored")
    w = np.array([0.5, 2.0, 1.0, 3.0])
    per_row = nn.CrossEntropyLoss(weight=w, reduction="none")(x, t)
    kept = t != -100
    assert nn.CrossEntropyLoss(weight=w)(x, t) == pytest.approx(per_row.sum() / w[t[kept]].sum(), rel=1e-12)


def test_cross_entropy_label_smoothing_by_formula():
    x, t = ce_case("(N,C)", "indices")
    eps = 0.3
    logp = np.log(softmax(x))
    expected = np.mean((1 - eps) * -logp[np.arange(5), t] + eps / C * -logp.sum(axis=1))
    assert nn.CrossEntropyLoss(label_smoothing=eps)(x, t) == pytest.approx(expected, rel=1e-12)


def test_cross_entropy_onehot_probabilities_equal_class_indices():
    x, t = ce_case("(N,C)", "indices")
    w = np.array([0.5, 2.0, 1.0, 3.0])
    by_index, by_prob = nn.CrossEntropyLoss(reduction="sum", weight=w), nn.CrossEntropyLoss(reduction="sum", weight=w)
    assert by_index(x, t) == pytest.approx(by_prob(x, np.eye(C)[t]), rel=1e-12)
    np.testing.assert_allclose(by_index.backward(), by_prob.backward(), rtol=1e-12, atol=1e-15)


def test_cross_entropy_ignored_entries_give_zero_loss_and_zero_gradient():
    x, t = ce_case("(N,C,d1,d2)", "indices+ignored")
    loss = nn.CrossEntropyLoss(reduction="none", weight=[0.5, 2.0, 1.0, 3.0], label_smoothing=0.2)
    per_entry = loss(x, t)
    ignored = t == -100
    assert ignored.sum() == 2 and np.all(per_entry[ignored] == 0) and np.all(per_entry[~ignored] > 0)
    grad = loss.backward(np.ones_like(per_entry))
    assert np.all(np.moveaxis(grad, 1, -1)[ignored] == 0)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weight", [None, [1.0, 2.0, 3.0, 4.0]])
def test_cross_entropy_every_target_ignored_is_nan_without_warning(weight, label_smoothing):
    x, _ = ce_case("(N,C)", "indices")
    loss = nn.CrossEntropyLoss(weight=weight, label_smoothing=label_smoothing)
    assert np.isnan(loss(x, np.full(5, -100)))  # PyTorch: 0/0 = nan; warnings are errors here
    np.testing.assert_array_equal(loss.backward(), np.zeros_like(x))  # PyTorch's gradient: 0
    assert nn.CrossEntropyLoss(reduction="sum")(x, np.full(5, -100)) == 0.0


def test_cross_entropy_zero_total_weight_is_nan_like_pytorch():
    # The only counted targets have weight 0: mean is 0/0 = nan, their rows' gradients are nan,
    # the ignored row's stays 0 (what PyTorch returns).
    x, _ = ce_case("(N,C)", "indices")
    loss = nn.CrossEntropyLoss(weight=[0.0, 1.0, 1.0, 1.0])
    assert np.isnan(loss(x, np.array([0, 0, -100, 0, 0])))
    grad = loss.backward()
    assert np.all(np.isnan(grad[[0, 1, 3, 4]])) and np.all(grad[2] == 0)


def test_empty_batches_give_nan_mean_without_warning():
    ce = nn.CrossEntropyLoss()
    assert np.isnan(ce(np.zeros((0, 3)), np.zeros(0, dtype=np.int64)))
    assert ce.backward().shape == (0, 3)
    assert np.isnan(ce(np.zeros((0, 3)), np.zeros((0, 3))))
    for loss in (nn.BCELoss(), nn.BCEWithLogitsLoss(), nn.MSELoss()):
        assert np.isnan(loss(np.zeros(0), np.zeros(0)))
        assert loss.backward().shape == (0,)


def test_bce_clamps_logs_at_minus_100_like_pytorch():
    loss = nn.BCELoss(reduction="none")
    values = loss(np.array([0.0, 1.0, 0.0, 1.0, 0.5]), np.array([1.0, 0.0, 0.0, 1.0, 1.0]))
    np.testing.assert_allclose(values, [100.0, 100.0, 0.0, 0.0, np.log(2.0)], rtol=1e-15)
    # (x - y) / max(x (1 - x), eps): +-1/eps at the ends, 0 where x == y, -2 at x = 0.5, y = 1.
    # PyTorch's eps is 1e-12 as a C float, even in float64: 1/eps = 1.0000000039958e12, not 1e12.
    big = 1 / float(np.float32(1e-12))
    assert big == pytest.approx(1.0000000039958e12, rel=1e-12)
    np.testing.assert_allclose(loss.backward(np.ones(5)), [-big, big, 0.0, 0.0, -2.0], rtol=1e-15)


def test_bce_with_logits_is_bce_of_sigmoid():
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((6, 3)), rng.uniform(0, 1, (6, 3))
    w = rng.uniform(0.5, 2, 3)
    s = 1 / (1 + np.exp(-x))
    logits, probs = nn.BCEWithLogitsLoss(weight=w), nn.BCELoss(weight=w)
    assert logits(x, y) == pytest.approx(probs(s, y), rel=1e-12)
    delta = logits.backward()
    np.testing.assert_allclose(delta, probs.backward() * s * (1 - s), rtol=1e-10)
    np.testing.assert_allclose(delta, w * (s - y) / y.size, rtol=1e-12)  # delta = sigma - y


def test_bce_with_logits_pos_weight_by_formula():
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((6, 3)), rng.uniform(0, 1, (6, 3))
    pw = np.array([3.0, 0.5, 1.0])
    s = 1 / (1 + np.exp(-x))
    expected = -(pw * y * np.log(s) + (1 - y) * np.log(1 - s))
    np.testing.assert_allclose(nn.BCEWithLogitsLoss(reduction="none", pos_weight=pw)(x, y), expected, rtol=1e-12)


def test_binary_losses_accept_integer_targets_as_floats():
    rng = np.random.default_rng(6)
    y = rng.integers(0, 2, (5, 2))
    x = rng.uniform(0.1, 0.9, (5, 2))
    assert nn.BCELoss()(x, y) == nn.BCELoss()(x, y.astype(np.float64))
    assert nn.BCEWithLogitsLoss()(x, y.astype(bool)) == nn.BCEWithLogitsLoss()(x, y.astype(np.float64))


# -- stability and dtype --------------------------------------------------------------------

def test_cross_entropy_is_stable_at_1e4():
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [1e4, 1e4, 1e4]])
    t = np.array([1, 0, 2])
    loss = nn.CrossEntropyLoss(reduction="none", label_smoothing=0.1)
    values = loss(x, t)
    grad = loss.backward(np.ones(3))
    assert np.all(np.isfinite(values)) and np.all(np.isfinite(grad))
    # Row 0: log p = (0, -2e4, -1e4), target 1: 0.9 * 2e4 + 0.1/3 * (0 + 2e4 + 1e4) = 19000.
    # Row 1: log p = (-2e4 - ln 2, -ln 2, -ln 2), target 0: 0.9 (2e4 + ln 2) + 0.1/3 (2e4 + 3 ln 2).
    # Row 2: equal logits: every log p is -ln 3, so the loss is ln 3 whatever the smoothing.
    expected = [19000.0, 0.9 * (2e4 + np.log(2)) + 0.1 / 3 * (2e4 + 3 * np.log(2)), np.log(3.0)]
    np.testing.assert_allclose(values, expected, rtol=1e-12)
    np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-12)  # p and the smoothed target both sum to 1


def test_binary_cross_entropy_with_logits_is_stable_at_1e4():
    x = np.array([1e4, -1e4, 1e4, -1e4, 0.0])
    y = np.array([0.0, 1.0, 1.0, 0.0, 0.5])
    loss = nn.BCEWithLogitsLoss(reduction="none", pos_weight=np.array([2.0]))
    # (1-y) x for the wrong sign, times pos_weight when y = 1; 0 for the right sign; ln 2 (1 + 2)/2 at 0.
    np.testing.assert_allclose(loss(x, y), [1e4, 2e4, 0.0, 0.0, 1.5 * np.log(2.0)], rtol=1e-15)
    # (1 + (pw - 1) y) sigma - pw y: 1, -2, 0, 0 and, at x = 0, 1.5 * 0.5 - 2 * 0.5 = -0.25.
    np.testing.assert_allclose(loss.backward(np.ones(5)), [1.0, -2.0, 0.0, 0.0, -0.25], rtol=1e-15)


def test_bce_with_logits_keeps_precision_where_the_loss_is_tiny():
    # -log(1 - sigma(-30)) = log1p(e^-30): the naive (1 - y) x + log(1 + e^-x) cancels here.
    x = np.array([-30.0, 30.0])
    np.testing.assert_allclose(nn.BCEWithLogitsLoss(reduction="none")(x, np.array([0.0, 1.0])),
                               np.log1p(np.exp(-30.0)), rtol=1e-14)


def f32(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", [
    "CE", "CE weight+smoothing+ignore", "CE probabilities weight+smoothing", "CE K-dim",
    "BCE weight", "BCEWithLogits weight+pos_weight", "MSE",
])
def test_float32_in_float32_out(case, reduction):
    w64 = np.array([0.5, 2.0, 1.0])  # float64 weights must not upcast float32 work
    x = f32(4, 3)
    t = np.array([0, 2, -100, 1])
    loss, target = {
        "CE": (nn.CrossEntropyLoss(reduction=reduction), t.clip(0)),
        "CE weight+smoothing+ignore": (nn.CrossEntropyLoss(w64, reduction=reduction, label_smoothing=0.1), t),
        "CE probabilities weight+smoothing": (
            nn.CrossEntropyLoss(w64, reduction=reduction, label_smoothing=0.1), np.full((4, 3), 1 / 3)),
        "CE K-dim": (nn.CrossEntropyLoss(w64, reduction=reduction), np.zeros((4, 2), dtype=np.int32)),
        "BCE weight": (nn.BCELoss(w64, reduction=reduction), np.full((4, 3), 0.25)),
        "BCEWithLogits weight+pos_weight": (nn.BCEWithLogitsLoss(w64, reduction, pos_weight=w64), np.ones((4, 3))),
        "MSE": (nn.MSELoss(reduction), np.zeros((4, 3))),
    }[case]
    if case == "CE K-dim":
        x = f32(4, 3, 2)
    if case.startswith("BCE "):
        x = np.abs(x) / (1 + np.abs(x))  # probabilities in [0, 1)
    value = loss(x, target)
    if reduction == "none":
        assert value.dtype == np.float32
        grad = loss.backward(np.ones(value.shape, dtype=np.float64))  # a float64 grad is cast, not upcast
    else:
        assert isinstance(value, float) and np.isfinite(value)
        grad = loss.backward()
    assert grad.dtype == np.float32 and grad.shape == x.shape


# -- modes and repr -------------------------------------------------------------------------

@pytest.mark.parametrize("loss", [nn.CrossEntropyLoss(), nn.BCELoss(), nn.BCEWithLogitsLoss(), nn.MSELoss()],
                         ids=lambda m: type(m).__name__)
def test_backward_before_forward_raises(loss):
    with pytest.raises(RuntimeError, match=rf"{type(loss).__name__}\.backward\(\) called before forward\(\)"):
        loss.backward()


def test_no_grad_computes_the_loss_but_keeps_nothing_for_backward():
    x, t = ce_case("(N,C)", "indices")
    loss = nn.CrossEntropyLoss()
    with cr.no_grad():
        expected = loss(x, t)
    loss.eval()  # eval mode changes nothing for a loss
    assert loss(x, t) == expected
    loss.backward()
    with cr.no_grad():
        loss(x, t)
    with pytest.raises(RuntimeError, match=r"CrossEntropyLoss\.backward\(\) called a second time"):
        loss.backward()


def test_losses_have_no_parameters_and_do_not_alias_the_weight():
    w = np.array([1.0, 2.0, 3.0])
    loss = nn.CrossEntropyLoss(weight=w)
    w[0] = 100.0
    assert list(loss.parameters()) == [] and loss.weight[0] == 1.0


def test_repr():
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss()"
    assert repr(nn.CrossEntropyLoss(reduction="sum", ignore_index=0, label_smoothing=0.1)) == (
        "CrossEntropyLoss(reduction='sum', ignore_index=0, label_smoothing=0.1)")
    assert repr(nn.BCEWithLogitsLoss(reduction="none")) == "BCEWithLogitsLoss(reduction='none')"


# -- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, error, match", [
    ({"reduction": "avg"}, ValueError, r"CrossEntropyLoss reduction must be one of 'mean', 'sum', 'none', got 'avg'"),
    ({"label_smoothing": 1.5}, ValueError, r"CrossEntropyLoss label_smoothing must be in \[0, 1\], got 1.5"),
    ({"label_smoothing": -0.1}, ValueError, r"label_smoothing must be in \[0, 1\], got -0.1"),
    ({"label_smoothing": float("nan")}, ValueError, r"label_smoothing must be in \[0, 1\], got nan"),
    ({"label_smoothing": "0.1"}, TypeError, r"CrossEntropyLoss label_smoothing must be a number, got '0.1'"),
    ({"ignore_index": 1.0}, TypeError, r"CrossEntropyLoss ignore_index must be an int, got 1.0"),
    ({"weight": np.ones((2, 3))}, ValueError, r"CrossEntropyLoss weight must be a 1-D array .*got shape \(2, 3\)"),
    ({"weight": ["a", "b"]}, TypeError, r"CrossEntropyLoss expected weight to be a real numeric array, got dtype <U1"),
])
def test_cross_entropy_bad_options(kwargs, error, match):
    with pytest.raises(error, match=match):
        nn.CrossEntropyLoss(**kwargs)


@pytest.mark.parametrize("x_shape, target, kwargs, error, match", [
    ((4, 3), np.array([0, 5, 1, 2]), {}, ValueError,
     r"CrossEntropyLoss target contains class 5, but input has 3 classes \(class indices must be in \[0, 3\) "
     r"or equal ignore_index=-100\)"),
    ((4, 3), np.array([0, -1, 1, 2]), {}, ValueError, r"target contains class -1, but input has 3 classes"),
    ((4, 3), np.array([0, -100, 1, 2]), {"ignore_index": -1}, ValueError, r"target contains class -100"),
    ((3,), np.array(3), {}, ValueError, r"target contains class 3, but input has 3 classes"),
    ((4, 3), np.array([0, 1, 2]), {}, ValueError,
     r"CrossEntropyLoss expected target of shape \(4,\) \(class indices\) or \(4, 3\) \(class probabilities\) "
     r"for input of shape \(4, 3\), got target of shape \(3,\)"),
    ((2, 3, 5), np.zeros((2, 3), dtype=int), {}, ValueError, r"expected target of shape \(2, 5\) \(class indices\)"),
    ((4, 3), np.array([0.0, 1.0, 2.0, 1.0]), {}, TypeError,
     r"CrossEntropyLoss target of shape \(4,\) holds class indices and must be an integer array, got dtype float64"),
    ((4, 3), np.zeros((4, 3), dtype=np.int64), {}, TypeError,
     r"CrossEntropyLoss target has the input's shape \(4, 3\), so it holds class probabilities and must be a float "
     r"array, got dtype int64"),
    ((4, 3), np.array([True, False, True, True]), {}, TypeError, r"must be an integer array, got dtype bool"),
    ((4, 3), np.array([0, 1, 2, 0]), {"weight": [1.0, 2.0]}, ValueError,
     r"CrossEntropyLoss weight must have one entry per class, shape \(3,\), got \(2,\)"),
    ((4, 3), np.full((4, 3), 1 / 3), {"ignore_index": 0}, ValueError,
     r"CrossEntropyLoss ignore_index is not supported with probability targets .*got ignore_index=0"),
    ((), np.array(0), {}, ValueError, r"CrossEntropyLoss expected input of shape \(C,\), \(N, C\) .*got shape \(\)"),
    ((4, 0), np.zeros(4, dtype=int), {}, ValueError, r"with C >= 1, got shape \(4, 0\)"),
])
def test_cross_entropy_bad_input(x_shape, target, kwargs, error, match):
    with pytest.raises(error, match=match):
        nn.CrossEntropyLoss(**kwargs)(np.zeros(x_shape), target)


def test_cross_entropy_rejects_non_numeric_input():
    with pytest.raises(TypeError, match=r"CrossEntropyLoss expected input to be a real numeric array, got dtype <U1"):
        nn.CrossEntropyLoss()(np.array([["a", "b"]]), np.array([0]))


@pytest.mark.parametrize("loss, grad, match", [
    (nn.CrossEntropyLoss(reduction="none"), np.ones(3),
     r"CrossEntropyLoss.backward expected grad of shape \(4,\) for reduction='none', got \(3,\)"),
    (nn.CrossEntropyLoss(), np.ones(4), r"CrossEntropyLoss.backward expected grad of shape \(\) for reduction='mean', "
                                        r"got \(4,\)"),
    (nn.BCELoss(reduction="none"), np.ones((4,)), r"BCELoss.backward expected grad of shape \(4, 3\)"),
    (nn.BCEWithLogitsLoss(reduction="sum"), np.ones((4, 3)), r"BCEWithLogitsLoss.backward expected grad of shape \(\)"),
], ids=["CE none", "CE mean", "BCE none", "BCEWithLogits sum"])
def test_backward_rejects_a_grad_of_the_wrong_shape(loss, grad, match):
    x = np.full((4, 3), 0.5)
    target = np.array([0, 1, 2, 0]) if isinstance(loss, nn.CrossEntropyLoss) else np.ones((4, 3))
    loss(x, target)
    with pytest.raises(ValueError, match=match):
        loss.backward(grad)


@pytest.mark.parametrize("x, y, match", [
    (np.array([0.5, 1.5, -0.25]), np.ones(3), r"BCELoss expected input values in \[0, 1\], got values in \[-0.25, 1.5\]"),
    (np.array([0.5, np.nan]), np.ones(2), r"BCELoss expected input values in \[0, 1\], got values in \[nan, nan\]"),
    (np.array([0.5, 0.5]), np.array([1.0, 2.0]), r"BCELoss expected target values in \[0, 1\], got values in \[1.0, 2.0\]"),
    (np.full((4, 3), 0.5), np.ones((3, 4)),
     r"BCELoss expected target of the same shape as input \(4, 3\), got \(3, 4\)"),
])
def test_bce_bad_input(x, y, match):
    with pytest.raises(ValueError, match=match):
        nn.BCELoss()(x, y)


@pytest.mark.parametrize("loss, match", [
    (nn.BCELoss(weight=np.ones(4)), r"BCELoss weight of shape \(4,\) does not broadcast to the input shape \(2, 3\)"),
    (nn.BCELoss(weight=np.ones((5, 2, 3))), r"BCELoss weight of shape \(5, 2, 3\) does not broadcast"),
    (nn.BCEWithLogitsLoss(pos_weight=np.ones(2)),
     r"BCEWithLogitsLoss pos_weight of shape \(2,\) does not broadcast to the input shape \(2, 3\)"),
    (nn.BCEWithLogitsLoss(weight=np.ones((3, 3))), r"BCEWithLogitsLoss weight of shape \(3, 3\) does not broadcast"),
])
def test_binary_losses_reject_weights_that_do_not_broadcast(loss, match):
    with pytest.raises(ValueError, match=match):
        loss(np.full((2, 3), 0.5), np.ones((2, 3)))


def test_bce_with_logits_rejects_target_of_another_shape():
    with pytest.raises(ValueError, match=r"BCEWithLogitsLoss expected target of the same shape as input \(4,\), "
                                         r"got \(4, 1\)"):
        nn.BCEWithLogitsLoss()(np.zeros(4), np.zeros((4, 1)))


@pytest.mark.parametrize("cls", [nn.BCELoss, nn.BCEWithLogitsLoss])
def test_binary_losses_reject_unknown_reduction(cls):
    with pytest.raises(ValueError, match=rf"{cls.__name__} reduction must be one of 'mean', 'sum', 'none', got 'max'"):
        cls(reduction="max")


def test_a_huge_unsigned_class_index_is_named_as_it_is():
    x = np.zeros((2, 3))
    target = np.array([2**63, 1], dtype=np.uint64)
    with pytest.raises(ValueError, match="target contains class 9223372036854775808, but input has 3 classes"):
        nn.CrossEntropyLoss()(x, target)
