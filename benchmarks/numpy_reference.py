"""The two NumPy contenders of the benchmark: a hand-written MLP training step, and the
floor under it (the same step's matrix multiplies, nothing else).

``ReferenceMLP`` is what a careful NumPy programmer writes when speed is all that matters
and generality is not: one explicit forward and backward for an MLP with one activation,
softmax cross-entropy with class-index targets and 'mean' reduction, and SGD with momentum
(PyTorch's rule: the buffer starts as the first gradient, $b \\leftarrow \\mu b + g$,
$\\theta \\leftarrow \\theta - \\gamma b$). Its tricks, each measured on the benchmark machine
(see /work/shared/PERFORMANCE-NOTES.md):

- W stored (out, in), as chainrule and PyTorch store it; ``x @ W.T`` reads it transposed
  for free.
- Every intermediate is written into a buffer allocated once (``out=``).
- All parameters live in one flat array (and all gradients, and all momentum buffers), so
  the optimiser is four ufunc calls however many tensors there are.
- Gradients are written, not accumulated: no zeroing pass, no temporary.
- The bias gradient is a GEMV (``ones @ delta``), faster than ``delta.sum(0)``.
- ReLU against a zeros buffer, the ReLU derivative as a multiply by the mask, flat target
  indices, ``np.add.reduce``/``np.maximum.reduce`` instead of ``np.sum``/``np.max``.

``GemmFloor`` runs only the step's matrix products (forward, weight gradients, input
gradients of every layer but the first) into preallocated outputs: no framework and no
NumPy program can train this network in less time with this BLAS.
"""

from __future__ import annotations

from time import perf_counter

import numpy as np


