"""MaxPool's return_indices and MaxUnpool1d/2d: PyTorch's indices, outputs and gradients."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

RNG = np.random.default_rng(0)
CASES = [(2, {"kernel_size": 2}), (2, {"kernel_size": 3, "stride": 2, "padding": 1}), (1, {"kernel_size": 3, "stride": 2}),
         (2, {"kernel_size": (2, 3), "stride": (1, 2)}), (1, {"kernel_size": 2, "padding": 1})]


@pytest.mark.parametrize("n, kwargs", CASES)
def test_indices_unpooling_and_its_gradient_are_pytorchs(n, kwargs):
    torch = pytest.importorskip("torch", reason="compares with torch's return_indices and MaxUnpool")
    x = np.round(RNG.standard_normal((2, 3) + (7,) * n) * 2)  # integers: windows with ties
    pool = getattr(nn, f"MaxPool{n}d")(**kwargs, return_indices=True)
    y, indices = pool(x)
    y_t, indices_t = getattr(torch.nn, f"MaxPool{n}d")(**kwargs, return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(y, y_t.numpy())
    np.testing.assert_array_equal(indices, indices_t.numpy())
    assert indices.dtype == np.int64
    unpool = getattr(nn, f"MaxUnpool{n}d")(**kwargs)
    z = unpool(y, indices, output_size=x.shape)
    y_req = y_t.clone().requires_grad_(True)
    z_t = getattr(torch.nn, f"MaxUnpool{n}d")(**kwargs)(y_req, indices_t, output_size=x.shape)
    np.testing.assert_array_equal(z, z_t.detach().numpy())
    g = RNG.standard_normal(z.shape)
    (z_t * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(unpool.backward(g), y_req.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(pool.backward(RNG.standard_normal(y.shape)).shape, x.shape)


def test_unpool_default_size_unbatched_input_and_gradcheck():
    pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
    x = RNG.standard_normal((3, 4, 6))
    y, indices = pool(x)
    assert y.shape == (3, 2, 3) and unpool(y, indices).shape == (3, 4, 6)      # (L - 1) s - 2p + k
    module = nn.MaxUnpool1d(2)
    _, idx = nn.MaxPool1d(2, return_indices=True)(RNG.standard_normal((2, 3, 8)))

    class Unpool(nn.Module):  # gradcheck differentiates the first argument; the indices are fixed
        def forward(self, v):
            return module(v, idx)

        def backward(self, grad_output):
            return module.backward(grad_output)

    assert cr.gradcheck(Unpool(), RNG.standard_normal((2, 3, 4)))


def test_unpool_refuses_indices_that_do_not_fit():
    unpool = nn.MaxUnpool2d(2)
    with pytest.raises(ValueError, match=r"MaxUnpool2d expected indices of integers shaped like the input"):
        unpool(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 3), dtype=np.int64))
    with pytest.raises(ValueError, match=r"MaxUnpool2d: index 99 is outside the output of 4 x 4 per channel"):
        unpool(np.zeros((1, 1, 2, 2)), np.full((1, 1, 2, 2), 99))
