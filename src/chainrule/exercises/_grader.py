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
    grads: tuple    # (first, second): the gradients each backward is given, one per output array
    description: str
    input_names: tuple
    outputs: object = "output"  # forward's outputs, a name or names nested as forward nests them
    returns: object = None      # backward's return: a record key, or keys nested as it nests them
    sources: dict = None        # returned gradient's key -> (argument index, item index or None, name)
    expect: str = ""            # what backward returns, in words: "dC/dx", "(dC/dx, dC/dh0)"
    grad_names: tuple = ("grad_output",)  # backward's gradient arguments, one per output array


def _short(value) -> str:
    if isinstance(value, np.ndarray):
        return repr([round(float(v), 4) for v in value.ravel()])
    return repr(value)


# Forward's arguments and outputs may be tuples of arrays (RNN's (output, h_n), LSTM's hx = (h0, c0)):
# a structure is a name, or a tuple of structures; a value is nested as its structure.
def _copy(value):
    """A copy of a forward argument: an array, or a tuple of them."""
    if isinstance(value, tuple):
        return tuple(_copy(v) for v in value)
    return np.array(value)


def _leaves(structure) -> list:
    """The names of a structure, in order."""
    if isinstance(structure, tuple):
        return [name for item in structure for name in _leaves(item)]
    return [structure]


def _arrays(value) -> list:
    """The arrays of a (possibly nested) value, in order."""
    if isinstance(value, (tuple, list)):
        return [a for item in value for a in _arrays(item)]
    return [value]


def _values(value, structure) -> list:
    """The leaves of ``value`` nested as ``structure`` (for trusted code: a mismatch gives ``None``s)."""
    if not isinstance(structure, tuple):
        return [value]
    if not isinstance(value, (tuple, list)) or len(value) != len(structure):
        return [None] * len(_leaves(structure))
    return [v for item, s in zip(value, structure) for v in _values(item, s)]


def _spelled(structure) -> str:
    """``(output, (h_n, c_n))``."""
    if isinstance(structure, tuple):
        return "(" + ", ".join(_spelled(s) for s in structure) + ")"
    return str(structure)


def _shape_of(value, parts=None) -> str:
    if isinstance(value, tuple):
        parts = parts or [f"[{k}]" for k in range(len(value))]
        return "(" + ", ".join(f"{p} {np.shape(v)}" for p, v in zip(parts, value)) + ")"
    return str(np.shape(value))


def _wrt(args, names) -> str:
    """What backward returns: ``dC/dx`` (named after forward's argument), or ``None``."""
    return ", ".join(f"dC/d{names[i]}" for i in args) if args else "None"


def _returns(ex, case: Case, names, batch):
    """Backward's return as record keys, where each gradient's input is, and the words for it.
    One array (or None): the key ``backward's return (dC/dx)``; a tuple: ``dC/dx``, ``dC/dh0``, ..."""
    args = case.grad_args
    if not args or (len(args) == 1 and not isinstance(batch[args[0]], tuple)):
        key = f"backward's return ({_wrt(args, names)})"
        return key, ({key: (args[0], None, names[args[0]])} if args else {}), _wrt(args, names)
    structure, sources = [], {}
    for i in args:
        if isinstance(batch[i], tuple):
            parts = ex.parts.get(names[i]) or [f"{names[i]}[{k}]" for k in range(len(batch[i]))]
            for j, part in enumerate(parts):
                sources[f"dC/d{part}"] = (i, j, part)
            structure.append(tuple(f"dC/d{part}" for part in parts))
        else:
            sources[f"dC/d{names[i]}"] = (i, None, names[i])
            structure.append(f"dC/d{names[i]}")
    structure = tuple(structure) if len(args) > 1 else structure[0]
    return structure, sources, _spelled(structure)


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
    structured = ex.outputs is not None
    grads = []
    for batch in inputs:
        with no_grad():
            output = module(*[_copy(a) for a in batch])
        if case.grad is not None:
            grad = case.grad(rng, output)
        elif structured:  # every output array gets a gradient
            grad = tuple(rng.standard_normal(np.shape(v)) for v in _values(output, ex.outputs))
        elif isinstance(output, np.ndarray):
            grad = rng.standard_normal(output.shape)
        else:
            grad = float(rng.uniform(0.5, 2.0))
        grads.append(tuple(grad) if structured else (grad,))
    # named as the start file's forward names them (the learner's x, z, h0), which may differ
    # from the built-in's (torch's input, hx); the arrays are passed by position
    names = tuple(inspect.signature(ex.stub_class.forward).parameters)[1:]
    shapes = ", ".join(f"{n} {_shape_of(a, ex.parts.get(n))}" for n, a in zip(names, inputs[0]))
    settings = ", ".join(f"{k}={_short(v)}" for k, v in case.kwargs.items())
    parts = [f"case {index + 1} of {len(ex.cases)}: {cls.__name__}({settings})", shapes]
    parts += [] if case.train else ["eval mode"]
    parts += [f"{' and '.join(case.frozen)} frozen (requires_grad=False)"] if case.frozen else []
    description = ", ".join(parts)
    returns, sources, expect = _returns(ex, case, names, inputs[0])
    grad_names = ("grad_output",)
    if structured:
        grad_names = tuple(inspect.signature(cls.backward).parameters)[1:1 + len(_leaves(ex.outputs))]
    return Trial(index, case, kwargs, state, tuple(n for n, _ in module.named_parameters()),
                 tuple(n for n, b in module.named_buffers() if b is not None), inputs, tuple(grads),
                 description, names, ex.outputs if structured else "output", returns, sources, expect,
                 grad_names)


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


