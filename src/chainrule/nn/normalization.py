r"""Normalisation layers: BatchNorm1d, BatchNorm2d, LayerNorm and GroupNorm.

All four compute the same thing over different axes: subtract the mean, divide by the
standard deviation, then scale and shift,

$$\hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}, \qquad y = \gamma \odot \hat x + \beta,$$

with $\mu$ and the biased $\sigma^2$ taken over the *reduction axes*: every axis but the
channel axis for batch norm, the last ``len(normalized_shape)`` axes for layer norm, each
sample's group of channels (and all positions) for group norm. The function pairs below are
that computation (``batch_norm``/``batch_norm_backward``, ``layer_norm``/``layer_norm_backward``,
``group_norm``/``group_norm_backward``, sharing ``normalize_backward``); the modules call them.
"""

from __future__ import annotations

import math

import numpy as np

from .._config import check_float_dtype
from .. import _checks as checks
from .module import Module, Parameter, accumulate_grad


def _normalize(x: np.ndarray, mean: np.ndarray, var: np.ndarray, eps: float):
    r"""$\hat x = (x - \mu)\, s$ with $s = 1/\sqrt{\sigma^2 + \epsilon}$; returns $(\hat x, s)$."""
    inv_std = 1.0 / np.sqrt(var + eps)
    return (x - mean) * inv_std, inv_std


def normalize_backward(dxhat: np.ndarray, xhat: np.ndarray, inv_std: np.ndarray, axes: tuple) -> np.ndarray:
    r"""$\partial C/\partial x$ when $\mu$ and $\sigma^2$ are the statistics of $x$ itself over
    ``axes`` ($m$ values each): the chain rule through $\hat x$, through $\mu$ and through
    $\sigma^2$ adds up to the three-term form

    $$\frac{\partial C}{\partial x} = \frac{s}{m}\Big(m\, \hat\delta - \sum \hat\delta
      - \hat x \sum \hat\delta \odot \hat x\Big), \qquad \hat\delta = \frac{\partial C}{\partial \hat x},$$

    with the sums over ``axes`` (derived step by step on the Normalisation page). The shared
    core of ``batch_norm_backward`` and ``layer_norm_backward``."""
    m = math.prod(xhat.shape[axis] for axis in axes)
    sum_dxhat = dxhat.sum(axis=axes, keepdims=True)
    sum_dxhat_xhat = (dxhat * xhat).sum(axis=axes, keepdims=True)
    return (1.0 / m) * inv_std * (m * dxhat - sum_dxhat - xhat * sum_dxhat_xhat)


def batch_norm(input, running_mean=None, running_var=None, weight=None, bias=None, training=False, eps=1e-5):
    r"""Batch normalisation of ``input`` ``(N, C, *)`` per channel (axis 1):

    $$\hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}, \qquad y = \gamma \odot \hat x + \beta,$$

    with $\mu$, $\sigma^2$ the batch's mean and biased variance over every axis but axis 1
    when ``training`` (or when there are no running statistics), else ``running_mean`` and
    ``running_var``. Updating the running statistics is the caller's (it is state).

    Returns ``(output, xhat, inv_std, mean, var)``: $y$, $\hat x$ and
    $s = 1/\sqrt{\sigma^2+\epsilon}$ (what ``batch_norm_backward`` needs), and the statistics
    used, shaped ``(1, C, 1, ...)``.
    """
    axes = (0,) + tuple(range(2, input.ndim))  # every axis but the channel axis
    per_channel = (1, input.shape[1]) + (1,) * (input.ndim - 2)  # (C,) broadcast along axis 1
    if training or running_mean is None:
        if input.size == 0:  # an empty batch, as PyTorch: an empty output
            mean, var = np.zeros(per_channel, input.dtype), np.ones(per_channel, input.dtype)
        else:
            mean = input.mean(axis=axes, keepdims=True)
            var = input.var(axis=axes, keepdims=True)  # biased (divides by m), as in the normalisation
    else:
        mean = running_mean.reshape(per_channel)
        var = running_var.reshape(per_channel)
    xhat, inv_std = _normalize(input, mean, var, eps)
    if weight is None:
        return xhat, xhat, inv_std, mean, var
    y = xhat * weight.reshape(per_channel)
    if bias is not None:
        y += bias.reshape(per_channel)
    return y, xhat, inv_std, mean, var


