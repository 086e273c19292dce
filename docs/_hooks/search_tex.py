r"""MkDocs hook: the search index gets readable maths, the pages keep their TeX.

pymdownx.arithmatex leaves each equation in the page as its TeX source,
``<span class="arithmatex">\(\delta^l = \partial C/\partial z^l\)</span>``, for MathJax to
typeset in the browser. The search plugin indexes the page's HTML as text, so without this
hook a search result would show ``\(\delta^l = \partial C/\partial z^l\)``. Here it shows
``δˡ = ∂C/∂zˡ``.

How: the search plugin reads ``page.content`` in its ``on_page_context``. Just before it
(a higher priority), every arithmatex element's TeX is replaced by a plain-text rendering
(``tex_to_text``); just after it (a lower priority), the original TeX is put back, element
by element in the same order, so the page body is exactly what it would have been. Only
arithmatex elements are touched: code listings with backslashes are indexed as they are.

The table of contents gets the same plain text, for good: the toc extension copies a
heading's text, TeX included, into the side bar, where MathJax does not look (it typesets
only arithmatex elements), so a heading such as "Backward: $E^\top \delta$ is a
scatter-add" showed ``\(E^\top \delta\)`` there. It now shows ``Eᵀ δ``; the heading
itself is still typeset.
"""

from __future__ import annotations

import html
import re

from mkdocs.plugins import CombinedEvent, event_priority

# An arithmatex element as pymdownx.arithmatex (generic mode) writes it: text only inside.
_ARITHMATEX = re.compile(r'(<(span|div) class="arithmatex">)(.*?)(</\2>)', re.DOTALL)
_COMMAND = re.compile(r"\\(?:[A-Za-z]+|.)", re.DOTALL)

_SYMBOLS = {
    # Greek
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "vartheta": "ϑ", "iota": "ι", "kappa": "κ",
    "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ",
    "tau": "τ", "upsilon": "υ", "phi": "φ", "varphi": "φ", "chi": "χ", "psi": "ψ",
    "omega": "ω", "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ",
    "Pi": "Π", "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
    # operators and relations
    "partial": "∂", "nabla": "∇", "odot": "⊙", "otimes": "⊗", "oplus": "⊕", "cdot": "·",
    "times": "×", "div": "÷", "pm": "±", "mp": "∓", "circ": "∘", "ast": "∗", "star": "⋆",
    "sum": "∑", "prod": "∏", "int": "∫", "infty": "∞", "sqrt": "√",
    "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "ne": "≠", "neq": "≠", "approx": "≈",
    "equiv": "≡", "sim": "∼", "propto": "∝", "ll": "≪", "gg": "≫", "in": "∈", "notin": "∉",
    "subset": "⊂", "subseteq": "⊆", "cup": "∪", "cap": "∩", "forall": "∀", "exists": "∃",
    "to": "→", "rightarrow": "→", "leftarrow": "←", "Rightarrow": "⇒", "Leftarrow": "⇐",
    "leftrightarrow": "↔", "mapsto": "↦", "implies": "⇒", "iff": "⇔", "gets": "←",
    "top": "ᵀ", "intercal": "ᵀ", "prime": "′", "ldots": "…", "cdots": "⋯", "dots": "…",
    "vdots": "⋮", "ddots": "⋱", "lfloor": "⌊", "rfloor": "⌋", "lceil": "⌈", "rceil": "⌉",
    "langle": "⟨", "rangle": "⟩", "mid": "|", "vert": "|", "Vert": "‖", "lvert": "|",
    "rvert": "|", "lVert": "‖", "rVert": "‖", "|": "‖", "ell": "ℓ", "hbar": "ℏ",
    "emptyset": "∅", "varnothing": "∅", "neg": "¬", "land": "∧", "lor": "∨", "wedge": "∧",
    "vee": "∨", "setminus": "∖", "bmod": "mod", "mod": "mod", "log": "log", "ln": "ln",
    "exp": "exp", "max": "max", "min": "min", "arg": "arg", "sin": "sin", "cos": "cos",
    "tan": "tan", "tanh": "tanh", "det": "det", "lim": "lim", "sup": "sup", "inf": "inf",
    "{": "{", "}": "}", "_": "_", "%": "%", "$": "$", "&": "&", "#": "#",
}
# Binary operators and relations: written with a space on each side.
_SPACED = {
    "odot", "otimes", "oplus", "cdot", "times", "div", "pm", "mp", "circ", "le", "leq", "ge",
    "geq", "ne", "neq", "approx", "equiv", "sim", "propto", "ll", "gg", "in", "notin",
    "subset", "subseteq", "cup", "cap", "to", "rightarrow", "leftarrow", "Rightarrow",
    "Leftarrow", "leftrightarrow", "mapsto", "implies", "iff", "gets", "land", "lor", "wedge",
    "vee", "setminus", "bmod", "mod",
}
# Commands that only space or size: dropped.
_DROP = {
    ",", ";", ":", "!", " ", "quad", "qquad", "left", "right", "big", "Big", "bigg", "Bigg",
    "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr", "Biggl", "Biggr", "displaystyle",
    "textstyle", "scriptstyle", "limits", "nolimits", "nonumber", "notag", "middle",
}
# Commands whose one argument is shown as it is (fonts, accents, text, grouping).
_KEEP_ARGUMENT = {
    "mathrel", "mathbin", "mathop", "mathord", "mathopen", "mathclose", "mathrm", "mathbf",
    "mathit", "mathsf", "mathtt", "mathcal", "mathbb", "mathfrak", "boldsymbol", "bm",
    "text", "textrm", "textbf", "textit", "texttt", "mbox", "operatorname", "hat", "widehat",
    "tilde", "widetilde", "bar", "overline", "underline", "vec", "dot", "ddot", "check",
    "breve", "acute", "grave", "underbrace", "overbrace", "displaylines",
}
# Commands whose one argument is not text: dropped with it.
_DROP_ARGUMENT = {"phantom", "hphantom", "vphantom", "tag", "label", "color", "begin", "end"}
_ARGUMENTS = {**{n: 1 for n in _KEEP_ARGUMENT | _DROP_ARGUMENT | {"sqrt"}},
              **{n: 2 for n in ("frac", "dfrac", "tfrac", "cfrac", "binom")}}
