r"""Pooling: max, average and adaptive average, over ``(N, C, L)`` and ``(N, C, H, W)``.

Max and average pooling read the same windows as a convolution (``conv.windows``) and
reduce each one; their backward builds the gradient of every window element and adds it
back where it was read (``conv.add_windows``): max-pooling routes $\delta$ to the arg-max of
its window, average pooling spreads $\delta / \text{divisor}$ over the window. Adaptive
average pooling is a fixed linear map per axis, $y = A x$, so its backward is $A^\top\delta$.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .conv import add_windows, batch_input, crop, pad, windows
from .module import Module
from .. import _checks as checks


# -- the maths as function pairs (batched inputs; the modules below check and call them) ----------


def max_pool_nd(xp, kernel: tuple, stride: tuple, dilation: tuple):
    r"""$y_o = \max_k x_p[\text{window}_o(k)]$ over every window of the ($-\infty$-padded)
    ``xp`` ``(N, C, *spatial)``. Returns ``(y, argmax)``: ``argmax`` holds, for every window,
    the offset (row-major in the kernel) of its first maximum, PyTorch's choice on ties (of
    its last NaN, if it has any, as PyTorch); the backward routes $\delta$ there."""
    N, C, n, K = *xp.shape[:2], len(kernel), math.prod(kernel)
    # The windows, copied so that each kernel offset (row-major) is one contiguous slab
    # (N, C, *out) holding that element of every window: (K, N, C, *out).
    win = windows(xp, kernel, stride, dilation)  # (N, C, *kernel, *out)
    out = win.shape[2 + n:]
    slabs = np.ascontiguousarray(win.transpose(*range(2, 2 + n), 0, 1, *range(2 + n, 2 + 2 * n)))
    slabs = slabs.reshape(K, N, C, *out)
    # Scan the window element by element, PyTorch's rule: a later element takes over if it is
    # greater (so on ties the FIRST maximum stays) or NaN. argmax holds the winning offset,
    # in the smallest integer type that holds every offset. (The plain form, np.argmax over a
    # (N, C, *out, K) copy, took about 3x as long on the 2-D CNN's pools, and that CNN's step
    # 1.32x: benchmarks/bench_conv.py --variants pool, docs/performance.md.)
    y = slabs[0].copy()
    argmax = np.zeros(y.shape, dtype=np.min_scalar_type(K - 1))
    for i in range(1, K):
        takes_over = (slabs[i] > y) | np.isnan(slabs[i])
        # offsets come in increasing order, so i exceeds every earlier winner: the maximum
        # sets argmax to i exactly where offset i takes over (branch-free, unlike a masked copy)
        np.maximum(argmax, takes_over * argmax.dtype.type(i), out=argmax)
        np.maximum(y, slabs[i], out=y)  # the same choice for the values (NaN propagates)
    return y, argmax


def max_pool_nd_backward(grad_output, argmax, padded_shape: tuple, kernel: tuple, stride: tuple,
                         dilation: tuple):
    r"""$y = \max_k x[\text{window}_k]$ has derivative 1 for the window's arg-max $k^*$ and 0
    for the others, so $\delta$ goes to the input element $k^*$ was read from:

    $$\frac{\partial C}{\partial x_i} = \sum_{o\,:\, i = \text{argmax of window } o} \delta_o$$

    (overlapping windows that share an arg-max add up). Returns the gradient of the padded input."""
    N, C, n = *padded_shape[:2], len(kernel)
    delta = grad_output
    # Each window's gradient: delta at its arg-max, 0 elsewhere, slab by slab as in forward.
    # A product with the mask, about 4x faster than np.where(mask, delta, 0): as in ReLU, an
    # infinite delta then gives NaN (not 0) at the window's other elements.
    offsets = np.arange(math.prod(kernel)).reshape(-1, *(1,) * argmax.ndim)
    grad_slabs = delta * (argmax == offsets)  # (K, N, C, *out)
    grad_windows = grad_slabs.reshape(*kernel, N, C, *argmax.shape[2:]).transpose(
        n, n + 1, *range(n), *range(n + 2, 2 * n + 2))  # (N, C, *kernel, *out), a view
    return add_windows(grad_windows, padded_shape, stride, dilation)


def max_pool_indices(argmax, input_spatial: tuple, kernel: tuple, stride: tuple, dilation: tuple,
                     pads: tuple) -> np.ndarray:
    r"""PyTorch's ``return_indices``: for every window, the flat index (row-major over the input's
    spatial axes, per sample and channel) of the element its maximum came from. Offset $k$ of window
    $o$ read position $o s + k d - p$ on each axis (``pads`` the padding before it)."""
    offsets = np.unravel_index(argmax, kernel)  # the kernel offset k of each maximum, axis by axis
    out = argmax.shape[2:]
    flat = np.zeros(argmax.shape, dtype=np.int64)
    for axis, (k, o, s, d, (before, _), L) in enumerate(zip(offsets, out, stride, dilation, pads, input_spatial)):
        start = (np.arange(o) * s - before).reshape((-1,) + (1,) * (len(out) - 1 - axis))
        flat = flat * L + (start + k * d)  # Horner's rule over the axes: row-major flat index
    return flat


def max_unpool_nd(input, indices, output_spatial: tuple):
    r"""The inverse of max-pooling's routing: a zero array ``(N, C, *output_spatial)`` with each
    ``input`` element written at its flat ``indices`` (per sample and channel)."""
    N, C = input.shape[:2]
    y = np.zeros((N * C, math.prod(output_spatial)), dtype=input.dtype)
    np.put_along_axis(y, indices.reshape(N * C, -1), input.reshape(N * C, -1), axis=1)
    return y.reshape(N, C, *output_spatial)


def max_unpool_nd_backward(grad_output, indices):
    r"""$y_{i(o)} = x_o$, so $\partial C/\partial x_o = \delta_{i(o)}$: the gradient read back where
    each element was written."""
    N, C = grad_output.shape[:2]
    grad = np.take_along_axis(grad_output.reshape(N * C, -1), indices.reshape(N * C, -1), axis=1)
    return grad.reshape(indices.shape)


def avg_pool_nd(xp, kernel: tuple, stride: tuple, divisor):
    r"""$y_o = \frac{1}{D_o}\sum_k x_p[\text{window}_o(k)]$ over the zero-padded ``xp``,
    ``divisor`` $D$ shaped like the output's spatial axes."""
    kernel_axes = tuple(range(2, 2 + len(kernel)))
    return windows(xp, kernel, stride, (1,) * len(kernel)).sum(axis=kernel_axes) / divisor


