r"""Losses: the cost $C$ at the end of the chain, and $\nabla_a C$ that starts backprop (BP1).

Each loss is a pair of plain functions of arrays named as ``torch.nn.functional``'s
(``mse_loss(input, target, reduction)`` and ``mse_loss_backward(grad_output, input, target,
reduction)``: pure maths, no state, no checks), then the module around it: ``forward(input,
target)`` checks in one line, saves what the backward needs and returns the loss (a Python
float for ``reduction='mean'``/``'sum'``, an array for ``'none'``); ``backward(grad=1.0)``
returns $\partial(\text{grad}\cdot C)/\partial\,\text{input}$, shaped like ``input``. The
pairs return a NumPy scalar for 'mean'/'sum', and their ``grad_output`` is a scalar for
'mean'/'sum', an array shaped like the loss for 'none'. The $1/N$ of a mean lives here, in
:func:`_mean_scale`, and only here: layers sum over the batch.
"""

from __future__ import annotations

import numpy as np

from . import stable
from .. import _checks as checks
from .module import Module


def _reduce(losses: np.ndarray, reduction: str, count=None):
    """Reduce per-element losses; ``count`` overrides the number of elements for 'mean'."""
    if reduction == "none":
        return losses
    total = losses.sum()
    if reduction == "sum":
        return total
    count = losses.size if count is None else count
    # PyTorch's 0/0 (an empty batch, every target ignored, zero total weight) is nan;
    # returned directly so numpy raises no RuntimeWarning.
    return total / count if count else total.dtype.type(np.nan)


def _mean_scale(grad_output, reduction: str, count):
    """The upstream gradient $g$ times the $1/N$ of ``reduction='mean'`` ($N$ = ``count``,
    the elements averaged); $g$ itself for 'sum' and 'none' (or an empty mean)."""
    return grad_output / count if reduction == "mean" and count else grad_output


class _Loss(Module):
    """Shared by every loss: the ``reduction`` option, and the Python float it returns.
    PyTorch's deprecated ``size_average`` and ``reduce`` are accepted by keyword, with
    PyTorch's mapping and a warning (``checks.legacy_reduction``)."""

    def __init__(self, reduction: str = "mean", *, size_average=None, reduce=None):
        super().__init__()
        own_init = type(self).__init__ is not _Loss.__init__  # a subclass's __init__ is one frame more
        self.reduction = checks.legacy_reduction(size_average, reduce, reduction, type(self).__name__,
                                                 stacklevel=4 if own_init else 3)  # the warning names the caller

    def _value(self, loss):
        return loss if self.reduction == "none" else float(loss)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}" if self.reduction != "mean" else ""


# -- regression ---------------------------------------------------------------------------


def mse_loss(input, target, reduction: str = "mean"):
    r"""$\ell_i = (x_i - y_i)^2$, then mean, sum or none."""
    diff = input - target
    return _reduce(diff * diff, reduction)


def mse_loss_backward(grad_output, input, target, reduction: str = "mean"):
    r"""BP1 for this cost: $\partial C/\partial x_i = 2 (x_i - y_i)\cdot g$, divided by $n$ for 'mean'."""
    return (input - target) * (2 * _mean_scale(grad_output, reduction, input.size))


class MSELoss(_Loss):
    r"""Mean squared error: $\ell_i = (x_i - y_i)^2$, then mean, sum or none.

    Note: no $\tfrac12$. PyTorch's convention (and ours) is $C = \frac1n\sum_i (x_i - y_i)^2$;
    the classic derivations' $C = \tfrac12\lVert y - a\rVert^2$ is ``0.5 * MSELoss(reduction='sum')``.

    Args:
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Shape: input ``(*)``, target the same shape; output a float, or ``(*)`` for ``'none'``.
    """

    def forward(self, input, target):
        x, y = checks.loss_inputs(self, input, target)
        self.save_for_backward(x, y)  # dC/dx = 2 (x - y) / n
        return self._value(mse_loss(x, y, self.reduction))

    def backward(self, grad=1.0):
        r"""$\partial C/\partial x_i = 2 (x_i - y_i)\cdot g$, divided by $n$ for 'mean'
        (:func:`mse_loss_backward`)."""
        x, y = self.saved_tensors
        return mse_loss_backward(checks.loss_grad(self, grad, x.shape, x.dtype), x, y, self.reduction)


def l1_loss(input, target, reduction: str = "mean"):
    r"""$\ell_i = |x_i - y_i|$, then mean, sum or none."""
    return _reduce(np.abs(input - target), reduction)


def l1_loss_backward(grad_output, input, target, reduction: str = "mean"):
    r"""$\partial \ell_i/\partial x_i = \operatorname{sign}(x_i - y_i)$, with PyTorch's choice
    of 0 at $x_i = y_i$ (where $|d|$ has no derivative); times $g$, divided by $n$ for 'mean'."""
    return np.sign(input - target) * _mean_scale(grad_output, reduction, input.size)


class L1Loss(_Loss):
    r"""Mean absolute error: $\ell_i = |x_i - y_i|$, then mean, sum or none.

    Args:
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Shape: input ``(*)``, target the same shape; output a float, or ``(*)`` for ``'none'``.
    """

    def forward(self, input, target):
        x, y = checks.loss_inputs(self, input, target)
        self.save_for_backward(x, y)  # the derivative of |x - y| is sign(x - y)
        return self._value(l1_loss(x, y, self.reduction))

    def backward(self, grad=1.0):
        r"""$\partial \ell_i/\partial x_i = \operatorname{sign}(x_i - y_i)$ (0 at $x_i = y_i$, as
        PyTorch), times $g$, divided by $n$ for 'mean' (:func:`l1_loss_backward`)."""
        x, y = self.saved_tensors
        return l1_loss_backward(checks.loss_grad(self, grad, x.shape, x.dtype), x, y, self.reduction)


def smooth_l1_loss(input, target, reduction: str = "mean", beta: float = 1.0):
    r"""$\ell_i = \tfrac12 d_i^2/\beta$ where $|d_i| < \beta$, else $|d_i| - \tfrac12\beta$
    ($d = x - y$; $\beta = 0$ is L1), then mean, sum or none."""
    d = input - target
    if beta == 0:
        return _reduce(np.abs(d), reduction)
    return _reduce(np.where(np.abs(d) < beta, 0.5 * d * d / beta, np.abs(d) - 0.5 * beta), reduction)


def smooth_l1_loss_backward(grad_output, input, target, reduction: str = "mean", beta: float = 1.0):
    r"""$\partial \ell_i/\partial d_i = d_i / \beta$ where $|d_i| < \beta$, else
    $\operatorname{sign}(d_i)$ (continuous at $|d_i| = \beta$, where both are $\pm 1$; for
    $\beta = 0$ it is L1's sign, 0 at $d_i = 0$). Times $g$, divided by $n$ for 'mean'."""
    d = input - target
    scale = _mean_scale(grad_output, reduction, d.size)
    if beta == 0:
        return np.sign(d) * scale
    return np.where(np.abs(d) < beta, d / beta, np.sign(d)) * scale


