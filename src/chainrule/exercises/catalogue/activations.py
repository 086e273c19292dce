"""Part 2, activations: the element-wise derivative half of BP1/BP2, and softmax's Jacobian."""

from __future__ import annotations

import numpy as np

from ... import nn
from .._exercise import Case, exercise, floats, mistake

_ACTIVATION_TASK = '''
grad_output is dC/da, shaped like the output a (and like z).

Return dC/dz, the same shape: the incoming gradient times the derivative {derivative},
element by element. No parameters, so nothing to accumulate.
'''


class SigmoidSolution:
    mistake = None

    def backward(self, grad_output):
        (a,) = self.saved_tensors
        if self.mistake == "sigma_prime_of_activation":
            s = 1 / (1 + np.exp(-a))
            return grad_output * s * (1 - s)
        if self.mistake == "sigmoid_prime_as_sigma":
            return grad_output * a
        if self.mistake == "upstream_dropped":
            return a * (1 - a)
        return grad_output * a * (1 - a)


mistake("sigmoid_prime_as_sigma",
        "sigma'(z) was taken as sigma(z): the derivative is sigma(z) (1 - sigma(z)) = a (1 - a).",
        "docs/mistakes.md#sigmoid-derivative")

exercise(
    name="sigmoid",
    builtin=nn.Sigmoid,
    docs="docs/modules/activations.md",
    stub='''
    class Sigmoid(nn.Sigmoid):
        """a = sigma(z) = 1 / (1 + exp(-z)), element-wise."""

        exercise = "sigmoid"

        def forward(self, z):
            # z: any shape (*)
            a = np.exp(-np.logaddexp(0, -z))  # 1 / (1 + e^-z), with no overflow for large |z|
            self.save_for_backward(a)         # sigma'(z) can be computed from the output alone
            return a                          # (*), like z
    ''',
    task=_ACTIVATION_TASK.format(derivative="sigma'(z), from what forward saved"),
    todo="Sigmoid.backward is yours to write: return grad_output times sigma'(z), computed from the saved a",
    hint="Write sigma'(z) in terms of sigma(z) itself. Then check: at which point is the derivative "
         "evaluated, z or a? The result has grad_output's shape.",
    cases=(Case(floats(4, 3)), Case(floats(1, 5)), Case(floats(2, 3, 4)), Case(lambda rng: (6 * rng.standard_normal(8),))),
    solution=SigmoidSolution,
    mistakes=("sigma_prime_of_activation", "sigmoid_prime_as_sigma", "upstream_dropped"),
    torch=lambda torch, p, b, kw, train, z: torch.sigmoid(z),
)


class TanhSolution:
    mistake = None

    def backward(self, grad_output):
        (a,) = self.saved_tensors
        if self.mistake == "sigma_prime_of_activation":
            return grad_output * (1 - np.tanh(a) ** 2)
        if self.mistake == "tanh_prime_one_minus_a":
            return grad_output * (1 - a)
        if self.mistake == "upstream_dropped":
            return 1 - a * a
        return grad_output * (1 - a * a)


mistake("tanh_prime_one_minus_a",
        "tanh'(z) was taken as 1 - a: it is 1 - tanh(z)^2 = 1 - a^2 (the output squared).",
        "docs/modules/activations.md")

exercise(
    name="tanh",
    builtin=nn.Tanh,
    docs="docs/modules/activations.md",
    stub='''
    class Tanh(nn.Tanh):
        """a = tanh(z), element-wise."""

        exercise = "tanh"

        def forward(self, z):
            # z: any shape (*)
            a = np.tanh(z)
            self.save_for_backward(a)  # tanh'(z) is cheapest from the output
            return a                   # (*), like z
    ''',
    task=_ACTIVATION_TASK.format(derivative="tanh'(z), from what forward saved"),
    todo="Tanh.backward is yours to write: return grad_output times tanh'(z), computed from the saved a",
    hint="d/dz tanh(z) can be written with tanh(z) itself; forward saved exactly that. Multiply, "
         "element by element, by the incoming gradient.",
    cases=(Case(floats(4, 3)), Case(floats(1, 5)), Case(floats(2, 3, 4))),
    solution=TanhSolution,
    mistakes=("sigma_prime_of_activation", "tanh_prime_one_minus_a", "upstream_dropped"),
    torch=lambda torch, p, b, kw, train, z: torch.tanh(z),
)


class ReLUSolution:
    mistake = None

    def backward(self, grad_output):
        (a,) = self.saved_tensors
        if self.mistake == "relu_mask_inverted":
            return grad_output * (a <= 0)
        if self.mistake == "relu_output_sign":
            return grad_output * (a >= 0)
        if self.mistake == "relu_times_output":
            return grad_output * a
        return grad_output * (a > 0)


mistake("relu_mask_inverted",
        "The ReLU mask is on the wrong side: the gradient passes where the unit was on (z > 0) and is 0 "
        "where it was off.", "docs/modules/activations.md")
