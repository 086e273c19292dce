r"""Embedding: a lookup table, $y = W[i]$, whose gradient is a scatter-add into $W$."""

from __future__ import annotations

import numpy as np

from .._config import check_float_dtype, resolve_rng
from .._checks import as_float_array
from .. import _checks as checks
from .module import Module, Parameter, accumulate_grad


def embedding(input: np.ndarray, weight: np.ndarray) -> np.ndarray:
    r"""Row lookup, $y_{\ldots} = W_{i_{\ldots}}$: the product $\operatorname{onehot}(i)\,W$
    without forming the one-hot. ``input``: integer indices of any shape; ``weight``:
    ``(num_embeddings, embedding_dim)``; returns ``(*input.shape, embedding_dim)``."""
    return weight[input]


def embedding_backward(grad_output: np.ndarray, input: np.ndarray, num_embeddings: int,
                       padding_idx: int | None = None) -> np.ndarray:
    r"""$\partial C/\partial W = \operatorname{onehot}(i)^\top \delta$: each row of $\delta$ is
    added into the row of the gradient it was looked up from, repeated indices adding up
    (``np.add.at``, not ``grad[i] += delta``, which would keep only one of them); the
    ``padding_idx`` row gets none. Returns the ``(num_embeddings, embedding_dim)`` gradient."""
    grad_weight = np.zeros((num_embeddings, grad_output.shape[-1]), dtype=grad_output.dtype)
    np.add.at(grad_weight, input, grad_output)  # onehot(i)^T delta, without the one-hot
    if padding_idx is not None:
        grad_weight[padding_idx] = 0.0  # the pad vector stays fixed
    return grad_weight


class Embedding(Module):
    r"""A table of ``num_embeddings`` vectors; ``forward(indices)`` looks them up, as
    ``torch.nn.Embedding``:

    $$y_{\ldots} = W_{i_{\ldots}, :},$$

    the product $\operatorname{onehot}(i)\, W$ computed without building the one-hot rows.

    Args:
        num_embeddings: the number of rows (the vocabulary size).
        embedding_dim: the length of each vector.
        padding_idx: if given, row ``padding_idx`` is zeros at init and never receives a
            gradient, so it stays a fixed "pad" vector. A negative value counts from the end.
        dtype: ``np.float32`` or ``np.float64``; default ``chainrule.get_default_dtype()``.
        rng: ``numpy.random.Generator`` for the initial values; default the package's generator.

    Shape:
        integer indices of any shape ``(*)`` -> ``(*, embedding_dim)``.

    Attributes:
        weight: ``(num_embeddings, embedding_dim)``, initialised from $\mathcal N(0, 1)$ as in
            PyTorch.

    Raises:
        TypeError: indices that are not integers (floats, bools).
        IndexError: an index outside ``[0, num_embeddings)``, named.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None, *,
                 dtype=None, rng=None, _weight=None, _freeze: bool = False):
        super().__init__()
        for name, value in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"Embedding {name} must be a non-negative int, got {value!r}")
        self.num_embeddings = int(num_embeddings)
        self.embedding_dim = int(embedding_dim)
        if padding_idx is not None:
            if (isinstance(padding_idx, bool) or not isinstance(padding_idx, (int, np.integer))
                    or not -self.num_embeddings <= padding_idx < self.num_embeddings):
                raise ValueError(f"Embedding padding_idx must be an int in [-{self.num_embeddings}, "
                                 f"{self.num_embeddings}) (within num_embeddings), got {padding_idx!r}")
            padding_idx = int(padding_idx) % self.num_embeddings  # -1 is the last row, as in PyTorch
        self.padding_idx = padding_idx
        if _weight is None:
            dtype = check_float_dtype(dtype, "Embedding")
            self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim), dtype=dtype),
                                    requires_grad=not _freeze)
            self.reset_parameters(rng)
        else:  # from_pretrained: the given table as it is (its padding row is not zeroed)
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, padding_idx: int | None = None) -> Embedding:
        """An Embedding whose table is ``embeddings`` (2-D, float32 or float64, used as it is,
        not copied, as in PyTorch); ``freeze=True`` sets ``weight.requires_grad = False``.
        As in PyTorch, ``padding_idx`` does not zero that row here; it only keeps its gradient
        out."""
        embeddings = np.asarray(embeddings)
        if embeddings.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained expected a 2-D array (num_embeddings, embedding_dim), "
                             f"got shape {embeddings.shape}")
        check_float_dtype(embeddings.dtype, "Embedding.from_pretrained", "embeddings dtype")
        if not isinstance(freeze, (bool, np.bool_)):
            raise TypeError(f"Embedding.from_pretrained freeze must be a bool, got {freeze!r}")
        rows, cols = embeddings.shape
        return cls(rows, cols, padding_idx, _weight=embeddings, _freeze=bool(freeze))

    def reset_parameters(self, rng=None) -> None:
        """PyTorch's init: every entry from N(0, 1), then the padding row zeroed."""
        rng = resolve_rng(rng=rng, owner="Embedding")
        self.weight.data[...] = rng.standard_normal(self.weight.shape)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0.0

    def forward(self, input):
        indices = checks.embedding_indices(input, self, self.num_embeddings)
        self.save_for_backward(indices)  # dC/dW scatters delta to the rows that were looked up
        return embedding(indices, self.weight.data)

    def backward(self, grad_output):
        r"""Given $\delta = \partial C/\partial y$, shape ``(*, embedding_dim)``: since
        $y = \operatorname{onehot}(i)\, W$, $\partial C/\partial W \mathrel{+}= \operatorname{onehot}(i)^\top \delta$,
        i.e. row $\delta_{\ldots}$ added into row $i_{\ldots}$ of the gradient, repeated indices
        adding up (``np.add.at``); the padding row gets none.

        Returns ``None``: the indices are integers, with no gradient.
        """
        (indices,) = self.saved_tensors
        grad_output = checks.grad_of_shape(grad_output, f"{type(self).__name__}.backward", "grad_output",
                                           indices.shape + (self.embedding_dim,), self.weight.dtype)
        if self.weight.requires_grad:
            accumulate_grad(self.weight, embedding_backward(grad_output, indices, self.num_embeddings,
                                                            self.padding_idx))
        return None

    def extra_repr(self) -> str:
        padding = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{padding}"
