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

import bisect
import copy
import math
import types

import numpy as np

from .._checks import (
    schedule_count, schedule_int, schedule_lr_list, schedule_gamma, schedule_positive_int, schedule_eta_min,
    schedule_real_in, schedule_milestones, schedule_callable, schedule_start_factor,
    schedule_unit_factor, schedule_non_negative, schedule_positive, schedule_plateau_factor,
    schedule_sequence_milestones,
)
from .optimizer import Optimizer

__all__ = ["LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "MultiStepLR", "LambdaLR",
           "LinearLR", "ConstantLR", "PolynomialLR", "OneCycleLR", "ReduceLROnPlateau", "SequentialLR"]


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
        self._initial_step()

    def _initial_step(self) -> None:
        """The constructor's own step: moves to epoch ``last_epoch + 1`` and sets the lrs
        (also run by :class:`SequentialLR` when a scheduler's turn comes at epoch 0)."""
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
        self._update_lr()

    def _update_lr(self, epoch: int | None = None) -> None:
        """Move to the next epoch (or to ``epoch``, with the closed form where the scheduler
        has one, as PyTorch: :class:`SequentialLR` restarts a scheduler at epoch 0 this way)
        and write the learning rates into the param groups."""
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            values = self._get_closed_form_lr() if hasattr(self, "_get_closed_form_lr") else self.get_lr()
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

    #: A scheduler's settings, declared once: name -> check(subject, value) -> value, run by
    #: ``__init__`` (through :meth:`_set`) and by :meth:`load_state_dict` alike.
    SETTINGS: dict = {}

    def _set(self, **values) -> None:
        for name, value in values.items():
            setattr(self, name, self.SETTINGS[name](f"{type(self).__name__} {name}", value))

    def _state_checks(self) -> dict:
        """``{key: check(subject, value) -> value}`` for :meth:`load_state_dict`: the base
        class's keys and the declared :attr:`SETTINGS`."""
        n_groups = len(self.optimizer.param_groups)

        def lrs(subject, value):
            return schedule_lr_list(subject, value, n_groups)

        return {
            "last_epoch": lambda subject, value: schedule_int(subject, value, minimum=-1),
            "_step_count": lambda subject, value: schedule_int(subject, value, minimum=0),
            "base_lrs": lrs,
            "_last_lr": lrs,
            **self.SETTINGS,
        }

    def _current_lrs(self) -> list:
        return [group["lr"] for group in self.optimizer.param_groups]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, last_lr={self._last_lr})"




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

    SETTINGS = {"step_size": schedule_positive_int, "gamma": schedule_gamma}

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        self._set(step_size=step_size, gamma=gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    r"""Multiply each group's lr by ``gamma`` every epoch: $\eta_t = \eta_0 \gamma^t$.

    Args:
        optimizer: the wrapped optimizer.
        gamma: multiplicative factor.
        last_epoch: see :class:`LRScheduler`.

    Raises:
        ValueError: if gamma is negative.
    """

    SETTINGS = {"gamma": schedule_gamma}

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        self._set(gamma=gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        if self._is_initial:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list:
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


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

    SETTINGS = {"T_max": schedule_positive_int, "eta_min": schedule_eta_min}

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        self._set(T_max=T_max, eta_min=eta_min)
        super().__init__(optimizer, last_epoch)

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

    def _get_closed_form_lr(self) -> list:
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self.base_lrs]


def _per_group(subject: str, value, n_groups: int, check) -> list:
    """One value per param group: a list or tuple of ``n_groups`` values, or a single value
    repeated (PyTorch's ``_format_param``); each passes ``check(subject, value)``."""
    if isinstance(value, (list, tuple)):
        if len(value) != n_groups:
            raise ValueError(f"{subject} must have one value per param group ({n_groups}), got {len(value)}: {value!r}")
        return [check(f"{subject}[{i}]", v) for i, v in enumerate(value)]
    return [check(subject, value)] * n_groups


class MultiStepLR(LRScheduler):
    r"""Multiply each group's lr by ``gamma`` at each milestone epoch:
    $\eta_t = \eta_0\,\gamma^{\#\{m \in \text{milestones}:\ m \le t\}}$.

    As in PyTorch it multiplies the current lr when an epoch is a milestone (by
    $\gamma^k$ if the milestone is listed $k$ times), so an lr changed from outside is kept.

    Args:
        optimizer: the wrapped optimizer.
        milestones: epoch indices (ints, in any order; repeats count).
        gamma: multiplicative factor (default 0.1).
        last_epoch: see :class:`LRScheduler`.

    Raises:
        TypeError: if milestones is not an iterable of ints.
        ValueError: if gamma is negative.
    """

    SETTINGS = {"milestones": schedule_milestones, "gamma": schedule_gamma}

    def __init__(self, optimizer: Optimizer, milestones, gamma: float = 0.1, last_epoch: int = -1):
        self._set(milestones=milestones, gamma=gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        if self.last_epoch not in self.milestones:
            return self._current_lrs()
        return [lr * self.gamma ** self.milestones[self.last_epoch] for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list:
        milestones = sorted(self.milestones.elements())
        return [base * self.gamma ** bisect.bisect_right(milestones, self.last_epoch) for base in self.base_lrs]


class LambdaLR(LRScheduler):
    r"""Each group's lr is its initial lr times a function of the epoch:
    $\eta_t = \eta_0\,\lambda(t)$.

    Args:
        optimizer: the wrapped optimizer.
        lr_lambda: a function of the epoch (an int) returning a factor, or a list of such
            functions, one per param group.
        last_epoch: see :class:`LRScheduler`.

    :meth:`state_dict` holds ``None`` for each plain function (functions are code, not
    state) and the ``__dict__`` of a callable object, as PyTorch's does; loading it keeps
    this scheduler's own functions.

    Raises:
        TypeError: if an lr_lambda is not callable.
        ValueError: if a list of lr_lambdas does not have one per param group.
    """

    def __init__(self, optimizer: Optimizer, lr_lambda, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"LambdaLR expected a chainrule.optim.Optimizer, got {type(optimizer).__name__}")
        self.lr_lambdas = _per_group("LambdaLR lr_lambda", lr_lambda, len(optimizer.param_groups), schedule_callable)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        return [base * lmbda(self.last_epoch) for lmbda, base in zip(self.lr_lambdas, self.base_lrs, strict=True)]

    def state_dict(self) -> dict:
        state = {key: copy.deepcopy(value) for key, value in self.__dict__.items()
                 if key not in ("optimizer", "_is_initial", "lr_lambdas")}
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else copy.deepcopy(fn.__dict__)
                               for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        if not isinstance(state_dict, dict):
            raise TypeError(f"LambdaLR.load_state_dict expected a dict, got {type(state_dict).__name__}")
        saved = state_dict.get("lr_lambdas", [None] * len(self.lr_lambdas))
        if (not isinstance(saved, (list, tuple)) or len(saved) != len(self.lr_lambdas)
                or not all(entry is None or isinstance(entry, dict) for entry in saved)):
            raise TypeError(f"LambdaLR.load_state_dict 'lr_lambdas' must be a list of {len(self.lr_lambdas)} "
                            f"entries, each None or a dict, got {saved!r}")
        super().load_state_dict({key: value for key, value in state_dict.items() if key != "lr_lambdas"})
        for fn, entry in zip(self.lr_lambdas, saved):
            if entry is not None:
                fn.__dict__.update(copy.deepcopy(entry))


class LinearLR(LRScheduler):
    r"""Scale each group's lr by a factor that moves linearly from ``start_factor`` to
    ``end_factor`` over ``total_iters`` epochs, then stays:

    $$\eta_t = \eta_0\left(s + (e - s)\,\frac{\min(t, T)}{T}\right).$$

    As in PyTorch it is computed recursively, multiplying the current lr at epoch
    $1 \le t \le T$ by $1 + \dfrac{e - s}{T s + (t - 1)(e - s)}$, the ratio of consecutive
    factors.

    Args:
        optimizer: the wrapped optimizer.
        start_factor: $s \in (0, 1]$ (default 1/3).
        end_factor: $e \in [0, 1]$ (default 1.0).
        total_iters: $T$, the number of epochs the change takes (a positive int, default 5).
        last_epoch: see :class:`LRScheduler`.

    Differences from PyTorch: ``total_iters=0``, which PyTorch accepts but divides by in its
    closed form, is refused.

    Raises:
        ValueError: if a factor is outside its interval or total_iters is not a positive int.
    """

    SETTINGS = {"start_factor": schedule_start_factor, "end_factor": schedule_unit_factor,
                "total_iters": schedule_positive_int}

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1):
        self._set(start_factor=start_factor, end_factor=end_factor, total_iters=total_iters)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        t, s, e, total = self.last_epoch, self.start_factor, self.end_factor, self.total_iters
        if t == 0:
            return [lr * s for lr in self._current_lrs()]
        if self._is_initial or t > total:
            return self._current_lrs()
        return [lr * (1.0 + (e - s) / (total * s + (t - 1) * (e - s))) for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list:
        t, s, e, total = self.last_epoch, self.start_factor, self.end_factor, self.total_iters
        return [base * (s + (e - s) * min(total, t) / total) for base in self.base_lrs]


class ConstantLR(LRScheduler):
    r"""Scale each group's lr by ``factor`` for the first ``total_iters`` epochs, then restore it:
    $\eta_t = \eta_0 \cdot f$ for $t < T$, $\eta_0$ from $t = T$ on.

    As in PyTorch it multiplies the current lr by $f$ at epoch 0 and by $1/f$ at epoch $T$.

    Args:
        optimizer: the wrapped optimizer.
        factor: $f \in (0, 1]$ (default 1/3).
        total_iters: $T$, the number of epochs scaled (an int >= 0, default 5).
        last_epoch: see :class:`LRScheduler`.

    Differences from PyTorch: ``factor=0``, which PyTorch accepts but then divides by at
    epoch $T$, is refused.

    Raises:
        ValueError: if factor is outside $(0, 1]$ or total_iters is negative.
    """

    SETTINGS = {"factor": schedule_start_factor, "total_iters": schedule_count}

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5, last_epoch: int = -1):
        self._set(factor=factor, total_iters=total_iters)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        if self.last_epoch == 0:
            return [lr * self.factor for lr in self._current_lrs()]
        if self.last_epoch != self.total_iters:
            return self._current_lrs()
        return [lr * (1.0 / self.factor) for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list:
        return [base * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor))
                for base in self.base_lrs]


class PolynomialLR(LRScheduler):
    r"""Decay each group's lr polynomially to 0 over ``total_iters`` epochs, then keep it:

    $$\eta_t = \eta_0 \left(1 - \frac{\min(t, T)}{T}\right)^{p}.$$

    As in PyTorch it is computed recursively, multiplying the current lr at epoch
    $1 \le t \le T$ by $\left(\dfrac{1 - t/T}{1 - (t-1)/T}\right)^p$.

    Args:
        optimizer: the wrapped optimizer.
        total_iters: $T$, the number of epochs of decay (a positive int, default 5).
        power: $p \ge 0$ (default 1.0, a linear decay).
        last_epoch: see :class:`LRScheduler`.

    Differences from PyTorch: ``total_iters=0`` and a negative power, which PyTorch accepts
    but then divides by zero with, are refused.

    Raises:
        ValueError: if total_iters is not a positive int or power is negative.
    """

    SETTINGS = {"total_iters": schedule_positive_int, "power": schedule_non_negative}

    def __init__(self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1):
        self._set(total_iters=total_iters, power=power)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        t, total = self.last_epoch, self.total_iters
        if self._is_initial or t > total:
            return self._current_lrs()
        decay_factor = ((1.0 - t / total) / (1.0 - (t - 1) / total)) ** self.power
        return [lr * decay_factor for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list:
        return [base * (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters) ** self.power
                for base in self.base_lrs]


class OneCycleLR(LRScheduler):
    r"""The 1cycle policy (Smith & Topin, 2018): warm the lr up from ``max_lr / div_factor`` to
    ``max_lr``, then anneal it to ``max_lr / (div_factor * final_div_factor)``, stepping once per
    *batch* for ``total_steps`` steps; the momentum (or Adam's $\beta_1$) moves the opposite way.

    Each phase runs from step $a$ to step $b$ (PyTorch's boundaries: the warm-up ends at step
    $\texttt{pct\_start}\cdot T - 1$, the last phase at $T - 1$) and anneals from a start value
    to an end value with $p = (t - a)/(b - a)$:

    $$\text{cos: } \eta = \eta_{\text{end}} + \tfrac12(\eta_{\text{start}} - \eta_{\text{end}})
        (1 + \cos \pi p), \qquad \text{linear: } \eta = (\eta_{\text{end}} - \eta_{\text{start}})\,p
        + \eta_{\text{start}}.$$

    Two phases: initial → max → min. With ``three_phase``: initial → max → initial (mirrored),
    then initial → min. This is a closed form, as in PyTorch. The constructor writes
    ``initial_lr``, ``max_lr`` and ``min_lr`` (and with ``cycle_momentum`` ``max_momentum``,
    ``base_momentum``) into every param group, and sets the momentum to ``max_momentum``.

    Args:
        optimizer: the wrapped optimizer.
        max_lr: the peak lr, one for all groups or a list with one per group.
        total_steps: $T$, the number of steps of the cycle; or give ``epochs`` and
            ``steps_per_epoch`` and $T$ is their product.
        epochs: a positive int, used with ``steps_per_epoch`` when ``total_steps`` is None.
        steps_per_epoch: a positive int, used with ``epochs`` when ``total_steps`` is None.
        pct_start: the fraction of the cycle spent warming up, in $[0, 1]$ (default 0.3).
        anneal_strategy: ``'cos'`` (default) or ``'linear'``.
        cycle_momentum: cycle the optimizer's ``momentum`` (SGD, RMSprop) or ``betas[0]``
            (Adam, AdamW) between ``max_momentum`` and ``base_momentum`` (default True).
        base_momentum: the momentum at the peak lr (default 0.85), one for all groups or a list.
        max_momentum: the momentum at the start and the end (default 0.95), one for all groups
            or a list.
        div_factor: ``initial_lr = max_lr / div_factor`` (default 25).
        final_div_factor: ``min_lr = initial_lr / final_div_factor`` (default 1e4).
        three_phase: use the three-phase schedule.
        last_epoch: see :class:`LRScheduler` (here it counts batches).

    Differences from PyTorch: ``pct_start`` may be any real number in $[0, 1]$ (PyTorch
    requires a float); a phase of length zero (e.g. ``pct_start * total_steps == 1``, where
    PyTorch divides 0 by 0) is a ``ValueError`` naming the values.

    Raises:
        ValueError: if neither total_steps nor both epochs and steps_per_epoch are given, a
            count is not a positive int, pct_start is outside $[0, 1]$, anneal_strategy is
            unknown, a list has the wrong length, cycle_momentum is set for an optimizer with
            neither momentum nor betas, or :meth:`step` is called more than ``total_steps``
            times.
    """

    def __init__(self, optimizer: Optimizer, max_lr, total_steps: int | None = None, epochs: int | None = None,
                 steps_per_epoch: int | None = None, pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum=0.85, max_momentum=0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"OneCycleLR expected a chainrule.optim.Optimizer, got {type(optimizer).__name__}")
        if total_steps is not None:
            self.total_steps = schedule_positive_int("OneCycleLR total_steps", total_steps)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = (schedule_positive_int("OneCycleLR epochs", epochs)
                                * schedule_positive_int("OneCycleLR steps_per_epoch", steps_per_epoch))
        else:
            raise ValueError("OneCycleLR needs total_steps, or both epochs and steps_per_epoch, "
                             f"got total_steps={total_steps!r}, epochs={epochs!r}, steps_per_epoch={steps_per_epoch!r}")
        pct_start = float(schedule_unit_factor("OneCycleLR pct_start", pct_start))
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        if not isinstance(cycle_momentum, (bool, np.bool_)) or not isinstance(three_phase, (bool, np.bool_)):
            raise TypeError(f"OneCycleLR cycle_momentum and three_phase must be bools, "
                            f"got {cycle_momentum!r} and {three_phase!r}")
        schedule_positive("OneCycleLR div_factor", div_factor)
        schedule_positive("OneCycleLR final_div_factor", final_div_factor)
        total = self.total_steps
        # PyTorch's phases: the step each ends at, and the group keys it anneals between.
        if three_phase:
            self._schedule_phases = [
                dict(end_step=float(pct_start * total) - 1, start_lr="initial_lr", end_lr="max_lr",
                     start_momentum="max_momentum", end_momentum="base_momentum"),
                dict(end_step=float(2 * pct_start * total) - 2, start_lr="max_lr", end_lr="initial_lr",
                     start_momentum="base_momentum", end_momentum="max_momentum"),
                dict(end_step=total - 1, start_lr="initial_lr", end_lr="min_lr",
                     start_momentum="max_momentum", end_momentum="max_momentum"),
            ]
        else:
            self._schedule_phases = [
                dict(end_step=float(pct_start * total) - 1, start_lr="initial_lr", end_lr="max_lr",
                     start_momentum="max_momentum", end_momentum="base_momentum"),
                dict(end_step=total - 1, start_lr="max_lr", end_lr="min_lr",
                     start_momentum="base_momentum", end_momentum="max_momentum"),
            ]
        self._anneal_func_type = anneal_strategy

        n_groups = len(optimizer.param_groups)
        max_lrs = _per_group("OneCycleLR max_lr", max_lr, n_groups, schedule_non_negative)
        if last_epoch == -1:
            for group, peak in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = peak / div_factor
                group["max_lr"] = peak
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"OneCycleLR cycle_momentum=True needs an optimizer with momentum or betas, "
                                 f"got {type(optimizer).__name__} (pass cycle_momentum=False)")
            self.use_beta1 = "betas" in optimizer.defaults
            max_momentums = _per_group("OneCycleLR max_momentum", max_momentum, n_groups, schedule_non_negative)
            base_momentums = _per_group("OneCycleLR base_momentum", base_momentum, n_groups, schedule_non_negative)
            if last_epoch == -1:
                for top, low, group in zip(max_momentums, base_momentums, optimizer.param_groups):
                    if self.use_beta1:
                        group["betas"] = (top, *group["betas"][1:])
                    else:
                        group["momentum"] = top
                    group["max_momentum"] = top
                    group["base_momentum"] = low
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list:
        step_num = self.last_epoch
        if step_num > self.total_steps:
            raise ValueError(f"OneCycleLR was stepped {step_num} times, but total_steps is {self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end_step = phase["end_step"]
                if step_num <= end_step or i == len(self._schedule_phases) - 1:
                    if end_step == start_step:
                        raise ValueError(
                            f"OneCycleLR phase {i} has length zero (it ends at step {end_step}, where the one "
                            f"before ended) with total_steps={self.total_steps}: choose another pct_start"
                        )
                    pct = (step_num - start_step) / (end_step - start_step)
                    lr = self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct)
                    if self.cycle_momentum:
                        momentum = self._anneal(group[phase["start_momentum"]], group[phase["end_momentum"]], pct)
                    break
                start_step = phase["end_step"]
            lrs.append(lr)
            if self.cycle_momentum:
                if self.use_beta1:
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum
        return lrs


class ReduceLROnPlateau(LRScheduler):
    r"""Multiply each group's lr by ``factor`` when a metric has stopped improving.

    Call ``step(metric)`` once per epoch with the validation loss (``mode='min'``) or accuracy
    (``mode='max'``). A value is an improvement on the best so far when it beats it by the
    threshold: ``'rel'`` mode: $m < \text{best}\,(1 - \text{threshold})$ (``'min'``) or
    $m > \text{best}\,(1 + \text{threshold})$ (``'max'``); ``'abs'`` mode:
    $m < \text{best} - \text{threshold}$ or $m > \text{best} + \text{threshold}$. After more than
    ``patience`` epochs in a row without one, every lr becomes $\max(\eta\cdot\text{factor},
    \text{min\_lr})$ (a change smaller than ``eps`` is skipped), and ``cooldown`` epochs follow
    during which bad epochs are not counted. PyTorch's exact rule.

    Args:
        optimizer: the wrapped optimizer.
        mode: ``'min'`` (default) or ``'max'``.
        factor: the factor in $[0, 1)$ (default 0.1).
        patience: the number of epochs without improvement tolerated (an int >= 0, default 10).
        threshold: what counts as an improvement (default 1e-4).
        threshold_mode: ``'rel'`` (default) or ``'abs'``.
        cooldown: epochs to wait after a reduction (an int >= 0, default 0).
        min_lr: the lower bound, one for all groups or a list with one per group (default 0).
        eps: the smallest change of lr that is applied (default 1e-8).

    Differences from PyTorch: a negative ``factor`` is refused (PyTorch checks only < 1).

    Raises:
        ValueError: on an out-of-range option or an unknown mode / threshold_mode.
        TypeError: if an option or the metric is not a real number.
    """

    SETTINGS = {"factor": schedule_plateau_factor, "patience": schedule_count, "cooldown": schedule_count,
                "eps": schedule_non_negative}

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0, min_lr=0,
                 eps: float = 1e-8):
        # Not LRScheduler.__init__: there are no base_lrs and no constructor step, as in PyTorch.
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"ReduceLROnPlateau expected a chainrule.optim.Optimizer, got {type(optimizer).__name__}")
        self._set(factor=factor)
        self.optimizer = optimizer
        n_groups = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            self.default_min_lr = None
            self.min_lrs = _per_group("ReduceLROnPlateau min_lr", min_lr, n_groups, schedule_non_negative)
        else:
            self.default_min_lr = schedule_non_negative("ReduceLROnPlateau min_lr", min_lr)
            self.min_lrs = [min_lr] * n_groups
        self._set(patience=patience, cooldown=cooldown, eps=eps)
        self.last_epoch = 0
        self._last_lr = self._current_lrs()
        self._init_is_better(mode, threshold, threshold_mode)
        self._reset()

    def _init_is_better(self, mode, threshold, threshold_mode) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        schedule_real_in("ReduceLROnPlateau threshold", threshold)
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode

    def _reset(self) -> None:
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def step(self, metrics) -> None:
        """Record one epoch's metric and reduce the learning rates if it is time to.

        Args:
            metrics: the epoch's value of the monitored quantity (a real number, or a 0-d array).
        """
        try:
            current = float(metrics)
        except (TypeError, ValueError):
            raise TypeError(f"ReduceLROnPlateau.step expected the metric as a real number, got {metrics!r}") from None
        self.last_epoch += 1
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._current_lrs()

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def _is_better(self, a: float, best: float) -> bool:
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def _reduce_lr(self) -> None:
        if len(self.optimizer.param_groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(
                    f"ReduceLROnPlateau has {len(self.min_lrs)} min_lrs, but the optimizer now has "
                    f"{len(self.optimizer.param_groups)} param groups (one was added): set min_lrs to match"
                )
            self.min_lrs = [self.default_min_lr] * len(self.optimizer.param_groups)
        for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                group["lr"] = new_lr

    def _state_checks(self) -> dict:
        n_groups = len(self.optimizer.param_groups)

        def real(subject, value):
            return schedule_real_in(subject, value)

        def count(subject, value):
            return schedule_int(subject, value, minimum=0)

        def min_lrs(subject, value):
            return _per_group(subject, list(value) if isinstance(value, (list, tuple)) else [value] * n_groups,
                              n_groups, schedule_non_negative)

        return {
            "last_epoch": count, "_last_lr": lambda s, v: schedule_lr_list(s, v, n_groups),
            **self.SETTINGS,
            "cooldown_counter": count, "num_bad_epochs": count, "best": real, "mode_worse": real,
            "threshold": real, "min_lrs": min_lrs,
        }

    def load_state_dict(self, state_dict: dict) -> None:
        """As :meth:`LRScheduler.load_state_dict`; ``mode`` and ``threshold_mode`` are checked too."""
        if isinstance(state_dict, dict):
            self._check_modes(state_dict.get("mode", self.mode), state_dict.get("threshold_mode", self.threshold_mode))
        super().load_state_dict(state_dict)

    @staticmethod
    def _check_modes(mode, threshold_mode) -> None:
        if mode not in ("min", "max") or threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau.load_state_dict 'mode' must be 'min' or 'max' and 'threshold_mode' "
                             f"'rel' or 'abs', got {mode!r} and {threshold_mode!r}")


