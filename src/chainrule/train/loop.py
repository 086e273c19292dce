r"""``fit`` and ``evaluate``: the explicit training loop the examples teach, with a progress
bar, metrics, validation, callbacks and a :class:`History` around it.

The body of :func:`fit` is the loop you would write yourself::

    for xb, yb in train_loader:
        output = model(xb)                     # forward: each module keeps what backward needs
        loss = loss_fn(output, yb)
        optimizer.zero_grad()
        model.backward(loss_fn.backward())     # the chain rule, last layer to first
        optimizer.step()
"""

from __future__ import annotations

import collections.abc
import contextlib
import math
import numbers
import signal
import sys
import threading
import time
import warnings

import numpy as np

from ..grad_mode import no_grad
from ..nn.module import Module
from ..optim.lr_scheduler import ReduceLROnPlateau
from .callbacks import CALLBACK_METHODS, FitState, History
from .metrics import resolve_metrics
from .progress import progress_bar, shows_bar

__all__ = ["fit", "evaluate"]


def fit(model, loss_fn, optimizer, train_loader, epochs: int, *, val_loader=None, metrics=("accuracy",),
        scheduler=None, callbacks=(), progress: bool = True, detect_anomaly: bool = False) -> History:
    r"""Train ``model`` for ``epochs`` epochs and return the per-epoch :class:`History`.

    Every argument is checked before the first batch. Each epoch runs the explicit loop
    over ``train_loader`` (forward, loss, zero_grad, backward, step), then evaluates on
    ``val_loader`` (as :func:`evaluate`: in eval mode, under ``chainrule.no_grad``), then
    steps the ``scheduler`` once. The history records, per epoch: ``loss`` (the mean training loss
    over the epoch's samples, as the batches saw it), each metric on the training batches
    (averaged the same way), ``val_loss`` and ``val_<metric>`` (with ``val_loader``),
    ``lr`` (the first param group's, during the epoch) and ``time`` (seconds, training plus
    validation), plus anything callbacks add.

    Pressing Ctrl-C (``SIGINT``) lets the current batch finish and then stops; the history
    of the completed epochs is returned with ``history.interrupted = True``. A
    ``KeyboardInterrupt`` raised anywhere else in the loop (a callback, a loader, a second
    Ctrl-C) stops at once, with the same result.

    Args:
        model: the :class:`~chainrule.nn.Module` to train.
        loss_fn: a loss module with ``reduction='mean'`` or ``'sum'``.
        optimizer: an optimiser over ``model``'s parameters.
        train_loader: an iterable of ``(input, target)`` batches, e.g. a ``DataLoader``.
        epochs: the number of epochs, ``>= 0``.
        val_loader: batches to evaluate on after every epoch, or None.
        metrics: names (``"accuracy"``, ``"top5_accuracy"``, ``"mse"``, ``"mae"``) or
            callables ``fn(output, target) -> float``; ``()`` for none.
        scheduler: a learning-rate scheduler, stepped once per epoch, or None. A
            ``ReduceLROnPlateau`` is stepped with the epoch's validation loss (the training
            loss without ``val_loader``).
        callbacks: :class:`Callback` objects (``EarlyStopping``, ``ModelCheckpoint``,
            ``GradientFlow``, ...).
        progress: show a progress bar per epoch (tqdm) when stdout is a terminal and
            ``TQDM_DISABLE`` is not set (the rule of :func:`~chainrule.train.progress.shows_bar`,
            which the examples follow too), else one plain line per epoch (a log file, CI, no
            carriage-return frames); ``False`` prints nothing.
        detect_anomaly: run inside ``chainrule.detect_anomaly(model)``, which stops at the
            first module producing a NaN or inf and names it.

    Returns:
        The :class:`History`.

    Raises:
        TypeError: for an argument of the wrong kind (``None`` for the model, the loss, the
            optimiser or a loader; ``scheduler="x"``; ``callbacks=[3]``), before training
            starts; each error names the argument, what it must be and what it got.
        ValueError: for ``epochs < 0``, an unknown metric, a loss with ``reduction='none'``,
            a scheduler of another optimiser, a one-shot iterator as a loader for more than
            one epoch, or a loader whose batches are not ``(input, target)`` pairs (known
            before training from a DataLoader's dataset or a list of batches, else at the
            batch).
    """
    _check_model(model, "fit")
    if not (callable(loss_fn) and callable(getattr(loss_fn, "backward", None))):
        raise TypeError(f"fit loss_fn must be a loss module with backward(), such as nn.CrossEntropyLoss(), "
                        f"got {_given(loss_fn)}")
    if not all(callable(getattr(optimizer, m, None)) for m in ("zero_grad", "step")) or not (
            getattr(optimizer, "param_groups", None)):
        raise TypeError(f"fit optimizer must be a chainrule.optim.Optimizer (zero_grad(), step(), "
                        f"param_groups), got {_given(optimizer)}")
    if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 0:
        raise ValueError(f"fit epochs must be an int >= 0, got {epochs!r}")
    _check_loader(train_loader, "fit train_loader", epochs)
    if val_loader is not None:
        _check_loader(val_loader, "fit val_loader", epochs)
    reduction = getattr(loss_fn, "reduction", "mean")
    if reduction not in ("mean", "sum"):
        raise ValueError(f"fit needs a loss with reduction 'mean' or 'sum', "
                         f"got {type(loss_fn).__name__}(reduction={reduction!r})")
    metric_fns = resolve_metrics(metrics)
    if scheduler is not None:
        if not callable(getattr(scheduler, "step", None)):
            raise TypeError(f"fit scheduler must be a learning-rate scheduler with step(), such as "
                            f"optim.lr_scheduler.StepLR(optimizer, 10), or None, got {_given(scheduler)}")
        if getattr(scheduler, "optimizer", optimizer) is not optimizer:
            raise ValueError("fit scheduler sets the learning rate of another optimizer than the one "
                             "given to fit: build it with that optimizer")
    callbacks = _check_callbacks(callbacks)
    history = History()
    state = FitState(model, loss_fn, optimizer, history, int(epochs))
    validated = ["val_loss", *(f"val_{name}" for name in metric_fns)] if val_loader is not None else []
    state.log_keys = ["loss", *metric_fns, *validated, "lr", "time"]  # as each epoch's logs hold them
    report = _Progress(progress, int(epochs))

    def call(method):
        for callback in callbacks:
            getattr(callback, method)(state)

    with _StopOnSigint() as interrupt, _anomaly_mode(detect_anomaly, model), _input_is_data(model):
        try:
            call("on_fit_begin")
            for state.epoch in range(epochs):
                model.train()
                start, total, seen, sums = time.perf_counter(), 0.0, 0, dict.fromkeys(metric_fns, 0.0)
                call("on_epoch_begin")
                bar = report.start_epoch(state.epoch, _len(train_loader))
                for state.batch, batch in enumerate(train_loader):
                    xb, yb = _pair(batch, "fit train_loader", state.batch)
                    call("on_batch_begin")
                    output = model(xb)                       # forward: each module keeps what backward needs
                    loss = loss_fn(output, yb)
                    optimizer.zero_grad()
                    model.backward(loss_fn.backward())       # the chain rule, last layer to first
                    call("on_after_backward")                # gradients ready: inspect or clip them here
                    optimizer.step()
                    n = len(xb)
                    total += loss * n if reduction == "mean" else loss
                    seen += n
                    for name, fn in metric_fns.items():
                        sums[name] += fn(output, yb) * n
                    state.loss, state.output = loss, output
                    call("on_batch_end")
                    bar.update(n, total / seen)
                    if interrupt.requested:
                        break
                if interrupt.requested:
                    bar.close()
                    raise KeyboardInterrupt
                logs = {"loss": total / seen if seen else math.nan}
                logs.update({name: s / seen if seen else math.nan for name, s in sums.items()})
                if val_loader is not None:
                    val = _evaluate(model, loss_fn, val_loader, metric_fns, "fit val_loader")
                    logs.update({f"val_{k}": v for k, v in val.items()})
                logs["lr"] = optimizer.param_groups[0]["lr"]
                if isinstance(scheduler, ReduceLROnPlateau):  # it steps on a metric: the validation loss if any
                    scheduler.step(logs.get("val_loss", logs["loss"]))
                elif scheduler is not None:
                    scheduler.step()
                logs["time"] = time.perf_counter() - start
                state.logs = logs
                call("on_epoch_end")                         # callbacks may add keys to logs
                history.append(state.epoch, logs)
                bar.finish(logs)
                if interrupt.requested:                      # Ctrl-C during validation or a callback
                    raise KeyboardInterrupt
                if state.stop_training:
                    break
        except KeyboardInterrupt:
            history.interrupted = True
            report.message(f"fit: interrupted in epoch {state.epoch}; returning the history of "
                           f"{len(history)} completed epoch(s)")
        finally:
            call("on_fit_end")
    return history


