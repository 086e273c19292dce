"""Figures for the derivation pages (backprop, activations, the module pages), drawn at build time.

Imported by executed code blocks, like ``docs_plots`` next to it. The numbers a figure shows
are computed in the page's own code block (with chainrule's modules) and passed in; these
functions only draw. Each returns an inline ``<svg>`` string made by ``docs_plots.svg``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from docs_plots import svg as _svg
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.patches import Circle, FancyArrowPatch, Rectangle

FORWARD = "#3f51b5"    # values, forward pass
BACKWARD = "#e6550d"   # gradients, backward pass
GREY = "#9e9e9e"
PRIME = "\u2032"      # mathtext draws "'" from a TeX font that browsers lack: use the Unicode prime


def _prime(text: str) -> str:
    return text.replace("'", PRIME)


def svg(fig, phone=None) -> str:
    """``docs_plots.svg``: the figure, and optionally a second one drawn for a phone; each
    keeps its labels legible at the width it is shown (checked there)."""
    return _svg(fig, phone=phone)


# Signed numbers (a Jacobian, a gradient): blue below zero, white at zero, orange above.
SIGNED = LinearSegmentedColormap.from_list("signed", [FORWARD, "#ffffff", BACKWARD])
VALUES = LinearSegmentedColormap.from_list("values", ["#ffffff", FORWARD])   # values in [0, 1]


def _arrow(ax, start, end, color, *, width=1.0, style="-|>", rad=0.0, z=1, shrink=0.0):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=9, color=color,
                                 linewidth=width, connectionstyle=f"arc3,rad={rad}", zorder=z,
                                 shrinkA=shrink, shrinkB=shrink))


def _cells(ax, x, y, values, *, color=None, cmap=None, norm=None, fmt=None, size=11, masked=None,
           highlight=None, edge="white", w=1.0):
    """A matrix drawn as cells ``w`` wide and 1 high, its top-left corner at (x, y), row i at
    y - i - 1.

    Each cell is filled in ``color`` (light; darker where ``highlight``, a boolean array, is
    True) or, with ``cmap``, by its value, ``norm = (low, high)`` mapped to the colour map's
    ends; ``fmt`` writes the value in it; cells where ``masked`` is True are grey. A 1-d
    ``values`` is a row."""
    from matplotlib.colors import to_rgb

    values = np.atleast_2d(values)
    rows, cols = values.shape
    for i in range(rows):
        for j in range(cols):
            v = values[i, j]
            grey = masked is not None and masked[i, j]
            if grey:
                face = "#eeeeee"
            elif cmap is not None:
                face = cmap((v - norm[0]) / (norm[1] - norm[0]))
            else:
                face = _tint(color, 0.8 if highlight is not None and highlight[i, j] else 0.28)
            ax.add_patch(Rectangle((x + j * w, y - i - 1), w, 1, facecolor=face, edgecolor=edge, linewidth=1.2))
            if fmt is not None:
                dark = np.dot(to_rgb(face), (0.3, 0.59, 0.11)) < 0.55      # white text on a dark cell
                ax.text(x + (j + 0.5) * w, y - i - 0.5, fmt(v), ha="center", va="center", fontsize=size,
                        color=GREY if grey else ("white" if dark else "#212121"))
    ax.add_patch(Rectangle((x, y - rows), cols * w, rows, facecolor="none", edgecolor="#424242", linewidth=0.8))


def _tint(color: str, alpha: float):
    """``color`` mixed with white: opaque, so overlapping cells do not darken each other."""
    from matplotlib.colors import to_rgb

    return tuple(1 - alpha * (1 - c) for c in to_rgb(color))


# --------------------------------------------------------------------------------------
# backprop.md: delta flowing backwards through a 2-3-3-2 network
# --------------------------------------------------------------------------------------
def delta_flow(sizes=(2, 3, 3, 2)) -> str:
    """A small sigmoid network with BP1 at the output, BP2 between layers, BP3/BP4 per layer:
    layers left to right on a wide screen, top to bottom on a phone."""
    return svg(_delta_flow(sizes, vertical=False), phone=_delta_flow(sizes, vertical=True))


def _delta_flow(sizes, vertical: bool):
    L = len(sizes) - 1
    gap, radius = (2.6 if vertical else 3.2), 0.22
    us = [i * gap for i in range(L + 1)]                     # along the network
    vs = [np.linspace(-(n - 1) / 2, (n - 1) / 2, n) * 0.8 for n in sizes]   # across a layer
    # (u, v) -> page coordinates: u runs right (wide) or down (phone); v runs up or right.
    at = (lambda u, v: (v, -u)) if vertical else (lambda u, v: (u, v))
    fig, ax = plt.subplots(figsize=(5.4, 7.2) if vertical else (10, 4.9))
    ax.set_aspect("equal")
    ax.axis("off")
    size = 11
    uc = us[-1] + 2.3                                          # the cost

    for l in range(1, L + 1):                                  # forward connections W^l
        for v0 in vs[l - 1]:
            for v1 in vs[l]:
                (x0, y0), (x1, y1) = at(us[l - 1], v0), at(us[l], v1)
                ax.plot([x0, x1], [y0, y1], color=GREY, linewidth=0.6, zorder=0)
        where = at((us[l - 1] + us[l]) / 2, -1.0) if vertical else at((us[l - 1] + us[l]) / 2, 1.35)
        ax.text(*where, f"$W^{l}$", ha="right" if vertical else "center", va="center" if vertical else "bottom",
                color=FORWARD, fontsize=12)
    for l, (u, column) in enumerate(zip(us, vs)):              # neurons
        for v in column:
            ax.add_patch(Circle(at(u, v), radius, facecolor="white", edgecolor=FORWARD, linewidth=1.2, zorder=2))
        name = "$a^0 = x$" if l == 0 else f"$z^{l}\\!\\to a^{l}$"
        if vertical:
            ax.text(*at(u, -1.0), name, ha="right", va="center", fontsize=size, color=FORWARD)
        else:
            ax.text(*at(u, 1.35 if l == 0 else 1.0), name, ha="center", va="bottom", fontsize=size, color=FORWARD)
    ax.text(*at(uc, 0), "$C$", ha="center", va="center", fontsize=14,
            bbox=dict(boxstyle="round,pad=0.3", facecolor="white", edgecolor="black", linewidth=0.8))
    for v in vs[-1]:
        _arrow(ax, at(us[-1] + radius, v), at(uc - 0.3, 0.0), GREY, width=0.6)

    forward = r"forward: $z^l = W^l a^{l-1} + b^l,\ a^l = \sigma(z^l)$"
    edge = -3.0 if vertical else 1.95                          # the forward arrow, beside the net
    ax.annotate("", xy=at(uc, edge), xytext=at(us[0], edge),
                arrowprops=dict(arrowstyle="-|>", color=FORWARD, linewidth=1.0))
    ax.text(*at((us[0] + uc) / 2, edge + (-0.12 if vertical else 0.07)), forward, color=FORWARD, fontsize=size,
            ha="center", va="bottom", rotation=90 if vertical else 0, rotation_mode="anchor")

    low = 1.55 if vertical else -1.45                          # the backward lane, on the other side
    bp1 = r"$\nabla_a C \odot \sigma′(z^{%d})$" % L
    bp2 = r"$(W^{%d})^{\top}\delta^{%d} \odot \sigma′(z^{%d})$"
    def label(u, name, formula):
        if vertical:                                           # beside the lane, between two rows
            ax.text(*at(u, low + 0.3), f"{name}  {formula}", ha="left", va="center", color=BACKWARD, fontsize=size)
        else:                                                  # above and below the lane
            ax.text(*at(u, low + 0.12), name, ha="center", va="bottom", color=BACKWARD, fontsize=size,
                    fontweight="bold")
            ax.text(*at(u, low - 0.12), formula, ha="center", va="top", color=BACKWARD, fontsize=size)
    _arrow(ax, at(uc, low), at(us[-1], low), BACKWARD, width=1.6, shrink=12)
    label((us[-1] + uc) / 2 + 0.05, "BP1", bp1)
    for l in range(L - 1, 0, -1):
        _arrow(ax, at(us[l + 1], low), at(us[l], low), BACKWARD, width=1.6, shrink=12)
        label((us[l] + us[l + 1]) / 2, "BP2", bp2 % (l + 1, l + 1, l))
    for l in range(1, L + 1):                                  # delta at every layer: BP3, BP4
        side = vs[l][-1] + radius if vertical else vs[l][0] - radius
        (x0, y0), (x1, y1) = at(us[l], side), at(us[l], low)
        ax.plot([x0, x1], [y0, y1], color=BACKWARD, linewidth=0.6, linestyle=":", zorder=0)
        ax.text(*at(us[l], low), f"$\\delta^{l}$", ha="center", va="center", fontsize=12, color=BACKWARD,
                bbox=dict(boxstyle="round,pad=0.2", facecolor="white", edgecolor=BACKWARD, linewidth=0.8),
                zorder=3)
        bp34 = (f"BP3: $\\partial C/\\partial b^{l} = \\delta^{l}$\n"
                f"BP4: $\\partial C/\\partial W^{l} = \\delta^{l} (a^{{{l - 1}}})^{{\\top}}$")
        if vertical:
            ax.text(*at(us[l], low + 0.45), bp34, ha="left", va="center", fontsize=size, linespacing=1.4)
        else:
            ax.text(*at(us[l], low - 0.62), bp34, ha="center", va="top", fontsize=10, linespacing=1.6)
    ax.text(*at(us[0], low), "backward", ha="left" if vertical else "center", va="center", fontsize=size,
            color=BACKWARD, style="italic")
    (x0, y0), (x1, y1) = at(uc, 0.3 if vertical else -0.3), at(uc, low)
    ax.plot([x0, x1], [y0, y1], color=BACKWARD, linewidth=0.6, linestyle=":", zorder=0)
    if vertical:
        ax.set_xlim(-3.4, low + 4.4)
        ax.set_ylim(-(uc + 0.6), 0.6)
    else:
        ax.set_xlim(us[0] - 0.9, uc + 0.5)
        ax.set_ylim(low - 1.75, 2.55)
    return fig


# --------------------------------------------------------------------------------------
# backprop.md: the two-neuron chain as a computational graph, numbers on the wires
# --------------------------------------------------------------------------------------
def chain_graph(values: dict, grads: dict, params: dict, param_grads: dict) -> str:
    """Nodes x -> z1 -> a1 -> z2 -> a2 -> C; each wire's value (forward) on one side and
    dC/d(value) (backward) on the other: left to right on a wide screen, top to bottom on a phone.

    ``values`` and ``grads`` are keyed by the node names ``x, z1, a1, z2, a2`` (and ``C`` in
    ``values``); ``params``/``param_grads`` by ``w1, b1, w2, b2``.
    """
    args = (values, grads, params, param_grads)
    return svg(_chain_graph(*args, vertical=False), phone=_chain_graph(*args, vertical=True))


def _chain_graph(values, grads, params, param_grads, vertical: bool):
    nodes = ["x", "z1", "a1", "z2", "a2", "C"]
    tex = {"x": "$x = a^0$", "z1": "$z^1$", "a1": "$a^1$", "z2": "$z^2$", "a2": "$a^2$", "C": "$C$"}
    op = {"z1": r"$w^1 a^0 + b^1$", "a1": r"$\sigma$", "z2": r"$w^2 a^1 + b^2$", "a2": r"$\sigma$",
          "C": r"$\frac{1}{2}(y - a^2)^2$"}
    gap = 1.9 if vertical else 2.4
    us = {name: i * gap for i, name in enumerate(nodes)}
    # (u, v) -> page coordinates: u along the chain (right, or down), v across it (up, or left).
    at = (lambda u, v: (-v, -u)) if vertical else (lambda u, v: (u, v))
    # Where a label on the forward (+v) or backward (-v) side of a wire is anchored.
    plus = dict(ha="right", va="center") if vertical else dict(ha="center", va="bottom")
    minus = dict(ha="left", va="center") if vertical else dict(ha="center", va="top")
    size = 11
    fig, ax = plt.subplots(figsize=(5.4, 7.4) if vertical else (10, 3.6))
    ax.set_aspect("equal")
    ax.axis("off")
    box = dict(boxstyle="round,pad=0.35", facecolor="white", edgecolor="black", linewidth=0.8)
    for name in nodes:
        ax.text(*at(us[name], 0), tex[name], ha="center", va="center", fontsize=13, bbox=box, zorder=3)
        if name in op:  # what the node computes, on the backward side
            ax.text(*at(us[name], -0.45), op[name], fontsize=size, color="#424242", **minus)
    for left, right in zip(nodes[:-1], nodes[1:]):
        _arrow(ax, at(us[left] + 0.45, 0), at(us[right] - 0.45, 0), "black", width=0.8)
        mid = (us[left] + us[right]) / 2
        ax.text(*at(mid, 0.16), f"{values[left]:.4f}", color=FORWARD, fontsize=size, **plus)
        ax.text(*at(mid, -0.16), f"{grads[left]:.4f}", color=BACKWARD, fontsize=size, **minus)
    ax.text(*at(us["C"] + (0.45 if vertical else 0), 0.5 if not vertical else 0), f"{values['C']:.4f}",
            color=FORWARD, fontsize=size, **(dict(ha="center", va="top") if vertical else plus))
    # the parameters, entering from the forward side, each with its value and its gradient
    for i, (w, b) in enumerate((("w1", "b1"), ("w2", "b2")), start=1):
        target = us[f"z{i}"]
        spread = 0.55 if vertical else 0.85
        for name, du in ((w, -spread), (b, spread)):
            start = (target + du, 1.35 if vertical else 1.2)
            _arrow(ax, at(*start), at(target + du * 0.3, 0.32), "black", width=0.6)
            value = f"${name[0]}^{name[1]}$ = {params[name]:g}"
            if vertical:
                ax.text(*at(start[0], start[1] + 0.08), f"{value}   ", color=FORWARD, fontsize=size, ha="right",
                        va="bottom")
                ax.text(*at(start[0], start[1] + 0.08), f"{param_grads[name]:.4f}   ", color=BACKWARD,
                        fontsize=size, ha="right", va="top")
            else:
                ax.text(*at(start[0], start[1] + 0.05), value, color=FORWARD, fontsize=size, ha="center",
                        va="bottom")
                ax.text(*at(start[0], start[1] + 0.42), f"{param_grads[name]:.4f}", color=BACKWARD,
                        fontsize=size, ha="center", va="bottom")
    key_value = "value (forward)" if vertical else "above a wire: its value (forward)"
    key_grad = (r"gradient $\partial C/\partial(\cdot)$ (backward)" if vertical
                else r"below: the gradient $\partial C/\partial(\mathrm{value})$ (backward)")
    if vertical:  # the key under the chain
        ax.text(*at(us["C"] + 1.1, 2.6), f"left of a wire: its {key_value}", color=FORWARD, fontsize=size,
                ha="left", va="center")
        ax.text(*at(us["C"] + 1.55, 2.6), f"right: the {key_grad}", color=BACKWARD, fontsize=size,
                ha="left", va="center")
        ax.set_xlim(-3.0, 3.1)
        ax.set_ylim(-(us["C"] + 1.9), 0.5)
    else:
        ax.text(*at(us["x"] - 0.6, -1.05), key_value, color=FORWARD, fontsize=size, ha="left")
        ax.text(*at(us["x"] - 0.6, -1.45), key_grad, color=BACKWARD, fontsize=size, ha="left")
        ax.set_xlim(us["x"] - 0.8, us["C"] + 1.2)
        ax.set_ylim(-1.6, 2.15)
    return fig


# --------------------------------------------------------------------------------------
# activations.md
# --------------------------------------------------------------------------------------
def activation_derivatives(z, curves: dict) -> str:
    """One panel per activation with its derivative: side by side on a wide screen, stacked
    on a phone.

    ``curves`` maps a panel title to ``(a, da_dz, label, derivative_label, max_note)``.
    """
    n = len(curves)
    return svg(_activation_derivatives(z, curves, (1, n), (4.2 * n, 3.4)),
               phone=_activation_derivatives(z, curves, (n, 1), (5.4, 3.4 * n)))


def _activation_derivatives(z, curves, layout, figsize):
    fig, axes = plt.subplots(*layout, figsize=figsize, sharex=True)
    for ax, (title, (a, da, label, dlabel, note)) in zip(np.atleast_1d(axes), curves.items()):
        ax.axhline(0, color=GREY, linewidth=0.6)
        ax.axvline(0, color=GREY, linewidth=0.6)
        label, dlabel, note = _prime(label), _prime(dlabel), _prime(note)
        ax.plot(z, a, color=FORWARD, label=label)
        ax.plot(z, da, color=BACKWARD, label=dlabel)
        top = int(np.argmax(da))
        ax.plot([z[top]], [da[top]], "o", color=BACKWARD, markersize=4)
        ax.annotate(note, xy=(z[top], da[top]), xytext=(z[top] + 0.8, da[top] + 0.22 * (a.max() - a.min())),
                    color=BACKWARD, arrowprops=dict(arrowstyle="-", color=BACKWARD, linewidth=0.6))
        ax.set_title(title)
        ax.set_xlabel("$z$")
        ax.legend(loc="upper left", frameon=False)
        ax.set_ylim(min(a.min(), 0) - 0.1, a.max() + 0.55 * (a.max() - min(a.min(), 0)))
    fig.tight_layout()
    return fig


def gradient_norms(norms: dict, layer_labels: list[str], title: str) -> str:
    """Mean weight-gradient norm per Linear layer (log scale), one line per activation."""
    fig, ax = plt.subplots(figsize=(5.4, 3.6))
    colors = {"sigmoid": BACKWARD, "tanh": FORWARD, "relu": "#31a354"}
    positions = np.arange(1, len(layer_labels) + 1)
    for name, values in norms.items():
        ax.plot(positions, values, marker="o", markersize=4, label=name, color=colors.get(name))
    ax.set_yscale("log")
    ax.set_xticks(positions, layer_labels)
    ax.set_xlabel("Linear layer (input → output)")
    ax.set_ylabel(r"mean $\|\partial C/\partial W\|$")
    ax.set_title(title)
    ax.grid(axis="y", color="#e0e0e0", linewidth=0.5)
    ax.legend(frameon=False)
    fig.tight_layout()
    return svg(fig)


# --------------------------------------------------------------------------------------
# gradient-patterns.md: one gate with numbers on its wires (value above, gradient below)
# --------------------------------------------------------------------------------------
def gate(symbol: str, inputs: list, outputs: list, note: str = "") -> str:
    """One gate drawn as a circuit: ``inputs`` enter from the left, ``outputs`` leave to the
    right, each a ``(name, value, gradient)`` triple (an empty ``symbol`` draws a branch point,
    for fan-out); the value is written above its wire (blue)
    and the gradient dC/d(wire) below it (orange). ``note`` is a line of text under the gate.

    Drawn 4.4 inches wide with 11-12 pt text, so that shown 358 px wide on a phone its labels
    are still about 12 CSS px.
    """
    fig, ax = plt.subplots(figsize=(4.4, 2.3))
    ax.set_aspect("equal")
    ax.axis("off")
    node, radius = (2.6, 0.0), 0.36

    def rows(n):
        return np.linspace((n - 1) / 2, -(n - 1) / 2, n) * 1.5

    def wire(x0, x1, y, name, value, grad, side):
        ax.plot([x0, x1], [y, y], color="black", linewidth=0.9, zorder=1)
        mid = (x0 + x1) / 2
        ax.text(mid, y + 0.09, f"{value:g}", ha="center", va="bottom", color=FORWARD, fontsize=12)
        ax.text(mid, y - 0.09, f"{grad:g}", ha="center", va="top", color=BACKWARD, fontsize=12)
        end = x0 - 0.12 if side == "left" else x1 + 0.12
        ax.text(end, y, f"${name}$", ha="right" if side == "left" else "left", va="center",
                fontsize=13)

    for (name, value, grad), y in zip(inputs, rows(len(inputs))):
        wire(0.0, 1.4, y, name, value, grad, "left")
        ax.plot([1.4, node[0]], [y, 0], color="black", linewidth=0.9, zorder=1)
    for (name, value, grad), y in zip(outputs, rows(len(outputs))):
        x0 = 3.8 if len(outputs) > 1 else node[0] + radius
        if len(outputs) > 1:
            ax.plot([node[0], x0], [0, y], color="black", linewidth=0.9, zorder=1)
        wire(x0, 5.2, y, name, value, grad, "right")
    if symbol:
        ax.add_patch(Circle(node, radius, facecolor="white", edgecolor="black", linewidth=1.1, zorder=3))
        ax.text(*node, symbol, ha="center", va="center", fontsize=13 if len(symbol) < 3 else 11, zorder=4)
    else:                                            # fan-out: the wire simply branches
        ax.add_patch(Circle(node, 0.08, color="black", zorder=3))
    if note:
        ax.text(2.6, -1.55, note, ha="center", va="top", fontsize=11, color="#424242")
    ax.set_xlim(-0.6, 5.8)
    ax.set_ylim(-1.95, 1.35)
    return svg(fig)


# --------------------------------------------------------------------------------------
# why-backprop-is-fast.md: forward- against reverse-mode on one small graph
# --------------------------------------------------------------------------------------
def forward_reverse(positions: dict, edges: dict, edge_labels: dict, tangents: dict, seed: str,
                    bars: dict, counts: tuple) -> str:
    """The same graph twice, one panel above the other. Edges carry their local derivative.
    Top: forward mode seeded at input ``seed``, each node labelled with d(node)/d(seed) (blue).
    Bottom: reverse mode, each node labelled with d(output)/d(node) (orange). The edges on the
    paths from ``seed`` to the output are drawn thick in both.
    ``positions`` maps node -> (x, y); ``edges`` maps (src, dst) -> local derivative (a number)
    and ``edge_labels`` the same keys to its formula; ``counts`` is
    (forward passes, multiplications per pass, reverse multiplications)."""
    passes, per_pass, reverse = counts
    fig, axes = plt.subplots(2, 1, figsize=(4.4, 5.6))
    titles = (f"forward mode, seeded at ${seed}$: $\\partial(\\cdot)/\\partial {seed}$",
              "reverse mode: $\\partial e/\\partial(\\cdot)$")
    footers = (f"one pass per input: {passes} × {per_pass} = {passes * per_pass} multiplications",
               f"one pass for all inputs: {reverse} multiplications")
    for ax, title, numbers, color, footer in zip(axes, titles, (tangents, bars), (FORWARD, BACKWARD),
                                                  footers):
        ax.set_aspect("equal")
        ax.axis("off")
        for (src, dst), local in edges.items():
            (x0, y0), (x1, y1) = positions[src], positions[dst]
            on_path = tangents[src] != 0                  # an edge on a path from the seed to e
            ax.plot([x0, x1], [y0, y1], color=color if on_path else "black",
                    linewidth=2.0 if on_path else 0.9, zorder=1)
            mx, my = x0 + 0.5 * (x1 - x0), y0 + 0.5 * (y1 - y0)
            ax.text(mx, my, f"{edge_labels[(src, dst)]}", ha="center", va="center", fontsize=10,
                    color="#424242", zorder=2,
                    bbox=dict(boxstyle="round,pad=0.12", facecolor="white", edgecolor="none"))
        for name, (x, y) in positions.items():
            ax.add_patch(Circle((x, y), 0.27, facecolor="white", edgecolor="black", linewidth=1.0, zorder=3))
            ax.text(x, y, f"${name}$", ha="center", va="center", fontsize=13, zorder=4)
            ax.text(x, y + 0.34, f"{numbers[name]:g}", ha="center", va="bottom", fontsize=12,
                    color=color, zorder=4)
        ax.set_title(title, fontsize=11)
        ax.text(2.0, -1.55, footer, ha="center", va="top", fontsize=11, color=color)
        ax.set_xlim(-0.5, 4.5)
        ax.set_ylim(-1.9, 1.5)
    fig.tight_layout(h_pad=0.6)
    return svg(fig)


# --------------------------------------------------------------------------------------
# modules/normalization.md: BatchNorm's staged graph, the three paths into x
# --------------------------------------------------------------------------------------
def batchnorm_graph(values: dict, grads: dict, paths: dict) -> str:
    """x_j -> mu -> sigma^2 -> xhat -> y, each edge labelled with its local derivative, the
    value of each node above it (blue) and dC/d(node) below (orange). ``values``/``grads`` are
    keyed ``x, mu, var, xhat, y``; ``paths`` maps ``direct, var, mu`` to the three terms of
    dC/dx_j, which the footer adds up. The three edges out of x_j (the three paths) are thick."""
    pos = {"x": (0.0, 0.0), "mu": (2.2, 1.5), "var": (2.2, -1.5), "xhat": (4.4, 0.0), "y": (6.2, 0.0)}
    tex = {"x": "$x_j$", "mu": r"$\mu$", "var": r"$\sigma^2$", "xhat": r"$\hat x_j$", "y": "$y_j$"}
    fig, ax = plt.subplots(figsize=(4.6, 4.6))
    ax.set_aspect("equal")
    ax.axis("off")
    # (from, to, local derivative, label offset)
    edges = [("x", "mu", "$1/m$", (-0.4, 0.2)),
             ("x", "var", r"$(2/m)(x_j-\mu)$", (-0.75, -0.62)),
             ("x", "xhat", "$s$", (-1.0, 0.2)),
             ("mu", "var", "$0$", (0.2, -0.55)),
             ("mu", "xhat", "$-s$", (0.35, 0.2)),
             ("var", "xhat", r"$-(x_j-\mu)s^3/2$", (0.8, -0.35)),
             ("xhat", "y", r"$\gamma$", (0.0, 0.2))]
    r = 0.42
    for src, dst, label, (dx, dy) in edges:
        (x0, y0), (x1, y1) = pos[src], pos[dst]
        length = np.hypot(x1 - x0, y1 - y0)
        ux, uy = (x1 - x0) / length, (y1 - y0) / length
        zero = label == "$0$"                        # mu -> sigma^2: its derivative sums to 0
        _arrow(ax, (x0 + r * ux, y0 + r * uy), (x1 - r * ux, y1 - r * uy),
               GREY if zero else "black", width=1.8 if src == "x" else 0.9)
        ax.text((x0 + x1) / 2 + dx, (y0 + y1) / 2 + dy, label, ha="center", va="center",
                fontsize=11, color=GREY if zero else "#212121")
    for name, (x, y) in pos.items():
        ax.add_patch(Circle((x, y), r, facecolor="white", edgecolor="black", linewidth=1.0, zorder=3))
        ax.text(x, y, tex[name], ha="center", va="center", fontsize=13, zorder=4)
        above = y + r + 0.06 if name != "var" else y - r - 0.06
        below = y - r - 0.06 if name != "var" else y - r - 0.42
        if name == "mu":
            above, below = y + r + 0.38, y + r + 0.06
        ax.text(x, above, f"{values[name]:.3f}", ha="center", va="bottom" if name != "var" else "top",
                fontsize=11, color=FORWARD)
        ax.text(x, below, f"{grads[name]:.3f}", ha="center", va="top" if name not in ("mu",) else "bottom",
                fontsize=11, color=BACKWARD)
    total = sum(paths.values())
    lines = [r"$\partial C/\partial x_j$ = three paths:",
             f"direct {paths['direct']:+.3f},  via $\\sigma^2$ {paths['var']:+.3f},  via $\\mu$ {paths['mu']:+.3f}",
             f"= {total:.3f}"]
    for k, line in enumerate(lines):
        ax.text(3.1, -2.85 - 0.42 * k, line, ha="center", va="top", fontsize=11, color=BACKWARD)
    ax.set_xlim(-0.6, 6.8)
    ax.set_ylim(-4.2, 2.5)
    return svg(fig)


# --------------------------------------------------------------------------------------
# modules/recurrent.md: the unrolled RNN, and full against truncated BPTT
# --------------------------------------------------------------------------------------
def unrolled_rnn() -> str:
    """Three steps of an unrolled RNN; forward arrows black, and the two gradients that reach
    h_t in orange: dC/dy_t from the output above and delta_{t+1} W_hh from the next step."""
    fig, ax = plt.subplots(figsize=(4.6, 3.3))
    ax.set_aspect("equal")
    ax.axis("off")
    steps = [("t-1", 0.0), ("t", 2.2), ("t+1", 4.4)]
    box = dict(boxstyle="round,pad=0.3", facecolor="white", edgecolor="black", linewidth=0.9)
    for name, x in steps:
        ax.text(x, 0, f"$h_{{{name}}}$", ha="center", va="center", fontsize=13, bbox=box, zorder=3)
        ax.text(x, -1.5, f"$x_{{{name}}}$", ha="center", va="center", fontsize=12)
        ax.text(x, 1.5, f"$y_{{{name}}}$", ha="center", va="center", fontsize=12)
        _arrow(ax, (x, -1.25), (x, -0.38), "black", width=0.8)
        _arrow(ax, (x - 0.12, 0.38), (x - 0.12, 1.25), "black", width=0.8)
    for (_, x0), (_, x1) in zip(steps[:-1], steps[1:]):
        _arrow(ax, (x0 + 0.55, 0.1), (x1 - 0.55, 0.1), "black", width=0.8)
    ax.text(1.1, 0.22, "$W_{hh}$", ha="center", va="bottom", fontsize=10, color="#424242")
    _arrow(ax, (-1.05, 0.1), (-0.55, 0.1), "black", width=0.8)
    _arrow(ax, (4.95, 0.1), (5.45, 0.1), "black", width=0.8)
    # the two paths into h_t, backwards
    _arrow(ax, (2.32, 1.25), (2.32, 0.4), BACKWARD, width=1.8)
    ax.text(2.45, 0.85, r"$\partial C/\partial y_t$", ha="left", va="center", fontsize=11, color=BACKWARD)
    _arrow(ax, (3.85, -0.12), (2.75, -0.12), BACKWARD, width=1.8)
    ax.text(3.3, -0.25, r"$\delta_{t+1} W_{hh}$", ha="center", va="top", fontsize=11, color=BACKWARD)
    ax.text(2.2, -2.0, r"$\partial C/\partial h_t$ = the sum of both", ha="center", va="top",
            fontsize=11, color=BACKWARD)
    ax.set_xlim(-1.1, 5.5)
    ax.set_ylim(-2.4, 1.8)
    return svg(fig)


def bptt_truncation(back: np.ndarray, full: np.ndarray, truncated: np.ndarray, k: int,
                    clip_scale: float) -> str:
    """|dC/dh_t| against the number of steps back from the cost: full BPTT (orange), truncated
    BPTT at k steps (blue, nothing further back), and full BPTT after clipping (dashed: the
    same curve times ``clip_scale``)."""
    fig, ax = plt.subplots(figsize=(4.6, 3.4))
    ax.semilogy(back, full, color=BACKWARD, marker=".", label="full BPTT")
    ax.semilogy(back, full * clip_scale, color=BACKWARD, linestyle="--", linewidth=1.0,
                label="full, clipped")
    kept = ~np.isnan(truncated)
    ax.semilogy(back[kept], truncated[kept], color=FORWARD, marker="o", markersize=3.5,
                linestyle="none", label=f"truncated, k = {k}")
    ax.set_ylim(bottom=np.nanmin(full * clip_scale) / 30)   # room for the legend underneath
    ax.axvline(k, color=GREY, linewidth=0.8)
    ax.text(k + 0.5, ax.get_ylim()[1], "truncation", fontsize=10, color=GREY, va="top")
    ax.set_xlabel("steps back from the cost, $L - t$", fontsize=11)
    ax.set_ylabel(r"$|\partial C/\partial h_t|$", fontsize=11)
    ax.tick_params(labelsize=10)
    ax.legend(fontsize=10, frameon=False, loc="lower right")
    fig.tight_layout()
    return svg(fig)


# --------------------------------------------------------------------------------------
# modules/linear.md: the three products of Linear's backward, as blocks of their shapes
# --------------------------------------------------------------------------------------
def linear_backward_shapes(N: int, n_in: int, n_out: int) -> str:
    """dC/dW = delta^T x, dC/db = the column sums of delta, dC/dx = delta W, each matrix a
    block of its shape (one cell per entry; x and W blue, delta and the gradients orange). In
    each product one entry of the result is dark, with the row and the column it is made of:
    the sizes that meet in the middle must agree, which is what puts the transposes where
    they are. The three side by side on a wide screen, one above the other on a phone."""
    args = (N, n_in, n_out)
    return svg(_linear_backward_shapes(*args, vertical=False),
               phone=_linear_backward_shapes(*args, vertical=True))


def _linear_backward_shapes(N, n_in, n_out, vertical: bool):
    j, k, n = 0, 1, 2                                          # the entries lit up: W_jk, b_j, x_nk

    def lit(rows, cols, row=None, col=None):
        mask = np.zeros((rows, cols), bool)
        if row is not None:
            mask[row, :] = True
        if col is not None:
            mask[:, col] = True
        return mask

    def cell(rows, cols, row, col):
        mask = np.zeros((rows, cols), bool)
        mask[row, col] = True
        return mask

    # each equation: a list of blocks (name, shape label, rows, cols, colour, highlight) and symbols
    equations = [
        ("BP4", [(r"$\partial C/\partial W$", "out × in", n_out, n_in, BACKWARD, cell(n_out, n_in, j, k)), "=",
                 (r"$\delta^{\top}$", "out × N", n_out, N, BACKWARD, lit(n_out, N, row=j)), "",
                 ("$x$", "N × in", N, n_in, FORWARD, lit(N, n_in, col=k))]),
        ("BP3", [(r"$\partial C/\partial b$", "out", 1, n_out, BACKWARD, cell(1, n_out, 0, j)), "=",
                 (r"$\Sigma_n\, \delta_n$", "N × out", N, n_out, BACKWARD, lit(N, n_out, col=j))]),
        ("BP2", [(r"$\partial C/\partial x$", "N × in", N, n_in, BACKWARD, cell(N, n_in, n, k)), "=",
                 (r"$\delta$", "N × out", N, n_out, BACKWARD, lit(N, n_out, row=n)), "",
                 ("$W$", "out × in", n_out, n_in, FORWARD, lit(n_out, n_in, col=k))]),
    ]
    gap, symbol = 0.6, 1.2
    widths = [sum(b[3] + gap if isinstance(b, tuple) else (symbol if b else 0.2) for b in parts) - gap
              for _, parts in equations]
    height = max(N, n_out) + 3.7                                # blocks, with a name above and a shape below
    fig_w = 5.4 if vertical else 9.0
    fig, ax = plt.subplots(figsize=(fig_w, 3 * height * 0.42 + 0.2) if vertical else (fig_w, 3.2))
    ax.set_aspect("equal")
    ax.axis("off")
    x0, top = 0.0, 0.0
    for (bp, parts), width in zip(equations, widths):
        x = x0 if not vertical else 0.0
        mid = top - 1.9 - max(N, n_out) / 2                    # the equation's middle line
        ax.text(x, top, bp, ha="left", va="top", fontsize=12, color=BACKWARD, fontweight="bold")
        for part in parts:
            if isinstance(part, str):
                step = symbol if part else 0.2
                if part:
                    ax.text(x + step / 2 - gap / 2, mid, part, ha="center", va="center", fontsize=15)
                x += step
                continue
            name, shape, rows, cols, color, highlight = part
            y = mid + rows / 2
            _cells(ax, x, y, np.zeros((rows, cols)), color=color, highlight=highlight)
            ax.text(x + cols / 2, y + 0.2, name, ha="center", va="bottom", fontsize=13)
            sizes = f"{cols}" if shape == "out" else f"{rows} × {cols}"
            ax.text(x + cols / 2, y - rows - 0.2, f"{shape}\n({sizes})", ha="center", va="top", fontsize=11,
                    color="#424242", linespacing=1.3)
            x += cols + gap
        if vertical:
            top -= height + 0.4
        else:
            x0 += width + 2.0
    if vertical:
        ax.set_xlim(-0.3, max(widths) + 0.3)
        ax.set_ylim(top + 0.2, 0.3)
    else:
        ax.set_xlim(-0.3, x0 - 1.7)
        ax.set_ylim(-height - 0.2, 0.3)
    return fig


# --------------------------------------------------------------------------------------
# modules/softmax.md: the Jacobian diag(s) - s s^T of one example, and the product backward takes
# --------------------------------------------------------------------------------------
def softmax_jacobian(s: np.ndarray, J: np.ndarray, g: np.ndarray, dz: np.ndarray) -> str:
    """The vector ``s`` beside the heat map of ``J`` (orange above zero: the diagonal; blue
    below: every off-diagonal entry), then the backward's product with the upstream ``g``:
    ``dz = J g = s * (g - <g, s>)``. One row on a wide screen; on a phone the product goes
    under the Jacobian."""
    return svg(_softmax_jacobian(s, J, g, dz, vertical=False), phone=_softmax_jacobian(s, J, g, dz, vertical=True))


def _softmax_jacobian(s, J, g, dz, vertical: bool):
    C, w = len(s), 1.45                                         # cells 1.45 wide: room for "−0.15"
    dot = float(g @ s)
    number = lambda v: f"{v:.2f}".replace("-", "−")
    fig, ax = plt.subplots(figsize=(5.4, 6.4) if vertical else (10.0, 3.3))
    ax.set_aspect("equal")
    ax.axis("off")
    _cells(ax, 0, 0, s[:, None], color=FORWARD, fmt=number, edge="#bdbdbd", w=w)
    ax.text(w / 2, 0.25, "$s$", ha="center", va="bottom", fontsize=13, color=FORWARD)
    x = w + 1.0
    _cells(ax, x, 0, J, cmap=SIGNED, norm=(-np.abs(J).max(), np.abs(J).max()), fmt=number, w=w)
    ax.text(x + C * w / 2, 0.25, r"$J = \mathrm{diag}(s) - s\,s^{\top}$", ha="center", va="bottom", fontsize=13)
    for i in range(C):                                          # row and column numbers
        ax.text(x - 0.15, -i - 0.5, f"{i}", ha="right", va="center", fontsize=11, color="#616161")
        ax.text(x + (i + 0.5) * w, -C - 0.15, f"{i}", ha="center", va="top", fontsize=11, color="#616161")
    ax.text(x + C * w / 2, -C - 0.85, r"diagonal $s_i(1 - s_i) > 0$, off it $-s_i s_j < 0$", ha="center",
            va="top", fontsize=11, color="#424242")
    right = x + C * w
    # the product backward computes from s alone
    x, top = (0.0, -C - 3.0) if vertical else (right + 1.4, 0.0)
    start = x
    columns = [("$g$", g), (r"$g - \langle g, s\rangle$", g - dot), (r"$s \odot (\ldots)$", dz)]
    for m, (name, vector) in enumerate(columns):
        _cells(ax, x, top, vector[:, None], color=BACKWARD, fmt=number, edge="#bdbdbd", w=w)
        ax.text(x + w / 2, top + 0.25, name, ha="center", va="bottom", fontsize=12, color=BACKWARD)
        if m < 2:
            ax.text(x + w + 0.75, top - C / 2, "→", ha="center", va="center", fontsize=15, color=BACKWARD)
        x += w + 1.5
    end = x - 1.5
    ax.text((start + end) / 2, top - C - 0.3, f"$\\langle g, s\\rangle$ = {number(dot)}", ha="center",
            va="top", fontsize=11, color="#424242")
    ax.text((start + end) / 2, top - C - 1.0, "= $J g$, without forming $J$", ha="center", va="top",
            fontsize=11, color="#424242")
    ax.set_xlim(-0.4, max(right, end) + 0.3)
    ax.set_ylim(top - C - 1.8, 1.2)
    return fig


# --------------------------------------------------------------------------------------
# modules/embedding.md: the weight gradient as a scatter-add
# --------------------------------------------------------------------------------------
def embedding_scatter(indices: np.ndarray, delta: np.ndarray, grad: np.ndarray, padding_idx: int) -> str:
    """Each looked-up position k (left: its index i_k and its upstream row delta_k) sends
    delta_k to row i_k of weight.grad (right): a row looked up twice is the sum of two, a row
    never looked up is 0, and the padding row is 0 whatever points at it (grey). The same
    drawing for a phone, with larger text."""
    args = (indices, delta, grad, padding_idx)
    return svg(_embedding_scatter(*args, phone=False), phone=_embedding_scatter(*args, phone=True))


def _embedding_scatter(indices, delta, grad, padding_idx, phone: bool):
    indices = np.asarray(indices).reshape(-1)
    delta = delta.reshape(len(indices), -1)
    V, D = grad.shape
    # cell width (room for "−0.15"), the labels' and the cells' font sizes
    w, text, small = (1.8, 13, 12) if phone else (1.45, 12, 11)
    number = lambda v: f"{v:.2f}".replace("-", "−")
    limit = max(np.abs(delta).max(), np.abs(grad).max())
    norm = (-limit, limit)
    fig, ax = plt.subplots(figsize=(5.6, 4.8))
    ax.set_aspect("equal")
    ax.axis("off")
    left = 1.7
    right = left + D * w + 2.6
    span = (max(len(indices), V) - 1) * 1.3                     # both columns the same height
    ks, vs = -np.linspace(0, span, len(indices)), -np.linspace(0, span, V)
    ax.text(0.0, 0.35, "$k$: $i_k$", ha="left", va="bottom", fontsize=text)
    ax.text(left + D * w / 2, 0.35, r"$\delta_k = \partial C/\partial y_k$", ha="center", va="bottom",
            fontsize=text, color=BACKWARD)
    ax.text(right + D * w / 2, 0.35, "weight.grad", ha="center", va="bottom", fontsize=text, color=BACKWARD)
    for k, (index, y) in enumerate(zip(indices, ks)):
        pad = index == padding_idx
        ax.text(0.0, y - 0.5, f"{k}: {index}", ha="left", va="center", fontsize=text, color=GREY if pad else "black")
        _cells(ax, left, y, delta[k], cmap=SIGNED, norm=norm, fmt=number, size=small, w=w)
        _arrow(ax, (left + D * w + 0.1, y - 0.5), (right - 0.1, vs[index] - 0.5), GREY if pad else BACKWARD,
               width=0.8 if pad else 1.3)
    users = {v: [k for k, i in enumerate(indices) if i == v] for v in range(V)}
    for v, y in enumerate(vs):
        _cells(ax, right, y, grad[v], cmap=SIGNED, norm=norm, fmt=number, size=small, w=w)
        if v == padding_idx or not users[v]:
            note, color = f"{v}", GREY
        else:
            note, color = f"{v} = " + " + ".join(f"$\\delta_{k}$" for k in users[v]), BACKWARD
        ax.text(right + D * w + 0.25, y - 0.5, note, ha="left", va="center", fontsize=text, color=color)
    unused = [str(v) for v in range(V) if not users[v] and v != padding_idx]
    ax.text(0.0, -span - 1.5, f"grey: row {padding_idx}, padding_idx, stays 0;", ha="left", va="top", fontsize=text,
            color=GREY)
    ax.text(0.0, -span - 2.2, f"{'rows' if len(unused) > 1 else 'row'} {', '.join(unused)}: not looked up, 0",
            ha="left", va="top", fontsize=text, color=GREY)
    ax.set_xlim(-0.2, right + D * w + 2.6)
    ax.set_ylim(-span - 2.9, 1.3)
    return fig


# --------------------------------------------------------------------------------------
# modules/attention.md: one head's graph, and A and dC/dS of a causal example
# --------------------------------------------------------------------------------------
def _box_exit(ax, box, dx, dy) -> float:
    """How far along (dx, dy), as a fraction, a line from the centre of ``box`` (a text with a
    bbox, already drawn) leaves the box."""
    extent = box.get_bbox_patch().get_window_extent().transformed(ax.transData.inverted())
    return min(extent.width / 2 / abs(dx) if dx else np.inf, extent.height / 2 / abs(dy) if dy else np.inf)


def _graph_edge(ax, boxes, src, dst, grad, *, side=1, offset=0.16, label_at=0.5, label_pad=0.14, rad=0.0):
    """A forward arrow ``src -> dst`` (black) between two node boxes, and beside it the backward
    arrow ``dst -> src`` (orange) labelled ``grad`` (at ``label_at`` of the part of the arrow
    between the boxes), offset to ``side`` (+1 left of the forward direction, -1 right)."""
    (x0, y0), (x1, y1) = boxes[src].get_position(), boxes[dst].get_position()
    ax.annotate("", xy=(x1, y1), xytext=(x0, y0), zorder=1,
                arrowprops=dict(arrowstyle="-|>", color="black", linewidth=0.9, mutation_scale=10,
                                patchA=boxes[src].get_bbox_patch(), patchB=boxes[dst].get_bbox_patch(),
                                shrinkA=2, shrinkB=2, connectionstyle=f"arc3,rad={rad}"))
    length = np.hypot(x1 - x0, y1 - y0)
    nx, ny = -(y1 - y0) / length * side, (x1 - x0) / length * side          # the normal, to ``side``
    ox, oy = nx * offset, ny * offset
    ax.annotate("", xy=(x0 + ox, y0 + oy), xytext=(x1 + ox, y1 + oy), zorder=1,
                arrowprops=dict(arrowstyle="-|>", color=BACKWARD, linewidth=1.4, mutation_scale=10,
                                patchA=boxes[dst].get_bbox_patch(), patchB=boxes[src].get_bbox_patch(),
                                shrinkA=2, shrinkB=2, connectionstyle=f"arc3,rad={rad}"))
    if grad:
        t0 = _box_exit(ax, boxes[src], x1 - x0, y1 - y0)
        t1 = 1 - _box_exit(ax, boxes[dst], x1 - x0, y1 - y0)
        t = t0 + (t1 - t0) * label_at
        mx, my = x0 + (x1 - x0) * t, y0 + (y1 - y0) * t
        d = offset + label_pad
        ha = "center" if abs(nx) < 0.3 else ("left" if nx > 0 else "right")
        va = "center" if abs(ny) < 0.3 else ("bottom" if ny > 0 else "top")
        ax.text(mx + nx * d, my + ny * d, grad, ha=ha, va=va, fontsize=12, color=BACKWARD)


def attention_graph() -> str:
    """One head: x -> Q, K, V -> S = QK^T / sqrt(d) -> mask -> A = softmax(S) -> O = AV -> y,
    forward arrows black, each with the backward arrow of its gradient beside it (orange), and
    the backward formulas under the graph. Left to right on a wide screen, top to bottom on a
    phone."""
    return svg(_attention_graph(vertical=False), phone=_attention_graph(vertical=True))


def _attention_graph(vertical: bool):
    # (u, v): u along the graph (right, or down), v across it (up, or right)
    nodes = {"x": (0.0, 0.0, "$x$"), "Q": (1.7, 1.3, "$Q$"), "K": (1.7, 0.0, "$K$"), "V": (1.7, -1.3, "$V$"),
             "S": (4.3, 0.65, "$S = QK^{\\top}/$√$d$"), "M": (7.2, 0.65, "mask: $+M$"),
             "A": (10.4, 0.65, r"$A = \mathrm{softmax}(S)$"), "O": (13.6, -0.3, "$O = AV$"),
             "y": (15.8, -0.3, "output $y$")}
    if vertical:                                                 # (down, right) on a phone
        nodes.update({"Q": (1.5, -1.5, "$Q$"), "K": (1.5, 0.0, "$K$"), "V": (1.5, 1.5, "$V$"),
                      "S": (3.1, -0.75, nodes["S"][2]), "M": (4.6, -0.75, nodes["M"][2]),
                      "A": (6.1, -0.75, nodes["A"][2]), "O": (7.7, 0.9, nodes["O"][2]),
                      "y": (9.2, 0.9, nodes["y"][2])})
    at = (lambda u, v: (v, -u)) if vertical else (lambda u, v: (u, v))
    fig, ax = plt.subplots(figsize=(5.4, 8.0) if vertical else (10.0, 4.2))
    ax.set_aspect("equal")
    ax.axis("off")
    boxes = {name: ax.text(*at(u, v), text, ha="center", va="center", fontsize=12, zorder=3,
                           bbox=dict(boxstyle="round,pad=0.35", facecolor="white", edgecolor="black",
                                     linewidth=0.9))
             for name, (u, v, text) in nodes.items()}
    fig.canvas.draw()                                            # the boxes' sizes, for the arrows
    up = -1 if vertical else 1                                   # the backward arrows' side
    edges = [("x", "Q", "", up), ("x", "K", "", up), ("x", "V", "", -up),
             ("Q", "S", r"$\dot Q$", up), ("K", "S", r"$\dot K$", -up), ("S", "M", r"$\dot S$", -up),
             ("M", "A", r"$\dot S$", -up), ("A", "O", r"$\dot A$", -1), ("V", "O", r"$\dot V$", -up),
             ("O", "y", r"$\dot O$", -up)]
    for src, dst, grad, side in edges:
        _graph_edge(ax, boxes, src, dst, grad, side=side, offset=0.14, label_pad=0.16,
                    label_at=0.4 if dst == "S" and vertical else 0.5)
    lines = [r"backward, with $\dot Z = \partial C/\partial Z$:",
             r"$\dot A = \dot O V^{\top},\quad \dot V = A^{\top} \dot O$",
             r"$\dot S = A \odot (\dot A - \mathrm{rowsum}(\dot A \odot A))$, 0 where masked ($A = 0$)",
             r"$\dot Q = \dot S K/$√$d,\quad \dot K = \dot S^{\top} Q/$√$d$",
             r"$\dot x = \dot Q W_q + \dot K W_k + \dot V W_v$: $x$ is used three times"]
    if vertical:
        lines[2:3] = [r"$\dot S = A \odot (\dot A - \mathrm{rowsum}(\dot A \odot A))$",
                      r"      0 where masked ($A = 0$)"]
        lines[-1:] = [r"$\dot x = \dot Q W_q + \dot K W_k + \dot V W_v$", "      ($x$ is used three times)"]
    step = 0.5 if not vertical else 0.55
    base = (-0.4, -2.2) if not vertical else (-2.4, -10.0)
    for k, line in enumerate(lines):
        ax.text(base[0], base[1] - step * k, line, ha="left", va="top", fontsize=12,
                color="#424242" if k == 0 else BACKWARD)
    bottom = base[1] - step * len(lines) - 0.2
    if vertical:
        ax.set_xlim(-2.6, 3.0)
        ax.set_ylim(bottom, 0.9)
    else:
        ax.set_xlim(-0.6, 16.8)
        ax.set_ylim(bottom, 2.0)
    return fig


def attention_maps(A: np.ndarray, dS: np.ndarray) -> str:
    """Two heat maps of one causal head, query i down, key j across: the weights A (blue, rows
    sum to 1) and dC/dS (orange above zero, blue below); masked entries (j > i) grey, exactly
    0 in both. Side by side on a wide screen, one above the other on a phone."""
    return svg(_attention_maps(A, dS, vertical=False), phone=_attention_maps(A, dS, vertical=True))


def _attention_maps(A, dS, vertical: bool):
    T, w = A.shape[0], 1.45
    masked = np.triu(np.ones((T, T), bool), k=1)
    number = lambda v: "0" if v == 0 else f"{v:.2f}".replace("-", "−")   # a masked entry: exactly 0
    limit = np.abs(dS).max()
    fig, ax = plt.subplots(figsize=(5.4, 8.8) if vertical else (10.0, 4.6))
    ax.set_aspect("equal")
    ax.axis("off")
    panels = [(A, VALUES, (0.0, 1.0), r"$A = \mathrm{softmax}(S)$"),
              (dS, SIGNED, (-limit, limit), r"$\partial C/\partial S$")]
    for p, (M, cmap, norm, title) in enumerate(panels):
        x, y = (0.0, -p * (T + 2.9)) if vertical else (p * (T * w + 2.2), 0.0)
        _cells(ax, x, y, M, cmap=cmap, norm=norm, fmt=number, masked=masked, w=w, size=11)
        ax.text(x + T * w / 2, y + 0.3, title, ha="center", va="bottom", fontsize=13)
        for i in range(T):
            ax.text(x - 0.15, y - i - 0.5, f"{i}", ha="right", va="center", fontsize=11, color="#616161")
            ax.text(x + (i + 0.5) * w, y - T - 0.15, f"{i}", ha="center", va="top", fontsize=11, color="#616161")
        ax.text(x - 0.7, y - T / 2, "query $i$", ha="right", va="center", fontsize=11, rotation=90,
                color="#616161")
        ax.text(x + T * w / 2, y - T - 0.75, "key $j$", ha="center", va="top", fontsize=11, color="#616161")
    foot = -(T + 2.9) - T - 1.6 if vertical else -T - 1.6
    ax.text(0.0 if vertical else T * w + 1.1, foot, "grey: masked ($j > i$), exactly 0 in both",
            ha="left" if vertical else "center", va="top", fontsize=11, color=GREY)
    ax.set_xlim(-1.6, T * w + 0.3 if vertical else 2 * T * w + 2.5)
    ax.set_ylim(foot - 0.8, 1.3)
    return fig


# --------------------------------------------------------------------------------------
# modules/recurrent.md: the GRU and the LSTM cell, with their gradient paths
# --------------------------------------------------------------------------------------
def _wire(ax, points, color="black", *, width=0.9, arrow=True, shrink=10.0, style="-", z=1):
    """A polyline through ``points``; with ``arrow``, an arrowhead on the last segment that
    stops ``shrink`` points short of the node it enters."""
    xs, ys = zip(*points)
    ax.plot(xs[:-1] if arrow else xs, ys[:-1] if arrow else ys, color=color, linewidth=width, linestyle=style,
            zorder=z, solid_capstyle="butt")
    if arrow:
        ax.add_patch(FancyArrowPatch(points[-2], points[-1], arrowstyle="-|>", mutation_scale=9, color=color,
                                     linewidth=width, linestyle=style, shrinkA=0, shrinkB=shrink, zorder=z))


def _op(ax, xy, symbol, *, r=0.28):
    """An element-wise operation: a circle with ``symbol`` (×, +, 1−) in it."""
    ax.add_patch(Circle(xy, r, facecolor="white", edgecolor="black", linewidth=1.0, zorder=3))
    ax.text(*xy, symbol, ha="center", va="center", fontsize=13 if len(symbol) < 2 else 11, zorder=4)


def _gate(ax, xy, text, name, below=False):
    """A gate: its non-linearity in a box, its name (blue, a forward value) at the box's top
    left corner, or with ``below`` at its bottom left."""
    ax.text(*xy, text, ha="center", va="center", fontsize=13, zorder=3,
            bbox=dict(boxstyle="round,pad=0.3", facecolor="#fff8e1", edgecolor="black", linewidth=0.9))
    ax.text(xy[0] - 0.12, xy[1] + (-0.5 if below else 0.5), name, ha="right", va="top" if below else "bottom",
            fontsize=13, color=FORWARD)


def _cell_frame(ax, x0, x1, y0, y1):
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x0, y0), x1 - x0, y1 - y0, boxstyle="round,pad=0.05,rounding_size=0.3",
                                facecolor="#f5f5f5", edgecolor=GREY, linewidth=0.8, zorder=0))


def lstm_cell_diagram() -> str:
    """One LSTM step: the cell-state line c_{t-1} -> (x f) -> (+ i g) -> c_t along the top,
    the four gates on the bus [h_{t-1}, x_t] below, h_t = o tanh(c_t) on the right. Orange:
    the gradient's direct path back along the cell line, c_{t-1} <- c_t through the forget gate
    (dc_t * f: no W_hh, no tanh'), and (dashed) the path into h_{t-1} through the gates and W_hh."""
    fig, ax = plt.subplots(figsize=(5.0, 4.0))
    ax.set_aspect("equal")
    ax.axis("off")
    top, mid, gates, bus = 5.0, 3.9, 2.5, 1.0
    xf, xi, xg, xo, xh = 2.4, 3.85, 5.4, 7.0, 8.3
    _cell_frame(ax, 0.9, 9.1, 0.55, 5.4)
    # the cell-state line and the bus
    _wire(ax, [(-0.1, top), (xf, top)], shrink=9)
    _wire(ax, [(xf, top), (xg, top)], shrink=9)
    _wire(ax, [(xg, top), (10.0, top)], shrink=0)
    _wire(ax, [(-0.1, bus), (xo + 0.6, bus)], arrow=False)
    _wire(ax, [(1.4, -0.5), (1.4, bus)], arrow=False)
    ax.text(-0.2, top, "$c_{t-1}$", ha="right", va="center", fontsize=14)
    ax.text(10.1, top, "$c_t$", ha="left", va="center", fontsize=14)
    ax.text(-0.2, bus, "$h_{t-1}$", ha="right", va="center", fontsize=14)
    ax.text(1.4, -0.6, "$x_t$", ha="center", va="top", fontsize=14)
    for x in (xf, xi, xg, xo):                                       # the bus feeds every gate
        _wire(ax, [(x, bus), (x, gates)], shrink=11)
    _gate(ax, (xf, gates), r"$\sigma$", "$f$", below=True)
    _gate(ax, (xi, gates), r"$\sigma$", "$i$", below=True)
    _gate(ax, (xg, gates), r"$\tanh$", "$g$", below=True)
    _gate(ax, (xo, gates), r"$\sigma$", "$o$", below=True)
    _wire(ax, [(xf, gates), (xf, top)], shrink=9)                    # f multiplies c_{t-1}
    _wire(ax, [(xi, gates), (xi, mid), (xg, mid)], shrink=9)         # i and g multiply ...
    _wire(ax, [(xg, gates), (xg, mid)], shrink=9)
    _wire(ax, [(xg, mid), (xg, top)], shrink=9)                      # ... and add to the cell line
    _wire(ax, [(xh, top), (xh, mid)], shrink=12)                     # h_t = o tanh(c_t)
    _wire(ax, [(xh, mid), (xh, gates)], shrink=9)
    _wire(ax, [(xo, gates), (xh, gates)], shrink=9)
    _wire(ax, [(xh, gates), (xh, bus), (10.0, bus)], shrink=0)
    ax.text(10.1, bus, "$h_t$", ha="left", va="center", fontsize=14)
    _op(ax, (xf, top), "×")
    _op(ax, (xg, mid), "×")
    _op(ax, (xg, top), "+")
    _op(ax, (xh, gates), "×")
    ax.text(xh, mid, r"$\tanh$", ha="center", va="center", fontsize=12, zorder=3,
            bbox=dict(boxstyle="round,pad=0.2", facecolor="white", edgecolor="black", linewidth=0.9))
    # the gradient paths
    low = top + 0.65
    _wire(ax, [(10.0, low), (-0.1, low)], BACKWARD, width=2.0, shrink=0, z=2)
    ax.text(0.0, low + 0.12, r"$\partial C/\partial c_{t-1} = dc_t \odot f$", ha="left", va="bottom",
            fontsize=13, color=BACKWARD)
    ax.text(10.0, low + 0.12, "$dc_t$", ha="right", va="bottom", fontsize=13, color=BACKWARD)
    _wire(ax, [(10.0, bus - 0.7), (-0.1, bus - 0.7)], BACKWARD, width=1.2, shrink=0, style="--", z=2)
    ax.text(2.0, bus - 0.82, r"$\partial C/\partial h_{t-1} = \delta\, W_{hh}$", ha="left", va="top", fontsize=13,
            color=BACKWARD)
    ax.set_xlim(-1.2, 10.9)
    ax.set_ylim(-1.2, 6.5)
    return svg(fig)


def gru_cell_diagram() -> str:
    """One GRU step: h_{t-1} along the top, kept in proportion z and mixed with the candidate
    n in proportion 1 - z; the gates r, z and the candidate n = tanh(. + r * n_hat) below.
    Orange: the gradient's direct path h_{t-1} <- h_t through z (dh * z: no W_hh, no tanh'),
    and (dashed) the path through the gates and W_hh."""
    fig, ax = plt.subplots(figsize=(5.0, 4.0))
    ax.set_aspect("equal")
    ax.axis("off")
    top, mid, gates, bus = 5.0, 3.9, 2.5, 1.0
    xr, xz, xrn, xn, xmix = 2.0, 3.4, 5.2, 6.6, 8.0
    _cell_frame(ax, 0.9, 9.1, 0.55, 5.4)
    _wire(ax, [(-0.1, top), (xz, top)], shrink=9)
    _wire(ax, [(xz, top), (xmix, top)], shrink=9)
    _wire(ax, [(xmix, top), (10.0, top)], shrink=0)
    _wire(ax, [(1.3, top), (1.3, bus)], arrow=False)                 # h_{t-1} also feeds the gates
    _wire(ax, [(1.3, bus), (xn + 0.4, bus)], arrow=False)
    _wire(ax, [(1.3, -0.5), (1.3, bus)], arrow=False)
    ax.text(-0.2, top, "$h_{t-1}$", ha="right", va="center", fontsize=14)
    ax.text(10.1, top, "$h_t$", ha="left", va="center", fontsize=14)
    ax.text(1.3, -0.6, "$x_t$", ha="center", va="top", fontsize=14)
    for x in (xr, xz, xn):
        _wire(ax, [(x, bus), (x, gates)], shrink=11)
    _wire(ax, [(xrn, bus), (xrn, gates)], shrink=9)                  # n_hat = h_{t-1} W_hn^T + b_hn
    ax.text(xrn + 0.1, (bus + gates) / 2 - 0.1, r"$\hat n$", ha="left", va="center", fontsize=13)
    _gate(ax, (xr, gates), r"$\sigma$", "$r$")
    _gate(ax, (xz, gates), r"$\sigma$", "$z$")
    _gate(ax, (xn, gates), r"$\tanh$", "$n$")
    _wire(ax, [(xr, gates), (xr, gates - 0.75), (xrn, gates - 0.75), (xrn, gates)], shrink=9)  # r * n_hat
    _op(ax, (xrn, gates), "×")
    _wire(ax, [(xrn, gates), (xn, gates)], shrink=13)
    _wire(ax, [(xz, gates), (xz, top)], shrink=9)                    # z keeps h_{t-1}
    _wire(ax, [(xz, mid), (xrn, mid)], shrink=9)                     # 1 - z weighs n
    _op(ax, (xrn, mid), "1−", r=0.38)
    _wire(ax, [(xrn, mid), (xmix, mid)], shrink=9)
    _wire(ax, [(xn, gates), (xn, mid - 0.6), (xmix, mid - 0.6), (xmix, mid)], shrink=9)
    _op(ax, (xmix, mid), "×")
    _wire(ax, [(xmix, mid), (xmix, top)], shrink=9)
    _op(ax, (xz, top), "×")
    _op(ax, (xmix, top), "+")
    low = top + 0.65
    _wire(ax, [(10.0, low), (-0.1, low)], BACKWARD, width=2.0, shrink=0, z=2)
    ax.text(0.0, low + 0.12, r"$dh \odot z_t$ (direct)", ha="left", va="bottom", fontsize=13, color=BACKWARD)
    ax.text(10.0, low + 0.12, r"$dh = \partial C/\partial h_t$", ha="right", va="bottom", fontsize=13,
            color=BACKWARD)
    _wire(ax, [(10.0, bus - 0.7), (-0.1, bus - 0.7)], BACKWARD, width=1.2, shrink=0, style="--", z=2)
    ax.text(2.0, bus - 0.82, r"$+\ (da_r, da_z, r \odot da_n)\, W_{hh}$", ha="left", va="top", fontsize=13,
            color=BACKWARD)
    ax.set_xlim(-1.2, 10.9)
    ax.set_ylim(-1.2, 6.5)
    return svg(fig)
