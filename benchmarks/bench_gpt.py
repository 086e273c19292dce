"""Benchmark one GPT training step: chainrule vs PyTorch CPU eager, same process.

Workload: examples/gpt.py's default model - vocabulary 99 characters, context 64, 4 blocks of
4-head causal self-attention and a 128 -> 512 -> 128 GELU MLP (pre-LayerNorm), n_embd 128,
tied read-out, 0.81 M parameters - on a batch of 32 windows of 64 tokens, float32.
One step = forward, cross-entropy over the 2,048 positions, zero_grad, backward,
clip_grad_norm_(1.0), AdamW step (weight decay on the matrices) and the LambdaLR step.
PyTorch runs the same model (torch.nn.MultiheadAttention with a causal attn_mask; the state
dict moves across) from the same weights. The contenders run interleaved round by round (in
a rotating order) with the GEMM floor (the step's matrix products alone, ``GemmFloor``); the
table gives each one's median time per step, the ratio of the medians (chainrule / this row)
and the median of same-round ratios. Before timing, chainrule's loss and every gradient are
checked against PyTorch's over three optimiser steps (float64 to 1e-9, float32 to 1e-4/1e-2).

Usage:
    python benchmarks/bench_gpt.py              # checks, then 15 timing rounds
    python benchmarks/bench_gpt.py --quick      # smoke run for CI: the checks, 2 short rounds
    python benchmarks/bench_gpt.py --threads 1  # PyTorch and NumPy's BLAS both on one thread
    python benchmarks/bench_gpt.py --gelu tanh  # both models with GPT-2's tanh GELU instead
    python benchmarks/bench_gpt.py --modules    # also: where chainrule's step spends its time
    python benchmarks/bench_gpt.py --baseline REV  # also chainrule and examples/gpt.py as of git revision REV
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "examples"))
from bench_training_step import (Contender, TorchBatch, fmt_time, import_baseline, interleaved_times,  # noqa: E402
                                 load_average, start_run)
import gpt  # noqa: E402  (examples/gpt.py)

import chainrule  # noqa: E402
from chainrule import nn, optim  # noqa: E402

try:
    import torch
except ImportError:
    torch = None

TARGETS = {None: 1.6, 1: 1.2}  # chainrule / PyTorch (float32): default threads, one thread
SIZE = dict(vocab_size=99, block_size=64, n_layer=4, n_head=4, n_embd=128)  # gpt.py's defaults
BATCH = 32
CHECK_SIZE = dict(vocab_size=13, block_size=8, n_layer=2, n_head=2, n_embd=16)


def make_batch(size, batch, seed=1):
    rng = np.random.default_rng(seed)
    shape = (batch, size["block_size"])
    return rng.integers(0, size["vocab_size"], shape), rng.integers(0, size["vocab_size"], shape)


def torch_gpt(size, dtype, gelu="none"):
    """The same GPT in PyTorch, parameter names as examples/gpt.py's."""
    tnn = torch.nn
    E, H = size["n_embd"], size["n_head"]

    class Block(tnn.Module):
        def __init__(self):
            super().__init__()
            self.ln1 = tnn.LayerNorm(E, dtype=dtype)
            self.attn = tnn.MultiheadAttention(E, H, batch_first=True, dtype=dtype)
            self.ln2 = tnn.LayerNorm(E, dtype=dtype)
            self.mlp = tnn.Sequential(tnn.Linear(E, 4 * E, dtype=dtype), tnn.GELU(approximate=gelu), tnn.Linear(4 * E, E, dtype=dtype))

        def forward(self, x, mask):
            h = self.ln1(x)
            x = x + self.attn(h, h, h, need_weights=False, attn_mask=mask)[0]
            return x + self.mlp(self.ln2(x))

    class GPT(tnn.Module):
        def __init__(self):
            super().__init__()
            self.tok_emb = tnn.Embedding(size["vocab_size"], E, dtype=dtype)
            self.pos_emb = tnn.Embedding(size["block_size"], E, dtype=dtype)
            self.blocks = tnn.ModuleList([Block() for _ in range(size["n_layer"])])
            self.ln_f = tnn.LayerNorm(E, dtype=dtype)
            self.head = tnn.Linear(E, size["vocab_size"], bias=False, dtype=dtype)
            self.head.weight = self.tok_emb.weight

        def forward(self, idx):
            T = idx.shape[1]
            mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
            x = self.tok_emb(idx) + self.pos_emb(torch.arange(T))
            for block in self.blocks:
                x = block(x, mask)
            return self.head(self.ln_f(x))

    return GPT()


