"""LSTM with a projection (proj_size=P): h_t = m_t W_hr^T with m_t = o_t ⊙ tanh(c_t).

Against torch.nn.LSTM(..., proj_size=P) autograd in float64 over layers, directions, layouts,
biases, initial states and which outputs send a gradient back; central differences; the
parameters (names, order, shapes, init), the repr and the errors."""

import itertools

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn.rnn import lstm_cell

H_IN, H, P = 3, 5, 2

OPTIONS = [{"num_layers": layers, "bidirectional": bd, "batch_first": bf, "bias": b}
           for layers, bd, bf, b in itertools.product((1, 2), (False, True), (False, True), (True, False))]
OPTION_IDS = ["-".join(f"{k}={v}" for k, v in o.items()) for o in OPTIONS]
# Which of output, h_n, c_n get a gradient in backward (None for the others).
GRADS = {"output": (True, False, False), "all": (True, True, True), "finals only": (False, True, True)}


def shapes(options, batched, length=4, batch=3, hidden=H):
    """x, h0 and c0 shapes: h is P wide, c is hidden_size wide."""
    layers = options.get("num_layers", 1) * (2 if options.get("bidirectional") else 1)
    if not batched:
        return (length, H_IN), (layers, P), (layers, hidden)
    x = (batch, length, H_IN) if options.get("batch_first") else (length, batch, H_IN)
    return x, (layers, batch, P), (layers, batch, hidden)


def pair(options, dtype=np.float64):
    """Ours with its own init, and torch's LSTM with our weights loaded."""
    ours = nn.LSTM(H_IN, H, proj_size=P, dtype=dtype, rng=np.random.default_rng(0), **options)
    theirs = torch.nn.LSTM(H_IN, H, proj_size=P, dtype=getattr(torch, np.dtype(dtype).name), **options)
    theirs.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in ours.state_dict().items()})
    return ours, theirs


torch = pytest.importorskip("torch", reason="torch is not installed")


@pytest.mark.parametrize("grads", GRADS, ids=list(GRADS))
@pytest.mark.parametrize("with_h0", [False, True], ids=["zero h0", "h0 given"])
@pytest.mark.parametrize("batched", [False, True], ids=["unbatched", "batched"])
@pytest.mark.parametrize("options", OPTIONS, ids=OPTION_IDS)
def test_float64_matches_torch(options, batched, with_h0, grads):
    ours, theirs = pair(options)
    rng = np.random.default_rng(1)
    x_shape, h_shape, c_shape = shapes(options, batched)
    x = rng.standard_normal(x_shape)
    h0, c0 = rng.standard_normal(h_shape), rng.standard_normal(c_shape)
    xt, h0t, c0t = (torch.tensor(a, requires_grad=True) for a in (x, h0, c0))

    y, (h_n, c_n) = ours(x, (h0, c0)) if with_h0 else ours(x)
    yt, (h_nt, c_nt) = theirs(xt, (h0t, c0t)) if with_h0 else theirs(xt)
    assert y.shape[-1] == P * (2 if options["bidirectional"] else 1) and h_n.shape == h_shape
    assert c_n.shape == c_shape

    upstream = [rng.standard_normal(a.shape) if sent else None
                for a, sent in zip((y, h_n, c_n), GRADS[grads])]
    loss = sum((a * torch.tensor(g)).sum() for a, g in zip((yt, h_nt, c_nt), upstream) if g is not None)
    loss.backward()
    result = ours.backward(*upstream)

    def check(a, b, what):
        np.testing.assert_allclose(a, b.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=what)

    for a, b, what in ((y, yt, "output"), (h_n, h_nt, "h_n"), (c_n, c_nt, "c_n")):
        check(a, b, what)
    if with_h0:
        dx, (dh0, dc0) = result
        check(dh0, h0t.grad, "dh0")
        check(dc0, c0t.grad, "dc0")
    else:
        dx = result
    check(dx, xt.grad, "dx")
    params = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        check(params[name].grad, p.grad, name)


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")  # torch's, float32
def test_float32_matches_torch():
    ours, theirs = pair({"num_layers": 2, "bidirectional": True}, dtype=np.float32)
    x = np.random.default_rng(2).standard_normal((4, 3, H_IN)).astype(np.float32)
    y, (h_n, _) = ours(x)
    yt, (h_nt, _) = theirs(torch.from_numpy(x))
    assert y.dtype == h_n.dtype == np.float32
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h_n, h_nt.detach().numpy(), rtol=1e-5, atol=1e-6)