_SUPERSCRIPTS = str.maketrans("0123456789+-=()nilT", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱˡᵀ")
_SUBSCRIPTS = str.maketrans("0123456789+-=()", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎")


def _group(tex: str, i: int) -> tuple[str, int]:
    """The argument starting at ``tex[i]`` (a ``{...}`` group, a command with its own
    arguments, or one character) and the index after it."""
    while i < len(tex) and tex[i] == " ":
        i += 1
    if i >= len(tex):
        return "", i
    if tex[i] == "{":
        depth = 0
        for j in range(i, len(tex)):
            depth += {"{": 1, "}": -1}.get(tex[j], 0)
            if depth == 0:
                return tex[i + 1:j], j + 1
        return tex[i + 1:], len(tex)
    if tex[i] == "\\":
        m = _COMMAND.match(tex, i)
        end = m.end()
        for _ in range(_ARGUMENTS.get(m.group(0)[1:], 0)):  # x_\text{in} is x_{\text{in}}
            _, end = _group(tex, end)
        return tex[i:end], end
    return tex[i], i + 1


def _script(text: str, table: dict, mark: str) -> str:
    """A superscript/subscript: Unicode small characters when every character has one
    (``z^{l-1}`` is ``zˡ⁻¹``), else ``mark`` and the text (``x_j``, ``h_(t-1)``)."""
    if text and all(ord(ch) in table or ch in "ᵀ′" for ch in text):
        return text.translate(table)
    return mark + (text if len(text) == 1 else f"({text})")


def _needs_brackets(s: str) -> bool:
    """Whether a numerator or denominator must be bracketed when written as ``a/b``."""
    return bool(re.search(r"[\s+\-=/·⊙×,]", s)) and not (s.startswith("(") and s.endswith(")"))


def tex_to_text(tex: str) -> str:
    """A plain-text reading of a TeX formula, for a search index: Greek and operators as
    Unicode, ``\\frac{a}{b}`` as ``a/b``, styling and spacing commands dropped."""
    out: list[str] = []
    i = 0
    while i < len(tex):
        c = tex[i]
        if c == "\\":
            m = _COMMAND.match(tex, i)
            name, i = m.group(0)[1:], m.end()
            if name.isalpha():  # as in TeX, spaces after a control word are not text
                while i < len(tex) and tex[i] == " ":
                    i += 1
            if name in ("frac", "dfrac", "tfrac", "cfrac"):
                num, i = _group(tex, i)
                den, i = _group(tex, i)
                num, den = tex_to_text(num).strip(), tex_to_text(den).strip()
                num, den = (f"({s})" if _needs_brackets(s) else s for s in (num, den))
                out.append(f"{num}/{den}")
            elif name == "sqrt":
                arg, i = _group(tex, i)
                arg = tex_to_text(arg).strip()
                out.append(f"√{arg}" if len(arg) <= 1 else f"√({arg})")
            elif name in _DROP_ARGUMENT:
                _, i = _group(tex, i)
                out.append(" ")
            elif name in _KEEP_ARGUMENT:
                arg, i = _group(tex, i)
                out.append(tex_to_text(arg))
            elif name == "\\":
                out.append("; ")
            elif name in _SPACED:
                out.append(f" {_SYMBOLS.get(name, name)} ")
            elif name in _SYMBOLS:
                out.append(_SYMBOLS[name])
            elif name in _DROP:
                out.append(" " if name in (",", ";", ":", " ", "quad", "qquad") else "")
            else:
                out.append(name)  # an unknown command: its name, without the backslash
        elif c in "^_":
            arg, i = _group(tex, i + 1)
            arg = tex_to_text(arg).strip()
            out.append(_script(arg, _SUPERSCRIPTS, "^") if c == "^" else _script(arg, _SUBSCRIPTS, "_"))
        elif c in "{}&":
            i += 1
        elif c == "~":
            out.append(" ")
            i += 1
        else:
            out.append(c)
            i += 1
    return re.sub(r"\s+", " ", "".join(out))


def _strip_delimiters(tex: str) -> str:
    for left, right in (("\\(", "\\)"), ("\\[", "\\]"), ("$$", "$$"), ("$", "$")):
        if tex.startswith(left) and tex.endswith(right) and len(tex) >= len(left) + len(right):
            return tex[len(left):len(tex) - len(right)]
    return tex


_saved: dict[str, list[str]] = {}


@event_priority(100)  # before the search plugin (priority 0) reads the page
def _readable_maths(context, *, page, config, nav):
    originals: list[str] = []

    def simplify(m: re.Match) -> str:
        originals.append(m.group(3))
        text = tex_to_text(_strip_delimiters(html.unescape(m.group(3)).strip())).strip()
        return m.group(1) + html.escape(text, quote=False) + m.group(4)

    page.content = _ARITHMATEX.sub(simplify, page.content)
    _saved[page.file.src_uri] = originals
    _readable_toc(page.toc)
    return context


_TOC_MATHS = re.compile(r"\\\((.+?)\\\)", re.DOTALL)


def _readable_toc(items) -> None:
    """Inline maths in table-of-contents titles as plain text (the headings keep their TeX)."""
    for item in items:
        if "\\(" in item.title:
            item.title = _TOC_MATHS.sub(
                lambda m: html.escape(tex_to_text(html.unescape(m.group(1))).strip(), quote=False), item.title
            )
        _readable_toc(item.children)


@event_priority(-100)  # after the search plugin has indexed it: the TeX goes back
def _restore_tex(context, *, page, config, nav):
    originals = iter(_saved.pop(page.file.src_uri, []))
    page.content = _ARITHMATEX.sub(lambda m: m.group(1) + next(originals) + m.group(4), page.content)
    return context


on_page_context = CombinedEvent(_readable_maths, _restore_tex)
