r"""Plots for training runs: loss and metric curves, decision boundaries, confusion
matrices and per-layer gradient norms.

matplotlib (the ``examples`` extra: ``pip install chainrule[examples]``) is imported inside
each function, so ``import chainrule`` never loads it. The figures are built with
``matplotlib.figure.Figure`` directly, not ``pyplot``: nothing opens a window and any
backend (including ``Agg`` on a server) works. Each function returns the Figure (Jupyter
displays it) and writes it to ``path`` when one is given::

    from chainrule import plot
    plot.plot_history(history, path="curves.png")
"""

from __future__ import annotations

import math
import os

import numpy as np

from .grad_mode import no_grad

__all__ = ["plot_history", "plot_decision_boundary", "plot_confusion_matrix", "plot_gradient_norms"]


def _figure(ncols: int = 1, nrows: int = 1, width: float = 5.0, height: float = 4.0):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            "chainrule.plot needs matplotlib: pip install matplotlib (or chainrule[examples])"
        ) from None
    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def _finish(fig, path, dpi: int = 120):
    if path is not None:
        path = os.fspath(path)
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        fig.savefig(path, dpi=dpi)
    return fig


def _columns(history) -> dict:
    """``{key: list}`` from a History or the dict of ``History.to_dict()``."""
    if hasattr(history, "to_dict"):
        return history.to_dict()
    if isinstance(history, dict):
        return history
    raise TypeError(f"expected a chainrule.train.History or a dict of lists, got {type(history).__name__}")


def _values(column) -> np.ndarray:
    return np.array([math.nan if v is None else float(v) for v in column], dtype=np.float64)


_SPLITS = (("", "train", "-", "C0"), ("val_", "validation", "--", "C1"), ("test_", "test", ":", "C2"))


