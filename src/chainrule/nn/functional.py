r"""``chainrule.nn.functional``, imported as ``F``: PyTorch's functions, each with its backward.

The forward functions take PyTorch's names, signatures and defaults and return what
``torch.nn.functional``'s return. chainrule has no autograd, so each has a public backward
beside it, named ``<name>_backward``, that returns the gradient of every float array the
forward was given (a tuple in the forward's argument order when there are several, ``None``
for one that was ``None``)::

    import chainrule.nn.functional as F

    z = F.linear(x, W, b)                       # forward, as PyTorch
    a = F.relu(z)
    ...
    dz = F.relu_backward(da, a)                 # backward, by hand: the chain rule
    dx, dW, db = F.linear_backward(dz, x, W)

The rule for what a backward takes: ``grad_output`` first, then what its derivative is
computed from, as PyTorch's own backward functions take it: the forward's output where the
derivative is cheapest from it (``tanh``, ``sigmoid``, ``softmax``, ``relu``), else the forward's
arguments; then the forward's options. Where the derivative needs an intermediate (the windows of
a convolution, the $\hat x$ of a normalisation, the weights $A$ of attention), the ``F``
backward takes the forward's arguments and recomputes it, one more forward's worth of work that
a module avoids by keeping the intermediate and calling its family file's pair (``conv.conv_nd`` /
``conv.conv_nd_backward`` and so on) directly. These functions check their options (an unknown
``reduction`` or ``approximate``, a ``delta`` that is not positive, ...) with the modules' checks,
raising the class PyTorch's function raises, and otherwise nothing a module would not: give them
the shapes PyTorch's take.

Under ``chainrule.no_grad()`` they are plain inference code: a forward keeps nothing anyway.
"""

from __future__ import annotations

import warnings

import numpy as np

from . import activation as _act
from . import attention as _attention
from . import loss as _loss
from . import pooling as _pooling
from . import conv as _convolution
from . import upsampling as _upsampling
from . import normalization as _norm
from .dropout import dropout_mask
from . import embedding as _embedding
from .embedding import embedding_backward
from .linear import linear, linear_backward
from .. import _checks
from .._config import resolve_rng
from ..grad_mode import no_grad


# -- activations -------------------------------------------------------------------------------
# The pairs of activation.py, under PyTorch's names: sigmoid/tanh/relu/softmax/log_softmax take
# the output in their backward, the others the input (see each docstring).
def _in_place(input, output, inplace: bool):
    if not inplace:
        return output
    input[...] = output
    return input


def relu(input, inplace: bool = False):
    r"""PyTorch's ``F.relu``: $\max(z, 0)$; ``inplace=True`` writes it into ``input``
    (:func:`relu_backward` reads only the output, so it stays right)."""
    return _in_place(input, _act.relu(input), inplace)


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False):
    """PyTorch's ``F.leaky_relu``. Its backward reads the input: with ``inplace=True``, keep a copy."""
    return _in_place(input, _act.leaky_relu(input, negative_slope), inplace)


def elu(input, alpha: float = 1.0, inplace: bool = False):
    """PyTorch's ``F.elu``. Its backward reads the input: with ``inplace=True``, keep a copy."""
    return _in_place(input, _act.elu(input, alpha), inplace)


def silu(input, inplace: bool = False):
    r"""PyTorch's ``F.silu``, $z\,\sigma(z)$. Its backward reads the input: with ``inplace=True``, keep a copy."""
    return _in_place(input, _act.silu(input), inplace)


_GELU_FORMS = ("none", "tanh")


def gelu(input, approximate: str = "none"):
    r"""PyTorch's ``F.gelu``: $z\,\Phi(z)$, or its tanh form with ``approximate='tanh'``."""
    _checks.choice(approximate, "gelu", "approximate", _GELU_FORMS, error=RuntimeError)  # RuntimeError: PyTorch's
    return _act.gelu(input, approximate)


def gelu_backward(grad_output, input, approximate: str = "none"):
    r"""$\delta \odot (\Phi(z) + z\varphi(z))$ (or the tanh form's derivative), from the input."""
    return _act.gelu_backward(grad_output, input, approximate)


def softplus(input, beta: float = 1.0, threshold: float = 20.0):
    r"""PyTorch's ``F.softplus``: $\frac1\beta\log(1 + e^{\beta z})$, the identity above ``threshold``."""
    return _act.softplus(input, beta, threshold)