def evaluate(model, loss_fn=None, loader=None, metrics=("accuracy",)) -> dict:
    r"""The loss and metrics of ``model`` over every batch of ``loader``, in eval mode.

    The arguments come in :func:`fit`'s order, model, loss, data:
    ``evaluate(model, nn.CrossEntropyLoss(), test_loader)``, or
    ``evaluate(model, None, test_loader)`` for metrics only. The forwards run under
    :class:`chainrule.no_grad`: they keep no cache for backward and
    leave the caches of earlier forwards as they were, so ``evaluate`` may run between a
    training forward and its backward. The model is put in eval mode (Dropout off,
    BatchNorm on its running statistics) and every module's previous mode is restored
    afterwards. Metrics are computed once on all outputs concatenated, so they are exact
    (not an average of batch values); the loss is the mean over samples of a ``'mean'``
    loss (the sum over batches of a ``'sum'`` one).

    The earlier order ``evaluate(model, loader, loss_fn=None, metrics)`` still works for now,
    with a ``FutureWarning``: it is recognised when the second argument is a loader (an
    iterable that is not callable, such as a DataLoader or a list of batches) and the third is
    a loss (callable) or None. A loss is always callable and a loader never is, so the two
    orders cannot be confused.

    Args:
        model: the :class:`~chainrule.nn.Module`.
        loss_fn: a loss module, or None for metrics only.
        loader: an iterable of ``(input, target)`` batches.
        metrics: as :func:`fit`.

    Returns:
        ``{"loss": ..., "<metric>": ...}`` as Python floats (``"loss"`` only with a ``loss_fn``).

    Raises:
        TypeError: if ``model`` is not a Module, ``loader`` is not an iterable of batches or
            ``loss_fn`` is neither None nor callable.
        ValueError: for a loss with ``reduction='none'``, an unknown metric, or batches that
            are not ``(input, target)`` pairs.
    """
    _check_model(model, "evaluate")
    if _is_loader(loss_fn) and (loader is None or callable(loader)):
        warnings.warn(
            "evaluate(model, loader, loss_fn, metrics) is the old argument order; call "
            "evaluate(model, loss_fn, loader, metrics) (loss_fn may be None), as fit takes them",
            FutureWarning, stacklevel=2)
        loss_fn, loader = loader, loss_fn
    if loss_fn is not None and not callable(loss_fn):
        hint = (" (the order is evaluate(model, loss_fn, loader, metrics))" if _is_loader(loss_fn) else "")
        raise TypeError(f"evaluate loss_fn must be a loss module or None, got {_given(loss_fn)}{hint}")
    _check_loader(loader, "evaluate loader", epochs=1)
    metric_fns = resolve_metrics(metrics)
    reduction = getattr(loss_fn, "reduction", "mean")
    if loss_fn is not None and reduction not in ("mean", "sum"):
        raise ValueError(f"evaluate needs a loss with reduction 'mean' or 'sum', got reduction={reduction!r}")
    return _evaluate(model, loss_fn, loader, metric_fns, "evaluate loader")


