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
import warnings
from collections import Counter

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


def choice(value, owner, name: str, options, *, error=ValueError) -> object:
    """``value`` if it is one of ``options``: "GELU approximate must be 'none' or 'tanh', got 'x'"
    (``error``: the class raised, where PyTorch's function raises another)."""
    if type(value) is str and value in options:  # the usual case, a tuple lookup (a str equals only a str)
        return value
    if not any(type(value) is type(option) and value == option for option in options):
        names = [repr(option) for option in options]
        words = (" or ".join(names) if len(names) <= 2 else f"one of {', '.join(names)}")
        raise error(f"{owner_of(owner)} {name} must be {words}, got {value!r}")
    return value


REDUCTIONS = ("mean", "sum", "none")


def reduction(value, owner) -> str:
    """``'mean'``, ``'sum'`` or ``'none'``, as every loss takes."""
    return choice(value, owner, "reduction", REDUCTIONS)


def legacy_reduction(size_average, reduce, value, owner, stacklevel: int = 3) -> str:
    """A loss's ``reduction``, checked; or, when PyTorch's deprecated ``size_average`` or
    ``reduce`` is given, what they say, with PyTorch's mapping (each ``None`` meaning ``True``):
    ``reduce`` false is ``'none'``, else ``size_average`` false is ``'sum'``, else ``'mean'``;
    ``reduction`` is then ignored, as PyTorch does, and a warning names the ``reduction=`` to
    write instead (``stacklevel``: the caller's frame, as ``warnings.warn`` counts)."""
    if size_average is None and reduce is None:
        return reduction(value, owner)
    reduce = True if reduce is None else reduce
    size_average = True if size_average is None else size_average
    legacy = "mean" if size_average and reduce else "sum" if reduce else "none"
    warnings.warn(f"{owner_of(owner)}: size_average and reduce are deprecated (as in PyTorch); "
                  f"use reduction={legacy!r} instead", UserWarning, stacklevel=stacklevel)
    return legacy


def dim(value, owner, ndim: int) -> int:
    """An axis of an ``ndim``-dimensional input, negative ones counted from the end."""
    if not is_int(value):
        raise TypeError(f"{owner_of(owner)} dim must be an int, got {value!r}")
    span = max(ndim, 1)  # a 0-d input takes dim 0 or -1, as in PyTorch
    if not -span <= value < span:
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
def flatten_dims(owner, start_dim: int, end_dim: int, start: int, end: int, ndim: int) -> None:
    """Flatten's two axes, already wrapped: start must not come after end."""
    if start > end:
        raise ValueError(f"{owner_of(owner)} start_dim={start_dim} comes after end_dim={end_dim} "
                         f"for input with {ndim} dimension(s)")


def not_zero_dim(x: np.ndarray, owner) -> np.ndarray:
    """An input with at least one axis: "Unflatten expected an input with at least one dimension"."""
    if x.ndim == 0:
        raise ValueError(f"{owner_of(owner)} expected an input with at least one dimension, got a 0-d array")
    return x


def embedding_indices(indices, owner, num_embeddings: int) -> np.ndarray:
    """Integer indices in ``[0, num_embeddings)``: a ``TypeError`` for other dtypes, an
    ``IndexError`` naming the first index out of range."""
    indices = np.asarray(indices)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"{owner_of(owner)} expected integer indices, got dtype {indices.dtype}")
    if indices.size and (indices.min() < 0 or indices.max() >= num_embeddings):
        bad = indices[(indices < 0) | (indices >= num_embeddings)].flat[0]
        raise IndexError(f"{owner_of(owner)} index {bad} is out of range for num_embeddings={num_embeddings} "
                         f"(indices must be in [0, {num_embeddings}))")
    return indices


def embedding_weight(weight, owner) -> np.ndarray:
    """A lookup table ``(num_embeddings, embedding_dim)``: "embedding expected weight of shape
    (num_embeddings, embedding_dim), got shape (1, 1, 1)" (a ``RuntimeError``, as PyTorch's
    ``F.embedding`` raises)."""
    if np.ndim(weight) != 2:
        raise RuntimeError(f"{owner_of(owner)} expected weight of shape (num_embeddings, embedding_dim) (2-D), "
                           f"got shape {np.shape(weight)}")
    return weight


def embedding_options(owner, max_norm, norm_type, scale_grad_by_freq, sparse) -> tuple:
    """Embedding's ``max_norm`` (None or a number >= 0: a bound on a norm), ``norm_type`` (the
    p of the p-norm, any number but NaN, as PyTorch's) and the two flags; numbers keep their
    type (an int stays an int), so the repr is PyTorch's."""
    if max_norm is not None:
        in_range(max_norm, owner, "max_norm", low=0, words="None or a number >= 0")
        max_norm = number(max_norm, owner, "max_norm", keep_int=True)
    in_range(norm_type, owner, "norm_type", words="a number (the p of the p-norm)")
    return (max_norm, number(norm_type, owner, "norm_type", keep_int=True),
            flag(scale_grad_by_freq, owner, "scale_grad_by_freq"), flag(sparse, owner, "sparse"))


def nonzero(value, owner, name: str, why: str):
    """A number that must not be 0: "Softplus beta must be non-zero (the function divides by it), got 0"."""
    if value == 0:
        raise ValueError(f"{owner_of(owner)} {name} must be non-zero ({why}), got {value!r}")
    return value


def identity_grad(module, grad, shape: tuple, dtype) -> np.ndarray:
    """Identity's ``grad_output``: shaped like the output and, as PyTorch's gradients are,
    of the output's dtype (float16 stays float16; an integer output's gradient is the
    default float dtype). A complex output passes any same-shaped gradient through."""
    if dtype.kind == "c":
        grad = np.asarray(grad)
        if grad.shape != tuple(shape):
            raise ValueError(f"{owner_of(module)}.backward expected grad_output of shape {tuple(shape)} "
                             f"(the forward output's), got {grad.shape}")
        return grad
    return grad_output(module, grad, shape, dtype if dtype.kind == "f" else get_default_dtype())


def linear_input(module, x) -> np.ndarray:
    """Linear's input: a float array of the layer's dtype whose last axis is ``in_features``."""
    x = float_array(x, "Linear", dtype=module.weight.dtype)
    return last_dim(x, "Linear", module.in_features, "in_features")


def linear_grad_output(module, grad, shape: tuple) -> np.ndarray:
    """Linear's ``grad_output``, shaped like its output: "Linear.backward expected
    grad_output of shape (4, 2), got (4, 3)"."""
    dtype = module.weight.dtype
    if type(grad) is np.ndarray and grad.shape == shape and grad.dtype == dtype:
        return grad  # every training step
    grad = float_array(grad, "Linear.backward", "grad_output", dtype=dtype)
    if grad.shape != shape:
        raise ValueError(f"Linear.backward expected grad_output of shape {shape}, got {grad.shape}")
    return grad


# -- convolution and pooling ----------------------------------------------------------------
def int_tuple(value, n: int, owner, name: str, minimum: int, *, one_for_all: bool = False) -> tuple:
    """``value`` (an int, or a sequence of ``n`` ints; ``one_for_all``: or of one int, for every
    axis) as an ``n``-tuple of ints ``>= minimum``:
    "Conv2d stride must be an int or a tuple of 2 ints, got 1.5"."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,) * n
    if one_for_all and len(items) == 1:
        items *= n
    if len(items) != n or not all(isinstance(v, numbers.Integral) and not is_bool(v) for v in items):
        sizes = f"1 or {n}" if one_for_all and n > 1 else f"{n}"
        raise TypeError(f"{owner_of(owner)} {name} must be an int or a tuple of {sizes} ints, got {value!r}")
    if any(v < minimum for v in items):
        raise ValueError(f"{owner_of(owner)} {name} must be >= {minimum}, got {value!r}")
    return tuple(int(v) for v in items)


def pool_window(owner, n: int, kernel_size, stride, padding, dilation, *, one_for_all: bool = True) -> tuple:
    """``(kernel, stride, padding, dilation)`` as ``n``-tuples, parsed as PyTorch's max and average
    pools parse them: each an int or a tuple of ``n`` ints or of one (for every axis), and
    ``stride=None`` or an empty tuple meaning ``kernel_size``. ``one_for_all=False`` takes ``n``
    ints only and ``None`` for the kernel, as PyTorch's MaxUnpool does."""
    kernel = int_tuple(kernel_size, n, owner, "kernel_size", 1, one_for_all=one_for_all)
    empty = one_for_all and isinstance(stride, (tuple, list)) and len(stride) == 0
    stride = kernel if stride is None or empty else int_tuple(stride, n, owner, "stride", 1, one_for_all=one_for_all)
    return (kernel, stride, int_tuple(padding, n, owner, "padding", 0, one_for_all=one_for_all),
            int_tuple(dilation, n, owner, "dilation", 1, one_for_all=one_for_all))


