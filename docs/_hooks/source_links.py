"""MkDocs hook: link equations to the source lines that implement them.

Two things happen at build time.

1. Every ``src/chainrule/**/*.py`` and ``examples/*.py`` file becomes a generated page under ``source/`` (a
   line-numbered listing of the whole file, one anchor per line), listed in the nav under
   "Source code". These pages are built from the files as they are at build time, so they
   can never disagree with the code.

2. In any page, a line of the form (starting in column 0)::

       [[source: OBJECT :: START]]
       [[source: OBJECT :: START :: END]]
       [[source: OBJECT :: START :: END :: contains: S1 :: contains: S2]]
       [[source: OBJECT]]

   is replaced by a link ``src/chainrule/nn/linear.py:L89-L91`` to those lines of the source
   page, followed by the excerpt itself. OBJECT is a dotted name (``chainrule.nn.Linear.backward``,
   found with ``importlib``, its lines with ``inspect.getsourcelines``, so the numbers are
   always the current ones) or a path ending in ``.py`` relative to the repository root
   (``examples/xor.py``). Every directive names the code it is cited for:

   - ``START`` names the first line of the excerpt: the one line of OBJECT that contains it.
     Alone, it makes a one-line excerpt (the cited statement itself).
   - ``END`` names the last line: the one line *after* the START line that contains it.
     ``[[source: chainrule.nn.Linear.backward :: accumulate_grad(self.weight :: accumulate_grad(self.bias]]``
     shows the lines from the BP4 statement to the BP3 statement.
   - each ``contains: S`` names a statement the prose relies on that must lie in the excerpt;
     several must appear in the order given (START, the ``contains:`` statements, END).
   - OBJECT alone shows the whole object.

   Texts are matched literally, as substrings of a line; fields are separated by ``::``, so
   a text cannot contain ``::`` (pick another part of the line).

   The build fails (a warning, which ``mkdocs build --strict`` turns into an error) instead of
   showing a stale excerpt when:

   - the object cannot be imported, or has no generated source page;
   - START or END is not in the object, or is on more than one line (make it longer, so that
     it names one line), or END is only before START;
   - a ``contains:`` statement is missing from the excerpt or out of order;
   - the excerpt is longer than ``MAX_EXCERPT_LINES`` lines (cite less, or cite twice);
   - a field is a bare number: the old ``:: n lines`` form, which names no statement and
     silently showed whatever followed; name the last line with END instead.

   The page then shows a visible "source reference not found" note in place of the excerpt.
   A renamed function, an edited line or a statement moved out of the cited lines therefore
   breaks the build instead of leaving a stale excerpt behind. ``tests/test_docs_source_links.py``
   checks these rules without building the site.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import posixpath
import re
import sys
import textwrap
from pathlib import Path
from typing import NamedTuple

log = logging.getLogger(f"mkdocs.plugins.{__name__}")

HOOK_DIR = Path(__file__).resolve().parent
PACKAGE = "chainrule"
SOURCE_PREFIX = "source"   # generated pages live under docs/source/... (virtually)
MAX_EXCERPT_LINES = 30     # longer than this is a listing, not a citation: link the source page


# A directive stands on a line of its own; indented, it belongs to the list item above it,
# and its excerpt is indented the same way.
_DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)\[\[source:\s*(?P<body>.+?)\s*\]\]\s*$", re.MULTILINE)

_repo_root: Path | None = None
_src_root: Path | None = None


# --------------------------------------------------------------------------------------
# which files, which pages
# --------------------------------------------------------------------------------------
def _source_files() -> list[Path]:
    """The package's modules, then the examples."""
    files = sorted(p for p in (_src_root / PACKAGE).rglob("*.py") if "__pycache__" not in p.parts)
    examples = _repo_root / "examples"
    if examples.is_dir():
        files += sorted(examples.glob("*.py"))
    return files


def _page_uri(path: Path) -> str:
    """src/chainrule/nn/linear.py -> source/chainrule/nn/linear.md,
    examples/xor.py -> source/examples/xor.md"""
    base = _src_root if path.is_relative_to(_src_root) else _repo_root
    rel = path.relative_to(base).with_suffix(".md")
    return posixpath.join(SOURCE_PREFIX, rel.as_posix())


def _fence_for(text: str) -> str:
    longest = max((len(m.group(0)) for m in re.finditer(r"`{3,}", text)), default=2)
    return "`" * max(3, longest + 1)


