r"""Upsampling and interpolation: a fixed linear map per spatial axis.

Every mode of PyTorch's ``F.interpolate`` is separable: along each spatial axis the output is
$y = S x$, with $S$ the ``(out, in)`` interpolation matrix of the mode, applied axis by axis
(2-D: $y = S_h\, x\, S_w^\top$). So the backward is the transpose along each axis,
$\partial C/\partial x = S^\top \delta$ (2-D: $S_h^\top\, \delta\, S_w$). The modes differ only
in $S$, built from PyTorch's source index of output position $o$:

- ``'nearest'``: $S_{o, i(o)} = 1$ with $i(o) = \min(\lfloor o \cdot r \rfloor, L - 1)$, $r$ = 1 /
  ``scale_factor`` (or $L / L_\text{out}$ for a given ``size``); ``'nearest-exact'``:
  $\lfloor (o + \tfrac12) r \rfloor$.
- ``'linear'`` (``'bilinear'``, ``'trilinear'`` on 2 or 3 axes): two taps. The source position is
  $s = r\,o$ with ``align_corners=True`` ($r = (L - 1)/(L_\text{out} - 1)$), else
  $s = \max(r\,(o + \tfrac12) - \tfrac12,\ 0)$; with $i = \lfloor s \rfloor$ and $\lambda = s - i$,
  $S_{o,i} = 1 - \lambda$ and $S_{o,i+1} = \lambda$ (both on $i$ at the last position).
- ``'bicubic'``: four taps $i - 1 \ldots i + 2$ (clamped into $[0, L - 1]$) with the cubic
  convolution weights of $\lambda$, $A = -0.75$, and $s$ not clamped at 0.
- ``'area'``: adaptive average pooling's averaging matrix.
"""

from __future__ import annotations

import numpy as np

from .. import _checks as checks
from .module import Module
from .pooling import AdaptiveAvgPool1d

CUBIC_A = -0.75  # PyTorch's (and OpenCV's) bicubic coefficient
LINEAR_MODES = ("linear", "bilinear", "trilinear")


def _ratio(in_size: int, out_size: int, align_corners: bool, scale=None) -> float:
    """PyTorch's step between source positions: from the corners' centres with ``align_corners``,
    else 1 / the given scale factor, or $L / L_\\text{out}$ for a given size."""
    if align_corners:
        return (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
    return 1.0 / scale if scale is not None and scale > 0 else in_size / out_size


def nearest_indices(in_size: int, out_size: int, scale_factor=None, exact: bool = False,
                    shortcuts: bool = False) -> np.ndarray:
    """PyTorch's source index of every output position along one axis (its arithmetic is float32).
    PyTorch's 2-D ``'nearest'`` kernel (``shortcuts``) copies when the sizes are equal and halves
    when the output is twice the input, whatever a non-integer scale factor says; its 1-D and
    3-D kernels follow the factor."""
    o = np.arange(out_size)
    if shortcuts and not exact and out_size in (in_size, 2 * in_size):
        return o * in_size // out_size
    ratio = (np.float32(1.0 / scale_factor) if scale_factor is not None and scale_factor > 0
             else np.float32(in_size) / np.float32(out_size))
    position = ((o + 0.5) * np.float64(ratio)).astype(np.float32) if exact else o.astype(np.float32) * ratio
    return np.minimum(np.floor(position).astype(np.int64), in_size - 1)


def _taps(in_size: int, out_size: int, align_corners: bool, scale, cubic: bool) -> tuple:
    """The first tap $i$ and the fraction $\\lambda$ of every output position, PyTorch's way."""
    ratio = _ratio(in_size, out_size, align_corners, scale)
    o = np.arange(out_size, dtype=np.float64)
    source = ratio * o if align_corners else ratio * (o + 0.5) - 0.5
    if not cubic and not align_corners:
        source = np.maximum(source, 0.0)  # linear: the first positions read the first input
    first = np.minimum(np.floor(source.astype(np.float32)).astype(np.int64), in_size - 1)  # floorf
    return first, np.clip(source - first, 0.0, 1.0)


def cubic_weights(t) -> tuple:
    r"""The four weights of the taps at $-1, 0, 1, 2$ from the first: Keys' cubic convolution
    kernel with $A = -0.75$ at distances $1 + t$, $t$, $1 - t$, $2 - t$."""
    A = CUBIC_A
    near = lambda x: ((A + 2) * x - (A + 3)) * x * x + 1  # |x| <= 1  # noqa: E731
    far = lambda x: ((A * x - 5 * A) * x + 8 * A) * x - 4 * A  # 1 < |x| < 2  # noqa: E731
    return far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)


