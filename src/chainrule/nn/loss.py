r"""Losses: the cost $C$ at the end of the chain, and $\nabla_a C$ that starts backprop (BP1).

A loss is a module: ``forward(input, target)`` returns the loss (a Python float for
``reduction='mean'``/``'sum'``, an array for ``'none'``) and ``backward(grad=1.0)`` returns
$\partial(\text{grad}\cdot C)/\partial\,\text{input}$, shaped like ``input``. The $1/N$ of a mean
lives here, and only here: layers sum over the batch.
"""

from __future__ import annotations

import numpy as np

from ._checks import as_float_array, check_reduction
from .module import Module


class _Loss(Module):
    """Shared by every loss: the ``reduction`` option and the ``grad`` argument of backward."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = check_reduction(reduction, type(self).__name__)

    def _reduce(self, losses: np.ndarray, denominator=None):
        """Reduce per-element losses; ``denominator`` overrides the count for 'mean'."""
        if self.reduction == "none":
            return losses
        total = np.add.reduce(losses, axis=None)
        if self.reduction == "sum":
            return float(total)
        return float(total / (losses.size if denominator is None else denominator))

    def _upstream(self, grad, loss_shape: tuple, dtype) -> np.ndarray:
        """The gradient arriving at the loss value: a scalar for 'mean'/'sum', an array shaped
        like the loss for 'none'."""
        owner = f"{type(self).__name__}.backward"
        grad = as_float_array(grad, owner, "grad", dtype=dtype)
        expected = loss_shape if self.reduction == "none" else ()
        if grad.shape != expected:
            raise ValueError(
                f"{owner} expected grad of shape {expected} for reduction={self.reduction!r}, got {grad.shape}"
            )
        return grad

    def _check_same_shape(self, input: np.ndarray, target: np.ndarray) -> None:
        if input.shape != target.shape:
            raise ValueError(
                f"{type(self).__name__} expected target of the same shape as input {input.shape}, "
                f"got {target.shape}"
            )

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}" if self.reduction != "mean" else ""


class MSELoss(_Loss):
    r"""Mean squared error: $\ell_i = (x_i - y_i)^2$, then mean, sum or none.

    Note: no $\tfrac12$. PyTorch's convention (and ours) is $C = \frac1n\sum_i (x_i - y_i)^2$;
    the classic derivations' $C = \tfrac12\lVert y - a\rVert^2$ is ``0.5 * MSELoss(reduction='sum')``.

    Args:
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Shape: input ``(*)``, target the same shape; output a float, or ``(*)`` for ``'none'``.
    """

    def forward(self, input, target):
        input = as_float_array(input, "MSELoss", "input")
        target = as_float_array(target, "MSELoss", "target", dtype=input.dtype)
        self._check_same_shape(input, target)
        diff = input - target
        self._save_for_backward(diff)  # dC/dx = 2 (x - y) / n needs only the difference
        return self._reduce(diff * diff)

    def backward(self, grad=1.0):
        r"""BP1 for this cost: $\partial C/\partial x_i = 2 (x_i - y_i)\cdot g$, divided by $n$ for 'mean'."""
        (diff,) = self._saved()
        g = self._upstream(grad, diff.shape, diff.dtype)
        scale = 2 * g / diff.size if self.reduction == "mean" else 2 * g
        return diff * scale


class CrossEntropyLoss(_Loss):  # placeholder until the loss work lands
    pass


class BCELoss(_Loss):  # placeholder until the loss work lands
    pass


class BCEWithLogitsLoss(_Loss):  # placeholder until the loss work lands
    pass
