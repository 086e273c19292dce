"""``python -m chainrule.exercises``: plain text, exit 0 only on success, 2 on a usage error."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"


def run(*args, cwd):
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.run([sys.executable, "-m", "chainrule.exercises", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_list(tmp_path):
    done = run("list", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.split()[:3] == ["chain", "sigmoid", "tanh"] and "embedding" in done.stdout


def test_start_then_check_then_pass(tmp_path):
    done = run("start", "linear", cwd=tmp_path)
    assert done.returncode == 0 and "linear.py" in done.stdout
    assert (tmp_path / "linear.py").exists()
    assert run("start", "linear", cwd=tmp_path).returncode == 1  # never overwrites
    failed = run("check", "linear.py", cwd=tmp_path)
    assert failed.returncode == 1 and "still to write" in failed.stdout and "Traceback" not in failed.stderr
    with open(tmp_path / "linear.py", "a") as file:
        file.write("\n\nclass Library(Linear):\n    forward = nn.Linear.forward\n    backward = nn.Linear.backward\n")
    passed = run("check", "linear.py", "--name", "linear", cwd=tmp_path)
    assert passed.returncode == 0 and "passed" in passed.stdout


def test_start_to_a_path(tmp_path):
    (tmp_path / "mine").mkdir()
    done = run("start", "relu", "mine/relu_try.py", cwd=tmp_path)
    assert done.returncode == 0 and (tmp_path / "mine" / "relu_try.py").exists()


def test_hint_and_solution(tmp_path):
    hint = run("hint", "softmax", cwd=tmp_path)
    assert hint.returncode == 0 and "docs/modules/softmax.md" in hint.stdout
    solution = run("solution", "linear", cwd=tmp_path)
    assert solution.returncode == 0 and "def backward" in solution.stdout


@pytest.mark.parametrize("args", [(), ("hint",), ("hint", "nope"), ("start",), ("frobnicate",),
                                  ("check",), ("solution", "nope")])
def test_usage_errors_exit_2(tmp_path, args):
    done = run(*args, cwd=tmp_path)
    assert done.returncode == 2 and "usage" in done.stderr


def test_a_syntax_error_exits_1_with_the_line(tmp_path):
    (tmp_path / "bad.py").write_text("def backward(self:\n")
    done = run("check", "bad.py", cwd=tmp_path)
    assert done.returncode == 1 and "bad.py, line 1" in done.stdout and "Traceback" not in done.stdout + done.stderr


def test_a_reader_that_stops_early_is_not_an_error():
    # `python -m chainrule.exercises list | head -1`: the pipe closes before the output is written.
    process = subprocess.Popen([sys.executable, "-m", "chainrule.exercises", "list"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(SRC)})
    process.stdout.close()
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0 and b"Traceback" not in err and b"BrokenPipe" not in err
