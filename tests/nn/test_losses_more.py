"""kl_div, poisson_nll_loss, soft_margin_loss, hinge_embedding_loss, multi_margin_loss,
multilabel_margin_loss and multilabel_soft_margin_loss: each ``F`` pair against
``torch.nn.functional``'s function (value and autograd gradient, float64, rtol 1e-10) over its
options, the backward against central differences, and the errors."""

import numpy as np
import pytest

import chainrule.nn.functional as F
from chainrule import nn

REDUCTIONS = ["mean", "sum", "none"]
C = 4


def log_probs(shape):
    def make(rng):
        x = rng.standard_normal(shape)
        x = x - np.log(np.exp(x).sum(axis=-1, keepdims=True))
        return x, rng.uniform(0, 1, shape)
    return make


def log_probs_zero_target(rng):  # y = 0 entries: y log y is 0 there (xlogy)
    x, y = log_probs((3, C))(rng)
    y[0, 1] = y[2, 3] = 0.0
    return x, y


def log_target(rng):
    x, y = log_probs((3, C))(rng)
    return x, np.log(y)


def counts(log_input):
    def make(rng):
        x = rng.standard_normal((3, C))
        return (x if log_input else np.exp(x)), rng.integers(0, 6, (3, C)).astype(float)
    return make


def signs(shape, scale=1.0):
    def make(rng):
        return rng.standard_normal(shape) * scale, rng.choice([-1.0, 1.0], shape)
    return make


def classes(shape):
    def make(rng):
        x = rng.standard_normal(shape)
        return x, rng.integers(0, shape[-1], shape[:-1])
    return make


def label_rows(shape):
    """Scores and multilabel_margin_loss targets: per row some labels, then -1, then junk that
    must be ignored (a row with every class a label, one with a repeated label, one with none)."""
    def make(rng):
        x = rng.standard_normal(shape)
        rows = np.array([[3, 0, -1, 2], [1, 1, -1, -1], [0, 1, 2, 3], [-1, 2, 0, 1]])
        return x, rows[: (shape[0] if len(shape) == 2 else 1)].reshape(shape)
    return make


def probabilities(shape):
    def make(rng):
        return rng.standard_normal(shape) * 2, rng.uniform(0, 1, shape)
    return make


WEIGHT = np.array([0.5, 2.0, 1.0, 3.0])

# (function, data, options); every reduction is run for each
CASES = {
    "kl_div": ("kl_div", log_probs((3, C)), {}),
    "kl_div zero target": ("kl_div", log_probs_zero_target, {}),
    "kl_div (C,)": ("kl_div", log_probs((C,)), {}),
    "kl_div log_target": ("kl_div", log_target, {"log_target": True}),
    "kl_div batchmean": ("kl_div", log_probs((3, C)), {"reduction": "batchmean"}),
    "kl_div batchmean log_target": ("kl_div", log_target, {"reduction": "batchmean", "log_target": True}),
    "poisson": ("poisson_nll_loss", counts(True), {}),
    "poisson rate": ("poisson_nll_loss", counts(False), {"log_input": False}),
    "poisson full": ("poisson_nll_loss", counts(True), {"full": True}),
    "poisson rate full eps": ("poisson_nll_loss", counts(False), {"log_input": False, "full": True, "eps": 0.1}),
    "soft_margin": ("soft_margin_loss", signs((3, C), 3.0), {}),
    "hinge": ("hinge_embedding_loss", signs((3, C), 2.0), {}),
    "hinge margin": ("hinge_embedding_loss", signs((3, C), 2.0), {"margin": 0.5}),
    "multi_margin": ("multi_margin_loss", classes((5, C)), {}),
    "multi_margin (C,)": ("multi_margin_loss", classes((C,)), {}),
    "multi_margin p=2 margin": ("multi_margin_loss", classes((5, C)), {"p": 2, "margin": 0.7}),
    "multi_margin weight": ("multi_margin_loss", classes((5, C)), {"weight": WEIGHT}),
    "multi_margin p=2 weight": ("multi_margin_loss", classes((5, C)), {"p": 2, "weight": WEIGHT}),
    "multilabel_margin": ("multilabel_margin_loss", label_rows((4, C)), {}),
    "multilabel_margin (C,)": ("multilabel_margin_loss", label_rows((C,)), {}),
    "multilabel_soft_margin": ("multilabel_soft_margin_loss", probabilities((3, C)), {}),
    "multilabel_soft_margin (C,)": ("multilabel_soft_margin_loss", probabilities((C,)), {}),
    "multilabel_soft_margin (N,d,C)": ("multilabel_soft_margin_loss", probabilities((2, 3, C)), {}),
    "multilabel_soft_margin weight": ("multilabel_soft_margin_loss", probabilities((3, C)), {"weight": WEIGHT}),
}
RUNS = [(case, r) for case, (_, _, options) in CASES.items()
        for r in ([options["reduction"]] if "reduction" in options else REDUCTIONS)]


