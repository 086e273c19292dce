"""SelfAttention: float64 central-difference gradchecks over its options (causal or not, bias
or not, one to several heads, batched and unbatched, dropout with a fixed mask), causality,
the attention weights by hand, dropout's behaviour, dtypes, frozen parameters and errors."""

import copy

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

f64 = np.float64


def _module(E=6, H=2, **kwargs):
    m = nn.SelfAttention(E, H, dtype=f64, rng=np.random.default_rng(0), **kwargs)
    if m.in_proj_bias is not None:  # PyTorch initialises the biases to zero: make them count
        rng = np.random.default_rng(1)
        m.in_proj_bias.data[...] = rng.standard_normal(m.in_proj_bias.shape)
        m.out_proj.bias.data[...] = rng.standard_normal(m.out_proj.bias.shape)
    return m


@pytest.mark.parametrize("shape", [(2, 4, 6), (5, 6), (1, 1, 6), (3, 3, 6)], ids=str)
@pytest.mark.parametrize("H", [1, 2, 3, 6])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_gradcheck(shape, H, bias, causal):
    m = _module(6, H, bias=bias, causal=causal)
    x = np.random.default_rng(2).standard_normal(shape)
    assert cr.gradcheck(m, x)


class _FixedDropoutMask(nn.SelfAttention):
    """Dropout with the same mask at every forward (a fresh generator with the same seed
    each time), so finite differences see one fixed function."""

    def forward(self, x):
        self.rng = np.random.default_rng(7)
        return super().forward(x)


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_gradcheck_through_a_fixed_dropout_mask(causal):
    m = _FixedDropoutMask(6, 2, causal=causal, dropout=0.4, dtype=f64, rng=np.random.default_rng(0))
    x = np.random.default_rng(3).standard_normal((2, 5, 6))
    assert cr.gradcheck(m, x)


def test_forward_by_hand_one_head():
    """One head, identity projections, no bias: y = softmax(x x^T / sqrt(E)) x, row by row."""
    E = 3
    m = nn.SelfAttention(E, 1, bias=False, dtype=f64)
    m.in_proj_weight.data[...] = np.vstack([np.eye(E)] * 3)
    m.out_proj.weight.data[...] = np.eye(E)
    x = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [1.0, 1.0, 1.0], [0.0, 0.0, -1.0]])
    scores = x @ x.T / np.sqrt(E)
    weights = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    with cr.no_grad():
        np.testing.assert_allclose(m(x), weights @ x, rtol=1e-14)
    m.causal = True
    scores[np.triu_indices(4, k=1)] = -np.inf  # query i sees keys j <= i
    weights = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    with cr.no_grad():
        y = m(x)
    np.testing.assert_allclose(y, weights @ x, rtol=1e-14)
    np.testing.assert_allclose(y[0], x[0], rtol=1e-14)  # the first position sees only itself


def test_unbatched_equals_a_batch_of_one():
    m = _module()
    x = np.random.default_rng(4).standard_normal((5, 6))
    g = np.random.default_rng(5).standard_normal((5, 6))
    y1 = m(x)
    dx1 = m.backward(g)
    grads1 = [p.grad.copy() for p in m.parameters()]
    m.zero_grad()
    y2 = m(x[None])
    dx2 = m.backward(g[None])
    np.testing.assert_array_equal(y1, y2[0])
    np.testing.assert_array_equal(dx1, dx2[0])
    for a, b in zip(grads1, m.parameters()):
        np.testing.assert_array_equal(a, b.grad)


def test_samples_do_not_interact():
    m = _module()
    x = np.random.default_rng(6).standard_normal((3, 4, 6))
    with cr.no_grad():
        y = m(x)
        for n in range(3):
            np.testing.assert_allclose(m(x[n]), y[n], rtol=1e-12)


@pytest.mark.parametrize("t", [0, 2, 4])
def test_causality_a_change_at_t_plus_1_leaves_earlier_outputs_alone(t):
    m = _module(8, 2, causal=True)
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 6, 8))
    x2 = x.copy()
    x2[:, t + 1:] += rng.standard_normal(x2[:, t + 1:].shape)
    with cr.no_grad():
        y, y2 = m(x), m(x2)
    np.testing.assert_array_equal(y[:, :t + 1], y2[:, :t + 1])
    assert np.abs(y[:, t + 1:] - y2[:, t + 1:]).min() > 0  # and the later ones do change


