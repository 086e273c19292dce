"""MultiheadAttention against torch.nn.MultiheadAttention with the same state_dict, in float64
(output, weights, every input and parameter gradient) over self and cross attention, kdim/vdim,
the three layouts, boolean and float masks (2-D and 3-D attn_mask, key_padding_mask), the
is_causal hint, need_weights averaged / per head / off and bias=False, and the same with
add_bias_kv / add_zero_attn (apart and together); float64 central differences; the mask
conventions and the appended keys by hand; dropout (p=1, eval mode, a fixed mask); the
parameter life cycle; and the error messages."""

import copy
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

f64 = np.float64
E, H, N, L, S = 8, 2, 3, 4, 5


def _module(embed_dim=E, num_heads=H, **kwargs):
    kwargs.setdefault("dtype", f64)
    m = nn.MultiheadAttention(embed_dim, num_heads, rng=np.random.default_rng(0), **kwargs)
    if m.in_proj_bias is not None:  # PyTorch initialises the biases to zero: make them count
        rng = np.random.default_rng(1)
        m.in_proj_bias.data[...] = rng.standard_normal(m.in_proj_bias.shape)
        m.out_proj.bias.data[...] = rng.standard_normal(m.out_proj.bias.shape)
    if m.bias_k is not None:  # N(0, 1/E) rows: give them the scale of the projected keys/values
        m.bias_k.data *= np.sqrt(m.embed_dim)
        m.bias_v.data *= np.sqrt(m.embed_dim)
    return m


def _shape(m, length, features, batched=True):
    if not batched:
        return (length, features)
    return (N, length, features) if m.batch_first else (length, N, features)


def _inputs(m, length=L, source=S, batched=True, seed=2):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(_shape(m, length, m.embed_dim, batched)),
            rng.standard_normal(_shape(m, source, m.kdim, batched)),
            rng.standard_normal(_shape(m, source, m.vdim, batched)))


def _causal(length, source):
    """PyTorch's convention for MultiheadAttention: True = may NOT attend (key j after query i)."""
    return np.triu(np.ones((length, source), dtype=bool), k=1)


def _padding(batched=True):
    pad = np.zeros((N, S), dtype=bool)
    pad[0, -1] = pad[1, -2:] = True   # sample 2 keeps every key
    return pad if batched else pad[1]


_rng = np.random.default_rng(3)
_FLOAT_2D = _rng.standard_normal((L, S))
_FLOAT_3D = _rng.standard_normal((N * H, L, S))
_BOOL_3D = _rng.random((N * H, L, S)) < 0.3
_BOOL_3D[..., 0] = False             # every query keeps a key
_FLOAT_PAD = np.where(_padding(), -np.inf, 0.0) + _rng.standard_normal((N, S)) * 0.1
_ALL_PADDED = _padding()
_ALL_PADDED[0] = True                # sample 0: every key is padding (the appended keys are not)

_KV, _ZERO = {"add_bias_kv": True}, {"add_zero_attn": True}
_BOTH = {"add_bias_kv": True, "add_zero_attn": True}

