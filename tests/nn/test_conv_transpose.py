"""ConvTranspose1d/2d: the adjoint of a convolution, against central differences and PyTorch."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

RNG = np.random.default_rng(0)
CASES = [{}, {"stride": 2, "padding": 1, "output_padding": 1}, {"groups": 2, "dilation": 2},
         {"bias": False, "stride": 3}, {"stride": (2, 1), "padding": (0, 1)}]


def _module(n, kwargs, **extra):
    cls = nn.ConvTranspose1d if n == 1 else nn.ConvTranspose2d
    kwargs = {k: (v[0] if isinstance(v, tuple) and n == 1 else v) for k, v in kwargs.items()}
    return cls(4, 6, 3, **kwargs, **extra), kwargs


@pytest.mark.parametrize("kwargs", CASES)
@pytest.mark.parametrize("n", [1, 2])
def test_backward_is_central_differences(n, kwargs):
    module, _ = _module(n, kwargs, dtype=np.float64, rng=np.random.default_rng(1))
    assert cr.gradcheck(module, RNG.standard_normal((2, 4) + (3,) * n))


@pytest.mark.parametrize("kwargs", CASES)
@pytest.mark.parametrize("n", [1, 2])
def test_pytorchs_numbers_weight_shape_and_repr(n, kwargs):
    torch = pytest.importorskip("torch", reason="compares with torch.nn.ConvTranspose1d/2d")
    ours, kwargs = _module(n, kwargs, dtype=np.float64)
    theirs = getattr(torch.nn, f"ConvTranspose{n}d")(4, 6, 3, **kwargs).double()
    assert ours.weight.shape == tuple(theirs.weight.shape) and repr(ours) == repr(theirs)
    ours.load_state_dict(theirs.state_dict())
    x = RNG.standard_normal((2, 4) + (5,) * n)
    xt = torch.tensor(x, requires_grad=True)
    out = theirs(xt)
    g = RNG.standard_normal(tuple(out.shape))
    (out * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(ours(x), out.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.backward(g), xt.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-12, atol=1e-12)
    if theirs.bias is not None:
        np.testing.assert_allclose(ours.bias.grad, theirs.bias.grad.numpy(), rtol=1e-12)


def test_unbatched_input_the_init_and_the_frozen_weight():
    up = nn.ConvTranspose2d(3, 2, 2, stride=2, dtype=np.float64, rng=np.random.default_rng(2))
    bound = 1 / np.sqrt(2 * 2 * 2)                    # fan_in = weight.shape[1] * kH * kW, as PyTorch
    assert np.abs(up.weight.data).max() <= bound and up.weight.shape == (3, 2, 2, 2)
    x = RNG.standard_normal((3, 4, 4))
    assert up(x).shape == (2, 8, 8)                   # upsampled by the stride
    up.weight.requires_grad = False
    assert up.backward(np.ones((2, 8, 8))).shape == (3, 4, 4) and up.weight.grad is None


def test_refusals_name_the_argument():
    with pytest.raises(ValueError, match="ConvTranspose2d out_channels must be divisible by groups, got out_channels=3, groups=2"):
        nn.ConvTranspose2d(4, 3, 3, groups=2)
    with pytest.raises(ValueError, match="ConvTranspose1d output_padding must be smaller than either stride or dilation"):
        nn.ConvTranspose1d(2, 2, 3, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="ConvTranspose2d padding must be an int or a tuple of ints, got 'same'"):
        nn.ConvTranspose2d(2, 2, 3, padding="same")
    with pytest.raises(ValueError, match=r"ConvTranspose1d: the output would be -1 per channel"):
        nn.ConvTranspose1d(2, 2, 1, padding=1)(np.zeros((1, 2, 1)))
    with pytest.raises(ValueError, match=r"ConvTranspose1d expected input"):
        nn.ConvTranspose1d(2, 2, 3)(np.zeros((1, 3, 4)))
    with pytest.raises(ValueError, match=r"ConvTranspose2d padding_mode must be 'zeros' \(a transposed convolution "
                                         r"has no other, as in PyTorch\), got 'reflect'"):
        nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match=r"ConvTranspose1d padding_mode must be one of 'zeros', .*got 'mirror'"):
        nn.ConvTranspose1d(2, 2, 3, padding_mode="mirror")


@pytest.mark.parametrize("n, shape, kwargs, output_size", [
    (1, (2, 4, 5), {"stride": 3, "padding": 1}, [15]),         # the largest of 13..15
    (1, (4, 5), {"stride": 2}, (11,)),                          # unbatched, the smallest of 11..12
    (2, (2, 4, 4, 5), {"stride": (2, 3), "dilation": (1, 2)}, (2, 6, 10, 17)),  # with N and C in front
])
def test_output_size_picks_the_output_padding_as_pytorch(n, shape, kwargs, output_size):
    torch = pytest.importorskip("torch", reason="compares forward(input, output_size) with torch's")
    ours = getattr(nn, f"ConvTranspose{n}d")(4, 6, 3, **kwargs, dtype=np.float64, rng=np.random.default_rng(3))
    theirs = getattr(torch.nn, f"ConvTranspose{n}d")(4, 6, 3, **kwargs).double()
    ours.load_state_dict(theirs.state_dict())
    x = RNG.standard_normal(shape)
    xt = torch.tensor(x, requires_grad=True)
    out = theirs(xt, output_size=list(output_size))
    g = RNG.standard_normal(tuple(out.shape))
    (out * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(ours(input=x, output_size=output_size), out.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.backward(g), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.bias.grad, theirs.bias.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_output_size_backward_is_central_differences_and_leaves_the_module_as_it_was():
    class Sized(nn.ConvTranspose2d):
        def forward(self, input):
            return super().forward(input, output_size=(7, 6))  # output_padding (2, 0) for this call

    module = Sized(2, 3, 2, stride=(3, 2), dtype=np.float64, rng=np.random.default_rng(4))
    assert cr.gradcheck(module, RNG.standard_normal((2, 2, 2, 3)))
    assert module.output_padding == (0, 0)
    with cr.no_grad():
        assert nn.ConvTranspose2d.forward(module, np.zeros((1, 2, 2, 3))).shape == (1, 3, 5, 6)


def test_an_output_size_out_of_range_is_refused_with_the_range():
    up = nn.ConvTranspose1d(4, 6, 3, stride=2)
    x = np.zeros((2, 4, 5), dtype=np.float32)
    with pytest.raises(ValueError, match=r"ConvTranspose1d requested an output size of \[13\], but valid sizes "
                                         r"range from \[11\] to \[12\] \(for an input of \(5,\)\)"):
        up(x, output_size=[13])
    with pytest.raises(ValueError, match=r"ConvTranspose1d: for 3-D input, output_size must have 1 or 3 ints"):
        up(x, output_size=[2, 12])
    with pytest.raises(TypeError, match=r"ConvTranspose1d output_size must be None or a sequence of ints, got 12"):
        up(x, output_size=12)
