"""Each loss's function pair (``mse_loss`` / ``mse_loss_backward``, ..., ``cross_entropy`` /
``cross_entropy_backward``) against its module, exactly, and against ``torch.nn.functional``'s
function of the same name and arguments (value and autograd gradient), in float64, for every
reduction and the options each loss takes."""

import numpy as np
import pytest

from chainrule import nn
from chainrule.nn import loss as L

REDUCTIONS = ["mean", "sum", "none"]
C = 4
WEIGHT = np.array([0.5, 2.0, 1.0, 3.0])


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def regression(rng):
    return rng.standard_normal((5, 3)) * 2, rng.standard_normal((5, 3))


def probabilities(rng):
    return rng.uniform(0.05, 0.95, (5, 3)), rng.uniform(0, 1, (5, 3))


def logits(rng):
    return rng.standard_normal((5, 3)) * 2, rng.integers(0, 2, (5, 3)).astype(float)


def class_case(shape, target="indices", ignore=None, log=False):
    def make(rng):
        x = rng.standard_normal(shape) * 2
        axis = 0 if len(shape) == 1 else 1
        if log:
            x = np.log(softmax(x, axis))
        if target == "probabilities":
            return x, softmax(rng.standard_normal(shape), axis)
        t = rng.integers(0, C, () if len(shape) == 1 else shape[:1] + shape[2:])
        if ignore is not None and t.ndim:
            t.reshape(-1)[[0, -1]] = ignore
        return x, t
    return make


def of_input(x):
    return x


def probs_of(x):  # what cross_entropy_backward takes: probs = softmax(input, dim=1)
    return softmax(x, 0 if x.ndim == 1 else 1)


# (pair, module, data, what the backward needs from the input, options)
CASES = {
    "mse": ("mse_loss", nn.MSELoss, regression, of_input, {}),
    "l1": ("l1_loss", nn.L1Loss, regression, of_input, {}),
    "smooth_l1": ("smooth_l1_loss", nn.SmoothL1Loss, regression, of_input, {}),
    "smooth_l1 beta=0.5": ("smooth_l1_loss", nn.SmoothL1Loss, regression, of_input, {"beta": 0.5}),
    "smooth_l1 beta=0": ("smooth_l1_loss", nn.SmoothL1Loss, regression, of_input, {"beta": 0.0}),
    "huber": ("huber_loss", nn.HuberLoss, regression, of_input, {}),
    "huber delta=0.7": ("huber_loss", nn.HuberLoss, regression, of_input, {"delta": 0.7}),
    "bce": ("binary_cross_entropy", nn.BCELoss, probabilities, of_input, {}),
    "bce weight": ("binary_cross_entropy", nn.BCELoss, probabilities, of_input, {"weight": np.array([0.5, 2.0, 1.5])}),
    "bce_logits": ("binary_cross_entropy_with_logits", nn.BCEWithLogitsLoss, logits, of_input, {}),
    "bce_logits weight+pos_weight": ("binary_cross_entropy_with_logits", nn.BCEWithLogitsLoss, logits, of_input,
                                     {"weight": np.array([0.5, 2.0, 1.5]), "pos_weight": np.array([3.0, 0.5, 1.0])}),
    "nll (N,C)": ("nll_loss", nn.NLLLoss, class_case((6, C), log=True), of_input, {}),
    "nll (C,) weight": ("nll_loss", nn.NLLLoss, class_case((C,), log=True), of_input, {"weight": WEIGHT}),
    "nll (N,C,d1) weight+ignore_index": ("nll_loss", nn.NLLLoss, class_case((3, C, 2), ignore=1, log=True), of_input,
                                         {"weight": WEIGHT, "ignore_index": 1}),
    "cross_entropy (N,C)": ("cross_entropy", nn.CrossEntropyLoss, class_case((6, C)), probs_of, {}),
    "cross_entropy (C,)": ("cross_entropy", nn.CrossEntropyLoss, class_case((C,)), probs_of, {"weight": WEIGHT}),
    "cross_entropy weight": ("cross_entropy", nn.CrossEntropyLoss, class_case((6, C)), probs_of, {"weight": WEIGHT}),
    "cross_entropy label_smoothing": ("cross_entropy", nn.CrossEntropyLoss, class_case((6, C)), probs_of,
                                      {"label_smoothing": 0.2}),
    "cross_entropy ignore_index": ("cross_entropy", nn.CrossEntropyLoss, class_case((6, C), ignore=-100), probs_of, {}),
    "cross_entropy (N,C,d1,d2) all options": ("cross_entropy", nn.CrossEntropyLoss,
                                              class_case((2, C, 3, 2), ignore=2), probs_of,
                                              {"weight": WEIGHT, "ignore_index": 2, "label_smoothing": 0.3}),
    "cross_entropy probabilities": ("cross_entropy", nn.CrossEntropyLoss, class_case((6, C), "probabilities"),
                                    probs_of, {}),
    "cross_entropy probabilities (N,C,d1) weight+smoothing": (
        "cross_entropy", nn.CrossEntropyLoss, class_case((3, C, 2), "probabilities"), probs_of,
        {"weight": WEIGHT, "label_smoothing": 0.1}),
}


