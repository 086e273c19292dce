"""ModuleList / ModuleDict against PyTorch's for the same structure: parameter names, state_dict
keys, the list and dict protocols, reprs, shared modules, and containers that do not run."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch", reason="torch is not installed")
tnn = torch.nn


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
