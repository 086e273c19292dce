"""Move models between chainrule and PyTorch: ``to_torch(model)`` and ``from_torch(module)``.

torch is imported inside the functions only, so ``import chainrule`` never needs it. The
supported layers are those both frameworks have with the same meaning and the same constructor
arguments (:data:`LAYERS`): linear, convolution, pooling, normalisation, embedding, recurrent,
attention (``MultiheadAttention``), reshaping, dropout and activation layers, held in
``Sequential``, ``ModuleList`` and ``ModuleDict`` containers (nested too). A layer is rebuilt
from the same constructor arguments, read off the other side's attributes (they have the same
names), and its parameters and buffers are copied through ``state_dict``: their names are the
same on both sides (``0.weight``, ``1.running_mean``, ``weight_ih_l0``, ...), so a chainrule
``state_dict()`` also loads into the torch model once its arrays are tensors
(:func:`state_dict_to_torch`), and a torch ``state_dict()`` loads into the chainrule model as it is.

A model of your own (``class Net(nn.Module)`` with its own ``forward``) cannot be rebuilt: its
forward is code. Write the class on both sides and copy the weights into an instance with
``into=``: ``from_torch(torch_net, into=Net())`` or ``to_torch(net, into=TorchNet())`` walk
both module trees by child name and copy every parameter and persistent buffer, after checking
that the two trees match.
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
    "Embedding": ("num_embeddings", "embedding_dim", "padding_idx", "max_norm", "norm_type",
                  "scale_grad_by_freq", "sparse"),
    "RNN": _RECURRENT[:3] + ("nonlinearity",) + _RECURRENT[3:], "GRU": _RECURRENT,
    "LSTM": _RECURRENT + ("proj_size",),
    "Flatten": ("start_dim", "end_dim"), "Unflatten": ("dim", "unflattened_size"),
    "Sigmoid": (), "Tanh": (), "ReLU": (), "Identity": (), "SiLU": (),
    "LeakyReLU": ("negative_slope",), "ELU": ("alpha",), "GELU": ("approximate",),
    "Softplus": ("beta", "threshold"), "Softmax": ("dim",), "LogSoftmax": ("dim",), "Dropout": ("p",),
    "Dropout1d": ("p",), "Dropout2d": ("p",), "Upsample": ("size", "scale_factor", "mode", "align_corners",
                                                                  "recompute_scale_factor"),
    "MultiheadAttention": ("embed_dim", "num_heads", "dropout", "bias", "add_bias_kv", "add_zero_attn", "kdim",
                           "vdim", "batch_first"),
}
SUPPORTED = ("Sequential", "ModuleList", "ModuleDict") + tuple(LAYERS)

# torch settings chainrule has no counterpart for: a layer is moved only with these values
# (none at present: Upsample's align_corners, the last, is chainrule's too).
_TORCH_ONLY = {}


def _torch():
    try:
        import torch
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("chainrule.interop needs PyTorch: pip install torch") from error
    return torch


def _own(module, framework: str) -> bool:
    """Whether ``module``'s class is the user's own, not one defined by ``framework``
    (``"chainrule"`` or ``"torch"``)."""
    where = type(module).__module__
    return not (where == framework or where.startswith(framework + "."))


def _refuse(direction: str, module, path: str, framework: str):
    name = type(module).__name__
    if _own(module, framework):  # a user's class: its forward is code, so there is nothing to rebuild it from
        other = "torch.nn.Module" if direction == "to_torch" else "chainrule.nn.Module"
        raise TypeError(
            f"{direction} cannot rebuild {type(module).__module__}.{name} at {_where(path)}: it is a module "
            f"of your own, and its forward is code, which cannot be translated. Write the matching {other} "
            f"class and copy the weights into an instance of it: {direction}(model, into=instance)"
        )
    where = f" at {path!r}" if path else ""
    raise TypeError(
        f"{direction} does not support {type(module).__module__}.{name}{where}; "
        f"supported: {', '.join(SUPPORTED)}"
    )


def _arguments(module, names: tuple) -> dict:
    """The constructor arguments ``names`` read off ``module`` (``bias``: whether it has one;
    MultiheadAttention, on both sides, keeps it as ``in_proj_bias``, a parameter or None, and
    ``add_bias_kv`` as ``bias_k``)."""
    kept_as = {"add_bias_kv": "bias_k"}
    args = {name: module.in_proj_bias if name == "bias" and not hasattr(module, "bias")
            else getattr(module, kept_as.get(name, name)) for name in names}
    if "add_bias_kv" in args:
        args["add_bias_kv"] = args["add_bias_kv"] is not None
    if "bias" in args and not isinstance(args["bias"], (bool, np.bool_)):
        args["bias"] = args["bias"] is not None
    if args.get("nonlinearity") is None:
        args.pop("nonlinearity", None)
    return args


def _where(path: str) -> str:
    return repr(path) if path else "the top level"


def to_torch(model: nn.Module, into=None):
    """An equivalent ``torch.nn.Module`` with a copy of the same weights.

    Args:
        model: a chainrule module built from the supported layers and containers
            (``Sequential``, ``ModuleList``, ``ModuleDict``, nested too); with ``into``, any
            chainrule module, your own classes included.
        into: a torch module of the same architecture to copy ``model``'s parameters and
            buffers into (see :func:`from_torch`, which does the same the other way).

    Returns:
        Without ``into``: the torch module, in the same train/eval mode, with parameters of
        the same dtype (float32 or float64). Its outputs and gradients equal chainrule's to
        float tolerance. With ``into``: ``into`` itself, its tensors overwritten in place,
        each keeping its dtype, and its train/eval mode left as it was.

    Raises:
        TypeError: naming the first unsupported layer and its path in ``model``, or a
            module of your own met without ``into``.
        ValueError: with ``into``, listing every place where the two trees differ.
    """
    torch = _torch()
    if into is not None:
        if not isinstance(into, torch.nn.Module):
            raise TypeError(f"to_torch into must be a torch.nn.Module, got {type(into).__name__}")
        return _copy("to_torch", model, into, torch)
    return _to_torch(model, "", torch)


def _to_torch(module, path, torch):
    name = type(module).__name__
    if type(module) in (nn.Sequential, nn.ModuleList, nn.ModuleDict):
        children = [(key, _to_torch(child, f"{path}.{key}" if path else key, torch))
                    for key, child in module.named_children()]
    if type(module) is nn.Sequential:
        out = torch.nn.Sequential(*(child for _, child in children))
    elif type(module) is nn.ModuleList:
        out = torch.nn.ModuleList(child for _, child in children)
    elif type(module) is nn.ModuleDict:
        out = torch.nn.ModuleDict(children)
    elif name in LAYERS and type(module) is getattr(nn, name):
        args = _arguments(module, LAYERS[name])
        state = module.state_dict()
        floats = [a for a in state.values() if a.dtype.kind == "f"]
        if floats:  # a layer with parameters or float buffers keeps their dtype
            args["dtype"] = torch.float64 if floats[0].dtype == np.float64 else torch.float32
        out = getattr(torch.nn, name)(**args)
        out.load_state_dict(state_dict_to_torch(state))
    else:
        _refuse("to_torch", module, path, "chainrule")
    return out.train(module.training)


def from_torch(module, into: nn.Module | None = None) -> nn.Module:
    """Build the chainrule model equivalent to a torch module, with a copy of its weights.

    Args:
        module: a ``torch.nn.Sequential``, ``ModuleList`` or ``ModuleDict`` (nested too) of
            supported layers, or one supported layer; with ``into``, any torch module, your
            own classes included.
        into: a chainrule module of the same architecture to copy ``module``'s parameters
            and persistent buffers into. The two module trees are walked together by child
            name: each pair of children must be the same layer with the same constructor
            arguments, or both containers or modules of your own (recursed into; their
            classes need not have the same name); parameters and buffers are matched by name
            and shape. Another module both frameworks have under the same class name (a loss,
            say) is matched by that name and its parameters and buffers. Everything is checked
            before anything is written.

    Returns:
        Without ``into``: the chainrule model, in the same train/eval mode; parameters keep
        their dtype (float32 or float64). With ``into``: ``into`` itself. As PyTorch's
        ``load_state_dict``, values are copied into the existing arrays, cast to their
        dtype (a float64 torch model into a float32 chainrule one gives float32), and the
        train/eval mode is left as it was.

    Raises:
        TypeError: naming the first unsupported layer and its path (a ``Conv3d``, a
            ``Linear`` of dtype float16, ...), or a module of your own met
            without ``into``.
        ValueError: for a ``Softmax``/``LogSoftmax`` without an explicit ``dim``; with
            ``into``, listing every place where the two trees differ: the dotted path, what
            the target has and what the source has. Nothing was copied then.
    """
    torch = _torch()
    if into is not None:
        if not isinstance(into, nn.Module):
            raise TypeError(f"from_torch into must be a chainrule.nn.Module, got {type(into).__name__}")
        return _copy("from_torch", module, into, torch)
    return _from_torch(module, "", torch)


def _from_torch(module, path, torch):
    name = type(module).__name__
    if type(module) in (torch.nn.Sequential, torch.nn.ModuleList, torch.nn.ModuleDict):
        children = [(key, _from_torch(child, f"{path}.{key}" if path else key, torch))
                    for key, child in module._modules.items()]  # every name, a repeated module too
        if type(module) is torch.nn.Sequential:
            out = nn.Sequential(*(child for _, child in children))
        elif type(module) is torch.nn.ModuleList:
            out = nn.ModuleList(child for _, child in children)
        else:
            out = nn.ModuleDict(children)
        return out.train(module.training)
    if not (name in LAYERS and type(module) is getattr(torch.nn, name)):
        _refuse("from_torch", module, path, "torch")
    unsupported = _torch_only(module)
    if unsupported:
        setting, value = next(iter(unsupported.items()))
        raise TypeError(f"from_torch: {name} at {_where(path)} has {setting}={value!r}, "
                        f"which chainrule's {name} does not have (only {setting}={_TORCH_ONLY[setting]!r})")
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


def _torch_only(module) -> dict:
    """The settings of a torch layer that chainrule's has no counterpart for, where they are
    not the one value chainrule's layer has."""
    return {setting: getattr(module, setting) for setting, default in _TORCH_ONLY.items()
            if getattr(module, setting, default) != default}


