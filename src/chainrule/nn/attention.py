r"""Attention: the core as a function pair, ``scaled_dot_product_attention`` and
``scaled_dot_product_attention_backward`` (per head, arrays in and out), and SelfAttention,
multi-head self-attention as PyTorch's ``MultiheadAttention(E, H, batch_first=True)(x, x, x)``,
which composes its input and output projections around that pair."""

from __future__ import annotations

import math

import numpy as np

from .._config import check_float_dtype, resolve_rng
from . import stable
from .activation import softmax_backward
from .dropout import dropout_mask
from . import init
from .. import _checks as checks
from .linear import Linear
from .module import Module, Parameter, accumulate_grad


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 *, rng=None):
    r"""Attention of every query over the keys, per head (any leading axes, e.g. ``(N, H, T, d)``):

    $$S = s\, Q K^\top \;(+\,M),\qquad A = \operatorname{softmax}_{\text{keys}}(S),\qquad O = \tilde A V,$$

    with $s$ = ``scale`` (default $1/\sqrt d$), $M$ the additive ``attn_mask`` (a boolean one:
    ``True`` where a query may attend) or, with ``is_causal``, $-\infty$ above the diagonal (key
    $j$ later than query $i$), and $\tilde A = A \odot$ an inverted-dropout mask (drop
    probability ``dropout_p``, from ``rng``) or $A$ itself.

    Returns ``(output, attn, drop)``: $O$, the attention weights $A$ (softmax's Jacobian and
    $\partial C/\partial V$ need them) and the dropout mask (``None`` without dropout), what
    ``scaled_dot_product_attention_backward`` takes.
    """
    T, S = query.shape[-2], key.shape[-2]
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale  # a Python float: float32 stays float32
    scores = (query @ key.swapaxes(-1, -2)) * scale          # S = Q K^T / sqrt(d), (..., T, S)
    if is_causal:
        mask = np.triu(np.full((T, S), -np.inf, dtype=scores.dtype), k=1)  # M: -inf where key j > query i
        scores += mask                                        # exp(-inf) = 0: no weight on the future
    if attn_mask is not None:
        scores += np.where(attn_mask, 0.0, -np.inf).astype(scores.dtype) if attn_mask.dtype == bool else attn_mask
    attn = stable.softmax(scores, axis=-1)                    # A, each row sums to 1 over the keys
    if dropout_p > 0.0:
        drop = dropout_mask(attn.shape, dropout_p, rng, attn.dtype)
        weights = attn * drop                                 # dropout on the attention weights
    else:
        drop = None
        weights = attn
    return weights @ value, attn, drop                        # O = A V


def scaled_dot_product_attention_backward(grad_output, query, key, value, attn, drop=None, scale=None):
    r"""Given $\partial C/\partial O$, per head:

    - weighted sum $O = \tilde A V$ (with $\tilde A = A \odot$ dropout mask):
      $\partial C/\partial V = \tilde A^\top\, \partial C/\partial O$ and
      $\partial C/\partial \tilde A = \partial C/\partial O\, V^\top$;
    - dropout: $\partial C/\partial A = \partial C/\partial \tilde A \odot$ mask;
    - softmax over the keys, row by row (the Jacobian-vector product of
      $\operatorname{diag}(a) - a a^\top$):

        $$\frac{\partial C}{\partial S} = A \odot \Big(\frac{\partial C}{\partial A} -
        \sum_j \frac{\partial C}{\partial A_{:,j}} \odot A_{:,j}\Big);$$

        a masked score has $A = 0$ and so gets zero gradient;

    - scores $S = s\,QK^\top$: $\partial C/\partial Q = s\,
      \partial C/\partial S\, K$ and $\partial C/\partial K = s\,
      (\partial C/\partial S)^\top Q$.

    Returns ``(grad_query, grad_key, grad_value)``.
    """
    weights = attn if drop is None else attn * drop           # what multiplied V, (..., T, S)
    d_v = weights.swapaxes(-1, -2) @ grad_output              # dV = A~^T dO, (..., S, d)
    d_weights = grad_output @ value.swapaxes(-1, -2)          # dA~ = dO V^T, (..., T, S)
    d_attn = d_weights if drop is None else d_weights * drop  # dropout: dA = dA~ * mask

    # softmax over the keys (last axis); masked keys have A = 0, hence dS = 0 there.
    d_scores = softmax_backward(d_attn, attn, -1)        # (..., T, S)
    d_scores *= 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale  # S = (Q K^T) / sqrt(d)

    d_q = d_scores @ key                                      # dQ = dS K, (..., T, d)
    d_k = d_scores.swapaxes(-1, -2) @ query                   # dK = dS^T Q, (..., S, d)
    return d_q, d_k, d_v


