"""Benchmark one MLP training step: chainrule vs a hand-written NumPy step, PyTorch CPU eager
and the GEMM floor.

One step = forward, mean cross-entropy on class indices, backward, SGD with momentum 0.9.
Contenders run in the same process, interleaved round by round (in a rotating order), so
that the drift of a shared machine hits all of them alike; the table gives each one's
median time per step and the ratios of medians (plus the median of same-round ratios).
Before timing, the script checks on every workload that chainrule's gradients and loss
equal the NumPy reference's (and PyTorch's, where installed).

Usage:
    python benchmarks/bench_training_step.py            # full run (a few minutes)
    python benchmarks/bench_training_step.py --quick    # smoke run for CI: checks, no timing asserted
    python benchmarks/bench_training_step.py --memory   # peak RSS of 20 W3 steps, one process per contender
    python benchmarks/bench_training_step.py --phases   # chainrule vs reference, phase by phase
    python benchmarks/bench_training_step.py --no-torch # without importing torch (see below)
    python benchmarks/bench_training_step.py --baseline REV  # also time chainrule as of git revision REV

The BLAS matters more than anything here: the script prints the kernel it runs
(threadpoolctl) and the thread count. On processors where ``OPENBLAS_CORETYPE`` is set in the
environment, OpenBLAS is pinned to an older kernel; to measure a current numpy, unset
``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` together for this command only.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from numpy_reference import GemmFloor, ReferenceMLP  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule import data, nn, optim  # noqa: E402

LR, MOMENTUM = 0.01, 0.9

# name, layer sizes, activation, batch, dtypes
WORKLOADS = [
    ("W1 b32", (2, 500, 2), "tanh", 32, (np.float32, np.float64)),
    ("W1 b1024", (2, 500, 2), "tanh", 1024, (np.float32, np.float64)),
    ("W2", (784, 256, 256, 10), "relu", 128, (np.float32, np.float64)),
    ("W3", (1024, 4096, 4096, 10), "relu", 512, (np.float32,)),
]

# (workload, contender) -> the largest ratio chainrule / contender allowed. A --baseline
# contender (chainrule at an earlier revision) gets the target "baseline".
TARGETS = {
    ("W1 b32", "torch"): 0.5, ("W1 b1024", "torch"): 1.1, ("W2", "torch"): 1.0, ("W3", "torch"): 1.15,
    ("W3", "reference"): 1.05,
    ("W1 b32", "baseline"): 1.05, ("W1 b1024", "baseline"): 1.05, ("W2", "baseline"): 1.05,
    ("W3", "baseline"): 1.05,
}

BASELINE = None  # (label, package): chainrule as of an earlier revision, see import_baseline

# Importing torch changes how glibc's malloc serves the other contenders' large arrays (its
# allocations raise malloc's thresholds), so --no-torch measures the NumPy contenders in a
# process like a chainrule user's, without it.
torch = None
if "--no-torch" not in sys.argv:
    try:
        import torch
    except ImportError:  # PyTorch is optional: its column is then left out
        pass


# -- building the contenders --------------------------------------------------------------


def initial_weights(sizes, dtype, seed=0):
    """PyTorch-style U(-1/sqrt(in), 1/sqrt(in)) weights (out, in) and biases, shared by all."""
    rng = np.random.default_rng(seed)
    out = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / np.sqrt(n_in)
        out.append((rng.uniform(-bound, bound, (n_out, n_in)).astype(dtype),
                    rng.uniform(-bound, bound, n_out).astype(dtype)))
    return out


def make_batch(sizes, batch, dtype, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, sizes[0])).astype(dtype)
    y = rng.integers(0, sizes[-1], batch).astype(np.int64)
    return x, y


def import_baseline(rev):
    """chainrule's package as of git revision ``rev``, imported under a name of its own
    (its modules import each other relatively), so that it runs in this process beside the
    working tree's: the before/after ratio is then measured round by round like the others."""
    import importlib
    import io
    import re
    import tarfile
    import tempfile

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    archive = subprocess.run(["git", "archive", rev, "src/chainrule"], cwd=repo, check=True,
                             capture_output=True).stdout
    folder = tempfile.mkdtemp(prefix="chainrule-baseline-")
    tarfile.open(fileobj=io.BytesIO(archive)).extractall(folder, filter="data")
    name = "chainrule_at_" + re.sub(r"\W", "_", rev)
    os.rename(os.path.join(folder, "src", "chainrule"), os.path.join(folder, name))
    sys.path.insert(0, folder)
    return importlib.import_module(name)


