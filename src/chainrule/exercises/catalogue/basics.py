"""Part 1, the basics: the two-neuron sigmoid chain of the classic scalar derivation."""

from __future__ import annotations

import numpy as np

from ... import nn
from .._exercise import Case, exercise, floats, mistake
from .shared import Accumulates


class ChainBackward:
    """The library's own backward of the chain (it has no module in ``chainrule.nn``)."""

    def backward(self, grad_output):
        r"""Given $\partial C/\partial a^2$ (``grad_output``, one per sample), the chain rule back
        through $z^1 = w^1 x + b^1$, $a^1 = \sigma(z^1)$, $z^2 = w^2 a^1 + b^2$, $a^2 = \sigma(z^2)$:

        $$\delta^2 = \frac{\partial C}{\partial a^2}\,\sigma'(z^2), \qquad
        \delta^1 = \delta^2\, w^2\, \sigma'(z^1), \qquad \sigma'(z) = \sigma(z)\big(1 - \sigma(z)\big),$$

        then $\partial C/\partial w^2 = \sum \delta^2 a^1$, $\partial C/\partial b^2 = \sum \delta^2$,
        $\partial C/\partial w^1 = \sum \delta^1 x$, $\partial C/\partial b^1 = \sum \delta^1$ (summed
        over the batch), and $\partial C/\partial x = \delta^1 w^1$ is returned.
        """
        x, a1, a2 = self.saved_tensors
        delta2 = grad_output * a2 * (1 - a2)            # dC/dz2: sigma'(z2) from the output a2
        delta1 = delta2 * self.w2.data * a1 * (1 - a1)  # dC/dz1: dz2/da1 = w2, then sigma'(z1)
        for param, grad in ((self.w2, delta2 * a1), (self.b2, delta2), (self.w1, delta1 * x), (self.b1, delta1)):
            if param.requires_grad:
                nn.accumulate_grad(param, np.asarray(grad.sum()))  # each parameter is used by every sample
        return delta1 * self.w1.data


class ChainSolution(Accumulates):
    def backward(self, grad_output):
        x, a1, a2 = self.saved_tensors
        wrong = self.mistake
        if wrong == "sigma_prime_of_activation":
            s2 = 1 / (1 + np.exp(-a2))
            delta2 = grad_output * s2 * (1 - s2)
        else:
            delta2 = grad_output * a2 * (1 - a2)
        dz2_da1 = self.w2.data * a1 + self.b2.data if wrong == "dz_da_is_z" else self.w2.data
        delta1 = delta2 * dz2_da1 * a1 * (1 - a1)
        self.give(self.w2, np.asarray((delta2 * a1).sum()))
        self.give(self.b2, np.asarray((delta2 * a1).sum() if wrong == "bias_like_weight" else delta2.sum()))
        self.give(self.w1, np.asarray((delta1 * x).sum()))
        self.give(self.b1, np.asarray((delta1 * x).sum() if wrong == "bias_like_weight" else delta1.sum()))
        return delta1 * self.w1.data


mistake("dz_da_is_z",
        "The factor dz2/da1 was taken as z2 instead of w2: z2 = w2 a1 + b2 is linear in a1, so its "
        "derivative is the weight.", "docs/mistakes.md#dz-da-is-w")
mistake("bias_like_weight",
        "The bias gradient was given the weight's factor: dz/db = 1, so dC/db = delta (summed over the batch), "
        "with no input or activation factor.", "docs/mistakes.md#bias-like-weight")

exercise(
    name="chain",
    builtin=None,
    reference=ChainBackward,
    docs="docs/backprop.md",
    stub='''
    class Chain(nn.Module):
        """Two sigmoid neurons in a chain, every parameter a scalar (a 0-d array):

            x -> z1 = w1 x + b1 -> a1 = sigmoid(z1) -> z2 = w2 a1 + b2 -> a2 = sigmoid(z2)
        """

        exercise = "chain"  # which exercise `check` grades (this class derives only from nn.Module)

        def __init__(self, *, dtype=None, rng=None):
            super().__init__()
            rng = np.random.default_rng(0) if rng is None else rng
            dtype = np.float64 if dtype is None else dtype
            for name in ("w1", "b1", "w2", "b2"):
                setattr(self, name, nn.Parameter(np.asarray(rng.standard_normal(), dtype=dtype)))

        def forward(self, x):
            # x: (N,), one scalar input per sample
            z1 = self.w1.data * x + self.b1.data     # (N,)
            a1 = 1 / (1 + np.exp(-z1))               # (N,)
            z2 = self.w2.data * a1 + self.b2.data    # (N,)
            a2 = 1 / (1 + np.exp(-z2))               # (N,), the output
            # backward needs x (for dC/dw1), a1 (for dC/dw2, and the sigmoid's derivative at z1)
            # and a2 (for its derivative at z2): sigma' can be computed from sigma's output
            self.save_for_backward(x, a1, a2)
            return a2
    ''',
    task='''
    grad_output is dC/da2, shape (N,): one number per sample.

    Return dC/dx, shape (N,). On the way, add into .grad the gradients of w1, b1, w2 and b2,
    each summed over the batch (every sample uses the same scalar) and passed as a 0-d array
    (np.asarray(total): a NumPy sum gives a scalar, not an array), with
    nn.accumulate_grad(self.w2, ...), skipping a frozen parameter (requires_grad=False).
    ''',
    todo="Chain.backward is yours to write: dC/dz2, then dC/dz1 through w2, the four parameter "
         "gradients summed over the batch, and return dC/dx",
    hint='''
    Go backwards one step at a time and name each step: delta2 = dC/dz2 = dC/da2 * sigma'(z2), then
    delta1 = dC/dz1 = delta2 * dz2/da1 * sigma'(z1). Which of x, a1, a2 is sigma'(z2) a function
    of? Every gradient has the shape of its parameter: a scalar, so sum over the N samples.
    ''',
    cases=(
        Case(floats(5)),
        Case(floats(1)),
        Case(floats(3), frozen=("w1",)),
        Case(lambda rng: (3 * rng.standard_normal(7),)),
    ),
    solution=ChainSolution,
    mistakes=("sigma_prime_of_activation", "dz_da_is_z", "bias_like_weight", "grad_assigned"),
    torch=lambda torch, p, b, kw, train, x: torch.sigmoid(p["w2"] * torch.sigmoid(p["w1"] * x + p["b1"]) + p["b2"]),
)