def avg_pool_nd_backward(grad_output, divisor, padded_shape: tuple, kernel: tuple, stride: tuple):
    r"""$y_o = \frac{1}{D_o}\sum_k x[\text{window}_o(k)]$, so every element of window $o$
    receives $\delta_o / D_o$; an element in several windows gets the sum. Returns the
    gradient of the padded input."""
    N, C, delta = *padded_shape[:2], grad_output
    share = (delta / divisor)[:, :, *(np.newaxis,) * len(kernel)]  # (N, C, 1.., *out)
    grad_windows = np.broadcast_to(share, (N, C, *kernel, *divisor.shape))  # a view
    return add_windows(grad_windows, padded_shape, stride, (1,) * len(kernel))


def adaptive_avg_pool_nd(input, A: list):
    r"""$y = A x$ along each spatial axis (2-D: $y = A_h\, x\, A_w^\top$), ``A`` the
    averaging matrices of :meth:`AdaptiveAvgPool1d.averaging_matrix`, one per axis."""
    y = input @ A[-1].T  # the last axis: (..., L) @ (L, out)
    if len(A) == 2:
        y = A[0] @ y  # the height axis: (out_h, H) @ (..., H, out_w)
    return y


def adaptive_avg_pool_nd_backward(grad_output, A: list):
    r"""$y = A x$ along each axis, so $\partial C/\partial x = A^\top \delta$ along each axis
    (2-D: $y = A_h\, x\, A_w^\top$, $\partial C/\partial x = A_h^\top\, \delta\, A_w$)."""
    delta = grad_output
    dx = delta @ A[-1]
    if len(A) == 2:
        dx = A[0].T @ dx
    return dx


