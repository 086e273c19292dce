"""The docs' ``[[source: ...]]`` directive fails the build when an excerpt no longer holds the
code it is cited for.

The hook (docs/_hooks/source_links.py) is imported by path and run on single directives, against
a small file written here and against chainrule's own code; no mkdocs build, no mkdocs import.
Every failure must be a logged warning (which ``mkdocs build --strict`` turns into an error)
and a visible note in the page instead of the excerpt.
"""

import importlib.util
import logging
import types
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HOOK_PATH = REPO / "docs" / "_hooks" / "source_links.py"

DEMO = '''\
def step(params, lr):
    for p in params:
        g = p.grad
        if g is None:
            continue
        p.data -= lr * g
    return params
'''


@pytest.fixture(scope="module")
def hook():
    spec = importlib.util.spec_from_file_location("docs_source_links_under_test", HOOK_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def demo_repo(hook, tmp_path, monkeypatch):
    """A repository with src/chainrule/ (empty) and examples/demo.py, as the hook sees it."""
    (tmp_path / "src" / "chainrule").mkdir(parents=True)
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "demo.py").write_text(DEMO)
    monkeypatch.setattr(hook, "_repo_root", tmp_path)
    monkeypatch.setattr(hook, "_src_root", tmp_path / "src")
    return tmp_path


@pytest.fixture
def real_repo(hook, monkeypatch):
    monkeypatch.setattr(hook, "_repo_root", REPO)
    monkeypatch.setattr(hook, "_src_root", REPO / "src")


def render(hook, caplog, body: str):
    """The page markdown a directive becomes, and the warnings it logged."""
    page = types.SimpleNamespace(file=types.SimpleNamespace(src_uri="modules/page.md"))
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        markdown = hook.on_page_markdown(f"Text.\n\n[[source: {body}]]\n\nMore text.\n", page, None, None)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    return markdown, warnings


def assert_reported(markdown: str, warnings: list, *fragments: str) -> None:
    assert len(warnings) == 1, warnings
    for fragment in fragments:
        assert fragment in warnings[0], (fragment, warnings[0])
    assert "source reference not found" in markdown
    assert "```python" not in markdown  # no excerpt shown


def test_an_excerpt_from_start_to_end_with_its_statements_renders_without_warning(hook, demo_repo, caplog):
    markdown, warnings = render(hook, caplog, "examples/demo.py :: for p in params: :: p.data -= lr * g"
                                              " :: contains: if g is None: :: contains: continue")
    assert warnings == []
    assert "[`examples/demo.py:L2-L6`](../source/examples/demo.md#__codelineno-0-2)" in markdown
    assert 'python linenums="2"\nfor p in params:\n    g = p.grad\n' in markdown
    assert "    p.data -= lr * g\n```" in markdown
    assert "return params" not in markdown  # the line after END is not shown


def test_a_single_line_directive_shows_the_cited_line(hook, demo_repo, caplog):
    markdown, warnings = render(hook, caplog, "examples/demo.py :: return params")
    assert warnings == []
    assert "[`examples/demo.py:L7`]" in markdown
    assert 'linenums="7"\nreturn params\n' in markdown


def test_an_indented_directive_renders_inside_its_list_item(hook, demo_repo, caplog):
    """Indented under a list item, the directive is expanded too (it used to stay raw text),
    and every line of what it becomes carries the same indentation, so it nests in the item."""
    page = types.SimpleNamespace(file=types.SimpleNamespace(src_uri="modules/page.md"))
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        markdown = hook.on_page_markdown("- An item:\n\n  [[source: examples/demo.py :: return params]]\n",
                                         page, None, None)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert "[[source:" not in markdown
    assert '  ```python linenums="7"\n  return params\n  ```' in markdown
    assert "\n  [`examples/demo.py:L7`]" in markdown


def test_an_excerpt_that_lost_its_cited_statement_is_reported(hook, demo_repo, caplog):
    directive = "examples/demo.py :: for p in params: :: p.data -= lr * g :: contains: if g is None:"
    assert render(hook, caplog, directive)[1] == []
    # The code changes while START and END stay: the statement is deleted, or moved below END.
    deleted = DEMO.replace("        if g is None:\n            continue\n", "")
    moved = deleted.replace("        p.data -= lr * g\n", "        p.data -= lr * g\n        if g is None:\n            continue\n")
    for code in (deleted, moved):
        (demo_repo / "examples" / "demo.py").write_text(code)
        markdown, warnings = render(hook, caplog, directive)
        assert_reported(markdown, warnings, "modules/page.md", "examples/demo.py",
                        "(lines 2-4 of examples/demo.py) no longer contains the "
                        "statement 'if g is None:'")


