"""Read the committed benchmark results in benchmarks/results/, for docs/performance.md.

The MLP, CNN, GPT and RNN benchmarks print their tables; a run's output is committed as it was
printed (a ``.txt`` file, one or more runs in it). ``bench_resnet.py --save`` writes JSON.
This module parses both, so that every figure on the performance page is read from a file
at build time instead of being typed into the page. It imports neither torch nor chainrule.
"""

from __future__ import annotations

import json
import os
import re

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")

_TIME = r"(\d+(?:\.\d+)?) (us|ms)"
_CONTENDER = r"chainrule|torch|reference|gemm floor|cr@\w+"
_ROW = re.compile(rf"^(?P<label>.*?)\s*\b(?P<contender>{_CONTENDER})\s+{_TIME}(?:\s+(?P<ratio>\d+\.\d+)\s+(?P<same>\d+\.\d+))?")
_RNN_ROW = re.compile(rf"^(?P<label>\S.*?)\s+{_TIME}\s+{_TIME}\s+(?P<ratio>\d+\.\d+)\s+(?P<same>\d+\.\d+)"
                      rf"(?:\s+{_TIME}\s+(?P<floor_ratio>\d+\.\d+)\s+(?P<floor_same>\d+\.\d+))?\s*$")
_LOAD = re.compile(r"load average \(1, 5, 15 min\) at start: ([\d.]+), ([\d.]+), ([\d.]+)")
_LOAD_END = re.compile(r"load average(?: \(1, 5, 15 min\))? at the end: ([\d.]+), ([\d.]+), ([\d.]+)")


def path(name: str) -> str:
    return os.path.join(RESULTS, name)


def seconds(value: str, unit: str) -> float:
    return float(value) * (1e-3 if unit == "ms" else 1e-6)


def _runs(text: str) -> list[list[str]]:
    """Split a file into runs: each run's output starts with its ``CPU:`` line (a command line
    just before it belongs to it) or, in files without one, with a ``$ `` command line."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("CPU:")]
    if not starts:
        starts = [i for i, line in enumerate(lines) if line.startswith("$ ")] or [0]
    else:
        starts = [i - 1 if i and lines[i - 1].startswith(("$ ", "# ")) else i for i in starts]
    starts[0] = 0
    return [lines[a:b] for a, b in zip(starts, starts[1:] + [len(lines)])]


def read_runs(name: str) -> list[dict]:
    """Every run in a ``.txt`` results file: ``command``, ``threads`` (PyTorch's, else the
    BLAS's), ``load_start`` / ``load_end`` (or None where the run did not print them), and
    ``rows``: ``{workload: {contender: {"median": s, "ratio": r, "same_round": r}}}``, the
    ratios chainrule / contender as printed (None on chainrule's own row)."""
    with open(path(name)) as f:
        text = f.read()
    runs = []
    for lines in _runs(text):
        run = {"command": None, "threads": None, "load_start": None, "load_end": None, "rows": {}}
        workload = None
        for line in lines:
            if line.startswith(("$ ", "# ")) and run["command"] is None:
                run["command"] = line[2:].strip()
            m = re.search(r"torch \S+ \((\d+) threads?\)", line) or re.search(r"threads=(\d+)", line)
            if m and run["threads"] is None:
                run["threads"] = int(m.group(1))
            if (m := _LOAD.search(line)):
                run["load_start"] = tuple(float(v) for v in m.groups())
            if (m := _LOAD_END.search(line)):
                run["load_end"] = tuple(float(v) for v in m.groups())
            if (m := _RNN_ROW.match(line)) and "chainrule" not in line:
                label = m.group("label").strip()
                run["rows"][label] = {
                    "chainrule": {"median": seconds(m.group(2), m.group(3)), "ratio": None, "same_round": None},
                    "torch": {"median": seconds(m.group(4), m.group(5)), "ratio": float(m.group("ratio")),
                              "same_round": float(m.group("same"))}}
                if m.group("floor_ratio") is not None:
                    run["rows"][label]["gemm floor"] = {"median": seconds(m.group(8), m.group(9)),
                                                        "ratio": float(m.group("floor_ratio")),
                                                        "same_round": float(m.group("floor_same"))}
                continue
            m = _ROW.match(line)
            if not m or line.lstrip().startswith(("contender", "workload")):
                continue
            label = re.sub(r"\s{2,}", " ", m.group("label").strip())
            if label:
                workload = label
            key = workload if workload is not None else ""
            run["rows"].setdefault(key, {})[m.group("contender")] = {
                "median": seconds(m.group(3), m.group(4)),
                "ratio": None if m.group("ratio") is None else float(m.group("ratio")),
                "same_round": None if m.group("same") is None else float(m.group("same"))}
        runs.append(run)
    return runs


def read_run(name: str, threads: int | None = None) -> dict:
    """The one run of ``name`` (the one at ``threads`` threads, where the file holds several)."""
    runs = [r for r in read_runs(name) if threads is None or r["threads"] == threads]
    if len(runs) != 1:
        raise LookupError(f"{name}: {len(runs)} runs at threads={threads}, expected 1")
    return runs[0]


def read_json(name: str) -> dict:
    with open(path(name)) as f:
        return json.load(f)


def memory_ratios(name: str) -> list[float]:
    """The 'chainrule / torch, extra memory' ratios of a ``--memory`` run, in file order."""
    with open(path(name)) as f:
        return [float(v) for v in re.findall(r"chainrule / torch, extra memory: (\d+\.\d+)", f.read())]


def variants(name: str) -> dict:
    """The ``--variants`` table: ``{layer: {"one GEMM": r, "einsum": r, "full conv": r,
    "add_windows": r, "per offset": r}}``, each a variant's time over chainrule's choice (the files
    from before the input gradient chose its order have no "per offset", and there add_windows was
    the choice, 1.0)."""
    rows = {}
    t, r = _TIME, r"([\d.]+)"
    old = re.compile(rf"^(\d-D conv \d)\s+{t}\s+{t}\s+{r}\s+{t}\s+{r}\s+{t}\s+{t}\s+{r}\s*$")
    new = re.compile(rf"^(\d-D conv \d)\s+{t}\s+{t}\s+{r}\s+{t}\s+{r}\s+{t}\s+{t}\s+{r}\s+{t}\s+{r}\s+{t}\s+{r}\s*$")
    with open(path(name)) as f:
        for line in f:
            if m := new.match(line):
                g = m.groups()
                rows[g[0]] = {"one GEMM": float(g[5]), "einsum": float(g[8]), "per offset": float(g[13]),
                              "add_windows": float(g[16]), "full conv": float(g[19])}
            elif m := old.match(line):
                g = m.groups()
                rows[g[0]] = {"one GEMM": float(g[5]), "einsum": float(g[8]), "add_windows": 1.0,
                              "full conv": float(g[13])}
    return rows


def load_text(load) -> str:
    return "not recorded" if load is None else ", ".join(f"{v:.1f}" for v in load)
