"""PyTorch interop: to_torch / from_torch give equivalent models (outputs and gradients agree,
both directions), refuse unsupported layers by name, and state dicts move across."""

import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.interop import from_torch, state_dict_to_torch, to_torch

torch = pytest.importorskip("torch", reason="torch is not installed")
tnn = torch.nn


def _model(dtype=np.float64):
    rng = np.random.default_rng(0)
    return nn.Sequential(nn.Linear(4, 6, dtype=dtype, rng=rng), nn.Tanh(), nn.Linear(6, 5, dtype=dtype, rng=rng),
                         nn.LeakyReLU(0.2), nn.Sequential(nn.Linear(5, 5, bias=False, dtype=dtype, rng=rng),
                                                          nn.Sigmoid()),
                         nn.ReLU(), nn.Dropout(0.3), nn.Identity(), nn.Linear(5, 3, dtype=dtype, rng=rng),
                         nn.Softmax(dim=1), nn.LogSoftmax(dim=-1))


def _compare(cr_model, t_model, dtype, atol):
    # Compare in training mode (backward needs the caches) with Dropout made the identity.
    for m in list(cr_model.modules()) + list(t_model.modules()):
        if isinstance(m, (nn.Dropout, tnn.Dropout)):
            m.p = 0.0
    cr_model.train()
    t_model.train()
    x = np.random.default_rng(1).standard_normal((7, 4)).astype(dtype)
    g = np.random.default_rng(2).standard_normal((7, 3)).astype(dtype)
    y = cr_model(x)
    gx = cr_model.backward(g)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    yt = t_model(xt)
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(y, yt.detach().numpy(), atol=atol)
    np.testing.assert_allclose(gx, xt.grad.numpy(), atol=atol)
    t_params = dict(t_model.named_parameters())
    for name, p in cr_model.named_parameters():
        np.testing.assert_allclose(p.grad, t_params[name].grad.numpy(), atol=atol, err_msg=name)


