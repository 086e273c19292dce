r"""Losses: the cost $C$ at the end of the chain, and $\nabla_a C$ that starts backprop (BP1).

A loss is a module: ``forward(input, target)`` returns the loss (a Python float for
``reduction='mean'``/``'sum'``, an array for ``'none'``) and ``backward(grad=1.0)`` returns
$\partial(\text{grad}\cdot C)/\partial\,\text{input}$, shaped like ``input``. The $1/N$ of a mean
lives here, and only here: layers sum over the batch.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import stable
from .. import _checks as checks
from .._checks import as_float_array, reduction as check_reduction
from .module import Module


class _Loss(Module):
    """Shared by every loss: the ``reduction`` option and the ``grad`` argument of backward."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = check_reduction(reduction, type(self).__name__)

    def _reduce(self, losses: np.ndarray, denominator=None):
        """Reduce per-element losses; ``denominator`` overrides the count for 'mean'."""
        if self.reduction == "none":
            return losses
        total = losses.sum()
        if self.reduction == "sum":
            return float(total)
        count = losses.size if denominator is None else denominator
        if count == 0:
            # PyTorch's 0/0 (an empty batch, every target ignored, zero total weight) is nan;
            # returned directly so numpy raises no RuntimeWarning.
            return float("nan")
        return float(total / count)

    def _upstream(self, grad, loss_shape: tuple, dtype) -> np.ndarray:
        """The gradient arriving at the loss value: a scalar for 'mean'/'sum', an array shaped
        like the loss for 'none'."""
        if type(grad) is float and self.reduction != "none":
            return dtype.type(grad)  # the default 1.0: a NumPy scalar of the input's dtype
        owner = f"{type(self).__name__}.backward"
        grad = as_float_array(grad, owner, "grad", dtype=dtype)
        expected = loss_shape if self.reduction == "none" else ()
        if grad.shape != expected:
            raise ValueError(
                f"{owner} expected grad of shape {expected} for reduction={self.reduction!r}, got {grad.shape}"
            )
        return grad

    def _mean_scale(self, g, count: int):
        """The upstream gradient $g$ times the $1/N$ of ``reduction='mean'`` ($N$ = ``count``,
        the elements averaged); $g$ itself for 'sum' and 'none' (or an empty mean)."""
        return g / count if self.reduction == "mean" and count else g

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}" if self.reduction != "mean" else ""


class MSELoss(_Loss):
    r"""Mean squared error: $\ell_i = (x_i - y_i)^2$, then mean, sum or none.

    Note: no $\tfrac12$. PyTorch's convention (and ours) is $C = \frac1n\sum_i (x_i - y_i)^2$;
    the classic derivations' $C = \tfrac12\lVert y - a\rVert^2$ is ``0.5 * MSELoss(reduction='sum')``.

    Args:
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Shape: input ``(*)``, target the same shape; output a float, or ``(*)`` for ``'none'``.
    """

    def forward(self, input, target):
        input = as_float_array(input, "MSELoss", "input")
        target = as_float_array(target, "MSELoss", "target", dtype=input.dtype)
        checks.same_shape(target, input, self)
        diff = input - target
        self.save_for_backward(diff)  # dC/dx = 2 (x - y) / n needs only the difference
        return self._reduce(diff * diff)

    def backward(self, grad=1.0):
        r"""BP1 for this cost: $\partial C/\partial x_i = 2 (x_i - y_i)\cdot g$, divided by $n$ for 'mean'."""
        (diff,) = self.saved_tensors
        g = self._upstream(grad, diff.shape, diff.dtype)
        scale = 2 * self._mean_scale(g, diff.size)
        return diff * scale



# -- helpers shared by the weighted losses -----------------------------------------------


def _as_weight(weight, owner: str, name: str):
    """``None``, or the user's weights as a float array of our own (later edits to the
    caller's array do not leak in). Cast to the input's dtype at each forward."""
    if weight is None:
        return None
    return np.array(as_float_array(weight, owner, name))


def _weight_for_input(weight, shape: tuple, dtype, owner: str, name: str):
    """``weight`` cast to the input's dtype, after checking it broadcasts to ``shape``
    (it may not enlarge the input: the loss has the input's shape, as in PyTorch)."""
    if weight is None:
        return None
    try:
        fits = np.broadcast_shapes(weight.shape, shape) == shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"{owner} {name} of shape {weight.shape} does not broadcast to the input shape {shape}")
    return weight.astype(dtype, copy=False)