# id -> (constructor kwargs, inputs: "self" | "kv" (key is value) | "cross", batched, lengths, forward kwargs)
CASES = {
    "self": ({}, "self", True, (L, L), {}),
    "cross": ({}, "cross", True, (L, S), {}),
    "key_is_value": ({}, "kv", True, (L, S), {}),
    "kdim_vdim": ({"kdim": 3, "vdim": 5}, "cross", True, (L, S), {}),
    "batch_first_self": ({"batch_first": True}, "self", True, (L, L), {}),
    "batch_first_kdim": ({"batch_first": True, "kdim": 6, "vdim": 3}, "cross", True, (L, S), {}),
    "unbatched_self": ({}, "self", False, (L, L), {}),
    "unbatched_cross_kdim": ({"kdim": 3, "vdim": 5}, "cross", False, (L, S), {}),
    "no_bias": ({"bias": False}, "cross", True, (L, S), {}),
    "one_head": ({"num_heads": 1}, "cross", True, (L, S), {}),
    "four_heads": ({"num_heads": 4}, "self", True, (L, L), {}),
    "bool_mask_2d": ({}, "cross", True, (L, S), {"attn_mask": _causal(L, S)}),
    "float_mask_2d": ({}, "cross", True, (L, S), {"attn_mask": _FLOAT_2D}),
    "bool_mask_3d": ({}, "cross", True, (L, S), {"attn_mask": _BOOL_3D}),
    "float_mask_3d": ({"batch_first": True}, "cross", True, (L, S), {"attn_mask": _FLOAT_3D}),
    "unbatched_mask_3d": ({}, "cross", False, (L, S), {"attn_mask": _FLOAT_3D[:H]}),
    "padding": ({}, "cross", True, (L, S), {"key_padding_mask": _padding()}),
    "float_padding": ({}, "cross", True, (L, S), {"key_padding_mask": _FLOAT_PAD}),
    "padding_and_mask": ({"batch_first": True}, "cross", True, (L, S),
                         {"key_padding_mask": _padding(), "attn_mask": _causal(L, S)}),
    "float_padding_and_mask": ({}, "cross", True, (L, S), {"key_padding_mask": _FLOAT_PAD, "attn_mask": _FLOAT_3D}),
    "unbatched_padding": ({}, "cross", False, (L, S), {"key_padding_mask": _padding(False)}),
    "per_head": ({}, "cross", True, (L, S), {"average_attn_weights": False, "attn_mask": _FLOAT_2D}),
    "unbatched_per_head": ({}, "self", False, (L, L), {"average_attn_weights": False}),
    "no_weights": ({}, "cross", True, (L, S), {"need_weights": False, "key_padding_mask": _padding()}),
    "no_weights_self_mask": ({"batch_first": True}, "self", True, (L, L),
                             {"need_weights": False, "attn_mask": _causal(L, L)}),
    "causal_hint": ({"batch_first": True}, "self", True, (L, L),
                    {"need_weights": False, "attn_mask": _causal(L, L), "is_causal": True}),
    "causal_hint_with_weights": ({}, "self", True, (L, L), {"attn_mask": _causal(L, L), "is_causal": True}),
    "causal_hint_with_padding": ({}, "cross", True, (L, S),
                                 {"need_weights": False, "attn_mask": _causal(L, S), "is_causal": True,
                                  "key_padding_mask": _padding()}),
    "causal_hint_trusted_over_the_mask": ({}, "self", True, (L, L),
                                          {"need_weights": False, "attn_mask": np.zeros((L, L)), "is_causal": True}),
    # add_bias_kv: bias_k / bias_v appended to every sample's K / V, the masks padded with "allowed"
    "bias_kv_self": (_KV, "self", True, (L, L), {}),
    "bias_kv_cross_kdim": ({**_KV, "kdim": 3, "vdim": 5}, "cross", True, (L, S), {}),
    "bias_kv_key_is_value": (_KV, "kv", True, (L, S), {}),
    "bias_kv_no_bias": ({**_KV, "bias": False}, "cross", True, (L, S), {}),
    "bias_kv_bool_masks": ({**_KV, "batch_first": True}, "cross", True, (L, S),
                           {"attn_mask": _causal(L, S), "key_padding_mask": _padding()}),
    "bias_kv_float_masks_3d": (_KV, "cross", True, (L, S), {"attn_mask": _FLOAT_3D, "key_padding_mask": _FLOAT_PAD}),
    "bias_kv_bool_mask_3d": (_KV, "cross", True, (L, S), {"attn_mask": _BOOL_3D}),
    "bias_kv_unbatched": ({**_KV, "kdim": 3, "vdim": 5}, "cross", False, (L, S),
                          {"attn_mask": _FLOAT_3D[:H], "key_padding_mask": _FLOAT_PAD[1]}),
    "bias_kv_per_head": (_KV, "cross", True, (L, S), {"average_attn_weights": False, "attn_mask": _FLOAT_2D}),
    "bias_kv_no_weights": (_KV, "cross", True, (L, S), {"need_weights": False, "key_padding_mask": _padding()}),
    "bias_kv_causal_hint": ({**_KV, "batch_first": True}, "self", True, (L, L),
                            {"need_weights": False, "attn_mask": _causal(L, L), "is_causal": True}),
    "bias_kv_causal_hint_with_weights": (_KV, "self", True, (L, L), {"attn_mask": _causal(L, L), "is_causal": True}),
    "bias_kv_every_key_padded": (_KV, "cross", True, (L, S), {"key_padding_mask": _ALL_PADDED}),
    # add_zero_attn: a zero key / value row appended to every head, the masks padded again
    "zero_attn_self": (_ZERO, "self", True, (L, L), {}),
    "zero_attn_cross_kdim_batch_first": ({**_ZERO, "kdim": 6, "vdim": 3, "batch_first": True}, "cross", True,
                                         (L, S), {}),
    "zero_attn_no_bias": ({**_ZERO, "bias": False}, "cross", True, (L, S), {}),
    "zero_attn_bool_masks": (_ZERO, "cross", True, (L, S),
                             {"attn_mask": _causal(L, S), "key_padding_mask": _padding()}),
    "zero_attn_float_masks_3d": ({**_ZERO, "batch_first": True}, "cross", True, (L, S),
                                 {"attn_mask": _FLOAT_3D, "key_padding_mask": _FLOAT_PAD}),
    "zero_attn_unbatched": (_ZERO, "self", False, (L, L), {"average_attn_weights": False}),
    "zero_attn_no_weights": (_ZERO, "cross", True, (L, S), {"need_weights": False, "attn_mask": _BOOL_3D}),
    "zero_attn_causal_hint": (_ZERO, "self", True, (L, L),
                              {"need_weights": False, "attn_mask": _causal(L, L), "is_causal": True}),
    "zero_attn_every_key_padded": (_ZERO, "cross", True, (L, S), {"key_padding_mask": _ALL_PADDED}),
    "zero_attn_every_key_padded_no_weights": (_ZERO, "cross", True, (L, S),
                                              {"key_padding_mask": _ALL_PADDED, "need_weights": False}),
    # both: bias_k / bias_v first, then the zero row (S + 2 keys)
    "both_self": (_BOTH, "self", True, (L, L), {}),
    "both_cross_kdim": ({**_BOTH, "kdim": 3, "vdim": 5}, "cross", True, (L, S),
                        {"attn_mask": _causal(L, S), "key_padding_mask": _padding()}),
    "both_float_masks_per_head": ({**_BOTH, "batch_first": True}, "cross", True, (L, S),
                                  {"attn_mask": _FLOAT_3D, "key_padding_mask": _FLOAT_PAD,
                                   "average_attn_weights": False}),
    "both_unbatched": ({**_BOTH, "kdim": 3, "vdim": 5}, "cross", False, (L, S), {"key_padding_mask": _padding(False)}),
    "both_no_weights": ({**_BOTH, "bias": False}, "kv", True, (L, S),
                        {"need_weights": False, "attn_mask": _FLOAT_2D}),
    "both_causal_hint": ({**_BOTH, "batch_first": True}, "self", True, (L, L),
                         {"need_weights": False, "attn_mask": _causal(L, L), "is_causal": True}),
    "both_causal_hint_with_padding": (_BOTH, "cross", True, (L, S),
                                      {"need_weights": False, "attn_mask": _causal(L, S), "is_causal": True,
                                       "key_padding_mask": _padding()}),
}


