"""Move models between chainrule and PyTorch: ``to_torch(model)`` and ``from_torch(module)``.

torch is imported inside the functions only, so ``import chainrule`` never needs it. The
supported layers are those both frameworks have with the same meaning and the same constructor
arguments (:data:`LAYERS`): ``Sequential`` (nested too), linear, convolution, pooling,
normalisation, embedding, recurrent, attention (``MultiheadAttention``), reshaping, dropout and
activation layers. A layer is
rebuilt from the same constructor arguments, read off the other side's attributes (they have
the same names), and its parameters and buffers are copied through ``state_dict``: their names
are the same on both sides (``0.weight``, ``1.running_mean``, ``weight_ih_l0``, ...), so a
chainrule ``state_dict()`` also loads into the torch model once its arrays are tensors
(:func:`state_dict_to_torch`), and a torch ``state_dict()`` loads into the chainrule model as it is.
"""

from __future__ import annotations

import numpy as np

from . import nn

__all__ = ["to_torch", "from_torch", "state_dict_to_torch", "LAYERS"]

# padding_mode: a ConvTranspose's is always 'zeros' on both sides (the others are refused there)
_CONV = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias",
         "padding_mode")
_MAX_POOL = ("kernel_size", "stride", "padding", "dilation", "return_indices", "ceil_mode")
_AVG_POOL = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad")
_NORM = ("num_features", "eps", "momentum", "affine", "track_running_stats")
_RECURRENT = ("input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout", "bidirectional")

# Each supported layer's constructor arguments, the same attribute names on both sides. ``bias``
# is a flag in the constructor and, for most layers, a parameter or None on the instance.
LAYERS = {
    "Linear": ("in_features", "out_features", "bias"),
    "Conv1d": _CONV, "Conv2d": _CONV,
    "ConvTranspose1d": _CONV + ("output_padding",), "ConvTranspose2d": _CONV + ("output_padding",),
    "MaxPool1d": _MAX_POOL, "MaxPool2d": _MAX_POOL,
    "MaxUnpool1d": ("kernel_size", "stride", "padding"), "MaxUnpool2d": ("kernel_size", "stride", "padding"),
    "AvgPool1d": _AVG_POOL, "AvgPool2d": _AVG_POOL + ("divisor_override",),
    "AdaptiveAvgPool1d": ("output_size",), "AdaptiveAvgPool2d": ("output_size",),
    "BatchNorm1d": _NORM, "BatchNorm2d": _NORM,
    "LayerNorm": ("normalized_shape", "eps", "elementwise_affine", "bias"),
    "GroupNorm": ("num_groups", "num_channels", "eps", "affine", "bias"),
    "Embedding": ("num_embeddings", "embedding_dim", "padding_idx"),
    "RNN": _RECURRENT[:3] + ("nonlinearity",) + _RECURRENT[3:], "GRU": _RECURRENT,
    "LSTM": _RECURRENT + ("proj_size",),
    "Flatten": ("start_dim", "end_dim"), "Unflatten": ("dim", "unflattened_size"),
    "Sigmoid": (), "Tanh": (), "ReLU": (), "Identity": (), "SiLU": (),
    "LeakyReLU": ("negative_slope",), "ELU": ("alpha",), "GELU": ("approximate",),
    "Softplus": ("beta", "threshold"), "Softmax": ("dim",), "LogSoftmax": ("dim",), "Dropout": ("p",),
    "Dropout1d": ("p",), "Dropout2d": ("p",), "Upsample": ("size", "scale_factor", "mode"),
    "MultiheadAttention": ("embed_dim", "num_heads", "dropout", "bias", "kdim", "vdim", "batch_first"),
}
SUPPORTED = ("Sequential",) + tuple(LAYERS)

# torch settings chainrule has no counterpart for: a layer is moved only with these values.
_TORCH_ONLY = {"max_norm": None, "scale_grad_by_freq": False, "sparse": False, "align_corners": None}


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


