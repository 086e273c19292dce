r"""Embedding: a lookup table, $y = W[i]$, whose gradient is a scatter-add into $W$."""

from __future__ import annotations

import numpy as np

from .._config import check_float_dtype, resolve_rng
from .. import _checks as checks
from .module import Module, Parameter, accumulate_grad


def embedding_renorm_(weight: np.ndarray, input: np.ndarray, max_norm: float,
                      norm_type: float = 2.0) -> np.ndarray:
    r"""Rescale, in place, each row of ``weight`` that ``input`` will read and whose
    ``norm_type``-norm exceeds ``max_norm``: $W_k \leftarrow W_k \cdot
    \frac{\text{max\_norm}}{\lVert W_k \rVert_p + 10^{-7}}$ (PyTorch's ``embedding_renorm_``, the
    $10^{-7}$ included, so a renormalised row ends just under ``max_norm``). Rows not read,
    and rows within the bound, are left as they are. A write to the table, not a step of the
    forward's maths: nothing differentiates through it. Returns ``weight``."""
    rows = np.unique(input)  # each row once, however often it is read
    if weight.shape[1] == 0:
        return weight  # empty rows: every norm is 0 (and NumPy has no max of nothing for p = inf)
    norms = np.linalg.norm(weight[rows], ord=norm_type, axis=1).astype(np.float64)
    over = norms > max_norm
    scale = max_norm / (norms[over] + 1e-7)  # in float64, then in the table's dtype, as PyTorch
    weight[rows[over]] *= scale.astype(weight.dtype)[:, None]
    return weight


def embedding(input: np.ndarray, weight: np.ndarray, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
              sparse: bool = False) -> np.ndarray:
    r"""Row lookup, $y_{\ldots} = W_{i_{\ldots}}$: the product $\operatorname{onehot}(i)\,W$
    without forming the one-hot. ``input``: integer indices of any shape; ``weight``:
    ``(num_embeddings, embedding_dim)``; returns ``(*input.shape, embedding_dim)``.

    With ``max_norm``, the rows to be read are first renormalised in ``weight`` itself
    (:func:`embedding_renorm_`), as PyTorch's ``F.embedding`` does. ``padding_idx``,
    ``scale_grad_by_freq`` and ``sparse`` change only the gradient: they are accepted here, as
    PyTorch's signature has them, and are :func:`embedding_backward`'s."""
    if max_norm is not None:
        embedding_renorm_(weight, input, max_norm, norm_type)  # before the lookup, outside the maths
    return weight[input]