class Contender:
    """A contender's training step: its own ``forward_backward``, then its optimiser's step
    (and its scheduler's, where the workload has one)."""

    sched = None

    def step(self, x, y):
        loss = self.forward_backward(x, y)
        self.opt.step()
        if self.sched is not None:
            self.sched.step()
        return loss


class ChainruleStep(Contender):
    """The training loop of chainrule's README, one step per call (``lib``: the chainrule
    package to use, this one or a --baseline)."""

    def __init__(self, weights, activation, lib=cr):
        layers = []
        for i, (W, b) in enumerate(weights):
            linear = lib.nn.Linear(W.shape[1], W.shape[0], dtype=W.dtype)
            if i == 0:  # the input is data: skip dC/dx, as PyTorch and the reference do
                linear.needs_input_grad = False
            linear.weight.data[...] = W
            linear.bias.data[...] = b
            layers.append(linear)
            if i < len(weights) - 1:
                layers.append(lib.nn.Tanh() if activation == "tanh" else lib.nn.ReLU())
        self.model = lib.nn.Sequential(*layers)
        self.loss_fn = lib.nn.CrossEntropyLoss()
        self.opt = lib.optim.SGD(self.model.parameters(), lr=LR, momentum=MOMENTUM)

    def forward_backward(self, x, y):
        loss = self.loss_fn(self.model(x), y)
        self.opt.zero_grad()
        self.model.backward(self.loss_fn.backward())
        return loss

    def grads(self):
        return [p.grad for p in self.model.parameters()]

    def step_phases(self, x, y, clock):
        """``step``, appending the time at each phase boundary to ``clock`` (for --phases)."""
        clock.append(time.perf_counter())
        output = self.model(x)
        clock.append(time.perf_counter())
        loss = self.loss_fn(output, y)
        clock.append(time.perf_counter())
        self.opt.zero_grad()
        grad_output = self.loss_fn.backward()
        clock.append(time.perf_counter())
        self.model.backward(grad_output)
        clock.append(time.perf_counter())
        self.opt.step()
        clock.append(time.perf_counter())
        return loss


class TorchBatch(Contender):
    """For the PyTorch contenders: a batch is converted to tensors once, not at every step
    (the conversion is not part of the step being timed)."""

    _batch = None

    def _tensors(self, x, y):
        if self._batch is None or self._batch[0] is not x:
            self._batch = (x, torch.from_numpy(x), torch.from_numpy(y))
        return self._batch[1:]


class TorchModelStep(TorchBatch):
    """PyTorch's canonical loop (zero_grad, forward, loss, backward, step), for a subclass that
    sets ``self.model``, ``self.loss_fn`` and ``self.opt``."""

    def forward_backward(self, x, y):
        tx, ty = self._tensors(x, y)
        self.opt.zero_grad()
        loss = self.loss_fn(self.model(tx), ty)
        loss.backward()
        return loss.item()

    def step(self, x, y):
        tx, ty = self._tensors(x, y)
        self.opt.zero_grad()
        loss = self.loss_fn(self.model(tx), ty)
        loss.backward()
        self.opt.step()
        return loss  # no .item(): a training loop need not synchronise on the loss


