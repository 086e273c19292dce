r"""Metrics: plain functions of a model's ``output`` and the ``target``, in that order
(the order of a loss: ``loss_fn(output, target)``).

Each scalar metric returns a Python float; :func:`confusion_matrix` returns an int64 array.
``fit`` and ``evaluate`` take metrics by name (``"accuracy"``, ``"top5_accuracy"``,
``"mse"``, ``"mae"``), or as callables ``fn(output, target) -> float``.
"""

from __future__ import annotations

import functools
import numbers
import re

import numpy as np

__all__ = [
    "accuracy", "top_k_accuracy", "mean_squared_error", "mean_absolute_error", "mse", "mae",
    "confusion_matrix", "get_metric",
]


def _labels(output: np.ndarray, threshold: float) -> np.ndarray:
    """Predicted classes: argmax over the last axis, or ``output > threshold`` for one column."""
    if output.ndim >= 2 and output.shape[-1] > 1:
        return output.argmax(axis=-1)
    return (output.reshape(output.shape[:-1] if output.ndim >= 2 else output.shape) > threshold).astype(np.int64)


def _target_labels(target: np.ndarray, output: np.ndarray, owner: str) -> np.ndarray:
    """Target classes: the indices themselves, or the argmax of class probabilities."""
    if target.dtype.kind == "f" and target.shape == output.shape and output.ndim >= 2 and output.shape[-1] > 1:
        return target.argmax(axis=-1)  # class probabilities / one-hot
    if output.ndim >= 2 and output.shape[-1] == 1 and target.shape == output.shape:
        target = target.reshape(target.shape[:-1])
    if target.dtype.kind == "f":
        if not np.all(target == np.round(target)):
            raise ValueError(
                f"{owner} expected class labels in target, got non-integer values (a regression "
                f"target? use metrics=('mse', 'mae') or metrics=() in fit/evaluate)"
            )
        target = target.astype(np.int64)
    return target


def accuracy(output, target, threshold: float = 0.5) -> float:
    r"""Fraction of correctly classified samples.

    The prediction is ``output.argmax(-1)`` for ``(N, C)`` scores (logits or probabilities);
    for a single score per sample (``(N,)`` or ``(N, 1)``, a sigmoid output) it is
    ``output > threshold``. Use ``threshold=0.0`` for logits (``BCEWithLogitsLoss``), e.g.
    ``functools.partial(accuracy, threshold=0.0)``.

    Args:
        output: ``(N, C)`` class scores, or ``(N,)``/``(N, 1)`` binary scores.
        target: ``(N,)`` class indices (ints, or floats holding 0/1), or ``(N, C)``
            class probabilities.
        threshold: the decision threshold for single-score outputs. Default 0.5.

    Raises:
        ValueError: if the number of predictions and targets differ.
    """
    output, target = np.asarray(output), np.asarray(target)
    predicted = _labels(output, threshold)
    target = _target_labels(target, output, "accuracy")
    if predicted.shape != target.shape:
        raise ValueError(
            f"accuracy expected target of shape {predicted.shape} (class labels) for output of shape "
            f"{output.shape}, got target of shape {target.shape}"
        )
    if predicted.size == 0:
        return float("nan")
    return float(np.count_nonzero(predicted == target) / predicted.size)


def top_k_accuracy(output, target, k: int = 5) -> float:
    r"""Fraction of samples whose true class is among the ``k`` highest scores.

    A sample counts as correct when fewer than ``k`` classes score strictly higher than
    its true class (so ties are counted in the sample's favour).

    Args:
        output: ``(N, C)`` class scores.
        target: ``(N,)`` class indices.
        k: how many top classes count, ``1 <= k <= C``.

    Raises:
        ValueError: for a bad ``k`` or mismatched shapes.
    """
    output, target = np.asarray(output), np.asarray(target)
    if output.ndim != 2:
        raise ValueError(f"top_k_accuracy expected output of shape (N, C), got {output.shape}")
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= k <= output.shape[1]:
        raise ValueError(
            f"top_k_accuracy k must be an int in [1, {output.shape[1]}] (the number of classes), got {k!r}"
        )
    target = _target_labels(target, output, "top_k_accuracy")
    if target.shape != (output.shape[0],):
        raise ValueError(f"top_k_accuracy expected target of shape ({output.shape[0]},), got {target.shape}")
    if np.any((target < 0) | (target >= output.shape[1])):
        raise ValueError(f"top_k_accuracy target holds a class outside [0, {output.shape[1]})")
    if target.size == 0:
        return float("nan")
    true_score = np.take_along_axis(output, target[:, None], axis=1)
    rank = np.count_nonzero(output > true_score, axis=1)
    return float(np.count_nonzero(rank < k) / target.size)


def _same_size(output, target, owner: str):
    output, target = np.asarray(output), np.asarray(target)
    if output.shape != target.shape:
        if output.size == target.size and output.squeeze().shape == target.squeeze().shape:
            target = target.reshape(output.shape)  # (N,) against (N, 1)
        else:
            raise ValueError(f"{owner} expected target of the output's shape {output.shape}, got {target.shape}")
    return output, target


