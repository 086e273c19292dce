"""chainrule: a PyTorch-style neural-network framework in NumPy, every backward by hand."""

from . import data, nn, optim
from ._config import get_default_dtype, manual_seed, set_default_dtype
from .gradcheck import GradcheckError, gradcheck
from .serialization import load, save

__version__ = "0.1.0"

__all__ = [
    "nn", "optim", "data",
    "gradcheck", "GradcheckError", "save", "load",
    "manual_seed", "set_default_dtype", "get_default_dtype",
]
