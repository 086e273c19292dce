r"""Learning-rate schedulers: change each param group's ``lr`` once per epoch, as PyTorch.

Call ``scheduler.step()`` once per epoch, *after* that epoch's ``optimizer.step()`` calls::

    opt = SGD(model.parameters(), lr=0.1)
    sched = StepLR(opt, step_size=30, gamma=0.1)
    for epoch in range(100):
        train_one_epoch(...)      # opt.step() inside
        sched.step()

Every scheduler takes the optimizer whose learning rates it sets first and ``last_epoch`` (see
:class:`LRScheduler`) last. Most compute their schedule as PyTorch does, *recursively*: the lr
times the ratio of this epoch's factor to the last one's (each class gives both), so that they
compose with other changes to the lr and agree with PyTorch's values.

Every argument, and every value a state dict brings back, is checked (``SETTINGS``): a wrong
type is a ``TypeError``, a value out of range a ``ValueError``, naming the class, the setting
and the value (``StepLR gamma must be >= 0, got -0.1``). Refused although PyTorch accepts them:
values it then divides by zero with (``total_iters=0`` of LinearLR and PolynomialLR, a negative
PolynomialLR ``power``, ConstantLR ``factor=0``, a OneCycleLR phase of length zero), a negative
ReduceLROnPlateau ``factor`` and unsorted SequentialLR milestones (its bisection misreads them).
"""

from __future__ import annotations

import bisect
import copy
import math
import types

from .._checks import (
    schedule_any_real, schedule_bool, schedule_callable, schedule_choice, schedule_count, schedule_cycle_length,
    schedule_cycle_step, schedule_cycled_momentum, schedule_epoch, schedule_eta_min, schedule_gamma,
    schedule_last_epoch, schedule_lr_list, schedule_metric, schedule_milestones, schedule_min_lrs,
    schedule_non_negative, schedule_optimizer, schedule_per_group, schedule_phase_length,
    schedule_plateau_factor, schedule_positive, schedule_positive_int, schedule_saved_lambdas,
    schedule_saved_schedulers, schedule_sequence, schedule_sequence_milestone_count,
    schedule_sequence_milestones, schedule_start_factor, schedule_state_dict, schedule_unit_factor,
)
from .optimizer import Optimizer

__all__ = ["LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "MultiStepLR", "LambdaLR",
           "LinearLR", "ConstantLR", "PolynomialLR", "OneCycleLR", "ReduceLROnPlateau", "SequentialLR"]


