"""Part 5, normalisation: statistics that depend on the input, and so have a gradient."""

from __future__ import annotations

import math

from ... import nn
from .._exercise import Case, exercise, floats, mistake
from .shared import Accumulates


def _three_term(dxhat, xhat, inv_std, axes):
    m = math.prod(xhat.shape[a] for a in axes)
    return inv_std / m * (m * dxhat - dxhat.sum(axis=axes, keepdims=True)
                          - xhat * (dxhat * xhat).sum(axis=axes, keepdims=True))


class BatchNormSolution(Accumulates):
    def backward(self, grad_output):
        xhat, inv_std, use_batch_stats = self.saved_tensors
        wrong = self.mistake
        axes = (0,) if xhat.ndim == 2 else (0, 2)
        shape = (1, -1) if xhat.ndim == 2 else (1, -1, 1)
        if self.weight is not None:
            to_gamma = grad_output if wrong == "gamma_grad_without_xhat" else grad_output * xhat
            self.give(self.weight, to_gamma.sum(axis=axes))
        if self.bias is not None:
            self.give(self.bias, grad_output.sum(axis=axes))
        missing = self.weight is None or wrong == "norm_gamma_missing"
        dxhat = grad_output if missing else grad_output * self.weight.data.reshape(shape)
        if (use_batch_stats and wrong != "batch_stats_constant") or wrong == "eval_stats_differentiated":
            return _three_term(dxhat, xhat, inv_std, axes)
        return dxhat * inv_std


mistake("batch_stats_constant",
        "The batch statistics were treated as constants: in training mode the mean and variance are computed "
        "from this batch, so they depend on x and add two terms (dC/dx = s/m (m dxhat - sum dxhat - "
        "xhat sum dxhat xhat)).", "docs/modules/normalization.md")
mistake("eval_stats_differentiated",
        "In eval mode the running statistics are constants: the input gradient is only dxhat * s, without "
        "the two terms that come from differentiating batch statistics.", "docs/modules/normalization.md")

exercise(
    name="batchnorm1d",
    builtin=nn.BatchNorm1d,
    docs="docs/modules/normalization.md",
    stub='''
    class BatchNorm1d(nn.BatchNorm1d):
        """y = (x - mu) / sqrt(sigma^2 + eps) * gamma + beta, per channel (axis 1); mu and the biased
        sigma^2 of this batch in training mode, the running statistics in eval mode."""

        exercise = "batchnorm1d"

        def forward(self, x):
            # x: (N, C) or (N, C, L); statistics per channel over every other axis
            axes = (0,) if x.ndim == 2 else (0, 2)
            shape = (1, -1) if x.ndim == 2 else (1, -1, 1)  # (C,) broadcast along axis 1
            use_batch_stats = self.training or self.running_mean is None
            if use_batch_stats:
                mean = x.mean(axis=axes, keepdims=True)
                var = x.var(axis=axes, keepdims=True)  # biased: divides by m, the values per channel
                if self.training and self.running_mean is not None:  # running averages, for eval mode
                    m = x.size // x.shape[1]
                    self.num_batches_tracked += 1
                    factor = self.momentum if self.momentum is not None else 1 / self.num_batches_tracked
                    self.running_mean[...] = (1 - factor) * self.running_mean + factor * mean.reshape(-1)
                    self.running_var[...] = (1 - factor) * self.running_var + factor * var.reshape(-1) * m / (m - 1)
            else:
                mean = self.running_mean.reshape(shape)  # constants: they do not depend on x
                var = self.running_var.reshape(shape)
            inv_std = 1 / np.sqrt(var + self.eps)  # s = 1 / sqrt(sigma^2 + eps), one per channel
            xhat = (x - mean) * inv_std            # like x
            # backward needs x-hat and s (x only through them), and whether mu and sigma^2 came from
            # this batch (then they depend on x) or were the running constants
            self.save_for_backward(xhat, inv_std, use_batch_stats)
            if self.weight is None:
                return xhat
            y = xhat * self.weight.data.reshape(shape)
            if self.bias is not None:
                y = y + self.bias.data.reshape(shape)
            return y
    ''',
    task='''
    grad_output is delta = dC/dy, shaped like x: (N, C) or (N, C, L).

    Return dC/dx, the same shape. With self.weight (gamma, (C,)) and self.bias (beta, (C,))
    not None, add dC/dgamma and dC/dbeta into their .grad with nn.accumulate_grad, summed over
    every axis but the channel axis; skip a frozen one (requires_grad=False). In training mode
    mu and sigma^2 are this batch's, functions of x; in eval mode (use_batch_stats False)
    they are constants.
    ''',
    todo="BatchNorm1d.backward is yours to write: accumulate dC/dgamma and dC/dbeta, return dC/dx "
         "(through x-hat, and through mu and sigma^2 when they are batch statistics)",
    hint="Go through the forward backwards: y -> x-hat (times gamma), x-hat -> x directly and through mu "
         "and sigma^2. Every sum runs over the axes the statistics were taken over, m values per channel. "
         "In eval mode only the direct path is left.",
    cases=(
        Case(floats(4, 3), kwargs={"num_features": 3}),
        Case(floats(3, 2, 4), kwargs={"num_features": 2}),
        Case(floats(1, 3, 5), kwargs={"num_features": 3}),
        Case(floats(4, 3), kwargs={"num_features": 3}, train=False),
        Case(floats(1, 3), kwargs={"num_features": 3}, train=False),
        Case(floats(4, 3), kwargs={"num_features": 3, "affine": False}),
        Case(floats(5, 3), kwargs={"num_features": 3, "track_running_stats": False}, train=False),
        Case(floats(4, 3), kwargs={"num_features": 3, "bias": False}),
        Case(floats(4, 3), kwargs={"num_features": 3}, frozen=("weight",)),
    ),
    solution=BatchNormSolution,
    mistakes=("batch_stats_constant", "eval_stats_differentiated", "gamma_grad_without_xhat",
              "norm_gamma_missing", "grad_assigned"),
    torch=lambda torch, p, b, kw, train, x: torch.nn.functional.batch_norm(
        x, b["running_mean"].clone() if "running_mean" in b else None,
        b["running_var"].clone() if "running_var" in b else None, p.get("weight"), p.get("bias"),
        training=train or "running_mean" not in b, momentum=0.1, eps=kw.get("eps", 1e-5)),
)