mistake("relu_output_sign",
        "The mask a >= 0 lets every gradient through, since ReLU's output is never negative: a unit passes "
        "its gradient only where a > 0 (z > 0; at z = 0 the derivative is taken as 0, as in PyTorch).",
        "docs/modules/activations.md")
mistake("relu_times_output",
        "The gradient was multiplied by the output a instead of by the 0/1 derivative [z > 0]: ReLU's slope "
        "is 1 wherever it is on, whatever the output's size.", "docs/modules/activations.md")

exercise(
    name="relu",
    builtin=nn.ReLU,
    docs="docs/modules/activations.md",
    stub='''
    class ReLU(nn.ReLU):
        """a = max(z, 0), element-wise."""

        exercise = "relu"

        def forward(self, z):
            # z: any shape (*)
            a = np.maximum(z, 0)
            self.save_for_backward(a)  # relu'(z) is 0 or 1: the output says which units were on
            return a                   # (*), like z
    ''',
    task=_ACTIVATION_TASK.format(derivative="relu'(z): 1 where the unit was on, 0 where it was off "
                                            "(at z = 0, 0, as in PyTorch)"),
    todo="ReLU.backward is yours to write: return grad_output where the unit was on and 0 where it was off",
    hint="relu'(z) is 1 for z > 0 and 0 otherwise. From the saved a, which comparison tells the two apart? "
         "(a is never negative.)",
    cases=(Case(floats(4, 3)), Case(floats(1, 5)), Case(floats(2, 3, 4))),
    solution=ReLUSolution,
    mistakes=("relu_mask_inverted", "relu_output_sign", "relu_times_output"),
    torch=lambda torch, p, b, kw, train, z: torch.relu(z),
)


class SoftmaxSolution:
    mistake = None

    def backward(self, grad_output):
        (s,) = self.saved_tensors
        wrong = self.mistake
        if wrong == "softmax_diagonal_only":
            return grad_output * s * (1 - s)
        if wrong == "softmax_sum_over_batch":
            return s * (grad_output - (grad_output * s).sum())
        weighted = (grad_output * s).sum(axis=self.dim, keepdims=True)  # sum_j g_j s_j, per slice
        if wrong == "softmax_outer_s_missing":
            return grad_output - weighted
        return s * (grad_output - weighted)


mistake("softmax_diagonal_only",
        "Only the diagonal of the softmax Jacobian was used (s (1 - s)): every output depends on every "
        "input, J = diag(s) - s s^T, so dC/dz = s * (g - sum_j g_j s_j).", "docs/mistakes.md#softmax-jacobian")
mistake("softmax_sum_over_batch",
        "The sum sum_j g_j s_j ran over the whole array: it runs along the softmax's dim only, one sum per "
        "slice (keepdims=True so it broadcasts back).", "docs/modules/softmax.md")
mistake("softmax_outer_s_missing",
        "The leading factor s is missing: J g = s * (g - sum_j g_j s_j), the whole bracket multiplied by s.",
        "docs/modules/softmax.md")

exercise(
    name="softmax",
    builtin=nn.Softmax,
    docs="docs/modules/softmax.md",
    stub='''
    class Softmax(nn.Softmax):
        """s_i = exp(z_i) / sum_j exp(z_j) along self.dim (default -1, the last axis)."""

        exercise = "softmax"

        def forward(self, z):
            # z: any shape; each slice along self.dim becomes a probability distribution
            e = np.exp(z - z.max(axis=self.dim, keepdims=True))  # shifted by the max: never overflows
            s = e / e.sum(axis=self.dim, keepdims=True)          # like z; sums to 1 along dim
            self.save_for_backward(s)  # the Jacobian diag(s) - s s^T is a function of s alone
            return s
    ''',
    task='''
    grad_output is g = dC/ds, shaped like s.

    Return dC/dz, the same shape: the Jacobian-vector product J g along self.dim, with
    J = diag(s) - s s^T, computed without building J. No parameters.
    ''',
    todo="Softmax.backward is yours to write: return the Jacobian-vector product J grad_output along self.dim",
    hint="Write ds_i/dz_j for i = j and for i != j, then sum over i of g_i ds_i/dz_j. One sum per slice "
         "along self.dim: keep its axis (keepdims=True) so it broadcasts back to s's shape.",
    cases=(Case(floats(4, 5)), Case(floats(1, 3)), Case(floats(2, 3, 4)),
           Case(floats(4, 3), kwargs={"dim": 0}), Case(floats(2, 3, 4), kwargs={"dim": 1})),
    solution=SoftmaxSolution,
    mistakes=("softmax_diagonal_only", "softmax_sum_over_batch", "softmax_outer_s_missing"),
    torch=lambda torch, p, b, kw, train, z: torch.softmax(z, dim=kw.get("dim", -1)),
)