def on_config(config):
    global _repo_root, _src_root
    # Let executed code blocks `import docs_plots`, the figure helpers next to this hook.
    # (MkDocs restores sys.path after importing a hook, so this cannot happen at import time.)
    if str(HOOK_DIR) not in sys.path:
        sys.path.insert(0, str(HOOK_DIR))
    _repo_root = Path(os.path.abspath(config.config_file_path)).parent
    _src_root = _repo_root / "src"
    if not (_src_root / PACKAGE).is_dir():
        log.warning(f"source_links: {_src_root / PACKAGE} not found; no source pages generated")
        return config

    # A "Source code" nav section: one sub-section per package folder.
    groups: dict[str, list] = {}
    for path in _source_files():
        base = _src_root if path.is_relative_to(_src_root) else _repo_root
        folder = path.parent.relative_to(base).as_posix()           # chainrule, chainrule/nn, examples
        title = folder.replace("/", ".")
        groups.setdefault(title, []).append({path.name: _page_uri(path)})
    if config.nav is not None:
        config.nav = [item for item in config.nav if not (isinstance(item, dict) and "Source code" in item)]
        config.nav.append({"Source code": [{title: pages} for title, pages in groups.items()]})
    return config


def on_pre_build(config):
    import linecache

    linecache.checkcache()  # `mkdocs serve`: see edits made to src/ since the last build


def on_files(files, config):
    from mkdocs.structure.files import File  # here, so tests can import this hook without mkdocs

    if _src_root is None or not (_src_root / PACKAGE).is_dir():
        return files
    for path in _source_files():
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(_repo_root).as_posix()
        fence = _fence_for(text)
        content = (
            f"# {rel}\n\n"
            f"The file as it was when this site was built. Pages that derive an equation link to "
            f"its lines here.\n\n"
            f'{fence}python linenums="1"\n{text.rstrip()}\n{fence}\n'
        )
        files.append(File.generated(config, _page_uri(path), content=content))
    return files


# --------------------------------------------------------------------------------------
# [[source: ...]] directives
# --------------------------------------------------------------------------------------
def _resolve(dotted: str):
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        if isinstance(obj, property):
            obj = obj.fget
        return inspect.unwrap(obj)
    raise ImportError(f"no importable module in {dotted!r}")


class SourceReferenceError(Exception):
    """A ``[[source: ...]]`` directive that does not (or no longer) matches the code."""


class _Directive(NamedTuple):
    target: str                 # dotted object name, or a repository path ending in .py
    start: str | None           # text of the first line (None: the whole object)
    end: str | None             # text of the last line (None: one line)
    contains: tuple[str, ...]   # statements the excerpt must hold, in this order


def _parse(body: str) -> _Directive:
    fields = [f.strip() for f in body.split("::")]
    target, positional, contains = fields[0], [], []
    for field in fields[1:]:
        if field.startswith("contains:"):
            statement = field[len("contains:"):].strip()
            if not statement:
                raise SourceReferenceError("an empty 'contains:' field")
            contains.append(statement)
        elif contains:
            raise SourceReferenceError(f"{field!r} after a 'contains:' field; START and END come first")
        else:
            positional.append(field)
    if not target:
        raise SourceReferenceError("no object or file named")
    if len(positional) > 2:
        raise SourceReferenceError(
            f"{len(positional)} search texts {positional}; expected START and optionally END "
            f"(list further statements as 'contains: ...')"
        )
    for field in positional:
        if not field:
            raise SourceReferenceError("an empty START or END field")
        if field.isdigit():
            raise SourceReferenceError(
                f"a line count ({field}) names no statement; give the text of the excerpt's last "
                f"line instead (END), so that the build notices when the cited lines change"
            )
    if contains and not positional:
        raise SourceReferenceError("'contains:' needs a START line (the whole object contains everything)")
    start = positional[0] if positional else None
    end = positional[1] if len(positional) > 1 else None
    return _Directive(target, start, end, tuple(contains))


def _the_line(lines: list[str], text: str, first: int, what: str, where: str, lineno: int) -> int:
    """The index of the one line at or after ``first`` that contains ``text``."""
    hits = [i for i in range(first, len(lines)) if text in lines[i]]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        earlier = [i for i in range(first) if text in lines[i]]
        if earlier:
            raise SourceReferenceError(f"{what} {text!r} is in {where} only on or before the START line")
        raise SourceReferenceError(f"{what} {text!r} is no longer in {where}")
    raise SourceReferenceError(
        f"{what} {text!r} is on {len(hits)} lines of {where} (lines "
        f"{', '.join(str(lineno + i) for i in hits)}); make it longer so that it names one line"
    )


