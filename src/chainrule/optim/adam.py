r"""Adam and AdamW: adaptive moment estimation, with L2 or decoupled weight decay."""

from __future__ import annotations

import math

import numpy as np

from .._checks import betas, hyper_bool, hyper_real
from .optimizer import Optimizer


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), optionally AMSGrad — PyTorch's exact update rule.

    With learning rate $\gamma$, betas $(\beta_1, \beta_2)$, $\epsilon$ and weight decay
    $\lambda$, step $t = 1, 2, \dots$ does, per parameter (all operations element-wise):

    $$
    \begin{aligned}
    g_t &\leftarrow \nabla f(\theta_{t-1}) \quad (\text{or } -\nabla f(\theta_{t-1})
        \text{ if maximize}) \\
    g_t &\leftarrow g_t + \lambda\, \theta_{t-1} \quad \text{if } \lambda \ne 0
        \quad \text{(L2 penalty; AdamW decays } \theta \text{ instead)} \\
    m_t &\leftarrow \beta_1 m_{t-1} + (1 - \beta_1)\, g_t \\
    v_t &\leftarrow \beta_2 v_{t-1} + (1 - \beta_2)\, g_t^2 \\
    \hat v_t &\leftarrow \max(\hat v_{t-1}, v_t) \text{ if amsgrad, else } v_t \\
    \theta_t &\leftarrow \theta_{t-1} - \frac{\gamma}{1 - \beta_1^t}\,
        \frac{m_t}{\sqrt{\hat v_t} / \sqrt{1 - \beta_2^t} + \epsilon}
    \end{aligned}
    $$

    with $m_0 = v_0 = \hat v_0 = 0$. Note where $\epsilon$ sits: it is added *after* the
    bias correction of $\sqrt{\hat v_t}$ (as in PyTorch; the paper's
    $\hat m_t / (\sqrt{\hat v_t} + \epsilon)$ form is the same thing). The floating-point
    order of operations follows PyTorch's single-tensor path, so float64 trajectories agree
    with ``torch.optim.Adam`` to about 1e-15 per step.

    Args:
        params: an iterable of Parameters or of param-group dicts (see
            :class:`~chainrule.optim.Optimizer`).
        lr: learning rate $\gamma \ge 0$.
        betas: $(\beta_1, \beta_2)$, each in $[0, 1)$: decay rates of the running averages
            of the gradient and of its square.
        eps: $\epsilon \ge 0$, added to the denominator for numerical stability.
        weight_decay: $\lambda \ge 0$, an L2 penalty added to the gradient.
        amsgrad: use the running maximum of $v_t$ (AMSGrad, Reddi et al., 2018).
        maximize: ascend the objective instead of descending it.

    Raises:
        ValueError: naming the value, if lr, eps or weight_decay is negative (or NaN) or a
            beta is outside $[0, 1)$.
        TypeError: if a hyper-parameter has the wrong type.

    State:
        per parameter: ``'step'`` (int), ``'exp_avg'`` ($m$), ``'exp_avg_sq'`` ($v$) and,
        with amsgrad, ``'max_exp_avg_sq'`` ($\hat v$).
    """

    _decoupled_weight_decay = False

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, maximize: bool = False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize)
        self._check_hyperparameters(defaults)
        super().__init__(params, defaults)

    HYPERPARAMETERS = {"lr": hyper_real, "eps": hyper_real, "betas": betas,
                       "weight_decay": hyper_real, "amsgrad": hyper_bool, "maximize": hyper_bool}

    def _step_group(self, group, updates):
        """One group's update, parameter by parameter (the rule of the class docstring);
        ``Optimizer.step`` calls it with the group's ``(param, grad)`` pairs."""
        # Python floats: NumPy casts them to the parameter's dtype, so float32 stays float32.
        lr = float(group["lr"])
        beta1, beta2 = (float(b) for b in group["betas"])
        eps = float(group["eps"])
        weight_decay = float(group["weight_decay"])
        amsgrad = bool(group["amsgrad"])
        maximize = bool(group["maximize"])
        for param, grad in updates:
            state = self.state[param]
            if not state:
                state.update(step=0, exp_avg=np.zeros_like(param.data), exp_avg_sq=np.zeros_like(param.data))
            if amsgrad and "max_exp_avg_sq" not in state:
                state["max_exp_avg_sq"] = np.zeros_like(param.data)
            state["step"] += 1
            t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]

            g = -grad if maximize else grad
            if weight_decay != 0 and self._decoupled_weight_decay:
                param.data *= 1 - lr * weight_decay  # AdamW: theta <- theta (1 - lr lambda)
            elif weight_decay != 0:
                g = g + weight_decay * param.data  # Adam: an L2 penalty in the gradient
            _lerp(m, g, 1 - beta1)  # m <- beta1 m + (1 - beta1) g
            v *= beta2
            v += (1 - beta2) * g * g  # v <- beta2 v + (1 - beta2) g^2
            if amsgrad:
                v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            step_size = lr / (1 - beta1 ** t)
            denominator = np.sqrt(v) / math.sqrt(1 - beta2 ** t) + eps
            param.data += -step_size * m / denominator


def _lerp(m: np.ndarray, g: np.ndarray, weight: float) -> None:
    """``m <- m + weight (g - m)`` in place, rounded as PyTorch's ``lerp_`` rounds it (from
    the nearer end), so that trajectories agree to the last bit."""
    if weight < 0.5:
        m += weight * (g - m)
    else:
        m[...] = g - (g - m) * (1 - weight)


class AdamW(Adam):
    r"""AdamW (Loshchilov & Hutter, 2019): Adam with *decoupled* weight decay.

    Identical to :class:`Adam` except for the weight decay: instead of adding
    $\lambda\theta$ to the gradient (which Adam's per-coordinate scaling then distorts),
    each step first shrinks the parameter directly,

    $$\theta_{t-1} \leftarrow \theta_{t-1}\,(1 - \gamma\lambda),$$

    then applies the Adam update with the plain gradient. PyTorch's exact rule and order.

    Args:
        params: an iterable of Parameters or of param-group dicts.
        lr: learning rate $\gamma \ge 0$.
        betas: $(\beta_1, \beta_2)$, each in $[0, 1)$.
        eps: $\epsilon \ge 0$.
        weight_decay: decoupled decay $\lambda \ge 0$ (default ``1e-2``, as PyTorch).
        amsgrad: use the running maximum of $v_t$.
        maximize: ascend the objective instead of descending it.

    Raises:
        ValueError: as :class:`Adam`.
    """

    _decoupled_weight_decay = True

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize)
