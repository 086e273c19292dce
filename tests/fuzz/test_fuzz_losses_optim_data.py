"""Property tests: losses, optimiser constructors, DataLoader and the dataset functions fed
generated bad and edge inputs (wrong shapes, mismatched batch sizes, labels of the wrong
dtype or out of range, NaN/inf, lists, non-contiguous and read-only arrays, nonsense
hyper-parameters).

Each case either works -- a loss equals a float64 reference and its gradient matches, an
optimiser takes a step, a loader yields exactly the dataset, a dataset function returns
``float32``/``int64`` arrays of the promised shapes -- or raises a ``ValueError``/``TypeError``
whose message names the class or function. The caller's arrays are never modified.

Generated cases per target in the slow tier (a tenth, at least 10, in the fast tier; see
``examples`` in _strategies.py) (hypothesis ``max_examples``, derandomized, so the same cases every run;
an upper bound: hypothesis stops early once a small strategy is exhausted):
MSELoss 200, CrossEntropyLoss 300, BCELoss 200, BCEWithLogitsLoss 200, SGD 300, Adam 300,
AdamW 150, Optimizer params 150, DataLoader 200, TensorDataset 150, Subset 100,
random_split 150, make_xor/make_spirals/make_moons/make_circles/make_blobs 100 each
-- 2,900 in all.
"""

import os
import sys
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.dirname(__file__))
from _strategies import arrays, examples, expected_dtype, garbage, snapshot, tol, unchanged  # noqa: E402

from chainrule import data, nn, optim  # noqa: E402