class SmoothL1Loss(_Loss):
    r"""Smooth L1 loss: quadratic for small errors, linear beyond ``beta``. With $d_i = x_i - y_i$,

    $$\ell_i = \begin{cases} \tfrac12 d_i^2 / \beta & |d_i| < \beta \\
        |d_i| - \tfrac12 \beta & \text{otherwise,} \end{cases}$$

    then mean, sum or none. ``beta=0`` is :class:`L1Loss`, as in PyTorch. It is
    :class:`HuberLoss` divided by $\beta$.

    Args:
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.
        beta: $\beta \ge 0$, where the quadratic part ends (default 1.0).

    Shape: input ``(*)``, target the same shape; output a float, or ``(*)`` for ``'none'``.

    Raises:
        ValueError: if beta is negative or NaN.
    """

    def __init__(self, reduction: str = "mean", beta: float = 1.0, *, size_average=None, reduce=None):
        super().__init__(reduction, size_average=size_average, reduce=reduce)
        self.beta = checks.non_negative_option(beta, "SmoothL1Loss", "beta", strict=False)

    def forward(self, input, target):
        x, y = checks.loss_inputs(self, input, target)
        self.save_for_backward(x, y)  # both branches of the derivative are functions of x - y
        return self._value(smooth_l1_loss(x, y, self.reduction, self.beta))

    def backward(self, grad=1.0):
        r"""$d_i / \beta$ where $|d_i| < \beta$, else $\operatorname{sign}(d_i)$, times $g$,
        divided by $n$ for 'mean' (:func:`smooth_l1_loss_backward`)."""
        x, y = self.saved_tensors
        g = checks.loss_grad(self, grad, x.shape, x.dtype)
        return smooth_l1_loss_backward(g, x, y, self.reduction, self.beta)

    def extra_repr(self) -> str:
        return ", ".join(filter(None, [super().extra_repr(), f"beta={self.beta}" if self.beta != 1.0 else ""]))


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0):
    r"""$\ell_i = \tfrac12 d_i^2$ where $|d_i| < \delta$, else $\delta\,(|d_i| - \tfrac12\delta)$
    ($d = x - y$), then mean, sum or none."""
    d = input - target
    return _reduce(np.where(np.abs(d) < delta, 0.5 * d * d, delta * (np.abs(d) - 0.5 * delta)), reduction)


def huber_loss_backward(grad_output, input, target, reduction: str = "mean", delta: float = 1.0):
    r"""$\partial \ell_i/\partial d_i = d_i$ where $|d_i| < \delta$, else
    $\delta\,\operatorname{sign}(d_i)$: the error itself, clipped to $[-\delta, \delta]$.
    Times $g$, divided by $n$ for 'mean'."""
    return np.clip(input - target, -delta, delta) * _mean_scale(grad_output, reduction, input.size)


