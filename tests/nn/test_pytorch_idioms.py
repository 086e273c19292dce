"""Lines PyTorch users write without thinking, which must mean the same thing here."""

import inspect
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def test_parameter_size_and_dim_are_pytorchs():
    p = nn.Parameter(np.zeros((4, 3), dtype=np.float32))
    assert p.size() == (4, 3)                  # the shape, not NumPy's element count
    assert p.size(0) == 4 and p.size(-1) == 3
    assert p.dim() == 2 and p.numel() == 12
    with pytest.raises(ValueError, match=r"Parameter\.size.*dim=2"):
        p.size(2)


def test_np_asarray_of_a_parameter_is_its_data():
    p = nn.Parameter(np.arange(6, dtype=np.float64).reshape(2, 3))
    a = np.asarray(p)
    assert a is p.data                         # no copy, and not a 0-d object array
    assert np.asarray(p, dtype=np.float32).dtype == np.float32
    assert np.array(p, copy=True) is not p.data
    assert np.allclose(np.array(p) * 2, p.data * 2)


def test_apply_visits_children_first_then_the_module():
    model = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.Tanh(), nn.Linear(3, 1)))
    seen = []
    assert model.apply(lambda m: seen.append(type(m).__name__)) is model
    assert seen == ["Linear", "Tanh", "Linear", "Sequential", "Sequential"]


def test_apply_initialises_every_linear_as_nanogpt_does():
    def init_weights(module):
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02, rng=np.random.default_rng(0))
            if module.bias is not None:
                nn.init.zeros_(module.bias)

    model = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Linear(16, 8))
    model.apply(init_weights)
    for layer in (model[0], model[2]):
        assert np.all(layer.bias.data == 0) and abs(layer.weight.data.std() - 0.02) < 0.01


def test_to_double_and_float_cast_parameters_buffers_and_grads():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    x = np.random.default_rng(0).normal(size=(5, 3))
    model(x.astype(np.float32))
    model.backward(np.ones((5, 4), dtype=np.float32))
    assert model[0].weight.grad.dtype == np.float32
    assert model.double() is model
    assert {p.dtype for p in model.parameters()} == {np.dtype(np.float64)}
    assert model[1].running_mean.dtype == np.float64 and model[1].num_batches_tracked.dtype.kind == "i"
    assert model[0].weight.grad.dtype == np.float64
    assert model(x).dtype == np.float64                       # computes in the new dtype
    assert dict(model.named_buffers())["1.running_var"] is model[1].running_var
    model.float()
    assert {p.dtype for p in model.parameters()} == {np.dtype(np.float32)}
    with pytest.raises(TypeError, match=r"Sequential\.to dtype"):
        model.to(np.int32)


def test_to_matches_torch_double_state_dict():
    torch = pytest.importorskip("torch")
    cr.manual_seed(0)
    ours = nn.Linear(3, 2).double()
    theirs = torch.nn.Linear(3, 2).double()
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(0).normal(size=(4, 3))
    assert np.allclose(ours(x), theirs(torch.from_numpy(x)).detach().numpy(), atol=1e-15)


def test_a_whole_model_told_its_input_is_data_skips_dx_and_keeps_every_parameter_gradient():
    rng = np.random.default_rng(0)
    x, g = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))

    def model():
        return nn.Sequential(nn.Linear(3, 4, dtype=np.float64, rng=np.random.default_rng(1)), nn.Tanh(),
                             nn.Linear(4, 2, dtype=np.float64, rng=np.random.default_rng(2)))

    data_in, full = model(), model()
    assert data_in.needs_input_grad is True
    data_in.needs_input_grad = False                # one line for the whole chain
    assert data_in[0].needs_input_grad is False and data_in.needs_input_grad is False
    data_in(x), full(x)
    assert data_in.backward(g) is None and full.backward(g).shape == x.shape
    for p, q in zip(data_in.parameters(), full.parameters()):
        assert np.array_equal(p.grad, q.grad)


def test_fit_treats_its_batches_as_data_and_restores_the_models_setting():
    from chainrule import data, optim, train

    X = np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    seen = []
    original = model[0].backward

    def spy(grad_output):
        seen.append(model[0].needs_input_grad)
        return original(grad_output)

    model[0].backward = spy
    loader = data.DataLoader(data.TensorDataset(X, y), batch_size=10)
    train.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), loader, epochs=1, progress=False)
    assert seen == [False, False]                  # the first layer skipped dC/dx in fit
    assert model.needs_input_grad is True and model[0].needs_input_grad is True