def _softmax_dim(input, dim, name: str) -> int:
    if dim is None:  # PyTorch's implicit choice (deprecated there too)
        dim = 0 if input.ndim in (0, 1, 3) else 1
        warnings.warn(f"{name} without dim: dim={dim} chosen as PyTorch does; pass dim explicitly",
                      UserWarning, stacklevel=3)
    return dim


def softmax(input, dim=None, _stacklevel: int = 3, dtype=None):
    r"""PyTorch's ``F.softmax`` along ``dim`` (a 0-d input gives 1), computed in ``dtype`` if given."""
    input = np.asarray(input, dtype=dtype) if dtype is not None else np.asarray(input)
    return _act.softmax(input, _softmax_dim(input, dim, "softmax"))


def softmax_backward(grad_output, output, dim):
    r"""$s \odot (\delta - \langle \delta, s\rangle)$ along ``dim``, from the output $s$: the
    Jacobian-vector product of $\operatorname{diag}(s) - s s^\top$."""
    return _act.softmax_backward(grad_output, output, dim)


def log_softmax(input, dim=None, _stacklevel: int = 3, dtype=None):
    r"""PyTorch's ``F.log_softmax`` along ``dim``, computed in ``dtype`` if given."""
    input = np.asarray(input, dtype=dtype) if dtype is not None else np.asarray(input)
    return _act.log_softmax(input, _softmax_dim(input, dim, "log_softmax"))


sigmoid, sigmoid_backward = _act.sigmoid, _act.sigmoid_backward
tanh, tanh_backward = _act.tanh, _act.tanh_backward
relu_backward, leaky_relu_backward = _act.relu_backward, _act.leaky_relu_backward
elu_backward, silu_backward, softplus_backward = _act.elu_backward, _act.silu_backward, _act.softplus_backward
log_softmax_backward = _act.log_softmax_backward


# -- losses ------------------------------------------------------------------------------------
# The pairs of loss.py. PyTorch's signatures still carry the deprecated size_average and reduce
# in their positions: given, they decide the reduction as in PyTorch, with its warning
# (checks.legacy_reduction, which the loss modules' constructors share); else reduction is checked.
_legacy = _checks.legacy_reduction


def mse_loss(input, target, size_average=None, reduce=None, reduction: str = "mean"):
    r"""PyTorch's ``F.mse_loss``: $(x - y)^2$, reduced; backward :func:`mse_loss_backward`."""
    reduction = _legacy(size_average, reduce, reduction, "mse_loss")
    return _loss.mse_loss(input, target, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean"):
    r"""PyTorch's ``F.l1_loss``: $|x - y|$, reduced."""
    reduction = _legacy(size_average, reduce, reduction, "l1_loss")
    return _loss.l1_loss(input, target, reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean", beta: float = 1.0):
    """PyTorch's ``F.smooth_l1_loss``: quadratic below ``beta`` (``>= 0``), linear above."""
    reduction = _legacy(size_average, reduce, reduction, "smooth_l1_loss")
    _checks.non_negative_option(beta, "smooth_l1_loss", "beta", strict=False, value_error=RuntimeError)
    return _loss.smooth_l1_loss(input, target, reduction, beta)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction: str = "mean"):
    r"""PyTorch's ``F.binary_cross_entropy`` on probabilities: $-[y\log p + (1-y)\log(1-p)]$."""
    reduction = _legacy(size_average, reduce, reduction, "binary_cross_entropy")
    return _loss.binary_cross_entropy(input, target, weight, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction: str = "mean", pos_weight=None):
    """PyTorch's ``F.binary_cross_entropy_with_logits``: the sigmoid and the BCE in one stable step."""
    reduction = _legacy(size_average, reduce, reduction, "binary_cross_entropy_with_logits")
    return _loss.binary_cross_entropy_with_logits(input, target, weight, reduction, pos_weight)


def nll_loss(input, target, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
             reduction: str = "mean"):
    r"""PyTorch's ``F.nll_loss`` on log-probabilities: $-w_{t}\, x_{n, t_n}$, reduced."""
    reduction = _legacy(size_average, reduce, reduction, "nll_loss")
    return _loss.nll_loss(input, target, weight, ignore_index, reduction)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0):
    r"""PyTorch's ``F.cross_entropy`` on logits: log-softmax and NLL. Its backward
    :func:`cross_entropy_backward` takes ``probs = softmax(input, dim=1)``: $p - \text{onehot}(t)$."""
    reduction = _legacy(size_average, reduce, reduction, "cross_entropy")
    return _loss.cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing)


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0):
    r"""PyTorch's ``F.huber_loss``: $\tfrac12 d^2$ below ``delta`` ($> 0$), $\delta(|d| - \tfrac12\delta)$ above."""
    reduction = _checks.reduction(reduction, "huber_loss")
    _checks.non_negative_option(delta, "huber_loss", "delta", strict=True, value_error=RuntimeError)
    return _loss.huber_loss(input, target, reduction, delta)


