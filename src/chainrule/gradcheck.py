"""Check a hand-written backward against central finite differences, in float64."""

from __future__ import annotations

import numpy as np

from .nn.module import Module


class GradcheckError(AssertionError):
    """Raised by :func:`gradcheck` when an analytic gradient disagrees with the numeric one."""


def _scalar_objective(output, upstream) -> float:
    return float(np.sum(np.asarray(output, dtype=np.float64) * upstream))


def gradcheck(fn_or_module, *inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0) -> bool:
    r"""Compare ``backward`` with central finite differences, for the inputs and every parameter.

    The check builds the scalar $L = \sum g \odot f(x)$ for a fixed random $g$ (or $g = 1$
    when $f$ returns a scalar, as a reduced loss does), asks ``backward(g)`` for the
    analytic gradients, and compares each element with

    $$\frac{L(\theta + \epsilon) - L(\theta - \epsilon)}{2\epsilon}.$$

    Everything runs in float64: float inputs are converted, and a module's parameters are
    cast to float64 for the check and restored (values, dtype and ``.grad``) afterwards.
    Integer inputs (class labels) are passed through and not differentiated.

    Args:
        fn_or_module: a :class:`~chainrule.nn.Module` (or any callable with a ``backward``).
            ``backward`` returns the gradient for the first input, or a tuple with one per
            input; inputs beyond those it returns are treated as constants (a loss's target).
            It must be deterministic (put Dropout in eval mode or give it a reseeded ``rng``).
        *inputs: the arrays passed to ``fn_or_module``.
        eps: the finite-difference step.
        atol: absolute tolerance: an element passes when
            $|a - n| \le \text{atol} + \text{rtol}\,|n|$.
        rtol: relative tolerance (see ``atol``).
        seed: seeds the random upstream gradient $g$.

    Returns:
        ``True`` when every element agrees.

    Raises:
        GradcheckError: naming the input or parameter, the index and both values.
    """
    if not hasattr(fn_or_module, "backward") or not callable(fn_or_module):
        raise TypeError(f"gradcheck expects a Module or a callable with backward(), got {type(fn_or_module).__name__}")
    inputs = [
        np.array(x, dtype=np.float64) if np.asarray(x).dtype.kind == "f" else np.asarray(x) for x in inputs
    ]
    params = list(fn_or_module.named_parameters()) if isinstance(fn_or_module, Module) else []
    saved = [(p, p.data, p.grad) for _, p in params]
    try:
        for _, p in params:
            p.data = p.data.astype(np.float64)
            p.grad = np.zeros_like(p.data)
        output = fn_or_module(*inputs)
        rng = np.random.default_rng(seed)
        upstream = 1.0 if np.ndim(output) == 0 else rng.standard_normal(np.shape(output))
        analytic = fn_or_module.backward(upstream)
        analytic = analytic if isinstance(analytic, tuple) else (analytic,)

        def objective() -> float:
            return _scalar_objective(fn_or_module(*inputs), upstream)

        targets = [(f"input {i}", x, g) for i, (x, g) in enumerate(zip(inputs, analytic)) if x.dtype.kind == "f"]
        targets += [(f"parameter {name!r}", p.data, p.grad.copy()) for name, p in params]
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
                        f"analytic {grad[index]!r}, numeric {numeric!r}"
                    )
    finally:
        for p, data, grad in saved:
            p.data, p.grad = data, grad
    return True