def embedding_backward(grad_output: np.ndarray, input: np.ndarray, num_embeddings: int,
                       padding_idx: int | None = None, scale_grad_by_freq: bool = False,
                       sparse: bool = False) -> np.ndarray:
    r"""$\partial C/\partial W = \operatorname{onehot}(i)^\top \delta$: each row of $\delta$ is
    added into the row of the gradient it was looked up from, repeated indices adding up
    (``np.add.at``, not ``grad[i] += delta``, which would keep only one of them); the
    ``padding_idx`` row gets none. Returns the ``(num_embeddings, embedding_dim)`` gradient.

    ``scale_grad_by_freq``: since $y_n = W_{i_n}$, row $k$ of the gradient is
    $\sum_{n:\, i_n = k} \delta_n$, a sum of $c_k$ rows, $c_k$ the number of times $k$ occurs
    in ``input`` (the mini-batch). The option divides it by $c_k$, so a frequent index gets
    the mean of its upstream rows rather than their sum:

    $$G_k = \frac{1}{c_k} \sum_{n:\, i_n = k} \delta_n, \qquad
    c = \operatorname{onehot}(i)^\top \mathbf 1, \qquad
    G = \operatorname{diag}(c)^{-1} \operatorname{onehot}(i)^\top \delta$$

    (rows with $c_k = 0$ are 0 either way). This is PyTorch's rule, not a derivative of $C$:
    finite differences see the unscaled sum.

    ``sparse``: PyTorch would return this gradient as a sparse tensor (only the rows looked
    up stored); chainrule has no sparse arrays, so it is the same numbers, dense. As in
    PyTorch, a sparse gradient cannot be scaled by frequency: the two together raise."""
    if sparse and scale_grad_by_freq:
        raise RuntimeError("embedding_backward: scale_grad_by_freq=True is not supported with sparse=True "
                           "(as in PyTorch, whose sparse gradients cannot be scaled by frequency)")
    grad_weight = np.zeros((num_embeddings, grad_output.shape[-1]), dtype=grad_output.dtype)
    np.add.at(grad_weight, input, grad_output)  # onehot(i)^T delta, without the one-hot
    if scale_grad_by_freq:
        counts = np.zeros(num_embeddings)
        np.add.at(counts, input, 1.0)  # c = onehot(i)^T 1, how often each row was read
        grad_weight *= (1.0 / np.maximum(counts, 1.0)).astype(grad_weight.dtype)[:, None]  # diag(c)^-1
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
        max_norm: if given, every forward first rescales, in ``weight`` itself, each row it is
            about to read whose ``norm_type``-norm exceeds ``max_norm``, to norm ``max_norm``
            (PyTorch's rule: by ``max_norm / (norm + 1e-7)``). This write is not part of the
            maths: the gradient is the same scatter as without it. As in PyTorch, the forward
            modifies ``weight`` in place: a layer that shares it (tied input and output
            embeddings) computes with the rescaled rows from then on.
        norm_type: the $p$ of the $p$-norm for ``max_norm`` (``2.0``; ``1``, ``float('inf')``, ...).
        scale_grad_by_freq: if ``True``, row $k$ of the weight gradient is divided by the
            number of times $k$ occurs in the forward's indices (see :meth:`backward`).
        sparse: PyTorch's flag for a sparse weight gradient. chainrule has no sparse arrays:
            ``weight.grad`` is dense, with the numbers PyTorch's sparse gradient has once
            densified. What differs is memory (a dense ``(num_embeddings, embedding_dim)``
            array per backward, where PyTorch stores only the rows looked up) and that PyTorch
            lets only some optimisers (``SGD``, ``SparseAdam``, ``Adagrad``) take sparse
            gradients, while here every optimiser works. As in PyTorch, a backward with both
            ``sparse`` and ``scale_grad_by_freq`` raises.
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

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight=None, _freeze: bool = False, *, dtype=None, rng=None):
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
        self.max_norm, self.norm_type, self.scale_grad_by_freq, self.sparse = checks.embedding_options(
            self, max_norm, norm_type, scale_grad_by_freq, sparse)
        if _weight is None:
            dtype = check_float_dtype(dtype, "Embedding")
            self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim), dtype=dtype),
                                    requires_grad=not _freeze)
            self.reset_parameters(rng)
        else:  # from_pretrained: the given table as it is (its padding row is not zeroed)
            if np.shape(_weight) != (self.num_embeddings, self.embedding_dim):
                raise ValueError(f"Embedding _weight must have shape (num_embeddings, embedding_dim) = "
                                 f"{(self.num_embeddings, self.embedding_dim)}, got {np.shape(_weight)}")
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, padding_idx: int | None = None,
                        max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> Embedding:
        """An Embedding whose table is ``embeddings`` (2-D, float32 or float64, used as it is,
        not copied, as in PyTorch); ``freeze=True`` sets ``weight.requires_grad = False``.
        As in PyTorch, ``padding_idx`` does not zero that row here; it only keeps its gradient
        out. The other options are the constructor's (a ``max_norm`` forward renormalises
        rows of ``embeddings`` itself, frozen or not)."""
        embeddings = np.asarray(embeddings)
        if embeddings.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained expected a 2-D array (num_embeddings, embedding_dim), "
                             f"got shape {embeddings.shape}")
        check_float_dtype(embeddings.dtype, "Embedding.from_pretrained", "embeddings dtype")
        if not isinstance(freeze, (bool, np.bool_)):
            raise TypeError(f"Embedding.from_pretrained freeze must be a bool, got {freeze!r}")
        rows, cols = embeddings.shape
        return cls(rows, cols, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=embeddings, _freeze=bool(freeze))

    def reset_parameters(self, rng=None) -> None:
        """PyTorch's init: every entry from N(0, 1), then the padding row zeroed."""
        rng = resolve_rng(rng=rng, owner="Embedding")
        self.weight.data[...] = rng.standard_normal(self.weight.shape)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0.0

    def forward(self, input):
        indices = checks.embedding_indices(input, self, self.num_embeddings)
        # with max_norm, the rows read are renormalised in the weight first (a write, not maths)
        y = embedding(indices, self.weight.data, max_norm=self.max_norm, norm_type=self.norm_type)
        self.save_for_backward(indices)  # dC/dW scatters delta to the rows that were looked up
        return y

    def backward(self, grad_output):
        r"""Given $\delta = \partial C/\partial y$, shape ``(*, embedding_dim)``: since
        $y = \operatorname{onehot}(i)\, W$, $\partial C/\partial W \mathrel{+}= \operatorname{onehot}(i)^\top \delta$,
        i.e. row $\delta_{\ldots}$ added into row $i_{\ldots}$ of the gradient, repeated indices
        adding up (``np.add.at``); the padding row gets none. With ``scale_grad_by_freq``, row
        $k$ is then divided by $c_k$, the number of times $k$ occurs in the forward's indices
        (PyTorch's rescaling, derived in :func:`embedding_backward`). ``max_norm`` changes
        nothing here: its renormalisation wrote the weight before the lookup, so $y$ is
        still $\operatorname{onehot}(i)\, W$ of the weight as it now is.

        Returns ``None``: the indices are integers, with no gradient.
        """
        (indices,) = self.saved_tensors
        grad_output = checks.grad_of_shape(grad_output, f"{type(self).__name__}.backward", "grad_output",
                                           indices.shape + (self.embedding_dim,), self.weight.dtype)
        if self.weight.requires_grad:
            accumulate_grad(self.weight, embedding_backward(grad_output, indices, self.num_embeddings,
                                                            self.padding_idx, self.scale_grad_by_freq,
                                                            self.sparse))
        return None

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        s += "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        s += "" if self.max_norm is None else f", max_norm={self.max_norm}"
        s += "" if self.norm_type == 2 else f", norm_type={self.norm_type}"
        s += ", scale_grad_by_freq=True" if self.scale_grad_by_freq else ""
        return s + (", sparse=True" if self.sparse else "")
