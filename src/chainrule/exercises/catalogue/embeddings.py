"""Part 6, embeddings: a lookup whose gradient is a scatter-add."""

from __future__ import annotations

import numpy as np

from ... import nn
from .._exercise import Case, exercise, mistake
from .shared import Accumulates


class EmbeddingSolution(Accumulates):
    def backward(self, grad_output):
        (indices,) = self.saved_tensors
        grad_weight = np.zeros_like(self.weight.data)
        if self.mistake == "repeated_index_overwrite":
            grad_weight[indices] += grad_output  # buffered: a repeated index keeps one row only
        else:
            np.add.at(grad_weight, indices, grad_output)
        if self.padding_idx is not None and self.mistake != "padding_idx_gradient":
            grad_weight[self.padding_idx] = 0.0
        self.give(self.weight, grad_weight)
        return None


mistake("padding_idx_gradient",
        "The padding row received a gradient: row padding_idx is a fixed pad vector, so its gradient is 0.",
        "docs/modules/embedding.md")
mistake("repeated_index_overwrite",
        "A repeated index overwrote instead of adding: grad[indices] += delta keeps one row per index "
        "(fancy indexing is buffered); np.add.at(grad, indices, delta) adds every occurrence.",
        "docs/modules/embedding.md")


def _indices(shape, n=5, force=None):
    def make(rng):
        indices = rng.integers(0, n, shape)
        if force is not None:
            indices.flat[0] = force
        return (indices,)
    return make


exercise(
    name="embedding",
    builtin=nn.Embedding,
    docs="docs/modules/embedding.md",
    stub='''
    class Embedding(nn.Embedding):
        """y = W[indices]: row indices[...] of the table weight (num_embeddings, embedding_dim)."""

        exercise = "embedding"

        def forward(self, indices):
            # indices: integers of any shape (*), each in [0, num_embeddings)
            self.save_for_backward(indices)   # dC/dW sends each row of delta back to the row it was read from
            return self.weight.data[indices]  # (*, embedding_dim)
    ''',
    task='''
    grad_output is delta = dC/dy, shape (*, embedding_dim).

    Return None: the indices are integers and have no gradient. Add dC/dW into
    self.weight.grad with nn.accumulate_grad: shape (num_embeddings, embedding_dim), each row
    of delta added into the row it was read from (an index used twice gets both), and none
    into row self.padding_idx when it is not None. Skip a frozen weight (requires_grad=False).
    ''',
    todo="Embedding.backward is yours to write: scatter-add grad_output into the rows of dC/dW, return None",
    hint="y = onehot(indices) W, so dC/dW = onehot(indices)^T delta, without building the one-hot rows. "
         "Count what happens to an index that appears twice, and to the padding row.",
    cases=(
        Case(_indices((7,)), kwargs={"num_embeddings": 5, "embedding_dim": 3}, grad_args=()),
        Case(_indices((2, 4)), kwargs={"num_embeddings": 5, "embedding_dim": 2}, grad_args=()),
        Case(_indices((8,), force=1), kwargs={"num_embeddings": 5, "embedding_dim": 3, "padding_idx": 1}, grad_args=()),
        Case(_indices((1,), n=4), kwargs={"num_embeddings": 4, "embedding_dim": 3}, grad_args=()),
        Case(_indices((6,), force=4), kwargs={"num_embeddings": 5, "embedding_dim": 2, "padding_idx": -1},
             grad_args=()),
    ),
    solution=EmbeddingSolution,
    mistakes=("padding_idx_gradient", "repeated_index_overwrite", "grad_assigned"),
    torch=lambda torch, p, b, kw, train, i: torch.nn.functional.embedding(
        i, p["weight"], padding_idx=None if kw.get("padding_idx") is None else kw["padding_idx"] % p["weight"].shape[0]),
)