class TorchStep(TorchModelStep):
    """PyTorch CPU eager: the canonical loop (zero_grad, forward, loss, backward, step)."""

    def __init__(self, weights, activation):
        layers = []
        tdtype = torch.float32 if weights[0][0].dtype == np.float32 else torch.float64
        for i, (W, b) in enumerate(weights):
            linear = torch.nn.Linear(W.shape[1], W.shape[0], dtype=tdtype)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(W))
                linear.bias.copy_(torch.from_numpy(b))
            layers.append(linear)
            if i < len(weights) - 1:
                layers.append(torch.nn.Tanh() if activation == "tanh" else torch.nn.ReLU())
        self.model = torch.nn.Sequential(*layers)
        self.loss_fn = torch.nn.CrossEntropyLoss()
        self.opt = torch.optim.SGD(self.model.parameters(), lr=LR, momentum=MOMENTUM)

    def grads(self):
        return [p.grad.numpy() for p in self.model.parameters()]


class ReferenceStep:
    def __init__(self, weights, activation, batch):
        self.ref = ReferenceMLP(weights, activation, batch, lr=LR, momentum=MOMENTUM)
        self.step = self.ref.step

    def forward_backward(self, x, y):
        return self.ref.forward_backward(x, y)

    def step_phases(self, x, y, clock):
        """``step``, appending the time at each phase boundary to ``clock`` (for --phases)."""
        clock.append(time.perf_counter())
        loss = self.ref.forward_backward(x, y, clock)
        clock.append(time.perf_counter())
        self.ref.sgd_step()
        clock.append(time.perf_counter())
        return loss

    def grads(self):
        return [g for pair in zip(self.ref.dW, self.ref.db) for g in pair]


def build(sizes, activation, batch, dtype):
    weights = initial_weights(sizes, dtype)
    contenders = {"chainrule": ChainruleStep(weights, activation)}
    if BASELINE is not None:
        contenders[BASELINE[0]] = ChainruleStep(weights, activation, lib=BASELINE[1])
    contenders["reference"] = ReferenceStep(weights, activation, batch)
    if torch is not None:
        contenders["torch"] = TorchStep(weights, activation)
    contenders["gemm floor"] = GemmFloor(weights, batch)
    return contenders


# -- checking -----------------------------------------------------------------------------


def check_gradients(name, sizes, activation, batch, dtype):
    """chainrule's loss and gradients must equal the reference's (and PyTorch's), and stay
    equal after a few SGD steps (which exercises the momentum buffer)."""
    x, y = make_batch(sizes, batch, dtype)
    c = build(sizes, activation, batch, dtype)
    rtol, atol = (2e-4, 1e-6) if dtype == np.float32 else (1e-10, 1e-13)
    others = [k for k in ("reference", "torch") if k in c]
    for step in range(3):
        losses = {k: c[k].forward_backward(x, y) for k in ["chainrule"] + others}
        for k in others:
            np.testing.assert_allclose(losses["chainrule"], losses[k], rtol=rtol, atol=atol,
                                       err_msg=f"{name} {np.dtype(dtype)}: loss vs {k} at step {step}")
            for i, (g_cr, g_k) in enumerate(zip(c["chainrule"].grads(), c[k].grads())):
                what = f"{name} {np.dtype(dtype)}: gradient {i} vs {k} at step {step}"
                if k == "reference":  # same BLAS, same formulas: equal element by element
                    scale = np.abs(g_k).max() or 1.0
                    np.testing.assert_allclose(g_cr, g_k, rtol=rtol, atol=atol * 10 + rtol * scale, err_msg=what)
                else:
                    # Another BLAS sums in another order, so in float32 a ReLU input within
                    # rounding of 0 can flip side (a whole row of a weight gradient then
                    # differs): compare the relative error of the whole tensor instead.
                    err = np.linalg.norm(g_cr - g_k) / (np.linalg.norm(g_k) or 1.0)
                    if err > (1e-2 if dtype == np.float32 else 1e-9):  # a wrong formula errs by O(1)
                        raise AssertionError(f"{what}: relative error {err:.2e}")
        for k in ["chainrule"] + others:  # the update itself (momentum) is checked at the next step
            if k == "reference":
                c[k].ref.sgd_step()
            else:
                c[k].opt.step()
    return others


