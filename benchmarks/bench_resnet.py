"""Benchmark one ResNet training step: chainrule vs PyTorch CPU eager and the GEMM floor, same process.

The workload: torchvision's ``BasicBlock`` (conv3x3 - BN - ReLU - conv3x3 - BN, plus the
shortcut, then ReLU) twice, on (64, 3, 32, 32) float32 images, in the layout of the CIFAR
ResNets (He et al. 2016, section 4.2):

    conv3x3(3 -> 16) - BatchNorm2d - ReLU                          stem, 32 x 32
    BasicBlock(16 -> 16)             identity shortcut             32 x 32
    BasicBlock(16 -> 32, stride 2)   shortcut conv1x1(stride 2) - BatchNorm2d   16 x 16
    AdaptiveAvgPool2d(1) - Flatten - Linear(32 -> 10)

Convolutions without bias, as torchvision's. One step = forward, mean cross-entropy, zero_grad,
backward, SGD (lr 0.01, momentum 0.9). torchvision is not needed: its ``BasicBlock`` is
written out below in ``torch.nn`` (same attribute names: ``conv1``, ``bn1``, ``conv2``,
``bn2``, ``downsample``), and chainrule's model has the same names, so the state dict moves
across key for key.

Before timing, the loss, every gradient and the BatchNorm running statistics are checked
against PyTorch's over three SGD steps (float64 to 1e-10; float32 to float32 rounding).
Then three contenders run interleaved round by round (in a rotating order), float32, first
at PyTorch's default thread count (NumPy's BLAS on as many threads), then with both on one
thread: chainrule, PyTorch, and the **GEMM floor**: the step's convolutions as im2col GEMMs
alone (forward ``W @ cols``, weight gradient ``delta @ cols.T``, input gradient
``W.T @ delta`` for every convolution but the stem's, as one GEMM over all samples and
positions, into preallocated outputs) plus the Linear's three products: what any NumPy
program that convolves by im2col pays at least.

Usage:
    python benchmarks/bench_resnet.py                # checks, then 15 rounds at each thread setting
    python benchmarks/bench_resnet.py --quick        # smoke run for CI: the checks, two short rounds
    python benchmarks/bench_resnet.py --save benchmarks/results/DATE-resnet.json   # also write the results

``--save PATH`` writes the run as JSON: the machine, the load average (``os.getloadavg()``) at
the start and at the end, and per thread setting each contender's median time per step, the
ratios of medians and the median of same-round ratios. docs/performance.md reads that file.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_training_step import Contender, TorchModelStep, fmt_time, interleaved_times, load_average, machine_description  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule import nn, optim  # noqa: E402

try:
    import torch
except ImportError:
    torch = None

BATCH, SHAPE, CLASSES = 64, (3, 32, 32), 10
WIDTHS = (16, 32)  # the stem and first block; the second block (stride 2)
LR, MOMENTUM = 0.01, 0.9


# -- chainrule ----------------------------------------------------------------------------


def conv3x3(lib, cin, cout, stride, dtype):
    return lib.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False, dtype=dtype)


def conv1x1(lib, cin, cout, stride, dtype):
    return lib.Conv2d(cin, cout, 1, stride=stride, bias=False, dtype=dtype)


class BasicBlock(nn.Module):
    """torchvision's BasicBlock in chainrule:

        out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)),

    ``shortcut`` the identity, or ``downsample`` (conv1x1 with the block's stride, then BN)."""

    def __init__(self, inplanes, planes, stride=1, *, dtype=None):
        super().__init__()
        self.conv1 = conv3x3(nn, inplanes, planes, stride, dtype)
        self.bn1 = nn.BatchNorm2d(planes, dtype=dtype)
        self.relu1 = nn.ReLU()
        self.conv2 = conv3x3(nn, planes, planes, 1, dtype)
        self.bn2 = nn.BatchNorm2d(planes, dtype=dtype)
        self.relu2 = nn.ReLU()
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(conv1x1(nn, inplanes, planes, stride, dtype), nn.BatchNorm2d(planes, dtype=dtype))

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu2(out + identity)

    def backward(self, grad_output):
        # y = relu(f(x) + s(x)): the sum passes delta unchanged to both of its terms, and x,
        # used by both paths, gets the sum of the two gradients.
        delta = self.relu2.backward(grad_output)
        grad = self.conv1.backward(self.bn1.backward(self.relu1.backward(self.conv2.backward(self.bn2.backward(delta)))))
        shortcut = delta if self.downsample is None else self.downsample.backward(delta)
        return None if grad is None else grad + shortcut


class ResNet(nn.Module):
    def __init__(self, *, dtype=None):
        super().__init__()
        a, b = WIDTHS
        self.conv1 = conv3x3(nn, SHAPE[0], a, 1, dtype)
        self.conv1.needs_input_grad = False  # the input is data: no dC/dx, as PyTorch skips it
        self.bn1 = nn.BatchNorm2d(a, dtype=dtype)
        self.relu = nn.ReLU()
        self.layer1 = BasicBlock(a, a, dtype=dtype)
        self.layer2 = BasicBlock(a, b, stride=2, dtype=dtype)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(b, CLASSES, dtype=dtype)

    def forward(self, x):
        h = self.layer2(self.layer1(self.relu(self.bn1(self.conv1(x)))))
        return self.fc(self.flatten(self.avgpool(h)))

    def backward(self, grad_output):
        g = self.avgpool.backward(self.flatten.backward(self.fc.backward(grad_output)))
        g = self.relu.backward(self.layer1.backward(self.layer2.backward(g)))
        return self.conv1.backward(self.bn1.backward(g))


class ChainruleStep(Contender):
    def __init__(self, dtype, seed=0):
        cr.manual_seed(seed)
        self.model = ResNet(dtype=dtype)
        self.loss_fn = nn.CrossEntropyLoss()
        self.opt = optim.SGD(self.model.parameters(), lr=LR, momentum=MOMENTUM)

    def forward_backward(self, x, y):
        loss = self.loss_fn(self.model(x), y)
        self.opt.zero_grad()
        self.model.backward(self.loss_fn.backward())
        return loss

    def grads(self):
        return {k: p.grad for k, p in self.model.named_parameters()}


# -- PyTorch: torchvision's BasicBlock, written out ---------------------------------------


def torch_resnet(dtype):
    tnn = torch.nn

    class TorchBasicBlock(tnn.Module):
        """torchvision.models.resnet.BasicBlock (expansion 1, groups 1, dilation 1)."""

        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.conv1 = conv3x3(tnn, inplanes, planes, stride, dtype)
            self.bn1 = tnn.BatchNorm2d(planes, dtype=dtype)
            self.relu = tnn.ReLU(inplace=True)
            self.conv2 = conv3x3(tnn, planes, planes, 1, dtype)
            self.bn2 = tnn.BatchNorm2d(planes, dtype=dtype)
            self.downsample = downsample
            self.stride = stride

        def forward(self, x):
            identity = x
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            if self.downsample is not None:
                identity = self.downsample(x)
            out += identity
            return self.relu(out)

    class TorchResNet(tnn.Module):
        def __init__(self):
            super().__init__()
            a, b = WIDTHS
            self.conv1 = conv3x3(tnn, SHAPE[0], a, 1, dtype)
            self.bn1 = tnn.BatchNorm2d(a, dtype=dtype)
            self.relu = tnn.ReLU(inplace=True)
            self.layer1 = TorchBasicBlock(a, a)
            self.layer2 = TorchBasicBlock(a, b, 2, tnn.Sequential(conv1x1(tnn, a, b, 2, dtype), tnn.BatchNorm2d(b, dtype=dtype)))
            self.avgpool = tnn.AdaptiveAvgPool2d(1)
            self.fc = tnn.Linear(b, CLASSES, dtype=dtype)

        def forward(self, x):
            x = self.layer2(self.layer1(self.relu(self.bn1(self.conv1(x)))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    return TorchResNet()


class TorchStep(TorchModelStep):
    def __init__(self, dtype, state_dict):
        self.model = torch_resnet(torch.float32 if dtype == np.float32 else torch.float64)
        self.model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state_dict.items()})
        self.loss_fn = torch.nn.CrossEntropyLoss()
        self.opt = torch.optim.SGD(self.model.parameters(), lr=LR, momentum=MOMENTUM)

    def grads(self):
        return {k: p.grad.numpy() for k, p in self.model.named_parameters()}


# -- the GEMM floor -----------------------------------------------------------------------


def conv_shapes():
    """(in, out, kernel, stride, input size) of every convolution of the step, in forward order."""
    a, b = WIDTHS
    H = SHAPE[1]
    return [(SHAPE[0], a, 3, 1, H), (a, a, 3, 1, H), (a, a, 3, 1, H),
            (a, b, 3, 2, H), (b, b, 3, 1, H // 2), (a, b, 1, 2, H)]


class GemmFloor:
    """The step's matrix products alone, into preallocated outputs (operands of arbitrary
    values): per convolution, im2col's ``cols`` (C k k, N P) is given, and the step pays
    ``W @ cols`` (forward), ``delta @ cols.T`` (weight gradient) and ``W.T @ delta`` (the
    columns' gradient; not for the stem, whose input is data); the Linear's three products."""

    def __init__(self, dtype=np.float32, batch=BATCH):
        rng = np.random.default_rng(0)
        self.convs = []
        for i, (cin, cout, k, stride, H) in enumerate(conv_shapes()):
            K, P = cin * k * k, batch * ((H + 2 * (k // 2) - k) // stride + 1) ** 2

            def rand(*shape):
                return rng.standard_normal(shape).astype(dtype)

            self.convs.append({"W": rand(cout, K), "cols": rand(K, P), "delta": rand(cout, P),
                               "out": np.empty((cout, P), dtype), "dW": np.empty((cout, K), dtype),
                               "dcols": None if i == 0 else np.empty((K, P), dtype)})
        b = WIDTHS[1]
        self.fc = {"h": rng.standard_normal((batch, b)).astype(dtype), "W": rng.standard_normal((CLASSES, b)).astype(dtype),
                   "delta": rng.standard_normal((batch, CLASSES)).astype(dtype), "z": np.empty((batch, CLASSES), dtype),
                   "dW": np.empty((CLASSES, b), dtype), "dh": np.empty((batch, b), dtype)}

    def step(self, x=None, y=None) -> None:
        for c in self.convs:
            np.matmul(c["W"], c["cols"], out=c["out"])
        f = self.fc
        np.matmul(f["h"], f["W"].T, out=f["z"])
        np.matmul(f["delta"].T, f["h"], out=f["dW"])
        np.matmul(f["delta"], f["W"], out=f["dh"])
        for c in reversed(self.convs):
            np.matmul(c["delta"], c["cols"].T, out=c["dW"])
            if c["dcols"] is not None:
                np.matmul(c["W"].T, c["delta"], out=c["dcols"])


# -- checks and timing --------------------------------------------------------------------


def make_batch(dtype, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((BATCH, *SHAPE)).astype(dtype), rng.integers(0, CLASSES, BATCH).astype(np.int64)


def build(dtype):
    ours = ChainruleStep(dtype)
    return {"chainrule": ours, "torch": TorchStep(dtype, ours.model.state_dict())}


def relative_error(a, b):
    return np.linalg.norm(np.asarray(a, dtype=np.float64) - b) / (np.linalg.norm(b) or 1.0)


def check(dtype, steps=3):
    """Loss, every gradient and every BatchNorm buffer equal PyTorch's over ``steps`` SGD steps
    (so the momentum update is checked too, at the next step). Whole-tensor relative errors: in
    float32 a ReLU input within rounding of 0 may flip side between two summation orders."""
    x, y = make_batch(dtype)
    c = build(dtype)
    tol = 1e-10 if dtype == np.float64 else 1e-3
    name = np.dtype(dtype).name
    worst = 0.0
    for step in range(steps):
        losses = [float(c[k].forward_backward(x, y)) for k in ("chainrule", "torch")]
        err = abs(losses[0] - losses[1]) / abs(losses[1])
        if not err <= tol:
            raise AssertionError(f"ResNet {name}: loss at step {step}: {losses[0]!r} vs PyTorch's {losses[1]!r}")
        ours, theirs = c["chainrule"].grads(), c["torch"].grads()
        if list(ours) != list(theirs):
            raise AssertionError(f"ResNet {name}: parameter names {list(ours)} vs PyTorch's {list(theirs)}")
        for key in ours:
            err = relative_error(ours[key], theirs[key])
            worst = max(worst, err)
            if not err <= (tol if dtype == np.float64 else 1e-2):
                raise AssertionError(f"ResNet {name}: gradient of {key} at step {step}: relative error {err:.2e}")
        for k in c:
            c[k].opt.step()
    sd, tsd = c["chainrule"].model.state_dict(), c["torch"].model.state_dict()
    for key, value in sd.items():
        err = relative_error(value, tsd[key].numpy())
        if not err <= tol:
            raise AssertionError(f"ResNet {name}: state_dict[{key!r}] after {steps} steps: relative error {err:.2e}")
    return worst


def set_threads(n):
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(n)
    threadpool_limits(limits=n, user_api="blas")


def bench(rounds, block_seconds, warm_steps):
    x, y = make_batch(np.float32)
    c = build(np.float32)
    steps = {"chainrule": c["chainrule"].step, "torch": c["torch"].step, "gemm floor": GemmFloor().step}
    return interleaved_times(steps, x, y, rounds, block_seconds, warm_steps=warm_steps)


def summarise(times):
    med = {k: statistics.median(ts) for k, ts in times.items()}

    def same_round(a, b):
        return statistics.median(p / q for p, q in zip(times[a], times[b]))

    return {"median_seconds": med,
            "cr/torch": med["chainrule"] / med["torch"], "cr/torch same-round": same_round("chainrule", "torch"),
            "floor/torch": med["gemm floor"] / med["torch"], "floor/torch same-round": same_round("gemm floor", "torch"),
            "cr/floor": med["chainrule"] / med["gemm floor"], "cr/floor same-round": same_round("chainrule", "gemm floor")}


def git_commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=os.path.dirname(os.path.abspath(__file__)),
                              check=True, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: the checks, two short rounds")
    parser.add_argument("--rounds", type=int, default=None, help="timing rounds per thread setting (default 15)")
    parser.add_argument("--save", default=None, metavar="PATH", help="write the results as JSON to PATH")
    args = parser.parse_args(argv)
    if torch is None:
        raise SystemExit("bench_resnet.py compares with PyTorch: install torch")
    default_threads = torch.get_num_threads()
    set_threads(default_threads)
    machine = machine_description()
    for line in machine:
        print(line)
    commit = git_commit()  # the code that runs, before any later commit
    load_start = os.getloadavg()
    print(load_average("at start") + f" on {os.cpu_count()} cores (other processes share this machine)")
    t_start = time.perf_counter()

    print("\nChecks (chainrule vs PyTorch, loss, every gradient and the BatchNorm buffers over 3 SGD steps):")
    checks = {}
    for dtype in (np.float64, np.float32):
        checks[np.dtype(dtype).name] = worst = check(dtype)
        print(f"  {np.dtype(dtype).name:<8} equal (largest relative error of a gradient {worst:.1e})")

    rounds = args.rounds or (2 if args.quick else 15)
    block = 0.0 if args.quick else 0.3
    settings = {}
    header = (f"{'threads':<14} {'contender':<11} {'median':>11} {'cr/this':>8} {'same-round':>10} {'this/torch':>10}")
    print(f"\nTiming: one training step, float32, batch {BATCH}, median of {rounds} interleaved rounds")
    print(header)
    print("-" * len(header))
    for label, n in ((f"default ({default_threads})", default_threads), ("1", 1)):
        set_threads(n)
        s = summarise(bench(rounds, block, 1 if args.quick else 2))
        s["threads"] = n
        settings["default" if label.startswith("default") else "1"] = s
        med = s["median_seconds"]
        print(f"{label:<14} {'chainrule':<11} {fmt_time(med['chainrule']):>11}")
        print(f"{'':<14} {'torch':<11} {fmt_time(med['torch']):>11} {s['cr/torch']:>8.3f} {s['cr/torch same-round']:>10.3f}")
        print(f"{'':<14} {'gemm floor':<11} {fmt_time(med['gemm floor']):>11} {s['cr/floor']:>8.3f} "
              f"{s['cr/floor same-round']:>10.3f} {s['floor/torch']:>10.3f}")
    set_threads(default_threads)
    load_end = os.getloadavg()
    print(load_average("at the end"))
    elapsed = time.perf_counter() - t_start
    print(f"\ndone in {elapsed:.1f} s")
    if args.save:
        record = {
            "benchmark": "benchmarks/bench_resnet.py",
            "command": "python benchmarks/bench_resnet.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "commit": commit,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine,
            "cores": os.cpu_count(),
            "loadavg_start": list(load_start),
            "loadavg_end": list(load_end),
            "workload": (f"two BasicBlocks ({WIDTHS[0]} -> {WIDTHS[0]}, {WIDTHS[0]} -> {WIDTHS[1]} stride 2) after a "
                         f"conv3x3-BN-ReLU stem, BatchNorm2d, on {BATCH} x {'x'.join(map(str, SHAPE))}, "
                         "SGD momentum 0.9, float32"),
            "rounds": rounds,
            "checks": {"float64 largest gradient relative error": checks["float64"],
                       "float32 largest gradient relative error": checks["float32"]},
            "threads": settings,
            "seconds": elapsed,
        }
        with open(args.save, "w") as f:
            json.dump(record, f, indent=1)
            f.write("\n")
        print(f"results written to {args.save}")
    return settings


if __name__ == "__main__":
    main()
