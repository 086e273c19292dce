"""The comparisons of docs/porting.md, run without a docs build: the page's executed blocks, in
order, with their ``--8<--`` snippet lines expanded as pymdownx.snippets expands them.

Each port (the blitz tutorial's CNN, nanoGPT's GPT, torchvision's BasicBlock) must give torch's
loss, input gradient and every parameter gradient in float64 to within 1e-10; without torch the
page must still run and say that the comparisons were skipped.
"""

import contextlib
import importlib.util
import io
import re
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "porting.md"
HAVE_TORCH = importlib.util.find_spec("torch") is not None
needs_torch = pytest.mark.skipif(not HAVE_TORCH, reason="torch is not installed: the comparisons with torch are skipped")

FENCE = re.compile(r'^( *)```python exec="true"[^\n]*session="porting"[^\n]*\n(.*?)^\1```', re.S | re.M)
SNIPPET = re.compile(r'^( *)--8<-- "([^":]+)(?::([\w-]+))?"$', re.M)


def _snippet(match):
    indent, path, section = match.groups()
    text = (ROOT / path).read_text()
    if section:
        text = text.split(f"# --8<-- [start:{section}]\n", 1)[1].split(f"# --8<-- [end:{section}]", 1)[0]
    return textwrap.indent(text.rstrip("\n"), indent)


def blocks():
    """The source of each executed block of the page, in order."""
    page = PAGE.read_text()
    return [textwrap.dedent(SNIPPET.sub(_snippet, body)) for _, body in FENCE.findall(page)]


def run_page(monkeypatch):
    """Run every block in one namespace, as markdown-exec's session does; the output of each."""
    monkeypatch.chdir(ROOT)  # the page reads its PyTorch files relative to the root, as mkdocs runs
    namespace, outputs = {"__name__": "porting_page"}, []
    for source in blocks():
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(source, str(PAGE), "exec"), namespace)
        outputs.append(out.getvalue())
    return outputs


def test_the_page_has_its_blocks():
    sources = blocks()
    assert len(sources) >= 10, len(sources)
    assert not any("--8<--" in source for source in sources)
    assert sum("compare(" in source for source in sources) == 4  # the definition and three calls


@pytest.fixture(scope="module")
def outputs():
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield run_page(monkeypatch)


def _comparison(outputs, marker):
    """The rows ``name -> difference`` printed by the comparison whose table contains ``marker``."""
    [text] = [out for out in outputs if "largest difference" in out and marker in out]
    rows = dict(re.findall(r"^(\S+(?: gradient)?) +(\d\.\de[-+]\d+)$", text, re.M))
    return {name: float(gap) for name, gap in rows.items()}, text


@needs_torch
@pytest.mark.parametrize("marker, parameters", [
    ("fc3.weight.grad", 10),                           # the blitz CNN: 3 conv/fc pairs of weight and bias
    ("transformer.wte.weight.grad", 28),               # nanoGPT: the tied table counted once
    ("layer.1.downsample.0.weight.grad", 17),          # BasicBlock with its downsample
])
def test_port_matches_torch(outputs, marker, parameters):
    rows, text = _comparison(outputs, marker)
    assert "loss" in rows, text
    assert sum(name.endswith(".grad") for name in rows) == parameters, text
    assert ("input gradient" in rows) == (marker != "transformer.wte.weight.grad"), text
    assert max(rows.values()) < 1e-10, text


@needs_torch
def test_nanogpt_tied_weight_is_one_parameter(outputs):
    # lm_head.weight IS transformer.wte.weight: torch lists it once, and its gradient (both uses
    # added) is compared under that name.
    rows, text = _comparison(outputs, "transformer.wte.weight.grad")
    assert "lm_head.weight.grad" not in rows, text


def test_one_pool_called_from_two_script_lines_warns_then_refuses(outputs):
    # (inside the ported Net the shared self.pool is compared with torch above)
    [text] = [out for out in outputs if "RuntimeError" in out]
    assert "CacheWarning: MaxPool2d.forward() replaced a cache" in text
    assert "RuntimeError: MaxPool2d.backward() called a second time, after two forward()s in separate passes" in text
    assert "(self.pool1, self.pool2)" in text


def test_without_torch_the_page_says_skipped(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
    outputs = run_page(monkeypatch)
    assert sum(out == "torch is not installed: the comparison is skipped\n" for out in outputs) == 3
    assert not any("largest difference" in out for out in outputs)