def batch_norm_backward(grad_output, xhat, inv_std, weight=None, batch_stats=True, weight_grad=True,
                        bias_grad=True):
    r"""Given $\delta = \partial C/\partial y$, with sums over every axis but the channel axis:

    - $\partial C/\partial \gamma = \sum \delta \odot \hat x$,
      $\partial C/\partial \beta = \sum \delta$;
    - $\hat\delta = \delta \odot \gamma$, and with batch statistics (``batch_stats``: training
      mode, where $\mu$ and $\sigma^2$ depend on $x$)

        $$\frac{\partial C}{\partial x} = \frac{s}{m}\Big(m\,\hat\delta - \sum\hat\delta
          - \hat x \sum \hat\delta \odot \hat x\Big),$$

        with running statistics (eval mode), constants: $\partial C/\partial x = \hat\delta\, s$,

    where $s = 1/\sqrt{\sigma^2 + \epsilon}$ and $m$ is the number of values per channel.
    Returns ``(grad_input, grad_weight, grad_bias)``; ``None`` for a gradient not asked for
    (``weight_grad``/``bias_grad`` false, or no ``weight``).
    """
    axes = (0,) + tuple(range(2, xhat.ndim))
    per_channel = (1, xhat.shape[1]) + (1,) * (xhat.ndim - 2)
    grad_weight = (grad_output * xhat).sum(axis=axes) if weight is not None and weight_grad else None
    grad_bias = grad_output.sum(axis=axes) if bias_grad else None
    dxhat = grad_output if weight is None else grad_output * weight.reshape(per_channel)
    if batch_stats and xhat.size > 0:  # (an empty batch has an empty gradient)
        return normalize_backward(dxhat, xhat, inv_std, axes), grad_weight, grad_bias
    return dxhat * inv_std, grad_weight, grad_bias  # mu and sigma^2 are constants: only the direct path


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    r"""Layer normalisation over the trailing ``normalized_shape`` axes:

    $$y = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} \odot \gamma + \beta,$$

    $\mu$, $\sigma^2$ each sample's mean and biased variance over those axes. Returns
    ``(output, xhat, inv_std)``: $y$, and $\hat x$ and $s = 1/\sqrt{\sigma^2+\epsilon}$,
    all ``layer_norm_backward`` needs.
    """
    axes = tuple(range(input.ndim - len(normalized_shape), input.ndim))  # the normalised (trailing) axes
    mean = input.mean(axis=axes, keepdims=True)
    var = input.var(axis=axes, keepdims=True)  # biased
    xhat, inv_std = _normalize(input, mean, var, eps)
    if weight is None:
        return xhat, xhat, inv_std
    y = xhat * weight
    if bias is not None:
        y += bias
    return y, xhat, inv_std


def layer_norm_backward(grad_output, xhat, inv_std, normalized_shape, weight=None, weight_grad=True,
                        bias_grad=True):
    r"""Given $\delta = \partial C/\partial y$: $\partial C/\partial \gamma = \sum \delta \odot
    \hat x$ and $\partial C/\partial \beta = \sum \delta$ over the leading (batch) axes, and
    the three-term form of batch norm with the sums over the normalised axes:

    $$\frac{\partial C}{\partial x} = \frac{s}{m}\Big(m\,\hat\delta - \sum\hat\delta
      - \hat x \sum \hat\delta \odot \hat x\Big), \qquad \hat\delta = \delta \odot \gamma.$$

    Returns ``(grad_input, grad_weight, grad_bias)``, ``None`` for a gradient not asked for.
    """
    k = len(normalized_shape)
    batch_axes = tuple(range(xhat.ndim - k))
    axes = tuple(range(xhat.ndim - k, xhat.ndim))
    grad_weight = np.asarray((grad_output * xhat).sum(axis=batch_axes)) if weight is not None and weight_grad else None
    grad_bias = np.asarray(grad_output.sum(axis=batch_axes)) if bias_grad else None
    dxhat = grad_output if weight is None else grad_output * weight
    return normalize_backward(dxhat, xhat, inv_std, axes), grad_weight, grad_bias


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    r"""Group normalisation of ``input`` ``(N, C, *)``: the channels split into ``num_groups``
    groups of $C/G$, each sample's group normalised over its channels and positions,

    $$\hat x = \frac{x - \mu_{n,g}}{\sqrt{\sigma^2_{n,g} + \epsilon}}, \qquad y = \gamma_c\, \hat x + \beta_c$$

    (layer norm when $G = 1$, instance norm when $G = C$). Returns ``(output, xhat, inv_std)``,
    ``inv_std`` shaped ``(N, G, 1)``: what ``group_norm_backward`` needs."""
    N, C = input.shape[:2]
    grouped = input.reshape(N, num_groups, -1)  # (N, G, C/G * positions): one row per sample and group
    mean = grouped.mean(axis=2, keepdims=True)
    var = grouped.var(axis=2, keepdims=True)  # biased
    xhat, inv_std = _normalize(grouped, mean, var, eps)
    xhat = xhat.reshape(input.shape)
    per_channel = (1, C) + (1,) * (input.ndim - 2)
    y = xhat if weight is None else xhat * weight.reshape(per_channel)
    if bias is not None:
        y = y + bias.reshape(per_channel)
    return y, xhat, inv_std