pytestmark = pytest.mark.fuzz  # both tiers: a tenth of the cases in the fast one (conftest.py)
SETTINGS = dict(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def _nonfinite(*xs):
    return any(np.asarray(x).dtype.kind in "fc" and np.asarray(x).size and not np.isfinite(np.asarray(x)).all()
               for x in xs)


def _check_loss(loss_fn, x, t, reference, owner):
    """reference(x64, t) -> (per-element losses, d mean / d x) or raises to mean 'must refuse'."""
    before_x, before_t = snapshot(x), snapshot(t)
    with warnings.catch_warnings():
        if _nonfinite(x, t):
            warnings.simplefilter("ignore", RuntimeWarning)
        try:
            value = loss_fn(x, t)
        except (ValueError, TypeError) as error:
            assert owner in str(error), f"message does not name {owner}: {error}"
            assert unchanged(x, before_x) and unchanged(t, before_t)
            return
        arr = np.asarray(x)
        assert arr.dtype.kind != "c", f"{owner} accepted a complex input"
        dtype = expected_dtype(x)
        x64 = arr.astype(dtype).astype(np.float64)
        expected_value, expected_grad = reference(x64, np.asarray(t))
        assert isinstance(value, float)
        np.testing.assert_allclose(value, expected_value, equal_nan=True, **tol(dtype))
        grad = loss_fn.backward()
        assert grad.shape == arr.shape and grad.dtype == dtype
        np.testing.assert_allclose(grad, expected_grad, equal_nan=True, **tol(dtype))
    assert unchanged(x, before_x) and unchanged(t, before_t), f"{owner} modified an input"


def _pair(data_, same_shape_bias=True):
    shape = tuple(data_.draw(st.lists(st.integers(0, 4), max_size=3), label="shape"))
    x = data_.draw(arrays(shape=shape), label="input")
    tshape = shape if data_.draw(st.booleans(), label="same") else tuple(
        data_.draw(st.lists(st.integers(0, 4), max_size=3), label="target shape"))
    return x, tshape


@settings(max_examples=examples(200), **SETTINGS)
@given(data_=st.data())
def test_mse(data_):
    x, tshape = _pair(data_)
    t = data_.draw(arrays(shape=tshape), label="target")

    def reference(x64, t):
        if np.asarray(t).dtype.kind == "c" or t.shape != x64.shape:
            pytest.fail(f"MSELoss accepted target {t.dtype}{t.shape} for input {x64.shape}")
        d = x64 - t.astype(np.float64)
        n = d.size
        with np.errstate(invalid="ignore"):
            return ((d * d).sum() / n if n else np.nan), (2 * d / n if n else d)

    _check_loss(nn.MSELoss(), x, t, reference, "MSELoss")


def _ref_ce(x64, t):
    z = x64 - x64.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    n = t.shape[0]
    if n == 0:
        return np.nan, np.zeros_like(x64)
    onehot = np.zeros_like(x64)
    onehot[np.arange(n), t] = 1
    return -(logp * onehot).sum() / n, (np.exp(logp) - onehot) / n


@settings(max_examples=examples(300), **SETTINGS)
@given(data_=st.data())
def test_cross_entropy(data_):
    n, c = data_.draw(st.integers(0, 4), label="N"), data_.draw(st.integers(0, 4), label="C")
    x = data_.draw(arrays(shape=(n, c)), label="logits")
    t_n = data_.draw(st.sampled_from([n, n, n + 1, max(n - 1, 0)]), label="target length")
    t_dtype = data_.draw(st.sampled_from([np.int64, np.int32, np.uint8, np.float32, np.bool_]), label="t dtype")
    labels = data_.draw(st.lists(st.integers(-1, c + 1) if c else st.integers(-1, 1), min_size=t_n, max_size=t_n),
                        label="labels")
    t = np.array(labels, dtype=np.int64)
    t = (np.abs(t) if t_dtype == np.uint8 else t).astype(t_dtype)
    if data_.draw(st.booleans(), label="as list"):
        t = t.tolist()

    def reference(x64, t):
        t = np.asarray(t)
        ok = (t.dtype.kind in "iu" and t.shape == (x64.shape[0],) and x64.shape[1] > 0
              and (t.size == 0 or (t.min() >= 0 and t.max() < x64.shape[1])))
        if not ok:
            pytest.fail(f"CrossEntropyLoss accepted target {t!r} for logits of shape {x64.shape}")
        with np.errstate(invalid="ignore", over="ignore"):
            return _ref_ce(x64, t)

    _check_loss(nn.CrossEntropyLoss(), x, t, reference, "CrossEntropyLoss")


@settings(max_examples=examples(200), **SETTINGS)
@given(data_=st.data())
def test_bce(data_):
    shape = tuple(data_.draw(st.lists(st.integers(0, 4), max_size=2), label="shape"))
    x = data_.draw(arrays(shape=shape, low=-0.5, high=1.5), label="probabilities")
    t = data_.draw(arrays(shape=shape if data_.draw(st.booleans()) else (3,), low=-0.25, high=1.25), label="target")

    def reference(x64, t):
        t64 = np.asarray(t).astype(np.float64) if np.asarray(t).dtype.kind != "c" else None
        if t64 is None or t64.shape != x64.shape or not ((x64 >= 0) & (x64 <= 1)).all() \
                or not ((t64 >= 0) & (t64 <= 1)).all():
            pytest.fail("BCELoss accepted an input or target outside [0, 1] or of the wrong shape")
        n = x64.size
        if n == 0:
            return np.nan, np.zeros_like(x64)
        with np.errstate(divide="ignore"):
            losses = -(t64 * np.maximum(np.log(x64), -100) + (1 - t64) * np.maximum(np.log1p(-x64), -100))
        grad = (x64 - t64) / np.maximum((1 - x64) * x64, float(np.float32(1e-12))) / n
        return losses.mean(), grad

    _check_loss(nn.BCELoss(), x, t, reference, "BCELoss")


@settings(max_examples=examples(200), **SETTINGS)
@given(data_=st.data())
def test_bce_with_logits(data_):
    x, tshape = _pair(data_)
    t = data_.draw(arrays(shape=tshape, low=0.0, high=1.0), label="target")

    def reference(x64, t):
        if np.asarray(t).dtype.kind == "c" or t.shape != x64.shape:
            pytest.fail("BCEWithLogitsLoss accepted a target of the wrong shape or dtype")
        t64 = t.astype(np.float64)
        n = x64.size
        if n == 0:
            return np.nan, np.zeros_like(x64)
        with np.errstate(invalid="ignore", over="ignore"):
            losses = (1 - t64) * np.logaddexp(0, x64) + t64 * np.logaddexp(0, -x64)
            grad = (1 / (1 + np.exp(-x64)) - t64) / n
        return losses.mean(), grad

    _check_loss(nn.BCEWithLogitsLoss(), x, t, reference, "BCEWithLogitsLoss")


# -- optimiser constructors ---------------------------------------------------------------------


def _params():
    rng = np.random.default_rng(0)
    return [nn.Parameter(rng.standard_normal((2, 3)).astype(np.float32)), nn.Parameter(np.zeros(3, np.float32))]


def _optimiser_case(cls, kwargs):
    params = _params()
    try:
        opt = cls(params, **kwargs)
    except (ValueError, TypeError) as error:
        text = str(error)
        assert cls.__name__ in text and any(name in text for name in kwargs), f"unclear message: {text}"
        return
    # Accepted: every hyper-parameter must be sane, and a step must run and stay finite.
    group = opt.param_groups[0]
    for name in ("lr", "eps", "weight_decay", "momentum"):
        if name in group:
            assert not isinstance(group[name], bool) and group[name] >= 0, (name, group[name])
    if "betas" in group:
        assert all(0 <= b < 1 for b in group["betas"])
    for p in params:
        p.grad = np.ones_like(p.data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # lr=1e308 may overflow: a choice, not a crash
        opt.step()


@settings(max_examples=examples(300), **SETTINGS)
@given(kwargs=st.fixed_dictionaries({}, optional={
    "lr": garbage(), "momentum": garbage(), "dampening": garbage(), "weight_decay": garbage(),
    "nesterov": garbage(), "maximize": garbage()}))
def test_sgd_constructor(kwargs):
    _optimiser_case(optim.SGD, kwargs)


@settings(max_examples=examples(300), **SETTINGS)
@given(kwargs=st.fixed_dictionaries({}, optional={
    "lr": garbage(), "betas": garbage(), "eps": garbage(), "weight_decay": garbage(), "amsgrad": garbage()}))
def test_adam_constructor(kwargs):
    _optimiser_case(optim.Adam, kwargs)


@settings(max_examples=examples(150), **SETTINGS)
@given(kwargs=st.fixed_dictionaries({}, optional={"lr": garbage(), "betas": garbage(), "weight_decay": garbage()}))
def test_adamw_constructor(kwargs):
    _optimiser_case(optim.AdamW, kwargs)


@settings(max_examples=examples(150), **SETTINGS)
@given(params=st.one_of(
    garbage(), st.just([]), st.just(np.zeros(3)), st.lists(st.sampled_from(["p", "q", 3, None, np.zeros(2)]), max_size=3),
    st.just([{"lr": 0.1}]), st.just([{"params": "abc"}]), st.just([{"params": [np.zeros(2)]}])))
def test_optimizer_params(params):
    try:
        optim.SGD(params, lr=0.1)
    except (ValueError, TypeError) as error:
        assert "SGD" in str(error) or "optimizer" in str(error) or "param" in str(error), str(error)
    else:
        pytest.fail(f"SGD accepted params={params!r}")


# -- data ---------------------------------------------------------------------------------------------


@settings(max_examples=examples(200), **SETTINGS)
@given(n=st.integers(0, 9), batch_size=garbage(), shuffle=garbage(), drop_last=garbage(),
       seed=st.one_of(st.none(), garbage()))
def test_dataloader(n, batch_size, shuffle, drop_last, seed):
    X = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    y = np.arange(n)
    try:
        loader = data.DataLoader(data.TensorDataset(X, y), batch_size=batch_size, shuffle=shuffle,
                                 drop_last=drop_last, seed=seed)
    except (ValueError, TypeError) as error:
        assert "DataLoader" in str(error)
        return
    batches = list(loader)
    assert len(batches) == len(loader)
    seen = np.concatenate([b[1] for b in batches]) if batches else np.zeros(0, int)
    expected = n - (n % loader.batch_size if loader.drop_last else 0)
    assert len(seen) == expected and len(set(seen.tolist())) == expected
    for xb, yb in batches:
        np.testing.assert_array_equal(xb, X[yb])


@settings(max_examples=examples(150), **SETTINGS)
@given(first=arrays(), second=st.one_of(arrays(), st.just([[1, 2], [3]]), st.just("abc"), st.none()))
def test_tensor_dataset(first, second):
    try:
        ds = data.TensorDataset(first, second)
    except (ValueError, TypeError) as error:
        assert "TensorDataset" in str(error), str(error)
        return
    a, b = np.asarray(first), np.asarray(second)
    assert a.ndim >= 1 and b.ndim >= 1 and a.shape[0] == b.shape[0] == len(ds)
    if len(ds):
        assert np.array_equal(ds[0][0], a[0], equal_nan=a.dtype.kind in "fc")


@settings(max_examples=examples(100), **SETTINGS)
@given(indices=st.one_of(garbage(), arrays(), st.lists(st.integers(-3, 8), max_size=5), st.just([[1], [2, 3]])))
def test_subset(indices):
    ds = data.TensorDataset(np.arange(5.0))
    try:
        sub = data.Subset(ds, indices)
    except (ValueError, TypeError) as error:
        assert "Subset" in str(error), str(error)
        return
    idx = np.asarray(indices)
    assert idx.ndim == 1 and (idx.size == 0 or (idx.min() >= 0 and idx.max() < 5))
    assert [sub[i][0] for i in range(len(sub))] == [float(i) for i in idx]


@settings(max_examples=examples(150), **SETTINGS)
@given(lengths=st.one_of(garbage(), st.lists(st.one_of(st.integers(-1, 6), st.floats(-0.5, 1.5)), max_size=4)))
def test_random_split(lengths):
    ds = data.TensorDataset(np.arange(5.0))
    try:
        parts = data.random_split(ds, lengths, seed=0)
    except (ValueError, TypeError) as error:
        assert "random_split" in str(error), str(error)
        return
    assert sorted(int(i) for p in parts for i in p.indices) == list(range(5))


MAKERS = {
    "make_xor": lambda kw: data.datasets.make_xor(**kw),
    "make_spirals": lambda kw: data.datasets.make_spirals(**kw),
    "make_moons": lambda kw: data.datasets.make_moons(**kw),
    "make_circles": lambda kw: data.datasets.make_circles(**kw),
    "make_blobs": lambda kw: data.datasets.make_blobs(**kw),
}
EXTRA = {"make_xor": [], "make_spirals": ["n_classes"], "make_moons": [], "make_circles": ["factor"],
         "make_blobs": ["n_features", "centers", "cluster_std", "center_box"]}


@pytest.mark.parametrize("name", list(MAKERS))
@settings(max_examples=examples(100), **SETTINGS)
@given(data_=st.data())
def test_dataset_functions(name, data_):
    keys = ["n_samples", "seed"] + (["noise"] if name != "make_blobs" else []) + EXTRA[name]
    kwargs = data_.draw(st.fixed_dictionaries({}, optional={k: garbage() for k in keys}), label="kwargs")
    kwargs.setdefault("seed", 0)
    if isinstance(kwargs.get("n_samples"), int) and kwargs["n_samples"] > 1000:
        kwargs["n_samples"] = 1000
    try:
        X, y = MAKERS[name](kwargs)
    except (ValueError, TypeError) as error:
        assert name in str(error) and any(k in str(error) for k in kwargs), f"unclear message: {error}"
        return
    assert X.dtype == np.float32 and y.dtype == np.int64 and X.ndim == 2 and X.shape[0] == y.shape[0]
    assert np.isfinite(X).all(), f"{name}({kwargs}) returned non-finite samples"
