"""Part 8, whole blocks by the chain rule: a residual block, and Karpathy's "backprop ninja" MLP
(makemore, part 4), every intermediate of its forward differentiated by hand."""

from __future__ import annotations

import numpy as np

from ... import nn
from .._exercise import Case, exercise, floats, mistake
from .shared import Accumulates


# -- residual_block ----------------------------------------------------------------------------
class ResidualBackward:
    """The library's own backward of the residual block (it has no module in ``chainrule.nn``)."""

    def backward(self, grad_output):
        r"""Given $G = \partial C/\partial y$ for $y = x + W_2\,\mathrm{relu}(W_1 x + b_1) + b_2$
        (rows of the batch), with $h = \mathrm{relu}(z)$, $z = x W_1^\top + b_1$:

        $$\frac{\partial C}{\partial W_2} = G^\top h,\quad
        \frac{\partial C}{\partial h} = G W_2,\quad
        \delta = \frac{\partial C}{\partial h} \odot [z > 0],\quad
        \frac{\partial C}{\partial W_1} = \delta^\top x,$$

        the biases the sums of $G$ and $\delta$ over the rows, and, since $x$ is used twice (the
        skip path and the branch), $\partial C/\partial x = G + \delta W_1$.
        """
        x, h = self.saved_tensors
        F, J = self.fc1.in_features, self.fc1.out_features
        g = grad_output.reshape(-1, F)                      # (rows, features)
        rows_x, rows_h = x.reshape(-1, F), h.reshape(-1, J)
        if self.fc2.weight.requires_grad:
            nn.accumulate_grad(self.fc2.weight, g.T @ rows_h)    # (features, hidden)
        if self.fc2.bias is not None and self.fc2.bias.requires_grad:
            nn.accumulate_grad(self.fc2.bias, g.sum(axis=0))
        delta = (g @ self.fc2.weight.data) * (rows_h > 0)   # dC/dz: through W2, then relu'(z) = [h > 0]
        if self.fc1.weight.requires_grad:
            nn.accumulate_grad(self.fc1.weight, delta.T @ rows_x)  # (hidden, features)
        if self.fc1.bias is not None and self.fc1.bias.requires_grad:
            nn.accumulate_grad(self.fc1.bias, delta.sum(axis=0))
        return grad_output + (delta @ self.fc1.weight.data).reshape(x.shape)  # the skip path + the branch


class ResidualSolution(Accumulates):
    def backward(self, grad_output):
        x, h = self.saved_tensors
        wrong = self.mistake
        F, J = self.fc1.in_features, self.fc1.out_features
        g = grad_output.reshape(-1, F)
        rows_x, rows_h = x.reshape(-1, F), h.reshape(-1, J)
        self.give(self.fc2.weight, g.T @ rows_h)
        if self.fc2.bias is not None:
            self.give(self.fc2.bias, g.sum(axis=0))
        mask = rows_h <= 0 if wrong == "relu_mask_inverted" else rows_h > 0
        delta = (g @ self.fc2.weight.data) * mask
        self.give(self.fc1.weight, delta.T @ rows_x)
        if self.fc1.bias is not None:
            self.give(self.fc1.bias, delta.sum(axis=0))
        branch = (delta @ self.fc1.weight.data).reshape(x.shape)
        return branch if wrong == "fanout_not_added" else grad_output + branch


