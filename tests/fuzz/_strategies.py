"""Hypothesis strategies shared by the fuzz tests: bad and edge inputs of every kind."""

from __future__ import annotations

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st

def examples(count: int) -> int:
    """``max_examples`` for a target generated ``count`` times in the slow tier: a tenth of
    that (at least 10) in the fast tier (the hypothesis profile tests/conftest.py loads)."""
    return count if settings.get_current_profile_name() == "slow" else max(10, count // 10)


DTYPES = [np.float64, np.float32, np.float16, np.int64, np.int32, np.uint8, np.bool_, np.complex128]


@st.composite
def arrays(draw, shape=None, dtypes=DTYPES, finite_only=False, low=-20.0, high=20.0):
    """An input as a user might pass it: any of ``dtypes``, NaN/inf sprinkled in, zero-size
    dimensions, non-contiguous or read-only, or a plain Python list."""
    if shape is None:
        shape = tuple(draw(st.lists(st.integers(0, 4), min_size=0, max_size=3)))
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    size = int(np.prod(shape))
    values = np.array(draw(st.lists(st.floats(low, high, width=32), min_size=size, max_size=size)),
                      dtype=np.float64).reshape(shape)
    if not finite_only and size and dtype.kind in "fc" and draw(st.booleans()):
        specials = draw(st.lists(st.tuples(st.integers(0, size - 1),
                                           st.sampled_from([np.nan, np.inf, -np.inf])), max_size=3))
        flat = values.reshape(-1)
        for i, v in specials:
            flat[i] = v
    if dtype.kind == "b":
        arr = values > 0
    elif dtype.kind == "u":
        arr = np.abs(values).astype(dtype)
    else:
        arr = values.astype(dtype)
    arr = np.asarray(arr)  # a comparison on a 0-d array gives a NumPy scalar
    layout = draw(st.sampled_from(["c", "strided", "fortran", "readonly", "list"]))
    if layout == "strided" and arr.ndim:
        big = np.repeat(arr, 2, axis=-1)  # a view of every other column: not contiguous
        arr = big[..., ::2]
    elif layout == "fortran":
        arr = np.asfortranarray(arr)
    elif layout == "readonly":
        arr = arr.copy()
        arr.flags.writeable = False
    elif layout == "list":
        return arr.tolist()
    return arr


def snapshot(x):
    """A deep copy to check later that the caller's input was not modified."""
    if isinstance(x, np.ndarray):
        return x.copy()
    return np.array(x, copy=True) if not isinstance(x, list) else repr(x)


def unchanged(x, before) -> bool:
    if isinstance(x, list):
        return repr(x) == before
    return np.array_equal(np.asarray(x), before, equal_nan=np.asarray(x).dtype.kind in "fc")


def expected_dtype(x, param_dtype=None):
    """The dtype a chainrule module computes in: its parameters', else float32/float64 kept,
    else the default dtype (float32)."""
    if param_dtype is not None:
        return np.dtype(param_dtype)
    arr = np.asarray(x)
    return arr.dtype if arr.dtype in (np.float32, np.float64) else np.dtype(np.float32)


def tol(dtype):
    return dict(rtol=1e-4, atol=1e-4) if np.dtype(dtype) == np.float32 else dict(rtol=1e-10, atol=1e-10)


def garbage():
    """Values that a hyper-parameter or a count should refuse (and a few it should take)."""
    return st.one_of(
        st.none(), st.booleans(), st.integers(-3, 5), st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from([np.float32(0.1), np.int64(2), np.nan, -0.0, 1e308, "0.1", b"1", [0.1], (0.9, 0.99),
                         (0.9,), (0.9, 0.99, 0.1), {"a": 1}, np.array(0.1), np.array([1, 2]), object(),
                         np.bool_(True), 2.5, -1, 0, 1, 0.5, 0.999]),
    )