class Everything(nn.Module):
    """The LSTM as one function of (x, h0, c0) for gradcheck: output, h_n and c_n raveled into
    one array, so the upstream gradient reaches grad_output, grad_h_n and grad_c_n at once."""

    def __init__(self, lstm):
        super().__init__()
        self.lstm = lstm

    def forward(self, x, h0, c0):
        output, (h_n, c_n) = self.lstm(x, (h0, c0))
        self.save_for_backward(output.shape, h_n.shape, c_n.shape)
        return np.concatenate([output.ravel(), h_n.ravel(), c_n.ravel()])

    def backward(self, grad):
        shapes_ = self.saved_tensors
        ends = np.cumsum([int(np.prod(s)) for s in shapes_])
        pieces = [p.reshape(s) for p, s in zip(np.split(grad, ends[:-1]), shapes_)]
        dx, (dh0, dc0) = self.lstm.backward(*pieces)
        return dx, dh0, dc0


class _ReseededLSTM(nn.LSTM):
    """Dropout between layers with the same masks at every forward, so finite differences
    see one function."""

    def forward(self, x, hx=None):
        self.rng = np.random.default_rng(7)
        return super().forward(x, hx)


@pytest.mark.parametrize("options", [{}, {"num_layers": 2, "bidirectional": True, "batch_first": True},
                                     {"bias": False}],
                         ids=["one layer", "stacked, bidirectional, batch first", "no bias"])
def test_gradcheck(options):
    lstm = nn.LSTM(H_IN, 4, proj_size=P, dtype=np.float64, rng=np.random.default_rng(3), **options)
    rng = np.random.default_rng(4)
    x_shape, h_shape, c_shape = shapes(options, batched=True, length=3, batch=2, hidden=4)
    assert cr.gradcheck(Everything(lstm), *(rng.standard_normal(s) for s in (x_shape, h_shape, c_shape)))


def test_gradcheck_with_dropout_between_layers():
    lstm = _ReseededLSTM(H_IN, 4, num_layers=2, dropout=0.5, proj_size=3, dtype=np.float64,
                         rng=np.random.default_rng(5))
    rng = np.random.default_rng(6)
    inputs = rng.standard_normal((3, 2, H_IN)), rng.standard_normal((2, 2, 3)), rng.standard_normal((2, 2, 4))
    assert cr.gradcheck(Everything(lstm), *inputs)


def test_one_step_is_the_cell_then_the_projection():
    # h_1 = m_1 W_hr^T with (m_1, c_1) the plain cell's (h, c): the projection is the only change.
    lstm = nn.LSTM(H_IN, H, proj_size=P, dtype=np.float64, rng=np.random.default_rng(8))
    rng = np.random.default_rng(9)
    x, h0, c0 = rng.standard_normal((1, 2, H_IN)), rng.standard_normal((1, 2, P)), rng.standard_normal((1, 2, H))
    _, (h_n, c_n) = lstm(x, (h0, c0))
    x_proj = x[0] @ lstm.weight_ih_l0.data.T + lstm.bias_ih_l0.data
    m, c, _ = lstm_cell(x_proj, h0[0], c0[0], lstm.weight_hh_l0.data, lstm.bias_hh_l0.data)
    np.testing.assert_allclose(h_n[0], m @ lstm.weight_hr_l0.data.T, rtol=1e-12)
    np.testing.assert_allclose(c_n[0], c, rtol=1e-12)


def test_frozen_projection_gets_no_gradient_and_the_rest_still_does():
    lstm = nn.LSTM(H_IN, H, proj_size=P, dtype=np.float64, rng=np.random.default_rng(10))
    lstm.weight_hr_l0.requires_grad = False
    y, _ = lstm(np.random.default_rng(11).standard_normal((3, 2, H_IN)))
    lstm.backward(np.ones_like(y))
    assert lstm.weight_hr_l0.grad is None and lstm.weight_hh_l0.grad is not None


@pytest.mark.parametrize("options", [{"num_layers": 2, "bidirectional": True}, {"num_layers": 2, "bias": False}],
                         ids=["bias", "no bias"])