PADDING_MODES = ("zeros", "reflect", "replicate", "circular")  # a convolution's, PyTorch's names
PAD_MODES = ("constant", "reflect", "replicate", "circular")  # F.pad's


def padding_mode(value, owner, transposed: bool = False) -> str:
    """A convolution's ``padding_mode``, one of PyTorch's four; a transposed convolution's is
    ``'zeros'`` only (PyTorch's raises for the others when it runs)."""
    mode = choice(value, owner, "padding_mode", PADDING_MODES)
    if transposed and mode != "zeros":
        raise ValueError(f"{owner_of(owner)} padding_mode must be 'zeros' (a transposed convolution has no "
                         f"other, as in PyTorch), got {mode!r}")
    return mode


def pad_amounts(owner, shape: tuple, pads: tuple, mode: str, what: str = "padding_mode") -> None:
    """``pads[i] = (before, after)`` (non-negative) on the ``i``-th of the last ``len(pads)`` axes of
    ``shape``, as much as ``mode`` can add: ``'reflect'`` mirrors inside the axis (each amount below
    its length), ``'circular'`` wraps it once (at most its length), and neither they nor
    ``'replicate'`` pad an empty axis. "Conv1d padding_mode='reflect' needs each padding below the
    axis length 4 (the edge is not repeated), got (4, 4) on axis 2 of input shape (1, 2, 4)"."""
    if mode in ("zeros", "constant"):
        return
    rule = {"reflect": "below the axis length {L} (the edge is not repeated)",
            "circular": "at most the axis length {L} (it wraps around once)",
            "replicate": "on a non-empty axis (the edge is what it copies)"}[mode]
    first = len(shape) - len(pads)
    for axis, (before, after) in enumerate(pads, start=first):
        L, most = shape[axis], max(before, after)
        if most and (L == 0 or (mode == "reflect" and most >= L) or (mode == "circular" and most > L)):
            raise ValueError(f"{owner_of(owner)} {what}={mode!r} needs each padding {rule.format(L=L)}, got "
                             f"({before}, {after}) on axis {axis} of input shape {tuple(shape)}")


def pad_arguments(shape: tuple, pad, mode, value) -> tuple:
    """``F.pad``'s arguments as PyTorch takes them: an even number of int amounts, ``(before, after)``
    from the LAST axis backwards; the non-constant modes pad the last 1, 2 or 3 axes of an input
    with one or two axes before them, and take no fill ``value``. Returns ``(grow, cut)``, the
    positive and the negative (cropping) amounts as ``(before, after)`` pairs, first padded axis first."""
    choice(mode, "pad", "mode", PAD_MODES)
    amounts = tuple(pad)
    if not all(is_int(p) for p in amounts):
        raise TypeError(f"pad amounts must be ints, got {amounts}")
    if len(amounts) % 2 or len(amounts) // 2 > len(shape):
        raise ValueError(f"pad expected an even number of amounts, at most 2 per axis of the input's "
                         f"{len(shape)}, got {amounts}")
    k = len(amounts) // 2
    if mode != "constant":
        if k not in (1, 2, 3) or len(shape) not in (k + 1, k + 2):
            raise ValueError(f"pad mode={mode!r} pads the last 1, 2 or 3 axes of an input with one or two axes "
                             f"before them (as PyTorch), got {k} (before, after) pairs for a {len(shape)}-D input")
        if value is not None and value != 0:
            raise ValueError(f"pad mode={mode!r} takes no value (only 'constant' fills), got value={value!r}")
    pairs = [(int(amounts[2 * i]), int(amounts[2 * i + 1])) for i in reversed(range(k))]
    grow = tuple((max(b, 0), max(a, 0)) for b, a in pairs)
    cut = tuple((max(-b, 0), max(-a, 0)) for b, a in pairs)
    first = len(shape) - k
    kept = [L - b - a for L, (b, a) in zip(shape[first:], cut)]
    out = [L + b + a for L, (b, a) in zip(shape[first:], pairs)]
    if any(n < 0 for n in kept) if mode in ("constant", "circular") else any(n < 1 for n in out):
        raise ValueError(f"pad mode={mode!r}: the negative amounts in {amounts} crop more than the input's "
                         f"shape {tuple(shape)} holds")
    # PyTorch's circular mode crops first and wraps what is left; the others pad the whole input
    sizes = (*shape[:first], *kept) if mode == "circular" else shape
    pad_amounts("pad", sizes, grow, mode, "mode")
    return grow, cut


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


def conv_channels(in_channels, out_channels, groups, owner) -> tuple:
    """A convolution's channel counts and groups: positive ints, both counts divisible by ``groups``."""
    name = owner_of(owner)
    values = {"in_channels": in_channels, "out_channels": out_channels, "groups": groups}
    for arg, value in values.items():
        integer(value, name, arg, minimum=1, type_error=ValueError)
    for arg in ("in_channels", "out_channels"):
        if values[arg] % groups:
            raise ValueError(f"{name} {arg} must be divisible by groups, got {arg}={values[arg]}, groups={groups}")
    return int(in_channels), int(out_channels), int(groups)


def transpose_padding(padding, owner) -> None:
    """A transposed convolution's ``padding``: numbers only ('same' and 'valid' are a convolution's)."""
    if isinstance(padding, str):
        raise ValueError(f"{owner_of(owner)} padding must be an int or a tuple of ints, got {padding!r} "
                         f"('same' and 'valid' are for convolutions)")


def output_padding(value, module) -> tuple:
    """``output_padding`` per axis, each below the stride or the dilation (PyTorch's rule)."""
    name = owner_of(module)
    pads = int_tuple(value, module._n, name, "output_padding", 0)
    if any(op >= max(s, d) for op, s, d in zip(pads, module.stride, module.dilation)):
        raise ValueError(f"{name} output_padding must be smaller than either stride or dilation, got "
                         f"output_padding={value!r}, stride={module.stride}, dilation={module.dilation}")
    return pads


def transpose_output_size(module, output_size, x_shape: tuple, batched: bool) -> tuple:
    """A transposed convolution's ``forward(input, output_size)`` as PyTorch's: ``None`` (the
    module's ``output_padding``), or the spatial sizes (optionally after ``N, C`` or ``C``), each
    in ``[m, m + s - 1]``, ``m`` the size with no output padding; returns the output padding."""
    name, n = owner_of(module), module._n
    if output_size is None:
        return module.output_padding
    if isinstance(output_size, (str, bytes)) or not hasattr(output_size, "__len__"):
        raise TypeError(f"{name} output_size must be None or a sequence of ints, got {output_size!r}")
    leading = 2 if batched else 1
    sizes = list(output_size)
    if len(sizes) == leading + n:
        sizes = sizes[leading:]
    if len(sizes) != n or not all(is_int(size) for size in sizes):
        raise ValueError(f"{name}: for {n + leading}-D input, output_size must have {n} or {n + leading} ints, "
                         f"got {output_size!r}")
    smallest = [(L - 1) * s - 2 * p + d * (k - 1) + 1 for L, s, p, d, k in zip(
        x_shape[2:], module.stride, module.padding, module.dilation, module.kernel_size)]
    largest = [m + s - 1 for m, s in zip(smallest, module.stride)]
    if any(not m <= size <= M for size, m, M in zip(sizes, smallest, largest)):
        raise ValueError(f"{name} requested an output size of {sizes}, but valid sizes range from {smallest} to "
                         f"{largest} (for an input of {tuple(x_shape[2:])})")
    return tuple(int(size) - m for size, m in zip(sizes, smallest))


