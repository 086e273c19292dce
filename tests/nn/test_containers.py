"""ModuleList and ModuleDict: registration under PyTorch's names, the list and dict protocols,
that they refuse to run, and a custom module that walks a ModuleList (gradcheck)."""

import copy
import pickle

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def linears(n, dtype=np.float64):
    return [nn.Linear(2, 2, dtype=dtype, rng=np.random.default_rng(i)) for i in range(n)]


class Stack(nn.Module):
    """A custom module that decides how to run its ModuleList: forward left to right,
    backward right to left (what Sequential does, written out)."""

    def __init__(self, layers):
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def backward(self, grad_output):
        for layer in reversed(self.layers):
            grad_output = layer.backward(grad_output)
        return grad_output


class Residual(nn.Module):
    """y = x + f(x) for each block in turn; each block's backward adds the skip's gradient."""

    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(0)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Linear(3, 3, dtype=np.float64, rng=rng), nn.GELU()) for _ in range(2))
        self.heads = nn.ModuleDict({"out": nn.Linear(3, 2, dtype=np.float64, rng=rng)})

    def forward(self, x):
        for block in self.blocks:
            x = x + block(x)
        return self.heads["out"](x)

    def backward(self, grad_output):
        g = self.heads["out"].backward(grad_output)
        for block in reversed(self.blocks):
            g = g + block.backward(g)  # dC/dx = g + (df/dx)^T g
        return g


# -- naming ---------------------------------------------------------------------------------

def test_module_list_names_children_like_pytorch():
    model = Stack([nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)])
    assert [name for name, _ in model.named_parameters()] == [
        "layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"]
    assert list(model.state_dict()) == [name for name, _ in model.named_parameters()]
    assert [name for name, _ in model.named_modules()] == ["", "layers", "layers.0", "layers.1", "layers.2"]


def test_module_dict_names_children_by_key():
    md = nn.ModuleDict({"enc": nn.Linear(2, 3), "act": nn.ReLU(), "dec": nn.Linear(3, 2, bias=False)})
    assert list(md.state_dict()) == ["enc.weight", "enc.bias", "dec.weight"]
    assert [name for name, _ in md.named_children()] == ["enc", "act", "dec"]


def test_containers_see_train_eval_zero_grad_requires_grad():
    model = Stack([nn.Linear(2, 2), nn.Dropout(0.5)])
    model.eval()
    assert not model.layers[1].training
    model.train()
    assert model.layers[1].training
    model.layers[0].weight.grad = np.ones((2, 2), dtype=np.float32)
    model.zero_grad()
    assert model.layers[0].weight.grad is None
    model.requires_grad_(False)
    assert not model.layers[0].bias.requires_grad


def test_state_dict_round_trip_deepcopy_and_pickle():
    model = Stack(linears(3))
    clone = Stack(linears(3)[::-1])
    clone.load_state_dict(model.state_dict())
    x = np.random.default_rng(0).standard_normal((4, 2))
    with cr.no_grad():
        np.testing.assert_array_equal(clone(x), model(x))
        for other in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
            np.testing.assert_array_equal(other(x), model(x))
            assert list(other.state_dict()) == list(model.state_dict())


def test_shared_instance_is_allowed_and_counted_once():
    layer = nn.Linear(2, 2)
    ml = nn.ModuleList([layer, nn.Tanh(), layer])
    assert len(ml) == 3 and ml[0] is ml[2]
    assert [name for name, _ in ml.named_parameters()] == ["0.weight", "0.bias"]  # each parameter once
    assert list(ml.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]  # as PyTorch


# -- running ------------------------------------------------------------------------------

def test_custom_module_walking_a_module_list_gradcheck():
    rng = np.random.default_rng(1)
    model = Stack([nn.Linear(3, 5, dtype=np.float64, rng=rng), nn.SiLU(),
                   nn.Linear(5, 4, dtype=np.float64, rng=rng), nn.ELU(0.5), nn.Softplus()])
    assert cr.gradcheck(model, rng.standard_normal((6, 3)))


def test_residual_blocks_in_a_module_list_gradcheck():
    assert cr.gradcheck(Residual(), np.random.default_rng(2).standard_normal((4, 3)))


@pytest.mark.parametrize("cls", [nn.ModuleList, nn.ModuleDict])
def test_containers_refuse_to_run(cls):
    container = cls()
    with pytest.raises(NotImplementedError, match=rf"{cls.__name__} is a container: it registers its modules .* "
                                                  r"does not run them, so it has no forward\(\)"):
        container(np.ones(2))
    with pytest.raises(NotImplementedError, match=rf"{cls.__name__} is a container.*no backward\(\)"):
        container.backward(np.ones(2))


