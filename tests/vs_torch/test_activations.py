"""GELU, SiLU, ELU, Softplus, and the reshapes Flatten and Unflatten, against PyTorch autograd
(float64 to 1e-10, float32 to float32 tolerance), including extreme inputs. (Linear and the
classic activations: test_layers.py; containers: test_containers.py.)"""

import numpy as np
import pytest

from chainrule import nn

torch = pytest.importorskip("torch", reason="torch is not installed")
tnn = torch.nn

PAIRS = {  # options from PyTorch's module tests (common_modules.py / common_nn.py)
    "GELU": (nn.GELU, tnn.GELU),
    "GELU(tanh)": (lambda: nn.GELU("tanh"), lambda: tnn.GELU("tanh")),
    "SiLU": (nn.SiLU, tnn.SiLU),
    "ELU": (nn.ELU, tnn.ELU),
    "ELU(alpha=2.0)": (lambda: nn.ELU(alpha=2.0), lambda: tnn.ELU(alpha=2.0)),
    "ELU(alpha=0.3)": (lambda: nn.ELU(alpha=0.3), lambda: tnn.ELU(alpha=0.3)),
    "Softplus": (nn.Softplus, tnn.Softplus),
    "Softplus(2)": (lambda: nn.Softplus(2), lambda: tnn.Softplus(2)),
    "Softplus(2, -100)": (lambda: nn.Softplus(2, -100), lambda: tnn.Softplus(2, -100)),
    "Softplus(0.5, 3)": (lambda: nn.Softplus(0.5, 3.0), lambda: tnn.Softplus(0.5, 3.0)),
    "Flatten": (nn.Flatten, tnn.Flatten),
    "Flatten(0, 2)": (lambda: nn.Flatten(0, 2), lambda: tnn.Flatten(0, 2)),
    "Flatten(-3, -1)": (lambda: nn.Flatten(-3, -1), lambda: tnn.Flatten(-3, -1)),
    "Unflatten(-2, (2, 2))": (lambda: nn.Unflatten(-2, (2, 2)), lambda: tnn.Unflatten(-2, (2, 2))),
    "Unflatten(1, (2, -1))": (lambda: nn.Unflatten(1, (2, -1)), lambda: tnn.Unflatten(1, (2, -1))),
}
ELEMENTWISE = [name for name in PAIRS if not name.startswith(("Flatten", "Unflatten"))]
SHAPES = [(), (4,), (3, 2, 5), (2, 3, 2, 5)]
RESHAPE_SHAPES = {"Flatten": (2, 3, 4, 5), "Flatten(0, 2)": (32, 1, 5, 5), "Flatten(-3, -1)": (3, 4, 5),
                  "Unflatten(-2, (2, 2))": (3, 4, 5), "Unflatten(1, (2, -1))": (4, 6, 2)}


# In GELU(tanh)'s left tail, 1 + tanh(u) cancels: both libraries' values there carry an absolute
# error of about one rounding of 1 (1e-16; in the derivative times z u', about 25), from tanh
# implementations that differ in the last bit, so there (only) the comparison is absolute below
# 1e-14. Everything else: relative, 1e-10.
ATOL64 = {"GELU(tanh)": 1e-14}


def compare(name, x, g=None, rtol=1e-10, atol=0.0):
    make_ours, make_theirs = PAIRS[name]
    ours, theirs = make_ours(), make_theirs()
    out = ours(x)
    g = np.random.default_rng(1).standard_normal(out.shape).astype(x.dtype) if g is None else g
    dx = ours.backward(g)
    xt = torch.tensor(x, requires_grad=True)
    outt = theirs(xt)
    outt.backward(torch.from_numpy(g))
    assert out.dtype == x.dtype and dx.dtype == x.dtype
    assert out.shape == tuple(outt.shape) and dx.shape == x.shape
    np.testing.assert_allclose(out, outt.detach().numpy(), rtol=rtol, atol=atol)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_match_autograd_float64(name, shape):
    x = np.random.default_rng(0).standard_normal(shape) * 3
    compare(name, x, rtol=1e-10, atol=ATOL64.get(name, 1e-300))  # 1e-300: where torch rounds to 0


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_match_autograd_across_the_range(name):
    # every regime: the far tails, the switch of Softplus, near zero on either side, and 0 itself
    x = np.concatenate([np.linspace(-60, 60, 1201), [-1e4, -700.0, -1e-8, 0.0, 1e-8, 700.0, 1e4]])
    compare(name, x, g=np.ones_like(x), rtol=1e-10, atol=ATOL64.get(name, 1e-300))


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_match_autograd_float32(name):
    x = np.concatenate([np.linspace(-12, 12, 241), [-1e4, 0.0, 1e4]]).astype(np.float32)
    # float32 tolerance: relative 2e-6, and absolute 1e-5 (about 100 float32 roundings of 1)
    # where a difference of terms near 1 (GELU(tanh)'s 1 + tanh u in the tail) is below that.
    compare(name, x, rtol=2e-6, atol=1e-5)


@pytest.mark.parametrize("name", list(RESHAPE_SHAPES))
def test_reshapes_match_autograd(name):
    x = np.random.default_rng(0).standard_normal(RESHAPE_SHAPES[name])
    compare(name, x, rtol=0.0)  # the same numbers, moved nowhere


@pytest.mark.parametrize("name", list(PAIRS))
def test_repr_matches_torch(name):
    make_ours, make_theirs = PAIRS[name]
    assert repr(make_ours()) == repr(make_theirs())


def test_network_with_flatten_and_gelu_matches_torch():
    ours = nn.Sequential(nn.Flatten(), nn.Linear(12, 8, dtype=np.float64), nn.GELU(), nn.Linear(8, 6, dtype=np.float64),
                         nn.Unflatten(1, (2, 3)), nn.SiLU(), nn.Flatten(0), nn.Softplus(), nn.ELU())
    theirs = tnn.Sequential(tnn.Flatten(), tnn.Linear(12, 8, dtype=torch.float64), tnn.GELU(),
                            tnn.Linear(8, 6, dtype=torch.float64), tnn.Unflatten(1, (2, 3)), tnn.SiLU(),
                            tnn.Flatten(0), tnn.Softplus(), tnn.ELU())
    assert repr(ours) == repr(theirs)
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 3, 4))
    g = np.random.default_rng(1).standard_normal((30,))
    out = ours(x)
    dx = ours.backward(g)
    xt = torch.tensor(x, requires_grad=True)
    outt = theirs(xt)
    outt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(out, outt.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-15)
    for (n1, p), (n2, pt) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        assert n1 == n2
        np.testing.assert_allclose(p.grad, pt.grad.numpy(), rtol=1e-10, atol=1e-15)
