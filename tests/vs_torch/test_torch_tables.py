"""PyTorch's own module test tables (common_modules.module_db, common_nn) against chainrule:
one test per sample and mode; the machinery, and what pass / fail / gap / skip mean, are in
torch_tables.py beside this file (``python tests/vs_torch/torch_tables.py`` prints the counts).

A gap (chainrule refuses an option the case uses) fails like any difference. The cases known
not to pass yet are listed in KNOWN below, each marked xfail(strict=True) with its category:
one that starts passing fails the run, so that its entry is removed.
"""

import functools
import os
import re
import sys

import pytest

pytestmark = pytest.mark.slow

torch = pytest.importorskip("torch", reason="torch is not installed: the tables are torch's")

sys.path.insert(0, os.path.dirname(__file__))
import torch_tables  # noqa: E402

# (module, pattern searched in "<desc> <constructor arguments> forward(<keywords>)", reason).
KNOWN = (
    ("RNN|GRU|LSTM", r"^RNN input dtype",
     "a deliberate difference, for the planners to decide: chainrule's layers cast an input to their "
     "parameters' dtype (NumPy arrays default to float64, chainrule's layers to float32), so a float32 "
     "input into a float64 RNN/GRU/LSTM runs; torch's RNN raises ValueError"),
)

FAST_TIER = "not slow"  # tests/conftest.py's FAST_TIER: this tier does not run the file


def _known(case):
    text = f"{case.desc} {case.options}"
    for module, pattern, reason in KNOWN:
        if re.fullmatch(module, case.module) and re.search(pattern, text):
            return reason
    return None


def _internal_unavailable():
    """Why torch's test tables cannot be read, or ``None`` (imported here, not at the top: the
    fast tier, which does not run this file, should not pay for it)."""
    try:
        import torch.testing._internal.common_modules  # noqa: F401
        import torch.testing._internal.common_nn  # noqa: F401
    except Exception as exc:  # noqa: BLE001 -- e.g. expecttest missing, or a torch built without them
        return f"torch.testing._internal does not import: {exc!r}"
    return None


def pytest_generate_tests(metafunc):
    if "case" not in metafunc.fixturenames:
        return
    if metafunc.config.getoption("markexpr", "") == FAST_TIER:
        metafunc.parametrize("case", [])  # deselected anyway: don't build the tables
        return
    reason = _internal_unavailable()
    if reason:
        metafunc.parametrize("case", [pytest.param(None, marks=pytest.mark.skip(reason=reason))], ids=["tables"])
        return
    cases, _ = torch_tables.collect()
    params = []
    for case in cases:
        reason = _known(case)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(case, marks=marks, id=case.id))
    metafunc.parametrize("case", params)


def test_table_case(case):
    outcome = torch_tables.run(case)
    if outcome.status == "skip":
        pytest.skip(f"{outcome.reason} {outcome.detail}".strip())
    assert outcome.status == "pass", f"{outcome.status}: {outcome.reason}: {outcome.detail} [{case.options}]"


# The machinery itself: each kind of difference is caught, and only a refusal is a gap.

@functools.lru_cache(maxsize=None)
def _first_passing(source, name):
    """The first case of ``source`` (module_db: the module ``name``, not an error input; op_db: the
    function ``F.<name>``) that passes as chainrule is."""
    reason = _internal_unavailable()
    if reason:
        pytest.skip(reason)
    cases, _ = torch_tables.collect()
    wanted = ((lambda c: c.module == name and not c.error) if source == "module_db" else
              (lambda c: c.function == name))
    return next(c for c in cases if c.source == source and wanted(c) and torch_tables.run(c).status == "pass")


def _case(module):
    return _first_passing("module_db", module)


@pytest.mark.parametrize("where", ["forward", "backward", "parameter grad"])
def test_a_wrong_number_is_a_failure(monkeypatch, where):
    from chainrule import nn
    case = _case("Linear")
    forward, backward = nn.Linear.forward, nn.Linear.backward
    if where == "forward":
        monkeypatch.setattr(nn.Linear, "forward", lambda self, input: forward(self, input) * (1 + 1e-8))
    elif where == "backward":
        monkeypatch.setattr(nn.Linear, "backward", lambda self, g: backward(self, g) * (1 + 1e-8))
    else:
        def wrong(self, g):
            dx = backward(self, g)
            self.weight.grad[0, 0] += 1e-6
            return dx
        monkeypatch.setattr(nn.Linear, "backward", wrong)
    outcome = torch_tables.run(case)
    assert outcome.status == "fail", outcome
    assert ("forward" if where == "forward" else "backward") in outcome.reason


def test_a_refused_option_is_a_gap_and_any_other_exception_a_failure(monkeypatch):
    from chainrule import nn
    case = _case("Tanh")

    def refuse(self, input):
        raise ValueError("Tanh approximate='fast' is not supported")
    monkeypatch.setattr(nn.Tanh, "forward", refuse)
    assert torch_tables.run(case).status == "gap"

    def broken(self, input):
        raise ValueError("operands could not be broadcast together")
    monkeypatch.setattr(nn.Tanh, "forward", broken)
    outcome = torch_tables.run(case)
    assert outcome.status == "fail" and "broadcast" in outcome.detail, outcome


def _function_case(function):
    return _first_passing("op_db", function)


@pytest.mark.parametrize("where", ["forward", "backward", "weight grad"])
def test_a_wrong_number_in_a_function_is_a_failure(monkeypatch, where):
    import chainrule.nn.functional as F
    case = _function_case("linear")
    linear, linear_backward = F.linear, F.linear_backward
    if where == "forward":
        monkeypatch.setattr(F, "linear", lambda *a, **k: linear(*a, **k) * (1 + 1e-8))
    elif where == "backward":
        monkeypatch.setattr(F, "linear_backward", lambda *a, **k: (linear_backward(*a, **k)[0] * (1 + 1e-8),
                                                                   *linear_backward(*a, **k)[1:]))
    else:
        def wrong(*a, **k):
            dx, dw, db = linear_backward(*a, **k)
            return dx, dw + 1e-6, db
        monkeypatch.setattr(F, "linear_backward", wrong)
    outcome = torch_tables.run(case)
    assert outcome.status == "fail", outcome
    assert ("forward" if where == "forward" else "backward") in outcome.reason


def test_a_function_chainrule_lacks_is_a_gap(monkeypatch):
    import chainrule.nn.functional as F
    case = _function_case("relu")
    monkeypatch.setattr(F, "__all__", [n for n in F.__all__ if n != "relu"])
    outcome = torch_tables.run(case)
    assert outcome.status == "gap" and outcome.reason == "F.relu", outcome