def _class_weight_option(weight, owner: str):
    """The ``weight=`` of a class-index loss: ``None`` or a 1-D array of per-class weights."""
    weight = _as_weight(weight, owner, "weight")
    if weight is not None and weight.ndim != 1:
        raise ValueError(f"{owner} weight must be a 1-D array of per-class weights, got shape {weight.shape}")
    return weight


def _ignore_index_option(ignore_index, owner: str) -> int:
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
        raise TypeError(f"{owner} ignore_index must be an int, got {ignore_index!r}")
    return int(ignore_index)


def _class_count(x: np.ndarray, weight, owner: str) -> int:
    """The number of classes $C$ of an input ``(C,)``, ``(N, C)`` or ``(N, C, d1, ...)``,
    after checking that there is at least one and that ``weight`` has one entry per class."""
    n_classes = 0 if x.ndim == 0 else x.shape[0] if x.ndim == 1 else x.shape[1]
    if n_classes == 0:
        raise ValueError(
            f"{owner} expected input of shape (C,), (N, C) or (N, C, d1, ...) with C >= 1, got shape {x.shape}"
        )
    if weight is not None and weight.shape != (n_classes,):
        raise ValueError(f"{owner} weight must have one entry per class, shape ({n_classes},), got {weight.shape}")
    return n_classes


def _index_target_shape(input_shape: tuple) -> tuple:
    """The shape of a class-index target (and of a 'none' loss): the input's without the class axis."""
    return () if len(input_shape) == 1 else input_shape[:1] + input_shape[2:]


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


# PyTorch clamps BCE's backward denominator x (1 - x) at a C ``float`` 1e-12, so even its float64
# kernel uses 1e-12 rounded to float32 (9.99999996e-13): x = 0, y = 1 gives -1.000000004e12.
# A Python float, so it never upcasts float32 work.
_BCE_EPSILON = float(np.float32(1e-12))


