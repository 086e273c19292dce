"""Part 4, losses: where backprop starts (BP1), and where the 1/N of a mean lives."""

from __future__ import annotations

import numpy as np

from ... import nn
from .._exercise import Case, exercise, mistake

_LOSS_GRAD = '''
grad is the gradient arriving at the loss value: a number for reduction 'mean' or 'sum'
(1.0 when backward() is called without one), an array shaped like the loss for 'none'.
'''


class MSESolution:
    mistake = None

    def backward(self, grad=1.0):
        (diff,) = self.saved_tensors
        wrong = self.mistake
        two = 1 if wrong == "mse_factor_two_missing" else 2
        sign = -1 if wrong == "mse_sign_flipped" else 1
        grad_input = sign * two * diff * grad  # d(x - y)^2/dx = 2 (x - y), times the upstream gradient
        if self.reduction == "mean" and wrong != "mean_factor_missing":
            grad_input = grad_input / (diff.size ** 2 if wrong == "mean_factor_twice" else diff.size)
        return grad_input


mistake("mse_factor_two_missing",
        "The 2 of d(x - y)^2/dx = 2 (x - y) is missing: chainrule's MSELoss, as PyTorch's, has no 1/2 in front "
        "(the 1/2 of the write-ups is what cancels it).", "docs/mistakes.md#scaling-conventions")
mistake("mse_sign_flipped",
        "The sign is flipped: d(x - y)^2/dx = 2 (x - y), the input minus the target.", "docs/modules/losses.md")


def _pair(*shape):
    return lambda rng: (rng.standard_normal(shape), rng.standard_normal(shape))


exercise(
    name="mse",
    builtin=nn.MSELoss,
    docs="docs/modules/losses.md",
    signature="grad=1.0",
    stub='''
    class MSELoss(nn.MSELoss):
        """C = sum_i (x_i - y_i)^2, divided by the number of entries n for reduction='mean'
        (no 1/2, as PyTorch); 'none' keeps one squared error per entry."""

        exercise = "mse"

        def forward(self, input, target):
            # input, target: the same shape (*)
            diff = input - target         # (*)
            self.save_for_backward(diff)  # the gradient needs only the difference
            losses = diff * diff          # (*), one squared error per entry
            if self.reduction == "none":
                return losses
            total = float(losses.sum())
            return total if self.reduction == "sum" else total / losses.size
    ''',
    task=_LOSS_GRAD + '''
    Return dC/dinput times grad, shaped like input. (The target gets no gradient.)
    ''',
    todo="MSELoss.backward is yours to write: return dC/dinput, scaled by grad, for self.reduction",
    hint="Differentiate one term (x_i - y_i)^2 with respect to x_i. Which reductions divide by n, and how "
         "many times? For 'none', grad has the loss's shape: multiply entry by entry.",
    cases=(
        Case(_pair(4, 3)),
        Case(_pair(1, 5)),
        Case(_pair(4, 3), kwargs={"reduction": "sum"}),
        Case(_pair(2, 3), kwargs={"reduction": "none"}),
        Case(_pair(2, 3, 4)),
    ),
    solution=MSESolution,
    mistakes=("mean_factor_missing", "mean_factor_twice", "mse_factor_two_missing", "mse_sign_flipped"),
    torch=lambda torch, p, b, kw, train, x, t: torch.nn.functional.mse_loss(x, t, reduction=kw.get("reduction", "mean")),
)


class CrossEntropySolution:
    mistake = None

    def backward(self, grad=1.0):
        p, q, denominator, shape = self.saved_tensors
        wrong = self.mistake
        if wrong == "ce_onehot_missing":
            delta = p * q.sum(axis=1, keepdims=True)
        elif wrong == "ce_row_weight_missing":
            delta = p - q
        else:
            delta = p * q.sum(axis=1, keepdims=True) - q  # p - y in the plain case
        if self.reduction == "none":
            delta = delta * np.reshape(grad, (-1, 1))
        elif self.reduction == "sum" or wrong == "mean_factor_missing":
            delta = delta * grad
        else:
            divisor = {"mean_factor_twice": denominator ** 2, "ce_divided_by_count": len(delta)}.get(wrong, denominator)
            delta = delta * grad / divisor
        n_classes = shape[1]
        return np.moveaxis(delta.reshape(shape[0], *shape[2:], n_classes), -1, 1)


mistake("ce_onehot_missing",
        "The one-hot target is missing: the gradient of softmax + cross-entropy is (softmax(x) - y)/N, not "
        "softmax(x)/N.", "docs/mistakes.md#softmax-cross-entropy")
mistake("ce_row_weight_missing",
        "p - q is the gradient only when each row's q sums to 1: with class weights (or an ignored row) the "
        "row's loss -sum_c q_c log p_c has gradient p * sum_c q_c - q.", "docs/modules/losses.md")
