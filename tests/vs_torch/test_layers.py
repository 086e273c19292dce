"""Layers against PyTorch autograd: same weights, same outputs, same input and parameter gradients."""

import numpy as np
import pytest

from chainrule import nn

torch = pytest.importorskip("torch", reason="torch is not installed")
tnn = torch.nn

SHAPES = [(6, 4), (4,), (2, 3, 4)]

PAIRS = {
    "Linear": (lambda: nn.Linear(4, 3, dtype=np.float64), lambda: tnn.Linear(4, 3, dtype=torch.float64)),
    "Linear(bias=False)": (lambda: nn.Linear(4, 3, bias=False, dtype=np.float64),
                           lambda: tnn.Linear(4, 3, bias=False, dtype=torch.float64)),
    "Sigmoid": (nn.Sigmoid, tnn.Sigmoid),
    "Tanh": (nn.Tanh, tnn.Tanh),
    "ReLU": (nn.ReLU, tnn.ReLU),
    "LeakyReLU": (lambda: nn.LeakyReLU(0.2), lambda: tnn.LeakyReLU(0.2)),
    "Identity": (nn.Identity, tnn.Identity),
    "Softmax": (nn.Softmax, lambda: tnn.Softmax(dim=-1)),
    "Softmax(dim=0)": (lambda: nn.Softmax(dim=0), lambda: tnn.Softmax(dim=0)),
    "LogSoftmax": (nn.LogSoftmax, lambda: tnn.LogSoftmax(dim=-1)),
    "LogSoftmax(dim=0)": (lambda: nn.LogSoftmax(dim=0), lambda: tnn.LogSoftmax(dim=0)),
    "MLP": (
        lambda: nn.Sequential(nn.Linear(4, 8, dtype=np.float64), nn.Tanh(), nn.Linear(8, 8, dtype=np.float64),
                              nn.ReLU(), nn.Linear(8, 3, dtype=np.float64), nn.LogSoftmax()),
        lambda: tnn.Sequential(tnn.Linear(4, 8, dtype=torch.float64), tnn.Tanh(), tnn.Linear(8, 8, dtype=torch.float64),
                               tnn.ReLU(), tnn.Linear(8, 3, dtype=torch.float64), tnn.LogSoftmax(dim=-1)),
    ),
}


def copy_weights(ours, theirs):
    """PyTorch's state_dict keys are ours: the weights go across by name."""
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", list(PAIRS))
def test_forward_backward_match_autograd(name, shape):
    make_ours, make_theirs = PAIRS[name]
    ours, theirs = make_ours(), make_theirs()
    copy_weights(ours, theirs)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape) * 3
    out = ours(x)
    g = rng.standard_normal(out.shape)
    dx = ours.backward(g)

    xt = torch.tensor(x, requires_grad=True)
    outt = theirs(xt)
    outt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(out, outt.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-13)
    for (name_ours, p), (name_theirs, pt) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name_ours == name_theirs
        np.testing.assert_allclose(p.grad, pt.grad.numpy(), rtol=1e-10, atol=1e-13)


def test_float32_matches_autograd_float32():
    ours = nn.Sequential(nn.Linear(5, 7), nn.Sigmoid(), nn.Linear(7, 2), nn.Softmax())
    theirs = tnn.Sequential(tnn.Linear(5, 7), tnn.Sigmoid(), tnn.Linear(7, 2), tnn.Softmax(dim=-1))
    copy_weights(ours, theirs)
    x = np.random.default_rng(0).standard_normal((9, 5)).astype(np.float32)
    g = np.random.default_rng(1).standard_normal((9, 2)).astype(np.float32)
    out = ours(x)
    dx = ours.backward(g)
    assert out.dtype == np.float32 and dx.dtype == np.float32
    xt = torch.tensor(x, requires_grad=True)
    theirs(xt).backward(torch.from_numpy(g))
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ours[0].weight.grad, theirs[0].weight.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_state_dict_loads_into_torch_and_back():
    ours = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    theirs = tnn.Sequential(tnn.Linear(3, 4), tnn.ReLU(), tnn.Linear(4, 2))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.ones((2, 3), dtype=np.float32)
    np.testing.assert_allclose(ours(x), theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-6)


def test_dropout_statistics_and_scaling_match_torch():
    x = np.ones((200, 100))
    ours = nn.Dropout(0.25, rng=np.random.default_rng(0))(x)
    theirs = tnn.Dropout(0.25)(torch.from_numpy(x)).numpy()
    assert set(np.unique(ours)) == set(np.unique(theirs)) == {0.0, 1 / 0.75}
    assert abs((ours == 0).mean() - (theirs == 0).mean()) < 0.02
