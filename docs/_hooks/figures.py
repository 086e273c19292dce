"""Figures for the derivation pages (backprop, activations), drawn at build time.

Imported by executed code blocks, like ``docs_plots`` next to it. The numbers a figure shows
are computed in the page's own code block (with chainrule's modules) and passed in; these
functions only draw. Each returns an inline ``<svg>`` string made by ``docs_plots.svg``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from docs_plots import svg as _svg
from matplotlib.patches import Circle, FancyArrowPatch

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


def _arrow(ax, start, end, color, *, width=1.0, style="-|>", rad=0.0, z=1, shrink=0.0):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=9, color=color,
                                 linewidth=width, connectionstyle=f"arc3,rad={rad}", zorder=z,
                                 shrinkA=shrink, shrinkB=shrink))


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
