"""GELU, SiLU, ELU, Softplus, Flatten, Unflatten against PyTorch autograd (float64 to 1e-10,
float32 to float32 tolerance), including extreme inputs; ModuleList / ModuleDict naming,
state_dict keys and reprs against PyTorch's for the same structure."""

import numpy as np
import pytest

import chainrule as cr
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


# -- containers ---------------------------------------------------------------------------

def build(lib, dtype):
    """The same structure in either library: a ModuleList inside a custom Module, a ModuleDict,
    a nested ModuleList, a Sequential, and a direct parameter."""

    class Net(lib.Module):
        def __init__(self):
            super().__init__()
            self.embed = lib.Linear(3, 4, dtype=dtype)
            self.layers = lib.ModuleList([lib.Linear(4, 4, dtype=dtype) for _ in range(3)])
            self.layers.append(lib.Tanh())
            self.layers.insert(1, lib.Linear(4, 4, bias=False, dtype=dtype))
            self.heads = lib.ModuleDict({"cls": lib.Linear(4, 2, dtype=dtype), "act": lib.GELU()})
            self.heads["box"] = lib.Sequential(lib.Linear(4, 5, dtype=dtype), lib.ELU())
            self.nested = lib.ModuleList([lib.ModuleList([lib.Linear(2, 2, dtype=dtype)]), lib.ModuleDict()])
            self.nested[1]["x"] = lib.Linear(2, 1, dtype=dtype)
            del self.layers[0]

    return Net()


def test_container_names_and_state_dict_keys_match_torch():
    ours, theirs = build(nn, np.float64), build(tnn, torch.float64)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert repr(ours) == repr(theirs)
    # and the state dict moves across, both ways
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})


def test_module_list_protocol_matches_torch():
    def run(lib):
        linears = [lib.Linear(i + 1, i + 2) for i in range(6)]
        ml = lib.ModuleList(linears[:3])
        ml += linears[3:5]
        ml.extend([lib.ReLU()])
        ml[-1] = lib.Tanh()
        del ml[1]
        del ml[::2]
        ml.insert(0, linears[5])
        popped = ml.pop(1)
        combined = ml + lib.ModuleList([lib.Identity()])
        return ([repr(m) for m in ml], repr(popped), repr(ml[-1:]), type(ml[0:1]).__name__, len(ml),
                [n for n, _ in ml.named_parameters()], repr(combined), list(combined.state_dict()))

    assert run(nn) == run(tnn)


def test_module_list_repr_compresses_repeats_like_torch():
    ours = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU(), nn.ReLU(), nn.Linear(2, 2)])
    theirs = tnn.ModuleList([tnn.Linear(2, 2) for _ in range(3)] + [tnn.ReLU(), tnn.ReLU(), tnn.Linear(2, 2)])
    assert repr(ours) == repr(theirs)
    assert repr(nn.ModuleList()) == repr(tnn.ModuleList())
    nested_ours = nn.Sequential(nn.ModuleList([nn.Tanh(), nn.Tanh()]), nn.ModuleDict({"a": nn.ReLU()}))
    nested_theirs = tnn.Sequential(tnn.ModuleList([tnn.Tanh(), tnn.Tanh()]), tnn.ModuleDict({"a": tnn.ReLU()}))
    assert repr(nested_ours) == repr(nested_theirs)


def test_module_dict_protocol_matches_torch():
    def run(lib):
        md = lib.ModuleDict([("b", lib.ReLU()), ("a", lib.Linear(2, 3))])
        md.update({"c": lib.Tanh(), "b": lib.Linear(3, 3)})  # "b" keeps its place
        md.update(lib.ModuleDict({"d": lib.Linear(1, 1)}))
        md["e"] = lib.Sigmoid()
        popped = md.pop("c")
        del md["e"]
        return (list(md), list(md.keys()), [repr(v) for v in md.values()], [k for k, _ in md.items()],
                "a" in md, "z" in md, len(md), repr(popped), list(md.state_dict()), repr(md))

    assert run(nn) == run(tnn)


def test_shared_module_in_a_module_list_is_named_like_torch():
    def run(lib):
        shared = lib.Linear(2, 2)
        ml = lib.ModuleList([shared, lib.Tanh(), shared])
        return [n for n, _ in ml.named_parameters()], list(ml.state_dict()), repr(ml)

    assert run(nn) == run(tnn)


def test_custom_module_walking_a_module_list_matches_torch():
    class Ours(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(3, 5, dtype=np.float64), nn.SiLU(),
                                         nn.Linear(5, 2, dtype=np.float64), nn.Softplus()])

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

        def backward(self, grad_output):
            for layer in reversed(self.layers):
                grad_output = layer.backward(grad_output)
            return grad_output

    class Theirs(tnn.Module):
        def __init__(self):
            super().__init__()
            self.layers = tnn.ModuleList([tnn.Linear(3, 5, dtype=torch.float64), tnn.SiLU(),
                                          tnn.Linear(5, 2, dtype=torch.float64), tnn.Softplus()])

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

    ours, theirs = Ours(), Theirs()
    assert list(ours.state_dict()) == list(theirs.state_dict()) == [
        "layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"]
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((7, 3))
    g = np.random.default_rng(1).standard_normal((7, 2))
    out, dx = ours(x), None
    dx = ours.backward(g)
    xt = torch.tensor(x, requires_grad=True)
    outt = theirs(xt)
    outt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(out, outt.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10)
    for (n1, p), (n2, pt) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        assert n1 == n2
        np.testing.assert_allclose(p.grad, pt.grad.numpy(), rtol=1e-10)
    assert cr.gradcheck(ours, x)


def test_containers_do_not_run_like_torch():
    for lib_cls in (tnn.ModuleList, tnn.ModuleDict):
        with pytest.raises(NotImplementedError):
            lib_cls()(torch.ones(1))
    for cls in (nn.ModuleList, nn.ModuleDict):
        with pytest.raises(NotImplementedError, match=f"{cls.__name__} is a container"):
            cls()(np.ones(1))
