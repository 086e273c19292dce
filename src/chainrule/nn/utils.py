r"""Gradient clipping, as ``torch.nn.utils``: call between ``backward`` and ``optimizer.step()``::

    model.backward(loss_fn.backward())
    total = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()

A parameter whose ``.grad`` is ``None`` (no backward has written it: a frozen parameter, or
one the forward did not use) is skipped, as in PyTorch.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .module import Parameter

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _grads(parameters, owner: str) -> list[np.ndarray]:
    """The ``.grad`` arrays of ``parameters`` that have one; a ``None`` grad is skipped."""
    params = [parameters] if isinstance(parameters, Parameter) else list(parameters)
    for p in params:
        if not isinstance(p, Parameter):
            raise TypeError(f"{owner} expects Parameters (e.g. model.parameters()), got {type(p).__name__}")
    grads = [p.grad for p in params]  # read once: each read is the array itself, not a copy
    return [g for g in grads if g is not None]


def _norm_type(norm_type, owner: str) -> float:
    try:
        p = float(norm_type)  # accepts 'inf', as PyTorch
    except (TypeError, ValueError):
        raise ValueError(f"{owner} norm_type must be a positive number or inf, got {norm_type!r}") from None
    if isinstance(norm_type, (bool, np.bool_)) or not p > 0:
        raise ValueError(f"{owner} norm_type must be a positive number or inf, got {norm_type!r}")
    return p


def _vector_norm(x: np.ndarray, p: float) -> float:
    """$\\|x\\|_p$ of the flattened array, accumulated in float64."""
    a = np.abs(x.astype(np.float64, copy=False)).ravel()
    if a.size == 0:
        return 0.0
    if p == math.inf:
        return float(a.max())
    if p == 2.0:
        return math.sqrt(float(a @ a))
    return float(np.sum(a ** p) ** (1.0 / p))


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False) -> float:
    r"""Rescale the gradients so that their total norm is at most ``max_norm``, in place.

    The total norm is the norm of all gradients concatenated into one vector,

    $$\|g\|_p = \Big(\sum_i \|g_i\|_p^p\Big)^{1/p}$$

    ($\max_i \|g_i\|_\infty$ for ``norm_type=inf``). Every gradient is then multiplied by
    $\min\big(1, \text{max\_norm} / (\|g\|_p + 10^{-6})\big)$, exactly PyTorch's rule.

    Args:
        parameters: a Parameter or an iterable of Parameters (``model.parameters()``).
        max_norm: the largest total norm allowed, ``>= 0``.
        norm_type: ``p`` of the p-norm, a positive number or ``inf`` (``'inf'`` works). Default 2.
        error_if_nonfinite: raise instead of scaling when the total norm is nan or inf.

    Returns:
        The total norm of the gradients before clipping, a Python float (PyTorch returns a
        0-d tensor); ``0.0`` when no parameter has a gradient.

    Raises:
        ValueError: if ``max_norm < 0`` or ``norm_type`` is not a positive number or inf.
        RuntimeError: if ``error_if_nonfinite`` and the total norm is not finite.
    """
    owner = "clip_grad_norm_"
    grads = _grads(parameters, owner)
    if isinstance(max_norm, (bool, np.bool_)) or not isinstance(max_norm, numbers.Real) or not max_norm >= 0:
        raise ValueError(f"{owner} max_norm must be a number >= 0, got {max_norm!r}")
    p = _norm_type(norm_type, owner)
    if not grads:
        return 0.0
    norms = [_vector_norm(g, p) for g in grads]
    if p == math.inf:
        total = max(norms)
    else:
        total = float(np.sum(np.asarray(norms) ** p) ** (1.0 / p))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"{owner}: the total norm of order {norm_type} of the gradients is non-finite ({total}), "
            f"so it cannot be clipped; set error_if_nonfinite=False to scale by it anyway"
        )
    coef = min(float(max_norm) / (total + 1e-6), 1.0)
    with np.errstate(invalid="ignore"):  # inf * 0 -> nan, silently, as PyTorch
        for g in grads:
            g *= g.dtype.type(coef)  # in place: optimiser views stay valid
    return total


def clip_grad_value_(parameters, clip_value: float) -> None:
    r"""Clamp every gradient element to $[-\text{clip\_value}, \text{clip\_value}]$, in place.

    Parameters whose ``.grad`` is ``None`` are skipped.

    Args:
        parameters: a Parameter or an iterable of Parameters.
        clip_value: the largest absolute value allowed, ``>= 0``.

    Raises:
        ValueError: if ``clip_value`` is negative or not a number.
    """
    owner = "clip_grad_value_"
    grads = _grads(parameters, owner)
    if isinstance(clip_value, (bool, np.bool_)) or not isinstance(clip_value, numbers.Real) or not clip_value >= 0:
        raise ValueError(f"{owner} clip_value must be a number >= 0, got {clip_value!r}")
    for g in grads:
        np.clip(g, -clip_value, clip_value, out=g)
