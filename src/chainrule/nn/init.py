r"""Weight initialisation, with PyTorch's formulas and gain table (``torch.nn.init``).

Every function fills a :class:`~chainrule.nn.Parameter` (its ``.data``) or a float ndarray
**in place** and returns what it was given, so it composes like PyTorch's::

    layer = nn.Linear(256, 128)
    nn.init.kaiming_normal_(layer.weight, nonlinearity="relu", rng=np.random.default_rng(0))
    nn.init.zeros_(layer.bias)

Random draws come from ``rng`` (a ``numpy.random.Generator``), else from the package's
default generator (``chainrule.manual_seed``). Values are drawn in float64 and cast to the
array's dtype.

Fans are computed for chainrule's (and PyTorch's) weight layout ``(out_features,
in_features, *kernel)``: $\text{fan\_in} = \text{in} \cdot r$, $\text{fan\_out} = \text{out}
\cdot r$ with $r$ the product of the trailing (receptive-field) dimensions.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from scipy import special

from .._config import resolve_rng
from .module import Parameter

__all__ = [
    "calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "zeros_", "ones_",
    "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
]

_UNIT_GAIN = ("linear", "identity", "conv1d", "conv2d", "conv3d",
              "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param=None) -> float:
    r"""The recommended gain for an activation, PyTorch's table.

    ========================  ======================================
    nonlinearity              gain
    ========================  ======================================
    linear, identity, conv*   $1$
    sigmoid                   $1$
    tanh                      $5/3$
    relu                      $\sqrt 2$
    leaky_relu                $\sqrt{2 / (1 + \text{negative\_slope}^2)}$
    selu                      $3/4$
    ========================  ======================================

    Args:
        nonlinearity: the activation's name, as above.
        param: the negative slope for ``'leaky_relu'`` (default 0.01).

    Raises:
        ValueError: for an unknown ``nonlinearity`` or a ``param`` that is not a number.
    """
    if nonlinearity in _UNIT_GAIN:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (bool, np.bool_)) or not isinstance(param, numbers.Real):
            raise ValueError(f"calculate_gain negative_slope must be a number, got {param!r}")
        else:
            slope = float(param)
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(
        f"calculate_gain got unsupported nonlinearity {nonlinearity!r}; expected one of "
        f"{', '.join(_UNIT_GAIN + ('tanh', 'relu', 'leaky_relu', 'selu'))}"
    )


def _array(tensor, owner: str) -> np.ndarray:
    """The ndarray to fill: a Parameter's ``.data`` or a writable float ndarray."""
    arr = tensor.data if isinstance(tensor, Parameter) else tensor
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{owner} expects a chainrule.nn.Parameter or a numpy ndarray, got {type(tensor).__name__}")
    if arr.dtype.kind != "f":
        raise TypeError(f"{owner} expects a float array, got dtype {arr.dtype}")
    if not arr.flags.writeable:
        raise ValueError(f"{owner} cannot fill a read-only array (shape {arr.shape})")
    return arr


def _calculate_fan_in_and_fan_out(arr: np.ndarray, owner: str) -> tuple[int, int]:
    """``(fan_in, fan_out)`` for a weight laid out ``(out, in, *receptive_field)``."""
    if arr.ndim < 2:
        raise ValueError(
            f"{owner} cannot compute fan in and fan out for an array with fewer than 2 "
            f"dimensions, got shape {arr.shape}"
        )
    receptive = math.prod(arr.shape[2:])
    return arr.shape[1] * receptive, arr.shape[0] * receptive


def _fill(arr: np.ndarray, values) -> None:
    arr[...] = values  # cast to the array's dtype, in place


def _check_number(value, owner: str, name: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner} {name} must be a real number, got {value!r}")
    return float(value)


def uniform_(tensor, a: float = 0.0, b: float = 1.0, *, rng=None):
    r"""Fill with values drawn from $\mathcal U(a, b)$.

    Raises:
        ValueError: if ``a > b``.
    """
    arr = _array(tensor, "uniform_")
    a, b = _check_number(a, "uniform_", "a"), _check_number(b, "uniform_", "b")
    if a > b:
        raise ValueError(f"uniform_ expects a <= b, got a={a}, b={b}")
    _fill(arr, resolve_rng(rng=rng, owner="uniform_").uniform(a, b, arr.shape))
    return tensor


def normal_(tensor, mean: float = 0.0, std: float = 1.0, *, rng=None):
    r"""Fill with values drawn from $\mathcal N(\text{mean}, \text{std}^2)$.

    Raises:
        ValueError: if ``std < 0``.
    """
    arr = _array(tensor, "normal_")
    mean, std = _check_number(mean, "normal_", "mean"), _check_number(std, "normal_", "std")
    if std < 0:
        raise ValueError(f"normal_ std must be >= 0, got {std}")
    _fill(arr, resolve_rng(rng=rng, owner="normal_").normal(mean, std, arr.shape))
    return tensor


