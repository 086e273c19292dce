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
    with pytest.raises(ValueError, match="pad mode must be one of 'constant', 'reflect', 'replicate', 'circular', "
                                         "got 'mirror'"):
        F.pad(x, amounts, mode="mirror")


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


@pytest.mark.parametrize("options", [
    {"max_norm": 1.0}, {"max_norm": 0.7, "norm_type": 1.0}, {"max_norm": 0.7, "norm_type": float("inf")},
    {"scale_grad_by_freq": True}, {"scale_grad_by_freq": True, "padding_idx": -1}, {"sparse": True, "padding_idx": 0},
    {"max_norm": 1.2, "norm_type": 3.0, "scale_grad_by_freq": True, "padding_idx": 2},
], ids=repr)
def test_embedding_options_as_torch(options):
    w, idx = 2 * RNG.standard_normal((5, 3)), np.array([[0, 2, 2], [4, 2, 0]])
    wt, w_before = _t(w), w.copy()
    ours = F.embedding(idx, w, **options)  # renormalises rows of w in place, as torch's renormalises wt
    theirs = TF.embedding(torch.tensor(idx), wt, **options)
    g = RNG.standard_normal(ours.shape)
    (theirs * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w, wt.detach().numpy(), rtol=1e-10, atol=1e-12)
    grad = wt.grad.to_dense() if wt.grad.is_sparse else wt.grad
    backward_options = {k: v for k, v in options.items() if k in ("padding_idx", "scale_grad_by_freq", "sparse")}
    np.testing.assert_allclose(F.embedding_backward(g, idx, 5, **backward_options), grad.numpy(),
                               rtol=1e-10, atol=1e-12)
    if "max_norm" in options:  # a row read was over the bound, so the case tests the renormalisation
        assert not np.array_equal(w, w_before) and np.array_equal(w[[1, 3]], w_before[[1, 3]])  # rows not read stay


def test_embedding_backward_refuses_sparse_with_scale_grad_by_freq_as_torch():
    w, idx = RNG.standard_normal((4, 2)), np.array([1, 1, 3])
    wt = _t(w)
    out = TF.embedding(torch.tensor(idx), wt, scale_grad_by_freq=True, sparse=True)
    with pytest.raises(RuntimeError, match="scale_grad_by_freq not supported with sparse"):
        out.sum().backward()
    with pytest.raises(RuntimeError, match="scale_grad_by_freq=True is not supported with sparse=True"):
        F.embedding_backward(np.ones((3, 2)), idx, 4, scale_grad_by_freq=True, sparse=True)


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


@pytest.mark.parametrize("q_shape, kv_shape", [((3, 4, 5), (2, 3, 6, 5)), ((2, 1, 4, 5), (2, 3, 6, 5))])
def test_scaled_dot_product_attention_gradients_of_a_broadcast_query(q_shape, kv_shape):
    # The query is used by every batch entry it was broadcast over: its gradient sums theirs.
    q, k, v = RNG.standard_normal(q_shape), RNG.standard_normal(kv_shape), RNG.standard_normal(kv_shape)
    y = F.scaled_dot_product_attention(q, k, v)
    g = RNG.standard_normal(y.shape)
    out, grads = _autograd(TF.scaled_dot_product_attention, [q, k, v], g)
    np.testing.assert_allclose(y, out, rtol=1e-10, atol=1e-12)
    ours = F.scaled_dot_product_attention_backward(g, q, k, v)
    assert [a.shape for a in ours] == [q_shape, kv_shape, kv_shape]
    _same(ours, grads)


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


ACTIVATIONS = [("sigmoid", {}, "output"), ("tanh", {}, "output"), ("relu", {}, "output"),
               ("leaky_relu", {"negative_slope": 0.2}, "input"), ("elu", {"alpha": 0.7}, "input"),
               ("silu", {}, "input"), ("gelu", {"approximate": "tanh"}, "input"), ("gelu", {}, "input"),
               ("softplus", {"beta": 2.0}, "input"), ("softmax", {"dim": 1}, "output"),
               ("log_softmax", {"dim": 0}, "output")]


