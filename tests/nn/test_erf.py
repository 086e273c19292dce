"""The float32 erf of nn.stable: scipy's erf to within 2 ulp, everywhere, without its scalar loop."""

import numpy as np
import pytest
from scipy.special import erf as scipy_erf

from chainrule.nn.stable import erf


def ulp_error(got, x):
    exact = scipy_erf(x.astype(np.float64))
    ulp = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
    return np.abs(got.astype(np.float64) - exact) / ulp


def test_float32_within_two_ulp_on_a_dense_grid_and_near_the_cut():
    x = np.concatenate([np.linspace(-6, 6, 2_000_001), np.linspace(0.89, 0.91, 100_001),
                        np.geomspace(1e-38, 1e-2, 10_001)]).astype(np.float32)
    x = np.concatenate([x, -x])
    got = erf(x)
    assert got.dtype == np.float32 and got.shape == x.shape
    assert ulp_error(got, x).max() <= 2.0


def test_float32_special_values_and_symmetry():
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 3.92, 10.0, -10.0], dtype=np.float32)
    got = erf(x)
    assert np.isnan(got[0]) and list(got[1:3]) == [1.0, -1.0]
    assert got[3] == 0 and np.signbit(got[4])                  # erf(-0) = -0
    assert list(got[5:]) == [1.0, 1.0, -1.0]
    y = np.random.default_rng(0).normal(size=1000).astype(np.float32)
    assert np.array_equal(erf(-y), -erf(y))                    # odd, exactly


@pytest.mark.parametrize("dtype", [np.float64, np.float16])
def test_other_dtypes_are_scipys_exactly(dtype):
    x = np.random.default_rng(1).normal(size=(3, 4)).astype(dtype)
    assert np.array_equal(erf(x), scipy_erf(x)) and erf(x).dtype == scipy_erf(x).dtype


def test_zero_dimensional_input():
    assert np.isclose(erf(np.float32(0.5) * np.ones((), np.float32)), scipy_erf(0.5), atol=1e-7)