def _call_inputs(m, kind, batched, lengths):
    q, k, v = _inputs(m, *lengths, batched=batched)
    if kind == "self":
        return (q, q, q)
    if kind == "kv":
        return (q, k if m.kdim == m.vdim else v, k if m.kdim == m.vdim else v)
    return (q, k, v)


@pytest.mark.parametrize("case", CASES)
def test_against_torch(case):
    torch = pytest.importorskip("torch", reason="torch is not installed")
    kwargs, kind, batched, lengths, fkw = CASES[case]
    kwargs = dict(kwargs)
    num_heads = kwargs.pop("num_heads", H)
    ours = _module(E, num_heads, **kwargs)
    theirs = torch.nn.MultiheadAttention(E, num_heads, dtype=torch.float64, **kwargs)
    theirs.load_state_dict({key: torch.from_numpy(a.copy()) for key, a in ours.state_dict().items()})
    assert list(theirs.state_dict()) == list(ours.state_dict())
    q, k, v = _call_inputs(ours, kind, batched, lengths)

    y, w = ours(q, k, v, **fkw)
    tq = torch.from_numpy(q.copy()).requires_grad_(True)
    tk = tq if k is q else torch.from_numpy(k.copy()).requires_grad_(True)
    tv = tk if v is k else torch.from_numpy(v.copy()).requires_grad_(True)
    ty, tw = theirs(tq, tk, tv, **{key: torch.from_numpy(np.array(value)) if isinstance(value, np.ndarray) else value
                                   for key, value in fkw.items()})
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    assert (w is None) == (tw is None)
    if w is not None:
        assert w.shape == tuple(tw.shape)
        np.testing.assert_allclose(w, tw.detach().numpy(), rtol=1e-12, atol=1e-13)

    g = np.random.default_rng(4).standard_normal(y.shape)
    grads = ours.backward(g)
    ty.backward(torch.from_numpy(g))
    if kind == "self":
        assert isinstance(grads, np.ndarray)
        np.testing.assert_allclose(grads, tq.grad.numpy(), rtol=1e-10, atol=1e-12)
    else:
        assert isinstance(grads, tuple) and len(grads) == 3
        if kind == "kv":  # one tensor in torch: its gradient is the sum of the key's and the value's
            torch_grads = (tq.grad, tk.grad)
            grads = (grads[0], grads[1] + grads[2])
        else:
            torch_grads = (tq.grad, tk.grad, tv.grad)
        for name, ours_grad, their_grad in zip(("query", "key", "value"), grads, torch_grads):
            np.testing.assert_allclose(ours_grad, their_grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
    their_params = dict(theirs.named_parameters())
    assert [name for name, _ in ours.named_parameters()] == list(their_params)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, their_params[name].grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


class _Output(nn.Module):
    """The output alone, for gradcheck: ``forward(*arrays)`` runs the attention on
    (x, x, x) for one array, else on (query, key, value)."""

    def __init__(self, mha, **forward_kwargs):
        super().__init__()
        self.mha, self.forward_kwargs = mha, forward_kwargs

    def forward(self, *arrays):
        q, k, v = arrays * 3 if len(arrays) == 1 else arrays
        return self.mha(q, k, v, **self.forward_kwargs)[0]

    def backward(self, grad_output):
        return self.mha.backward(grad_output)


GRADCHECK = {
    "self": ({}, "self", True, (L, L), {}),
    "cross": ({}, "cross", True, (L, S), {}),
    "kdim_vdim_batch_first": ({"kdim": 3, "vdim": 5, "batch_first": True}, "cross", True, (L, S), {}),
    "unbatched": ({"kdim": 3, "vdim": 5}, "cross", False, (3, 2), {}),
    "no_bias_self": ({"bias": False}, "self", True, (L, L), {}),
    "masks": ({}, "cross", True, (L, S), {"attn_mask": _causal(L, S), "key_padding_mask": _padding()}),
    "float_masks_3d": ({"batch_first": True}, "cross", True, (L, S),
                       {"attn_mask": _FLOAT_3D, "key_padding_mask": _FLOAT_PAD}),
    "causal_hint": ({}, "self", True, (L, L), {"attn_mask": _causal(L, L), "is_causal": True, "need_weights": False}),
    "bias_kv_masks": (_KV, "cross", True, (L, S), {"attn_mask": _causal(L, S), "key_padding_mask": _padding()}),
    "bias_kv_self_kdim_unbatched": ({**_KV, "batch_first": True}, "self", False, (L, L), {}),
    "zero_attn_float_masks": (_ZERO, "cross", True, (L, S), {"attn_mask": _FLOAT_3D, "key_padding_mask": _FLOAT_PAD}),
    "zero_attn_self_no_bias": ({**_ZERO, "bias": False}, "self", True, (L, L), {}),
    "both_kdim_vdim_batch_first": ({**_BOTH, "kdim": 3, "vdim": 5, "batch_first": True}, "cross", True, (L, S),
                                   {"key_padding_mask": _ALL_PADDED}),
}


@pytest.mark.parametrize("case", GRADCHECK)
def test_gradcheck(case):
    kwargs, kind, batched, lengths, fkw = GRADCHECK[case]
    m = _module(6, H, **kwargs)  # the masks are for H heads
    q, k, v = _inputs(m, *lengths, batched=batched)
    assert cr.gradcheck(_Output(m, **fkw), *((q,) if kind == "self" else (q, k, v)))


class _FixedDropoutMask(nn.MultiheadAttention):
    """Dropout with the same mask at every forward (a fresh generator with the same seed),
    so finite differences see one fixed function."""

    def forward(self, *args, **kwargs):
        self.rng = np.random.default_rng(7)
        return super().forward(*args, **kwargs)


def test_gradcheck_through_a_fixed_dropout_mask():
    m = _FixedDropoutMask(6, 2, dropout=0.4, kdim=3, dtype=f64, rng=np.random.default_rng(0))
    q, k, v = _inputs(m)
    assert cr.gradcheck(_Output(m), q, k, v)
    with cr.no_grad():
        y1, w1 = m(q, k, v)
        m.eval()
        y2, w2 = m(q, k, v)
    assert not np.allclose(w1, w2)
    np.testing.assert_allclose(w2.sum(axis=-1), 1.0, rtol=1e-12)  # eval: no dropout, rows sum to 1
    assert (w1 == 0).any() and not (w2 == 0).any()


def test_dropout_one_drops_every_weight_as_torch():
    m = _module(dropout=1.0)
    q, k, v = _inputs(m)
    for need_weights in (True, False):
        y, w = m(q, k, v, need_weights=need_weights)
        np.testing.assert_array_equal(y, np.broadcast_to(m.out_proj.bias.data, y.shape))  # A~ = 0: y = b_o
        assert w is None if not need_weights else not w.any()
        m.zero_grad()
        g = np.random.default_rng(5).standard_normal(y.shape)
        dq, dk, dv = m.backward(g)
        assert not dq.any() and not dk.any() and not dv.any()
        assert not m.in_proj_weight.grad.any() and not m.out_proj.weight.grad.any()
        np.testing.assert_allclose(m.out_proj.bias.grad, g.sum(axis=(0, 1)), rtol=1e-12)
        np.testing.assert_allclose(m.in_proj_bias.grad, 0.0)
    torch = pytest.importorskip("torch", reason="torch is not installed")
    theirs = torch.nn.MultiheadAttention(E, H, dropout=1.0, dtype=torch.float64)
    theirs.load_state_dict({key: torch.from_numpy(a.copy()) for key, a in m.state_dict().items()})
    ty, tw = theirs(*(torch.from_numpy(a) for a in (q, k, v)))
    np.testing.assert_array_equal(m(q, k, v)[0], ty.detach().numpy())


def test_eval_mode_turns_dropout_off():
    m = _module(dropout=0.5)
    plain = _module()
    q, k, v = _inputs(m)
    m.eval()
    with cr.no_grad():
        y, w = m(q, k, v)
        y0, w0 = plain(q, k, v)
        np.testing.assert_array_equal(m(q, k, v)[0], y)  # deterministic
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(w, w0)
    torch = pytest.importorskip("torch", reason="torch is not installed")
    theirs = torch.nn.MultiheadAttention(E, H, dropout=0.5, dtype=torch.float64).eval()
    theirs.load_state_dict({key: torch.from_numpy(a.copy()) for key, a in m.state_dict().items()})
    ty, tw = theirs(*(torch.from_numpy(a) for a in (q, k, v)))
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_train_mode_dropout_zeroes_and_rescales_the_returned_weights():
    m = _module(dropout=0.5)
    m.rng = np.random.default_rng(11)
    q, k, v = _inputs(m)
    with cr.no_grad():
        _, w = m(q, k, v, average_attn_weights=False)
        m.eval()
        _, w_eval = m(q, k, v, average_attn_weights=False)
    kept = w != 0
    assert 0 < kept.mean() < 1
    np.testing.assert_allclose(w[kept], 2.0 * w_eval[kept], rtol=1e-12)  # survivors scaled by 1/(1-p)


def test_one_head_by_hand_and_the_bool_mask_convention():
    """One head, identity projections, no bias: y = softmax(q k^T / sqrt(E) + M) v, with M = -inf
    where the boolean mask is True (MultiheadAttention's convention: True = NOT allowed)."""
    m = nn.MultiheadAttention(3, 1, bias=False, dtype=f64)
    m.in_proj_weight.data[...] = np.vstack([np.eye(3)] * 3)
    m.out_proj.weight.data[...] = np.eye(3)
    q = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    k = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0], [2.0, 0.0, -1.0]])
    v = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 0.0], [5.0, 0.0, 1.0]])
    blocked = np.array([[False, True, False], [False, False, True]])
    scores = q @ k.T / np.sqrt(3) + np.where(blocked, -np.inf, 0.0)
    weights = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    with cr.no_grad():
        y, w = m(q, k, v, attn_mask=blocked)
        y_float, w_float = m(q, k, v, attn_mask=np.where(blocked, -np.inf, 0.0))
        y_pad, _ = m(q, k, v, key_padding_mask=np.array([False, True, False]))
    np.testing.assert_allclose(w, weights, rtol=1e-14)
    np.testing.assert_allclose(y, weights @ v, rtol=1e-14)
    np.testing.assert_array_equal(w[blocked], 0.0)
    np.testing.assert_array_equal(y_float, y)
    np.testing.assert_array_equal(w_float, w)
    # key_padding_mask True = ignore that key for every query: key 1 here.
    scores = q @ k[[0, 2]].T / np.sqrt(3)
    np.testing.assert_allclose(y_pad, (np.exp(scores) / np.exp(scores).sum(1, keepdims=True)) @ v[[0, 2]], rtol=1e-14)


