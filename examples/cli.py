r"""The command line the example scripts share: ``--epochs``, ``--seed``, ``--no-progress``
and ``--plot``, with every default shown in ``--help``.

``--plot PATH`` takes a folder or a file. A folder (an existing one, a path ending in ``/``,
or a name without a suffix, created when the figures are written) gets files named after the
example inside it (``moons.png``, ``moons-history.png``); a path ending in ``.png``, ``.svg`` or
``.pdf`` is the first figure, and any further figure goes beside it with a suffix to its name
(``out.svg``, ``out-history.svg``). Other suffixes, and a bare ``.png`` with no name before it,
are refused at once, before any training, with an error that names ``--plot``.
"""

from __future__ import annotations

import argparse
import os

__all__ = ["example_parser", "add_output_options", "figure_path", "companion"]

FIGURE_SUFFIXES = (".png", ".svg", ".pdf")


def figure_path(value: str, name: str) -> str:
    """The file ``--plot value`` means for a script whose figures are called ``name``.

    Raises:
        ValueError: for a suffix other than .png, .svg or .pdf, or a file name that is only a
            suffix (``.png``), which would be written as a hidden file.
    """
    if not value or not value.strip():
        raise ValueError("needs a folder or a file ending in .png, .svg or .pdf, got an empty path")
    if value.endswith(("/", os.sep)) or os.path.isdir(value):
        return os.path.join(value, f"{name}.png")
    base = os.path.basename(value)
    stem, suffix = os.path.splitext(base)
    if suffix.lower() in FIGURE_SUFFIXES and stem:
        return value
    if base.lower() in FIGURE_SUFFIXES:
        raise ValueError(f"{value!r} has no file name before its suffix; give a file such as "
                         f"{os.path.join(os.path.dirname(value), name + base)!r} or a folder")
    if suffix:
        raise ValueError(f"{value!r} ends in {suffix!r}: give a folder, or a file ending in .png, .svg or .pdf")
    return os.path.join(value, f"{name}.png")  # a name without a suffix: a folder


def companion(path: str, tag: str) -> str:
    """A further figure beside ``path``: ``out/moons.png`` -> ``out/moons-history.png``."""
    root, suffix = os.path.splitext(path)
    return f"{root}-{tag}{suffix}"


def _plot_type(name: str):
    def check(value: str) -> str:
        try:
            return figure_path(value, name)
        except ValueError as error:  # argparse prints "argument --plot: <message>" and exits with 2
            raise argparse.ArgumentTypeError(str(error)) from None

    return check


def add_output_options(parser: argparse.ArgumentParser, name: str, figures: str = "the figures") -> None:
    """Add ``--no-progress`` and ``--plot`` to ``parser`` (``name`` names the figure files)."""
    parser.add_argument(
        "--no-progress", action="store_true",
        help="no progress output (default: a bar when stdout is a terminal and TQDM_DISABLE is not set)")
    parser.add_argument(
        "--plot", metavar="PATH", type=_plot_type(name),
        help=f"write {figures}: PATH is a folder (gets {name}.png, ...) or a file ending in .png, .svg "
             f"or .pdf; needs matplotlib: pip install -e '.[examples]' (default: no figures)")


def example_parser(doc: str, name: str, *, epochs: int | None = None, seed: int = 0,
                   figures: str = "the figures",
                   epochs_help: str = "passes over the training set") -> argparse.ArgumentParser:
    """A parser with ``--epochs`` (when ``epochs`` is given), ``--seed``, ``--no-progress`` and
    ``--plot``; its description is the first line of ``doc`` (the script's docstring)."""
    parser = argparse.ArgumentParser(prog=f"python examples/{name}.py", description=doc.strip().splitlines()[0])
    if epochs is not None:
        parser.add_argument("--epochs", type=int, default=epochs,
                            help=f"{epochs_help} (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=seed,
                        help="seeds the weights, the data and the batch order (default: %(default)s)")
    add_output_options(parser, name, figures)
    return parser