class SequentialLR(LRScheduler):
    r"""Run ``schedulers`` one after another, switching at the ``milestones`` epochs.

    Scheduler $i$ runs from milestone $i - 1$ (epoch 0 for the first) until milestone $i$; at
    its milestone it restarts at its own epoch 0 (from its closed form where it has one, as in
    PyTorch), so e.g. ``SequentialLR(opt, [LinearLR(opt, 0.1, total_iters=5),
    CosineAnnealingLR(opt, T_max=95)], milestones=[5])`` is a linear warm-up followed by a
    cosine decay. The constructor resets every group's lr to its ``initial_lr`` and undoes the
    constructor step of every scheduler given, as PyTorch does.

    Args:
        optimizer: the wrapped optimizer (every scheduler must wrap it).
        schedulers: a non-empty list of schedulers (not ReduceLROnPlateau).
        milestones: ``len(schedulers) - 1`` increasing epoch indices (ints >= 0).
        last_epoch: see :class:`LRScheduler`.

    Differences from PyTorch: unsorted milestones (which PyTorch's bisection silently
    misreads) are refused.

    Raises:
        TypeError: if a scheduler is not an LRScheduler or a milestone is not an int.
        ValueError: if schedulers is empty, holds a ReduceLROnPlateau or one of another
            optimizer, or the number or order of milestones is wrong.
    """

    def __init__(self, optimizer: Optimizer, schedulers, milestones, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"SequentialLR expected a chainrule.optim.Optimizer, got {type(optimizer).__name__}")
        schedulers = list(schedulers) if isinstance(schedulers, (list, tuple)) else schedulers
        if not isinstance(schedulers, list) or len(schedulers) < 1:
            raise ValueError(f"SequentialLR expects a non-empty list of schedulers, got {schedulers!r}")
        for i, scheduler in enumerate(schedulers):
            if not isinstance(scheduler, LRScheduler):
                raise TypeError(f"SequentialLR schedulers[{i}] must be a learning-rate scheduler, "
                                f"got {type(scheduler).__name__}")
            if isinstance(scheduler, ReduceLROnPlateau):
                raise ValueError(f"SequentialLR schedulers[{i}] is a ReduceLROnPlateau, which needs a metric at "
                                 f"each step: it cannot be sequenced")
            if scheduler.optimizer is not optimizer:
                raise ValueError(f"SequentialLR schedulers[{i}] ({type(scheduler).__name__}) wraps another optimizer "
                                 f"than the one given to SequentialLR")
        self._milestones = schedule_sequence_milestones("SequentialLR milestones", milestones)
        if len(self._milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR needs one milestone fewer than schedulers, got {len(schedulers)} "
                             f"schedulers and {len(self._milestones)} milestones")
        schedule_int("SequentialLR last_epoch", last_epoch, minimum=-1)
        self._schedulers = schedulers
        self.last_epoch = int(last_epoch) + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:  # back to the initial learning rates
            group["lr"] = group["initial_lr"]
        self._undo_constructor_steps(self)
        idx = bisect.bisect_right(self._milestones, 0)  # only the scheduler of epoch 0 takes its first step
        self._schedulers[idx]._initial_step()
        self._last_lr = self._schedulers[idx].get_last_lr()

    def _undo_constructor_steps(self, scheduler) -> None:
        """Move every (nested) scheduler's epoch back by one: their constructors each took a step."""
        if isinstance(scheduler, SequentialLR):
            for inner in scheduler._schedulers:
                self._undo_constructor_steps(inner)
        else:
            scheduler.last_epoch -= 1

    def step(self) -> None:
        """Advance one epoch: step the scheduler whose turn it is, or restart the next one at a milestone."""
        self.last_epoch += 1
        idx = bisect.bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)  # its epoch 0
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict:
        """Its own epoch, milestones and last lrs, and each scheduler's ``state_dict`` under
        ``'_schedulers'`` (PyTorch's layout)."""
        state = {key: copy.deepcopy(value) for key, value in self.__dict__.items()
                 if key not in ("optimizer", "_is_initial", "_schedulers")}
        state["_schedulers"] = [scheduler.state_dict() for scheduler in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what :meth:`state_dict` returned, every scheduler's state included; checks
        all of it before changing anything."""
        if not isinstance(state_dict, dict):
            raise TypeError(f"SequentialLR.load_state_dict expected a dict, got {type(state_dict).__name__}")
        inner = state_dict.get("_schedulers", [])
        if "_schedulers" in state_dict and (not isinstance(inner, (list, tuple)) or len(inner) != len(self._schedulers)):
            raise ValueError(f"SequentialLR.load_state_dict '_schedulers' must be a list of {len(self._schedulers)} "
                             f"state dicts, got {inner!r}")
        # Check by loading into copies first, so that a bad entry changes nothing.
        trial = [copy.deepcopy({k: v for k, v in s.__dict__.items() if k != "optimizer"}) for s in self._schedulers]
        try:
            for scheduler, state in zip(self._schedulers, inner):
                scheduler.load_state_dict(state)
            super().load_state_dict({key: value for key, value in state_dict.items() if key != "_schedulers"})
        except Exception:
            for scheduler, saved in zip(self._schedulers, trial):
                scheduler.__dict__.update(saved)
            raise

    def _state_checks(self) -> dict:
        n_groups = len(self.optimizer.param_groups)
        return {
            "last_epoch": lambda subject, value: schedule_int(subject, value, minimum=0),
            "_last_lr": lambda subject, value: schedule_lr_list(subject, value, n_groups),
            "_milestones": schedule_sequence_milestones,
        }


