"""A query whose every key is masked, against torch 2.13 on each path chainrule has:

- ``F.scaled_dot_product_attention`` (torch's math backend, and its default CPU one): the
  query's output is 0 and it passes no gradient (torch zeroes the softmax of a row of -inf);
- ``MultiheadAttention`` with ``need_weights=False``: the same zeros, in train and eval mode;
- ``MultiheadAttention`` with ``need_weights=True``: torch takes the plain softmax, 0/0 = NaN in
  that row's output and weights, and backward spreads the NaN to the gradients; chainrule gives
  the same NaN, and says why in a RuntimeWarning.

torch's fused inference kernel (eval mode, no grad, batch_first self-attention, a bool mask,
need_weights=False) gives NaN there instead of its reference path's zeros; chainrule has one path
and keeps the zeros under ``no_grad`` too (the last test records the difference)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F

torch = pytest.importorskip("torch", reason="torch is not installed")
from torch.nn.attention import SDPBackend, sdpa_kernel  # noqa: E402

N, H, L, S, d = 2, 2, 3, 4, 3
E = H * d
WARNS = r"MultiheadAttention: a query has every key masked.*need_weights=True.*NaN"


def _sdpa_masks():
    """SDPA's convention: bool True = may attend; float masks are added."""
    rng = np.random.default_rng(0)
    keep = np.ones((L, S), dtype=bool)
    keep[1] = False                                  # query 1 may attend to nothing
    per_head = rng.random((N, H, L, S)) < 0.7
    per_head[..., 0] = True
    per_head[1, 0, 2] = False                        # one head of one sample: query 2 sees no key
    additive = rng.standard_normal((L, S))
    additive[0] = -np.inf
    return {"bool_row": keep, "bool_per_head": per_head, "float_row": additive}


@pytest.mark.parametrize("backend", [None, SDPBackend.MATH])
@pytest.mark.parametrize("mask_name", list(_sdpa_masks()))
def test_sdpa_gives_zeros_and_no_gradient_for_a_query_with_no_key(mask_name, backend):
    mask = _sdpa_masks()[mask_name]
    rng = np.random.default_rng(1)
    q, k, v = rng.standard_normal((N, H, L, d)), rng.standard_normal((N, H, S, d)), rng.standard_normal((N, H, S, d))
    g = rng.standard_normal((N, H, L, d))
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    dq, dk, dv = F.scaled_dot_product_attention_backward(g, q, k, v, attn_mask=mask)

    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    with sdpa_kernel(backend) if backend is not None else torch.enable_grad():
        t_out = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=torch.tensor(mask))
        t_out.backward(torch.tensor(g))
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    for name, ours, theirs in (("query", dq, tq), ("key", dk, tk), ("value", dv, tv)):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
    empty = ~np.broadcast_to(mask if mask.dtype == bool else mask > -np.inf, (N, H, L, S)).any(axis=-1)
    assert empty.any() and np.all(out[empty] == 0) and np.all(dq[empty] == 0)
    assert np.isfinite(out).all() and np.isfinite(dk).all() and np.isfinite(dv).all()


def test_sdpa_float32_stays_float32_without_nan():
    rng = np.random.default_rng(2)
    q, k, v = (rng.standard_normal((H, L, d)).astype(np.float32) for _ in range(3))
    keep = np.ones((L, L), dtype=bool)
    keep[2] = False
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
    assert out.dtype == np.float32 and np.all(out[:, 2] == 0) and np.isfinite(out).all()


def _mha_masks():
    """MultiheadAttention's convention: bool True = may NOT attend."""
    no_key = np.zeros((L, S), dtype=bool)
    no_key[1] = True                                 # query 1 of every sample
    float_row = np.zeros((L, S))
    float_row[2] = -np.inf
    padded = np.zeros((N, S), dtype=bool)
    padded[1] = True                                 # sample 1 is all padding
    partly = np.zeros((N, S), dtype=bool)
    partly[0, 2:] = True                             # with the mask below, sample 0's query 0 has no key
    band = np.zeros((L, S), dtype=bool)
    band[0, :2] = True
    return {"attn_bool": {"attn_mask": no_key}, "attn_float": {"attn_mask": float_row},
            "padding_bool": {"key_padding_mask": padded},
            "padding_float": {"key_padding_mask": np.where(padded, -np.inf, 0.0)},
            "padding_and_mask": {"key_padding_mask": partly, "attn_mask": band}}


