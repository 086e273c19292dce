r"""Activations: element-wise $a = \sigma(z)$ and the softmax family.

In backprop an activation's backward is the $\odot\,\sigma'(z)$ half of BP1/BP2: it takes
$\partial C/\partial a$ and returns $\delta = \partial C/\partial a \odot \sigma'(z)$.
Each forward keeps the cheapest thing its derivative can be computed from. (``np.asarray``
around a result keeps a 0-d input's output an array: NumPy's ufuncs return scalars for them.)
"""

from __future__ import annotations

import math

import numpy as np

from . import stable
from .. import _checks as checks
from .._checks import as_float_array
from .module import Module

class Sigmoid(Module):
    r"""Logistic sigmoid, element-wise: $a = \sigma(z) = 1/(1 + e^{-z})$.

    Stable for large $|z|$ (no overflow warning). Shape: ``(*) -> (*)``.
    """

    def forward(self, z):
        a = np.asarray(stable.sigmoid(as_float_array(z, "Sigmoid")))
        self.save_for_backward(a)  # sigma'(z) = a (1 - a): the output is all backward needs
        return a

    def backward(self, grad_output):
        r"""$\delta = \dfrac{\partial C}{\partial a} \odot \sigma'(z)$ with $\sigma'(z) = a(1 - a)$."""
        (a,) = self.saved_tensors
        grad_output = checks.grad_output(self, grad_output, a.shape, a.dtype)
        return np.asarray(grad_output * a * (1 - a))


class Tanh(Module):
    r"""Hyperbolic tangent, element-wise: $a = \tanh(z)$. Shape: ``(*) -> (*)``."""

    def forward(self, z):
        z = as_float_array(z, "Tanh")
        a = np.asarray(np.tanh(z))
        self.save_for_backward(a)  # tanh'(z) = 1 - a^2: cheapest from the output
        return a

    def backward(self, grad_output):
        r"""$\delta = \dfrac{\partial C}{\partial a} \odot (1 - a^2)$."""
        (a,) = self.saved_tensors
        grad_output = checks.grad_output(self, grad_output, a.shape, a.dtype)
        return np.asarray(grad_output * (1 - a * a))


class ReLU(Module):
    r"""Rectified linear unit, element-wise: $a = \max(z, 0)$. Shape: ``(*) -> (*)``.

    As in PyTorch, the derivative at $z = 0$ is taken to be 0.
    """

    def forward(self, z):
        z = as_float_array(z, "ReLU")
        a = np.asarray(np.maximum(z, 0))
        self.save_for_backward(a)  # relu'(z) = [a > 0]: the output says which units pass
        return a

    def backward(self, grad_output):
        r"""$\delta = \dfrac{\partial C}{\partial a} \odot [z > 0]$.

        A product with the mask rather than ``np.where(mask, g, 0)``, which is about 6x slower:
        so, unlike PyTorch, an infinite incoming gradient at a switched-off unit gives NaN, not 0
        (such a gradient is already broken, and ``chainrule.detect_anomaly`` names where).
        """
        (a,) = self.saved_tensors
        grad_output = checks.grad_output(self, grad_output, a.shape, a.dtype)
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
        self.negative_slope = checks.number(negative_slope, "LeakyReLU", "negative_slope")

    def forward(self, z):
        z = as_float_array(z, "LeakyReLU")
        positive = z > 0
        self.save_for_backward(positive, z.dtype)  # the derivative is 1 or alpha, decided by the sign
        return np.where(positive, z, z * z.dtype.type(self.negative_slope))

    def backward(self, grad_output):
        r"""$\delta = \dfrac{\partial C}{\partial a} \odot (1 \text{ if } z > 0 \text{ else } \alpha)$."""
        positive, dtype = self.saved_tensors
        grad_output = checks.grad_output(self, grad_output, positive.shape, dtype)
        return np.where(positive, grad_output, grad_output * dtype.type(self.negative_slope))

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Identity(Module):
    r"""$a = z$. Useful as a placeholder (and as the "linear" activation of a last layer)."""

    def forward(self, z):
        z = np.asarray(z)
        self.save_for_backward(z.shape, z.dtype)  # the gradient gets the output's shape and dtype
        return z

    def backward(self, grad_output):
        r"""$\delta = \partial C/\partial a$: the derivative of the identity is 1."""
        shape, dtype = self.saved_tensors
        return checks.identity_grad(self, grad_output, shape, dtype)


