"""Dropout: inverted dropout in training mode, the identity in eval mode."""

from __future__ import annotations

import numpy as np

from .._config import resolve_rng
from .._checks import as_float_array
from .module import Module


class Dropout(Module):
    r"""Zero each element with probability $p$ during training and scale the survivors by
    $1/(1-p)$, so the expected output equals the input and eval mode needs no rescaling.

    Args:
        p: probability of zeroing an element, in $[0, 1]$. Default 0.5.
        rng: ``numpy.random.Generator`` for the masks; default the package's generator
            (read at each forward, so ``chainrule.manual_seed`` takes effect).

    Shape: ``(*) -> (*)``.
    """

    def __init__(self, p: float = 0.5, *, rng=None):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout p must be a probability in [0, 1], got {p!r}")
        self.p = float(p)
        self.rng = rng

    def forward(self, x):
        x = as_float_array(x, "Dropout")
        if not self.training or self.p == 0.0:
            self.save_for_backward(None)  # the identity: backward passes grad_output through
            return x
        if self.p == 1.0:
            mask = np.zeros_like(x)
        else:
            keep = resolve_rng(rng=self.rng, owner="Dropout").random(x.shape) >= self.p
            mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - self.p))
        self.save_for_backward(mask)  # backward multiplies by the same scaled mask
        return np.asarray(x * mask)  # asarray: a 0-d input stays an array

    def backward(self, grad_output):
        r"""$\partial C/\partial x = \partial C/\partial y \odot m / (1-p)$, with the forward's 0/1 mask
        $m$ (kept already scaled, as ``mask`` $= m/(1-p)$)."""
        (mask,) = self.saved_tensors
        grad_output = np.asarray(grad_output)
        if mask is None:
            return grad_output
        if grad_output.shape != mask.shape:
            raise ValueError(f"Dropout.backward expected grad_output of shape {mask.shape}, got {grad_output.shape}")
        return np.asarray(grad_output * mask)

    def extra_repr(self) -> str:
        return f"p={self.p}"
