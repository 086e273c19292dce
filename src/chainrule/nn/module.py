"""Parameter and Module: the two classes every layer is built from."""

from __future__ import annotations

import functools
import itertools
import warnings
from collections import OrderedDict
from typing import Callable, Iterator, NamedTuple

import numpy as np

from .. import _checks
from .._config import check_float_dtype
from ..grad_mode import CacheWarning, is_grad_enabled


class Parameter:
    """A trainable array and the gradient that backward accumulates into it.

    Args:
        data: the initial values (an array-like of floats, kept as given: no copy if it is
            already an ndarray).
        requires_grad: ``False`` freezes the parameter: backward computes no gradient for
            it and every optimiser leaves it unchanged.

    Attributes:
        data: the values, an ``ndarray``.
        grad: ``None`` until a backward writes it, as in PyTorch. The first backward after
            a reset stores its gradient; later ones add to it (``+=``). ``zero_grad()``
            resets it to ``None``.
        requires_grad: whether backward computes a gradient for it.
    """

    def __init__(self, data, requires_grad: bool = True):
        self.data = np.asarray(data)
        if self.data.dtype.kind != "f":
            raise TypeError(f"Parameter data must be a float array, got dtype {self.data.dtype}")
        if not isinstance(requires_grad, (bool, np.bool_)):
            raise TypeError(f"Parameter requires_grad must be a bool, got {requires_grad!r}")
        self.requires_grad = bool(requires_grad)
        self.grad = None

    @property
    def grad(self):
        return self._grad

    @grad.setter
    def grad(self, value):
        # Checked here, where the mistake is made, rather than a step or a backward later.
        if value is not None and not (isinstance(value, np.ndarray) and value.dtype.kind == "f"
                                      and value.shape == self.data.shape):
            got = (f"an array of shape {value.shape} and dtype {value.dtype}" if isinstance(value, np.ndarray)
                   else f"a {type(value).__name__}")
            raise TypeError(
                f"Parameter.grad must be None or a float ndarray of shape {self.data.shape} "
                f"(the parameter's), got {got}"
            )
        self._grad = value

    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    def size(self, dim: int | None = None):
        """The shape, as PyTorch's ``size()``: a tuple, or the length of axis ``dim``.
        (Not NumPy's ``.size``, the element count: that is ``numel()``.)"""
        if dim is None:
            return self.data.shape
        if self.data.ndim == 0:
            raise IndexError(f"Parameter.size: dim={dim} given, but the parameter is 0-d (it has no axes)")
        return self.data.shape[_checks.dim(dim, "Parameter.size", self.data.ndim)]

    def dim(self) -> int:
        """The number of axes, as PyTorch's ``dim()`` (NumPy's ``ndim``)."""
        return self.data.ndim

    def numel(self) -> int:
        return self.data.size

    def __array__(self, dtype=None, copy=None):
        # np.asarray(param) is its data, as np.asarray(tensor) is the tensor's values
        # (without this NumPy would wrap the Parameter in a 0-d object array).
        if copy:
            return np.array(self.data, dtype=dtype, copy=True)
        return self.data if dtype is None else self.data.astype(dtype, copy=False)

    def requires_grad_(self, requires_grad: bool = True) -> Parameter:
        """Set ``requires_grad`` in place; returns ``self``."""
        if not isinstance(requires_grad, (bool, np.bool_)):
            raise TypeError(f"requires_grad must be a bool, got {requires_grad!r}")
        self.requires_grad = bool(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """``.grad = None`` (the default, as PyTorch), or zeros written in place."""
        if set_to_none:
            self.grad = None
        elif self.grad is not None:
            self.grad[...] = 0

    def __repr__(self) -> str:
        frozen = "" if self.requires_grad else ", requires_grad=False"
        return f"Parameter containing:\n{self.data!r}{frozen}"


def accumulate_grad(param: Parameter, grad: np.ndarray) -> None:
    """Add ``grad`` into ``param.grad``: the sum over the batch and over every use of the
    parameter that backprop calls for (part of the extension API, as ``nn.accumulate_grad``).

    After a reset (``.grad is None``) the first gradient is stored as it is, with no zeros to
    fill and no temporary, so pass a new array; later ones are added. A frozen parameter is
    the caller's to skip: ``if param.requires_grad: accumulate_grad(param, grad)``."""
    if param.grad is None:
        param.grad = grad
    else:
        param.grad += grad


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


def register_module_forward_hook(hook: Callable, *, with_kwargs: bool = False) -> RemovableHandle:
    """Register ``hook(module, args, output)`` to run after every module's forward; with
    ``with_kwargs=True``, ``hook(module, args, kwargs, output)``. As PyTorch's."""
    handle = RemovableHandle(_global_forward_hooks)
    _global_forward_hooks[handle.id] = (hook, bool(with_kwargs))
    return handle


def register_module_full_backward_hook(hook: Callable) -> RemovableHandle:
    """Register ``hook(module, grad_input, grad_output)`` to run after the backward of every
    module whose forward runs while it is registered."""
    handle = RemovableHandle(_global_backward_hooks)
    _global_backward_hooks[handle.id] = hook
    return handle


def _backward_with_hooks(module: Module, *args, **kwargs):
    """The class's ``backward``, then the backward hooks. A module that has hooks gets this
    as an instance attribute named ``backward`` (see ``Module._route_backward_through_hooks``),
    which every caller finds before the class's method."""
    grad_input = type(module).backward(module, *args, **kwargs)
    hooks = [*_global_backward_hooks.values(), *module._backward_hooks.values()]
    if not hooks:  # the last hook was removed: back to the plain method
        module.__dict__.pop("backward", None)
    grad_output = args[0] if args else next(iter(kwargs.values()), 1.0)  # a loss's default is 1.0
    for hook in hooks:  # as in PyTorch: tuples in; a returned value replaces grad_input
        result = hook(module, (grad_input,), (grad_output,))
        if result is not None:
            grad_input = result[0] if isinstance(result, tuple) else result
    return grad_input


class IncompatibleKeys(NamedTuple):
    missing_keys: list
    unexpected_keys: list


def _check_name(name, what: str) -> None:
    """PyTorch's rules for the name of a parameter, buffer or sub-module."""
    if not isinstance(name, str):
        raise TypeError(f"{what} name must be a str, got {type(name).__name__}")
    if name == "" or "." in name:
        raise KeyError(f'{what} name must be a non-empty str without ".", got "{name}"')



# -- which forward pass a module call belongs to -------------------------------------------
# A model's forward may call one module at several places (a shared pool, an activation): each
# call keeps its own cache, and the backward calls, in reverse order, use them last-in first-out,
# as PyTorch's autograd records each call. A cache left from an *earlier* pass, which no backward
# used, is dropped with a warning instead, so forwards that are never backpropagated do not pile
# up. A pass is one outermost module call and everything it calls: module calls are counted here.
_depth = 0        # how many module calls are running
_pass = 0         # the number of the outermost call running (or last run)


# -- noticing an in-place change to what a forward saved (PyTorch's version counter) ---------
def _fingerprints(cache: tuple) -> list:
    """Three values (the first, the middle and the last) of each non-empty array
    ``save_for_backward`` was given, read without a copy (``item`` takes a flat index whatever
    the strides). An in-place change to a whole array (``x += 1``, ``x *= mask``,
    ``np.tanh(x, out=x)``) changes them, and so do many partial ones; reading three values costs
    a fraction of a microsecond per array, where comparing a copy would cost a pass over memory.
    (A plain loop: this runs twice per module per step, so its overhead counts.)"""
    values = []
    for a in cache:
        if type(a) is np.ndarray and a.size:
            values += (a.item(0), a.item(a.size // 2), a.item(-1))
    return values


def _changed_array(cache: tuple, before: list):
    """``(index, array)`` of the first saved array whose three values differ from ``before``
    (a NaN equal to a NaN), or ``None``."""
    def same(u, v):
        return u == v or (u != u and v != v)
    k = 0
    for index, a in enumerate(cache):
        if type(a) is np.ndarray and a.size:
            now = _fingerprints((a,))
            if not all(same(u, v) for u, v in zip(before[k:k + 3], now)):
                return index, a
            k += 3
    return None


class Module:
    """Base class of every layer, loss and container.

    A subclass implements ``forward(...)``, which returns the output and keeps what
    ``backward`` needs (``self.save_for_backward(...)``), and ``backward(grad_output)``,
    which reads it back (``self.saved_tensors``), returns the gradient with respect to the
    forward input and adds its parameters' gradients into their ``.grad``.
    Parameters, buffers and sub-modules assigned as attributes are registered
    automatically, so ``parameters()``, ``state_dict()`` and ``train()``/``eval()`` see them.

    The forward cache has a life cycle, and no misuse of it is silent:

    - a forward keeps its cache whenever gradients are enabled, in train and eval mode
      alike; under ``chainrule.no_grad()`` it keeps nothing and leaves the cache alone;
    - ``backward`` uses the cache and releases it: a second ``backward`` raises;
    - a module called at several places in one forward pass (the outermost module call and
      what it calls) keeps a cache per call; its backwards, in reverse order, use them last
      first, as PyTorch's autograd records each call;
    - a forward that replaces a cache an earlier pass left unused warns (``CacheWarning``), once.

    Attributes:
        needs_input_grad: ``True`` (default): ``backward`` returns the gradient with respect
            to the input. Set it to ``False`` on a network's first layer, whose input is data,
            and a layer that supports it (``Linear``, ``Conv1d``, ``Conv2d``, ``RNN``, ``GRU``, ``LSTM``)
            skips that product and returns ``None`` in its place,
            as PyTorch skips the gradient of an input that does not require one (its
            ``ctx.needs_input_grad``). Parameter gradients are unaffected. On a whole model:
            ``model.needs_input_grad = False`` on a ``Sequential`` sets it on its first module;
            ``train.fit`` does it itself for the length of the training. At 784 → 256 → 256
            → 10 it is a quarter of the step's multiply-adds, 37 % of the backward's (see the
            performance page).
    """

    needs_input_grad = True

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_backward_hooks", OrderedDict())
        object.__setattr__(self, "_caches", [])  # (pass, saved arrays, their fingerprints), last on top
        object.__setattr__(self, "_cache_released", False)  # by a backward: says why there is no cache
        object.__setattr__(self, "_cache_warned", False)
        object.__setattr__(self, "_cache_replaced", False)

    # -- registration ---------------------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise RuntimeError(
                f"{type(self).__name__}.__init__ must call super().__init__() "
                f"before assigning attribute {name!r}"
            )
        if name in self._parameters and value is not None and not isinstance(value, Parameter):
            raise TypeError(
                f"cannot assign a {type(value).__name__} to parameter {name!r} of {type(self).__name__} "
                f"(a chainrule.nn.Parameter or None is required)"
            )
        if name in self._buffers:  # assigning to a buffer replaces its array, as in PyTorch
            if value is not None and not isinstance(value, np.ndarray):
                raise TypeError(
                    f"cannot assign a {type(value).__name__} to buffer {name!r} of {type(self).__name__} "
                    f"(an ndarray or None is required)"
                )
            self._buffers[name] = value
        # (assigning to an existing key keeps its place, so state_dict's order stays PyTorch's)
        if isinstance(value, Parameter):
            self._modules.pop(name, None)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._parameters.pop(name, None)
            self._modules[name] = value
        else:
            self._parameters.pop(name, None)
            self._modules.pop(name, None)
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        self._parameters.pop(name, None)
        self._buffers.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` under ``name`` (``None`` records that the layer has none,
        as ``Linear(bias=False)`` does for ``bias``)."""
        _check_name(name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"register_parameter({name!r}) expected a chainrule.nn.Parameter or None, got a "
                f"{type(param).__name__} (wrap an array as nn.Parameter(array))"
            )
        if param is None:
            self._parameters.pop(name, None)
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    def register_buffer(self, name: str, array, persistent: bool = True) -> None:
        """Register ``array`` (an ndarray, or ``None``) as state that is not a parameter:
        BatchNorm's running statistics, a loss's class weights. A persistent buffer is in
        ``state_dict`` under its dotted name, as in PyTorch; optimisers never see it."""
        _check_name(name, "buffer")
        if array is not None and not isinstance(array, np.ndarray):
            raise TypeError(f"register_buffer({name!r}) expected an ndarray or None, got a {type(array).__name__}")
        if name in self.__dict__ and name not in self._buffers:
            raise KeyError(f"attribute {name!r} already exists on {type(self).__name__}")
        if not isinstance(persistent, bool):
            raise TypeError(f"register_buffer persistent must be a bool, got {persistent!r}")
        self._buffers[name] = array
        (self._non_persistent_buffers.discard if persistent else self._non_persistent_buffers.add)(name)
        object.__setattr__(self, name, array)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` as a child named ``name``."""
        _check_name(name, "module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module({name!r}) expected a chainrule.nn.Module, got a {type(module).__name__}")
        setattr(self, name, module)

    # -- running --------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        global _depth, _pass
        if _global_backward_hooks and "backward" not in self.__dict__:
            self._route_backward_through_hooks()
        if not _depth:
            _pass += 1  # an outermost call: a new forward pass
        _depth += 1
        try:
            output = self.forward(*args, **kwargs)
        finally:
            _depth -= 1
        if _global_forward_hooks or self._forward_hooks:
            # as PyTorch: args holds the positional arguments only; a keyword argument (forward(input=x))
            # reaches a hook registered with_kwargs=True
            for hook, with_kwargs in (*_global_forward_hooks.values(), *self._forward_hooks.values()):
                result = hook(self, args, kwargs, output) if with_kwargs else hook(self, args, output)
                if result is not None:
                    output = result
        return output

    def forward(self, *args, **kwargs):
        _not_implemented(self, "forward")

    def backward(self, grad_output):
        _not_implemented(self, "backward")

    # -- the extension API: what forward keeps for backward ------------------------------
    def save_for_backward(self, *arrays) -> None:
        """Keep ``arrays`` for ``backward`` (read there as ``self.saved_tensors``), unless
        gradients are off (``chainrule.no_grad()``): then nothing is kept and earlier caches
        stay. A module called at several places in one forward pass keeps one cache per call,
        and its backwards, called in reverse order, take them last first. A forward that finds
        a cache of an earlier pass that no backward used drops it and warns, once."""
        if not is_grad_enabled():
            return  # nothing will backpropagate through this forward; earlier caches stay
        state = self.__dict__  # plain attributes, set directly: this runs once per module per step
        caches = state["_caches"]
        replaced = bool(caches) and caches[-1][0] != _pass
        if replaced:
            if not state["_cache_warned"]:
                self._warn_replaced_cache()
            caches.clear()
        # the fingerprints notice an in-place change to a saved array before the backward reads it
        caches.append((_pass, arrays, _fingerprints(arrays)))
        state["_cache_released"] = False
        state["_cache_replaced"] = replaced  # says why a second backward finds nothing

    @property
    def saved_tensors(self) -> tuple:
        """The tuple ``forward`` passed to ``save_for_backward`` (the latest call's, when the
        module was called more than once in this pass), released as it is read: a backward runs
        once per forward, so read it once, at the top of ``backward``. A ``RuntimeError`` says
        why when there is nothing to read, or when an array it holds was changed in place since
        the forward."""
        state = self.__dict__
        caches = state["_caches"]
        if not caches:
            self._raise_no_cache()
        _, cache, prints = caches.pop()
        state["_cache_released"] = True
        if _fingerprints(cache) != prints:  # (a NaN never equals itself: look closer)
            self._raise_if_changed_in_place(cache, prints)
        return cache

    def _warn_replaced_cache(self) -> None:
        object.__setattr__(self, "_cache_warned", True)
        name = type(self).__name__
        warnings.warn(
            f"{name}.forward() replaced a cache that no backward() has used (an earlier forward "
            f"pass's), so a backward now gives the gradients of this forward, not of the earlier one. Run "
            f"forwards you do not backpropagate (evaluation, logging) under `with chainrule.no_grad():`. "
            f"(Calls at several places inside one model's forward each keep their own cache; calls from "
            f"outside any module are separate passes: make them inside a Module's forward, or use a "
            f"separate {name} instance for each. Shown once per module.)",
            CacheWarning, stacklevel=5,  # the line that called the module
        )

    def _raise_if_changed_in_place(self, cache, prints):
        changed = _changed_array(cache, prints)
        if changed is None:
            return
        (index, array), name = changed, type(self).__name__
        raise RuntimeError(
            f"{name}.backward(): an array that {name}.forward() saved for the backward (saved_tensors[{index}], "
            f"shape {array.shape}) was changed in place after the forward, so the gradients would be "
            f"computed from the wrong values. Write `x = x + 1`, not `x += 1` (or `x[...] = ...`, `out=x`), on "
            f"an input or output of a module between its forward and its backward, or run the forward again "
            f"after the change. (PyTorch raises too: 'one of the variables needed for gradient computation "
            f"has been modified by an inplace operation'.)"
        )

    def _raise_no_cache(self):
        name = type(self).__name__
        if self._cache_released and self.__dict__.get("_cache_replaced", False):
            raise RuntimeError(
                f"{name}.backward() called a second time, after two forward()s in separate passes: "
                f"the second forward replaced the first one's cache, so the first backward used the "
                f"second forward's and nothing is left for this one. Calls at two places inside one "
                f"Module's forward each keep their own cache (their backwards, in reverse order, use "
                f"them); calls from outside any module (two lines of a script) are separate passes. "
                f"Make the calls inside a Module's forward, or create one instance per use "
                f"(self.pool1, self.pool2)."
            )
        if self._cache_released:
            raise RuntimeError(
                f"{name}.backward() called a second time after one forward(): backward uses the "
                f"forward's cache and releases it (as PyTorch refuses to backward through a graph "
                f"twice). Run forward again first."
            )
        raise RuntimeError(
            f"{name}.backward() called before forward() (a forward under chainrule.no_grad() "
            f"keeps nothing for backward)"
        )

    # -- hooks ----------------------------------------------------------------------
    def register_forward_hook(self, hook: Callable, *, with_kwargs: bool = False) -> RemovableHandle:
        """Register ``hook(module, args, output)``, called after every ``forward`` of this
        module; a hook that returns a value replaces the output. ``args`` are the positional
        arguments; with ``with_kwargs=True`` the hook is ``hook(module, args, kwargs, output)``.
        As in PyTorch."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = (hook, bool(with_kwargs))
        return handle

    def register_full_backward_hook(self, hook: Callable) -> RemovableHandle:
        """Register ``hook(module, grad_input, grad_output)``, called after every
        ``backward`` of this module with 1-tuples of arrays: the gradient it returned (with
        respect to its input) and the one it received (with respect to its output). A hook
        that returns a value replaces ``grad_input``. As in PyTorch."""
        handle = RemovableHandle(self._backward_hooks)
        self._backward_hooks[handle.id] = hook
        self._route_backward_through_hooks()
        return handle

    register_backward_hook = register_full_backward_hook

    def _route_backward_through_hooks(self) -> None:
        # An instance attribute is found before the class's method, so every caller of
        # module.backward (Sequential, a custom module, the user) runs the hooks too, while a
        # subclass's super().backward() reaches the plain method: the hooks run once.
        self.__dict__["backward"] = functools.partial(_backward_with_hooks, self)

    # -- traversal ------------------------------------------------------------------
    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """Yield ``(dotted_name, Parameter)``, each parameter once, named as PyTorch would."""
        yield from self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, np.ndarray]]:
        """Yield ``(dotted_name, array)`` for every buffer that is not ``None``."""
        yield from self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[np.ndarray]:
        for _, array in self.named_buffers(recurse=recurse):
            yield array

    def _named_members(self, kind: str, prefix: str, recurse: bool):
        seen = set()
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in getattr(module, kind).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

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
            if child is not None:
                yield from child.named_modules(f"{prefix}.{name}" if prefix else name, seen)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    # -- modes and gradients ----------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode here and in every descendant; returns ``self``. Only Dropout and
        BatchNorm behave differently in eval mode; caches are kept in both (see ``no_grad``)."""
        if not isinstance(mode, bool):
            raise TypeError(f"train mode must be a bool, got {type(mode).__name__}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def apply(self, fn: Callable) -> Module:
        """Call ``fn(module)`` on every child (recursively), then on this module, as PyTorch's
        ``apply``; returns ``self``. The usual use is initialisation:
        ``model.apply(init_weights)`` with ``def init_weights(m): if isinstance(m, nn.Linear): ...``."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def to(self, dtype) -> Module:
        """Cast every parameter and floating-point buffer to ``dtype`` (``np.float32`` or
        ``np.float64``) in place, as PyTorch's ``module.to(dtype)``; returns ``self``.
        Gradients are cast with their parameters; a forward cache is left as it is."""
        dtype = check_float_dtype(dtype, f"{type(self).__name__}.to")
        for module in self.modules():
            for param in module._parameters.values():
                if param is not None and param.data.dtype != dtype:
                    param.data = param.data.astype(dtype)
                    if param.grad is not None:
                        param.grad = param.grad.astype(dtype)
            for name, array in module._buffers.items():
                if array is not None and array.dtype.kind == "f" and array.dtype != dtype:
                    module._buffers[name] = array.astype(dtype)
                    object.__setattr__(module, name, module._buffers[name])
            module._cast(dtype)
        return self

    def double(self) -> Module:
        """``to(np.float64)``."""
        return self.to(np.float64)

    def float(self) -> Module:
        """``to(np.float32)``."""
        return self.to(np.float32)

    def _cast(self, dtype) -> None:
        """Called by ``to`` on every module after its parameters and buffers: a module that
        keeps a dtype of its own (for when it has no parameter to read it from) updates it."""

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set ``requires_grad`` of every parameter (``False`` freezes the module); returns ``self``."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's ``.grad``: to ``None`` (default, as PyTorch) or to zeros."""
        for param in self.parameters():
            param.zero_grad(set_to_none)

    # -- state ----------------------------------------------------------------------
    def _state_arrays(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        """Every array ``state_dict`` holds, in PyTorch's order and with its keys: each
        module's parameters, then its persistent buffers, then its children's. A parameter
        shared by two modules appears under both names, as in PyTorch."""
        for name, param in self._parameters.items():
            yield prefix + name, param.data
        for name, array in self._buffers.items():
            if array is not None and name not in self._non_persistent_buffers:
                yield prefix + name, array
        for name, child in self._modules.items():
            if child is not None:
                yield from child._state_arrays(f"{prefix}{name}.")

    def state_dict(self) -> OrderedDict:
        """A copy of every parameter and persistent buffer, keyed by its dotted name (PyTorch's keys)."""
        return OrderedDict((key, array.copy()) for key, array in self._state_arrays())

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Copy values from ``state_dict`` into the parameters and buffers, in place.

        The values may be NumPy arrays or anything array-like, a torch state dict's tensors
        included (``torch_model.state_dict()``, or ``dict(torch_model.named_parameters())``,
        whose tensors require grad): they are read without importing torch. As in PyTorch,
        each value is copied into the existing array and cast to its dtype, so the model
        keeps its dtype and shares no memory with the dict.
        Everything is checked first: nothing changes unless the whole dict fits.

        Raises:
            TypeError: if ``state_dict`` is not a mapping (a path: load it with
                ``chainrule.load`` first) or ``strict`` is not a bool.
            RuntimeError: listing every missing and unexpected key (with ``strict=True``)
                and every key whose shape differs or whose value is not numeric.
        """
        where = f"{type(self).__name__}.load_state_dict"
        if isinstance(state_dict, (str, bytes)) or hasattr(state_dict, "__fspath__"):
            raise TypeError(
                f"{where} expected a dict of arrays, got the path {state_dict!r}: read the file first, "
                f"model.load_state_dict(chainrule.load(path))"
            )
        if not (hasattr(state_dict, "keys") and hasattr(state_dict, "__getitem__")):
            raise TypeError(f"{where} expected a dict of names to arrays, got a {type(state_dict).__name__}")
        if not isinstance(strict, bool):
            raise TypeError(f"{where} strict must be a bool, got {strict!r}")
        own = dict(self._state_arrays())
        missing = [key for key in own if key not in state_dict]
        unexpected = [key for key in state_dict if key not in own]
        problems = []
        if strict and missing:
            problems.append(f"missing keys {missing}")
        if strict and unexpected:
            problems.append(f"unexpected keys {unexpected}")
        values = {}
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = _as_array(state_dict[key])
            if value is None:
                problems.append(f"{key!r} is a {type(state_dict[key]).__name__}, which cannot be read as an array")
            elif value.dtype.kind not in "biuf":
                problems.append(f"{key!r} has non-numeric dtype {value.dtype}")
            elif value.shape != target.shape:
                problems.append(f"{key!r} has shape {value.shape} in the state_dict, but the model's has shape {target.shape}")
            else:
                values[key] = value
        if problems:
            raise RuntimeError(f"Error(s) loading state_dict into {type(self).__name__} (nothing was changed): "
                               + "; ".join(problems))
        for key, value in values.items():
            np.copyto(own[key], value, casting="unsafe")
        return IncompatibleKeys(missing, unexpected)

    def __getstate__(self):
        # copy.deepcopy and pickle take the model, not its last batch: no forward cache,
        # and no hook wrapper bound to this instance (__setstate__ makes a new one).
        state = self.__dict__.copy()
        state.pop("backward", None)
        state.update(_caches=[], _cache_released=False, _cache_warned=False, _cache_replaced=False)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if self._backward_hooks:
            self._route_backward_through_hooks()

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


def _as_array(value):
    """``value`` as an ndarray (a view where it can be; ``load_state_dict`` copies it into the
    model). A torch tensor has ``detach``/``cpu``/``numpy`` (a tensor that requires grad refuses
    ``__array__``); anything else goes through ``np.asarray``. None if it cannot be read."""
    try:
        if all(hasattr(value, name) for name in ("detach", "cpu", "numpy")):
            return np.asarray(value.detach().cpu().numpy())
        return np.asarray(value)
    except (TypeError, ValueError, RuntimeError):  # e.g. a bfloat16 tensor, a ragged list
        return None


def _not_implemented(module, method: str):
    """The base class's forward/backward: a subclass must define its own."""
    if method == "forward":
        raise NotImplementedError(f"{type(module).__name__} does not implement forward()")
    raise NotImplementedError(
        f"{type(module).__name__} does not implement backward(): a Module subclass defines "
        f"backward(grad_output), which returns the gradient with respect to forward's input and "
        f"adds its parameters' gradients into their .grad. See the docs page \"Write your own "
        f"layer\" (docs/write-your-own-layer.md) for a template and its gradcheck"
    )