mistake("ce_divided_by_count",
        "With class weights (or ignore_index), 'mean' divides by the total weight of the targets that count, "
        "not by the number of rows N.", "docs/modules/losses.md")


def _classes(n, c, *rest, ignore=None):
    def make(rng):
        target = rng.integers(0, c, (n, *rest))
        if ignore is not None:
            target.flat[0] = ignore
            target.flat[-1] = (ignore + 1) % c
        return rng.standard_normal((n, c, *rest)), target
    return make


_WEIGHT = np.array([0.5, 2.0, 1.0, 1.5])

exercise(
    name="cross_entropy",
    builtin=nn.CrossEntropyLoss,
    docs="docs/modules/losses.md",
    signature="grad=1.0",
    stub='''
    class CrossEntropyLoss(nn.CrossEntropyLoss):
        """Softmax of logits, then the negative log-likelihood of class-index targets, with
        PyTorch's options: weight (per class), ignore_index, label_smoothing, reduction."""

        exercise = "cross_entropy"

        def forward(self, input, target):
            # input: logits (N, C), or (N, C, d) with the classes on axis 1; target: class indices (N,) or (N, d)
            n_classes = input.shape[1]
            x = np.moveaxis(input, 1, -1).reshape(-1, n_classes)  # one row of logits per prediction: (M, C)
            t = target.reshape(-1)                                # (M,)
            shifted = x - x.max(axis=1, keepdims=True)
            log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # log softmax, (M, C)
            counted = t != self.ignore_index  # (M,): a row whose target is ignore_index counts for nothing
            t = np.where(counted, t, 0)
            w = np.ones(n_classes) if self.weight is None else self.weight  # (C,) class weights
            y = np.zeros_like(log_p)
            y[np.arange(len(t)), t] = 1.0     # (M, C), the one-hot target
            # q, (M, C): row m's loss is -sum_c q[m, c] log p[m, c]. In the plain case (no weight, no
            # smoothing) q is the one-hot y; a class weight scales row m by w[t_m]; label smoothing
            # mixes in eps / C of every class (weighted by w); an ignored row is all zeros.
            eps = self.label_smoothing
            q = ((1 - eps) * y * w[t][:, None] + (eps / n_classes) * w) * counted[:, None]
            losses = -(q * log_p).sum(axis=1)     # (M,)
            denominator = (w[t] * counted).sum()  # 'mean' divides by this: M without weights or ignored rows
            # backward needs the softmax p, q, the mean's divisor and the input's shape to return
            self.save_for_backward(np.exp(log_p), q, denominator, input.shape)
            if self.reduction == "none":
                return losses.reshape(target.shape)
            total = float(losses.sum())
            return total if self.reduction == "sum" else total / denominator
    ''',
    task=_LOSS_GRAD + '''
    Return dC/dinput times grad, shaped like input (N, C) or (N, C, d): BP1 for softmax
    followed by cross-entropy, for every option (weight, ignore_index, label_smoothing) and
    reduction. The targets get no gradient.
    ''',
    todo="CrossEntropyLoss.backward is yours to write: the gradient of each row's loss with respect to its "
         "logits (p - y in the plain case), scaled for self.reduction, in the input's shape",
    hint="Write one row's loss as -sum_c q_c log p_c and use d log p_c / dx_j = [c = j] - p_j. In the plain "
         "case the answer is the famous p - y; what changes when q does not sum to 1? Then the reduction: "
         "by what does 'mean' divide, and once. Give the rows back the input's shape (classes on axis 1).",
    cases=(
        Case(_classes(5, 4)),
        Case(_classes(1, 3)),
        Case(_classes(4, 3), kwargs={"reduction": "sum"}),
        Case(_classes(4, 3), kwargs={"reduction": "none"}),
        Case(_classes(6, 4), kwargs={"weight": _WEIGHT}),
        Case(_classes(6, 4, ignore=2), kwargs={"ignore_index": 2}),
        Case(_classes(5, 4), kwargs={"label_smoothing": 0.2}),
        Case(_classes(6, 4, ignore=0), kwargs={"weight": _WEIGHT, "ignore_index": 0, "label_smoothing": 0.1}),
        Case(_classes(6, 4, ignore=1), kwargs={"weight": _WEIGHT, "ignore_index": 1, "reduction": "sum"}),
        Case(_classes(2, 3, 4)),
    ),
    solution=CrossEntropySolution,
    mistakes=("mean_factor_missing", "mean_factor_twice", "ce_onehot_missing", "ce_row_weight_missing",
              "ce_divided_by_count"),
    torch=lambda torch, p, b, kw, train, x, t: torch.nn.functional.cross_entropy(
        x, t, weight=b.get("weight"), ignore_index=kw.get("ignore_index", -100),
        reduction=kw.get("reduction", "mean"), label_smoothing=kw.get("label_smoothing", 0.0)),
)
