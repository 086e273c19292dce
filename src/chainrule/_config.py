"""The default dtype and the default generator: two of chainrule's four pieces of global state.

chainrule keeps process-wide settings in four places, each beside the code that reads it:

- the default dtype of new parameters (``set_default_dtype`` / ``get_default_dtype``), here;
- the default generator of initialisers, Dropout and shuffling (``manual_seed``,
  ``default_generator``), here;
- grad mode, whether forwards keep their caches for backward (``no_grad``, ``enable_grad``,
  ``is_grad_enabled``), in ``chainrule/grad_mode.py``;
- the global hook registries, hooks run for every module (``register_module_forward_hook``,
  ``register_module_full_backward_hook``, behind ``detect_anomaly``), in
  ``chainrule/nn/module.py``.

Importing chainrule also sets glibc's malloc thresholds for the whole process
(``chainrule/_malloc.py``): a setting of the C library, not state that chainrule reads.
"""

from __future__ import annotations

import numbers

import numpy as np

_ALLOWED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

_default_dtype = np.dtype(np.float32)
_default_generator = np.random.default_rng()


def set_default_dtype(dtype) -> None:
    """Set the dtype new parameters get when a layer is built without ``dtype=``.

    Args:
        dtype: ``np.float32`` (the default, as in PyTorch) or ``np.float64``.

    Raises:
        TypeError: for anything else (``"typo"``, ``None``, ``np.float16``).
    """
    global _default_dtype
    if dtype is None:  # check_float_dtype reads None as "the default": here it is no dtype
        raise TypeError("set_default_dtype dtype must be float32 or float64, got None")
    _default_dtype = check_float_dtype(dtype, "set_default_dtype", "dtype")


def get_default_dtype() -> np.dtype:
    """Return the dtype new parameters get when a layer is built without ``dtype=``."""
    return _default_dtype


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the default generator used by initialisers, Dropout and shuffling.

    Args:
        seed: a non-negative integer.

    Returns:
        The new default ``numpy.random.Generator``.
    """
    global _default_generator
    _default_generator = np.random.default_rng(check_seed(seed, "manual_seed"))
    return _default_generator


def default_generator() -> np.random.Generator:
    """The generator random things use when given no ``rng=`` or ``seed=``."""
    return _default_generator


def check_seed(seed, owner: str) -> int:
    """Return ``seed`` as an int if it is a non-negative integer, else raise naming ``owner``."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"{owner} seed must be a non-negative int or None, got {seed!r}")
    return int(seed)


def resolve_rng(seed=None, rng=None, owner: str = "chainrule") -> np.random.Generator:
    """The generator a random operation of ``owner`` draws from: ``rng``, else a fresh one
    from ``seed``, else the default generator (read now, so ``manual_seed`` takes effect)."""
    if rng is not None:
        if seed is not None:
            raise ValueError(f"{owner} takes seed or rng, not both")
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"{owner} rng must be a numpy.random.Generator, got {type(rng).__name__}")
        return rng
    if seed is None:
        return _default_generator
    return np.random.default_rng(check_seed(seed, owner))


def check_float_dtype(dtype, owner: str, name: str = "dtype") -> np.dtype:
    """Return ``np.dtype(dtype)`` if it is float32 or float64, else raise naming ``owner``."""
    if dtype is None:
        return _default_dtype
    message = f"{owner} {name} must be float32 or float64, got {dtype!r}"
    try:
        resolved = np.dtype(dtype)
    except (TypeError, ValueError):  # "banana": not a dtype at all
        raise TypeError(message) from None
    # Only now a membership test: NumPy compares None (and so a failed parse kept as
    # None) equal to float64, which once let every unparseable dtype through as float64.
    if resolved not in _ALLOWED_DTYPES:
        raise TypeError(message)
    return resolved