exercise(
    name="residual_block",
    builtin=None,
    reference=ResidualBackward,
    docs="docs/tutorials/gpt.md",
    stub='''
    class ResidualBlock(nn.Module):
        """y = x + fc2(relu(fc1(x))): a two-layer branch beside the identity (skip) path.

            z = x W1^T + b1 (features -> hidden),  h = relu(z),  y = x + h W2^T + b2 (hidden -> features)
        """

        exercise = "residual_block"  # which exercise `check` grades (this class derives only from nn.Module)

        def __init__(self, features, hidden, bias=True, *, dtype=None, rng=None):
            super().__init__()
            self.fc1 = nn.Linear(features, hidden, bias=bias, dtype=dtype, rng=rng)  # W1 (hidden, features)
            self.fc2 = nn.Linear(hidden, features, bias=bias, dtype=dtype, rng=rng)  # W2 (features, hidden)

        def forward(self, x):
            # x: (N, features), or (*, features): every leading axis is part of the batch
            z = x @ self.fc1.weight.data.T              # (*, hidden)
            if self.fc1.bias is not None:
                z = z + self.fc1.bias.data
            h = np.maximum(z, 0)                        # (*, hidden)
            y = x + h @ self.fc2.weight.data.T          # (*, features): x itself, plus the branch
            if self.fc2.bias is not None:
                y = y + self.fc2.bias.data
            # backward needs x (for dC/dW1) and h (for dC/dW2; relu'(z) is [h > 0]); it calls no
            # child's backward: the children's forwards did not run
            self.save_for_backward(x, h)
            return y
    ''',
    task='''
    grad_output is dC/dy, shaped like x: (N, features) or (*, features).

    Return dC/dx, shaped like x. Add into .grad, with nn.accumulate_grad, the gradients of
    self.fc1.weight (hidden, features), self.fc2.weight (features, hidden) and, when they are
    not None, self.fc1.bias (hidden,) and self.fc2.bias (features,), summed over every row of
    the batch. Skip a frozen parameter (requires_grad=False).
    ''',
    todo="ResidualBlock.backward is yours to write: back through fc2, the ReLU and fc1, accumulate the four "
         "parameter gradients, return dC/dx",
    hint="Name each step of the forward and go back one at a time: two Linear backwards with a ReLU between. "
         "Then count the paths from x to y.",
    cases=(
        Case(floats(4, 3), kwargs={"features": 3, "hidden": 5}),
        Case(floats(1, 3), kwargs={"features": 3, "hidden": 4}),
        Case(floats(5, 4), kwargs={"features": 4, "hidden": 3, "bias": False}),
        Case(floats(2, 3, 3), kwargs={"features": 3, "hidden": 4}),
        Case(floats(4, 3), kwargs={"features": 3, "hidden": 5}, frozen=("fc1.weight",)),
    ),
    solution=ResidualSolution,
    mistakes=("fanout_not_added", "relu_mask_inverted", "grad_assigned", "frozen_parameter_updated"),
    torch=lambda torch, p, b, kw, train, x: x + torch.nn.functional.linear(
        torch.relu(torch.nn.functional.linear(x, p["fc1.weight"], p.get("fc1.bias"))), p["fc2.weight"],
        p.get("fc2.bias")),
)