@pytest.mark.parametrize("dtype, atol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_to_torch_outputs_and_gradients_agree(dtype, atol):
    model = _model(dtype)
    t_model = to_torch(model)
    assert isinstance(t_model, tnn.Sequential)
    assert t_model[0].weight.dtype == (torch.float64 if dtype == np.float64 else torch.float32)
    assert isinstance(t_model[4], tnn.Sequential) and t_model[3].negative_slope == 0.2
    assert t_model[6].p == 0.3 and t_model[9].dim == 1
    _compare(model, t_model, dtype, atol)


@pytest.mark.parametrize("dtype, atol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_from_torch_outputs_and_gradients_agree(dtype, atol):
    torch.manual_seed(0)
    t_model = tnn.Sequential(tnn.Linear(4, 6, dtype=dtype), tnn.ReLU(), tnn.Sequential(tnn.Linear(6, 6, dtype=dtype),
                             tnn.Tanh()), tnn.Dropout(0.1), tnn.Linear(6, 3, bias=False, dtype=dtype),
                             tnn.LogSoftmax(dim=1))
    model = from_torch(t_model)
    assert isinstance(model[2], nn.Sequential) and model[4].bias is None
    np_dtype = np.float64 if dtype == torch.float64 else np.float32
    assert model[0].weight.dtype == np_dtype
    _compare(model, t_model, np_dtype, atol)


def test_weights_are_copies():
    model = _model()
    t_model = to_torch(model)
    model[0].weight.data[...] = 0
    assert t_model[0].weight.abs().sum() > 0
    back = from_torch(t_model)
    with torch.no_grad():
        t_model[0].weight.zero_()
    assert np.abs(back[0].weight.data).sum() > 0


def test_mode_is_carried():
    model = _model().eval()
    assert not to_torch(model).training
    assert not from_torch(tnn.Sequential(tnn.ReLU()).eval()).training


def test_state_dicts_move_both_ways():
    model = _model()
    t_model = to_torch(_model())  # same architecture, its own weights
    with torch.no_grad():
        for p in t_model.parameters():
            p.zero_()
    t_model.load_state_dict(state_dict_to_torch(model.state_dict()))  # strict: same keys
    for (name, value), (t_name, t_value) in zip(model.state_dict().items(), t_model.state_dict().items()):
        assert name == t_name
        np.testing.assert_array_equal(value, t_value.numpy())
    other = _model()
    for p in other.parameters():
        p.data[...] = 0
    other.load_state_dict(t_model.state_dict())  # torch tensors load directly
    for a, b in zip(model.parameters(), other.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_round_trip_through_a_checkpoint(tmp_path):
    t_model = to_torch(_model())
    cr.save(from_torch(t_model).state_dict(), tmp_path / "w.npz")
    restored = _model()
    restored.load_state_dict(cr.load(tmp_path / "w.npz"))
    for (name, p), t_p in zip(restored.named_parameters(), t_model.parameters()):
        np.testing.assert_array_equal(p.data, t_p.detach().numpy(), err_msg=name)


def test_unsupported_layers_are_refused_by_name():
    with pytest.raises(TypeError, match=r"from_torch does not support torch.nn.modules.linear.Bilinear at "
                                        r"'1'; supported: Sequential, ModuleList, ModuleDict, Linear, Conv1d"):
        from_torch(tnn.Sequential(tnn.Linear(2, 2), tnn.Bilinear(2, 2, 1)))
    with pytest.raises(TypeError, match=r"from_torch does not support .*Hardtanh at '0.1'"):
        from_torch(tnn.Sequential(tnn.Sequential(tnn.Linear(2, 2), tnn.Hardtanh())))
    with pytest.raises(TypeError, match="float32 and float64 layers, got Linear of dtype float16 at '0'"):
        from_torch(tnn.Sequential(tnn.Linear(2, 2, dtype=torch.float16)))
    with pytest.raises(ValueError, match="explicit dim for Softmax at '0'"):
        from_torch(tnn.Sequential(tnn.Softmax()))

    class Custom(nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(TypeError, match=r"to_torch cannot rebuild .*Custom at '1': it is a module of your own"):
        to_torch(nn.Sequential(nn.ReLU(), Custom()))
    with pytest.raises(TypeError, match=r"to_torch does not support chainrule.nn.loss.MSELoss"):
        to_torch(nn.MSELoss())


def test_import_chainrule_does_not_import_torch():
    code = "import sys, chainrule, chainrule.interop, chainrule.onnx; assert 'torch' not in sys.modules; " \
           "assert 'onnx' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def _same_numbers(t_model, model, x, dtype=torch.float64):
    t_model = t_model.to(dtype)
    xt = torch.tensor(x, requires_grad=True)
    out_t = t_model(xt)
    out_t = out_t[0] if isinstance(out_t, tuple) else out_t
    g = np.random.default_rng(5).standard_normal(tuple(out_t.shape))
    (out_t * torch.tensor(g)).sum().backward()
    out = model(x)
    out = out[0] if isinstance(out, tuple) else out
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    dx = model.backward(g)
    np.testing.assert_allclose(dx[0] if isinstance(dx, tuple) else dx, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    for (name, p), t_p in zip(model.named_parameters(), t_model.parameters()):
        np.testing.assert_allclose(p.grad, t_p.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


def test_a_cnn_crosses_both_ways_with_its_weights_and_buffers():
    torch.manual_seed(0)
    t_model = tnn.Sequential(tnn.Conv2d(3, 4, 3, stride=2, padding=1), tnn.BatchNorm2d(4), tnn.ReLU(),
                             tnn.MaxPool2d(2), tnn.Flatten(), tnn.Linear(16, 5), tnn.GELU(approximate="tanh")).double()
    t_model[1].running_mean.uniform_(-1, 1)
    t_model.eval()
    model = from_torch(t_model)
    assert isinstance(model[0], nn.Conv2d) and model[0].stride == (2, 2) and not model.training
    np.testing.assert_array_equal(model[1].running_mean, t_model[1].running_mean.numpy())
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8))
    _same_numbers(t_model, model, x)
    back = to_torch(model)
    assert [type(m).__name__ for m in back] == [type(m).__name__ for m in t_model]
    for key, value in t_model.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[key].numpy(), value.numpy(), err_msg=key)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_a_padding_mode_crosses_both_ways(mode):
    torch.manual_seed(3)
    t_model = tnn.Sequential(tnn.Conv2d(2, 3, 3, padding=(1, 2), padding_mode=mode), tnn.Tanh(),
                             tnn.Conv2d(3, 2, (2, 3), padding="same", padding_mode=mode)).double()
    model = from_torch(t_model)
    assert [m.padding_mode for m in (model[0], model[2])] == [mode, mode]
    _same_numbers(t_model, model, np.random.default_rng(3).standard_normal((2, 2, 5, 4)))
    back = to_torch(model)
    assert [m.padding_mode for m in (back[0], back[2])] == [mode, mode] and repr(back) == repr(t_model)
    conv1d = to_torch(nn.Conv1d(2, 2, 3, padding=2, padding_mode=mode, dtype=np.float64))
    assert isinstance(conv1d, tnn.Conv1d) and conv1d.padding_mode == mode


def test_recurrent_embedding_and_norm_layers_cross_as_well():
    torch.manual_seed(1)
    lstm = tnn.LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True).double()
    model = from_torch(lstm)
    assert (model.num_layers, model.batch_first, model.bidirectional) == (2, True, True)
    _same_numbers(lstm, model, np.random.default_rng(1).standard_normal((2, 5, 3)))
    rnn = from_torch(tnn.RNN(3, 4, nonlinearity="relu"))
    assert rnn.nonlinearity == "relu" and rnn.weight_ih_l0.dtype == np.float32
    emb = from_torch(tnn.Embedding(6, 3, padding_idx=2))
    assert emb.padding_idx == 2 and emb.weight.shape == (6, 3)
    norm = to_torch(nn.LayerNorm((2, 3), bias=False, dtype=np.float64))
    assert norm.bias is None and norm.weight.dtype == torch.float64 and norm.normalized_shape == (2, 3)


@pytest.mark.parametrize("options", [
    {"max_norm": 1.0}, {"max_norm": 2, "norm_type": 1}, {"max_norm": 0.5, "norm_type": float("inf"), "padding_idx": 0},
    {"scale_grad_by_freq": True, "padding_idx": -1}, {"sparse": True}, {"max_norm": 1.5, "sparse": True},
], ids=repr)
def test_embedding_options_cross_both_ways(options):
    names = ("padding_idx", "max_norm", "norm_type", "scale_grad_by_freq", "sparse")
    torch.manual_seed(4)
    theirs = tnn.Embedding(6, 3, dtype=torch.float64, **options)
    ours = from_torch(theirs)
    assert repr(ours) == repr(theirs)
    assert [getattr(ours, n) for n in names] == [getattr(theirs, n) for n in names]
    back = to_torch(nn.Embedding(6, 3, dtype=np.float64, **options))
    assert isinstance(back, tnn.Embedding) and repr(back) == repr(theirs)
    assert [getattr(back, n) for n in names] == [getattr(theirs, n) for n in names]
    # the same numbers through the layer moved across: output, weight after a max_norm forward, gradient
    indices = np.array([[0, 5, 5], [2, 0, 5]])
    g = np.random.default_rng(4).standard_normal((2, 3, 3))
    y = ours(indices)
    ours.backward(g)
    yt = theirs(torch.from_numpy(indices))
    yt.backward(torch.from_numpy(g))
    grad = theirs.weight.grad
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.weight.data, theirs.weight.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.weight.grad, (grad.to_dense() if grad.is_sparse else grad).numpy(),
                               rtol=1e-10, atol=1e-12)
    assert from_torch(theirs, into=nn.Embedding(6, 3, dtype=np.float64, **options)).max_norm == theirs.max_norm


def test_an_lstm_with_a_projection_crosses_both_ways_with_its_weights():
    torch.manual_seed(3)
    theirs = tnn.LSTM(3, 5, num_layers=2, bidirectional=True, proj_size=2).double()
    ours = from_torch(theirs)
    assert ours.proj_size == 2 and ours.weight_hr_l1_reverse.shape == (2, 5)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[key], value.numpy(), err_msg=key)
    _same_numbers(theirs, ours, np.random.default_rng(3).standard_normal((4, 2, 3)))
    back = to_torch(nn.LSTM(3, 4, proj_size=3, bias=False, dtype=np.float64, rng=np.random.default_rng(4)))
    assert isinstance(back, tnn.LSTM) and back.proj_size == 3 and not back.bias
    assert back.weight_hr_l0.shape == (3, 4) and back.weight_hh_l0.shape == (16, 3)
    # the RNN and the GRU, whose torch attribute proj_size is 0, cross as before
    assert type(from_torch(tnn.GRU(3, 4))) is nn.GRU and type(from_torch(tnn.RNN(3, 4))) is nn.RNN
    assert type(to_torch(nn.GRU(3, 4))) is tnn.GRU


