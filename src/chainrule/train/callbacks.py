r"""History, the callback protocol, early stopping and checkpointing.

A callback is an object whose methods ``fit`` calls at fixed points of the loop, each with
the :class:`FitState` (the model, optimiser, history, the current epoch and batch, the
epoch's ``logs``). Setting ``state.stop_training = True`` ends training after the epoch::

    on_fit_begin
      on_epoch_begin
        on_batch_begin -> forward, loss, zero_grad, backward -> on_after_backward -> step -> on_batch_end
      (validation, scheduler) -> on_epoch_end        # state.logs holds the epoch's numbers
    on_fit_end                                       # always, also after an interrupt or error
"""

from __future__ import annotations

import math
import numbers
import os
import string
from dataclasses import dataclass, field
from typing import Any

__all__ = ["History", "FitState", "Callback", "EarlyStopping", "ModelCheckpoint"]

# The methods fit calls on every callback, in the order of a run.
CALLBACK_METHODS = ("on_fit_begin", "on_epoch_begin", "on_batch_begin", "on_after_backward",
                    "on_batch_end", "on_epoch_end", "on_fit_end")


class History:
    r"""Per-epoch records of a training run, as plain lists.

    ``history["loss"]``, ``history["val_loss"]``, ``history["accuracy"]``,
    ``history["val_accuracy"]``, ``history["time"]`` (seconds per epoch), ``history["lr"]``,
    plus whatever callbacks add (``GradientFlow`` adds ``grad_norm/<param>`` and friends).
    ``history.epoch`` lists the epoch indices. A key first seen at a later epoch is padded
    with ``None`` for the earlier ones, so every list has ``len(history)`` entries.

    Attributes:
        epoch: the epoch indices recorded (0-based).
        interrupted: True if training was stopped by ``KeyboardInterrupt``.
    """

    def __init__(self):
        self.epoch: list[int] = []
        self.history: dict[str, list] = {}
        self.interrupted = False

    def append(self, epoch: int, logs: dict) -> None:
        """Record one epoch's ``logs`` (a dict of numbers)."""
        n = len(self.epoch)
        self.epoch.append(int(epoch))
        for key, value in logs.items():
            column = self.history.setdefault(key, [None] * n)
            column.append(_plain(value))
        for column in self.history.values():
            if len(column) == n:
                column.append(None)

    def __getitem__(self, key: str) -> list:
        try:
            return self.history[key]
        except KeyError:
            raise KeyError(f"History has no key {key!r}; it has {sorted(self.history)}") from None

    def __contains__(self, key) -> bool:
        return key in self.history

    def __len__(self) -> int:
        return len(self.epoch)

    def keys(self):
        return self.history.keys()

    def to_dict(self) -> dict:
        """A copy as ``{"epoch": [...], key: [...]}``, plain Python numbers (JSON-ready)."""
        return {"epoch": list(self.epoch), **{key: list(values) for key, values in self.history.items()}}

    def __repr__(self) -> str:
        return f"History(epochs={len(self)}, keys={sorted(self.history)})"


def _plain(value):
    """A Python number for numpy scalars; other values as they are."""
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    return value


@dataclass
class FitState:
    """What a callback sees: the objects being trained and where the loop is.

    ``log_keys`` lists the keys every epoch's ``logs`` will hold (``fit`` fills it from its
    metrics and ``val_loader``); a callback that adds keys of its own may append them in
    ``on_fit_begin``, so that checks made before training (``ModelCheckpoint``'s path
    template) know them.
    """

    model: Any
    loss_fn: Any
    optimizer: Any
    history: History
    epochs: int
    epoch: int = 0
    batch: int = 0
    loss: float | None = None          # the last batch's loss
    output: Any = None                 # the last batch's model output
    logs: dict = field(default_factory=dict)  # the epoch's numbers, at on_epoch_end
    stop_training: bool = False
    log_keys: list | None = None       # the keys logs will hold; None: not known


class Callback:
    """Base class: every method does nothing; override the ones you need."""

    def on_fit_begin(self, state: FitState) -> None: ...
    def on_epoch_begin(self, state: FitState) -> None: ...
    def on_batch_begin(self, state: FitState) -> None: ...
    def on_after_backward(self, state: FitState) -> None: ...
    def on_batch_end(self, state: FitState) -> None: ...
    def on_epoch_end(self, state: FitState) -> None: ...
    def on_fit_end(self, state: FitState) -> None: ...