# -- timing -------------------------------------------------------------------------------


def time_block(fn, x, y, n):
    t0 = time.perf_counter()
    for _ in range(n):
        fn(x, y)
    return (time.perf_counter() - t0) / n


def interleaved_times(steps: dict, x, y, rounds: int, block_seconds: float, warm_steps: int = 1) -> dict:
    """Warm each contender's ``step(x, y)`` up, size its block to about ``block_seconds``, then
    time one block per contender per round, the order rotating round by round, so that the
    drift of a shared machine hits all of them alike. Returns ``{name: [seconds per step]}``."""
    names = list(steps)
    n_per = {}
    for k in names:
        per = min(time_block(steps[k], x, y, warm_steps), time_block(steps[k], x, y, warm_steps))
        n_per[k] = max(1, int(block_seconds / per))
    times = {k: [] for k in names}
    for r in range(rounds):
        for k in names[r % len(names):] + names[:r % len(names)]:
            gc.collect()
            times[k].append(time_block(steps[k], x, y, n_per[k]))
    return times


def bench_workload(sizes, activation, batch, dtype, rounds, block_seconds):
    x, y = make_batch(sizes, batch, dtype)
    c = build(sizes, activation, batch, dtype)
    return interleaved_times({k: c[k].step for k in c}, x, y, rounds, block_seconds,
                             warm_steps=1 if block_seconds == 0 else 3)


PHASES = ("forward", "loss", "loss backward", "backward", "optimiser")


def phase_split(sizes, activation, batch, dtype, seconds):
    """Median time of each phase of a step, chainrule and reference alternating step by step
    in one process. A phase timed this way, inside the step, can cost several times what the
    same calls cost in a loop of their own: the GEMMs before it evict their code and data
    from cache. chainrule's zero_grad() counts with the loss backward."""
    x, y = make_batch(sizes, batch, dtype)
    weights = initial_weights(sizes, dtype)
    contenders = {"chainrule": ChainruleStep(weights, activation),
                  "reference": ReferenceStep(weights, activation, batch)}
    clock = []
    # Warm-up (the first step allocates), and a check that the two train the same network.
    losses = [float(c.step_phases(x, y, clock)) for c in contenders.values()]
    np.testing.assert_allclose(*losses, rtol=2e-4 if dtype == np.float32 else 1e-10,
                               err_msg=f"{sizes} {np.dtype(dtype)}: chainrule's loss vs the reference's")
    phases = {k: [[] for _ in PHASES] for k in contenders}
    gc.collect()
    n_steps, deadline = 0, time.perf_counter() + seconds
    while n_steps < 5 or time.perf_counter() < deadline:
        n_steps += 1
        for k, c in contenders.items():
            clock.clear()
            c.step_phases(x, y, clock)
            for i in range(len(PHASES)):
                phases[k][i].append(clock[i + 1] - clock[i])
    return n_steps, {k: [statistics.median(p) for p in ps] for k, ps in phases.items()}


def phase_report(workloads, seconds):
    print(f"\nPhases of one step, chainrule and reference alternating step by step for {seconds:g} s"
          " per row; medians over the steps counted under each row:")
    header = f"{'workload':<9} {'dtype':<8} {'phase':<14} {'chainrule':>10} {'reference':>10} {'cr - ref':>10}"
    print(header)
    print("-" * len(header))
    for name, sizes, activation, batch, dtypes in workloads:
        for dtype in dtypes:
            n_steps, med = phase_split(sizes, activation, batch, dtype, seconds)
            labels = [f"{name:<9} {np.dtype(dtype).name:<8}", f"({n_steps} steps)"]
            rows = list(zip(PHASES, med["chainrule"], med["reference"]))
            rows.append(("sum", sum(med["chainrule"]), sum(med["reference"])))
            for i, (phase, cr_t, ref_t) in enumerate(rows):
                label = labels[i] if i < len(labels) else ""
                print(f"{label:<18} {phase:<14} {fmt_time(cr_t):>10} {fmt_time(ref_t):>10} {fmt_time(cr_t - ref_t):>10}")


