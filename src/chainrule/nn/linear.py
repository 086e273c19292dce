"""Linear: the affine layer $z = x W^\\top + b$."""

from __future__ import annotations

import math

import numpy as np

from .._config import check_float_dtype, resolve_rng
from .._checks import as_float_array
from .module import Module, Parameter, accumulate_grad


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
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"Linear {name} must be a non-negative int, got {value!r}")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
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

    def forward(self, x):
        x = as_float_array(x, "Linear", dtype=self.weight.dtype)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"Linear expected input with last dimension {self.in_features} (in_features), "
                f"got shape {x.shape}"
            )
        self.save_for_backward(x)  # BP4 needs the layer's input a^{l-1}
        # Every leading dimension is part of the batch: one GEMM over all rows (NumPy would
        # run a 3-D @ 2-D product as one small GEMM per leading index).
        rows = math.prod(x.shape[:-1])
        z = x.reshape(rows, self.in_features) @ self.weight.data.T
        if self.bias is not None:
            z += self.bias.data
        return z.reshape(*x.shape[:-1], self.out_features)

    def backward(self, grad_output):
        r"""Given $\delta = \partial C / \partial z$ (``grad_output``), shape ``(*, out)``:

        - BP4, summed over the batch: $\partial C / \partial W \mathrel{+}= \delta^\top x$
          (``(out, N) @ (N, in)``);
        - BP3, summed over the batch: $\partial C / \partial b \mathrel{+}= \sum_n \delta_n$;
        - the $(W^{l+1})^\top \delta^{l+1}$ half of BP2, returned: $\partial C/\partial x = \delta W$.

        A frozen parameter (``requires_grad=False``) gets no gradient.
        """
        (x,) = self.saved_tensors
        grad_output = as_float_array(grad_output, "Linear.backward", "grad_output", dtype=self.weight.dtype)
        if grad_output.shape != x.shape[:-1] + (self.out_features,):
            raise ValueError(
                f"Linear.backward expected grad_output of shape {x.shape[:-1] + (self.out_features,)}, "
                f"got {grad_output.shape}"
            )
        # Every leading dimension is part of the batch: (*, features) -> (rows, features).
        rows = math.prod(x.shape[:-1])
        delta = grad_output.reshape(rows, self.out_features)
        if self.weight.requires_grad:
            accumulate_grad(self.weight, delta.T @ x.reshape(rows, self.in_features))  # BP4
        if self.bias is not None and self.bias.requires_grad:
            accumulate_grad(self.bias, delta.sum(axis=0))  # BP3
        if not self.needs_input_grad:
            return None  # the input is data: nothing upstream needs dC/dx (see Module)
        return grad_output @ self.weight.data  # the (W^{l+1})^T delta^{l+1} half of BP2

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
