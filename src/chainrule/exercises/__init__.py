"""Exercises: learners write a layer's backward, and the library grades it.

    >>> from chainrule import exercises
    >>> exercises.names()[:3]
    ['chain', 'sigmoid', 'tanh']
    >>> path = exercises.start("linear")        # ./linear.py: the forward given, backward to write
    >>> print(exercises.check(path))            # compared with nn.Linear, central differences, torch

or, from a shell (``check`` exits 0 only when the solution passes, 2 on a usage error)::

    python -m chainrule.exercises list | start NAME [PATH] | check PATH [--name NAME] | hint NAME | solution NAME

- ``names()``: the catalogue, in course order.
- ``start(name, path=None)``: writes the start file (never over an existing one).
- ``check(solution, name=None)``: a :class:`Result` (``passed``, ``mistake``, ``message``).
- ``hint(name)``, ``solution(name)``: a nudge, and the library's own backward.
- ``MISTAKES``: every catalogued mistake, name -> its one-sentence explanation.

How a check works: each case of the exercise builds the built-in module and the learner's with
the same constructor arguments, copies the built-in's parameters and buffers into the learner's
(``load_state_dict``), and runs two forwards and two backwards of each in float64. Outputs, the
returned gradient and every parameter's ``.grad`` (after one backward, and accumulated after
two) must agree. When they do not, each catalogued mistake of the exercise is run on the same
case (the catalogue's own solution with that one wrong line); if the learner's numbers (or
error) are that wrong solution's, the result names the mistake.

Adding an exercise
------------------
The catalogue is a package with one file per part of the course (``catalogue/basics.py``,
``activations.py``, ``layers.py``, ``losses.py``, ``normalization.py``, ``embeddings.py``,
``convolution.py``, ``recurrent.py``, ``attention.py``, ``composite.py``);
``catalogue.PARTS`` lists them in course order (a new part: a new file, one name added there).
An exercise is one declaration in its part's file, after the ones it follows:

1. catalogue each new mistake once, ``mistake("name", "one-sentence explanation", "docs/page.md#anchor")``
   (shared ones, such as ``grad_assigned``, live in ``catalogue/shared.py``);
2. write a solution mixin: a ``backward`` as a learner would write it, reading ``self.mistake``
   (``None`` or a mistake's name) and making that one wrong step; hand parameter gradients
   through ``self.give(param, grad)`` (``shared.Accumulates``) to get the two accumulation
   mistakes for free;
3. declare it with ``exercise(name=..., builtin=nn.Class, docs=..., stub=..., task=..., todo=...,
   hint=..., cases=(Case(...), ...), solution=Mixin, mistakes=(...), torch=...)`` (the fields
   are documented on :class:`Exercise`; a forward that returns a tuple, as RNN's
   ``(output, h_n)``, names its outputs in ``outputs=``). ``stub`` is the start file's class with its forward
   written out; the start file is the only copy of that forward, and the catalogue's solutions
   are built on it. Keep the first case small: central differences and PyTorch run on it.

``tests/exercises`` then checks the new exercise on its own: the untouched start file fails,
the library's backward passes, and every listed mistake is recognised.
"""

from ._exercise import EXERCISES, MISTAKES, Case, Exercise, exercise, mistake
from ._grader import Result, check
from ._stub import hint, solution, start
from . import catalogue  # noqa: F401  (declares the exercises, in course order)


def names() -> list:
    """The catalogue's exercise names, in course order."""
    return list(EXERCISES)


__all__ = ["names", "start", "check", "hint", "solution", "Result", "MISTAKES", "EXERCISES",
           "Exercise", "Case", "exercise", "mistake"]
