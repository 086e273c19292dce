"""MkDocs hook: link equations to the source lines that implement them.

Two things happen at build time.

1. Every ``src/chainrule/**/*.py`` and ``examples/*.py`` file becomes a generated page under ``source/`` (a
   line-numbered listing of the whole file, one anchor per line), listed in the nav under
   "Source code". These pages are built from the files as they are at build time, so they
   can never disagree with the code.

2. In any page, a line of the form (starting in column 0)::

       [[source: chainrule.nn.Linear.backward :: self.weight.grad += :: 2]]
       [[source: examples/xor.py :: for epoch in bar: :: 9]]

   is replaced by a link ``src/chainrule/nn/linear.py:L83`` to that line of the source
   page, followed by the excerpt itself (here 2 lines, starting at the first line of
   ``Linear.backward`` that contains ``self.weight.grad +=``). A path ending in ``.py``
   (relative to the repository root) names a whole file instead of an object. The object is found with
   ``importlib`` and its line numbers with ``inspect.getsourcelines``, so the number is
   always the current one. The text after ``::`` is optional (without it the excerpt is the
   whole object), and so is the line count (default 1).

   If the object cannot be imported or the text is no longer in it, the hook logs a
   warning — which fails ``mkdocs build --strict`` — and the page shows a visible
   "source reference not found" note instead of the excerpt. A renamed function or an
   edited line therefore breaks the build instead of leaving a stale link behind.
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

from mkdocs.structure.files import File

log = logging.getLogger(f"mkdocs.plugins.{__name__}")

HOOK_DIR = Path(__file__).resolve().parent
PACKAGE = "chainrule"
SOURCE_PREFIX = "source"   # generated pages live under docs/source/... (virtually)


_DIRECTIVE = re.compile(r"^\[\[source:\s*(?P<body>.+?)\s*\]\]\s*$", re.MULTILINE)

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


def _render(body: str, page) -> str:
    fields = [f.strip() for f in body.split("::")]
    dotted = fields[0]
    needle = fields[1] if len(fields) > 1 and fields[1] else None
    count = int(fields[2]) if len(fields) > 2 and fields[2] else (1 if needle else None)

    try:
        if dotted.endswith(".py"):  # a file of the repository, e.g. examples/xor.py
            path = (_repo_root / dotted).absolute()
            lines, start, obj = path.read_text(encoding="utf-8").splitlines(keepends=True), 1, None
        else:
            obj = _resolve(dotted)
            lines, start = inspect.getsourcelines(obj)
            path = Path(os.path.abspath(inspect.getsourcefile(obj)))
        if path not in _source_files():
            raise ValueError(f"{path} has no generated source page")
    except Exception as error:  # noqa: BLE001 — any failure is reported the same way
        log.warning(f"source_links: {page.file.src_uri}: cannot locate {dotted!r}: {error}")
        return f'!!! failure "source reference not found"\n    `{dotted}` could not be located ({error}).\n'
    start = max(start, 1)  # modules report line 0

    if needle is None:
        offset = 0
        count = len(lines)
    else:
        hits = [i for i, line in enumerate(lines) if needle in line]
        if not hits:
            log.warning(
                f"source_links: {page.file.src_uri}: the text {needle!r} is no longer in {dotted} "
                f"({path.relative_to(_repo_root)}); update the [[source: ...]] reference"
            )
            return (
                f'!!! failure "source reference not found"\n'
                f"    `{needle}` is no longer in `{dotted}`.\n"
            )
        offset = hits[0]
    excerpt = textwrap.dedent("".join(lines[offset:offset + count])).rstrip("\n")
    line = start + offset
    last = line + excerpt.count("\n")

    rel = path.relative_to(_repo_root).as_posix()
    target = _page_uri(path)
    href = posixpath.relpath(target, posixpath.dirname(page.file.src_uri) or ".")
    label = f"{rel}:L{line}" if last == line else f"{rel}:L{line}-L{last}"
    name = getattr(obj, "__qualname__", None) or posixpath.basename(dotted)
    fence = _fence_for(excerpt)
    return (
        f"[`{label}`]({href}#__codelineno-0-{line}){{ .source-ref }} — in `{name}`\n"
        f"{{ .source-ref-line }}\n\n"
        f'{fence}python linenums="{line}"\n{excerpt}\n{fence}\n'
    )


def on_page_markdown(markdown, page, config, files):
    if page.file.src_uri.startswith(SOURCE_PREFIX + "/") or _src_root is None:
        return markdown
    return _DIRECTIVE.sub(lambda m: _render(m.group("body"), page), markdown)


_ID = re.compile(r"""\sid=["']([^"']+)["']""")


def on_page_content(html, page, config, files):
    # MkDocs validates links to anchors against the ids it saw while parsing Markdown, which
    # misses the per-line anchors the code highlighter writes. Register the ids that are
    # really in the rendered page, so `validation.links.anchors` checks the line links too.
    if page.present_anchor_ids is not None:
        page.present_anchor_ids.update(_ID.findall(html))
    return html