def group_norm_backward(grad_output, xhat, inv_std, num_groups, weight=None, weight_grad=True, bias_grad=True):
    r"""Given $\delta = \partial C/\partial y$: $\partial C/\partial\gamma_c = \sum \delta\odot\hat x$ and
    $\partial C/\partial \beta_c = \sum \delta$ over every axis but the channel axis, and the
    three-term form of :func:`normalize_backward` within each sample's group, $\hat\delta = \delta\,\gamma_c$.
    Returns ``(grad_input, grad_weight, grad_bias)``, ``None`` for a gradient not asked for."""
    N, C = xhat.shape[:2]
    axes = (0,) + tuple(range(2, xhat.ndim))  # every axis but the channel axis
    per_channel = (1, C) + (1,) * (xhat.ndim - 2)
    grad_weight = (grad_output * xhat).sum(axis=axes) if weight is not None and weight_grad else None
    grad_bias = grad_output.sum(axis=axes) if bias_grad else None
    dxhat = grad_output if weight is None else grad_output * weight.reshape(per_channel)
    grad_input = normalize_backward(dxhat.reshape(N, num_groups, -1), xhat.reshape(N, num_groups, -1), inv_std, (2,))
    return grad_input.reshape(xhat.shape), grad_weight, grad_bias


class _AffineNorm(Module):
    r"""What BatchNorm, LayerNorm and GroupNorm share around their pair: $\gamma$ (``weight``) and
    $\beta$ (``bias``), each a parameter or ``None``."""

    def reset_parameters(self) -> None:
        r"""PyTorch's init: $\gamma = 1$, $\beta = 0$."""
        if self.weight is not None:
            self.weight.data[...] = 1.0
        if self.bias is not None:
            self.bias.data[...] = 0.0

    def _gamma_beta(self) -> tuple:
        """The arrays the pair takes: ``(gamma, beta)``, ``None`` for an absent one."""
        return (None if self.weight is None else self.weight.data, None if self.bias is None else self.bias.data)

    def _wanted(self) -> dict:
        """Which parameter gradients the pair computes: not for an absent or frozen one."""
        return {"weight_grad": self.weight is not None and self.weight.requires_grad,
                "bias_grad": self.bias is not None and self.bias.requires_grad}

    def _accumulate(self, grad_weight, grad_bias) -> None:
        if grad_weight is not None:
            accumulate_grad(self.weight, grad_weight)
        if grad_bias is not None:
            accumulate_grad(self.bias, grad_bias)