def _is_loader(value) -> bool:
    """A loader is an iterable that is not text and not callable; a loss is always callable."""
    return (value is not None and not callable(value) and not isinstance(value, (str, bytes))
            and isinstance(value, collections.abc.Iterable))


def _evaluate(model, loss_fn, loader, metric_fns: dict, name: str) -> dict:
    """``evaluate`` once its arguments are checked (``fit`` calls it for ``val_loader``)."""
    reduction = getattr(loss_fn, "reduction", "mean")
    modes = [(module, module.training) for module in model.modules()]
    model.eval()  # Dropout off, BatchNorm on running statistics: what eval mode changes
    try:
        outputs, targets, total, seen = [], [], 0.0, 0
        with no_grad():  # no backward follows: keep no cache, leave a training cache alone
            for index, batch in enumerate(loader):
                xb, yb = _pair(batch, name, index)
                output = model(xb)
                if loss_fn is not None:
                    loss = loss_fn(output, yb)
                    total += loss * len(xb) if reduction == "mean" else loss
                seen += len(xb)
                if metric_fns:
                    outputs.append(output)
                    targets.append(np.asarray(yb))
    finally:
        for module, mode in modes:  # each module's own mode, as it was
            object.__setattr__(module, "training", mode)
    results = {}
    if loss_fn is not None:
        results["loss"] = float(total / seen) if seen else math.nan
    if metric_fns:
        if outputs:
            output, target = np.concatenate(outputs), np.concatenate(targets)
        else:
            output, target = np.empty((0, 1)), np.empty(0)
        results.update({name: float(fn(output, target)) for name, fn in metric_fns.items()})
    return results