def conv_transpose_input(module, x, output_shape) -> tuple[np.ndarray, bool]:
    """A transposed convolution's input, batched, whose output size is positive."""
    name = owner_of(module)
    x, batched = batched_input(x, name, module._n, module.in_channels, dtype=module.weight.dtype)
    out = output_shape(x.shape)[2:]
    if any(o < 1 for o in out):
        raise ValueError(f"{name}: the output would be {' x '.join(map(str, out))} per channel for input of shape "
                         f"{x.shape if batched else x.shape[1:]} (padding={module.padding!r} crops too much)")
    return x, batched


def conv_input(module, x) -> tuple[np.ndarray, bool]:
    """A convolution's input, batched (see :func:`batched_input`), whose padded size fits the
    (dilated) kernel: "Conv2d: the padded input is 2 x 2 per channel but the (dilated) kernel
    spans 3 x 3; ..."."""
    name, n = owner_of(module), module._n
    x, batched = batched_input(x, name, n, module.in_channels, dtype=module.weight.dtype)
    pad_amounts(name, x.shape if batched else x.shape[1:], module._pads, module.padding_mode)
    padded = tuple(L + before + after for L, (before, after) in zip(x.shape[2:], module._pads))
    span = tuple(d * (k - 1) + 1 for k, d in zip(module.kernel_size, module.dilation))
    if any(p < s for p, s in zip(padded, span)):
        raise ValueError(
            f"{name}: the padded input is {' x '.join(map(str, padded))} per channel but the "
            f"(dilated) kernel spans {' x '.join(map(str, span))}; the kernel can't be larger than the "
            f"padded input (input shape {x.shape if batched else x.shape[1:]}, padding={module.padding!r})"
        )
    return x, batched


def upsample_size(size, scale_factor, owner) -> tuple:
    """Upsample's ``size`` (positive ints) or ``scale_factor`` (positive numbers): exactly one."""
    name = owner_of(owner)
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{name} expected exactly one of size and scale_factor, got size={size!r} and "
                         f"scale_factor={scale_factor!r}")
    if size is not None:
        values = size if isinstance(size, tuple) else (size,)
        if not values or any(not is_int(v) or v < 1 for v in values):
            raise ValueError(f"{name} size must be a positive int or a tuple of them, got {size!r}")
        return size, None
    values = scale_factor if isinstance(scale_factor, tuple) else (scale_factor,)
    if not values or any(not is_real(v) or not v > 0 or not math.isfinite(v) for v in values):
        raise ValueError(f"{name} scale_factor must be a positive number or a tuple of them, got {scale_factor!r}")
    return None, scale_factor


# F.interpolate's modes: the input ranks each takes ((N, C) and 1, 2 or 3 spatial axes).
INTERPOLATE_RANKS = {"nearest": (3, 4, 5), "nearest-exact": (3, 4, 5), "area": (3, 4, 5),
                     "linear": (3,), "bilinear": (4,), "bicubic": (4,), "trilinear": (5,)}
_SHAPES = {3: "(N, C, L)", 4: "(N, C, H, W)", 5: "(N, C, D, H, W)"}


def upsample_align_corners(align_corners, mode, owner):
    """``align_corners`` only with the interpolating modes (PyTorch: a ValueError otherwise)."""
    if mode in ("nearest", "nearest-exact", "area") and align_corners is not None:
        raise ValueError(f"{owner_of(owner)} align_corners applies to the interpolating modes linear, bilinear, "
                         f"bicubic and trilinear; with mode={mode!r} it must be None, got {align_corners!r}")
    return align_corners


def interpolate_options(owner, x, size, scale_factor, mode, align_corners, recompute_scale_factor,
                        antialias=False) -> tuple:
    """``F.interpolate``'s arguments checked in PyTorch's order and resolved per spatial axis:
    ``(x, sizes, scales, align_corners)``, ``scales`` the factors PyTorch's index rule uses (``None``
    where the output size decides: a given size, ``recompute_scale_factor``, ``'area'``)."""
    name = owner_of(owner)
    x = float_array(x, name)
    if mode not in INTERPOLATE_RANKS:
        raise NotImplementedError(f"{name} mode must be one of {', '.join(map(repr, INTERPOLATE_RANKS))}, "
                                  f"got {mode!r}")
    align_corners = upsample_align_corners(align_corners, mode, name)
    align_corners = bool(align_corners) if mode not in ("nearest", "nearest-exact", "area") else False
    n = x.ndim - 2
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{name} expected exactly one of size and scale_factor, got size={size!r} and "
                         f"scale_factor={scale_factor!r}")
    given = size if size is not None else scale_factor
    what = "size" if size is not None else "scale_factor"
    values = tuple(given) if isinstance(given, (list, tuple)) else (given,) * max(n, 0)
    if isinstance(given, (list, tuple)) and len(values) != n:
        raise ValueError(f"{name} {what} must have one value per spatial axis of the input, {n} for shape "
                         f"{x.shape}, got {given!r}")
    if size is not None:
        if not all(is_int(v) for v in values):
            raise TypeError(f"{name} size must be an int or a tuple of ints, got {size!r}")
        if recompute_scale_factor:
            raise ValueError(f"{name} recompute_scale_factor applies to scale_factor, not to a given size; "
                             f"got size={size!r} and recompute_scale_factor={recompute_scale_factor!r}")
        sizes, scales = values, (None,) * len(values)
    else:
        if not all(is_real(v) and v > 0 and math.isfinite(v) for v in values):
            raise ValueError(f"{name} scale_factor must be a positive number or a tuple of them, got {scale_factor!r}")
        sizes = tuple(math.floor(L * f) for L, f in zip(x.shape[2:], values))  # PyTorch truncates L * f
        recompute = recompute_scale_factor or mode == "area"  # area's windows come from the sizes
        scales = (None,) * len(values) if recompute else tuple(float(f) for f in values)
    if antialias:
        if not (mode in ("bilinear", "bicubic") and x.ndim == 4):
            raise ValueError(f"{name} antialias applies to modes bilinear and bicubic of a 4-D input, got "
                             f"mode={mode!r} and input shape {x.shape}")
        raise NotImplementedError(f"{name} antialias=True is not supported")
    if x.ndim not in INTERPOLATE_RANKS[mode]:
        shapes = " or ".join(_SHAPES[r] for r in INTERPOLATE_RANKS[mode])
        raise NotImplementedError(f"{name} mode={mode!r} expected input of shape {shapes}, got shape {x.shape}")
    if min(x.shape[2:]) < 1 or (min(sizes) < 1 and mode != "area"):  # area (adaptive pooling) may give none
        raise ValueError(f"{name} expected input and output sizes greater than 0, got input shape {x.shape} "
                         f"and output size {tuple(sizes)}")
    return x, tuple(sizes), scales, align_corners


def nonempty_input(x, owner, n_spatial: int) -> tuple[np.ndarray, bool]:
    """A batched input (see :func:`batched_input`) with no empty non-batch axis (adaptive pooling)."""
    x, batched = batched_input(x, owner, n_spatial, None)
    if 0 in x.shape[1:]:
        raise ValueError(f"{owner_of(owner)} expected an input with no empty non-batch axis, "
                         f"got shape {x.shape if batched else x.shape[1:]}")
    return x, batched



def unpool_input(module, x, indices) -> tuple:
    """MaxUnpool's input and indices: the same shape, batched or not, the indices integers."""
    name = owner_of(module)
    x, batched = batched_input(x, name, module._n, None)
    indices = np.asarray(indices)
    shape = x.shape if batched else x.shape[1:]
    if indices.shape != shape or indices.dtype.kind not in "iu":
        raise ValueError(f"{name} expected indices of integers shaped like the input {shape} (from "
                         f"MaxPool{module._n}d(return_indices=True)), got {indices.dtype} of shape {indices.shape}")
    return x, (indices if batched else indices[None]), batched


def unpool_indices(module, indices, out: tuple) -> None:
    """Every index must fall inside the unpooled output."""
    size = math.prod(out)
    if indices.size and (indices.min() < 0 or indices.max() >= size):
        raise ValueError(f"{owner_of(module)}: index {int(indices.max()) if indices.max() >= size else int(indices.min())} "
                         f"is outside the output of {' x '.join(map(str, out))} per channel; pass output_size= "
                         f"the pooled input's size")