class _BatchNorm(_AffineNorm):
    r"""The batch norm shared by ``BatchNorm1d`` and ``BatchNorm2d``: channel axis 1, statistics
    over every other axis (``(N,)``, ``(N, L)`` or ``(N, H, W)`` positions per channel)."""

    _input_dims: tuple = ()  # the input ranks a subclass accepts
    _input_shape: str = ""  # and how its docstring and errors write them

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, *, bias: bool = True, dtype=None):
        super().__init__()
        name = type(self).__name__
        self.num_features = checks.integer(num_features, name, "num_features", minimum=1, type_error=ValueError)
        self.eps = checks.norm_eps(eps, name)
        self.momentum = None if momentum is None else checks.in_range(
            momentum, name, "momentum", finite=True, words="a finite number or None", type_error=ValueError)
        self.affine = checks.flag(affine, name, "affine")
        self.track_running_stats = checks.flag(track_running_stats, name, "track_running_stats")
        bias = checks.flag(bias, name, "bias")
        dtype = check_float_dtype(dtype, name)
        # Registered in PyTorch's order, so state_dict's keys and order are PyTorch's.
        self.register_parameter("weight", Parameter(np.empty(self.num_features, dtype=dtype)) if self.affine else None)
        self.register_parameter("bias", Parameter(np.empty(self.num_features, dtype=dtype))
                                if self.affine and bias else None)
        if self.track_running_stats:
            self.register_buffer("running_mean", np.zeros(self.num_features, dtype=dtype))
            self.register_buffer("running_var", np.ones(self.num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self._dtype = dtype
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        """running_mean to 0, running_var to 1, num_batches_tracked to 0 (in place)."""
        if self.track_running_stats:
            self.running_mean[...] = 0.0
            self.running_var[...] = 1.0
            self.num_batches_tracked[...] = 0

    def reset_parameters(self) -> None:
        r"""PyTorch's init: $\gamma = 1$, $\beta = 0$, and fresh running statistics."""
        self.reset_running_stats()
        super().reset_parameters()

    def forward(self, input):
        # Batch statistics in training mode, and in eval mode when no running statistics exist.
        use_batch_stats = self.training or self.running_mean is None
        # A module computes in the dtype of its state (parameters, else running statistics).
        x = checks.batch_norm_input(self, input, self.weight.dtype if self.weight is not None else self._dtype,
                                    use_batch_stats)
        y, xhat, inv_std, mean, var = batch_norm(x, self.running_mean, self.running_var, *self._gamma_beta(),
                                                 use_batch_stats, self.eps)
        if self.training and self.track_running_stats:
            self._update_running_stats(mean.reshape(-1), var.reshape(-1), x.size // self.num_features)
        # Backward needs x-hat and 1/std (x itself only through them), and whether mu and
        # sigma^2 depended on x (batch statistics) or were constants (running statistics).
        self.save_for_backward(xhat, inv_std, use_batch_stats)
        return y

    def _update_running_stats(self, mean: np.ndarray, var: np.ndarray, m: int) -> None:
        r"""$r \leftarrow (1 - \text{momentum})\, r + \text{momentum} \cdot \text{stat}$, in place, with the
        unbiased variance $\sigma^2 m/(m-1)$; ``momentum=None`` averages every batch so far equally
        (the factor is $1/\text{num\_batches\_tracked}$)."""
        self.num_batches_tracked += 1
        if m == 0:
            return  # an empty batch is counted, but has no statistics to average in (as PyTorch)
        factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        unbiased_var = var * (m / (m - 1))
        self.running_mean[...] = (1.0 - factor) * self.running_mean + factor * mean
        self.running_var[...] = (1.0 - factor) * self.running_var + factor * unbiased_var

    def backward(self, grad_output):
        r"""Accumulates $\partial C/\partial \gamma$ and $\partial C/\partial \beta$ and returns
        $\partial C/\partial x$, as :func:`batch_norm_backward` derives them."""
        xhat, inv_std, use_batch_stats = self.saved_tensors
        grad_output = checks.grad_output(self, grad_output, xhat.shape, xhat.dtype)
        grad_input, grad_weight, grad_bias = batch_norm_backward(
            grad_output, xhat, inv_std, self._gamma_beta()[0], use_batch_stats, **self._wanted())
        self._accumulate(grad_weight, grad_bias)
        return grad_input

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    r"""Batch normalisation over a 2-D or 3-D input, as ``torch.nn.BatchNorm1d``.

    $$y = \frac{x - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}}\, \gamma + \beta$$

    per channel $c$ (axis 1), with the mean $\mu_B$ and the biased variance $\sigma_B^2$ over the
    batch (and the length $L$, for 3-D input). In training mode those are the batch's statistics,
    and the running statistics are updated:
    $\hat r \leftarrow (1-\text{momentum})\,\hat r + \text{momentum}\cdot r_B$, with the unbiased
    variance for ``running_var``. In eval mode the running statistics are used instead.

    Args:
        num_features: $C$, the number of channels.
        eps: added to the variance, for stability. Default 1e-5.
        momentum: weight of the new batch in the running averages; ``None`` gives the
            cumulative moving average (every batch weighted equally). Default 0.1.
        affine: if ``True``, learn $\gamma$ (``weight``) and $\beta$ (``bias``).
        track_running_stats: if ``True``, keep the running statistics and use them in eval mode;
            if ``False``, the buffers are ``None`` and batch statistics are used in both modes.
        bias: with ``affine``, ``False`` learns $\gamma$ only (PyTorch's keyword, too).
        dtype: ``np.float32`` or ``np.float64``; default ``chainrule.get_default_dtype()``.

    Shape:
        ``(N, C)`` or ``(N, C, L)`` -> the same shape.

    Attributes:
        weight: $\gamma$, ``(C,)``, initialised to ones (or ``None`` without ``affine``).
        bias: $\beta$, ``(C,)``, initialised to zeros (or ``None``).
        running_mean: buffer ``(C,)``, zeros at first.
        running_var: buffer ``(C,)``, ones at first.
        num_batches_tracked: 0-d ``int64`` buffer, the number of training batches seen.

    Raises:
        ValueError: in training mode, when a channel has only one value (``N * L == 1``):
            its variance is undefined.
    """

    _input_dims = (2, 3)
    _input_shape = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    r"""Batch normalisation over a 4-D input ``(N, C, H, W)``, as ``torch.nn.BatchNorm2d``:
    the computation of :class:`BatchNorm1d`, with statistics per channel over ``(N, H, W)``.

    Args:
        num_features: $C$, the number of channels.
        eps: added to the variance, for stability. Default 1e-5.
        momentum: weight of the new batch in the running averages; ``None`` gives the
            cumulative moving average. Default 0.1.
        affine: if ``True``, learn $\gamma$ (``weight``) and $\beta$ (``bias``).
        track_running_stats: if ``True``, keep running statistics and use them in eval mode.
        bias: with ``affine``, ``False`` learns $\gamma$ only.
        dtype: ``np.float32`` or ``np.float64``; default ``chainrule.get_default_dtype()``.

    Shape:
        ``(N, C, H, W)`` -> the same shape.

    Attributes:
        weight: $\gamma$, ``(C,)``, initialised to ones (or ``None`` without ``affine``).
        bias: $\beta$, ``(C,)``, initialised to zeros (or ``None``).
        running_mean: buffer ``(C,)``, zeros at first.
        running_var: buffer ``(C,)``, ones at first.
        num_batches_tracked: 0-d ``int64`` buffer, the number of training batches seen.
    """

    _input_dims = (4,)
    _input_shape = "(N, C, H, W)"


class LayerNorm(_AffineNorm):
    r"""Layer normalisation over the last ``len(normalized_shape)`` dimensions, as
    ``torch.nn.LayerNorm``:

    $$y = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} \odot \gamma + \beta,$$

    with the mean $\mu$ and the biased variance $\sigma^2$ of each sample over the normalised
    dimensions: the batch-norm computation over other axes, with no running statistics, the
    same in training and eval mode.

    Args:
        normalized_shape: an int or a tuple of ints, the trailing shape to normalise over.
        eps: added to the variance, for stability. Default 1e-5.
        elementwise_affine: if ``True``, learn $\gamma$ (``weight``) and $\beta$ (``bias``),
            each of shape ``normalized_shape``.
        bias: with ``elementwise_affine``, ``False`` learns $\gamma$ only.
        dtype: ``np.float32`` or ``np.float64``; default ``chainrule.get_default_dtype()``.

    Shape:
        ``(*, *normalized_shape)`` -> the same shape.

    Attributes:
        weight: $\gamma$, shape ``normalized_shape``, ones (or ``None``).
        bias: $\beta$, shape ``normalized_shape``, zeros (or ``None``).
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
                 *, dtype=None):
        super().__init__()
        self.normalized_shape = checks.normalized_shape(normalized_shape, "LayerNorm")
        self.eps = checks.norm_eps(eps, "LayerNorm")
        self.elementwise_affine = checks.flag(elementwise_affine, "LayerNorm", "elementwise_affine")
        bias = checks.flag(bias, "LayerNorm", "bias")
        dtype = check_float_dtype(dtype, "LayerNorm")
        self.register_parameter("weight", Parameter(np.empty(self.normalized_shape, dtype=dtype))
                                if self.elementwise_affine else None)
        self.register_parameter("bias", Parameter(np.empty(self.normalized_shape, dtype=dtype))
                                if self.elementwise_affine and bias else None)
        self.reset_parameters()

    def forward(self, input):
        # With gamma, computed in its dtype; without, in the input's (as an activation).
        x = checks.layer_norm_input(input, "LayerNorm", self.normalized_shape,
                                    None if self.weight is None else self.weight.dtype)
        y, xhat, inv_std = layer_norm(x, self.normalized_shape, *self._gamma_beta(), self.eps)
        self.save_for_backward(xhat, inv_std)  # all the three-term backward needs
        return y

    def backward(self, grad_output):
        r"""Accumulates $\partial C/\partial \gamma$ and $\partial C/\partial \beta$ and returns
        $\partial C/\partial x$, as :func:`layer_norm_backward` derives them."""
        xhat, inv_std = self.saved_tensors
        grad_output = checks.grad_output("LayerNorm", grad_output, xhat.shape, xhat.dtype)
        grad_input, grad_weight, grad_bias = layer_norm_backward(
            grad_output, xhat, inv_std, self.normalized_shape, self._gamma_beta()[0], **self._wanted())
        self._accumulate(grad_weight, grad_bias)
        return grad_input

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class GroupNorm(_AffineNorm):
    r"""Group normalisation, as ``torch.nn.GroupNorm``: the ``num_channels`` channels of
    ``(N, C, *)`` split into ``num_groups`` groups, each sample's group normalised over its
    channels and positions, then a per-channel scale and shift:

    $$y = \frac{x - \mu_{n,g}}{\sqrt{\sigma^2_{n,g} + \epsilon}}\, \gamma_c + \beta_c.$$

    Like layer norm it has no running statistics and does not depend on the batch; the
    backward is :func:`group_norm_backward`.

    Args:
        num_groups: $G$, which must divide ``num_channels``.
        num_channels: $C$, the size of axis 1.
        eps: added to the variance, for stability. Default 1e-5.
        affine: if ``True``, learn $\gamma$ (``weight``, ones) and $\beta$ (``bias``, zeros), each ``(C,)``.
        bias: with ``affine``, ``False`` learns $\gamma$ only.
        dtype: ``np.float32`` or ``np.float64``; default ``chainrule.get_default_dtype()``.

    Shape:
        ``(N, C, *)`` -> the same shape.
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True, *,
                 bias: bool = True, dtype=None):
        super().__init__()
        self.num_groups, self.num_channels = checks.groups_of_channels(num_groups, num_channels, "GroupNorm")
        self.eps = checks.norm_eps(eps, "GroupNorm")
        self.affine = checks.flag(affine, "GroupNorm", "affine")
        bias = checks.flag(bias, "GroupNorm", "bias")
        dtype = check_float_dtype(dtype, "GroupNorm")
        self.register_parameter("weight", Parameter(np.empty(num_channels, dtype=dtype)) if self.affine else None)
        self.register_parameter("bias", Parameter(np.empty(num_channels, dtype=dtype)) if self.affine and bias else None)
        self.reset_parameters()

    def forward(self, input):
        x = checks.channels_input(self, input, self.num_channels, None if self.weight is None else self.weight.dtype)
        y, xhat, inv_std = group_norm(x, self.num_groups, *self._gamma_beta(), self.eps)
        self.save_for_backward(xhat, inv_std)  # the three-term backward needs x only through them
        return y

    def backward(self, grad_output):
        r"""Accumulates $\partial C/\partial \gamma$ and $\partial C/\partial \beta$ and returns
        $\partial C/\partial x$, as :func:`group_norm_backward` derives them."""
        xhat, inv_std = self.saved_tensors
        grad_output = checks.grad_output("GroupNorm", grad_output, xhat.shape, xhat.dtype)
        grad_input, grad_weight, grad_bias = group_norm_backward(
            grad_output, xhat, inv_std, self.num_groups, self._gamma_beta()[0], **self._wanted())
        self._accumulate(grad_weight, grad_bias)
        return grad_input

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, bias={self.bias is not None}"