class LRScheduler:
    r"""Base class of the schedulers: subclasses implement :meth:`get_lr`.

    Args:
        optimizer: the :class:`~chainrule.optim.Optimizer` whose learning rates to set.
        last_epoch: index of the last epoch seen; ``-1`` (the default) starts a new schedule,
            recording each group's ``lr`` as ``group['initial_lr']`` and keeping it (epoch 0).
            A value ``>= 0`` resumes one and needs ``'initial_lr'`` in every param group (from
            the optimizer's ``load_state_dict``); as in PyTorch, the constructor then steps once,
            to epoch ``last_epoch + 1``, keeping the current lr (StepLR decays it if that epoch
            is a multiple of step_size). To continue a schedule exactly, prefer :meth:`load_state_dict`.
        **settings: a subclass's settings (``StepLR``: ``step_size``, ``gamma``), each checked
            by its declared check (:attr:`SETTINGS`) and kept as an attribute.

    Attributes:
        base_lrs: each group's ``initial_lr``.
        last_epoch: the epoch the current learning rates belong to.
        SETTINGS: every value the scheduler checks, declared once: name -> ``check(subject,
            value)`` (also given the number of param groups where the check ``needs_groups``).
    """

    SETTINGS: dict = {"last_epoch": schedule_epoch, "_step_count": schedule_count,
                      "base_lrs": schedule_lr_list, "_last_lr": schedule_lr_list}
    _NOT_STATE = ("optimizer", "_is_initial")  # what state_dict leaves out

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1, **settings):
        self._set(**settings)
        name = type(self).__name__
        self.optimizer = schedule_optimizer(name, optimizer)
        last_epoch = schedule_last_epoch(name, last_epoch, optimizer.param_groups)
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _check(self, key: str, value, subject: str | None = None):
        """``value`` through ``key``'s declared check; an error names ``subject`` (default: "StepLR gamma")."""
        check, subject = self.SETTINGS[key], subject or f"{type(self).__name__} {key}"
        if getattr(check, "needs_groups", False):
            return check(subject, value, len(self.optimizer.param_groups))
        return check(subject, value)

    def _checked(self, **values) -> list:
        """Constructor arguments, each through its declared check."""
        return [self._check(key, value) for key, value in values.items()]

    def _set(self, **values) -> None:
        """Check constructor arguments and keep them as attributes."""
        self.__dict__.update(zip(values, self._checked(**values)))

    def _initial_step(self) -> None:
        """The constructor's step to epoch ``last_epoch + 1`` (SequentialLR's, at a scheduler's epoch 0)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list:
        """The learning rates for epoch ``self.last_epoch``, computed by :meth:`step` after it advances
        ``last_epoch`` (read them with :meth:`get_last_lr`): here the current ones times :meth:`_factor`."""
        factor = self._factor()
        return [lr * factor for lr in self._current_lrs()]

    def _factor(self) -> float:
        """The ratio of this epoch's learning rate to the last one's, for a recursive schedule."""
        raise NotImplementedError(f"{type(self).__name__} does not implement get_lr()")

    def step(self) -> None:
        """Advance one epoch and write the new learning rate into every param group."""
        self._step_count += 1
        self._update_lr()

    def _update_lr(self, epoch: int | None = None) -> None:
        """Move to the next epoch (or to ``epoch``, from the closed form where there is one, as
        :class:`SequentialLR` restarts a scheduler) and write the lrs into the param groups."""
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            values = self._get_closed_form_lr() if hasattr(self, "_get_closed_form_lr") else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            group["lr"] = lr
        self._last_lr = self._current_lrs()

    def get_last_lr(self) -> list:
        """The learning rate of each param group as last set by this scheduler."""
        return list(self._last_lr)

    def _current_lrs(self) -> list:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        """Everything but the optimizer (whose own ``state_dict`` holds the ``lr`` values), as
        numbers and lists, so that :func:`chainrule.save` can write it."""
        return {key: copy.deepcopy(value) for key, value in self.__dict__.items() if key not in self._NOT_STATE}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what :meth:`state_dict` returned (or some of its keys, as in PyTorch). Every
        value passes its declared check before anything changes (a ``last_epoch`` of ``"3"``
        would otherwise fail only at the next :meth:`step`); an unknown key is a ``ValueError``."""
        name = f"{type(self).__name__}.load_state_dict"
        schedule_state_dict(name, state_dict, self.state_dict())
        self._restore({key: self._check(key, value, f"{name} {key!r}") if key in self.SETTINGS
                       else copy.deepcopy(value) for key, value in state_dict.items()})

    def _restore(self, state: dict) -> None:
        """Take over a checked state dict."""
        self.__dict__.update(state)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, last_lr={self._last_lr})"


