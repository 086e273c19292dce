"""F's argument checks: no misuse is silent, each error names its argument and is of the class
torch's function raises; PyTorch's legacy size_average/reduce mapped as PyTorch maps them (F's
losses, their backwards and the loss modules alike); the pooling tuples torch accepts; batch_norm
of an empty 1-D input."""

import itertools
import re
import warnings

import numpy as np
import pytest

import chainrule.nn.functional as F
from chainrule import nn

torch = pytest.importorskip("torch", reason="F's checks are compared with torch.nn.functional's")
TF = torch.nn.functional
RNG = np.random.default_rng(7)


def _torch_raises(fn, *args, **kwargs):
    """The class of the exception torch raises on the call (the test compares ours with it)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 -- whatever torch raises is what the test compares
        return type(exc)
    raise AssertionError("torch did not raise: the case is not a misuse")


def _torch_args(args):
    return [torch.tensor(a) for a in args]


def _losses():
    """name -> (input, target) of that loss, float64 (targets: what each takes)."""
    x, y = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 3))
    p, q = RNG.uniform(0.05, 0.95, (4, 3)), RNG.uniform(0, 1, (4, 3))
    log_p, t = x - np.log(np.exp(x).sum(1, keepdims=True)), np.array([0, 2, 1, 2])
    return {"mse_loss": (x, y), "l1_loss": (x, y), "smooth_l1_loss": (x, y), "huber_loss": (x, y),
            "binary_cross_entropy": (p, q), "binary_cross_entropy_with_logits": (x, q),
            "nll_loss": (log_p, t), "cross_entropy": (x, t)}


LOSSES = _losses()
LEGACY = [name for name in LOSSES if name != "huber_loss"]  # PyTorch's huber_loss never had them


def _backward(name, grad, input, target, **options):
    """F.<name>_backward, by the F rule: cross_entropy's takes softmax(input, dim=1)."""
    if name == "cross_entropy":
        input = F.softmax(input, dim=1)
    return getattr(F, f"{name}_backward")(grad, input, target, **options)


# -- no misuse is silent ----------------------------------------------------------------------

def test_gelu_refuses_an_unknown_approximate_as_torch():
    x = RNG.standard_normal(5)
    expected = _torch_raises(TF.gelu, torch.tensor(x), approximate="asdf")
    with pytest.raises(expected, match=r"gelu approximate must be 'none' or 'tanh', got 'asdf'"):
        F.gelu(x, approximate="asdf")
    for form in ("none", "tanh"):  # the two forms still run, and are torch's
        np.testing.assert_allclose(F.gelu(x, approximate=form), TF.gelu(torch.tensor(x), approximate=form).numpy(),
                                   rtol=1e-10)


@pytest.mark.parametrize("name", list(LOSSES))
@pytest.mark.parametrize("bad", ["abc", "Mean", None, "elementwise"])
def test_every_loss_and_its_backward_refuse_an_unknown_reduction(name, bad):
    input, target = LOSSES[name]
    expected = _torch_raises(getattr(TF, name), *_torch_args((input, target)), reduction=bad)
    message = rf"{name} reduction must be one of 'mean', 'sum', 'none', got {bad!r}"
    with pytest.raises(expected, match=message):
        getattr(F, name)(input, target, reduction=bad)
    with pytest.raises(ValueError, match=rf"{name}_backward reduction must be one of 'mean', 'sum', 'none'"):
        _backward(name, 1.0, input, target, reduction=bad)


@pytest.mark.parametrize("delta", [0, 0.0, -1.0, float("nan")])
def test_huber_loss_refuses_a_delta_that_is_not_positive_as_torch(delta):
    x, y = LOSSES["huber_loss"]
    expected = _torch_raises(TF.huber_loss, *_torch_args((x, y)), delta=delta)
    with pytest.raises(expected, match=rf"huber_loss delta must be > 0, got {delta!r}"):
        F.huber_loss(x, y, delta=delta)
    with pytest.raises(expected, match=r"huber_loss_backward delta must be > 0"):
        F.huber_loss_backward(1.0, x, y, delta=delta)


@pytest.mark.parametrize("beta", [-1.0, float("nan")])
def test_smooth_l1_loss_refuses_a_negative_beta_as_torch(beta):
    x, y = LOSSES["smooth_l1_loss"]
    expected = _torch_raises(TF.smooth_l1_loss, *_torch_args((x, y)), beta=beta)
    with pytest.raises(expected, match=rf"smooth_l1_loss beta must be >= 0, got {beta!r}"):
        F.smooth_l1_loss(x, y, beta=beta)
    np.testing.assert_allclose(F.smooth_l1_loss(x, y, beta=0.0),  # 0 is allowed: L1, as torch
                               TF.smooth_l1_loss(*_torch_args((x, y)), beta=0.0).item(), rtol=1e-10)


