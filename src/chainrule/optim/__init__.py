"""Optimisers and learning-rate schedulers.

``Optimizer`` (the shared bookkeeping), ``SGD``, ``Adam``, ``AdamW``, ``RMSprop``, ``Adagrad``,
and in ``chainrule.optim.lr_scheduler``: ``StepLR``, ``ExponentialLR``, ``CosineAnnealingLR``,
``MultiStepLR``, ``LambdaLR``, ``LinearLR``, ``ConstantLR``, ``PolynomialLR``, ``OneCycleLR``,
``ReduceLROnPlateau``, ``SequentialLR``.
"""

from . import lr_scheduler
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .sgd import SGD
from .adagrad import Adagrad
from .rmsprop import RMSprop

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "lr_scheduler", "RMSprop", "Adagrad"]