class StepLR(LRScheduler):
    r"""Multiply each group's lr by ``gamma`` every ``step_size`` epochs.

    $$\eta_t = \eta_0 \, \gamma^{\lfloor t / \text{step\_size} \rfloor}$$

    Recursively: the lr is multiplied by $\gamma$ at every multiple of ``step_size``.

    Args:
        step_size: period of the decay, in epochs (a positive int).
        gamma: multiplicative factor, $\ge 0$ (default 0.1).
    """

    SETTINGS = {**LRScheduler.SETTINGS, "step_size": schedule_positive_int, "gamma": schedule_gamma}

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        super().__init__(optimizer, last_epoch, step_size=step_size, gamma=gamma)

    def _factor(self) -> float:
        return self.gamma if self.last_epoch > 0 and self.last_epoch % self.step_size == 0 else 1

    def _get_closed_form_lr(self) -> list:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    r"""Multiply each group's lr by ``gamma`` every epoch: $\eta_t = \eta_0 \gamma^t$.

    Args:
        gamma: multiplicative factor, $\ge 0$.
    """

    SETTINGS = {**LRScheduler.SETTINGS, "gamma": schedule_gamma}

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        super().__init__(optimizer, last_epoch, gamma=gamma)

    def _factor(self) -> float:
        return 1 if self._is_initial else self.gamma

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

    Args:
        T_max: half the period, in epochs (a positive int).
        eta_min: the minimum learning rate, a real number (default 0).
    """

    SETTINGS = {**LRScheduler.SETTINGS, "T_max": schedule_positive_int, "eta_min": schedule_eta_min}

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        super().__init__(optimizer, last_epoch, T_max=T_max, eta_min=eta_min)

    def get_lr(self) -> list:
        t, t_max, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current_lrs()
        if self._step_count == 1 and t > 0:
            return self._get_closed_form_lr()  # for a schedule that starts mid-way
        if (t - 1 - t_max) % (2 * t_max) == 0:
            # leaving the minimum: cos((t-1)π/T_max) = -1 would divide by zero below
            return [lr + (base - eta_min) * (1 - math.cos(math.pi / t_max)) / 2
                    for base, lr in zip(self.base_lrs, self._current_lrs(), strict=True)]
        ratio = (1 + math.cos(math.pi * t / t_max)) / (1 + math.cos(math.pi * (t - 1) / t_max))
        return [ratio * (lr - eta_min) + eta_min for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list:
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    r"""Multiply each group's lr by ``gamma`` at each milestone epoch:
    $\eta_t = \eta_0\,\gamma^{\#\{m \in \text{milestones}:\ m \le t\}}$.

    Recursively: the lr is multiplied by $\gamma^k$ at a milestone listed $k$ times.

    Args:
        milestones: epoch indices (ints, in any order; repeats count).
        gamma: multiplicative factor, $\ge 0$ (default 0.1).
    """

    SETTINGS = {**LRScheduler.SETTINGS, "milestones": schedule_milestones, "gamma": schedule_gamma}

    def __init__(self, optimizer: Optimizer, milestones, gamma: float = 0.1, last_epoch: int = -1):
        super().__init__(optimizer, last_epoch, milestones=milestones, gamma=gamma)

    def _factor(self) -> float:
        return self.gamma ** self.milestones[self.last_epoch] if self.last_epoch in self.milestones else 1

    def _get_closed_form_lr(self) -> list:
        milestones = sorted(self.milestones.elements())
        return [base * self.gamma ** bisect.bisect_right(milestones, self.last_epoch) for base in self.base_lrs]


class LambdaLR(LRScheduler):
    r"""Each group's lr is its initial lr times a function of the epoch:
    $\eta_t = \eta_0\,\lambda(t)$.

    Args:
        lr_lambda: a function of the epoch (an int) returning a factor, or a list of such
            functions, one per param group.

    :meth:`state_dict` holds ``None`` for each plain function (functions are code, not
    state) and the ``__dict__`` of a callable object, as PyTorch's does; loading it keeps
    this scheduler's own functions.
    """

    SETTINGS = {**LRScheduler.SETTINGS, "lr_lambda": schedule_per_group(schedule_callable),
                "lr_lambdas": schedule_saved_lambdas}
    _NOT_STATE = LRScheduler._NOT_STATE + ("lr_lambdas",)

    def __init__(self, optimizer: Optimizer, lr_lambda, last_epoch: int = -1):
        self.optimizer = schedule_optimizer("LambdaLR", optimizer)
        self.lr_lambdas = self._check("lr_lambda", lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        return [base * lmbda(self.last_epoch) for lmbda, base in zip(self.lr_lambdas, self.base_lrs, strict=True)]

    def state_dict(self) -> dict:
        return {**super().state_dict(), "lr_lambdas": [
            None if isinstance(fn, types.FunctionType) else copy.deepcopy(fn.__dict__) for fn in self.lr_lambdas]}

    def _restore(self, state: dict) -> None:
        for fn, entry in zip(self.lr_lambdas, state.pop("lr_lambdas", [])):
            if entry is not None:
                fn.__dict__.update(copy.deepcopy(entry))
        super()._restore(state)


class LinearLR(LRScheduler):
    r"""Scale each group's lr by a factor that moves linearly from ``start_factor`` to
    ``end_factor`` over ``total_iters`` epochs, then stays:

    $$\eta_t = \eta_0\left(s + (e - s)\,\frac{\min(t, T)}{T}\right).$$

    Recursively: the lr at epoch $1 \le t \le T$ is multiplied by $1 + \dfrac{e - s}{T s + (t - 1)(e - s)}$.

    Args:
        start_factor: $s \in (0, 1]$ (default 1/3).
        end_factor: $e \in [0, 1]$ (default 1.0).
        total_iters: $T$, the number of epochs the change takes (a positive int, default 5).
    """

    SETTINGS = {**LRScheduler.SETTINGS, "start_factor": schedule_start_factor, "end_factor": schedule_unit_factor,
                "total_iters": schedule_positive_int}

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1):
        super().__init__(optimizer, last_epoch, start_factor=start_factor, end_factor=end_factor,
                         total_iters=total_iters)

    def _factor(self) -> float:
        t, s, e, total = self.last_epoch, self.start_factor, self.end_factor, self.total_iters
        if t == 0:
            return s
        if self._is_initial or t > total:
            return 1
        return 1.0 + (e - s) / (total * s + (t - 1) * (e - s))

    def _get_closed_form_lr(self) -> list:
        t, s, e, total = self.last_epoch, self.start_factor, self.end_factor, self.total_iters
        return [base * (s + (e - s) * min(total, t) / total) for base in self.base_lrs]


class ConstantLR(LRScheduler):
    r"""Scale each group's lr by ``factor`` for the first ``total_iters`` epochs, then restore it:
    $\eta_t = \eta_0 \cdot f$ for $t < T$, $\eta_0$ from $t = T$ on.

    Recursively: the lr is multiplied by $f$ at epoch 0 and by $1/f$ at epoch $T$.

    Args:
        factor: $f \in (0, 1]$ (default 1/3).
        total_iters: $T$, the number of epochs scaled (an int >= 0, default 5).
    """

    SETTINGS = {**LRScheduler.SETTINGS, "factor": schedule_start_factor, "total_iters": schedule_count}

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5, last_epoch: int = -1):
        super().__init__(optimizer, last_epoch, factor=factor, total_iters=total_iters)

    def _factor(self) -> float:
        if self.last_epoch == 0:
            return self.factor
        return 1.0 / self.factor if self.last_epoch == self.total_iters else 1

    def _get_closed_form_lr(self) -> list:
        return [base * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor))
                for base in self.base_lrs]


class PolynomialLR(LRScheduler):
    r"""Decay each group's lr polynomially to 0 over ``total_iters`` epochs, then keep it:

    $$\eta_t = \eta_0 \left(1 - \frac{\min(t, T)}{T}\right)^{p}.$$

    Recursively: the lr at epoch $1 \le t \le T$ is multiplied by $\left(\dfrac{1 - t/T}{1 - (t-1)/T}\right)^p$.

    Args:
        total_iters: $T$, the number of epochs of decay (a positive int, default 5).
        power: $p \ge 0$ (default 1.0, a linear decay).
    """

    SETTINGS = {**LRScheduler.SETTINGS, "total_iters": schedule_positive_int, "power": schedule_non_negative}

    def __init__(self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1):
        super().__init__(optimizer, last_epoch, total_iters=total_iters, power=power)

    def _factor(self) -> float:
        t, total = self.last_epoch, self.total_iters
        if self._is_initial or t > total:
            return 1
        return ((1.0 - t / total) / (1.0 - (t - 1) / total)) ** self.power

    def _get_closed_form_lr(self) -> list:
        return [base * (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters) ** self.power
                for base in self.base_lrs]


class OneCycleLR(LRScheduler):
    r"""The 1cycle policy (Smith & Topin, 2018), stepped once per *batch* for ``total_steps`` steps:
    warm the lr up from ``max_lr / div_factor`` to ``max_lr``, then anneal it to
    ``max_lr / (div_factor * final_div_factor)``; the momentum (or Adam's $\beta_1$) moves the opposite way.

    Each phase runs from step $a$ to step $b$ (PyTorch's boundaries: the warm-up ends at step
    $\texttt{pct\_start}\cdot T - 1$, the last phase at $T - 1$) and anneals from a start value
    to an end value with $p = (t - a)/(b - a)$:

    $$\text{cos: } \eta = \eta_{\text{end}} + \tfrac12(\eta_{\text{start}} - \eta_{\text{end}})
        (1 + \cos \pi p), \qquad \text{linear: } \eta = (\eta_{\text{end}} - \eta_{\text{start}})\,p
        + \eta_{\text{start}}.$$

    Two phases: initial → max → min; ``three_phase``: initial → max → initial, then → min. The
    constructor writes ``initial_lr``, ``max_lr``, ``min_lr`` into every param group (with
    ``cycle_momentum`` also ``max_momentum`` and ``base_momentum``, and sets the momentum).

    Args:
        max_lr: the peak lr, one for all groups or a list with one per group.
        total_steps: $T$, the number of steps of the cycle (a positive int); or None, and
            $T$ is ``epochs * steps_per_epoch`` (both positive ints).
        pct_start: the fraction of the cycle spent warming up, any real number in $[0, 1]$
            (PyTorch requires a float; default 0.3).
        anneal_strategy: ``'cos'`` (default) or ``'linear'``.
        cycle_momentum: cycle the optimizer's ``momentum`` (SGD, RMSprop) or ``betas[0]``
            (Adam, AdamW) from ``max_momentum`` (default 0.95) to ``base_momentum`` (default
            0.85, each one for all groups or a list) at the peak lr and back (default True).
        div_factor: ``initial_lr = max_lr / div_factor`` (default 25).
        final_div_factor: ``min_lr = initial_lr / final_div_factor`` (default 1e4).
        last_epoch: see :class:`LRScheduler` (here it counts batches; a step beyond
            ``total_steps`` is a ``ValueError``).
    """

    SETTINGS = {**LRScheduler.SETTINGS, "pct_start": schedule_unit_factor,
                "_anneal_func_type": schedule_choice("cos", "linear"),
                **dict.fromkeys(("total_steps", "epochs", "steps_per_epoch"), schedule_positive_int),
                **dict.fromkeys(("cycle_momentum", "three_phase", "use_beta1"), schedule_bool),
                **dict.fromkeys(("div_factor", "final_div_factor"), schedule_positive),
                **dict.fromkeys(("max_lr", "base_momentum", "max_momentum"), schedule_per_group(schedule_non_negative))}

    def __init__(self, optimizer: Optimizer, max_lr, total_steps: int | None = None, epochs: int | None = None,
                 steps_per_epoch: int | None = None, pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum=0.85, max_momentum=0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False, last_epoch: int = -1):
        self.optimizer = schedule_optimizer("OneCycleLR", optimizer)
        schedule_cycle_length(total_steps, epochs, steps_per_epoch)
        total = self.total_steps = (self._check("total_steps", total_steps) if total_steps is not None else
                                    self._check("epochs", epochs) * self._check("steps_per_epoch", steps_per_epoch))
        pct_start = float(self._check("pct_start", pct_start))
        self._anneal_func_type = self._check("_anneal_func_type", anneal_strategy, "OneCycleLR anneal_strategy")
        self.cycle_momentum, three_phase, div_factor, final_div_factor, max_lrs = self._checked(
            cycle_momentum=cycle_momentum, three_phase=three_phase, div_factor=div_factor,
            final_div_factor=final_div_factor, max_lr=max_lr)
        # PyTorch's phases: the step each ends at, and the group keys it anneals between.
        up, down, end = float(pct_start * total) - 1, float(2 * pct_start * total) - 2, total - 1
        phases = ([(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                   (down, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                   (end, "initial_lr", "min_lr", "max_momentum", "max_momentum")] if three_phase else
                  [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                   (end, "max_lr", "min_lr", "base_momentum", "max_momentum")])
        keys = ("end_step", "start_lr", "end_lr", "start_momentum", "end_momentum")
        self._schedule_phases = [dict(zip(keys, phase)) for phase in phases]
        if last_epoch == -1:
            for group, peak in zip(optimizer.param_groups, max_lrs):
                group.update(initial_lr=peak / div_factor, max_lr=peak, min_lr=peak / div_factor / final_div_factor)
        if self.cycle_momentum:
            self.use_beta1 = schedule_cycled_momentum(optimizer)
            max_momentums, base_momentums = self._checked(max_momentum=max_momentum, base_momentum=base_momentum)
            if last_epoch == -1:
                for top, low, group in zip(max_momentums, base_momentums, optimizer.param_groups):
                    self._set_momentum(group, top)
                    group.update(max_momentum=top, base_momentum=low)
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group: dict, momentum: float) -> None:
        if self.use_beta1:
            group["betas"] = (momentum, *group["betas"][1:])
        else:
            group["momentum"] = momentum

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list:
        t, phases = self.last_epoch, self._schedule_phases
        schedule_cycle_step(t, self.total_steps)
        i = next(i for i, phase in enumerate(phases) if t <= phase["end_step"] or i == len(phases) - 1)
        phase, start_step = phases[i], phases[i - 1]["end_step"] if i > 0 else 0.0
        schedule_phase_length(i, start_step, phase["end_step"], self.total_steps)
        pct = (t - start_step) / (phase["end_step"] - start_step)
        if self.cycle_momentum:  # the opposite way: from max_momentum down while the lr rises
            for group in self.optimizer.param_groups:
                start, end = group[phase["start_momentum"]], group[phase["end_momentum"]]
                self._set_momentum(group, self._anneal(start, end, pct))
        return [self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct)
                for group in self.optimizer.param_groups]


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
        mode: ``'min'`` (default) or ``'max'``.
        factor: the factor in $[0, 1)$ (default 0.1).
        patience: the number of epochs without improvement tolerated (an int >= 0, default 10).
        threshold: what counts as an improvement, a real number (default 1e-4).
        threshold_mode: ``'rel'`` (default) or ``'abs'``.
        cooldown: epochs to wait after a reduction (an int >= 0, default 0).
        min_lr: the lower bound, $\ge 0$: one for all groups or a list with one per group (default 0).
        eps: the smallest change of lr that is applied, $\ge 0$ (default 1e-8).
    """

    SETTINGS = {**LRScheduler.SETTINGS, "factor": schedule_plateau_factor, "eps": schedule_non_negative,
                "min_lrs": schedule_per_group(schedule_non_negative),
                "mode": schedule_choice("min", "max"), "threshold_mode": schedule_choice("rel", "abs"),
                **dict.fromkeys(("last_epoch", "patience", "cooldown", "cooldown_counter", "num_bad_epochs"),
                                schedule_count),
                **dict.fromkeys(("threshold", "best", "mode_worse"), schedule_any_real)}

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0, min_lr=0,
                 eps: float = 1e-8):
        # Not LRScheduler.__init__: there are no base_lrs and no constructor step, as in PyTorch.
        self.optimizer = schedule_optimizer("ReduceLROnPlateau", optimizer)
        self._set(factor=factor)
        self.default_min_lr = None if isinstance(min_lr, (list, tuple)) else min_lr
        self.min_lrs = self._check("min_lrs", min_lr, "ReduceLROnPlateau min_lr")
        self._set(patience=patience, cooldown=cooldown, eps=eps, mode=mode, threshold_mode=threshold_mode,
                  threshold=threshold)
        self.last_epoch = 0
        self._last_lr = self._current_lrs()
        self.best = self.mode_worse = math.inf if mode == "min" else -math.inf
        self.cooldown_counter = self.num_bad_epochs = 0

    def step(self, metrics) -> None:
        """Record one epoch's metric (a real number, or a 0-d array) and reduce the learning rates
        if it is time to."""
        current = schedule_metric(metrics)
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
        if self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold) if self.mode == "min" else a > best * (self.threshold + 1.0)
        return a < best - self.threshold if self.mode == "min" else a > best + self.threshold

    def _reduce_lr(self) -> None:
        self.min_lrs = schedule_min_lrs(self.min_lrs, self.default_min_lr, len(self.optimizer.param_groups))
        for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                group["lr"] = new_lr