def test_multihead_attention_crosses_both_ways():
    torch.manual_seed(2)
    for kwargs in ({"batch_first": True}, {"kdim": 3, "vdim": 5, "bias": False, "dropout": 0.25}):
        theirs = tnn.MultiheadAttention(8, 2, dtype=torch.float64, **kwargs).eval()
        ours = from_torch(theirs)
        assert isinstance(ours, nn.MultiheadAttention) and not ours.training
        assert (ours.kdim, ours.vdim, ours.batch_first, ours.dropout) == (
            theirs.kdim, theirs.vdim, theirs.batch_first, theirs.dropout)
        assert (ours.in_proj_bias is None) == (theirs.in_proj_bias is None)
        rng = np.random.default_rng(3)
        q, k, v = (rng.standard_normal((4, 3, d)) for d in (8, theirs.kdim, theirs.vdim))
        y, w = ours(q, k, v)
        ty, tw = theirs(*(torch.from_numpy(a) for a in (q, k, v)))
        np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(w, tw.detach().numpy(), rtol=1e-12, atol=1e-12)
        back = to_torch(ours)
        assert isinstance(back, tnn.MultiheadAttention) and back._qkv_same_embed_dim == theirs._qkv_same_embed_dim
        assert (back.kdim, back.vdim, back.batch_first, back.dropout) == (
            theirs.kdim, theirs.vdim, theirs.batch_first, theirs.dropout)
        for key, value in theirs.state_dict().items():
            np.testing.assert_array_equal(back.state_dict()[key].numpy(), value.numpy(), err_msg=key)


