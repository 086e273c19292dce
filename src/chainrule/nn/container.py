"""Sequential: compose modules; forward runs left to right, backward right to left.
ModuleList and ModuleDict: containers that register modules but do not run them."""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Iterable, Mapping

import numpy as np

from .module import Module


class Sequential(Module):
    r"""A chain of modules $f_L \circ \dots \circ f_1$.

    ``forward`` feeds each module's output to the next; ``backward`` walks the same
    modules in reverse, handing each the gradient with respect to its output: the chain
    rule, one factor per module. Children are named ``"0"``, ``"1"``, ... as in PyTorch,
    so parameters are ``0.weight``, ``0.bias``, ``2.weight``, ...; or, given one
    ``OrderedDict`` (``Sequential(OrderedDict([("fc1", nn.Linear(4, 8)), ...]))``), by its keys.

    A module instance may stand at one place only: it keeps one forward cache, so a
    second use in the same pass would overwrite what the first one's backward needs.
    (Sharing a *parameter* between two modules is fine: its gradients add up.)
    """

    def __init__(self, *modules: Module):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], dict):  # Sequential(OrderedDict(...)): named children
            for name, module in modules[0].items():
                self._place(name, module)
            return
        for module in modules:
            self.append(module)

    def append(self, module: Module) -> Sequential:
        self._place(str(len(self._modules)), module)
        return self

    def _place(self, position: str, module) -> None:
        """Register ``module`` as child ``position`` (new or replaced), refusing an instance
        that already stands elsewhere in the chain."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential expects Module instances, got {type(module).__name__}")
        placed = {id(m): name for name, m in self.named_modules()  # except what is being replaced
                  if name != position and not name.startswith(position + ".")}
        for name, m in module.named_modules(position):
            if id(m) in placed:
                raise ValueError(
                    f"Sequential: the {type(m).__name__} at position {name} is the same instance as the one "
                    f"at position {placed[id(m)]}; a module keeps one forward cache, so it cannot run at two "
                    f"places in one pass. Create a separate instance for each place."
                )
        self.add_module(position, module)

    def forward(self, input):
        for module in self._modules.values():
            input = module(input)
        return input

    def backward(self, grad_output):
        r"""Backpropagate through the chain: module $l$'s backward turns the gradient with
        respect to its output into the one with respect to its input, from the last module
        to the first."""
        for module in reversed(self._modules.values()):
            grad_output = module.backward(grad_output)
        return grad_output

    @property
    def needs_input_grad(self) -> bool:
        r"""Whether ``backward`` returns dC/d(input): the first module's setting.

        ``model.needs_input_grad = False`` says that the chain's input is data: the first
        module skips the product that only the input's gradient needs (``Linear``: $\delta W$,
        a quarter of a 784 → 256 → 256 → 10 step's multiply-adds) and ``backward`` returns
        ``None``, as PyTorch skips the gradient of an input that does not require one.
        """
        first = next(iter(self._modules.values()), None)
        return True if first is None else first.needs_input_grad

    @needs_input_grad.setter
    def needs_input_grad(self, value: bool) -> None:
        first = next(iter(self._modules.values()), None)
        if first is not None:
            first.needs_input_grad = value

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, index):
        modules = list(self._modules.values())
        if isinstance(index, slice):  # the children keep their names, as in PyTorch
            return Sequential(OrderedDict(list(self._modules.items())[index]))
        try:
            return modules[index]
        except IndexError:
            raise IndexError(f"Sequential index {index} is out of range for {len(modules)} modules") from None
        except TypeError:
            raise TypeError(f"Sequential indices must be int or slice, got {type(index).__name__}") from None

    def _position(self, index) -> str:
        try:
            index = operator.index(index)
        except TypeError:
            raise TypeError(f"Sequential indices must be int, got {type(index).__name__}") from None
        if not -len(self) <= index < len(self):
            raise IndexError(f"Sequential index {index} is out of range for {len(self)} modules")
        return list(self._modules)[index]

    def __setitem__(self, index, module: Module) -> None:
        """``seq[i] = module`` replaces the module at ``i``, as in PyTorch."""
        self._place(self._position(index), module)

    def __delitem__(self, index) -> None:
        """``del seq[i]`` removes the module at ``i``; the rest are renumbered, as in PyTorch."""
        position = self._position(index)
        _renumber(self, [m for name, m in self._modules.items() if name != position])


def _renumber(container: Module, modules: list) -> None:
    """Register ``modules`` as the children ``"0"``, ``"1"``, ... of ``container``, replacing
    the ones it had (after a deletion or an insertion, as in PyTorch)."""
    for name in list(container._modules):
        delattr(container, name)
    for position, module in enumerate(modules):
        container.add_module(str(position), module)


def _not_run(container: Module, method: str):
    raise NotImplementedError(
        f"{type(container).__name__} is a container: it registers its modules (so parameters(), "
        f"state_dict() and train()/eval() see them) but does not run them, so it has no {method}(). "
        f"Call its modules from your own Module's forward(), and their backward() in reverse "
        f"order from its backward(); or use nn.Sequential for a plain chain."
    )


def _check_module(owner: str, module) -> Module:
    if not isinstance(module, Module):
        raise TypeError(f"{owner} expected a chainrule.nn.Module, got {type(module).__name__}")
    return module


class ModuleList(Module):
    r"""A list of modules, registered as children ``"0"``, ``"1"``, ... as in PyTorch, so a
    custom module's ``self.layers = ModuleList([...])`` has parameters ``layers.0.weight``,
    ``layers.0.bias``, ``layers.1.weight``, ...

    It supports the list protocol (``len``, iteration, indexing with negative indices,
    slices that return a ``ModuleList``, ``append``, ``extend``, ``insert``, ``pop``,
    item assignment and deletion, ``+`` and ``+=``); after a deletion or an insertion
    the children are renumbered, as in PyTorch.

    It does **not** run its modules: ``forward`` and ``backward`` raise
    ``NotImplementedError``. The module that owns the list decides how to use them — its
    ``forward`` calls them, its ``backward`` calls their ``backward`` in reverse order.
    Unlike ``Sequential``, the same instance may appear twice (PyTorch allows it); a
    module keeps one forward cache, so the owner must not run it twice in one pass.

    Args:
        modules: an iterable of modules to add, or ``None``.
    """

    def __init__(self, modules: Iterable[Module] | None = None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def forward(self, *args, **kwargs):
        _not_run(self, "forward")

    def backward(self, *args, **kwargs):
        _not_run(self, "backward")

    # -- indices -------------------------------------------------------------------
    def _absolute(self, index) -> int:
        try:
            index = operator.index(index)
        except TypeError:
            raise TypeError(f"ModuleList indices must be int or slice, got {type(index).__name__}") from None
        if not -len(self) <= index < len(self):
            raise IndexError(f"ModuleList index {index} is out of range for {len(self)} modules")
        return index % len(self)

    # -- the list protocol -----------------------------------------------------------
    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, index):
        if isinstance(index, slice):
            return type(self)(list(self._modules.values())[index])
        return self._modules[str(self._absolute(index))]

    def __setitem__(self, index, module: Module) -> None:
        if isinstance(index, slice):  # as PyTorch: one module at a time
            raise TypeError(f"ModuleList item assignment takes an int index, got the slice {index}")
        self.add_module(str(self._absolute(index)), _check_module("ModuleList", module))

    def __delitem__(self, index) -> None:
        modules = list(self._modules.values())
        if isinstance(index, slice):
            del modules[index]
        else:
            del modules[self._absolute(index)]
        _renumber(self, modules)

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def __add__(self, other: Iterable[Module]) -> ModuleList:
        combined = ModuleList(self)
        return combined.extend(other)

    def append(self, module: Module) -> ModuleList:
        """Add ``module`` at the end, as child ``str(len(self))``; returns ``self``."""
        self.add_module(str(len(self)), _check_module("ModuleList.append", module))
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Append every module of ``modules``; returns ``self``."""
        if not isinstance(modules, Iterable):
            raise TypeError(f"ModuleList.extend expected an iterable of modules, got {type(modules).__name__}")
        modules = list(modules)  # before appending: extending a list by itself must terminate
        for module in modules:
            _check_module("ModuleList.extend", module)
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Insert ``module`` before position ``index`` (as ``list.insert``: negative counts from
        the end, past the end appends); the children after it are renumbered."""
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"ModuleList.insert index must be an int, got {type(index).__name__}")
        modules = list(self._modules.values())
        modules.insert(int(index), _check_module("ModuleList.insert", module))
        _renumber(self, modules)

    def pop(self, index):
        """Remove the module at ``index`` (or the modules of a slice) and return it."""
        removed = self[index]
        del self[index]
        return removed

    def __repr__(self) -> str:
        # PyTorch's: a run of consecutive modules with the same repr is shown once, "(0-2): 3 x ...".
        reprs = [repr(module) for module in self]
        if not reprs:
            return "ModuleList()"
        runs = []  # [first index, last index, repr]
        for index, text in enumerate(reprs):
            if runs and runs[-1][2] == text:
                runs[-1][1] = index
            else:
                runs.append([index, index, text])
        lines = []
        for first, last, text in runs:
            head = f"({first}):" if first == last else f"({first}-{last}): {last - first + 1} x"
            lines.append(f"  {head} {text}".replace("\n", "\n  "))
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"


class ModuleDict(Module):
    r"""An ordered dict of modules, registered as children under their keys, as in PyTorch:
    ``self.heads = ModuleDict({"cls": ..., "box": ...})`` has parameters ``heads.cls.weight``,
    ``heads.box.weight``, ...

    It supports the dict protocol (``[]``, ``in``, ``len``, iteration over the keys,
    ``keys``, ``values``, ``items``, ``update``, ``pop``, ``clear``, item assignment and
    deletion) and keeps insertion order. Keys are strings without ``"."``, and not the
    name of an attribute the module already has (``"train"``, ``"keys"``, ...), as in PyTorch.

    Like :class:`ModuleList` it does not run its modules: ``forward`` and ``backward``
    raise ``NotImplementedError``.

    Args:
        modules: a mapping of names to modules, an iterable of ``(name, module)`` pairs,
            or ``None``.
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable | None = None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def forward(self, *args, **kwargs):
        _not_run(self, "forward")

    def backward(self, *args, **kwargs):
        _not_run(self, "backward")

    def __getitem__(self, key: str) -> Module:
        try:
            return self._modules[key]
        except (KeyError, TypeError):
            raise KeyError(f"ModuleDict has no module {key!r}; its keys are {list(self._modules)}") from None

    def __setitem__(self, key: str, module: Module) -> None:
        _check_module(f"ModuleDict[{key!r}]", module)
        if isinstance(key, str) and key not in self._modules and hasattr(self, key):
            raise KeyError(f"ModuleDict key {key!r} is the name of an existing attribute of the module; choose another")
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        self[key]  # the KeyError that names the keys
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key) -> bool:
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def clear(self) -> None:
        """Remove every module."""
        for key in list(self._modules):
            delattr(self, key)

    def pop(self, key: str) -> Module:
        """Remove ``key`` and return its module."""
        module = self[key]
        del self[key]
        return module

    def update(self, modules) -> None:
        """Add or replace modules from a mapping (a dict, ``ModuleDict``) or from an iterable of
        ``(key, module)`` pairs, in their order; an existing key keeps its place."""
        if isinstance(modules, (Mapping, ModuleDict)):
            pairs = list(modules.items())
        elif isinstance(modules, Iterable) and not isinstance(modules, (str, Module)):
            pairs = []
            for position, pair in enumerate(modules):
                if not isinstance(pair, Iterable) or isinstance(pair, (str, Module)):
                    raise TypeError(
                        f"ModuleDict.update expected (key, module) pairs, got a {type(pair).__name__} "
                        f"at position {position}"
                    )
                pair = tuple(pair)
                if len(pair) != 2:
                    raise ValueError(
                        f"ModuleDict.update expected (key, module) pairs, got {len(pair)} items at position {position}"
                    )
                pairs.append(pair)
        else:
            raise TypeError(
                f"ModuleDict.update expected a mapping or an iterable of (key, module) pairs, "
                f"got {type(modules).__name__}"
            )
        for key, module in pairs:  # every module checked before any is added
            _check_module(f"ModuleDict.update ({key!r})", module)
        for key, module in pairs:
            self[key] = module
