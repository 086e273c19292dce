"""Benchmark recurrent training steps: chainrule vs PyTorch CPU eager, same process.

Workloads (one step = forward, cross-entropy, zero_grad, backpropagation through time, Adam):
  "MNIST-1D GRU"  examples/mnist1d.py's GRU row: a bidirectional GRU(1 -> 6) over 40 time
                  steps, its whole output (40 x 12) flattened into Linear(480, 10); batch 100.
  "LSTM 2x128"    a two-layer LSTM(64 -> 128) over 50 time steps, the last step's output into
                  Linear(128, 10); batch 32.
PyTorch runs the same model from the same weights (state dicts move across). Before timing,
the loss and every gradient are checked against PyTorch's (float64, 1e-9 relative). The
contenders run interleaved round by round with the GEMM floor (the step's matrix products
alone, ``GemmFloor``); the table gives each one's median time per step, the ratios of the
medians and the medians of same-round ratios. No target is set for
these: the numbers say where the loop over time leaves chainrule.

Usage:
    python benchmarks/bench_rnn.py              # checks, then 9 timing rounds per workload
    python benchmarks/bench_rnn.py --quick      # smoke run: the checks, 2 short rounds
    python benchmarks/bench_rnn.py --threads 1  # PyTorch and NumPy's BLAS both on one thread
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_training_step import Contender, TorchBatch, fmt_time, interleaved_times, load_average, start_run  # noqa: E402

from chainrule import nn, optim  # noqa: E402

try:
    import torch
except ImportError:
    torch = None

# name: (kind, input_size, hidden_size, layers, bidirectional, time steps, batch, head reads)
WORKLOADS = {
    "MNIST-1D GRU": ("GRU", 1, 6, 1, True, 40, 100, "all"),
    "LSTM 2x128": ("LSTM", 64, 128, 2, False, 50, 32, "last"),
}
CLASSES = 10


class ChainruleStep(Contender):
    def __init__(self, spec, dtype, seed=0):
        kind, n_in, hidden, layers, bidirectional, length, _, self.reads = spec
        rng = np.random.default_rng(seed)
        self.rnn = getattr(nn, kind)(n_in, hidden, num_layers=layers, bidirectional=bidirectional,
                                     batch_first=True, dtype=dtype, rng=rng)
        width = hidden * (2 if bidirectional else 1)
        self.head = nn.Linear(width * (length if self.reads == "all" else 1), CLASSES, dtype=dtype, rng=rng)
        self.rnn.needs_input_grad = False  # its input is data, as PyTorch's x without requires_grad
        self.loss_fn = nn.CrossEntropyLoss()
        self.params = list(self.rnn.parameters()) + list(self.head.parameters())
        self.opt = optim.Adam(self.params, lr=1e-2)

    def forward_backward(self, x, y):
        out, _ = self.rnn(x)                                         # (N, L, width)
        features = out.reshape(len(x), -1) if self.reads == "all" else out[:, -1]
        loss = self.loss_fn(self.head(features), y)
        self.opt.zero_grad()
        grad_features = self.head.backward(self.loss_fn.backward())
        if self.reads == "all":
            grad_out = grad_features.reshape(out.shape)
        else:                                                        # only the last step was read
            grad_out = np.zeros_like(out)
            grad_out[:, -1] = grad_features
        self.rnn.backward(grad_out)
        return loss

    def grads(self):
        named = list(self.rnn.named_parameters()) + [("head." + k, p) for k, p in self.head.named_parameters()]
        return {k: p.grad for k, p in named}


class TorchStep(TorchBatch):
    def __init__(self, spec, dtype, ours):
        kind, n_in, hidden, layers, bidirectional, length, _, self.reads = spec
        tdtype = torch.float32 if dtype == np.float32 else torch.float64
        self.rnn = getattr(torch.nn, kind)(n_in, hidden, num_layers=layers, bidirectional=bidirectional,
                                           batch_first=True, dtype=tdtype)
        self.head = torch.nn.Linear(ours.head.in_features, CLASSES, dtype=tdtype)
        for module, source in ((self.rnn, ours.rnn), (self.head, ours.head)):
            module.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in source.state_dict().items()})
        self.opt = torch.optim.Adam(list(self.rnn.parameters()) + list(self.head.parameters()), lr=1e-2)

    def forward_backward(self, x, y):
        tx, ty = self._tensors(x, y)
        self.opt.zero_grad()
        out, _ = self.rnn(tx)
        features = out.reshape(len(x), -1) if self.reads == "all" else out[:, -1]
        loss = torch.nn.functional.cross_entropy(self.head(features), ty)
        loss.backward()
        return loss.item()

    def grads(self):
        named = list(self.rnn.named_parameters()) + [("head." + k, p) for k, p in self.head.named_parameters()]
        return {k: p.grad.numpy() for k, p in named}


class GemmFloor:
    """The step's matrix products alone, into preallocated outputs (operands of arbitrary values).
    Per layer and direction: the input projection of every time step as one GEMM
    ``X @ W_ih.T`` (T N rows), then ``h @ W_hh.T`` step by step; backward, ``dG.T @ X`` and
    ``dG.T @ H`` (the two weight gradients, one GEMM each over all steps), ``dG @ W_ih`` (the
    input's gradient; not for the first layer, whose input is data) and ``dG_t @ W_hh`` step by
    step; then the head's three products."""

    def __init__(self, spec, dtype=np.float32):
        kind, n_in, hidden, layers, bidirectional, length, batch, reads = spec
        rng = np.random.default_rng(0)
        G = {"RNN": 1, "GRU": 3, "LSTM": 4}[kind] * hidden
        dirs = 2 if bidirectional else 1

        def r(*shape):
            return rng.standard_normal(shape).astype(dtype)

        self.forward, self.backward = [], []
        for layer in range(layers):
            width = n_in if layer == 0 else hidden * dirs
            for _ in range(dirs):
                X, W_ih, W_hh, dG, H = r(length * batch, width), r(G, width), r(G, hidden), r(length * batch, G), r(length * batch, hidden)
                self.forward.append([(X, W_ih.T, r(length * batch, G))]
                                    + [(H[t * batch:(t + 1) * batch], W_hh.T, r(batch, G)) for t in range(length)])
                self.backward.append([(dG.T, X, r(G, width)), (dG.T, H, r(G, hidden))]
                                     + ([] if layer == 0 else [(dG, W_ih, r(length * batch, width))])
                                     + [(dG[t * batch:(t + 1) * batch], W_hh, r(batch, hidden)) for t in range(length)])
        n_head = hidden * dirs * (length if reads == "all" else 1)
        h, W, delta = r(batch, n_head), r(CLASSES, n_head), r(batch, CLASSES)
        self.forward.append([(h, W.T, r(batch, CLASSES))])
        self.backward.append([(delta.T, h, r(CLASSES, n_head)), (delta, W, r(batch, n_head))])

    def step(self, x=None, y=None) -> None:
        for products in self.forward:
            for a, b, out in products:
                np.matmul(a, b, out=out)
        for products in reversed(self.backward):
            for a, b, out in products:
                np.matmul(a, b, out=out)


def make_batch(spec, dtype, seed=1):
    _, n_in, _, _, _, length, batch, _ = spec
    rng = np.random.default_rng(seed)
    return rng.standard_normal((batch, length, n_in)).astype(dtype), rng.integers(0, CLASSES, batch)


def check(spec):
    """float64: loss and every gradient equal PyTorch's over three Adam steps."""
    x, y = make_batch(spec, np.float64)
    ours = ChainruleStep(spec, np.float64)
    theirs = TorchStep(spec, np.float64, ours)
    for step in range(3):
        np.testing.assert_allclose(ours.forward_backward(x, y), theirs.forward_backward(x, y), rtol=1e-9,
                                   err_msg=f"loss at step {step}")
        expected = theirs.grads()
        for name, g in ours.grads().items():
            err = np.linalg.norm(g - expected[name]) / (np.linalg.norm(expected[name]) or 1.0)
            if not err <= 1e-9:
                raise AssertionError(f"gradient of {name} at step {step}: relative error {err:.2e}")
        ours.opt.step()
        theirs.opt.step()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run: the checks, 2 short rounds")
    parser.add_argument("--rounds", type=int, default=9, help="timing rounds per workload")
    parser.add_argument("--threads", type=int, default=2, help="PyTorch's threads and NumPy's BLAS threads")
    args = parser.parse_args(argv)
    if torch is None:
        raise SystemExit("bench_rnn.py compares with PyTorch: install torch (pip install torch==2.13.0, the CPU build)")
    t_start = start_run(args.threads, torch)
    rounds = 2 if args.quick else args.rounds
    header = (f"{'workload':<14} {'chainrule':>11} {'torch':>11} {'cr/torch':>9} {'same-round':>10}"
              f" {'gemm floor':>11} {'cr/floor':>9} {'same-round':>10}")
    print(f"\nOne training step (float32; checked first in float64 against PyTorch), "
          f"median of {rounds} interleaved rounds:")
    print(header)
    print("-" * len(header))
    ratios = {}
    for name, spec in WORKLOADS.items():
        check(spec)
        x, y = make_batch(spec, np.float32)
        ours = ChainruleStep(spec, np.float32)
        steps = {"chainrule": ours.step, "torch": TorchStep(spec, np.float32, ours).step,
                 "gemm floor": GemmFloor(spec).step}
        times = interleaved_times(steps, x, y, rounds, 0.01 if args.quick else 0.5)
        med = {k: statistics.median(ts) for k, ts in times.items()}
        ratios[name] = med["chainrule"] / med["torch"]
        same_round = statistics.median(a / b for a, b in zip(times["chainrule"], times["torch"]))
        floor_same = statistics.median(a / b for a, b in zip(times["chainrule"], times["gemm floor"]))
        print(f"{name:<14} {fmt_time(med['chainrule']):>11} {fmt_time(med['torch']):>11} "
              f"{ratios[name]:>9.3f} {same_round:>10.3f} {fmt_time(med['gemm floor']):>11} "
              f"{med['chainrule'] / med['gemm floor']:>9.3f} {floor_same:>10.3f}")
    print(load_average("at the end"))
    print(f"\ndone in {time.perf_counter() - t_start:.1f} s")
    return ratios


if __name__ == "__main__":
    main()