class SelfAttention(Module):
    r"""Multi-head self-attention: every position of a sequence looks at every position
    (or, with ``causal=True``, at itself and the positions before it).

    With $x$ of shape $(T, E)$, $H$ heads of size $d = E/H$, and head $h$'s slices of the
    input projection,

    $$Q = x W_q^\top + b_q,\quad K = x W_k^\top + b_k,\quad V = x W_v^\top + b_v,$$

    $$S = \frac{Q K^\top}{\sqrt d} \;(+\,M),\qquad A = \operatorname{softmax}_{\text{keys}}(S),
    \qquad O = A V,$$

    $$y = \operatorname{concat}_h(O_h)\, W_o^\top + b_o,$$

    where the causal mask $M$ is $-\infty$ above the diagonal (key $j$ later than query
    $i$) and 0 elsewhere. Dropout, in training mode only, zeroes attention weights $A$
    with probability ``dropout`` and scales the rest by $1/(1-p)$, as PyTorch does.

    Args:
        embed_dim: $E$, the size of each position's vector.
        num_heads: $H$; must divide ``embed_dim``.
        bias: if ``False``, neither projection has a bias.
        causal: if ``True``, position $i$ attends only to positions $j \le i$ (PyTorch's
            ``attn_mask`` from ``generate_square_subsequent_mask`` / ``is_causal=True``).
        dropout: probability of zeroing an attention weight in training mode, in $[0, 1)$.
        dtype: ``np.float32`` or ``np.float64``; default ``chainrule.get_default_dtype()``.
        rng: ``numpy.random.Generator`` for the initial values and the dropout masks;
            default the package's generator (``chainrule.manual_seed``).

    Shape:
        ``(N, T, E) -> (N, T, E)`` (batch first), or unbatched ``(T, E) -> (T, E)``.

    Attributes:
        in_proj_weight: ``(3E, E)``, the rows of $W_q$, $W_k$, $W_v$ stacked; Xavier-uniform
            $\mathcal U(-a, a)$, $a = \sqrt{6/(E + 3E)}$, as PyTorch.
        in_proj_bias: ``(3E,)``, zeros; ``None`` if ``bias=False``.
        out_proj: a :class:`Linear` ``(E -> E)`` holding ``out_proj.weight`` (PyTorch's
            ``Linear`` default init, $\mathcal U(\pm 1/\sqrt E)$) and ``out_proj.bias`` (zeros).
    """

    def __init__(self, embed_dim: int, num_heads: int, bias: bool = True, causal: bool = False,
                 dropout: float = 0.0, *, dtype=None, rng=None):
        super().__init__()
        self.embed_dim, self.num_heads = checks.heads(embed_dim, num_heads, "SelfAttention")
        self.dropout = checks.in_range(dropout, "SelfAttention", "dropout", low=0, high=1, high_open=True,
                                       words="a probability in [0, 1)", type_error=ValueError)
        bias = checks.flag(bias, "SelfAttention", "bias")
        self.causal = checks.flag(causal, "SelfAttention", "causal")
        self.head_dim = self.embed_dim // self.num_heads
        self.rng = rng
        dtype = check_float_dtype(dtype, "SelfAttention")
        E = self.embed_dim
        self.in_proj_weight = Parameter(np.empty((3 * E, E), dtype=dtype))
        self.register_parameter("in_proj_bias", Parameter(np.empty(3 * E, dtype=dtype)) if bias else None)
        # As in PyTorch, out_proj is created (and draws Linear's default init) before
        # in_proj_weight is filled.
        self.out_proj = Linear(E, E, bias=bool(bias), dtype=dtype, rng=rng)
        self._reset_in_proj(rng)

    def reset_parameters(self, rng=None) -> None:
        """PyTorch's init: ``out_proj.weight`` as a Linear, ``in_proj_weight`` Xavier-uniform,
        both biases zero."""
        self.out_proj.reset_parameters(rng)
        self._reset_in_proj(rng)

    def _reset_in_proj(self, rng) -> None:
        init.xavier_uniform_(self.in_proj_weight, rng=resolve_rng(rng=rng, owner="SelfAttention"))
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def _split_heads(self, z):
        """(N, T, E) -> (N, H, T, d): head h is columns h*d .. (h+1)*d of the projection."""
        N, T, _ = z.shape
        return z.reshape(N, T, self.num_heads, self.head_dim).transpose(0, 2, 1, 3)

    @staticmethod
    def _merge_heads(z):
        """(N, H, T, d) -> (N, T, E), the inverse of ``_split_heads`` (the concat over heads)."""
        N, H, T, d = z.shape
        return z.transpose(0, 2, 1, 3).reshape(N, T, H * d)

    def forward(self, x):
        W = self.in_proj_weight.data
        x = checks.sequence_features(x, "SelfAttention", self.embed_dim, W.dtype)
        batched = x.ndim == 3
        xb = x if batched else x[None]                        # (N, T, E)
        N, T, E = xb.shape

        # One GEMM for the three projections over all N*T positions (a 2-D product: NumPy runs a
        # 3-D @ 2-D one as N separate GEMMs), then split into Q, K, V and into heads.
        qkv = (xb.reshape(N * T, E) @ W.T).reshape(N, T, 3 * E)  # (N, T, 3E)
        if self.in_proj_bias is not None:
            qkv += self.in_proj_bias.data
        q = self._split_heads(qkv[..., :E])                   # (N, H, T, d)
        k = self._split_heads(qkv[..., E:2 * E])              # (N, H, T, d)
        v = self._split_heads(qkv[..., 2 * E:])               # (N, H, T, d)
        dropout_p = self.dropout if self.training else 0.0
        rng = resolve_rng(rng=self.rng, owner="SelfAttention") if dropout_p > 0.0 else None
        out, attn, drop = scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=self.causal, rng=rng)
        context = self._merge_heads(out)                      # O per head, concatenated: (N, T, E)
        # backward needs x (for dW_in), Q, K, V (for dA, dQ, dK), A (softmax's Jacobian is a
        # function of A; dV needs it) and the dropout mask. out_proj keeps its own input.
        self.save_for_backward(xb, q, k, v, attn, drop, batched)
        y = self.out_proj(context.reshape(N * T, E)).reshape(N, T, E)  # as rows: one GEMM
        return y if batched else y[0]

    def backward(self, grad_output):
        r"""Given $G = \partial C/\partial y$, shape ``(N, T, E)`` (or ``(T, E)``):

        - output projection (``out_proj.backward``): $\partial C/\partial O = G W_o$, and
          $W_o$, $b_o$ accumulate their gradients;
        - the attention core, per head: $\partial C/\partial Q$, $\partial C/\partial K$,
          $\partial C/\partial V$ from :func:`scaled_dot_product_attention_backward`;
        - input projection, $[Q\,K\,V] = x W_\text{in}^\top + b_\text{in}$:
          $\partial C/\partial W_\text{in} \mathrel{+}= \delta^\top x$,
          $\partial C/\partial b_\text{in} \mathrel{+}= \sum \delta$, and the returned
          $\partial C/\partial x = \delta W_\text{in}$ with $\delta = [\partial C/\partial Q\;
          \partial C/\partial K\; \partial C/\partial V]$, which sums the gradients of the three
          uses of $x$.
        """
        xb, q, k, v, attn, drop, batched = self.saved_tensors
        W = self.in_proj_weight.data
        g = checks.grad_of_shape(grad_output, "SelfAttention.backward", "grad_output",
                                 xb.shape if batched else xb.shape[1:], W.dtype)
        g = g if batched else g[None]                         # (N, T, E)
        N, T, E = xb.shape

        d_context = self.out_proj.backward(g.reshape(N * T, E))  # dC/dO concatenated, (N*T, E)
        d_out = self._split_heads(d_context.reshape(N, T, E))   # dC/dO per head, (N, H, T, d)
        d_q, d_k, d_v = scaled_dot_product_attention_backward(d_out, q, k, v, attn, drop)

        # The three projections' gradients side by side, as [Q K V] = x W_in^T + b_in.
        delta = np.concatenate(
            [self._merge_heads(d_q), self._merge_heads(d_k), self._merge_heads(d_v)], axis=-1
        )                                                     # (N, T, 3E)
        rows = delta.reshape(N * T, 3 * E)
        if self.in_proj_weight.requires_grad:
            accumulate_grad(self.in_proj_weight, rows.T @ xb.reshape(N * T, E))  # (3E, E)
        if self.in_proj_bias is not None and self.in_proj_bias.requires_grad:
            accumulate_grad(self.in_proj_bias, rows.sum(axis=0))                 # (3E,)
        grad_x = (rows @ W).reshape(N, T, E)                  # dx = dQ W_q + dK W_k + dV W_v
        return grad_x if batched else grad_x[0]

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"bias={self.in_proj_bias is not None}, causal={self.causal}, dropout={self.dropout}")
