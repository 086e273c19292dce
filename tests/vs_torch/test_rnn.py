"""RNN, GRU and LSTM against torch.nn.RNN/GRU/LSTM: the options of torch's own tables
(common_modules.module_inputs_torch_nn_RNN_GRU / _LSTM: input_size 2, hidden_size 3,
num_layers 2, every bias / batch_first / bidirectional / nonlinearity), batched and
unbatched, with and without an initial state: the output, h_n (and c_n), dx, dh0 (and dc0)
and every parameter gradient, with gradients sent into the output and the final states."""

import itertools

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch", reason="torch is not installed")

CASES = [("RNN", {"nonlinearity": nl, "bias": b, "batch_first": bf, "bidirectional": bd})
         for nl, b, bf, bd in itertools.product(("relu", "tanh"), (False, True), (False, True), (False, True))]
CASES += [(kind, {"bias": b, "batch_first": bf, "bidirectional": bd})
          for kind in ("GRU", "LSTM") for b, bf, bd in itertools.product((False, True), (False, True), (False, True))]
IDS = [f"{kind}-" + "-".join(f"{k}={v}" for k, v in options.items()) for kind, options in CASES]


def _pair(kind, options, dtype):
    torch.manual_seed(0)
    theirs = getattr(torch.nn, kind)(2, 3, num_layers=2, dtype=getattr(torch, np.dtype(dtype).name), **options)
    ours = getattr(nn, kind)(2, 3, 2, dtype=dtype, **options)
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _compare(kind, options, x_shape, with_h0, dtype=np.float64, rtol=1e-10, atol=1e-12):
    ours, theirs = _pair(kind, options, dtype)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape).astype(dtype)
    layers = 4 if options["bidirectional"] else 2
    state_shape = (layers, 3) if len(x_shape) == 2 else (layers, x_shape[0 if options["batch_first"] else 1], 3)
    n_states = 2 if kind == "LSTM" else 1
    states = [rng.standard_normal(state_shape).astype(dtype) for _ in range(n_states)] if with_h0 else []
    xt = torch.tensor(x, requires_grad=True)
    states_t = [torch.tensor(s, requires_grad=True) for s in states]

    def call(module, inp, st):
        if not st:
            return module(inp)
        return module(inp, tuple(st)) if kind == "LSTM" else module(inp, st[0])

    y, final = call(ours, x, states)
    yt, final_t = call(theirs, xt, states_t)
    finals, finals_t = (final, final_t) if kind == "LSTM" else ((final,), (final_t,))
    g = rng.standard_normal(y.shape).astype(dtype)
    g_finals = [rng.standard_normal(state_shape).astype(dtype) for _ in range(n_states)]
    loss = (yt * torch.tensor(g)).sum() + sum((f * torch.tensor(gf)).sum() for f, gf in zip(finals_t, g_finals))
    loss.backward()
    result = ours.backward(g, *g_finals)

    check = lambda a, b: np.testing.assert_allclose(a, b.detach().numpy(), rtol=rtol, atol=atol)
    assert y.dtype == dtype
    check(y, yt)
    for f, ft in zip(finals, finals_t):
        check(f, ft)
    if with_h0:
        dx, dstates = result
        for d, s in zip(dstates if kind == "LSTM" else (dstates,), states_t):
            check(d, s.grad)
    else:
        dx = result
    check(dx, xt.grad)
    params = dict(ours.named_parameters())
    assert sorted(params) == sorted(name for name, _ in theirs.named_parameters())
    for name, p in theirs.named_parameters():
        check(params[name].grad, p.grad)


@pytest.mark.parametrize("with_h0", [False, True], ids=["zero h0", "h0 given"])
@pytest.mark.parametrize("batched", [False, True], ids=["unbatched", "batched"])
@pytest.mark.parametrize("kind,options", CASES, ids=IDS)
def test_float64_matches_torch(kind, options, batched, with_h0):
    shape = ((3, 5, 2) if options["batch_first"] else (5, 3, 2)) if batched else (3, 2)
    _compare(kind, options, shape, with_h0)


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_float32_matches_torch(kind):
    _compare(kind, {"bias": True, "batch_first": True, "bidirectional": True}, (4, 6, 2), True,
             dtype=np.float32, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_a_long_sequence_matches_torch(kind):
    # 50 steps of backpropagation through time: the recursion itself, not just its first steps.
    _compare(kind, {"bias": True, "batch_first": False, "bidirectional": False}, (50, 2, 2), True)


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_state_dict_goes_both_ways(kind):
    ours = getattr(nn, kind)(4, 5, num_layers=2, bidirectional=True, rng=np.random.default_rng(0))
    theirs = getattr(torch.nn, kind)(4, 5, num_layers=2, bidirectional=True)
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = np.random.default_rng(1).standard_normal((6, 3, 4)).astype(np.float32)
    with cr.no_grad(), torch.no_grad():
        np.testing.assert_allclose(ours(x)[0], theirs(torch.from_numpy(x))[0].numpy(), rtol=1e-5, atol=1e-6)
