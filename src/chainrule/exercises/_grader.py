"""``check``: run a learner's module beside the built-in one and say what differs.

A learner's code is untrusted input here: every call into it goes through
:meth:`_Learner.call`, which turns an exception, ``sys.exit``, a time-out or a wrong return
into a :class:`_Failure` whose message quotes the learner's own line, never a traceback from
inside the grader.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import linecache
import os
import signal
import sys
import threading
import traceback
import types
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import nn
from ..grad_mode import no_grad
from ._exercise import EXERCISES, MISTAKE_DOCS, MISTAKES, Case, builtin_exercise, get

TIME_LIMIT = 10.0  # seconds for one check, learner's code and grader's together
_EPS = 1e-6        # the central differences' step
_MAX_ENTRIES = 48  # entries of each tensor checked by central differences (spread over it)


@dataclass
class Result:
    """The verdict of :func:`check`: ``passed`` (also ``bool(result)``), the catalogued
    ``mistake`` the solution makes (or ``None``) and a plain-text ``message``."""

    exercise: str | None
    passed: bool
    message: str
    mistake: str | None = None

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return self.message


class _TimeUp(BaseException):
    """Raised by the alarm in the learner's code (a BaseException: ``except Exception`` in a
    learner's loop does not swallow it)."""


class _Failure(Exception):
    """The learner's code failed; ``signature`` (exception type and text) lets a catalogued
    mistake that fails the same way be recognised."""

    def __init__(self, message: str, signature=None):
        super().__init__(message)
        self.message = message
        self.signature = signature


