"""nn.utils gradient clipping, worked by hand."""

import math

import numpy as np
import pytest

from chainrule import nn
from chainrule.nn.utils import clip_grad_norm_, clip_grad_value_


def params_with_grads(*grads):
    params = []
    for g in grads:
        p = nn.Parameter(np.zeros(np.shape(g)))
        p.grad = np.array(g, dtype=p.dtype)  # as a backward would leave it
        params.append(p)
    return params


def test_clip_grad_norm_scales_to_max_norm():
    # Gradients (3, 4) and (12,): total 2-norm sqrt(9 + 16 + 144) = 13.
    a, b = params_with_grads([3.0, 4.0], [12.0])
    total = clip_grad_norm_([a, b], max_norm=1.3)
    assert total == 13.0
    coef = 1.3 / (13.0 + 1e-6)
    np.testing.assert_allclose(a.grad, [3 * coef, 4 * coef], rtol=1e-15)
    np.testing.assert_allclose(b.grad, [12 * coef], rtol=1e-15)


def test_clip_grad_norm_leaves_small_gradients_and_handles_norm_types():
    a, b = params_with_grads([3.0, -4.0], [12.0])
    assert clip_grad_norm_(iter([a, b]), max_norm=100.0) == 13.0
    np.testing.assert_array_equal(a.grad, [3.0, -4.0])
    assert clip_grad_norm_([a, b], 100.0, norm_type=1) == 19.0
    assert clip_grad_norm_([a, b], 100.0, norm_type="inf") == 12.0
    assert clip_grad_norm_([a, b], 100.0, norm_type=3) == pytest.approx((27 + 64 + 1728) ** (1 / 3))
    assert clip_grad_norm_(a, 100.0) == 5.0  # a single Parameter
    assert clip_grad_norm_([], 1.0) == 0.0


def test_clip_grad_norm_nonfinite():
    a, = params_with_grads([np.inf, 1.0])
    with pytest.raises(RuntimeError, match="clip_grad_norm_: the total norm of order 2.0 of the gradients is non-finite"):
        clip_grad_norm_([a], 1.0, error_if_nonfinite=True)
    assert math.isinf(clip_grad_norm_([a], 1.0))  # scaled by 1/inf, as PyTorch
    assert math.isnan(a.grad[0]) and a.grad[1] == 0.0


def test_clip_grad_value_clamps_in_place():
    a, = params_with_grads([-3.0, 0.5, 2.0])
    view = a.grad
    assert clip_grad_value_([a], 1.0) is None
    np.testing.assert_array_equal(a.grad, [-1.0, 0.5, 1.0])
    assert a.grad is view


def test_float32_gradients_stay_float32():
    p = nn.Parameter(np.zeros(3, dtype=np.float32))
    p.grad = np.array([10.0, 0.0, 0.0], dtype=np.float32)
    clip_grad_norm_([p], 1.0)
    assert p.grad.dtype == np.float32 and p.grad[0] == pytest.approx(1.0, rel=1e-6)


def test_parameters_without_a_gradient_are_skipped_as_pytorch():
    # .grad is None until a backward writes it (a frozen parameter, or one the forward did
    # not use): it counts for nothing in the norm and is left None, as in PyTorch.
    a, b = params_with_grads([3.0, 4.0], [12.0])
    unused = nn.Parameter(np.ones(5))
    assert unused.grad is None
    assert clip_grad_norm_([a, unused, b], max_norm=100.0) == 13.0  # sqrt(9 + 16 + 144)
    assert clip_grad_norm_([unused, a], max_norm=1.0) == 5.0
    np.testing.assert_allclose(a.grad, [3.0 / (5.0 + 1e-6), 4.0 / (5.0 + 1e-6)], rtol=1e-15)
    clip_grad_value_([unused, b], 1.0)
    np.testing.assert_array_equal(b.grad, [1.0])
    assert unused.grad is None


def test_no_gradient_at_all_gives_total_norm_zero():
    params = [nn.Parameter(np.ones(2)), nn.Parameter(np.ones(3))]
    for norm_type in (2.0, 1, "inf"):
        assert clip_grad_norm_(params, 1.0, norm_type=norm_type) == 0.0  # torch.tensor(0.) in PyTorch
    assert clip_grad_value_(params, 1.0) is None
    assert all(p.grad is None for p in params)
    with pytest.raises(ValueError, match="clip_grad_norm_ max_norm must be a number >= 0, got -1"):
        clip_grad_norm_(params, -1)  # still validated


def test_skipping_none_gradients_matches_pytorch():
    torch = pytest.importorskip("torch")
    grads = {"a": [3.0, -4.0], "b": None, "c": [12.0, 0.5]}
    ours = {k: nn.Parameter(np.zeros(2)) for k in grads}
    theirs = {k: torch.zeros(2, dtype=torch.float64, requires_grad=True) for k in grads}
    for k, g in grads.items():
        if g is not None:
            ours[k].grad = np.array(g)
            theirs[k].grad = torch.tensor(g, dtype=torch.float64)
    total = clip_grad_norm_(ours.values(), max_norm=2.0)
    expected = torch.nn.utils.clip_grad_norm_(list(theirs.values()), max_norm=2.0)
    assert total == pytest.approx(float(expected), rel=1e-15)
    for k in grads:
        if grads[k] is None:
            assert ours[k].grad is None and theirs[k].grad is None
        else:
            np.testing.assert_allclose(ours[k].grad, theirs[k].grad.numpy(), rtol=1e-15)
    assert float(torch.nn.utils.clip_grad_norm_([theirs["b"]], 1.0)) == clip_grad_norm_([ours["b"]], 1.0) == 0.0


@pytest.mark.parametrize("call, error, match", [
    (lambda p: clip_grad_norm_(p, -1.0), ValueError, "clip_grad_norm_ max_norm must be a number >= 0, got -1.0"),
    (lambda p: clip_grad_norm_(p, 1.0, norm_type=0), ValueError,
     "clip_grad_norm_ norm_type must be a positive number or inf, got 0"),
    (lambda p: clip_grad_norm_([np.zeros(2)], 1.0), TypeError, "clip_grad_norm_ expects Parameters"),
    (lambda p: clip_grad_value_(p, -0.5), ValueError, "clip_grad_value_ clip_value must be a number >= 0, got -0.5"),
])
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call(params_with_grads([1.0]))