@pytest.mark.parametrize("kwargs", [{"add_bias_kv": True}, {"add_zero_attn": True},
                                    {"add_bias_kv": True, "add_zero_attn": True, "kdim": 3, "vdim": 5}],
                         ids=["bias_kv", "zero_attn", "both_kdim_vdim"])
def test_multihead_attention_extra_keys_cross_both_ways(kwargs):
    torch.manual_seed(4)
    theirs = tnn.MultiheadAttention(8, 2, dtype=torch.float64, **kwargs)
    ours = from_torch(theirs)
    assert (ours.bias_k is None) == (theirs.bias_k is None) and ours.add_zero_attn == theirs.add_zero_attn
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():  # bias_k, bias_v through the state_dict
        np.testing.assert_array_equal(ours.state_dict()[key], value.numpy(), err_msg=key)
    rng = np.random.default_rng(5)
    q, k, v = (rng.standard_normal((4, 3, d)) for d in (8, theirs.kdim, theirs.vdim))
    y, w = ours(q, k, v)
    ty, tw = theirs(*(torch.from_numpy(a) for a in (q, k, v)))
    assert w.shape == tuple(tw.shape) == (3, 4, 4 + kwargs.get("add_bias_kv", 0) + kwargs.get("add_zero_attn", 0))
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(w, tw.detach().numpy(), rtol=1e-12, atol=1e-12)

    mine = nn.MultiheadAttention(8, 2, dtype=np.float64, rng=np.random.default_rng(6), **kwargs)
    back = to_torch(mine)
    assert isinstance(back, tnn.MultiheadAttention)
    assert (back.bias_k is None) == (mine.bias_k is None) and back.add_zero_attn == mine.add_zero_attn
    for key, value in mine.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[key].numpy(), value, err_msg=key)
    # into= matches the options too: a layer without them is a different layer
    plain = nn.MultiheadAttention(8, 2, kdim=theirs.kdim, vdim=theirs.vdim, dtype=np.float64)
    with pytest.raises(ValueError, match=r"the target has MultiheadAttention\(.*add_bias_kv=False, add_zero_attn=False"):
        from_torch(theirs, into=plain)
    into = nn.MultiheadAttention(8, 2, dtype=np.float64, **kwargs)
    assert from_torch(theirs, into=into) is into
    np.testing.assert_array_equal(into(q, k, v)[0], y)