def test_one_pool_used_twice_in_a_forward_gives_pytorchs_gradients():
    class Net(nn.Module):   # PyTorch's "Training a Classifier" reuses self.pool in forward
        def __init__(self):
            super().__init__()
            self.pool = nn.MaxPool2d(2)
            self.act = nn.Tanh()

        def forward(self, x):
            return self.act(self.pool(self.act(self.pool(x))))

        def backward(self, grad_output):   # the forward's calls, last first
            return self.pool.backward(self.act.backward(self.pool.backward(self.act.backward(grad_output))))

    x = np.random.default_rng(0).normal(size=(2, 3, 8, 8))
    net = Net()
    with warnings.catch_warnings():
        warnings.simplefilter("error")     # each call keeps its own cache: nothing to warn about
        for _ in range(2):                 # and the next step's pass starts clean
            y = net(x)
            grad_output = np.random.default_rng(1).normal(size=y.shape)
            dx = net.backward(grad_output)
    two = (nn.MaxPool2d(2), nn.Tanh(), nn.MaxPool2d(2), nn.Tanh())   # one instance per use
    h = x
    for module in two:
        h = module(h)
    expected = grad_output
    for module in reversed(two):
        expected = module.backward(expected)
    np.testing.assert_array_equal(y, h)
    np.testing.assert_array_equal(dx, expected)
    assert cr.gradcheck(net, x)