class _Monitor(Callback):
    """Tracks the best value of ``logs[monitor]`` (shared by EarlyStopping and ModelCheckpoint)."""

    def __init__(self, monitor: str, mode: str, min_delta: float = 0.0):
        name = type(self).__name__
        if not isinstance(monitor, str):
            raise TypeError(f"{name} monitor must be a history key such as 'val_loss', got {monitor!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"{name} mode must be 'min' or 'max', got {mode!r}")
        if isinstance(min_delta, bool) or not isinstance(min_delta, numbers.Real) or min_delta < 0:
            raise ValueError(f"{name} min_delta must be a number >= 0, got {min_delta!r}")
        self.monitor, self.mode, self.min_delta = monitor, mode, float(min_delta)
        self.best = math.inf if mode == "min" else -math.inf
        self.best_epoch = None

    def _current(self, state: FitState) -> float:
        if self.monitor not in state.logs:
            hint = " (pass val_loader= to fit)" if self.monitor.startswith("val_") else ""
            raise ValueError(
                f"{type(self).__name__} monitors {self.monitor!r}, which is not in the epoch's logs "
                f"{sorted(state.logs)}{hint}"
            )
        return float(state.logs[self.monitor])

    def _improved(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(_Monitor):
    r"""Stop training when ``monitor`` has not improved for ``patience`` epochs.

    "Improved" means below the best so far by more than ``min_delta`` (``mode="min"``) or
    above it (``mode="max"``); a NaN never improves. As Keras.

    Args:
        monitor: the history key to watch. Default ``"val_loss"`` (needs ``val_loader``).
        patience: epochs without improvement to allow before stopping. Default 0.
        mode: ``"min"`` (losses) or ``"max"`` (accuracies).
        min_delta: the smallest change that counts as an improvement. Default 0.
        restore_best_weights: at the end of training, load the weights of the best epoch
            (kept as a copy of ``model.state_dict()``). Default False.

    Attributes:
        best, best_epoch: the best value and its epoch.
        stopped_epoch: the epoch training stopped after, or None.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 0, mode: str = "min",
                 min_delta: float = 0.0, restore_best_weights: bool = False):
        super().__init__(monitor, mode, min_delta)
        if isinstance(patience, bool) or not isinstance(patience, numbers.Integral) or patience < 0:
            raise ValueError(f"EarlyStopping patience must be an int >= 0, got {patience!r}")
        self.patience = int(patience)
        self.restore_best_weights = bool(restore_best_weights)

    def on_fit_begin(self, state):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch, self.best_weights, self.stopped_epoch, self.wait = None, None, None, 0

    def on_epoch_end(self, state):
        value = self._current(state)
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, state.epoch, 0
            if self.restore_best_weights:
                self.best_weights = state.model.state_dict()  # a copy of every parameter
            return
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_epoch = state.epoch
            state.stop_training = True

    def on_fit_end(self, state):
        if self.restore_best_weights and self.best_weights is not None:
            state.model.load_state_dict(self.best_weights)


class ModelCheckpoint(_Monitor):
    r"""Save ``model.state_dict()`` with ``chainrule.save`` whenever ``monitor`` improves.

    Load the best model afterwards with ``model.load_state_dict(chainrule.load(path))``.

    Args:
        path: the file to write (a ``.npz``). It may hold ``{epoch}`` and history keys,
            e.g. ``"ckpt-{epoch:03d}-{val_loss:.3f}.npz"``, to keep one file per save. The
            template is checked when it is given (its syntax, no positional ``{}``) and
            when training starts (each field must be ``epoch``, ``monitor`` or a key the
            epoch's logs will hold, see :class:`FitState` ``log_keys``), not first at the
            end of an epoch.
        monitor: the history key to watch. Default ``"val_loss"``.
        mode: ``"min"`` or ``"max"``.
        save_best_only: if False, save after every epoch (the best is still tracked).

    Attributes:
        best, best_epoch: the best value and its epoch.
        last_path: the file written last, or None.
    """

    def __init__(self, path, monitor: str = "val_loss", mode: str = "min", save_best_only: bool = True):
        super().__init__(monitor, mode)
        self.path = os.fspath(path)
        self._template = "{" in self.path  # a path without "{" is used as it is
        self._fields = _template_fields(self.path) if self._template else []
        self.save_best_only = bool(save_best_only)
        self.last_path = None

    def on_fit_begin(self, state):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = None

    def on_epoch_begin(self, state):
        # Checked here, at the start of the first epoch, rather than in on_fit_begin: by now
        # every callback's on_fit_begin has run and added its keys to state.log_keys.
        if state.epoch != 0 or state.log_keys is None:
            return
        available = ["epoch", *dict.fromkeys([*state.log_keys, self.monitor])]
        unknown = [name for name in self._fields if name not in available]
        if unknown:
            raise ValueError(
                f"ModelCheckpoint path {self.path!r} uses {{{unknown[0]}}}, which the epoch's logs will "
                f"not hold; the fields available are {', '.join(available)}"
            )

    def _format(self, state) -> str:
        try:
            return self.path.format(epoch=state.epoch, **state.logs)
        except KeyError as error:  # a declared key that no callback before this one added
            raise ValueError(
                f"ModelCheckpoint path {self.path!r} uses {{{error.args[0]}}}, which is not in the epoch's "
                f"logs {sorted(state.logs)}: the callback that adds it must come before ModelCheckpoint "
                f"in callbacks"
            ) from None

    def on_epoch_end(self, state):
        from ..serialization import save

        value = self._current(state)
        improved = self._improved(value)
        if improved:
            self.best, self.best_epoch = value, state.epoch
        if improved or not self.save_best_only:
            path = self._format(state) if self._template else self.path
            save(state.model.state_dict(), path)
            self.last_path = path


def _template_fields(path: str) -> list[str]:
    """The names of the ``{fields}`` of a ``str.format`` template, or a ValueError for a
    malformed template or a positional field."""
    try:
        parsed = list(string.Formatter().parse(path))
    except ValueError as error:
        raise ValueError(
            f"ModelCheckpoint path {path!r} is not a valid template: {error} "
            f"(write a literal brace as '{{{{' or '}}}}')"
        ) from None
    fields = []
    for _, field_name, _, _ in parsed:
        if field_name is None:
            continue
        name = field_name.split(".", 1)[0].split("[", 1)[0]
        if name == "" or name.isdigit():
            raise ValueError(
                f"ModelCheckpoint path {path!r} has a positional field {{{field_name}}}: name the "
                f"value, e.g. {{epoch}} or {{val_loss:.3f}}"
            )
        fields.append(name)
    return fields
