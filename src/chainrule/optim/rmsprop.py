r"""RMSprop: divide each gradient by a running root-mean-square of its recent values."""

from __future__ import annotations

import numpy as np

from .adam import _lerp
from .._checks import hyper_bool, hyper_real
from .optimizer import Optimizer


class RMSprop(Optimizer):
    r"""RMSprop (Hinton, 2012), optionally centered and with momentum — PyTorch's exact rule.

    With learning rate $\gamma$, smoothing constant $\alpha$, $\epsilon$, weight decay
    $\lambda$ and momentum $\mu$, step $t = 1, 2, \dots$ does, per parameter (element-wise):

    $$
    \begin{aligned}
    g_t &\leftarrow \nabla f(\theta_{t-1}) \quad (\text{or } -\nabla f(\theta_{t-1})
        \text{ if maximize}) \\
    g_t &\leftarrow g_t + \lambda\, \theta_{t-1} \quad \text{if } \lambda \ne 0 \\
    v_t &\leftarrow \alpha v_{t-1} + (1 - \alpha)\, g_t^2 \\
    \tilde v_t &\leftarrow v_t - \big(\bar g_t\big)^2, \quad
        \bar g_t \leftarrow \alpha \bar g_{t-1} + (1 - \alpha)\, g_t
        \quad \text{if centered, else } \tilde v_t \leftarrow v_t \\
    b_t &\leftarrow \mu b_{t-1} + g_t / (\sqrt{\tilde v_t} + \epsilon), \quad
        \theta_t \leftarrow \theta_{t-1} - \gamma\, b_t \quad \text{if } \mu > 0 \\
    \theta_t &\leftarrow \theta_{t-1} - \gamma\, g_t / (\sqrt{\tilde v_t} + \epsilon)
        \quad \text{otherwise}
    \end{aligned}
    $$

    with $v_0 = \bar g_0 = b_0 = 0$. There is no bias correction: the first steps divide by
    $\sqrt{1 - \alpha}\,|g_1|$, so they are large ($\approx 10\gamma$ at $\alpha = 0.99$). The
    floating-point order of operations follows PyTorch's single-tensor path, so float64
    trajectories agree with ``torch.optim.RMSprop`` to about 1e-15 per step.

    Args:
        params: an iterable of Parameters or of param-group dicts (see
            :class:`~chainrule.optim.Optimizer`).
        lr: learning rate $\gamma \ge 0$.
        alpha: smoothing constant $\alpha \ge 0$ of the running average of $g^2$.
        eps: $\epsilon \ge 0$, added to the denominator.
        weight_decay: $\lambda \ge 0$, an L2 penalty added to the gradient.
        momentum: $\mu \ge 0$ (0 disables the buffer).
        centered: divide by an estimate of the gradient's *variance*, $v - \bar g^2$, rather
            than its second moment.
        maximize: ascend the objective instead of descending it.

    Raises:
        ValueError: naming the value, if lr, alpha, eps, weight_decay or momentum is negative
            (or NaN) — PyTorch's conditions.
        TypeError: if a hyper-parameter is not a real number / bool.

    State:
        per parameter: ``'step'`` (int), ``'square_avg'`` ($v$), ``'momentum_buffer'`` ($b$)
        if momentum > 0, ``'grad_avg'`` ($\bar g$) if centered.
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 maximize: bool = False):
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, maximize=maximize)  # PyTorch's order
        self._check_hyperparameters(defaults)
        super().__init__(params, defaults)

    HYPERPARAMETERS = {"lr": hyper_real, "eps": hyper_real, "momentum": hyper_real,
                       "weight_decay": hyper_real, "alpha": hyper_real, "centered": hyper_bool,
                       "maximize": hyper_bool}

    def _step_group(self, group, updates):
        """One group's update, parameter by parameter (the rule of the class docstring);
        ``Optimizer.step`` calls it with the group's ``(param, grad)`` pairs."""
        # Python floats: NumPy casts them to the parameter's dtype, so float32 stays float32.
        lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
        weight_decay, momentum = float(group["weight_decay"]), float(group["momentum"])
        for param, grad in updates:
            state = self.state[param]
            if not state:
                state.update(step=0, square_avg=np.zeros_like(param.data))
            if momentum > 0 and "momentum_buffer" not in state:
                state["momentum_buffer"] = np.zeros_like(param.data)
            if group["centered"] and "grad_avg" not in state:
                state["grad_avg"] = np.zeros_like(param.data)
            state["step"] += 1

            g = -grad if group["maximize"] else grad
            if weight_decay != 0:
                g = g + weight_decay * param.data
            v = state["square_avg"]
            v *= alpha
            v += (1 - alpha) * g * g  # v <- alpha v + (1 - alpha) g^2
            if group["centered"]:
                g_avg = state["grad_avg"]
                _lerp(g_avg, g, 1 - alpha)  # g_avg <- alpha g_avg + (1 - alpha) g
                avg = np.sqrt(v - g_avg * g_avg)  # the root of the variance estimate
            else:
                avg = np.sqrt(v)
            avg += eps
            if momentum > 0:
                buf = state["momentum_buffer"]
                buf *= momentum
                buf += g / avg  # b <- mu b + g / (sqrt(v) + eps)
                param.data += -lr * buf
            else:
                param.data += -lr * (g / avg)