class ChainruleStep(Contender):
    """examples/gpt.py's training step (``lib``, ``example``: the chainrule package and the
    example module to use, this tree's or a --baseline revision's)."""

    def __init__(self, size, dtype, seed=0, gelu="none", lib=chainrule, example=gpt):
        self.nn = lib.nn
        self.model = example.GPT(**size, dtype=dtype, rng=np.random.default_rng(seed))
        for block in self.model.blocks:  # gpt.py's MLP is Linear -> GELU() -> Linear
            block.mlp[1] = lib.nn.GELU(approximate=gelu)
        self.loss_fn = lib.nn.CrossEntropyLoss()
        self.opt = lib.optim.AdamW(example.param_groups(self.model, 0.1), lr=3e-3, betas=(0.9, 0.99))
        self.sched = lib.optim.lr_scheduler.LambdaLR(self.opt, example.lr_lambda(100, 10_000))

    def forward_backward(self, x, y):
        logits = self.model(x)
        loss = self.loss_fn(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        self.opt.zero_grad()
        self.model.backward(self.loss_fn.backward().reshape(logits.shape))
        self.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        return loss

    def grads(self):
        return {name: p.grad for name, p in self.model.named_parameters()}


class TorchStep(TorchBatch):
    def __init__(self, size, dtype, ours, gelu="none"):
        self.model = torch_gpt(size, torch.float32 if dtype == np.float32 else torch.float64, gelu)
        self.model.load_state_dict({k: torch.from_numpy(v) for k, v in ours.model.state_dict().items()})
        named = dict(self.model.named_parameters())
        names = {id(p): name for name, p in ours.model.named_parameters()}
        groups = [{"params": [named[names[id(p)]] for p in g["params"]], "weight_decay": g["weight_decay"]}
                  for g in ours.opt.param_groups]
        self.opt = torch.optim.AdamW(groups, lr=3e-3, betas=(0.9, 0.99))
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, gpt.lr_lambda(100, 10_000))

    def forward_backward(self, x, y):
        tx, ty = self._tensors(x, y.reshape(-1))
        self.opt.zero_grad()
        logits = self.model(tx)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), ty)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        return loss.item()

    def grads(self):
        return {name: p.grad.numpy() for name, p in self.model.named_parameters()}


def build(size, dtype, seed=0, gelu="none"):
    ours = ChainruleStep(size, dtype, seed, gelu)
    return {"chainrule": ours, "torch": TorchStep(size, dtype, ours, gelu)}


def check(size, dtype, gelu="none"):
    """Loss and every gradient equal PyTorch's over three steps (the update checked at the next step)."""
    x, y = make_batch(size, 4)
    c = build(size, dtype, gelu=gelu)
    tol = 1e-4 if dtype == np.float32 else 1e-9
    for step in range(3):
        losses = [c[k].forward_backward(x, y) for k in ("chainrule", "torch")]
        np.testing.assert_allclose(*losses, rtol=tol, err_msg=f"{np.dtype(dtype)}: loss at step {step}")
        theirs = c["torch"].grads()
        for name, g in c["chainrule"].grads().items():
            err = np.linalg.norm(g - theirs[name]) / (np.linalg.norm(theirs[name]) or 1.0)
            if not err <= (1e-2 if dtype == np.float32 else 1e-9):
                raise AssertionError(f"{np.dtype(dtype)}: gradient of {name} at step {step}: relative error {err:.2e}")
        for k in c:
            c[k].opt.step()
            c[k].sched.step()