def run(case, reduction, rng):
    name, make, options = CASES[case]
    x, t = make(rng)
    return name, x, t, {**options, "reduction": reduction}


def upstream(loss, rng):
    """The gradient into the loss: a random scalar, or an array shaped like a 'none' loss."""
    return rng.standard_normal(np.shape(loss))


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides the total loss:UserWarning")  # torch's, for kl_div
@pytest.mark.parametrize("case,reduction", RUNS)
def test_against_torch(case, reduction):
    torch = pytest.importorskip("torch", reason="the reference values are torch's")
    rng = np.random.default_rng(0)
    name, x, t, options = run(case, reduction, rng)
    ours = getattr(F, name)(x, t, **options)
    g = upstream(ours, rng)
    grad = getattr(F, f"{name}_backward")(g, x, t, **options)

    x_t = torch.tensor(x, requires_grad=True)
    t_t = torch.tensor(t)
    opts = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in options.items()}
    theirs = getattr(torch.nn.functional, name)(x_t, t_t, **opts)
    theirs.backward(torch.tensor(g))
    assert np.shape(ours) == tuple(theirs.shape)
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert grad.shape == x.shape and grad.dtype == x.dtype
    np.testing.assert_allclose(grad, x_t.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case,reduction", RUNS)
def test_backward_is_central_differences(case, reduction):
    rng = np.random.default_rng(1)
    name, x, t, options = run(case, reduction, rng)
    forward, backward = getattr(F, name), getattr(F, f"{name}_backward")
    g = upstream(forward(x, t, **options), rng)
    analytic = backward(g, x, t, **options)
    eps = 1e-6
    numeric = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        numeric[i] = (np.sum(g * forward(up, t, **options)) - np.sum(g * forward(down, t, **options))) / (2 * eps)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7)


# Exactly on a kink, each backward takes PyTorch's side.
KINKS = {
    # z = margin - x_t + x_c = 0 for class 0: no gradient (PyTorch counts z > 0)
    "multi_margin at the margin": ("multi_margin_loss", np.array([[1.0, 0.5, 2.0]]), np.array([2]), {}),
    # z = 1 - x_y + x_c = 0: no gradient either
    "multilabel_margin at the margin": ("multilabel_margin_loss", np.array([[0.0, 1.0, 0.3]]),
                                        np.array([[1, -1, 0]]), {}),
    # margin - x = 0 with y = -1: PyTorch's clamp lets the gradient -1 through
    "hinge at the margin": ("hinge_embedding_loss", np.array([1.0, 0.5, 2.0, 0.3]), np.array([-1.0, -1.0, 1.0, 1.0]),
                            {}),
    # a target that is neither 1 nor -1 adds both terms
    "hinge other target": ("hinge_embedding_loss", np.array([0.2, 3.0]), np.array([0.0, 2.0]), {}),
}


@pytest.mark.parametrize("case", list(KINKS))
def test_kinks_as_torch(case):
    torch = pytest.importorskip("torch", reason="the reference values are torch's")
    name, x, t, options = KINKS[case]
    x_t = torch.tensor(x, requires_grad=True)
    theirs = getattr(torch.nn.functional, name)(x_t, torch.tensor(t), reduction="sum", **options)
    theirs.backward()
    np.testing.assert_allclose(getattr(F, name)(x, t, reduction="sum", **options), theirs.item(), rtol=1e-10)
    np.testing.assert_array_equal(getattr(F, f"{name}_backward")(1.0, x, t, reduction="sum", **options),
                                  x_t.grad.numpy())


