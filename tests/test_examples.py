"""The example scripts run end to end and reach the numbers the README promises."""

import runpy
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name, *args):
    return runpy.run_path(str(EXAMPLES / f"{name}.py"))["main"](["--no-progress", *args])


def test_xor_loss_below_001():
    assert run_example("xor")["metrics"]["loss"] < 0.01


@pytest.mark.parametrize("name, threshold", [("moons", 0.97), ("spirals", 0.95), ("digits", 0.96)])
def test_example_test_accuracy(name, threshold):
    result = run_example(name)
    assert result["metrics"]["test_accuracy"] >= threshold
    losses = result["history"]["loss"]
    assert losses[-1] < losses[0]


def test_import_is_light():
    code = "import sys, chainrule; print(sorted(m for m in ('torch', 'matplotlib') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
