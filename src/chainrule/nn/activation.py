r"""Activations: element-wise $a = \sigma(z)$ and the softmax family.

In backprop an activation's backward is the $\odot\,\sigma'(z)$ half of BP1/BP2: it takes
$\partial C/\partial a$ and returns $\delta = \partial C/\partial a \odot \sigma'(z)$.

Each activation is a pair of plain functions of arrays, named as ``torch.nn.functional``'s
(``relu(input)`` / ``relu_backward(grad_output, output)``, ...): pure maths, no state, no
checks. What a ``*_backward`` takes besides ``grad_output`` follows PyTorch's derivatives: the
output where the derivative is cheapest from it (sigmoid, tanh, relu, softmax, log_softmax),
the input otherwise (leaky_relu, gelu, silu, elu, softplus). The module after each pair checks
its input in one line, saves what the backward needs and calls the pair. (``np.asarray``
around a result keeps a 0-d input's output an array: NumPy's ufuncs return scalars for them.)
"""

from __future__ import annotations

import math

import numpy as np

from . import stable
from .. import _checks as checks
from .._checks import as_float_array
from .module import Module


def sigmoid(input: np.ndarray) -> np.ndarray:
    r"""$a = \sigma(z) = 1/(1 + e^{-z})$, element-wise, without overflow for large $|z|$."""
    return np.asarray(stable.sigmoid(input))


def sigmoid_backward(grad_output: np.ndarray, output: np.ndarray) -> np.ndarray:
    r"""$\delta = \dfrac{\partial C}{\partial a} \odot \sigma'(z)$ with $\sigma'(z) = a(1 - a)$,
    from the forward's output $a$."""
    return np.asarray(grad_output * output * (1 - output))


class Sigmoid(Module):
    r"""Logistic sigmoid, element-wise: $a = \sigma(z) = 1/(1 + e^{-z})$.

    Stable for large $|z|$ (no overflow warning). Shape: ``(*) -> (*)``.
    """

    def forward(self, input):
        a = sigmoid(as_float_array(input, "Sigmoid"))
        self.save_for_backward(a)  # sigma'(z) = a (1 - a): the output is all backward needs
        return a

    def backward(self, grad_output):
        r"""The $\odot\,\sigma'(z)$ half of BP1/BP2, by ``sigmoid_backward``."""
        (a,) = self.saved_tensors
        grad_output = checks.grad_output(self, grad_output, a.shape, a.dtype)
        return sigmoid_backward(grad_output, a)


def tanh(input: np.ndarray) -> np.ndarray:
    r"""$a = \tanh z$, element-wise."""
    return np.asarray(np.tanh(input))


def tanh_backward(grad_output: np.ndarray, output: np.ndarray) -> np.ndarray:
    r"""$\delta = \dfrac{\partial C}{\partial a} \odot (1 - a^2)$, from the forward's output $a$:
    $\tanh'(z) = 1 - \tanh^2 z$."""
    return np.asarray(grad_output * (1 - output * output))


class Tanh(Module):
    r"""Hyperbolic tangent, element-wise: $a = \tanh(z)$. Shape: ``(*) -> (*)``."""

    def forward(self, input):
        a = tanh(as_float_array(input, "Tanh"))
        self.save_for_backward(a)  # tanh'(z) = 1 - a^2: cheapest from the output
        return a

    def backward(self, grad_output):
        r"""The $\odot\,\tanh'(z)$ half of BP1/BP2, by ``tanh_backward``."""
        (a,) = self.saved_tensors
        grad_output = checks.grad_output(self, grad_output, a.shape, a.dtype)
        return tanh_backward(grad_output, a)


def relu(input: np.ndarray) -> np.ndarray:
    r"""$a = \max(z, 0)$, element-wise."""
    return np.asarray(np.maximum(input, 0))


def relu_backward(grad_output: np.ndarray, output: np.ndarray) -> np.ndarray:
    r"""$\delta = \dfrac{\partial C}{\partial a} \odot [z > 0]$, from the forward's output $a$
    ($a > 0$ exactly where $z > 0$; as in PyTorch the derivative at $z = 0$ is 0).

    A product with the mask rather than ``np.where(mask, g, 0)``, which is about 6x slower:
    so, unlike PyTorch, an infinite incoming gradient at a switched-off unit gives NaN, not 0
    (such a gradient is already broken, and ``chainrule.detect_anomaly`` names where).
    """
    # "not a <= 0" rather than "a > 0": where the input was NaN the gradient passes on,
    # as in PyTorch, instead of a silent 0.
    return np.asarray(grad_output * ~(output <= 0))