def test_multilabel_margin_ignores_what_follows_the_end():
    x = np.random.default_rng(2).standard_normal((2, C))
    a = F.multilabel_margin_loss(x, np.array([[2, -1, 0, 1], [1, -1, 3, 3]]), reduction="none")
    b = F.multilabel_margin_loss(x, np.array([[2, -1, -1, -1], [1, -1, -1, -1]]), reduction="none")
    np.testing.assert_array_equal(a, b)


def test_kl_div_batchmean_is_the_sum_over_the_batch():
    x, y = log_probs((3, C))(np.random.default_rng(3))
    assert F.kl_div(x, y, reduction="batchmean") == pytest.approx(F.kl_div(x, y, reduction="sum") / 3, rel=1e-14)


X, T = np.zeros((2, 3)), np.array([0, 2])


@pytest.mark.parametrize("call,error,match", [
    (lambda: F.multi_margin_loss(X, T, p=3), ValueError, r"multi_margin_loss p must be 1 or 2"),
    (lambda: F.multi_margin_loss(X, np.array([0, 3])), ValueError, r"multi_margin_loss target contains class 3"),
    (lambda: F.multi_margin_loss(X, np.array([0, -1])), ValueError, r"multi_margin_loss target contains class -1"),
    (lambda: F.multi_margin_loss(X, np.array([0.0, 1.0])), TypeError, r"multi_margin_loss target .*integer"),
    (lambda: F.multi_margin_loss(X, np.array([0, 1, 2])), ValueError, r"multi_margin_loss expected target of 2"),
    (lambda: F.multi_margin_loss(X, T, weight=np.ones(2)), ValueError, r"multi_margin_loss weight .*\(3,\)"),
    (lambda: F.multi_margin_loss(np.zeros((2, 3, 1)), T), ValueError, r"multi_margin_loss expected input"),
    (lambda: F.multilabel_margin_loss(X, np.array([[0, 3, -1], [0, 1, 2]])), ValueError,
     r"multilabel_margin_loss target contains class 3"),
    (lambda: F.multilabel_margin_loss(X, np.array([[0, -2, -1], [0, 1, 2]])), ValueError,
     r"multilabel_margin_loss target contains class -2"),
    (lambda: F.multilabel_margin_loss(X, np.array([0, 1])), ValueError, r"multilabel_margin_loss expected target"),
    (lambda: F.multilabel_margin_loss(X, np.zeros((2, 3))), TypeError, r"multilabel_margin_loss target .*integer"),
    (lambda: F.kl_div(X, X, reduction="batch"), ValueError, r"kl_div reduction"),
    (lambda: F.poisson_nll_loss(X, X, reduction="avg"), ValueError, r"poisson_nll_loss reduction"),
    (lambda: F.soft_margin_loss(X, X, reduction="avg"), ValueError, r"soft_margin_loss reduction"),
    (lambda: F.hinge_embedding_loss(X, X, reduction="avg"), ValueError, r"hinge_embedding_loss reduction"),
    (lambda: F.multilabel_soft_margin_loss(X, X, reduction="avg"), ValueError,
     r"multilabel_soft_margin_loss reduction"),
])
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


# -- the modules: the pair's numbers, PyTorch's module's, their errors ----------------------
MODULES = {
    "kl_div": lambda o: nn.KLDivLoss(**o),
    "poisson_nll_loss": lambda o: nn.PoissonNLLLoss(**o),
    "soft_margin_loss": lambda o: nn.SoftMarginLoss(**o),
    "hinge_embedding_loss": lambda o: nn.HingeEmbeddingLoss(**o),
    "multi_margin_loss": lambda o: nn.MultiMarginLoss(**o),
    "multilabel_margin_loss": lambda o: nn.MultiLabelMarginLoss(**o),
    "multilabel_soft_margin_loss": lambda o: nn.MultiLabelSoftMarginLoss(**o),
}
TORCH_MODULES = {"kl_div": "KLDivLoss", "poisson_nll_loss": "PoissonNLLLoss", "soft_margin_loss": "SoftMarginLoss",
                 "hinge_embedding_loss": "HingeEmbeddingLoss", "multi_margin_loss": "MultiMarginLoss",
                 "multilabel_margin_loss": "MultiLabelMarginLoss",
                 "multilabel_soft_margin_loss": "MultiLabelSoftMarginLoss"}
