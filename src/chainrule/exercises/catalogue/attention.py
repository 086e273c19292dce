"""Part 7, attention: a softmax over scores that are products of two projections of the same input."""

from __future__ import annotations

import numpy as np

from ... import nn
from .._exercise import Case, exercise, floats, mistake
from .shared import Accumulates


class AttentionSolution(Accumulates):
    def backward(self, grad_output):
        x, q, k, v, A, O, batched = self.saved_tensors
        wrong = self.mistake
        g = grad_output if batched else grad_output[None]  # (N, T, E)
        N, T, E = x.shape
        H, d = self.num_heads, self.head_dim
        scale = 1 / np.sqrt(d)
        rows = g.reshape(N * T, E)
        self.give(self.out_proj.weight, rows.T @ O.reshape(N * T, E))   # y = O W_o^T + b_o
        if self.out_proj.bias is not None:
            self.give(self.out_proj.bias, rows.sum(axis=0))
        dO = (g @ self.out_proj.weight.data).reshape(N, T, H, d).transpose(0, 2, 1, 3)  # per head
        dv = A.transpose(0, 1, 3, 2) @ dO                                # O = A V
        dA = dO @ v.transpose(0, 1, 3, 2)
        if wrong == "attention_mask_not_applied":  # the weights recomputed from Q and K, without the mask
            S = q @ k.transpose(0, 1, 3, 2) * scale
            A = np.exp(S - S.max(axis=-1, keepdims=True))
            A = A / A.sum(axis=-1, keepdims=True)
        if wrong == "softmax_diagonal_only":
            dS = dA * A * (1 - A)
        else:
            dS = A * (dA - (dA * A).sum(axis=-1, keepdims=True))         # softmax over the keys
        if wrong != "attention_scale_missing":
            dS = dS * scale                                              # S = Q K^T * scale
        dq = dS @ k
        dk = dS.transpose(0, 1, 3, 2) @ q

        def merge(z):  # (N, H, T, d) -> (N, T, E)
            return z.transpose(0, 2, 1, 3).reshape(N, T, E)

        delta = np.concatenate([merge(dq), merge(dk), merge(dv)], axis=-1).reshape(N * T, 3 * E)
        self.give(self.in_proj_weight, delta.T @ x.reshape(N * T, E))
        if self.in_proj_bias is not None:
            self.give(self.in_proj_bias, delta.sum(axis=0))
        W = self.in_proj_weight.data
        if wrong == "fanout_not_added":
            dx = delta[:, :E] @ W[:E]  # the queries' path only
        else:
            dx = delta @ W             # dQ W_q + dK W_k + dV W_v
        dx = dx.reshape(N, T, E)
        return dx if batched else dx[0]


mistake("attention_scale_missing",
        "The scale was left out of the scores' backward: S = Q K^T / sqrt(d), so dC/d(Q K^T) = dC/dS / sqrt(d) "
        "before dQ = dS K and dK = dS^T Q.", "docs/modules/attention.md")
mistake("attention_mask_not_applied",
        "Masked positions received gradient: a masked score is the constant -inf, so dC/dS must be 0 there; "
        "the softmax's backward must use the masked weights A (0 at the masked keys), not weights "
        "recomputed from Q K^T without the mask.", "docs/modules/attention.md")


def _torch_attention(torch, p, b, kw, train, x):
    batched = x.dim() == 3
    xt = (x if batched else x[None]).transpose(0, 1)  # PyTorch's functional form is (T, N, E)
    T = xt.shape[0]
    mask = torch.triu(torch.full((T, T), float("-inf"), dtype=x.dtype), 1) if kw.get("causal") else None
    y, _ = torch.nn.functional.multi_head_attention_forward(
        xt, xt, xt, kw["embed_dim"], kw["num_heads"], p["in_proj_weight"], p.get("in_proj_bias"), None, None,
        False, 0.0, p["out_proj.weight"], p.get("out_proj.bias"), training=False, need_weights=False,
        attn_mask=mask)
    y = y.transpose(0, 1)
    return y if batched else y[0]


