"""Let freed array memory be reused instead of handed back to the system (glibc only).

A training step frees and allocates the same large arrays (activations, gradients) every
step. glibc's malloc serves an array of 128 KiB or more from fresh pages (mmap) and returns
them on free, and raises that threshold only to the size of the largest block freed so far;
an array of exactly that size is then mapped afresh every step, and the kernel zeroes and
faults in each page again. On 2 -> 500 -> 2 at batch 1024 that made a step 2.2x slower
(benchmarks/bench_training_step.py, see the performance page). PyTorch's processes end up
in the same state as this module sets up, through their own large allocations.

What it changes is process-wide: ``import chainrule`` calls ``keep_freed_memory()`` once,
and the two thresholds then hold for every allocation of the process, not only chainrule's
arrays (NumPy's, other libraries', the interpreter's). They are set to what glibc's own
heuristic reaches after one 32 MiB block has been freed: blocks below 32 MiB come from the
heap and are reused, and up to 64 MiB of free heap is kept instead of being returned to the
system. Nothing changes where the process is not on glibc.

To opt out, set ``CHAINRULE_MALLOC_DEFAULTS=1`` in the environment before importing
chainrule (glibc keeps its defaults), or set glibc's own ``MALLOC_MMAP_THRESHOLD_`` or
``MALLOC_TRIM_THRESHOLD_`` (then your values stand). Both are read at import.
"""

from __future__ import annotations

import ctypes
import os
import sys

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)
_MMAP_THRESHOLD = 32 << 20  # glibc's largest allowed value on 64-bit systems
_TRIM_THRESHOLD = 2 * _MMAP_THRESHOLD  # the ratio glibc's heuristic keeps


def keep_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds as described above; ``True`` if they were set."""
    if not sys.platform.startswith("linux"):
        return False
    if {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"} & set(os.environ) or os.environ.get("CHAINRULE_MALLOC_DEFAULTS") == "1":
        return False  # the user chose
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))
