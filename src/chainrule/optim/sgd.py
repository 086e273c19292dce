r"""SGD: stochastic gradient descent with optional momentum, dampening, Nesterov and L2."""

from __future__ import annotations

import numpy as np

from .._checks import hyper_bool, hyper_real, hyper_signed
from .optimizer import Optimizer


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with (Nesterov) momentum — PyTorch's exact rule.

    With learning rate $\gamma$, momentum $\mu$, dampening $\tau$, weight decay $\lambda$
    and gradient $\nabla f(\theta_{t-1})$, step $t = 1, 2, \dots$ does, per parameter:

    $$
    \begin{aligned}
    g_t &\leftarrow \nabla f(\theta_{t-1}) \quad (\text{or } -\nabla f(\theta_{t-1})
        \text{ if maximize}) \\
    g_t &\leftarrow g_t + \lambda\, \theta_{t-1} \quad \text{if } \lambda \ne 0 \\
    b_t &\leftarrow \begin{cases} g_t & t = 1 \\ \mu\, b_{t-1} + (1 - \tau)\, g_t & t > 1
        \end{cases} \quad \text{if } \mu \ne 0 \\
    g_t &\leftarrow \begin{cases} g_t + \mu\, b_t & \text{nesterov} \\ b_t & \text{otherwise}
        \end{cases} \quad \text{if } \mu \ne 0 \\
    \theta_t &\leftarrow \theta_{t-1} - \gamma\, g_t
    \end{aligned}
    $$

    **Momentum convention.** As in PyTorch, the learning rate sits *outside* the momentum
    buffer: $b_t = \mu b_{t-1} + g_t$, $\theta_t = \theta_{t-1} - \gamma b_t$. Sutskever et
    al. (and some other frameworks) put it *inside* a velocity: $v_t = \mu v_{t-1} - \gamma
    g_t$, $\theta_t = \theta_{t-1} + v_t$. With a constant learning rate the two give the same
    iterates ($v_t = -\gamma b_t$); they differ when $\gamma$ changes (a scheduler): here a new
    $\gamma$ rescales the whole accumulated buffer at once, there only the new gradients.
    Two more conventions: the buffer starts as the first gradient itself (not zeros, so no
    warm-up bias), and dampening therefore applies from the second step on.

    Args:
        params: an iterable of Parameters or of param-group dicts (see
            :class:`~chainrule.optim.Optimizer`).
        lr: learning rate $\gamma \ge 0$.
        momentum: momentum factor $\mu \ge 0$ (0 disables the buffer).
        dampening: dampening $\tau$ of the gradient's share of the buffer.
        weight_decay: L2 penalty $\lambda \ge 0$, added to the gradient.
        nesterov: use Nesterov momentum (needs $\mu > 0$ and $\tau = 0$).
        maximize: ascend the objective instead of descending it.

    Raises:
        ValueError: naming the value, if lr, momentum or weight_decay is negative (or NaN),
            or nesterov is set with momentum <= 0 or dampening != 0.
        TypeError: if a hyper-parameter is not a real number / bool.

    State:
        ``'momentum_buffer'`` per parameter, once a step has run with momentum != 0.

    Examples:
        ```python
        opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        model.backward(loss_fn.backward())
        opt.step()
        ```
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, maximize: bool = False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        self._check_hyperparameters(defaults)
        super().__init__(params, defaults)

    HYPERPARAMETERS = {"lr": hyper_real, "momentum": hyper_real, "dampening": hyper_signed,
                       "weight_decay": hyper_real, "nesterov": hyper_bool, "maximize": hyper_bool}

    def _check_hyperparameters(self, group: dict) -> None:
        super()._check_hyperparameters(group)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                f"{self._name} nesterov=True requires momentum > 0 and dampening == 0, "
                f"got momentum={group['momentum']!r} and dampening={group['dampening']!r}"
            )

    def _step_group(self, group, updates):
        """One group's update, parameter by parameter (the rule of the class docstring);
        ``Optimizer.step`` calls it with the group's ``(param, grad)`` pairs."""
        # Python floats: NumPy casts them to the parameter's dtype, so float32 stays float32.
        lr, momentum, dampening = float(group["lr"]), float(group["momentum"]), float(group["dampening"])
        weight_decay = float(group["weight_decay"])
        for param, grad in updates:
            g = -grad if group["maximize"] else grad
            if weight_decay != 0:
                g = g + weight_decay * param.data
            if momentum != 0:
                state = self.state[param]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = np.array(g)  # b_1 = g_1, a copy
                else:
                    buf = state["momentum_buffer"]
                    buf *= momentum
                    buf += g if dampening == 0 else (1 - dampening) * g  # (1 - 0) g is g: no copy
                buf = state["momentum_buffer"]
                g = g + momentum * buf if group["nesterov"] else buf
            param.data -= lr * g
