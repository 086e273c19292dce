"""SelfAttention against torch.nn.MultiheadAttention(E, H, batch_first=True)(x, x, x,
need_weights=False, attn_mask=causal mask): outputs, the input gradient (the sum over the
query, key and value uses of x), every parameter gradient, float64 to rtol 1e-10 and float32
to float32 tolerance; the initialisation's distributions; state dicts in both directions;
dropout in eval mode is the identity on the weights."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch", reason="torch is not installed")

# (embed_dim, num_heads, input shape): the first is common_modules' unbatched (3, 3) sample
# with embed_dim=3, num_heads=3 (head size 1); then batched ones with several heads.
CASES = [
    (3, 3, (3, 3)),
    (6, 2, (4, 6)),
    (8, 2, (2, 5, 8)),
    (12, 3, (3, 7, 12)),
    (4, 1, (2, 1, 4)),     # one position: attention to itself only
    (8, 4, (1, 9, 8)),
]


def _pair(E, H, bias, causal, dtype=np.float64, seed=0):
    """torch's module with random-looking parameters (non-zero biases) and ours loaded from it."""
    torch.manual_seed(seed)
    theirs = torch.nn.MultiheadAttention(E, H, batch_first=True, bias=bias,
                                         dtype=torch.float64 if dtype == np.float64 else torch.float32)
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.randn(p.shape, dtype=p.dtype) * 0.5)
    ours = nn.SelfAttention(E, H, bias=bias, causal=causal, dtype=dtype)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _torch_forward(theirs, xt, causal):
    T = xt.shape[-2]
    mask = torch.nn.Transformer.generate_square_subsequent_mask(T, dtype=xt.dtype) if causal else None
    y, weights = theirs(xt, xt, xt, need_weights=False, attn_mask=mask, is_causal=causal)
    assert weights is None
    return y


def _compare(E, H, shape, bias, causal, dtype, rtol, atol):
    ours, theirs = _pair(E, H, bias, causal, dtype)
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    y = ours(x)
    dx = ours.backward(g)
    xt = torch.tensor(x, requires_grad=True)
    yt = _torch_forward(theirs, xt, causal)
    yt.backward(torch.tensor(g))
    assert y.dtype == dx.dtype == dtype
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=rtol, atol=atol)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=rtol, atol=atol)
    ours_params = dict(ours.named_parameters())
    names = [name for name, _ in theirs.named_parameters()]
    assert names == list(ours_params)
    for name, p in theirs.named_parameters():
        assert ours_params[name].grad.dtype == dtype
        np.testing.assert_allclose(ours_params[name].grad, p.grad.numpy(), rtol=rtol, atol=atol, err_msg=name)


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("E, H, shape", CASES)
def test_matches_torch_float64(E, H, shape, bias, causal):
    _compare(E, H, shape, bias, causal, np.float64, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_matches_torch_float32(causal):
    _compare(8, 2, (2, 5, 8), True, causal, np.float32, rtol=1e-4, atol=1e-5)


def test_gradients_accumulate_like_torch_over_two_steps():
    ours, theirs = _pair(6, 3, True, True)
    rng = np.random.default_rng(2)
    for _ in range(2):
        x, g = rng.standard_normal((2, 4, 6)), rng.standard_normal((2, 4, 6))
        ours(x)
        ours.backward(g)
        xt = torch.tensor(x)
        _torch_forward(theirs, xt, True).backward(torch.tensor(g))
    for name, p in theirs.named_parameters():
        # atol: the key bias's gradient is 0 up to rounding (it shifts a whole row of scores)
        np.testing.assert_allclose(dict(ours.named_parameters())[name].grad, p.grad.numpy(), rtol=1e-10,
                                   atol=1e-12, err_msg=name)


def test_state_dict_keys_and_shapes_match_torch_both_ways():
    theirs = torch.nn.MultiheadAttention(8, 2, batch_first=True, dtype=torch.float64)
    ours = nn.SelfAttention(8, 2, dtype=np.float64, rng=np.random.default_rng(0))
    sd = ours.state_dict()
    assert list(sd) == list(theirs.state_dict())  # in_proj_weight, in_proj_bias, out_proj.weight, out_proj.bias
    assert {k: v.shape for k, v in sd.items()} == {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    # ours -> torch: same numbers out of both
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})
    x = np.random.default_rng(3).standard_normal((2, 5, 8))
    with cr.no_grad(), torch.no_grad():
        np.testing.assert_allclose(ours(x), _torch_forward(theirs, torch.tensor(x), False).numpy(), rtol=1e-10)
    # torch -> ours
    fresh = nn.SelfAttention(8, 2, dtype=np.float64, rng=np.random.default_rng(9))
    fresh.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    for k, v in theirs.state_dict().items():
        np.testing.assert_array_equal(fresh.state_dict()[k], v.numpy())


def test_no_bias_state_dict_matches_torch():
    theirs = torch.nn.MultiheadAttention(4, 2, batch_first=True, bias=False)
    ours = nn.SelfAttention(4, 2, bias=False)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["in_proj_weight", "out_proj.weight"]