def _items(value) -> str:
    return f"a {type(value).__name__} of {len(value)} item{'' if len(value) == 1 else 's'}"


def _checked(value, structure, expected: dict, what: str, runner, advice=lambda key: "", why: str = "") -> list:
    """The leaves of a learner's ``value``, nested as ``structure`` and each checked against
    ``expected[key]`` (:func:`_check_value`); a tuple of the wrong length, or an array where a
    tuple belongs, is a failure that says what was expected (and ``why``, at the top level)."""
    if not isinstance(structure, tuple):
        return [_check_value(value, expected[structure], what, runner,
                             "" if expected[structure] is None else advice(structure))]
    if not isinstance(value, (tuple, list)) or len(value) != len(structure):
        got = _items(value) if isinstance(value, (tuple, list)) else _describe(value)
        raise _Failure(f"{what} is {got}; expected a tuple of {len(structure)}, {_spelled(structure)}"
                       f"{why}{runner.returned_at}")
    leaves = []
    for k, (item, s) in enumerate(zip(value, structure)):
        label = f"{what}[{k}]" if isinstance(s, tuple) else f"{what}[{k}] ({s})"
        leaves += _checked(item, s, expected, label, runner, advice)
    return leaves


def _why_returns(trial: Trial) -> str:
    """For a layer whose backward returns a tuple or one array depending on what forward was
    given (RNN's ``(dx, dh0)`` or ``dx``): which it was given."""
    given = [trial.input_names[i] for i in trial.case.grad_args]
    if isinstance(trial.returns, tuple):
        return f": forward was given {' and '.join(given)}, so backward returns the gradient of each"
    left_out = trial.input_names[len(trial.inputs[0]):]
    if given and left_out:
        return (f": forward was given {' and '.join(given)} alone (no {' or '.join(left_out)}), so backward "
                f"returns {trial.expect} alone")
    return ""


def _unchanged(before, after) -> bool:
    before, after = np.asarray(before), np.asarray(after)
    return before.shape == after.shape and np.array_equal(before, after, equal_nan=before.dtype.kind == "f")