def test_one_pool_used_twice_matches_torch_autograd():
    torch = pytest.importorskip("torch", reason="torch is not installed")

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.pool = nn.MaxPool2d(2)
            self.conv = nn.Conv2d(2, 2, 3, padding=1, dtype=np.float64)

        def forward(self, x):
            return self.pool(self.conv(self.pool(x)))

        def backward(self, grad_output):
            return self.pool.backward(self.conv.backward(self.pool.backward(grad_output)))

    net = Net()
    x = np.random.default_rng(2).normal(size=(2, 2, 8, 8))
    grad_output = np.random.default_rng(3).normal(size=(2, 2, 2, 2))
    net(x)
    dx = net.backward(grad_output)
    conv = torch.nn.Conv2d(2, 2, 3, padding=1, dtype=torch.float64)
    conv.load_state_dict({k: torch.from_numpy(v) for k, v in net.conv.state_dict().items()})
    xt = torch.from_numpy(x).requires_grad_()
    pool = torch.nn.MaxPool2d(2)
    pool(conv(pool(xt))).backward(torch.from_numpy(grad_output))
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(net.conv.weight.grad, conv.weight.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_one_module_called_from_two_script_lines_warns_then_refuses_naming_the_fix():
    pool = nn.MaxPool2d(2)                 # two outermost calls: two passes
    x = np.random.default_rng(0).normal(size=(1, 1, 8, 8))
    with pytest.warns(cr.CacheWarning, match=r"MaxPool2d\.forward\(\) replaced a cache that no backward\(\) has used \(an earlier forward pass"):
        y = pool(pool(x))
    pool.backward(np.ones_like(y))
    with pytest.raises(RuntimeError, match=r"after two forward\(\)s in separate passes.*one instance per use"):
        pool.backward(np.ones((1, 1, 4, 4)))
    pool = nn.MaxPool2d(2)                 # one forward, two backwards: the plain message
    pool(np.zeros((1, 1, 4, 4)))
    pool.backward(np.zeros((1, 1, 2, 2)))
    with pytest.raises(RuntimeError, match=r"called a second time after one forward\(\)"):
        pool.backward(np.zeros((1, 1, 2, 2)))


def test_a_pass_never_backpropagated_is_dropped_not_piled_up():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.act = nn.Tanh()

        def forward(self, x):
            return self.act(self.act(x))

    net = Net()
    x = np.ones((3, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cr.CacheWarning)
        for _ in range(5):                 # evaluation without no_grad: five passes
            net(x)
    assert len(net.act._caches) == 2       # the last pass's two calls, not ten


# -- an in-place change to what a forward saved is never silent (PyTorch's version counter) -----
def _linear_and_input(rng):
    lin = nn.Linear(3, 2, dtype=np.float64, rng=rng)
    return lin, rng.standard_normal((4, 3))


@pytest.mark.parametrize("change", [
    lambda x: x.__iadd__(1.0),                          # x += 1
    lambda x: x.__imul__(0.5),                          # x *= 0.5
    lambda x: np.tanh(x, out=x),                        # an out= into the input
    lambda x: x.__setitem__((0, 0), 7.0),               # one element
    lambda x: x.__setitem__((Ellipsis,), 0.0),          # x[...] = 0
], ids=["iadd", "imul", "out=", "one element", "x[...] ="])
def test_an_input_changed_in_place_before_backward_raises_naming_the_module_and_the_fix(change):
    lin, x = _linear_and_input(np.random.default_rng(0))
    lin(x)
    change(x)
    with pytest.raises(RuntimeError, match=r"Linear\.backward\(\).*saved_tensors\[0\], shape \(4, 3\).*"
                                           r"changed in place.*`x = x \+ 1`"):
        lin.backward(np.ones((4, 2)))


def test_an_output_changed_in_place_is_noticed_by_the_module_that_saved_it():
    tanh = nn.Tanh()
    a = tanh(np.linspace(-2, 2, 12).reshape(3, 4))  # Tanh keeps its output: tanh' = 1 - a^2
    a += 1
    with pytest.raises(RuntimeError, match=r"Tanh\.backward\(\).*changed in place"):
        tanh.backward(np.ones((3, 4)))


def test_a_transposed_view_changed_in_place_is_noticed_without_copying_it():
    lin = nn.Linear(4, 2, dtype=np.float64, rng=np.random.default_rng(1))
    base = np.random.default_rng(2).standard_normal((4, 5))
    x = base.T                                       # (5, 4), not contiguous
    lin(x)
    base[:, -1] -= 3.0                               # through the base: the view's last row changes
    with pytest.raises(RuntimeError, match="changed in place"):
        lin.backward(np.ones((5, 2)))


def test_a_new_array_a_nan_or_a_change_after_backward_is_fine():
    rng = np.random.default_rng(3)
    lin, x = _linear_and_input(rng)
    x[1, 1] = np.nan                                 # a NaN equals itself in the fingerprint
    lin(x)
    x = x + 1                                        # a new array: the saved one is untouched
    assert lin.backward(np.ones((4, 2))).shape == (4, 3)
    y = rng.standard_normal((4, 3))
    lin(y)
    lin.backward(np.ones((4, 2)))
    y += 1                                           # after the backward nothing depends on it
    lin(y)
    lin.backward(np.ones((4, 2)))


def test_a_model_fed_a_batch_changed_in_place_raises_at_its_first_layer():
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    x = np.random.default_rng(4).standard_normal((5, 3)).astype(np.float32)
    out = model(x)
    x -= x.mean()
    with pytest.raises(RuntimeError, match=r"Linear\.backward\(\).*changed in place"):
        model.backward(np.ones_like(out))


def test_pytorch_refuses_the_same_in_place_change():
    torch = pytest.importorskip("torch", reason="compares with PyTorch's version counter")
    a = torch.tanh(torch.linspace(-2, 2, 12, requires_grad=True))
    a += 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        a.sum().backward()


def test_sequential_of_an_ordered_dict_names_its_children_by_the_keys():
    from collections import OrderedDict
    model = nn.Sequential(OrderedDict([("fc1", nn.Linear(4, 8, dtype=np.float64)), ("act", nn.ReLU()),
                                       ("fc2", nn.Linear(8, 2, dtype=np.float64))]))
    assert [name for name, _ in model.named_parameters()] == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert model.fc1 is model[0] and isinstance(model.act, nn.ReLU)
    assert [name for name, _ in model[1:].named_children()] == ["act", "fc2"]  # a slice keeps the names
    x = np.ones((3, 4))
    assert model(x).shape == (3, 2) and model.backward(np.ones((3, 2))).shape == (3, 4)
    torch = pytest.importorskip("torch", reason="the state dict's keys are compared with PyTorch's")
    theirs = torch.nn.Sequential(OrderedDict([("fc1", torch.nn.Linear(4, 8)), ("act", torch.nn.ReLU()),
                                              ("fc2", torch.nn.Linear(8, 2))])).double()
    assert list(model.state_dict()) == list(theirs.state_dict())
    model.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    np.testing.assert_allclose(model(x), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-12, atol=1e-15)


def test_trunc_normal_draws_the_truncated_distribution():
    from scipy import stats
    w = nn.Parameter(np.empty((200, 500)))
    nn.init.trunc_normal_(w, mean=0.5, std=2.0, a=-1.0, b=3.0, rng=np.random.default_rng(0))
    assert w.data.min() >= -1.0 and w.data.max() <= 3.0
    expected = stats.truncnorm((-1.0 - 0.5) / 2.0, (3.0 - 0.5) / 2.0, loc=0.5, scale=2.0)
    assert abs(w.data.mean() - expected.mean()) < 0.01 and abs(w.data.std() - expected.std()) < 0.01
    nn.init.trunc_normal_(w, std=0.02, rng=np.random.default_rng(1))       # nanoGPT / ViT's use
    assert abs(w.data.std() - 0.02) < 0.001 and np.abs(w.data).max() <= 2.0
    with pytest.raises(ValueError, match="a < b"):
        nn.init.trunc_normal_(w, a=1.0, b=1.0)
    with pytest.raises(ValueError, match="std must be >= 0"):
        nn.init.trunc_normal_(w, std=-1.0)


def test_batch_norm_with_eps_zero_is_refused_in_training_as_pytorch_refuses_it():
    bn = nn.BatchNorm1d(3, eps=0.0, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((4, 3))
    with pytest.raises(ValueError, match=r"BatchNorm1d eps must be > 0 .*got eps=0\.0"):
        bn(x)
    bn.eval()
    assert bn(x).shape == (4, 3)  # the running variance (1 at the start) divides: fine
    torch = pytest.importorskip("torch", reason="compares with PyTorch's refusal")
    with pytest.raises(ValueError, match="eps must be positive"):
        torch.nn.BatchNorm1d(3, eps=0.0)(torch.tensor(x))


@pytest.mark.parametrize("cls", [nn.ReLU, nn.LeakyReLU, nn.ELU, nn.SiLU])
def test_inplace_activations_write_into_their_input_and_backpropagate_right(cls):
    rng = np.random.default_rng(5)
    z = rng.standard_normal((4, 3))
    g = rng.standard_normal((4, 3))
    plain = cls()
    expected_out, expected_grad = plain(z.copy()), None
    expected_grad = plain.backward(g)
    module = cls(inplace=True)
    x = z.copy()
    out = module(x)
    assert out is x and np.array_equal(x, expected_out)      # written into the input
    np.testing.assert_array_equal(module.backward(g), expected_grad)
    assert "inplace=True" in repr(module)


def test_dropout_inplace_and_the_in_place_check_together():
    drop = nn.Dropout(0.5, inplace=True, rng=np.random.default_rng(0))
    x = np.ones((4, 5))
    y = drop(x)
    assert y is x and set(np.unique(x)) <= {0.0, 2.0}
    np.testing.assert_array_equal(drop.backward(np.ones((4, 5))), x)  # mask / (1 - p), where kept
    # Tanh keeps its output; ReLU(inplace) overwrites it: Tanh's backward refuses, as PyTorch's does
    tanh, relu = nn.Tanh(), nn.ReLU(inplace=True)
    a = relu(tanh(np.linspace(-1, 1, 6)))
    relu.backward(np.ones_like(a))
    with pytest.raises(RuntimeError, match=r"Tanh\.backward\(\).*changed in place"):
        tanh.backward(np.ones_like(a))


def test_a_zero_dim_softmax_and_a_softmax_in_another_dtype_are_pytorchs():
    import chainrule.nn.functional as F
    assert nn.Softmax(0)(np.array(3.0)) == 1.0 and nn.LogSoftmax(-1)(np.array(3.0)) == 0.0
    assert F.softmax(np.array([1, 2, 3]), dim=0, dtype=np.float64).dtype == np.float64
    with pytest.warns(UserWarning, match="softmax without dim: dim=1"):
        F.softmax(np.zeros((2, 3)))
    p = nn.Parameter(np.array(1.0))
    with pytest.raises(IndexError, match="0-d"):
        p.size(0)


def test_elu_passes_the_gradient_on_at_a_nan_input_as_pytorch():
    elu = nn.ELU()
    elu(np.array([np.nan, -1.0, 2.0]))
    grad = elu.backward(np.array([1.0, 1.0, 1.0]))
    assert grad[0] == 1.0 and np.isclose(grad[1], np.exp(-1.0)) and grad[2] == 1.0


def _torch_twins():
    """(chainrule class, torch class) for every public chainrule.nn module that torch.nn also
    has with a forward of its own (ModuleList and ModuleDict have none: they are not called)."""
    torch = pytest.importorskip("torch", reason="compares with torch.nn's forward signatures")
    pairs = []
    for name in sorted(dir(nn)):
        ours, theirs = getattr(nn, name), getattr(torch.nn, name, None)
        if (inspect.isclass(ours) and issubclass(ours, nn.Module) and ours is not nn.Module
                and inspect.isclass(theirs) and theirs.forward is not torch.nn.Module.forward):
            pairs.append((ours, theirs))
    return pairs


def _parameters(forward):
    return [(p.name, p.kind, p.default is not inspect.Parameter.empty)
            for p in inspect.signature(forward).parameters.values()]


def test_every_forward_takes_torchs_parameter_names():
    # Code written for torch.nn ports by changing the import and the backward lines, so a call
    # by keyword, Linear(...)(input=x) or lstm(x, hx=(h0, c0)), must work as it does there.
    pairs = _torch_twins()
    names = {ours.__name__ for ours, _ in pairs}
    assert {"Linear", "Conv2d", "ConvTranspose2d", "ReLU", "Sequential", "Embedding", "LSTM", "MaxUnpool2d",
            "MSELoss", "MultiheadAttention"} <= names          # the walk found the modules
    different = {ours.__name__: (_parameters(ours.forward), _parameters(theirs.forward))
                 for ours, theirs in pairs if _parameters(ours.forward) != _parameters(theirs.forward)}
    assert different == {}


def test_a_forward_called_by_keyword_is_the_forward_called_by_position():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3))
    linear = nn.Linear(3, 4, dtype=np.float64)
    model = nn.Sequential(nn.Linear(3, 4, dtype=np.float64), nn.Tanh())
    lstm, gru = nn.LSTM(3, 2, dtype=np.float64), nn.GRU(3, 2, dtype=np.float64)
    seq, h0, c0 = rng.standard_normal((5, 1, 3)), rng.standard_normal((1, 1, 2)), rng.standard_normal((1, 1, 2))
    with cr.no_grad():  # forwards compared, not backpropagated
        np.testing.assert_array_equal(linear(input=x), linear(x))
        np.testing.assert_array_equal(model(input=x), model(x))
        (out_k, (h_k, c_k)), (out_p, (h_p, c_p)) = lstm(input=seq, hx=(h0, c0)), lstm(seq, (h0, c0))
        np.testing.assert_array_equal(gru(input=seq, hx=h0)[1], gru(seq, h0)[1])
    for a, b in ((out_k, out_p), (h_k, h_p), (c_k, c_p)):
        np.testing.assert_array_equal(a, b)
    y, indices = nn.MaxPool1d(2, return_indices=True)(input=rng.standard_normal((1, 2, 6)))
    unpool = nn.MaxUnpool1d(2)
    assert unpool(input=y, indices=indices, output_size=(7,)).shape == (1, 2, 7)
    assert unpool.backward(np.ones((1, 2, 7))).shape == y.shape
    model(input=x)
    assert model.backward(np.ones((2, 4))).shape == (2, 3)  # a keyword forward keeps its cache
    with pytest.raises(TypeError, match="'x'"):
        linear(x=x)                                          # one name, torch's: no second spelling


def test_forward_hooks_see_keyword_arguments_as_pytorchs_do():
    torch = pytest.importorskip("torch", reason="compares hook arguments with torch's")
    x = np.ones((1, 3), dtype=np.float32)
    seen = []
    for module, array in ((nn.Linear(3, 2), x), (torch.nn.Linear(3, 2), torch.tensor(x))):
        calls = []
        module.register_forward_hook(lambda m, args, out: calls.append(len(args)))
        module.register_forward_hook(lambda m, args, kwargs, out: calls.append((len(args), sorted(kwargs))),
                                     with_kwargs=True)
        with cr.no_grad(), torch.no_grad():
            module(array)
            module(input=array)
        seen.append(calls)
    assert seen[0] == seen[1] == [1, (1, []), 0, (0, ["input"])]
