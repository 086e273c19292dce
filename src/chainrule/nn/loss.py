r"""Losses: the cost $C$ at the end of the chain, and $\nabla_a C$ that starts backprop (BP1).

A loss is a module: ``forward(input, target)`` returns the loss (a Python float for
``reduction='mean'``/``'sum'``, an array for ``'none'``) and ``backward(grad=1.0)`` returns
$\partial(\text{grad}\cdot C)/\partial\,\text{input}$, shaped like ``input``. The $1/N$ of a mean
lives here, and only here: layers sum over the batch.
"""

from __future__ import annotations

import numpy as np

from . import functional as F
from ._checks import as_float_array, check_reduction
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
        total = np.add.reduce(losses, axis=None)
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

    def _check_same_shape(self, input: np.ndarray, target: np.ndarray) -> None:
        if input.shape != target.shape:
            raise ValueError(
                f"{type(self).__name__} expected target of the same shape as input {input.shape}, "
                f"got {target.shape}"
            )

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
        self._check_same_shape(input, target)
        diff = input - target
        self._save_for_backward(diff)  # dC/dx = 2 (x - y) / n needs only the difference
        return self._reduce(diff * diff)

    def backward(self, grad=1.0):
        r"""BP1 for this cost: $\partial C/\partial x_i = 2 (x_i - y_i)\cdot g$, divided by $n$ for 'mean'."""
        (diff,) = self._saved()
        g = self._upstream(grad, diff.shape, diff.dtype)
        scale = 2 * g / diff.size if self.reduction == "mean" and diff.size else 2 * g
        return diff * scale



# -- helpers shared by the classification losses -----------------------------------------


def _softmax_times(e: np.ndarray, total: np.ndarray, c) -> np.ndarray:
    """$p \\odot c$ for the softmax $p = e / \\text{total}$ (see ``F.softmax_terms``) and a
    per-row factor ``c``, computed as $e \\odot (c / \\text{total})$: one pass over the
    ``(M, C)`` array instead of two."""
    return e * (c / total)


def _col(c):
    """A per-row factor as a column, so it scales the rows of an ``(M, C)`` array; a scalar
    (a float or 0-d array under 'mean'/'sum') passes through unchanged."""
    return c[:, None] if isinstance(c, np.ndarray) and c.ndim else c


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


