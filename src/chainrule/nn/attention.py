r"""Attention: the core as a function pair, ``scaled_dot_product_attention`` and
``scaled_dot_product_attention_backward`` (per head, arrays in and out); SelfAttention,
multi-head self-attention as PyTorch's ``MultiheadAttention(E, H, batch_first=True)(x, x, x)``;
and MultiheadAttention, PyTorch's layer itself (queries, keys and values apart, masks, layouts).
Both compose their input and output projections around that pair."""

from __future__ import annotations

import math
import warnings

import numpy as np

from .._config import check_float_dtype, resolve_rng
from . import stable
from .activation import softmax_backward
from .dropout import dropout_mask
from . import init
from .. import _checks as checks
from .linear import Linear, linear
from .module import Module, Parameter, accumulate_grad


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 *, rng=None, all_masked="zeros"):
    r"""Attention of every query over the keys, per head (any leading axes, e.g. ``(N, H, T, d)``):

    $$S = s\, Q K^\top \;(+\,M),\qquad A = \operatorname{softmax}_{\text{keys}}(S),\qquad O = \tilde A V,$$

    with $s$ = ``scale`` (default $1/\sqrt d$), $M$ the additive ``attn_mask`` (a boolean one:
    ``True`` where a query may attend) or, with ``is_causal``, $-\infty$ above the diagonal (key
    $j$ later than query $i$), and $\tilde A = A \odot$ an inverted-dropout mask (drop
    probability ``dropout_p``, from ``rng``) or $A$ itself.

    A query whose every key is masked (its scores all $-\infty$) has no softmax: with
    ``all_masked="zeros"`` its row of $A$ is zeros, so its output is 0 and it passes no gradient,
    as PyTorch's ``scaled_dot_product_attention``; with ``"nan"`` the row is NaN, as
    $e^{-\infty} / \sum e^{-\infty} = 0/0$ in PyTorch's ``MultiheadAttention`` with
    ``need_weights=True`` (see :func:`softmax_over_keys`).

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
    attn = softmax_over_keys(scores, all_masked)              # A, each row sums to 1 over the keys
    if dropout_p > 0.0:
        drop = dropout_mask(attn.shape, dropout_p, rng, attn.dtype)
        weights = attn * drop                                 # dropout on the attention weights
    else:
        drop = None
        weights = attn
    return weights @ value, attn, drop                        # O = A V


def fully_masked_rows(scores):
    r"""Where a query has no key to attend, every score $-\infty$: a boolean array shaped like
    ``scores`` without its last axis (False everywhere when there are no keys at all)."""
    if scores.shape[-1] == 0:
        return np.zeros(scores.shape[:-1], dtype=bool)
    return np.logical_and.reduce(scores == -np.inf, axis=-1)


def softmax_over_keys(scores, all_masked="zeros"):
    r"""$A = \operatorname{softmax}(S)$ over the last axis (the keys), and for a row whose scores
    are all $-\infty$ (:func:`fully_masked_rows`) what PyTorch gives there: zeros
    (``all_masked="zeros"``, its ``scaled_dot_product_attention``, which skips such rows) or NaN
    (``"nan"``, the plain softmax of its ``MultiheadAttention`` with ``need_weights=True``:
    $-\infty - \max = -\infty - (-\infty)$)."""
    checks.choice(all_masked, "softmax_over_keys", "all_masked", ("zeros", "nan"))
    with np.errstate(invalid="ignore"):                       # the 0/0 of such rows: NaN, as PyTorch's
        attn = stable.softmax(scores, axis=-1)
    # Such a row is NaN throughout, so its first weight is: a look at one column, not a pass over
    # the scores, before the exact test. (A NaN or infinite score makes a NaN row too: it stays
    # NaN, and is not silent.)
    nan_rows = np.isnan(attn[..., 0]) if attn.shape[-1] else np.zeros(attn.shape[:-1], dtype=bool)
    if nan_rows.any():
        empty = fully_masked_rows(scores)
        if all_masked == "zeros":
            np.copyto(attn, 0, where=empty[..., None])        # no key: no weight, output 0, no gradient
        if (nan_rows & ~empty).any():
            warnings.warn("attention: a NaN or infinite score made a row of attention weights NaN",
                          RuntimeWarning, stacklevel=3)
    return attn


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

        a masked score has $A = 0$ and so gets zero gradient (a query with every key masked
        has a row of zeros, hence no gradient at all; a NaN row stays NaN);

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


def add_bias_kv(key, value, bias_k, bias_v):
    r"""PyTorch's ``add_bias_kv``: one more key and one more value for every sample, the learned
    rows $b_k$, $b_v$, appended after the in-projection (keys ``(N, S, E)``, biases ``(1, 1, E)``):

    $$K' = \begin{bmatrix} K \\ b_k \end{bmatrix},\qquad V' = \begin{bmatrix} V \\ b_v \end{bmatrix}
    \quad\text{(per sample, } (S + 1) \times E\text{)}.$$

    The masks get one more column of 0 (allowed) for that position. Returns ``(key, value)``, each ``(N, S + 1, E)``."""
    N, _, E = key.shape
    key = np.concatenate([key, np.broadcast_to(bias_k, (N, 1, E))], axis=1)
    value = np.concatenate([value, np.broadcast_to(bias_v, (N, 1, E))], axis=1)
    return key, value


def add_bias_kv_backward(grad_key, grad_value):
    r"""Given $\partial C/\partial K'$ and $\partial C/\partial V'$, ``(N, S + 1, E)``: the first
    $S$ rows are the gradients of $K$ and $V$; the last row of every sample is $b_k$'s (and $b_v$'s),
    one row shared by the whole batch, so its gradient is the sum over the batch:

    $$\frac{\partial C}{\partial b_k} = \sum_n \frac{\partial C}{\partial K'_{n, S}},\qquad
    \frac{\partial C}{\partial b_v} = \sum_n \frac{\partial C}{\partial V'_{n, S}}.$$

    Returns ``(grad_key, grad_value, grad_bias_k, grad_bias_v)``, the biases' ``(1, 1, E)``."""
    grad_bias_k = grad_key[:, -1:].sum(axis=0, keepdims=True)     # (1, 1, E)
    grad_bias_v = grad_value[:, -1:].sum(axis=0, keepdims=True)   # (1, 1, E)
    return grad_key[:, :-1], grad_value[:, :-1], grad_bias_k, grad_bias_v


def add_zero_attn(key, value):
    r"""PyTorch's ``add_zero_attn``: a key and a value of zeros appended to every head, after the
    split into heads (``(N, H, S, d) -> (N, H, S + 1, d)``). Its score is $q \cdot 0 = 0$ for every
    query (the masks get one more column of 0 for it), and the weight a query puts there adds
    nothing to its output ($0 \cdot$ weight). Returns ``(key, value)``."""
    zeros = np.zeros(key.shape[:-2] + (1, key.shape[-1]), dtype=key.dtype)
    return np.concatenate([key, zeros], axis=-2), np.concatenate([value, zeros], axis=-2)


def add_zero_attn_backward(grad_key, grad_value):
    r"""The zero rows are constants, not a function of anything: their gradient is dropped, and
    $\partial C/\partial K$, $\partial C/\partial V$ are the first $S$ rows of each head's."""
    return grad_key[..., :-1, :], grad_value[..., :-1, :]


def _allow_extra_keys(mask, extra):
    """``mask`` (additive, keys on the last axis) with ``extra`` more columns of 0, "allowed", for
    the keys ``add_bias_kv`` / ``add_zero_attn`` append; ``None`` stays ``None``."""
    if mask is None or extra == 0:
        return mask
    return np.pad(mask, [(0, 0)] * (mask.ndim - 1) + [(0, extra)])


def _additive_mask(mask, dtype):
    """A bool mask in MultiheadAttention's convention (``True`` = may NOT attend) as the additive
    $M$ ($-\\infty$ there, 0 elsewhere); a float mask is already additive."""
    if mask is None or mask.dtype != bool:
        return mask
    return np.where(mask, -np.inf, 0.0).astype(dtype)


class MultiheadAttention(Module):
    r"""Multi-head attention of queries over separate keys and values, as
    ``torch.nn.MultiheadAttention``: same constructor, parameter names, shapes, init, layouts
    and masks, so a torch ``state_dict`` loads as it is.

    With query rows $x_q$ (length $L$), key rows $x_k$ and value rows $x_v$ (length $S$), $H$
    heads of size $d = E/H$ and head $h$'s slices of the projections,

    $$Q = x_q W_q^\top + b_q,\quad K = x_k W_k^\top + b_k,\quad V = x_v W_v^\top + b_v,$$

    $$A = \operatorname{softmax}_{\text{keys}}\Big(\frac{Q K^\top}{\sqrt d} + M\Big),\qquad
    O = A V,\qquad y = \operatorname{concat}_h(O_h)\, W_o^\top + b_o,$$

    where $M$ adds ``attn_mask`` and ``key_padding_mask``: a boolean mask is ``True`` where a
    query may NOT attend ($M = -\infty$ there; the opposite of
    ``scaled_dot_product_attention``'s boolean mask, as in PyTorch), a float mask is added
    as it is. Dropout, in training mode, zeroes attention weights $A$ with probability
    ``dropout`` (from ``rng``) and scales the rest by $1/(1-p)$.

    Two options append keys, in PyTorch's order: ``add_bias_kv`` appends the learned rows
    ``bias_k`` to $K$ and ``bias_v`` to $V$ after the projections (:func:`add_bias_kv`, one more
    position per sample), then ``add_zero_attn`` a row of zeros to each head's $K$ and $V$
    (:func:`add_zero_attn`). Each pads both masks with a column of 0 (allowed), so with both
    on there are $S + 2$ keys, and the weights have $S + 2$ columns. (Where the ``is_causal``
    hint is trusted, the causal mask spans all the keys, query $i$ seeing keys $j \le i$: it
    hides the appended ones from the earlier queries, as PyTorch's does.)

    A query whose every key is masked gets PyTorch's numbers, which depend on ``need_weights``:
    with ``False`` its row of $A$ is zeros (its output is ``out_proj``'s bias, and it passes no
    gradient); with ``True`` the softmax is $0/0$, so its output and weights are NaN and backward
    spreads the NaN to every parameter gradient, with a ``RuntimeWarning`` saying so. (PyTorch's
    fused inference kernel, taken in eval mode without grad, gives NaN even with
    ``need_weights=False``; chainrule has one path, and keeps the zeros.)

    Args:
        embed_dim: $E$, the size of a query (and of the output).
        num_heads: $H$; must divide ``embed_dim``.
        dropout: probability of zeroing an attention weight in training mode, in $[0, 1]$.
        bias: if ``False``, neither projection has a bias.
        add_bias_kv: if ``True``, a learned key row ``bias_k`` and value row ``bias_v`` are
            appended to every sample's keys and values (after the projections).
        add_zero_attn: if ``True``, a key and value of zeros are appended to every head
            (after ``add_bias_kv``'s).
        kdim: the size of a key row; default ``embed_dim``.
        vdim: the size of a value row; default ``embed_dim``.
        batch_first: if ``True``, inputs and output are ``(N, L, E)``; else ``(L, N, E)``.
        dtype: ``np.float32`` or ``np.float64``; default ``chainrule.get_default_dtype()``.
        rng: ``numpy.random.Generator`` for the initial values and the dropout masks;
            default the package's generator (``chainrule.manual_seed``).

    Shape:
        query ``(L, N, E)``, key ``(S, N, kdim)``, value ``(S, N, vdim)`` (``batch_first``:
        ``(N, L, E)``, ``(N, S, kdim)``, ``(N, S, vdim)``; unbatched: ``(L, E)``, ``(S, kdim)``,
        ``(S, vdim)``) -> output shaped like query, weights ``(N, L, S')`` (per head
        ``(N, H, L, S')``; unbatched without the ``N``), $S' = S$ plus one for each of
        ``add_bias_kv`` and ``add_zero_attn``.

    Attributes:
        in_proj_weight: ``(3E, E)``, the rows of $W_q$, $W_k$, $W_v$ stacked, when
            ``kdim == vdim == embed_dim``; else ``None`` and ``q_proj_weight`` ``(E, E)``,
            ``k_proj_weight`` ``(E, kdim)``, ``v_proj_weight`` ``(E, vdim)``. Xavier-uniform, as PyTorch.
        in_proj_bias: ``(3E,)``, zeros; ``None`` if ``bias=False``.
        bias_k, bias_v: ``(1, 1, E)`` with ``add_bias_kv`` (Xavier-normal,
            $\mathcal N(0, 1/E)$, as PyTorch), else ``None``.
        out_proj: a ``Linear`` ``(E -> E)``: ``out_proj.weight`` with Linear's default
            init, ``out_proj.bias`` zeros.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim=None, vdim=None,
                 batch_first: bool = False, *, dtype=None, rng=None):
        super().__init__()
        name = "MultiheadAttention"
        self.embed_dim, self.num_heads = checks.heads(embed_dim, num_heads, name)
        self.dropout = checks.in_range(dropout, name, "dropout", low=0, high=1, words="a probability in [0, 1]",
                                       type_error=ValueError)
        bias = checks.flag(bias, name, "bias")
        add_bias_kv = checks.flag(add_bias_kv, name, "add_bias_kv")
        self.add_zero_attn = checks.flag(add_zero_attn, name, "add_zero_attn")
        E = self.embed_dim
        self.kdim = E if kdim is None else checks.integer(kdim, name, "kdim", minimum=1)
        self.vdim = E if vdim is None else checks.integer(vdim, name, "vdim", minimum=1)
        self._qkv_same_embed_dim = self.kdim == E and self.vdim == E
        self.batch_first = checks.flag(batch_first, name, "batch_first")
        self.head_dim = E // self.num_heads
        self.rng = rng
        dtype = check_float_dtype(dtype, name)
        # Registered in PyTorch's order, so state_dict() lists the same keys in the same order.
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(np.empty((3 * E, E), dtype=dtype))
            for unused in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(unused, None)
        else:
            self.q_proj_weight = Parameter(np.empty((E, E), dtype=dtype))
            self.k_proj_weight = Parameter(np.empty((E, self.kdim), dtype=dtype))
            self.v_proj_weight = Parameter(np.empty((E, self.vdim), dtype=dtype))
            self.register_parameter("in_proj_weight", None)
        self.register_parameter("in_proj_bias", Parameter(np.empty(3 * E, dtype=dtype)) if bias else None)
        # As in PyTorch, out_proj draws Linear's default init before the projections are filled.
        self.out_proj = Linear(E, E, bias=bias, dtype=dtype, rng=rng)
        if add_bias_kv:
            self.bias_k = Parameter(np.empty((1, 1, E), dtype=dtype))
            self.bias_v = Parameter(np.empty((1, 1, E), dtype=dtype))
        else:
            self.bias_k = self.bias_v = None                 # plain attributes, as in PyTorch
        self._reset_in_proj(rng)

    def reset_parameters(self, rng=None) -> None:
        """PyTorch's init: ``out_proj.weight`` as a Linear, the input projections
        Xavier-uniform, both biases zero, ``bias_k`` and ``bias_v`` Xavier-normal."""
        self.out_proj.reset_parameters(rng)
        self._reset_in_proj(rng)

    def _reset_in_proj(self, rng) -> None:
        rng = resolve_rng(rng=rng, owner="MultiheadAttention")
        for weight in (self.in_proj_weight, self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
            if weight is not None:
                init.xavier_uniform_(weight, rng=rng)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        for row in (self.bias_k, self.bias_v):
            if row is not None:
                init.xavier_normal_(row, rng=rng)          # (1, 1, E): fan_in = fan_out = E

    def _projections(self):
        """$(W_q, W_k, W_v)$ and $(b_q, b_k, b_v)$ (``None`` without bias): views of the
        stacked ``in_proj_weight`` / ``in_proj_bias``, or the three separate weights."""
        E = self.embed_dim
        if self.in_proj_weight is not None:
            W = self.in_proj_weight.data
            weights = (W[:E], W[E:2 * E], W[2 * E:])
        else:
            weights = (self.q_proj_weight.data, self.k_proj_weight.data, self.v_proj_weight.data)
        b = None if self.in_proj_bias is None else self.in_proj_bias.data
        biases = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
        return weights, biases

    def _batch_first(self, x, batched):
        """Any accepted layout -> ``(N, T, features)`` (a view)."""
        if not batched:
            return x[None]
        return x if self.batch_first else x.swapaxes(0, 1)

    def _layout(self, x, batched):
        """``(N, T, features)`` -> the layout the inputs came in (the inverse of ``_batch_first``)."""
        if not batched:
            return x[0]
        return x if self.batch_first else x.swapaxes(0, 1)

    def _split_heads(self, z):
        """(N, T, E) -> (N, H, T, d): head h is columns h*d .. (h+1)*d of the projection."""
        N, T, _ = z.shape
        return z.reshape(N, T, self.num_heads, self.head_dim).transpose(0, 2, 1, 3)

    _merge_heads = staticmethod(SelfAttention._merge_heads)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        """Returns ``(output, weights)``: output shaped like ``query``; the attention weights
        (after dropout, as PyTorch returns them) averaged over the heads, or per head with
        ``average_attn_weights=False``, or ``None`` with ``need_weights=False``."""
        (Wq, Wk, Wv), (bq, bk, bv) = self._projections()
        same = query is key and key is value                  # self-attention: backward returns one array
        query, key, value, key_padding_mask, attn_mask, batched = checks.multihead_inputs(
            self, query, key, value, key_padding_mask, attn_mask,
            {"need_weights": need_weights, "average_attn_weights": average_attn_weights, "is_causal": is_causal},
            Wq.dtype)
        xq, xk, xv = (self._batch_first(x, batched) for x in (query, key, value))  # (N, L, E), (N, S, kdim), ...
        N, L, E = xq.shape
        S = xk.shape[1]

        # The three projections, each one GEMM over all rows, then split into heads.
        q = self._split_heads(linear(xq.reshape(N * L, -1), Wq, bq).reshape(N, L, E))  # (N, H, L, d)
        k = linear(xk.reshape(N * S, -1), Wk, bk).reshape(N, S, E)                     # (N, S, E)
        v = linear(xv.reshape(N * S, -1), Wv, bv).reshape(N, S, E)                     # (N, S, E)
        if self.bias_k is not None:                           # one more key/value: bias_k, bias_v
            k, v = add_bias_kv(k, v, self.bias_k.data, self.bias_v.data)                # (N, S+1, E)
        k, v = self._split_heads(k), self._split_heads(v)     # (N, H, S(+1), d)
        if self.add_zero_attn:                                # and a zero one, per head
            k, v = add_zero_attn(k, v)                        # (N, H, S(+1)+1, d)
        extra = k.shape[2] - S                                # keys appended (0, 1 or 2): the masks allow them

        # M = attn_mask + key_padding_mask, additive, broadcast to (N, H, L, S). is_causal is a hint
        # (attn_mask must be given): PyTorch trusts it, and uses the causal mask in place of attn_mask,
        # only without key_padding_mask and need_weights; so do we.
        causal = is_causal and key_padding_mask is None and not need_weights
        mask = None if causal else _allow_extra_keys(_additive_mask(attn_mask, Wq.dtype), extra)
        if mask is not None and mask.ndim == 3:
            mask = mask.reshape(-1, self.num_heads, L, S + extra)  # (N*H, L, S') or (H, L, S') -> (N or 1, H, L, S')
        if key_padding_mask is not None:
            pad = _allow_extra_keys(_additive_mask(key_padding_mask, Wq.dtype), extra)
            pad = pad.reshape(-1, 1, 1, S + extra)            # (N, 1, 1, S')
            mask = pad if mask is None else mask + pad
        dropout_p = self.dropout if self.training else 0.0
        rng = resolve_rng(rng=self.rng, owner="MultiheadAttention") if dropout_p > 0.0 else None
        # A query with every key masked: PyTorch's need_weights=True path takes the plain softmax, 0/0
        # = NaN there (and in every gradient that row reaches); its need_weights=False path gives zeros.
        all_masked = "nan" if need_weights else "zeros"
        if need_weights and mask is not None and fully_masked_rows(mask).any():  # last axis: the keys
            warnings.warn(
                "MultiheadAttention: a query has every key masked (attn_mask and key_padding_mask together); "
                "with need_weights=True its output and attention weights are NaN there, as PyTorch's, and "
                "backward spreads the NaN to every parameter gradient. With need_weights=False that query "
                "attends to nothing instead (its output is out_proj's bias), as in PyTorch",
                RuntimeWarning, stacklevel=3)
        out, attn, drop = scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p,
                                                       is_causal=causal, rng=rng, all_masked=all_masked)
        context = self._merge_heads(out)                      # O per head, concatenated: (N, L, E)
        # backward needs the inputs (for the projections' weight gradients), Q, K, V (dA, dQ, dK;
        # K and V with their appended rows), A and the dropout mask (softmax's Jacobian, dV);
        # out_proj keeps its own input.
        self.save_for_backward(xq, xk, xv, q, k, v, attn, drop, batched, same)
        y = self.out_proj(context.reshape(N * L, E)).reshape(N, L, E)  # as rows: one GEMM
        if not need_weights:
            return self._layout(y, batched), None
        weights = attn if drop is None else attn * drop       # what multiplied V, (N, H, L, S')
        if average_attn_weights:
            weights = weights.mean(axis=1)                    # (N, L, S)
        return self._layout(y, batched), weights if batched else weights[0]

    def backward(self, grad_output):
        r"""Given $G = \partial C/\partial y$, shaped like the output (the gradient of the
        attention weights output is not taken: it is a read-out, not part of $C$'s path here):

        - output projection (``out_proj.backward``): $\partial C/\partial O = G W_o$;
        - the attention core, per head: $\partial C/\partial Q$, $\partial C/\partial K$,
          $\partial C/\partial V$ from ``scaled_dot_product_attention_backward``
          (masked keys have $A = 0$ and get no gradient);
        - the appended keys and values: ``add_zero_attn``'s zero rows are constants, their
          gradient is dropped (:func:`add_zero_attn_backward`); ``add_bias_kv``'s rows are
          ``bias_k`` / ``bias_v`` in every sample, so
          $\partial C/\partial b_k \mathrel{+}= \sum_n \partial C/\partial K'_{n,S}$ (the last key row,
          heads merged) and likewise $b_v$ (:func:`add_bias_kv_backward`); $\delta_k$, $\delta_v$ below
          are the first $S$ rows;
        - each input projection, e.g. $Q = x_q W_q^\top + b_q$:
          $\partial C/\partial W_q \mathrel{+}= \delta_q^\top x_q$, $\partial C/\partial b_q
          \mathrel{+}= \sum \delta_q$, $\partial C/\partial x_q = \delta_q W_q$ with
          $\delta_q = \partial C/\partial Q$ (heads merged).

        Returns ``(dquery, dkey, dvalue)``, each shaped like its input; or one array,
        $\delta_q W_q + \delta_k W_k + \delta_v W_v$, when ``query``, ``key`` and ``value`` were
        the same array (self-attention: the sum over its three uses). ``None`` in their place
        when ``needs_input_grad`` is ``False``.
        """
        xq, xk, xv, q, k, v, attn, drop, batched, same = self.saved_tensors
        (Wq, Wk, Wv), _ = self._projections()
        g = checks.grad_of_shape(grad_output, "MultiheadAttention.backward", "grad_output",
                                 self._layout(xq, batched).shape, Wq.dtype,
                                 " (the forward output's)")
        g = self._batch_first(g, batched)                     # (N, L, E)
        N, L, E = g.shape

        d_context = self.out_proj.backward(g.reshape(N * L, E))  # dC/dO concatenated, (N*L, E)
        d_out = self._split_heads(d_context.reshape(N, L, E))   # dC/dO per head, (N, H, L, d)
        d_q, d_k, d_v = scaled_dot_product_attention_backward(d_out, q, k, v, attn, drop)  # (N, H, S', d)
        if self.add_zero_attn:                                # the zero rows: a constant, no gradient
            d_k, d_v = add_zero_attn_backward(d_k, d_v)
        d_q, d_k, d_v = (self._merge_heads(d) for d in (d_q, d_k, d_v))  # (N, L, E), (N, S(+1), E) x2
        if self.bias_k is not None:                           # dC/db_k = sum over n of dK'[n, S]
            d_k, d_v, d_bias_k, d_bias_v = add_bias_kv_backward(d_k, d_v)
            for row, grad in ((self.bias_k, d_bias_k), (self.bias_v, d_bias_v)):
                if row.requires_grad:
                    accumulate_grad(row, grad)
        deltas = [d.reshape(-1, E) for d in (d_q, d_k, d_v)]  # (N*L, E), (N*S, E) x2
        rows = [x.reshape(-1, x.shape[-1]) for x in (xq, xk, xv)]               # (N*L, E), (N*S, kdim), ...

        # BP4/BP3 for the three projections: dW = delta^T x, db = sum of delta.
        if self.in_proj_weight is not None:
            if self.in_proj_weight.requires_grad:
                accumulate_grad(self.in_proj_weight, np.concatenate([d.T @ x for d, x in zip(deltas, rows)]))
        else:
            for weight, d, x in zip((self.q_proj_weight, self.k_proj_weight, self.v_proj_weight), deltas, rows):
                if weight.requires_grad:
                    accumulate_grad(weight, d.T @ x)
        if self.in_proj_bias is not None and self.in_proj_bias.requires_grad:
            accumulate_grad(self.in_proj_bias, np.concatenate([d.sum(axis=0) for d in deltas]))  # (3E,)

        if not self.needs_input_grad:
            return None if same else (None, None, None)
        # BP2 for the inputs: dx_q = delta_q W_q, dx_k = delta_k W_k, dx_v = delta_v W_v.
        grads = [self._layout((d @ W).reshape(N, -1, W.shape[1]), batched)
                 for d, W in zip(deltas, (Wq, Wk, Wv))]
        if same:
            return grads[0] + grads[1] + grads[2]             # one array used three times
        return tuple(grads)

    def extra_repr(self) -> str:
        kv = "" if self._qkv_same_embed_dim else f", kdim={self.kdim}, vdim={self.vdim}"
        extra = ", add_bias_kv=True" if self.bias_k is not None else ""
        extra += ", add_zero_attn=True" if self.add_zero_attn else ""
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, "
                f"bias={self.in_proj_bias is not None}{extra}{kv}, batch_first={self.batch_first}")
