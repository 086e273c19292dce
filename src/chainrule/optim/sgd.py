r"""SGD: stochastic gradient descent with optional momentum, dampening, Nesterov and L2."""

from __future__ import annotations

import numpy as np

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

    def _check_hyperparameters(self, group: dict) -> None:
        self._check_real(group, "lr")
        momentum = self._check_real(group, "momentum")
        dampening = self._check_real(group, "dampening", minimum=None)
        self._check_real(group, "weight_decay")
        self._check_bool(group, "nesterov")
        self._check_bool(group, "maximize")
        if group["nesterov"] and (momentum <= 0 or dampening != 0):
            raise ValueError(
                f"{self._name} nesterov=True requires momentum > 0 and dampening == 0, "
                f"got momentum={group['momentum']!r} and dampening={group['dampening']!r}"
            )

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
            momentum = float(group["momentum"])
            damp_keep = 1.0 - float(group["dampening"])
            weight_decay = float(group["weight_decay"])
            nesterov = bool(group["nesterov"])
            maximize = bool(group["maximize"])
            keys = ("momentum_buffer",) if momentum != 0 else ()
            # The whole group's gradients as one flat vector per dtype (see _FlatChunk): the
            # rule below is the docstring's, applied to all parameters at once.
            stored = False
            for chunk in self._flat_chunks(group, keys):
                stored |= self._update(chunk, lr, momentum, damp_keep, weight_decay, nesterov, maximize)
            if stored:
                self._flat_stored(group)
        return loss

    def _update(self, chunk, lr, momentum, damp_keep, weight_decay, nesterov, maximize) -> bool:
        """One step on one flat chunk; returns whether it stored new momentum buffers."""
        grad, work = chunk.grad, chunk.work  # flat; param.grad is never written

        # g <- ±grad + λθ
        if weight_decay != 0:
            for param, view in zip(chunk.params, chunk.work_views):  # θ is not flat: per parameter
                np.multiply(param.data, weight_decay, out=view)
            g = (np.subtract if maximize else np.add)(work, grad, out=work)
        elif maximize:
            g = np.negative(grad, out=work)
        else:
            g = grad

        new = []
        if momentum != 0:
            buf = chunk.state["momentum_buffer"]
            new = chunk.new["momentum_buffer"]  # parameters at their first step: b_1 = g_1
            if len(new) == len(chunk.params):
                buf[...] = g
            else:
                g_new = [g[chunk.slices[i]].copy() for i in new] if new else ()  # kept: g may be overwritten next
                buf *= momentum  # b <- μ b + (1 - τ) g
                # (with dampening, nesterov is off, so g is not needed after this)
                buf += g if damp_keep == 1.0 else np.multiply(g, damp_keep, out=work)
                for i, g_i in zip(new, g_new):
                    buf[chunk.slices[i]] = g_i
            if new:
                chunk.store(self.state, "momentum_buffer")
            if nesterov:  # g <- g + μ b
                step = np.multiply(buf, momentum, out=chunk.work2 if g is work else work)
                g = np.add(g, step, out=work)
            else:
                g = buf

        np.multiply(g, lr, out=work)
        for param, view in zip(chunk.params, chunk.work_views):
            param.data -= view  # θ <- θ - γ g
        return bool(new)