def test_initialisation_matches_torch_distributions():
    """Same bounds as torch: in_proj_weight Xavier-uniform over (3E, E), out_proj.weight
    Linear's U(±1/sqrt(E)), both biases zero."""
    E = 64
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(E, 4, batch_first=True)
    ours = nn.SelfAttention(E, 4, rng=np.random.default_rng(0))
    xavier = np.sqrt(6.0 / (E + 3 * E))
    linear = 1.0 / np.sqrt(E)
    for name, bound in (("in_proj_weight", xavier), ("out_proj.weight", linear)):
        ours_w = ours.state_dict()[name]
        theirs_w = theirs.state_dict()[name].numpy()
        for w in (ours_w, theirs_w):
            assert np.abs(w).max() <= bound
            assert np.abs(w).max() > 0.95 * bound      # the whole interval is used
            assert abs(w.std() - bound / np.sqrt(3)) < 0.05 * bound  # uniform's std
        assert ours_w.dtype == np.float32
    for name in ("in_proj_bias", "out_proj.bias"):
        np.testing.assert_array_equal(ours.state_dict()[name], 0)
        np.testing.assert_array_equal(theirs.state_dict()[name].numpy(), 0)


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_dropout_in_eval_mode_matches_torch(causal):
    """With dropout > 0 PyTorch's masks come from its own generator, so the numbers are
    compared in eval mode, where dropout is off in both; train mode is tested by behaviour
    in tests/nn/test_attention.py."""
    ours, theirs = _pair(6, 2, True, causal)
    ours_d = nn.SelfAttention(6, 2, causal=causal, dropout=0.3, dtype=np.float64)
    theirs_d = torch.nn.MultiheadAttention(6, 2, batch_first=True, dropout=0.3, dtype=torch.float64)
    ours_d.load_state_dict(ours.state_dict())
    theirs_d.load_state_dict(theirs.state_dict())
    ours_d.eval()
    theirs_d.eval()
    rng = np.random.default_rng(4)
    x, g = rng.standard_normal((2, 5, 6)), rng.standard_normal((2, 5, 6))
    y = ours_d(x)
    dx = ours_d.backward(g)
    xt = torch.tensor(x, requires_grad=True)
    yt = _torch_forward(theirs_d, xt, causal)
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10)


def test_torch_dropout_statistics_match_ours():
    """In train mode both scale the kept weights by 1/(1-p): averaged over many draws, the
    output approaches the no-dropout output in both frameworks alike."""
    ours, theirs = _pair(4, 2, True, False)
    ours_d = nn.SelfAttention(4, 2, dropout=0.5, dtype=np.float64, rng=np.random.default_rng(0))
    ours_d.load_state_dict(ours.state_dict())
    theirs_d = torch.nn.MultiheadAttention(4, 2, batch_first=True, dropout=0.5, dtype=torch.float64)
    theirs_d.load_state_dict(theirs.state_dict())
    x = np.random.default_rng(5).standard_normal((1, 3, 4))
    xs = np.broadcast_to(x, (4000, 3, 4))
    with cr.no_grad(), torch.no_grad():
        reference = ours(x)[0]
        ours_mean = ours_d(xs).mean(axis=0)
        theirs_mean = _torch_forward(theirs_d, torch.tensor(np.ascontiguousarray(xs)), False).numpy().mean(axis=0)
    scale = np.abs(reference).max()
    assert np.abs(ours_mean - reference).max() < 0.1 * scale
    assert np.abs(theirs_mean - reference).max() < 0.1 * scale


@pytest.mark.parametrize("options", [
    {}, {"is_causal": True}, {"scale": 0.3}, {"attn_mask": "bool"}, {"attn_mask": "float"},
])
def test_the_function_pair_is_torchs_scaled_dot_product_attention(options):
    """scaled_dot_product_attention and its backward against F.scaled_dot_product_attention,
    float64, with more keys than queries except for the causal case."""
    from chainrule.nn.attention import scaled_dot_product_attention, scaled_dot_product_attention_backward
    rng = np.random.default_rng(0)
    keys = 5 if options.get("is_causal") else 6
    q, k, v = rng.normal(size=(2, 3, 5, 4)), rng.normal(size=(2, 3, keys, 4)), rng.normal(size=(2, 3, keys, 4))
    options = dict(options)
    if options.get("attn_mask") == "bool":
        options["attn_mask"] = rng.random((5, keys)) > 0.3
        options["attn_mask"][:, 0] = True  # every query sees at least one key
    elif options.get("attn_mask") == "float":
        options["attn_mask"] = rng.normal(size=(5, keys))
    output, attn, drop = scaled_dot_product_attention(q, k, v, **options)
    grad_output = rng.normal(size=output.shape)
    grads = scaled_dot_product_attention_backward(grad_output, q, k, v, attn, drop, scale=options.get("scale"))

    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    theirs = torch.nn.functional.scaled_dot_product_attention(
        tq, tk, tv, **{name: torch.tensor(a) if isinstance(a, np.ndarray) else a for name, a in options.items()})
    theirs.backward(torch.tensor(grad_output))
    np.testing.assert_allclose(output, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    for name, ours, tensor in zip(("query", "key", "value"), grads, (tq, tk, tv)):
        np.testing.assert_allclose(ours, tensor.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