def test_statements_out_of_order_are_reported(hook, demo_repo, caplog):
    markdown, warnings = render(hook, caplog, "examples/demo.py :: for p in params: :: p.data -= lr * g"
                                              " :: contains: continue :: contains: if g is None:")
    assert_reported(markdown, warnings, "'if g is None:'", "out of order")


def test_a_statement_after_end_is_out_of_order(hook, demo_repo, caplog):
    markdown, warnings = render(hook, caplog, "examples/demo.py :: for p in params: :: p.data -="
                                              " :: contains: lr * g")
    assert_reported(markdown, warnings, "'lr * g'", "out of order")


def test_a_missing_start_or_end_is_reported(hook, demo_repo, caplog):
    markdown, warnings = render(hook, caplog, "examples/demo.py :: p.data += lr * g")
    assert_reported(markdown, warnings, "START 'p.data += lr * g' is no longer in examples/demo.py")
    markdown, warnings = render(hook, caplog, "examples/demo.py :: for p in params: :: p.data += lr * g")
    assert_reported(markdown, warnings, "END 'p.data += lr * g' is no longer in")
    markdown, warnings = render(hook, caplog, "examples/demo.py :: p.data -= lr * g :: for p in params:")
    assert_reported(markdown, warnings, "END 'for p in params:'", "only on or before the START line")


def test_a_start_on_two_lines_is_ambiguous(hook, demo_repo, caplog):
    markdown, warnings = render(hook, caplog, "examples/demo.py :: params :: return params")
    assert_reported(markdown, warnings, "START 'params' is on 3 lines", "(lines 1, 2, 7)")


def test_a_line_count_is_refused(hook, demo_repo, caplog):
    markdown, warnings = render(hook, caplog, "examples/demo.py :: for p in params: :: 5")
    assert_reported(markdown, warnings, "a line count (5) names no statement")


def test_an_excerpt_longer_than_the_bound_is_reported(hook, demo_repo, caplog, monkeypatch):
    monkeypatch.setattr(hook, "MAX_EXCERPT_LINES", 4)
    markdown, warnings = render(hook, caplog, "examples/demo.py :: for p in params: :: p.data -= lr * g")
    assert_reported(markdown, warnings, "would be 5 lines, more than 4")


def test_an_unknown_object_is_reported(hook, real_repo, caplog):
    markdown, warnings = render(hook, caplog, "chainrule.nn.Linear.no_such_method :: return")
    assert len(warnings) == 1 and "cannot locate 'chainrule.nn.Linear.no_such_method'" in warnings[0]
    assert "source reference not found" in markdown


def test_linear_backward_cited_for_its_gradient_statements(hook, real_repo, caplog):
    # The form the pages use: BP4 to BP3 of Linear.backward, then a statement that the code no
    # longer has (the accumulation helper before the rewrite): reported, not rendered.
    body = "chainrule.nn.Linear.backward :: accumulate_grad(self.weight :: accumulate_grad(self.bias"
    markdown, warnings = render(hook, caplog, body)
    assert warnings == []
    assert "src/chainrule/nn/linear.py:L" in markdown and "accumulate_grad(self.bias, grad_bias)" in markdown
    markdown, warnings = render(hook, caplog, body + " :: contains: self.weight.add_to_grad")
    assert len(warnings) == 1 and "no longer contains the statement 'self.weight.add_to_grad'" in warnings[0]
    assert "source reference not found" in markdown


def test_every_directive_of_the_docs_resolves(hook, real_repo, caplog):
    # The build fails on a stale excerpt; this finds it in a second, without mkdocs, so a change
    # that moves a cited line learns which page to update from the fast test tier.
    stale = []
    for page_path in sorted((REPO / "docs").rglob("*.md")):
        text = page_path.read_text(encoding="utf-8")
        for match in hook._DIRECTIVE.finditer(text):
            _, warnings = render(hook, caplog, match.group("body"))
            stale += [f"{page_path.relative_to(REPO)}: {w}" for w in warnings]
    assert stale == [], "\n".join(stale)
