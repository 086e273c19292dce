"""chainrule.nn.functional: PyTorch's names and results, and each backward against autograd."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

torch = pytest.importorskip("torch", reason="F's functions are compared with torch.nn.functional")
TF = torch.nn.functional
RNG = np.random.default_rng(0)


def _t(a, grad=True):
    return torch.tensor(a, requires_grad=grad)


def _autograd(fn, arrays, grad_output):
    """torch's output and the gradients of sum(output * grad_output) w.r.t. every array (None: absent)."""
    ts = [None if a is None else _t(a) for a in arrays]
    out = fn(*ts)
    (out * torch.tensor(grad_output)).sum().backward()
    return out.detach().numpy(), [None if t is None else t.grad.numpy() for t in ts]


def _same(ours, theirs):
    for a, b in zip(ours, theirs):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape, bias", [((4, 3), True), ((2, 5, 3), False), ((3,), True)])
def test_linear(shape, bias):
    x, w = RNG.standard_normal(shape), RNG.standard_normal((2, 3))
    b = RNG.standard_normal(2) if bias else None
    y = F.linear(x, w, b)
    g = RNG.standard_normal(y.shape)
    out, grads = _autograd(TF.linear, [x, w, b], g)
    np.testing.assert_allclose(y, out, rtol=1e-12)
    _same(F.linear_backward(g, x, w, bias=bias), grads)


@pytest.mark.parametrize("kwargs", [{}, {"stride": 2, "padding": 1}, {"padding": "same", "dilation": 2},
                                    {"groups": 2, "padding": "valid"}])
@pytest.mark.parametrize("n", [1, 2])
def test_conv(n, kwargs):
    x = RNG.standard_normal((2, 4) + (7,) * n)
    w, b = RNG.standard_normal((6, 4 // kwargs.get("groups", 1)) + (3,) * n), RNG.standard_normal(6)
    fwd, bwd, tfn = (F.conv1d, F.conv1d_backward, TF.conv1d) if n == 1 else (F.conv2d, F.conv2d_backward, TF.conv2d)
    y = fwd(x, w, b, **kwargs)
    g = RNG.standard_normal(y.shape)
    out, grads = _autograd(lambda x, w, b: tfn(x, w, b, **kwargs), [x, w, b], g)
    np.testing.assert_allclose(y, out, rtol=1e-10, atol=1e-12)
    _same(bwd(g, x, w, b, **kwargs), grads)


def test_conv2d_unbatched_input_and_no_bias():
    x, w = RNG.standard_normal((3, 5, 5)), RNG.standard_normal((2, 3, 2, 2))
    y = F.conv2d(x, w)
    g = RNG.standard_normal(y.shape)
    out, grads = _autograd(TF.conv2d, [x, w], g)
    np.testing.assert_allclose(y, out, rtol=1e-10)
    dx, dw, db = F.conv2d_backward(g, x, w)
    _same((dx, dw), grads)
    assert db is None


@pytest.mark.parametrize("amounts", [(1, 2), (1, 0, 2, 3), (-1, 2, 0, -2)])
def test_pad_and_its_backward(amounts):
    x = RNG.standard_normal((2, 4, 5))
    y = F.pad(x, amounts, value=1.5)
    np.testing.assert_array_equal(y, TF.pad(torch.tensor(x), amounts, value=1.5).numpy())
    g = RNG.standard_normal(y.shape)
    _, (grad,) = _autograd(lambda t: TF.pad(t, amounts, value=1.5), [x], g)
    np.testing.assert_array_equal(F.pad_backward(g, amounts), grad)
    with pytest.raises(ValueError, match="mode='reflect' is not supported"):
        F.pad(x, amounts, mode="reflect")


def test_one_hot():
    t = np.array([[0, 2], [1, 3]])
    np.testing.assert_array_equal(F.one_hot(t), TF.one_hot(torch.tensor(t)).numpy())
    assert F.one_hot(t, 6).shape == (2, 2, 6) and F.one_hot(t).dtype == np.int64
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        F.one_hot(t, 3)
    with pytest.raises(TypeError, match="integer array"):
        F.one_hot(np.array([0.5]))


def test_embedding_with_a_padding_row():
    w, idx = RNG.standard_normal((5, 3)), np.array([[0, 2, 2], [4, 1, 0]])
    y = F.embedding(idx, w)
    g = RNG.standard_normal(y.shape)
    wt = _t(w)
    TF.embedding(torch.tensor(idx), wt, padding_idx=2).mul(torch.tensor(g)).sum().backward()
    np.testing.assert_array_equal(y, w[idx])
    np.testing.assert_allclose(F.embedding_backward(g, idx, 5, padding_idx=2), wt.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("shape, normalized, affine", [((4, 5), 5, True), ((2, 3, 4), (3, 4), True),
                                                       ((3, 6), (6,), False)])
def test_layer_norm(shape, normalized, affine):
    x = RNG.standard_normal(shape)
    ns = (normalized,) if isinstance(normalized, int) else normalized
    w = RNG.standard_normal(ns) if affine else None
    b = RNG.standard_normal(ns) if affine else None
    y = F.layer_norm(x, normalized, w, b)
    g = RNG.standard_normal(y.shape)
    out, grads = _autograd(lambda x, w, b: TF.layer_norm(x, ns, w, b), [x, w, b], g)
    np.testing.assert_allclose(y, out, rtol=1e-10, atol=1e-12)
    _same(F.layer_norm_backward(g, x, normalized, w, b), grads)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (2, 3, 4, 4)])
def test_batch_norm_values_gradients_and_running_statistics(shape, training):
    x, w, b = RNG.standard_normal(shape), RNG.standard_normal(3), RNG.standard_normal(3)
    mean, var = RNG.standard_normal(3), RNG.uniform(0.5, 2, 3)
    ours_mean, ours_var = mean.copy(), var.copy()
    y = F.batch_norm(x, ours_mean, ours_var, w, b, training=training, momentum=0.2)
    theirs_mean, theirs_var = torch.tensor(mean), torch.tensor(var)
    g = RNG.standard_normal(y.shape)
    out, grads = _autograd(lambda x, w, b: TF.batch_norm(x, theirs_mean, theirs_var, w, b, training=training,
                                                         momentum=0.2), [x, w, b], g)
    np.testing.assert_allclose(y, out, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours_mean, theirs_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours_var, theirs_var.numpy(), rtol=1e-12)
    _same(F.batch_norm_backward(g, x, mean, var, w, b, training=training), grads)


@pytest.mark.parametrize("causal", [False, True])
def test_scaled_dot_product_attention(causal):
    q, k, v = (RNG.standard_normal((2, 3, 4, 5)) for _ in range(3))
    y = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    g = RNG.standard_normal(y.shape)
    out, grads = _autograd(lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, is_causal=causal), [q, k, v], g)
    np.testing.assert_allclose(y, out, rtol=1e-10, atol=1e-12)
    _same(F.scaled_dot_product_attention_backward(g, q, k, v, is_causal=causal), grads)


