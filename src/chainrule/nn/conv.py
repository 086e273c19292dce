r"""Conv1d and Conv2d: one N-d cross-correlation, $y = b + W \star x$, and its three gradients.

The forward reads every kernel-sized window of the padded input (zeros, or copies of its
border in the other padding modes: :func:`pad` / :func:`pad_backward`), laid out as the
columns of a matrix ("im2col"), and multiplies it by the weight matrix: one GEMM per sample
and group. Its adjoint, :func:`add_windows`, adds each window back where it was read from
("col2im"); pooling uses the same pair (see ``pooling.py``), and so does the input gradient
where that moves less memory than its loop over the kernel offsets with the product inside it.
The derivation is on the docs
page *Convolution and pooling*.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .._config import check_float_dtype, resolve_rng
from . import init
from .. import _checks as checks
from .module import Module, Parameter, accumulate_grad

# -- the shared pieces: argument parsing, padding, windows and their adjoint ---------------------


as_tuple = checks.int_tuple  # the geometry checks live in chainrule._checks
batch_input = checks.batched_input


def pad(x: np.ndarray, pads: tuple, mode: str = "constant", value: float = 0.0) -> np.ndarray:
    r"""``x`` with ``pads[i] = (before, after)`` elements added around the ``i``-th of its last
    ``len(pads)`` axes (a convolution's spatial axes), one axis in turn. On an axis of length $L$,
    padded position $j \in [-\text{before}, L + \text{after})$ holds

    - ``'constant'``: ``value`` outside $[0, L)$;
    - ``'reflect'``: $x[|j|]$ on the left, $x[2(L-1) - j]$ on the right: mirrored at the edge
      element, which is not repeated (needs before, after $< L$);
    - ``'replicate'``: $x[\min(\max(j, 0), L-1)]$, the edge element repeated;
    - ``'circular'``: $x[j \bmod L]$, the axis wrapped around (needs before, after $\le L$).

    No copy when there is nothing to add. The amounts are checked by the callers
    (``chainrule._checks.pad_amounts``), not here."""
    if not any(before or after for before, after in pads):
        return x
    first = x.ndim - len(pads)
    if mode == "constant":
        return np.pad(x, ((0, 0),) * first + tuple(pads), constant_values=value)
    for axis, (before, after) in enumerate(pads, start=first):
        x = np.moveaxis(_pad_axis(np.moveaxis(x, axis, 0), before, after, mode), 0, axis)
    return x


def _pad_axis(x, before: int, after: int, mode: str):
    """:func:`pad` on axis 0: the border strips, then ``[left, x, right]``."""
    if mode == "reflect":  # x[before], ..., x[1] | x | x[L-2], ..., x[L-1-after]
        left, right = x[1:1 + before][::-1], x[::-1][1:1 + after]
    elif mode == "replicate":  # x[0] repeated | x | x[L-1] repeated
        left, right = np.repeat(x[:1], before, axis=0), np.repeat(x[-1:], after, axis=0)
    else:  # circular: the last `before` elements | x | the first `after`
        left, right = x[len(x) - before:], x[:after]
    return np.concatenate([left, x, right])


def pad_backward(grad_output: np.ndarray, pads: tuple, mode: str = "constant") -> np.ndarray:
    r"""The adjoint of :func:`pad`: the gradient of its input given $g = \partial C/\partial x_p$.

    In ``'constant'`` mode the padding is constants, so $g_x$ is $g$ with the border cut off
    (:func:`crop`). In the other modes every padded element is a copy of an input element, so
    $g_x$ is the core of $g$ plus each border element's gradient added onto the element it
    copied (a copy used twice gets both gradients). On one axis, with $b$ = before and $a$ = after:

    - ``'replicate'``: $g_x[0] = g[0] + \sum_{j=-b}^{-1} g[j]$ and
      $g_x[L-1] = g[L-1] + \sum_{j=L}^{L+a-1} g[j]$, the rest $g_x[i] = g[i]$;
    - ``'reflect'``: $g_x[i] = g[i] + g[-i]\,[1 \le i \le b] + g[2(L-1) - i]\,[L-1-a \le i \le L-2]$;
    - ``'circular'``: $g_x[i] = g[i] + g[i - L]\,[i \ge L - b] + g[i + L]\,[i < a]$.

    ($g$ indexed by the padded position $j$, as in :func:`pad`.) Axis by axis, the last padded first."""
    if mode == "constant":
        return crop(grad_output, pads)
    grad, first = grad_output, grad_output.ndim - len(pads)
    for axis, (before, after) in reversed(list(enumerate(pads, start=first))):
        grad = np.moveaxis(_pad_axis_backward(np.moveaxis(grad, axis, 0), before, after, mode), 0, axis)
    return grad


def _pad_axis_backward(g, before: int, after: int, mode: str):
    """:func:`pad_backward` on axis 0: cut the core, then add the border strips onto their sources."""
    left, right = g[:before], g[len(g) - after:]
    grad = g[before:len(g) - after].copy()  # the core: each input element's own position
    if mode == "reflect":  # the strips were read mirrored, starting one in from each edge
        grad[1:1 + before] += left[::-1]
        grad[::-1][1:1 + after] += right
    elif mode == "replicate":  # every strip element is a copy of the edge element
        grad[:1] += left.sum(axis=0, keepdims=True)
        grad[-1:] += right.sum(axis=0, keepdims=True)
    else:  # circular: the left strip copied the last `before` elements, the right the first `after`
        grad[len(grad) - before:] += left
        grad[:after] += right
    return grad


def crop(xp: np.ndarray, pads: tuple) -> np.ndarray:
    """The adjoint of :func:`pad` in ``'constant'`` mode: drop ``pads[i]`` from each end of the
    ``i``-th of the last ``len(pads)`` axes."""
    first = xp.ndim - len(pads)
    return xp[(..., *(slice(before, xp.shape[first + i] - after) for i, (before, after) in enumerate(pads)))]


def windows(xp: np.ndarray, kernel: tuple, stride: tuple, dilation: tuple) -> np.ndarray:
    r"""Every window a kernel of size ``kernel`` reads from ``xp`` ``(N, C, *spatial)``, as a
    view (nothing copied) shaped ``(N, C, *kernel, *out)``:

    $$\text{windows}[n, c, k, o] = x_p[n, c, o \cdot s + k \cdot d]$$

    (one index per spatial axis), for output positions $o$ and kernel offsets $k$.
    """
    n = len(kernel)
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))  # the dilated kernel
    view = sliding_window_view(xp, span, axis=tuple(range(2, 2 + n)))  # (N, C, *all starts, *span)
    view = view[(..., *(slice(None, None, s) for s in stride), *(slice(None, None, d) for d in dilation))]
    return view.transpose(0, 1, *range(2 + n, 2 + 2 * n), *range(2, 2 + n))


def add_windows(grad_windows: np.ndarray, padded_shape: tuple, stride: tuple, dilation: tuple) -> np.ndarray:
    r"""The adjoint of :func:`windows` (the backward of reading them): adds each element of
    ``grad_windows`` ``(N, C, *kernel, *out)`` back into the position of ``padded_shape`` it
    was read from,

    $$g_x[n, c, i] = \sum_{o, k \,:\, o s + k d = i} g_w[n, c, k, o].$$

    An input element that several windows read (overlapping windows) gets the sum. The loop
    runs over the kernel offsets $k$ (a handful); each step adds a whole strided slice.
    """
    n = (grad_windows.ndim - 2) // 2
    kernel, out = grad_windows.shape[2:2 + n], grad_windows.shape[2 + n:]
    grad = np.zeros(padded_shape, dtype=grad_windows.dtype)
    for k, read in kernel_offsets(kernel, out, stride, dilation):
        grad[read] += grad_windows[(slice(None), slice(None), *k)]
    return grad


def kernel_offsets(kernel: tuple, out: tuple, stride: tuple, dilation: tuple):
    """Yield ``(k, read)`` for every kernel offset ``k`` (row-major): ``xp[read]`` is the
    ``(N, C, *out)`` strided slice that offset reads, positions $k d + o s$ on each axis."""
    for k in np.ndindex(*kernel):
        yield k, (slice(None), slice(None), *(slice(ki * d, ki * d + (o - 1) * s + 1, s)
                                              for ki, d, o, s in zip(k, dilation, out, stride)))


def output_size(padded: tuple, kernel: tuple, stride: tuple, dilation: tuple) -> tuple:
    """Positions a dilated kernel fits at, stepping by ``stride``: ``(L_p - d (k - 1) - 1) // s + 1``."""
    return tuple((p - d * (k - 1) - 1) // s + 1 for p, k, s, d in zip(padded, kernel, stride, dilation))


# -- the convolution: the maths as a function pair ---------------------------------------------


def conv_nd(input, weight, bias, stride: tuple, pads: tuple, dilation: tuple, groups: int):
    r"""The N-d cross-correlation of ``input`` ``(N, C_in, *spatial)`` with ``weight``
    ``(C_out, C_in/G, *kernel)``, after ``pads[i] = (before, after)`` zeros on spatial axis $i$:

    $$y[n, o, p] = b_o + \sum_{c, k} W[o, c, k]\; x_p[n, c, p s + k d]$$

    (within the group of $o$). Returns ``(y, cols)``: ``cols`` ``(N, G, C_in/G * prod(kernel),
    positions)`` holds the windows, the "a" of BP4 that the weight gradient correlates with $\delta$.
    """
    xp = pad(input, pads)
    N, G = input.shape[0], groups
    out_channels, kernel = weight.shape[0], weight.shape[2:]
    out = output_size(xp.shape[2:], kernel, stride, dilation)
    # im2col: the windows become the columns of a matrix per sample and group, a row for
    # each (input channel, kernel offset) and a column for each output position:
    # (N, G, in/G * prod(kernel), positions). The copy makes one GEMM per sample and group.
    rows = weight.shape[1] * math.prod(kernel)
    cols = windows(xp, kernel, stride, dilation).reshape(N, G, rows, math.prod(out))
    W = weight.reshape(G, out_channels // G, rows)  # (G, out/G, in/G * prod(kernel))
    y = (W @ cols).reshape(N, out_channels, *out)  # y[n, o, p] = sum_{c,k} W[o, c, k] x_p[n, c, p s + k d]
    if bias is not None:
        y += bias.reshape(-1, *(1,) * len(out))
    return y, cols


def conv_nd_backward(grad_output, cols, weight, input_shape: tuple, stride: tuple, pads: tuple,
                     dilation: tuple, groups: int, bias: bool = True, weight_grad: bool = True,
                     input_grad: bool = True):
    r"""The three gradients of :func:`conv_nd`, given $\delta = \partial C/\partial y$
    ``(N, C_out, *out)`` and the forward's ``cols``:

    - bias (BP3): $\partial C/\partial b_o = \sum_{n, p} \delta_{n o p}$;
    - weight (BP4), the correlation of the input with $\delta$:
      $\partial C/\partial W_{o c k} = \sum_{n, p} \delta_{n o p}\, x_p[n, c, p s + k d]$;
    - input (the $W^\top\delta$ half of BP2): $\partial C/\partial x_p[n, c, i] = \sum_{o}\sum_{p, k \,:\, p s + k d = i}
      \delta_{n o p} W_{o c k}$, the "full" convolution of the stride-dilated $\delta$ with
      the flipped kernel, computed as its transpose: $W^\top\delta$ added back where each window was
      read, one kernel offset at a time or all windows at once (:func:`add_windows`), whichever
      moves less memory, then the padding cropped.

    Within a group only; groups never mix. Returns ``(grad_input, grad_weight, grad_bias)``,
    ``None`` for each one whose flag (``input_grad``, ``weight_grad``, ``bias``) is off.
    """
    N, G = grad_output.shape[0], groups
    out_channels, kernel, out = weight.shape[0], weight.shape[2:], grad_output.shape[2:]
    padded_shape = (*input_shape[:2], *(L + b + a for L, (b, a) in zip(input_shape[2:], pads)))
    delta = grad_output.reshape(N, G, out_channels // G, math.prod(out))  # (N, G, out/G, positions)
    grad_input = grad_weight = grad_bias = None
    if bias:
        grad_bias = delta.sum(axis=(0, 3)).reshape(-1)
    if weight_grad:
        # delta_n cols_n^T, one GEMM per sample and group (Linear's BP4, with positions as
        # more rows), summed over the samples: the sum over n and positions p of
        # delta[n, o, p] * x_p[n, c, p s + k d]
        dW = (delta @ cols.swapaxes(-1, -2)).sum(axis=0)  # (G, out/G, in/G * prod(kernel))
        grad_weight = dW.reshape(weight.shape)
    if input_grad:
        # W^T delta, added back where each window was read. Two orders of the same sum; the one
        # with less memory traffic is taken. One kernel offset k at a time (W_k^T delta is the
        # gradient of every element offset k read) reads delta once per offset; all windows at
        # once builds their gradients as one matrix, prod(kernel) times the input, and adds it
        # back (add_windows). The first costs less unless the output has far more channels than
        # the input, (K - 1) C_out > 2 K C_in (a 3-channel first layer).
        K, in_channels = math.prod(kernel), input_shape[1]
        if (K - 1) * out_channels <= 2 * K * in_channels:
            W = weight.reshape(G, out_channels // G, weight.shape[1], *kernel)  # (G, out/G, in/G, *kernel)
            # the samples among the columns, (G, out/G, N * positions): one GEMM per offset
            delta_cols = delta.transpose(1, 2, 0, 3).reshape(G, out_channels // G, -1)
            grad_xp = np.zeros(padded_shape, dtype=delta.dtype)
            channels_first = grad_xp.swapaxes(0, 1)  # (C_in, N, *padded): the GEMM's rows are channels
            for k, read in kernel_offsets(kernel, out, stride, dilation):
                # dC/dx_p[n, c, p s + k d] += sum_o W[o, c, k] delta[n, o, p]
                channels_first[read] += (W[(..., *k)].swapaxes(-1, -2) @ delta_cols).reshape(in_channels, N, *out)
        else:
            W = weight.reshape(G, out_channels // G, -1)
            grad_cols = W.swapaxes(-1, -2) @ delta  # (N, G, in/G * prod(kernel), positions)
            grad_windows = grad_cols.reshape(N, in_channels, *kernel, *out)  # the windows' layout
            grad_xp = add_windows(grad_windows, padded_shape, stride, dilation)
        grad_input = crop(grad_xp, pads)  # the zeros padding added are not inputs
    return grad_input, grad_weight, grad_bias


def _conv_pads(padding, n: int) -> tuple:
    return tuple((p, p) for p in as_tuple(padding, n, "conv", "padding", 0))


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """PyTorch's ``F.conv1d`` on a batched ``(N, C_in, L)`` input (see :func:`conv_nd`);
    returns ``(y, cols)``, ``cols`` for :func:`conv1d_backward`."""
    return conv_nd(input, weight, bias, as_tuple(stride, 1, "conv1d", "stride", 1), _conv_pads(padding, 1),
                   as_tuple(dilation, 1, "conv1d", "dilation", 1), groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """PyTorch's ``F.conv2d`` on a batched ``(N, C_in, H, W)`` input (see :func:`conv_nd`);
    returns ``(y, cols)``, ``cols`` for :func:`conv2d_backward`."""
    return conv_nd(input, weight, bias, as_tuple(stride, 2, "conv2d", "stride", 1), _conv_pads(padding, 2),
                   as_tuple(dilation, 2, "conv2d", "dilation", 1), groups)


def conv1d_backward(grad_output, cols, weight, input_shape, stride=1, padding=0, dilation=1, groups=1,
                    bias=True, weight_grad=True, input_grad=True):
    """The gradients of :func:`conv1d` (see :func:`conv_nd_backward`)."""
    return conv_nd_backward(grad_output, cols, weight, input_shape, as_tuple(stride, 1, "conv1d", "stride", 1),
                            _conv_pads(padding, 1), as_tuple(dilation, 1, "conv1d", "dilation", 1), groups,
                            bias, weight_grad, input_grad)


def conv2d_backward(grad_output, cols, weight, input_shape, stride=1, padding=0, dilation=1, groups=1,
                    bias=True, weight_grad=True, input_grad=True):
    """The gradients of :func:`conv2d` (see :func:`conv_nd_backward`)."""
    return conv_nd_backward(grad_output, cols, weight, input_shape, as_tuple(stride, 2, "conv2d", "stride", 1),
                            _conv_pads(padding, 2), as_tuple(dilation, 2, "conv2d", "dilation", 1), groups,
                            bias, weight_grad, input_grad)


def conv_transpose_nd(input, weight, bias, stride: tuple, pads: tuple, dilation: tuple, groups: int,
                      output_shape: tuple):
    r"""The transposed convolution: the adjoint $y = C^\top x$ of the convolution $C$ whose weight
    is ``weight`` ``(C_in, C_out/G, *kernel)`` (a convolution from ``C_out`` channels to ``C_in``).
    Each input element scatters $x[n, c, p]\, W[c, o, k]$ to output position $p s + k d$ (before the
    padding is cropped): :func:`conv_nd_backward`'s input-gradient path with $x$ in the place of
    $\delta$, into ``output_shape`` ``(N, C_out, *out)``."""
    y, _, _ = conv_nd_backward(input, None, weight, output_shape, stride, pads, dilation, groups, bias=False,
                               weight_grad=False)
    if bias is not None:
        y += bias.reshape(-1, *(1,) * (y.ndim - 2))
    return y


def conv_transpose_nd_backward(grad_output, input, weight, stride: tuple, pads: tuple, dilation: tuple, groups: int,
                               bias: bool = True, weight_grad: bool = True, input_grad: bool = True):
    r"""The gradients of :func:`conv_transpose_nd`, $y = C^\top x + b$:

    - input: $\partial C/\partial x = C\,\delta$, the convolution of $\delta$ with the same weight;
    - weight: $y$ is bilinear in $W$ and $x$, so $\partial C/\partial W$ is the convolution's weight
      gradient with the roles swapped, $x$ as the "$\delta$" and the windows of $\delta$ as the "$a$";
    - bias: $\sum_{n,p} \delta_{n o p}$.

    Returns ``(grad_input, grad_weight, grad_bias)``, ``None`` where its flag is off."""
    grad_input, cols = conv_nd(grad_output, weight, None, stride, pads, dilation, groups)  # C delta, and its windows
    grad_weight = None
    if weight_grad:
        _, grad_weight, _ = conv_nd_backward(input, cols, weight, grad_output.shape, stride, pads, dilation, groups,
                                             bias=False, input_grad=False)
    grad_bias = grad_output.sum(axis=(0, *range(2, grad_output.ndim))) if bias else None
    return (grad_input if input_grad else None), grad_weight, grad_bias


# -- the convolution ---------------------------------------------------------------------------


class _ConvNd(Module):
    """Conv1d and Conv2d: everything but the number of spatial axes, ``_n``."""

    _n = 0
    _transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", *, dtype=None, rng=None):
        super().__init__()
        name, n = type(self).__name__, self._n
        self.in_channels, self.out_channels, self.groups = checks.conv_channels(in_channels, out_channels, groups, name)
        self.kernel_size = as_tuple(kernel_size, n, name, "kernel_size", 1)
        self.stride = as_tuple(stride, n, name, "stride", 1)
        self.dilation = as_tuple(dilation, n, name, "dilation", 1)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name} padding must be an int, a tuple of {n} ints, 'same' or 'valid', got {padding!r}")
            if padding == "same" and self.stride != (1,) * n:
                raise ValueError(f"{name} padding='same' needs stride 1 (it is not defined for strided "
                                 f"convolutions), got stride={stride!r}")
            self.padding = padding
        else:
            self.padding = as_tuple(padding, n, name, "padding", 0)
        self.padding_mode = checks.padding_mode(padding_mode, name, transposed=self._transposed)
        if not isinstance(bias, (bool, np.bool_)):
            raise TypeError(f"{name} bias must be a bool, got {bias!r}")
        dtype = check_float_dtype(dtype, name)
        self.weight = Parameter(np.empty(self._weight_shape(), dtype=dtype))
        self.register_parameter("bias", Parameter(np.empty(self.out_channels, dtype=dtype)) if bias else None)
        self.reset_parameters(rng)

    def _weight_shape(self) -> tuple:
        return (self.out_channels, self.in_channels // self.groups, *self.kernel_size)

    def reset_parameters(self, rng=None) -> None:
        r"""PyTorch's default: ``kaiming_uniform_(weight, a=sqrt(5))``, which is
        $\mathcal U(-1/\sqrt{\text{fan\_in}}, 1/\sqrt{\text{fan\_in}})$ with
        $\text{fan\_in} = \text{in\_channels}/\text{groups} \cdot \prod \text{kernel\_size}$,
        and the bias from the same distribution."""
        rng = resolve_rng(rng=rng, owner=type(self).__name__)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), rng=rng)
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            bound = 1.0 / math.sqrt(fan_in)
            self.bias.data[...] = rng.uniform(-bound, bound, self.bias.shape)

    @property
    def _pads(self) -> tuple:
        """``(before, after)`` padded elements on each spatial axis. ``'same'`` splits the dilated
        kernel's overhang ``d (k - 1)`` as PyTorch does, in every padding mode: the odd element goes after."""
        if self.padding == "valid":
            return ((0, 0),) * self._n
        if self.padding == "same":
            total = [d * (k - 1) for k, d in zip(self.kernel_size, self.dilation)]
            return tuple((t // 2, t - t // 2) for t in total)
        return tuple((p, p) for p in self.padding)

    @property
    def _mode(self) -> str:
        """:func:`pad`'s name for ``padding_mode``: ``'zeros'`` is its ``'constant'`` (0)."""
        return "constant" if self.padding_mode == "zeros" else self.padding_mode

    def forward(self, input):
        x, batched = checks.conv_input(self, input)
        bias = None if self.bias is None else self.bias.data
        # as PyTorch: pad in padding_mode, then convolve the padded input with no more padding
        xp = pad(x, self._pads, self._mode)
        y, cols = conv_nd(xp, self.weight.data, bias, self.stride, self._no_pads, self.dilation, self.groups)
        self.save_for_backward(cols, x.shape, batched)  # dW correlates these windows with delta
        return y if batched else y[0]

    def backward(self, grad_output):
        r"""$\delta = \partial C/\partial y$ in, $\partial C/\partial x$ out; the maths is
        :func:`conv_nd_backward`. A frozen parameter gets no gradient."""
        cols, x_shape, batched = self.saved_tensors
        grad_output = checks.grad_output(self, grad_output, self._output_shape(x_shape, batched), self.weight.dtype)
        with_bias = self.bias is not None and self.bias.requires_grad
        padded_shape = (*x_shape[:2], *(L + b + a for L, (b, a) in zip(x_shape[2:], self._pads)))
        grad_padded, grad_weight, grad_bias = conv_nd_backward(
            grad_output if batched else grad_output[np.newaxis], cols, self.weight.data, padded_shape,
            self.stride, self._no_pads, self.dilation, self.groups, bias=with_bias,
            weight_grad=self.weight.requires_grad, input_grad=self.needs_input_grad)
        if with_bias:
            accumulate_grad(self.bias, grad_bias)
        if self.weight.requires_grad:
            accumulate_grad(self.weight, grad_weight)
        if grad_padded is None:
            return None  # the input is data: nothing upstream needs dC/dx (see Module)
        grad_input = pad_backward(grad_padded, self._pads, self._mode)  # the padding's adjoint
        return grad_input if batched else grad_input[0]

    @property
    def _no_pads(self) -> tuple:
        return ((0, 0),) * self._n

    def _output_shape(self, x_shape: tuple, batched: bool) -> tuple:
        padded = tuple(L + b + a for L, (b, a) in zip(x_shape[2:], self._pads))
        out = output_size(padded, self.kernel_size, self.stride, self.dilation)
        return (x_shape[0], self.out_channels, *out) if batched else (self.out_channels, *out)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self._n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._n:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"  # unquoted, as PyTorch's
        return s


class Conv1d(_ConvNd):
    r"""1-D convolution (a cross-correlation, as in PyTorch) over ``(N, C_in, L)``:

    $$y[n, o, p] = b_o + \sum_{c=0}^{C_\text{in}/G - 1} \sum_{k=0}^{K-1} W[o, c, k]\; x_p[n,\, g C_\text{in}/G + c,\, p s + k d],$$

    $x_p$ the padded input (in ``padding_mode``), $g$ the group of output channel $o$.

    Args:
        in_channels: $C_\text{in}$, channels of the input.
        out_channels: $C_\text{out}$, channels of the output.
        kernel_size: $K$, an int or a 1-tuple; likewise ``stride`` $s$ and ``dilation`` $d$.
        padding: elements added at both ends (int or 1-tuple), ``'valid'`` (none) or ``'same'``
            (output as long as the input; stride 1 only; an odd total puts the extra element
            at the end, as PyTorch).
        groups: $G$; input and output channels are split into $G$ groups that do not mix.
        bias: whether to learn $b$.
        padding_mode: what the padding holds, as PyTorch: ``'zeros'``, ``'reflect'`` (the input
            mirrored at its edge element, which is not repeated: padding below the length),
            ``'replicate'`` (the edge element repeated) or ``'circular'`` (the input wrapped
            around: padding at most the length). See :func:`pad` and :func:`pad_backward`.
        dtype: ``np.float32`` or ``np.float64``; default ``chainrule.get_default_dtype()``.
        rng: ``numpy.random.Generator`` for the initial values; default the package's generator.

    Shape:
        ``(N, C_in, L) -> (N, C_out, L_out)``, or unbatched ``(C_in, L) -> (C_out, L_out)``,
        $L_\text{out} = \lfloor (L + 2p - d(K - 1) - 1)/s \rfloor + 1$.

    Attributes:
        weight: ``(C_out, C_in / groups, K)``, from $\mathcal U(-1/\sqrt{\text{fan\_in}}, 1/\sqrt{\text{fan\_in}})$,
            $\text{fan\_in} = C_\text{in}/G \cdot K$, as in PyTorch.
        bias: ``(C_out,)``, same distribution, or ``None``.
    """

    _n = 1


class Conv2d(_ConvNd):
    r"""2-D convolution (a cross-correlation, as in PyTorch) over ``(N, C_in, H, W)``:

    $$y[n, o, p, q] = b_o + \sum_{c} \sum_{k, l} W[o, c, k, l]\; x_p[n,\, g C_\text{in}/G + c,\, p s_0 + k d_0,\, q s_1 + l d_1].$$

    Args:
        in_channels: $C_\text{in}$, channels of the input.
        out_channels: $C_\text{out}$, channels of the output.
        kernel_size: an int or a pair ``(kH, kW)``; likewise ``stride`` and ``dilation``.
        padding: elements added on both sides (int or pair), ``'valid'`` or ``'same'`` (stride 1
            only; an odd total puts the extra element after, as PyTorch).
        groups: input and output channels are split into ``groups`` groups that do not mix.
        bias: whether to learn $b$.
        padding_mode: what the padding holds, as PyTorch: ``'zeros'``, ``'reflect'`` (the input
            mirrored at its edge element, which is not repeated: padding below the length),
            ``'replicate'`` (the edge element repeated) or ``'circular'`` (the input wrapped
            around: padding at most the length). See :func:`pad` and :func:`pad_backward`.
        dtype: ``np.float32`` or ``np.float64``; default ``chainrule.get_default_dtype()``.
        rng: ``numpy.random.Generator`` for the initial values; default the package's generator.

    Shape:
        ``(N, C_in, H, W) -> (N, C_out, H_out, W_out)``, or unbatched ``(C_in, H, W)``; on each
        axis $\lfloor (L + 2p - d(k - 1) - 1)/s \rfloor + 1$.

    Attributes:
        weight: ``(C_out, C_in / groups, kH, kW)``, from $\mathcal U(-1/\sqrt{\text{fan\_in}}, 1/\sqrt{\text{fan\_in}})$,
            $\text{fan\_in} = C_\text{in}/G \cdot kH \cdot kW$, as in PyTorch.
        bias: ``(C_out,)``, same distribution, or ``None``.
    """

    _n = 2


class _ConvTransposeNd(_ConvNd):
    """ConvTranspose1d and ConvTranspose2d: the adjoint of a convolution, its weight
    ``(C_in, C_out/G, *kernel)``; PyTorch's arguments, ``output_padding`` adding to one side."""

    _transposed = True  # padding_mode 'zeros' only, as PyTorch's

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0,
                 groups: int = 1, bias: bool = True, dilation=1, padding_mode: str = "zeros", *, dtype=None, rng=None):
        checks.transpose_padding(padding, type(self).__name__)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                         dtype=dtype, rng=rng)  # the convolution's checks and PyTorch's init
        self.output_padding = checks.output_padding(output_padding, self)

    def _weight_shape(self) -> tuple:
        return (self.in_channels, self.out_channels // self.groups, *self.kernel_size)

    def _output_shape_of(self, x_shape: tuple, output_padding: tuple | None = None) -> tuple:
        r"""$(L - 1)s - 2p + d(k - 1) + \text{output\_padding} + 1$ on each axis (the module's
        ``output_padding`` unless one is given)."""
        output_padding = self.output_padding if output_padding is None else output_padding
        out = tuple((L - 1) * s - 2 * p + d * (k - 1) + op + 1 for L, s, p, d, k, op in zip(
            x_shape[2:], self.stride, self.padding, self.dilation, self.kernel_size, output_padding))
        return (x_shape[0], self.out_channels, *out)

    def forward(self, input, output_size=None):
        x, batched = checks.conv_transpose_input(self, input, self._output_shape_of)
        # as PyTorch: output_size picks this call's output_padding among the sizes a stride allows
        out_shape = self._output_shape_of(x.shape, checks.transpose_output_size(self, output_size, x.shape, batched))
        bias = None if self.bias is None else self.bias.data
        y = conv_transpose_nd(x, self.weight.data, bias, self.stride, self._pads, self.dilation, self.groups,
                              out_shape)
        self.save_for_backward(x, out_shape, batched)  # dW correlates x with the windows of delta
        return y if batched else y[0]

    def backward(self, grad_output):
        r"""$\partial C/\partial x = C\delta$ and the swapped-role weight gradient:
        :func:`conv_transpose_nd_backward`."""
        x, out_shape, batched = self.saved_tensors
        grad_output = checks.grad_output(self, grad_output, out_shape if batched else out_shape[1:], self.weight.dtype)
        with_bias = self.bias is not None and self.bias.requires_grad
        grad_input, grad_weight, grad_bias = conv_transpose_nd_backward(
            grad_output if batched else grad_output[np.newaxis], x, self.weight.data, self.stride, self._pads,
            self.dilation, self.groups, bias=with_bias, weight_grad=self.weight.requires_grad,
            input_grad=self.needs_input_grad)
        if with_bias:
            accumulate_grad(self.bias, grad_bias)
        if self.weight.requires_grad:
            accumulate_grad(self.weight, grad_weight)
        if grad_input is None:
            return None
        return grad_input if batched else grad_input[0]

    def extra_repr(self) -> str:
        s = super().extra_repr()
        if self.output_padding != (0,) * self._n:
            s += f", output_padding={self.output_padding}"
        return s


class ConvTranspose1d(_ConvTransposeNd):
    r"""1-D transposed convolution over ``(N, C_in, L)``, as ``torch.nn.ConvTranspose1d``: the
    adjoint of a ``Conv1d`` from ``C_out`` to ``C_in`` channels with the same weight, so each input
    element scatters into a window of the output,

    $$y[n, o, p s + k d - p_0] \mathrel{+}= W[c, o, k]\; x[n, c, p]$$

    (within groups), plus $b_o$. It upsamples by the stride.

    Args: ``in_channels``, ``out_channels``, ``kernel_size``, ``stride``, ``padding`` (cropped
    from both ends of the output), ``output_padding`` (added to one end: picks among the
    output sizes a strided convolution maps to the same size), ``groups``, ``bias``,
    ``dilation`` as PyTorch's; ``padding_mode='zeros'`` only (PyTorch's raises for the others too).
    ``forward(input, output_size=None)``: ``output_size`` (the spatial sizes, optionally after
    ``N, C``) sets the output padding of that call instead, as PyTorch's; each size must be one
    of the ``s`` sizes from the one with no output padding up.

    Shape: ``(N, C_in, L) -> (N, C_out, L_out)``, $L_\text{out} = (L-1)s - 2p + d(K-1) + \text{output\_padding} + 1$.

    Attributes:
        weight: ``(C_in, C_out / groups, K)``, PyTorch's init; bias: ``(C_out,)`` or ``None``.
    """

    _n = 1


class ConvTranspose2d(_ConvTransposeNd):
    r"""2-D transposed convolution over ``(N, C_in, H, W)``, as ``torch.nn.ConvTranspose2d``:
    the adjoint of a ``Conv2d`` from ``C_out`` to ``C_in`` channels with the same weight
    (see :class:`ConvTranspose1d`; each axis alike).

    Shape: ``(N, C_in, H, W) -> (N, C_out, H_out, W_out)``, on each axis
    $(L-1)s - 2p + d(k-1) + \text{output\_padding} + 1$.

    Attributes:
        weight: ``(C_in, C_out / groups, kH, kW)``, PyTorch's init; bias: ``(C_out,)`` or ``None``.
    """

    _n = 2
