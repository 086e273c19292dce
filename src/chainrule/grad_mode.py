"""Whether forwards keep what backward needs: ``no_grad`` and ``is_grad_enabled``, as in PyTorch.

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


class no_grad:
    """Context manager (and decorator) under which forwards keep no cache for backward and
    leave the caches of earlier forwards as they were.

    Example:
        >>> with cr.no_grad():
        ...     accuracy = (model(X_test).argmax(1) == y_test).mean()
    """

    def __enter__(self):
        global _grad_enabled
        self._previous = _grad_enabled
        _grad_enabled = False
        return self

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self._previous

    def __call__(self, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with no_grad():
                return function(*args, **kwargs)

        return wrapper


class CacheWarning(UserWarning):
    """A forward replaced a cache that no backward had used (see ``Module``'s cache life cycle)."""