MODULE_RUNS = [(case, r) for case, r in RUNS if "(N,d,C)" not in case]


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides the total loss:UserWarning")  # torch's, for kl_div
@pytest.mark.parametrize("case,reduction", MODULE_RUNS)
def test_module_is_the_pair_and_torch(case, reduction):
    torch = pytest.importorskip("torch", reason="the reference values are torch's")
    rng = np.random.default_rng(4)
    name, x, t, options = run(case, reduction, rng)
    module = MODULES[name](options)
    loss = module(x, t)
    g = upstream(loss, rng) if reduction == "none" else 0.7
    grad = module.backward(g)
    pair = getattr(F, name)(x, t, **options)
    assert (type(loss) is float) == (reduction != "none")
    np.testing.assert_array_equal(loss, pair)
    np.testing.assert_array_equal(grad, getattr(F, f"{name}_backward")(np.asarray(g), x, t, **options))

    opts = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in options.items()}
    theirs = getattr(torch.nn, TORCH_MODULES[name])(**opts)
    x_t = torch.tensor(x, requires_grad=True)
    out = theirs(x_t, torch.tensor(t))
    out.backward(torch.tensor(g, dtype=torch.float64))
    np.testing.assert_allclose(loss, out.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad, x_t.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", list(MODULES))
def test_module_backward_before_forward(name):
    with pytest.raises(RuntimeError, match="backward"):
        MODULES[name]({}).backward()


@pytest.mark.parametrize("make,error,match", [
    (lambda: nn.KLDivLoss(reduction="batch"), ValueError, r"KLDivLoss reduction"),
    (lambda: nn.KLDivLoss(log_target=1), TypeError, r"KLDivLoss log_target"),
    (lambda: nn.MultiMarginLoss(p=3), ValueError, r"MultiMarginLoss p must be 1 or 2"),
    (lambda: nn.MultiMarginLoss(weight=np.ones((2, 2))), ValueError, r"MultiMarginLoss weight"),
    (lambda: nn.PoissonNLLLoss(full="yes"), TypeError, r"PoissonNLLLoss full"),
    (lambda: nn.HingeEmbeddingLoss(margin="1"), TypeError, r"HingeEmbeddingLoss margin"),
    (lambda: nn.SoftMarginLoss(reduction="avg"), ValueError, r"SoftMarginLoss reduction"),
    (lambda: nn.MultiLabelMarginLoss()(X, np.array([[0, 5, -1], [0, 1, 2]])), ValueError,
     r"MultiLabelMarginLoss target contains class 5"),
    (lambda: nn.MultiMarginLoss()(X, np.array([0, 7])), ValueError, r"MultiMarginLoss target contains class 7"),
    (lambda: nn.SoftMarginLoss()(X, np.zeros((3, 2))), ValueError, r"SoftMarginLoss expected target"),
])
def test_module_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_module_grad_of_the_wrong_shape():
    module = nn.MultiMarginLoss(reduction="none")
    module(X, T)
    with pytest.raises(ValueError, match=r"MultiMarginLoss.backward expected grad of shape \(2,\)"):
        module.backward(np.ones(3))


def test_the_deprecated_size_average_and_reduce_map_as_pytorchs_with_a_warning():
    """As the other F losses (checks.legacy_reduction): reduce=False is 'none', size_average=False
    'sum', else 'mean', with a warning naming the reduction= to write."""
    x, y = np.log(np.full((2, 3), 1 / 3)), np.full((2, 3), 1 / 3) + np.array([0.1, -0.1, 0.0])
    for legacy, reduction in (({"size_average": True}, "mean"), ({"size_average": False}, "sum"),
                              ({"reduce": False}, "none")):
        with pytest.warns(UserWarning, match=f"reduction='{reduction}'"):
            got = F.kl_div(x, y, **legacy)
        np.testing.assert_array_equal(got, F.kl_div(x, y, reduction=reduction))


def test_a_class_out_of_range_is_named_without_an_ignore_index_the_loss_does_not_have():
    with pytest.raises(ValueError, match=r"class 3, but input has 3 classes \(class indices must be in \[0, 3\)\)$"):
        F.multi_margin_loss(np.zeros((2, 3)), np.array([0, 3]))