@pytest.mark.parametrize("name, kwargs, reads", ACTIVATIONS)
def test_activation_and_its_backward(name, kwargs, reads):
    x = RNG.standard_normal((4, 5)) * 3
    y = getattr(F, name)(x, **kwargs)
    g = RNG.standard_normal(y.shape)
    torch_fn = getattr(torch, name) if name in ("sigmoid", "tanh") else getattr(TF, name)
    out, (grad,) = _autograd(lambda t: torch_fn(t, **kwargs), [x], g)
    np.testing.assert_allclose(y, out, rtol=1e-12, atol=1e-15)
    options = {k: v for k, v in kwargs.items()}
    ours = getattr(F, f"{name}_backward")(g, y if reads == "output" else x, **options)
    np.testing.assert_allclose(ours, grad, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu", "silu"])
def test_inplace_activations_write_into_the_input(name):
    x = RNG.standard_normal((3, 4))
    expected = getattr(F, name)(x)
    y = x.copy()
    assert getattr(F, name)(y, inplace=True) is y
    np.testing.assert_array_equal(y, expected)


@pytest.mark.parametrize("call", [
    lambda f, x, t, w: f.cross_entropy(x, t),
    lambda f, x, t, w: f.cross_entropy(x, t, w, None, 2),                         # ignore_index, positionally
    lambda f, x, t, w: f.cross_entropy(x, t, reduction="sum", label_smoothing=0.1),
    lambda f, x, t, w: f.nll_loss(f.log_softmax(x, dim=1), t, w, None, 1, None, "none"),
])
def test_losses_take_pytorchs_arguments_in_pytorchs_positions(call):
    x, t, w = RNG.standard_normal((6, 4)), RNG.integers(0, 4, 6), RNG.uniform(0.5, 2, 4)
    ours = call(F, x, t, w)
    theirs = call(TF, torch.tensor(x), torch.tensor(t), torch.tensor(w))
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-12)


def test_cross_entropy_backward_is_softmax_minus_onehot_and_mse_matches_autograd():
    x, t = RNG.standard_normal((5, 3)), RNG.integers(0, 3, 5)
    probs = F.softmax(x, dim=1)
    grad = F.cross_entropy_backward(1.0, probs, t)
    np.testing.assert_allclose(grad, (probs - np.eye(3)[t]) / 5, rtol=1e-12)
    _, (theirs,) = _autograd(lambda v: TF.cross_entropy(v, torch.tensor(t)), [x], np.array(1.0))
    np.testing.assert_allclose(grad, theirs, rtol=1e-12)
    y = RNG.standard_normal((5, 3))
    assert np.isclose(F.mse_loss(x, y), TF.mse_loss(torch.tensor(x), torch.tensor(y)).item())
    _, (theirs,) = _autograd(lambda v: TF.mse_loss(v, torch.tensor(y)), [x], np.array(1.0))
    np.testing.assert_allclose(F.mse_loss_backward(1.0, x, y), theirs, rtol=1e-12)
    with pytest.warns(UserWarning, match="reduction='mean'"):  # PyTorch's legacy mapping (test_functional_checks.py)
        assert F.mse_loss(x, y, size_average=True) == F.mse_loss(x, y)


@pytest.mark.parametrize("kwargs", [{"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1},
                                    {"kernel_size": 2, "stride": 1, "ceil_mode": True}])
def test_pooling(kwargs):
    x = np.round(RNG.standard_normal((2, 3, 6, 7)) * 2)  # ties
    for ours, theirs, back in ((F.max_pool2d, TF.max_pool2d, F.max_pool2d_backward),
                               (F.avg_pool2d, TF.avg_pool2d, F.avg_pool2d_backward)):
        y = ours(x, **kwargs)
        g = RNG.standard_normal(y.shape)
        out, (grad,) = _autograd(lambda t: theirs(t, **kwargs), [x], g)
        np.testing.assert_allclose(y, out, rtol=1e-12)
        np.testing.assert_allclose(back(g, x, **kwargs), grad, rtol=1e-12, atol=1e-15)
    y, idx = F.max_pool2d(x[0], **kwargs, return_indices=True)  # unbatched, indices given
    g = RNG.standard_normal(y.shape)
    np.testing.assert_allclose(F.max_pool2d_backward(g, x[0], **kwargs, indices=idx),
                               F.max_pool2d_backward(g, x[0], **kwargs))
