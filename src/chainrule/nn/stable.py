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
