"""PyTorch's own module test tables, run against chainrule.

The tables are torch's ``torch.testing._internal.common_modules.module_db`` (one ModuleInfo per
module class; its ``module_inputs_func`` yields the samples) and
``torch.testing._internal.common_nn`` (``module_tests``, ``get_new_module_tests()``,
``criterion_tests``: one dict per case). For every sample whose module class exists in
``chainrule.nn`` under the same name, in float64:

1. torch's module is built from the sample's constructor input, chainrule's from the same
   arguments (tensors become float64/int64 arrays, ``dtype=np.float64``); torch's state dict is
   loaded into chainrule's; both are put in the same train or eval mode (every sample runs in both);
2. both run forward on the same inputs; the outputs (nested tuples too) and the state dicts
   afterwards (BatchNorm's running statistics) are compared at rtol 1e-10, atol 1e-12;
3. a random gradient is sent into every output chainrule's ``backward`` takes one for (LSTM:
   output, h_n, c_n; MultiheadAttention: the output only, not the attention weights); the input
   gradients chainrule returns and every parameter's ``.grad`` are compared with torch autograd.

module_db's error inputs (a constructor or forward torch refuses) pass when chainrule raises too,
in its constructor or its forward, whatever the exception's class (the detail names both), in
train mode (torch's own test runs them so, whatever mode it names: see ``_module_db_cases``).

The functions: common_nn's entries that wrap a ``torch.nn.functional`` call instead of a module
(``wrap_functional(F.interpolate, size=12, ...)``, or a lambda making one call, which is
recorded), and op_db's OpInfos (``common_methods_invocations.op_db``) of the functions
``chainrule.nn.functional`` has, every sample of their ``sample_inputs_func`` in float64. Each
is called in torch and in ``chainrule.nn.functional`` (the case's module is ``F.<name>``) on the
same arguments; the outputs, and the array arguments afterwards (batch_norm's running
statistics), are compared; then a random gradient of the first float output goes through
chainrule's ``<name>_backward`` (its arguments by the F rule: the forward's output where it
takes ``output``, else the forward's arguments of the same names; see ``_backward_arguments``)
and the gradients it returns (``GRADIENTS_OF``) are compared with torch autograd's of every
argument that requires one. A function chainrule.nn.functional lacks is a ``gap``. op_db's
error inputs of those functions (arguments torch refuses, in the dtypes they come in) pass
when chainrule's function raises too, as a module's.

Each case ends as ``pass``, ``fail`` (numbers differ, or chainrule raised where torch did not,
with the exception's last line), ``gap`` (chainrule refused an option or argument the case uses,
recognised by the messages in ``GAP_MESSAGES``: any other exception is a ``fail``) or ``skip``
with a reason (``SKIP_*`` below). ``python tests/vs_torch/torch_tables.py`` prints the counts per
module and the totals; ``tests/vs_torch/test_torch_tables.py`` runs the same cases under pytest.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import re
import sys
import traceback
import warnings
from collections import Counter, defaultdict

import numpy as np

RTOL, ATOL = 1e-10, 1e-12
MODES = (True, False)  # training, eval

# Why a case is not run. A reader can check each against the table and chainrule.nn.
SKIP_ABSENT = "absent layer: chainrule.nn has no class of this name"
SKIP_NOT_ONE_CALL = ("composite: the case's function is not one torch.nn.functional call (it makes "
                     "several, or returns something else than the one it makes)")
SKIP_COMPOSITE = "composite: the case's constructor builds something other than one torch.nn.<name>"
SKIP_NO_FLOAT64 = "dtype: the module's table lists no float64 (chainrule computes in float32/float64)"
SKIP_STOCHASTIC = ("stochastic: dropout with p in (0, 1) in train mode draws different masks in "
                   "torch and chainrule (the same sample runs in eval mode; p in {0, 1} cases run)")
SKIP_STOCHASTIC_CALL = ("stochastic: F.dropout with p in (0, 1) and training=True, or "
                        "scaled_dot_product_attention with dropout_p > 0, draws different masks in torch and "
                        "chainrule (dropout's samples with p = 0 or training=False run)")
SKIP_TORCH_RAISED = "torch raised on this sample (not a valid case for a comparison)"
SKIP_HALF = "dtype: the error input is a half-precision tensor (chainrule computes in float32/float64)"
SKIP_NO_GRAD_FLOW = "backward: nothing in the case requires a gradient (forward compared only)"

# chainrule's refusals of an option it does not implement: (exception type, message pattern).
# The first group of the pattern, when there is one, names the option. Any other exception
# from chainrule is a failure, never a gap.
GAP_MESSAGES = (
    (TypeError, r"got an unexpected keyword argument '(\w+)'"),
    (ValueError, r"(padding_mode) must be 'zeros'"),
    (TypeError, r"(\w+) must be an int or a tuple of \d+ ints, got \(\d*,?\)"),
    (ValueError, r"(\w+) must be False, got True"),
    (ValueError, r"(\w+)(?:=\S+)? (?:is|are) not (?:supported|implemented)"),
    (NotImplementedError, r"(\w+)(?:=\S+)? (?:is|are) not (?:supported|implemented)"),
)


def _torch():
    import torch
    return torch


@dataclasses.dataclass
class Case:
    """One sample of one table, in one mode. ``make()`` returns fresh torch objects:
    ``(module_name, ctor_args, ctor_kwargs, forward_args, forward_kwargs)``."""
    source: str          # "module_db", "common_nn" or "criterion"
    module: str          # torch.nn class name (== chainrule.nn class name)
    desc: str
    index: int
    training: bool
    make: object
    options: str = ""     # the constructor's arguments and forward's keywords, for matching
    error: object = None  # module_db's error inputs: (stage, torch's exception type, its regex)
    function: str = ""    # a torch.nn.functional case: the function's name; ``make()`` then returns
                          # ``(torch's function, name, args, kwargs)``

    @property
    def id(self) -> str:
        desc = re.sub(r"\W+", "_", self.desc).strip("_")[:48] or "default"
        if self.error:
            kind = "error"
        elif self.function:
            kind = "call"  # a function has no train / eval mode (dropout's is its argument)
        else:
            kind = "train" if self.training else "eval"
        return f"{self.source}-{self.module}-{desc}-{self.index}-{kind}"


@dataclasses.dataclass
class Outcome:
    status: str          # "pass", "fail", "gap", "skip"
    reason: str = ""     # fail: what differs; gap: the option; skip: one of SKIP_*; pass: "gradient
                         # not compared" when torch computes one chainrule's backward does not return
    detail: str = ""


@dataclasses.dataclass
class Skipped:
    """A table entry that produces no Case (so has no test id), and why."""
    source: str
    module: str
    reason: str
    count: int = 1


# --------------------------------------------------------------------------- collection


@contextlib.contextmanager
def _float64_default():
    torch = _torch()
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


@contextlib.contextmanager
def _one_thread():
    """torch on one thread while a table is built or a case runs: its intra-op threads cost more
    than they save on these small tensors (on a busy machine, 20 ms for a 2x2x3x6 max_pool2d
    instead of microseconds). The count it had is restored after."""
    torch = _torch()
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _clone(value):
    """A fresh copy of a sample's tensors (leaves keep their requires_grad), so that every run
    starts from the table's values and no run sees another's gradients."""
    torch = _torch()
    if isinstance(value, torch.Tensor):
        return value.detach().clone().requires_grad_(value.requires_grad)
    if isinstance(value, (tuple, list)):
        return type(value)(_clone(v) for v in value)
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    return value


def _describe(cls, args, kwargs, forward_kwargs=None) -> str:
    """``'(in_channels=4, out_channels=5, kernel_size=3, padding=same) forward(input=)'``: the
    constructor's arguments by name (as torch's signature binds them), tensors by their shape."""
    torch = _torch()
    try:
        bound = inspect.signature(cls).bind_partial(*args, **kwargs).arguments
        args, kwargs = (), {k: v for k, v in bound.items() if k != "kwargs"} | bound.get("kwargs", {})
    except (TypeError, ValueError):
        pass  # described as given

    def show(v):
        if isinstance(v, torch.Tensor):
            return f"tensor{tuple(v.shape)}"
        if isinstance(v, (tuple, list)):
            return "(" + ", ".join(show(x) for x in v) + ")"
        return repr(v) if isinstance(v, str) else getattr(v, "__name__", None) or str(v)
    text = "(" + ", ".join([show(a) for a in args] + [f"{k}={show(v)}" for k, v in kwargs.items()]) + ")"
    if forward_kwargs:
        text += " forward(" + ", ".join(f"{k}=" for k in forward_kwargs) + ")"
    return text


def _module_db_cases(chainrule_nn):
    torch = _torch()
    from torch.testing._internal.common_modules import module_db
    cases, skipped = [], []
    for info in module_db:
        name = info.module_cls.__name__
        if not hasattr(chainrule_nn, name):
            skipped.append(Skipped("module_db", name, SKIP_ABSENT, _module_db_count(info)))
            continue
        if torch.float64 not in info.dtypes:
            skipped.append(Skipped("module_db", name, SKIP_NO_FLOAT64, _module_db_count(info)))
            continue
        for training in MODES:
            torch.manual_seed(0)
            samples = info.module_inputs_func(info, device="cpu", dtype=torch.float64,
                                              requires_grad=True, training=training)
            for i, sample in enumerate(samples):
                def make(sample=sample, cls=info.module_cls):
                    c, f = sample.constructor_input, sample.forward_input
                    return (cls.__name__, _clone(c.args), _clone(c.kwargs), _clone(f.args), _clone(f.kwargs))
                c, f = sample.constructor_input, sample.forward_input
                cases.append(Case("module_db", name, sample.desc, i, training, make,
                                  _describe(info.module_cls, c.args, c.kwargs, f.kwargs)))
        # Train mode only, as torch's test_errors has it in effect: it asks for the error inputs
        # of the modules whose train and eval differ (BatchNorm, RNN/GRU/LSTM) with training=False
        # too, but those functions return the same list for both and the test never calls
        # m.train(training), so its eval-mode error tests run these same cases in train mode.
        if info.module_error_inputs_func is not None:
            torch.manual_seed(0)
            errors = info.module_error_inputs_func(info, device="cpu", dtype=torch.float64,
                                                   requires_grad=False, training=True)
            for i, error in enumerate(errors):
                def make(sample=error.module_error_input, cls=info.module_cls):
                    c, f = sample.constructor_input, sample.forward_input
                    f_args, f_kwargs = (f.args, f.kwargs) if f is not None else ((), {})
                    return (cls.__name__, _clone(c.args), _clone(c.kwargs), _clone(f_args), _clone(f_kwargs))
                stage = "constructor" if error.error_on.name == "CONSTRUCTION_ERROR" else "forward"
                c = error.module_error_input.constructor_input
                cases.append(Case("module_db", name, error.module_error_input.desc or error.error_regex,
                                  i, True, make, _describe(info.module_cls, c.args, c.kwargs),
                                  (stage, error.error_type, error.error_regex)))
    return cases, skipped


def _module_db_count(info):
    """How many samples an entry has in the first dtype its table lists (for the report)."""
    torch = _torch()
    dtype = torch.float64 if torch.float64 in info.dtypes else next(iter(info.dtypes), torch.float32)
    try:
        torch.manual_seed(0)
        return len(info.module_inputs_func(info, device="cpu", dtype=dtype, requires_grad=True,
                                           training=True))
    except Exception:  # noqa: BLE001 -- a table entry of an absent layer may need a CUDA build
        return 1


def absent_op_db_functions():
    """The names of op_db's ``nn.functional.<name>`` OpInfos (variants once) whose function
    chainrule.nn.functional does not have: the functions PyTorch tests that F lacks."""
    from torch.testing._internal.common_methods_invocations import op_db
    ours = _chainrule_functions()
    names = {op.name.removeprefix("nn.functional.") for op in op_db if op.name.startswith("nn.functional.")}
    return sorted(names - ours)


def other_dtype_counts():
    """Per (module class, dtype) of module_db, for the classes chainrule has, the samples its
    table has in a dtype other than float64 (complex, half, bfloat16, float32; none of them
    run): ``(count, count only there)``, the second being the samples whose description does
    not occur among the float64 samples (a case that exists only in that dtype)."""
    torch = _torch()
    import chainrule.nn as chainrule_nn
    from torch.testing._internal.common_modules import module_db
    counts = {}
    for info in module_db:
        name = info.module_cls.__name__
        if not hasattr(chainrule_nn, name):
            continue

        def descs(dtype):
            torch.manual_seed(0)
            return Counter(s.desc for s in info.module_inputs_func(
                info, device="cpu", dtype=dtype, requires_grad=dtype.is_floating_point or dtype.is_complex,
                training=True))
        base = descs(torch.float64) if torch.float64 in info.dtypes else Counter()
        for dtype in info.dtypes:
            if dtype != torch.float64:
                there = descs(dtype)
                counts[(name, str(dtype).replace("torch.", ""))] = (sum(there.values()),
                                                                    sum((there - base).values()))
    return counts


@contextlib.contextmanager
def _recording(names):
    """Record the arguments of the outermost construction of each torch.nn class in ``names``
    (common_nn's cases build their module in a lambda)."""
    torch = _torch()
    calls = []
    patched = []
    for name in names:
        cls = getattr(torch.nn, name, None)
        if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
            continue
        own = "__init__" in vars(cls)
        original = cls.__init__

        def __init__(self, *args, _cls=cls, _original=original, **kwargs):
            if type(self) is _cls and not getattr(self, "_recorded", False):
                object.__setattr__(self, "_recorded", True)
                calls.append((_cls.__name__, args, kwargs))
            _original(self, *args, **kwargs)
        cls.__init__ = __init__
        patched.append((cls, own, original))
    try:
        yield calls
    finally:
        for cls, own, original in patched:
            if own:
                cls.__init__ = original
            else:
                del cls.__init__


def _common_nn_cases(chainrule_nn):
    torch = _torch()
    from torch.testing._internal import common_nn
    cases, skipped = [], []
    entries = [("common_nn", t) for t in common_nn.module_tests + common_nn.get_new_module_tests()]
    entries += [("criterion", t) for t in common_nn.criterion_tests]
    names = [n for n in dir(chainrule_nn) if isinstance(getattr(chainrule_nn, n), type)]
    counter = Counter()
    for source, test in entries:
        fullname = test.get("fullname") or test["module_name"] + ("_" + test["desc"] if test.get("desc") else "")
        if "module_name" in test and "constructor" not in test:
            name = test["module_name"]
            if not hasattr(chainrule_nn, name):
                skipped.append(Skipped(source, name, SKIP_ABSENT))
                continue
            call = (name, tuple(test.get("constructor_args", ())), {})
        else:
            constructor = test["constructor"]
            if getattr(constructor, "__name__", "") == "FunctionalModule":
                case, skip = _common_nn_functional_case(source, test, fullname)
                if case:
                    case.index = counter[(source, case.module, case.desc)]
                    counter[(source, case.module, case.desc)] += 1
                    cases.append(case)
                else:
                    skipped.append(skip)
                continue
            with _float64_default(), _recording(names) as calls:
                built = constructor()
            name = type(built).__name__
            if not hasattr(chainrule_nn, name):
                skipped.append(Skipped(source, name, SKIP_ABSENT))
                continue
            if not calls or calls[0][0] != name:
                skipped.append(Skipped(source, name, SKIP_COMPOSITE))
                continue
            call = calls[0]
        desc = test.get("desc") or (fullname[len(name) + 1:] if fullname.startswith(name + "_") else "")
        index = counter[(source, name, desc)]
        counter[(source, name, desc)] += 1
        for training in MODES:
            def make(test=test, call=call, source=source):
                torch.manual_seed(0)
                name, args, kwargs = call
                with _float64_default():
                    inputs = _common_nn_input(test, "input")
                    if source == "criterion":
                        inputs = inputs + _common_nn_input(test, "target", requires_grad=False)
                return name, _clone(args), _clone(kwargs), inputs, {}
            cases.append(Case(source, name, desc, index, training, make,
                              _describe(getattr(torch.nn, name), call[1], call[2])))
    return cases, skipped


def _common_nn_input(test, what, requires_grad=True):
    """The input (or target) of a common_nn case as torch's own test builds it: ``<what>_fn()``
    or ``torch.randn(<what>_size)``; floating tensors require a gradient."""
    torch = _torch()
    if f"{what}_fn" in test:
        value = test[f"{what}_fn"]()
    elif f"{what}_size" in test:
        value = torch.randn(test[f"{what}_size"])
    else:
        value = test[what]
    values = value if isinstance(value, tuple) else (value,)
    if requires_grad:
        values = tuple(v.detach().requires_grad_(True) if isinstance(v, torch.Tensor) and v.is_floating_point()
                       else v for v in values)
    return values


# --------------------------------------------------------------------------- functional cases


# What torch.nn.functional's namespace holds that is not one of its functions (its helpers).
_NOT_FUNCTIONALS = {"Optional", "boolean_dispatch", "handle_torch_function", "has_torch_function",
                    "has_torch_function_unary", "has_torch_function_variadic"}


@contextlib.contextmanager
def _recording_functional():
    """Record the outermost call into ``torch.nn.functional`` (common_nn's functional cases and
    some of op_db's call one from a lambda): yields a list that gets ``[name, args, kwargs,
    result]`` per outermost call (``result`` None while it runs, and if it raised). Calls made inside one (``F.upsample`` calling
    ``F.interpolate``) are not recorded."""
    torch = _torch()
    functional = torch.nn.functional
    calls, depth, patched = [], [0], []
    for name in dir(functional):
        fn = getattr(functional, name)
        if (name.startswith("_") or isinstance(fn, type) or not callable(fn) or inspect.ismodule(fn)
                or name in _NOT_FUNCTIONALS):
            continue

        def recorder(*args, _name=name, _fn=fn, **kwargs):
            call = [_name, args, kwargs, None]
            if depth[0] == 0:
                calls.append(call)  # on entry: a call that raises is recorded too (error inputs)
            depth[0] += 1
            try:
                call[3] = _fn(*args, **kwargs)
            finally:
                depth[0] -= 1
            return call[3]
        setattr(functional, name, recorder)
        patched.append((name, fn))
    try:
        yield calls
    finally:
        for name, fn in patched:
            setattr(functional, name, fn)


def _one_call(fn, args, kwargs):
    """``(name, args, kwargs)`` of the one torch.nn.functional call ``fn(*args, **kwargs)`` makes and
    returns the result of, or ``None`` when it makes none or returns something else."""
    with _float64_default(), _recording_functional() as calls:
        result = fn(*args, **kwargs)
    if len(calls) == 1 and calls[0][3] is result:
        return tuple(calls[0][:3])
    return None


def _call_raising(fn, args, kwargs):
    """``(name, args, kwargs)`` of the torch.nn.functional call in which ``fn(*args, **kwargs)``
    raises (the first outermost one), or ``None`` when it makes none or does not raise."""
    with _recording_functional() as calls:
        try:
            fn(*args, **kwargs)
        except Exception:  # noqa: BLE001 -- an error input: raising is what it does
            return tuple(calls[0][:3]) if calls else None
    return None


def _signature_of(name):
    """What a function case's arguments are named by: chainrule's function of that name (PyTorch's
    signature, where torch's own is often ``(*args, **kwargs)``), else torch's."""
    import chainrule.nn.functional as F
    torch = _torch()
    return getattr(F, name) if name in _chainrule_functions() else getattr(torch.nn.functional, name)


def _chainrule_functions():
    import chainrule.nn.functional as F
    return {n for n in F.__all__ if not n.endswith("_backward")}


def _common_nn_functional_case(source, test, fullname):
    """The Case of a common_nn entry whose constructor is ``wrap_functional(fn, **kwargs)``, or
    the Skipped when ``fn`` is not one torch.nn.functional call."""
    torch = _torch()
    module = test["constructor"]()

    def inputs():
        torch.manual_seed(0)
        with _float64_default():
            values = _common_nn_input(test, "input")
            if source == "criterion":
                values = values + _common_nn_input(test, "target", requires_grad=False)
        return values
    wrapped = inspect.getclosurevars(type(module).forward).nonlocals  # wrap_functional's fn, kwargs
    fn, options = wrapped["fn"], wrapped["kwargs"]
    if getattr(torch.nn.functional, getattr(fn, "__name__", ""), None) is fn:
        def call_of(values):  # wrap_functional(F.interpolate, size=12, ...): the call is known
            return fn.__name__, values, options
    else:
        def call_of(values):  # wrap_functional(lambda i: F.kl_div(i, t.type_as(i), ...)): record it
            return _one_call(module, values, {})
    call = call_of(inputs())
    if call is None:
        return None, Skipped(source, fullname, SKIP_NOT_ONE_CALL)
    name = call[0]

    def make():
        name, args, kwargs = call_of(inputs())  # fresh tensors (a lambda's own too)
        return getattr(torch.nn.functional, name), name, _clone(args), _clone(kwargs)
    desc = test.get("desc") or fullname
    return Case(source, f"F.{name}", desc, 0, True, make,
                _describe(_signature_of(name), call[1], call[2]), function=name), None


def _op_db_cases():
    """op_db's OpInfos of the functions chainrule.nn.functional has (``nn.functional.<name>``,
    and ``softmax``, ``log_softmax``, ``sigmoid``, ``tanh`` of torch's namespace): every sample of
    ``sample_inputs_func`` in float64 (one_hot: int64, the only dtype it takes)."""
    torch = _torch()
    from torch.testing._internal.common_methods_invocations import op_db
    ours = _chainrule_functions()
    cases, skipped = [], []
    for op in op_db:
        base = op.name.removeprefix("nn.functional.")
        if base not in ours or (op.name == base and base not in ("softmax", "log_softmax", "sigmoid", "tanh")):
            continue
        label = op.name + (f".{op.variant_test_name}" if op.variant_test_name else "")
        dtypes = op.supported_dtypes("cpu")
        dtype = torch.float64 if torch.float64 in dtypes else (torch.int64 if torch.int64 in dtypes else None)
        if dtype is None:
            skipped.append(Skipped("op_db", label, SKIP_NO_FLOAT64))
            continue
        torch.manual_seed(0)
        samples = list(op.sample_inputs_func(op, "cpu", dtype, requires_grad=dtype.is_floating_point))
        # An OpInfo holding torch's function itself (held from before the recorder patches the
        # module) is that call; what it calls inside (interpolate's adaptive_avg_pool1d) is not.
        itself = op.op is getattr(torch.nn.functional, base, None)
        for i, sample in enumerate(samples):
            args, kwargs = (sample.input, *sample.args), dict(sample.kwargs)
            call = None if itself else _one_call(op.op, args, kwargs)
            if call is None:  # op.op is the function itself (or torch.softmax & co.)
                call = (base, args, kwargs)
                fn = op.op
            else:
                fn = getattr(torch.nn.functional, call[0])

            def make(fn=fn, call=call):
                return fn, call[0], _clone(call[1]), _clone(call[2])
            desc = f"{label} {sample.name}".strip()
            cases.append(Case("op_db", f"F.{call[0]}", desc, i, True, make,
                              _describe(_signature_of(call[0]), call[1], call[2]), function=call[0]))
        # The error inputs (arguments torch refuses), in the dtypes they come in.
        for i, error in enumerate(op.error_inputs(torch.device("cpu")) if op.error_inputs_func else ()):
            sample = error.sample_input
            args, kwargs = (sample.input, *sample.args), dict(sample.kwargs)
            call = (None if itself else _call_raising(op.op, args, kwargs)) or (base, args, kwargs)

            def make(fn=op.op, call=call):
                return getattr(torch.nn.functional, call[0]), call[0], _clone(call[1]), _clone(call[2])
            cases.append(Case("op_db", f"F.{call[0]}", error.error_regex, i, True, make,
                              _describe(_signature_of(call[0]), call[1], call[2]),
                              ("call", error.error_type, error.error_regex), function=call[0]))
    return cases, skipped


@functools.lru_cache(maxsize=None)
def collect():
    """Every Case of the tables and the entries that give none: ``(cases, skipped)``, built once
    per process (a case's ``make()`` gives fresh tensors on every call, so they can be shared)."""
    import chainrule.nn as chainrule_nn
    with warnings.catch_warnings(), _one_thread():
        warnings.simplefilter("ignore")  # the tables' own deprecation notices
        a, sa = _module_db_cases(chainrule_nn)
        b, sb = _common_nn_cases(chainrule_nn)
        c, sc = _op_db_cases()
    return a + b + c, sa + sb + sc


# --------------------------------------------------------------------------- running


def _to_numpy(value, keep_dtype=False):
    """torch -> chainrule arguments: float tensors -> float64 arrays (``keep_dtype``: their own
    float dtype, for the error inputs that are about a dtype), int tensors -> int64 arrays, bool
    tensors -> bool arrays, torch dtypes -> NumPy dtypes; containers recursively."""
    torch = _torch()
    if isinstance(value, torch.Tensor):
        if keep_dtype and value.dtype in (torch.float16, torch.bfloat16, torch.complex32):
            raise _Unrepresentable(str(value.dtype))
        a = value.detach().numpy().copy()
        if a.dtype.kind == "f" and not keep_dtype:
            return a.astype(np.float64)
        if a.dtype.kind in "iu":
            return a.astype(np.int64)
        return a
    if isinstance(value, torch.dtype):
        return {torch.float64: np.float64, torch.float32: np.float32}.get(value, value)
    if isinstance(value, (tuple, list)):
        return type(value)(_to_numpy(v, keep_dtype) for v in value)
    if isinstance(value, dict):
        return {k: _to_numpy(v, keep_dtype) for k, v in value.items()}
    return value


class _Unrepresentable(Exception):
    """A half-precision tensor: chainrule does not compute in it."""


def _ctor_kwargs(kwargs, keep_dtype=False):
    """torch's constructor keywords for chainrule: ``device='cpu'`` goes (chainrule has no
    devices, and the CPU is where it computes); the rest as ``_to_numpy``."""
    kwargs = {k: v for k, v in kwargs.items() if not (k == "device" and str(v) == "cpu")}
    return _to_numpy(kwargs, keep_dtype)


def _leaves(value):
    """The arrays, numbers and Nones of a nested output, in order."""
    if isinstance(value, (tuple, list)):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def _as_array(value):
    torch = _torch()
    if isinstance(value, torch.Tensor):
        return (value.to_dense() if value.is_sparse else value).detach().numpy()  # Embedding(sparse=True)
    return None if value is None else np.asarray(value)


def _differ(what, ours, theirs):
    """``None`` when ours matches theirs at RTOL/ATOL, else a one-line description."""
    a, b = _as_array(ours), _as_array(theirs)
    if a is None or b is None:
        shape = lambda x: "None" if x is None else x.shape  # noqa: E731
        return None if a is None and b is None else f"{what}: chainrule {shape(a)}, torch {shape(b)}"
    if a.shape != b.shape:
        return f"{what}: shape {a.shape} (chainrule) vs {b.shape} (torch)"
    if b.dtype.kind == "f" and a.dtype != np.float64:
        return f"{what}: dtype {a.dtype}, expected float64"
    a, b = a.astype(np.float64), b.astype(np.float64)
    close = np.isclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True)
    if close.all():
        return None
    i = np.unravel_index(np.argmin(close), close.shape) if close.ndim else ()
    err = np.max(np.abs(a - b)[~close])
    return (f"{what}: {int((~close).sum())}/{close.size} differ, e.g. at {tuple(map(int, i))}: "
            f"chainrule {a[i]!r} vs torch {b[i]!r} (max |diff| {err:.3g})")


