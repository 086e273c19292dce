"""Whether forwards keep what backward needs: ``no_grad``, ``enable_grad`` and
``is_grad_enabled``, as in PyTorch.

A forward run for evaluation, logging or plotting will never be followed by a backward, so
it need not keep a cache (the memory of every activation), and it must not replace a cache
that a backward is still to use. Run such forwards under ``with chainrule.no_grad():``.
"""

from __future__ import annotations

import functools

_grad_enabled = True


def is_grad_enabled() -> bool:
    """``True`` unless inside ``no_grad``: forwards keep their caches for backward."""
    return _grad_enabled


class set_grad_enabled:
    """Context manager (and decorator) that turns gradients on or off inside it and restores
    the previous setting on the way out, even after an exception."""

    def __init__(self, mode: bool):
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled mode must be a bool, got {mode!r}")
        self.mode = mode

    def __enter__(self):
        global _grad_enabled
        self._previous = _grad_enabled
        _grad_enabled = self.mode
        return self

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self._previous

    def __call__(self, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(self.mode):
                return function(*args, **kwargs)

        return wrapper


class no_grad(set_grad_enabled):
    """Forwards inside keep no cache for backward and leave the caches of earlier forwards as
    they were. A context manager and a decorator.

    Example:
        >>> with cr.no_grad():
        ...     accuracy = (model(X_test).argmax(1) == y_test).mean()
    """

    def __init__(self):
        super().__init__(False)


class enable_grad(set_grad_enabled):
    """Gradients on again inside a ``no_grad`` block (as ``gradcheck`` needs for its forward)."""

    def __init__(self):
        super().__init__(True)


class CacheWarning(UserWarning):
    """A forward replaced a cache that no backward had used (see ``Module``'s cache life cycle)."""