class HuberLoss(_Loss):
    r"""Huber loss: quadratic for small errors, linear (slope $\delta$) beyond ``delta``.
    With $d_i = x_i - y_i$,

    $$\ell_i = \begin{cases} \tfrac12 d_i^2 & |d_i| < \delta \\
        \delta\,(|d_i| - \tfrac12 \delta) & \text{otherwise,} \end{cases}$$

    then mean, sum or none. It is $\delta$ times :class:`SmoothL1Loss` with $\beta = \delta$.

    Args:
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.
        delta: $\delta > 0$, where the quadratic part ends (default 1.0).

    Shape: input ``(*)``, target the same shape; output a float, or ``(*)`` for ``'none'``.

    Raises:
        ValueError: if delta is not positive (PyTorch's condition).
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction)
        self.delta = checks.non_negative_option(delta, "HuberLoss", "delta", strict=True)

    def forward(self, input, target):
        x, y = checks.loss_inputs(self, input, target)
        self.save_for_backward(x, y)  # both branches of the derivative are functions of x - y
        return self._value(huber_loss(x, y, self.reduction, self.delta))

    def backward(self, grad=1.0):
        r"""The error $x - y$ clipped to $[-\delta, \delta]$, times $g$, divided by $n$ for
        'mean' (:func:`huber_loss_backward`)."""
        x, y = self.saved_tensors
        return huber_loss_backward(checks.loss_grad(self, grad, x.shape, x.dtype), x, y, self.reduction, self.delta)

    def extra_repr(self) -> str:
        return ", ".join(filter(None, [super().extra_repr(), f"delta={self.delta}" if self.delta != 1.0 else ""]))


# -- binary cross-entropy -------------------------------------------------------------------

# PyTorch clamps BCE's backward denominator x (1 - x) at a C ``float`` 1e-12, so even its float64
# kernel uses 1e-12 rounded to float32 (9.99999996e-13): x = 0, y = 1 gives -1.000000004e12.
# A Python float, so it never upcasts float32 work.
_BCE_EPSILON = float(np.float32(1e-12))


def binary_cross_entropy(input, target, weight=None, reduction: str = "mean"):
    r"""$\ell_i = -w_i\,\big(y_i \log x_i + (1 - y_i)\log(1 - x_i)\big)$, each log clamped at
    $-100$ as in PyTorch; ``weight`` (``None`` or broadcastable to the input) in its dtype."""
    with np.errstate(divide="ignore"):  # log(0) = -inf, clamped to -100 below as PyTorch does
        log_x = np.maximum(np.log(input), -100)
        log_1mx = np.maximum(np.log1p(-input), -100)
    losses = -(target * log_x + (1 - target) * log_1mx)
    if weight is not None:
        losses *= weight
    return _reduce(losses, reduction)


def binary_cross_entropy_backward(grad_output, input, target, weight=None, reduction: str = "mean"):
    r"""$\dfrac{\partial \ell_i}{\partial x_i} = w_i\,\dfrac{x_i - y_i}{x_i (1 - x_i)}$, with the
    denominator clamped below at $10^{-12}$ as PyTorch does (so $x \in \{0, 1\}$ gives a large
    but finite gradient, $\approx \pm 10^{12}$), times the upstream gradient, divided by $n$ for
    ``'mean'``. The clamp is PyTorch's exact constant: $10^{-12}$ rounded to float32, also in
    float64."""
    scale = _mean_scale(grad_output, reduction, input.size)
    delta = (input - target) / np.maximum((1 - input) * input, _BCE_EPSILON)
    if weight is not None:
        delta *= weight
    delta *= scale
    return delta


class BCELoss(_Loss):
    r"""Binary cross-entropy between probabilities $x \in [0, 1]$ and targets $y \in [0, 1]$:

    $$\ell_i = -w_i\,\big(y_i \log x_i + (1 - y_i)\log(1 - x_i)\big),$$

    then mean (over all elements), sum or none. As in PyTorch each log is clamped at $-100$,
    so $x = 0$ or $x = 1$ gives a finite loss. Prefer :class:`BCEWithLogitsLoss` on logits: it
    is stable where a sigmoid followed by this loss saturates.

    Args:
        weight: optional rescaling weights, broadcast to the input's shape.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Shape: input ``(*)``, target the same shape, output a float (or ``(*)`` for ``'none'``).

    Differences from PyTorch: an integer or boolean target is accepted and cast to the
    input's float dtype (PyTorch requires a float target); the numbers are the same.

    Raises:
        ValueError: if an input or target value lies outside $[0, 1]$ (the message gives the
            range found), the target's shape differs from the input's, or ``weight`` does not
            broadcast to it.
    """

    def __init__(self, weight=None, reduction: str = "mean", *, size_average=None, reduce=None):
        super().__init__(reduction, size_average=size_average, reduce=reduce)
        self.register_buffer("weight", checks.loss_weight_option(weight, "BCELoss"))  # state, not learned

    def forward(self, input, target):
        x, y, w = checks.loss_inputs(self, input, target, probabilities=True, weight=self.weight)
        self.save_for_backward(x, y, w)  # the derivative is a function of x, y and w only
        return self._value(binary_cross_entropy(x, y, w, self.reduction))

    def backward(self, grad=1.0):
        r"""$w_i\,(x_i - y_i)/(x_i (1 - x_i))$, the denominator clamped at $10^{-12}$ as in
        PyTorch, times $g$, divided by $n$ for 'mean' (:func:`binary_cross_entropy_backward`)."""
        x, y, w = self.saved_tensors
        return binary_cross_entropy_backward(checks.loss_grad(self, grad, x.shape, x.dtype), x, y, w, self.reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction: str = "mean", pos_weight=None):
    r"""$\ell_i = -w_i\,\big(p_c\, y_i \log \sigma(x_i) + (1 - y_i) \log\sigma(-x_i)\big)$ on
    logits, with stable log-sigmoids; ``weight`` and ``pos_weight`` $p_c$ (``None`` or
    broadcastable to the input) in its dtype."""
    pos = target if pos_weight is None else pos_weight * target  # p_c y: the weight of the -log sigma(x) term
    losses = -(1 - target) * stable.log_sigmoid(-input)
    losses -= pos * stable.log_sigmoid(input)
    if weight is not None:
        losses *= weight
    return _reduce(losses, reduction)


def binary_cross_entropy_with_logits_backward(grad_output, input, target, weight=None, reduction: str = "mean",
                                              pos_weight=None):
    r"""With $\sigma' = \sigma(1 - \sigma)$:
    $\dfrac{\partial \ell}{\partial x} = w\,\big((1 - y)\sigma(x) - p_c\,y\,(1 - \sigma(x))\big)
    = w\,\big((1 + (p_c - 1)y)\,\sigma(x) - p_c\,y\big)$, which without ``pos_weight`` is BP1's
    $\delta = w\,(\sigma(x) - y)$; times the upstream gradient, divided by $n$ for ``'mean'``."""
    scale = _mean_scale(grad_output, reduction, input.size)
    s = stable.sigmoid(input)
    if pos_weight is None:
        delta = s - target
    else:
        pos = pos_weight * target
        delta = s * (1 - target + pos)
        delta -= pos
    if weight is not None:
        delta *= weight
    delta *= scale
    return delta


class BCEWithLogitsLoss(_Loss):
    r"""Sigmoid and binary cross-entropy in one stable step, on logits $x$:

    $$\ell_i = -w_i\,\big(p_c\, y_i \log \sigma(x_i) + (1 - y_i) \log(1 - \sigma(x_i))\big),$$

    $p_c$ the ``pos_weight`` (1 without it). Written as $\ell = (1 - y)\,x + (1 + (p_c - 1)y)
    \log(1 + e^{-x})$ this is PyTorch's log-sum-exp form; we evaluate the equal expression
    $-(1 - y)\log\sigma(-x) - p_c\,y \log\sigma(x)$ with ``log_sigmoid``, which never overflows
    (no warning, no NaN at $x = \pm 10^4$) and, unlike $(1-y)x + \dots$, does not cancel two
    large terms when the loss is tiny.

    Args:
        weight: optional rescaling weights, broadcast to the input's shape.
        reduction: ``'mean'`` (default, over all elements), ``'sum'`` or ``'none'``.
        pos_weight: optional weight of the positive term, broadcast to the input's shape
            (typically ``(C,)``, one per class along the last dimension).

    Shape: input ``(*)``, target the same shape, output a float (or ``(*)`` for ``'none'``).

    Differences from PyTorch: an integer or boolean target is cast to the input's float dtype.

    Raises:
        ValueError: if the target's shape differs from the input's, or ``weight`` /
            ``pos_weight`` does not broadcast to it.
    """

    def __init__(self, weight=None, reduction: str = "mean", pos_weight=None, *, size_average=None, reduce=None):
        super().__init__(reduction, size_average=size_average, reduce=reduce)
        self.register_buffer("weight", checks.loss_weight_option(weight, "BCEWithLogitsLoss", "weight"))
        self.register_buffer("pos_weight", checks.loss_weight_option(pos_weight, "BCEWithLogitsLoss", "pos_weight"))

    def forward(self, input, target):
        x, y, w, pw = checks.loss_inputs(self, input, target, weight=self.weight, pos_weight=self.pos_weight)
        self.save_for_backward(x, y, w, pw)  # backward needs sigma(x) (from x), y, w and p_c
        return self._value(binary_cross_entropy_with_logits(x, y, w, self.reduction, pw))

    def backward(self, grad=1.0):
        r"""$w\,\big((1 + (p_c - 1)y)\,\sigma(x) - p_c\,y\big)$, which without ``pos_weight`` is
        BP1's $\delta = w\,(\sigma(x) - y)$; times $g$, divided by $n$ for 'mean'
        (:func:`binary_cross_entropy_with_logits_backward`)."""
        x, y, w, pw = self.saved_tensors
        g = checks.loss_grad(self, grad, x.shape, x.dtype)
        return binary_cross_entropy_with_logits_backward(g, x, y, w, self.reduction, pw)


# -- class-index losses: the classes on dimension 1 (0 for a single (C,) prediction) ----------


def _class_last(a: np.ndarray) -> np.ndarray:
    """One row per prediction, classes along the columns: ``(C,) -> (1, C)``, ``(N, C)`` as
    it is, ``(N, C, d1, ..., dk) -> (N d1 ... dk, C)``."""
    if a.ndim == 1:
        return a.reshape(1, -1)
    if a.ndim == 2:
        return a
    return np.moveaxis(a, 1, -1).reshape(-1, a.shape[1])


def _class_back(rows: np.ndarray, shape: tuple) -> np.ndarray:
    """The inverse of :func:`_class_last`: ``(M, C)`` rows back to the input's ``shape``."""
    if len(shape) <= 2:
        return rows.reshape(shape)
    n, c, *rest = shape
    return np.moveaxis(rows.reshape(n, *rest, c), -1, 1)


def _in_dtype(weight, dtype):
    """A class-weight buffer (or ``None``) cast to the input's dtype."""
    return None if weight is None else weight.astype(dtype, copy=False)


def _target_weights(target: np.ndarray, weight, ignore_index: int, dtype):
    """Each row's target class $t_n$ (an ignored row points at class 0), whether it counts
    (not ``ignore_index``) and its weight $w_{t_n}$ (1 without ``weight``, 0 if ignored)."""
    t = target.reshape(-1)
    counted = t != ignore_index
    t = np.where(counted, t, 0)
    w_t = counted.astype(dtype) if weight is None else weight[t] * counted
    return t, counted, w_t


def nll_loss(input, target, weight=None, ignore_index: int = -100, reduction: str = "mean"):
    r"""$\ell_n = -w_{t_n}\, x_{n,t_n}$ (0 where $t_n$ is ``ignore_index``); 'mean' divides by
    $\sum_n w_{t_n}$ over the counted rows. ``weight``: ``None`` or ``(C,)``, in the input's dtype."""
    t, counted, w_t = _target_weights(target, weight, ignore_index, input.dtype)
    losses = -_class_last(input)[np.arange(t.size), t] * w_t
    if reduction == "none":
        return losses.reshape(checks.class_index_shape(input.shape))
    return _reduce(losses, reduction, w_t.sum().item())


def nll_loss_backward(grad_output, input, target, weight=None, ignore_index: int = -100, reduction: str = "mean"):
    r"""Each row's loss $\ell_n = -w_{t_n} x_{n,t_n}$ depends on one entry of the input:

    $$\frac{\partial \ell_n}{\partial x_{n,c}} = -w_{t_n}\,[c = t_n],$$

    a one-hot row scaled by $-w_{t_n}$ (0 for an ignored row); times the upstream gradient
    $g$ (one per row for ``'none'``) and, for ``'mean'``, divided by $\sum_n w_{t_n}$. If
    that is 0, counted rows get ``nan`` at their target and everything else 0, as in PyTorch.
    """
    t, counted, w_t = _target_weights(target, weight, ignore_index, input.dtype)
    rows = np.arange(t.size)
    grad = np.zeros((t.size, _class_last(input).shape[1]), dtype=input.dtype)  # one row per prediction
    denominator = w_t.sum().item()
    if reduction == "mean" and denominator == 0:
        grad[rows[counted], t[counted]] = np.nan  # PyTorch's -0/0
    else:
        scale = _mean_scale(grad_output, reduction, denominator)
        grad[rows, t] = -w_t * (scale.reshape(-1) if reduction == "none" else scale)
    return _class_back(grad, input.shape)