# -- copying into a model of your own: into= ------------------------------------------------------
class CrNet(nn.Module):
    """The blitz tutorial's CNN, ported: the torch class below, with its backward by hand."""

    def __init__(self, dtype=np.float64):
        super().__init__()
        rng = np.random.default_rng(7)  # its own weights, different from torch's
        self.conv1 = nn.Conv2d(3, 6, 5, dtype=dtype, rng=rng)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5, dtype=dtype, rng=rng)
        self.fc1 = nn.Linear(16 * 5 * 5, 120, dtype=dtype, rng=rng)
        self.fc2 = nn.Linear(120, 84, dtype=dtype, rng=rng)
        self.fc3 = nn.Linear(84, 10, dtype=dtype, rng=rng)

    def forward(self, x):
        a1 = cr.nn.functional.relu(self.conv1(x))
        x = self.pool(a1)
        a2 = cr.nn.functional.relu(self.conv2(x))
        x = self.pool(a2)
        shape = x.shape
        a3 = cr.nn.functional.relu(self.fc1(x.reshape(len(x), -1)))
        a4 = cr.nn.functional.relu(self.fc2(a3))
        self.save_for_backward(a1, a2, a3, a4, shape)
        return self.fc3(a4)

    def backward(self, grad):
        F = cr.nn.functional
        a1, a2, a3, a4, shape = self.saved_tensors
        grad = self.fc3.backward(grad)
        grad = self.fc2.backward(F.relu_backward(grad, a4))
        grad = self.fc1.backward(F.relu_backward(grad, a3)).reshape(shape)
        grad = self.conv2.backward(F.relu_backward(self.pool.backward(grad), a2))  # pool's second use
        return self.conv1.backward(F.relu_backward(self.pool.backward(grad), a1))  # then its first


class TorchNet(tnn.Module):
    def __init__(self, dtype=torch.float64):
        super().__init__()
        self.conv1 = tnn.Conv2d(3, 6, 5, dtype=dtype)
        self.pool = tnn.MaxPool2d(2, 2)
        self.conv2 = tnn.Conv2d(6, 16, 5, dtype=dtype)
        self.fc1 = tnn.Linear(16 * 5 * 5, 120, dtype=dtype)
        self.fc2 = tnn.Linear(120, 84, dtype=dtype)
        self.fc3 = tnn.Linear(84, 10, dtype=dtype)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        x = torch.relu(self.fc1(torch.flatten(x, 1)))
        return self.fc3(torch.relu(self.fc2(x)))


def _same_outputs_and_gradients(ours, theirs):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 3, 32, 32))
    g = rng.standard_normal((2, 10))
    xt = torch.tensor(x, requires_grad=True)
    theirs(xt).backward(torch.tensor(g))
    np.testing.assert_allclose(ours(x), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.backward(g), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    t_params = dict(theirs.named_parameters())
    assert [name for name, _ in ours.named_parameters()] == list(t_params)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, t_params[name].grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


def test_the_blitz_cnn_is_copied_from_torch_into_its_port():
    torch.manual_seed(0)
    theirs, ours = TorchNet(), CrNet()
    assert from_torch(theirs, into=ours) is ours
    for name, value in theirs.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[name], value.numpy(), err_msg=name)
    _same_outputs_and_gradients(ours, theirs)