# -- running untrusted code -------------------------------------------------------------------
@contextlib.contextmanager
def _time_limit(seconds: float):
    """SIGALRM after ``seconds`` (repeating every second until the grader catches it). Only in
    the main thread of a platform with ``setitimer``; elsewhere there is no limit."""
    usable = (seconds and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    def alarm(signum, frame):
        raise _TimeUp()

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _quiet():
    """Only numbers are compared: the learner's warnings (and NumPy's) are not errors here."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def _code_of(function):
    function = getattr(function, "__func__", function)
    return getattr(function, "__code__", None)


def _describe(value) -> str:
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    return f"a {type(value).__name__} ({value!r:.60})"


class _Learner:
    """Calls into a learner's code, and says where it went wrong in the learner's own lines."""

    def __init__(self, files, time_limit: float):
        self.files = {os.path.abspath(f) for f in files}
        self.time_limit = time_limit

    def where(self, tb=None, code=None, lineno=None) -> str:
        """``at file, line n: <the line>`` for the last frame of ``tb`` in the learner's files."""
        if tb is not None:
            for frame, number in traceback.walk_tb(tb):
                if os.path.abspath(frame.f_code.co_filename) in self.files:
                    code, lineno = frame.f_code, number
        if code is None or lineno is None or os.path.abspath(code.co_filename) not in self.files:
            return ""
        linecache.checkcache(code.co_filename)  # the learner may have edited the file since
        text = linecache.getline(code.co_filename, lineno).strip()
        return f"\n  at {code.co_filename}, line {lineno}: {text}"

    def call(self, label: str, function, *args, backward: bool = False, expect: str = ""):
        code = _code_of(function)
        expect = f"\n  expected it to {expect}" if expect else ""
        returned = []

        def profile(frame, event, arg):
            if event == "return" and frame.f_code is code:
                returned.append(frame.f_lineno)

        previous = sys.getprofile()
        sys.setprofile(profile)
        try:
            value = function(*args)
        except _TimeUp as error:
            signal.setitimer(signal.ITIMER_REAL, 0)
            raise _Failure(f"{label} did not return within {self.time_limit:g} s (an endless loop?); "
                           f"it was stopped{self.where(error.__traceback__) or '.'}{expect}") from None
        except SystemExit as error:
            raise _Failure(f"{label} called sys.exit({error.code!r}){self.where(error.__traceback__)}\n"
                           f"  expected it to return; the grader ignores the exit") from None
        except KeyboardInterrupt:
            raise
        except NotImplementedError as error:
            if backward:
                raise _Failure(f"{label} is still to write: it raised NotImplementedError"
                               f"{f' ({error})' if str(error) else ''}.{self.where(error.__traceback__)}\n"
                               f"  Replace the raise with the gradient it asks for.") from None
            raise _Failure(f"{label} raised NotImplementedError: {error}{self.where(error.__traceback__)}{expect}",
                           ("NotImplementedError", str(error))) from None
        except BaseException as error:  # anything else the learner's code raised
            raise _Failure(f"{label} raised {type(error).__name__}: {error}{self.where(error.__traceback__)}{expect}",
                           (type(error).__name__, str(error))) from None
        finally:
            sys.setprofile(previous)
        self.returned_at = self.where(code=code, lineno=returned[-1] if returned else None)
        return value


class _Trusted:
    """The same interface for the library's own code and the catalogue's wrong solutions."""

    returned_at = ""

    @staticmethod
    def call(label, function, *args, backward=False, expect=""):
        return function(*args)


def _learner_files(cls, extra=()) -> set:
    files = set(extra)
    for klass in cls.__mro__:
        if klass.__module__.startswith("chainrule."):
            continue
        for value in vars(klass).values():
            code = _code_of(value)
            if code is not None:
                files.add(code.co_filename)
    return files


# -- one case: prepared by the built-in module, then run by any class -------------------------
@dataclass
class Trial:
    index: int
    case: Case
    kwargs: dict
    state: dict
    parameters: tuple
    buffers: tuple
    inputs: tuple   # (first batch, second batch), each a tuple of forward's arguments
    grads: tuple    # the gradient each backward is given
    description: str
    input_names: tuple


def _short(value) -> str:
    if isinstance(value, np.ndarray):
        return repr([round(float(v), 4) for v in value.ravel()])
    return repr(value)


def prepare(ex, case: Case, index: int) -> Trial:
    """The case's data, parameters and buffers (random but seeded), from the built-in module."""
    rng = np.random.default_rng(1000 + index)
    cls = ex.builtin_class
    kwargs = ex.constructor_kwargs(case)
    module = cls(**kwargs)
    for name, param in module.named_parameters():  # away from the init, so every term shows
        param.data[...] = rng.uniform(0.5, 1.5, param.shape) * rng.choice([-1.0, 1.0], param.shape)
    for name, buffer in module.named_buffers():
        if buffer is not None and buffer.dtype.kind == "f":
            buffer[...] = rng.uniform(0.5, 2.0, buffer.shape) if "var" in name else rng.standard_normal(buffer.shape)
    padding = getattr(module, "padding_idx", None)
    if padding is not None and hasattr(module, "weight"):
        module.weight.data[padding] = 0.0
    state = module.state_dict()
    inputs = (case.inputs(rng), case.inputs(rng))
    module.train(case.train)
    grads = []
    for batch in inputs:
        with no_grad():
            output = module(*[np.array(a) for a in batch])
        if case.grad is not None:
            grads.append(case.grad(rng, output))
        elif isinstance(output, np.ndarray):
            grads.append(rng.standard_normal(output.shape))
        else:
            grads.append(float(rng.uniform(0.5, 2.0)))
    names = tuple(inspect.signature(cls.forward).parameters)[1:]
    shapes = ", ".join(f"{n} {np.shape(a)}" for n, a in zip(names, inputs[0]))
    settings = ", ".join(f"{k}={_short(v)}" for k, v in case.kwargs.items())
    parts = [f"case {index + 1} of {len(ex.cases)}: {cls.__name__}({settings})", shapes]
    parts += [] if case.train else ["eval mode"]
    parts += [f"{' and '.join(case.frozen)} frozen (requires_grad=False)"] if case.frozen else []
    description = ", ".join(parts)
    return Trial(index, case, kwargs, state, tuple(n for n, _ in module.named_parameters()),
                 tuple(n for n, b in module.named_buffers() if b is not None), inputs, tuple(grads),
                 description, names)


def _wrt(trial: Trial) -> str:
    """What backward returns: ``dC/dx`` (named after forward's argument), or ``None``."""
    args = trial.case.grad_args
    return ", ".join(f"dC/d{trial.input_names[i]}" for i in args) if args else "None"


def _grad_key(trial: Trial) -> str:
    return f"backward's return ({_wrt(trial)})"


def _build(cls, trial: Trial, runner):
    name = cls.__name__
    module = runner.call(f"{name}(...)", lambda: cls(**trial.kwargs))
    runner.call(f"{name}.load_state_dict", lambda: module.load_state_dict(trial.state))
    module.train(trial.case.train)
    parameters = dict(module.named_parameters())
    for frozen in trial.case.frozen:
        parameters[frozen].requires_grad = False
    return module


def _check_value(value, expected, what: str, runner, advice: str = ""):
    """The type and shape of a returned value, against the built-in's."""
    where = runner.returned_at
    if expected is None:
        if value is not None:
            raise _Failure(f"{what} is {_describe(value)}; expected None{advice}{where}")
        return value
    if value is None:
        raise _Failure(f"{what} is None; expected {_describe(expected)}{advice}{where}")
    if not isinstance(expected, np.ndarray):  # a scalar loss
        if isinstance(value, (int, float, np.number)) or (isinstance(value, np.ndarray) and value.ndim == 0):
            return float(value)
        raise _Failure(f"{what} is {_describe(value)}; expected a number{where}")
    if not isinstance(value, (np.ndarray, np.floating)) or np.asarray(value).dtype.kind != "f":
        raise _Failure(f"{what} is {_describe(value)}; expected {_describe(expected)}{advice}{where}")
    value = np.asarray(value)
    if value.shape != expected.shape:
        raise _Failure(f"{what} has shape {value.shape}; expected shape {expected.shape}{advice}{where}")
    return value


def _unchanged(before, after) -> bool:
    before, after = np.asarray(before), np.asarray(after)
    return before.shape == after.shape and np.array_equal(before, after, equal_nan=before.dtype.kind == "f")


def run_trial(cls, trial: Trial, runner=_Trusted, expected: dict | None = None) -> dict:
    """Two forwards and two backwards of ``cls`` on ``trial``; the record of every number:
    outputs, returned gradients and each parameter's ``.grad`` after each backward."""
    module = _build(cls, trial, runner)
    name = cls.__name__
    grad_key = _grad_key(trial)
    record = {}
    for step, after in enumerate(("", " after the second forward and backward")):
        inputs = tuple(np.array(a) for a in trial.inputs[step])
        output = runner.call(f"{name}.forward", module.forward, *inputs, expect="return the output")
        if expected is not None:
            output = _check_value(output, expected[f"output{after}"], f"{name}.forward's output", runner)
            for arg, given, original in zip(trial.input_names, inputs, trial.inputs[step]):
                if not _unchanged(original, given):
                    raise _Failure(f"{name}.forward changed its input {arg} in place; it must leave the "
                                   f"caller's arrays as they were (compute into new arrays){runner.returned_at}")
        record[f"output{after}"] = np.array(output) if isinstance(output, np.ndarray) else output
        grad = np.array(trial.grads[step]) if isinstance(trial.grads[step], np.ndarray) else trial.grads[step]
        before = {k: np.array(v) for k, v in module.state_dict().items()} if expected is not None else None
        returned = runner.call(f"{name}.backward", module.backward, grad, backward=True,
                               expect=f"return {_wrt(trial)}")
        if expected is not None:
            advice = ("" if expected[f"{grad_key}{after}"] is None else
                      f" (the shape of forward's {trial.input_names[trial.case.grad_args[0]]})")
            returned = _check_value(returned, expected[f"{grad_key}{after}"], f"{name}.backward's return",
                                    runner, advice)
            if isinstance(grad, np.ndarray) and not _unchanged(trial.grads[step], grad):
                raise _Failure(f"{name}.backward changed its argument grad_output in place; it belongs to the "
                               f"caller: compute into a new array (`g * mask`, not `g *= mask`){runner.returned_at}")
            for key, value in module.state_dict().items():
                if not _unchanged(before[key], value):
                    raise _Failure(f"{name}.backward changed {key} (its values, not its .grad); a backward "
                                   f"only reads the parameters and adds into their .grad{runner.returned_at}")
        record[f"{grad_key}{after}"] = np.array(returned) if isinstance(returned, np.ndarray) else returned
        for pname, param in module.named_parameters():
            record[f"{pname}.grad{after}"] = None if param.grad is None else np.array(param.grad)
    return record


# -- comparing numbers -----------------------------------------------------------------------
def _close(a, b, rtol=1e-6, atol=1e-8):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = max(1.0, float(np.nanmax(np.abs(b)))) if b.size else 1.0
    return np.isclose(a, b, rtol=rtol, atol=atol * scale, equal_nan=True)


def _difference(key: str, value, expected, whose: str, frozen=()) -> str | None:
    """What differs between ``value`` (the learner's) and ``expected``, or ``None``."""
    if value is None and expected is None:
        return None
    param = key.split(".grad")[0]
    if value is None:
        return f"{key} is None; expected a gradient (add it with nn.accumulate_grad(self.{param}, grad))"
    if expected is None:
        why = (f"{param} is frozen (requires_grad=False), so its .grad must stay None"
               if param in frozen else "expected None")
        return f"{key} is {_describe(value)}: {why}"
    value, expected = np.asarray(value, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if value.shape != expected.shape:
        return f"{key} has shape {value.shape}; expected {expected.shape}"
    ok = _close(value, expected)
    if ok.all():
        return None
    wrong = ~ok
    gap = np.where(wrong, np.abs(value - expected), -1.0)
    gap = np.where(np.isnan(gap), np.inf, gap)
    index = np.unravel_index(int(np.argmax(gap)), value.shape) if value.ndim else ()
    at = f" at index {tuple(int(i) for i in index)}" if value.ndim else ""
    return (f"{key} differs from {whose}{at}: yours {value[index]:.6g}, expected {expected[index]:.6g} "
            f"({int(wrong.sum())} of {wrong.size} entries differ, by up to {float(gap.max()):.3g})")


def _differing(record: dict, expected: dict, frozen=()) -> list:
    return [(k, m) for k in expected if (m := _difference(k, record.get(k), expected[k], "", frozen))]


def _same(a: dict, b: dict) -> bool:
    return all(_difference(k, a.get(k), b[k], "") is None for k in b)


def _recognise(ex, trial: Trial, record: dict | None, reference: dict, signature=None) -> str | None:
    """The catalogued mistake whose wrong solution gives the learner's numbers (or fails with
    the learner's error) on this trial."""
    partial = None
    differing = {k for k, _ in _differing(record, reference)} if record is not None else set()
    for name in ex.mistakes:
        try:
            wrong = run_trial(ex.solution_class(name), trial)
        except Exception as error:
            if signature is not None and (type(error).__name__, str(error)) == signature:
                return name
            continue
        if record is None:
            continue
        if _same(record, wrong):
            return name
        own = {k for k, _ in _differing(wrong, reference)}
        if partial is None and own and own <= differing and all(
                _difference(k, record[k], wrong[k], "") is None for k in own):
            partial = name
    return partial


def _explain(mistake: str | None, ex) -> str:
    if mistake is None:
        return ""
    docs = MISTAKE_DOCS.get(mistake) or ex.docs
    return f"\nThis looks like a catalogued mistake, {mistake}: {MISTAKES[mistake]} (See {docs}.)"


def _central_differences(ex, cls, trial: Trial, record: dict, runner) -> str | None:
    """The learner's first-backward gradients against central differences of its own forward."""
    module = _build(cls, trial, runner)
    inputs = [np.array(a) for a in trial.inputs[0]]
    g = trial.grads[0]

    def cost() -> float:
        with no_grad():
            output = runner.call(f"{cls.__name__}.forward", module.forward, *[np.array(a) for a in inputs])
        return float(np.sum(np.asarray(output, dtype=np.float64) * g))

    targets = [(_grad_key(trial), inputs[i]) for i in trial.case.grad_args]
    parameters = dict(module.named_parameters())
    targets += [(f"{n}.grad", parameters[n].data) for n in trial.parameters if n not in trial.case.frozen]
    for key, array in targets:
        analytic = np.asarray(record[key], dtype=np.float64)
        flat = list(np.ndindex(array.shape))
        for index in flat[::max(1, len(flat) // _MAX_ENTRIES)]:
            old = array[index]
            array[index] = old + _EPS
            plus = cost()
            array[index] = old - _EPS
            minus = cost()
            array[index] = old
            numeric = (plus - minus) / (2 * _EPS)
            if not _close(analytic[index], numeric, rtol=1e-4, atol=1e-6):
                return (f"{key} differs from the central difference at index {index}: yours "
                        f"{analytic[index]:.6g}, the difference quotient {numeric:.6g} (step {_EPS:g})")
    return None


def _torch_differences(ex, trial: Trial, record: dict) -> str | None:
    """The learner's first forward and backward against PyTorch's autograd."""
    import torch

    state = trial.state
    frozen = trial.case.frozen
    params = {n: torch.tensor(np.array(state[n]), requires_grad=n not in frozen) for n in trial.parameters}
    buffers = {n: torch.tensor(np.array(state[n])) for n in trial.buffers}
    inputs = []
    for i, a in enumerate(trial.inputs[0]):
        a = np.array(a)
        inputs.append(torch.tensor(a, requires_grad=i in trial.case.grad_args and a.dtype.kind == "f"))
    kwargs = {k: v for k, v in trial.kwargs.items() if k != "dtype"}
    output = ex.torch(torch, params, buffers, kwargs, trial.case.train, *inputs)
    g = trial.grads[0]
    torch.sum(output * (torch.tensor(g) if isinstance(g, np.ndarray) else g)).backward()
    expected = {"output": output.detach().numpy() if isinstance(record["output"], np.ndarray) else float(output)}
    if trial.case.grad_args:
        expected[_grad_key(trial)] = inputs[trial.case.grad_args[0]].grad.numpy()
    for n, p in params.items():
        expected[f"{n}.grad"] = None if p.grad is None else p.grad.numpy()
    for key, value in expected.items():
        message = _difference(key, record[key], value, "PyTorch's", frozen)
        if message:
            return message
    return None


# -- finding the learner's class ---------------------------------------------------------------
def _load(path: Path, runner: _Learner):
    """The Module subclasses the file at ``path`` defines (run under the time limit)."""
    try:
        source = path.read_text()
    except OSError as error:
        raise _Failure(f"cannot read {path}: {error.strerror or error}") from None
    try:
        code = compile(source, str(path), "exec")
    except SyntaxError as error:
        line = (error.text or "").strip()
        raise _Failure(f"{path} does not compile: {error.msg}\n  at {path}, line {error.lineno}: {line}\n"
                       f"  expected a Python file that defines a chainrule.nn.Module subclass") from None
    name = f"_chainrule_solution_{abs(hash(str(path.resolve())))}"
    module = types.ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module
    runner.call(f"running {path}", lambda: exec(code, module.__dict__))
    return [v for v in vars(module).values()
            if isinstance(v, type) and issubclass(v, nn.Module) and v.__module__ == name]


def _exercise_of(cls) -> str | None:
    named = getattr(cls, "exercise", None)
    if isinstance(named, str) and named in EXERCISES:
        return named
    return builtin_exercise(cls)


def _choose(classes: list, name: str | None, path) -> type:
    if name is not None:
        classes = [c for c in classes if _exercise_of(c) in (name, None)] or classes
    overriding = [c for c in classes if "backward" in vars(c)] or classes
    most_derived = [c for c in overriding if not any(o is not c and issubclass(o, c) for o in overriding)]
    if len(most_derived) == 1:
        return most_derived[0]
    if not most_derived:
        raise _Failure(f"{path} defines no chainrule.nn.Module subclass; expected the class of the start "
                       f"file, with its backward written")
    names = ", ".join(c.__name__ for c in most_derived)
    raise _Failure(f"{path} defines several modules ({names}); keep one, or say which exercise with --name")


# -- check -------------------------------------------------------------------------------------
def check(solution, name: str | None = None, *, time_limit: float = TIME_LIMIT, torch: bool | None = None) -> Result:
    """Grade ``solution``, a ``chainrule.nn.Module`` subclass or the path of a ``.py`` file that
    defines one, against exercise ``name``.

    ``name`` defaults to the class's ``exercise`` attribute (which the start file sets), else
    the exercise of the nearest ``chainrule.nn`` class it derives from. The solution is built
    with each case's constructor arguments, given the built-in module's parameters and buffers
    (``load_state_dict``), and run twice forward and backward in float64 beside the built-in:
    outputs, the returned gradient and every parameter's ``.grad`` (after one backward and,
    accumulated, after two) must agree. On the first case its gradients are also compared with
    central differences of its own forward and, when torch is installed (``torch=None``) or
    asked for (``torch=True``), with PyTorch's autograd.

    A learner's code that raises, calls ``sys.exit``, returns the wrong thing, changes its
    inputs or runs longer than ``time_limit`` seconds gives a failed :class:`Result` that quotes
    the learner's line. The time limit is a ``SIGALRM`` timer, so it works only in the main
    thread (on POSIX); called from another thread, ``check`` runs without one.
    """
    with _quiet(), _time_limit(time_limit):
        try:
            return _check(solution, name, time_limit, torch)
        except _TimeUp:
            return Result(name, False, f"the check did not finish within {time_limit:g} s")


def _check(solution, name, time_limit, use_torch) -> Result:
    from . import catalogue  # noqa: F401  (declares the exercises)
    if isinstance(solution, nn.Module):
        solution = type(solution)
    if isinstance(solution, (str, os.PathLike)):
        path = Path(solution)
        runner = _Learner([str(path)], time_limit)
        try:
            cls = _choose(_load(path, runner), name, path)
        except _Failure as failure:
            return Result(name, False, failure.message)
        runner.files |= {os.path.abspath(f) for f in _learner_files(cls)}
    elif isinstance(solution, type) and issubclass(solution, nn.Module):
        cls = solution
        runner = _Learner(_learner_files(cls), time_limit)
    else:
        raise TypeError(f"check expected a chainrule.nn.Module subclass or the path of a .py file, got "
                        f"{_describe(solution)}")
    name = name if name is not None else _exercise_of(cls)
    if name is None:
        return Result(None, False, f"cannot tell which exercise {cls.__name__} solves: it derives from no "
                                   f"built-in module of the catalogue; set the class attribute exercise = "
                                   f"'<name>' (the start file does) or pass the name")
    ex = get(name)
    first_record = None
    for index, case in enumerate(ex.cases):
        trial = prepare(ex, case, index)
        reference = run_trial(ex.builtin_class, trial)
        try:
            record = run_trial(cls, trial, runner, expected=reference)
        except _Failure as failure:
            mistake = _recognise(ex, trial, None, reference, failure.signature) if failure.signature else None
            return Result(name, False, f"{name}: {trial.description}\n{failure.message}{_explain(mistake, ex)}",
                          mistake)
        differences = _differing(record, reference, case.frozen)
        if differences:
            key = differences[0][0]
            message = _difference(key, record.get(key), reference[key], "the built-in module's", case.frozen)
            mistake = _recognise(ex, trial, record, reference)
            return Result(name, False, f"{name}: {trial.description}\n{message}{_explain(mistake, ex)}", mistake)
        if index == 0:
            first_record, first_trial = record, trial
    try:
        message = _central_differences(ex, cls, first_trial, first_record, runner)
    except _Failure as failure:
        message = failure.message
    if message:
        return Result(name, False, f"{name}: {first_trial.description}\n{message}")
    compared = ""
    if ex.torch is not None and use_torch is not False and (use_torch or importlib.util.find_spec("torch")):
        message = _torch_differences(ex, first_trial, first_record)
        if message:
            return Result(name, False, f"{name}: {first_trial.description}\n{message}")
        compared = " and with PyTorch"
    return Result(name, True, f"{name}: passed. {cls.__name__} agrees with the built-in module on all "
                              f"{len(ex.cases)} cases (outputs, the returned gradient, every parameter's .grad, "
                              f"accumulated over two backwards), with central differences{compared}.")
