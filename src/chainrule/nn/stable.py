r"""Numerically stable kernels (sigmoid, softmax, softplus) shared by the activations and losses.

Each keeps the dtype of its input (float32 stays float32) and gives no overflow warning
for inputs as large as $\pm 10^4$.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_expit


def sigmoid(z: np.ndarray) -> np.ndarray:
    r"""$\sigma(z) = 1 / (1 + e^{-z})$, evaluated without overflow for either sign of $z$
    (``scipy.special.expit``)."""
    return expit(z)


def log_sigmoid(z: np.ndarray) -> np.ndarray:
    r"""$\log \sigma(z) = -\log(1 + e^{-z})$, stable for large $|z|$."""
    return log_expit(z)


def softmax_terms(z: np.ndarray, axis: int = -1):
    r"""The pieces both softmax functions are made of, for ``z`` with a non-empty ``axis``:

    - ``shifted`` $= z - \max_j z_j$: every exponent is then $\le 0$, so nothing overflows;
    - ``e`` $= e^{\text{shifted}}$ and ``total`` $= \sum_j e_j$ (kept dimensions): the largest
      term of the sum is exactly 1, so the log below never sees 0.

    Then $\operatorname{softmax}(z) = e / \text{total}$ and
    $\log\operatorname{softmax}(z) = \text{shifted} - \log \text{total}$.
    """
    shifted = z - np.maximum.reduce(z, axis=axis, keepdims=True)
    e = np.exp(shifted)
    return shifted, e, np.add.reduce(e, axis=axis, keepdims=True)


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    r"""$\log s_i = z_i - \max_j z_j - \log \sum_j e^{z_j - \max_j z_j}$ (see :func:`softmax_terms`)."""
    if z.shape[axis] == 0:
        return z.copy()  # nothing to normalise (and no maximum to shift by)
    shifted, _, total = softmax_terms(z, axis)
    shifted -= np.log(total)
    return shifted


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    r"""$s_i = e^{z_i - \max_j z_j} / \sum_j e^{z_j - \max_j z_j}$ (see :func:`softmax_terms`)."""
    if z.shape[axis] == 0:
        return z.copy()
    _, e, total = softmax_terms(z, axis)
    e /= total
    return e


def softplus(z: np.ndarray, beta: float = 1.0, threshold: float = 20.0) -> np.ndarray:
    r"""$\frac{1}{\beta}\log(1 + e^{\beta z})$, and $z$ itself where $\beta z >$ ``threshold``
    (PyTorch's switch to the linear asymptote, where the two agree to rounding).

    ``np.logaddexp(0, βz)`` $= \log(e^0 + e^{\beta z})$ evaluates the exponential of
    $-|\beta z|$ only, so it neither overflows for large $\beta z$ (nor warns) even when the
    threshold is large, and keeps full precision for very negative $\beta z$, like
    ``log1p(exp(βz))``.
    """
    bz = z * float(beta)
    return np.where(bz > threshold, z, np.logaddexp(0.0, bz) / float(beta))


# -- erf in float32 -------------------------------------------------------------------------
# scipy's erf runs a scalar loop (about 12 ms per million float32 values here, 38 times NumPy's
# tanh), and GELU's forward is the largest element-wise cost of a GPT step. In float32 two
# polynomials do it in vectorised passes over |x| (erf is odd: the sign bit is put back last):
# erf(a) = a + a P(a^2) for a < 0.9 and erf(a) = 1 - exp(Q(a)) beyond (Q fits log erfc, smooth and
# slowly varying), with erf = 1 in float32 from a = 3.92 on. The coefficients are least-squares
# fits on Chebyshev nodes, made here at import (a millisecond) from scipy's float64 erf, so the
# code is its derivation; degrees 5 (in a^2) and 6 are the lowest within 2 ulp.
_ERF_CUT, _ERF_TOP = 0.9, 4.0
_ERF_BLOCK = 32_768  # values per block: a block's dozen temporaries stay in the core's cache
_SIGN_BIT = np.uint32(0x8000_0000)


def _erf_fits(nodes: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    from scipy.special import erf as erf64, erfc as erfc64

    def chebyshev(lo, hi):
        return (lo + hi) / 2 + (hi - lo) / 2 * np.cos(np.linspace(0, np.pi, nodes))

    x = chebyshev(1e-6, _ERF_CUT)                 # relative error weights: erf(x)/x - 1
    small = np.vander(x * x, 6, increasing=True)
    target = erf64(x) / x - 1
    p, *_ = np.linalg.lstsq(small / (target + 1)[:, None], target / (target + 1), rcond=None)
    t = chebyshev(_ERF_CUT, _ERF_TOP)             # weighted by erfc: the error erf sees
    large = np.vander(t, 7, increasing=True)
    q, *_ = np.linalg.lstsq(large * erfc64(t)[:, None], np.log(erfc64(t)) * erfc64(t), rcond=None)
    return p.astype(np.float32), q.astype(np.float32)


_ERF_P, _ERF_Q = _erf_fits()


def _horner(coefficients: np.ndarray, v: np.ndarray) -> np.ndarray:
    result = np.full_like(v, coefficients[-1])
    for c in coefficients[-2::-1]:
        result *= v
        result += c
    return result


def _erf32_block(x: np.ndarray, out: np.ndarray) -> None:
    a = np.abs(x)
    inner = np.clip(a, np.float32(0), np.float32(_ERF_CUT))   # a < 0.9: a + a P(a^2)
    small = _horner(_ERF_P, inner * inner)
    small *= inner
    small += inner
    large = _horner(_ERF_Q, np.clip(a, np.float32(_ERF_CUT), np.float32(_ERF_TOP)))  # beyond: 1 - exp(Q(a))
    np.exp(large, out=large)
    np.subtract(np.float32(1), large, out=large)
    near = a < _ERF_CUT                      # pick a branch by multiplying with 1 or 0: exact, and a
    small *= near                            # fraction of np.where's time on a random pattern
    large *= ~near                           # (a NaN is neither, and stays NaN)
    np.add(small, large, out=out)
    bits = out.view(np.uint32)               # erf(-a) = -erf(a): x's sign bit onto the result
    np.bitwise_or(bits, np.bitwise_and(x.view(np.uint32), _SIGN_BIT), out=bits)


def erf(x: np.ndarray) -> np.ndarray:
    r"""$\operatorname{erf}(x) = \frac{2}{\sqrt\pi}\int_0^x e^{-t^2}\,dt$, element-wise.

    float64 (and any other dtype) is scipy's ``erf``, exact; float32 is two vectorised
    polynomial fits (above), within 2 units in the last place of the correctly rounded value
    (measured: 1.4; PyTorch's float32 ``erf``: 0.7), evaluated in blocks of 32,768 values so each
    pass reads the cache, not memory: about 3 times as fast as scipy's loop (``benchmarks/bench_gpt.py``
    times the GPT it serves).
    """
    if x.dtype != np.float32:
        from scipy.special import erf as erf64

        return erf64(x)
    out = np.empty_like(x)
    flat, flat_out = x.reshape(-1), out.reshape(-1)
    for start in range(0, flat.size, _ERF_BLOCK):
        _erf32_block(flat[start:start + _ERF_BLOCK], flat_out[start:start + _ERF_BLOCK])
    return out