def test_padded_keys_do_not_matter():
    m = _module()
    q, k, v = _inputs(m)
    pad = _padding()
    y, w = m(q, k, v, key_padding_mask=pad)
    k2, v2 = k.copy(), v.copy()
    k2[-1, 0] += 10.0  # key S-1 of sample 0 is padding
    v2[-2:, 1] -= 10.0  # keys S-2, S-1 of sample 1 are padding
    with cr.no_grad():
        y2, _ = m(q, k2, v2, key_padding_mask=pad)
    np.testing.assert_allclose(y2, y, rtol=1e-13, atol=1e-14)
    assert not w[0][:, -1].any() and not w[1][:, -2:].any() and w[2].all()
    _, dk, dv = m.backward(np.ones_like(y))
    assert not dk[-1, 0].any() and not dv[-2:, 1].any()  # no gradient reaches a padded key


def test_self_attention_returns_one_array_the_sum_of_three():
    m = _module()
    x = _inputs(m, L, L)[0]
    g = np.random.default_rng(6).standard_normal(x.shape)
    m(x, x, x)
    one = m.backward(g)
    m(x, x.copy(), x.copy())  # equal arrays, not the same one: three gradients
    three = m.backward(g)
    assert isinstance(one, np.ndarray) and isinstance(three, tuple)
    np.testing.assert_allclose(one, three[0] + three[1] + three[2], rtol=1e-12)


