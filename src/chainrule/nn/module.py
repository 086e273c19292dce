"""Parameter and Module: the two classes every layer is built from."""

from __future__ import annotations

import functools
import itertools
import math
import sys
from collections import OrderedDict
from typing import Callable, Iterator, NamedTuple

import numpy as np


class Parameter:
    """A trainable array and the gradient that backward accumulates into it.

    Args:
        data: the initial values (an array-like, kept as given: no copy if it is already
            an ndarray).

    Attributes:
        data: the values, an ``ndarray``.
        grad: an ``ndarray`` of the same shape and dtype, zeros until a backward adds into
            it. ``backward`` ACCUMULATES (``+=``), as in PyTorch; ``zero_grad`` resets it.
    """

    def __init__(self, data):
        self.data = np.asarray(data)
        if self.data.dtype.kind != "f":
            raise TypeError(f"Parameter data must be a float array, got dtype {self.data.dtype}")
        self._grad = np.zeros_like(self.data)
        # True after zero_grad: the gradient is zero but the array still holds old values.
        # The fill is deferred so that the next backward can write its result straight into
        # the array (see add_to_grad); reading .grad fills it first, so no one sees old values.
        self._grad_stale = False

    @property
    def grad(self):
        if self._grad_stale:
            self.fill_deferred_zeros()
        return self._grad

    @grad.setter
    def grad(self, value):
        self._grad = value
        self._grad_stale = False

    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    def zero_grad(self) -> None:
        """Reset ``.grad`` to zeros. ``.grad`` stays the same array, but, as after PyTorch's
        ``zero_grad()``, an array taken from ``.grad`` before keeps its old values until
        the next backward writes into it: read ``.grad`` again rather than keep it."""
        if self._grad is None:
            self._grad = np.zeros_like(self.data)
        else:
            self._grad_stale = True  # zeroed lazily: by the next backward or the next read

    def fill_deferred_zeros(self) -> None:
        """Write the zeros that ``zero_grad`` deferred, if it did. Reading ``.grad`` does this;
        code that reads the gradient's memory another way (an optimiser's flat view) calls it."""
        if self._grad_stale:
            self._grad[...] = 0
            self._grad_stale = False

    def add_to_grad(self, op, *operands) -> None:
        """``.grad += op(*operands)``, for a NumPy function ``op`` that takes ``out=``.

        Right after ``zero_grad`` the sum is just the new term, so ``op`` writes it straight
        into ``.grad``: no temporary array, no pass to zero it and none to add. For a large
        weight that is the difference between one pass over its memory and four.
        """
        if self._grad_stale:
            op(*operands, out=self._grad)
            self._grad_stale = False
        elif self._grad is None:
            self._grad = op(*operands)
        else:
            self._grad += op(*operands)

    def __repr__(self) -> str:
        return f"Parameter containing:\n{self.data!r}"


class RemovableHandle:
    """Returned by the ``register_*_hook`` methods; ``remove()`` unregisters the hook."""

    _ids = itertools.count()

    def __init__(self, hooks: dict):
        self._hooks = hooks
        self.id = next(RemovableHandle._ids)

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


# Hooks that run for every module (the mechanism behind ``chainrule.detect_anomaly``), like
# PyTorch's ``register_module_forward_hook``. Empty unless something registered one.
_global_forward_hooks: dict = {}
_global_backward_hooks: dict = {}


def register_module_forward_hook(hook: Callable) -> RemovableHandle:
    """Register ``hook(module, args, output)`` to run after every module's forward."""
    handle = RemovableHandle(_global_forward_hooks)
    _global_forward_hooks[handle.id] = hook
    return handle


def register_module_full_backward_hook(hook: Callable) -> RemovableHandle:
    """Register ``hook(module, grad_input, grad_output)`` to run after every module's backward."""
    handle = RemovableHandle(_global_backward_hooks)
    _global_backward_hooks[handle.id] = hook
    return handle


def _run_backward_hooks(module, backward, args, kwargs):
    """Call ``backward`` and then the hooks. Hooks see tuples, as in PyTorch:
    ``hook(module, grad_input, grad_output)``; one that returns a value replaces grad_input."""
    grad_output = args[0] if args else next(iter(kwargs.values()), 1.0)  # losses default to 1.0
    module.__dict__["_in_backward"] = True  # a subclass's super().backward() must not fire hooks twice
    try:
        grad_input = backward(module, *args, **kwargs)
    finally:
        module.__dict__["_in_backward"] = False
    hooks = itertools.chain(_global_backward_hooks.values(), module._backward_hooks.values())
    for hook in list(hooks):
        result = hook(module, (grad_input,), (grad_output,))
        if result is not None:
            grad_input = result[0] if isinstance(result, tuple) else result
    return grad_input