def test_a_module_list_inside_sequential_is_refused_at_run_time():
    model = nn.Sequential(nn.Linear(2, 2), nn.ModuleList([nn.Tanh()]))
    with pytest.raises(NotImplementedError, match="ModuleList is a container"):
        with cr.no_grad():
            model(np.ones((1, 2)))


# -- list protocol ------------------------------------------------------------------------

def test_list_protocol():
    a, b, c, d, e = linears(5)
    ml = nn.ModuleList([a, b])
    assert len(ml) == 2 and list(ml) == [a, b]
    assert ml.append(c) is ml
    ml += [d]
    assert ml.extend(nn.ModuleList([e])) is ml
    assert list(ml) == [a, b, c, d, e]
    assert ml[0] is a and ml[-1] is e and ml[-5] is a and ml[np.int64(1)] is b
    part = ml[1:4]
    assert type(part) is nn.ModuleList and list(part) == [b, c, d]
    assert [name for name, _ in part.named_children()] == ["0", "1", "2"]
    assert list(ml[::-2]) == [e, c, a]
    ml[1] = nn.Tanh()
    assert isinstance(ml[1], nn.Tanh) and "1.weight" not in ml.state_dict()
    del ml[1]
    assert list(ml) == [a, c, d, e]
    assert [name for name, _ in ml.named_children()] == ["0", "1", "2", "3"]  # renumbered
    assert not hasattr(ml, "4") and getattr(ml, "3") is e  # attributes follow the children
    del ml[1:3]
    assert list(ml) == [a, e]
    ml.insert(1, b)
    ml.insert(0, c)
    ml.insert(-1, d)    # as list.insert: before the last
    ml.insert(99, nn.ReLU())  # past the end: appends
    assert list(ml)[:5] == [c, a, b, d, e] and isinstance(ml[5], nn.ReLU)
    assert [name for name, _ in ml.named_children()] == ["0", "1", "2", "3", "4", "5"]
    assert ml.pop(0) is c and ml[0] is a
    combined = ml + [nn.Identity()]
    assert type(combined) is nn.ModuleList and len(combined) == 6 and len(ml) == 5
    ml.extend(ml)  # extending by itself terminates
    assert len(ml) == 10


def test_list_protocol_errors():
    ml = nn.ModuleList(linears(2))
    with pytest.raises(IndexError, match="ModuleList index 2 is out of range for 2 modules"):
        ml[2]
    with pytest.raises(IndexError, match="ModuleList index -3 is out of range for 2 modules"):
        ml[-3] = nn.ReLU()
    with pytest.raises(IndexError, match="ModuleList index 5 is out of range for 2 modules"):
        del ml[5]
    with pytest.raises(TypeError, match="ModuleList indices must be int or slice, got str"):
        ml["0"]
    with pytest.raises(TypeError, match=r"ModuleList item assignment takes an int index, got the slice slice\(0, 1, None\)"):
        ml[0:1] = [nn.ReLU()]
    with pytest.raises(TypeError, match="ModuleList.append expected a chainrule.nn.Module, got ndarray"):
        ml.append(np.ones(2))
    with pytest.raises(TypeError, match="ModuleList.extend expected an iterable of modules, got Linear"):
        ml.extend(nn.Linear(2, 2))
    with pytest.raises(TypeError, match="ModuleList.extend expected a chainrule.nn.Module, got NoneType"):
        ml.extend([nn.ReLU(), None])
    assert len(ml) == 2  # nothing was appended by the refused extend
    with pytest.raises(TypeError, match="ModuleList expected a chainrule.nn.Module, got int"):
        ml[0] = 3
    with pytest.raises(TypeError, match="ModuleList.insert index must be an int, got float"):
        ml.insert(1.0, nn.ReLU())
    with pytest.raises(TypeError, match="ModuleList.extend expected an iterable of modules, got int"):
        nn.ModuleList(3)


# -- dict protocol ------------------------------------------------------------------------

def test_dict_protocol():
    a, b, c, d = linears(4)
    md = nn.ModuleDict([("a", a), ("b", b)])
    assert len(md) == 2 and list(md) == ["a", "b"] and "a" in md and "z" not in md
    md.update({"c": c, "a": d})        # an existing key keeps its place, gets the new module
    assert list(md.keys()) == ["a", "b", "c"] and md["a"] is d
    assert list(md.values()) == [d, b, c] and list(md.items()) == [("a", d), ("b", b), ("c", c)]
    md["d"] = a
    md.update(nn.ModuleDict({"e": nn.ReLU()}))
    md.update([["f", nn.Tanh()]])
    assert list(md) == ["a", "b", "c", "d", "e", "f"]
    assert md.pop("b") is b and "b" not in md and not hasattr(md, "b")
    del md["c"]
    assert list(md) == ["a", "d", "e", "f"]
    assert list(md.state_dict()) == ["a.weight", "a.bias", "d.weight", "d.bias"]
    md.clear()
    assert len(md) == 0 and list(md.state_dict()) == [] and not hasattr(md, "a")


