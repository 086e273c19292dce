"""GroupNorm, Dropout1d/2d and Upsample: central differences, PyTorch's numbers, and the refusals."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

RNG = np.random.default_rng(0)


# -- GroupNorm -----------------------------------------------------------------------------------
@pytest.mark.parametrize("groups, shape, affine", [(2, (3, 4), True), (2, (2, 4, 5), True), (1, (2, 6, 3, 3), True),
                                                   (6, (2, 6, 3, 3), False), (3, (1, 6, 2), True)])
def test_group_norm_backward_is_central_differences(groups, shape, affine):
    norm = nn.GroupNorm(groups, shape[1], affine=affine, dtype=np.float64)
    if affine:
        norm.weight.data[...] = RNG.uniform(0.5, 1.5, shape[1])
        norm.bias.data[...] = RNG.standard_normal(shape[1])
    assert cr.gradcheck(norm, RNG.standard_normal(shape))


def test_group_norm_is_pytorchs():
    torch = pytest.importorskip("torch", reason="compares with torch.nn.GroupNorm")
    x, g = RNG.standard_normal((3, 6, 4, 2)), RNG.standard_normal((3, 6, 4, 2))
    ours = nn.GroupNorm(3, 6, eps=1e-3, dtype=np.float64)
    theirs = torch.nn.GroupNorm(3, 6, eps=1e-3).double()
    with torch.no_grad():
        theirs.weight.uniform_(0.5, 1.5)
        theirs.bias.normal_()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    xt = torch.tensor(x, requires_grad=True)
    out = theirs(xt)
    (out * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(ours(x), out.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.backward(g), xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-9)
    np.testing.assert_allclose(ours.bias.grad, theirs.bias.grad.numpy(), rtol=1e-9)
    assert repr(ours) == "GroupNorm(3, 6, eps=0.001, affine=True, bias=True)" == repr(theirs)


def test_group_norm_without_bias_and_frozen_weight():
    norm = nn.GroupNorm(2, 4, bias=False, dtype=np.float64)
    assert norm.bias is None and [n for n, _ in norm.named_parameters()] == ["weight"]
    assert cr.gradcheck(norm, RNG.standard_normal((2, 4, 3)))
    norm.weight.requires_grad = False
    norm(RNG.standard_normal((2, 4, 3)))
    norm.weight.grad = None
    norm.backward(np.ones((2, 4, 3)))
    assert norm.weight.grad is None


def test_group_norm_refuses_groups_that_do_not_divide_and_the_wrong_channels():
    with pytest.raises(ValueError, match="GroupNorm num_channels must be divisible by num_groups, got num_channels=6 "
                                         "and num_groups=4"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match=r"GroupNorm expected input of shape \(N, 6, \*\).*got shape \(2, 4\)"):
        nn.GroupNorm(2, 6)(np.zeros((2, 4)))


# -- Dropout1d / Dropout2d -----------------------------------------------------------------------
@pytest.mark.parametrize("cls, shape", [(nn.Dropout1d, (4, 5, 7)), (nn.Dropout1d, (5, 7)),
                                        (nn.Dropout2d, (3, 4, 5, 6)), (nn.Dropout2d, (4, 5, 6))])
def test_channel_dropout_drops_whole_channels_and_backpropagates_through_the_same_mask(cls, shape):
    drop = cls(0.4, rng=np.random.default_rng(1))
    x = RNG.uniform(1, 2, shape)  # no zeros: a zero in the output means a dropped element
    y = drop(x)
    spatial = tuple(range(len(shape) - (1 if cls is nn.Dropout1d else 2), len(shape)))
    kept = (y != 0).all(axis=spatial)
    assert ((y == 0).all(axis=spatial) | kept).all()           # each channel all kept or all dropped
    np.testing.assert_allclose(y[kept], (x / 0.6)[kept])
    g = RNG.standard_normal(shape)
    np.testing.assert_allclose(drop.backward(g), np.where(y != 0, g / 0.6, 0.0))
    drop.eval()
    assert drop(x) is x


def test_channel_dropout_keeps_the_expected_value_and_refuses_a_wrong_rank():
    drop = nn.Dropout2d(0.25, rng=np.random.default_rng(2))
    assert abs(drop(np.ones((400, 50, 2, 2))).mean() - 1.0) < 0.02
    with pytest.raises(ValueError, match=r"Dropout2d expected input of shape \(N, C, H, W\) or without N, got shape \(3, 4\)"):
        drop(np.ones((3, 4)))


# -- Upsample ------------------------------------------------------------------------------------
# (Upsample against torch.nn.Upsample in every mode, nearest included: tests/nn/test_interpolate.py)


def test_upsample_backward_is_central_differences_and_the_refusals_name_the_argument():
    assert cr.gradcheck(nn.Upsample(scale_factor=3), RNG.standard_normal((1, 2, 2, 3)))
    with pytest.raises(ValueError, match="Upsample expected exactly one of size and scale_factor"):
        nn.Upsample()
    with pytest.raises(ValueError, match="Upsample mode must be one of 'nearest', .*got 'lanczos'"):
        nn.Upsample(scale_factor=2, mode="lanczos")
    with pytest.raises(ValueError, match="Upsample scale_factor must be a positive number"):
        nn.Upsample(scale_factor=-1)
    with pytest.raises(ValueError, match=r"Upsample size must have one value per spatial axis of the input, 1 "
                                         r"for shape \(1, 1, 3\)"):
        nn.Upsample(size=(2, 2))(np.zeros((1, 1, 3)))