def plot_history(history, keys=None, path=None, *, title: str | None = None, logy=False):
    r"""Loss and metric curves, one panel per quantity, training, validation and test together.

    A key ``name`` is drawn as the training curve of panel ``name``, ``val_name`` as its
    validation curve and ``test_name`` as its test curve: the examples' history
    ``{"loss": [...], "test_accuracy": [...]}`` gives a panel "loss" with a training curve
    and a panel "accuracy" with a test curve.

    Args:
        history: a :class:`~chainrule.train.History` (or its ``to_dict()``, or the
            ``{"loss": [...], "test_accuracy": [...]}`` dict the examples return).
        keys: the quantities to draw (without a ``val_`` or ``test_`` prefix); default every
            key except ``epoch``, ``time``, ``lr`` and diagnostics (keys with a ``/``).
        path: write the figure here (PNG, SVG, PDF: by extension).
        title: the figure's title.
        logy: a logarithmic y axis: True for every panel, or the keys whose panels get one.

    Returns:
        The matplotlib Figure.
    """
    columns = _columns(history)
    if keys is None:
        keys = []
        for k in columns:
            if k in ("epoch", "time", "lr") or "/" in k:
                continue
            base = next((k[len(p):] for p, *_ in _SPLITS[1:] if k.startswith(p)), k)
            if base not in keys:
                keys.append(base)
    elif isinstance(keys, str):
        keys = [keys]
    if not keys:
        raise ValueError(f"plot_history found nothing to plot among keys {sorted(columns)}")
    fig, axes = _figure(ncols=len(keys), width=4.5, height=3.5)
    for ax, key in zip(axes[0], keys):
        drawn = False
        for prefix, label, style, color in _SPLITS:
            name = prefix + key
            if name in columns:
                values = _values(columns[name])
                epochs = columns.get("epoch", range(len(values)))
                marker = "." if len(values) < 30 else None
                ax.plot(list(epochs)[:len(values)], values, style, color=color, marker=marker, label=label)
                drawn = True
        if not drawn:
            raise KeyError(f"plot_history: no key {key!r}, 'val_{key}' or 'test_{key}' in the history "
                           f"({sorted(columns)})")
        ax.set_xlabel("epoch")
        if logy is True or (not isinstance(logy, bool) and key in logy):
            ax.set_yscale("log")
        ax.set_title(key)
        ax.grid(True, alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return _finish(fig, path)


def plot_decision_boundary(model, X, y, path=None, *, resolution: int = 200, padding: float = 0.25,
                           threshold: float = 0.5, title: str | None = None, ax=None,
                           feature_names=("x\u2081", "x\u2082"), class_names=None):
    r"""The classes a 2-D classifier assigns over the plane, with the data on top.

    The model is evaluated on a ``resolution x resolution`` grid covering the data (plus
    ``padding`` of its range on each side), in eval mode and under
    :class:`chainrule.no_grad` (no cache kept, and a training forward's cache left as it
    was); each module's mode is restored afterwards. A multi-class output is read with argmax, a single output with
    ``> threshold`` (0.5 for a sigmoid output; use 0.0 for logits).

    Args:
        model: a module mapping ``(N, 2)`` inputs to ``(N, C)`` or ``(N, 1)`` scores.
        X: ``(N, 2)`` points. y: ``(N,)`` class labels.
        path: write the figure here.
        ax: draw into this Axes instead of a new figure (the returned Figure is its figure).
        feature_names: the two axis labels (default x₁, x₂: the columns of ``X``).
        class_names: a legend label for each class (default ``class 0``, ``class 1``, ...).

    Returns:
        The matplotlib Figure.

    Raises:
        ValueError: if ``X`` is not ``(N, 2)``, ``y`` has a different length, or
            ``feature_names`` / ``class_names`` have the wrong length.
    """
    X, y = np.asarray(X), np.asarray(y).reshape(-1)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary needs 2-D inputs of shape (N, 2), got {X.shape}")
    if len(y) != len(X):
        raise ValueError(f"plot_decision_boundary got {len(X)} points but {len(y)} labels")
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = padding * np.maximum(hi - lo, 1e-6)
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    gx, gy = np.meshgrid(xs, ys)
    grid = np.column_stack([gx.ravel(), gy.ravel()]).astype(X.dtype if X.dtype.kind == "f" else np.float32)
    modes = [(module, module.training) for module in model.modules()]
    model.eval()  # Dropout off, BatchNorm on running statistics
    try:
        with no_grad():  # a plot never backpropagates
            scores = np.asarray(model(grid))
    finally:
        for module, mode in modes:
            object.__setattr__(module, "training", mode)
    if scores.ndim == 2 and scores.shape[1] > 1:
        classes = scores.argmax(axis=1)
    else:
        classes = (scores.reshape(-1) > threshold).astype(np.int64)
    n_classes = int(max(classes.max(initial=0), y.max(initial=0))) + 1
    if len(feature_names) != 2:
        raise ValueError(f"plot_decision_boundary needs 2 feature_names, got {len(feature_names)}")
    names = [f"class {c}" for c in range(n_classes)] if class_names is None else [str(c) for c in class_names]
    if len(names) != n_classes:
        raise ValueError(f"plot_decision_boundary got {len(names)} class_names for {n_classes} classes")
    if ax is None:
        fig, axes = _figure(width=5.0, height=4.5)
        ax = axes[0, 0]
    else:
        fig = ax.figure
    from matplotlib import colormaps

    cmap = colormaps["tab10"].resampled(10)
    levels = np.arange(n_classes + 1) - 0.5
    ax.contourf(gx, gy, classes.reshape(gx.shape), levels=levels, cmap=cmap, vmin=-0.5, vmax=9.5, alpha=0.3)
    size = max(6.0, min(60.0, 4000.0 / max(len(X), 1)))  # visible for 4 points, not a blot for 4000
    for c in range(n_classes):  # one scatter per class, so the legend names each colour
        points = X[y == c]
        ax.scatter(points[:, 0], points[:, 1], color=cmap(c % 10), s=size, edgecolors="k", linewidths=0.2,
                   label=names[c])
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    ax.set_xlabel(feature_names[0])
    ax.set_ylabel(feature_names[1])
    ax.legend(title="true class (points) / predicted (regions)", title_fontsize=7, fontsize=8,
              loc="best", framealpha=0.85)
    ax.set_title(title or "decision boundary")
    return _finish(fig, path)


def plot_confusion_matrix(cm, class_names=None, path=None, *, normalize: bool = False, title: str | None = None):
    r"""A confusion matrix as a heat map with the counts written in the cells.

    Args:
        cm: ``(C, C)`` counts, rows the true class, columns the prediction (as
            :func:`chainrule.train.metrics.confusion_matrix` returns).
        class_names: ``C`` labels for the axes; default ``0 .. C-1``.
        path: write the figure here.
        normalize: show each row as fractions of its true class.

    Returns:
        The matplotlib Figure.

    Raises:
        ValueError: if ``cm`` is not square or ``class_names`` has the wrong length.
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"plot_confusion_matrix needs a square (C, C) matrix, got shape {cm.shape}")
    n = cm.shape[0]
    names = [str(i) for i in range(n)] if class_names is None else [str(c) for c in class_names]
    if len(names) != n:
        raise ValueError(f"plot_confusion_matrix got {len(names)} class_names for a {n}x{n} matrix")
    shown = cm.astype(np.float64)
    if normalize:
        rows = shown.sum(axis=1, keepdims=True)
        shown = np.divide(shown, rows, out=np.zeros_like(shown), where=rows > 0)
    size = max(4.0, 0.45 * n + 2)
    fig, axes = _figure(width=size + 1, height=size)
    ax = axes[0, 0]
    image = ax.imshow(shown, cmap="Blues", vmin=0)
    fig.colorbar(image, ax=ax, shrink=0.8)
    ax.set_xticks(range(n), names)
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    top = shown.max() if shown.size else 0
    for i in range(n):
        for j in range(n):
            text = f"{shown[i, j]:.2f}" if normalize else f"{int(cm[i, j])}"
            ax.text(j, i, text, ha="center", va="center", fontsize=8,
                    color="white" if top and shown[i, j] > 0.6 * top else "black")
    ax.set_title(title or ("confusion matrix (row-normalised)" if normalize else "confusion matrix"))
    return _finish(fig, path)


def _layer_series(columns: dict, key: str, params: str | None) -> dict:
    """``{layer: per-epoch values}`` for keys ``key/<layer>[.<param>]``, in model order."""
    series = {}
    prefix = key + "/"
    for name, column in columns.items():
        if not name.startswith(prefix):
            continue
        layer = name[len(prefix):]
        if params is not None and key in ("grad_norm", "update_ratio") and "." in layer:
            if layer.rsplit(".", 1)[1] != params:
                continue
            layer = layer.rsplit(".", 1)[0]
        series[layer] = _values(column)
    def depth(item):  # "10" after "2"; names and numbers never compared with each other
        return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in item[0].split(".")]

    return dict(sorted(series.items(), key=depth))


def plot_gradient_norms(histories, path=None, *, key: str = "grad_norm", params: str | None = "weight",
                        logy: bool = True, title: str | None = None, layer_labels=None):
    r"""Per-layer gradient norms recorded by :class:`~chainrule.train.GradientFlow`.

    The left panel shows each layer's norm averaged over the epochs against its depth,
    one line per run: a curve falling towards the input is the vanishing-gradient problem.
    One more panel per run shows each layer's norm epoch by epoch.

    Args:
        histories: a History (or its ``to_dict()``), or ``{label: History}`` to compare runs.
        path: write the figure here.
        key: which record to draw: ``"grad_norm"`` (parameter gradients, the default),
            ``"delta_norm"``, ``"update_ratio"``, ``"act_std"``, ...
        params: for parameter records, which parameter of each layer (``"weight"``,
            ``"bias"``); None draws every parameter.
        logy: logarithmic y axis.
        layer_labels: a label for each layer, input to output, on the axis and in the
            legends (e.g. ``range(1, 9)`` to number eight layers from 1); default the layers'
            names in the model (``0``, ``2``, ... inside a Sequential).

    Returns:
        The matplotlib Figure.

    Raises:
        ValueError: if no history holds ``key`` records (was GradientFlow among the callbacks?).
    """
    if hasattr(histories, "to_dict") or (isinstance(histories, dict) and not all(
            hasattr(v, "to_dict") or isinstance(v, dict) for v in histories.values())):
        histories = {"": histories}
    runs = {label: _layer_series(_columns(h), key, params) for label, h in histories.items()}
    if not any(runs.values()):
        raise ValueError(
            f"plot_gradient_norms found no '{key}/...' records: train with "
            f"callbacks=[chainrule.train.GradientFlow()]"
        )
    if layer_labels is not None:
        layer_labels = [str(label) for label in layer_labels]
        for label, series in runs.items():
            if len(series) != len(layer_labels):
                raise ValueError(f"plot_gradient_norms got {len(layer_labels)} layer_labels for "
                                 f"{len(series)} layers{f' in run {label!r}' if label else ''}")
        runs = {label: dict(zip(layer_labels, series.values())) for label, series in runs.items()}
    panels = 1 + len(runs)
    ncols = min(panels, 2)  # two panels a row: legible at page width
    nrows = -(-panels // ncols)
    fig, grid = _figure(ncols=ncols, nrows=nrows, width=4.8, height=3.6)
    axes = grid.reshape(-1)
    for unused in axes[panels:]:
        unused.remove()
    axes = axes[None, :panels]
    ax = axes[0, 0]
    for label, series in runs.items():
        layers = list(series)
        means = [float(np.nanmean(v)) if np.any(np.isfinite(v)) else math.nan for v in series.values()]
        ax.plot(range(len(layers)), means, marker="o", label=label or None)
        ax.set_xticks(range(len(layers)), layers)
    ax.set_xlabel("layer (input -> output)")
    ax.set_ylabel(f"mean {key}")
    ax.set_title(f"{key} by layer")
    if any(runs):
        ax.legend()
    for ax, (label, series) in zip(axes[0, 1:], runs.items()):
        for layer, values in series.items():
            ax.plot(range(len(values)), values, label=layer)
        ax.set_xlabel("epoch")
        ax.set_title(f"{label} {key} per epoch".strip())
        if series:
            ax.legend(fontsize=7, title="layer", title_fontsize=7, ncol=2 if len(series) > 4 else 1)
    for ax in axes[0]:
        ax.grid(True, alpha=0.3)
        if logy:
            ax.set_yscale("log")
    if title:
        fig.suptitle(title)
    return _finish(fig, path)