def _arguments(module, names: tuple) -> dict:
    """The constructor arguments ``names`` read off ``module`` (``bias``: whether it has one;
    MultiheadAttention, on both sides, keeps it as ``in_proj_bias``, a parameter or None)."""
    args = {name: module.in_proj_bias if name == "bias" and not hasattr(module, "bias") else getattr(module, name)
            for name in names}
    if "bias" in args and not isinstance(args["bias"], (bool, np.bool_)):
        args["bias"] = args["bias"] is not None
    if args.get("nonlinearity") is None:
        args.pop("nonlinearity", None)
    return args


def _where(path: str) -> str:
    return repr(path) if path else "the top level"


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
    name = type(module).__name__
    if type(module) is nn.Sequential:
        out = torch.nn.Sequential(*(_to_torch(child, f"{path}.{key}" if path else key, torch)
                                    for key, child in module.named_children()))
    elif name in LAYERS and type(module) is getattr(nn, name):
        args = _arguments(module, LAYERS[name])
        state = module.state_dict()
        floats = [a for a in state.values() if a.dtype.kind == "f"]
        if floats:  # a layer with parameters or float buffers keeps their dtype
            args["dtype"] = torch.float64 if floats[0].dtype == np.float64 else torch.float32
        out = getattr(torch.nn, name)(**args)
        out.load_state_dict(state_dict_to_torch(state))
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
        TypeError: naming the first unsupported layer and its path (a custom module, a
            ``Embedding`` with ``max_norm``, a ``Linear`` of dtype float16, ...).
        ValueError: for a ``Softmax``/``LogSoftmax`` without an explicit ``dim``.
    """
    return _from_torch(module, "", _torch())


def _from_torch(module, path, torch):
    name = type(module).__name__
    if type(module) is torch.nn.Sequential:
        out = nn.Sequential(*(_from_torch(child, f"{path}.{key}" if path else key, torch)
                              for key, child in module.named_children()))
        return out.train(module.training)
    if not (name in LAYERS and type(module) is getattr(torch.nn, name)):
        _refuse("from_torch", module, path)
    for setting, default in _TORCH_ONLY.items():
        if getattr(module, setting, default) != default:
            raise TypeError(f"from_torch: {name} at {_where(path)} has {setting}={getattr(module, setting)!r}, "
                            f"which chainrule's {name} does not have (only {setting}={default!r})")
    # MultiheadAttention's extra key/value rows: learned (add_bias_kv, kept as bias_k, bias_v) or zeros.
    for setting, on in (("add_bias_kv", getattr(module, "bias_k", None) is not None),
                        ("add_zero_attn", getattr(module, "add_zero_attn", False))):
        if on:
            raise TypeError(f"from_torch: {name} at {_where(path)} has {setting}=True, which chainrule's {name} "
                            f"does not have (only {setting}=False)")
    if name in ("Softmax", "LogSoftmax") and module.dim is None:
        raise ValueError(f"from_torch needs an explicit dim for {name} at {_where(path)} "
                         f"(torch's implicit dim depends on the input's rank)")
    args = _arguments(module, LAYERS[name])
    state = {key: value.detach().cpu().numpy() for key, value in module.state_dict().items()}
    floats = [a for a in state.values() if a.dtype.kind == "f"]
    if floats:
        if floats[0].dtype not in (np.float32, np.float64):
            raise TypeError(f"from_torch supports float32 and float64 layers, got {name} of dtype "
                            f"{floats[0].dtype} at {_where(path)}")
        args["dtype"] = floats[0].dtype.type
    out = getattr(nn, name)(**args)
    out.load_state_dict(state)
    return out.train(module.training)


def state_dict_to_torch(state_dict) -> dict:
    """A chainrule ``state_dict()`` with every array turned into a ``torch.Tensor`` (a copy),
    ready for ``torch_model.load_state_dict``; the keys are already PyTorch's."""
    torch = _torch()
    return {key: torch.from_numpy(np.array(value, copy=True)) for key, value in state_dict.items()}