def test_parameters_are_torch_names_order_and_shapes(options):
    ours, theirs = pair(options)
    assert [(k, v.shape) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    assert [k for k, _ in ours.named_parameters()] == [k for k, _ in theirs.named_parameters()]


def test_without_proj_size_nothing_changes():
    plain = nn.LSTM(H_IN, H, num_layers=2, dtype=np.float64, rng=np.random.default_rng(12))
    zero = nn.LSTM(H_IN, H, num_layers=2, proj_size=0, dtype=np.float64, rng=np.random.default_rng(12))
    assert plain.proj_size == zero.proj_size == 0
    assert list(plain.state_dict()) == list(zero.state_dict())
    assert not any(name.startswith("weight_hr") for name in plain.state_dict())
    x = np.random.default_rng(13).standard_normal((3, 2, H_IN))
    np.testing.assert_array_equal(plain(x)[0], zero(x)[0])
    assert nn.GRU(H_IN, H).proj_size == nn.RNN(H_IN, H).proj_size == 0  # as torch's attribute


def test_init_is_uniform_within_one_over_sqrt_hidden_size():
    # U(-1/sqrt(H), 1/sqrt(H)) for every parameter, weight_hr too (not 1/sqrt(P)).
    hidden, proj = 16, 4
    lstm = nn.LSTM(8, hidden, num_layers=2, bidirectional=True, proj_size=proj, dtype=np.float64,
                   rng=np.random.default_rng(14))
    bound = 1 / np.sqrt(hidden)
    for name, p in lstm.named_parameters():
        assert np.abs(p.data).max() <= bound, name
        assert np.abs(p.data).max() > 0.9 * bound, name  # spread over the whole interval
    assert abs(lstm.weight_hh_l1.data.mean()) < 0.1 * bound


def test_repr_is_torch_s():
    for options in ({}, {"num_layers": 2, "bias": False, "batch_first": True, "bidirectional": True}):
        ours = nn.LSTM(H_IN, H, proj_size=P, **options)
        assert repr(ours) == repr(torch.nn.LSTM(H_IN, H, proj_size=P, **options))


@pytest.mark.parametrize("proj_size, error, match", [
    (-1, ValueError, r"LSTM proj_size must be >= 0.*got -1"),
    (H, ValueError, r"LSTM proj_size must be smaller than hidden_size \(5\), got 5"),
    (H + 2, ValueError, r"LSTM proj_size.*hidden_size.*got 7"),
    (2.0, TypeError, r"LSTM proj_size must be an int, got 2.0"),
    (True, TypeError, r"LSTM proj_size must be an int, got True"),
])
def test_bad_proj_size_is_refused(proj_size, error, match):
    with pytest.raises(error, match=match):
        nn.LSTM(H_IN, H, proj_size=proj_size)
    with pytest.raises((ValueError, TypeError)):  # torch refuses it too
        torch.nn.LSTM(H_IN, H, proj_size=proj_size)


@pytest.mark.parametrize("kind", ["RNN", "GRU"])
def test_rnn_and_gru_have_no_proj_size(kind):
    # torch: "proj_size argument is only supported for LSTM, not RNN or GRU".
    with pytest.raises(TypeError, match="proj_size"):
        getattr(nn, kind)(H_IN, H, proj_size=2)


def test_states_of_the_wrong_width_are_refused():
    lstm = nn.LSTM(H_IN, H, proj_size=P, dtype=np.float64)
    x = np.zeros((4, 3, H_IN))
    with pytest.raises(ValueError, match=r"LSTM expected h0 of shape \(1, 3, 2\), .*proj_size"):
        lstm(x, (np.zeros((1, 3, H)), np.zeros((1, 3, H))))
    with pytest.raises(ValueError, match=r"LSTM expected c0 of shape \(1, 3, 5\), .*hidden_size"):
        lstm(x, (np.zeros((1, 3, P)), np.zeros((1, 3, P))))
    y, _ = lstm(x)
    with pytest.raises(ValueError, match=r"LSTM\.backward.*grad_h_n"):
        lstm.backward(np.zeros_like(y), np.zeros((1, 3, H)))
    y, _ = lstm(x)
    with pytest.raises(ValueError, match=r"LSTM\.backward.*grad_output"):
        lstm.backward(np.zeros((4, 3, H)))