class _WindowPoolNd(Module):
    """What MaxPool and AvgPool share: the window geometry, PyTorch's output size and checks."""

    _n = 0

    _one_for_all = True  # a 1-tuple stands for every axis and stride=() is kernel_size, as PyTorch's pools

    def _geometry(self, kernel_size, stride, padding, dilation=1):
        name, n = type(self).__name__, self._n
        self._kernel, self._stride, self._padding, self._dilation = checks.pool_window(
            name, n, kernel_size, stride, padding, dilation, one_for_all=self._one_for_all)
        if any(p > k // 2 for p, k in zip(self._padding, self._kernel)):
            raise ValueError(f"{name} padding must be at most half of kernel_size, got padding={padding!r} "
                             f"and kernel_size={kernel_size!r}")

    def _output_size(self, x_shape: tuple) -> tuple:
        """PyTorch's: $\\lfloor (L + 2p - d(k - 1) - 1)/s \\rfloor + 1$ (ceil with ``ceil_mode``,
        but a last window must start inside the input or the left padding)."""
        sizes = []
        for L, k, s, p, d in zip(x_shape[2:], self._kernel, self._stride, self._padding, self._dilation):
            reach = L + 2 * p - d * (k - 1) - 1
            out = (-(-reach // s) if self.ceil_mode else reach // s) + 1
            if self.ceil_mode and (out - 1) * s >= L + p:
                out -= 1
            sizes.append(out)
        if any(o < 1 for o in sizes):
            raise ValueError(
                f"{type(self).__name__}: input of shape {x_shape} is too small: the output would be "
                f"{' x '.join(map(str, sizes))} per channel ({self.extra_repr()})"
            )
        return tuple(sizes)

    def _pads(self, x_shape: tuple, out: tuple) -> tuple:
        """``padding`` before each axis; after it, ``padding`` or, with ``ceil_mode``, as much
        as the last window needs."""
        return tuple((p, max(p, (o - 1) * s + d * (k - 1) + 1 - L - p))
                     for L, o, k, s, p, d in zip(x_shape[2:], out, self._kernel, self._stride, self._padding, self._dilation))


class _MaxPoolNd(_WindowPoolNd):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices: bool = False,
                 ceil_mode: bool = False):
        super().__init__()
        name = type(self).__name__
        self._geometry(kernel_size, stride, padding, dilation)
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.dilation = padding, dilation
        self.return_indices = checks.flag(return_indices, name, "return_indices")
        self.ceil_mode = checks.flag(ceil_mode, name, "ceil_mode")

    def forward(self, input):
        x, batched = batch_input(input, type(self).__name__, self._n, None)
        pads = self._pads(x.shape, self._output_size(x.shape))
        xp = pad(x, pads, value=-np.inf)  # padding never wins a max
        y, argmax = max_pool_nd(xp, self._kernel, self._stride, self._dilation)
        self.save_for_backward(argmax, xp.shape, x.dtype, pads, batched)  # delta is routed by the arg-max
        if not self.return_indices:
            return y if batched else y[0]
        indices = max_pool_indices(argmax, x.shape[2:], self._kernel, self._stride, self._dilation, pads)
        return (y, indices) if batched else (y[0], indices[0])  # the indices, for MaxUnpool

    def backward(self, grad_output):
        r"""$\delta$ to each window's arg-max; the maths is :func:`max_pool_nd_backward`."""
        argmax, padded_shape, dtype, pads, batched = self.saved_tensors
        delta = checks.pool_grad(self, grad_output, batched, argmax.shape, dtype)
        dx = crop(max_pool_nd_backward(delta, argmax, padded_shape, self._kernel, self._stride, self._dilation), pads)
        return dx if batched else dx[0]

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    r"""$y[n, c, o] = \max_{k < K} x_p[n, c, o s + k d]$ over ``(N, C, L)`` (or ``(C, L)``),
    $x_p$ the input padded with $-\infty$.

    Args:
        kernel_size: $K$; ``stride`` $s$ defaults to ``kernel_size``; ``padding`` (at most
            half of ``kernel_size``) and ``dilation`` $d$ as PyTorch's.
        ceil_mode: round the output length up instead of down, as PyTorch.
        return_indices: also return, for every window, the index of its maximum in the input
            (flat over ``L``), as PyTorch, for :class:`MaxUnpool1d`.

    Shape: ``(N, C, L) -> (N, C, L_out)``, $L_\text{out} = \lfloor (L + 2p - d(K-1) - 1)/s\rfloor + 1$.
    Backward sends $\delta$ to the first maximum of each window (PyTorch's choice on ties).
    """

    _n = 1


class MaxPool2d(_MaxPoolNd):
    r"""$y[n, c, p, q] = \max_{k, l} x_p[n, c, p s_0 + k d_0, q s_1 + l d_1]$ over
    ``(N, C, H, W)`` (or ``(C, H, W)``), $x_p$ the input padded with $-\infty$.

    Args:
        kernel_size: an int or a pair (a 1-tuple is both axes, as in PyTorch; so for ``stride``,
            ``padding`` and ``dilation``); ``stride`` defaults to ``kernel_size`` (so does
            ``stride=()``); ``padding`` (at most half of ``kernel_size``) and ``dilation`` as PyTorch's.
        ceil_mode: round the output size up instead of down, as PyTorch.
        return_indices: also return, for every window, the index of its maximum in the input
            (flat over ``H x W``), as PyTorch, for :class:`MaxUnpool2d`; ``backward`` takes the
            output's gradient only.

    Backward sends $\delta$ to the first maximum of each window in row-major order
    (PyTorch's choice on ties); overlapping windows add up.
    """

    _n = 2


class _AvgPoolNd(_WindowPoolNd):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override=None):
        super().__init__()
        name = type(self).__name__
        for arg, value in (("ceil_mode", ceil_mode), ("count_include_pad", count_include_pad)):
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{name} {arg} must be a bool, got {value!r}")
        if divisor_override is not None and (
                isinstance(divisor_override, bool) or not isinstance(divisor_override, numbers.Integral)
                or divisor_override == 0):
            raise ValueError(f"{name} divisor_override must be None or a non-zero int, got {divisor_override!r}")
        self._geometry(kernel_size, stride, padding)
        self.ceil_mode, self.count_include_pad = bool(ceil_mode), bool(count_include_pad)
        self.divisor_override = divisor_override

    def _divisor(self, x_shape: tuple, out: tuple, dtype) -> np.ndarray:
        """What each window's sum is divided by, shape ``out``: PyTorch's count of the window's
        elements inside the padded input (``count_include_pad``) or inside the input itself.
        Per axis, then the outer product (a 2-D window's count is the product of its sides)."""
        if self.divisor_override is not None:
            return np.full(out, float(self.divisor_override), dtype=dtype)
        divisor = np.ones((), dtype=dtype)
        for L, o, k, s, p in zip(x_shape[2:], out, self._kernel, self._stride, self._padding):
            start = np.arange(o) * s - p
            end = np.minimum(start + k, L + p)  # a ceil_mode window is cut at the padding's end
            if self.count_include_pad:
                count = end - start
            else:
                count = np.minimum(end, L) - np.maximum(start, 0)
            divisor = np.multiply.outer(divisor, count.astype(dtype))
        return divisor

    def forward(self, input):
        x, batched = batch_input(input, type(self).__name__, self._n, None)
        out = self._output_size(x.shape)
        pads = self._pads(x.shape, out)
        xp = pad(x, pads)
        divisor = self._divisor(x.shape, out, x.dtype)
        self.save_for_backward(divisor, xp.shape, pads, batched)  # backward needs only the geometry
        y = avg_pool_nd(xp, self._kernel, self._stride, divisor)
        return y if batched else y[0]

    def backward(self, grad_output):
        r"""$\delta_o / D_o$ to every element of window $o$; the maths is :func:`avg_pool_nd_backward`."""
        divisor, padded_shape, pads, batched = self.saved_tensors
        delta = checks.pool_grad(self, grad_output, batched, (*padded_shape[:2], *divisor.shape), divisor.dtype)
        dx = crop(avg_pool_nd_backward(delta, divisor, padded_shape, self._kernel, self._stride), pads)
        return dx if batched else dx[0]


class AvgPool1d(_AvgPoolNd):
    r"""$y[n, c, o] = \frac{1}{D_o}\sum_{k < K} x_p[n, c, o s + k]$ over ``(N, C, L)`` (or ``(C, L)``),
    $x_p$ the zero-padded input.

    Args:
        kernel_size: $K$; ``stride`` $s$ defaults to ``kernel_size``; ``padding`` zeros on
            both sides, at most half of ``kernel_size``.
        ceil_mode: round the output length up instead of down, as PyTorch.
        count_include_pad: $D_o$ counts the padding zeros in the window (default) or only
            the input's elements.
    """

    _n = 1

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True):
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)
        self.kernel_size, self.stride, self.padding = self._kernel, self._stride, self._padding  # as PyTorch: tuples
        if isinstance(stride, (tuple, list)) and not stride:
            self.stride = ()  # PyTorch keeps an empty stride as given (it means kernel_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(_AvgPoolNd):
    r"""$y[n, c, p, q] = \frac{1}{D_{pq}}\sum_{k, l} x_p[n, c, p s_0 + k, q s_1 + l]$ over
    ``(N, C, H, W)`` (or ``(C, H, W)``), $x_p$ the zero-padded input.

    Args:
        kernel_size: an int or a pair (a 1-tuple is both axes, as in PyTorch; so for ``stride``
            and ``padding``); ``stride`` defaults to ``kernel_size`` (so does ``stride=()``);
            ``padding`` zeros on both sides, at most half of ``kernel_size``.
        ceil_mode: round the output size up instead of down, as PyTorch.
        count_include_pad: $D$ counts the padding zeros in the window (default) or only
            the input's elements.
        divisor_override: if given, $D$ for every window.
    """

    _n = 2

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override=None):
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _AdaptiveAvgPoolNd(Module):
    def __init__(self, output_size):
        super().__init__()
        name, n = type(self).__name__, self._n
        items = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,) * n
        if len(items) != n or not all(v is None or (isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 0)
                                      for v in items):
            raise ValueError(f"{name} output_size must be an int >= 0, None, or a tuple of {n} of them, got {output_size!r}")
        self.output_size = output_size
        self._sizes = items

    @staticmethod
    def averaging_matrix(L: int, out: int, dtype) -> np.ndarray:
        r"""$A$ ``(out, L)`` with $A_{il} = 1/(e_i - s_i)$ for $s_i \le l < e_i$, PyTorch's windows
        $s_i = \lfloor iL/\text{out} \rfloor$, $e_i = \lceil (i+1)L/\text{out} \rceil$, else 0."""
        i = np.arange(out)
        start, end = (i * L) // out, -(-((i + 1) * L) // out)
        positions = np.arange(L)
        inside = (start[:, None] <= positions) & (positions < end[:, None])
        return inside / (end - start)[:, None].astype(dtype)

    def forward(self, input):
        x, batched = checks.nonempty_input(input, type(self).__name__, self._n)
        sizes = tuple(L if o is None else o for L, o in zip(x.shape[2:], self._sizes))  # None keeps the size
        A = [self.averaging_matrix(L, o, x.dtype) for L, o in zip(x.shape[2:], sizes)]
        self.save_for_backward(A, batched, x.shape)  # the map is linear: backward needs only A
        y = adaptive_avg_pool_nd(x, A)
        return y if batched else y[0]

    def backward(self, grad_output):
        r"""$\partial C/\partial x = A^\top \delta$ along each axis; the maths is
        :func:`adaptive_avg_pool_nd_backward`."""
        A, batched, x_shape = self.saved_tensors
        delta = checks.pool_grad(self, grad_output, batched, (*x_shape[:2], *(a.shape[0] for a in A)), A[0].dtype)
        dx = adaptive_avg_pool_nd_backward(delta, A)
        return dx if batched else dx[0]

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    r"""Average pooling to a fixed length ``output_size``: window $i$ of an axis of length $L$
    averages $x[\lfloor iL/\text{out}\rfloor : \lceil (i+1)L/\text{out}\rceil]$, as PyTorch.

    Shape: ``(N, C, L) -> (N, C, output_size)`` (or unbatched ``(C, L)``).
    """

    _n = 1


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    r"""Average pooling to a fixed ``output_size`` (an int, or a pair whose ``None`` keeps that
    axis's size), with PyTorch's windows on each axis: window $i$ of an axis of length $L$ is
    $[\lfloor iL/\text{out}\rfloor, \lceil (i+1)L/\text{out}\rceil)$.

    Shape: ``(N, C, H, W) -> (N, C, *output_size)`` (or unbatched ``(C, H, W)``).
    """

    _n = 2