def softmax_backward(grad_output: np.ndarray, s: np.ndarray, axis: int = -1) -> np.ndarray:
    r"""The softmax's Jacobian-vector product, from its output $s$, without forming the
    Jacobian $J = \operatorname{diag}(s) - s s^\top$ (symmetric):
    $J g = s \odot \big(g - \sum_j g_j s_j\big)$ along ``axis``."""
    return s * (grad_output - (grad_output * s).sum(axis=axis, keepdims=True))


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
        dim = checks.dim(self.dim, "Softmax", z.ndim)
        s = stable.softmax(z, axis=dim)
        self.save_for_backward(s, dim)  # the Jacobian diag(s) - s s^T is a function of s
        return s

    def backward(self, grad_output):
        r"""Jacobian-vector product with $J = \operatorname{diag}(s) - s s^\top$ (symmetric):

        $$\frac{\partial C}{\partial z} = J\,g = s \odot \Big(g - \sum_j g_j s_j\Big),$$

        computed without ever forming $J$.
        """
        s, dim = self.saved_tensors
        g = checks.grad_output(self, grad_output, s.shape, s.dtype)
        return softmax_backward(g, s, axis=dim)

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
        dim = checks.dim(self.dim, "LogSoftmax", z.ndim)
        y = stable.log_softmax(z, axis=dim)
        self.save_for_backward(y, dim)  # softmax = exp(y) is all the derivative needs
        return y

    def backward(self, grad_output):
        r"""$\partial y_i / \partial z_j = [i = j] - s_j$ with $s = e^{y}$, so

        $$\frac{\partial C}{\partial z} = g - s \sum_i g_i .$$
        """
        y, dim = self.saved_tensors
        g = checks.grad_output(self, grad_output, y.shape, y.dtype)
        return g - np.exp(y) * g.sum(axis=dim, keepdims=True)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


_SQRT_HALF = math.sqrt(0.5)                    # 1/sqrt(2): Phi(z) = (1 + erf(z / sqrt 2)) / 2
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)  # phi(z) = exp(-z^2 / 2) / sqrt(2 pi)
_TANH_SCALE = math.sqrt(2.0 / math.pi)          # the tanh form's sqrt(2/pi) ...
_TANH_CUBIC = 0.044715                          # ... and its cubic coefficient (PyTorch's)


class GELU(Module):
    r"""Gaussian error linear unit, element-wise: $a = z\,\Phi(z)$, with $\Phi$ the standard
    normal CDF, $\Phi(z) = \tfrac12\big(1 + \operatorname{erf}(z/\sqrt2)\big)$.

    With ``approximate='tanh'``, PyTorch's approximation
    $a = \tfrac12 z\big(1 + \tanh u\big)$, $u = \sqrt{2/\pi}\,(z + 0.044715\,z^3)$.

    Args:
        approximate: ``'none'`` (default, the exact form) or ``'tanh'``.

    Shape: ``(*) -> (*)``.
    """

    def __init__(self, approximate: str = "none"):
        super().__init__()
        self.approximate = checks.choice(approximate, "GELU", "approximate", ("none", "tanh"))

    def forward(self, z):
        z = as_float_array(z, "GELU")
        if self.approximate == "tanh":
            t = np.tanh(_TANH_SCALE * (z + _TANH_CUBIC * z * z * z))
            self.save_for_backward(z, t)  # the derivative needs z and tanh(u)
            return np.asarray(0.5 * z * (1.0 + t))
        cdf = np.asarray(0.5 * (1.0 + stable.erf(z * _SQRT_HALF)))
        self.save_for_backward(z, cdf)  # the derivative Phi(z) + z phi(z) needs z and Phi(z)
        return np.asarray(z * cdf)

    def backward(self, grad_output):
        r"""Exact form, by the product rule with $\Phi' = \varphi$, the normal density:

        $$\delta = \frac{\partial C}{\partial a} \odot \big(\Phi(z) + z\,\varphi(z)\big),
        \qquad \varphi(z) = \frac{e^{-z^2/2}}{\sqrt{2\pi}}.$$

        Tanh form, with $t = \tanh u$, $\tanh' = 1 - \tanh^2$ and
        $u' = \sqrt{2/\pi}\,(1 + 3 \cdot 0.044715\,z^2)$:

        $$\delta = \frac{\partial C}{\partial a} \odot \Big(\tfrac12(1 + t) + \tfrac12 z\,(1 - t^2)\,u'\Big).$$
        """
        z, saved = self.saved_tensors
        g = checks.grad_output(self, grad_output, z.shape, z.dtype)
        if self.approximate == "tanh":
            t = saved
            return np.asarray(g * (0.5 * (1.0 + t)
                                   + 0.5 * z * (1.0 - t * t) * _TANH_SCALE * (1.0 + 3.0 * _TANH_CUBIC * z * z)))
        cdf = saved
        return np.asarray(g * (cdf + z * np.exp(-0.5 * z * z) * _INV_SQRT_2PI))

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    r"""Sigmoid linear unit (swish), element-wise: $a = z\,\sigma(z)$. Shape: ``(*) -> (*)``."""

    def forward(self, z):
        z = as_float_array(z, "SiLU")
        s = np.asarray(stable.sigmoid(z))
        self.save_for_backward(z, s)  # the derivative s (1 + z (1 - s)) needs z and sigma(z)
        return np.asarray(z * s)

    def backward(self, grad_output):
        r"""Product rule with $\sigma' = \sigma(1 - \sigma)$:
        $\dfrac{d}{dz}\,z\sigma(z) = \sigma + z\,\sigma(1 - \sigma)$, so

        $$\delta = \frac{\partial C}{\partial a} \odot \sigma(z)\big(1 + z\,(1 - \sigma(z))\big).$$
        """
        z, s = self.saved_tensors
        g = checks.grad_output(self, grad_output, z.shape, z.dtype)
        return np.asarray(g * s * (1.0 + z * (1.0 - s)))