def unpool_grad(module, grad, indices, batched: bool) -> np.ndarray:
    """MaxUnpool's ``grad_output``: batched like its forward's input, the output's shape."""
    grad = float_array(grad, f"{owner_of(module)}.backward", "grad_output")
    grad = grad if batched else grad[None]
    if grad.shape[:2] != indices.shape[:2]:
        raise ValueError(f"{owner_of(module)}.backward expected grad_output of the output's shape "
                         f"(N={indices.shape[0]}, C={indices.shape[1]}, ...), got {grad.shape}")
    return grad


def pool_grad(module, grad, batched: bool, out_shape: tuple, dtype) -> np.ndarray:
    """A pooling backward's ``grad_output`` (see :func:`grad_output`), shaped like the forward's
    output, returned batched ``(N, C, *out)``."""
    grad = grad_output(module, grad, out_shape if batched else out_shape[1:], dtype)
    return grad if batched else grad[np.newaxis]


# -- normalisation, attention, recurrent ----------------------------------------------------
def norm_eps(value, owner) -> float:
    """A normalisation layer's ``eps``: "LayerNorm eps must be a finite number >= 0, got -1"."""
    return in_range(value, owner, "eps", low=0, finite=True, words="a finite number >= 0", type_error=ValueError)


def normalized_shape(value, owner) -> tuple:
    """LayerNorm's ``normalized_shape``, an int or a non-empty tuple of positive ints, as a tuple."""
    shape = (value,) if isinstance(value, (int, np.integer)) else value
    try:
        shape = tuple(shape)
    except TypeError:
        shape = None
    if shape is None or not shape or any(not is_int(n) or n < 1 for n in shape):
        raise ValueError(f"{owner_of(owner)} normalized_shape must be a positive int or a non-empty tuple of "
                         f"positive ints, got {value!r}")
    return tuple(int(n) for n in shape)


def batch_norm_input(module, x, dtype, batch_stats: bool) -> np.ndarray:
    """A batch norm's input: a float array of one of ``module._input_dims`` ranks, with
    ``num_features`` channels on axis 1 and, for batch statistics, more than one value per channel."""
    name = owner_of(module)
    x = float_array(x, name, dtype=dtype)
    if x.ndim not in module._input_dims:
        raise ValueError(f"{name} expected input of shape {module._input_shape}, got shape {x.shape} ({x.ndim}-D)")
    if x.shape[1] != module.num_features:
        raise ValueError(f"{name} expected input with {module.num_features} channels (num_features) "
                         f"in dimension 1, got shape {x.shape}")
    if batch_stats and module.eps <= 0:  # as PyTorch: a constant channel would divide 0 by 0
        raise ValueError(f"{name} eps must be > 0 to normalise with batch statistics (training mode, or "
                         f"track_running_stats=False), got eps={module.eps}")
    if batch_stats and x.size // module.num_features == 1:
        raise ValueError(f"{name} expected more than 1 value per channel to compute batch statistics "
                         f"(training mode, or track_running_stats=False), got input of shape {x.shape}")
    return x


def batch_norm_function_input(x, owner) -> np.ndarray:
    """``F.batch_norm``'s input, ``(N, C, *)``, with PyTorch's one exception: an empty 1-D input
    (shape ``(0,)``), which PyTorch normalises to an empty output, is returned as ``(0, 0)``
    (no samples, no channels), so the maths runs on it unchanged. Any other input with no
    channel axis raises, as PyTorch's does."""
    if x.ndim >= 2:
        return x
    if x.shape == (0,):
        return x.reshape(0, 0)
    raise ValueError(f"{owner_of(owner)} expected input of shape (N, C, *) (channels in dimension 1), "
                     f"got shape {x.shape}")


def groups_of_channels(num_groups, num_channels, owner) -> tuple:
    """GroupNorm's ``num_groups`` and ``num_channels``: positive ints, the groups dividing the channels."""
    num_groups = integer(num_groups, owner, "num_groups", minimum=1, type_error=ValueError)
    num_channels = integer(num_channels, owner, "num_channels", minimum=1, type_error=ValueError)
    if num_channels % num_groups:
        raise ValueError(f"{owner_of(owner)} num_channels must be divisible by num_groups, got num_channels="
                         f"{num_channels} and num_groups={num_groups}")
    return num_groups, num_channels


def channels_input(module, x, channels: int, dtype) -> np.ndarray:
    """A float array ``(N, C, *)`` with ``channels`` channels on axis 1."""
    name = owner_of(module)
    x = float_array(x, name, dtype=dtype)
    if x.ndim < 2 or x.shape[1] != channels:
        raise ValueError(f"{name} expected input of shape (N, {channels}, *) ({channels} channels in dimension 1), "
                         f"got shape {x.shape}")
    return x


def channel_dropout_input(module, x, n_spatial: int) -> np.ndarray:
    """Dropout1d/2d's input: ``(N, C, *spatial)`` or ``(C, *spatial)`` with ``n_spatial`` axes of positions."""
    if x.ndim not in (n_spatial + 1, n_spatial + 2):
        shape = ", ".join(["N", "C"] + ["L"] if n_spatial == 1 else ["N", "C", "H", "W"])
        raise ValueError(f"{owner_of(module)} expected input of shape ({shape}) or without N, got shape {x.shape}")
    return x


def layer_norm_input(x, owner, normalized_shape: tuple, dtype) -> np.ndarray:
    """A float array whose trailing axes are ``normalized_shape``."""
    x = float_array(x, owner, dtype=dtype)
    k = len(normalized_shape)
    if x.shape[x.ndim - k:] != normalized_shape or x.ndim < k:
        raise ValueError(f"{owner_of(owner)} expected input of shape (*, {', '.join(map(str, normalized_shape))}) "
                         f"(normalized_shape={normalized_shape}), got shape {x.shape}")
    return x


def heads(embed_dim, num_heads, owner) -> tuple:
    """``(embed_dim, num_heads)``, positive ints with ``num_heads`` dividing ``embed_dim``."""
    embed_dim = integer(embed_dim, owner, "embed_dim", minimum=1, type_error=ValueError)
    num_heads = integer(num_heads, owner, "num_heads", minimum=1, type_error=ValueError)
    if embed_dim % num_heads != 0:
        raise ValueError(f"{owner_of(owner)} embed_dim must be divisible by num_heads, got embed_dim={embed_dim} "
                         f"and num_heads={num_heads}")
    return embed_dim, num_heads


def sequence_features(x, owner, size: int, dtype) -> np.ndarray:
    """An attention input: ``(N, T, E)`` or unbatched ``(T, E)``, with ``E == size``."""
    x = float_array(x, owner, dtype=dtype)
    if x.ndim not in (2, 3):
        raise ValueError(f"{owner_of(owner)} expected input of shape (N, T, E) or unbatched (T, E), got shape {x.shape}")
    return last_dim(x, owner, size, "embed_dim")


def _attention_mask(mask, owner, name: str, dtype, shapes: tuple, words: str):
    """A boolean or float mask whose shape is one of ``shapes`` (a float one cast to ``dtype``)."""
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.dtype != bool and mask.dtype.kind != "f":
        raise TypeError(f"{owner_of(owner)} expected {name} to be a bool or float array, got dtype {mask.dtype}")
    if mask.shape not in shapes:
        raise ValueError(f"{owner_of(owner)} expected {name} of shape {words}, got {mask.shape}")
    return mask if mask.dtype == bool else mask.astype(dtype, copy=False)