def test_self_attention_agrees_with_SelfAttention():
    mha = _module(batch_first=True)
    sa = nn.SelfAttention(E, H, dtype=f64)
    sa.load_state_dict(mha.state_dict())
    x = np.random.default_rng(8).standard_normal((N, L, E))
    y, _ = mha(x, x, x, need_weights=False)
    np.testing.assert_allclose(y, sa(x), rtol=1e-12)
    g = np.random.default_rng(9).standard_normal(y.shape)
    np.testing.assert_allclose(mha.backward(g), sa.backward(g), rtol=1e-12)
    for (name, a), (_, b) in zip(mha.named_parameters(), sa.named_parameters()):
        np.testing.assert_allclose(a.grad, b.grad, rtol=1e-12, err_msg=name)


def test_parameters_names_shapes_and_init():
    m = nn.MultiheadAttention(E, H, rng=np.random.default_rng(0))
    assert m.in_proj_weight.dtype == cr.get_default_dtype()
    assert {k: v.shape for k, v in m.state_dict().items()} == {
        "in_proj_weight": (3 * E, E), "in_proj_bias": (3 * E,), "out_proj.weight": (E, E), "out_proj.bias": (E,)}
    assert m.q_proj_weight is None and m.bias_k is None and m.bias_v is None and not m.add_zero_attn
    assert not m.in_proj_bias.data.any() and not m.out_proj.bias.data.any()
    bound = np.sqrt(6 / (E + 3 * E))  # xavier_uniform_ on (3E, E)
    assert np.abs(m.in_proj_weight.data).max() <= bound and np.abs(m.in_proj_weight.data).max() > 0.8 * bound
    assert np.abs(m.out_proj.weight.data).max() <= 1 / np.sqrt(E)  # Linear's default
    sep = nn.MultiheadAttention(E, H, kdim=3, vdim=5, bias=False, rng=np.random.default_rng(0))
    assert {k: v.shape for k, v in sep.state_dict().items()} == {
        "q_proj_weight": (E, E), "k_proj_weight": (E, 3), "v_proj_weight": (E, 5), "out_proj.weight": (E, E)}
    assert sep.in_proj_weight is None and sep.in_proj_bias is None and sep.out_proj.bias is None
    assert np.abs(sep.k_proj_weight.data).max() <= np.sqrt(6 / (E + 3))
    again = nn.MultiheadAttention(E, H, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(again.in_proj_weight.data, m.in_proj_weight.data)
    assert repr(m).startswith("MultiheadAttention(embed_dim=8, num_heads=2, dropout=0.0, bias=True, batch_first=False")


def test_bias_kv_parameters_order_and_init_as_torch():
    """bias_k, bias_v: (1, 1, E), registered after in_proj_bias (torch's state_dict order) and
    drawn after the projections, xavier_normal_: N(0, std^2), std = sqrt(2 / (fan_in + fan_out))
    with torch's fans of a (1, 1, E) array."""
    big = 64
    m = nn.MultiheadAttention(big, 4, add_bias_kv=True, dtype=f64, rng=np.random.default_rng(0))
    assert list(m.state_dict()) == ["in_proj_weight", "in_proj_bias", "bias_k", "bias_v",
                                    "out_proj.weight", "out_proj.bias"]
    assert m.bias_k.shape == m.bias_v.shape == (1, 1, big) and not m.add_zero_attn
    # Same draws as without the option up to the projections, then bias_k, then bias_v.
    rng = np.random.default_rng(0)
    plain = nn.MultiheadAttention(big, 4, dtype=f64, rng=rng)
    np.testing.assert_array_equal(m.in_proj_weight.data, plain.in_proj_weight.data)
    np.testing.assert_array_equal(m.out_proj.weight.data, plain.out_proj.weight.data)
    torch = pytest.importorskip("torch", reason="torch is not installed")
    theirs = torch.nn.MultiheadAttention(big, 4, add_bias_kv=True)
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(theirs.bias_k)
    std = np.sqrt(2.0 / (fan_in + fan_out))
    np.testing.assert_array_equal(m.bias_k.data, rng.normal(0.0, std, (1, 1, big)))
    np.testing.assert_array_equal(m.bias_v.data, rng.normal(0.0, std, (1, 1, big)))
    assert list(m.state_dict()) == list(theirs.state_dict())
    assert [name for name, _ in m.named_parameters()] == [name for name, _ in theirs.named_parameters()]
    m.bias_k.data[...] = 0.0
    m.reset_parameters(np.random.default_rng(1))
    assert m.bias_k.data.any()
    sep = nn.MultiheadAttention(E, H, kdim=3, vdim=5, bias=False, add_bias_kv=True, add_zero_attn=True)
    their_sep = torch.nn.MultiheadAttention(E, H, kdim=3, vdim=5, bias=False, add_bias_kv=True, add_zero_attn=True)
    assert list(sep.state_dict()) == list(their_sep.state_dict())
    assert ({k: v.shape for k, v in sep.state_dict().items()}
            == {k: tuple(v.shape) for k, v in their_sep.state_dict().items()})
    assert sep.add_zero_attn is True and nn.MultiheadAttention(E, H, add_zero_attn=True).bias_k is None


def test_repr_names_the_options_that_are_on():
    assert repr(nn.MultiheadAttention(E, H, add_bias_kv=True)).startswith(
        "MultiheadAttention(embed_dim=8, num_heads=2, dropout=0.0, bias=True, add_bias_kv=True, batch_first=False\n")
    assert repr(nn.MultiheadAttention(E, H, add_zero_attn=True, kdim=3, vdim=5)).startswith(
        "MultiheadAttention(embed_dim=8, num_heads=2, dropout=0.0, bias=True, add_zero_attn=True, kdim=3, vdim=5, "
        "batch_first=False\n")
    assert "add_" not in repr(nn.MultiheadAttention(E, H))


def test_appended_keys_by_hand():
    """One head, identity projections, no bias, one sample: add_bias_kv makes b_k one more key
    and b_v one more value; add_zero_attn then adds a key of zeros (score q . 0 = 0) and a value
    of zeros. b_k's gradient is the gradient of that appended key row, as if it were an input."""
    m = nn.MultiheadAttention(3, 1, bias=False, add_bias_kv=True, add_zero_attn=True, dtype=f64)
    m.in_proj_weight.data[...] = np.vstack([np.eye(3)] * 3)
    m.out_proj.weight.data[...] = np.eye(3)
    m.bias_k.data[...] = [[[0.5, -1.0, 2.0]]]
    m.bias_v.data[...] = [[[3.0, 0.0, -2.0]]]
    q = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    k = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    v = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 0.0]])
    keys = np.vstack([k, m.bias_k.data[0], np.zeros(3)])      # K' = [K; b_k; 0], (S + 2, E)
    values = np.vstack([v, m.bias_v.data[0], np.zeros(3)])    # V' = [V; b_v; 0]
    scores = q @ keys.T / np.sqrt(3)
    weights = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    with cr.no_grad():
        y, w = m(q, k, v)
    np.testing.assert_allclose(w, weights, rtol=1e-14)        # (L, S + 2): the appended columns too
    np.testing.assert_allclose(y, weights @ values, rtol=1e-14)
    np.testing.assert_allclose(w[:, -1], 1.0 / np.exp(scores).sum(axis=1), rtol=1e-14)  # e^0 / sum
    # Every key padded: the appended keys are still allowed, so the output is finite (no 0/0).
    pad = np.ones(2, dtype=bool)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with cr.no_grad():
            y_pad, w_pad = m(q, k, v, key_padding_mask=pad)
    np.testing.assert_allclose(w_pad[:, :2], 0.0)
    np.testing.assert_allclose(w_pad[:, 2:], weights[:, 2:] / weights[:, 2:].sum(axis=1, keepdims=True), rtol=1e-14)
    assert np.isfinite(y_pad).all()
    # backward: b_k gets dC/dK' row S; the same module with b_k as a real input row agrees.
    g = np.random.default_rng(0).standard_normal(y.shape)
    m(q, k, v)
    dq, dk, dv = m.backward(g)
    plain = nn.MultiheadAttention(3, 1, bias=False, add_zero_attn=True, dtype=f64)
    plain.load_state_dict({name: a for name, a in m.state_dict().items() if name not in ("bias_k", "bias_v")})
    plain(q, keys[:3], values[:3])
    _, dk3, dv3 = plain.backward(g)
    np.testing.assert_allclose(m.bias_k.grad[0], dk3[2:], rtol=1e-13)
    np.testing.assert_allclose(m.bias_v.grad[0], dv3[2:], rtol=1e-13)
    np.testing.assert_allclose(dk, dk3[:2], rtol=1e-13)
    np.testing.assert_allclose(dv, dv3[:2], rtol=1e-13)