class ReferenceMLP:
    """A fixed MLP ``sizes[0] -> sizes[1] -> ... -> sizes[-1]`` with ``activation`` between
    layers, trained on batches of exactly ``batch`` rows.

    Args:
        weights: list of ``(W, b)`` pairs, W of shape (out, in); copied in.
        activation: ``"tanh"`` or ``"relu"``.
        batch: the batch size every step uses (the buffers are sized for it).
        lr, momentum: SGD hyper-parameters.
    """

    def __init__(self, weights, activation: str, batch: int, lr: float = 0.01, momentum: float = 0.9):
        if activation not in ("tanh", "relu"):
            raise ValueError(f"activation must be 'tanh' or 'relu', got {activation!r}")
        dtype = weights[0][0].dtype
        self.activation = activation
        self.lr = float(lr)
        self.momentum = float(momentum)
        self.n = batch
        self.n_layers = len(weights)
        shapes = [(W.shape, b.shape) for W, b in weights]
        total = sum(W.size + b.size for W, b in weights)

        # One flat array each for parameters, gradients and momentum; per-layer views into them.
        self.flat_params = np.empty(total, dtype)
        self.flat_grads = np.empty(total, dtype)
        self.flat_momentum = np.empty(total, dtype)
        self.flat_work = np.empty(total, dtype)
        self.W, self.b, self.dW, self.db = [], [], [], []
        offset = 0
        for (w_shape, b_shape), (W, b) in zip(shapes, weights):
            for arr, store, grads in ((W, self.W, self.dW), (b, self.b, self.db)):
                size = arr.size
                view = self.flat_params[offset:offset + size].reshape(arr.shape)
                view[...] = arr
                store.append(view)
                grads.append(self.flat_grads[offset:offset + size].reshape(arr.shape))
                offset += size
        self.has_momentum = False

        # Activation buffers: z (pre-activation) and a (post) per layer, deltas, scratch.
        outs = [W.shape[0] for W, _ in weights]
        self.z = [np.empty((batch, o), dtype) for o in outs]
        self.a = [np.empty((batch, o), dtype) for o in outs[:-1]]
        self.da = [np.empty((batch, o), dtype) for o in outs[:-1]]  # dC/da of hidden layers
        self.tmp = [np.empty((batch, o), dtype) for o in outs[:-1]]
        self.mask = [np.empty((batch, o), bool) for o in outs[:-1]]
        self.zeros = [np.zeros((batch, o), dtype) for o in outs[:-1]]
        self.ones = np.ones(batch, dtype)
        c = outs[-1]
        self.row_max = np.empty((batch, 1), dtype)
        self.row_sum = np.empty((batch, 1), dtype)
        self.log_sum = np.empty((batch, 1), dtype)
        self.probs = np.empty((batch, c), dtype)
        self.row_starts = np.arange(0, batch * c, c)
        self.flat_idx = np.empty(batch, np.intp)
        self.picked = np.empty(batch, dtype)

    def forward_backward(self, x: np.ndarray, y: np.ndarray, clock: list | None = None) -> float:
        """Forward, mean cross-entropy and backward; leaves the gradients in ``dW``/``db``
        (and ``flat_grads``). Returns the loss.

        ``clock``: for the benchmark's ``--phases`` split only; if given, the time
        (``time.perf_counter()``) is appended after the forward, after the loss and after
        its gradient. Three ``is None`` tests otherwise: a few tens of nanoseconds."""
        relu = self.activation == "relu"
        L = self.n_layers
        h = x
        for l in range(L):
            z = self.z[l]
            np.matmul(h, self.W[l].T, out=z)
            z += self.b[l]
            if l < L - 1:
                a = self.a[l]
                if relu:
                    np.maximum(z, self.zeros[l], out=a)
                else:
                    np.tanh(z, out=a)
                h = a
        if clock is not None:
            clock.append(perf_counter())

        # Softmax cross-entropy, max-shifted; the gradient (p - y)/N overwrites the logits.
        logits = self.z[-1]
        np.maximum.reduce(logits, axis=1, keepdims=True, out=self.row_max)
        logits -= self.row_max
        np.exp(logits, out=self.probs)
        np.add.reduce(self.probs, axis=1, keepdims=True, out=self.row_sum)
        np.log(self.row_sum, out=self.log_sum)
        np.add(self.row_starts, y, out=self.flat_idx)
        logits.take(self.flat_idx, out=self.picked)
        loss = (np.add.reduce(self.log_sum, axis=None) - np.add.reduce(self.picked)) / self.n
        if clock is not None:
            clock.append(perf_counter())
        delta = self.probs
        np.divide(delta, self.row_sum, out=delta)
        delta.reshape(-1)[self.flat_idx] -= 1
        delta *= 1.0 / self.n
        if clock is not None:
            clock.append(perf_counter())

        for l in range(L - 1, -1, -1):
            h_in = x if l == 0 else self.a[l - 1]
            np.matmul(delta.T, h_in, out=self.dW[l])
            np.matmul(self.ones, delta, out=self.db[l])
            if l == 0:
                break
            da = self.da[l - 1]
            np.matmul(delta, self.W[l], out=da)
            a = self.a[l - 1]
            d = self.tmp[l - 1]
            if relu:
                np.greater(a, 0, out=self.mask[l - 1])
                np.multiply(da, self.mask[l - 1], out=d)
            else:
                np.multiply(a, a, out=d)
                np.subtract(1, d, out=d)
                np.multiply(da, d, out=d)
            delta = d
        return float(loss)

    def sgd_step(self) -> None:
        """PyTorch's SGD with momentum on the flat arrays: four ufunc calls."""
        if self.has_momentum:
            self.flat_momentum *= self.momentum
            self.flat_momentum += self.flat_grads
        else:
            self.flat_momentum[...] = self.flat_grads  # b_1 = g_1
            self.has_momentum = True
        np.multiply(self.flat_momentum, self.lr, out=self.flat_work)
        self.flat_params -= self.flat_work

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        loss = self.forward_backward(x, y)
        self.sgd_step()
        return loss


class GemmFloor:
    """Only the matrix products of one training step of the same MLP, into preallocated
    outputs: per layer ``h @ W.T`` forward and ``delta.T @ h`` (weight gradient) backward,
    and ``delta @ W`` for every layer but the first. The operands hold arbitrary values."""

    def __init__(self, weights, batch: int):
        dtype = weights[0][0].dtype
        self.W = [np.array(W) for W, _ in weights]
        self.z = [np.empty((batch, W.shape[0]), dtype) for W in self.W]
        rng = np.random.default_rng(0)
        self.h = [rng.standard_normal((batch, W.shape[1])).astype(dtype) for W in self.W]
        self.delta = [rng.standard_normal((batch, W.shape[0])).astype(dtype) for W in self.W]
        self.dW = [np.empty_like(W) for W in self.W]
        self.dh = [np.empty((batch, W.shape[1]), dtype) for W in self.W]

    def step(self, x=None, y=None) -> None:
        for l, W in enumerate(self.W):
            np.matmul(self.h[l], W.T, out=self.z[l])
        for l in range(len(self.W) - 1, -1, -1):
            np.matmul(self.delta[l].T, self.h[l], out=self.dW[l])
            if l:
                np.matmul(self.delta[l], self.W[l], out=self.dh[l])
