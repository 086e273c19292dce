"""What several exercises share: the mistakes every layer with parameters can make, and the one
line through which the catalogue's solutions hand a parameter its gradient."""

from __future__ import annotations

from ... import nn
from .._exercise import mistake

mistake("grad_assigned",
        "A parameter's gradient was assigned (param.grad = ...) instead of accumulated: gradients add up "
        "over backwards (a second forward and backward must add into .grad), so use nn.accumulate_grad.",
        "docs/write-your-own-layer.md")
mistake("frozen_parameter_updated",
        "A frozen parameter (requires_grad=False) was given a gradient: backward skips it, so its .grad "
        "stays None (if param.requires_grad: nn.accumulate_grad(param, grad)).",
        "docs/write-your-own-layer.md")
mistake("sigma_prime_of_activation",
        "The activation's derivative was evaluated at the activation a instead of at the weighted input z: "
        "the chain rule's factor is da/dz at the point z where the function was applied, e.g. "
        "sigma'(z) = a (1 - a), not sigma'(a).",
        "docs/mistakes.md#sigma-prime")
mistake("upstream_dropped",
        "Only the local derivative was returned: backward must multiply it by the incoming gradient "
        "grad_output = dC/da, element by element (delta = dC/da * sigma'(z)).",
        "docs/backprop.md")
mistake("mean_factor_missing",
        "The 1/N of reduction='mean' is missing: the loss divides its sum by N, so its gradient does too.",
        "docs/mistakes.md#scaling-conventions")
mistake("mean_factor_twice",
        "The 1/N of reduction='mean' was applied twice: the loss divides by N once, so its gradient does "
        "too (and layers below never divide again).",
        "docs/mistakes.md#scaling-conventions")
mistake("norm_gamma_missing",
        "gamma was left out of the input gradient: y = gamma * x_hat + beta, so dC/dx_hat = delta * gamma "
        "before the normalisation's own backward.",
        "docs/modules/normalization.md")
mistake("gamma_grad_without_xhat",
        "The gradient of gamma was given beta's: y = gamma * x_hat + beta, so dC/dgamma = sum(delta * x_hat), "
        "and only dC/dbeta = sum(delta).",
        "docs/modules/normalization.md")
mistake("fanout_not_added",
        "An array used more than once got the gradient of one use only: when x fans out (into a skip path and "
        "a branch, or into the queries, keys and values), dC/dx is the sum of every use's gradient.",
        "docs/gradient-patterns.md#fan-out")


class Accumulates:
    """The catalogue's solutions hand every parameter gradient through ``give``, so the two
    accumulation mistakes are one wrong line each."""

    mistake = None

    def give(self, param, grad):
        if self.mistake == "grad_assigned":
            if param.requires_grad:
                param.grad = grad  # wrong: replaces what an earlier backward stored
            return
        if param.requires_grad or self.mistake == "frozen_parameter_updated":
            nn.accumulate_grad(param, grad)
