r"""Activations: element-wise $a = \sigma(z)$ and the softmax family.

In backprop an activation's backward is the $\odot\,\sigma'(z)$ half of BP1/BP2: it takes
$\partial C/\partial a$ and returns $\delta = \partial C/\partial a \odot \sigma'(z)$.
Each forward keeps the cheapest thing its derivative can be computed from. (``np.asarray``
around a result keeps a 0-d input's output an array: NumPy's ufuncs return scalars for them.)
"""

from __future__ import annotations

import numpy as np

from . import functional as F
from ._checks import as_float_array
from .module import Module

def _check_grad(module: Module, grad_output, shape: tuple, dtype) -> np.ndarray:
    """``grad_output`` as an array of ``dtype`` and the forward output's ``shape``, or an error."""
    owner = f"{type(module).__name__}.backward"
    grad_output = as_float_array(grad_output, owner, "grad_output", dtype=dtype)
    if grad_output.shape != shape:
        raise ValueError(f"{owner} expected grad_output of shape {shape} (the forward output's), got {grad_output.shape}")
    return grad_output


class Sigmoid(Module):
    r"""Logistic sigmoid, element-wise: $a = \sigma(z) = 1/(1 + e^{-z})$.

    Stable for large $|z|$ (no overflow warning). Shape: ``(*) -> (*)``.
    """

    def forward(self, z):
        a = np.asarray(F.sigmoid(as_float_array(z, "Sigmoid")))
        self._save_for_backward(a)  # sigma'(z) = a (1 - a): the output is all backward needs
        return a

    def backward(self, grad_output):
        r"""$\delta = \dfrac{\partial C}{\partial a} \odot \sigma'(z)$ with $\sigma'(z) = a(1 - a)$."""
        (a,) = self._saved()
        grad_output = _check_grad(self, grad_output, a.shape, a.dtype)
        return np.asarray(grad_output * a * (1 - a))


class Tanh(Module):
    r"""Hyperbolic tangent, element-wise: $a = \tanh(z)$. Shape: ``(*) -> (*)``."""

    def forward(self, z):
        z = as_float_array(z, "Tanh")
        a = np.asarray(np.tanh(z))
        self._save_for_backward(a)  # tanh'(z) = 1 - a^2: cheapest from the output
        return a

    def backward(self, grad_output):
        r"""$\delta = \dfrac{\partial C}{\partial a} \odot (1 - a^2)$."""
        (a,) = self._saved()
        grad_output = _check_grad(self, grad_output, a.shape, a.dtype)
        return np.asarray(grad_output * (1 - a * a))


class ReLU(Module):
    r"""Rectified linear unit, element-wise: $a = \max(z, 0)$. Shape: ``(*) -> (*)``.

    As in PyTorch, the derivative at $z = 0$ is taken to be 0.
    """

    def forward(self, z):
        z = as_float_array(z, "ReLU")
        a = np.asarray(np.maximum(z, 0))
        self._save_for_backward(a)  # relu'(z) = [a > 0]: the output says which units pass
        return a

    def backward(self, grad_output):
        r"""$\delta = \dfrac{\partial C}{\partial a} \odot [z > 0]$.

        A product with the mask rather than ``np.where(mask, g, 0)``, which is about 6x slower:
        so, unlike PyTorch, an infinite incoming gradient at a switched-off unit gives NaN, not 0
        (such a gradient is already broken, and ``chainrule.detect_anomaly`` names where).
        """
        (a,) = self._saved()
        grad_output = _check_grad(self, grad_output, a.shape, a.dtype)
        # "not a <= 0" rather than "a > 0": where the input was NaN the gradient passes on,
        # as in PyTorch, instead of a silent 0.
        return np.asarray(grad_output * ~(a <= 0))