@pytest.mark.parametrize("shape", [(1, 1, 1), (3,), ()])
def test_embedding_refuses_a_weight_that_is_not_2d_as_torch(shape):
    weight, indices = np.ones(shape), np.zeros((2, 2), dtype=np.int64)
    expected = _torch_raises(TF.embedding, torch.tensor(indices), torch.tensor(weight))
    with pytest.raises(expected, match=rf"embedding expected weight of shape \(num_embeddings, embedding_dim\) "
                                       rf"\(2-D\), got shape {re.escape(str(shape))}"):
        F.embedding(indices, weight)


# -- batch_norm of an empty 1-D input -----------------------------------------------------------

@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_of_an_empty_1d_input_is_empty_as_torch(training):
    x, mean, var = np.zeros(0), np.zeros(0), np.ones(0)
    theirs_x = torch.tensor(x, requires_grad=True)
    theirs = TF.batch_norm(theirs_x, torch.tensor(mean), torch.tensor(var), training=training)
    theirs.sum().backward()
    ours = F.batch_norm(x, mean, var, training=training)
    assert ours.shape == tuple(theirs.shape) == (0,)
    grad, grad_weight, grad_bias = F.batch_norm_backward(np.zeros(0), x, mean, var, training=training)
    assert grad.shape == tuple(theirs_x.grad.shape) and grad_weight is None and grad_bias is None
    assert mean.shape == var.shape == (0,)


@pytest.mark.parametrize("shape", [(3,), ()])
def test_batch_norm_refuses_any_other_input_without_a_channel_axis(shape):
    x = np.ones(shape)
    _torch_raises(TF.batch_norm, torch.tensor(x), torch.zeros(1, dtype=torch.float64),
                  torch.ones(1, dtype=torch.float64))
    with pytest.raises(ValueError, match=rf"batch_norm expected input of shape \(N, C, \*\) .*got shape "
                                         rf"{re.escape(str(shape))}"):
        F.batch_norm(x, np.zeros(1), np.ones(1))


# -- the pooling tuples torch accepts -----------------------------------------------------------

POOL_OPTIONS = [{"stride": ()}, {"stride": []}, {"stride": (1,)}, {"padding": (1,)}, {"kernel_size": (3,)},
                {"kernel_size": (3,), "stride": (2,), "padding": [1]}]


POOL2D_CASES = [("max_pool2d", options) for options in POOL_OPTIONS + [{"dilation": (2,)}]] + [
    ("avg_pool2d", options) for options in POOL_OPTIONS]  # avg_pool2d has no dilation