# -- the losses -----------------------------------------------------------------------------


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
                 label_smoothing: float = 0.0):
        super().__init__(reduction)
        weight = _class_weight_option(weight, "CrossEntropyLoss")
        ignore_index = _ignore_index_option(ignore_index, "CrossEntropyLoss")
        if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float, np.integer, np.floating)):
            raise TypeError(f"CrossEntropyLoss label_smoothing must be a number, got {label_smoothing!r}")
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss label_smoothing must be in [0, 1], got {label_smoothing!r}")
        self.register_buffer("weight", weight)  # state (in state_dict, as PyTorch's), not learned
        self.ignore_index = int(ignore_index)
        self.label_smoothing = float(label_smoothing)  # a Python float never upcasts float32 work

    def forward(self, input, target):
        x, target = self._check(input, target)
        log_p = stable.log_softmax(_class_last(x), axis=1)  # one row per prediction: (M, C)
        if target.dtype.kind == "f":
            losses, coefficients, denominator = self._probability_terms(log_p, _class_last(target))
            counted = None
        else:
            losses, coefficients, denominator, counted = self._index_terms(log_p, target.reshape(-1))
        # backward needs p = exp(log p) and each row's coefficients a (see backward)
        self.save_for_backward(_CrossEntropyCache(x.shape, log_p, coefficients, denominator, counted))
        if self.reduction == "none":
            return losses.reshape(() if x.ndim == 1 else x.shape[:1] + x.shape[2:])
        return self._reduce(losses, denominator)

    def _index_terms(self, log_p: np.ndarray, t: np.ndarray):
        r"""Class-index target $t$: per-row losses $-w_{t_n}\log p_{n,t_n}$ (with label
        smoothing, mixed with $-\tfrac{1}{C}\sum_c w_c \log p_{n,c}$), the coefficients $a$ of
        each row's $\log p$ (see backward), the 'mean' denominator $\sum_n w_{t_n}$ and which
        rows count (not ``ignore_index``)."""
        m, n_classes = log_p.shape
        rows = np.arange(m)
        counted = t != self.ignore_index
        t = np.where(counted, t, 0)  # an ignored row points at class 0, with weight 0
        w = self._class_weight(log_p.dtype)
        w_t = counted if w is None else w[t] * counted  # each row's target weight (True counts as 1)
        losses = -log_p[rows, t] * w_t
        coefficients = np.zeros_like(log_p)
        coefficients[rows, t] = w_t  # the one-hot target y, weighted
        eps = self.label_smoothing
        if eps:
            w_c = np.ones(n_classes, log_p.dtype) if w is None else w
            smooth = -(log_p * w_c).sum(axis=1) * counted  # -sum_c w_c log p_c
            losses = (1 - eps) * losses + (eps / n_classes) * smooth
            coefficients = (1 - eps) * coefficients + (eps / n_classes) * np.outer(counted, w_c)
        return losses, coefficients, w_t.sum().item(), counted

    def _probability_terms(self, log_p: np.ndarray, q: np.ndarray):
        r"""Probability target $q$ (smoothed: $(1-\varepsilon)\,q + \varepsilon/C$): per-row losses
        $-\sum_c w_c q_{n,c}\log p_{n,c}$, their coefficients $a = w \odot q$ and the 'mean'
        denominator, the number of rows."""
        m, n_classes = log_p.shape
        eps = self.label_smoothing
        if eps:
            q = (1 - eps) * q + eps / n_classes
        w = self._class_weight(log_p.dtype)
        coefficients = q if w is None else q * w
        return -(coefficients * log_p).sum(axis=1), coefficients, m

    def _class_weight(self, dtype):
        return None if self.weight is None else self.weight.astype(dtype, copy=False)

    def backward(self, grad=1.0):
        r"""$\partial(g\,C)/\partial x$, shaped like the input: BP1 for softmax + cross-entropy.

        **The plain case** (class indices, no weight, no smoothing, ``'mean'``):

        $$\frac{\partial C}{\partial x} = \frac{\operatorname{softmax}(x) - y}{N},$$

        $y$ the one-hot target.

        **In general**, every case is a row loss $\ell = -\sum_c a_c \log p_c$ with some
        coefficients $a$: the one-hot $y$ above; $w_t\,y$ with class weights; mixed with
        $\tfrac{\varepsilon}{C} w$ by label smoothing; $w \odot q$ for a probability target;
        0 for an ignored row. Since $\partial \log p_c / \partial x_j = [c = j] - p_j$,

        $$\frac{\partial \ell}{\partial x_j} = p_j \sum_c a_c - a_j ,$$

        which is $p - y$ when $a = y$. Each row is then scaled by the upstream gradient $g$
        (one per row for ``'none'``) and, for ``'mean'``, divided by the forward's denominator
        ($\sum_n w_{t_n}$ for class indices, the row count for probabilities). If that was 0,
        the rows that counted get ``nan`` and ignored rows 0, as in PyTorch.

        Args:
            grad: the upstream gradient: a scalar for ``'mean'``/``'sum'`` (default 1.0), an
                array of the loss's shape for ``'none'``.
        """
        (cache,) = self.saved_tensors
        p, a = np.exp(cache.log_p), cache.coefficients
        loss_shape = () if len(cache.input_shape) == 1 else cache.input_shape[:1] + cache.input_shape[2:]
        g = self._upstream(grad, loss_shape, p.dtype)
        if self.reduction == "mean" and cache.denominator == 0:
            return _class_back(self._zero_denominator_gradient(cache), cache.input_shape)
        delta = p * a.sum(axis=1, keepdims=True) - a  # p - y in the plain case
        if self.reduction == "none":
            delta *= g.reshape(-1, 1)
        elif self.reduction == "mean":
            delta *= g / cache.denominator
        else:
            delta *= g
        return _class_back(delta, cache.input_shape)

    @staticmethod
    def _zero_denominator_gradient(cache) -> np.ndarray:
        """PyTorch's 0/0 for a 'mean' over nothing: nan where a row counted, 0 where it was ignored."""
        delta = np.zeros_like(cache.log_p)
        delta[slice(None) if cache.counted is None else cache.counted] = np.nan
        return delta

    def _check(self, input, target):
        """The input as a float array of logits and the target as class indices or
        probabilities, or an error that says what was expected."""
        x = as_float_array(input, "CrossEntropyLoss", "input")
        target = np.asarray(target)
        n_classes = _class_count(x, self.weight, "CrossEntropyLoss")
        loss_shape = _index_target_shape(x.shape)
        if target.shape == x.shape:
            if target.dtype.kind != "f":
                raise TypeError(
                    f"CrossEntropyLoss target has the input's shape {x.shape}, so it holds class probabilities "
                    f"and must be a float array, got dtype {target.dtype} (class indices have shape {loss_shape})"
                )
            if self.ignore_index >= 0:
                raise ValueError(
                    f"CrossEntropyLoss ignore_index is not supported with probability targets (as in PyTorch, "
                    f"only a negative ignore_index, which has no effect, is allowed), got ignore_index={self.ignore_index}"
                )
            return x, target.astype(x.dtype)  # a copy of our own: the cache must not alias the caller's array
        if target.shape != loss_shape:
            raise ValueError(
                f"CrossEntropyLoss expected target of shape {loss_shape} (class indices) or {x.shape} "
                f"(class probabilities) for input of shape {x.shape}, got target of shape {target.shape}"
            )
        if target.dtype.kind not in "iu":
            raise TypeError(
                f"CrossEntropyLoss target of shape {target.shape} holds class indices and must be an integer "
                f"array, got dtype {target.dtype} (for probabilities pass a float target of shape {x.shape})"
            )
        checks.class_range(target, n_classes, self.ignore_index, "CrossEntropyLoss")
        return x, target

    def extra_repr(self) -> str:
        parts = [super().extra_repr()] if self.reduction != "mean" else []
        if self.ignore_index != -100:
            parts.append(f"ignore_index={self.ignore_index}")
        if self.label_smoothing:
            parts.append(f"label_smoothing={self.label_smoothing}")
        return ", ".join(parts)