class NLLLoss(_Loss):
    r"""Negative log-likelihood of log-probabilities $x$ (e.g. the output of ``LogSoftmax``)
    against class indices $t$:

    $$\ell_n = -w_{t_n}\, x_{n,t_n},$$

    and $\ell_n = 0$ where $t_n$ equals ``ignore_index``. ``'mean'`` divides $\sum_n \ell_n$ by
    the total weight of the targets that count, $\sum_{n:\,t_n \ne \text{ignore}} w_{t_n}$ (their
    number without ``weight``), exactly as PyTorch; 0 of it (every target ignored, an empty
    batch) gives ``nan``. ``LogSoftmax(dim=1)`` followed by this loss is
    :class:`CrossEntropyLoss` with class-index targets, split in two modules.

    Args:
        weight: optional per-class weights, shape ``(C,)``; cast to the input's dtype.
        ignore_index: a target class index that contributes neither loss nor gradient.
            Default -100.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Shape:
        - input: log-probabilities ``(C,)``, ``(N, C)`` or ``(N, C, d1, ..., dk)``; the classes
          are dimension 1 (dimension 0 for ``(C,)``), as in PyTorch.
        - target: class indices of shape ``()``, ``(N,)`` or ``(N, d1, ..., dk)``, any integer dtype.
        - output: a Python float for ``'mean'``/``'sum'``; for ``'none'`` an array of the
          target's shape.

    Differences from PyTorch: class indices may be any integer dtype (PyTorch wants int64 or
    uint8); an out-of-range class is a ``ValueError`` naming it.

    Raises:
        ValueError: on a bad option, a class index outside ``[0, C)`` that is not
            ``ignore_index``, a target or ``weight`` of the wrong shape.
        TypeError: on a target that is not an integer array.
    """

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean", *, size_average=None,
                 reduce=None):
        super().__init__(reduction, size_average=size_average, reduce=reduce)
        self.register_buffer("weight", checks.class_weight_option(weight, "NLLLoss"))  # state, not learned
        self.ignore_index = checks.ignore_index_option(ignore_index, "NLLLoss")

    def forward(self, input, target):
        x, target = checks.nll_inputs(self, input, target)
        self.save_for_backward(x, target)  # dl/dx_{n,c} = -w_t [c = t]: only x's shape and where each target is
        return self._value(nll_loss(x, target, _in_dtype(self.weight, x.dtype), self.ignore_index, self.reduction))

    def backward(self, grad=1.0):
        r"""A one-hot row per prediction scaled by $-w_{t_n}$ (0 for an ignored row), times $g$,
        divided by $\sum_n w_{t_n}$ for 'mean' (:func:`nll_loss_backward`)."""
        x, target = self.saved_tensors
        g = checks.loss_grad(self, grad, target.shape, x.dtype)
        return nll_loss_backward(g, x, target, _in_dtype(self.weight, x.dtype), self.ignore_index, self.reduction)


def cross_entropy(input, target, weight=None, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0):
    r"""``log_softmax(input, dim=1)`` and the negative log-likelihood, fused; see
    :class:`CrossEntropyLoss` for the formulas. ``target``: class indices, or probabilities
    of the input's shape; ``weight``: ``None`` or ``(C,)``, in the input's dtype."""
    log_p = stable.log_softmax(_class_last(input), axis=1)  # one row per prediction, max-shifted: stable
    return _cross_entropy_of_log_p(log_p, input.shape, target, weight, ignore_index, reduction, label_smoothing)


def _cross_entropy_of_log_p(log_p, input_shape, target, weight, ignore_index, reduction, label_smoothing):
    """:func:`cross_entropy` from the rows ``log_p = log_softmax(input, dim=1)``, ``(M, C)``."""
    m, n_classes = log_p.shape
    eps = label_smoothing
    if target.dtype.kind == "f":  # probabilities q, smoothed: (1 - eps) q + eps / C
        q = _class_last(target)
        if eps:
            q = (1 - eps) * q + eps / n_classes
        losses = -((q if weight is None else q * weight) * log_p).sum(axis=1)  # -sum_c w_c q_c log p_c
        denominator = m
    else:  # class indices: -w_t log p_t, smoothed with -(1/C) sum_c w_c log p_c
        t, counted, w_t = _target_weights(target, weight, ignore_index, log_p.dtype)
        losses = -log_p[np.arange(m), t] * w_t
        if eps:
            w_c = np.ones(n_classes, log_p.dtype) if weight is None else weight
            smooth = -(log_p * w_c).sum(axis=1) * counted
            losses = (1 - eps) * losses + (eps / n_classes) * smooth
        denominator = w_t.sum().item()
    if reduction == "none":
        return losses.reshape(checks.class_index_shape(input_shape))
    return _reduce(losses, reduction, denominator)


def cross_entropy_backward(grad_output, probs, target, weight=None, ignore_index: int = -100,
                           reduction: str = "mean", label_smoothing: float = 0.0):
    r"""$\partial C/\partial\,\text{input}$, from ``probs = softmax(input, dim=1)`` (shaped like
    the input), the forward's ``target`` and options. The plain case (class indices, no
    weight, no smoothing) is the textbook

    $$\frac{\partial C}{\partial x} = (\operatorname{softmax}(x) - \operatorname{onehot}(t))\cdot g\,/\,N;$$

    each option is a named branch below, derived from $\partial \log p_c / \partial x_j = [c = j] - p_j$.
    'mean' divides by the forward's denominator ($\sum_n w_{t_n}$ for class indices, the row
    count for probabilities); if that was 0, the rows that counted get ``nan`` and ignored
    rows 0, as in PyTorch.
    """
    p = _class_last(probs)  # (M, C): one row per prediction
    m, n_classes = p.shape
    if target.dtype.kind != "f":  # class indices t
        t, counted, w_t = _target_weights(target, weight, ignore_index, p.dtype)
        onehot = np.zeros_like(p)
        onehot[np.arange(m), t] = 1  # row n: 1 at its class t_n (no C x C identity: C may be a vocabulary)
        grad = p - onehot  # the textbook line: softmax - onehot
        if weight is not None:  # class weights: l_n = -w_{t_n} log p_{n,t_n}, so row n is scaled by w_{t_n}
            grad *= weight[t][:, None]
        if label_smoothing:  # l_n mixes (1 - eps) of the above with eps/C sum_c -w_c log p_{n,c}
            w_c = np.ones(n_classes, p.dtype) if weight is None else weight
            grad = (1 - label_smoothing) * grad + (label_smoothing / n_classes) * (p * w_c.sum() - w_c)
        if not counted.all():  # ignore_index: an ignored row has no loss, so no gradient
            grad *= counted[:, None]
        denominator = w_t.sum().item()
    else:  # probability targets: p sum_c a_c - a, a = w q (see _soft_target_gradient)
        grad, counted, denominator = _soft_target_gradient(p, _class_last(target), weight, label_smoothing), None, m
    if reduction == "mean" and denominator == 0:  # PyTorch's 0/0: nan where a row counted
        grad = np.zeros_like(p)
        grad[slice(None) if counted is None else counted] = np.nan
    else:
        scale = _mean_scale(grad_output, reduction, denominator)
        grad *= scale.reshape(-1, 1) if reduction == "none" else scale
    return _class_back(grad, probs.shape)