def run_trial(cls, trial: Trial, runner=_Trusted, expected: dict | None = None) -> dict:
    """Two forwards and two backwards of ``cls`` on ``trial``; the record of every number:
    outputs, returned gradients and each parameter's ``.grad`` after each backward."""
    module = _build(cls, trial, runner)
    name = cls.__name__
    record = {}
    single = not isinstance(trial.outputs, tuple)
    output_keys, grad_keys = _leaves(trial.outputs), _leaves(trial.returns)
    for step, after in enumerate(("", " after the second forward and backward")):
        inputs = tuple(_copy(a) for a in trial.inputs[step])
        output = runner.call(f"{name}.forward", module.forward, *inputs,
                             expect="return the output" if single else f"return {_spelled(trial.outputs)}")
        if expected is not None:
            outputs = _checked(output, trial.outputs, {k: expected[f"{k}{after}"] for k in output_keys},
                               f"{name}.forward's output", runner)
            for arg, given, original in zip(trial.input_names, inputs, trial.inputs[step]):
                if not all(_unchanged(o, g) for o, g in zip(_arrays(original), _arrays(given))):
                    raise _Failure(f"{name}.forward changed its input {arg} in place; it must leave the "
                                   f"caller's arrays as they were (compute into new arrays){runner.returned_at}")
        else:
            outputs = _values(output, trial.outputs)
        for key, value in zip(output_keys, outputs):
            record[f"{key}{after}"] = np.array(value) if isinstance(value, np.ndarray) else value
        grads = tuple(np.array(g) if isinstance(g, np.ndarray) else g for g in trial.grads[step])
        before = {k: np.array(v) for k, v in module.state_dict().items()} if expected is not None else None
        returned = runner.call(f"{name}.backward", module.backward, *grads, backward=True,
                               expect=f"return {trial.expect}")
        if expected is not None:
            if not single and not isinstance(trial.returns, tuple) and isinstance(returned, (tuple, list)):
                raise _Failure(f"{name}.backward's return is {_items(returned)}; expected "
                               f"{_describe(expected[f'{trial.returns}{after}'])}{_why_returns(trial)}"
                               f"{runner.returned_at}")
            returned = _checked(returned, trial.returns, {k: expected[f"{k}{after}"] for k in grad_keys},
                                f"{name}.backward's return", runner,
                                lambda key: f" (the shape of forward's {trial.sources[key][2]})", _why_returns(trial))
            for argument, original, given in zip(trial.grad_names, trial.grads[step], grads):
                if isinstance(given, np.ndarray) and not _unchanged(original, given):
                    raise _Failure(f"{name}.backward changed its argument {argument} in place; it belongs to "
                                   f"the caller: compute into a new array (`g * mask`, not `g *= mask`)"
                                   f"{runner.returned_at}")
            for key, value in module.state_dict().items():
                if not _unchanged(before[key], value):
                    raise _Failure(f"{name}.backward changed {key} (its values, not its .grad); a backward "
                                   f"only reads the parameters and adds into their .grad{runner.returned_at}")
        else:
            returned = _values(returned, trial.returns)
        for key, value in zip(grad_keys, returned):
            record[f"{key}{after}"] = np.array(value) if isinstance(value, np.ndarray) else value
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
    """The learner's first-backward gradients against central differences of its own forward,
    of C = sum_i <output_i, g_i> over forward's output arrays and the gradients g_i backward was given."""
    module = _build(cls, trial, runner)
    inputs = [_copy(a) for a in trial.inputs[0]]
    grads = trial.grads[0]

    def cost() -> float:
        with no_grad():
            output = runner.call(f"{cls.__name__}.forward", module.forward, *[_copy(a) for a in inputs])
        return sum(float(np.sum(np.asarray(o, dtype=np.float64) * g))
                   for o, g in zip(_values(output, trial.outputs), grads))

    targets = [(key, inputs[i] if j is None else inputs[i][j]) for key, (i, j, _) in trial.sources.items()]
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

    def tensor(a, grad: bool):
        if isinstance(a, tuple):
            return tuple(tensor(v, grad) for v in a)
        a = np.array(a)
        return torch.tensor(a, requires_grad=grad and a.dtype.kind == "f")

    inputs = [tensor(a, i in trial.case.grad_args) for i, a in enumerate(trial.inputs[0])]
    kwargs = {k: v for k, v in trial.kwargs.items() if k != "dtype"}
    outputs = _values(ex.torch(torch, params, buffers, kwargs, trial.case.train, *inputs), trial.outputs)
    cost = sum(torch.sum(o * (torch.tensor(g) if isinstance(g, np.ndarray) else g))
               for o, g in zip(outputs, trial.grads[0]))
    cost.backward()
    expected = {key: o.detach().numpy() if isinstance(record[key], np.ndarray) else float(o)
                for key, o in zip(_leaves(trial.outputs), outputs)}
    for key, (i, j, _) in trial.sources.items():
        given = inputs[i] if j is None else inputs[i][j]
        expected[key] = None if given.grad is None else given.grad.numpy()
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
    if torch is not False and importlib.util.find_spec("torch") and "torch" not in sys.modules:
        with _quiet():  # imported before the timer starts: loading torch is not the solution's time
            import torch as _torch  # noqa: F401
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