def _kept_input(z: np.ndarray, inplace: bool) -> np.ndarray:
    """What a backward that reads the input keeps: ``z`` itself, or a copy when the forward
    writes its output into ``z`` (``inplace=True``)."""
    return z.copy() if inplace else z


def _into_input(z: np.ndarray, a: np.ndarray, inplace: bool) -> np.ndarray:
    """The output: ``a``, or ``z`` with ``a`` written into it (``inplace=True``, as PyTorch's)."""
    if not inplace:
        return a
    z[...] = a
    return z


class ReLU(Module):
    r"""Rectified linear unit, element-wise: $a = \max(z, 0)$. Shape: ``(*) -> (*)``.

    As in PyTorch, the derivative at $z = 0$ is taken to be 0.

    Args:
        inplace: write $a$ into the input array instead of a new one, as PyTorch's. The backward
            stays right: it reads only the output.
    """

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = checks.flag(inplace, "ReLU", "inplace")

    def forward(self, input):
        z = as_float_array(input, "ReLU")
        a = np.maximum(z, 0, out=z) if self.inplace else relu(z)
        self.save_for_backward(a)  # relu'(z) = [a > 0]: the output says which units pass
        return a

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""

    def backward(self, grad_output):
        r"""The $\odot\,\operatorname{relu}'(z)$ half of BP1/BP2, by ``relu_backward``."""
        (a,) = self.saved_tensors
        grad_output = checks.grad_output(self, grad_output, a.shape, a.dtype)
        return relu_backward(grad_output, a)