def test_causality_in_the_gradient():
    """Backward of a loss at position t only: no gradient reaches x at positions > t."""
    m = _module(6, 3, causal=True)
    x = np.random.default_rng(9).standard_normal((2, 5, 6))
    m(x)
    g = np.zeros_like(x)
    g[:, 2] = 1.0
    dx = m.backward(g)
    np.testing.assert_array_equal(dx[:, 3:], 0.0)
    assert np.abs(dx[:, :3]).min() > 0


def test_not_causal_every_position_sees_every_other():
    m = _module(6, 2)
    x = np.random.default_rng(10).standard_normal((1, 4, 6))
    x2 = x.copy()
    x2[0, 3] += 1.0
    with cr.no_grad():
        assert np.abs(m(x)[0, 0] - m(x2)[0, 0]).max() > 0


def test_key_bias_gets_zero_gradient():
    """b_k adds q_i . b_k to every score in row i: softmax ignores a shift of its whole row,
    so the key part of in_proj_bias has gradient zero (to rounding), as in PyTorch."""
    m = _module(6, 2)
    x = np.random.default_rng(11).standard_normal((2, 4, 6))
    m(x)
    m.backward(np.random.default_rng(12).standard_normal((2, 4, 6)))
    grad = m.in_proj_bias.grad
    np.testing.assert_allclose(grad[6:12], 0.0, atol=1e-13)
    assert np.abs(grad[:6]).max() > 1e-3 and np.abs(grad[12:]).max() > 1e-3


def test_dropout_train_mode_zeroes_and_rescales_weights_eval_mode_is_deterministic():
    m = nn.SelfAttention(4, 1, bias=False, dropout=0.5, dtype=f64, rng=np.random.default_rng(0))
    m.in_proj_weight.data[...] = np.vstack([np.zeros((4, 4)), np.zeros((4, 4)), np.eye(4)])  # uniform weights
    m.out_proj.weight.data[...] = np.eye(4)
    x = np.ones((2000, 3, 4)) * np.array([1.0, 2.0, 3.0])[:, None]  # values 1, 2, 3 at the 3 positions
    with cr.no_grad():
        y = m(x)[..., 0]                       # sum over kept keys of (1/3)*2*value
    # each output is (2/3) * (sum of the kept values): a multiple of 2/3, 0 when all dropped
    np.testing.assert_allclose(np.round(y * 1.5), y * 1.5, atol=1e-12)
    assert (y == 0).any() and np.isclose(y.max(), 4.0)  # 2/3 * (1+2+3)
    assert abs(y.mean() - 2.0) < 0.05          # the expectation is the no-dropout output, 2
    m.eval()
    with cr.no_grad():
        np.testing.assert_allclose(m(x[:2]), m(x[:2]))
        np.testing.assert_allclose(m(x[:1])[0, :, 0], 2.0)


def test_dropout_backward_uses_the_forward_mask():
    """Same mask in forward and backward: dx from backward equals the finite-difference
    slope of the forward that ran with that mask (a replayed generator)."""
    x = np.random.default_rng(13).standard_normal((1, 4, 6))
    g = np.random.default_rng(14).standard_normal((1, 4, 6))
    m = nn.SelfAttention(6, 2, dropout=0.5, dtype=f64, rng=np.random.default_rng(0))
    m.rng = np.random.default_rng(21)
    m(x)
    dx = m.backward(g)
    eps = 1e-6
    e = np.zeros_like(x)
    e[0, 1, 2] = eps
    with cr.no_grad():
        m.rng = np.random.default_rng(21)
        up = (m(x + e) * g).sum()
        m.rng = np.random.default_rng(21)
        down = (m(x - e) * g).sum()
    np.testing.assert_allclose(dx[0, 1, 2], (up - down) / (2 * eps), rtol=1e-6)


def test_float32_stays_float32():
    m = nn.SelfAttention(8, 2, causal=True, dtype=np.float32, rng=np.random.default_rng(0))
    x = np.random.default_rng(15).standard_normal((2, 5, 8)).astype(np.float32)
    y = m(x)
    dx = m.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in m.parameters())