exercise(
    name="attention",
    builtin=nn.SelfAttention,
    docs="docs/modules/attention.md",
    stub='''
    class SelfAttention(nn.SelfAttention):
        """Multi-head self-attention, batch first, without dropout (dropout=0):

            [Q K V] = x W_in^T + b_in,  split into H heads of d = E / H columns,
            S = Q K^T / sqrt(d) (-inf above the diagonal when causal),  A = softmax over the keys (S),
            O = A V,  heads concatenated,  y = O W_o^T + b_o   (W_o, b_o: self.out_proj)
        """

        exercise = "attention"

        def forward(self, x):
            # x: (N, T, E), or unbatched (T, E)
            batched = x.ndim == 3
            x3 = x if batched else x[None]                   # (N, T, E)
            N, T, E = x3.shape
            H, d = self.num_heads, self.head_dim
            qkv = x3 @ self.in_proj_weight.data.T            # (N, T, 3E): the rows of W_q, W_k, W_v stacked
            if self.in_proj_bias is not None:
                qkv = qkv + self.in_proj_bias.data

            def heads(z):                                    # (N, T, E) -> (N, H, T, d)
                return z.reshape(N, T, H, d).transpose(0, 2, 1, 3)

            q, k, v = heads(qkv[..., :E]), heads(qkv[..., E:2 * E]), heads(qkv[..., 2 * E:])
            S = q @ k.transpose(0, 1, 3, 2) / np.sqrt(d)     # (N, H, T, T): query i, key j
            if self.causal:
                S = S + np.triu(np.full((T, T), -np.inf, dtype=S.dtype), k=1)  # -inf where key j > query i
            A = np.exp(S - S.max(axis=-1, keepdims=True))    # the max is finite: the diagonal is never masked
            A = A / A.sum(axis=-1, keepdims=True)            # softmax over the keys: each row sums to 1
            O = (A @ v).transpose(0, 2, 1, 3).reshape(N, T, E)  # heads concatenated, (N, T, E)
            y = O @ self.out_proj.weight.data.T              # (N, T, E)
            if self.out_proj.bias is not None:
                y = y + self.out_proj.bias.data
            # backward needs x (for dW_in), q, k, v (each the other factor of a product), A (the
            # softmax's Jacobian is a function of A; 0 at the masked keys), O (for dW_o), and the shape
            self.save_for_backward(x3, q, k, v, A, O, batched)
            return y if batched else y[0]
    ''',
    task='''
    grad_output is dC/dy, shaped like the output: (N, T, E), or (T, E) unbatched.

    Return dC/dx, shaped like x. Add into .grad, with nn.accumulate_grad: dC/dW_o and dC/db_o
    into self.out_proj.weight (E, E) and self.out_proj.bias (E,), dC/dW_in and dC/db_in into
    self.in_proj_weight (3E, E) and self.in_proj_bias (3E,) (the biases only when not None),
    summed over the batch and the positions. Skip a frozen parameter (requires_grad=False).
    ''',
    todo="SelfAttention.backward is yours to write: through the output projection, A V, the softmax, the "
         "scaled scores and the three projections; accumulate the four parameter gradients, return dC/dx",
    hint="Walk the forward from the last line up; every product's backward is Linear's two halves, once per "
         "sequence and head. Softmax's Jacobian is the softmax page's. Count the constant factors of S, what "
         "A is at a masked key, and how many times x was used.",
    cases=(
        Case(floats(2, 3, 4), kwargs={"embed_dim": 4, "num_heads": 2, "causal": True}),
        Case(floats(1, 4, 4), kwargs={"embed_dim": 4, "num_heads": 1}),
        Case(floats(2, 3, 4), kwargs={"embed_dim": 4, "num_heads": 2}),
        Case(floats(1, 4, 4), kwargs={"embed_dim": 4, "num_heads": 1, "causal": True, "bias": False}),
        Case(floats(2, 1, 4), kwargs={"embed_dim": 4, "num_heads": 2, "causal": True}),
        Case(floats(3, 6), kwargs={"embed_dim": 6, "num_heads": 2, "causal": True}),
        Case(floats(2, 3, 4), kwargs={"embed_dim": 4, "num_heads": 2}, frozen=("in_proj_weight",)),
    ),
    solution=AttentionSolution,
    mistakes=("attention_scale_missing", "attention_mask_not_applied", "softmax_diagonal_only",
              "fanout_not_added", "grad_assigned", "frozen_parameter_updated"),
    torch=_torch_attention,
)