# -- ninja -------------------------------------------------------------------------------------
class NinjaBackward:
    """The library's own backward of the ninja MLP (it has no module in ``chainrule.nn``)."""

    def backward(self, grad=1.0):
        r"""Every intermediate of the forward, last line first: $\partial C/\partial v$ for each
        $v$ (``dv`` here), with $C$ = ``grad`` times the loss. Each line is one local pattern:
        a product swaps, a sum broadcasts back, a broadcast sums, a fan-out adds, the embedding
        lookup scatter-adds. The batch-norm variance has Bessel's correction, $1/(n-1)$, as in
        the forward.
        """
        (Xb, Yb, emb, embcat, hprebn, bnmeani, bndiff, bndiff2, bnvar, bnvar_inv, bnraw, hpreact, h,
         logits, logit_maxes, norm_logits, counts, counts_sum, counts_sum_inv, probs, logprobs) = self.saved_tensors
        n = Xb.shape[0]
        rows = np.arange(n)
        dlogprobs = np.zeros_like(logprobs)
        dlogprobs[rows, Yb] = -grad / n                      # loss = -mean of the targets' logprobs
        dprobs = dlogprobs / probs                           # log
        dcounts_sum_inv = (counts * dprobs).sum(axis=1, keepdims=True)  # broadcast over the row: sum
        dcounts = counts_sum_inv * dprobs                    # probs = counts * counts_sum_inv
        dcounts_sum = -counts_sum ** -2 * dcounts_sum_inv    # x ** -1
        dcounts = dcounts + dcounts_sum                      # counts fans out: into probs and the row sum
        dnorm_logits = counts * dcounts                      # exp
        dlogit_maxes = -dnorm_logits.sum(axis=1, keepdims=True)
        dlogits = dnorm_logits.copy()                        # logits fans out: into norm_logits and the max
        dlogits[rows, logits.argmax(axis=1)] += dlogit_maxes[:, 0]  # max routes to the argmax
        dh = dlogits @ self.W2.data.T                        # logits = h W2 + b2
        dW2 = h.T @ dlogits
        db2 = dlogits.sum(axis=0)
        dhpreact = (1 - h ** 2) * dh                         # tanh'(z) = 1 - tanh(z)^2
        dbngain = (bnraw * dhpreact).sum(axis=0)             # hpreact = bngain * bnraw + bnbias
        dbnbias = dhpreact.sum(axis=0)
        dbnraw = self.bngain.data * dhpreact
        dbndiff = bnvar_inv * dbnraw                         # bnraw = bndiff * bnvar_inv
        dbnvar_inv = (bndiff * dbnraw).sum(axis=0, keepdims=True)
        dbnvar = -0.5 * (bnvar + 1e-5) ** -1.5 * dbnvar_inv
        dbndiff2 = np.ones_like(bndiff2) * dbnvar / (n - 1)  # bnvar = sum(bndiff2) / (n - 1)
        dbndiff = dbndiff + 2 * bndiff * dbndiff2            # bndiff fans out: into bnraw and bndiff2
        dbnmeani = -dbndiff.sum(axis=0, keepdims=True)       # bndiff = hprebn - bnmeani
        dhprebn = dbndiff + np.ones_like(hprebn) * dbnmeani / n  # bnmeani = sum(hprebn) / n
        dembcat = dhprebn @ self.W1.data.T                   # hprebn = embcat W1 + b1
        dW1 = embcat.T @ dhprebn
        db1 = dhprebn.sum(axis=0)
        demb = dembcat.reshape(emb.shape)
        dC = np.zeros_like(self.C.data)
        np.add.at(dC, Xb, demb)                              # emb = C[Xb]: a repeated index adds
        for param, g in ((self.C, dC), (self.W1, dW1), (self.b1, db1), (self.bngain, dbngain),
                         (self.bnbias, dbnbias), (self.W2, dW2), (self.b2, db2)):
            if param.requires_grad:
                nn.accumulate_grad(param, g)
        return None


