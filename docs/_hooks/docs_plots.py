"""Figures for the tutorial pages, drawn at build time from the examples' real runs.

Imported by executed code blocks (the ``source_links`` hook puts this folder on
``sys.path``). Every function returns an inline ``<svg>`` string: no image files, nothing
fetched when the page is read, and no outside reference in the HTML (the XML namespace
declarations and the metadata block that matplotlib writes are removed; browsers do not need
them for SVG inside HTML).
"""

from __future__ import annotations

import contextlib
import io
import re
import runpy
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

# A figure is shown at most as wide as the text column and shrinks with it: on a phone
# (390 px) the column is about 358 px wide. Labels must still be at least 9 px there, so a
# figure W points wide needs fonts of at least 9 * W / 358 points (``svg`` checks this).
PHONE_COLUMN_PX = 358
MIN_TEXT_PX = 9

plt.rcParams.update({
    "svg.fonttype": "none",      # text stays text: smaller pages, selectable labels
    "svg.hashsalt": "chainrule",  # stable element ids from one build to the next
    "font.size": 12,
    "legend.fontsize": 11,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
})

_COLORS = ["#3f51b5", "#e6550d", "#31a354", "#756bb1", "#636363"]


def run_example(name: str, *args: str):
    """Run ``examples/<name>.py``'s ``main`` and return ``(result, printed_text)``."""
    if "examples" not in sys.path:  # the examples import their shared command line: examples/cli.py
        sys.path.append("examples")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = runpy.run_path(f"examples/{name}.py")["main"](["--no-progress", *args])
    return result, out.getvalue()


def _svg_text(fig) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    text = text[text.index("<svg"):]                          # drop the XML prolog and doctype
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    return re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", text)        # namespaces: implied inside HTML


def smallest_text_px(fig, column_px: float = PHONE_COLUMN_PX) -> tuple[float, str]:
    """The size in CSS px of the figure's smallest label when the figure is shown
    ``column_px`` wide (or at its natural size, if narrower), and that label."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    width_pt = fig.get_tightbbox(renderer).width * 72  # inches -> points, as the SVG's units
    scale = min(1.0, column_px / (width_pt * 96 / 72)) * 96 / 72  # CSS px per point
    sizes = [(t.get_fontsize() * scale, t.get_text()) for t in fig.findobj(plt.Text)
             if t.get_visible() and t.get_text().strip()]
    return min(sizes, default=(float("inf"), ""))


def svg(fig, phone=None) -> str:
    """The figure as an inline ``<svg>`` element, free of outside references.

    ``phone``: a second figure, drawn for a narrow screen (panels stacked instead of side by
    side), shown instead of ``fig`` below 45em. Each figure must keep its labels at least
    ``MIN_TEXT_PX`` at the width it is shown (a ValueError names the label otherwise), so a
    figure is legible on a phone without scrolling sideways.
    """
    for figure, column in ((fig, PHONE_COLUMN_PX if phone is None else 680), (phone, PHONE_COLUMN_PX)):
        if figure is None:
            continue
        size, label = smallest_text_px(figure, column)
        if size < MIN_TEXT_PX + 0.2:  # a margin: browsers round sizes and widths
            raise ValueError(f"figure label {label!r} would be drawn at {size:.1f} px at a {column} px "
                             f"column (at least {MIN_TEXT_PX} px, and a 0.2 px margin): larger fonts or a narrower figure")
    if phone is None:
        return f'<div class="figure">{_svg_text(fig)}</div>'
    return (f'<div class="figure figure-wide">{_svg_text(fig)}</div>'
            f'<div class="figure figure-phone">{_svg_text(phone)}</div>')


def _history_axes(ax, history: dict):
    epochs = np.arange(1, len(history["loss"]) + 1)
    ax.plot(epochs, history["loss"], color=_COLORS[0], label="training loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    if min(history["loss"]) > 0 and max(history["loss"]) / min(history["loss"]) > 50:
        ax.set_yscale("log")
    if "test_accuracy" in history:
        twin = ax.twinx()
        twin.plot(epochs, history["test_accuracy"], color=_COLORS[1], label="test accuracy")
        twin.set_ylabel("test accuracy", color=_COLORS[1])
        twin.set_ylim(min(0.5, min(history["test_accuracy"])), 1.0)
        twin.spines["right"].set_visible(True)
        twin.spines["top"].set_visible(False)


def loss_curve(history: dict, title: str) -> str:
    fig, ax = plt.subplots(figsize=(5.4, 3.4))
    _history_axes(ax, history)
    ax.set_title(title)
    return svg(fig)


def _predict(model, points: np.ndarray) -> np.ndarray:
    """Class predictions: argmax of the logits, or a 0.5 / 0 threshold for one output."""
    import chainrule as cr
    from chainrule import nn

    model.eval()
    with cr.no_grad():  # a forward for the picture only: no cache, the training caches untouched
        out = model(points.astype(np.float32))
    if out.ndim == 1 or out.shape[1] == 1:
        threshold = 0.5 if isinstance(model[len(model) - 1], nn.Sigmoid) else 0.0
        return (out.reshape(-1) > threshold).astype(np.int64)
    return out.argmax(axis=1)


def decision_boundary(model, X: np.ndarray, y: np.ndarray, title: str, resolution: int = 300,
                      feature_names=("x\u2081", "x\u2082")) -> str:
    """The model's predicted class over the plane (shaded regions, black boundary lines), with
    the points ``X`` coloured by their true class ``y``; axes named by ``feature_names``."""
    from matplotlib.colors import ListedColormap

    pad = 0.25 * (X.max(axis=0) - X.min(axis=0)) + 0.1
    lo, hi = X.min(axis=0) - pad, X.max(axis=0) + pad
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    classes = int(max(y.max(), 1)) + 1
    region = _predict(model, grid).reshape(gx.shape)

    fig, ax = plt.subplots(figsize=(5.0, 4.6))
    cmap = ListedColormap(_COLORS[:classes])
    ax.imshow(region, origin="lower", extent=(lo[0], hi[0], lo[1], hi[1]), cmap=cmap,
              vmin=-0.5, vmax=classes - 0.5, alpha=0.25, aspect="auto", interpolation="nearest")
    ax.contour(gx, gy, region, levels=np.arange(classes) + 0.5, colors="k", linewidths=0.8)
    for c in range(classes):
        pts = X[y == c]
        ax.scatter(pts[:, 0], pts[:, 1], s=28 if len(X) < 50 else 9, color=_COLORS[c],
                   edgecolor="white", linewidth=0.4, label=f"class {c}")
    ax.set_title(title)
    ax.set_xlabel(feature_names[0])
    ax.set_ylabel(feature_names[1])
    ax.legend(loc="best", framealpha=0.8, title="true class")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    return svg(fig)


def confusion_matrix_figure(confusion: np.ndarray, title: str) -> str:
    k = confusion.shape[0]
    fig, ax = plt.subplots(figsize=(5.0, 4.6))
    ax.imshow(confusion, cmap="Blues")
    for i in range(k):
        for j in range(k):
            value = confusion[i, j]
            if value:
                ax.text(j, i, str(value), ha="center", va="center", fontsize=10,
                        color="white" if value > confusion.max() / 2 else "black")
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_title(title)
    for side in ("top", "right"):
        ax.spines[side].set_visible(True)
    return svg(fig)
