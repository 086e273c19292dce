"""Argument checks, in one place, so a layer's ``forward`` and ``backward`` read as its maths.

Every check returns the value it accepted (converted: a NumPy scalar becomes a Python number,
a list a float array) or raises an error that names the owner (``"Linear"``,
``"Linear.backward"``), the argument, what was expected and what was given:

    ValueError: Linear in_features must be a non-negative int, got -1
    ValueError: Tanh.backward expected grad_output of shape (8, 3) (the forward output's), got (8, 4)

A module calls one of them in one line at the top of a body, then does the maths. Wrong
types raise ``TypeError`` and wrong values ``ValueError``, except where an argument has always
raised one class for both (``type_error=ValueError`` keeps that).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._config import get_default_dtype

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def owner_of(module_or_name) -> str:
    """``"Linear"`` for a Linear instance, or the string as given."""
    return module_or_name if isinstance(module_or_name, str) else type(module_or_name).__name__


# -- scalars --------------------------------------------------------------------------------
def is_bool(value) -> bool:
    return isinstance(value, (bool, np.bool_))


def is_int(value) -> bool:
    """An integer that is not a bool (``True`` is an int to Python, never a size to us)."""
    return not is_bool(value) and isinstance(value, (numbers.Integral, np.integer))


def is_real(value) -> bool:
    """A real number that is not a bool."""
    return not is_bool(value) and isinstance(value, (numbers.Real, np.integer, np.floating))


def _int_words(minimum) -> str:
    return {None: "an int", 0: "a non-negative int", 1: "a positive int"}.get(minimum, f"an int >= {minimum}")


def integer(value, owner, name: str, *, minimum=None, type_error=TypeError) -> int:
    """``value`` as a Python int, at least ``minimum``: "Linear in_features must be a
    non-negative int, got -1" (``minimum=0``), "... a positive int ..." (``minimum=1``)."""
    if not is_int(value):
        raise type_error(f"{owner_of(owner)} {name} must be {_int_words(minimum)}, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{owner_of(owner)} {name} must be {_int_words(minimum)}, got {value!r}")
    return int(value)


def flag(value, owner, name: str) -> bool:
    """``value`` as a bool: "Conv2d bias must be a bool, got 'yes'"."""
    if not is_bool(value):
        raise TypeError(f"{owner_of(owner)} {name} must be a bool, got {value!r}")
    return bool(value)


def number(value, owner, name: str, *, words: str = "a number", keep_int: bool = False):
    """``value`` as a Python float (``keep_int``: an int stays an int, for a repr as PyTorch's);
    a NumPy float64 scalar would upcast float32 work. Only the type is checked here."""
    if not is_real(value):
        raise TypeError(f"{owner_of(owner)} {name} must be {words}, got {value!r}")
    if keep_int and is_int(value):
        return int(value)
    return value.item() if keep_int and isinstance(value, np.generic) else float(value)


def in_range(value, owner, name: str, *, low=None, high=None, low_open=False, high_open=False,
             finite=False, words: str | None = None, type_error=TypeError) -> float:
    """A real ``value`` in the interval ``[low, high]`` (``low_open``/``high_open``: open at
    that end; ``finite``: no inf), as a Python float. NaN is never in range.
    The message says the interval ("Dropout p must be in [0, 1], got 1.5") or ``words``."""
    if words is None:
        if low is not None and high is not None:
            words = f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        elif low is not None:
            words = f"{'>' if low_open else '>='} {low}"
        elif high is not None:
            words = f"{'<' if high_open else '<='} {high}"
        else:
            words = "a finite number" if finite else "a number"
    if not is_real(value):
        raise type_error(f"{owner_of(owner)} {name} must be {words}, got {value!r}")
    v = float(value)
    ok = not math.isnan(v) and (not finite or math.isfinite(v))
    ok = ok and (low is None or (v > low if low_open else v >= low))
    ok = ok and (high is None or (v < high if high_open else v <= high))
    if not ok:
        raise ValueError(f"{owner_of(owner)} {name} must be {words}, got {value!r}")
    return v


def choice(value, owner, name: str, options) -> object:
    """``value`` if it is one of ``options``: "GELU approximate must be 'none' or 'tanh', got 'x'"."""
    if not any(type(value) is type(option) and value == option for option in options):
        names = [repr(option) for option in options]
        words = (" or ".join(names) if len(names) <= 2 else f"one of {', '.join(names)}")
        raise ValueError(f"{owner_of(owner)} {name} must be {words}, got {value!r}")
    return value


def reduction(value, owner) -> str:
    """``'mean'``, ``'sum'`` or ``'none'``, as every loss takes."""
    return choice(value, owner, "reduction", ("mean", "sum", "none"))


def dim(value, owner, ndim: int) -> int:
    """An axis of an ``ndim``-dimensional input, negative ones counted from the end."""
    if not is_int(value):
        raise TypeError(f"{owner_of(owner)} dim must be an int, got {value!r}")
    if ndim == 0 or not -ndim <= value < ndim:
        raise ValueError(f"{owner_of(owner)} dim={value} is out of range for input with {ndim} dimension(s)")
    return int(value)