class LayerNormSolution(Accumulates):
    def backward(self, grad_output):
        xhat, inv_std = self.saved_tensors
        wrong = self.mistake
        k = len(self.normalized_shape)
        batch_axes = tuple(range(xhat.ndim - k))
        axes = tuple(range(xhat.ndim - k, xhat.ndim))
        if self.weight is not None:
            to_gamma = grad_output if wrong == "gamma_grad_without_xhat" else grad_output * xhat
            self.give(self.weight, to_gamma.sum(axis=batch_axes))
        if self.bias is not None:
            self.give(self.bias, grad_output.sum(axis=batch_axes))
        missing = self.weight is None or wrong == "norm_gamma_missing"
        dxhat = grad_output if missing else grad_output * self.weight.data
        if wrong == "layernorm_stats_constant":
            return dxhat * inv_std
        return _three_term(dxhat, xhat, inv_std, batch_axes if wrong == "layernorm_wrong_axis" else axes)


mistake("layernorm_wrong_axis",
        "LayerNorm's statistics are per sample, over the normalised (last) axes, so the sums of its backward "
        "run over those axes, not over the batch as in batch norm.", "docs/modules/normalization.md")
mistake("layernorm_stats_constant",
        "LayerNorm's mean and variance were treated as constants: they are computed from the same sample, "
        "so they depend on x and add two terms to dC/dx.", "docs/modules/normalization.md")

exercise(
    name="layernorm",
    builtin=nn.LayerNorm,
    docs="docs/modules/normalization.md",
    stub='''
    class LayerNorm(nn.LayerNorm):
        """y = (x - mu) / sqrt(sigma^2 + eps) * gamma + beta, mu and the biased sigma^2 of each sample
        over its last len(normalized_shape) axes; the same in training and eval mode."""

        exercise = "layernorm"

        def forward(self, x):
            # x: (*, *normalized_shape)
            axes = tuple(range(x.ndim - len(self.normalized_shape), x.ndim))  # the normalised axes
            mean = x.mean(axis=axes, keepdims=True)
            var = x.var(axis=axes, keepdims=True)  # biased
            inv_std = 1 / np.sqrt(var + self.eps)  # s, one per sample: (*, 1, ..., 1)
            xhat = (x - mean) * inv_std            # like x
            self.save_for_backward(xhat, inv_std)  # all the backward needs: x only through them
            if self.weight is None:
                return xhat
            y = xhat * self.weight.data            # gamma, shape normalized_shape
            if self.bias is not None:
                y = y + self.bias.data
            return y
    ''',
    task='''
    grad_output is delta = dC/dy, shaped like x: (*, *normalized_shape).

    Return dC/dx, the same shape. With self.weight (gamma) and self.bias (beta), each of shape
    normalized_shape, not None, add dC/dgamma and dC/dbeta into their .grad with
    nn.accumulate_grad, summed over the leading (batch) axes; skip a frozen one
    (requires_grad=False). mu and sigma^2 are functions of x.
    ''',
    todo="LayerNorm.backward is yours to write: accumulate dC/dgamma and dC/dbeta, return dC/dx through "
         "x-hat, mu and sigma^2",
    hint="It is batch norm's backward over other axes: which axes did the forward's mean and variance "
         "run over, and how many values m? gamma's gradient sums over the others.",
    cases=(
        Case(floats(3, 4), kwargs={"normalized_shape": 4}),
        Case(floats(1, 4), kwargs={"normalized_shape": 4}),
        Case(floats(2, 3, 4), kwargs={"normalized_shape": 4}),
        Case(floats(2, 3, 4), kwargs={"normalized_shape": (3, 4)}),
        Case(floats(3, 5), kwargs={"normalized_shape": 5, "elementwise_affine": False}),
        Case(floats(3, 4), kwargs={"normalized_shape": 4, "bias": False}),
        Case(floats(3, 4), kwargs={"normalized_shape": 4}, frozen=("weight",)),
    ),
    solution=LayerNormSolution,
    mistakes=("layernorm_wrong_axis", "layernorm_stats_constant", "gamma_grad_without_xhat",
              "norm_gamma_missing", "grad_assigned"),
    torch=lambda torch, p, b, kw, train, x: torch.nn.functional.layer_norm(
        x, (kw["normalized_shape"],) if isinstance(kw["normalized_shape"], int) else tuple(kw["normalized_shape"]),
        p.get("weight"), p.get("bias"), eps=kw.get("eps", 1e-5)),
)
