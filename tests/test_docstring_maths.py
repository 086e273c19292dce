"""Every docstring's maths renders as maths in the API reference: no ``$`` or ``\\(`` is left
in the text once Markdown and arithmatex have run, as mkdocstrings runs them.

The docstrings are parsed the way mkdocstrings parses them (griffe, Google style), and each
piece of text (a section, a parameter's description) is converted on its own, as it is on
the page. A display ``$$ ... $$`` that is not a paragraph of its own, or inline maths broken
over a line that Markdown reads as a list item, leaves dollars in the HTML; the browser check
(docs/check_render.py) finds the same on the built site, this finds it without a browser.
"""

import logging
import re

import pytest

griffe = pytest.importorskip("griffe", reason="griffe (the docs extra) is not installed")
markdown = pytest.importorskip("markdown", reason="markdown (the docs extra) is not installed")
pytest.importorskip("pymdownx", reason="pymdown-extensions (the docs extra) is not installed")

from pathlib import Path  # noqa: E402

SRC = Path(__file__).resolve().parents[1] / "src"


def objects(obj, seen):
    if obj.path in seen:
        return
    seen.add(obj.path)
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from objects(member, seen)


def texts(docstring):
    """The pieces of a parsed docstring that the reference renders as Markdown."""
    for section in docstring.parsed:
        value = section.value
        if isinstance(value, str):
            yield value
        elif isinstance(value, list):
            yield from (item.description for item in value if getattr(item, "description", None))


def test_no_docstring_leaves_tex_delimiters_outside_maths():
    logging.getLogger("griffe").setLevel(logging.ERROR)  # missing type annotations: not this test's
    package = griffe.load("chainrule", search_paths=[str(SRC)], docstring_parser="google")
    md = markdown.Markdown(extensions=["pymdownx.arithmatex"],
                           extension_configs={"pymdownx.arithmatex": {"generic": True}})
    checked, broken = 0, {}
    for obj in objects(package, set()):
        if obj.docstring is None:
            continue
        for text in texts(obj.docstring):
            checked += 1
            html = md.reset().convert(text)
            html = re.sub(r'<(span|div) class="arithmatex">.*?</\1>', "", html, flags=re.S)  # the maths
            html = re.sub(r"<pre.*?</pre>|<code>.*?</code>", "", html, flags=re.S)        # code
            if "$" in html or "\\(" in html or "\\[" in html:
                broken.setdefault(obj.path, " ".join(html.split())[:160])
    assert checked > 500  # the walk reached the package's docstrings
    assert not broken, "TeX left outside maths (put $$...$$ in a paragraph of its own):\n" + "\n".join(
        f"{path}: {html}" for path, html in broken.items())
