"""Linear: the affine layer $z = x W^\\top + b$."""

from __future__ import annotations

import math

import numpy as np

from .._config import check_float_dtype, resolve_rng
from .. import _checks as checks
from .module import Module, Parameter, accumulate_grad


def linear(input, weight, bias=None):
    r"""$z = x W^\top + b$ over the last axis: ``(*, in) -> (*, out)``."""
    # Every leading dimension is part of the batch: one GEMM over all rows (NumPy would
    # run a 3-D @ 2-D product as one small GEMM per leading index).
    out_features, in_features = weight.shape
    rows = math.prod(input.shape[:-1])
    z = input.reshape(rows, in_features) @ weight.T
    if bias is not None:
        z += bias
    return z.reshape(*input.shape[:-1], out_features)


def linear_backward(grad_output, input, weight, bias=True, weight_grad=True, input_grad=True):
    r"""Given $\delta = \partial C / \partial z$ (``grad_output``, shape ``(*, out)``) and the
    forward's ``input`` $x$:

    - BP4, summed over the batch: $\partial C / \partial W = \delta^\top x$
      (``(out, N) @ (N, in)``);
    - BP3, summed over the batch: $\partial C / \partial b = \sum_n \delta_n$;
    - the $(W^{l+1})^\top \delta^{l+1}$ half of BP2: $\partial C/\partial x = \delta W$.

    Returns ``(grad_input, grad_weight, grad_bias)``; each is ``None`` when its flag
    (``input_grad``, ``weight_grad``, ``bias``) is ``False``, and its product is skipped.
    """
    out_features, in_features = weight.shape
    # Every leading dimension is part of the batch: (*, features) -> (rows, features), one GEMM
    # each (a 3-D @ 2-D product would be one small GEMM per leading index, 15-25% slower).
    rows = math.prod(input.shape[:-1])
    delta = grad_output.reshape(rows, out_features)
    grad_weight = delta.T @ input.reshape(rows, in_features) if weight_grad else None  # BP4
    grad_bias = delta.sum(axis=0) if bias else None  # BP3
    grad_input = (delta @ weight).reshape(input.shape) if input_grad else None  # the (W^{l+1})^T delta^{l+1} half of BP2
    return grad_input, grad_weight, grad_bias


class Linear(Module):
    r"""Affine map $z = x W^\top + b$, applied to the last dimension.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: if ``False``, the layer learns no additive bias.
        dtype: ``np.float32`` or ``np.float64``; default ``chainrule.get_default_dtype()``.
        rng: ``numpy.random.Generator`` for the initial values; default the package's
            generator (``chainrule.manual_seed``).

    Shape:
        ``(*, in_features) -> (*, out_features)``: ``(N, in)``, ``(in,)`` and ``(B, T, in)``
        all work.

    Attributes:
        weight: ``(out_features, in_features)``, initialised from
            $\mathcal U(-1/\sqrt{\text{in}}, 1/\sqrt{\text{in}})$ as in PyTorch.
        bias: ``(out_features,)``, same distribution, or ``None``.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *, dtype=None, rng=None):
        super().__init__()
        self.in_features = checks.integer(in_features, "Linear", "in_features", minimum=0, type_error=ValueError)
        self.out_features = checks.integer(out_features, "Linear", "out_features", minimum=0, type_error=ValueError)
        dtype = check_float_dtype(dtype, "Linear")
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype=dtype))
        self.register_parameter("bias", Parameter(np.empty(self.out_features, dtype=dtype)) if bias else None)
        self.reset_parameters(rng)

    def reset_parameters(self, rng=None) -> None:
        """PyTorch's default: weight and bias from U(-1/sqrt(in_features), 1/sqrt(in_features))."""
        rng = resolve_rng(rng=rng, owner="Linear")
        bound = 1.0 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
        self.weight.data[...] = rng.uniform(-bound, bound, self.weight.shape)
        if self.bias is not None:
            self.bias.data[...] = rng.uniform(-bound, bound, self.bias.shape)

    def forward(self, input):
        x = checks.linear_input(self, input)
        self.save_for_backward(x)  # BP4 needs the layer's input a^{l-1}
        return linear(x, self.weight.data, None if self.bias is None else self.bias.data)

    def backward(self, grad_output):
        r"""BP2–BP4 through ``linear_backward``; adds $\partial C/\partial W$ and
        $\partial C/\partial b$ into ``.grad`` and returns $\partial C/\partial x = \delta W$.

        A frozen parameter (``requires_grad=False``) gets no gradient; with
        ``needs_input_grad = False`` the input product is skipped and ``None`` returned.
        """
        (x,) = self.saved_tensors
        grad_output = checks.linear_grad_output(self, grad_output, x.shape[:-1] + (self.out_features,))
        grad_input, grad_weight, grad_bias = linear_backward(
            grad_output, x, self.weight.data,
            bias=self.bias is not None and self.bias.requires_grad,
            weight_grad=self.weight.requires_grad, input_grad=self.needs_input_grad)
        if self.weight.requires_grad:
            accumulate_grad(self.weight, grad_weight)
        if grad_bias is not None:
            accumulate_grad(self.bias, grad_bias)
        return grad_input  # None when the input is data (needs_input_grad = False, see Module)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
