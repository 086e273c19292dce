r"""Training made comfortable: ``fit``/``evaluate``, metrics, a ``History``, callbacks
(early stopping, checkpoints) and gradient-flow diagnostics, all built on the public API.

``fit`` runs the same explicit loop the examples teach (forward, loss, zero_grad,
backward, step); nothing here is needed to train a chainrule model, it only saves typing
and shows what is going on.
"""

from . import metrics
from .callbacks import Callback, EarlyStopping, FitState, History, ModelCheckpoint
from .diagnostics import GradientFlow
from .loop import evaluate, fit
from .progress import progress_bar, shows_bar

__all__ = [
    "fit", "evaluate", "History", "FitState", "Callback", "EarlyStopping", "ModelCheckpoint",
    "GradientFlow", "progress_bar", "shows_bar", "metrics",
]
