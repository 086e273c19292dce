r"""Anomaly detection: stop at the first module whose forward output or backward gradient
holds a NaN or an infinity, and say which module it was.

A model that has started to produce NaNs keeps training silently: every weight the NaN
reaches becomes NaN too, and the loss curve just shows ``nan``. Inside
``with chainrule.detect_anomaly(model):`` each module's forward output and each gradient its
backward returns (and the gradients it accumulated into its own parameters) is checked with
``np.isfinite``; the first non-finite value raises a ``RuntimeError`` such as

    RuntimeError: detect_anomaly: 2 (Linear) produced 3 non-finite values (nan: 3) in its
    forward output of shape (8, 2); its input was finite

It works through the module hooks of :mod:`chainrule.nn.module`
(``register_module_forward_hook`` / ``register_module_full_backward_hook``): off (the
default), no hook is registered and a forward or backward pays one empty-dict check.
"""

from __future__ import annotations

import contextlib
import math
import sys

import numpy as np

from .nn.module import Module, register_module_forward_hook, register_module_full_backward_hook

__all__ = ["detect_anomaly"]


def _count_bad(value):
    """``(bad, nan, total, shape)`` for an array or a number; ``None`` if it is not numeric."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (float, int, np.floating, np.integer)):
        bad = 0 if math.isfinite(value) else 1
        return bad, int(bad and math.isnan(value)), 1, ()
    if isinstance(value, np.ndarray) and value.dtype.kind in "fc":
        finite = np.isfinite(value)
        if finite.all():
            return 0, 0, value.size, value.shape
        bad = int(finite.size - np.count_nonzero(finite))
        return bad, int(np.count_nonzero(np.isnan(value))), value.size, value.shape
    return None


def _describe(counts) -> str:
    bad, nan, total, shape = counts
    kinds = ", ".join(f"{name}: {n}" for name, n in (("nan", nan), ("inf", bad - nan)) if n)
    where = f"of shape {shape}" if shape else "(a scalar)"
    return f"{bad} non-finite value{'s' if bad != 1 else ''} ({kinds}) out of {total}", where


def _is_finite(values) -> str:
    """Say whether every numeric value in ``values`` (a tuple of arguments) is finite."""
    bad = 0
    for value in values:
        counts = _count_bad(np.asarray(value) if isinstance(value, list) else value)
        bad += counts[0] if counts is not None else 0
    return "finite" if bad == 0 else f"already non-finite ({bad} value{'s' if bad != 1 else ''})"


def _outermost_module_on_stack() -> Module | None:
    """The outermost module whose forward/backward is running: the model being trained
    (found from the call stack, so it costs nothing until an anomaly is found)."""
    outermost = None
    frame = sys._getframe(1)
    while frame is not None:
        candidate = frame.f_locals.get("self", frame.f_locals.get("module"))
        if isinstance(candidate, Module):
            outermost = candidate
        frame = frame.f_back
    return outermost


def _module_name(module: Module, model: Module | None) -> str:
    """``"2 (Linear)"``: the module's path in ``model`` (or in the model found on the stack)
    and its class; the class alone when the path cannot be found."""
    kind = type(module).__name__
    for root in (model, _outermost_module_on_stack()):
        if root is None:
            continue
        for path, candidate in root.named_modules():
            if candidate is module:
                return f"{path} ({kind})" if path else f"{kind} (the model itself)" if root is model else kind
    return kind


class _Detector:
    def __init__(self, model: Module | None):
        self.model = model

    def forward_hook(self, module, args, kwargs, output):
        outputs = output if isinstance(output, tuple) else (output,)
        for k, value in enumerate(outputs):
            counts = _count_bad(value)
            if counts is not None and counts[0]:
                what, where = _describe(counts)
                which = "forward output" if len(outputs) == 1 else f"forward output {k}"
                raise RuntimeError(
                    f"detect_anomaly: {_module_name(module, self.model)} produced {what} in its "
                    f"{which} {where}; its input was {_is_finite((*args, *kwargs.values()))}"
                )

    def backward_hook(self, module, grad_input, grad_output):
        counts = _count_bad(grad_input[0])
        if counts is not None and counts[0]:
            what, where = _describe(counts)
            raise RuntimeError(
                f"detect_anomaly: {_module_name(module, self.model)} produced {what} in its "
                f"backward gradient (with respect to its input) {where}; the gradient it "
                f"received was {_is_finite(grad_output)}"
            )
        for name, param in module.named_parameters(recurse=False):
            counts = _count_bad(param.grad)
            if counts is not None and counts[0]:
                what, where = _describe(counts)
                raise RuntimeError(
                    f"detect_anomaly: {_module_name(module, self.model)} has {what} in the "
                    f"backward gradient of its parameter {name!r} {where}; the gradient it "
                    f"received was {_is_finite(grad_output)}"
                )


@contextlib.contextmanager
def detect_anomaly(model: Module | None = None):
    r"""Raise at the first non-finite forward output or backward gradient of any module.

    Use it while hunting a NaN, not for every run: each module's output and gradient is
    scanned once more (about one extra pass over the activations). Outside the ``with``
    block nothing is checked and nothing is paid.

    Args:
        model: the model, so that a module is named by its path in it, e.g. ``2 (Linear)``.
            Without it the path is looked up in the outermost module running when the
            anomaly is found (usually the same model); a loss, which sits outside the model,
            is named by its class.

    Raises:
        RuntimeError: inside the block, at the first module whose forward output, returned
            input gradient or own parameter gradients hold a NaN or an infinity, naming the
            module, the direction (forward or backward), the number of non-finite entries
            (how many are NaN, how many infinite) and whether what came into the module was
            already non-finite (then the data, or an earlier step, is to blame).
        TypeError: if ``model`` is not a Module.

    Example:
        >>> with cr.detect_anomaly(model):
        ...     loss = loss_fn(model(xb), yb)
        ...     model.backward(loss_fn.backward())
    """
    if model is not None and not isinstance(model, Module):
        raise TypeError(f"detect_anomaly model must be a chainrule.nn.Module or None, got {type(model).__name__}")
    detector = _Detector(model)
    forward = register_module_forward_hook(detector.forward_hook, with_kwargs=True)  # forward(input=x) too
    backward = register_module_full_backward_hook(detector.backward_hook)
    try:
        yield
    finally:
        forward.remove()
        backward.remove()