def _with_backward_hooks(backward):
    @functools.wraps(backward)
    def wrapper(self, *args, **kwargs):
        if (self._backward_hooks or _global_backward_hooks) and not self.__dict__.get("_in_backward"):
            return _run_backward_hooks(self, backward, args, kwargs)
        return backward(self, *args, **kwargs)  # no hooks: one check and the plain call

    return wrapper


# Module._new_array recycles arrays of at least this size; smaller ones are cheap to allocate
# (glibc serves them from its heap; 128 KiB is its default threshold for mapping fresh pages).
_RECYCLE_MIN_BYTES = 1 << 17


def _unshared_refcount() -> int | None:
    """What ``sys.getrefcount(pool[i])`` gives for an array that only the list ``pool``
    refers to (2 on CPython 3.11: the list's reference and getrefcount's argument): measured
    with the same expression that Module._new_array uses, not assumed, since interpreters
    differ. ``None`` (recycle nothing) where there is no getrefcount."""
    if not hasattr(sys, "getrefcount"):
        return None
    pool = [np.empty(0)]
    i = 0
    return sys.getrefcount(pool[i])


_UNSHARED = _unshared_refcount()


class IncompatibleKeys(NamedTuple):
    missing_keys: list
    unexpected_keys: list


class Module:
    """Base class of every layer, loss and container.

    A subclass implements ``forward(...)``, which returns the output and keeps what
    ``backward`` needs, and ``backward(grad_output)``, which returns the gradient with
    respect to the forward input and adds its parameters' gradients into their ``.grad``.
    Parameters and sub-modules assigned as attributes are registered automatically, so
    ``parameters()``, ``state_dict()`` and ``train()``/``eval()`` see them.
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_cache", None)
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_backward_hooks", OrderedDict())

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Every backward a subclass writes runs its hooks, however it is called
        # (by Sequential, by a custom module, or by the user).
        if "backward" in cls.__dict__:
            cls.backward = _with_backward_hooks(cls.__dict__["backward"])

    # -- registration ---------------------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise RuntimeError(
                f"{type(self).__name__}.__init__ must call super().__init__() "
                f"before assigning attribute {name!r}"
            )
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` under ``name`` (``None`` records that the layer has none,
        as ``Linear(bias=False)`` does for ``bias``)."""
        if param is None:
            self._parameters.pop(name, None)
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    def add_module(self, name: str, module: Module) -> None:
        if not isinstance(module, Module):
            raise TypeError(f"add_module expected a Module for {name!r}, got {type(module).__name__}")
        setattr(self, name, module)

    # -- running --------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        output = self.forward(*args, **kwargs)
        if self._forward_hooks or _global_forward_hooks:
            for hook in list(itertools.chain(_global_forward_hooks.values(), self._forward_hooks.values())):
                result = hook(self, args, output)
                if result is not None:
                    output = result
        return output

    def register_forward_hook(self, hook: Callable) -> RemovableHandle:
        """Register ``hook(module, args, output)``, called after every ``forward`` of this
        module; a hook that returns a value replaces the output. As in PyTorch."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    def register_full_backward_hook(self, hook: Callable) -> RemovableHandle:
        """Register ``hook(module, grad_input, grad_output)``, called after every
        ``backward`` of this module with 1-tuples of arrays: the gradient it returned (with
        respect to its input) and the one it received (with respect to its output). A hook
        that returns a value replaces ``grad_input``. As in PyTorch."""
        handle = RemovableHandle(self._backward_hooks)
        self._backward_hooks[handle.id] = hook
        return handle

    register_backward_hook = register_full_backward_hook

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not implement forward()")

    def backward(self, grad_output):
        raise NotImplementedError(f"{type(self).__name__} does not implement backward()")

    def _save_for_backward(self, *values) -> None:
        """Keep what backward needs, in training mode only: in eval mode nothing will call
        backward, so holding activations would only cost memory."""
        self.__dict__["_cache"] = values if self.training else None  # skips __setattr__: hot path

    def _saved(self):
        """What forward kept, or a RuntimeError that says why there is nothing."""
        if self._cache is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward() called before forward() "
                f"(forward in eval mode keeps nothing for backward: call model.train() first)"
            )
        return self._cache

    def _new_array(self, key: str, shape: tuple, dtype: np.dtype) -> np.ndarray | None:
        """An uninitialised array of ``shape`` and ``dtype`` (an ``np.dtype``) for a result
        this module is about to return (or use itself), to pass as a NumPy function's
        ``out=``; or ``None`` (NumPy then allocates, as usual) for an array under 128 KiB
        (but for a 0-d one).

        An array handed out before under the same ``key`` is reused once nothing but this
        module refers to it any more, the way PyTorch's caching allocator reuses the memory of
        a tensor that has been freed: nothing anyone can still see is ever overwritten.
        Without it a training step frees and allocates its large arrays anew every time, and
        glibc's malloc may hand that memory back to the system and fault it in again page by
        page, which made batch-1024 steps up to twice as slow.
        """
        if math.prod(shape) * dtype.itemsize < _RECYCLE_MIN_BYTES or _UNSHARED is None:
            # NumPy allocates; but given no out=, it would turn a 0-d result into a scalar
            return np.empty((), dtype) if shape == () else None
        pools = self.__dict__.get("_recycled")
        if pools is None:
            pools = self.__dict__["_recycled"] = {}
        pool = pools.get(key)
        if pool is None:
            pool = pools[key] = []
        for i in range(len(pool)):  # (no loop variable for the array: it would add a reference)
            if sys.getrefcount(pool[i]) == _UNSHARED and pool[i].shape == shape and pool[i].dtype == dtype:
                return pool[i]
        array = np.empty(shape, dtype)
        pool.append(array)
        del pool[:-2]  # two per key: the array still in use from the last step, and a free one
        return array

    def _constant(self, name: str, value: float, shape: tuple, dtype: np.dtype) -> np.ndarray:
        """An array of ``shape`` filled with ``value``, kept under ``name`` between calls (for
        an operand that never changes, such as a vector of ones). Never hand it out: it is shared."""
        array = self.__dict__.get(name)
        if array is None or array.shape != shape or array.dtype != dtype:
            array = self.__dict__[name] = np.full(shape, value, dtype)
        return array

    # -- traversal ------------------------------------------------------------------
    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """Yield ``(dotted_name, Parameter)``, each parameter once, named as PyTorch would."""
        seen = set()
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, param in module._parameters.items():
                if id(param) in seen:
                    continue
                seen.add(id(param))
                yield (f"{module_prefix}.{name}" if module_prefix else name), param

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_children(self) -> Iterator[tuple[str, Module]]:
        yield from self._modules.items()

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix: str = "", _seen=None) -> Iterator[tuple[str, Module]]:
        """Yield ``(dotted_name, module)`` for this module and every descendant, each once."""
        seen = set() if _seen is None else _seen
        if id(self) in seen:
            return
        seen.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            child_prefix = f"{prefix}.{name}" if prefix else name
            yield from child.named_modules(child_prefix, seen)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    # -- modes and gradients ----------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode here and in every descendant; returns ``self``."""
        if not isinstance(mode, bool):
            raise TypeError(f"train mode must be a bool, got {type(mode).__name__}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
            if not mode:
                module._cache = None
        return self

    def eval(self) -> Module:
        """Evaluation mode: Dropout is the identity and forward keeps no cache."""
        return self.train(False)

    def zero_grad(self) -> None:
        for param in self.parameters():
            param.zero_grad()

    # -- state ----------------------------------------------------------------------
    def state_dict(self) -> OrderedDict:
        """A copy of every parameter, keyed by its dotted name (PyTorch's keys)."""
        return OrderedDict((name, param.data.copy()) for name, param in self.named_parameters())

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Copy values from ``state_dict`` into the parameters, in place.

        Raises:
            RuntimeError: as PyTorch does: with ``strict=True`` naming missing or unexpected
                keys, and always naming a key whose shape differs.
        """
        own = dict(self.named_parameters())
        missing = [key for key in own if key not in state_dict]
        unexpected = [key for key in state_dict if key not in own]
        if strict and (missing or unexpected):
            raise RuntimeError(
                f"Error loading state_dict into {type(self).__name__}: "
                f"missing keys {missing}, unexpected keys {unexpected}"
            )
        for key, param in own.items():
            if key not in state_dict:
                continue
            value = np.asarray(state_dict[key])
            if value.shape != param.shape:
                raise RuntimeError(
                    f"Error loading state_dict: {key!r} has shape {value.shape} in the "
                    f"state_dict, but the model's parameter has shape {param.shape}"
                )
            if value.dtype.kind not in "biuf":
                raise TypeError(f"Error loading state_dict: {key!r} has non-numeric dtype {value.dtype}")
            np.copyto(param.data, value, casting="unsafe")
        return IncompatibleKeys(missing, unexpected)

    # -- repr -----------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = []
        for name, child in self._modules.items():
            child_repr = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child_repr}")
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n" + "\n".join(lines) + "\n)"