class _CrossEntropyCache(NamedTuple):
    input_shape: tuple
    log_p: np.ndarray  # (M, C): log softmax of each row of logits
    coefficients: np.ndarray  # (M, C): a, each row's loss being -sum_c a_c log p_c
    denominator: float  # what 'mean' divides by
    counted: np.ndarray | None  # (M,) rows not ignored (class-index targets only)


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

    def __init__(self, weight=None, reduction: str = "mean"):
        super().__init__(reduction)
        self.register_buffer("weight", _as_weight(weight, "BCELoss", "weight"))  # state, not learned

    def forward(self, input, target):
        x = as_float_array(input, "BCELoss", "input")
        y = as_float_array(target, "BCELoss", "target", dtype=x.dtype)
        checks.same_shape(y, x, self)
        checks.unit_interval(x, "BCELoss", "input")
        checks.unit_interval(y, "BCELoss", "target")
        w = _weight_for_input(self.weight, x.shape, x.dtype, "BCELoss", "weight")
        with np.errstate(divide="ignore"):  # log(0) = -inf, clamped to -100 below as PyTorch does
            log_x = np.maximum(np.log(x), -100)
            log_1mx = np.maximum(np.log1p(-x), -100)
        losses = -(y * log_x + (1 - y) * log_1mx)
        if w is not None:
            losses *= w
        self.save_for_backward(x, y, w)  # the derivative is a function of x, y and w only
        return self._reduce(losses)

    def backward(self, grad=1.0):
        r"""$\dfrac{\partial \ell_i}{\partial x_i} = w_i\,\dfrac{x_i - y_i}{x_i (1 - x_i)}$, with the
        denominator clamped below at $10^{-12}$ as PyTorch does (so $x \in \{0, 1\}$ gives a large
        but finite gradient, $\approx \pm 10^{12}$), times the upstream gradient, divided by $n$ for
        ``'mean'``. The clamp is PyTorch's exact constant: $10^{-12}$ rounded to float32, also in
        float64."""
        x, y, w = self.saved_tensors
        g = self._upstream(grad, x.shape, x.dtype)
        scale = self._mean_scale(g, x.size)
        delta = (x - y) / np.maximum((1 - x) * x, _BCE_EPSILON)
        if w is not None:
            delta *= w
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

    def __init__(self, weight=None, reduction: str = "mean", pos_weight=None):
        super().__init__(reduction)
        self.register_buffer("weight", _as_weight(weight, "BCEWithLogitsLoss", "weight"))
        self.register_buffer("pos_weight", _as_weight(pos_weight, "BCEWithLogitsLoss", "pos_weight"))

    def forward(self, input, target):
        x = as_float_array(input, "BCEWithLogitsLoss", "input")
        y = as_float_array(target, "BCEWithLogitsLoss", "target", dtype=x.dtype)
        checks.same_shape(y, x, self)
        w = _weight_for_input(self.weight, x.shape, x.dtype, "BCEWithLogitsLoss", "weight")
        pw = _weight_for_input(self.pos_weight, x.shape, x.dtype, "BCEWithLogitsLoss", "pos_weight")
        pos = y if pw is None else pw * y  # p_c y: the weight of the -log sigma(x) term
        losses = -(1 - y) * stable.log_sigmoid(-x)
        losses -= pos * stable.log_sigmoid(x)
        if w is not None:
            losses *= w
        # backward needs sigma(x) (from x), y, w and p_c y
        self.save_for_backward(x, y, w, None if pw is None else pos)
        return self._reduce(losses)

    def backward(self, grad=1.0):
        r"""With $\sigma' = \sigma(1 - \sigma)$:
        $\dfrac{\partial \ell}{\partial x} = w\,\big((1 - y)\sigma(x) - p_c\,y\,(1 - \sigma(x))\big)
        = w\,\big((1 + (p_c - 1)y)\,\sigma(x) - p_c\,y\big)$, which without ``pos_weight`` is BP1's
        $\delta = w\,(\sigma(x) - y)$; times the upstream gradient, divided by $n$ for ``'mean'``."""
        x, y, w, pos = self.saved_tensors
        g = self._upstream(grad, x.shape, x.dtype)
        scale = self._mean_scale(g, x.size)
        s = stable.sigmoid(x)
        if pos is None:
            delta = s - y
        else:
            delta = s * (1 - y + pos)
            delta -= pos
        if w is not None:
            delta *= w
        delta *= scale
        return delta


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

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction)
        self.register_buffer("weight", _class_weight_option(weight, "NLLLoss"))  # state, not learned
        self.ignore_index = _ignore_index_option(ignore_index, "NLLLoss")

    def forward(self, input, target):
        x = as_float_array(input, "NLLLoss", "input")
        n_classes = _class_count(x, self.weight, "NLLLoss")
        loss_shape = _index_target_shape(x.shape)
        target = checks.class_index_target(target, self, x.shape, loss_shape, n_classes, self.ignore_index)

        rows = _class_last(x)  # (M, C): one row of log-probabilities per prediction
        t = target.reshape(-1)
        counted = t != self.ignore_index
        t = np.where(counted, t, 0)  # an ignored row points at class 0, with weight 0
        w_t = counted.astype(x.dtype) if self.weight is None else self.weight.astype(x.dtype)[t] * counted
        losses = -rows[np.arange(t.size), t] * w_t
        # backward needs only where each row's target is and its weight: dl/dx_{n,c} = -w_t [c = t]
        self.save_for_backward(x.shape, n_classes, t, w_t, counted, w_t.sum().item())
        if self.reduction == "none":
            return losses.reshape(loss_shape)
        return self._reduce(losses, w_t.sum().item())

    def backward(self, grad=1.0):
        r"""Each row's loss $\ell_n = -w_{t_n} x_{n,t_n}$ depends on one entry of the input:

        $$\frac{\partial \ell_n}{\partial x_{n,c}} = -w_{t_n}\,[c = t_n],$$

        a one-hot row scaled by $-w_{t_n}$ (0 for an ignored row); times the upstream gradient
        $g$ (one per row for ``'none'``) and, for ``'mean'``, divided by $\sum_n w_{t_n}$. If
        that is 0, counted rows get ``nan`` at their target and everything else 0, as in PyTorch.
        """
        input_shape, n_classes, t, w_t, counted, denominator = self.saved_tensors
        g = self._upstream(grad, _index_target_shape(input_shape), w_t.dtype)
        rows = np.arange(t.size)
        delta = np.zeros((t.size, n_classes), dtype=w_t.dtype)  # one row per prediction, as in forward
        if self.reduction == "mean" and denominator == 0:
            delta[rows[counted], t[counted]] = np.nan  # PyTorch's -0/0
            return _class_back(delta, input_shape)
        if self.reduction == "none":
            delta[rows, t] = -w_t * g.reshape(-1)
        elif self.reduction == "mean":
            delta[rows, t] = -w_t * (g / denominator)
        else:
            delta[rows, t] = -w_t * g
        return _class_back(delta, input_shape)