def leaky_relu(input: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    r"""$a = z$ for $z > 0$, else $\alpha z$ ($\alpha$ = ``negative_slope``), element-wise."""
    return np.where(input > 0, input, input * input.dtype.type(negative_slope))


def leaky_relu_backward(grad_output: np.ndarray, input: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    r"""$\delta = \dfrac{\partial C}{\partial a} \odot (1 \text{ if } z > 0 \text{ else } \alpha)$,
    from the forward's input $z$ (its sign decides)."""
    return np.where(input > 0, grad_output, grad_output * input.dtype.type(negative_slope))


class LeakyReLU(Module):
    r"""$a = z$ for $z > 0$, else $\alpha z$ ($\alpha$ = ``negative_slope``). Shape: ``(*) -> (*)``.

    Args:
        negative_slope: $\alpha$, the slope for negative inputs. Default 0.01.
    """

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope = checks.number(negative_slope, "LeakyReLU", "negative_slope")
        self.inplace = checks.flag(inplace, "LeakyReLU", "inplace")

    def forward(self, input):
        z = as_float_array(input, "LeakyReLU")
        a = leaky_relu(z, self.negative_slope)
        # the derivative is 1 or alpha, decided by the sign of z (a copy if z is about to be overwritten)
        self.save_for_backward(_kept_input(z, self.inplace))
        return _into_input(z, a, self.inplace)

    def backward(self, grad_output):
        r"""The $\odot\,\operatorname{leaky\_relu}'(z)$ half of BP1/BP2, by ``leaky_relu_backward``."""
        (z,) = self.saved_tensors
        grad_output = checks.grad_output(self, grad_output, z.shape, z.dtype)
        return leaky_relu_backward(grad_output, z, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class Identity(Module):
    r"""$a = z$. Useful as a placeholder (and as the "linear" activation of a last layer)."""

    def forward(self, input):
        z = np.asarray(input)
        self.save_for_backward(z.shape, z.dtype)  # the gradient gets the output's shape and dtype
        return z

    def backward(self, grad_output):
        r"""$\delta = \partial C/\partial a$: the derivative of the identity is 1."""
        shape, dtype = self.saved_tensors
        return checks.identity_grad(self, grad_output, shape, dtype)


def softmax(input: np.ndarray, dim: int) -> np.ndarray:
    r"""$s_i = e^{z_i} / \sum_j e^{z_j}$ along ``dim``, max-shifted so it never overflows."""
    if input.ndim == 0:  # one value (PyTorch accepts a 0-d tensor): a softmax over one element
        return softmax(input.reshape(1), 0).reshape(())
    return stable.softmax(input, axis=dim)


def softmax_backward(grad_output: np.ndarray, output: np.ndarray, dim: int) -> np.ndarray:
    r"""The softmax's Jacobian-vector product, from its output $s$, without forming the
    Jacobian $J = \operatorname{diag}(s) - s s^\top$ (symmetric):

    $$\frac{\partial C}{\partial z} = J\,g = s \odot \Big(g - \sum_j g_j s_j\Big)$$

    along ``dim``, with $g = \partial C/\partial s$ (``grad_output``).
    """
    if output.ndim == 0:
        return softmax_backward(grad_output.reshape(1), output.reshape(1), 0).reshape(())
    return output * (grad_output - (grad_output * output).sum(axis=dim, keepdims=True))


class Softmax(Module):
    r"""$s_i = e^{z_i} / \sum_j e^{z_j}$ along ``dim``, max-shifted so it never overflows.

    Args:
        dim: the dimension that sums to 1. Default -1 (the last).

    Shape: ``(*) -> (*)``.
    """

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        z = as_float_array(input, "Softmax")
        dim = checks.dim(self.dim, "Softmax", z.ndim)
        s = softmax(z, dim)
        self.save_for_backward(s, dim)  # the Jacobian diag(s) - s s^T is a function of s
        return s

    def backward(self, grad_output):
        r"""The Jacobian-vector product $J^\top g$ (softmax's full-Jacobian counterpart of the
        $\odot\,\sigma'(z)$ half of BP1/BP2), by ``softmax_backward``, without forming $J$."""
        s, dim = self.saved_tensors
        g = checks.grad_output(self, grad_output, s.shape, s.dtype)
        return softmax_backward(g, s, dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


def log_softmax(input: np.ndarray, dim: int) -> np.ndarray:
    r"""$y_i = z_i - \log\sum_j e^{z_j}$ along ``dim``, computed as a max-shifted log-sum-exp."""
    if input.ndim == 0:  # one value: a log-softmax over one element
        return log_softmax(input.reshape(1), 0).reshape(())
    return stable.log_softmax(input, axis=dim)


def log_softmax_backward(grad_output: np.ndarray, output: np.ndarray, dim: int) -> np.ndarray:
    r"""From the forward's output $y$: $\partial y_i / \partial z_j = [i = j] - s_j$ with
    $s = e^{y}$, so, with $g = \partial C/\partial y$ (``grad_output``),

    $$\frac{\partial C}{\partial z} = g - s \sum_i g_i .$$
    """
    if output.ndim == 0:
        return log_softmax_backward(grad_output.reshape(1), output.reshape(1), 0).reshape(())
    return grad_output - np.exp(output) * grad_output.sum(axis=dim, keepdims=True)


class LogSoftmax(Module):
    r"""$y_i = z_i - \log\sum_j e^{z_j}$ along ``dim``, computed as a max-shifted log-sum-exp.

    Args:
        dim: the dimension normalised over. Default -1 (the last).

    Shape: ``(*) -> (*)``.
    """

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        z = as_float_array(input, "LogSoftmax")
        dim = checks.dim(self.dim, "LogSoftmax", z.ndim)
        y = log_softmax(z, dim)
        self.save_for_backward(y, dim)  # softmax = exp(y) is all the derivative needs
        return y

    def backward(self, grad_output):
        r"""The Jacobian-vector product $J^\top g$ of the log-softmax, by ``log_softmax_backward``."""
        y, dim = self.saved_tensors
        g = checks.grad_output(self, grad_output, y.shape, y.dtype)
        return log_softmax_backward(g, y, dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


_SQRT_HALF = math.sqrt(0.5)                    # 1/sqrt(2): Phi(z) = (1 + erf(z / sqrt 2)) / 2
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)  # phi(z) = exp(-z^2 / 2) / sqrt(2 pi)
_TANH_SCALE = math.sqrt(2.0 / math.pi)          # the tanh form's sqrt(2/pi) ...
_TANH_CUBIC = 0.044715                          # ... and its cubic coefficient (PyTorch's)


def gelu_term(input: np.ndarray, approximate: str = "none") -> np.ndarray:
    r"""The costly term both halves of GELU read besides $z$: $\Phi(z)$ for the exact form
    (an erf), $t = \tanh u$ for the tanh form. ``gelu`` and ``gelu_backward`` compute it from
    ``input`` unless given it as ``term=``: the module computes it once, in forward, and keeps it
    (an erf again in backward would make the exact form's forward and backward about 1.7x as slow)."""
    if approximate == "tanh":
        return np.tanh(_TANH_SCALE * (input + _TANH_CUBIC * input * input * input))
    return np.asarray(0.5 * (1.0 + stable.erf(input * _SQRT_HALF)))


def gelu(input: np.ndarray, approximate: str = "none", *, term: np.ndarray | None = None) -> np.ndarray:
    r"""$a = z\,\Phi(z)$, element-wise, with $\Phi$ the standard normal CDF,
    $\Phi(z) = \tfrac12\big(1 + \operatorname{erf}(z/\sqrt2)\big)$; with ``approximate='tanh'``,
    $a = \tfrac12 z\big(1 + \tanh u\big)$, $u = \sqrt{2/\pi}\,(z + 0.044715\,z^3)$.
    ``term``: ``gelu_term(input, approximate)``, if the caller has it already."""
    term = gelu_term(input, approximate) if term is None else term
    if approximate == "tanh":
        t = term
        return np.asarray(0.5 * input * (1.0 + t))
    cdf = term
    return np.asarray(input * cdf)


def gelu_backward(grad_output: np.ndarray, input: np.ndarray, approximate: str = "none", *,
                  term: np.ndarray | None = None) -> np.ndarray:
    r"""From the forward's input $z$. Exact form, by the product rule with $\Phi' = \varphi$,
    the normal density:

    $$\delta = \frac{\partial C}{\partial a} \odot \big(\Phi(z) + z\,\varphi(z)\big),
    \qquad \varphi(z) = \frac{e^{-z^2/2}}{\sqrt{2\pi}}.$$

    Tanh form, with $t = \tanh u$, $\tanh' = 1 - \tanh^2$ and
    $u' = \sqrt{2/\pi}\,(1 + 3 \cdot 0.044715\,z^2)$:

    $$\delta = \frac{\partial C}{\partial a} \odot \Big(\tfrac12(1 + t) + \tfrac12 z\,(1 - t^2)\,u'\Big).$$

    ``term``: ``gelu_term(input, approximate)`` ($\Phi(z)$ or $t$), if the caller kept it.
    """
    z = input
    term = gelu_term(z, approximate) if term is None else term
    if approximate == "tanh":
        t = term
        return np.asarray(grad_output * (0.5 * (1.0 + t)
                          + 0.5 * z * (1.0 - t * t) * _TANH_SCALE * (1.0 + 3.0 * _TANH_CUBIC * z * z)))
    cdf = term
    return np.asarray(grad_output * (cdf + z * np.exp(-0.5 * z * z) * _INV_SQRT_2PI))


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

    def forward(self, input):
        z = as_float_array(input, "GELU")
        term = gelu_term(z, self.approximate)
        self.save_for_backward(z, term)  # the derivative needs z and Phi(z) (or tanh u): one erf, not two
        return gelu(z, self.approximate, term=term)

    def backward(self, grad_output):
        r"""The $\odot\,\operatorname{GELU}'(z)$ half of BP1/BP2, by ``gelu_backward``."""
        z, term = self.saved_tensors
        g = checks.grad_output(self, grad_output, z.shape, z.dtype)
        return gelu_backward(g, z, self.approximate, term=term)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


def silu(input: np.ndarray, *, term: np.ndarray | None = None) -> np.ndarray:
    r"""$a = z\,\sigma(z)$, element-wise. ``term``: $\sigma(z)$, if the caller has it already."""
    s = np.asarray(stable.sigmoid(input)) if term is None else term
    return np.asarray(input * s)


def silu_backward(grad_output: np.ndarray, input: np.ndarray, *, term: np.ndarray | None = None) -> np.ndarray:
    r"""From the forward's input $z$, by the product rule with $\sigma' = \sigma(1 - \sigma)$:
    $\dfrac{d}{dz}\,z\sigma(z) = \sigma + z\,\sigma(1 - \sigma)$, so

    $$\delta = \frac{\partial C}{\partial a} \odot \sigma(z)\big(1 + z\,(1 - \sigma(z))\big).$$

    ``term``: $\sigma(z)$, if the caller kept it from the forward.
    """
    s = np.asarray(stable.sigmoid(input)) if term is None else term
    return np.asarray(grad_output * s * (1.0 + input * (1.0 - s)))


class SiLU(Module):
    r"""Sigmoid linear unit (swish), element-wise: $a = z\,\sigma(z)$. Shape: ``(*) -> (*)``.

    Args:
        inplace: write $a$ into the input array, as PyTorch's (the backward keeps a copy of $z$).
    """

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = checks.flag(inplace, "SiLU", "inplace")

    def forward(self, input):
        z = as_float_array(input, "SiLU")
        s = np.asarray(stable.sigmoid(z))
        # the derivative s (1 + z (1 - s)) needs z and sigma(z), kept from here
        self.save_for_backward(_kept_input(z, self.inplace), s)
        return _into_input(z, silu(z, term=s), self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""

    def backward(self, grad_output):
        r"""The $\odot\,\operatorname{SiLU}'(z)$ half of BP1/BP2, by ``silu_backward``."""
        z, s = self.saved_tensors
        g = checks.grad_output(self, grad_output, z.shape, z.dtype)
        return silu_backward(g, z, term=s)


def elu(input: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    r"""$a = z$ for $z > 0$, else $\alpha\,(e^{z} - 1)$, element-wise."""
    # The exponential of min(z, 0) only, so a large positive z cannot overflow it.
    return np.where(input > 0, input, alpha * np.expm1(np.minimum(input, 0.0)))


def elu_backward(grad_output: np.ndarray, input: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    r"""From the forward's input $z$: $\dfrac{d}{dz}\,\alpha(e^z - 1) = \alpha e^z$ for
    $z \le 0$, and 1 for $z > 0$:

    $$\delta = \frac{\partial C}{\partial a} \odot \begin{cases} 1 & z > 0 \\ \alpha e^{z} & z \le 0. \end{cases}$$

    At $z = 0$ this is $\alpha$, PyTorch's choice. (Not from the output: $\alpha e^z = a + \alpha$
    would lose every digit where $a$ is near $-\alpha$.)
    """
    # "z <= 0" picks the exponential branch, so a NaN input passes the gradient on, as PyTorch's
    return np.where(input <= 0, grad_output * (alpha * np.exp(np.minimum(input, 0.0))), grad_output)


class ELU(Module):
    r"""Exponential linear unit, element-wise:
    $a = z$ for $z > 0$, else $\alpha\,(e^{z} - 1)$. Shape: ``(*) -> (*)``.

    Args:
        alpha: $\alpha$: $a \to -\alpha$ as $z \to -\infty$. Default 1.0.
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha = checks.number(alpha, "ELU", "alpha", keep_int=True)
        self.inplace = checks.flag(inplace, "ELU", "inplace")

    def forward(self, input):
        z = as_float_array(input, "ELU")
        a = elu(z, self.alpha)
        # Keep z, not the output: alpha e^z = a + alpha would lose every digit where a is near -alpha.
        self.save_for_backward(_kept_input(z, self.inplace))
        return _into_input(z, a, self.inplace)

    def backward(self, grad_output):
        r"""The $\odot\,\operatorname{ELU}'(z)$ half of BP1/BP2, by ``elu_backward``."""
        (z,) = self.saved_tensors
        g = checks.grad_output(self, grad_output, z.shape, z.dtype)
        return elu_backward(g, z, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


def softplus(input: np.ndarray, beta: float = 1.0, threshold: float = 20.0) -> np.ndarray:
    r"""$a = \frac{1}{\beta}\log(1 + e^{\beta z})$, element-wise, and $a = z$ where
    $\beta z >$ ``threshold``; stable for any $z$ (see ``chainrule.nn.stable.softplus``)."""
    return np.asarray(stable.softplus(input, beta, threshold))


def softplus_backward(grad_output: np.ndarray, input: np.ndarray, beta: float = 1.0,
                      threshold: float = 20.0) -> np.ndarray:
    r"""From the forward's input $z$, by the chain rule:
    $\dfrac{d}{dz}\,\frac1\beta\log(1 + e^{\beta z})
    = \frac1\beta \cdot \frac{e^{\beta z}}{1 + e^{\beta z}} \cdot \beta = \sigma(\beta z)$, so

    $$\delta = \frac{\partial C}{\partial a} \odot \begin{cases} 1 & \beta z > \text{threshold} \\ \sigma(\beta z) & \text{otherwise.} \end{cases}$$
    """
    bz = input * beta  # the switch and sigma(beta z) both read beta z
    return np.where(bz > threshold, grad_output, grad_output * stable.sigmoid(bz))


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

    def forward(self, input):
        z = as_float_array(input, "Softplus")
        self.save_for_backward(z)  # the derivative sigma(beta z) and the switch read z (times beta)
        return softplus(z, self.beta, self.threshold)

    def backward(self, grad_output):
        r"""The $\odot\,\operatorname{softplus}'(z)$ half of BP1/BP2, by ``softplus_backward``."""
        (z,) = self.saved_tensors
        g = checks.grad_output(self, grad_output, z.shape, z.dtype)
        return softplus_backward(g, z, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"