def test_default_dtype_and_parameter_names():
    m = nn.SelfAttention(8, 4)
    assert m.in_proj_weight.dtype == np.float32
    assert [name for name, _ in m.named_parameters()] == [
        "in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]
    assert [p.shape for p in m.parameters()] == [(24, 8), (24,), (8, 8), (8,)]
    assert m.head_dim == 2
    assert repr(m).startswith("SelfAttention(embed_dim=8, num_heads=4, bias=True, causal=False, dropout=0.0")
    assert [name for name, _ in nn.SelfAttention(8, 4, bias=False).named_parameters()] == [
        "in_proj_weight", "out_proj.weight"]


def test_rng_makes_init_reproducible_and_biases_start_at_zero():
    a = nn.SelfAttention(8, 2, rng=np.random.default_rng(3))
    b = nn.SelfAttention(8, 2, rng=np.random.default_rng(3))
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    np.testing.assert_array_equal(a.in_proj_bias.data, 0)
    np.testing.assert_array_equal(a.out_proj.bias.data, 0)


def test_frozen_parameters_get_no_gradient():
    m = _module()
    m.in_proj_weight.requires_grad_(False)
    m.out_proj.requires_grad_(False)
    x = np.random.default_rng(16).standard_normal((2, 3, 6))
    m(x)
    m.backward(np.ones_like(x))
    assert m.in_proj_weight.grad is None and m.out_proj.weight.grad is None
    assert m.in_proj_bias.grad is not None


def test_gradients_accumulate():
    m = _module()
    x = np.random.default_rng(17).standard_normal((2, 3, 6))
    g = np.random.default_rng(18).standard_normal((2, 3, 6))
    m(x)
    m.backward(g)
    once = [p.grad.copy() for p in m.parameters()]
    m(x)
    m.backward(g)
    for a, p in zip(once, m.parameters()):
        np.testing.assert_allclose(p.grad, 2 * a, rtol=1e-14)


def test_cache_life_cycle():
    m = _module()
    x = np.random.default_rng(19).standard_normal((2, 3, 6))
    with pytest.raises(RuntimeError, match="before forward"):
        m.backward(np.ones_like(x))
    m(x)
    m.backward(np.ones_like(x))
    with pytest.raises(RuntimeError, match="second time"):
        m.backward(np.ones_like(x))
    with cr.no_grad():  # keeps nothing, and leaves the (released) cache as it was
        m(x)
    with pytest.raises(RuntimeError, match="second time"):
        m.backward(np.ones_like(x))


def test_deepcopy_copies_parameters_not_the_cache():
    m = _module()
    x = np.random.default_rng(20).standard_normal((2, 3, 6))
    m(x)
    clone = copy.deepcopy(m)
    m.backward(np.ones_like(x))
    with pytest.raises(RuntimeError):
        clone.backward(np.ones_like(x))
    with cr.no_grad():
        np.testing.assert_array_equal(clone(x), m(x))


@pytest.mark.parametrize("kwargs, match", [
    (dict(embed_dim=6, num_heads=4), r"embed_dim must be divisible by num_heads, got embed_dim=6 and num_heads=4"),
    (dict(embed_dim=0, num_heads=1), r"embed_dim must be a positive int, got 0"),
    (dict(embed_dim=4, num_heads=0), r"num_heads must be a positive int, got 0"),
    (dict(embed_dim=4.0, num_heads=2), r"embed_dim must be a positive int, got 4.0"),
    (dict(embed_dim=4, num_heads=2, dropout=1.0), r"dropout must be a probability in \[0, 1\), got 1.0"),
    (dict(embed_dim=4, num_heads=2, dropout=-0.1), r"dropout must be a probability in \[0, 1\), got -0.1"),
])
def test_bad_constructor_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        nn.SelfAttention(**kwargs)


def test_bad_flags_and_dtype():
    with pytest.raises(TypeError, match="causal must be a bool, got 'yes'"):
        nn.SelfAttention(4, 2, causal="yes")
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        nn.SelfAttention(4, 2, dtype=np.int32)


@pytest.mark.parametrize("shape, match", [
    ((2, 3, 5), r"last dimension 6 \(embed_dim\), got shape \(2, 3, 5\)"),
    ((3, 5), r"last dimension 6 \(embed_dim\), got shape \(3, 5\)"),
    ((6,), r"\(N, T, E\) or unbatched \(T, E\), got shape \(6,\)"),
    ((1, 2, 3, 6), r"\(N, T, E\) or unbatched \(T, E\), got shape \(1, 2, 3, 6\)"),
])
def test_bad_input(shape, match):
    m = _module()
    with pytest.raises(ValueError, match=match):
        m(np.zeros(shape))


def test_bad_grad_output_shape():
    m = _module()
    m(np.zeros((2, 3, 6)))
    with pytest.raises(ValueError, match=r"grad_output of shape \(2, 3, 6\), got \(2, 6\)"):
        m.backward(np.zeros((2, 6)))


@pytest.mark.parametrize("shape", [(0, 3, 6), (2, 0, 6), (0, 6)], ids=str)
def test_empty_batch_or_sequence(shape):
    m = _module()
    y = m(np.zeros(shape))
    dx = m.backward(np.zeros(shape))
    assert y.shape == dx.shape == shape
    np.testing.assert_array_equal(m.in_proj_weight.grad, 0.0)