def trunc_normal_(tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0, *, rng=None):
    r"""Fill with values drawn from $\mathcal N(\text{mean}, \text{std}^2)$ truncated to $[a, b]$
    (``a`` and ``b`` are values, not numbers of standard deviations), as PyTorch: a uniform draw
    between $\Phi(\frac{a - \text{mean}}{\text{std}})$ and $\Phi(\frac{b - \text{mean}}{\text{std}})$
    mapped through the inverse normal CDF.

    Raises:
        ValueError: if ``std < 0`` or ``a >= b``.
    """
    arr = _array(tensor, "trunc_normal_")
    mean, std = _check_number(mean, "trunc_normal_", "mean"), _check_number(std, "trunc_normal_", "std")
    a, b = _check_number(a, "trunc_normal_", "a"), _check_number(b, "trunc_normal_", "b")
    if std < 0:
        raise ValueError(f"trunc_normal_ std must be >= 0, got {std}")
    if not a < b:
        raise ValueError(f"trunc_normal_ expected a < b (the interval the values are cut to), got a={a}, b={b}")
    if std == 0:
        _fill(arr, np.clip(mean, a, b))
        return tensor
    low, high = special.ndtr((a - mean) / std), special.ndtr((b - mean) / std)
    u = resolve_rng(rng=rng, owner="trunc_normal_").uniform(low, high, arr.shape)
    _fill(arr, np.clip(mean + std * special.ndtri(u), a, b))
    return tensor


def constant_(tensor, val: float):
    """Fill with ``val``."""
    arr = _array(tensor, "constant_")
    _fill(arr, _check_number(val, "constant_", "val"))
    return tensor


def zeros_(tensor):
    """Fill with zeros."""
    _fill(_array(tensor, "zeros_"), 0)
    return tensor


def ones_(tensor):
    """Fill with ones."""
    _fill(_array(tensor, "ones_"), 1)
    return tensor


def _xavier_std(arr, gain, owner) -> float:
    """gain * sqrt(2 / (fan_in + fan_out)), the standard deviation both Xavier variants target."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(arr, owner)
    gain = _check_number(gain, owner, "gain")
    return gain * math.sqrt(2.0 / (fan_in + fan_out)) if fan_in + fan_out else 0.0


def xavier_uniform_(tensor, gain: float = 1.0, *, rng=None):
    r"""Glorot/Xavier uniform: $\mathcal U(-a, a)$ with

    $$a = \text{gain} \cdot \sqrt{\frac{6}{\text{fan\_in} + \text{fan\_out}}},$$

    i.e. standard deviation $\text{gain}\sqrt{2/(\text{fan\_in} + \text{fan\_out})}$.

    Raises:
        ValueError: for an array with fewer than 2 dimensions.
    """
    arr = _array(tensor, "xavier_uniform_")
    std = _xavier_std(arr, gain, "xavier_uniform_")
    bound = math.sqrt(3.0) * std
    _fill(arr, resolve_rng(rng=rng, owner="xavier_uniform_").uniform(-bound, bound, arr.shape))
    return tensor


def xavier_normal_(tensor, gain: float = 1.0, *, rng=None):
    r"""Glorot/Xavier normal: $\mathcal N(0, \text{std}^2)$ with

    $$\text{std} = \text{gain} \cdot \sqrt{\frac{2}{\text{fan\_in} + \text{fan\_out}}}.$$

    Raises:
        ValueError: for an array with fewer than 2 dimensions.
    """
    arr = _array(tensor, "xavier_normal_")
    std = _xavier_std(arr, gain, "xavier_normal_")
    _fill(arr, resolve_rng(rng=rng, owner="xavier_normal_").normal(0.0, std, arr.shape))
    return tensor


def _kaiming_std(arr, a, mode, nonlinearity, owner) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{owner} mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(arr, owner)
    fan = fan_in if mode == "fan_in" else fan_out
    gain = calculate_gain(nonlinearity, a)
    return gain / math.sqrt(fan) if fan else 0.0


def kaiming_uniform_(tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", *, rng=None):
    r"""He/Kaiming uniform: $\mathcal U(-b, b)$ with

    $$b = \text{gain} \cdot \sqrt{\frac{3}{\text{fan\_mode}}},$$

    ``gain = calculate_gain(nonlinearity, a)``. With the defaults (``a=0``, leaky_relu) the
    gain is $\sqrt 2$; PyTorch's ``Linear`` default is ``a=sqrt(5)``, i.e.
    $\mathcal U(-1/\sqrt{\text{fan\_in}}, 1/\sqrt{\text{fan\_in}})$.

    Args:
        a: the negative slope of the rectifier after this layer (leaky_relu only).
        mode: ``'fan_in'`` keeps the forward activations' variance, ``'fan_out'`` the
            backward gradients'.
        nonlinearity: a name from :func:`calculate_gain`.

    Raises:
        ValueError: for a bad ``mode``/``nonlinearity`` or an array with fewer than 2 dimensions.
    """
    arr = _array(tensor, "kaiming_uniform_")
    bound = math.sqrt(3.0) * _kaiming_std(arr, a, mode, nonlinearity, "kaiming_uniform_")
    _fill(arr, resolve_rng(rng=rng, owner="kaiming_uniform_").uniform(-bound, bound, arr.shape))
    return tensor


def kaiming_normal_(tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", *, rng=None):
    r"""He/Kaiming normal: $\mathcal N(0, \text{std}^2)$ with

    $$\text{std} = \frac{\text{gain}}{\sqrt{\text{fan\_mode}}},$$

    ``gain = calculate_gain(nonlinearity, a)``. Arguments as :func:`kaiming_uniform_`.

    Raises:
        ValueError: for a bad ``mode``/``nonlinearity`` or an array with fewer than 2 dimensions.
    """
    arr = _array(tensor, "kaiming_normal_")
    std = _kaiming_std(arr, a, mode, nonlinearity, "kaiming_normal_")
    _fill(arr, resolve_rng(rng=rng, owner="kaiming_normal_").normal(0.0, std, arr.shape))
    return tensor