def test_bias_kv_gradient_is_the_sum_over_the_batch():
    m = _module(add_bias_kv=True, batch_first=True)
    q, k, v = _inputs(m)
    g = np.random.default_rng(5).standard_normal((N, L, E))
    m(q, k, v)
    m.backward(g)
    total_k, total_v = m.bias_k.grad.copy(), m.bias_v.grad.copy()
    per_sample_k, per_sample_v = np.zeros_like(total_k), np.zeros_like(total_v)
    for n in range(N):  # sample n alone: bias_k is that sample's last key
        m.zero_grad()
        m(q[n:n + 1], k[n:n + 1], v[n:n + 1])
        m.backward(g[n:n + 1])
        per_sample_k += m.bias_k.grad
        per_sample_v += m.bias_v.grad
    np.testing.assert_allclose(total_k, per_sample_k, rtol=1e-12)
    np.testing.assert_allclose(total_v, per_sample_v, rtol=1e-12)


def test_bias_kv_frozen_accumulates_and_float32():
    m = _module(add_bias_kv=True, add_zero_attn=True)
    m.bias_v.requires_grad = False
    q, k, v = _inputs(m)
    g = np.random.default_rng(7).standard_normal((L, N, E))
    m(q, k, v)
    m.backward(g)
    assert m.bias_v.grad is None and m.bias_k.grad.shape == (1, 1, E)
    first = m.bias_k.grad.copy()
    m(q, k, v)
    m.backward(g)
    np.testing.assert_allclose(m.bias_k.grad, 2 * first, rtol=1e-12)
    m32 = nn.MultiheadAttention(E, H, kdim=3, add_bias_kv=True, add_zero_attn=True, dtype=np.float32,
                                rng=np.random.default_rng(0))
    q, k, v = (a.astype(np.float32) for a in _inputs(m32))
    y, w = m32(q, k, v, attn_mask=_FLOAT_2D, key_padding_mask=_padding())
    assert y.dtype == w.dtype == np.float32 and w.shape == (N, L, S + 2)
    grads = m32.backward(np.ones_like(y))
    assert all(g.dtype == np.float32 for g in grads)
    assert all(p.grad.dtype == np.float32 for p in m32.parameters())