def _soft_target_gradient(p, q, weight, label_smoothing):
    r"""Probability targets: the row loss $\ell = -\sum_c a_c \log p_c$ with $a = w \odot q$
    ($q$ smoothed to $(1 - \varepsilon)\,q + \varepsilon / C$) has
    $\partial \ell / \partial x_j = p_j \sum_c a_c - a_j$: $p - q$ when $q$ sums to 1 and
    there are no weights."""
    if label_smoothing:
        q = (1 - label_smoothing) * q + label_smoothing / p.shape[1]
    a = q if weight is None else q * weight
    return p * a.sum(axis=1, keepdims=True) - a


class CrossEntropyLoss(_Loss):
    r"""Cross-entropy of the softmax of logits against a target: ``LogSoftmax`` followed by
    the negative log-likelihood, fused so that backward is the short $p - y$.

    With $\log p_{n,c} = x_{n,c} - \log\sum_j e^{x_{n,j}}$ (max-shifted, so stable) and class
    weights $w$ (all 1 without ``weight``):

    **Class-index target** $t_n$. Without smoothing $\ell_n = -w_{t_n}\log p_{n,t_n}$; with
    label smoothing $\varepsilon$,

    $$\ell_n = (1 - \varepsilon)\,\big(-w_{t_n}\log p_{n,t_n}\big)
              + \frac{\varepsilon}{C}\sum_{c=1}^{C}\big(-w_c \log p_{n,c}\big),$$

    and $\ell_n = 0$ where $t_n$ equals ``ignore_index``. ``'mean'`` divides $\sum_n\ell_n$ by
    the total weight of the targets that count, $\sum_{n:\,t_n \ne \text{ignore}} w_{t_n}$
    (the number of non-ignored targets when there is no ``weight``), the smoothing term
    included, exactly as PyTorch does. If that is 0 (every target ignored, an empty batch)
    the mean is ``nan``, as in PyTorch.

    **Probability target** $y_{n,c}$ (same shape as the input, float). Smoothing mixes the
    target with the uniform distribution, $q = (1 - \varepsilon)\,y + \varepsilon / C$, and

    $$\ell_n = -\sum_c w_c\, q_{n,c} \log p_{n,c};$$

    ``'mean'`` divides by the number of rows (``N``, or ``N d1 ... dk``), not by weights.
    ``ignore_index`` does not apply; as in PyTorch a non-negative ``ignore_index`` is an error.

    Args:
        weight: optional per-class weights, shape ``(C,)``; cast to the input's dtype.
        ignore_index: a target class index that contributes neither loss nor gradient
            (class-index targets only). Default -100.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.
        label_smoothing: $\varepsilon \in [0, 1]$. Default 0.

    Shape:
        - input: logits ``(C,)``, ``(N, C)`` or ``(N, C, d1, ..., dk)``; the classes are
          dimension 1 (dimension 0 for ``(C,)``), as in PyTorch.
        - target: class indices of shape ``()``, ``(N,)`` or ``(N, d1, ..., dk)`` (any integer
          dtype), or probabilities of the input's shape (float).
        - output: a Python float for ``'mean'``/``'sum'``; for ``'none'`` an array of the
          class-index target's shape.

    Differences from PyTorch (all friendlier, none changes a number): class indices may be
    any integer dtype (PyTorch wants int64 or uint8); a probability target of the other float
    dtype is cast to the input's; an out-of-range class is a ``ValueError`` naming it.

    Raises:
        ValueError: on a bad option, a class index outside ``[0, C)`` that is not
            ``ignore_index``, a target or ``weight`` of the wrong shape.
        TypeError: on a float target of the class-index shape, or an integer target of the
            input's shape.
    """

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0, *, size_average=None, reduce=None):
        super().__init__(reduction, size_average=size_average, reduce=reduce)
        weight = checks.class_weight_option(weight, "CrossEntropyLoss")
        self.ignore_index = checks.ignore_index_option(ignore_index, "CrossEntropyLoss")
        self.label_smoothing = checks.label_smoothing_option(label_smoothing, "CrossEntropyLoss")
        self.register_buffer("weight", weight)  # state (in state_dict, as PyTorch's), not learned

    def forward(self, input, target):
        x, target = checks.cross_entropy_inputs(self, input, target)
        log_p = stable.log_softmax(_class_last(x), axis=1)  # one row per prediction, max-shifted: stable
        self.save_for_backward(_class_back(np.exp(log_p), x.shape), target)  # probs = softmax(x, dim=1)
        return self._value(_cross_entropy_of_log_p(log_p, x.shape, target, _in_dtype(self.weight, x.dtype),
                                                   self.ignore_index, self.reduction, self.label_smoothing))

    def backward(self, grad=1.0):
        r"""$\partial(g\,C)/\partial x$, shaped like the input: BP1 for softmax + cross-entropy,
        by :func:`cross_entropy_backward`. The plain case (class indices, no weight, no
        smoothing, ``'mean'``) is

        $$\frac{\partial C}{\partial x} = \frac{\operatorname{softmax}(x) - y}{N},$$

        $y$ the one-hot target; class weights scale each row by $w_{t_n}$, label smoothing
        mixes in $\tfrac{\varepsilon}{C}(p \sum_c w_c - w)$, an ignored row gets 0 and a
        probability target $q$ gives $p \sum_c a_c - a$ with $a = w \odot q$.

        Args:
            grad: the upstream gradient: a scalar for ``'mean'``/``'sum'`` (default 1.0), an
                array of the loss's shape for ``'none'``.
        """
        probs, target = self.saved_tensors
        g = checks.loss_grad(self, grad, checks.class_index_shape(probs.shape), probs.dtype)
        return cross_entropy_backward(g, probs, target, _in_dtype(self.weight, probs.dtype), self.ignore_index,
                                      self.reduction, self.label_smoothing)

    def extra_repr(self) -> str:
        parts = [super().extra_repr()] if self.reduction != "mean" else []
        if self.ignore_index != -100:
            parts.append(f"ignore_index={self.ignore_index}")
        if self.label_smoothing:
            parts.append(f"label_smoothing={self.label_smoothing}")
        return ", ".join(parts)


# -- divergence, Poisson and margin losses --------------------------------------------------
# Their 'mean' divides by what PyTorch's does: every element (kl_div, poisson_nll_loss,
# soft_margin_loss, hinge_embedding_loss) or every sample (the multi-class/multi-label ones, which
# first reduce over the classes). A target may broadcast against the input where PyTorch's does
# (element-wise losses); the gradient is then summed back to the input's shape.


def _summed_to(grad: np.ndarray, shape: tuple) -> np.ndarray:
    r"""The adjoint of broadcasting the input to ``grad.shape``: sums over the stretched axes."""
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    stretched = tuple(lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1)
    return grad.sum(axis=tuple(range(lead)) + stretched).reshape(shape)


def kl_div(input, target, reduction: str = "mean", log_target: bool = False):
    r"""$\ell_i = y_i(\log y_i - x_i)$ on log-probabilities $x$ (0 where $y_i = 0$), or
    $e^{y_i}(y_i - x_i)$ with ``log_target``; 'batchmean' is the sum over the batch size
    (the first dimension), 'mean' over every element."""
    if log_target:
        losses = np.exp(target) * (target - input)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):  # y log y: 0 at y = 0 (xlogy), nan below 0
            y_log_y = np.where(target == 0, 0.0, target * np.log(np.where(target == 0, 1.0, target)))
        losses = (y_log_y - target * input).astype(np.result_type(input, target), copy=False)
    if reduction == "batchmean":
        total = losses.sum()
        return total / input.shape[0] if input.ndim else total
    return _reduce(losses, reduction)