# -- copying into a model of the other framework ------------------------------------------------
def _kind(module, torch):
    """What a module is for matching: a container, a supported layer (its name and
    constructor arguments, torch-only settings included), another layer of the framework
    (its name), or a module of your own."""
    framework = torch.nn if isinstance(module, torch.nn.Module) else nn
    name = type(module).__name__
    if name in ("Sequential", "ModuleList", "ModuleDict") and type(module) is getattr(framework, name):
        return ("container", name)
    if name in LAYERS and type(module) is getattr(framework, name):
        args = _arguments(module, LAYERS[name])
        if framework is torch.nn:
            args.update(_torch_only(module))
        return ("layer", name, {key: _tuples(value) for key, value in args.items()})
    if not _own(module, "torch" if framework is torch.nn else "chainrule"):
        return ("builtin", name)
    return ("own", name)


def _tuples(value):
    """Lists as tuples, so ``Unflatten(1, [2, 3])`` and ``Unflatten(1, (2, 3))`` compare equal."""
    return tuple(_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value


def _describe(kind) -> str:
    if kind[0] == "layer":
        return f"{kind[1]}({', '.join(f'{key}={value!r}' for key, value in kind[2].items())})"
    return {"container": "a {}", "builtin": "a {}", "own": "{} (a module of your own)"}[kind[0]].format(kind[1])


def _same_kind(a, b) -> bool:
    # Containers and modules of your own are recursed into by child name, whatever their classes.
    if a[0] in ("container", "own") and b[0] in ("container", "own"):
        return True
    return a == b


def _arrays(module, torch, recurse: bool) -> dict:
    """The module's parameters and persistent buffers, by name (dotted with ``recurse``), as
    the objects holding them (torch tensors, chainrule arrays), so they can be written in place."""
    if isinstance(module, torch.nn.Module):
        state = module.state_dict(keep_vars=True)
    else:
        state = dict(module._state_arrays())
    return state if recurse else {key: value for key, value in state.items() if "." not in key}


def _match(target, source, path, torch, problems, pairs):
    """Walk ``target`` and ``source`` together: append every mismatch to ``problems`` and
    every (target array, source array) to copy to ``pairs``."""
    target_kind, source_kind = _kind(target, torch), _kind(source, torch)
    if not _same_kind(target_kind, source_kind):
        problems.append(f"{_where(path)}: the target has {_describe(target_kind)}, "
                        f"the source has {_describe(source_kind)}")
        return
    # A supported layer is matched whole (MultiheadAttention's out_proj too); other modules
    # by their own parameters and buffers, then child by child.
    layer = target_kind[0] == "layer"
    prefix = f"{path}." if path else ""
    targets, sources = _arrays(target, torch, layer), _arrays(source, torch, layer)
    for key, array in targets.items():
        if key not in sources:
            problems.append(f"{prefix + key!r}: the target has an array of shape {tuple(array.shape)}, "
                            f"the source has no such parameter or buffer")
        elif tuple(array.shape) != tuple(sources[key].shape):
            problems.append(f"{prefix + key!r}: the target has shape {tuple(array.shape)}, "
                            f"the source has shape {tuple(sources[key].shape)}")
        else:
            pairs.append((array, sources[key]))
    for key, array in sources.items():
        if key not in targets:
            problems.append(f"{prefix + key!r}: the source has an array of shape {tuple(array.shape)}, "
                            f"the target has no such parameter or buffer")
    if layer:
        return
    # _modules, not named_children(): torch's lists a module registered under two names once.
    target_children = {key: child for key, child in target._modules.items() if child is not None}
    source_children = {key: child for key, child in source._modules.items() if child is not None}
    for key, child in target_children.items():
        if key not in source_children:
            problems.append(f"{prefix + key!r}: the target has {_describe(_kind(child, torch))}, "
                            f"the source has no such child")
        else:
            _match(child, source_children[key], prefix + key, torch, problems, pairs)
    for key, child in source_children.items():
        if key not in target_children:
            problems.append(f"{prefix + key!r}: the source has {_describe(_kind(child, torch))}, "
                            f"the target has no such child")


def _copy(direction, source, target, torch):
    """Check that ``source`` fits ``target`` everywhere, then copy every array into it, cast
    to the target's dtype as PyTorch's ``load_state_dict`` does; the target keeps its mode."""
    problems, pairs = [], []
    _match(target, source, "", torch, problems, pairs)
    if problems:
        raise ValueError(f"{direction} cannot copy {type(source).__name__} into {type(target).__name__} "
                         f"(nothing was copied): " + "; ".join(problems))
    with torch.no_grad():
        for into, value in pairs:
            if direction == "to_torch":
                into.copy_(torch.tensor(np.asarray(value)))
            else:  # cast in torch first, as copy_ would: torch dtypes numpy lacks (bfloat16) are read too
                dtype = torch.from_numpy(np.empty(0, dtype=into.dtype)).dtype
                np.copyto(into, value.detach().to(device="cpu", dtype=dtype).numpy(), casting="unsafe")
    return target


def state_dict_to_torch(state_dict) -> dict:
    """A chainrule ``state_dict()`` with every array turned into a ``torch.Tensor`` (a copy),
    ready for ``torch_model.load_state_dict``; the keys are already PyTorch's."""
    torch = _torch()
    return {key: torch.from_numpy(np.array(value, copy=True)) for key, value in state_dict.items()}