def fmt_time(seconds):
    return f"{seconds * 1e3:.3f} ms" if abs(seconds) >= 1e-3 else f"{seconds * 1e6:.1f} us"


def blas_description():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return ["threadpoolctl not installed: BLAS kernel unknown"]
    lines = []
    for info in threadpool_info():
        if info.get("user_api") == "blas":
            lines.append(f"{info.get('internal_api')} {info.get('version')} kernel={info.get('architecture')} "
                         f"threads={info.get('num_threads')} ({os.path.basename(info.get('filepath', ''))})")
    return lines or ["no BLAS found by threadpoolctl"]


def load_average(when: str) -> str:
    return f"load average (1, 5, 15 min) {when}: " + ", ".join(f"{v:.2f}" for v in os.getloadavg())


def start_run(threads: int, torch_module=None) -> float:
    """Put PyTorch (when given) and NumPy's BLAS on ``threads`` threads, print the machine
    and its load; returns the start time for the closing "done in" line."""
    if torch_module is not None:
        torch_module.set_num_threads(threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads, user_api="blas")
    for line in machine_description():
        print(line)
    print(load_average("at start") + f" on {os.cpu_count()} cores (other processes share this machine)")
    return time.perf_counter()


def machine_description():
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    lines = [f"CPU: {cpu}, {os.cpu_count()} logical cores; {platform.system()} {platform.release()}",
             f"Python {platform.python_version()}, numpy {np.__version__}, chainrule {cr.__version__ if hasattr(cr, '__version__') else '?'}"
             + (f", torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch is not None else ", torch not installed")]
    lines += ["BLAS: " + s for s in blas_description()]
    env = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                                      "OMP_NUM_THREADS", "MKL_NUM_THREADS") if k in os.environ}
    lines.append(f"environment: {env or 'no BLAS/thread variables set'}")
    return lines