def run_pair(name, reduction, seed=0):
    pair, module, data, needs, options = CASES[name]
    rng = np.random.default_rng(seed)
    x, target = data(rng)
    forward, backward = getattr(L, pair), getattr(L, pair + "_backward")
    value = forward(x, target, reduction=reduction, **options)
    g = rng.standard_normal(np.shape(value)) if reduction == "none" else 1.7  # not 1: a lost factor shows
    grad = backward(g, needs(x), target, reduction=reduction, **options)
    return x, target, value, g, grad, module(reduction=reduction, **options)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", list(CASES))
def test_pair_is_its_module(name, reduction):
    x, target, value, g, grad, module = run_pair(name, reduction)
    expected = module(x, target)
    if reduction == "none":
        np.testing.assert_array_equal(value, expected)
    else:
        assert np.ndim(value) == 0 and value.dtype == x.dtype and float(value) == expected
    if CASES[name][3] is of_input:  # the same arrays in, the same arithmetic: bit for bit
        np.testing.assert_array_equal(grad, module.backward(g))
    else:  # this test's probs = softmax(x) are not bit for bit the module's exp(log_softmax(x))
        np.testing.assert_allclose(grad, module.backward(g), rtol=1e-13, atol=1e-16)
    assert grad.shape == x.shape and grad.dtype == x.dtype


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", list(CASES))
def test_pair_is_torch_functional(name, reduction):
    torch = pytest.importorskip("torch", reason="torch is not installed")
    x, target, value, g, grad, _ = run_pair(name, reduction)
    pair, _, _, _, options = CASES[name]
    xt = torch.tensor(x, requires_grad=True)
    options = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in options.items()}
    value_t = getattr(torch.nn.functional, pair)(xt, torch.tensor(target), reduction=reduction, **options)
    value_t.backward(torch.tensor(g, dtype=torch.float64))
    np.testing.assert_allclose(value, value_t.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(grad, xt.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_float32_stays_float32():
    rng = np.random.default_rng(2)
    x, t = rng.standard_normal((6, C)).astype(np.float32), rng.integers(0, C, 6)
    value = L.cross_entropy(x, t, weight=WEIGHT.astype(np.float32), label_smoothing=0.1)
    grad = L.cross_entropy_backward(np.float32(1.0), probs_of(x), t, weight=WEIGHT.astype(np.float32),
                                    label_smoothing=0.1)
    assert value.dtype == np.float32 and grad.dtype == np.float32
    assert L.mse_loss(x, x[::-1]).dtype == np.float32
    assert L.mse_loss_backward(np.float32(1.0), x, x[::-1]).dtype == np.float32


def test_cross_entropy_backward_plain_case_is_softmax_minus_onehot_over_n():
    rng = np.random.default_rng(3)
    x, t = rng.standard_normal((5, C)), rng.integers(0, C, 5)
    p = probs_of(x)
    np.testing.assert_array_equal(L.cross_entropy_backward(1.0, p, t, reduction="sum"), p - np.eye(C)[t])
    np.testing.assert_allclose(L.cross_entropy_backward(1.0, p, t), (p - np.eye(C)[t]) / 5, rtol=1e-15)


def test_mean_over_nothing_is_nan_as_in_the_modules():
    x, t = np.zeros((3, C)), np.full(3, -100)
    assert np.isnan(L.cross_entropy(x, t)) and np.isnan(L.nll_loss(x, t))
    np.testing.assert_array_equal(L.cross_entropy_backward(1.0, probs_of(x), t), np.zeros((3, C)))
    np.testing.assert_array_equal(L.nll_loss_backward(1.0, x, t), np.zeros((3, C)))
    assert np.isnan(L.mse_loss(np.zeros(0), np.zeros(0)))
