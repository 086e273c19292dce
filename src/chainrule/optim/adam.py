r"""Adam and AdamW: adaptive moment estimation, with L2 or decoupled weight decay."""

from __future__ import annotations

import numbers

import numpy as np

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

    def _check_hyperparameters(self, group: dict) -> None:
        self._check_real(group, "lr")
        self._check_real(group, "eps")
        betas = group["betas"]
        if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or len(betas) != 2:
            raise TypeError(f"{self._name} betas must be a pair (beta1, beta2), got {betas!r}")
        for i, beta in enumerate(betas):
            if isinstance(beta, bool) or not isinstance(beta, numbers.Real):
                raise TypeError(f"{self._name} betas[{i}] must be a real number, got {beta!r}")
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"{self._name} betas[{i}] must be in [0, 1), got {beta!r}")
        self._check_real(group, "weight_decay")
        self._check_bool(group, "amsgrad")
        self._check_bool(group, "maximize")

    def step(self, closure=None):
        """Apply one update to every parameter from its ``.grad`` (see the class docstring).

        Args:
            closure: optional; re-evaluates the model and returns the loss, called first.

        Returns:
            What ``closure`` returned, or ``None``.
        """
        loss = None if closure is None else closure()
        for group in self.param_groups:
            # Python floats: NumPy casts them to the parameter's dtype, so float32 stays float32.
            lr = float(group["lr"])
            beta1, beta2 = (float(b) for b in group["betas"])
            eps = float(group["eps"])
            weight_decay = float(group["weight_decay"])
            amsgrad = bool(group["amsgrad"])
            maximize = bool(group["maximize"])
            for param in group["params"]:
                if param.grad is None:
                    continue
                self._update(param, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize)
        return loss

    def _update(self, param, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize) -> None:
        p, grad = param.data, param.grad
        state = self.state[param]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p)
            state["exp_avg_sq"] = np.zeros_like(p)
            if amsgrad:
                state["max_exp_avg_sq"] = np.zeros_like(p)
        elif amsgrad and "max_exp_avg_sq" not in state:  # amsgrad switched on mid-run
            state["max_exp_avg_sq"] = np.zeros_like(p)
        state["step"] += 1
        t = state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        work, work2 = self._work_array(param, 0), self._work_array(param, 1)

        # g <- ±grad (+ λθ for Adam's L2); param.grad itself is never written.
        g = grad
        if weight_decay != 0:
            if self._decoupled_weight_decay:
                p *= 1.0 - lr * weight_decay                  # AdamW: θ <- θ(1 - γλ)
                if maximize:
                    g = np.negative(grad, out=work)
            else:
                np.multiply(p, weight_decay, out=work)       # Adam: g <- g + λθ
                g = (np.subtract if maximize else np.add)(work, grad, out=work)
        elif maximize:
            g = np.negative(grad, out=work)

        # m <- m + (1-β1)(g - m), i.e. β1 m + (1-β1) g, in the form torch's lerp uses.
        weight = 1.0 - beta1
        np.subtract(g, m, out=work2)
        if weight < 0.5:
            work2 *= weight
            m += work2
        else:
            work2 *= 1.0 - weight
            np.subtract(g, work2, out=m)
        # v <- β2 v + ((1-β2) g) g
        v *= beta2
        np.multiply(g, 1.0 - beta2, out=work2)
        work2 *= g
        v += work2
        if amsgrad:
            v_hat = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        else:
            v_hat = v

        bias_correction1 = 1.0 - beta1 ** t
        bias_correction2 = 1.0 - beta2 ** t
        step_size = lr / bias_correction1
        # denominator sqrt(v̂)/sqrt(1-β2^t) + ε; then θ <- θ + (-step_size · m) / denominator
        denom = np.sqrt(v_hat, out=work2)
        denom /= bias_correction2 ** 0.5
        denom += eps
        update = np.multiply(m, -step_size, out=work)
        update /= denom
        p += update


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
