"""What an exercise is: a declaration (:class:`Exercise`), its test cases (:class:`Case`) and
the catalogued mistakes; the registry that ``names()`` reads."""

from __future__ import annotations

import inspect
import textwrap
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .. import nn

EXERCISES: dict = {}   # name -> Exercise, in the order the catalogue's parts declare them
MISTAKES: dict = {}    # name -> its one-sentence explanation
MISTAKE_DOCS: dict = {}  # name -> the docs page (and anchor) that explains it


def mistake(name: str, explanation: str, docs: str | None = None) -> str:
    """Catalogue a mistake once, by name; exercises list the names they can recognise."""
    if name in MISTAKES:
        raise ValueError(f"mistake {name!r} is already catalogued")
    MISTAKES[name] = explanation
    MISTAKE_DOCS[name] = docs
    return name


@dataclass(frozen=True)
class Case:
    """One configuration a solution is checked on.

    Args:
        inputs: ``rng -> tuple`` of forward's arguments (called twice: the second batch is
            for the accumulation check).
        kwargs: the constructor arguments (the built-in module's).
        train: training mode (``False``: eval mode).
        frozen: names of parameters set to ``requires_grad=False``.
        grad_args: which forward arguments backward returns the gradient of (an empty tuple:
            backward returns ``None``, as Embedding's does; two or more: a tuple, as RNN's
            ``(dx, dh0)`` after ``forward(x, h0)``).
        grad: ``rng, output -> grad`` for backward; default: a random array shaped like the
            output (for a scalar loss, a Python float; for an exercise with several
            ``outputs``, a tuple of random arrays, one per output array, in order).
    """

    inputs: Callable
    kwargs: dict = field(default_factory=dict)
    train: bool = True
    frozen: tuple = ()
    grad_args: tuple = (0,)
    grad: Callable | None = None


@dataclass
class Exercise:
    """The declaration of one exercise (see the package docstring for how to add one).

    Args:
        name: the catalogue name, ``python -m chainrule.exercises start NAME``.
        builtin: the ``chainrule.nn`` class whose backward the learner writes; ``None`` for an
            exercise with no built-in module (then ``reference`` is the library's backward).
        docs: the docs page, ``docs/modules/linear.md`` style.
        stub: the start file's class, source text: header, ``exercise = ...``, ``__init__`` if
            it has one, and ``forward`` written out (what it saves, why, shapes in comments).
            The backward is appended from ``task`` and ``todo``.
        task: the backward's docstring: what ``grad_output`` is, what to return, which
            parameter gradients to accumulate.
        todo: the sentence of the stub's ``NotImplementedError``.
        hint: a nudge that gives nothing away.
        cases: the :class:`Case` list, the first one the smallest (central differences and
            PyTorch run on it).
        solution: a mixin with a learner-style ``backward`` that takes ``self.mistake``
            (``None``, or a catalogued mistake's name) and makes that one wrong step.
        mistakes: the names of the mistakes ``solution`` can make.
        torch: ``(torch, params, buffers, kwargs, training, *inputs) -> output``: PyTorch's
            forward (params and buffers are dicts of tensors by state-dict name, kwargs the
            case's constructor arguments), differentiated by autograd for the comparison;
            ``None`` to skip it.
        reference: for ``builtin=None``, a mixin with the library's own backward.
        signature: backward's parameters, as the stub writes them.
        outputs: ``None`` when forward returns one array (or a scalar loss), named ``output``;
            else the names of what it returns, nested as it nests them: RNN's
            ``("output", "h_n")``, LSTM's ``("output", ("h_n", "c_n"))``. Every output array
            gets a gradient, and backward is given them all, in that order.
        parts: the names of the arrays of a forward argument that is a tuple, by argument:
            LSTM's ``{"hx": ("h0", "c0")}`` (their gradients are called ``dC/dh0``, ``dC/dc0``).
    """

    name: str
    builtin: type | None
    docs: str
    stub: str
    task: str
    todo: str
    hint: str
    cases: tuple
    solution: type
    mistakes: tuple
    torch: Callable | None = None
    reference: type | None = None
    signature: str = "grad_output"
    outputs: tuple | None = None
    parts: dict = field(default_factory=dict)
    _classes: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        unknown = [m for m in self.mistakes if m not in MISTAKES]
        if unknown:
            raise ValueError(f"exercise {self.name!r} lists mistakes that are not catalogued: {unknown}")
        if len(self.mistakes) < 2:
            raise ValueError(f"exercise {self.name!r} needs at least two catalogued mistakes")

    # The start file is the single source of the forward: the stub class is built by running it.
    def start_source(self, filename: str | None = None) -> str:
        from ._stub import render
        return render(self, filename)

    @property
    def stub_class(self) -> type:
        if "stub" not in self._classes:
            namespace = {"__name__": f"chainrule.exercises.start.{self.name}"}
            exec(compile(self.start_source(), f"<start file of exercise {self.name!r}>", "exec"), namespace)
            self._classes["stub"] = next(v for v in namespace.values()
                                         if isinstance(v, type) and getattr(v, "exercise", None) == self.name)
        return self._classes["stub"]

    @property
    def builtin_class(self) -> type:
        """The module the learner's is compared with: the built-in, or the stub with ``reference``."""
        if self.builtin is not None:
            return self.builtin
        if "builtin" not in self._classes:
            stub = self.stub_class
            self._classes["builtin"] = type(stub.__name__, (self.reference, stub), {"__module__": self.reference.__module__})
        return self._classes["builtin"]

    def solution_class(self, wrong: str | None = None) -> type:
        """The learner-style solution, right (``wrong=None``) or making one catalogued mistake."""
        key = ("solution", wrong)
        if key not in self._classes:
            stub = self.stub_class
            label = "Right" if wrong is None else "".join(w.title() for w in wrong.split("_"))
            self._classes[key] = type(f"{stub.__name__}{label}", (self.solution, stub),
                                      {"mistake": wrong, "__module__": self.solution.__module__})
        return self._classes[key]

    def constructor_kwargs(self, case: Case) -> dict:
        """The case's arguments, in float64 where the module takes a dtype."""
        kwargs = dict(case.kwargs)
        init = self.builtin_class.__init__
        if "dtype" in inspect.signature(init).parameters:
            kwargs.setdefault("dtype", np.float64)
        return kwargs


def exercise(**declaration) -> Exercise:
    """Declare an exercise and add it to the catalogue, after those declared before it."""
    ex = Exercise(**declaration)
    if ex.name in EXERCISES:
        raise ValueError(f"exercise {ex.name!r} is already declared")
    ex.stub = textwrap.dedent(ex.stub).strip("\n")
    EXERCISES[ex.name] = ex
    return ex


def get(name: str) -> Exercise:
    """The exercise called ``name``, or a ``KeyError`` that lists the catalogue."""
    from . import catalogue  # noqa: F401  (declares the exercises)
    if name not in EXERCISES:
        raise KeyError(f"no exercise named {name!r}; the catalogue: {', '.join(EXERCISES)}")
    return EXERCISES[name]


def floats(*shape) -> Callable:
    """``Case.inputs`` for a module with one float input of ``shape``."""
    return lambda rng: (rng.standard_normal(shape),)


def builtin_exercise(cls: type) -> str | None:
    """The exercise of the nearest built-in class ``cls`` derives from, if any."""
    from . import catalogue  # noqa: F401
    by_class = {ex.builtin: ex.name for ex in EXERCISES.values() if ex.builtin is not None}
    for klass in cls.__mro__:
        if klass in by_class:
            return by_class[klass]
        if klass is nn.Module:
            break
    return None
