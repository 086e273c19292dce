"""One rule for progress bars (fit and the examples): a bar only on a terminal, never with
TQDM_DISABLE set, never with --no-progress / progress=False; no carriage returns in a log."""

import io
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from chainrule import data, nn, optim
from chainrule.train import fit, progress_bar, shows_bar

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("env, enabled, tty, expected", [
    (None, True, True, True),
    (None, True, False, False),     # a log file or a pipe: no bar
    (None, False, True, False),     # --no-progress / progress=False
    ("1", True, True, False),
    ("true", True, True, False),
    ("0", True, True, True),        # tqdm alone would read "0" as "disable"
    ("", True, True, True),
])
def test_shows_bar(monkeypatch, env, enabled, tty, expected):
    if env is None:
        monkeypatch.delenv("TQDM_DISABLE", raising=False)
    else:
        monkeypatch.setenv("TQDM_DISABLE", env)
    assert shows_bar(enabled, Terminal() if tty else io.StringIO()) is expected


def fit_output(monkeypatch, stream, env=None):
    if env is None:
        monkeypatch.delenv("TQDM_DISABLE", raising=False)
    else:
        monkeypatch.setenv("TQDM_DISABLE", env)
    monkeypatch.setattr(sys, "stdout", stream)
    X, y = data.datasets.make_moons(64, noise=0.1, seed=0)
    model = nn.Sequential(nn.Linear(2, 4, rng=np.random.default_rng(0)), nn.Tanh(),
                          nn.Linear(4, 2, rng=np.random.default_rng(1)))
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
        data.DataLoader(data.TensorDataset(X, y), batch_size=16), 2)
    return stream.getvalue()


def test_fit_draws_a_bar_on_a_terminal_and_plain_lines_elsewhere(monkeypatch):
    assert "\r" in fit_output(monkeypatch, Terminal())           # tqdm redraws with carriage returns
    log = fit_output(monkeypatch, io.StringIO())
    assert "\r" not in log and log.count("\n") == 2 and log.startswith("epoch 1/2: loss=")
    quiet = fit_output(monkeypatch, Terminal(), env="1")        # TQDM_DISABLE=1: no bar, plain lines
    assert "\r" not in quiet and quiet.startswith("epoch 1/2: loss=")


@pytest.mark.parametrize("env, tty, bar", [(None, True, True), ("1", True, False), (None, False, False)])
def test_examples_follow_the_same_rule(monkeypatch, env, tty, bar):
    if env is None:
        monkeypatch.delenv("TQDM_DISABLE", raising=False)
    else:
        monkeypatch.setenv("TQDM_DISABLE", env)
    stream = Terminal() if tty else io.StringIO()
    monkeypatch.setattr(sys, "stdout", stream)
    runpy.run_path(str(EXAMPLES / "xor.py"))["main"](["--epochs", "3"])
    out = stream.getvalue()
    assert ("\r" in out) is bar and ("xor:" in out)
    stream = Terminal()
    monkeypatch.setattr(sys, "stdout", stream)
    runpy.run_path(str(EXAMPLES / "xor.py"))["main"](["--epochs", "3", "--no-progress"])
    assert "\r" not in stream.getvalue()


def test_a_hidden_bar_still_iterates_and_takes_postfixes(monkeypatch):
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    bar = progress_bar(range(3), desc="x")
    seen = []
    for i in bar:
        bar.set_postfix(i=i)
        seen.append(i)
    bar.close()
    assert seen == [0, 1, 2] and sys.stdout.getvalue() == ""
