"""Linear: the affine layer $z = x W^\\top + b$."""

from __future__ import annotations

import math

import numpy as np

from .._config import check_float_dtype, resolve_rng
from ._checks import as_float_array
from .module import Module, Parameter


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
        needs_input_grad: ``True`` (default): ``backward`` returns $\partial C/\partial x$.
            Set it to ``False`` on a network's first layer, whose input is data, to skip that
            product (a full GEMM, as large as the weight-gradient one) when nothing uses it;
            ``backward`` then returns ``None``, as PyTorch skips the gradient of an input
            that does not require one. Parameter gradients are unaffected.
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
        self.needs_input_grad = True
        self.reset_parameters(rng)

    def reset_parameters(self, rng=None) -> None:
        """PyTorch's default: weight and bias from U(-1/sqrt(in_features), 1/sqrt(in_features))."""
        rng = resolve_rng(rng=rng, owner="Linear")
        bound = 1.0 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
        self.weight.data[...] = rng.uniform(-bound, bound, self.weight.shape)
        if self.bias is not None:
            self.bias.data[...] = rng.uniform(-bound, bound, self.bias.shape)

    def forward(self, x):
        w = self.weight.data
        x = as_float_array(x, "Linear", dtype=w.dtype)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"Linear expected input with last dimension {self.in_features} (in_features), "
                f"got shape {x.shape}"
            )
        self._save_for_backward(x)  # BP4 needs the layer's input a^{l-1}
        z = np.matmul(x, w.T, out=self._new_array("output", x.shape[:-1] + (self.out_features,), w.dtype))
        if self.bias is not None:
            z += self.bias.data  # in place: saves allocating a second (N, out) array
        return z

    def backward(self, grad_output):
        r"""Given $\delta = \partial C / \partial z$ (``grad_output``), shape ``(*, out)``:

        - BP4, summed over the batch: $\partial C / \partial W \mathrel{+}= \delta^\top x$
          (``(out, N) @ (N, in)``);
        - BP3: $\partial C / \partial b \mathrel{+}= \sum_n \delta_n = \mathbf 1^\top \delta$;
        - the $(W^{l+1})^\top \delta^{l+1}$ half of BP2, returned: $\partial C/\partial x = \delta W$.
        """
        (x,) = self._saved()
        x_shape = x.shape
        w = self.weight.data
        grad_output = as_float_array(grad_output, "Linear.backward", "grad_output", dtype=w.dtype)
        expected = x_shape[:-1] + (self.out_features,)
        if grad_output.shape != expected:
            raise ValueError(f"Linear.backward expected grad_output of shape {expected}, got {grad_output.shape}")
        if x.ndim == 2:
            delta = grad_output
        else:  # (*, out) -> (N, out): every leading dimension is part of the batch
            rows = int(np.prod(x.shape[:-1]))  # explicit: reshape(-1, 0) cannot infer N
            delta = grad_output.reshape(rows, self.out_features)
            x = x.reshape(rows, self.in_features)
        self.weight.add_to_grad(np.matmul, delta.T, x)  # BP4: dC/dW += delta^T x
        if self.bias is not None:
            # BP3: dC/db += sum_n delta_n, as the product 1^T delta: a GEMV is about twice as
            # fast as delta.sum(0).
            ones = self._constant("_ones", 1, delta.shape[:1], delta.dtype)
            self.bias.add_to_grad(np.matmul, ones, delta)
        if not self.needs_input_grad:
            return None
        return np.matmul(grad_output, w, out=self._new_array("grad_input", x_shape, w.dtype))

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
