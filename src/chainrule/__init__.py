"""chainrule: a PyTorch-style neural-network framework in NumPy, every backward by hand."""

from . import data, nn, optim, train
from ._malloc import keep_freed_memory
from ._config import get_default_dtype, manual_seed, set_default_dtype
from .anomaly import detect_anomaly
from .grad_mode import CacheWarning, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck
from .serialization import load, save

__version__ = "0.1.0"

keep_freed_memory()  # see chainrule/_malloc.py: 2.2x on a batch-1024 step

__all__ = [
    "nn", "optim", "data", "train",
    "gradcheck", "GradcheckError", "save", "load", "detect_anomaly",
    "manual_seed", "set_default_dtype", "get_default_dtype",
    "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "CacheWarning",
]
