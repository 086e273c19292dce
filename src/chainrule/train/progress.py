r"""When a progress bar shows: one rule for :func:`~chainrule.train.fit` and the example scripts.

A bar is drawn on standard output when all three hold:

- progress was asked for (``fit(progress=True)``, an example run without ``--no-progress``);
- the environment variable ``TQDM_DISABLE`` is unset, empty, ``0``, ``false``, ``no`` or ``off``;
- standard output is a terminal.

Otherwise no bar is made, so a log file or a CI job never holds the carriage-return frames a
bar redraws itself with. (tqdm reads ``TQDM_*`` variables only once, when it is imported,
and only for arguments a caller leaves out; it would also read ``TQDM_DISABLE=0`` as "disable".
Reading the variable here, at every bar, makes it work everywhere a bar is made.)
"""

from __future__ import annotations

import os
import sys

__all__ = ["progress_bar", "shows_bar"]

_OFF = ("", "0", "false", "no", "off")


def shows_bar(enabled: bool = True, stream=None) -> bool:
    """True when a progress bar should be drawn on ``stream`` (default: ``sys.stdout``)."""
    stream = sys.stdout if stream is None else stream
    if not enabled or os.environ.get("TQDM_DISABLE", "").strip().lower() not in _OFF:
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(callable(isatty) and isatty())


def progress_bar(iterable=None, *, desc: str | None = None, enabled: bool = True, **kwargs):
    """A tqdm bar over ``iterable`` on standard output, drawn only when :func:`shows_bar` says so.

    When it is not drawn, the returned object still iterates over ``iterable`` and accepts
    ``set_postfix``, ``update`` and ``close``, which then do nothing.

    Args:
        iterable: what to iterate over (or None with ``total=`` and manual ``update``).
        desc: the bar's label.
        enabled: False for no bar at all (an example's ``--no-progress``).
        **kwargs: passed on to ``tqdm`` (``total``, ``leave``, ``unit``, ...).
    """
    from tqdm import tqdm  # imported here: `import chainrule` stays light

    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(iterable, desc=desc, file=sys.stdout, disable=not shows_bar(enabled, sys.stdout), **kwargs)
