r"""Learning-rate schedulers: change each param group's ``lr`` once per epoch, as PyTorch.

Call ``scheduler.step()`` once per epoch, *after* that epoch's ``optimizer.step()`` calls::

    opt = SGD(model.parameters(), lr=0.1)
    sched = StepLR(opt, step_size=30, gamma=0.1)
    for epoch in range(100):
        train_one_epoch(...)      # opt.step() inside
        sched.step()

Building a scheduler with ``last_epoch=-1`` records each group's starting ``lr`` as
``group['initial_lr']`` (the ``base_lrs``) and leaves the ``lr`` as it is (epoch 0).
"""

from __future__ import annotations

import copy
import math
import numbers

import numpy as np

from .optimizer import Optimizer

__all__ = ["LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR"]


class LRScheduler:
    r"""Base class of the schedulers: subclasses implement :meth:`get_lr`.

    Args:
        optimizer: the :class:`~chainrule.optim.Optimizer` whose learning rates to set.
        last_epoch: index of the last epoch seen; ``-1`` (the default) starts a new schedule.
            A value ``>= 0`` resumes one and needs ``'initial_lr'`` in every param group
            (from the optimizer's ``load_state_dict``). As in PyTorch, the constructor then
            performs one step, so the scheduler stands at epoch ``last_epoch + 1``, with the
            current lr kept (StepLR decays it if that epoch is a multiple of step_size). To
            continue a schedule exactly, prefer :meth:`load_state_dict`.

    Attributes:
        optimizer: the optimizer.
        base_lrs: each group's ``initial_lr``.
        last_epoch: the epoch the current learning rates belong to.

    Raises:
        TypeError: if ``optimizer`` is not an Optimizer or ``last_epoch`` is not an int.
        ValueError: if ``last_epoch < -1``, or it is ``>= 0`` and a group has no
            ``'initial_lr'``.
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        name = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name} expected a chainrule.optim.Optimizer, got {type(optimizer).__name__}")
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, (int, np.integer)):
            raise TypeError(f"{name} last_epoch must be an int, got {last_epoch!r}")
        if last_epoch < -1:
            raise ValueError(f"{name} last_epoch must be >= -1, got {last_epoch}")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise ValueError(
                        f"{name} was given last_epoch={last_epoch} (resuming), but param_groups[{i}] "
                        f"has no 'initial_lr': load the optimizer's state_dict first, or use last_epoch=-1"
                    )
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = int(last_epoch)
        # The constructor's own step: moves to epoch last_epoch + 1 and sets the lrs.
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list:
        """The learning rates for epoch ``self.last_epoch``, computed by :meth:`step`.

        Called by :meth:`step` after it advances ``last_epoch``; to read the current rates
        use :meth:`get_last_lr`. Subclasses implement it.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement get_lr()")

    def step(self) -> None:
        """Advance one epoch and write the new learning rate into every param group."""
        self._step_count += 1
        self.last_epoch += 1
        values = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list:
        """The learning rate of each param group as last set by this scheduler."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """Everything but the optimizer (whose own ``state_dict`` holds the ``lr`` values).

        The result holds only numbers and lists, so :func:`chainrule.save` can write it.
        """
        return {key: copy.deepcopy(value) for key, value in self.__dict__.items()
                if key not in ("optimizer", "_is_initial")}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what :meth:`state_dict` returned.

        Every value is checked before anything changes (a ``last_epoch`` of ``"3"`` would
        otherwise fail only at the next :meth:`step`); a dict holding only some of the keys
        restores those, as in PyTorch.

        Raises:
            TypeError: if ``state_dict`` is not a dict, or a value has the wrong type (the
                error names the key, what it must be and what it is).
            ValueError: if it has keys this scheduler does not know, or a value is out of
                range (``last_epoch < -1``, a learning-rate list of the wrong length, ...).
        """
        name = type(self).__name__
        if not isinstance(state_dict, dict):
            raise TypeError(f"{name}.load_state_dict expected a dict, got {type(state_dict).__name__}")
        unknown = sorted(set(state_dict) - set(self.state_dict()))
        if unknown:
            raise ValueError(f"{name}.load_state_dict got unexpected keys {unknown}")
        checks = self._state_checks()
        checked = {key: checks[key](f"{name}.load_state_dict {key!r}", value) if key in checks
                   else copy.deepcopy(value) for key, value in state_dict.items()}
        self.__dict__.update(checked)  # only once every value has passed

    def _state_checks(self) -> dict:
        """``{key: check(subject, value) -> value}`` for :meth:`load_state_dict`; subclasses add
        their own settings."""
        n_groups = len(self.optimizer.param_groups)

        def lrs(subject, value):
            return _check_lr_list(subject, value, n_groups)

        return {
            "last_epoch": lambda subject, value: _check_int(subject, value, minimum=-1),
            "_step_count": lambda subject, value: _check_int(subject, value, minimum=0),
            "base_lrs": lrs,
            "_last_lr": lrs,
        }

    def _current_lrs(self) -> list:
        return [group["lr"] for group in self.optimizer.param_groups]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, last_lr={self._last_lr})"


