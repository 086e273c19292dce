"""What every test file shares: the two tiers, and the examples on ``sys.path``.

Tiers. ``python -m pytest`` is the fast tier (``-m "not slow"`` in pyproject.toml's addopts):
unit, gradcheck and torch-comparison tests, and the fuzz tests with a tenth of their
generated cases. ``python -m pytest -m slow`` is the slow tier: the example trainings, the
full MNIST-1D recipe, and the fuzz tests again with all of their cases. Any other ``-m``
(``-m ""`` runs everything) also runs the fuzz tests in full.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

# The examples import their shared command line as `cli` (examples/cli.py); `python
# examples/moons.py` finds it because Python puts the script's folder first on sys.path. Tests
# run the examples with runpy, which does not, so the folder goes here -- last, so that
# examples/mnist1d.py never hides the mnist1d package.
if str(EXAMPLES) not in sys.path:
    sys.path.append(str(EXAMPLES))

FAST_TIER = "not slow"  # the -m expression of the fast tier (pyproject.toml's addopts)


def fast_tier(config) -> bool:
    """``True`` when this run is the fast tier (the README's command)."""
    return config.getoption("markexpr", "") == FAST_TIER


def pytest_configure(config):
    # Read by tests/fuzz/_strategies.py's `examples(count)` when the fuzz modules are imported,
    # which is after this hook.
    from hypothesis import settings

    settings.register_profile("fast")
    settings.register_profile("slow")
    settings.load_profile("fast" if fast_tier(config) else "slow")


@pytest.hookimpl(tryfirst=True)  # before pytest's own -m selection, which reads the markers
def pytest_collection_modifyitems(config, items):
    # The fuzz tests belong to both tiers: in the slow one they count as slow so `-m slow` runs them.
    if not fast_tier(config):
        for item in items:
            if item.get_closest_marker("fuzz"):
                item.add_marker(pytest.mark.slow)