def test_the_blitz_cnn_is_copied_from_its_port_into_torch():
    torch.manual_seed(0)
    ours, theirs = CrNet(), TorchNet()
    assert to_torch(ours, into=theirs) is theirs
    for name, value in ours.state_dict().items():
        np.testing.assert_array_equal(theirs.state_dict()[name].numpy(), value, err_msg=name)
    _same_outputs_and_gradients(ours, theirs)


def test_into_keeps_the_targets_dtype_and_mode():
    # As torch's load_state_dict: values are cast into the existing tensors; the mode is not touched.
    torch.manual_seed(0)
    theirs, ours = TorchNet(torch.float64).train(), CrNet(np.float32).eval()
    from_torch(theirs, into=ours)
    assert ours.fc1.weight.dtype == np.float32 and not ours.training and not ours.fc1.training
    np.testing.assert_array_equal(ours.fc1.weight.data, theirs.fc1.weight.detach().float().numpy())
    back = TorchNet(torch.float32).eval()
    to_torch(CrNet(np.float64).train(), into=back)
    assert back.fc1.weight.dtype == torch.float32 and not back.training and not back.fc1.training
    np.testing.assert_array_equal(back.fc1.weight.detach().numpy(), CrNet(np.float64).fc1.weight.data.astype(np.float32))


class CrTower(nn.Module):
    def __init__(self, width=4, heads=("a", "b")):
        super().__init__()
        rng = np.random.default_rng(3)
        self.scale = nn.Parameter(rng.standard_normal(width))
        self.blocks = nn.ModuleList([nn.Sequential(nn.Linear(width, width, dtype=np.float64, rng=rng), nn.ReLU())
                                     for _ in range(2)])
        self.heads = nn.ModuleDict({key: nn.Linear(width, 2, dtype=np.float64, rng=rng) for key in heads})
        self.norm = nn.BatchNorm1d(width, dtype=np.float64)
        self.inner = CrInner()