def _given(value) -> str:
    """How an error message shows a wrong argument: short values as themselves, others by type."""
    if value is None or isinstance(value, (bool, numbers.Number, str)):
        return repr(value)
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    name = type(value).__name__
    return f"{'an' if name[0].lower() in 'aeiou' else 'a'} {name}"


@contextlib.contextmanager
def _input_is_data(model):
    """The batches are data: no gradient with respect to them is needed, so the model's
    first layer may skip that product (``needs_input_grad = False``, as PyTorch skips the
    gradient of an input that does not require one). The model's own setting comes back after."""
    before = model.__dict__.get("needs_input_grad", _UNSET)  # an instance's own setting, if any
    previous = model.needs_input_grad
    model.needs_input_grad = False
    try:
        yield
    finally:
        model.needs_input_grad = previous
        if before is _UNSET:
            model.__dict__.pop("needs_input_grad", None)  # a leaf module: back to the class default


_UNSET = object()


def _check_model(model, owner: str) -> None:
    if not isinstance(model, Module):
        raise TypeError(f"{owner} model must be a chainrule.nn.Module, got {_given(model)}")


_EXPECTED_LOADER = "an iterable of (input, target) batches, such as a DataLoader or a list of pairs"


def _check_loader(loader, name: str, epochs: int) -> None:
    """Check ``loader`` without drawing a batch from it (that would shuffle a DataLoader).

    What can be known in advance is checked: that it is iterable and not text, that it is
    not a one-shot iterator when it is read more than once, and the structure of its
    batches when a DataLoader's dataset or a list of batches shows it.
    """
    if isinstance(loader, (str, bytes)) or not isinstance(loader, collections.abc.Iterable):
        raise TypeError(f"{name} must be {_EXPECTED_LOADER}, got {_given(loader)}")
    if isinstance(loader, collections.abc.Iterator) and epochs > 1:
        raise ValueError(
            f"{name} is a one-shot iterator ({type(loader).__name__}) that would be empty after the "
            f"first of {epochs} epochs: pass a DataLoader or a list of batches"
        )
    dataset = getattr(loader, "dataset", None)
    if isinstance(loader, (list, tuple)):
        if loader:
            _pair(loader[0], name, 0)
    elif dataset is not None and hasattr(dataset, "__getitem__") and _len(dataset):
        sample = dataset[0]  # a DataLoader stacks each field of the samples into a batch field
        if not isinstance(sample, (tuple, list)) or len(sample) != 2:
            got = (f"have {len(sample)} field{'s' if len(sample) != 1 else ''}" if isinstance(sample, (tuple, list))
                   else f"are single {type(sample).__name__}s")
            raise ValueError(f"{name} must yield (input, target) pairs, but the samples of its "
                             f"dataset {got} (TensorDataset(X, y) gives pairs)")