def dataloader_vs_epoch(n_samples, block_rounds):
    """Time a shuffled DataLoader epoch over (n, 784) float32 at batch 128 alone, and a W2
    chainrule training epoch fed by it; interleaved, medians."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n_samples, 784)).astype(np.float32)
    y = rng.integers(0, 10, n_samples).astype(np.int64)
    loader = data.DataLoader(data.TensorDataset(X, y), batch_size=128, shuffle=True, seed=0)
    step = ChainruleStep(initial_weights((784, 256, 256, 10), np.float32), "relu")
    load_times, epoch_times = [], []
    for _ in range(block_rounds):
        gc.collect()
        t0 = time.perf_counter()
        for xb, yb in loader:
            pass
        load_times.append(time.perf_counter() - t0)
        gc.collect()
        t0 = time.perf_counter()
        for xb, yb in loader:
            step.step(xb, yb)
        epoch_times.append(time.perf_counter() - t0)
    return statistics.median(load_times), statistics.median(epoch_times), \
        statistics.median(a / b for a, b in zip(load_times, epoch_times))


# -- memory -------------------------------------------------------------------------------


def peak_rss_mib():
    """This process's peak resident set (VmHWM). Not ru_maxrss: Linux carries that across
    exec, so a child started by a large parent would report the parent's peak."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_child(what):
    """Run in a fresh process; print peak RSS in MiB and the peak before building the model.
    ``what`` is ``"W3 <contender>"`` (20 W3 steps) or ``"W1 <contender>"`` (one W1 step at batch
    10**6, then for chainrule what the model still holds after a batch-32 step)."""
    workload, contender = what.split()
    if workload == "W3":
        sizes, activation, batch, steps = (1024, 4096, 4096, 10), "relu", 512, 20
    else:
        sizes, activation, batch, steps = (2, 500, 2), "tanh", 10**6, 1
    x, y = make_batch(sizes, batch, np.float32)
    weights = initial_weights(sizes, np.float32)
    if contender == "chainrule":
        import tracemalloc
        tracemalloc.start()  # NumPy reports its arrays to tracemalloc
    base = peak_rss_mib()
    if contender == "chainrule":
        c = ChainruleStep(weights, activation)
    elif contender == "reference":
        c = ReferenceStep(weights, activation, batch)
    elif contender == "torch":
        torch.set_num_threads(2)
        c = TorchStep(weights, activation)
    else:
        raise SystemExit(f"unknown contender {contender!r}")
    del weights
    gc.collect()
    for _ in range(steps):
        c.step(x, y)
    peak = peak_rss_mib()
    held = ""
    if contender == "chainrule" and workload == "W1":
        del x, y
        c.step(*make_batch(sizes, 32, np.float32))
        gc.collect()
        held_bytes = tracemalloc.get_traced_memory()[0]
        state_bytes = 3 * sum(p.data.nbytes for p in c.model.parameters())  # data, grad, momentum
        held = f" {held_bytes / 1024:.0f} {state_bytes / 1024:.0f}"
    print(f"{peak:.0f} {base:.0f}{held}")


def memory_report():
    print("\nPeak resident memory (VmHWM), one fresh process each; 'extra' = peak minus the peak")
    print("before the model was built (imports and data):")
    names = ["chainrule", "reference"] + (["torch"] if torch is not None else [])
    for workload, label in (("W3", "20 steps of W3 (1024-4096-4096-10, batch 512, float32)"),
                            ("W1", "one step of W1 (2-500-2 tanh) at batch 10**6, float32")):
        print(f"  {label}:")
        extra = {}
        for name in names:
            if workload == "W1" and name == "reference":
                continue  # its buffers are sized for one batch; the question here is the framework's
            no_torch = [] if name == "torch" else ["--no-torch"]  # as a user's process would be
            out = subprocess.run([sys.executable, os.path.abspath(__file__), "--memory-child", f"{workload} {name}",
                                  *no_torch], check=True, capture_output=True, text=True).stdout.split()
            extra[name] = float(out[0]) - float(out[1])
            print(f"    {name:<10} peak {out[0]:>6} MiB, extra {extra[name]:>6.0f} MiB")
            if len(out) == 4:
                print(f"    {'':<10} after a batch-32 step NumPy holds {out[2]} KiB; the parameters, their "
                      f"gradients and momentum are {out[3]} KiB")
        if "torch" in extra:
            print(f"    chainrule / torch, extra memory: {extra['chainrule'] / extra['torch']:.2f}"
                  + (" (target <= 1.5)" if workload == "W1" else ""))


