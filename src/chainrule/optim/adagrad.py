r"""Adagrad: per-coordinate learning rates shrinking with the sum of all past squared gradients."""

from __future__ import annotations

import numpy as np

from .._checks import hyper_bool, hyper_real
from .optimizer import Optimizer


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011) — PyTorch's exact rule.

    With learning rate $\gamma$, learning-rate decay $\eta$, weight decay $\lambda$, $\epsilon$
    and initial accumulator value $\tau$, step $t = 1, 2, \dots$ does, per parameter
    (element-wise):

    $$
    \begin{aligned}
    g_t &\leftarrow \nabla f(\theta_{t-1}) \quad (\text{or } -\nabla f(\theta_{t-1})
        \text{ if maximize}) \\
    g_t &\leftarrow g_t + \lambda\, \theta_{t-1} \quad \text{if } \lambda \ne 0 \\
    \tilde\gamma_t &\leftarrow \gamma / (1 + (t - 1)\,\eta) \\
    s_t &\leftarrow s_{t-1} + g_t^2 \\
    \theta_t &\leftarrow \theta_{t-1} - \tilde\gamma_t\, g_t / (\sqrt{s_t} + \epsilon)
    \end{aligned}
    $$

    with $s_0 = \tau$. A coordinate that has seen large gradients takes small steps, and every
    coordinate's step shrinks as $s_t$ only grows. The floating-point order of operations
    follows PyTorch's single-tensor path, so float64 trajectories agree with
    ``torch.optim.Adagrad`` to about 1e-15 per step.

    Args:
        params: an iterable of Parameters or of param-group dicts (see
            :class:`~chainrule.optim.Optimizer`).
        lr: learning rate $\gamma \ge 0$.
        lr_decay: $\eta \ge 0$.
        weight_decay: $\lambda \ge 0$, an L2 penalty added to the gradient.
        initial_accumulator_value: $\tau \ge 0$, the starting value of every $s$.
        eps: $\epsilon \ge 0$, added to the denominator.
        maximize: ascend the objective instead of descending it.

    Raises:
        ValueError: naming the value, if a hyper-parameter is negative (or NaN) — PyTorch's
            conditions.
        TypeError: if a hyper-parameter is not a real number / bool.

    State:
        per parameter: ``'step'`` (int) and ``'sum'`` ($s$), created with the optimiser for
        every parameter, as PyTorch does. Also as PyTorch, every ``sum`` starts at the
        *constructor's* ``initial_accumulator_value``, even in a param group that sets its own
        (only a group added later with :meth:`add_param_group` starts at its own value).
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, *, maximize: bool = False):
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        self._check_hyperparameters(defaults)
        super().__init__(params, defaults)
        # As PyTorch: every parameter's state exists from the start, its sum filled with the
        # constructor's initial_accumulator_value (also in a group that sets its own).
        for group in self.param_groups:
            for param in group["params"]:
                self.state[param] = self._fresh_state(param, initial_accumulator_value)
        self._built = True

    @staticmethod
    def _fresh_state(param, initial_accumulator_value) -> dict:
        return dict(step=0, sum=np.full_like(param.data, float(initial_accumulator_value)))

    HYPERPARAMETERS = {"lr": hyper_real, "lr_decay": hyper_real, "weight_decay": hyper_real,
                       "initial_accumulator_value": hyper_real, "eps": hyper_real,
                       "maximize": hyper_bool}

    def add_param_group(self, param_group: dict) -> None:
        """As :meth:`Optimizer.add_param_group`; a group added after construction also gets its
        state at once, ``sum`` filled with the group's ``initial_accumulator_value`` (PyTorch
        gives it none, and fails with a ``KeyError`` at the next step)."""
        super().add_param_group(param_group)
        if getattr(self, "_built", False):
            group = self.param_groups[-1]
            for param in group["params"]:
                self.state[param] = self._fresh_state(param, group["initial_accumulator_value"])

    def _step_group(self, group, updates):
        """One group's update, parameter by parameter (the rule of the class docstring);
        ``Optimizer.step`` calls it with the group's ``(param, grad)`` pairs."""
        # Python floats: NumPy casts them to the parameter's dtype, so float32 stays float32.
        lr, lr_decay, eps = float(group["lr"]), float(group["lr_decay"]), float(group["eps"])
        weight_decay = float(group["weight_decay"])
        for param, grad in updates:
            state = self.state[param]
            if not state:  # e.g. loaded from a state_dict that had none for it
                state.update(self._fresh_state(param, group["initial_accumulator_value"]))
            state["step"] += 1
            g = -grad if group["maximize"] else grad
            if weight_decay != 0:
                g = g + weight_decay * param.data
            clr = lr / (1 + (state["step"] - 1) * lr_decay)  # the decayed learning rate
            s = state["sum"]
            s += g * g  # s <- s + g^2
            std = np.sqrt(s)
            std += eps
            param.data += -clr * (g / std)