class ELU(Module):
    r"""Exponential linear unit, element-wise:
    $a = z$ for $z > 0$, else $\alpha\,(e^{z} - 1)$. Shape: ``(*) -> (*)``.

    Args:
        alpha: $\alpha$: $a \to -\alpha$ as $z \to -\infty$. Default 1.0.
    """

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = checks.number(alpha, "ELU", "alpha", keep_int=True)

    def forward(self, z):
        z = as_float_array(z, "ELU")
        # Keep z, not the output: alpha e^z = a + alpha would lose every digit where a is near -alpha.
        self.save_for_backward(z)
        # The exponential of min(z, 0) only, so a large positive z cannot overflow it.
        return np.where(z > 0, z, self.alpha * np.expm1(np.minimum(z, 0.0)))

    def backward(self, grad_output):
        r"""$\dfrac{d}{dz}\,\alpha(e^z - 1) = \alpha e^z$ for $z \le 0$, and 1 for $z > 0$:

        $$\delta = \frac{\partial C}{\partial a} \odot \begin{cases} 1 & z > 0 \\ \alpha e^{z} & z \le 0. \end{cases}$$

        At $z = 0$ this is $\alpha$, PyTorch's choice.
        """
        (z,) = self.saved_tensors
        g = checks.grad_output(self, grad_output, z.shape, z.dtype)
        return np.where(z > 0, g, g * (self.alpha * np.exp(np.minimum(z, 0.0))))

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class Softplus(Module):
    r"""$a = \frac{1}{\beta}\log(1 + e^{\beta z})$, element-wise, and $a = z$ where
    $\beta z >$ ``threshold`` (as PyTorch: there the two agree to rounding).

    Stable for any $z$: no overflow warning (see :func:`chainrule.nn.stable.softplus`).

    Args:
        beta: $\beta$, a non-zero number. Default 1.0.
        threshold: above $\beta z$ = ``threshold`` the function is the identity. Default 20.0.

    Shape: ``(*) -> (*)``.
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta = checks.nonzero(checks.number(beta, "Softplus", "beta", keep_int=True), "Softplus", "beta",
                                   "the function divides by it")
        self.threshold = checks.number(threshold, "Softplus", "threshold", keep_int=True)

    def forward(self, z):
        z = as_float_array(z, "Softplus")
        bz = z * self.beta
        self.save_for_backward(bz)  # the derivative sigma(beta z) and the switch both read beta z
        return np.asarray(stable.softplus(z, self.beta, self.threshold))

    def backward(self, grad_output):
        r"""By the chain rule, $\dfrac{d}{dz}\,\frac1\beta\log(1 + e^{\beta z})
        = \frac1\beta \cdot \frac{e^{\beta z}}{1 + e^{\beta z}} \cdot \beta = \sigma(\beta z)$, so

        $$\delta = \frac{\partial C}{\partial a} \odot \begin{cases} 1 & \beta z > \text{threshold} \\ \sigma(\beta z) & \text{otherwise.} \end{cases}$$
        """
        (bz,) = self.saved_tensors
        g = checks.grad_output(self, grad_output, bz.shape, bz.dtype)
        return np.where(bz > self.threshold, g, g * stable.sigmoid(bz))

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"
