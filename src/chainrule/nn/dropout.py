"""Dropout: inverted dropout in training mode, the identity in eval mode; Dropout1d and Dropout2d
drop whole channels."""

from __future__ import annotations

import numpy as np

from .._config import resolve_rng
from .. import _checks as checks
from .._checks import as_float_array
from .module import Module


def dropout_mask(shape: tuple, p: float, rng, dtype) -> np.ndarray:
    r"""Inverted dropout's mask, already scaled: $m/(1-p)$ with $m_i = 1$ with probability
    $1 - p$ and 0 otherwise, so ``x * mask`` keeps the expected value of ``x``. Used by
    Dropout and by the dropout inside RNN/GRU/LSTM and SelfAttention."""
    if p == 1.0:
        return np.zeros(shape, dtype=dtype)  # everything dropped (and no 1/0 scale)
    keep = rng.random(shape) >= p
    return keep.astype(dtype) * np.dtype(dtype).type(1.0 / (1.0 - p))


class Dropout(Module):
    r"""Zero each element with probability $p$ during training and scale the survivors by
    $1/(1-p)$, so the expected output equals the input and eval mode needs no rescaling.

    Args:
        p: probability of zeroing an element, in $[0, 1]$. Default 0.5.
        inplace: multiply the input array by the mask instead of making a new one, as PyTorch's.
        rng: ``numpy.random.Generator`` for the masks; default the package's generator
            (read at each forward, so ``chainrule.manual_seed`` takes effect).

    Shape: ``(*) -> (*)``.
    """

    def __init__(self, p: float = 0.5, inplace: bool = False, *, rng=None):
        super().__init__()
        name = type(self).__name__
        self.p = checks.in_range(p, name, "p", low=0, high=1, type_error=ValueError,
                                 words="a probability in [0, 1]")
        self.inplace = checks.flag(inplace, name, "inplace")
        self.rng = rng

    def forward(self, input):
        x = as_float_array(input, "Dropout")
        if not self.training or self.p == 0.0:
            self.save_for_backward(None, x.shape)  # the identity: backward passes grad_output through
            return x
        mask = dropout_mask(self._mask_shape(x), self.p, resolve_rng(rng=self.rng, owner=type(self).__name__), x.dtype)
        self.save_for_backward(mask, x.shape)  # backward multiplies by the same scaled mask
        if self.inplace:
            x *= mask  # as PyTorch's inplace=True: the backward needs only the mask
            return x
        return np.asarray(x * mask)  # asarray: a 0-d input stays an array

    def _mask_shape(self, x) -> tuple:
        return x.shape  # one draw per element

    def backward(self, grad_output):
        r"""$\partial C/\partial x = \partial C/\partial y \odot m / (1-p)$, with the forward's 0/1 mask
        $m$ (kept already scaled, as ``mask`` $= m/(1-p)$)."""
        mask, shape = self.saved_tensors
        if mask is None:
            return np.asarray(grad_output)  # eval mode (or p = 0): the identity
        grad_output = checks.grad_of_shape(grad_output, self, "grad_output", shape, mask.dtype)
        return np.asarray(grad_output * mask)

    def extra_repr(self) -> str:
        return f"p={self.p}" + (", inplace=True" if self.inplace else "")


class _ChannelDropout(Dropout):
    """Dropout of whole channels: one draw per sample and channel, broadcast over the positions."""

    _spatial = 0  # the positions' axes after (N, C)

    def _mask_shape(self, x) -> tuple:
        x = checks.channel_dropout_input(self, x, self._spatial)
        return x.shape[:-self._spatial] + (1,) * self._spatial


class Dropout1d(_ChannelDropout):
    r"""Zero each channel of ``(N, C, L)`` (or ``(C, L)``) with probability $p$ during training,
    every position of it at once, and scale the kept channels by $1/(1-p)$, as ``torch.nn.Dropout1d``
    (for convolutional features, whose neighbouring positions are correlated).

    Args: as :class:`Dropout`. Backward: $\delta \odot m/(1-p)$, the same channel mask."""

    _spatial = 1


class Dropout2d(_ChannelDropout):
    r"""Zero each channel of ``(N, C, H, W)`` (or ``(C, H, W)``) with probability $p$ during
    training and scale the kept ones by $1/(1-p)$, as ``torch.nn.Dropout2d``.

    Args: as :class:`Dropout`. Backward: $\delta \odot m/(1-p)$, the same channel mask."""

    _spatial = 2