class _MaxUnpoolNd(_WindowPoolNd):
    """MaxUnpool1d and MaxUnpool2d: write each input element at the index max-pooling took it from."""

    _one_for_all = False  # PyTorch's MaxUnpool takes n-tuples only

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self._geometry(kernel_size, stride, padding, 1)
        self.kernel_size, self.stride, self.padding = self._kernel, self._stride, self._padding

    def _unpooled_size(self, in_spatial: tuple, output_size) -> tuple:
        """PyTorch's default $(L - 1)s - 2p + k$ per axis, or ``output_size``'s spatial part."""
        if output_size is not None:
            return tuple(output_size)[-self._n:]
        return tuple((L - 1) * s - 2 * p + k for L, s, p, k in zip(in_spatial, self._stride, self._padding, self._kernel))

    def forward(self, input, indices, output_size=None):
        x, indices, batched = checks.unpool_input(self, input, indices)
        out = self._unpooled_size(x.shape[2:], output_size)
        checks.unpool_indices(self, indices, out)
        self.save_for_backward(indices, batched)  # backward reads delta back at the same indices
        y = max_unpool_nd(x, indices, out)
        return y if batched else y[0]

    def backward(self, grad_output):
        r"""$\delta$ read back at each element's index: :func:`max_unpool_nd_backward`."""
        indices, batched = self.saved_tensors
        grad = checks.unpool_grad(self, grad_output, indices, batched)
        dx = max_unpool_nd_backward(grad, indices)
        return dx if batched else dx[0]

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    r"""The partial inverse of :class:`MaxPool1d`, as ``torch.nn.MaxUnpool1d``: ``forward(x, indices)``
    puts each element of ``(N, C, L)`` at its index (from ``MaxPool1d(return_indices=True)``) in a zero
    array of length $(L-1)s - 2p + K$ (or ``output_size``). Backward: $\partial C/\partial x_o = \delta_{i(o)}$."""

    _n = 1


class MaxUnpool2d(_MaxUnpoolNd):
    r"""The partial inverse of :class:`MaxPool2d`, as ``torch.nn.MaxUnpool2d``: ``forward(x, indices)``
    puts each element of ``(N, C, H, W)`` at its flat index over ``H_out x W_out`` in a zero array
    (each axis $(L-1)s - 2p + k$, or ``output_size``). Backward reads $\delta$ back at the same indices."""

    _n = 2