def mean_squared_error(output, target) -> float:
    r"""$\frac{1}{n}\sum_i (\text{output}_i - \text{target}_i)^2$ over every element."""
    output, target = _same_size(output, target, "mean_squared_error")
    diff = output.astype(np.float64) - target
    return float(np.mean(diff * diff)) if diff.size else float("nan")


def mean_absolute_error(output, target) -> float:
    r"""$\frac{1}{n}\sum_i |\text{output}_i - \text{target}_i|$ over every element."""
    output, target = _same_size(output, target, "mean_absolute_error")
    return float(np.mean(np.abs(output.astype(np.float64) - target))) if output.size else float("nan")


mse = mean_squared_error
mae = mean_absolute_error


def confusion_matrix(output, target, num_classes: int | None = None, threshold: float = 0.5) -> np.ndarray:
    r"""Counts $M_{ij}$ of samples of true class $i$ predicted as class $j$ (rows: truth,
    columns: prediction, as scikit-learn and torchmetrics).

    Args:
        output: ``(N, C)`` class scores, ``(N,)``/``(N, 1)`` binary scores, or ``(N,)``
            predicted class indices (an integer array).
        target: ``(N,)`` class indices.
        num_classes: the matrix size; default ``C`` from the output, or one more than the
            largest label seen.
        threshold: the decision threshold for single-score float outputs.

    Returns:
        An int64 array of shape ``(num_classes, num_classes)``.

    Raises:
        ValueError: if a label is outside ``[0, num_classes)`` or the shapes differ.
    """
    output, target = np.asarray(output), np.asarray(target)
    if output.dtype.kind in "iub" and output.ndim == 1:
        predicted = output.astype(np.int64)
    else:
        predicted = _labels(output, threshold)
    target = _target_labels(target, output, "confusion_matrix")
    if predicted.shape != target.shape:
        raise ValueError(
            f"confusion_matrix expected target of shape {predicted.shape} for output of shape "
            f"{output.shape}, got {target.shape}"
        )
    if num_classes is None:
        from_output = output.shape[-1] if output.ndim >= 2 and output.shape[-1] > 1 else 0
        seen = int(max(predicted.max(initial=-1), target.max(initial=-1))) + 1
        num_classes = max(from_output, seen, 2 if output.dtype.kind == "f" else 0)
    elif isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes < 1:
        raise ValueError(f"confusion_matrix num_classes must be a positive int, got {num_classes!r}")
    for name, labels in (("target", target), ("prediction", predicted)):
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(
                f"confusion_matrix {name} holds class {int(labels.min() if labels.min() < 0 else labels.max())}, "
                f"outside [0, {num_classes})"
            )
    flat = target.ravel().astype(np.int64) * num_classes + predicted.ravel()
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


_NAMED = {
    "accuracy": accuracy, "acc": accuracy,
    "mse": mean_squared_error, "mean_squared_error": mean_squared_error,
    "mae": mean_absolute_error, "mean_absolute_error": mean_absolute_error,
}
_TOP_K = re.compile(r"top_?(\d+)_acc(uracy)?$")


def get_metric(metric):
    """``(name, fn)`` for a metric name (``"accuracy"``, ``"top5_accuracy"``, ``"mse"``,
    ``"mae"``) or a callable ``fn(output, target) -> float`` (named by ``__name__``).

    Raises:
        ValueError: for an unknown name. TypeError: for anything else.
    """
    if callable(metric):
        name = getattr(metric, "__name__", None)
        if name is None and isinstance(metric, functools.partial):
            name = metric.func.__name__
        return name or type(metric).__name__, metric
    if isinstance(metric, str):
        if metric in _NAMED:
            return metric, _NAMED[metric]
        match = _TOP_K.match(metric)
        if match:
            return metric, functools.partial(top_k_accuracy, k=int(match.group(1)))
        raise ValueError(
            f"unknown metric {metric!r}; expected one of {sorted(_NAMED)}, 'top<k>_accuracy' "
            f"(e.g. 'top5_accuracy'), or a callable fn(output, target) -> float"
        )
    raise TypeError(f"a metric must be a name or a callable fn(output, target), got {type(metric).__name__}")


def resolve_metrics(metrics) -> dict:
    """``{name: fn}`` for a sequence of metrics, a dict ``{name: fn}``, or None."""
    if metrics is None:
        return {}
    if isinstance(metrics, dict):
        items = [(name, get_metric(fn)[1]) for name, fn in metrics.items()]
    else:
        if isinstance(metrics, str) or callable(metrics):
            metrics = (metrics,)
        items = [get_metric(m) for m in metrics]
    resolved = {}
    for name, fn in items:
        if name in resolved or name in ("loss", "time", "lr", "epoch"):
            raise ValueError(f"metric name {name!r} is used twice or clashes with a history key")
        resolved[name] = fn
    return resolved