def test_a_torch_state_dict_loads():
    torch = pytest.importorskip("torch", reason="torch is not installed")
    for kwargs in ({}, {"kdim": 3, "vdim": 5, "bias": False}):
        theirs = torch.nn.MultiheadAttention(E, H, **kwargs)
        ours = nn.MultiheadAttention(E, H, **kwargs, dtype=np.float32)
        ours.load_state_dict({key: value.numpy() for key, value in theirs.state_dict().items()})
        for key, value in theirs.state_dict().items():
            np.testing.assert_array_equal(ours.state_dict()[key], value.numpy())


def test_float32_stays_float32():
    m = nn.MultiheadAttention(E, H, kdim=3, dtype=np.float32, rng=np.random.default_rng(0))
    q, k, v = (a.astype(np.float32) for a in _inputs(m))
    y, w = m(q, k, v, attn_mask=_FLOAT_2D, key_padding_mask=_padding())
    assert y.dtype == w.dtype == np.float32
    grads = m.backward(np.ones_like(y))
    assert all(g.dtype == np.float32 for g in grads)
    assert all(p.grad.dtype == np.float32 for p in m.parameters())


def test_frozen_parameters_get_no_gradient_and_gradients_accumulate():
    m = _module(kdim=3)
    m.k_proj_weight.requires_grad = False
    m.out_proj.requires_grad_(False)
    q, k, v = _inputs(m)
    y, _ = m(q, k, v)
    g = np.random.default_rng(7).standard_normal(y.shape)
    m.backward(g)
    assert m.k_proj_weight.grad is None and m.out_proj.weight.grad is None and m.out_proj.bias.grad is None
    first = {name: p.grad.copy() for name, p in m.named_parameters() if p.grad is not None}
    assert set(first) == {"q_proj_weight", "v_proj_weight", "in_proj_bias"}
    m(q, k, v)
    m.backward(g)
    for name, grad in first.items():
        np.testing.assert_allclose(getattr(m, name).grad, 2 * grad, rtol=1e-12, err_msg=name)


def test_needs_input_grad_false_skips_the_input_products():
    m = _module()
    m.needs_input_grad = False
    q, k, v = _inputs(m)
    y, _ = m(q, k, v)
    assert m.backward(np.ones_like(y)) == (None, None, None)
    assert m.in_proj_weight.grad is not None
    m(q, q, q)
    assert m.backward(np.ones_like(y)) is None  # self-attention: one None


def test_cache_life_cycle_and_deepcopy():
    m = _module()
    q, k, v = _inputs(m)
    with pytest.raises(RuntimeError, match="MultiheadAttention"):
        m.backward(np.ones((L, N, E)))
    y, _ = m(q, k, v)
    clone = copy.deepcopy(m)
    m.backward(np.ones_like(y))
    with pytest.raises(RuntimeError, match="MultiheadAttention"):
        m.backward(np.ones_like(y))
    with pytest.raises(RuntimeError, match="MultiheadAttention"):
        clone.backward(np.ones_like(y))  # a copy has no forward cache
    with cr.no_grad():
        m(q, k, v)
    with pytest.raises(RuntimeError, match="MultiheadAttention"):
        m.backward(np.ones_like(y))


