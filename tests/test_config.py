"""_config: the default dtype and its check, the one place every layer's dtype= goes through."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule._config import check_float_dtype


@pytest.fixture(autouse=True)
def restore_default_dtype():
    before = cr.get_default_dtype()
    yield
    cr.set_default_dtype(before)


@pytest.mark.parametrize("dtype, expected", [
    (np.float32, np.float32), (np.float64, np.float64), ("float32", np.float32), ("f8", np.float64),
    (np.dtype("float64"), np.float64), (float, np.float64),
])
def test_float_dtypes_are_accepted(dtype, expected):
    assert check_float_dtype(dtype, "Linear") == np.dtype(expected)


def test_none_means_the_default_dtype():
    cr.set_default_dtype(np.float64)
    assert check_float_dtype(None, "Linear") == np.float64


@pytest.mark.parametrize("dtype, shown", [
    # NumPy compares None equal to float64, so an unparseable dtype once passed as float64
    ("banana", "'banana'"), ("typo", "'typo'"), (3, "3"), ([1, 2], r"\[1, 2\]"), (object(), "<object object"),
    # parseable, but not a float dtype we compute in
    (np.float16, "<class 'numpy.float16'>"), ("int64", "'int64'"), (np.int32, "<class 'numpy.int32'>"),
    ("O", "'O'"), (">f8" if np.little_endian else "<f8", "'[<>]f8'"),
])
def test_anything_else_is_a_type_error_naming_owner_and_value(dtype, shown):
    with pytest.raises(TypeError, match=rf"^Linear dtype must be float32 or float64, got {shown}"):
        check_float_dtype(dtype, "Linear")


def test_linear_and_set_default_dtype_refuse_an_unparseable_dtype():
    cr.set_default_dtype(np.float32)
    with pytest.raises(TypeError, match=r"^Linear dtype must be float32 or float64, got 'banana'$"):
        nn.Linear(2, 3, dtype="banana")
    with pytest.raises(TypeError, match=r"^set_default_dtype dtype must be float32 or float64, got 'typo'$"):
        cr.set_default_dtype("typo")
    with pytest.raises(TypeError, match=r"^set_default_dtype dtype must be float32 or float64, got None$"):
        cr.set_default_dtype(None)
    assert cr.get_default_dtype() == np.float32  # unchanged by the refused calls, not float64
    assert nn.Linear(2, 3).weight.dtype == np.float32


def test_glibc_thresholds_are_left_alone_when_the_user_set_them(monkeypatch):
    from chainrule import _malloc

    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    assert _malloc.keep_freed_memory() is False
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_")
    monkeypatch.setenv("CHAINRULE_MALLOC_DEFAULTS", "1")
    assert _malloc.keep_freed_memory() is False
    monkeypatch.delenv("CHAINRULE_MALLOC_DEFAULTS")
    monkeypatch.setattr(_malloc.sys, "platform", "darwin")
    assert _malloc.keep_freed_memory() is False