def interpolation_matrix(in_size: int, out_size: int, mode: str, align_corners: bool = False,
                         scale=None, spatial_axes: int = 1) -> np.ndarray:
    r"""$S$ ``(out_size, in_size)`` of ``mode`` along one axis (float64): $y = S x$. ``scale`` is the
    axis's scale factor as PyTorch's index rule uses it (``None`` where the size decides);
    ``spatial_axes`` of the input, for the nearest rule of PyTorch's 2-D kernel."""
    S = np.zeros((out_size, in_size))
    rows = np.arange(out_size)
    if mode in ("nearest", "nearest-exact"):
        S[rows, nearest_indices(in_size, out_size, scale, exact=mode == "nearest-exact",
                                        shortcuts=spatial_axes == 2)] = 1.0
    elif mode == "area":
        S = AdaptiveAvgPool1d.averaging_matrix(in_size, out_size, np.float64)
    elif mode in LINEAR_MODES and out_size == in_size:
        S = np.eye(in_size)  # PyTorch copies, whatever the scale factor says
    elif mode in LINEAR_MODES:
        first, lam = _taps(in_size, out_size, align_corners, scale, cubic=False)
        np.add.at(S, (rows, first), 1.0 - lam)
        np.add.at(S, (rows, np.minimum(first + 1, in_size - 1)), lam)
    else:  # bicubic
        first, t = _taps(in_size, out_size, align_corners, scale, cubic=True)
        for k, weight in enumerate(cubic_weights(t), start=-1):
            np.add.at(S, (rows, np.clip(first + k, 0, in_size - 1)), weight)  # borders repeat
    return S


def interpolate_nd(input, matrices: list):
    r"""$y = S x$ along each spatial axis of ``input`` ``(N, C, *spatial)``, one matrix per axis
    (:func:`interpolation_matrix`)."""
    y = input
    for axis, S in enumerate(matrices, start=2):
        y = np.moveaxis(np.moveaxis(y, axis, -1) @ S.T.astype(y.dtype), -1, axis)
    return y


def interpolate_nd_backward(grad_output, matrices: list):
    r"""$y = S x$ along each axis, so $\partial C/\partial x = S^\top \delta$ along each axis:
    every input element receives the gradients of the outputs it was mixed into, times the
    weights it was mixed with."""
    grad = grad_output
    for axis, S in enumerate(matrices, start=2):
        grad = np.moveaxis(np.moveaxis(grad, axis, -1) @ S.astype(grad.dtype), -1, axis)  # S^T delta
    return grad


def interpolation_matrices(in_shape: tuple, sizes: tuple, scales: tuple, mode: str, align_corners: bool) -> list:
    """One :func:`interpolation_matrix` per spatial axis of ``in_shape`` ``(N, C, *spatial)``."""
    return [interpolation_matrix(L, out, mode, align_corners, scale, len(in_shape) - 2)
            for L, out, scale in zip(in_shape[2:], sizes, scales)]


class Upsample(Module):
    r"""Upsampling of ``(N, C, L)``, ``(N, C, H, W)`` or ``(N, C, D, H, W)``, as ``torch.nn.Upsample``:
    $y = S x$ along each spatial axis (see this file's docstring for $S$ per mode).

    Args:
        size: the output's spatial size (an int or a tuple), or
        scale_factor: the factor of each spatial size (a number or a tuple); exactly one of the two.
        mode: ``'nearest'``, ``'nearest-exact'``, ``'linear'`` (3-D input), ``'bilinear'`` or
            ``'bicubic'`` (4-D), ``'trilinear'`` (5-D) or ``'area'``.
        align_corners: with the interpolating modes, whether the corner pixels' centres line up
            (``None``: False); ``None`` for the others.
        recompute_scale_factor: with ``scale_factor``, compute the index rule from the output size
            instead of the factor.

    Shape: ``(N, C, *spatial) -> (N, C, *out)``, $\text{out} = \lfloor L \cdot \text{scale\_factor}\rfloor$ or ``size``.
    """

    MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.size, self.scale_factor = checks.upsample_size(size, scale_factor, "Upsample")
        self.mode = checks.choice(mode, "Upsample", "mode", self.MODES)
        self.align_corners = checks.upsample_align_corners(align_corners, mode, "Upsample")
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input):
        x, sizes, scales, align = checks.interpolate_options(
            self, input, self.size, self.scale_factor, self.mode, self.align_corners, self.recompute_scale_factor)
        matrices = interpolation_matrices(x.shape, sizes, scales, self.mode, align)
        self.save_for_backward(matrices, x.shape)  # the map is linear: backward needs only S per axis
        return interpolate_nd(x, matrices)

    def backward(self, grad_output):
        r"""$S^\top\delta$ per axis: :func:`interpolate_nd_backward`."""
        matrices, shape = self.saved_tensors
        out_shape = shape[:2] + tuple(len(S) for S in matrices)
        grad_output = checks.grad_output(self, grad_output, out_shape)
        return interpolate_nd_backward(grad_output, matrices)

    def extra_repr(self) -> str:
        what = f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        corners = "" if self.align_corners is None else f", align_corners={self.align_corners}"
        return f"{what}, mode={self.mode!r}{corners}"