def test_dict_protocol_errors():
    md = nn.ModuleDict({"a": nn.ReLU()})
    with pytest.raises(KeyError, match=r"ModuleDict has no module 'z'; its keys are \['a'\]"):
        md["z"]
    with pytest.raises(KeyError, match="ModuleDict has no module 'z'"):
        del md["z"]
    with pytest.raises(KeyError, match="ModuleDict has no module 'z'"):
        md.pop("z")
    with pytest.raises(KeyError, match=r'module name must be a non-empty str without "\.", got "a\.b"'):
        md["a.b"] = nn.ReLU()
    with pytest.raises(TypeError, match="module name must be a str, got int"):
        md[1] = nn.ReLU()
    for taken in ("training", "keys", "forward", "_modules"):
        with pytest.raises(KeyError, match=f"ModuleDict key '{taken}' is the name of an existing attribute"):
            md[taken] = nn.ReLU()
    with pytest.raises(TypeError, match=r"ModuleDict\['b'\] expected a chainrule.nn.Module, got float"):
        md["b"] = 1.5
    with pytest.raises(TypeError, match="ModuleDict.update expected a mapping or an iterable of .key, module. pairs, got int"):
        md.update(3)
    with pytest.raises(TypeError, match=r"ModuleDict.update expected \(key, module\) pairs, got a int at position 0"):
        nn.ModuleDict([3])
    with pytest.raises(ValueError, match=r"ModuleDict.update expected \(key, module\) pairs, got 3 items at position 1"):
        nn.ModuleDict([("x", nn.ReLU()), ("y", nn.ReLU(), 1)])
    with pytest.raises(TypeError, match=r"ModuleDict.update \('y'\) expected a chainrule.nn.Module, got NoneType"):
        md.update({"x": nn.ReLU(), "y": None})
    assert list(md) == ["a"]  # a refused update adds nothing


# -- repr ---------------------------------------------------------------------------------

def test_reprs_like_pytorch():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU()])
    assert repr(ml) == (
        "ModuleList(\n"
        "  (0-2): 3 x Linear(in_features=2, out_features=2, bias=True)\n"
        "  (3): ReLU()\n"
        ")"
    )
    assert repr(nn.ModuleList()) == "ModuleList()"
    assert repr(nn.ModuleDict({"act": nn.GELU()})) == "ModuleDict(\n  (act): GELU(approximate='none')\n)"
    nested = Stack([nn.ModuleList([nn.Tanh(), nn.Tanh()]), nn.Flatten()])
    assert repr(nested) == (
        "Stack(\n"
        "  (layers): ModuleList(\n"
        "    (0): ModuleList(\n"
        "      (0-1): 2 x Tanh()\n"
        "    )\n"
        "    (1): Flatten(start_dim=1, end_dim=-1)\n"
        "  )\n"
        ")"
    )


def test_sequential_item_assignment_and_deletion_as_pytorch():
    """seq[i] = m replaces (negative indices too), del seq[i] renumbers the rest; an instance
    already elsewhere in the chain is refused, while putting one back at its own place is fine."""
    first, last = nn.Linear(2, 3), nn.Linear(3, 1)
    seq = nn.Sequential(first, nn.Tanh(), last)
    seq[1] = nn.ReLU()
    assert isinstance(seq[1], nn.ReLU) and seq[0] is first
    seq[-1] = last
    with pytest.raises(ValueError, match="Linear at position 2 is the same instance as the one at position 0"):
        seq[2] = first
    with pytest.raises(ValueError, match="same instance"):
        seq[1] = nn.Sequential(nn.ReLU(), first)
    del seq[1]
    assert [name for name, _ in seq.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert seq[1] is last and len(seq) == 2
    with pytest.raises(IndexError, match="index 2 is out of range for 2 modules"):
        seq[2] = nn.ReLU()
    with pytest.raises(IndexError, match="out of range"):
        del seq[-3]
    with pytest.raises(TypeError, match="indices must be int, got str"):
        seq["0"] = nn.ReLU()
    with pytest.raises(TypeError, match="expects Module instances, got int"):
        seq[0] = 3