class GemmFloor:
    """The step's matrix products alone, into preallocated outputs (operands of arbitrary values).
    Per block: the four Linears (in_proj E -> 3E, out_proj, the MLP's E -> 4E -> E), each
    ``h @ W.T`` forward, ``delta.T @ h`` and ``delta @ W`` backward; the attention's batched
    ``Q @ K^T`` and ``P @ V`` over (N H) heads, and their four backward products; then the
    read-out (E -> vocabulary), whose input gradient is needed too."""

    def __init__(self, size, batch, dtype=np.float32):
        rng = np.random.default_rng(0)
        E, T, H, V = size["n_embd"], size["block_size"], size["n_head"], size["vocab_size"]
        M, B, d = batch * T, batch * H, E // H

        def r(*shape):
            return rng.standard_normal(shape).astype(dtype)

        def linear(n_in, n_out):
            W, h, delta = r(n_out, n_in), r(M, n_in), r(M, n_out)
            return [(h, W.T, r(M, n_out))], [(delta.T, h, r(n_out, n_in)), (delta, W, r(M, n_in))]

        def attention():
            Q, K, Vv, P, dO, dS = r(B, T, d), r(B, T, d), r(B, T, d), r(B, T, T), r(B, T, d), r(B, T, T)
            forward = [(Q, K.transpose(0, 2, 1), r(B, T, T)), (P, Vv, r(B, T, d))]
            backward = [(dO, Vv.transpose(0, 2, 1), r(B, T, T)), (P.transpose(0, 2, 1), dO, r(B, T, d)),
                        (dS, K, r(B, T, d)), (dS.transpose(0, 2, 1), Q, r(B, T, d))]
            return forward, backward

        self.layers = []
        for _ in range(size["n_layer"]):
            self.layers += [linear(E, 3 * E), attention(), linear(E, E), linear(E, 4 * E), linear(4 * E, E)]
        self.layers.append(linear(E, V))

    def step(self, x=None, y=None) -> None:
        for forward, _ in self.layers:
            for a, b, out in forward:
                np.matmul(a, b, out=out)
        for _, backward in reversed(self.layers):
            for a, b, out in backward:
                np.matmul(a, b, out=out)


def import_baseline_example(rev, lib):
    """examples/gpt.py as of git revision ``rev``, importing ``lib`` (chainrule at ``rev``, from
    ``import_baseline``) where it imports chainrule, so the whole example runs as it was."""
    import importlib
    import re
    import subprocess

    source = subprocess.run(["git", "show", f"{rev}:examples/gpt.py"], cwd=os.path.dirname(HERE), check=True,
                            capture_output=True, text=True).stdout
    source = re.sub(r"^(\s*)(import|from) chainrule\b", rf"\1\2 {lib.__name__}", source, flags=re.M)
    name = "gpt_at_" + lib.__name__.removeprefix("chainrule_at_")
    with open(os.path.join(os.path.dirname(os.path.dirname(lib.__file__)), name + ".py"), "w") as file:
        file.write(source)
    return importlib.import_module(name)


def bench(rounds, block_seconds, gelu="none", baseline=None):
    x, y = make_batch(SIZE, BATCH)
    c = build(SIZE, np.float32, gelu=gelu)
    steps = {k: c[k].step for k in c}
    steps["gemm floor"] = GemmFloor(SIZE, BATCH).step
    if baseline is not None:
        label, lib, example = baseline
        steps[label] = ChainruleStep(SIZE, np.float32, gelu=gelu, lib=lib, example=example).step
    return interleaved_times(steps, x, y, rounds, block_seconds, warm_steps=1)


@contextlib.contextmanager
def timed_methods(classes, totals):
    """Add each call's wall time of ``cls.forward`` / ``cls.backward`` to ``totals[(cls, method)]``
    while the block runs. Times are inclusive: SelfAttention's include its out_proj Linear."""
    saved = []
    for cls in classes:
        for method in ("forward", "backward"):
            original = cls.__dict__[method]

            def timed(self, *args, _original=original, _key=(cls.__name__, method), **kwargs):
                start = time.perf_counter()
                try:
                    return _original(self, *args, **kwargs)
                finally:
                    totals[_key] += time.perf_counter() - start
            saved.append((cls, method, original))
            setattr(cls, method, timed)
    try:
        yield totals
    finally:
        for cls, method, original in saved:
            setattr(cls, method, original)