def multihead_inputs(module, query, key, value, key_padding_mask, attn_mask, flags: dict, dtype) -> tuple:
    """MultiheadAttention's forward arguments: ``query`` ``(L, N, E)`` (``(N, L, E)`` with
    ``batch_first``, unbatched ``(L, E)``), ``key`` and ``value`` of the same rank, batch and
    length ``S``, with ``kdim`` / ``vdim`` features; ``key_padding_mask`` ``(N, S)`` (unbatched
    ``(S,)``) and ``attn_mask`` ``(L, S)`` or ``(N*H, L, S)`` (unbatched ``(H, L, S)``), bool or
    float; the ``flags`` (``need_weights``, ...) bools; ``is_causal`` only with an ``attn_mask``
    (PyTorch's rule: it is a hint about the mask, not a mask). Returns ``(query, key, value,
    key_padding_mask, attn_mask, batched)``, the arrays as given (float ones in ``dtype``)."""
    name = owner_of(module)
    for flag_name, value_ in flags.items():
        flag(value_, name, flag_name)
    query = float_array(query, name, "query", dtype=dtype)
    key = float_array(key, name, "key", dtype=dtype)
    value = float_array(value, name, "value", dtype=dtype)
    layout = "(N, L, E)" if module.batch_first else "(L, N, E)"
    if query.ndim not in (2, 3):
        raise ValueError(f"{name} expected query of shape {layout} or unbatched (L, E), got shape {query.shape}")
    batched = query.ndim == 3
    for arg, arr, size, what in (("query", query, module.embed_dim, "embed_dim"), ("key", key, module.kdim, "kdim"),
                                 ("value", value, module.vdim, "vdim")):
        if arr.ndim != query.ndim:
            raise ValueError(f"{name} expected {arg} with {query.ndim} dimensions like query "
                             f"({'batched' if batched else 'unbatched'}), got shape {arr.shape}")
        if arr.shape[-1] != size:
            raise ValueError(f"{name} expected {arg} with last dimension {size} ({what}), got shape {arr.shape}")
    if key.shape[:-1] != value.shape[:-1]:
        raise ValueError(f"{name} expected key and value with the same batch and length, got key of shape "
                         f"{key.shape} and value of shape {value.shape}")
    if batched and query.shape[0 if module.batch_first else 1] != key.shape[0 if module.batch_first else 1]:
        raise ValueError(f"{name} expected query and key with the same batch size (layout {layout}), got query of "
                         f"shape {query.shape} and key of shape {key.shape}")
    H = module.num_heads
    L = query.shape[1 if module.batch_first else 0] if batched else query.shape[0]
    S = key.shape[1 if module.batch_first else 0] if batched else key.shape[0]
    N = query.shape[0 if module.batch_first else 1] if batched else None
    kpm_shape = ((N, S), "(N, S)") if batched else ((S,), "(S,) (unbatched)")
    key_padding_mask = _attention_mask(key_padding_mask, name, "key_padding_mask", dtype, (kpm_shape[0],),
                                       f"{kpm_shape[1]} = {kpm_shape[0]}")
    heads_shape = (N * H, L, S) if batched else (H, L, S)
    attn_mask = _attention_mask(attn_mask, name, "attn_mask", dtype, ((L, S), heads_shape),
                                f"(L, S) = {(L, S)} or {'(N*num_heads, L, S)' if batched else '(num_heads, L, S)'} = "
                                f"{heads_shape}")
    if flags.get("is_causal") and attn_mask is None:
        raise RuntimeError(f"{name} is_causal=True needs attn_mask: is_causal is a hint that attn_mask is the "
                           f"causal mask, as in PyTorch (build it with np.triu(np.ones((L, S), bool), k=1))")
    return query, key, value, key_padding_mask, attn_mask, batched


def grad_of_shape(grad, owner, name: str, shape: tuple, dtype, note: str = "") -> np.ndarray:
    """A gradient given to ``owner`` (``"GRU.backward"``) as a float array of ``shape``:
    "GRU.backward expected grad_h_n of shape (1, 2, 4), got (2, 4)" (``note`` follows the shape)."""
    grad = float_array(grad, owner, name, dtype=dtype)
    if grad.shape != shape:
        raise ValueError(f"{owner_of(owner)} expected {name} of shape {shape}{note}, got {grad.shape}")
    return grad


def recurrent_size(value, owner, name: str) -> int:
    """``input_size``, ``hidden_size``, ``num_layers``: "GRU hidden_size must be greater than zero, got 0"."""
    if not is_int(value):
        raise TypeError(f"{owner_of(owner)} {name} must be an int, got {value!r}")
    if value < 1:
        raise ValueError(f"{owner_of(owner)} {name} must be greater than zero, got {value!r}")
    return int(value)


def proj_size(value, owner, hidden_size: int) -> int:
    """LSTM's ``proj_size``: 0 (no projection) or ``0 < proj_size < hidden_size``, as PyTorch's:
    "LSTM proj_size must be smaller than hidden_size (20), got 20"."""
    if not is_int(value):
        raise TypeError(f"{owner_of(owner)} proj_size must be an int, got {value!r}")
    if value < 0:
        raise ValueError(f"{owner_of(owner)} proj_size must be >= 0 (0: no projection), got {value!r}")
    if value >= hidden_size:
        raise ValueError(f"{owner_of(owner)} proj_size must be smaller than hidden_size ({hidden_size}), "
                         f"got {value!r}")
    return int(value)


def lstm_state(hx, owner) -> tuple:
    """LSTM's ``hx``: ``None`` (zeros) or a pair ``(h0, c0)`` of arrays, as a pair."""
    if hx is None:
        return (None, None)
    if not isinstance(hx, (tuple, list)) or len(hx) != 2 or hx[0] is None or hx[1] is None:
        raise TypeError(f"{owner_of(owner)} expected hx to be None or a pair (h0, c0) of arrays, "
                        f"got {type(hx).__name__}")
    return tuple(hx)


def recurrent_input(module, x) -> np.ndarray:
    """A recurrent layer's input: 2-D ``(L, H_in)`` or 3-D, ``input_size`` features, length >= 1."""
    name = owner_of(module)
    x = float_array(x, name, dtype=module.weight_ih_l0.dtype)
    if x.ndim not in (2, 3):
        raise ValueError(f"{name} expected input to be 2-D (L, H_in), unbatched, or 3-D (batched), "
                         f"got {x.ndim}-D input of shape {x.shape}")
    last_dim(x, name, module.input_size, "input_size")
    length = x.shape[1] if x.ndim == 3 and module.batch_first else x.shape[0]
    if length == 0:
        raise ValueError(f"{name} expected a sequence of length at least 1, got input of shape {x.shape}")
    return x


def recurrent_hidden(module, h, what: str, batched: bool, batch: int, size: int,
                     size_name: str = "hidden_size") -> np.ndarray:
    """An initial state ``h0``/``c0``: ``(num_layers * num_directions, N, size)``, or without ``N``
    for unbatched input; returned with the ``N`` axis. ``size`` is ``hidden_size``, or
    ``proj_size`` for the ``h0`` of an LSTM with a projection (``size_name`` says which)."""
    name = owner_of(module)
    h = float_array(h, name, what, dtype=module.weight_ih_l0.dtype)
    layers = module.num_layers * module.num_directions
    expected = (layers, batch, size) if batched else (layers, size)
    if h.shape != expected:
        layout = f"3-D (num_layers * num_directions, N, {size_name})" if batched else \
            f"2-D (num_layers * num_directions, {size_name}) for unbatched input"
        raise ValueError(f"{name} expected {what} of shape {expected}, {layout}, got {h.shape}")
    return h if batched else h[:, None, :]



# -- losses and containers ------------------------------------------------------------------
def class_range(target: np.ndarray, n_classes: int, ignore_index, owner) -> None:
    """Every class index must lie in ``[0, n_classes)`` or equal ``ignore_index`` (``None``: a loss
    that ignores no class)."""
    if target.size and (target.min() < 0 or target.max() >= n_classes):  # then look closer
        # compared in the target's own dtype, so that a huge unsigned index is not wrapped negative
        outside = (target < 0) | (target >= n_classes)
        bad = target[outside if ignore_index is None else outside & (target != ignore_index)]
        if bad.size:
            ignored = "" if ignore_index is None else f" or equal ignore_index={ignore_index}"
            raise ValueError(
                f"{owner_of(owner)} target contains class {bad.flat[0]}, but input has {n_classes} classes "
                f"(class indices must be in [0, {n_classes}){ignored})"
            )


def class_index_target(target, owner, input_shape: tuple, loss_shape: tuple, n_classes: int,
                       ignore_index: int) -> np.ndarray:
    """NLLLoss's target: integer class indices shaped like the loss, each a class of the input
    or ``ignore_index``."""
    target = np.asarray(target)
    name = owner_of(owner)
    if target.shape != loss_shape:
        raise ValueError(f"{name} expected target of shape {loss_shape} (class indices) for input of shape "
                         f"{input_shape}, got target of shape {target.shape}")
    if target.dtype.kind not in "iu":
        raise TypeError(f"{name} target holds class indices and must be an integer array, got dtype {target.dtype}")
    class_range(target, n_classes, ignore_index, name)
    return target


