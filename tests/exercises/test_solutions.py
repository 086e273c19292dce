"""Correct solutions written differently from the library's pass: their own cache, another
order of operations, other intermediate names. Only numbers are compared."""

import numpy as np
import pytest

from chainrule import exercises, nn


class SigmoidFromZ(nn.Sigmoid):
    """Keeps z, not a, and recomputes sigma in backward."""

    def forward(self, z):
        self.z = np.array(z)
        return 1 / (1 + np.exp(-z))

    def backward(self, grad_output):
        s = 1 / (1 + np.exp(-self.z))
        return grad_output * s - grad_output * s * s


class LinearEinsum(nn.Linear):
    """Its own cache attribute, einsum and tensordot over every leading axis, bias first."""

    def forward(self, x):
        self.cache = x
        out = np.einsum("...i,oi->...o", x, self.weight.data)
        return out if self.bias is None else out + self.bias.data

    def backward(self, grad_output):
        x, self.cache = self.cache, None
        if self.bias is not None and self.bias.requires_grad:
            nn.accumulate_grad(self.bias, grad_output.reshape(-1, self.out_features).sum(axis=0))
        if self.weight.requires_grad:
            batch = list(range(x.ndim - 1))
            nn.accumulate_grad(self.weight, np.tensordot(grad_output, x, axes=(batch, batch)))
        return np.einsum("...o,oi->...i", grad_output, self.weight.data)


class SoftmaxFullJacobian(nn.Softmax):
    """Builds each slice's Jacobian diag(s) - s s^T and multiplies by it."""

    def forward(self, z):
        z = np.moveaxis(z, self.dim, -1)
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        s = e / e.sum(axis=-1, keepdims=True)
        self.save_for_backward(s)
        return np.moveaxis(s, -1, self.dim)

    def backward(self, grad_output):
        (s,) = self.saved_tensors
        g = np.moveaxis(grad_output, self.dim, -1)
        jacobian = np.einsum("...i,ij->...ij", s, np.eye(s.shape[-1])) - s[..., :, None] * s[..., None, :]
        return np.moveaxis(np.einsum("...ij,...j->...i", jacobian, g), -1, self.dim)


class MSEKeepsBoth(nn.MSELoss):
    """Keeps input and target, and scales before taking the difference."""

    def forward(self, input, target):
        self.save_for_backward(input, target)
        losses = (input - target) ** 2
        return losses if self.reduction == "none" else float(losses.sum() if self.reduction == "sum" else losses.mean())

    def backward(self, grad=1.0):
        input, target = self.saved_tensors
        scale = 2.0 / input.size if self.reduction == "mean" else 2.0
        return scale * np.asarray(grad) * input - scale * np.asarray(grad) * target


class EmbeddingOneHot(nn.Embedding):
    """The one-hot matrix product the scatter-add avoids, written out."""

    def forward(self, indices):
        self.save_for_backward(indices)
        return self.weight.data[indices]

    def backward(self, grad_output):
        (indices,) = self.saved_tensors
        onehot = np.eye(self.num_embeddings)[indices.reshape(-1)]           # (M, num_embeddings)
        grad_weight = onehot.T @ grad_output.reshape(-1, self.embedding_dim)  # repeated rows add up
        if self.padding_idx is not None:
            grad_weight[self.padding_idx] = 0
        if self.weight.requires_grad:
            nn.accumulate_grad(self.weight, grad_weight)
        return None


class LayerNormStepByStep(nn.LayerNorm):
    """Backward through the mean and the variance, one step at a time (no three-term form)."""

    def forward(self, x):
        axes = tuple(range(x.ndim - len(self.normalized_shape), x.ndim))
        mu = x.mean(axis=axes, keepdims=True)
        centred = x - mu
        var = (centred ** 2).mean(axis=axes, keepdims=True)
        rstd = (var + self.eps) ** -0.5
        self.save_for_backward(centred, rstd, axes)
        y = centred * rstd
        if self.weight is not None:
            y = y * self.weight.data
        if self.bias is not None:
            y = y + self.bias.data
        return y

    def backward(self, grad_output):
        centred, rstd, axes = self.saved_tensors
        m = np.prod([centred.shape[a] for a in axes])
        batch = tuple(range(centred.ndim - len(axes)))
        xhat = centred * rstd
        if self.bias is not None and self.bias.requires_grad:
            nn.accumulate_grad(self.bias, grad_output.sum(axis=batch))
        if self.weight is not None and self.weight.requires_grad:
            nn.accumulate_grad(self.weight, (grad_output * xhat).sum(axis=batch))
        d_xhat = grad_output if self.weight is None else grad_output * self.weight.data
        d_rstd = (d_xhat * centred).sum(axis=axes, keepdims=True)
        d_var = d_rstd * -0.5 * rstd ** 3
        d_centred = d_xhat * rstd + d_var * 2 * centred / m
        return d_centred - d_centred.sum(axis=axes, keepdims=True) / m