def select_excerpt(lines: list[str], directive: _Directive, where: str = "the source",
                   lineno: int = 1) -> tuple[int, int]:
    """The ``[first, last]`` indices (0-based, inclusive) of the ``lines`` that ``directive``
    cites, or a :class:`SourceReferenceError` saying why the lines no longer fit it. ``lineno``
    is the file's number of ``lines[0]``, for the messages."""
    if directive.start is None:
        first, last = 0, len(lines) - 1
    else:
        first = _the_line(lines, directive.start, 0, "START", where, lineno)
        last = first if directive.end is None else _the_line(lines, directive.end, first + 1, "END", where, lineno)
    count = last - first + 1
    if count > MAX_EXCERPT_LINES:
        raise SourceReferenceError(
            f"the excerpt would be {count} lines, more than {MAX_EXCERPT_LINES}: cite fewer lines "
            f"(or two excerpts), not a listing"
        )
    # START, then each contains: statement, then END, in this order within the excerpt.
    text = "".join(lines[first:last + 1])
    position = text.index(directive.start) + len(directive.start) if directive.start else 0
    end_at = len(text)
    if directive.end is not None:
        end_at = len("".join(lines[first:last])) + lines[last].index(directive.end)
    for statement in directive.contains:
        found = text.find(statement, position)
        if found < 0 and statement not in text:
            raise SourceReferenceError(
                f"the excerpt (lines {lineno + first}-{lineno + last} of {where}) no longer contains the "
                f"statement {statement!r} it is cited for"
            )
        if found < 0 or found + len(statement) > end_at:
            raise SourceReferenceError(
                f"the statement {statement!r} is in the excerpt but out of order: START, the "
                f"'contains:' statements and END must appear in the order the directive gives them"
            )
        position = found + len(statement)
    return first, last


def _locate(target: str):
    """``(lines, first line number, path, object or None)`` for a dotted name or a .py path."""
    if target.endswith(".py"):  # a file of the repository, e.g. examples/xor.py
        path = (_repo_root / target).absolute()
        lines, start, obj = path.read_text(encoding="utf-8").splitlines(keepends=True), 1, None
    else:
        obj = _resolve(target)
        lines, start = inspect.getsourcelines(obj)
        path = Path(os.path.abspath(inspect.getsourcefile(obj)))
    if path not in _source_files():
        raise ValueError(f"{path} has no generated source page")
    return lines, max(start, 1), path, obj  # modules report line 0


def _failure(page, body: str, message: str) -> str:
    log.warning(
        f"source_links: {page.file.src_uri}: [[source: {body}]]: {message}; update the reference "
        f"(see docs/_hooks/source_links.py)"
    )
    return f'!!! failure "source reference not found"\n    `[[source: {body}]]`: {message}\n'


def _render(body: str, page) -> str:
    try:
        directive = _parse(body)
    except SourceReferenceError as error:
        return _failure(page, body, str(error))
    try:
        lines, start, path, obj = _locate(directive.target)
    except Exception as error:  # noqa: BLE001 — any failure is reported the same way
        return _failure(page, body, f"cannot locate {directive.target!r}: {error}")
    rel = path.relative_to(_repo_root).as_posix()
    where = rel if directive.target.endswith(".py") else f"{directive.target} ({rel})"
    try:
        first, last = select_excerpt(lines, directive, where, start)
    except SourceReferenceError as error:
        return _failure(page, body, str(error))

    excerpt = textwrap.dedent("".join(lines[first:last + 1])).rstrip("\n")
    line, last_line = start + first, start + last
    target = _page_uri(path)
    href = posixpath.relpath(target, posixpath.dirname(page.file.src_uri) or ".")
    label = f"{rel}:L{line}" if last_line == line else f"{rel}:L{line}-L{last_line}"
    name = getattr(obj, "__qualname__", None) or posixpath.basename(directive.target)
    fence = _fence_for(excerpt)
    return (
        f"[`{label}`]({href}#__codelineno-0-{line}){{ .source-ref }} — in `{name}`\n"
        f"{{ .source-ref-line }}\n\n"
        f'{fence}python linenums="{line}"\n{excerpt}\n{fence}\n'
    )


def on_page_markdown(markdown, page, config, files):
    if page.file.src_uri.startswith(SOURCE_PREFIX + "/") or _src_root is None:
        return markdown
    return _DIRECTIVE.sub(lambda m: textwrap.indent(_render(m.group("body"), page), m.group("indent")), markdown)


_ID = re.compile(r"""\sid=["']([^"']+)["']""")


def on_page_content(html, page, config, files):
    # MkDocs validates links to anchors against the ids it saw while parsing Markdown, which
    # misses the per-line anchors the code highlighter writes. Register the ids that are
    # really in the rendered page, so `validation.links.anchors` checks the line links too.
    if page.present_anchor_ids is not None:
        page.present_anchor_ids.update(_ID.findall(html))
    return html