# -- arrays ---------------------------------------------------------------------------------
def float_array(x, owner, name: str = "input", dtype=None) -> np.ndarray:
    """``x`` as a float ndarray.

    With ``dtype`` (a layer's parameter dtype) the array is cast to it, so a float32 layer
    never silently computes in float64. Without it, float32/float64 arrays keep their dtype
    and anything else real (ints, bools, float16, lists) becomes the default dtype.
    """
    if type(x) is np.ndarray and (x.dtype == dtype or dtype is None and x.dtype in _FLOAT_DTYPES):
        return x  # the usual case on every training step: nothing to convert
    owner = owner_of(owner)
    try:
        arr = np.asarray(x)
    except ValueError as error:  # ragged nested lists
        raise ValueError(f"{owner} expected {name} to be array-like with a regular shape: {error}") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{owner} expected {name} to be a real numeric array, got dtype {arr.dtype}")
    if dtype is None:
        if arr.dtype in _FLOAT_DTYPES:
            return arr
        dtype = get_default_dtype()
    return arr.astype(dtype, copy=False)


as_float_array = float_array  # the name the modules have used


def grad_output(module, grad, shape: tuple, dtype=None) -> np.ndarray:
    """The gradient a module's ``backward`` was given, as an array of ``dtype`` shaped like the
    forward's output (``shape``): "Tanh.backward expected grad_output of shape (8, 3) (the
    forward output's), got (8, 4)"."""
    owner = f"{owner_of(module)}.backward"
    if type(grad) is np.ndarray and grad.shape == shape and (dtype is None or grad.dtype == dtype):
        return grad  # every training step
    grad = float_array(grad, owner, "grad_output", dtype=dtype)
    if grad.shape != tuple(shape):
        raise ValueError(f"{owner} expected grad_output of shape {tuple(shape)} (the forward output's), "
                         f"got {grad.shape}")
    return grad


def last_dim(x, owner, size: int, what: str) -> np.ndarray:
    """An input whose last axis has ``size`` entries: "Linear expected input with last
    dimension 3 (in_features), got shape (8, 4)"."""
    if x.ndim == 0 or x.shape[-1] != size:
        raise ValueError(f"{owner_of(owner)} expected input with last dimension {size} ({what}), got shape {x.shape}")
    return x


# -- activations, dropout, linear, embedding, flatten ---------------------------------------


# -- convolution and pooling ----------------------------------------------------------------
def int_tuple(value, n: int, owner, name: str, minimum: int) -> tuple:
    """``value`` (an int, or a sequence of ``n`` ints) as an ``n``-tuple of ints ``>= minimum``:
    "Conv2d stride must be an int or a tuple of 2 ints, got 1.5"."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,) * n
    if len(items) != n or not all(isinstance(v, numbers.Integral) and not is_bool(v) for v in items):
        raise TypeError(f"{owner_of(owner)} {name} must be an int or a tuple of {n} ints, got {value!r}")
    if any(v < minimum for v in items):
        raise ValueError(f"{owner_of(owner)} {name} must be >= {minimum}, got {value!r}")
    return tuple(int(v) for v in items)


def batched_input(x, owner, n_spatial: int, channels: int | None, dtype=None) -> tuple[np.ndarray, bool]:
    """``x`` as a float array ``(N, C, *spatial)``, and whether it came with its batch axis.
    As in PyTorch, an unbatched ``(C, *spatial)`` input is one sample."""
    owner = owner_of(owner)
    x = float_array(x, owner, dtype=dtype)
    if x.ndim not in (n_spatial + 1, n_spatial + 2):
        raise ValueError(
            f"{owner} expected a {n_spatial + 1}-D (unbatched) or {n_spatial + 2}-D (batched) input, "
            f"got shape {x.shape}"
        )
    batched = x.ndim == n_spatial + 2
    if channels is not None and x.shape[-n_spatial - 1] != channels:
        raise ValueError(
            f"{owner} expected input with {channels} channels (in_channels) on axis {int(batched)}, "
            f"got shape {x.shape}"
        )
    return (x if batched else x[np.newaxis]), batched


def conv_input(module, x) -> tuple[np.ndarray, bool]:
    """A convolution's input, batched (see :func:`batched_input`), whose padded size fits the
    (dilated) kernel: "Conv2d: the padded input is 2 x 2 per channel but the (dilated) kernel
    spans 3 x 3; ..."."""
    name, n = owner_of(module), module._n
    x, batched = batched_input(x, name, n, module.in_channels, dtype=module.weight.dtype)
    padded = tuple(L + before + after for L, (before, after) in zip(x.shape[2:], module._pads))
    span = tuple(d * (k - 1) + 1 for k, d in zip(module.kernel_size, module.dilation))
    if any(p < s for p, s in zip(padded, span)):
        raise ValueError(
            f"{name}: the padded input is {' x '.join(map(str, padded))} per channel but the "
            f"(dilated) kernel spans {' x '.join(map(str, span))}; the kernel can't be larger than the "
            f"padded input (input shape {x.shape if batched else x.shape[1:]}, padding={module.padding!r})"
        )
    return x, batched


def nonempty_input(x, owner, n_spatial: int) -> tuple[np.ndarray, bool]:
    """A batched input (see :func:`batched_input`) with no empty non-batch axis (adaptive pooling)."""
    x, batched = batched_input(x, owner, n_spatial, None)
    if 0 in x.shape[1:]:
        raise ValueError(f"{owner_of(owner)} expected an input with no empty non-batch axis, "
                         f"got shape {x.shape if batched else x.shape[1:]}")
    return x, batched



def pool_grad(module, grad, batched: bool, out_shape: tuple, dtype) -> np.ndarray:
    """A pooling backward's ``grad_output`` (see :func:`grad_output`), shaped like the forward's
    output, returned batched ``(N, C, *out)``."""
    grad = grad_output(module, grad, out_shape if batched else out_shape[1:], dtype)
    return grad if batched else grad[np.newaxis]


# -- normalisation, attention, recurrent ----------------------------------------------------


# -- losses and containers ------------------------------------------------------------------


# -- optimisers and schedulers --------------------------------------------------------------
