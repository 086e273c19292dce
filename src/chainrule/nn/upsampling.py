r"""Upsampling by nearest neighbour: a fixed linear map per spatial axis.

Along each axis, output position $o$ copies input position $i(o) = \min(\lfloor o \cdot r \rfloor, L - 1)$
with $r$ = 1 / ``scale_factor`` (or $L / L_\text{out}$ for a given ``size``), PyTorch's
``'nearest'`` rule. That is $y = S x$ with $S$ the 0/1 selection matrix $S_{o, i(o)} = 1$,
so the backward is $S^\top \delta$: each input element receives the sum of the gradients of
the output elements that copied it.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _checks as checks
from .module import Module


def nearest_indices(in_size: int, out_size: int, scale_factor=None) -> np.ndarray:
    """PyTorch's source index of every output position along one axis."""
    ratio = 1.0 / scale_factor if scale_factor is not None else in_size / out_size
    return np.minimum(np.floor(np.arange(out_size) * ratio).astype(np.int64), in_size - 1)


def upsample_nearest(input, indices: list):
    r"""$y = x[\ldots, i_1(o_1), i_2(o_2)]$: each spatial axis of ``input`` ``(N, C, *spatial)``
    indexed by its ``indices`` (:func:`nearest_indices`)."""
    y = input
    for axis, index in enumerate(indices, start=2):
        y = np.take(y, index, axis=axis)
    return y


def upsample_nearest_backward(grad_output, indices: list, input_shape: tuple):
    r"""$\partial C/\partial x = S^\top \delta$ along each axis: the gradient of every output
    element is added into the input element it copied."""
    grad = grad_output
    for axis, index in enumerate(indices, start=2):
        select = np.zeros((len(index), input_shape[axis]), dtype=grad.dtype)
        select[np.arange(len(index)), index] = 1.0  # S, (out, in)
        grad = np.moveaxis(np.moveaxis(grad, axis, -1) @ select, -1, axis)  # S^T delta along this axis
    return grad


class Upsample(Module):
    r"""Nearest-neighbour upsampling of ``(N, C, L)`` or ``(N, C, H, W)``, as ``torch.nn.Upsample``
    with ``mode='nearest'``.

    Args:
        size: the output's spatial size (an int or a tuple), or
        scale_factor: the factor of each spatial size (a number or a tuple); exactly one of the two.
        mode: ``'nearest'`` only.

    Shape: ``(N, C, *spatial) -> (N, C, *out)``, $\text{out} = \lfloor L \cdot \text{scale\_factor}\rfloor$ or ``size``.
    """

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.size, self.scale_factor = checks.upsample_size(size, scale_factor, "Upsample")
        self.mode = checks.choice(mode, "Upsample", "mode", ("nearest",))
        if align_corners is not None or recompute_scale_factor:
            raise ValueError(f"Upsample align_corners and recompute_scale_factor apply to other modes; with "
                             f"mode='nearest' they must be None, got align_corners={align_corners!r}, "
                             f"recompute_scale_factor={recompute_scale_factor!r}")
        self.align_corners, self.recompute_scale_factor = None, recompute_scale_factor

    def _indices(self, shape: tuple) -> list:
        n = len(shape) - 2
        if self.size is not None:
            sizes = self.size if isinstance(self.size, tuple) else (self.size,) * n
            factors = (None,) * n
        else:
            factors = self.scale_factor if isinstance(self.scale_factor, tuple) else (self.scale_factor,) * n
            sizes = tuple(math.floor(L * f) for L, f in zip(shape[2:], factors))
        return [nearest_indices(L, out, f) for L, out, f in zip(shape[2:], sizes, factors)]

    def forward(self, input):
        x = checks.upsample_input(self, input, self.size, self.scale_factor)
        indices = self._indices(x.shape)
        self.save_for_backward(indices, x.shape)  # which input each output copied: all backward needs
        return upsample_nearest(x, indices)

    def backward(self, grad_output):
        r"""$S^\top\delta$ per axis: :func:`upsample_nearest_backward`."""
        indices, shape = self.saved_tensors
        out_shape = shape[:2] + tuple(len(i) for i in indices)
        grad_output = checks.grad_output(self, grad_output, out_shape)
        return upsample_nearest_backward(grad_output, indices, shape)

    def extra_repr(self) -> str:
        what = f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        return f"{what}, mode={self.mode!r}"
