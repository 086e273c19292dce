r"""Flatten and Unflatten: reshapes, whose backward reshapes the gradient back.

A reshape moves no number and changes none: output element $k$ *is* input element $k$ in
row-major order. Its Jacobian is therefore the identity (no permutation, no scaling), and
$\partial C/\partial x$ is $\partial C/\partial y$ with the input's shape.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _checks as checks
from .module import Module


def _wrap_dim(owner: str, name: str, dim: int, ndim: int) -> int:
    """``dim`` as a non-negative axis of an ``ndim``-dimensional input (negative counts from the end)."""
    if not -ndim <= dim < ndim:
        raise ValueError(
            f"{owner} {name}={dim} is out of range for input with {ndim} dimension(s) "
            f"(expected {-ndim}..{ndim - 1})"
        )
    return dim % ndim


def _reshape_back(module: Module, grad_output, output_shape: tuple, input_shape: tuple) -> np.ndarray:
    """The backward of a reshape: the same numbers in the input's shape."""
    grad_output = np.asarray(grad_output)
    if grad_output.shape != output_shape:
        raise ValueError(
            f"{type(module).__name__}.backward expected grad_output of shape {output_shape} "
            f"(the forward output's), got {grad_output.shape}"
        )
    return grad_output.reshape(input_shape)


class Flatten(Module):
    r"""Flatten dimensions ``start_dim`` to ``end_dim`` (inclusive, negative counts from the
    end) into one, as ``torch.nn.Flatten``.

    Args:
        start_dim: first dimension to flatten. Default 1 (keep the batch dimension).
        end_dim: last dimension to flatten. Default -1.

    Shape:
        ``(*, S_start, ..., S_end, *) -> (*, S_start · ... · S_end, *)``; e.g. ``(N, C, H, W) ->
        (N, C·H·W)``. A 0-d input is treated as 1-d (so ``Flatten(0)`` makes it ``(1,)``).
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim = checks.integer(start_dim, "Flatten", "start_dim")
        self.end_dim = checks.integer(end_dim, "Flatten", "end_dim")

    def forward(self, input):
        x = np.asarray(input)
        ndim = max(x.ndim, 1)  # as PyTorch, a 0-d input has dimensions 0 and -1
        start = _wrap_dim("Flatten", "start_dim", self.start_dim, ndim)
        end = _wrap_dim("Flatten", "end_dim", self.end_dim, ndim)
        checks.flatten_dims(self, self.start_dim, self.end_dim, start, end, x.ndim)
        shape = x.shape or (1,)
        y = x.reshape(shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:])
        self.save_for_backward(x.shape, y.shape)  # a reshape's backward needs only the shapes
        return y

    def backward(self, grad_output):
        r"""$y = \operatorname{reshape}(x)$ has Jacobian $I$ (element $k$ of $y$ is element $k$
        of $x$), so $\partial C/\partial x = \operatorname{reshape}(\partial C/\partial y)$
        back to $x$'s shape."""
        input_shape, output_shape = self.saved_tensors
        return _reshape_back(self, grad_output, output_shape, input_shape)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    r"""Expand dimension ``dim`` into the shape ``unflattened_size``, as ``torch.nn.Unflatten``.

    Args:
        dim: the dimension to expand (negative counts from the end).
        unflattened_size: a tuple or list of ints whose product is the size of ``dim``; one
            entry may be -1, inferred from the others.

    Shape:
        ``(*, S_dim, *) -> (*, U_1, ..., U_n, *)`` with $\prod_i U_i = S_\text{dim}$; e.g.
        ``Unflatten(1, (2, 5, 5))`` maps ``(N, 50) -> (N, 2, 5, 5)``.
    """

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        self.dim = checks.integer(dim, "Unflatten", "dim")
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError(
                f"Unflatten unflattened_size must be a tuple or list of ints, got {unflattened_size!r}"
            )
        for position, size in enumerate(unflattened_size):
            if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
                raise TypeError(
                    f"Unflatten unflattened_size must be a tuple or list of ints, got {size!r} "
                    f"at position {position} of {unflattened_size!r}"
                )
        if len(unflattened_size) == 0:
            raise ValueError("Unflatten unflattened_size must name at least one size, got ()")
        if any(size < -1 for size in unflattened_size) or list(unflattened_size).count(-1) > 1:
            raise ValueError(
                f"Unflatten unflattened_size must hold sizes >= 0 and at most one -1 (inferred), "
                f"got {unflattened_size!r}"
            )
        self.unflattened_size = unflattened_size  # kept as given, for the repr (as PyTorch)

    def _sizes(self, size: int) -> tuple:
        """``unflattened_size`` with its -1 inferred, checked to multiply up to ``size``."""
        sizes = tuple(int(s) for s in self.unflattened_size)
        if -1 in sizes:
            known = math.prod(s for s in sizes if s != -1)
            if known == 0 or size % known:
                raise ValueError(
                    f"Unflatten cannot infer the -1 in unflattened_size={self.unflattened_size!r} "
                    f"for dim {self.dim} of size {size}"
                )
            sizes = tuple(size // known if s == -1 else s for s in sizes)
        if math.prod(sizes) != size:
            raise ValueError(
                f"Unflatten unflattened_size={self.unflattened_size!r} does not multiply up to the "
                f"size of dim {self.dim} ({size}) of the input"
            )
        return sizes

    def forward(self, input):
        x = checks.not_zero_dim(np.asarray(input), self)
        dim = _wrap_dim("Unflatten", "dim", self.dim, x.ndim)
        y = x.reshape(x.shape[:dim] + self._sizes(x.shape[dim]) + x.shape[dim + 1:])
        self.save_for_backward(x.shape, y.shape)  # a reshape's backward needs only the shapes
        return y

    def backward(self, grad_output):
        r"""A reshape, like :class:`Flatten`: $\partial C/\partial x$ is $\partial C/\partial y$
        reshaped back to $x$'s shape."""
        input_shape, output_shape = self.saved_tensors
        return _reshape_back(self, grad_output, output_shape, input_shape)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
