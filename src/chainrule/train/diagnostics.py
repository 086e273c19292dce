r"""Gradient-flow diagnostics: why a network does (not) learn, measured layer by layer.

:class:`GradientFlow` is a callback. It watches the model through module hooks
(``register_forward_hook``/``register_full_backward_hook``) and reads the gradients and
weights around each optimiser step; it never changes the model, and it removes its hooks
when ``fit`` ends. Each epoch it adds to the ``History`` (means over the recorded batches):

- ``grad_norm/<param>``: $\|\partial C/\partial \theta\|_2$ of each parameter
  (``grad_norm/0.weight``), the gradient the optimiser step used (a parameter whose
  ``.grad`` is ``None`` after the backward, a frozen one, records nothing that batch);
- ``delta_norm/<layer>``: $\|\delta^l\|_2 = \|\partial C/\partial z^l\|_2$, the gradient
  arriving at each parameterised layer's output (the BP2 signal flowing backwards);
- ``update_ratio/<param>``: $\|\Delta\theta\|_2 / \|\theta\|_2$ of the step; about
  $10^{-3}$ is healthy, much smaller means the layer barely learns;
- ``act_mean/<layer>``, ``act_std/<layer>``: the activation outputs' mean and std;
- ``saturated/<layer>`` (Sigmoid, Tanh): the fraction of outputs in the flat tails, where
  the derivative is almost 0: $|\tanh(z)| > s$, or $|2\sigma(z) - 1| > s$ (``saturation``
  $s$ = 0.97 by default: there the derivative is below 6% of its peak, $1 - a^2 < 0.06$ for
  tanh and $\sigma'(z) < 0.015$ for the sigmoid, against 0.25 at $z = 0$);
- ``dead/<layer>`` (ReLU, LeakyReLU): the fraction of units whose output was $\le 0$ for
  every sample the epoch showed them: units that no longer pass any gradient.

Layer names are the dotted names of ``model.named_modules()`` (``"0"``, ``"1"``, ...).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..grad_mode import is_grad_enabled
from ..nn.activation import LeakyReLU, ReLU, Sigmoid, Tanh
from .callbacks import Callback

__all__ = ["GradientFlow"]


def _l2(a: np.ndarray) -> float:
    flat = a.ravel()
    return math.sqrt(float(np.dot(flat, flat)))


class GradientFlow(Callback):
    r"""Record per-layer gradient norms, activation statistics and update-to-weight ratios.

    Args:
        every: record one batch in ``every`` (1: every batch). Default 1.
        saturation: the threshold $s$ of the saturated fraction (see the module docs).
        updates: also record update-to-weight ratios (costs one copy of the weights per
            recorded batch). Default True.

    Attributes:
        layers: the names of the parameterised layers watched, input to output.
        activations: the names of the activation layers watched.

    Example:
        >>> flow = GradientFlow()
        >>> history = fit(model, loss_fn, opt, loader, 10, callbacks=[flow])
        >>> history["grad_norm/0.weight"]        # one value per epoch
    """

    def __init__(self, every: int = 1, saturation: float = 0.97, updates: bool = True):
        if isinstance(every, bool) or not isinstance(every, numbers.Integral) or every < 1:
            raise ValueError(f"GradientFlow every must be a positive int, got {every!r}")
        if isinstance(saturation, bool) or not isinstance(saturation, numbers.Real) or not 0 < saturation < 1:
            raise ValueError(f"GradientFlow saturation must be in (0, 1), got {saturation!r}")
        self.every, self.saturation, self.updates = int(every), float(saturation), bool(updates)
        self.layers: list[str] = []
        self.activations: list[str] = []
        self._handles: list = []

    # -- hooks ------------------------------------------------------------------------
    def _forward_hook(self, name: str):
        def hook(module, args, output):
            # Only training forwards: not validation or plots (eval mode, under no_grad).
            if not (self._active and module.training and is_grad_enabled()):
                return None
            a = np.asarray(output)
            self._add(f"act_mean/{name}", float(a.mean()))
            self._add(f"act_std/{name}", float(a.std()))
            if isinstance(module, Tanh):
                self._add(f"saturated/{name}", float(np.mean(np.abs(a) > self.saturation)))
            elif isinstance(module, Sigmoid):
                self._add(f"saturated/{name}", float(np.mean(np.abs(2 * a - 1) > self.saturation)))
            elif isinstance(module, (ReLU, LeakyReLU)):
                alive = np.any(a.reshape(-1, a.shape[-1]) > 0, axis=0) if a.ndim else np.asarray([a > 0])
                seen = self._alive.get(name)
                self._alive[name] = alive if seen is None else (seen | alive)
            return None

        return hook

    def _backward_hook(self, name: str):
        def hook(module, grad_input, grad_output):
            if self._active:
                self._add(f"delta_norm/{name}", _l2(np.asarray(grad_output[0])))
            return None

        return hook

    # -- callback methods ---------------------------------------------------------------
    def on_fit_begin(self, state):
        self.remove()
        self.layers, self.activations = [], []
        self._active = False
        for name, module in state.model.named_modules():
            if isinstance(module, (Sigmoid, Tanh, ReLU, LeakyReLU)):
                self.activations.append(name)
                self._handles.append(module.register_forward_hook(self._forward_hook(name)))
            if any(True for _ in module.named_parameters(recurse=False)):
                self.layers.append(name)
                self._handles.append(module.register_full_backward_hook(self._backward_hook(name)))
        self._params = list(state.model.named_parameters())

    def on_epoch_begin(self, state):
        self._sums: dict[str, float] = {}
        self._counts: dict[str, int] = {}
        self._alive: dict[str, np.ndarray] = {}

    def on_batch_begin(self, state):
        self._active = state.batch % self.every == 0

    def on_after_backward(self, state):
        if not self._active:
            return
        for name, param in self._params:
            grad = param.grad
            if grad is not None:  # None: no backward wrote it (frozen, or unused by the forward)
                self._add(f"grad_norm/{name}", _l2(grad))
        if self.updates:
            self._before = [param.data.copy() for _, param in self._params]

    def on_batch_end(self, state):
        if self._active and self.updates:
            for (name, param), before in zip(self._params, self._before):
                weight = _l2(before)
                ratio = _l2(param.data - before) / weight if weight > 0 else math.nan
                self._add(f"update_ratio/{name}", ratio)
            self._before = None
        self._active = False

    def on_epoch_end(self, state):
        for key, total in self._sums.items():
            state.logs[key] = total / self._counts[key]
        for name, alive in self._alive.items():
            state.logs[f"dead/{name}"] = float(1.0 - alive.mean()) if alive.size else math.nan

    def on_fit_end(self, state):
        self.remove()

    def remove(self) -> None:
        """Unregister every hook this callback put on the model."""
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self._active = False

    def _add(self, key: str, value: float) -> None:
        self._sums[key] = self._sums.get(key, 0.0) + value
        self._counts[key] = self._counts.get(key, 0) + 1