def same_shape(target: np.ndarray, input: np.ndarray, owner) -> np.ndarray:
    """A loss's ``target``, after checking it has the shape of its ``input``."""
    if input.shape != target.shape:
        raise ValueError(
            f"{owner_of(owner)} expected target of the same shape as input {input.shape}, got {target.shape}"
        )
    return target


def unit_interval(a: np.ndarray, owner, name: str) -> np.ndarray:
    """``a``, after checking every value lies in $[0, 1]$ (a probability)."""
    if a.size:
        lo, hi = a.min(), a.max()
        if not (lo >= 0 and hi <= 1):  # also catches NaN, which fails every comparison
            raise ValueError(f"{owner_of(owner)} expected {name} values in [0, 1], got values in [{lo}, {hi}]")
    return a


def loss_weight_option(weight, owner, name: str = "weight"):
    """A loss's ``weight=`` (or ``pos_weight=``): ``None``, or the user's weights as a float
    array of our own (later edits to the caller's array do not leak in)."""
    if weight is None:
        return None
    return np.array(float_array(weight, owner, name))


def class_weight_option(weight, owner):
    """The ``weight=`` of a class-index loss: ``None`` or a 1-D array of per-class weights."""
    weight = loss_weight_option(weight, owner)
    if weight is not None and weight.ndim != 1:
        raise ValueError(f"{owner_of(owner)} weight must be a 1-D array of per-class weights, got shape {weight.shape}")
    return weight


def ignore_index_option(ignore_index, owner) -> int:
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
        raise TypeError(f"{owner_of(owner)} ignore_index must be an int, got {ignore_index!r}")
    return int(ignore_index)


def label_smoothing_option(value, owner) -> float:
    """A label smoothing in [0, 1], as a Python float (which never upcasts float32 work)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{owner_of(owner)} label_smoothing must be a number, got {value!r}")
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{owner_of(owner)} label_smoothing must be in [0, 1], got {value!r}")
    return float(value)


def non_negative_option(value, owner, name: str, strict: bool, *, value_error=ValueError) -> float:
    """A real option that must be >= 0 (``strict``: > 0), as a Python float (``value_error``:
    the class raised for a value out of range, where PyTorch's function raises another)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{owner_of(owner)} {name} must be a real number, got {value!r}")
    if not (value > 0 if strict else value >= 0):  # `not` also refuses NaN
        raise value_error(f"{owner_of(owner)} {name} must be {'> 0' if strict else '>= 0'}, got {value!r}")
    return float(value)


def loss_weight(weight, shape: tuple, dtype, owner, name: str):
    """``weight`` cast to the input's dtype, after checking it broadcasts to ``shape``
    (it may not enlarge the input: the loss has the input's shape, as in PyTorch)."""
    if weight is None:
        return None
    try:
        fits = np.broadcast_shapes(weight.shape, shape) == shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"{owner_of(owner)} {name} of shape {weight.shape} does not broadcast to the input shape {shape}")
    return weight.astype(dtype, copy=False)


def loss_inputs(owner, input, target, *, probabilities: bool = False, **weights) -> tuple:
    """An element-wise loss's ``input`` and ``target``: float arrays of the input's dtype and
    shape (``probabilities``: every value in $[0, 1]$), then each of ``weights`` (by name,
    ``None`` or an array) cast to that dtype, checked to broadcast to the input's shape."""
    name = owner_of(owner)
    x = float_array(input, name, "input")
    y = same_shape(float_array(target, name, "target", dtype=x.dtype), x, name)
    if probabilities:
        unit_interval(x, name, "input")
        unit_interval(y, name, "target")
    return (x, y, *(loss_weight(w, x.shape, x.dtype, name, key) for key, w in weights.items()))


def loss_grad(module, grad, loss_shape: tuple, dtype):
    """The gradient arriving at a loss's value: a scalar for 'mean'/'sum' (the default 1.0
    becomes a NumPy scalar of the input's dtype), an array shaped like the loss for 'none':
    "MSELoss.backward expected grad of shape () for reduction='mean', got (3,)"."""
    if type(grad) is float and module.reduction != "none":
        return dtype.type(grad)
    owner = f"{owner_of(module)}.backward"
    grad = float_array(grad, owner, "grad", dtype=dtype)
    expected = loss_shape if module.reduction == "none" else ()
    if grad.shape != expected:
        raise ValueError(
            f"{owner} expected grad of shape {expected} for reduction={module.reduction!r}, got {grad.shape}"
        )
    return grad


def class_index_shape(input_shape: tuple) -> tuple:
    """The shape of a class-index target (and of a 'none' loss): the input's without the class axis."""
    return () if len(input_shape) == 1 else input_shape[:1] + input_shape[2:]


def class_count(x: np.ndarray, weight, owner) -> int:
    """The number of classes $C$ of an input ``(C,)``, ``(N, C)`` or ``(N, C, d1, ...)``,
    after checking that there is at least one and that ``weight`` has one entry per class."""
    n_classes = 0 if x.ndim == 0 else x.shape[0] if x.ndim == 1 else x.shape[1]
    if n_classes == 0:
        raise ValueError(
            f"{owner_of(owner)} expected input of shape (C,), (N, C) or (N, C, d1, ...) with C >= 1, got shape {x.shape}"
        )
    if weight is not None and weight.shape != (n_classes,):
        raise ValueError(f"{owner_of(owner)} weight must have one entry per class, shape ({n_classes},), got {weight.shape}")
    return n_classes


def nll_inputs(module, input, target) -> tuple:
    """NLLLoss's input (a float array of log-probabilities) and target (class indices, see
    :func:`class_index_target`)."""
    x = float_array(input, module, "input")
    n_classes = class_count(x, module.weight, module)
    target = class_index_target(target, module, x.shape, class_index_shape(x.shape), n_classes, module.ignore_index)
    return x, target


def cross_entropy_inputs(module, input, target) -> tuple:
    """CrossEntropyLoss's input as a float array of logits and its target as class indices or
    probabilities (a float copy of our own, in the input's dtype), or an error that says what
    was expected."""
    x = float_array(input, "CrossEntropyLoss", "input")
    target = np.asarray(target)
    n_classes = class_count(x, module.weight, "CrossEntropyLoss")
    loss_shape = class_index_shape(x.shape)
    if target.shape == x.shape:
        if target.dtype.kind != "f":
            raise TypeError(
                f"CrossEntropyLoss target has the input's shape {x.shape}, so it holds class probabilities "
                f"and must be a float array, got dtype {target.dtype} (class indices have shape {loss_shape})"
            )
        if module.ignore_index >= 0:
            raise ValueError(
                f"CrossEntropyLoss ignore_index is not supported with probability targets (as in PyTorch, "
                f"only a negative ignore_index, which has no effect, is allowed), got ignore_index={module.ignore_index}"
            )
        return x, target.astype(x.dtype)  # a copy of our own: the cache must not alias the caller's array
    if target.shape != loss_shape:
        raise ValueError(
            f"CrossEntropyLoss expected target of shape {loss_shape} (class indices) or {x.shape} "
            f"(class probabilities) for input of shape {x.shape}, got target of shape {target.shape}"
        )
    if target.dtype.kind not in "iu":
        raise TypeError(
            f"CrossEntropyLoss target of shape {target.shape} holds class indices and must be an integer "
            f"array, got dtype {target.dtype} (for probabilities pass a float target of shape {x.shape})"
        )
    class_range(target, n_classes, module.ignore_index, "CrossEntropyLoss")
    return x, target


# -- optimisers and schedulers --------------------------------------------------------------