def kl_div_backward(grad_output, input, target, reduction: str = "mean", log_target: bool = False):
    r"""$\partial \ell_i/\partial x_i = -y_i$ (the $y\log y$ term does not depend on $x$), or
    $-e^{y_i}$ with ``log_target``; times $g$, divided by $n$ for 'mean' and by the batch size
    for 'batchmean'."""
    size = np.broadcast_shapes(np.shape(input), np.shape(target))
    if reduction == "batchmean":
        scale = grad_output / input.shape[0] if input.ndim and input.shape[0] else grad_output
    else:
        scale = _mean_scale(grad_output, reduction, int(np.prod(size)))
    grad = -(np.exp(target) if log_target else target) * scale
    return _summed_to(np.broadcast_to(grad, size).astype(input.dtype, copy=False), input.shape)


def poisson_nll_loss(input, target, log_input: bool = True, full: bool = False, eps: float = 1e-8,
                     reduction: str = "mean"):
    r"""$\ell_i = e^{x_i} - y_i x_i$ on a log-rate (``log_input``), else $x_i - y_i \log(x_i + \epsilon)$
    on the rate; ``full`` adds Stirling's $y\log y - y + \tfrac12\log(2\pi y)$ where $y > 1$."""
    if log_input:
        losses = np.exp(input) - target * input
    else:
        losses = input - target * np.log(input + eps)
    if full:
        big = target > 1  # log y! is ~0 there: PyTorch drops the term at y <= 1
        y = np.where(big, target, 2.0)
        losses = losses + np.where(big, y * np.log(y) - y + 0.5 * np.log(2 * np.pi * y), 0.0)
    return _reduce(losses, reduction)


def poisson_nll_loss_backward(grad_output, input, target, log_input: bool = True, full: bool = False,
                              eps: float = 1e-8, reduction: str = "mean"):
    r"""$\partial \ell_i/\partial x_i = e^{x_i} - y_i$ with ``log_input``, else
    $1 - y_i/(x_i + \epsilon)$ (Stirling's term has no $x$); times $g$, divided by $n$ for 'mean'."""
    size = np.broadcast_shapes(np.shape(input), np.shape(target))
    grad = np.exp(input) - target if log_input else 1 - target / (input + eps)
    grad = grad * _mean_scale(grad_output, reduction, int(np.prod(size)))
    return _summed_to(np.broadcast_to(grad, size).astype(input.dtype, copy=False), input.shape)


def soft_margin_loss(input, target, reduction: str = "mean"):
    r"""$\ell_i = \log(1 + e^{-y_i x_i})$, targets $y_i = \pm 1$, then mean, sum or none."""
    return _reduce(-stable.log_sigmoid(target * input), reduction)


def soft_margin_loss_backward(grad_output, input, target, reduction: str = "mean"):
    r"""$\partial \ell_i/\partial x_i = -y_i\,\sigma(-y_i x_i)$; times $g$, divided by $n$ for 'mean'."""
    yx = target * input
    grad = -target * stable.sigmoid(-yx) * _mean_scale(grad_output, reduction, yx.size)
    return _summed_to(grad.astype(input.dtype, copy=False), input.shape)


def hinge_embedding_loss(input, target, margin: float = 1.0, reduction: str = "mean"):
    r"""$\ell_i = x_i$ where $y_i = 1$, $\max(0, \Delta - x_i)$ where $y_i = -1$ ($\Delta$ the
    ``margin``; PyTorch's: a target that is neither adds both terms), then mean, sum or none."""
    losses = np.where(target != 1, np.maximum(margin - input, 0), 0) + np.where(target != -1, input, 0)
    return _reduce(losses.astype(input.dtype, copy=False), reduction)


def hinge_embedding_loss_backward(grad_output, input, target, margin: float = 1.0, reduction: str = "mean"):
    r"""$\partial \ell_i/\partial x_i = [y_i \ne -1] - [y_i \ne 1]\,[\Delta - x_i \ge 0]$: 1 for
    a positive pair, $-1$ for a negative one inside the margin (including its edge, as PyTorch's
    clamp), 0 beyond it; times $g$, divided by $n$ for 'mean'."""
    grad = (target != -1).astype(input.dtype) - ((target != 1) & (margin - input >= 0))
    grad = grad * _mean_scale(grad_output, reduction, grad.size)
    return _summed_to(grad.astype(input.dtype, copy=False), input.shape)


def _rows(input, target, labels: bool = False):
    """The scores as rows ``(N, C)`` (a ``(C,)`` or 0-d prediction is one row) and the target
    as ``(N,)`` class indices, or with ``labels`` as ``(N, C)`` label rows."""
    x = input.reshape(-1, input.shape[-1] if input.ndim else 1)
    return x, target.reshape(x.shape if labels else (-1,))


def _per_sample(losses, shape, reduction):
    """Per-sample losses ``(N,)`` reduced; for 'none', shaped as PyTorch's (``shape``)."""
    return losses.reshape(shape) if reduction == "none" else _reduce(losses, reduction)


def _sample_scale(grad_output, n, reduction):
    """$g$ per sample as a column ``(N, 1)`` (one value per row for 'none'), with 'mean''s $1/N$."""
    g = _mean_scale(grad_output, reduction, n)
    return np.reshape(g, (-1, 1)) if reduction == "none" else g


def multi_margin_loss(input, target, p: int = 1, margin: float = 1.0, weight=None, reduction: str = "mean"):
    r"""$\ell_n = \frac1C \sum_{c \ne t_n} w_{t_n} \max(0, \Delta - x_{n,t_n} + x_{n,c})^p$
    ($p \in \{1, 2\}$, $\Delta$ the ``margin``): the multi-class hinge of a score row against its
    class $t_n$. Input ``(C,)`` or ``(N, C)``, target ``()`` or ``(N,)``."""
    x, t = _rows(input, target)
    rows = np.arange(x.shape[0])
    z = margin - x[rows, t][:, None] + x  # the margin each other class comes within
    z[rows, t] = 0  # the target's own term is not a violation
    h = np.maximum(z, 0) ** p
    if weight is not None:
        h *= weight[t][:, None]
    # 'none': one loss per sample, 0-d for a 0-d target (PyTorch's shape)
    return _per_sample(h.sum(axis=1) / x.shape[1], () if target.ndim == 0 else (x.shape[0],), reduction)


def multi_margin_loss_backward(grad_output, input, target, p: int = 1, margin: float = 1.0, weight=None,
                               reduction: str = "mean"):
    r"""Each violation $z_{n,c} = \Delta - x_{n,t_n} + x_{n,c} > 0$ ($c \ne t_n$) pushes its class up
    and the target down:

    $$\frac{\partial \ell_n}{\partial x_{n,c}} = \frac{w_{t_n}}{C}\,p\,z_{n,c}^{p-1}\,[z_{n,c} > 0], \qquad
      \frac{\partial \ell_n}{\partial x_{n,t_n}} = -\sum_{c \ne t_n} \frac{\partial \ell_n}{\partial x_{n,c}},$$

    0 at $z = 0$ as in PyTorch; times $g$ (one per sample for 'none'), divided by $N$ for 'mean'."""
    x, t = _rows(input, target)
    rows = np.arange(x.shape[0])
    z = margin - x[rows, t][:, None] + x
    z[rows, t] = 0
    grad = np.where(z > 0, z if p == 2 else 1.0, 0.0) * p / x.shape[1]  # p z^(p-1), p = 1 or 2
    if weight is not None:
        grad *= weight[t][:, None]
    grad[rows, t] = -grad.sum(axis=1)
    grad *= _sample_scale(grad_output, x.shape[0], reduction)
    return grad.reshape(input.shape).astype(input.dtype, copy=False)