# -- main ---------------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: all checks, 2 short rounds")
    parser.add_argument("--rounds", type=int, default=None, help="timing rounds per workload")
    parser.add_argument("--only", default=None, help="run only workloads whose name contains this")
    parser.add_argument("--dtype", choices=("float32", "float64"), default=None, help="run only this dtype")
    parser.add_argument("--memory", action="store_true", help="only the peak-RSS measurement")
    parser.add_argument("--phases", action="store_true",
                        help="only split a step into phases, chainrule against the reference")
    parser.add_argument("--no-torch", action="store_true", help="do not import torch (see the comment at its import)")
    parser.add_argument("--baseline", default=None, metavar="REV",
                        help="also time chainrule as of git revision REV (e.g. a commit before a change)")
    parser.add_argument("--threads", type=int, default=2,
                        help="PyTorch's threads and NumPy's BLAS threads (default 2, PyTorch's default on 2 cores)")
    parser.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    global BASELINE
    if args.baseline:
        BASELINE = (f"cr@{args.baseline[:7]}", import_baseline(args.baseline))
    if torch is not None:
        torch.set_num_threads(args.threads)
    if args.threads != 2:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=args.threads, user_api="blas")
    if args.memory_child:
        memory_child(args.memory_child)
        return
    for line in machine_description():
        print(line)
    print(load_average("at start") + f" on {os.cpu_count()} cores (other processes share this machine)")
    if args.memory:
        memory_report()
        return

    t_start = time.perf_counter()
    quick = args.quick
    rounds = args.rounds or (2 if quick else 21)
    workloads = [(name, sizes, activation, batch, tuple(d for d in dtypes if args.dtype in (None, np.dtype(d).name)))
                 for name, sizes, activation, batch, dtypes in WORKLOADS if args.only is None or args.only in name]

    if args.phases:
        phase_report(workloads, 0.5 if quick else 10.0)
        print(f"\ndone in {time.perf_counter() - t_start:.1f} s")
        return None

    print("\nGradient checks (chainrule vs " + ("reference and PyTorch" if torch else "reference") + "):")
    for name, sizes, activation, batch, dtypes in workloads:
        for dtype in dtypes:
            others = check_gradients(name, sizes, activation, batch, dtype)
            print(f"  {name:<9} {np.dtype(dtype).name:<8} loss and gradients equal {', '.join(others)} over 3 steps")

    print(f"\nTiming: one training step, median of {rounds} interleaved rounds")
    header = f"{'workload':<9} {'dtype':<8} {'contender':<11} {'median':>11} {'cr/this':>8} {'same-round':>10} {'target':>7}"
    print(header)
    print("-" * len(header))
    results = []
    for name, sizes, activation, batch, dtypes in workloads:
        for dtype in dtypes:
            block = 0.005 if quick else (0.3 if name == "W3" else 0.1)
            if quick and name == "W3":
                block, r = 0.0, 1
            else:
                r = rounds
            times = bench_workload(sizes, activation, batch, dtype, r, block)
            cr_times = times["chainrule"]
            med_cr = statistics.median(cr_times)
            for k, ts in times.items():
                med = statistics.median(ts)
                if k == "chainrule":
                    print(f"{name:<9} {np.dtype(dtype).name:<8} {k:<12} {fmt_time(med):>10}")
                    continue
                ratio = med_cr / med
                same_round = statistics.median(a / b for a, b in zip(cr_times, ts))
                target_key = "baseline" if BASELINE is not None and k == BASELINE[0] else k
                target = TARGETS.get((name, target_key)) if dtype == np.float32 else None
                mark = "" if target is None else (f"<={target:.2f}" + (" ok" if ratio <= target else " MISS"))
                print(f"{'':<9} {'':<8} {k:<12} {fmt_time(med):>10} {ratio:>8.3f} {same_round:>10.3f} {mark:>7}")
                results.append((name, np.dtype(dtype).name, k, med, ratio, same_round, target))

    if args.only or args.dtype:  # a partial run: the timing table only
        print(load_average("at the end"))
        print(f"\ndone in {time.perf_counter() - t_start:.1f} s")
        return results
    n_samples, dl_rounds = (6000, 2) if quick else (60000, 5)
    load, epoch, frac = dataloader_vs_epoch(n_samples, dl_rounds)
    print(f"\nDataLoader epoch over {n_samples} x 784 float32, batch 128, shuffled: {fmt_time(load)}; "
          f"W2 training epoch fed by it: {fmt_time(epoch)}; loader share {load / epoch:.1%} "
          f"(same-round {frac:.1%}; target <= 5%)")
    if not quick:
        memory_report()
    print(f"\ndone in {time.perf_counter() - t_start:.1f} s")
    return results


if __name__ == "__main__":
    main()
