"""RNN, GRU and LSTM: backpropagation through time against central finite differences
(float64) over their options, gradients into the initial state, dropout between layers,
the forward-cache life cycle, float32, and the errors they raise."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

KINDS = ["RNN", "GRU", "LSTM"]
# (constructor options, input shape): small, so every element's finite difference is quick.
OPTIONS = [
    ({}, (3, 2, 3)),                                                  # (L, N, H_in)
    ({"batch_first": True}, (2, 3, 3)),                               # (N, L, H_in)
    ({"num_layers": 2}, (3, 2, 3)),
    ({"bidirectional": True}, (3, 2, 3)),
    ({"num_layers": 2, "bidirectional": True, "batch_first": True}, (2, 3, 3)),
    ({"bias": False, "num_layers": 2}, (3, 2, 3)),
    ({}, (4, 3)),                                                     # unbatched (L, H_in)
    ({"num_layers": 2, "bidirectional": True}, (3, 3)),               # unbatched, stacked
]


def make(kind, **options):
    return getattr(nn, kind)(3, 2, dtype=np.float64, rng=np.random.default_rng(1), **options)


def state_shape(module, x_shape):
    layers = module.num_layers * (2 if module.bidirectional else 1)
    if len(x_shape) == 2:
        return (layers, module.hidden_size)
    return (layers, x_shape[0] if module.batch_first else x_shape[1], module.hidden_size)


class Everything(nn.Module):
    """The recurrent module as one function of (x[, h0[, c0]]) for gradcheck: the output
    sequence and the final state(s) raveled into one array, so the upstream gradient reaches
    ``grad_output``, ``grad_h_n`` and (LSTM) ``grad_c_n`` at once."""

    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x, *states):
        lstm = isinstance(self.rnn, nn.LSTM)
        hx = (tuple(states) if lstm else states[0]) if states else None
        output, final = self.rnn(x, hx) if states else self.rnn(x)
        finals = final if lstm else (final,)
        self.save_for_backward(output.shape, [f.shape for f in finals], len(states))
        return np.concatenate([output.ravel()] + [f.ravel() for f in finals])

    def backward(self, grad):
        out_shape, final_shapes, given = self.saved_tensors
        sizes = np.cumsum([int(np.prod(out_shape))] + [int(np.prod(s)) for s in final_shapes])
        pieces = np.split(grad, sizes[:-1])
        grads = [pieces[0].reshape(out_shape)] + [p.reshape(s) for p, s in zip(pieces[1:], final_shapes)]
        result = self.rnn.backward(*grads)
        if not given:
            return result
        dx, dstate = result
        return (dx, *dstate) if isinstance(self.rnn, nn.LSTM) else (dx, dstate)


@pytest.mark.parametrize("with_h0", [False, True], ids=["zero h0", "h0 given"])
@pytest.mark.parametrize("options,shape", OPTIONS, ids=[f"{o}-{s}" for o, s in OPTIONS])
@pytest.mark.parametrize("kind", KINDS)
def test_gradcheck(kind, options, shape, with_h0):
    rnn = make(kind, **options)
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal(shape)]
    if with_h0:
        inputs += [rng.standard_normal(state_shape(rnn, shape)) for _ in range(2 if kind == "LSTM" else 1)]
    assert cr.gradcheck(Everything(rnn), *inputs)


@pytest.mark.parametrize("kind", KINDS)
def test_gradcheck_output_only(kind):
    # The module alone, as a model uses it: gradcheck sends a gradient into the output only.
    class OutputOnly(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = make(kind, num_layers=2, bidirectional=True)

        def forward(self, x):
            return self.rnn(x)[0]

        def backward(self, grad):
            return self.rnn.backward(grad)

    assert cr.gradcheck(OutputOnly(), np.random.default_rng(3).standard_normal((4, 2, 3)))


def test_relu_rnn_gradcheck():
    rnn = nn.RNN(3, 2, num_layers=2, nonlinearity="relu", dtype=np.float64, rng=np.random.default_rng(5))
    x = np.random.default_rng(0).standard_normal((3, 2, 3))
    assert cr.gradcheck(Everything(rnn), x, np.random.default_rng(1).standard_normal((2, 2, 2)))


class _ReseededGRU(nn.GRU):
    """Dropout between layers with the same masks at every forward, so finite differences
    see one function."""

    def forward(self, x, h0=None):
        self.rng = np.random.default_rng(7)
        return super().forward(x, h0)


def test_dropout_between_layers_gradcheck_and_eval():
    gru = _ReseededGRU(3, 4, num_layers=3, dropout=0.5, dtype=np.float64, rng=np.random.default_rng(2))
    x = np.random.default_rng(0).standard_normal((3, 2, 3))
    assert cr.gradcheck(Everything(gru), x)
    with cr.no_grad():
        train_out = gru(x)[0]
        gru.eval()
        eval_out = gru(x)[0]
        again = gru(x)[0]
    assert not np.allclose(train_out, eval_out)  # training mode dropped something
    np.testing.assert_array_equal(eval_out, again)  # eval mode: no dropout, deterministic


def test_parameter_names_shapes_and_init():
    lstm = nn.LSTM(3, 5, num_layers=2, bidirectional=True, rng=np.random.default_rng(0))
    names = [name for name, _ in lstm.named_parameters()]
    assert names == [f"{kind}_l{layer}{suffix}" for layer in range(2) for suffix in ("", "_reverse")
                     for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    assert lstm.weight_ih_l0.shape == (20, 3)
    assert lstm.weight_ih_l1_reverse.shape == (20, 10)
    assert lstm.weight_hh_l1.shape == (20, 5)
    assert lstm.bias_hh_l0_reverse.shape == (20,)
    bound = 1 / np.sqrt(5)
    for p in lstm.parameters():
        assert p.dtype == np.float32
        assert np.abs(p.data).max() <= bound
    gru = nn.GRU(3, 4, bias=False)
    assert [n for n, _ in gru.named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]
    assert gru.weight_ih_l0.shape == (12, 3)
    assert repr(nn.RNN(3, 4, 2, "relu", batch_first=True)) == \
        "RNN(3, 4, num_layers=2, batch_first=True, nonlinearity='relu')"


@pytest.mark.parametrize("kind", KINDS)
def test_float32_stays_float32_and_shapes(kind):
    rnn = getattr(nn, kind)(3, 4, num_layers=2, bidirectional=True, batch_first=True,
                            rng=np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((5, 7, 3)).astype(np.float32)
    output, final = rnn(x)
    finals = final if kind == "LSTM" else (final,)
    assert output.shape == (5, 7, 8) and output.dtype == np.float32
    for f in finals:
        assert f.shape == (4, 5, 4) and f.dtype == np.float32
    dx = rnn.backward(np.ones_like(output))
    assert dx.shape == x.shape and dx.dtype == np.float32
    for p in rnn.parameters():
        assert p.grad.dtype == np.float32


def test_h_n_is_the_last_output_of_each_direction():
    gru = nn.GRU(3, 4, bidirectional=True, dtype=np.float64, rng=np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((6, 2, 3))
    with cr.no_grad():
        output, h_n = gru(x)
    np.testing.assert_array_equal(h_n[0], output[-1, :, :4])  # forward direction: after x_L
    np.testing.assert_array_equal(h_n[1], output[0, :, 4:])   # reverse direction: after x_1


def test_unbatched_matches_a_batch_of_one():
    lstm = nn.LSTM(3, 4, num_layers=2, dtype=np.float64, rng=np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((5, 3))
    y1, (h1, c1) = lstm(x)
    dx1 = lstm.backward(np.ones_like(y1))
    y2, (h2, c2) = lstm(x[:, None, :])
    dx2 = lstm.backward(np.ones_like(y2))
    np.testing.assert_allclose(y1, y2[:, 0], rtol=1e-14)
    np.testing.assert_allclose(h1, h2[:, 0], rtol=1e-14)
    np.testing.assert_allclose(dx1, dx2[:, 0], rtol=1e-14)


def test_gradients_accumulate_and_cache_is_released():
    rnn = nn.RNN(3, 4, dtype=np.float64, rng=np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((5, 2, 3))
    y, _ = rnn(x)
    rnn.backward(np.ones_like(y))
    first = rnn.weight_hh_l0.grad.copy()
    with pytest.raises(RuntimeError, match="second time"):
        rnn.backward(np.ones_like(y))
    rnn(x)
    rnn.backward(np.ones_like(y))
    np.testing.assert_allclose(rnn.weight_hh_l0.grad, 2 * first)
    rnn.weight_ih_l0.requires_grad_(False)
    rnn.zero_grad()
    rnn(x)
    rnn.backward(None, np.ones((1, 2, 4)))  # only h_n used
    assert rnn.weight_ih_l0.grad is None and rnn.weight_hh_l0.grad is not None


def test_backward_returns_a_pair_only_when_h0_was_given():
    gru = nn.GRU(3, 4, dtype=np.float64, rng=np.random.default_rng(0))
    x = np.zeros((2, 1, 3))
    y, _ = gru(x)
    assert isinstance(gru.backward(np.ones_like(y)), np.ndarray)
    y, _ = gru(x, np.zeros((1, 1, 4)))
    dx, dh0 = gru.backward(np.ones_like(y))
    assert dx.shape == x.shape and dh0.shape == (1, 1, 4)
    lstm = nn.LSTM(3, 4, dtype=np.float64, rng=np.random.default_rng(0))
    y, _ = lstm(x, (np.zeros((1, 1, 4)), np.zeros((1, 1, 4))))
    dx, (dh0, dc0) = lstm.backward(np.ones_like(y))
    assert dh0.shape == dc0.shape == (1, 1, 4)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("args,kwargs,error,match", [
    ((0, 4), {}, ValueError, "input_size must be greater than zero, got 0"),
    ((3, 0), {}, ValueError, "hidden_size must be greater than zero, got 0"),
    ((3, 4, 0), {}, ValueError, "num_layers must be greater than zero, got 0"),
    ((3, 4.0), {}, TypeError, "hidden_size must be an int, got 4.0"),
    ((3, 4), {"dropout": 1.5}, ValueError, r"dropout must be a probability in \[0, 1\].*got 1.5"),
    ((3, 4), {"dropout": True}, ValueError, "dropout must be a probability"),
    ((3, 4), {"bias": "yes"}, TypeError, "bias must be a bool, got 'yes'"),
    ((3, 4), {"batch_first": 1}, TypeError, "batch_first must be a bool, got 1"),
    ((3, 4), {"dtype": np.float16}, TypeError, "dtype must be float32 or float64"),
])
@pytest.mark.parametrize("kind", KINDS)
def test_bad_options(kind, args, kwargs, error, match):
    with pytest.raises(error, match=f"{kind} {match}"):
        getattr(nn, kind)(*args, **kwargs)


def test_bad_nonlinearity_and_useless_dropout():
    with pytest.raises(ValueError, match="RNN nonlinearity must be 'tanh' or 'relu', got 'sigmoid'"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.warns(UserWarning, match="GRU dropout=0.2 has no effect with num_layers=1"):
        nn.GRU(3, 4, dropout=0.2)


@pytest.mark.parametrize("kind", KINDS)
def test_bad_input(kind):
    rnn = getattr(nn, kind)(3, 4, num_layers=2)
    with pytest.raises(ValueError, match=rf"{kind} expected input with last dimension 3 \(input_size\), got shape \(5, 2, 4\)"):
        rnn(np.zeros((5, 2, 4)))
    with pytest.raises(ValueError, match=rf"{kind} expected input to be 2-D .* got 4-D input of shape \(1, 5, 2, 3\)"):
        rnn(np.zeros((1, 5, 2, 3)))
    with pytest.raises(ValueError, match="sequence of length at least 1"):
        rnn(np.zeros((0, 2, 3)))
    with pytest.raises(RuntimeError, match="before forward"):
        rnn.backward(np.zeros((5, 2, 4)))


@pytest.mark.parametrize("kind", ["RNN", "GRU"])
def test_hx_of_the_wrong_shape(kind):
    rnn = getattr(nn, kind)(3, 4, num_layers=2, batch_first=True)
    x = np.zeros((5, 7, 3))  # N = 5
    with pytest.raises(ValueError, match=rf"{kind} expected hx of shape \(2, 5, 4\), 3-D .* got \(2, 7, 4\)"):
        rnn(x, np.zeros((2, 7, 4)))  # N in the wrong place
    with pytest.raises(ValueError, match=r"expected hx of shape \(2, 5, 4\).*got \(5, 4\)"):
        rnn(x, np.zeros((5, 4)))
    with pytest.raises(ValueError, match=r"expected hx of shape \(2, 4\), 2-D .* unbatched input, got \(2, 1, 4\)"):
        rnn(np.zeros((7, 3)), np.zeros((2, 1, 4)))


def test_lstm_state_errors():
    lstm = nn.LSTM(3, 4)
    x = np.zeros((5, 2, 3))
    with pytest.raises(TypeError, match=r"LSTM expected hx to be None or a pair \(h0, c0\)"):
        lstm(x, np.zeros((1, 2, 4)))
    with pytest.raises(ValueError, match=r"LSTM expected c0 of shape \(1, 2, 4\).*got \(1, 2, 5\)"):
        lstm(x, (np.zeros((1, 2, 4)), np.zeros((1, 2, 5))))


def test_bad_backward_gradients():
    gru = nn.GRU(3, 4)
    y, _ = gru(np.zeros((5, 2, 3)))
    with pytest.raises(ValueError, match=r"GRU.backward expected grad_output of shape \(5, 2, 4\).*got \(2, 5, 4\)"):
        gru.backward(np.zeros((2, 5, 4)))
    gru(np.zeros((5, 2, 3)))
    with pytest.raises(ValueError, match=r"GRU.backward expected grad_h_n of shape \(1, 2, 4\), got \(2, 4\)"):
        gru.backward(np.zeros_like(y), np.zeros((2, 4)))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("with_state", [False, True])
def test_needs_input_grad_false_skips_only_the_input_gradient(kind, with_state):
    """As Linear: with needs_input_grad False, backward returns None for dx (and still dh0),
    and every parameter gradient and dh0 equal those of a full backward."""
    rng = np.random.default_rng(0)
    options = {"num_layers": 2, "bidirectional": True}
    x = rng.standard_normal((4, 2, 3))
    full, first = make(kind, **options), make(kind, **options)
    first.needs_input_grad = False
    shape = state_shape(full, x.shape)
    initial = None
    if with_state:
        initial = rng.standard_normal(shape)
        initial = (initial, rng.standard_normal(shape)) if kind == "LSTM" else initial
    out_full, _ = full(x, initial)
    first(x, initial)
    g = rng.standard_normal(out_full.shape)
    got_full, got_first = full.backward(g), first.backward(g)
    if with_state:
        (dx_full, d0_full), (dx_first, d0_first) = got_full, got_first
        # dh0 (LSTM: the pair dh0, dc0) is unaffected
        np.testing.assert_allclose(np.asarray(d0_first), np.asarray(d0_full), rtol=1e-12, atol=1e-15)
    else:
        dx_full, dx_first = got_full, got_first
    assert dx_full.shape == x.shape and dx_first is None
    for (name, p), q in zip(full.named_parameters(), first.parameters()):
        np.testing.assert_allclose(q.grad, p.grad, rtol=1e-12, atol=1e-15, err_msg=name)