class CrossEntropyViaLogSoftmax(nn.CrossEntropyLoss):
    """Backward in two steps, through log p (NLL, then log-softmax), from a cache of its own."""

    def forward(self, input, target):
        c = input.shape[1]
        x = np.moveaxis(input, 1, -1).reshape(-1, c)
        t = target.reshape(-1)
        log_p = x - x.max(axis=1, keepdims=True)
        log_p = log_p - np.log(np.exp(log_p).sum(axis=1, keepdims=True))
        keep = t != self.ignore_index
        t = np.where(keep, t, 0)
        w = np.ones(c) if self.weight is None else self.weight
        eps = self.label_smoothing
        coeff = np.zeros_like(log_p)
        coeff[np.arange(len(t)), t] = (1 - eps) * w[t]
        coeff += eps / c * w
        coeff *= keep[:, None]
        self.cache = {"log_p": log_p, "coeff": coeff, "den": (w[t] * keep).sum(), "shape": input.shape}
        losses = -(coeff * log_p).sum(axis=1)
        if self.reduction == "none":
            return losses.reshape(target.shape)
        return float(losses.sum()) / (self.cache["den"] if self.reduction == "mean" else 1)

    def backward(self, grad=1.0):
        cache = self.cache
        g = np.reshape(grad, (-1, 1)) if self.reduction == "none" else grad
        if self.reduction == "mean":
            g = g / cache["den"]
        d_log_p = -cache["coeff"] * g                                    # through the NLL
        p = np.exp(cache["log_p"])
        d_x = d_log_p - p * d_log_p.sum(axis=1, keepdims=True)          # through the log-softmax
        n, c, *rest = cache["shape"]
        return np.moveaxis(d_x.reshape(n, *rest, c), -1, 1)


class Conv1dPositionByPosition(nn.Conv1d):
    """The built-in forward, its own cache (the padded input), and the docs page's loops over
    output positions and kernel offsets, group by group."""

    def forward(self, x):
        self.xp = np.pad(x, ((0, 0), (0, 0), *self._pads))
        return super().forward(x)

    def backward(self, grad_output):
        xp, W, (s,), (d,) = self.xp, self.weight.data, self.stride, self.dilation
        out_g, in_g = self.out_channels // self.groups, self.in_channels // self.groups
        dW, dxp = np.zeros_like(W), np.zeros_like(xp)
        for g in range(self.groups):
            o, c = slice(g * out_g, (g + 1) * out_g), slice(g * in_g, (g + 1) * in_g)
            for p in range(grad_output.shape[2]):
                for k in range(W.shape[2]):
                    dW[o, :, k] += grad_output[:, o, p].T @ xp[:, c, p * s + k * d]
                    dxp[:, c, p * s + k * d] += grad_output[:, o, p] @ W[o, :, k]
        if self.bias is not None and self.bias.requires_grad:
            nn.accumulate_grad(self.bias, grad_output.sum(axis=(0, 2)))
        if self.weight.requires_grad:
            nn.accumulate_grad(self.weight, dW)
        (before, after), = self._pads
        return dxp[:, :, before:dxp.shape[2] - after]


class MaxPool2dArgmax(nn.MaxPool2d):
    """Keeps each window's arg-max (np.argmax: the first maximum), found from a window view."""

    def forward(self, x):
        k, s, p = (v if isinstance(v, tuple) else (v, v) for v in (self.kernel_size, self.stride, self.padding))
        xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])), constant_values=-np.inf)
        windows = np.lib.stride_tricks.sliding_window_view(xp, k, axis=(2, 3))[:, :, ::s[0], ::s[1]]
        flat = windows.reshape(*windows.shape[:4], -1)                  # (N, C, H_out, W_out, kH * kW)
        self.cache = (flat.argmax(axis=-1), xp.shape, k, s, p)
        return flat.max(axis=-1)

    def backward(self, grad_output):
        argmax, shape, k, s, p = self.cache
        dxp = np.zeros(shape)
        n, c, i, j = np.indices(argmax.shape)
        rows, cols = i * s[0] + argmax // k[1], j * s[1] + argmax % k[1]
        np.add.at(dxp, (n, c, rows, cols), grad_output)                 # overlapping windows add up
        return dxp[:, :, p[0]:shape[2] - p[0], p[1]:shape[3] - p[1]]


