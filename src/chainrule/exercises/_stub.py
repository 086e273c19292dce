"""The start file a learner opens (``start``), the hint and the library's own solution."""

from __future__ import annotations

import inspect
import sys
import textwrap
from pathlib import Path

from ._exercise import get

_RULES = """\
How a backward works in chainrule (the extension API):
- read what forward saved once, at the top: `... = self.saved_tensors`;
- return the gradient of the cost with respect to forward's input;
- add each parameter's gradient into its .grad with `nn.accumulate_grad(param, grad)`
  (never `param.grad = grad`: gradients add up over backwards, and the check runs two),
  and skip a frozen parameter: `if param.requires_grad: ...`."""


def render(ex, filename: str | None = None) -> str:
    """The text of ``ex``'s start file (``filename``: the name its check command uses)."""
    filename = filename or f"{ex.name}.py"
    header = textwrap.dedent(f'''\
        """Exercise `{ex.name}`: write the backward.

        The forward is given: read what it saves for backward and why. Write `backward`, then
        check it (it is compared with the library's own module and with central differences):

            python -m chainrule.exercises check {filename}

        The maths: {ex.docs}. Stuck? `python -m chainrule.exercises hint {ex.name}`.

        ''') + _RULES + '\n"""\n'
    task = textwrap.indent(textwrap.dedent(ex.task).strip("\n"), " " * 8)
    backward = (f"    def backward(self, {ex.signature}):\n"
                f'        r"""\n{task}\n        """\n'
                f"        raise NotImplementedError({ex.todo!r})\n")
    return f"{header}\nimport numpy as np\n\nfrom chainrule import nn\n\n\n{ex.stub}\n\n{backward}"


def start(name: str, path=None) -> Path:
    """Write exercise ``name``'s start file and return its path.

    ``path`` defaults to ``./<name>.py``; a directory gets ``<name>.py`` inside it. An existing
    file is never overwritten (it may hold the learner's work): ``FileExistsError``."""
    ex = get(name)
    path = Path(f"{name}.py") if path is None else Path(path)
    if path.is_dir():
        path = path / f"{name}.py"
    if path.exists():
        raise FileExistsError(f"{path} already exists, and start() never overwrites a file (it may hold "
                              f"your work): pass another path, or delete it first")
    path.write_text(render(ex, str(path)))
    return path


def hint(name: str) -> str:
    """A nudge for exercise ``name``: which equation, which shapes must match."""
    ex = get(name)
    return f"{textwrap.dedent(ex.hint).strip()}\n(The maths: {ex.docs}.)"


def _maths_functions(ex) -> list:
    """The module-level functions of chainrule.nn that the built-in backward calls when it runs
    (the maths a backward may delegate to), found by running it on the exercise's first case.
    A backward that delegates to backward methods of its own class (``_backward``,
    ``_run_backward``: the recurrent layers' loop over time) is followed into them, and they are
    listed too, in the order they are first called."""
    from ._grader import prepare, run_trial
    cls = ex.builtin_class
    backward_code = cls.backward.__code__
    methods = {}  # code -> function, for the methods of the built-in's own classes
    for klass in cls.__mro__:
        if klass.__module__.startswith("chainrule.nn.") and klass.__module__ != "chainrule.nn.module":
            for value in vars(klass).values():
                code = getattr(value, "__code__", None)
                if code is not None and code is not backward_code and "backward" in code.co_name:
                    methods.setdefault(code, value)
    callers = {backward_code}
    called = []

    def profile(frame, event, arg):
        if event == "call" and frame.f_back is not None and frame.f_back.f_code in callers:
            code = frame.f_code
            if code in methods:
                if methods[code] not in called:
                    called.append(methods[code])
                callers.add(code)
                return
            module = inspect.getmodule(code)
            name = getattr(module, "__name__", "")
            function = getattr(module, code.co_name, None)
            if (name.startswith("chainrule.nn.") and name != "chainrule.nn.module"
                    and getattr(function, "__code__", None) is code and not code.co_name.startswith("_check")
                    and function not in called):
                called.append(function)

    trial = prepare(ex, ex.cases[0], 0)
    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        run_trial(cls, trial)
    finally:
        sys.setprofile(previous)
    return called


def solution(name: str) -> str:
    """The library's own backward for exercise ``name``, with its docstring, and the maths
    function it calls, if it calls one."""
    ex = get(name)
    cls = ex.builtin_class
    method = cls.backward
    where = f"{method.__module__}.{method.__qualname__}"
    parts = [f"# {where}\n{textwrap.dedent(inspect.getsource(method))}"]
    try:
        functions = _maths_functions(ex)
    except Exception:  # the method alone is still the answer
        functions = []
    for function in functions:
        parts.append(f"# {function.__module__}.{function.__qualname__}, which it calls\n"
                     f"{textwrap.dedent(inspect.getsource(function))}")
    return "\n\n".join(part.rstrip("\n") for part in parts) + "\n"