@pytest.mark.parametrize("kwargs, error, match", [
    ({"num_heads": 3}, ValueError, r"MultiheadAttention embed_dim must be divisible by num_heads"),
    ({"num_heads": 0}, ValueError, r"MultiheadAttention num_heads"),
    ({"dropout": 1.5}, ValueError, r"MultiheadAttention dropout must be a probability in \[0, 1\], got 1.5"),
    ({"add_bias_kv": "yes"}, TypeError, r"MultiheadAttention add_bias_kv must be a bool, got 'yes'"),
    ({"add_zero_attn": 1}, TypeError, r"MultiheadAttention add_zero_attn must be a bool, got 1"),
    ({"kdim": 0}, ValueError, r"MultiheadAttention kdim"),
    ({"vdim": 2.5}, TypeError, r"MultiheadAttention vdim"),
    ({"batch_first": "yes"}, TypeError, r"MultiheadAttention batch_first"),
    ({"dtype": np.int32}, (TypeError, ValueError), r"MultiheadAttention"),
], ids=lambda v: str(v) if isinstance(v, dict) else "")
def test_bad_constructor_arguments(kwargs, error, match):
    kwargs = dict(kwargs)
    num_heads = kwargs.pop("num_heads", H)
    with pytest.raises(error, match=match):
        nn.MultiheadAttention(E, num_heads, **kwargs)


_q, _k, _v = np.zeros((L, N, E)), np.zeros((S, N, 3)), np.zeros((S, N, 5))


@pytest.mark.parametrize("args, kwargs, error, match", [
    ((np.zeros(E), _k, _v), {}, ValueError, r"MultiheadAttention expected query of shape \(L, N, E\) or unbatched \(L, E\), got shape \(8,\)"),
    ((np.zeros((L, N, 6)), _k, _v), {}, ValueError, r"MultiheadAttention expected query with last dimension 8 \(embed_dim\), got shape \(4, 3, 6\)"),
    ((_q, np.zeros((S, N, 8)), _v), {}, ValueError, r"MultiheadAttention expected key with last dimension 3 \(kdim\)"),
    ((_q, _k, np.zeros((S, N, 3))), {}, ValueError, r"MultiheadAttention expected value with last dimension 5 \(vdim\)"),
    ((_q, np.zeros((S, 3)), _v), {}, ValueError, r"MultiheadAttention expected key with 3 dimensions like query \(batched\)"),
    ((_q, _k, np.zeros((S + 1, N, 5))), {}, ValueError, r"MultiheadAttention expected key and value with the same batch and length"),
    ((_q, np.zeros((S, 2, 3)), np.zeros((S, 2, 5))), {}, ValueError, r"MultiheadAttention expected query and key with the same batch size"),
    ((_q, _k, _v), {"key_padding_mask": np.zeros((S, N), bool)}, ValueError, r"MultiheadAttention expected key_padding_mask of shape \(N, S\) = \(3, 5\), got \(5, 3\)"),
    ((_q, _k, _v), {"attn_mask": np.zeros((S, L), bool)}, ValueError, r"MultiheadAttention expected attn_mask of shape \(L, S\) = \(4, 5\) or \(N\*num_heads, L, S\) = \(6, 4, 5\), got \(5, 4\)"),
    ((_q, _k, _v), {"attn_mask": np.zeros((N, L, S))}, ValueError, r"MultiheadAttention expected attn_mask of shape .* got \(3, 4, 5\)"),
    ((_q, _k, _v), {"attn_mask": np.zeros((L, S), int)}, TypeError, r"MultiheadAttention expected attn_mask to be a bool or float array, got dtype int"),
    ((_q, _k, _v), {"key_padding_mask": np.zeros((N, S), np.uint8)}, TypeError, r"MultiheadAttention expected key_padding_mask to be a bool or float array"),
    ((_q, _k, _v), {"is_causal": True}, RuntimeError, r"MultiheadAttention is_causal=True needs attn_mask"),
    ((_q, _k, _v), {"need_weights": "no"}, TypeError, r"MultiheadAttention need_weights"),
    ((_q[:, 0], _k[:, 0], _v[:, 0]), {"attn_mask": np.zeros((N * H, L, S))}, ValueError, r"MultiheadAttention expected attn_mask of shape \(L, S\) = \(4, 5\) or \(num_heads, L, S\) = \(2, 4, 5\)"),
    ((_q[:, 0], _k[:, 0], _v[:, 0]), {"key_padding_mask": np.zeros((1, S), bool)}, ValueError, r"MultiheadAttention expected key_padding_mask of shape \(S,\)"),
], ids=lambda v: "")
def test_bad_forward_arguments(args, kwargs, error, match):
    m = nn.MultiheadAttention(E, H, kdim=3, vdim=5, dtype=f64)
    with pytest.raises(error, match=match):
        m(*args, **kwargs)


def test_bad_grad_output_shape_and_batch_first_layout_in_messages():
    m = nn.MultiheadAttention(E, H, batch_first=True, dtype=f64)
    with pytest.raises(ValueError, match=r"expected query of shape \(N, L, E\)"):
        m(np.zeros((1, 2, 3, E)), np.zeros((1, 2, 3, E)), np.zeros((1, 2, 3, E)))
    x = np.zeros((N, L, E))
    m(x, x, x)
    with pytest.raises(ValueError, match=r"MultiheadAttention.backward expected grad_output of shape \(3, 4, 8\)"
                                         r" \(the forward output's\), got \(4, 3, 8\)"):
        m.backward(np.zeros((L, N, E)))