def _gap(exc):
    """The option a chainrule refusal names, or ``None`` when ``exc`` is not a refusal."""
    message = str(exc)
    for kind, pattern in GAP_MESSAGES:
        if isinstance(exc, kind):
            m = re.search(pattern, message)
            if m:
                return m.group(1) if m.groups() else message
    return None


def _raised(stage, exc):
    option = _gap(exc)
    last = traceback.format_exception_only(type(exc), exc)[-1].strip()
    if option is not None:
        return Outcome("gap", option, f"{stage}: {last}")
    return Outcome("fail", f"chainrule raised in {stage}", last)


def _stochastic(module, training):
    """True for a module with dropout p in (0, 1) that draws masks in this mode."""
    torch = _torch()
    if not training:
        return False
    for m in module.modules():
        p = getattr(m, "p", None) if isinstance(m, torch.nn.modules.dropout._DropoutNd) else getattr(m, "dropout", None)
        if isinstance(p, float) and 0.0 < p < 1.0:
            if isinstance(m, torch.nn.RNNBase) and m.num_layers == 1:
                continue  # dropout applies between layers only
            return True
    return False


def _accepts_dtype(cls):
    try:
        return "dtype" in inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False


def _backward_arity(module):
    """How many gradients chainrule's ``backward`` takes (LSTM 3, RNN/GRU 2, most modules 1)."""
    params = [p for p in inspect.signature(module.backward).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(params)


def run(case):
    """Run one case; returns its Outcome."""
    torch = _torch()
    import chainrule.nn as chainrule_nn
    with warnings.catch_warnings(), _one_thread():
        warnings.simplefilter("ignore")  # both libraries warn alike (e.g. dropout with one layer)
        if case.function:
            return (_run_function_error if case.error else _run_function)(case, torch)
        if case.error:
            return _run_error(case, torch, chainrule_nn)
        return _run(case, torch, chainrule_nn)


def _run_error(case, torch, chainrule_nn):
    """An error input of module_db: torch raises (checked here too); chainrule must raise, in
    its constructor or its forward (it may refuse earlier than torch). A different exception
    class is reported in the detail, not failed: chainrule's errors follow its own style
    (ValueError for a bad value, where torch often raises RuntimeError)."""
    stage, torch_type, regex = case.error
    name, ctor_args, ctor_kwargs, fwd_args, fwd_kwargs = case.make()
    def theirs():
        with _float64_default():
            m = getattr(torch.nn, name)(*ctor_args, **ctor_kwargs)
        if stage == "forward":
            m(*fwd_args, **fwd_kwargs)

    skipped = _unless_torch_raises(theirs, torch_type, regex)
    if skipped:
        return skipped
    try:
        args, kwargs = _to_numpy(ctor_args, True), _ctor_kwargs(ctor_kwargs, True)
        f_args, f_kwargs = _to_numpy(fwd_args, True), _to_numpy(fwd_kwargs, True)
    except _Unrepresentable as exc:
        return Outcome("skip", SKIP_HALF, str(exc))
    cls = getattr(chainrule_nn, name)
    extra = {"dtype": np.float64} if _accepts_dtype(cls) and "dtype" not in kwargs else {}
    where = "constructor"
    try:
        ours = cls(*args, **kwargs, **extra)
        where = "forward"
        ours(*f_args, **f_kwargs)
    except Exception as exc:  # noqa: BLE001 -- any refusal is the expected outcome
        return _refusal(exc, torch_type, f"{where}: ")
    return Outcome("fail", "chainrule did not raise",
                   f"torch raises {torch_type.__name__} matching {regex!r} in its {stage}")


def _unless_torch_raises(call, torch_type, regex):
    """A skip Outcome unless ``call()`` raises ``torch_type`` matching the table's ``regex`` (the
    error case then tests chainrule); ``None`` when torch raises as the table says."""
    try:
        call()
    except torch_type as exc:
        if not re.search(regex, str(exc)):
            return Outcome("skip", SKIP_TORCH_RAISED, f"torch raised {exc!r}, not the table's {regex!r}")
        return None
    return Outcome("skip", SKIP_TORCH_RAISED, f"torch did not raise the table's {regex!r}")


def _forward_outcome(out, out_t, more_problems):
    """A failing Outcome when chainrule's forward output differs from torch's (in structure or in
    any array) or ``more_problems`` (state after the call) has an entry; ``None`` when all agree."""
    leaves_t, leaves = _leaves(out_t), _leaves(out)
    if len(leaves_t) != len(leaves):
        return Outcome("fail", "output structure", f"chainrule returned {len(leaves)} outputs, torch {len(leaves_t)}")
    problems = [_differ(f"output[{i}]", o, t) for i, (o, t) in enumerate(zip(leaves, leaves_t))] + more_problems
    problems = [p for p in problems if p]
    return Outcome("fail", "forward differs", "; ".join(problems)) if problems else None


def _refusal(exc, torch_type, where=""):
    """The outcome of an error case where chainrule raised ``exc``: a pass, unless what it refused
    was an argument it does not take (that proves nothing about the error: a gap)."""
    last = traceback.format_exception_only(type(exc), exc)[-1].strip()
    option = re.search(GAP_MESSAGES[0][1], str(exc)) if isinstance(exc, TypeError) else None
    if option:
        return Outcome("gap", option.group(1), f"{where}{last} (refused an option, not the error)")
    note = "" if isinstance(exc, torch_type) else f" (torch: {torch_type.__name__})"
    return Outcome("pass", "", f"{where}{last}{note}")


def _run(case, torch, chainrule_nn):
    name, ctor_args, ctor_kwargs, fwd_args, fwd_kwargs = case.make()
    theirs_cls, ours_cls = getattr(torch.nn, name), getattr(chainrule_nn, name)

    # 1. Build both; torch's parameters and buffers into chainrule's.
    torch.manual_seed(0)
    try:
        with _float64_default():
            theirs = theirs_cls(*ctor_args, **ctor_kwargs)
        theirs = theirs.to(torch.float64)
    except Exception as exc:  # noqa: BLE001
        return Outcome("skip", SKIP_TORCH_RAISED, f"constructor: {exc}")
    theirs.train(case.training)
    if _stochastic(theirs, case.training):
        return Outcome("skip", SKIP_STOCHASTIC)
    extra = {"dtype": np.float64} if _accepts_dtype(ours_cls) and "dtype" not in ctor_kwargs else {}
    try:
        ours = ours_cls(*_to_numpy(ctor_args), **_ctor_kwargs(ctor_kwargs), **extra)
    except Exception as exc:  # noqa: BLE001
        return _raised("constructor", exc)
    try:
        ours.load_state_dict({k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()})
    except Exception as exc:  # noqa: BLE001
        return _raised("load_state_dict", exc)
    ours.train(case.training)

    # 2. Forward.
    try:
        out_t = theirs(*fwd_args, **fwd_kwargs)
    except Exception as exc:  # noqa: BLE001
        return Outcome("skip", SKIP_TORCH_RAISED, f"forward: {exc}")
    ours_args, ours_kwargs = _to_numpy(fwd_args), _to_numpy(fwd_kwargs)
    if len(fwd_args) == 3 and fwd_args[0] is fwd_args[1] is fwd_args[2]:
        ours_args = (ours_args[0],) * 3  # self-attention: one array used three times, as in torch
    try:
        out = ours(*ours_args, **ours_kwargs)
    except Exception as exc:  # noqa: BLE001
        return _raised("forward", exc)
    sd = ours.state_dict()
    failed = _forward_outcome(out, out_t, [_differ(f"state_dict[{k!r}] after forward", sd.get(k), v)
                                           for k, v in theirs.state_dict().items()])
    if failed:
        return failed
    leaves_t, leaves = _leaves(out_t), _leaves(out)

    # 3. Backward: a random gradient into each output chainrule's backward takes one for.
    rng = np.random.default_rng(0)
    float_t = [t for t in leaves_t if isinstance(t, torch.Tensor) and t.is_floating_point()]
    graded = float_t[:_backward_arity(ours)]
    if not any(t.requires_grad for t in graded):
        return Outcome("skip", SKIP_NO_GRAD_FLOW)
    grads = [rng.standard_normal(t.shape) for t in graded]
    torch.autograd.backward([t for t in graded if t.requires_grad],
                            [torch.from_numpy(g) for g, t in zip(grads, graded) if t.requires_grad])
    try:
        result = ours.backward(*(g if g.ndim else float(g) for g in grads))
    except Exception as exc:  # noqa: BLE001
        return _raised("backward", exc)

    # The inputs chainrule returns gradients for: forward's positional tensors (nested, e.g.
    # LSTM's (h0, c0)), one per distinct tensor, None for an integer one (Embedding's indices),
    # then those given by keyword that torch differentiates (Linear's input=, not a mask);
    # a loss returns its input's only (not the target's).
    inputs_t = []
    by_keyword = [t for t in _leaves(list(fwd_kwargs.values())) if isinstance(t, torch.Tensor) and t.requires_grad]
    for t in _leaves(list(fwd_args)) + by_keyword:
        if isinstance(t, torch.Tensor) and not any(t is u for u in inputs_t):
            inputs_t.append(t)
    if name.endswith("Loss"):
        inputs_t = inputs_t[:1]
    got = _leaves(result)
    if len(got) != len(inputs_t):
        return Outcome("fail", "backward result structure",
                       f"chainrule returned {len(got)} input gradients for {len(inputs_t)} inputs")
    problems = []
    for i, (g, t) in enumerate(zip(got, inputs_t)):
        if not t.is_floating_point():
            problems.append(None if g is None else f"grad input[{i}]: chainrule returned an array for an integer input")
        else:
            if t.requires_grad:  # else torch computes none to compare with
                problems.append(_differ(f"grad input[{i}]", g, t.grad if t.grad is not None else torch.zeros_like(t)))
    params = dict(ours.named_parameters())
    for k, p in theirs.named_parameters():
        if k not in params:
            problems.append(f"parameter {k!r} missing in chainrule")
            continue
        ours_grad = params[k].grad if params[k].grad is not None else np.zeros(params[k].shape)
        problems.append(_differ(f"{k}.grad", ours_grad, p.grad if p.grad is not None else torch.zeros_like(p)))
    problems = [p for p in problems if p]
    if problems:
        return Outcome("fail", "backward differs", "; ".join(problems))
    return Outcome("pass")


# The gradients each chainrule.nn.functional backward returns, named by its forward's arguments
# (in the order it returns them; every other function returns its input's only).
GRADIENTS_OF = {
    "linear": ("input", "weight", "bias"),
    "conv1d": ("input", "weight", "bias"),
    "conv2d": ("input", "weight", "bias"),
    "layer_norm": ("input", "weight", "bias"),
    "batch_norm": ("input", "weight", "bias"),
    "embedding": ("weight",),
    "scaled_dot_product_attention": ("query", "key", "value"),
}


def _implicit_softmax_dim(ndim):
    return 0 if ndim in (0, 1, 3) else 1  # PyTorch's choice for dim=None


def _backward_arguments(name, backward, forward, outputs):
    """The keywords of chainrule's ``<name>_backward`` after ``grad_output``, by the F rule: the
    forward's ``output`` (``indices`` too, for max_pool2d with return_indices), else the forward's
    argument of the same name; a few are derived (linear's ``bias`` flag, embedding's
    ``num_embeddings``, cross_entropy's ``probs``, softmax's implicit ``dim``)."""
    import chainrule.nn.functional as F
    kwargs = {}
    for p in list(inspect.signature(backward).parameters.values())[1:]:
        if p.name == "output":
            kwargs[p.name] = outputs[0]
        elif p.name == "indices" and forward.get("return_indices"):
            kwargs[p.name] = outputs[1]
        elif p.name == "probs":
            x = forward["input"]
            kwargs[p.name] = F.softmax(x, dim=1 if x.ndim > 1 else 0)
        elif name == "linear" and p.name == "bias":
            kwargs[p.name] = forward["bias"] is not None
        elif name == "embedding" and p.name == "num_embeddings":
            kwargs[p.name] = forward["weight"].shape[0]
        elif p.name in forward:
            kwargs[p.name] = forward[p.name]
        if p.name == "dim" and kwargs.get("dim") is None and "input" in forward:
            kwargs[p.name] = _implicit_softmax_dim(np.ndim(forward["input"]))
    return kwargs


def _run_function(case, torch):
    """A torch.nn.functional call against chainrule.nn.functional's function of the same name:
    the outputs (and the arguments afterwards: batch_norm's running statistics, an in-place
    call's input) compared, then a random gradient of the first float output through chainrule's
    ``<name>_backward`` compared with torch autograd's gradients of every float argument that
    requires one."""
    import chainrule.nn.functional as F
    theirs, name, args, kwargs = case.make()
    bound_t = _bind(theirs, name, args, kwargs)
    if name == "dropout" and bound_t.get("training", True) and 0 < bound_t.get("p", 0.5) < 1:
        return Outcome("skip", SKIP_STOCHASTIC_CALL)
    if name == "scaled_dot_product_attention" and bound_t.get("dropout_p", 0.0) > 0:
        return Outcome("skip", SKIP_STOCHASTIC_CALL)
    a, k = _to_numpy(args), _to_numpy(kwargs)  # before torch's call, which may write into them
    try:
        with _float64_default():
            out_t = theirs(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001
        return Outcome("skip", SKIP_TORCH_RAISED, f"{name}: {exc}")
    if name not in _chainrule_functions():
        return Outcome("gap", f"F.{name}", "chainrule.nn.functional has no such function")
    ours_fn = getattr(F, name)
    try:
        forward = inspect.signature(ours_fn).bind(*a, **k)
        forward.apply_defaults()
        forward = dict(forward.arguments)
        out = ours_fn(*a, **k)
    except Exception as exc:  # noqa: BLE001
        return _raised("forward", exc)
    failed = _forward_outcome(out, out_t, [_differ(f"argument[{i}] after the call", o, t)
                                           for i, (o, t) in enumerate(zip(_leaves(list(a) + list(k.values())),
                                                                          _leaves(list(args) + list(kwargs.values()))))
                                           if isinstance(t, torch.Tensor)])
    if failed:
        return failed
    leaves_t, leaves = _leaves(out_t), _leaves(out)

    # Backward: a random gradient into the first float output.
    float_t = [t for t in leaves_t if isinstance(t, torch.Tensor) and t.is_floating_point()]
    if not float_t or not float_t[0].requires_grad:
        return Outcome("skip", SKIP_NO_GRAD_FLOW)
    grad = np.random.default_rng(0).standard_normal(float_t[0].shape)
    float_t[0].backward(torch.from_numpy(grad).to(float_t[0].dtype))
    grad = grad.astype(np.asarray(leaves[0]).dtype)
    try:
        if name == "dropout":  # the mask as native_dropout draws it (all kept: p = 0 or eval)
            p, train = forward["p"], forward["training"]
            _, mask = F.native_dropout(forward["input"], p, train)
            result = F.native_dropout_backward(grad, mask, 1 / (1 - p) if train and p < 1 else 1.0)
        else:
            backward = getattr(F, f"{name}_backward", None)
            if backward is None:
                return Outcome("gap", f"F.{name}_backward", "chainrule.nn.functional has no backward for it")
            result = backward(grad, **_backward_arguments(name, backward, forward, leaves))
    except Exception as exc:  # noqa: BLE001
        return _raised("backward", exc)
    names = GRADIENTS_OF.get(name, ("input",))
    got = list(result) if isinstance(result, tuple) else [result]
    if len(got) != len(names):
        return Outcome("fail", "backward result structure",
                       f"chainrule returned {len(got)} gradients for {names}")
    problems = []
    for arg, g in zip(names, got):
        t = bound_t.get(arg)
        if isinstance(t, torch.Tensor) and t.is_floating_point() and t.requires_grad:
            problems.append(_differ(f"grad {arg}", g, t.grad if t.grad is not None else torch.zeros_like(t)))
    problems = [p for p in problems if p]
    if problems:
        return Outcome("fail", "backward differs", "; ".join(problems))
    # A gradient torch computes that chainrule's backward does not return (a loss's target's):
    # nothing to compare it with, said in the detail (the report counts these).
    uncompared = [arg for arg, t in bound_t.items() if arg not in names and isinstance(t, torch.Tensor)
                  and t.requires_grad]
    if uncompared:
        return Outcome("pass", "gradient not compared", f"grad {', '.join(uncompared)} (torch computes it, "
                                                         f"{name}_backward returns none)")
    return Outcome("pass")


def _run_function_error(case, torch):
    """An error input of op_db: torch's function raises (checked here too); chainrule's must
    raise too, whatever the exception's class (as a module's error inputs)."""
    import chainrule.nn.functional as F
    _, torch_type, regex = case.error
    theirs, name, args, kwargs = case.make()
    skipped = _unless_torch_raises(lambda: theirs(*args, **kwargs), torch_type, regex)
    if skipped:
        return skipped
    if name not in _chainrule_functions():
        return Outcome("gap", f"F.{name}", "chainrule.nn.functional has no such function")
    try:
        a, k = _to_numpy(args, True), _to_numpy(kwargs, True)
    except _Unrepresentable as exc:
        return Outcome("skip", SKIP_HALF, str(exc))
    try:
        getattr(F, name)(*a, **k)
    except Exception as exc:  # noqa: BLE001 -- any refusal is the expected outcome
        return _refusal(exc, torch_type)
    return Outcome("fail", "chainrule did not raise", f"torch raises {torch_type.__name__} matching {regex!r}")


def _bind(fn, name, args, kwargs):
    """torch's arguments by name, as chainrule's function of that name (PyTorch's signature)
    binds them; ``{}`` when it has none or they do not bind."""
    import chainrule.nn.functional as F
    try:
        return dict(inspect.signature(getattr(F, name)).bind(*args, **kwargs).arguments)
    except (AttributeError, TypeError, ValueError):
        try:
            return dict(inspect.signature(fn).bind(*args, **kwargs).arguments)
        except (TypeError, ValueError):
            return {}


# --------------------------------------------------------------------------- report


def report(out=sys.stdout):
    """Print per-module counts (pass / fail / gap / skip), the totals (skips by reason), every
    category of the cases that do not pass, the entries that give no case, and the samples that
    exist only in other dtypes."""
    cases, skipped = collect()
    per_module = defaultdict(Counter)
    categories = Counter()
    totals, skips, uncompared = Counter(), Counter(), Counter()
    for case in cases:
        outcome = run(case)
        per_module[(case.source, case.module)][outcome.status] += 1
        totals[outcome.status] += 1
        if outcome.status == "skip":
            skips[outcome.reason] += 1
        if outcome.status != "pass":
            detail = re.sub(r"\d+\.\d+e?-?\d*", "#", outcome.detail)[:200]  # one line per category
            categories[(case.source, case.module, outcome.status, outcome.reason, detail)] += 1
        elif outcome.reason == "gradient not compared":
            uncompared[(case.source, case.module, outcome.detail)] += 1
    print(f"{'table':<10} {'module':<36} {'pass':>5} {'fail':>5} {'gap':>5} {'skip':>5}", file=out)
    for (source, module), c in sorted(per_module.items()):
        print(f"{source:<10} {module:<36} {c['pass']:>5} {c['fail']:>5} {c['gap']:>5} {c['skip']:>5}", file=out)
    counts = "  ".join(f"{k} {totals[k]}" for k in ("pass", "fail", "gap", "skip"))
    print(f"\ncases run: {sum(totals.values())}  {counts}", file=out)
    for reason, n in sorted(skips.items()):
        print(f"  skip: {reason}: {n}", file=out)
    print("\nnot passing, by category (table module: outcome: reason [detail]: count)", file=out)
    for (source, module, status, reason, detail), n in sorted(categories.items()):
        print(f"  {source} {module}: {status}: {reason} [{detail}]: {n}", file=out)
    print("\npassing, with a gradient torch computes and chainrule does not return (table module: detail: count)",
          file=out)
    for (source, module, detail), n in sorted(uncompared.items()):
        print(f"  {source} {module}: {detail}: {n}", file=out)
    by_reason = defaultdict(Counter)
    for s in skipped:
        by_reason[s.reason][(s.source, s.module)] += s.count
    for reason, c in sorted(by_reason.items()):
        print(f"\nentries giving no case -- {reason}: {sum(c.values())} samples in {len(c)} (table, class) pairs",
              file=out)
        for (source, module), n in sorted(c.items()):
            print(f"  {source} {module}: {n}", file=out)
    lacking = absent_op_db_functions()
    print(f"\nop_db's torch.nn.functional OpInfos whose function chainrule.nn.functional lacks (not run): "
          f"{len(lacking)}", file=out)
    print("  " + ", ".join(lacking), file=out)
    other = other_dtype_counts()
    print(f"\nmodule_db samples in dtypes other than float64, not run: {sum(n for n, _ in other.values())}, "
          f"of which exist only in that dtype: {sum(k for _, k in other.values())}", file=out)
    for (module, dtype), (n, only) in sorted(other.items()):
        print(f"  {module} {dtype}: {n} ({only} only there)", file=out)
    return totals


if __name__ == "__main__":
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's notice that complex32 is experimental
        report()