def module_table(steps, gelu="none"):
    """chainrule's step split by module class (inclusive wall times, ms per step, median-free:
    the mean over ``steps`` steps after two warm-up steps), the rest of the step after them."""
    x, y = make_batch(SIZE, BATCH)
    ours = ChainruleStep(SIZE, np.float32, gelu=gelu)
    for _ in range(2):
        ours.step(x, y)
    classes = [nn.Embedding, nn.LayerNorm, nn.SelfAttention, nn.Linear, nn.GELU, nn.CrossEntropyLoss]
    totals = collections.defaultdict(float)
    start = time.perf_counter()
    with timed_methods(classes, totals):
        for _ in range(steps):
            ours.step(x, y)
    whole = (time.perf_counter() - start) / steps
    lines = [f"{'module':<18} {'forward':>9} {'backward':>9}   (ms per step, inclusive; mean of {steps} steps)"]
    for cls in classes:
        name = cls.__name__
        lines.append(f"{name:<18} {1e3 * totals[(name, 'forward')] / steps:>9.2f} "
                     f"{1e3 * totals[(name, 'backward')] / steps:>9.2f}")
    lines.append(f"whole step {1e3 * whole:.1f} ms; Linear's times include the 4 out_proj calls "
                 "that SelfAttention's also contain")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: the checks, 2 short rounds")
    parser.add_argument("--rounds", type=int, default=None, help="timing rounds (default 15)")
    parser.add_argument("--threads", type=int, default=2, help="PyTorch's threads and NumPy's BLAS threads (default 2)")
    parser.add_argument("--gelu", choices=("none", "tanh"), default="none",
                        help="the GELU of both models: 'none' (exact, gpt.py's) or 'tanh' (GPT-2's) (default none)")
    parser.add_argument("--baseline", default=None, metavar="REV",
                        help="also time chainrule and examples/gpt.py as of git revision REV (default off)")
    parser.add_argument("--modules", action="store_true",
                        help="also time chainrule's step module by module (default off)")
    args = parser.parse_args(argv)
    if torch is None:
        raise SystemExit("bench_gpt.py compares with PyTorch: install torch")
    t_start = start_run(args.threads, torch)

    print("\nChecks (chainrule vs PyTorch, loss and every gradient over 3 AdamW steps, "
          f"GPT {CHECK_SIZE}, batch 4):")
    for dtype in (np.float64, np.float32):
        check(CHECK_SIZE, dtype, args.gelu)
        print(f"  {np.dtype(dtype).name:<8} equal")

    n_params = sum(p.numel() for p in ChainruleStep(SIZE, np.float32).model.parameters())
    rounds = args.rounds or (2 if args.quick else 15)
    print(f"\nTiming: one training step of the GPT {SIZE} ({n_params:,} parameters, tied read-out), "
          f"batch {BATCH} x {SIZE['block_size']}, float32, GELU approximate={args.gelu!r}, "
          f"{args.threads} thread(s), median of {rounds} interleaved rounds")
    header = f"{'contender':<10} {'median':>11} {'cr/this':>9} {'same-round':>10} {'target':>9}"
    print(header)
    print("-" * len(header))
    baseline = None
    if args.baseline:
        lib = import_baseline(args.baseline)
        baseline = (f"cr@{args.baseline[:7]}", lib, import_baseline_example(args.baseline, lib))
    times = bench(rounds, 0.01 if args.quick else 1.0, args.gelu, baseline)
    med = {k: statistics.median(ts) for k, ts in times.items()}
    ratio = med["chainrule"] / med["torch"]
    same_round = statistics.median(a / b for a, b in zip(times["chainrule"], times["torch"]))
    target = TARGETS[1 if args.threads == 1 else None]
    mark = f"<={target:.1f} " + ("ok" if ratio <= target else "MISS")
    print(f"{'chainrule':<10} {fmt_time(med['chainrule']):>11}")
    print(f"{'torch':<10} {fmt_time(med['torch']):>11} {ratio:>9.3f} {same_round:>10.3f} {mark:>9}")
    floor_same = statistics.median(a / b for a, b in zip(times["chainrule"], times["gemm floor"]))
    print(f"{'gemm floor':<10} {fmt_time(med['gemm floor']):>11} {med['chainrule'] / med['gemm floor']:>9.3f} {floor_same:>10.3f}")
    if baseline is not None:
        label = baseline[0]
        base_same = statistics.median(a / b for a, b in zip(times["chainrule"], times[label]))
        print(f"{label:<10} {fmt_time(med[label]):>11} {med['chainrule'] / med[label]:>9.3f} {base_same:>10.3f}"
              f"   (this tree is {med[label] / med['chainrule']:.2f}x as fast)")
    if args.modules:
        print("\nchainrule's step by module:")
        for line in module_table(2 if args.quick else 10, args.gelu):
            print("  " + line)
    print(load_average("at the end"))
    print(f"\ndone in {time.perf_counter() - t_start:.1f} s")
    return ratio


if __name__ == "__main__":
    main()