# The backwards take the forward's options, the legacy ones included (a keyword each, after
# loss.py's arguments), and check them as the forwards do; the maths is loss.py's pair.
def mse_loss_backward(grad_output, input, target, reduction: str = "mean", *, size_average=None, reduce=None):
    r"""$2 (x - y)\cdot g$, divided by $n$ for 'mean' (``loss.mse_loss_backward``)."""
    reduction = _legacy(size_average, reduce, reduction, "mse_loss_backward")
    return _loss.mse_loss_backward(grad_output, input, target, reduction)


def l1_loss_backward(grad_output, input, target, reduction: str = "mean", *, size_average=None, reduce=None):
    r"""$\operatorname{sign}(x - y)\cdot g$ (0 where $x = y$), divided by $n$ for 'mean' (``loss.l1_loss_backward``)."""
    reduction = _legacy(size_average, reduce, reduction, "l1_loss_backward")
    return _loss.l1_loss_backward(grad_output, input, target, reduction)


def smooth_l1_loss_backward(grad_output, input, target, reduction: str = "mean", beta: float = 1.0, *,
                            size_average=None, reduce=None):
    r"""$d/\beta$ where $|d| < \beta$, else $\operatorname{sign}(d)$, times $g$, divided by $n$
    for 'mean' (``loss.smooth_l1_loss_backward``)."""
    reduction = _legacy(size_average, reduce, reduction, "smooth_l1_loss_backward")
    _checks.non_negative_option(beta, "smooth_l1_loss_backward", "beta", strict=False, value_error=RuntimeError)
    return _loss.smooth_l1_loss_backward(grad_output, input, target, reduction, beta)


def huber_loss_backward(grad_output, input, target, reduction: str = "mean", delta: float = 1.0):
    r"""The error $x - y$ clipped to $[-\delta, \delta]$, times $g$, divided by $n$ for 'mean'
    (``loss.huber_loss_backward``)."""
    reduction = _checks.reduction(reduction, "huber_loss_backward")
    _checks.non_negative_option(delta, "huber_loss_backward", "delta", strict=True, value_error=RuntimeError)
    return _loss.huber_loss_backward(grad_output, input, target, reduction, delta)


def binary_cross_entropy_backward(grad_output, input, target, weight=None, reduction: str = "mean", *,
                                  size_average=None, reduce=None):
    r"""$w\,(x - y)/(x(1 - x))$, the denominator clamped at $10^{-12}$ as PyTorch's, times $g$,
    divided by $n$ for 'mean' (``loss.binary_cross_entropy_backward``)."""
    reduction = _legacy(size_average, reduce, reduction, "binary_cross_entropy_backward")
    return _loss.binary_cross_entropy_backward(grad_output, input, target, weight, reduction)


def binary_cross_entropy_with_logits_backward(grad_output, input, target, weight=None, reduction: str = "mean",
                                              pos_weight=None, *, size_average=None, reduce=None):
    r"""$w\,\big((1 + (p_c - 1)y)\,\sigma(x) - p_c\,y\big)$, without ``pos_weight`` BP1's
    $w\,(\sigma(x) - y)$, times $g$, divided by $n$ for 'mean'
    (``loss.binary_cross_entropy_with_logits_backward``)."""
    reduction = _legacy(size_average, reduce, reduction, "binary_cross_entropy_with_logits_backward")
    return _loss.binary_cross_entropy_with_logits_backward(grad_output, input, target, weight, reduction, pos_weight)


def nll_loss_backward(grad_output, input, target, weight=None, ignore_index: int = -100, reduction: str = "mean",
                      *, size_average=None, reduce=None):
    r"""A one-hot row per prediction scaled by $-w_{t_n}$ (0 for an ignored row), times $g$,
    divided by $\sum_n w_{t_n}$ for 'mean' (``loss.nll_loss_backward``)."""
    reduction = _legacy(size_average, reduce, reduction, "nll_loss_backward")
    return _loss.nll_loss_backward(grad_output, input, target, weight, ignore_index, reduction)


def cross_entropy_backward(grad_output, probs, target, weight=None, ignore_index: int = -100,
                           reduction: str = "mean", label_smoothing: float = 0.0, *, size_average=None, reduce=None):
    r"""From ``probs = softmax(input, dim=1)``: the textbook
    $(\operatorname{softmax}(x) - \operatorname{onehot}(t))\cdot g / N$ in the plain case, each
    option a branch of ``loss.cross_entropy_backward``."""
    reduction = _legacy(size_average, reduce, reduction, "cross_entropy_backward")
    return _loss.cross_entropy_backward(grad_output, probs, target, weight, ignore_index, reduction, label_smoothing)