def _check_unit_interval(a: np.ndarray, owner: str, name: str) -> None:
    if a.size == 0:
        return
    lo, hi = np.minimum.reduce(a, axis=None), np.maximum.reduce(a, axis=None)
    if not (lo >= 0 and hi <= 1):  # also catches NaN, which fails every comparison
        raise ValueError(f"{owner} expected {name} values in [0, 1], got values in [{lo}, {hi}]")


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
        weight = _as_weight(weight, "CrossEntropyLoss", "weight")
        if weight is not None and weight.ndim != 1:
            raise ValueError(
                f"CrossEntropyLoss weight must be a 1-D array of per-class weights, got shape {weight.shape}"
            )
        if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
            raise TypeError(f"CrossEntropyLoss ignore_index must be an int, got {ignore_index!r}")
        if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float, np.integer, np.floating)):
            raise TypeError(f"CrossEntropyLoss label_smoothing must be a number, got {label_smoothing!r}")
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss label_smoothing must be in [0, 1], got {label_smoothing!r}")
        self.weight = weight  # a plain array (PyTorch's buffer), not a Parameter: it is not learned
        self.ignore_index = int(ignore_index)
        self.label_smoothing = float(label_smoothing)  # a Python float never upcasts float32 work

    def forward(self, input, target):
        x = as_float_array(input, "CrossEntropyLoss", "input")
        target = np.asarray(target)
        if self.weight is None and x.ndim == 2 and x.shape[1] and target.shape == x.shape[:1] and target.dtype.kind in "iu":
            # (N, C) logits and N class indices: the usual case, with nothing to reshape or
            # check but the indices themselves (in _index_target)
            losses, denominator, cache = self._index_target(x, target, None)
            self._save_for_backward(x.shape, denominator, *cache)
            return self._reduce(losses, denominator)
        n_classes = 0 if x.ndim == 0 else x.shape[0] if x.ndim == 1 else x.shape[1]
        if n_classes == 0:
            raise ValueError(
                f"CrossEntropyLoss expected input of shape (C,), (N, C) or (N, C, d1, ...) with C >= 1, "
                f"got shape {x.shape}"
            )
        w = None
        if self.weight is not None:
            if self.weight.shape != (n_classes,):
                raise ValueError(
                    f"CrossEntropyLoss weight must have one entry per class, shape ({n_classes},), "
                    f"got {self.weight.shape}"
                )
            w = self.weight.astype(x.dtype, copy=False)
        loss_shape = () if x.ndim == 1 else x.shape[:1] + x.shape[2:]
        if target.shape == x.shape:
            if target.dtype.kind != "f":
                raise TypeError(
                    f"CrossEntropyLoss target has the input's shape {x.shape}, so it holds class probabilities "
                    f"and must be a float array, got dtype {target.dtype} (class indices have shape {loss_shape})"
                )
            losses, denominator, cache = self._probability_target(_class_last(x), target, w)
        elif target.shape != loss_shape:
            raise ValueError(
                f"CrossEntropyLoss expected target of shape {loss_shape} (class indices) or {x.shape} "
                f"(class probabilities) for input of shape {x.shape}, got target of shape {target.shape}"
            )
        elif target.dtype.kind not in "iu":
            raise TypeError(
                f"CrossEntropyLoss target of shape {target.shape} holds class indices and must be an integer "
                f"array, got dtype {target.dtype} (for probabilities pass a float target of shape {x.shape})"
            )
        else:
            losses, denominator, cache = self._index_target(_class_last(x), target, w)
        self._save_for_backward(x.shape, denominator, *cache)
        return self._reduce(losses.reshape(loss_shape) if self.reduction == "none" else losses, denominator)

    def _kept(self, t: np.ndarray, n_classes: int):
        """Check the class indices; return ``None`` when none is ``ignore_index`` (nothing to
        mask), else the boolean mask of the entries that count."""
        if t.size == 0:
            return None
        ignore = self.ignore_index
        # Viewed as unsigned, a negative index wraps round to a huge one, so a single maximum
        # checks both ends of [0, C).
        in_range = np.maximum.reduce(t.view(np.uintp)) < n_classes
        if in_range and not 0 <= ignore < n_classes:
            return None  # the common case: one reduction and done
        kept = t != ignore
        if not in_range:
            bad = t[kept & ((t < 0) | (t >= n_classes))]
            if bad.size:
                raise ValueError(
                    f"CrossEntropyLoss target contains class {bad[0]}, but input has {n_classes} classes "
                    f"(class indices must be in [0, {n_classes}) or equal ignore_index={ignore})"
                )
        return None if kept.all() else kept

    def _row_starts(self, m: int, n_classes: int) -> np.ndarray:
        """``[0, C, 2C, ...]``, where each of ``m`` rows starts in a flat ``(m, C)`` array; kept
        between calls, as the batch shape rarely changes. Never hand it out: it is shared."""
        key, starts = self.__dict__.get("_starts", (None, None))
        if key != (m, n_classes):
            starts = np.arange(0, m * n_classes, n_classes)
            self.__dict__["_starts"] = ((m, n_classes), starts)
        return starts

    def _index_target(self, z: np.ndarray, target: np.ndarray, w):
        """Class-index target: per-row losses, the 'mean' denominator and the cache."""
        m, n_classes = z.shape
        t = target.reshape(-1)
        if t.dtype != np.intp:
            t = t.astype(np.intp)
        kept = self._kept(t, n_classes)
        if kept is not None:
            t = t * kept  # ignored rows point at class 0, a safe index; their weight is zeroed below
        # log p = shifted - log_total, row by row (see F.softmax_terms); log p itself is
        # never formed, only the entries a loss needs.
        shifted, e, total = F.softmax_terms(z, axis=1)
        log_total = np.log(total).reshape(-1)
        # Flat position of each row's target in the (m, C) array (row n starts at n*C): one
        # `take` on the flat array instead of shifted[np.arange(m), t], and no one-hot matrix.
        idx = self._row_starts(m, n_classes) + t
        losses = log_total - shifted.take(idx)  # -log p_{n, t_n}
        if w is not None:
            w_t = w.take(t)  # w_{t_n}: the weight of each row's target class
            if kept is not None:
                w_t *= kept
        elif kept is not None:
            w_t = kept.astype(z.dtype)
        else:
            w_t = None  # all ones: nothing to multiply
        if w_t is not None:
            losses *= w_t
        eps = self.label_smoothing
        if eps:
            # sum_c -w_c log p_c = (sum_c w_c) log_total - sum_c w_c shifted_c
            if w is not None:
                smooth = log_total * np.add.reduce(w) - shifted @ w
            else:
                smooth = log_total * n_classes - np.add.reduce(shifted, axis=1)
            if kept is not None:
                smooth *= kept
            losses = (1 - eps) * losses + (eps / n_classes) * smooth
        denominator = m if w_t is None else np.add.reduce(w_t)
        # backward needs p = e / total, where each row's target sits, and the row weights
        return losses, denominator, ("index", e, total, idx, w_t, kept, w)

    def _probability_target(self, z: np.ndarray, target: np.ndarray, w):
        """Probability target: per-row losses, the 'mean' denominator (the row count) and the cache."""
        if self.ignore_index >= 0:
            raise ValueError(
                f"CrossEntropyLoss ignore_index is not supported with probability targets (as in PyTorch, "
                f"only a negative ignore_index, which has no effect, is allowed), got ignore_index={self.ignore_index}"
            )
        m, n_classes = z.shape
        q = _class_last(target.astype(z.dtype))  # our own copy: the cache must not alias the caller's array
        eps = self.label_smoothing
        if eps:
            q = (1 - eps) * q + eps / n_classes
        wq = q * w if w is not None else q  # w_c q_{n,c}
        shifted, e, total = F.softmax_terms(z, axis=1)
        # -sum_c w_c q_c log p_c with log p = shifted - log_total
        losses = np.log(total).reshape(-1) * np.add.reduce(wq, axis=1) - np.add.reduce(shifted * wq, axis=1)
        return losses, m, ("probability", e, total, wq)

    def backward(self, grad=1.0):
        r"""$\partial(g\,C)/\partial x$, shaped like the input: BP1 for softmax + cross-entropy.

        With $\partial \log p_c / \partial x_j = [c = j] - p_j$, a row's loss
        $\ell = -\sum_c a_c \log p_c$ (any coefficients $a_c$) has

        $$\frac{\partial \ell}{\partial x_j} = p_j \sum_c a_c - a_j .$$

        For a class index with no weight or smoothing, $a = y$ (the one-hot target), so
        $\delta = p - y$: under ``'mean'`` the gradient is $(\operatorname{softmax}(x) - y)/N$.
        In general:

        - class index: $a = (1-\varepsilon)\,w_{t}\,y + \tfrac{\varepsilon}{C}\,w$, so
          $\delta = \big((1-\varepsilon) w_t + \tfrac{\varepsilon}{C}\textstyle\sum_c w_c\big)\,p
          - (1-\varepsilon) w_t\,y - \tfrac{\varepsilon}{C} w$, and 0 for ignored rows;
        - probability: $a = w \odot q$, so $\delta = p \sum_c w_c q_c - w \odot q$.

        Each row is then scaled by the upstream gradient $g$ (one per row for ``'none'``),
        divided for ``'mean'`` by $\sum w_{t_n}$ (class indices) or the row count
        (probabilities). The one-hot $y$ is never built: $(1-\varepsilon) w_t$ is subtracted
        at each row's target position. If the 'mean' denominator was 0, the rows that counted
        get ``nan`` (and ignored rows 0), as in PyTorch.

        Args:
            grad: the upstream gradient: a scalar for ``'mean'``/``'sum'`` (default 1.0), an
                array of the loss's shape for ``'none'``.

        Returns:
            $\partial(g\,C)/\partial x$, same shape and dtype as the forward input.
        """
        shape, denominator, kind, e, total, *rest = self._saved()
        g = self._upstream(grad, () if len(shape) == 1 else shape[:1] + shape[2:], e.dtype)
        if self.reduction == "mean" and denominator:
            r = g / denominator
        elif self.reduction == "none":
            r = g.reshape(-1)  # one upstream value per row
        elif self.reduction == "sum":
            r = g
        elif denominator == 0:
            # PyTorch's 0/0: nan where a row counted, 0 where it was ignored (no numpy warning).
            delta = np.zeros_like(e)
            kept = rest[2] if kind == "index" else None
            delta[slice(None) if kept is None else kept] = np.nan
            return _class_back(delta, shape)
        if kind == "probability":
            (wq,) = rest
            delta = _softmax_times(e, total, np.add.reduce(wq, axis=1, keepdims=True))
            delta -= wq
            delta *= _col(r)
            return _class_back(delta, shape)
        idx, w_t, kept, w = rest
        n_classes = e.shape[1]
        c_target = r if w_t is None else r * w_t  # per-row coefficient of the (p - y) term
        eps = self.label_smoothing
        if eps:
            c_target = (1 - eps) * c_target
            c_smooth = (eps / n_classes) * (r if kept is None else r * kept)  # of the smoothing term
            w_total = n_classes if w is None else np.add.reduce(w)
            delta = _softmax_times(e, total, _col(c_target + c_smooth * w_total))
            delta -= _col(c_smooth) if w is None else _col(c_smooth) * w
        else:
            delta = _softmax_times(e, total, _col(c_target))
        delta.reshape(-1)[idx] -= c_target  # the "- y" of p - y, at each row's target only
        return _class_back(delta, shape)

    def extra_repr(self) -> str:
        parts = [super().extra_repr()] if self.reduction != "mean" else []
        if self.ignore_index != -100:
            parts.append(f"ignore_index={self.ignore_index}")
        if self.label_smoothing:
            parts.append(f"label_smoothing={self.label_smoothing}")
        return ", ".join(parts)


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
        self.weight = _as_weight(weight, "BCELoss", "weight")  # a plain array, not learned

    def forward(self, input, target):
        x = as_float_array(input, "BCELoss", "input")
        y = as_float_array(target, "BCELoss", "target", dtype=x.dtype)
        self._check_same_shape(x, y)
        _check_unit_interval(x, "BCELoss", "input")
        _check_unit_interval(y, "BCELoss", "target")
        w = _weight_for_input(self.weight, x.shape, x.dtype, "BCELoss", "weight")
        with np.errstate(divide="ignore"):  # log(0) = -inf, clamped to -100 below as PyTorch does
            log_x = np.maximum(np.log(x), -100)
            log_1mx = np.maximum(np.log1p(-x), -100)
        losses = -(y * log_x + (1 - y) * log_1mx)
        if w is not None:
            losses *= w
        self._save_for_backward(x, y, w)  # the derivative is a function of x, y and w only
        return self._reduce(losses)

    def backward(self, grad=1.0):
        r"""$\dfrac{\partial \ell_i}{\partial x_i} = w_i\,\dfrac{x_i - y_i}{x_i (1 - x_i)}$, with the
        denominator clamped below at $10^{-12}$ as PyTorch does (so $x \in \{0, 1\}$ gives a large
        but finite gradient, $\approx \pm 10^{12}$), times the upstream gradient, divided by $n$ for
        ``'mean'``. The clamp is PyTorch's exact constant: $10^{-12}$ rounded to float32, also in
        float64."""
        x, y, w = self._saved()
        g = self._upstream(grad, x.shape, x.dtype)
        scale = g / x.size if self.reduction == "mean" and x.size else g
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
        self.weight = _as_weight(weight, "BCEWithLogitsLoss", "weight")
        self.pos_weight = _as_weight(pos_weight, "BCEWithLogitsLoss", "pos_weight")

    def forward(self, input, target):
        x = as_float_array(input, "BCEWithLogitsLoss", "input")
        y = as_float_array(target, "BCEWithLogitsLoss", "target", dtype=x.dtype)
        self._check_same_shape(x, y)
        w = _weight_for_input(self.weight, x.shape, x.dtype, "BCEWithLogitsLoss", "weight")
        pw = _weight_for_input(self.pos_weight, x.shape, x.dtype, "BCEWithLogitsLoss", "pos_weight")
        pos = y if pw is None else pw * y  # p_c y: the weight of the -log sigma(x) term
        losses = -(1 - y) * F.log_sigmoid(-x)
        losses -= pos * F.log_sigmoid(x)
        if w is not None:
            losses *= w
        # backward needs sigma(x) (from x), y, w and p_c y
        self._save_for_backward(x, y, w, None if pw is None else pos)
        return self._reduce(losses)

    def backward(self, grad=1.0):
        r"""With $\sigma' = \sigma(1 - \sigma)$:
        $\dfrac{\partial \ell}{\partial x} = w\,\big((1 - y)\sigma(x) - p_c\,y\,(1 - \sigma(x))\big)
        = w\,\big((1 + (p_c - 1)y)\,\sigma(x) - p_c\,y\big)$, which without ``pos_weight`` is BP1's
        $\delta = w\,(\sigma(x) - y)$; times the upstream gradient, divided by $n$ for ``'mean'``."""
        x, y, w, pos = self._saved()
        g = self._upstream(grad, x.shape, x.dtype)
        scale = g / x.size if self.reduction == "mean" and x.size else g
        s = F.sigmoid(x)
        if pos is None:
            delta = s - y
        else:
            delta = s * (1 - y + pos)
            delta -= pos
        if w is not None:
            delta *= w
        delta *= scale
        return delta