def _label_sets(x, t):
    """multilabel_margin_loss's target rows: which of the K entries are labels (those before the
    first -1) and which classes are labelled, ``(N, K)`` and ``(N, C)`` masks, the labels with
    -1 replaced by class 0."""
    valid = np.cumprod(t != -1, axis=1).astype(bool)
    labels = np.where(valid, t, 0)
    labelled = np.zeros(x.shape, dtype=bool)
    rows = np.broadcast_to(np.arange(x.shape[0])[:, None], t.shape)
    labelled[rows[valid], labels[valid]] = True
    return valid, labels, labelled


def _label_margins(x, t):
    """$z_{n,k,c} = 1 - x_{n,y_{nk}} + x_{n,c}$ for each label $k$ and non-label class $c$, and the
    mask of the pairs that count; also the labels."""
    valid, labels, labelled = _label_sets(x, t)
    x_label = np.take_along_axis(x, labels, axis=1)  # (N, K): the score of each label
    z = 1 - x_label[:, :, None] + x[:, None, :]  # (N, K, C)
    pairs = valid[:, :, None] & ~labelled[:, None, :]
    return z, pairs, labels


def multilabel_margin_loss(input, target, reduction: str = "mean"):
    r"""$\ell_n = \frac1C \sum_{k} \sum_{c \notin Y_n} \max(0, 1 - x_{n,y_{nk}} + x_{n,c})$: each label
    $y_{nk}$ (the target row's entries before its first $-1$; $Y_n$ their set) against each class
    that is not a label. Input ``(C,)`` or ``(N, C)``, target of the same shape."""
    x, t = _rows(input, target, labels=True)
    z, pairs, _ = _label_margins(x, t)
    shape = (x.shape[0],) if target.ndim == 2 else ()  # 'none': PyTorch's 0-d loss for one row
    return _per_sample(np.where(pairs, np.maximum(z, 0), 0).sum(axis=(1, 2)) / x.shape[1], shape, reduction)


def multilabel_margin_loss_backward(grad_output, input, target, reduction: str = "mean"):
    r"""Each counted pair (label $y_{nk}$, non-label $c$) with $z = 1 - x_{n,y_{nk}} + x_{n,c} > 0$
    adds $\frac1C$ to $\partial \ell_n/\partial x_{n,c}$ and $-\frac1C$ to
    $\partial \ell_n/\partial x_{n,y_{nk}}$ (0 at $z = 0$, as in PyTorch); times $g$ (one per sample for
    'none'), divided by $N$ for 'mean'."""
    x, t = _rows(input, target, labels=True)
    z, pairs, labels = _label_margins(x, t)
    active = (pairs & (z > 0)).astype(x.dtype) / x.shape[1]  # (N, K, C)
    grad = active.sum(axis=1)  # each non-label class, pushed down by every label it comes within 1 of
    rows = np.broadcast_to(np.arange(x.shape[0])[:, None], labels.shape)
    np.add.at(grad, (rows, labels), -active.sum(axis=2))  # each label pulled up (a repeated label twice)
    grad *= _sample_scale(grad_output, x.shape[0], reduction)
    return grad.reshape(input.shape)


def multilabel_soft_margin_loss(input, target, weight=None, reduction: str = "mean"):
    r"""$\ell_n = -\frac1C \sum_c w_c\,\big(y_{n,c} \log\sigma(x_{n,c}) + (1 - y_{n,c})\log\sigma(-x_{n,c})\big)$:
    binary cross-entropy on logits averaged over the classes (the last dimension); 'mean' then
    averages over the samples."""
    losses = -(target * stable.log_sigmoid(input) + (1 - target) * stable.log_sigmoid(-input))
    if weight is not None:
        losses = losses * weight
    return _reduce(losses.sum(axis=-1) / input.shape[-1], reduction)


def multilabel_soft_margin_loss_backward(grad_output, input, target, weight=None, reduction: str = "mean"):
    r"""$\partial \ell_n/\partial x_{n,c} = \frac{w_c}{C}\,(\sigma(x_{n,c}) - y_{n,c})$, BCE-with-logits'
    $\delta$ over $C$; times $g$ (one per sample for 'none'), divided by the number of samples for 'mean'."""
    grad = (stable.sigmoid(input) - target) / input.shape[-1]
    if weight is not None:
        grad = grad * weight
    n = input.size // input.shape[-1] if input.shape[-1] else 0
    g = _mean_scale(grad_output, reduction, n)
    grad = grad * (np.expand_dims(g, -1) if reduction == "none" else g)
    return _summed_to(grad.astype(input.dtype, copy=False), input.shape)


# The modules of these pairs (their F functions' options, without the deprecated size_average and reduce).


class _ElementwiseLoss(_Loss):
    """A loss of an input and a same-shaped float target whose pair takes ``(input, target,
    reduction=..., **options)``: forward keeps both (every derivative here is a function of them)."""

    _pair = None  # (forward, backward) in loss.py

    def _options(self) -> dict:
        return {}

    def forward(self, input, target):
        x, y = checks.loss_inputs(self, input, target)
        self.save_for_backward(x, y)  # the derivative is a function of x and y only
        return self._value(self._pair[0](x, y, reduction=self.reduction, **self._options()))

    def backward(self, grad=1.0):
        r"""$\partial(g\,C)/\partial x$ by the pair's backward (its docstring has the derivative)."""
        x, y = self.saved_tensors
        g = checks.loss_grad(self, grad, x.shape, x.dtype)
        return self._pair[1](g, x, y, reduction=self.reduction, **self._options())


class KLDivLoss(_ElementwiseLoss):
    r"""Kullback-Leibler divergence of a target distribution $y$ from log-probabilities $x$:

    $$\ell_i = y_i\,(\log y_i - x_i)\quad(0 \text{ where } y_i = 0), \qquad
      \text{or } e^{y_i}(y_i - x_i) \text{ with } \texttt{log\_target},$$

    then ``'batchmean'`` (the sum over the batch size: the divergence's value, averaged over the
    samples), ``'mean'`` (over every element, as PyTorch's default, which PyTorch warns about;
    this one does not warn), ``'sum'`` or ``'none'``. The backward is $-y$ (or $-e^{y}$):
    :func:`kl_div_backward`.

    Args:
        reduction: ``'mean'`` (default), ``'batchmean'``, ``'sum'`` or ``'none'``.
        log_target: whether the target is given as log-probabilities (default False).

    Shape: input ``(*)``, target the same shape; output a float, or ``(*)`` for ``'none'``.
    """

    _pair = (kl_div, kl_div_backward)

    def __init__(self, reduction: str = "mean", log_target: bool = False):
        Module.__init__(self)
        self.reduction = checks.choice(reduction, "KLDivLoss", "reduction", ("mean", "batchmean", "sum", "none"))
        self.log_target = checks.flag(log_target, "KLDivLoss", "log_target")

    def _options(self) -> dict:
        return {"log_target": self.log_target}