# kl_div, poisson_nll_loss and the margin losses: loss.py's pairs, PyTorch's signatures; each
# checks its options (and a class-index target) in one line, as a module would.
def kl_div(input, target, size_average=None, reduce=None, reduction: str = "mean", log_target: bool = False):
    r"""PyTorch's ``F.kl_div`` on log-probabilities: $y(\log y - x)$, reduced ('batchmean':
    the sum over the batch size, the KL divergence's value). PyTorch also warns that 'mean'
    averages over every element; this one does not warn."""
    if size_average is None and reduce is None:
        _checks.choice(reduction, "kl_div", "reduction", ("mean", "batchmean", "sum", "none"))
    else:
        reduction = _legacy(size_average, reduce, reduction, "kl_div")
    return _loss.kl_div(input, target, reduction, log_target)


def poisson_nll_loss(input, target, log_input: bool = True, full: bool = False, size_average=None,
                     eps: float = 1e-8, reduce=None, reduction: str = "mean"):
    r"""PyTorch's ``F.poisson_nll_loss``: $e^x - yx$ on a log-rate, or $x - y\log(x + \epsilon)$."""
    reduction = _legacy(size_average, reduce, reduction, "poisson_nll_loss")
    return _loss.poisson_nll_loss(input, target, log_input, full, eps, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction: str = "mean"):
    r"""PyTorch's ``F.soft_margin_loss``: $\log(1 + e^{-yx})$, targets $\pm 1$."""
    reduction = _legacy(size_average, reduce, reduction, "soft_margin_loss")
    return _loss.soft_margin_loss(input, target, reduction)


def hinge_embedding_loss(input, target, margin: float = 1.0, size_average=None, reduce=None,
                         reduction: str = "mean"):
    r"""PyTorch's ``F.hinge_embedding_loss``: $x$ for $y = 1$, $\max(0, \Delta - x)$ for $y = -1$."""
    reduction = _legacy(size_average, reduce, reduction, "hinge_embedding_loss")
    return _loss.hinge_embedding_loss(input, target, margin, reduction)


def multi_margin_loss(input, target, p: int = 1, margin: float = 1.0, weight=None, size_average=None,
                      reduce=None, reduction: str = "mean"):
    r"""PyTorch's ``F.multi_margin_loss``: $\frac1C\sum_{c \ne t} w_t \max(0, \Delta - x_t + x_c)^p$."""
    reduction = _legacy(size_average, reduce, reduction, "multi_margin_loss")
    p = _checks.margin_power(p, "multi_margin_loss")
    input, target, weight = _checks.multi_margin_inputs("multi_margin_loss", input, target, weight)
    return _loss.multi_margin_loss(input, target, p, margin, weight, reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction: str = "mean"):
    r"""PyTorch's ``F.multilabel_margin_loss``: each label (a target row's indices before its
    first -1) against each non-label class, $\frac1C\sum \max(0, 1 - x_y + x_c)$."""
    reduction = _legacy(size_average, reduce, reduction, "multilabel_margin_loss")
    input, target = _checks.multilabel_inputs("multilabel_margin_loss", input, target)
    return _loss.multilabel_margin_loss(input, target, reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction: str = "mean"):
    r"""PyTorch's ``F.multilabel_soft_margin_loss``: BCE on logits averaged over the classes (the last dimension)."""
    reduction = _legacy(size_average, reduce, reduction, "multilabel_soft_margin_loss")
    return _loss.multilabel_soft_margin_loss(input, target, weight, reduction)


kl_div_backward, poisson_nll_loss_backward = _loss.kl_div_backward, _loss.poisson_nll_loss_backward
soft_margin_loss_backward, hinge_embedding_loss_backward = (_loss.soft_margin_loss_backward,
                                                            _loss.hinge_embedding_loss_backward)
multi_margin_loss_backward = _loss.multi_margin_loss_backward
multilabel_margin_loss_backward = _loss.multilabel_margin_loss_backward
multilabel_soft_margin_loss_backward = _loss.multilabel_soft_margin_loss_backward