class RNNPerStep(nn.RNN):
    """Its own cache, the pre-activations kept instead of h_t, and every weight gradient added
    step by step (one accumulate_grad per step and weight) instead of one product at the end."""

    def forward(self, x, h0=None):
        batched = x.ndim == 3
        xs = x[:, None] if not batched else x.transpose(1, 0, 2) if self.batch_first else x
        h = np.zeros((xs.shape[1], self.hidden_size)) if h0 is None else (h0 if batched else h0[:, None])[0]
        act = np.tanh if self.nonlinearity == "tanh" else (lambda a: np.maximum(a, 0))
        pre, states = [], [h]
        for x_t in xs:
            a = x_t @ self.weight_ih_l0.data.T + h @ self.weight_hh_l0.data.T
            if self.bias:
                a = a + self.bias_ih_l0.data + self.bias_hh_l0.data
            h = act(a)
            pre.append(a)
            states.append(h)
        self.cache = (xs, pre, states, h0 is not None, batched)
        out = np.stack(states[1:])
        out = out[:, 0] if not batched else out.transpose(1, 0, 2) if self.batch_first else out
        return out, (states[-1][None] if batched else states[-1])

    def backward(self, grad_output, grad_h_n=None):
        xs, pre, states, given, batched = self.cache
        g = grad_output[:, None] if not batched else grad_output.transpose(1, 0, 2) if self.batch_first else grad_output
        dh = np.zeros_like(states[0]) if grad_h_n is None else (grad_h_n if batched else grad_h_n[:, None])[0]
        dxs = np.zeros(xs.shape)
        for t in range(len(pre) - 1, -1, -1):
            da = (dh + g[t]) * ((1 - np.tanh(pre[t]) ** 2) if self.nonlinearity == "tanh" else (pre[t] > 0))
            for param, grad in ((self.weight_ih_l0, da.T @ xs[t]), (self.weight_hh_l0, da.T @ states[t]),
                                (getattr(self, "bias_ih_l0", None), da.sum(0)),
                                (getattr(self, "bias_hh_l0", None), da.sum(0))):
                if param is not None and param.requires_grad:
                    nn.accumulate_grad(param, grad)
            dxs[t] = da @ self.weight_ih_l0.data
            dh = da @ self.weight_hh_l0.data
        dx = dxs[:, 0] if not batched else dxs.transpose(1, 0, 2) if self.batch_first else dxs
        return (dx, dh[None] if batched else dh) if given else dx


@pytest.mark.parametrize("cls", [SigmoidFromZ, LinearEinsum, SoftmaxFullJacobian, MSEKeepsBoth,
                                 EmbeddingOneHot, LayerNormStepByStep, CrossEntropyViaLogSoftmax,
                                 Conv1dPositionByPosition, MaxPool2dArgmax, RNNPerStep])
def test_a_correct_solution_written_differently_passes(cls):
    result = exercises.check(cls)  # the exercise is found from the nn class it derives from
    assert result.passed, result.message


def test_a_wrong_solution_of_its_own_fails_with_where_and_how_much():
    class Halved(SigmoidFromZ):
        def backward(self, grad_output):
            return 0.5 * super().backward(grad_output)

    result = exercises.check(Halved)
    assert not result.passed and result.mistake is None
    assert "dC/dz" in result.message and "at index" in result.message and "case 1 of" in result.message


def test_a_module_deriving_only_from_module_must_name_its_exercise():
    class Anonymous(nn.Module):
        def forward(self, x):
            return x

        def backward(self, grad_output):
            return grad_output

    result = exercises.check(Anonymous)
    assert not result.passed and "exercise" in result.message
    assert not exercises.check(Anonymous, "relu").passed


def test_check_refuses_what_is_not_a_module():
    with pytest.raises(TypeError, match="Module subclass"):
        exercises.check(42)
