"""Pooling against central finite differences (float64), the routing of max-pooling's
gradient (ties, overlaps), average pooling's divisors, and the errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def distinct(shape, seed=0):
    """Inputs whose window maxima are unique and well separated, so that finite differences
    of a max are the derivative (no element within eps of a tie)."""
    rng = np.random.default_rng(seed)
    return rng.permutation(np.prod(shape)).reshape(shape) * 0.1 + rng.uniform(-0.01, 0.01, shape)


POOLS = [
    ("MaxPool1d(2)", lambda: nn.MaxPool1d(2), (2, 2, 7)),
    ("MaxPool1d(3, stride 1): overlapping", lambda: nn.MaxPool1d(3, stride=1), (2, 2, 6)),
    ("MaxPool1d(3, 2, padding 1)", lambda: nn.MaxPool1d(3, 2, padding=1), (2, 2, 7)),
    ("MaxPool1d dilated, ceil_mode", lambda: nn.MaxPool1d(2, 2, dilation=2, ceil_mode=True), (2, 2, 8)),
    ("MaxPool1d unbatched", lambda: nn.MaxPool1d(2), (3, 6)),
    ("MaxPool2d(2)", lambda: nn.MaxPool2d(2), (2, 2, 4, 5)),
    ("MaxPool2d(3, 2, 1)", lambda: nn.MaxPool2d(3, 2, 1), (2, 2, 5, 5)),
    ("MaxPool2d((2, 3), stride 1)", lambda: nn.MaxPool2d((2, 3), stride=1), (1, 2, 4, 5)),
    ("MaxPool2d ceil_mode", lambda: nn.MaxPool2d(2, ceil_mode=True), (1, 2, 5, 5)),
    ("MaxPool2d unbatched", lambda: nn.MaxPool2d((3, 3), (2, 2), (1, 1)), (2, 5, 5)),
    ("AvgPool1d(2)", lambda: nn.AvgPool1d(2), (2, 2, 6)),
    ("AvgPool1d(3, 2, 1)", lambda: nn.AvgPool1d(3, 2, 1), (2, 2, 7)),
    ("AvgPool1d(3, 2, 1) excluding pad", lambda: nn.AvgPool1d(3, 2, 1, count_include_pad=False), (2, 2, 7)),
    ("AvgPool1d ceil_mode", lambda: nn.AvgPool1d(2, ceil_mode=True, padding=1, count_include_pad=False), (2, 2, 6)),
    ("AvgPool2d(2)", lambda: nn.AvgPool2d(2), (2, 2, 4, 4)),
    ("AvgPool2d(3, 1, 1): overlapping", lambda: nn.AvgPool2d(3, 1, 1), (1, 2, 4, 4)),
    ("AvgPool2d(3, 2, 1) excluding pad, ceil", lambda: nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
     (1, 2, 6, 5)),
    ("AvgPool2d divisor_override", lambda: nn.AvgPool2d(2, divisor_override=3), (1, 2, 4, 4)),
    ("AvgPool2d unbatched", lambda: nn.AvgPool2d((2, 2)), (2, 4, 4)),
    ("AdaptiveAvgPool1d(3)", lambda: nn.AdaptiveAvgPool1d(3), (2, 2, 7)),
    ("AdaptiveAvgPool1d(4) of 5: overlapping", lambda: nn.AdaptiveAvgPool1d(4), (2, 2, 5)),
    ("AdaptiveAvgPool1d unbatched", lambda: nn.AdaptiveAvgPool1d(2), (2, 5)),
    ("AdaptiveAvgPool2d(3)", lambda: nn.AdaptiveAvgPool2d(3), (1, 2, 5, 6)),
    ("AdaptiveAvgPool2d((None, 2))", lambda: nn.AdaptiveAvgPool2d((None, 2)), (1, 2, 3, 5)),
    ("AdaptiveAvgPool2d((4, 7)) upsamples", lambda: nn.AdaptiveAvgPool2d((4, 7)), (1, 1, 3, 5)),
    ("AdaptiveAvgPool2d unbatched", lambda: nn.AdaptiveAvgPool2d(1), (2, 3, 4)),
]


@pytest.mark.parametrize("make, shape", [p[1:] for p in POOLS], ids=[p[0] for p in POOLS])
def test_gradcheck(make, shape):
    assert cr.gradcheck(make(), distinct(shape))


def test_max_pool_routes_delta_to_the_first_maximum_on_ties():
    pool = nn.MaxPool2d(2)
    x = np.array([[[[1.0, 3.0], [3.0, 0.0]]]])  # two maxima: PyTorch picks the first in row-major order
    pool(x)
    np.testing.assert_array_equal(pool.backward(np.array([[[[5.0]]]])), [[[[0.0, 5.0], [0.0, 0.0]]]])


def test_overlapping_max_windows_add_up():
    pool = nn.MaxPool1d(3, stride=1)
    x = np.array([[[0.0, 1.0, 9.0, 2.0, 0.0]]])  # 9 is the max of all three windows
    np.testing.assert_array_equal(pool(x), [[[9.0, 9.0, 9.0]]])
    np.testing.assert_array_equal(pool.backward(np.array([[[1.0, 2.0, 4.0]]])), [[[0.0, 0.0, 7.0, 0.0, 0.0]]])


def test_max_pool_padding_never_wins():
    pool = nn.MaxPool1d(2, padding=1)
    x = np.array([[[-5.0, -6.0, -7.0]]])
    np.testing.assert_array_equal(pool(x), [[[-5.0, -6.0]]])
    np.testing.assert_array_equal(pool.backward(np.array([[[1.0, 1.0]]])), [[[1.0, 1.0, 0.0]]])



def test_max_pool_nan_propagates_and_the_last_nan_wins():
    # PyTorch's scan: a later element takes over if it is greater or NaN, so with NaNs in a
    # window the value is NaN and delta goes to the LAST NaN (np.argmax would pick the first)
    pool = nn.MaxPool1d(4)
    x = np.array([[[1.0, np.nan, 5.0, np.nan, 2.0, np.nan, 3.0, 9.0]]])
    np.testing.assert_array_equal(pool(x), [[[np.nan, np.nan]]])
    np.testing.assert_array_equal(pool.backward(np.array([[[1.0, 2.0]]])),
                                  [[[0.0, 0.0, 0.0, 1.0, 0.0, 2.0, 0.0, 0.0]]])

def test_avg_pool_divisors_with_and_without_padding():
    x = np.ones((1, 1, 4))
    with cr.no_grad():
        # padded [0, 1, 1, 1, 1, 0]: windows [pad, 1, 1] and [1, 1, 1]; the first sums to 2, divided
        # by 3 (the padding counted) or by 2 (only the input's elements)
        np.testing.assert_allclose(nn.AvgPool1d(3, 2, 1)(x), [[[2 / 3, 1.0]]])
        np.testing.assert_allclose(nn.AvgPool1d(3, 2, 1, count_include_pad=False)(x), [[[1.0, 1.0]]])
        # ceil_mode: a last window cut at the end of the padding, here [1, pad] of size 2
        np.testing.assert_allclose(nn.AvgPool1d(2, 2, 1, ceil_mode=True)(np.ones((1, 1, 3))), [[[0.5, 1.0]]])


def test_adaptive_windows_are_pytorchs():
    # L = 5, out = 3: windows [0, 2), [1, 4), [3, 5)
    x = np.array([[[1.0, 2.0, 3.0, 4.0, 5.0]]])
    pool = nn.AdaptiveAvgPool1d(3)
    np.testing.assert_allclose(pool(x), [[[1.5, 3.0, 4.5]]])
    np.testing.assert_allclose(pool.backward(np.array([[[2.0, 3.0, 4.0]]])), [[[1.0, 2.0, 1.0, 3.0, 2.0]]])


def test_float32_stays_float32():
    x = distinct((2, 3, 6, 6)).astype(np.float32)
    for pool in (nn.MaxPool2d(2), nn.AvgPool2d(3, 1, 1, count_include_pad=False), nn.AdaptiveAvgPool2d((4, None))):
        y = pool(x)
        dx = pool.backward(np.ones(y.shape, dtype=np.float32))
        assert y.dtype == dx.dtype == np.float32, pool


def test_reprs_like_pytorchs():
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    assert repr(nn.MaxPool1d(3, 1)) == "MaxPool1d(kernel_size=3, stride=1, padding=0, dilation=1, ceil_mode=False)"
    assert repr(nn.AvgPool1d(3)) == "AvgPool1d(kernel_size=(3,), stride=(3,), padding=(0,))"
    assert repr(nn.AvgPool2d(3)) == "AvgPool2d(kernel_size=3, stride=3, padding=0)"
    assert repr(nn.AdaptiveAvgPool2d((None, 3))) == "AdaptiveAvgPool2d(output_size=(None, 3))"


@pytest.mark.parametrize("make, match", [
    (lambda: nn.MaxPool2d(3, padding=2), r"padding must be at most half of kernel_size, got padding=2 and kernel_size=3"),
    (lambda: nn.AvgPool1d(2, padding=2), r"padding must be at most half of kernel_size"),
    (lambda: nn.MaxPool2d(2, stride=0), r"MaxPool2d stride must be >= 1, got 0"),
    (lambda: nn.MaxPool1d(0), r"kernel_size must be >= 1, got 0"),
    (lambda: nn.MaxPool2d(2, return_indices="yes"), r"MaxPool2d return_indices must be a bool, got .yes."),
    (lambda: nn.AvgPool2d(2, divisor_override=0), r"divisor_override must be None or a non-zero int, got 0"),
    (lambda: nn.AdaptiveAvgPool2d(-1), r"output_size must be an int >= 0, None, or a tuple of 2 of them, got -1"),
    (lambda: nn.AdaptiveAvgPool2d((1, 2, 3)), r"output_size must be"),
])
def test_bad_arguments(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


@pytest.mark.parametrize("pool, shape, match", [
    (nn.MaxPool2d(3), (1, 1, 2, 2), r"MaxPool2d: input of shape \(1, 1, 2, 2\) is too small: the output would be 0 x 0"),
    (nn.AvgPool1d(3), (1, 1, 2), r"AvgPool1d: input of shape \(1, 1, 2\) is too small"),
    (nn.MaxPool2d(2), (3, 4), r"MaxPool2d expected a 3-D \(unbatched\) or 4-D \(batched\) input, got shape \(3, 4\)"),
    (nn.MaxPool2d(2), (1, 2, 3, 4, 5), r"expected a 3-D \(unbatched\) or 4-D \(batched\) input"),
    (nn.AdaptiveAvgPool1d(2), (1, 1, 0), r"AdaptiveAvgPool1d expected an input with no empty non-batch axis"),
])
def test_bad_input(pool, shape, match):
    with cr.no_grad(), pytest.raises(ValueError, match=match):
        pool(np.zeros(shape))
