"""Module bookkeeping: registration, names, modes, state dicts, repr, Sequential."""

import numpy as np
import pytest

from chainrule import nn


def mlp():
    return nn.Sequential(nn.Linear(2, 5), nn.Tanh(), nn.Linear(5, 3), nn.Dropout(0.1))


def test_named_parameters_use_pytorch_names():
    assert [name for name, _ in mlp().named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert list(mlp().state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_nested_names_and_custom_module():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(2, 4), nn.ReLU())
            self.head = nn.Linear(4, 1, bias=False)

        def forward(self, x):
            return self.head(self.body(x))

        def backward(self, grad_output):
            return self.body.backward(self.head.backward(grad_output))

    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["body.0.weight", "body.0.bias", "head.weight"]
    assert [n for n, _ in net.named_modules()] == ["", "body", "body.0", "body.1", "head"]
    assert list(net.children()) == [net.body, net.head]
    assert net.head.bias is None


def test_shared_parameter_listed_once_by_parameters_and_under_both_names_by_state_dict():
    a, b = nn.Linear(3, 3), nn.Linear(3, 3)
    b.weight = a.weight  # tied, as in a language model's embedding and output layer
    model = nn.Sequential(a, nn.Tanh(), b)
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.bias"]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]  # as PyTorch


def test_train_eval_propagate():
    model = mlp()
    assert model.training and model[3].training
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_state_dict_is_a_copy_and_round_trips():
    model, other = mlp(), mlp()
    sd = model.state_dict()
    sd["0.weight"][...] = 0
    assert model[0].weight.data.any()
    result = other.load_state_dict(model.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (_, p), (_, q) in zip(model.named_parameters(), other.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_load_state_dict_errors_name_the_key():
    model = mlp()
    sd = model.state_dict()
    del sd["2.bias"]
    with pytest.raises(RuntimeError, match=r"missing keys \['2.bias'\]"):
        model.load_state_dict(sd)
    assert model.load_state_dict(sd, strict=False).missing_keys == ["2.bias"]
    sd = model.state_dict()
    sd["extra"] = np.zeros(1)
    with pytest.raises(RuntimeError, match=r"unexpected keys \['extra'\]"):
        model.load_state_dict(sd)
    sd = model.state_dict()
    sd["0.weight"] = np.zeros((2, 5))
    with pytest.raises(RuntimeError, match=r"'0.weight' has shape \(2, 5\) in the state_dict, but the model's has shape \(5, 2\)"):
        model.load_state_dict(sd)


def test_repr_like_pytorch():
    assert repr(mlp()) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=5, bias=True)\n"
        "  (1): Tanh()\n"
        "  (2): Linear(in_features=5, out_features=3, bias=True)\n"
        "  (3): Dropout(p=0.1)\n"
        ")"
    )
    assert repr(nn.Parameter(np.zeros(1), requires_grad=False)).endswith("requires_grad=False")


def test_sequential_container_protocol():
    model = mlp()
    assert len(model) == 4
    assert isinstance(model[-1], nn.Dropout)
    assert isinstance(model[:2], nn.Sequential) and len(model[:2]) == 2
    assert [type(m).__name__ for m in model] == ["Linear", "Tanh", "Linear", "Dropout"]
    model.append(nn.Softmax())
    assert len(model) == 5 and "4" in dict(model.named_children())
    with pytest.raises(IndexError, match="Sequential index 9 is out of range for 5 modules"):
        model[9]
    with pytest.raises(TypeError, match="Sequential expects Module instances, got int"):
        nn.Sequential(nn.Tanh(), 3)


def test_sequential_backward_is_the_reversed_chain():
    rng = np.random.default_rng(0)
    l1, l2 = nn.Linear(3, 4, dtype=np.float64, rng=rng), nn.Linear(4, 2, dtype=np.float64, rng=rng)
    act = nn.Sigmoid()
    model = nn.Sequential(l1, act, l2)
    x, g = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    model(x)
    dx = model.backward(g)
    # by hand: dx = ((g W2) * s(1 - s)) W1
    s = 1 / (1 + np.exp(-(x @ l1.weight.data.T + l1.bias.data)))
    np.testing.assert_allclose(dx, ((g @ l2.weight.data) * s * (1 - s)) @ l1.weight.data)


def test_zero_grad_sets_none_by_default_and_zeros_in_place_on_request():
    model = mlp()
    model(np.ones((2, 2)))
    model.backward(np.ones((2, 3)))
    p = next(model.parameters())
    grad = p.grad
    model.zero_grad(set_to_none=False)
    assert p.grad is grad and not grad.any()
    model.zero_grad()
    assert all(q.grad is None for q in model.parameters())


def test_subclass_must_call_super_init():
    class Broken(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(1, 1)

    with pytest.raises(RuntimeError, match="must call super"):
        Broken()


def test_parameter_attributes():
    p = nn.Parameter(np.ones((2, 3), dtype=np.float32))
    assert p.shape == (2, 3) and p.dtype == np.float32
    assert p.grad is None and p.requires_grad and p.ndim == 2 and p.numel() == 6
    with pytest.raises(TypeError, match="Parameter data must be a float array, got dtype int64"):
        nn.Parameter(np.ones(2, dtype=np.int64))
