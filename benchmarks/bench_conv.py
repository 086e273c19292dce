"""Benchmark one CNN training step: chainrule vs PyTorch CPU eager (2 threads), same process.

Workloads:
  (a) "MNIST-1D CNN": input (100, 1, 40); Conv1d(1, 25, 5, stride=2, padding=1), ReLU,
      Conv1d(25, 25, 3, stride=2, padding=1), ReLU, Conv1d(25, 25, 3, stride=2, padding=1), ReLU,
      Flatten (125), Linear(125, 10); cross-entropy; Adam lr 1e-2.
  (b) "2-D CNN": input (64, 3, 32, 32); Conv2d(3, 32, 3, padding=1), ReLU, MaxPool2d(2),
      Conv2d(32, 64, 3, padding=1), ReLU, MaxPool2d(2), Flatten, Linear(64*8*8, 10);
      cross-entropy; SGD lr 0.01, momentum 0.9.

One step = forward, loss, zero_grad, backward, optimiser step. The two contenders start from
the same weights and run interleaved round by round (in a rotating order) with the GEMM floor
(the step's matrix products alone: each convolution as im2col GEMMs, see ``GemmFloor``); the
table gives each one's median time per step, the ratio of the medians (chainrule / this row)
and the median of same-round ratios. Before timing, chainrule's loss and gradients are checked against PyTorch's over
three steps (float64 to 1e-9, float32 to float32 tolerance).

Usage:
    python benchmarks/bench_conv.py             # checks, then 21 timing rounds per workload
    python benchmarks/bench_conv.py --quick     # smoke run for CI: the checks, 2 short rounds
    python benchmarks/bench_conv.py --variants  # the implementation choices, layer by layer
    python benchmarks/bench_conv.py --variants pool   # only max-pooling's (or: conv)
    python benchmarks/bench_conv.py --threads 1 # PyTorch and NumPy's BLAS both on one thread
    python benchmarks/bench_conv.py --layers    # chainrule's step, module by module

``--variants`` times, on every conv layer of the two workloads, the forward as im2col + one
GEMM per sample (what ``Conv`` does) against im2col into a single GEMM (columns = samples x
positions, the output transposed back to (N, C, ...)) and ``einsum`` straight on the
``sliding_window_view``, and the input gradient as the windows' adjoint (``add_windows``, what
``Conv`` does) against the full convolution of the stride-dilated delta with the flipped kernel.
Then, on every max-pool layer of the workloads (the 2-D CNN's two ``MaxPool2d(2)``; the
MNIST-1D CNN has none), ``MaxPool``'s slab scan (``max_pool_nd`` and its backward) against the
plain reading, "the arg-max of each window, delta routed to it": the windows copied to
``(N, C, *out, K)``, ``np.argmax`` over ``K`` and ``take_along_axis``, its backward either the
windows' adjoint (``add_windows``) of a one-hot or ``np.add.at`` on the arg-maxes' flat indices;
and the 2-D CNN's whole chainrule step with each of the two (interleaved rounds).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_training_step import Contender, TorchModelStep, fmt_time, interleaved_times, load_average, start_run, time_block  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule import nn, optim  # noqa: E402
from chainrule.nn import pooling  # noqa: E402
from chainrule.nn.conv import add_windows, conv_nd_backward, crop, kernel_offsets, pad, windows  # noqa: E402

try:
    import torch
except ImportError:  # the checks and the comparison need it; --variants does not
    torch = None

# chainrule / PyTorch per workload (float32): at PyTorch's default thread count and, where set, at one thread
TARGETS = {"MNIST-1D CNN b100": {None: 1.0}, "2-D CNN b64": {None: 2.0, 1: 1.3}}


class Reshape(nn.Module):
    """(N, ...) -> (N, -1), for a chainrule without nn.Flatten."""

    def forward(self, x):
        self.save_for_backward(x.shape)
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_output):
        (shape,) = self.saved_tensors
        return grad_output.reshape(shape)


def flatten():
    return nn.Flatten() if hasattr(nn, "Flatten") else Reshape()


def mnist1d_cnn(lib, dtype):
    """The layers of workload (a) in ``lib`` (chainrule's nn or torch.nn): same order, same keys."""
    kw = {"dtype": dtype}
    return [lib.Conv1d(1, 25, 5, stride=2, padding=1, **kw), lib.ReLU(),
            lib.Conv1d(25, 25, 3, stride=2, padding=1, **kw), lib.ReLU(),
            lib.Conv1d(25, 25, 3, stride=2, padding=1, **kw), lib.ReLU(),
            flatten() if lib is nn else lib.Flatten(), lib.Linear(125, 10, **kw)]


def cnn_2d(lib, dtype):
    kw = {"dtype": dtype}
    return [lib.Conv2d(3, 32, 3, padding=1, **kw), lib.ReLU(), lib.MaxPool2d(2),
            lib.Conv2d(32, 64, 3, padding=1, **kw), lib.ReLU(), lib.MaxPool2d(2),
            flatten() if lib is nn else lib.Flatten(), lib.Linear(64 * 8 * 8, 10, **kw)]


# name, layers, input shape, optimiser (name, keyword arguments)
WORKLOADS = [
    ("MNIST-1D CNN b100", mnist1d_cnn, (100, 1, 40), ("Adam", {"lr": 1e-2})),
    ("2-D CNN b64", cnn_2d, (64, 3, 32, 32), ("SGD", {"lr": 0.01, "momentum": 0.9})),
]


def make_batch(shape, dtype, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape).astype(dtype), rng.integers(0, 10, shape[0]).astype(np.int64)


class ChainruleStep(Contender):
    def __init__(self, layers, dtype, optimiser):
        self.model = nn.Sequential(*layers(nn, dtype))
        self.model[0].needs_input_grad = False  # the input is data: no dC/dx, as PyTorch skips it
        self.loss_fn = nn.CrossEntropyLoss()
        name, kwargs = optimiser
        self.opt = getattr(optim, name)(self.model.parameters(), **kwargs)

    def forward_backward(self, x, y):
        loss = self.loss_fn(self.model(x), y)
        self.opt.zero_grad()
        self.model.backward(self.loss_fn.backward())
        return loss

    def grads(self):
        return [p.grad for p in self.model.parameters()]


class TorchStep(TorchModelStep):
    def __init__(self, layers, dtype, optimiser, state_dict):
        self.model = torch.nn.Sequential(*layers(torch.nn, torch.float32 if dtype == np.float32 else torch.float64))
        self.model.load_state_dict({k: torch.from_numpy(v) for k, v in state_dict.items()})
        self.loss_fn = torch.nn.CrossEntropyLoss()
        name, kwargs = optimiser
        self.opt = getattr(torch.optim, name)(self.model.parameters(), **kwargs)

    def grads(self):
        return [p.grad.numpy() for p in self.model.parameters()]


def build(layers, dtype, optimiser, seed=0):
    cr.manual_seed(seed)
    ours = ChainruleStep(layers, dtype, optimiser)
    return {"chainrule": ours, "torch": TorchStep(layers, dtype, optimiser, ours.model.state_dict())}


def check(name, layers, shape, optimiser, dtype):
    """Loss and every gradient equal PyTorch's over three steps (so the optimiser's update is
    checked too, at the next step)."""
    x, y = make_batch(shape, dtype)
    c = build(layers, dtype, optimiser)
    tol = 1e-4 if dtype == np.float32 else 1e-9
    for step in range(3):
        losses = [c[k].forward_backward(x, y) for k in ("chainrule", "torch")]
        np.testing.assert_allclose(*losses, rtol=tol, err_msg=f"{name} {np.dtype(dtype)}: loss at step {step}")
        for i, (g, gt) in enumerate(zip(c["chainrule"].grads(), c["torch"].grads(), strict=True)):
            # whole-tensor relative error: in float32 a ReLU input within rounding of 0 can flip
            # side, or a max-pool window's arg-max move to a near-tie, between two summation
            # orders (bench_training_step.py's tolerance); a wrong formula errs by O(1)
            err = np.linalg.norm(g - gt) / (np.linalg.norm(gt) or 1.0)
            if not err <= (1e-2 if dtype == np.float32 else 1e-9):
                raise AssertionError(f"{name} {np.dtype(dtype)}: gradient {i} at step {step}: relative error {err:.2e}")
        for k in c:
            c[k].opt.step()


class GemmFloor:
    """The step's matrix products alone, into preallocated outputs (operands of arbitrary values):
    per convolution, given im2col's columns (C k, N P), ``W @ cols`` (forward),
    ``delta @ cols.T`` (weight gradient) and ``W.T @ delta`` (the columns' gradient; not for the
    first layer, whose input is data), each as one GEMM over all samples and positions; per
    ``Linear``, its three products. The shapes are read off one forward of chainrule's model."""

    def __init__(self, model, x):
        rng = np.random.default_rng(0)
        dtype = x.dtype
        self.products = []  # (forward, backward) lists of (a, b, out)
        h = x
        with cr.no_grad():
            for i, module in enumerate(model):
                out = module(h)
                if isinstance(module, (nn.Conv1d, nn.Conv2d)):
                    O, K = module.weight.shape[0], int(np.prod(module.weight.shape[1:]))
                    P = out.shape[0] * int(np.prod(out.shape[2:]))
                    W, cols, delta = (rng.standard_normal(s).astype(dtype) for s in ((O, K), (K, P), (O, P)))
                    self.products.append(((W, cols, np.empty((O, P), dtype)),
                                          [(delta, cols.T, np.empty((O, K), dtype))]
                                          + ([] if i == 0 else [(W.T, delta, np.empty((K, P), dtype))])))
                elif isinstance(module, nn.Linear):
                    W = rng.standard_normal(module.weight.shape).astype(dtype)
                    hh = rng.standard_normal(h.shape).astype(dtype)
                    delta = rng.standard_normal(out.shape).astype(dtype)
                    self.products.append(((hh, W.T, np.empty(out.shape, dtype)),
                                          [(delta.T, hh, np.empty(W.shape, dtype))]
                                          + ([] if i == 0 else [(delta, W, np.empty(h.shape, dtype))])))
                h = out

    def step(self, x=None, y=None) -> None:
        for (a, b, out), _ in self.products:
            np.matmul(a, b, out=out)
        for _, backward in reversed(self.products):
            for a, b, out in backward:
                np.matmul(a, b, out=out)


def bench(layers, shape, optimiser, rounds, block_seconds):
    x, y = make_batch(shape, np.float32)
    c = build(layers, np.float32, optimiser)
    steps = {k: c[k].step for k in c}
    steps["gemm floor"] = GemmFloor(c["chainrule"].model, x).step
    return interleaved_times(steps, x, y, rounds, block_seconds, warm_steps=2)


# -- --variants: the implementation choices, timed layer by layer ------------------------------


def conv_layers():
    """(label, input shape, out_channels, kernel, stride, padding) of every conv in the workloads."""
    return [("1-D conv 1", (100, 1, 40), 25, (5,), (2,), 1), ("1-D conv 2", (100, 25, 19), 25, (3,), (2,), 1),
            ("1-D conv 3", (100, 25, 10), 25, (3,), (2,), 1),
            ("2-D conv 1", (64, 3, 32, 32), 32, (3, 3), (1, 1), 1), ("2-D conv 2", (64, 32, 16, 16), 64, (3, 3), (1, 1), 1)]


def best_time(fn, seconds=0.3):
    fn()
    n = max(1, int(0.05 / max(time_block(lambda *_: fn(), None, None, 1), 1e-7)))
    times, deadline = [], time.perf_counter() + seconds
    while len(times) < 5 or time.perf_counter() < deadline:
        times.append(time_block(lambda *_: fn(), None, None, n))
    return statistics.median(times)


def variants(which="all"):
    """The table of --variants, with the BLAS on one thread: it compares the algorithms (how many
    GEMMs of what shape, how much copying), and a single-threaded GEMM is far less disturbed by
    other processes on a shared machine than two threads that wait for each other."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        if which in ("all", "conv"):
            variants_table()
        if which in ("all", "pool"):
            pool_variants_table()


def variants_table():
    print("\nImplementation variants, float32, BLAS on 1 thread, median time per call; "
          "ratio = variant / chainrule's choice")
    header = (f"{'layer':<11} {'fwd: per-sample GEMMs':>21} {'one GEMM':>10} {'ratio':>6} {'einsum on view':>14} "
              f"{'ratio':>6}   {'dx: chosen':>10} {'per offset':>10} {'ratio':>6} {'add_windows':>11} {'ratio':>6} "
              f"{'full conv':>10} {'ratio':>6}")
    print(header)
    print("-" * len(header))
    rng = np.random.default_rng(0)
    for label, shape, out, kernel, stride, p in conv_layers():
        n = len(kernel)
        one = (1,) * n
        x = rng.standard_normal(shape).astype(np.float32)
        W = rng.standard_normal((out, shape[1], *kernel)).astype(np.float32)
        xp = pad(x, ((p, p),) * n)
        view = windows(xp, kernel, stride, one)
        N, O = shape[0], view.shape[2 + n:]
        P = math.prod(O)

        def im2col():
            return (W.reshape(1, out, -1) @ view.reshape(N, 1, -1, P)).reshape(N, out, *O)

        def one_gemm():
            cols = view.transpose(1, *range(2, 2 + n), 0, *range(2 + n, 2 + 2 * n)).reshape(-1, N * P)
            return np.ascontiguousarray((W.reshape(out, -1) @ cols).reshape(out, N, *O).swapaxes(0, 1))

        letters, positions = "abc"[:n], "xyz"[:n]

        def einsum_view():
            return np.einsum(f"nc{letters}{positions},oc{letters}->no{positions}", view, W, optimize=True)

        delta = rng.standard_normal((N, out, *O)).astype(np.float32)

        def chosen():  # chainrule's conv_nd_backward: the order of the two below that moves less memory
            return conv_nd_backward(delta, None, W, shape, stride, ((p, p),) * n, one, 1, bias=False,
                                    weight_grad=False)[0]

        def per_offset():  # W_k^T delta for each kernel offset k (one GEMM over N * P columns), added where k read
            delta_cols = delta.transpose(1, 0, *range(2, 2 + n)).reshape(out, -1)
            grad = np.zeros((shape[1], N, *xp.shape[2:]), dtype=np.float32)
            for k, read in kernel_offsets(kernel, O, stride, one):
                grad[read] += (W[(..., *k)].T @ delta_cols).reshape(shape[1], N, *O)
            return crop(grad.swapaxes(0, 1), ((p, p),) * n)

        def scatter():  # all the windows' gradients as one matrix, then added back (col2im)
            grad_cols = W.reshape(1, out, -1).transpose(0, 2, 1) @ delta.reshape(N, 1, out, P)
            return add_windows(grad_cols.reshape(N, shape[1], *kernel, *O), xp.shape, stride, one)

        def full_convolution():
            # delta with s - 1 zeros between its elements, padded by k - 1 (and to the input's
            # length), correlated with the flipped kernel whose in/out channels are swapped
            dilated = np.zeros((N, out, *((o - 1) * s + 1 for o, s in zip(O, stride))), dtype=np.float32)
            dilated[(..., *(slice(None, None, s) for s in stride))] = delta
            padded = pad(dilated, tuple((k - 1, L - d) for k, L, d in zip(kernel, xp.shape[2:], dilated.shape[2:])))
            flipped = np.flip(W, axis=tuple(range(2, 2 + n))).swapaxes(0, 1)  # (in, out, *kernel)
            cols = windows(padded, kernel, one, one).reshape(N, 1, -1, math.prod(xp.shape[2:]))
            return (flipped.reshape(1, shape[1], -1) @ cols).reshape(xp.shape)

        assert np.allclose(im2col(), einsum_view(), rtol=1e-4, atol=1e-3)
        assert np.allclose(im2col(), one_gemm(), rtol=1e-4, atol=1e-3)
        assert np.allclose(scatter(), full_convolution(), rtol=1e-4, atol=1e-3)
        assert np.allclose(crop(scatter(), ((p, p),) * n), per_offset(), rtol=1e-4, atol=1e-3)
        assert np.allclose(chosen(), per_offset(), rtol=1e-4, atol=1e-3)
        f1, f2, f3, b0, b1, b2, b3 = (best_time(f) for f in (im2col, one_gemm, einsum_view, chosen, per_offset,
                                                              scatter, full_convolution))
        print(f"{label:<11} {fmt_time(f1):>21} {fmt_time(f2):>10} {f2 / f1:>6.2f} {fmt_time(f3):>14} {f3 / f1:>6.2f}   "
              f"{fmt_time(b0):>10} {fmt_time(b1):>10} {b1 / b0:>6.2f} {fmt_time(b2):>11} {b2 / b0:>6.2f} "
              f"{fmt_time(b3):>10} {b3 / b0:>6.2f}")


# -- --variants: max-pooling, the slab scan against the plain arg-max -------------------------


def pool_layers():
    """(label, input shape, kernel, stride) of every max-pool in the workloads: the 2-D CNN's two
    MaxPool2d(2) (the MNIST-1D CNN has no pooling)."""
    return [("2-D pool 1", (64, 32, 32, 32), (2, 2), (2, 2)), ("2-D pool 2", (64, 64, 16, 16), (2, 2), (2, 2))]


def plain_max_pool_nd(xp, kernel, stride, dilation):
    """The plain reading of max-pooling: each window's arg-max, and the element there. Same
    results as ``pooling.max_pool_nd`` (the first maximum on ties, the last NaN if any, as
    PyTorch), the arg-max as an int64 array."""
    n, K = len(kernel), math.prod(kernel)
    win = windows(xp, kernel, stride, dilation)  # (N, C, *kernel, *out), a view
    N, C, out = *xp.shape[:2], win.shape[2 + n:]
    win = win.transpose(0, 1, *range(2 + n, 2 + 2 * n), *range(2, 2 + n)).reshape(N, C, *out, K)  # a copy
    argmax = np.argmax(win, axis=-1)  # the first maximum; a NaN counts as the largest (the first NaN)
    y = np.take_along_axis(win, argmax[..., np.newaxis], axis=-1)[..., 0]
    has_nan = np.isnan(y)  # PyTorch: a later NaN takes over, so the window's LAST NaN wins
    argmax[has_nan] = K - 1 - np.argmax(np.isnan(win[has_nan])[:, ::-1], axis=-1)
    return y, argmax


def plain_backward_add_windows(grad_output, argmax, padded_shape, kernel, stride, dilation):
    """delta at each window's arg-max (a one-hot over K), then the windows' adjoint."""
    n, K = len(kernel), math.prod(kernel)
    grad = grad_output[..., np.newaxis] * (argmax[..., np.newaxis] == np.arange(K))  # (N, C, *out, K)
    grad = grad.reshape(*argmax.shape, *kernel).transpose(0, 1, *range(2 + n, 2 + 2 * n), *range(2, 2 + n))
    return add_windows(grad, padded_shape, stride, dilation)


def plain_backward_add_at(grad_output, argmax, padded_shape, kernel, stride, dilation):
    """delta added at the flat index of each window's arg-max, ``np.add.at`` (overlaps add up)."""
    n = len(kernel)
    k = np.unravel_index(argmax, kernel)  # the arg-max's kernel offset on each axis
    flat = np.arange(math.prod(padded_shape[:2])).reshape(*padded_shape[:2], *(1,) * n)
    for axis, (o, s, d) in enumerate(zip(argmax.shape[2:], stride, dilation)):
        position = np.arange(o).reshape(-1, *(1,) * (n - axis - 1)) * s + k[axis] * d  # o s + k d
        flat = flat * padded_shape[2 + axis] + position
    grad = np.zeros(math.prod(padded_shape), dtype=grad_output.dtype)
    np.add.at(grad, flat.ravel(), grad_output.ravel())
    return grad.reshape(padded_shape)


def check_plain_pool():
    """The plain version gives the scan's numbers, with ties, NaNs, padding and overlaps."""
    rng = np.random.default_rng(0)
    for kernel, stride, dilation, shape, p in [((2, 2), (2, 2), (1, 1), (2, 3, 6, 7), 0),
                                               ((3, 3), (2, 1), (1, 2), (2, 3, 9, 8), 1), ((3,), (1,), (1,), (3, 2, 9), 1)]:
        x = np.round(rng.standard_normal(shape) * 2)  # many ties
        x[rng.random(shape) < 0.15] = np.nan  # windows with one NaN and windows with several
        xp = pad(x, ((p, p),) * len(kernel), value=-np.inf)
        y0, a0 = pooling.max_pool_nd(xp, kernel, stride, dilation)
        y1, a1 = plain_max_pool_nd(xp, kernel, stride, dilation)
        assert np.array_equal(y0, y1, equal_nan=True) and np.array_equal(a0, a1), (kernel, shape)
        delta = rng.standard_normal(y0.shape)
        g0 = pooling.max_pool_nd_backward(delta, a0, xp.shape, kernel, stride, dilation)
        for backward in (plain_backward_add_windows, plain_backward_add_at):
            assert np.allclose(g0, backward(delta, a1, xp.shape, kernel, stride, dilation), rtol=1e-12, atol=0)


class PlainPoolStep(ChainruleStep):
    """chainrule's step with MaxPool's maths swapped for the plain arg-max (``backward`` the
    faster of the two plain ones), for the duration of each step."""

    def __init__(self, layers, dtype, optimiser, backward):
        super().__init__(layers, dtype, optimiser)
        self.backward = backward

    def step(self, x, y):
        scan = pooling.max_pool_nd, pooling.max_pool_nd_backward
        pooling.max_pool_nd, pooling.max_pool_nd_backward = plain_max_pool_nd, self.backward
        try:
            return super().step(x, y)
        finally:
            pooling.max_pool_nd, pooling.max_pool_nd_backward = scan


def pool_variants_table(rounds=9, block_seconds=0.3):
    check_plain_pool()
    print("\nMax-pooling, float32: the slab scan (chainrule's choice) against the plain arg-max; "
          "ratio = plain / scan")
    header = (f"{'layer':<11} {'fwd: scan':>10} {'argmax':>10} {'ratio':>6}   {'bwd: scan':>10} {'add_windows':>11} "
              f"{'ratio':>6} {'add.at':>10} {'ratio':>6}   {'fwd+bwd: scan':>13} {'plain':>10} {'ratio':>6}")
    print(header)
    print("-" * len(header))
    rng = np.random.default_rng(0)
    sums = {"scan": 0.0, "add_windows": 0.0, "add.at": 0.0}
    for label, shape, kernel, stride in pool_layers():
        one = (1,) * len(kernel)
        x = rng.standard_normal(shape).astype(np.float32)
        y, argmax = pooling.max_pool_nd(x, kernel, stride, one)
        _, plain_argmax = plain_max_pool_nd(x, kernel, stride, one)
        delta = rng.standard_normal(y.shape).astype(np.float32)
        f1, f2, b1, b2, b3 = (best_time(f) for f in (
            lambda: pooling.max_pool_nd(x, kernel, stride, one), lambda: plain_max_pool_nd(x, kernel, stride, one),
            lambda: pooling.max_pool_nd_backward(delta, argmax, x.shape, kernel, stride, one),
            lambda: plain_backward_add_windows(delta, plain_argmax, x.shape, kernel, stride, one),
            lambda: plain_backward_add_at(delta, plain_argmax, x.shape, kernel, stride, one)))
        sums["scan"] += f1 + b1
        sums["add_windows"] += f2 + b2
        sums["add.at"] += f2 + b3
        plain = f2 + min(b2, b3)
        print(f"{label:<11} {fmt_time(f1):>10} {fmt_time(f2):>10} {f2 / f1:>6.2f}   {fmt_time(b1):>10} {fmt_time(b2):>11} "
              f"{b2 / b1:>6.2f} {fmt_time(b3):>10} {b3 / b1:>6.2f}   {fmt_time(f1 + b1):>13} {fmt_time(plain):>10} "
              f"{plain / (f1 + b1):>6.2f}")

    # the whole step of the 2-D CNN, the plain pooling with the faster of its two backwards
    backward = plain_backward_add_at if sums["add.at"] <= sums["add_windows"] else plain_backward_add_windows
    name, layers, shape, optimiser = WORKLOADS[1]
    x, y = make_batch(shape, np.float32)
    cr.manual_seed(0)
    steps = {"scan": ChainruleStep(layers, np.float32, optimiser)}
    cr.manual_seed(0)
    steps["plain"] = PlainPoolStep(layers, np.float32, optimiser, backward)
    losses = [c.forward_backward(x, y) for c in steps.values()]
    assert losses[0] == losses[1]
    for g0, g1 in zip(steps["scan"].grads(), steps["plain"].grads(), strict=True):
        assert np.array_equal(g0, g1)  # the same arg-maxes: the same gradients, bit for bit
    times = interleaved_times({k: c.step for k, c in steps.items()}, x, y, rounds, block_seconds, warm_steps=2)
    med = {k: statistics.median(ts) for k, ts in times.items()}
    same_round = statistics.median(b / a for a, b in zip(times["scan"], times["plain"]))
    pool_share = sums["scan"] / med["scan"]
    print(f"\n{name} step (chainrule, median of {rounds} interleaved rounds): scan {fmt_time(med['scan'])}, "
          f"plain arg-max + {backward.__name__.removeprefix('plain_backward_')} {fmt_time(med['plain'])}: "
          f"ratio plain / scan {med['plain'] / med['scan']:.3f} (same-round {same_round:.3f}); "
          f"the two max-pools' forward+backward (scan) are {100 * pool_share:.0f}% of the scan step")


def layer_report(steps=15):
    """Median forward and backward time of each module of chainrule's step, per workload."""
    for name, layers, shape, optimiser in WORKLOADS:
        x, y = make_batch(shape, np.float32)
        c = ChainruleStep(layers, np.float32, optimiser)
        model, times = c.model, {}
        for _ in range(steps):
            h = x
            for i, module in enumerate(model):
                t0 = time.perf_counter()
                h = module(h)
                times.setdefault((i, "forward"), []).append(time.perf_counter() - t0)
            c.loss_fn(h, y)
            c.opt.zero_grad()
            g = c.loss_fn.backward()
            for i in reversed(range(len(model))):
                t0 = time.perf_counter()
                g = model[i].backward(g)
                times.setdefault((i, "backward"), []).append(time.perf_counter() - t0)
            c.opt.step()
        print(f"\n{name}, chainrule, median of {steps} steps:")
        for i, module in enumerate(model):
            fwd, bwd = (statistics.median(times[(i, k)]) for k in ("forward", "backward"))
            print(f"  {i}  {repr(module)[:60]:<60} forward {fmt_time(fwd):>10}  backward {fmt_time(bwd):>10}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: the checks, 2 short rounds")
    parser.add_argument("--rounds", type=int, default=None, help="timing rounds per workload")
    parser.add_argument("--variants", nargs="?", const="all", choices=("all", "conv", "pool"),
                        help="only time the implementation variants (all, or only the conv or the pool ones)")
    parser.add_argument("--layers", action="store_true", help="only time chainrule's modules one by one")
    parser.add_argument("--threads", type=int, default=2,
                        help="PyTorch's threads and NumPy's BLAS threads (default 2: PyTorch's as in the other benchmark)")
    args = parser.parse_args(argv)
    t_start = start_run(args.threads, torch)
    if args.layers:
        layer_report()
        print(f"\ndone in {time.perf_counter() - t_start:.1f} s")
        return None
    if args.variants:
        variants(args.variants)
        print(f"\ndone in {time.perf_counter() - t_start:.1f} s")
        return None
    if torch is None:
        raise SystemExit("bench_conv.py compares with PyTorch: install torch (or run --variants)")

    print("\nChecks (chainrule vs PyTorch, loss and every gradient over 3 optimiser steps):")
    for name, layers, shape, optimiser in WORKLOADS:
        for dtype in (np.float64, np.float32):
            check(name, layers, shape, optimiser, dtype)
            print(f"  {name:<18} {np.dtype(dtype).name:<8} equal")

    rounds = args.rounds or (2 if args.quick else 21)
    print(f"\nTiming: one training step, float32, median of {rounds} interleaved rounds")
    header = f"{'workload':<18} {'contender':<10} {'median':>11} {'cr/this':>9} {'same-round':>10} {'target':>9}"
    print(header)
    print("-" * len(header))
    results = {}
    for name, layers, shape, optimiser in WORKLOADS:
        times = bench(layers, shape, optimiser, rounds, 0.01 if args.quick else 0.2)
        med = {k: statistics.median(ts) for k, ts in times.items()}
        ratio = med["chainrule"] / med["torch"]
        same_round = statistics.median(a / b for a, b in zip(times["chainrule"], times["torch"]))
        target = TARGETS[name].get(args.threads if args.threads == 1 else None)
        mark = "" if target is None else f"<={target:.1f} " + ("ok" if ratio <= target else "MISS")
        print(f"{name:<18} {'chainrule':<10} {fmt_time(med['chainrule']):>11}")
        print(f"{'':<18} {'torch':<10} {fmt_time(med['torch']):>11} {ratio:>9.3f} {same_round:>10.3f} {mark:>9}")
        floor_same = statistics.median(a / b for a, b in zip(times["chainrule"], times["gemm floor"]))
        print(f"{'':<18} {'gemm floor':<10} {fmt_time(med['gemm floor']):>11} {med['chainrule'] / med['gemm floor']:>9.3f} "
              f"{floor_same:>10.3f}")
        results[name] = ratio
    print(load_average("at the end"))
    print(f"\ndone in {time.perf_counter() - t_start:.1f} s")
    return results


if __name__ == "__main__":
    main()