def _pair(batch, name: str, index: int):
    """``(input, target)`` from one batch, or an error naming the loader and the batch."""
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        got = f"a {type(batch).__name__} of {len(batch)}" if isinstance(batch, (tuple, list)) else _given(batch)
        raise ValueError(f"{name} must yield (input, target) pairs, got {got} in batch {index}")
    return batch


def _check_callbacks(callbacks) -> list:
    """The callbacks as a list, each one checked to have every method fit calls."""
    if callbacks is None:
        return []
    if (not isinstance(callbacks, collections.abc.Iterable) or isinstance(callbacks, (str, bytes))
            or hasattr(callbacks, "on_fit_begin")):
        raise TypeError(f"fit callbacks must be a list of Callback objects, got {_given(callbacks)}")
    callbacks = list(callbacks)
    for i, callback in enumerate(callbacks):
        missing = [m for m in CALLBACK_METHODS if not callable(getattr(callback, m, None))]
        if missing:
            raise TypeError(
                f"fit callbacks[{i}] must be a chainrule.train.Callback (with methods {', '.join(CALLBACK_METHODS)}), "
                f"got {_given(callback)}"
            )
    return callbacks


def _len(loader):
    try:
        return len(loader)
    except TypeError:
        return None


@contextlib.contextmanager
def _anomaly_mode(enabled: bool, model):
    if not enabled:
        yield
        return
    from ..anomaly import detect_anomaly

    with detect_anomaly(model):
        yield


class _StopOnSigint:
    """While active (in the main thread), the first Ctrl-C only sets ``requested`` so the
    current batch can finish; a second one raises ``KeyboardInterrupt`` as usual."""

    def __init__(self):
        self.requested = False
        self._installed = False
        self._previous = None

    def _handler(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
            self._installed = True
        return self

    def __exit__(self, *exc):
        if self._installed:  # None: the previous handler was not set from Python
            signal.signal(signal.SIGINT, signal.SIG_DFL if self._previous is None else self._previous)
        return False


class _Progress:
    """A tqdm bar per epoch where :func:`~chainrule.train.progress.shows_bar` allows one (a
    terminal, no ``TQDM_DISABLE``); a plain line per epoch otherwise; or nothing."""

    def __init__(self, enabled: bool, epochs: int):
        self.enabled, self.epochs = bool(enabled), epochs
        self.tty = shows_bar(self.enabled, sys.stdout)

    def start_epoch(self, epoch: int, n_batches):
        return _EpochBar(self, epoch, n_batches)

    def message(self, text: str) -> None:
        if self.enabled:
            print(text, file=sys.stdout, flush=True)


class _EpochBar:
    def __init__(self, report: _Progress, epoch: int, n_batches):
        self.report, self.epoch, self.samples, self.start = report, epoch, 0, time.perf_counter()
        self.bar = None
        if report.tty:
            self.bar = progress_bar(total=n_batches, desc=f"epoch {epoch + 1}/{report.epochs}", unit="batch",
                                    leave=True)

    def update(self, n: int, running_loss: float) -> None:
        self.samples += n
        if self.bar is not None:
            rate = self.samples / max(time.perf_counter() - self.start, 1e-9)
            self.bar.set_postfix_str(f"loss={running_loss:.4f}, {rate:,.0f} samples/s", refresh=False)
            self.bar.update(1)

    def finish(self, logs: dict) -> None:
        if not self.report.enabled:
            return
        rate = self.samples / max(logs["time"], 1e-9)
        shown = ", ".join(f"{k}={v:.4g}" for k, v in logs.items()
                          if "/" not in k and k != "time" and isinstance(v, (int, float)))
        summary = f"{shown}, {logs['time']:.2f}s, {rate:,.0f} samples/s"
        if self.bar is not None:
            self.bar.set_postfix_str(summary)
            self.bar.close()
        else:
            print(f"epoch {self.epoch + 1}/{self.report.epochs}: {summary}", file=sys.stdout, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