class CrInner(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("counts", np.arange(3))
        self.proj = nn.Linear(4, 3, dtype=np.float64, rng=np.random.default_rng(4))


class TorchTower(tnn.Module):
    def __init__(self, width=4, heads=("a", "b")):
        super().__init__()
        self.scale = tnn.Parameter(torch.randn(width, dtype=torch.float64))
        self.blocks = tnn.ModuleList([tnn.Sequential(tnn.Linear(width, width, dtype=torch.float64), tnn.ReLU())
                                      for _ in range(2)])
        self.heads = tnn.ModuleDict({key: tnn.Linear(width, 2, dtype=torch.float64) for key in heads})
        self.norm = tnn.BatchNorm1d(width, dtype=torch.float64)
        self.inner = TorchInner()


class TorchInner(tnn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("counts", torch.tensor([5, 6, 7]))
        self.proj = tnn.Linear(4, 3, dtype=torch.float64)


def _assert_same_state(ours, theirs):
    state, t_state = ours.state_dict(), theirs.state_dict()
    assert list(state) == list(t_state)
    for key, value in t_state.items():
        np.testing.assert_array_equal(state[key], value.numpy(), err_msg=key)
        assert state[key].dtype == value.numpy().dtype, key


def test_nested_modules_of_your_own_with_a_module_list_and_dict_cross_both_ways():
    torch.manual_seed(1)
    theirs = TorchTower()
    with torch.no_grad():
        theirs.norm.running_mean.uniform_(-1, 1)
        theirs.norm.num_batches_tracked.fill_(9)
    ours = from_torch(theirs, into=CrTower())
    _assert_same_state(ours, theirs)
    assert ours.norm.num_batches_tracked == 9 and ours.inner.counts.tolist() == [5, 6, 7]
    mine = CrTower()
    mine.norm.running_var[...] = 3.0
    back = to_torch(mine, into=TorchTower())
    _assert_same_state(mine, back)


def _state(model):
    if isinstance(model, tnn.Module):
        return {key: value.numpy().copy() for key, value in model.state_dict().items()}
    return model.state_dict()


@pytest.mark.parametrize("target, source, message", [
    (lambda: CrTower(heads=("a", "b", "c")), lambda: TorchTower(),
     r"'heads.c': the target has Linear\(in_features=4, out_features=2, bias=True\), the source has no such child"),
    (lambda: CrTower(heads=("a",)), lambda: TorchTower(),
     r"'heads.b': the source has Linear\(in_features=4, out_features=2, bias=True\), the target has no such child"),
    (lambda: nn.Sequential(nn.Linear(4, 3)), lambda: tnn.Sequential(tnn.Linear(4, 5)),
     r"'0': the target has Linear\(in_features=4, out_features=3, bias=True\), "
     r"the source has Linear\(in_features=4, out_features=5, bias=True\)"),
    (lambda: CrTower(width=3), lambda: TorchTower(),
     r"'scale': the target has shape \(3,\), the source has shape \(4,\)"),
    (lambda: nn.Sequential(nn.Tanh()), lambda: tnn.Sequential(tnn.ReLU()),
     r"'0': the target has Tanh\(\), the source has ReLU\(\)"),
    (lambda: nn.Sequential(CrInner()), lambda: tnn.Sequential(tnn.Linear(4, 3)),
     r"'0': the target has CrInner \(a module of your own\), the source has Linear\(in_features=4"),
    (lambda: TorchInner(), lambda: CrInner(),  # to_torch: a torch-only setting is part of the layer
     None),
])
def test_every_mismatch_is_named_and_nothing_is_copied(target, source, message):
    target, source = target(), source()
    before = _state(target)
    copy = from_torch if isinstance(target, nn.Module) else to_torch
    if message is None:  # the same classes, then a torch setting chainrule's layer has no counterpart for
        target.proj = tnn.Conv2d(1, 1, 3, padding_mode="reflect")
        source.proj = nn.Conv2d(1, 1, 3)
        message = r"'proj': the target has Conv2d\(.*padding_mode='reflect'\), the source has Conv2d\(in_channels=1"
        before = _state(target)
    with pytest.raises(ValueError, match=rf"{copy.__name__} cannot copy .* \(nothing was copied\): .*{message}"):
        copy(source, into=target)
    after = _state(target)
    assert list(after) == list(before)
    for key, value in before.items():
        np.testing.assert_array_equal(after[key], value, err_msg=key)


def test_a_failed_copy_lists_every_mismatch_and_leaves_the_target_as_it_was():
    # The first children match and would be copied; the last one does not, so none is.
    theirs = TorchTower()
    ours = CrTower()
    ours.inner.proj = nn.Linear(4, 2, dtype=np.float64)
    ours.extra = nn.ReLU()
    before = ours.state_dict()
    with pytest.raises(ValueError) as error:
        from_torch(theirs, into=ours)
    assert "'inner.proj': the target has Linear(in_features=4, out_features=2" in str(error.value)
    assert "'extra': the target has ReLU(), the source has no such child" in str(error.value)
    for key, value in ours.state_dict().items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)
    back = TorchTower()
    t_before = _state(back)
    with pytest.raises(ValueError, match=r"to_torch cannot copy CrTower into TorchTower .*'inner.proj'"):
        to_torch(ours, into=back)
    for key, value in _state(back).items():
        np.testing.assert_array_equal(value, t_before[key], err_msg=key)


def test_into_must_be_a_module_of_the_other_framework():
    with pytest.raises(TypeError, match="from_torch into must be a chainrule.nn.Module, got Sequential"):
        from_torch(tnn.Sequential(), into=tnn.Sequential())
    with pytest.raises(TypeError, match="to_torch into must be a torch.nn.Module, got Sequential"):
        to_torch(nn.Sequential(), into=nn.Sequential())


def test_a_module_of_your_own_is_refused_without_into():
    model = nn.Sequential(nn.ReLU(), nn.ModuleDict({"blocks": nn.ModuleList([nn.ReLU(), CrInner()])}))
    with pytest.raises(TypeError, match=r"to_torch cannot rebuild .*CrInner at '1.blocks.1': it is a module of your "
                                        r"own.*Write the matching torch.nn.Module class .*to_torch\(model, into="):
        to_torch(model)
    with pytest.raises(TypeError, match=r"from_torch cannot rebuild .*TorchNet at the top level.*chainrule.nn.Module "
                                        r"class .*from_torch\(model, into="):
        from_torch(TorchNet())


def test_module_lists_and_dicts_cross_both_ways():
    rng = np.random.default_rng(5)
    ours = nn.ModuleDict({"enc": nn.ModuleList([nn.Linear(3, 4, dtype=np.float64, rng=rng), nn.Tanh()]),
                          "dec": nn.Sequential(nn.Linear(4, 2, dtype=np.float64, rng=rng))}).eval()
    theirs = to_torch(ours)
    assert type(theirs) is tnn.ModuleDict and list(theirs) == ["enc", "dec"] and not theirs.training
    assert type(theirs["enc"]) is tnn.ModuleList and type(theirs["enc"][1]) is tnn.Tanh
    assert type(theirs["dec"]) is tnn.Sequential
    _assert_same_state(ours, theirs)
    back = from_torch(theirs)
    assert type(back) is nn.ModuleDict and list(back) == ["enc", "dec"] and not back.training
    assert type(back["enc"]) is nn.ModuleList and len(back["enc"]) == 2 and type(back["enc"][1]) is nn.Tanh
    _assert_same_state(back, theirs)


def test_load_state_dict_takes_torch_tensors_that_require_grad():
    torch.manual_seed(3)
    theirs = tnn.Sequential(tnn.Linear(3, 4), tnn.BatchNorm1d(4))  # float32, and an int64 buffer
    with torch.no_grad():
        theirs[1].num_batches_tracked.fill_(4)
        theirs[1].running_var.uniform_(1, 2)
    ours = nn.Sequential(nn.Linear(3, 4, dtype=np.float64), nn.BatchNorm1d(4, dtype=np.float64))
    params = dict(theirs.named_parameters())
    assert all(p.requires_grad for p in params.values())
    ours.load_state_dict(params, strict=False)
    ours.load_state_dict({key: value for key, value in theirs.state_dict().items() if "running" in key
                          or "batches" in key}, strict=False)
    assert ours[0].weight.dtype == np.float64 and ours[1].num_batches_tracked.dtype == np.int64
    for key, value in theirs.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[key], value.numpy().astype(ours.state_dict()[key].dtype))
    loaded = ours.state_dict()
    with torch.no_grad():  # a copy: changing the tensors afterwards changes nothing
        for p in theirs.parameters():
            p.add_(1)
    for key, value in ours.state_dict().items():
        np.testing.assert_array_equal(value, loaded[key], err_msg=key)
    same = nn.Linear(3, 4)  # float32 into float32: still a copy, not a view of the tensor
    t_linear = tnn.Linear(3, 4)
    same.load_state_dict(dict(t_linear.named_parameters()))
    np.testing.assert_array_equal(same.weight.data, t_linear.weight.detach().numpy())
    assert not np.shares_memory(same.weight.data, t_linear.weight.detach().numpy())
    with pytest.raises(RuntimeError, match=r"'weight' has shape \(4, 2\) in the state_dict, but the model's has "
                                           r"shape \(4, 3\)"):
        same.load_state_dict(dict(tnn.Linear(2, 4).named_parameters()))


def test_a_child_registered_under_two_names_is_matched_under_both():
    # torch's named_children() lists a shared module once; the copy walks every name.
    class TorchShared(tnn.Module):
        def __init__(self):
            super().__init__()
            self.act = self.act_again = tnn.ReLU()
            self.fc = tnn.Linear(2, 2, dtype=torch.float64)

    class CrShared(nn.Module):
        def __init__(self):
            super().__init__()
            self.act, self.act_again = nn.ReLU(), nn.ReLU()
            self.fc = nn.Linear(2, 2, dtype=np.float64)

    ours = from_torch(TorchShared(), into=CrShared())
    back = to_torch(ours, into=TorchShared())
    _assert_same_state(ours, back)
    assert len(from_torch(tnn.ModuleList([back.act, back.act]))) == 2