class NinjaSolution(Accumulates):
    def backward(self, grad=1.0):
        (Xb, Yb, emb, embcat, hprebn, bnmeani, bndiff, bndiff2, bnvar, bnvar_inv, bnraw, hpreact, h,
         logits, logit_maxes, norm_logits, counts, counts_sum, counts_sum_inv, probs, logprobs) = self.saved_tensors
        wrong = self.mistake
        n = Xb.shape[0]
        rows = np.arange(n)
        dlogprobs = np.zeros_like(logprobs)
        dlogprobs[rows, Yb] = -grad if wrong == "mean_factor_missing" else -grad / n
        dprobs = dlogprobs / probs
        dcounts_sum_inv = (counts * dprobs).sum(axis=1, keepdims=True)
        dcounts = counts_sum_inv * dprobs
        dcounts_sum = -counts_sum ** -2 * dcounts_sum_inv
        dcounts = dcounts + dcounts_sum
        dnorm_logits = counts * dcounts
        dlogit_maxes = -dnorm_logits.sum(axis=1, keepdims=True)
        dlogits = dnorm_logits.copy()
        dlogits[rows, logits.argmax(axis=1)] += dlogit_maxes[:, 0]
        dh = dlogits @ self.W2.data.T
        self.give(self.W2, h.T @ dlogits)
        self.give(self.b2, dlogits.sum(axis=0))
        dhpreact = ((1 - h) if wrong == "tanh_prime_one_minus_a" else (1 - h ** 2)) * dh
        self.give(self.bngain, (bnraw * dhpreact).sum(axis=0))
        self.give(self.bnbias, dhpreact.sum(axis=0))
        dbnraw = self.bngain.data * dhpreact
        dbndiff = bnvar_inv * dbnraw
        if wrong == "batch_stats_constant":
            dhprebn = dbndiff
        else:
            dbnvar_inv = (bndiff * dbnraw).sum(axis=0, keepdims=True)
            dbnvar = -0.5 * (bnvar + 1e-5) ** -1.5 * dbnvar_inv
            divisor = n if wrong == "bessel_correction_dropped" else n - 1
            dbndiff2 = np.ones_like(bndiff2) * dbnvar / divisor
            dbndiff = dbndiff + 2 * bndiff * dbndiff2
            dbnmeani = -dbndiff.sum(axis=0, keepdims=True)
            dhprebn = dbndiff + np.ones_like(hprebn) * dbnmeani / n
        dembcat = dhprebn @ self.W1.data.T
        self.give(self.W1, embcat.T @ dhprebn)
        self.give(self.b1, dhprebn.sum(axis=0))
        demb = dembcat.reshape(emb.shape)
        dC = np.zeros_like(self.C.data)
        if wrong == "repeated_index_overwrite":
            dC[Xb] += demb
        else:
            np.add.at(dC, Xb, demb)
        self.give(self.C, dC)
        return None


mistake("bessel_correction_dropped",
        "The variance's backward divided by n where the forward divided by n - 1 (Bessel's correction): "
        "bnvar = sum(bndiff2) / (n - 1), so dC/dbndiff2 = dC/dbnvar / (n - 1).", "docs/modules/normalization.md")


def _ninja_batch(n, vocab=7, block=3):
    return lambda rng: (rng.integers(0, vocab, (n, block)), rng.integers(0, vocab, n))


def _torch_ninja(torch, p, b, kw, train, Xb, Yb):
    emb = p["C"][Xb]
    hprebn = emb.reshape(emb.shape[0], -1) @ p["W1"] + p["b1"]
    mean, var = hprebn.mean(0, keepdim=True), hprebn.var(0, keepdim=True, unbiased=True)
    h = torch.tanh(p["bngain"] * (hprebn - mean) / torch.sqrt(var + 1e-5) + p["bnbias"])
    return torch.nn.functional.cross_entropy(h @ p["W2"] + p["b2"], Yb)