@pytest.mark.parametrize("name, options", POOL2D_CASES, ids=str)
def test_pool2d_takes_a_1_tuple_for_both_axes_and_an_empty_stride_as_torch(name, options):
    kwargs = {"kernel_size": 3, **options}
    x = RNG.standard_normal((2, 3, 7, 8))
    xt = torch.tensor(x, requires_grad=True)
    out = getattr(TF, name)(xt, **kwargs)
    grad = RNG.standard_normal(tuple(out.shape))
    (out * torch.tensor(grad)).sum().backward()
    np.testing.assert_allclose(getattr(F, name)(x, **kwargs), out.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(getattr(F, f"{name}_backward")(grad, x, **kwargs), xt.grad.numpy(),
                               rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("options", POOL_OPTIONS, ids=str)
@pytest.mark.parametrize("name", ["MaxPool2d", "AvgPool2d", "MaxPool1d", "AvgPool1d"])
def test_pool_modules_take_what_torchs_take(name, options):
    kwargs = {"kernel_size": 3, **options}
    x = RNG.standard_normal((2, 3, 7, 8) if name.endswith("2d") else (2, 3, 8))
    xt = torch.tensor(x, requires_grad=True)
    out = getattr(torch.nn, name)(**kwargs)(xt)
    grad = RNG.standard_normal(tuple(out.shape))
    (out * torch.tensor(grad)).sum().backward()
    ours = getattr(nn, name)(**kwargs)
    np.testing.assert_allclose(ours(x), out.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.backward(grad), xt.grad.numpy(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("options", POOL_OPTIONS + [{"kernel_size": [3]}], ids=str)
@pytest.mark.parametrize("name", ["MaxPool2d", "AvgPool2d", "MaxPool1d", "AvgPool1d"])
def test_pool_modules_repr_as_torch(name, options):
    kwargs = {"kernel_size": 3, **options}
    assert repr(getattr(nn, name)(**kwargs)) == repr(getattr(torch.nn, name)(**kwargs))


@pytest.mark.parametrize("options", [{"padding": ()}, {"kernel_size": ()}, {"stride": (1, 2, 3)}], ids=str)
def test_pool2d_refuses_the_tuples_torch_refuses(options):
    kwargs = {"kernel_size": 3, **options}
    x = RNG.standard_normal((1, 2, 6, 6))
    _torch_raises(TF.avg_pool2d, torch.tensor(x), **kwargs)
    name = next(iter(options))
    with pytest.raises(TypeError, match=rf"AvgPool2d {name} must be an int or a tuple of 1 or 2 ints"):
        F.avg_pool2d(x, **kwargs)


@pytest.mark.parametrize("options", [{"stride": (2,)}, {"padding": (0,)}, {"stride": ()}], ids=str)
def test_max_unpool2d_still_takes_pairs_only_as_torch(options):
    x = torch.randn(1, 2, 6, 6, dtype=torch.float64)
    y, indices = TF.max_pool2d(x, 2, return_indices=True)
    _torch_raises(torch.nn.MaxUnpool2d(2, **options), y, indices)
    with pytest.raises(TypeError, match=r"MaxUnpool2d \w+ must be an int or a tuple of 2 ints"):
        nn.MaxUnpool2d(2, **options)


# -- PyTorch's legacy size_average / reduce -----------------------------------------------------

COMBINATIONS = [c for c in itertools.product([None, True, False], repeat=2) if c != (None, None)]


def _torch_legacy(fn, *args, **kwargs):
    """torch's result of the call and the reduction its warning names."""
    with pytest.warns(UserWarning, match=r"size_average and reduce") as record:
        result = fn(*args, **kwargs)
    (said,) = {m for w in record for m in re.findall(r"reduction='(\w+)'", str(w.message))}
    return result, said


@pytest.mark.parametrize("size_average, reduce", COMBINATIONS)
@pytest.mark.parametrize("name", LEGACY)
def test_every_loss_maps_size_average_and_reduce_as_torch(name, size_average, reduce):
    input, target = LOSSES[name]
    legacy = {"size_average": size_average, "reduce": reduce}
    xt = torch.tensor(input, requires_grad=True)
    out, said = _torch_legacy(getattr(TF, name), xt, torch.tensor(target), reduction="sum", **legacy)
    grad = RNG.standard_normal(tuple(out.shape))
    (out * torch.tensor(grad)).sum().backward()
    with pytest.warns(UserWarning, match=rf"{name}: size_average and reduce are deprecated .*reduction={said!r}"):
        ours = getattr(F, name)(input, target, reduction="sum", **legacy)  # reduction is ignored, as torch
    np.testing.assert_allclose(ours, out.detach().numpy(), rtol=1e-10)
    with pytest.warns(UserWarning, match=rf"{name}_backward: .*reduction={said!r}"):
        np.testing.assert_allclose(_backward(name, grad if grad.ndim else grad.item(), input, target,
                                             reduction="abc", **legacy), xt.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize("name", LEGACY)
def test_without_size_average_and_reduce_there_is_no_warning(name):
    input, target = LOSSES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for reduction in ("mean", "sum", "none"):
            getattr(F, name)(input, target, reduction=reduction)


MODULES = {"MSELoss": "mse_loss", "L1Loss": "l1_loss", "SmoothL1Loss": "smooth_l1_loss", "BCELoss":
           "binary_cross_entropy", "BCEWithLogitsLoss": "binary_cross_entropy_with_logits", "NLLLoss": "nll_loss",
           "CrossEntropyLoss": "cross_entropy"}


@pytest.mark.parametrize("size_average, reduce", COMBINATIONS)
@pytest.mark.parametrize("module", list(MODULES))
def test_the_loss_modules_map_size_average_and_reduce_as_torch(module, size_average, reduce):
    input, target = LOSSES[MODULES[module]]
    legacy = {"size_average": size_average, "reduce": reduce}
    theirs, said = _torch_legacy(getattr(torch.nn, module), **legacy)
    with pytest.warns(UserWarning, match=rf"{module}: size_average and reduce are deprecated .*reduction={said!r}"):
        ours = getattr(nn, module)(**legacy)
    assert ours.reduction == theirs.reduction == said
    np.testing.assert_allclose(ours(input, target), theirs(*_torch_args((input, target))).numpy(), rtol=1e-10)


def test_the_warning_points_at_the_callers_line():
    input, target = LOSSES["mse_loss"]
    for make in (lambda: F.mse_loss(input, target, reduce=False), lambda: nn.MSELoss(reduce=False),
                 lambda: nn.SmoothL1Loss(reduce=False)):
        with pytest.warns(UserWarning) as record:
            make()
        assert record[0].filename == __file__


def test_huber_loss_has_no_legacy_arguments_as_torch():
    for fn in (TF.huber_loss, F.huber_loss):
        with pytest.raises(TypeError, match="size_average"):
            fn(*LOSSES["huber_loss"], size_average=False)
    for cls in (torch.nn.HuberLoss, nn.HuberLoss):
        with pytest.raises(TypeError, match="reduce"):
            cls(reduce=False)