# Each check takes the subject of its error message ("StepLR gamma", or
# "StepLR.load_state_dict 'gamma'") and the value; it returns the value or raises.
def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _check_int(subject: str, value, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{subject} must be an int >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{subject} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _check_lr_list(subject: str, value, n_groups: int) -> list:
    """A list of ``n_groups`` learning rates (real numbers >= 0), one per param group."""
    expected = f"a list of {n_groups} learning rate{'s' if n_groups != 1 else ''} >= 0 (one per param group)"
    if not isinstance(value, (list, tuple, np.ndarray)) or np.ndim(value) != 1:
        raise TypeError(f"{subject} must be {expected}, got {value!r}")
    values = list(value.tolist() if isinstance(value, np.ndarray) else value)
    if not all(_is_real(lr) for lr in values):
        raise TypeError(f"{subject} must be {expected}, got {value!r}")
    if len(values) != n_groups or not all(lr >= 0 for lr in values):
        raise ValueError(f"{subject} must be {expected}, got {value!r}")
    return values


def _check_gamma(subject: str, gamma) -> float:
    if not _is_real(gamma):
        raise TypeError(f"{subject} must be a real number, got {gamma!r}")
    if not gamma >= 0:
        raise ValueError(f"{subject} must be >= 0, got {gamma!r}")
    return gamma


def _check_positive_int(subject: str, value) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{subject} must be a positive int, got {value!r}")
    return int(value)


def _check_eta_min(subject: str, eta_min):
    if not _is_real(eta_min):
        raise TypeError(f"{subject} must be a real number, got {eta_min!r}")
    return eta_min


class StepLR(LRScheduler):
    r"""Multiply each group's lr by ``gamma`` every ``step_size`` epochs.

    $$\eta_t = \eta_0 \, \gamma^{\lfloor t / \text{step\_size} \rfloor}$$

    computed, as in PyTorch, by multiplying the current lr at every multiple of
    ``step_size`` (so an lr changed from outside is kept and decayed further).

    Args:
        optimizer: the wrapped optimizer.
        step_size: period of the decay, in epochs (a positive int).
        gamma: multiplicative factor (default 0.1).
        last_epoch: see :class:`LRScheduler`.

    Raises:
        ValueError: if step_size is not a positive int or gamma is negative.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        self.step_size = _check_positive_int("StepLR step_size", step_size)
        self.gamma = _check_gamma("StepLR gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def _state_checks(self) -> dict:
        return {**super()._state_checks(),
                "step_size": _check_positive_int,
                "gamma": _check_gamma}

    def get_lr(self) -> list:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]


class ExponentialLR(LRScheduler):
    r"""Multiply each group's lr by ``gamma`` every epoch: $\eta_t = \eta_0 \gamma^t$.

    Args:
        optimizer: the wrapped optimizer.
        gamma: multiplicative factor.
        last_epoch: see :class:`LRScheduler`.

    Raises:
        ValueError: if gamma is negative.
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = _check_gamma("ExponentialLR gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def _state_checks(self) -> dict:
        return {**super()._state_checks(), "gamma": _check_gamma}

    def get_lr(self) -> list:
        if self._is_initial:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from each group's initial lr $\eta_{\max}$ to ``eta_min``.

    The schedule it follows is (SGDR without restarts, Loshchilov & Hutter, 2017)

    $$\eta_t = \eta_{\min} + \tfrac12 (\eta_{\max} - \eta_{\min})
        \left(1 + \cos\frac{t\pi}{T_{\max}}\right),$$

    which after $T_{\max}$ epochs keeps going as a cosine, back up to $\eta_{\max}$ at
    $2T_{\max}$, and so on. As in PyTorch it is computed *recursively* from the current lr,

    $$\eta_t = \eta_{\min} + (\eta_{t-1} - \eta_{\min})\,
        \frac{1 + \cos(t\pi / T_{\max})}{1 + \cos((t-1)\pi / T_{\max})},$$

    except at $t = (2k+1) T_{\max} + 1$, where the ratio's denominator is 0 and the step is
    $\eta_t = \eta_{t-1} + \tfrac12(\eta_{\max} - \eta_{\min})(1 - \cos(\pi / T_{\max}))$.
    The recursion makes it compose with other changes of the lr; its values are PyTorch's
    to the last bit (the closed form can differ in the last few bits).

    Args:
        optimizer: the wrapped optimizer.
        T_max: half the period, in epochs (a positive int).
        eta_min: the minimum learning rate (default 0).
        last_epoch: see :class:`LRScheduler`.

    Raises:
        ValueError: if T_max is not a positive int.
        TypeError: if eta_min is not a real number.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        self.T_max = _check_positive_int("CosineAnnealingLR T_max", T_max)
        self.eta_min = _check_eta_min("CosineAnnealingLR eta_min", eta_min)
        super().__init__(optimizer, last_epoch)

    def _state_checks(self) -> dict:
        return {**super()._state_checks(),
                "T_max": _check_positive_int,
                "eta_min": _check_eta_min}

    def get_lr(self) -> list:
        t, t_max, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current_lrs()
        if self._step_count == 1 and t > 0:
            # closed form, for a schedule that starts mid-way
            return [eta_min + (base - eta_min) * (1 + math.cos(t * math.pi / t_max)) / 2
                    for base in self.base_lrs]
        if (t - 1 - t_max) % (2 * t_max) == 0:
            # leaving the minimum: cos((t-1)π/T_max) = -1 would divide by zero below
            return [lr + (base - eta_min) * (1 - math.cos(math.pi / t_max)) / 2
                    for base, lr in zip(self.base_lrs, self._current_lrs(), strict=True)]
        ratio = (1 + math.cos(math.pi * t / t_max)) / (1 + math.cos(math.pi * (t - 1) / t_max))
        return [ratio * (lr - eta_min) + eta_min for lr in self._current_lrs()]
