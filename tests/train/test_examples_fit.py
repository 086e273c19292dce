"""The examples this layer adds (digits_fit, vanishing_gradients) and the --plot option of
every example."""

import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(name, *args):
    return runpy.run_path(str(EXAMPLES / f"{name}.py"))["main"](["--no-progress", *args])


@pytest.mark.slow
def test_digits_fit_reaches_96_percent_with_early_stopping_and_a_checkpoint(tmp_path):
    result = run_example("digits_fit", "--checkpoint", str(tmp_path / "best.npz"))
    assert result["metrics"]["test_accuracy"] >= 0.96
    assert result["metrics"]["checkpoint_test_accuracy"] >= 0.96
    assert (tmp_path / "best.npz").stat().st_size > 0
    losses = result["history"]["loss"]
    assert losses[-1] < losses[0] and len(losses) < 100  # early stopping ended it


@pytest.mark.slow
def test_vanishing_gradients_shrink_through_the_sigmoid_network(capsys):
    result = run_example("vanishing_gradients")  # the default 15 epochs, a few seconds
    sigmoid, relu = result["norms"]["sigmoid"], result["norms"]["relu"]
    assert len(sigmoid) == len(relu) == 8
    # Sigmoid: every layer's gradient is smaller than the next one's, by orders of magnitude overall.
    assert all(a < b for a, b in zip(sigmoid, sigmoid[1:]))
    assert sigmoid[0] / sigmoid[-1] < 1e-4
    assert relu[0] / relu[-1] > 1e-2
    assert sigmoid[0] / sigmoid[-1] < 1e-3 * (relu[0] / relu[-1])
    assert "mean |dC/dW| per Linear layer" in capsys.readouterr().out


@pytest.mark.parametrize("name, extra", [
    ("xor", ["--epochs", "20"]), ("moons", ["--epochs", "1"]), ("spirals", ["--epochs", "1"]),
    ("digits", ["--epochs", "1"]), ("digits_fit", ["--epochs", "2"]), ("vanishing_gradients", ["--epochs", "1"]),
])
def test_plot_option_writes_pngs(name, extra, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / f"{name}.png"
    run_example(name, *extra, "--plot", str(path))
    written = sorted(tmp_path.glob("*.png"))
    assert path in written
    assert all(p.stat().st_size > 1000 for p in written)
