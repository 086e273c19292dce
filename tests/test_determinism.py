"""Two runs of an example with the same seed, in two separate processes, give bit-identical
weights (and a different seed gives different ones: the test can fail)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import chainrule as cr

ROOT = Path(__file__).resolve().parents[1]
DRIVER = """
import os, runpy, sys
import chainrule as cr
sys.path.append(os.path.dirname(sys.argv[1]))  # examples/cli.py, as `python examples/moons.py` finds it
module = runpy.run_path(sys.argv[1])
result = module["main"](["--epochs", "2", "--no-progress", "--seed", sys.argv[3]])
cr.save(result["model"].state_dict(), sys.argv[2])
"""


def _run(tmp_path, name, seed):
    out = tmp_path / f"{name}.npz"
    env = dict(os.environ, PYTHONHASHSEED=str(hash(name) % 1000))  # differs between the two runs
    subprocess.run([sys.executable, "-c", DRIVER, str(ROOT / "examples" / "moons.py"), str(out), str(seed)],
                   check=True, env=env, cwd=tmp_path, capture_output=True, timeout=300)
    return cr.load(out)


def test_same_seed_same_weights_in_two_processes(tmp_path):
    first, second = _run(tmp_path, "first", 0), _run(tmp_path, "second", 0)
    assert list(first) == list(second) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    for key in first:
        assert first[key].dtype == second[key].dtype == np.float32
        assert first[key].tobytes() == second[key].tobytes(), f"{key} differs between two runs"
    other = _run(tmp_path, "other", 1)
    assert not np.array_equal(first["0.weight"], other["0.weight"])
