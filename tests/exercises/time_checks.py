"""How long check() takes per exercise (run by hand; timings never go into tests):

    PYTHONPATH=src python tests/exercises/time_checks.py

For each exercise: the library's backward passing (every case, central differences, PyTorch
when installed) and the last catalogued mistake failing (recognising it runs the wrong solutions before it)."""

import importlib.util
import time

from chainrule import exercises

if importlib.util.find_spec("torch"):
    import torch  # noqa: F401  (imported once, outside the timings: about 2 s on its own)

print(f"{'exercise':<14} {'pass (s)':>9} {'mistake (s)':>12}")
for name in exercises.names():
    ex = exercises.EXERCISES[name]
    start = time.perf_counter()
    assert exercises.check(ex.builtin_class, name).passed
    passing = time.perf_counter() - start
    start = time.perf_counter()
    assert not exercises.check(ex.solution_class(ex.mistakes[-1]), name).passed
    failing = time.perf_counter() - start
    print(f"{name:<14} {passing:>9.3f} {failing:>12.3f}")
