"""Part 3, layers: the affine layer, BP2-BP4 with matrices."""

from __future__ import annotations

from ... import nn
from .._exercise import Case, exercise, floats, mistake
from .shared import Accumulates


class LinearSolution(Accumulates):
    def backward(self, grad_output):
        (x,) = self.saved_tensors
        wrong = self.mistake
        delta = grad_output.reshape(-1, self.out_features)  # every leading axis is the batch: (rows, out)
        rows = x.reshape(-1, self.in_features)              # (rows, in)
        grad_weight = rows.T @ delta if wrong == "weight_grad_transposed" else delta.T @ rows
        self.give(self.weight, grad_weight)
        if self.bias is not None:
            grad_bias = {"bias_not_summed": delta, "bias_averaged": delta.mean(axis=0)}.get(wrong, delta.sum(axis=0))
            self.give(self.bias, grad_bias)
        if wrong == "hadamard_for_matmul":
            return grad_output * self.weight.data
        return grad_output @ self.weight.data


mistake("bias_not_summed",
        "The bias gradient was not summed over the batch: b is used by every sample, so dC/db = sum_n delta_n, "
        "of the bias's shape (out_features,).", "docs/mistakes.md#bias-batch-sum")
mistake("bias_averaged",
        "The bias gradient was averaged over the batch instead of summed: layers sum, and the 1/N of a mean "
        "lives only in the loss's backward.", "docs/mistakes.md#bias-batch-sum")
mistake("weight_grad_transposed",
        "The weight gradient is transposed: weight is (out_features, in_features), so dC/dW = delta^T x, "
        "(out, N) @ (N, in), not x^T delta.", "docs/modules/linear.md")
mistake("hadamard_for_matmul",
        "An element-wise product stands where the matrix product belongs: dC/dx = delta @ W, (N, out) @ (out, in).",
        "docs/mistakes.md#bp2-matrix-product")

exercise(
    name="linear",
    builtin=nn.Linear,
    docs="docs/modules/linear.md",
    stub='''
    class Linear(nn.Linear):
        """z = x W^T + b on the last axis; weight (out_features, in_features), bias (out_features,) or None."""

        exercise = "linear"

        def forward(self, x):
            # x: (N, in_features), or (*, in_features): every leading axis is part of the batch
            self.save_for_backward(x)   # BP4 needs the layer's input: dC/dW = delta^T x
            z = x @ self.weight.data.T  # (*, out_features)
            if self.bias is not None:
                z = z + self.bias.data  # (out_features,), broadcast over the batch
            return z
    ''',
    task='''
    grad_output is delta = dC/dz, shape (*, out_features), like the output.

    Return dC/dx, shaped like x (*, in_features). Add into .grad, with nn.accumulate_grad:
    dC/dW into self.weight (shape (out_features, in_features)) and, if self.bias is not None,
    dC/db into self.bias (shape (out_features,)), both summed over every row of the batch
    (for a 3-D x, reshape to rows first). Skip a frozen parameter (requires_grad=False).
    ''',
    todo="Linear.backward is yours to write: accumulate dC/dW and dC/db (summed over the batch), "
         "return dC/dx",
    hint="BP4 and BP3, summed over the batch, and the matrix half of BP2. Let the shapes decide each "
         "product: dC/dW must come out (out_features, in_features), dC/db (out_features,), dC/dx like x.",
    cases=(
        Case(floats(4, 3), kwargs={"in_features": 3, "out_features": 2}),
        Case(floats(1, 3), kwargs={"in_features": 3, "out_features": 2}),
        Case(floats(5, 3), kwargs={"in_features": 3, "out_features": 4, "bias": False}),
        Case(floats(2, 3, 4), kwargs={"in_features": 4, "out_features": 3}),
        Case(floats(4, 3), kwargs={"in_features": 3, "out_features": 3}),
        Case(floats(4, 3), kwargs={"in_features": 3, "out_features": 2}, frozen=("weight",)),
    ),
    solution=LinearSolution,
    mistakes=("bias_not_summed", "bias_averaged", "weight_grad_transposed", "hadamard_for_matmul",
              "grad_assigned", "frozen_parameter_updated"),
    torch=lambda torch, p, b, kw, train, x: torch.nn.functional.linear(x, p["weight"], p.get("bias")),
)