class LeakyReLU(Module):
    r"""$a = z$ for $z > 0$, else $\alpha z$ ($\alpha$ = ``negative_slope``). Shape: ``(*) -> (*)``.

    Args:
        negative_slope: $\alpha$, the slope for negative inputs. Default 0.01.
    """

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float, np.floating, np.integer)):
            raise TypeError(f"LeakyReLU negative_slope must be a number, got {negative_slope!r}")
        self.negative_slope = float(negative_slope)

    def forward(self, z):
        z = as_float_array(z, "LeakyReLU")
        positive = z > 0
        self._save_for_backward(positive, z.dtype)  # the derivative is 1 or alpha, decided by the sign
        return np.where(positive, z, z * z.dtype.type(self.negative_slope))

    def backward(self, grad_output):
        r"""$\delta = \dfrac{\partial C}{\partial a} \odot (1 \text{ if } z > 0 \text{ else } \alpha)$."""
        positive, dtype = self._saved()
        grad_output = _check_grad(self, grad_output, positive.shape, dtype)
        return np.where(positive, grad_output, grad_output * dtype.type(self.negative_slope))

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Identity(Module):
    r"""$a = z$. Useful as a placeholder (and as the "linear" activation of a last layer)."""

    def forward(self, z):
        z = np.asarray(z)
        self._save_for_backward(z.shape)
        return z

    def backward(self, grad_output):
        r"""$\delta = \partial C/\partial a$: the derivative of the identity is 1."""
        (shape,) = self._saved()
        grad_output = np.asarray(grad_output)
        if grad_output.shape != shape:
            raise ValueError(f"Identity.backward expected grad_output of shape {shape}, got {grad_output.shape}")
        return grad_output


def _check_dim(owner: str, dim, ndim: int) -> int:
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{owner} dim must be an int, got {dim!r}")
    if ndim == 0 or not -ndim <= dim < ndim:
        raise ValueError(f"{owner} dim={dim} is out of range for input with {ndim} dimension(s)")
    return int(dim)


class Softmax(Module):
    r"""$s_i = e^{z_i} / \sum_j e^{z_j}$ along ``dim``, max-shifted so it never overflows.

    Args:
        dim: the dimension that sums to 1. Default -1 (the last).

    Shape: ``(*) -> (*)``.
    """

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, z):
        z = as_float_array(z, "Softmax")
        dim = _check_dim("Softmax", self.dim, z.ndim)
        s = F.softmax(z, axis=dim)
        self._save_for_backward(s, dim)  # the Jacobian diag(s) - s s^T is a function of s
        return s

    def backward(self, grad_output):
        r"""Jacobian-vector product with $J = \operatorname{diag}(s) - s s^\top$ (symmetric):

        $$\frac{\partial C}{\partial z} = J\,g = s \odot \Big(g - \sum_j g_j s_j\Big),$$

        computed without ever forming $J$.
        """
        s, dim = self._saved()
        g = _check_grad(self, grad_output, s.shape, s.dtype)
        return s * (g - (g * s).sum(axis=dim, keepdims=True))

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    r"""$y_i = z_i - \log\sum_j e^{z_j}$ along ``dim``, computed as a max-shifted log-sum-exp.

    Args:
        dim: the dimension normalised over. Default -1 (the last).

    Shape: ``(*) -> (*)``.
    """

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, z):
        z = as_float_array(z, "LogSoftmax")
        dim = _check_dim("LogSoftmax", self.dim, z.ndim)
        y = F.log_softmax(z, axis=dim)
        self._save_for_backward(y, dim)  # softmax = exp(y) is all the derivative needs
        return y

    def backward(self, grad_output):
        r"""$\partial y_i / \partial z_j = [i = j] - s_j$ with $s = e^{y}$, so

        $$\frac{\partial C}{\partial z} = g - s \sum_i g_i .$$
        """
        y, dim = self._saved()
        g = _check_grad(self, grad_output, y.shape, y.dtype)
        return g - np.exp(y) * g.sum(axis=dim, keepdims=True)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
