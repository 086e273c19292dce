"""Input checks shared by modules: turn what the user passed into a float array, or say why not."""

from __future__ import annotations

import numpy as np

from .._config import get_default_dtype

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def as_float_array(x, owner: str, name: str = "input", dtype=None) -> np.ndarray:
    """Return ``x`` as a float ndarray.

    With ``dtype`` (a layer's parameter dtype) the array is cast to it, so a float32 layer
    never silently computes in float64. Without it, float32/float64 arrays keep their dtype
    and anything else real (ints, bools, float16, lists) becomes the default dtype.
    """
    if type(x) is np.ndarray and (x.dtype == dtype or dtype is None and x.dtype in _FLOAT_DTYPES):
        return x  # the usual case on every training step: nothing to convert
    try:
        arr = np.asarray(x)
    except ValueError as error:  # ragged nested lists
        raise ValueError(f"{owner} expected {name} to be array-like with a regular shape: {error}") from None
    kind = arr.dtype.kind
    if kind not in "biuf":
        raise TypeError(
            f"{owner} expected {name} to be a real numeric array, got dtype {arr.dtype}"
        )
    if dtype is None:
        if arr.dtype in _FLOAT_DTYPES:
            return arr
        dtype = get_default_dtype()
    return arr.astype(dtype, copy=False)


def check_reduction(reduction, owner: str) -> str:
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(
            f"{owner} reduction must be one of 'mean', 'sum', 'none', got {reduction!r}"
        )
    return reduction
