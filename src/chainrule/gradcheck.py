"""Check a hand-written backward against central finite differences, in float64."""

from __future__ import annotations

import math
import numbers

import numpy as np

from .grad_mode import enable_grad, no_grad
from .nn.module import Module


class GradcheckError(AssertionError):
    """Raised by :func:`gradcheck` when an analytic gradient disagrees with the numeric one."""


def _scalar_objective(output, upstream) -> float:
    return float(np.sum(np.asarray(output, dtype=np.float64) * upstream))


def gradcheck(fn_or_module, *inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0) -> bool:
    r"""Compare ``backward`` with central finite differences, for the inputs and every parameter.

    ``fn_or_module`` need not return a scalar, so the check first makes one: it draws a
    fixed random array $g$ shaped like the output $f = f(x; \theta)$ (standard normal, from
    ``seed``; $g = 1$ when $f$ is a scalar, as a reduced loss is) and defines

    $$L = \sum g \odot f ,$$

    whose gradient with respect to $f$ is $g$ itself. One forward and one ``backward(g)``
    therefore give the analytic $\partial L/\partial x$ (returned) and
    $\partial L/\partial\theta$ (accumulated into each ``.grad``). Then, one element $v$ of
    an input or a parameter at a time, it sets $v \pm \epsilon$, recomputes $L$ with a
    forward, and compares that element of the analytic gradient with the central difference

    $$\frac{L(v + \epsilon) - L(v - \epsilon)}{2\epsilon},$$

    all other elements held fixed. A random $g$ weights every output element differently,
    so an error in any part of ``backward`` shows up.

    Everything runs in float64: float inputs are converted, and a module's parameters are
    cast to float64 for the check and restored (values, dtype and ``.grad``) afterwards.
    Integer inputs (class labels) are passed through and not differentiated. A frozen
    parameter (``requires_grad=False``) is not checked; a parameter whose ``.grad`` is
    still ``None`` after the backward is checked against a gradient of zeros. The
    finite-difference forwards run under :class:`~chainrule.no_grad`: they keep no cache.

    Args:
        fn_or_module: a :class:`~chainrule.nn.Module` (or any callable with a ``backward``).
            ``backward`` returns the gradient for the first input, or a tuple with one per
            input; inputs beyond those it returns are treated as constants (a loss's target).
            It must be deterministic (put Dropout in eval mode or give it a reseeded ``rng``).
        *inputs: the arrays passed to ``fn_or_module``.
        eps: the finite-difference step, a finite number > 0.
        atol: absolute tolerance, a finite number >= 0: an element passes when
            $|a - n| \le \text{atol} + \text{rtol}\,|n|$.
        rtol: relative tolerance (see ``atol``), a finite number >= 0.
        seed: seeds the random upstream gradient $g$.

    Returns:
        ``True`` when every element agrees.

    Raises:
        GradcheckError: naming the input or parameter, the index and both values.
        TypeError: if ``fn_or_module`` has no ``backward``, or ``eps``, ``atol`` or ``rtol``
            is not a real number.
        ValueError: if ``eps <= 0`` (the difference quotient would be 0/0), ``atol`` or
            ``rtol`` is negative, or any of them is NaN or infinite.
    """
    if not hasattr(fn_or_module, "backward") or not callable(fn_or_module):
        raise TypeError(f"gradcheck expects a Module or a callable with backward(), got {type(fn_or_module).__name__}")
    eps = _check_tolerance("eps", eps, "a finite number > 0", lambda v: v > 0)
    atol = _check_tolerance("atol", atol, "a finite number >= 0", lambda v: v >= 0)
    rtol = _check_tolerance("rtol", rtol, "a finite number >= 0", lambda v: v >= 0)
    inputs = [
        np.array(x, dtype=np.float64) if np.asarray(x).dtype.kind == "f" else np.asarray(x) for x in inputs
    ]
    params = list(fn_or_module.named_parameters()) if isinstance(fn_or_module, Module) else []
    saved = [(p, p.data, p.grad) for _, p in params]
    try:
        for _, p in params:
            p.data = p.data.astype(np.float64)
            p.grad = None  # so the backward below stores exactly its own gradient
        with enable_grad():  # even inside a no_grad block
            output = fn_or_module(*inputs)  # keeps the cache the backward below uses
        rng = np.random.default_rng(seed)
        upstream = 1.0 if np.ndim(output) == 0 else rng.standard_normal(np.shape(output))
        analytic = fn_or_module.backward(upstream)
        analytic = analytic if isinstance(analytic, tuple) else (analytic,)

        @no_grad()  # never followed by a backward: keep no cache, warn about none
        def objective() -> float:
            return _scalar_objective(fn_or_module(*inputs), upstream)

        targets = [(f"input {i}", x, g) for i, (x, g) in enumerate(zip(inputs, analytic)) if x.dtype.kind == "f"]
        targets += [(f"parameter {name!r}", p.data, np.zeros_like(p.data) if p.grad is None else p.grad.copy())
                    for name, p in params if getattr(p, "requires_grad", True)]
        for label, array, grad in targets:
            grad = np.asarray(grad)
            if grad.shape != array.shape:
                raise GradcheckError(f"gradcheck: gradient of {label} has shape {grad.shape}, expected {array.shape}")
            for index in np.ndindex(array.shape):
                original = array[index]
                array[index] = original + eps
                plus = objective()
                array[index] = original - eps
                minus = objective()
                array[index] = original
                numeric = (plus - minus) / (2 * eps)
                if not abs(grad[index] - numeric) <= atol + rtol * abs(numeric):
                    raise GradcheckError(
                        f"gradcheck failed for {type(fn_or_module).__name__}: {label} at index {index}: "
                        f"analytic {float(grad[index])!r}, numeric {numeric!r}"
                    )
    finally:
        for p, data, grad in saved:
            p.data, p.grad = data, grad
    return True


def _check_tolerance(name: str, value, expected: str, valid) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"gradcheck {name} must be {expected}, got {value!r}")
    if not (math.isfinite(value) and valid(value)):
        raise ValueError(f"gradcheck {name} must be {expected}, got {value!r}")
    return float(value)