exercise(
    name="ninja",
    builtin=None,
    reference=NinjaBackward,
    docs="docs/tutorials/gpt.md",
    signature="grad=1.0",
    stub='''
    class Ninja(nn.Module):
        """Karpathy's "backprop ninja" (makemore, part 4): a character MLP as one module whose forward
        returns the loss, every intermediate written out so that backward can differentiate each:

            emb = C[Xb] -> embcat -> hprebn = embcat W1 + b1 -> batch norm (batch statistics, the
            variance with Bessel's 1/(n - 1)) -> hpreact -> h = tanh -> logits = h W2 + b2 -> softmax
            written out -> loss = -mean(logprobs[i, Yb[i]])
        """

        exercise = "ninja"  # which exercise `check` grades (this class derives only from nn.Module)

        def __init__(self, vocab_size=7, block_size=3, n_embd=4, n_hidden=8, *, dtype=None, rng=None):
            super().__init__()
            rng = np.random.default_rng(0) if rng is None else rng
            dtype = np.float64 if dtype is None else dtype

            def param(scale, *shape):
                return nn.Parameter((scale * rng.standard_normal(shape)).astype(dtype))

            self.C = param(1.0, vocab_size, n_embd)                  # the embedding table
            self.W1 = param((5 / 3) / np.sqrt(n_embd * block_size), n_embd * block_size, n_hidden)
            self.b1 = param(0.1, n_hidden)                           # useless before batch norm, kept
            self.W2 = param(0.1, n_hidden, vocab_size)
            self.b2 = param(0.1, vocab_size)
            self.bngain = nn.Parameter(np.ones(n_hidden, dtype=dtype))
            self.bnbias = nn.Parameter(np.zeros(n_hidden, dtype=dtype))

        def forward(self, Xb, Yb):
            # Xb: (n, block_size) context indices; Yb: (n,) the next characters' indices
            n = Xb.shape[0]
            emb = self.C.data[Xb]                                  # (n, block_size, n_embd)
            embcat = emb.reshape(n, -1)                            # (n, block_size * n_embd)
            hprebn = embcat @ self.W1.data + self.b1.data          # (n, n_hidden)
            bnmeani = hprebn.sum(axis=0, keepdims=True) / n        # (1, n_hidden)
            bndiff = hprebn - bnmeani
            bndiff2 = bndiff ** 2
            bnvar = bndiff2.sum(axis=0, keepdims=True) / (n - 1)   # Bessel's correction, (1, n_hidden)
            bnvar_inv = (bnvar + 1e-5) ** -0.5
            bnraw = bndiff * bnvar_inv                             # (n, n_hidden)
            hpreact = self.bngain.data * bnraw + self.bnbias.data
            h = np.tanh(hpreact)                                   # (n, n_hidden)
            logits = h @ self.W2.data + self.b2.data               # (n, vocab_size)
            logit_maxes = logits.max(axis=1, keepdims=True)        # (n, 1), for numerical stability
            norm_logits = logits - logit_maxes
            counts = np.exp(norm_logits)
            counts_sum = counts.sum(axis=1, keepdims=True)         # (n, 1)
            counts_sum_inv = counts_sum ** -1
            probs = counts * counts_sum_inv                        # (n, vocab_size)
            logprobs = np.log(probs)
            loss = -logprobs[np.arange(n), Yb].mean()
            # backward differentiates every line above, so it gets every intermediate (and the indices)
            self.save_for_backward(Xb, Yb, emb, embcat, hprebn, bnmeani, bndiff, bndiff2, bnvar, bnvar_inv,
                                   bnraw, hpreact, h, logits, logit_maxes, norm_logits, counts, counts_sum,
                                   counts_sum_inv, probs, logprobs)
            return float(loss)
    ''',
    task='''
    grad is dC/dloss, a number (1.0 when the loss is the cost).

    Return None: the indices Xb and Yb have no gradient. Write d<v> = dC/d<v> for every
    intermediate v of the forward, from dlogprobs up to demb, each shaped like v, and add into
    .grad, with nn.accumulate_grad, the gradients of self.C, self.W1, self.b1, self.bngain,
    self.bnbias, self.W2 and self.b2 (each shaped like its parameter). Skip a frozen parameter
    (requires_grad=False).
    ''',
    todo="Ninja.backward is yours to write: every d<var> of the forward, last line first, accumulating the "
         "seven parameter gradients; return None",
    hint="One line of the forward at a time, last first: what shape is each d<var> (the shape of var), which "
         "variables are used twice (their gradients add), which arrays were broadcast (their gradients sum "
         "back). Every constant factor of the forward has its twin in the backward.",
    cases=(
        Case(_ninja_batch(5), grad_args=()),
        Case(_ninja_batch(3), grad_args=()),
        Case(_ninja_batch(8, vocab=5, block=2),
             kwargs={"vocab_size": 5, "block_size": 2, "n_embd": 3, "n_hidden": 6}, grad_args=()),
        Case(_ninja_batch(6), frozen=("C",), grad_args=()),
    ),
    solution=NinjaSolution,
    mistakes=("batch_stats_constant", "bessel_correction_dropped", "tanh_prime_one_minus_a", "mean_factor_missing",
              "repeated_index_overwrite", "grad_assigned"),
    torch=_torch_ninja,
)