class SequentialLR(LRScheduler):
    r"""Run ``schedulers`` one after another, switching at the ``milestones`` epochs.

    Scheduler $i$ runs from milestone $i - 1$ (epoch 0 for the first) until milestone $i$; at
    its milestone it restarts at its own epoch 0 (from its closed form where it has one, as in
    PyTorch), so e.g. ``SequentialLR(opt, [LinearLR(opt, 0.1, total_iters=5),
    CosineAnnealingLR(opt, T_max=95)], milestones=[5])`` is a linear warm-up followed by a
    cosine decay. The constructor resets every group's lr to its ``initial_lr`` and undoes the
    constructor step of every scheduler given, as PyTorch does.

    Args:
        schedulers: a non-empty list of schedulers of the same optimizer (not ReduceLROnPlateau).
        milestones: ``len(schedulers) - 1`` increasing epoch indices (ints >= 0).
    """

    SETTINGS = {**LRScheduler.SETTINGS, "last_epoch": schedule_count, "_milestones": schedule_sequence_milestones}
    _NOT_STATE = LRScheduler._NOT_STATE + ("_schedulers",)

    def __init__(self, optimizer: Optimizer, schedulers, milestones, last_epoch: int = -1):
        self._schedulers = schedule_sequence(schedule_optimizer("SequentialLR", optimizer), schedulers)
        self._milestones = self._check("_milestones", milestones, "SequentialLR milestones")
        schedule_sequence_milestone_count(self._schedulers, self._milestones)
        self.last_epoch = schedule_epoch("SequentialLR last_epoch", last_epoch) + 1
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
        """Its own epoch, milestones and lrs, and each scheduler's under ``'_schedulers'`` (PyTorch's layout)."""
        return {**super().state_dict(), "_schedulers": [scheduler.state_dict() for scheduler in self._schedulers]}

    def _restore(self, state: dict) -> None:
        """Every scheduler's state first (each checks its own; if one fails, all are put back), then its own."""
        inner = state.pop("_schedulers", [{}] * len(self._schedulers))  # {}: nothing to load
        schedule_saved_schedulers("SequentialLR.load_state_dict '_schedulers'", inner, len(self._schedulers))
        before = [copy.deepcopy({k: v for k, v in s.__dict__.items() if k != "optimizer"}) for s in self._schedulers]
        try:
            for scheduler, saved in zip(self._schedulers, inner):
                scheduler.load_state_dict(saved)
        except Exception:
            for scheduler, saved in zip(self._schedulers, before):
                scheduler.__dict__.update(saved)
            raise
        super()._restore(state)