class L1Loss(_Loss):
    r"""Mean absolute error: $\ell_i = |x_i - y_i|$, then mean, sum or none.

    Args:
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Shape: input ``(*)``, target the same shape; output a float, or ``(*)`` for ``'none'``.
    """

    def forward(self, input, target):
        input = as_float_array(input, "L1Loss", "input")
        target = as_float_array(target, "L1Loss", "target", dtype=input.dtype)
        checks.same_shape(target, input, self)
        diff = input - target
        self.save_for_backward(np.sign(diff))  # the derivative of |d| is sign(d): nothing else is needed
        return self._reduce(np.abs(diff))

    def backward(self, grad=1.0):
        r"""$\dfrac{\partial \ell_i}{\partial x_i} = \operatorname{sign}(x_i - y_i)$, with PyTorch's
        choice of 0 at $x_i = y_i$ (where $|d|$ has no derivative); times the upstream gradient,
        divided by $n$ for ``'mean'``."""
        (sign,) = self.saved_tensors
        g = self._upstream(grad, sign.shape, sign.dtype)
        scale = self._mean_scale(g, sign.size)
        return sign * scale


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

    def __init__(self, reduction: str = "mean", beta: float = 1.0):
        super().__init__(reduction)
        self.beta = _non_negative_option(beta, "SmoothL1Loss", "beta", strict=False)

    def forward(self, input, target):
        input = as_float_array(input, "SmoothL1Loss", "input")
        target = as_float_array(target, "SmoothL1Loss", "target", dtype=input.dtype)
        checks.same_shape(target, input, self)
        d = input - target
        self.save_for_backward(d)  # both branches of the derivative are functions of d
        if self.beta == 0:
            return self._reduce(np.abs(d))
        small = np.abs(d) < self.beta
        return self._reduce(np.where(small, 0.5 * d * d / self.beta, np.abs(d) - 0.5 * self.beta))

    def backward(self, grad=1.0):
        r"""$\dfrac{\partial \ell_i}{\partial d_i} = d_i / \beta$ where $|d_i| < \beta$, else
        $\operatorname{sign}(d_i)$ (continuous at $|d_i| = \beta$, where both are $\pm 1$; for
        $\beta = 0$ it is L1's sign, 0 at $d_i = 0$). Times the upstream gradient, divided by $n$
        for ``'mean'``."""
        (d,) = self.saved_tensors
        g = self._upstream(grad, d.shape, d.dtype)
        scale = self._mean_scale(g, d.size)
        if self.beta == 0:
            return np.sign(d) * scale
        return np.where(np.abs(d) < self.beta, d / self.beta, np.sign(d)) * scale

    def extra_repr(self) -> str:
        return ", ".join(filter(None, [super().extra_repr(), f"beta={self.beta}" if self.beta != 1.0 else ""]))


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
        self.delta = _non_negative_option(delta, "HuberLoss", "delta", strict=True)

    def forward(self, input, target):
        input = as_float_array(input, "HuberLoss", "input")
        target = as_float_array(target, "HuberLoss", "target", dtype=input.dtype)
        checks.same_shape(target, input, self)
        d = input - target
        self.save_for_backward(d)  # both branches of the derivative are functions of d
        small = np.abs(d) < self.delta
        return self._reduce(np.where(small, 0.5 * d * d, self.delta * (np.abs(d) - 0.5 * self.delta)))

    def backward(self, grad=1.0):
        r"""$\dfrac{\partial \ell_i}{\partial d_i} = d_i$ where $|d_i| < \delta$, else
        $\delta\,\operatorname{sign}(d_i)$: the error itself, clipped to $[-\delta, \delta]$.
        Times the upstream gradient, divided by $n$ for ``'mean'``."""
        (d,) = self.saved_tensors
        g = self._upstream(grad, d.shape, d.dtype)
        scale = self._mean_scale(g, d.size)
        return np.clip(d, -self.delta, self.delta) * scale

    def extra_repr(self) -> str:
        return ", ".join(filter(None, [super().extra_repr(), f"delta={self.delta}" if self.delta != 1.0 else ""]))


def _non_negative_option(value, owner: str, name: str, strict: bool) -> float:
    """A real option that must be >= 0 (``strict``: > 0); returned as a Python float, which
    never upcasts float32 work."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{owner} {name} must be a real number, got {value!r}")
    if not (value > 0 if strict else value >= 0):  # `not` also refuses NaN
        raise ValueError(f"{owner} {name} must be {'> 0' if strict else '>= 0'}, got {value!r}")
    return float(value)