# -- linear, embedding -------------------------------------------------------------------------
# linear(input, weight, bias=None) and linear_backward(grad_output, input, weight) are
# linear.py's pair; embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
# scale_grad_by_freq=False, sparse=False) and embedding_backward(grad_output, input, num_embeddings,
# padding_idx=None, scale_grad_by_freq=False, sparse=False) are embedding.py's (the forward after a
# check that the table is 2-D): their signatures are already PyTorch's (the backward's is aten's
# embedding_backward).
def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False, sparse=False):
    r"""PyTorch's ``F.embedding``: the rows $W_i$ of the table ``weight``
    ``(num_embeddings, embedding_dim)``, looked up by the integer ``input`` (``embedding.embedding``)."""
    _checks.embedding_weight(weight, "embedding")  # a 3-D table would be looked up by its first axis
    return _embedding.embedding(input, weight, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse)


# -- convolution -------------------------------------------------------------------------------
def _conv_geometry(input, weight, stride, padding, dilation, n: int):
    """``(batched input, stride, pads, dilation, batched?)`` for PyTorch's arguments:
    ints or tuples, ``padding='valid'`` or ``'same'`` (stride 1; the extra element after)."""
    batched = input.ndim == n + 2
    x = input if batched else input[None]
    stride = _convolution.as_tuple(stride, n, f"conv{n}d", "stride", 1)
    dilation = _convolution.as_tuple(dilation, n, f"conv{n}d", "dilation", 1)
    if padding == "valid":
        pads = ((0, 0),) * n
    elif padding == "same":
        total = [d * (k - 1) for d, k in zip(dilation, weight.shape[2:])]
        pads = tuple((t // 2, t - t // 2) for t in total)
    else:
        pads = _convolution._conv_pads(padding, n)
    return x, stride, pads, dilation, batched


def _conv(input, weight, bias, stride, padding, dilation, groups, n: int):
    x, stride, pads, dilation, batched = _conv_geometry(input, weight, stride, padding, dilation, n)
    y, _ = _convolution.conv_nd(x, weight, bias, stride, pads, dilation, groups)
    return y if batched else y[0]


def _conv_backward(grad_output, input, weight, bias, stride, padding, dilation, groups, n: int):
    x, stride, pads, dilation, batched = _conv_geometry(input, weight, stride, padding, dilation, n)
    _, cols = _convolution.conv_nd(x, weight, None, stride, pads, dilation, groups)  # the windows, again
    delta = grad_output if batched else grad_output[None]
    dx, dw, db = _convolution.conv_nd_backward(delta, cols, weight, x.shape, stride, pads, dilation, groups,
                                        bias=bias is not None)
    return (dx if batched else dx[0]), dw, db


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    r"""PyTorch's ``F.conv1d``: ``(N, C_in, L)`` or ``(C_in, L)`` with ``weight``
    ``(C_out, C_in/groups, K)``; $y[n, o, p] = b_o + \sum_{c, k} W[o, c, k]\, x_p[n, c, p s + k d]$."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 1)


def conv1d_backward(grad_output, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """``(grad_input, grad_weight, grad_bias)`` of :func:`conv1d` (see ``conv.conv_nd_backward``)."""
    return _conv_backward(grad_output, input, weight, bias, stride, padding, dilation, groups, 1)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    r"""PyTorch's ``F.conv2d``: ``(N, C_in, H, W)`` or ``(C_in, H, W)`` with ``weight``
    ``(C_out, C_in/groups, kH, kW)``, the cross-correlation of ``conv.conv_nd``."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 2)


def conv2d_backward(grad_output, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    r"""``(grad_input, grad_weight, grad_bias)`` of :func:`conv2d`: BP3 and BP4 summed over the
    positions, and the input's gradient as $W^\top\delta$ added back into every window
    (``conv.conv_nd_backward``)."""
    return _conv_backward(grad_output, input, weight, bias, stride, padding, dilation, groups, 2)


# -- pooling -----------------------------------------------------------------------------------
# The window geometry (PyTorch's output size, ceil_mode, padding) is the pooling modules'; these
# functions run one for its arithmetic, under no_grad for the forwards.
def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    r"""PyTorch's ``F.max_pool2d``: the maximum of each window ($-\infty$ padding); with
    ``return_indices``, also each maximum's flat index over ``H x W`` (what the backward routes to)."""
    pool = _pooling.MaxPool2d(kernel_size, stride, padding, dilation, return_indices, ceil_mode)
    with no_grad():
        return pool(input)


def max_pool2d_backward(grad_output, input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                        indices=None):
    r"""$\delta$ of each window added to the input element its maximum came from (``indices``, as
    :func:`max_pool2d` returns them; recomputed from ``input`` if not given). Overlapping windows add."""
    if indices is None:
        _, indices = max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)
    batched = input.ndim == 4
    x, g, idx = (input, grad_output, indices) if batched else (input[None], grad_output[None], indices[None])
    N, C = x.shape[:2]
    rows = np.arange(N * C)[:, None]
    grad = np.zeros((N * C, x.shape[2] * x.shape[3]), dtype=g.dtype)
    np.add.at(grad, (rows, idx.reshape(N * C, -1)), g.reshape(N * C, -1))  # add: windows may share a maximum
    grad = grad.reshape(x.shape)
    return grad if batched else grad[0]


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """PyTorch's ``F.avg_pool2d``: each window's mean (its divisor as PyTorch counts it)."""
    with no_grad():
        return _pooling.AvgPool2d(kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)(input)


def avg_pool2d_backward(grad_output, input, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None):
    r"""$\delta_o / D_o$ spread over every element of window $o$ (``pooling.avg_pool_nd_backward``)."""
    pool = _pooling.AvgPool2d(kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
    pool(input)
    return pool.backward(grad_output)


def pad(input, pad, mode="constant", value=None):
    r"""PyTorch's ``F.pad``: ``pad`` lists ``(before, after)`` pairs from the LAST axis backwards,
    ``(left, right, top, bottom, ...)``; ``mode`` is ``'constant'`` (fill with ``value``, default 0,
    any number of axes), ``'reflect'``, ``'replicate'`` or ``'circular'`` (the last 1, 2 or 3 axes
    of an input with one or two axes before them; see ``conv.pad`` for what each copies). A
    negative amount crops: after padding, or in ``'circular'`` mode before wrapping, as PyTorch."""
    input = np.asarray(input)
    grow, cut = _checks.pad_arguments(input.shape, pad, mode, value)
    if mode == "circular":  # PyTorch crops first, then wraps what is left
        output = _convolution.pad(_convolution.crop(input, cut), grow, mode)
    else:
        output = _convolution.crop(_convolution.pad(input, grow, mode, 0.0 if value is None else value), cut)
    return output.copy() if np.may_share_memory(output, input) else output  # a new array, as PyTorch


def pad_backward(grad_output, pad, mode="constant"):
    r"""The gradient of :func:`pad`'s input (whose shape ``pad`` implies): the adjoint of the
    padding (``conv.pad_backward``: the border cut off in ``'constant'`` mode; in the others each
    padded element's gradient added onto the element it copied), and zeros where it cropped
    (the adjoint of cutting is padding with zeros)."""
    grad_output = np.asarray(grad_output)
    shape = list(grad_output.shape)
    for i in range(min(len(pad) // 2, len(shape))):  # the input's shape, from the output's and the amounts
        shape[-1 - i] -= pad[2 * i] + pad[2 * i + 1]
    grow, cut = _checks.pad_arguments(tuple(shape), pad, mode, None)
    if mode == "circular":
        grad = _convolution.pad(_convolution.pad_backward(grad_output, grow, mode), cut)
    else:
        grad = _convolution.pad_backward(_convolution.pad(grad_output, cut), grow, mode)
    return grad.copy() if np.may_share_memory(grad, grad_output) else grad


def one_hot(tensor, num_classes=-1):
    """PyTorch's ``F.one_hot``: int64 ``(*tensor.shape, num_classes)``, ``num_classes=-1`` meaning
    ``tensor.max() + 1``. Integer-valued, so it has no backward."""
    tensor = np.asarray(tensor)
    if tensor.dtype.kind not in "iu":
        raise TypeError(f"one_hot expected an integer array of class indices, got dtype {tensor.dtype}")
    if num_classes == -1:
        num_classes = int(tensor.max()) + 1 if tensor.size else 0
    if tensor.size and (tensor.min() < 0 or tensor.max() >= num_classes):
        raise ValueError(f"one_hot: class values must be in [0, {num_classes}), got values from "
                         f"{tensor.min()} to {tensor.max()}")
    return (tensor[..., None] == np.arange(num_classes)).astype(np.int64)


# -- dropout -----------------------------------------------------------------------------------
def native_dropout(input, p: float, train: bool = True, *, generator=None):
    """``(output, mask)`` as PyTorch's ``torch.native_dropout``: ``mask`` (bool) marks the kept
    elements, ``output = input * mask / (1 - p)``; in eval mode (``train=False``) the output is
    the input and every element is kept. What :func:`native_dropout_backward` needs."""
    if not train or p == 0:
        return input, np.ones(input.shape, dtype=bool)
    scaled = dropout_mask(input.shape, p, resolve_rng(rng=generator, owner="dropout"), input.dtype)
    return input * scaled, scaled != 0


def native_dropout_backward(grad_output, mask, scale: float):
    r"""$\partial C/\partial x = \delta \odot m \cdot \text{scale}$, ``scale`` $= 1/(1 - p)$ (1 in
    eval mode): a dropped element has no path to the cost."""
    return grad_output * mask * scale


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False, *, generator=None):
    """PyTorch's ``F.dropout``: zero each element with probability ``p`` and scale the rest by
    ``1/(1 - p)`` when ``training``. The mask is random, so to backpropagate call
    :func:`native_dropout`, which also returns it, and :func:`native_dropout_backward`."""
    output, _ = native_dropout(input, p, training, generator=generator)
    if inplace:
        input[...] = output
        return input
    return output


# -- normalisation -----------------------------------------------------------------------------
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    r"""PyTorch's ``F.layer_norm``: each sample normalised over its trailing ``normalized_shape``
    axes, $y = \hat x \odot \gamma + \beta$ (see ``normalization.layer_norm``)."""
    return _norm.layer_norm(input, tuple(np.atleast_1d(normalized_shape)), weight, bias, eps)[0]


def layer_norm_backward(grad_output, input, normalized_shape, weight=None, bias=None, eps=1e-5):
    r"""``(grad_input, grad_weight, grad_bias)`` of :func:`layer_norm`: the three-term form
    $\frac{s}{m}(m\hat\delta - \sum\hat\delta - \hat x\sum\hat\delta\odot\hat x)$ over the
    normalised axes (``normalization.layer_norm_backward``; $\hat x$ and $s$ recomputed)."""
    shape = tuple(np.atleast_1d(normalized_shape))
    _, xhat, inv_std = _norm.layer_norm(input, shape, None, None, eps)
    return _norm.layer_norm_backward(grad_output, xhat, inv_std, shape, weight, bias_grad=bias is not None)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    r"""PyTorch's ``F.batch_norm`` over channel axis 1: the batch's statistics when ``training``
    (then ``running_mean``/``running_var``, if given, move by ``momentum`` in place, the variance
    unbiased), else the running ones (see ``normalization.batch_norm``). An empty ``(0,)`` input
    gives an empty output, as PyTorch's."""
    shape, input = input.shape, _checks.batch_norm_function_input(input, "batch_norm")
    y, _, _, mean, var = _norm.batch_norm(input, running_mean, running_var, weight, bias, training, eps)
    if training and running_mean is not None and input.size:
        m = input.size // input.shape[1]
        running_mean *= 1 - momentum
        running_mean += momentum * mean.reshape(-1)
        running_var *= 1 - momentum
        running_var += momentum * var.reshape(-1) * (m / max(m - 1, 1))
    return y.reshape(shape)


def batch_norm_backward(grad_output, input, running_mean, running_var, weight=None, bias=None, training=False,
                        eps=1e-5):
    r"""``(grad_input, grad_weight, grad_bias)`` of :func:`batch_norm`: with batch statistics the
    three-term form (they depend on $x$), with running ones $\hat\delta\, s$
    (``normalization.batch_norm_backward``; $\hat x$ and $s$ recomputed, the running statistics
    left alone)."""
    shape, input = input.shape, _checks.batch_norm_function_input(input, "batch_norm_backward")
    _, xhat, inv_std, _, _ = _norm.batch_norm(input, running_mean, running_var, None, None, training, eps)
    batch_stats = training or running_mean is None
    dx, dw, db = _norm.batch_norm_backward(grad_output.reshape(input.shape), xhat, inv_std, weight, batch_stats,
                                           bias_grad=bias is not None)
    return dx.reshape(shape), dw, db


# -- attention ---------------------------------------------------------------------------------
def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 *, generator=None):
    r"""PyTorch's ``F.scaled_dot_product_attention``: $\operatorname{softmax}(s\,QK^\top + M)\,V$ per
    head, $s = 1/\sqrt d$ by default, $M$ the causal or given mask (``attention.scaled_dot_product_attention``)."""
    rng = resolve_rng(rng=generator, owner="scaled_dot_product_attention") if dropout_p > 0 else None
    return _attention.scaled_dot_product_attention(query, key, value, attn_mask, dropout_p, is_causal, scale,
                                                   rng=rng)[0]


def scaled_dot_product_attention_backward(grad_output, query, key, value, attn_mask=None, is_causal=False,
                                          scale=None):
    r"""``(grad_query, grad_key, grad_value)`` of :func:`scaled_dot_product_attention` without
    dropout: $\partial C/\partial V = A^\top\delta$, softmax's Jacobian-vector product for
    $\partial C/\partial S$, then $s\,\partial C/\partial S\,K$ and $s\,(\partial C/\partial S)^\top Q$
    (``attention.scaled_dot_product_attention_backward``; $A$ recomputed). Dropout's mask is
    random: for dropout on the weights, use the module."""
    _, attn, _ = _attention.scaled_dot_product_attention(query, key, value, attn_mask, 0.0, is_causal, scale)
    grads = _attention.scaled_dot_product_attention_backward(grad_output, query, key, value, attn, None, scale)
    # The batch axes broadcast (a 3-D query with 4-D key and value): each gradient back to its argument's shape.
    return tuple(_sum_to_shape(g, x.shape) for g, x in zip(grads, (query, key, value)))


def _sum_to_shape(grad, shape):
    r"""The adjoint of broadcasting an array of ``shape`` up to ``grad.shape``: a value used along
    an axis it was stretched over (or that broadcasting put in front) gets the sum of the gradients there."""
    lead = grad.ndim - len(shape)
    stretched = tuple(lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1)
    axes = tuple(range(lead)) + stretched
    return grad.sum(axis=axes).reshape(shape) if axes else grad


# -- interpolation -----------------------------------------------------------------------------
# upsampling.py's pair: every mode is a linear map per spatial axis, y = S x, so its backward is S^T delta.
def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    r"""PyTorch's ``F.interpolate``: $y = S x$ along each spatial axis, $S$ the ``(out, in)``
    interpolation matrix of ``mode`` with PyTorch's source-index rule
    (``upsampling.interpolation_matrix``). Modes ``'nearest'``, ``'nearest-exact'``, ``'area'``
    (1 to 3 spatial axes), ``'linear'``, ``'bilinear'``, ``'bicubic'``, ``'trilinear'``;
    ``antialias=True`` is not supported."""
    x, sizes, scales, align = _checks.interpolate_options("interpolate", input, size, scale_factor, mode,
                                                          align_corners, recompute_scale_factor, antialias)
    return _upsampling.interpolate_nd(x, _upsampling.interpolation_matrices(x.shape, sizes, scales, mode, align))


def interpolate_backward(grad_output, input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                         recompute_scale_factor=None, antialias=False):
    r"""``grad_input`` of :func:`interpolate`: $\partial C/\partial x = S^\top \delta$ along each
    spatial axis (``upsampling.interpolate_nd_backward``). The matrices are rebuilt from the
    forward's options and ``input``'s shape (its values are not read)."""
    x, sizes, scales, align = _checks.interpolate_options("interpolate", input, size, scale_factor, mode,
                                                          align_corners, recompute_scale_factor, antialias)
    matrices = _upsampling.interpolation_matrices(x.shape, sizes, scales, mode, align)
    return _upsampling.interpolate_nd_backward(grad_output, matrices)


__all__ = [
    "sigmoid", "sigmoid_backward", "tanh", "tanh_backward", "relu", "relu_backward",
    "leaky_relu", "leaky_relu_backward", "elu", "elu_backward", "silu", "silu_backward",
    "gelu", "gelu_backward", "softplus", "softplus_backward",
    "softmax", "softmax_backward", "log_softmax", "log_softmax_backward",
    "mse_loss", "mse_loss_backward", "l1_loss", "l1_loss_backward", "smooth_l1_loss", "smooth_l1_loss_backward",
    "huber_loss", "huber_loss_backward", "binary_cross_entropy", "binary_cross_entropy_backward",
    "binary_cross_entropy_with_logits", "binary_cross_entropy_with_logits_backward",
    "nll_loss", "nll_loss_backward", "cross_entropy", "cross_entropy_backward",
    "linear", "linear_backward", "embedding", "embedding_backward",
    "conv1d", "conv1d_backward", "conv2d", "conv2d_backward",
    "max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward", "pad", "pad_backward", "one_hot",
    "dropout", "native_dropout", "native_dropout_backward",
    "layer_norm", "layer_norm_backward", "batch_norm", "batch_norm_backward",
    "scaled_dot_product_attention", "scaled_dot_product_attention_backward",
    "kl_div", "kl_div_backward", "poisson_nll_loss", "poisson_nll_loss_backward", "soft_margin_loss",
    "soft_margin_loss_backward", "hinge_embedding_loss", "hinge_embedding_loss_backward", "multi_margin_loss",
    "multi_margin_loss_backward", "multilabel_margin_loss", "multilabel_margin_loss_backward",
    "multilabel_soft_margin_loss", "multilabel_soft_margin_loss_backward",
    "interpolate", "interpolate_backward",
]