def test_scaled_dot_product_attention_with_a_boolean_mask_and_a_scale():
    q, k, v = RNG.standard_normal((3, 4)), RNG.standard_normal((5, 4)), RNG.standard_normal((5, 2))
    mask = RNG.random((3, 5)) < 0.7
    mask[:, 0] = True  # every query sees a key
    y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=0.3)
    g = RNG.standard_normal(y.shape)
    out, grads = _autograd(lambda q, k, v: TF.scaled_dot_product_attention(
        q, k, v, attn_mask=torch.tensor(mask), scale=0.3), [q, k, v], g)
    np.testing.assert_allclose(y, out, rtol=1e-10, atol=1e-12)
    _same(F.scaled_dot_product_attention_backward(g, q, k, v, attn_mask=mask, scale=0.3), grads)


def test_dropout_mask_scale_and_backward():
    x = RNG.standard_normal((200, 50))
    out, mask = F.native_dropout(x, 0.3, True, generator=np.random.default_rng(1))
    assert mask.dtype == bool and abs(mask.mean() - 0.7) < 0.02
    np.testing.assert_allclose(out, x * mask / 0.7)
    g = RNG.standard_normal(x.shape)
    np.testing.assert_allclose(F.native_dropout_backward(g, mask, 1 / 0.7), g * mask / 0.7)
    assert F.dropout(x, 0.3, training=False) is x
    y = x.copy()
    assert F.dropout(y, 0.5, inplace=True, generator=np.random.default_rng(2)) is y


def test_a_model_written_with_F_matches_the_modules():
    # Forward with F, backward with the *_backward calls: the same numbers as Linear + LayerNorm.
    cr.manual_seed(0)
    lin, norm = nn.Linear(4, 6, dtype=np.float64), nn.LayerNorm(6, dtype=np.float64)
    x = RNG.standard_normal((5, 4))
    y = norm(lin(x))
    g = RNG.standard_normal(y.shape)
    dx = lin.backward(norm.backward(g))
    z = F.linear(x, lin.weight.data, lin.bias.data)
    np.testing.assert_allclose(F.layer_norm(z, 6, norm.weight.data, norm.bias.data), y, rtol=1e-12)
    dz, dgamma, dbeta = F.layer_norm_backward(g, z, 6, norm.weight.data, norm.bias.data)
    dx_f, dw, db = F.linear_backward(dz, x, lin.weight.data)
    for ours, module in ((dx_f, dx), (dw, lin.weight.grad), (db, lin.bias.grad), (dgamma, norm.weight.grad),
                         (dbeta, norm.bias.grad)):
        np.testing.assert_allclose(ours, module, rtol=1e-12)