class PoissonNLLLoss(_ElementwiseLoss):
    r"""Negative log-likelihood of a Poisson target $y$ with rate $\lambda$:

    $$\ell_i = e^{x_i} - y_i x_i \ (\texttt{log\_input},\ x = \log\lambda), \qquad
      \ell_i = x_i - y_i \log(x_i + \epsilon) \ (x = \lambda),$$

    plus, with ``full``, Stirling's approximation of $\log y!$,
    $y\log y - y + \tfrac12\log(2\pi y)$, where $y > 1$; then mean, sum or none. The backward
    is $e^{x} - y$ or $1 - y/(x + \epsilon)$: :func:`poisson_nll_loss_backward`.

    Args:
        log_input: whether the input is the log of the rate (default True).
        full: add the Stirling term (default False).
        eps: keeps $\log(x + \epsilon)$ finite at $x = 0$ when ``log_input=False`` (default 1e-8).
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Shape: input ``(*)``, target the same shape; output a float, or ``(*)`` for ``'none'``.
    """

    _pair = (poisson_nll_loss, poisson_nll_loss_backward)

    def __init__(self, log_input: bool = True, full: bool = False, eps: float = 1e-8, reduction: str = "mean"):
        super().__init__(reduction)
        self.log_input = checks.flag(log_input, "PoissonNLLLoss", "log_input")
        self.full = checks.flag(full, "PoissonNLLLoss", "full")
        self.eps = checks.number(eps, "PoissonNLLLoss", "eps")

    def _options(self) -> dict:
        return {"log_input": self.log_input, "full": self.full, "eps": self.eps}

    def forward(self, log_input, target):
        """The loss of ``log_input`` (PyTorch's name for the input, a log-rate or a rate) against ``target``."""
        return super().forward(log_input, target)


class SoftMarginLoss(_ElementwiseLoss):
    r"""Two-class logistic loss on scores $x$ against targets $y = \pm 1$:
    $\ell_i = \log(1 + e^{-y_i x_i})$, then mean, sum or none. The backward is
    $-y\,\sigma(-y x)$: :func:`soft_margin_loss_backward`.

    Args:
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Shape: input ``(*)``, target the same shape; output a float, or ``(*)`` for ``'none'``.
    """

    _pair = (soft_margin_loss, soft_margin_loss_backward)


class HingeEmbeddingLoss(_ElementwiseLoss):
    r"""For a distance $x$ and a target $y = \pm 1$ (similar / dissimilar pair):

    $$\ell_i = \begin{cases} x_i & y_i = 1 \\ \max(0, \Delta - x_i) & y_i = -1, \end{cases}$$

    $\Delta$ the ``margin``; then mean, sum or none. The backward is 1 for $y = 1$, $-1$ for
    $y = -1$ within the margin: :func:`hinge_embedding_loss_backward`.

    Args:
        margin: $\Delta$ (default 1.0).
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Shape: input ``(*)``, target the same shape; output a float, or ``(*)`` for ``'none'``.
    """

    _pair = (hinge_embedding_loss, hinge_embedding_loss_backward)

    def __init__(self, margin: float = 1.0, reduction: str = "mean"):
        super().__init__(reduction)
        self.margin = checks.number(margin, "HingeEmbeddingLoss", "margin")

    def _options(self) -> dict:
        return {"margin": self.margin}


class MultiLabelSoftMarginLoss(_Loss):
    r"""Multi-label one-versus-all loss: binary cross-entropy on logits, averaged over the $C$ classes,

    $$\ell_n = -\frac1C \sum_c w_c\,\big(y_{n,c}\log\sigma(x_{n,c}) + (1 - y_{n,c})\log\sigma(-x_{n,c})\big),$$

    then mean (over the samples), sum or none. The backward is $\frac{w}{C}(\sigma(x) - y)$:
    :func:`multilabel_soft_margin_loss_backward`.

    Args:
        weight: optional per-class weights ``(C,)``.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Shape: input ``(C,)`` or ``(N, C)``, target (0 or 1) the same shape; output a float, or
    ``()`` / ``(N,)`` for ``'none'``.
    """

    def __init__(self, weight=None, reduction: str = "mean"):
        super().__init__(reduction)
        self.register_buffer("weight", checks.loss_weight_option(weight, "MultiLabelSoftMarginLoss"))

    def forward(self, input, target):
        x, y, w = checks.loss_inputs(self, input, target, weight=self.weight)
        self.save_for_backward(x, y, w)  # the derivative needs sigma(x) (from x), y and w
        return self._value(multilabel_soft_margin_loss(x, y, w, self.reduction))

    def backward(self, grad=1.0):
        r"""$\frac{w_c}{C}(\sigma(x_{n,c}) - y_{n,c})$, times $g$, divided by $N$ for 'mean'
        (:func:`multilabel_soft_margin_loss_backward`)."""
        x, y, w = self.saved_tensors
        g = checks.loss_grad(self, grad, x.shape[:-1], x.dtype)
        return multilabel_soft_margin_loss_backward(g, x, y, w, self.reduction)


class MultiMarginLoss(_Loss):
    r"""Multi-class hinge loss of scores $x$ against a class $t_n$ per sample:

    $$\ell_n = \frac1C \sum_{c \ne t_n} w_{t_n}\max(0, \Delta - x_{n,t_n} + x_{n,c})^p,$$

    $p \in \{1, 2\}$, $\Delta$ the ``margin``; then mean (over the samples), sum or none. The
    backward: :func:`multi_margin_loss_backward`.

    Args:
        p: 1 (default) or 2.
        margin: $\Delta$ (default 1.0).
        weight: optional per-class weights ``(C,)``.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Shape: input ``(C,)`` or ``(N, C)``, target ``()`` or ``(N,)`` class indices; output a
    float, or one loss per sample for ``'none'``.
    """

    def __init__(self, p: int = 1, margin: float = 1.0, weight=None, reduction: str = "mean"):
        super().__init__(reduction)
        self.p = checks.margin_power(p, "MultiMarginLoss")
        self.margin = checks.number(margin, "MultiMarginLoss", "margin")
        self.register_buffer("weight", checks.class_weight_option(weight, "MultiMarginLoss"))

    def forward(self, input, target):
        x, t, w = checks.multi_margin_inputs(self, input, target, self.weight)
        self.save_for_backward(x, t, w)  # which classes violate the margin, from x and t
        return self._value(multi_margin_loss(x, t, self.p, self.margin, w, self.reduction))

    def backward(self, grad=1.0):
        r"""$\frac{w_t}{C}\,p\,z^{p-1}$ for each class within the margin ($z > 0$), minus their
        sum at the target; times $g$, divided by $N$ for 'mean' (:func:`multi_margin_loss_backward`)."""
        x, t, w = self.saved_tensors
        g = checks.loss_grad(self, grad, () if t.ndim == 0 else (t.size,), x.dtype)
        return multi_margin_loss_backward(g, x, t, self.p, self.margin, w, self.reduction)


class MultiLabelMarginLoss(_Loss):
    r"""Multi-label hinge loss: each label $y_{nk}$ of sample $n$ (its target row's class indices
    before the first $-1$; $Y_n$ their set) against each class that is not a label,

    $$\ell_n = \frac1C \sum_k \sum_{c \notin Y_n} \max(0, 1 - x_{n,y_{nk}} + x_{n,c}),$$

    then mean (over the samples), sum or none. The backward: :func:`multilabel_margin_loss_backward`.

    Args:
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Shape: input ``(C,)`` or ``(N, C)``, target integer, the same shape; output a float, or
    ``()`` / ``(N,)`` for ``'none'``.
    """

    def forward(self, input, target):
        x, t = checks.multilabel_inputs(self, input, target)
        self.save_for_backward(x, t)  # which pairs violate the margin, from x and t
        return self._value(multilabel_margin_loss(x, t, self.reduction))

    def backward(self, grad=1.0):
        r"""$\pm\frac1C$ for each label / non-label pair within the margin, times $g$, divided by
        $N$ for 'mean' (:func:`multilabel_margin_loss_backward`)."""
        x, t = self.saved_tensors
        g = checks.loss_grad(self, grad, (x.shape[0],) if t.ndim == 2 else (), x.dtype)
        return multilabel_margin_loss_backward(g, x, t, self.reduction)