def hyper_real(value, owner, name: str, *, minimum=0.0) -> float:
    """An optimiser's real hyper-parameter: ``>= minimum`` unless that is None (NaN refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner_of(owner)} {name} must be a real number, got {value!r}")
    if minimum is not None and not value >= minimum:  # `not >=` also rejects NaN
        raise ValueError(f"{owner_of(owner)} {name} must be >= {minimum:g}, got {value!r}")
    return float(value)


def hyper_signed(value, owner, name: str) -> float:
    """A real hyper-parameter of any sign (SGD's dampening)."""
    return hyper_real(value, owner, name, minimum=None)


def hyper_bool(value, owner, name: str):
    if not is_bool(value):
        raise TypeError(f"{owner_of(owner)} {name} must be a bool, got {value!r}")
    return value


def betas(value, owner, name: str = "betas"):
    """Adam's ``(beta1, beta2)``: two reals, each in [0, 1)."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
        raise TypeError(f"{owner_of(owner)} {name} must be a pair (beta1, beta2), got {value!r}")
    for i, beta in enumerate(value):
        if isinstance(beta, bool) or not isinstance(beta, numbers.Real):
            raise TypeError(f"{owner_of(owner)} {name}[{i}] must be a real number, got {beta!r}")
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"{owner_of(owner)} {name}[{i}] must be in [0, 1), got {beta!r}")
    return value


# Scheduler checks take the subject of their message ("StepLR gamma", or
# "StepLR.load_state_dict 'gamma'") and the value; each returns the value or raises. A check
# marked ``needs_groups`` also takes the number of param groups, which the scheduler passes.
def needs_groups(check):
    check.needs_groups = True
    return check


def schedule_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def schedule_int(subject: str, value, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{subject} must be an int >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{subject} must be an int >= {minimum}, got {value!r}")
    return int(value)


def schedule_epoch(subject: str, value) -> int:
    """A state dict's ``last_epoch``: an int >= -1."""
    return schedule_int(subject, value, minimum=-1)


def schedule_count(subject: str, value) -> int:
    """An int >= 0 (ConstantLR's total_iters, ReduceLROnPlateau's patience)."""
    return schedule_int(subject, value, minimum=0)


@needs_groups
def schedule_lr_list(subject: str, value, n_groups: int) -> list:
    """A list of ``n_groups`` learning rates (real numbers >= 0), one per param group."""
    expected = f"a list of {n_groups} learning rate{'s' if n_groups != 1 else ''} >= 0 (one per param group)"
    if not isinstance(value, (list, tuple, np.ndarray)) or np.ndim(value) != 1:
        raise TypeError(f"{subject} must be {expected}, got {value!r}")
    values = list(value.tolist() if isinstance(value, np.ndarray) else value)
    if not all(schedule_real(lr) for lr in values):
        raise TypeError(f"{subject} must be {expected}, got {value!r}")
    if len(values) != n_groups or not all(lr >= 0 for lr in values):
        raise ValueError(f"{subject} must be {expected}, got {value!r}")
    return values


def schedule_per_group(check):
    """``check`` made into a check of one value per param group, as PyTorch's ``_format_param``:
    a list or tuple of ``n_groups`` values, each passing ``check``, or one value for every group."""
    @needs_groups
    def per_group(subject: str, value, n_groups: int) -> list:
        if isinstance(value, (list, tuple)):
            if len(value) != n_groups:
                raise ValueError(f"{subject} must have one value per param group ({n_groups}), "
                                 f"got {len(value)}: {value!r}")
            return [check(f"{subject}[{i}]", v) for i, v in enumerate(value)]
        return [check(subject, value)] * n_groups
    return per_group


@needs_groups
def schedule_saved_lambdas(subject: str, value, n_groups: int):
    """LambdaLR's saved ``lr_lambdas``: per group, None (a function) or a callable object's ``__dict__``."""
    if (not isinstance(value, (list, tuple)) or len(value) != n_groups
            or not all(entry is None or isinstance(entry, dict) for entry in value)):
        raise TypeError(f"{subject} must be a list of {n_groups} entries, each None or a dict, got {value!r}")
    return value


def schedule_gamma(subject: str, gamma) -> float:
    if not schedule_real(gamma):
        raise TypeError(f"{subject} must be a real number, got {gamma!r}")
    if not gamma >= 0:
        raise ValueError(f"{subject} must be >= 0, got {gamma!r}")
    return gamma


def schedule_positive_int(subject: str, value) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{subject} must be a positive int, got {value!r}")
    return int(value)


def schedule_eta_min(subject: str, eta_min):
    if not schedule_real(eta_min):
        raise TypeError(f"{subject} must be a real number, got {eta_min!r}")
    return eta_min


def schedule_bool(subject: str, value) -> bool:
    if not is_bool(value):
        raise TypeError(f"{subject} must be a bool, got {value!r}")
    return bool(value)


def schedule_choice(*options):
    """A check that the value is one of ``options``: "... mode must be 'min' or 'max', got 'up'"."""
    def one_of(subject: str, value):
        if value not in options:
            raise ValueError(f"{subject} must be {' or '.join(map(repr, options))}, got {value!r}")
        return value
    return one_of


def schedule_real_in(subject: str, value, low=None, high=None, *, low_open: bool = False,
                   high_open: bool = False):
    """A real number in the interval given (``None``: unbounded on that side); NaN never is."""
    if not schedule_real(value):
        raise TypeError(f"{subject} must be a real number, got {value!r}")
    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    interval = f"{left}{'-inf' if low is None else f'{low:g}'}, {'inf' if high is None else f'{high:g}'}{right}"
    inside = value == value  # not NaN
    if low is not None:
        inside = inside and (value > low if low_open else value >= low)
    if high is not None:
        inside = inside and (value < high if high_open else value <= high)
    if not inside:
        raise ValueError(f"{subject} must be in {interval}, got {value!r}")
    return value


def schedule_any_real(subject: str, value):
    return schedule_real_in(subject, value)


def schedule_start_factor(subject: str, value):
    return schedule_real_in(subject, value, 0.0, 1.0, low_open=True)


def schedule_unit_factor(subject: str, value):
    return schedule_real_in(subject, value, 0.0, 1.0)


def schedule_non_negative(subject: str, value):
    return schedule_real_in(subject, value, 0.0)


def schedule_positive(subject: str, value):
    return schedule_real_in(subject, value, 0.0, low_open=True)


def schedule_plateau_factor(subject: str, value):
    return schedule_real_in(subject, value, 0.0, 1.0, high_open=True)


def schedule_milestones(subject: str, milestones) -> Counter:
    """Milestones as PyTorch keeps them, a ``Counter`` (epoch -> how many times it is listed);
    also accepts the plain dict that :func:`chainrule.load` gives back for one."""
    if isinstance(milestones, dict):
        items = list(milestones.items())
    elif isinstance(milestones, (str, bytes)) or not hasattr(milestones, "__iter__"):
        raise TypeError(f"{subject} must be an iterable of ints, got {milestones!r}")
    else:
        items = [(m, 1) for m in milestones]
    for m, count in items:
        if isinstance(m, (bool, np.bool_)) or not isinstance(m, numbers.Integral):
            raise TypeError(f"{subject} must be ints, got {m!r} in {milestones!r}")
        schedule_int(f"{subject} count of {m}", count, minimum=1)
    counter = Counter()
    for m, count in items:
        counter[int(m)] += int(count)
    return counter


def schedule_sequence_milestones(subject: str, milestones) -> list:
    if isinstance(milestones, (str, bytes)) or not isinstance(milestones, (list, tuple)):
        raise TypeError(f"{subject} must be a list of ints, got {milestones!r}")
    for m in milestones:
        if isinstance(m, (bool, np.bool_)) or not isinstance(m, numbers.Integral):
            raise TypeError(f"{subject} must be a list of ints, got {milestones!r}")
    values = [int(m) for m in milestones]
    if any(m < 0 for m in values) or any(b <= a for a, b in zip(values, values[1:])):
        raise ValueError(f"{subject} must be increasing ints >= 0, got {milestones!r}")
    return values


def schedule_callable(subject: str, fn):
    if not callable(fn):
        raise TypeError(f"{subject} must be a function of the epoch, got {fn!r}")
    return fn


# What a scheduler's constructor and steps check beyond its settings (``name``: the class's).
def schedule_optimizer(name: str, optimizer):
    """The optimizer a scheduler drives: "StepLR expected a chainrule.optim.Optimizer, got list"."""
    from .optim.optimizer import Optimizer  # here, not above: the optimisers import this module
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{name} expected a chainrule.optim.Optimizer, got {type(optimizer).__name__}")
    return optimizer


def schedule_last_epoch(name: str, last_epoch, param_groups) -> int:
    """A constructor's ``last_epoch``: an int >= -1; resuming (>= 0) needs every group's ``initial_lr``."""
    if isinstance(last_epoch, bool) or not isinstance(last_epoch, (int, np.integer)):
        raise TypeError(f"{name} last_epoch must be an int, got {last_epoch!r}")
    if last_epoch < -1:
        raise ValueError(f"{name} last_epoch must be >= -1, got {last_epoch}")
    for i, group in enumerate(param_groups):
        if last_epoch >= 0 and "initial_lr" not in group:
            raise ValueError(f"{name} was given last_epoch={last_epoch} (resuming), but param_groups[{i}] "
                             f"has no 'initial_lr': load the optimizer's state_dict first, or use last_epoch=-1")
    return int(last_epoch)


def schedule_cycle_length(total_steps, epochs, steps_per_epoch) -> None:
    """OneCycleLR needs ``total_steps``, or both ``epochs`` and ``steps_per_epoch``."""
    if total_steps is None and (epochs is None or steps_per_epoch is None):
        raise ValueError("OneCycleLR needs total_steps, or both epochs and steps_per_epoch, "
                         f"got total_steps={total_steps!r}, epochs={epochs!r}, steps_per_epoch={steps_per_epoch!r}")


def schedule_cycled_momentum(optimizer) -> bool:
    """``cycle_momentum=True`` needs an optimizer with ``momentum`` or ``betas``; True if betas."""
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        raise ValueError(f"OneCycleLR cycle_momentum=True needs an optimizer with momentum or betas, "
                         f"got {type(optimizer).__name__} (pass cycle_momentum=False)")
    return "betas" in optimizer.defaults


def schedule_cycle_step(step: int, total_steps: int) -> None:
    if step > total_steps:
        raise ValueError(f"OneCycleLR was stepped {step} times, but total_steps is {total_steps}")


def schedule_phase_length(phase: int, start_step, end_step, total_steps: int) -> None:
    if end_step == start_step:
        raise ValueError(f"OneCycleLR phase {phase} has length zero (it ends at step {end_step}, where the one "
                         f"before ended) with total_steps={total_steps}: choose another pct_start")


def schedule_metric(metrics) -> float:
    """ReduceLROnPlateau's metric, as a float (a real number, or a 0-d array)."""
    try:
        return float(metrics)
    except (TypeError, ValueError):
        raise TypeError(f"ReduceLROnPlateau.step expected the metric as a real number, got {metrics!r}") from None


def schedule_min_lrs(min_lrs: list, default_min_lr, n_groups: int) -> list:
    """ReduceLROnPlateau's ``min_lrs`` for ``n_groups`` groups: a single ``min_lr`` follows added
    groups, a list given per group cannot."""
    if len(min_lrs) == n_groups:
        return min_lrs
    if default_min_lr is None:
        raise RuntimeError(f"ReduceLROnPlateau has {len(min_lrs)} min_lrs, but the optimizer now has "
                           f"{n_groups} param groups (one was added): set min_lrs to match")
    return [default_min_lr] * n_groups


def schedule_sequence(optimizer, schedulers) -> list:
    """SequentialLR's schedulers: a non-empty list, each a scheduler of ``optimizer`` that steps
    without a metric."""
    from .optim.lr_scheduler import LRScheduler, ReduceLROnPlateau  # here: that module imports this one
    schedulers = list(schedulers) if isinstance(schedulers, (list, tuple)) else schedulers
    if not isinstance(schedulers, list) or len(schedulers) < 1:
        raise ValueError(f"SequentialLR expects a non-empty list of schedulers, got {schedulers!r}")
    for i, scheduler in enumerate(schedulers):
        if not isinstance(scheduler, LRScheduler):
            raise TypeError(f"SequentialLR schedulers[{i}] must be a learning-rate scheduler, "
                            f"got {type(scheduler).__name__}")
        if isinstance(scheduler, ReduceLROnPlateau):
            raise ValueError(f"SequentialLR schedulers[{i}] is a ReduceLROnPlateau, which needs a metric at "
                             f"each step: it cannot be sequenced")
        if scheduler.optimizer is not optimizer:
            raise ValueError(f"SequentialLR schedulers[{i}] ({type(scheduler).__name__}) wraps another optimizer "
                             f"than the one given to SequentialLR")
    return schedulers


def schedule_sequence_milestone_count(schedulers: list, milestones: list) -> None:
    if len(milestones) != len(schedulers) - 1:
        raise ValueError(f"SequentialLR needs one milestone fewer than schedulers, got {len(schedulers)} "
                         f"schedulers and {len(milestones)} milestones")


def schedule_saved_schedulers(subject: str, value, n: int) -> list:
    """SequentialLR's saved ``_schedulers``: one state dict per scheduler."""
    if not isinstance(value, (list, tuple)) or len(value) != n:
        raise ValueError(f"{subject} must be a list of {n} state dicts, got {value!r}")
    return value


def schedule_state_dict(subject: str, state_dict, known) -> dict:
    """A state dict for ``load_state_dict``: a dict whose keys are all in ``known``."""
    if not isinstance(state_dict, dict):
        raise TypeError(f"{subject} expected a dict, got {type(state_dict).__name__}")
    unknown = sorted(set(state_dict) - set(known))
    if unknown:
        raise ValueError(f"{subject} got unexpected keys {unknown}")
    return state_dict


# -- kl_div, the margin losses ----------------------------------------------------------------
def margin_power(value, owner) -> int:
    """multi_margin_loss's ``p``: 1 (the hinge) or 2 (its square), as PyTorch supports."""
    if isinstance(value, (bool, np.bool_)) or not is_real(value) or value not in (1, 2):
        raise ValueError(f"{owner_of(owner)} p must be 1 or 2, got {value!r}")
    return int(value)


def _score_rows(x: np.ndarray, owner) -> tuple:
    """The samples $N$ and classes $C$ of a score input ``(C,)`` or ``(N, C)`` (0-d: one score)."""
    if x.ndim > 2 or (x.ndim and x.shape[-1] == 0):
        raise ValueError(f"{owner_of(owner)} expected input of shape (C,) or (N, C) with C >= 1, got shape {x.shape}")
    return (x.shape[0] if x.ndim == 2 else 1), (x.shape[-1] if x.ndim else 1)


def _integer_target(target, owner) -> np.ndarray:
    target = np.asarray(target)
    if target.dtype.kind not in "iu":
        raise TypeError(f"{owner_of(owner)} target holds class indices and must be an integer array, "
                        f"got dtype {target.dtype}")
    return target


def multi_margin_inputs(owner, input, target, weight) -> tuple:
    """multi_margin_loss's scores ``(C,)``/``(N, C)``, one class index in ``[0, C)`` per sample
    (``()`` or ``(N,)``; PyTorch also takes ``(1,)`` for one sample) and ``weight`` (``None`` or
    ``(C,)``, cast to the input's dtype)."""
    x = float_array(input, owner, "input")
    n, n_classes = _score_rows(x, owner)
    target = _integer_target(target, owner)
    if target.ndim > 1 or target.size != n:
        raise ValueError(f"{owner_of(owner)} expected target of {n} class indices, shape ({n},), for input of "
                         f"shape {x.shape}, got target of shape {target.shape}")
    class_range(target, n_classes, None, owner)
    if weight is not None:
        weight = float_array(weight, owner, "weight", dtype=x.dtype)
        if weight.shape != (n_classes,):
            raise ValueError(f"{owner_of(owner)} weight must have one entry per class, shape ({n_classes},), "
                             f"got {weight.shape}")
    return x, target, weight


def multilabel_inputs(owner, input, target) -> tuple:
    """multilabel_margin_loss's scores ``(C,)``/``(N, C)`` and a target of the same shape (of $C$
    entries for a single row): per row, class indices in ``[0, C)`` up to the first -1 (what
    follows it is ignored)."""
    x = float_array(input, owner, "input")
    n, n_classes = _score_rows(x, owner)
    target = _integer_target(target, owner)
    if target.shape != x.shape and not (x.ndim <= 1 and target.ndim <= 1 and target.size == n_classes):
        raise ValueError(f"{owner_of(owner)} expected target of the same shape as input {x.shape}, got {target.shape}")
    rows = target.reshape(n, n_classes)
    labels = rows[np.cumprod(rows != -1, axis=-1).astype(bool)]
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        bad = labels[(labels < 0) | (labels >= n_classes)][0]
        raise ValueError(f"{owner_of(owner)} target contains class {bad}, but input has {n_classes} classes "
                         f"(each row: class indices in [0, {n_classes}), ended by -1)")
    return x, target
