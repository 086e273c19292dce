"""Move models between chainrule and PyTorch: ``to_torch(model)`` and ``from_torch(module)``.

torch is imported inside the functions only, so ``import chainrule`` never needs it. The
supported layers are those both frameworks have with the same meaning: ``Sequential``,
``Linear``, ``Sigmoid``, ``Tanh``, ``ReLU``, ``LeakyReLU``, ``Identity``, ``Softmax``,
``LogSoftmax`` and ``Dropout``. Parameter names are the same on both sides (``0.weight``,
``0.bias``, ...), so a chainrule ``state_dict()`` loads into the torch model once its arrays
are tensors (:func:`state_dict_to_torch`), and a torch ``state_dict()`` loads into the
chainrule model as it is.
"""

from __future__ import annotations

import numpy as np

from . import nn

__all__ = ["to_torch", "from_torch", "state_dict_to_torch"]

SUPPORTED = ("Sequential", "Linear", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Identity",
             "Softmax", "LogSoftmax", "Dropout")


def _torch():
    try:
        import torch
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("chainrule.interop needs PyTorch: pip install torch") from error
    return torch


def _refuse(direction: str, module, path: str):
    where = f" at {path!r}" if path else ""
    raise TypeError(
        f"{direction} does not support {type(module).__module__}.{type(module).__name__}{where}; "
        f"supported layers: {', '.join(SUPPORTED)}"
    )


def to_torch(model: nn.Module):
    """An equivalent ``torch.nn.Module`` with a copy of the same weights.

    Args:
        model: a chainrule module built from the supported layers (``Sequential`` may nest).

    Returns:
        The torch module, in the same train/eval mode, with parameters of the same dtype
        (float32 or float64). Its outputs and gradients equal chainrule's to float tolerance.

    Raises:
        TypeError: naming the first unsupported layer and its path in ``model``.
    """
    return _to_torch(model, "", _torch())


def _to_torch(module, path, torch):
    tnn = torch.nn
    kind = type(module)
    if kind is nn.Sequential:
        out = tnn.Sequential(*(_to_torch(child, f"{path}.{name}" if path else name, torch)
                               for name, child in module.named_children()))
    elif kind is nn.Linear:
        dtype = torch.float64 if module.weight.dtype == np.float64 else torch.float32
        out = tnn.Linear(module.in_features, module.out_features, bias=module.bias is not None, dtype=dtype)
        with torch.no_grad():
            out.weight.copy_(torch.from_numpy(module.weight.data.copy()))
            if module.bias is not None:
                out.bias.copy_(torch.from_numpy(module.bias.data.copy()))
    elif kind in (nn.Sigmoid, nn.Tanh, nn.ReLU, nn.Identity):
        out = getattr(tnn, kind.__name__)()
    elif kind is nn.LeakyReLU:
        out = tnn.LeakyReLU(module.negative_slope)
    elif kind in (nn.Softmax, nn.LogSoftmax):
        out = getattr(tnn, kind.__name__)(dim=module.dim)
    elif kind is nn.Dropout:
        out = tnn.Dropout(module.p)
    else:
        _refuse("to_torch", module, path)
    return out.train(module.training)


def from_torch(module) -> nn.Module:
    """Build the chainrule model equivalent to a torch module, with a copy of its weights.

    Args:
        module: a ``torch.nn.Sequential`` (possibly nested) of supported layers, or one
            supported layer.

    Returns:
        The chainrule model, in the same train/eval mode; parameters keep their dtype
        (float32 or float64).

    Raises:
        TypeError: naming the first unsupported layer and its path (a ``Conv2d``, a custom
            module, a ``Linear`` of dtype float16, ...).
        ValueError: for a ``Softmax``/``LogSoftmax`` without an explicit ``dim``.
    """
    return _from_torch(module, "", _torch())


def _from_torch(module, path, torch):
    tnn = torch.nn
    kind = type(module)
    if kind is tnn.Sequential:
        out = nn.Sequential(*(_from_torch(child, f"{path}.{name}" if path else name, torch)
                              for name, child in module.named_children()))
    elif kind is tnn.Linear:
        if module.weight.dtype not in (torch.float32, torch.float64):
            raise TypeError(f"from_torch supports float32 and float64 Linear layers, got {module.weight.dtype} "
                            f"at {path or 'the top level'!r}")
        dtype = np.float64 if module.weight.dtype == torch.float64 else np.float32
        out = nn.Linear(module.in_features, module.out_features, bias=module.bias is not None, dtype=dtype)
        out.weight.data[...] = module.weight.detach().cpu().numpy()
        if module.bias is not None:
            out.bias.data[...] = module.bias.detach().cpu().numpy()
    elif kind in (tnn.Sigmoid, tnn.Tanh, tnn.ReLU, tnn.Identity):
        out = getattr(nn, kind.__name__)()
    elif kind is tnn.LeakyReLU:
        out = nn.LeakyReLU(module.negative_slope)
    elif kind in (tnn.Softmax, tnn.LogSoftmax):
        if module.dim is None:
            raise ValueError(f"from_torch needs an explicit dim for {kind.__name__} at {path or 'the top level'!r} "
                             f"(torch's implicit dim depends on the input's rank)")
        out = getattr(nn, kind.__name__)(dim=module.dim)
    elif kind is tnn.Dropout:
        out = nn.Dropout(module.p)
    else:
        _refuse("from_torch", module, path)
    return out.train(module.training)


def state_dict_to_torch(state_dict) -> dict:
    """A chainrule ``state_dict()`` with every array turned into a ``torch.Tensor`` (a copy),
    ready for ``torch_model.load_state_dict``; the keys are already PyTorch's."""
    torch = _torch()
    return {key: torch.from_numpy(np.array(value, copy=True)) for key, value in state_dict.items()}