def _pair(batch_first=False, **kwargs):
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(E, H, batch_first=batch_first, dtype=torch.float64, **kwargs)
    with torch.no_grad():
        theirs.in_proj_bias.normal_()
        theirs.out_proj.bias.normal_()
    ours = nn.MultiheadAttention(E, H, batch_first=batch_first, dtype=np.float64, **kwargs)
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("need_weights", [False, True], ids=["no_weights", "weights"])
@pytest.mark.parametrize("mask_name", list(_mha_masks()))
def test_multihead_attention_matches_torch_on_a_query_with_no_key(mask_name, need_weights, train):
    masks = _mha_masks()[mask_name]
    ours, theirs = _pair()
    ours.train(train)
    theirs.train(train)
    rng = np.random.default_rng(3)
    q, k, v = rng.standard_normal((L, N, E)), rng.standard_normal((S, N, E)), rng.standard_normal((S, N, E))
    g = rng.standard_normal((L, N, E))
    if need_weights:
        with pytest.warns(RuntimeWarning, match=WARNS):
            y, w = ours(q, k, v, need_weights=True, **masks)
    else:
        y, w = ours(q, k, v, need_weights=False, **masks)  # any warning fails the test (filterwarnings)
    grads = ours.backward(g)

    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    ty, tw = theirs(tq, tk, tv, need_weights=need_weights, **{key: torch.tensor(m) for key, m in masks.items()})
    ty.backward(torch.tensor(g))
    # NaN where torch has NaN, and only there (assert_allclose compares NaN positions).
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert (w is None) == (tw is None)
    if w is not None:
        np.testing.assert_allclose(w, tw.detach().numpy(), rtol=1e-10, atol=1e-12)
    for name, ours_grad, t in zip(("query", "key", "value"), grads, (tq, tk, tv)):
        np.testing.assert_allclose(ours_grad, t.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
    t_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, t_params[name].grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
    assert np.isnan(y).any() == need_weights        # torch's numbers: NaN with the weights, zeros without


def test_without_weights_the_query_attends_to_nothing_even_with_dropout():
    ours, _ = _pair(dropout=0.5)
    ours.train()
    masks = _mha_masks()["attn_bool"]
    rng = np.random.default_rng(4)
    q, k, v = rng.standard_normal((L, N, E)), rng.standard_normal((S, N, E)), rng.standard_normal((S, N, E))
    y, _ = ours(q, k, v, need_weights=False, **masks)
    np.testing.assert_array_equal(y[1], np.broadcast_to(ours.out_proj.bias.data, (N, E)))  # O = 0, y = b_o
    assert np.isfinite(y).all() and all(np.isfinite(grad).all() for grad in ours.backward(np.ones_like(y)))


def test_gradcheck_through_a_query_with_no_key():
    ours, _ = _pair()
    masks = _mha_masks()["padding_and_mask"]
    rng = np.random.default_rng(5)
    q, k, v = rng.standard_normal((L, N, E)), rng.standard_normal((S, N, E)), rng.standard_normal((S, N, E))

    class Output(nn.Module):
        def __init__(self):
            super().__init__()
            self.mha = ours

        def forward(self, *arrays):
            return self.mha(*arrays, need_weights=False, **masks)[0]

        def backward(self, grad_output):
            return self.mha.backward(grad_output)

    assert cr.gradcheck(Output(), q, k, v)


def test_eval_under_no_grad_keeps_the_reference_paths_zeros():
    # torch's fused inference kernel (eval, no grad, batch_first self-attention, a bool mask,
    # need_weights=False) gives NaN for the query; its reference path, with grad, gives zeros.
    # chainrule has the reference path only, under no_grad as well.
    ours, theirs = _pair(batch_first=True)
    ours.eval()
    theirs.eval()
    mask = np.zeros((L, L), dtype=bool)
    mask[1] = True
    x = np.random.default_rng(6).standard_normal((N, L, E))
    with cr.no_grad():
        y, _ = ours(x, x, x, need_weights=False, attn_mask=mask)
    tx = torch.tensor(x)
    tx_grad = torch.tensor(x, requires_grad=True)   # an input that requires grad: torch's reference path
    reference, _ = theirs(tx_grad, tx_grad, tx_grad, need_weights=False, attn_mask=torch.tensor(mask))
    with torch.no_grad():
        fused, _ = theirs(tx, tx, tx, need_weights=False, attn_mask=torch.tensor(mask))
    np.testing.assert_allclose(y, reference.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert np.isfinite(y).all()
    assert torch.isnan(fused[:, 1]).all(), ("torch's fused path no longer gives NaN for a query with no key: "
                                            "check whether chainrule should follow it")


def test_a_nan_from_an_infinite_score_is_not_silent_and_is_not_taken_for_a_masked_row():
    """Only a row of -inf scores is a masked row (zeros); a +inf or NaN score makes its row NaN,
    as torch's softmax does, and says so."""
    from chainrule.nn.attention import softmax_over_keys

    scores = np.zeros((1, 3, 4))
    scores[0, 0, 1] = np.inf         # inf - max = NaN: a NaN row, with a warning
    scores[0, 1] = -np.inf           # every key masked: zeros, silently
    with pytest.warns(RuntimeWarning, match="a NaN or infinite score"):
        attn = softmax_over_keys(scores)
    assert np.isnan(attn[0, 0]).all() and (attn[0, 1] == 0).all()
    np.testing.assert_allclose(attn[0, 2], np.full(4, 0.25))
    expected = torch.softmax(torch.tensor(scores[0, [0, 2]]), dim=-1).numpy()
    np.testing.assert_array_equal(np.isnan(attn[0, [0, 2]]), np.isnan(expected))
