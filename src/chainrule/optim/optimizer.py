r"""Optimizer: the bookkeeping every optimiser shares (groups, state, zero_grad, state_dict).

An optimiser holds its parameters in *parameter groups*: dicts with a ``'params'`` list and
one value per hyper-parameter (``'lr'``, ``'momentum'``, ...), so that, for example, the
last layer can learn ten times faster than the rest. It also holds a per-parameter
``state`` dict (momentum buffers, moment estimates). Subclasses implement ``step()``.

The layout of :meth:`Optimizer.state_dict` is PyTorch's, with parameters replaced by
their position across all groups::

    {'state': {0: {'momentum_buffer': array}, 1: {...}},
     'param_groups': [{'lr': 0.1, 'momentum': 0.9, ..., 'params': [0, 1]}]}
"""

from __future__ import annotations

import copy
from collections import defaultdict
from typing import Any, Callable, Iterable

import numpy as np

from ..nn.module import Parameter


class Optimizer:
    r"""Base class of every optimiser.

    Args:
        params: an iterable of :class:`~chainrule.nn.Parameter` (e.g. ``model.parameters()``),
            of ``(name, Parameter)`` pairs (e.g. ``model.named_parameters()``), or of
            param-group dicts such as ``{'params': [...], 'lr': 0.01}``; a key a group does not
            set takes its value from ``defaults``.
        defaults: the default value of every hyper-parameter.

    Attributes:
        defaults: the hyper-parameter defaults.
        param_groups: a list of dicts, one per group, each with ``'params'`` and every
            hyper-parameter filled in. Changing ``group['lr']`` takes effect at the next step.
        state: per-parameter state, ``{Parameter: {name: value}}``.

    Raises:
        TypeError: if ``params`` is a single Parameter, an array or a set (unordered), or holds
            something that is not a Parameter.
        ValueError: if ``params`` is empty, or a parameter appears twice (in one group or
            in two).
    """

    # State entries that are plain numbers rather than parameter-shaped arrays.
    _scalar_state_keys = frozenset({"step"})

    def __init__(self, params: Iterable, defaults: dict):
        if not isinstance(defaults, dict):
            raise TypeError(f"{self._name} defaults must be a dict, got {type(defaults).__name__}")
        self.defaults = dict(defaults)
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []

        if isinstance(params, (Parameter, np.ndarray)):
            raise TypeError(
                f"{self._name} params must be an iterable of Parameters or dicts, got a single "
                f"{type(params).__name__} (wrap it in a list)"
            )
        if isinstance(params, (set, frozenset)):
            raise TypeError(
                f"{self._name} params must be an ordered collection (a set's order changes "
                f"between runs, which would scramble state_dict), got a {type(params).__name__}"
            )
        if isinstance(params, dict):
            params = [params]
        if not isinstance(params, Iterable) or isinstance(params, (str, bytes)):
            raise TypeError(
                f"{self._name} params must be an iterable of Parameters or dicts, got {type(params).__name__}"
            )
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    @property
    def _name(self) -> str:
        return type(self).__name__

    # -- hyper-parameters -----------------------------------------------------------------
    #: name -> check from ``_checks`` (value, owner, name); declared once per optimiser, run by
    #: ``add_param_group`` and ``load_state_dict``.
    HYPERPARAMETERS: dict = {}

    def _check_hyperparameters(self, group: dict) -> None:
        """Raise if a hyper-parameter of ``group`` is out of range (its declared check)."""
        for name, check in self.HYPERPARAMETERS.items():
            check(group[name], self, name)

    # -- groups -----------------------------------------------------------------------------
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters, e.g. layers unfrozen while fine-tuning.

        Args:
            param_group: a dict with ``'params'`` (a Parameter or an ordered iterable of them)
                and optionally any hyper-parameter; missing ones take the optimiser's defaults.

        Raises:
            TypeError: if ``param_group`` is not a dict or its params are not Parameters.
            ValueError: if it has no ``'params'``, repeats a parameter, or shares one with an
                existing group, or if a hyper-parameter is out of range.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"{self._name} param_group must be a dict, got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{self._name} param_group must have a 'params' entry, got keys {sorted(param_group)}")
        group = dict(param_group)  # a copy: the caller's dict is left as it was
        params = group["params"]
        if isinstance(params, Parameter):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(
                f"{self._name} params must be an ordered collection (a set's order changes "
                f"between runs, which would scramble state_dict), got a {type(params).__name__}"
            )
        elif isinstance(params, np.ndarray) or not isinstance(params, Iterable):
            raise TypeError(
                f"{self._name} params must be an iterable of Parameters, got {type(params).__name__}"
            )
        params = list(params)

        names = [item[0] for item in params if isinstance(item, tuple) and len(item) == 2]
        if names:
            if len(names) != len(params):
                raise ValueError(f"{self._name} params must be all (name, Parameter) pairs or all Parameters, not a mix")
            group["param_names"] = names
            params = [item[1] for item in params]
        for i, param in enumerate(params):
            if not isinstance(param, Parameter):
                raise TypeError(
                    f"{self._name} can only optimize chainrule.nn.Parameter objects, "
                    f"but params[{i}] is a {type(param).__name__}"
                )
        group["params"] = params

        for name, default in self.defaults.items():
            group.setdefault(name, copy.deepcopy(default))
        self._check_hyperparameters(group)

        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids):
            raise ValueError(f"{self._name} param group contains the same parameter more than once")
        if any(("param_names" in g) != ("param_names" in group) for g in self.param_groups):
            raise ValueError(f"{self._name} param groups must all be with names or all without names")
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        if existing.intersection(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    # -- the loop ---------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's ``.grad``: to ``None`` (default, as PyTorch) or to zeros."""
        for group in self.param_groups:
            for param in group["params"]:
                param.zero_grad(set_to_none)

    def step(self, closure: Callable[[], Any] | None = None):
        """Apply one update to every parameter from its ``.grad``, group by group, with the
        rule of the optimiser's class docstring (its ``_step_group``). A parameter with no
        ``.grad``, or frozen (``requires_grad=False``), is left as it is.

        Args:
            closure: optional; a function that re-evaluates the model (forward, backward)
                and returns the loss, called before the update.

        Returns:
            What ``closure`` returned, or ``None``.
        """
        loss = None if closure is None else closure()
        for group in self.param_groups:
            # the (param, grad) pairs are checked before the rule reads any hyper-parameter
            self._step_group(group, self._params_with_grad(group))
        return loss

    def _step_group(self, group: dict, updates: list) -> None:
        """Update the ``(param, grad)`` pairs of one group: each optimiser's rule."""
        raise NotImplementedError(f"{self._name} does not implement _step_group(), its update rule")

    def _params_with_grad(self, group: dict) -> list:
        """``(param, grad)`` for each parameter of ``group`` that a step updates: one that
        has a gradient and is not frozen (``requires_grad=False``), as in PyTorch."""
        absent = [key for key in self.defaults if key not in group]
        if absent:  # a key deleted by hand: say so rather than fail with a bare KeyError
            g = next(k for k, other in enumerate(self.param_groups) if other is group)
            raise ValueError(f"{self._name}.step: param_groups[{g}] has no {absent}; every group needs "
                             f"{list(self.defaults)}")
        updates = []
        for i, param in enumerate(group["params"]):
            if param.grad is None or not param.requires_grad:
                continue
            if param.grad.shape != param.shape:  # possible if .data was replaced after the backward
                g = next(k for k, other in enumerate(self.param_groups) if other is group)
                raise ValueError(
                    f"{self._name}.step: param_groups[{g}]['params'][{i}] has a .grad of shape "
                    f"{param.grad.shape}, expected {param.shape} (the shape of its data)"
                )
            updates.append((param, param.grad))
        return updates

    # -- state ------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """The optimiser's state in PyTorch's layout, as deep copies.

        Returns:
            ``{'state': {index: {name: value}}, 'param_groups': [{hyper-parameters...,
            'params': [index, ...]}]}``, where ``index`` numbers the parameters across all
            groups in order. It holds only arrays, numbers, bools, tuples and lists, so
            :func:`chainrule.save` can write it.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {key: copy.deepcopy(value) for key, value in group.items() if key != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for param in group["params"]:
                entries = self.state.get(param)
                if entries:
                    state[index[id(param)]] = {
                        key: value.copy() if isinstance(value, np.ndarray) else copy.deepcopy(value)
                        for key, value in entries.items()
                    }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Load what :meth:`state_dict` returned (possibly through ``save``/``load``).

        Hyper-parameters are taken from ``state_dict``; the parameters stay this optimiser's
        own, matched by position. Arrays are copied and cast to their parameter's dtype.
        Nothing changes unless the whole dict is valid.

        Raises:
            TypeError: if ``state_dict`` is not a dict with ``'state'`` and ``'param_groups'``.
            ValueError: if the number of groups, a group's size, a state index or an array's
                shape does not match this optimiser.
        """
        where = f"{self._name}.load_state_dict"
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise TypeError(
                f"{where} expected a dict with keys 'state' and 'param_groups', got "
                f"{sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__}"
            )
        saved_groups = state_dict["param_groups"]
        saved_state = state_dict["state"]
        if not isinstance(saved_groups, (list, tuple)) or not isinstance(saved_state, dict):
            raise TypeError(f"{where} expected 'param_groups' to be a list and 'state' a dict")
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{where}: loaded state dict has {len(saved_groups)} parameter groups, "
                f"but the optimizer has {len(self.param_groups)}"
            )
        by_index: dict[int, Parameter] = {}
        new_groups = []
        for g, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if not isinstance(saved, dict) or "params" not in saved:
                raise TypeError(f"{where}: param_groups[{g}] must be a dict with a 'params' list")
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"{where}: parameter group {g} has {len(saved['params'])} parameters in the "
                    f"loaded state dict, but {len(group['params'])} in the optimizer"
                )
            for index, param in zip(saved["params"], group["params"]):
                by_index[int(index)] = param
            absent = [key for key in self.defaults if key not in saved]
            if absent:
                raise ValueError(
                    f"{where}: param_groups[{g}] has no {absent} (it has {sorted(saved)}): is this the "
                    f"state of another kind of optimiser?"
                )
            new_group = {key: copy.deepcopy(value) for key, value in saved.items() if key != "params"}
            new_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in new_group:
                new_group["param_names"] = group["param_names"]
            self._check_hyperparameters(new_group)
            new_groups.append(new_group)

        new_state: defaultdict = defaultdict(dict)
        for index, entries in saved_state.items():
            if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or int(index) not in by_index:
                raise ValueError(
                    f"{where}: state has an entry for parameter {index!r}, but the param groups "
                    f"number parameters {sorted(by_index)}"
                )
            if not isinstance(entries, dict):
                raise TypeError(f"{where}: state[{index}] must be a dict, got {type(entries).__name__}")
            param = by_index[int(index)]
            new_state[param] = {key: self._load_state_value(where, index, key, value, param)
                                for key, value in entries.items()}

        self.param_groups = new_groups
        self.state = new_state

    def _load_state_value(self, where: str, index, key: str, value, param: Parameter):
        if key in self._scalar_state_keys:
            number = np.asarray(value)
            if number.ndim != 0 or number.dtype.kind not in "iuf":
                raise ValueError(f"{where}: state[{index}][{key!r}] must be a number, got {value!r}")
            number = number.item()
            return int(number) if float(number).is_integer() else number
        if value is None:
            return None
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"{where}: state[{index}][{key!r}] must be a numeric array, got dtype {array.dtype}")
        if array.shape != param.shape:
            raise ValueError(
                f"{where}: state[{index}][{key!r}] has shape {array.shape}, but parameter "
                f"{index} has shape {param.shape}"
            )
        return np.array(array, dtype=param.dtype, copy=True)

    # -- repr -------------------------------------------------------------------------------
    def __repr__(self) -> str:
        # PyTorch's layout: a header per group, then one indented "key: value" per line.
        text = f"{self._name} ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            text += "".join(f"    {key}: {group[key]}\n" for key in sorted(group) if key != "params")
        return text + ")"
