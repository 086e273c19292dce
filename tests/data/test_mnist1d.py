"""MNIST-1D, generated locally by the optional mnist1d package (the "datasets" extra)."""

import importlib.util
import random
import socket
import sys
import types
import urllib.request

import numpy as np
import pytest

from chainrule.data import datasets

# Every test but the one that simulates a missing package needs mnist1d installed.
needs_mnist1d = pytest.mark.skipif(importlib.util.find_spec("mnist1d") is None,
                                   reason="mnist1d is not installed (chainrule's 'datasets' extra)")


@pytest.fixture
def fresh_generation(monkeypatch):
    """Forget the arrays generated earlier in this process, so the call generates them again
    (monkeypatch puts the cached arrays back afterwards)."""
    monkeypatch.setattr(datasets, "_mnist1d_arrays", None)


@needs_mnist1d
def test_shapes_dtypes_and_the_papers_split():
    X_train, y_train, X_test, y_test = datasets.load_mnist1d()
    assert X_train.shape == (4000, 40) and X_train.dtype == np.float32
    assert y_train.shape == (4000,) and y_train.dtype == np.int64
    assert X_test.shape == (1000, 40) and X_test.dtype == np.float32
    assert y_test.shape == (1000,) and y_test.dtype == np.int64
    assert set(np.unique(y_train)) == set(np.unique(y_test)) == set(range(10))
    assert np.all(np.isfinite(X_train)) and np.all(np.isfinite(X_test))


@needs_mnist1d
def test_class_counts_and_first_labels():
    # 500 samples per class, shuffled with seed 42, the first 4,000 for training.
    _, y_train, _, y_test = datasets.load_mnist1d()
    np.testing.assert_array_equal(np.bincount(y_train), [398, 396, 411, 394, 394, 402, 401, 404, 402, 398])
    np.testing.assert_array_equal(np.bincount(y_test), [102, 104, 89, 106, 106, 98, 99, 96, 98, 102])
    np.testing.assert_array_equal(y_train[:10], [2, 6, 4, 5, 6, 6, 6, 0, 3, 1])
    np.testing.assert_array_equal(y_test[:10], [2, 6, 3, 9, 4, 3, 1, 9, 5, 2])


@needs_mnist1d
def test_centred_and_scaled_as_the_package_does():
    X_train, _, X_test, _ = datasets.load_mnist1d()
    X = np.concatenate([X_train, X_test]).astype(np.float64)
    assert abs(X.mean()) < 1e-6 and abs(X.std() - 1.0) < 1e-6  # over all 5,000 samples
    np.testing.assert_allclose(X_train[0, :5], [-0.332006, -0.47191, -0.778697, -1.009741, -0.882353],
                               atol=1e-4)


@needs_mnist1d
def test_same_data_as_mnist1d_default_arguments():
    from mnist1d.data import get_dataset_args, make_dataset

    state = np.random.get_state(), random.getstate()
    try:
        reference = make_dataset(get_dataset_args())
    finally:
        np.random.set_state(state[0])
        random.setstate(state[1])
    X_train, y_train, X_test, y_test = datasets.load_mnist1d()
    np.testing.assert_array_equal(X_train, reference["x"].astype(np.float32))
    np.testing.assert_array_equal(y_train, reference["y"])
    np.testing.assert_array_equal(X_test, reference["x_test"].astype(np.float32))
    np.testing.assert_array_equal(y_test, reference["y_test"])


@needs_mnist1d
def test_generation_does_not_touch_the_network_or_write_files(fresh_generation, monkeypatch, tmp_path):
    def refuse(*args, **kwargs):
        raise AssertionError("load_mnist1d tried to open a network connection")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.chdir(tmp_path)  # get_dataset would write ./mnist1d_data.pkl here
    X_train, _, _, _ = datasets.load_mnist1d()
    assert X_train.shape == (4000, 40)
    assert list(tmp_path.iterdir()) == []


@needs_mnist1d
def test_global_random_state_is_left_as_it_was(fresh_generation):
    # mnist1d's generator seeds NumPy's and Python's global generators with 42.
    np.random.seed(123)
    random.seed(123)
    expected = np.random.rand(), random.random()
    np.random.seed(123)
    random.seed(123)
    datasets.load_mnist1d()
    assert (np.random.rand(), random.random()) == expected


@needs_mnist1d
def test_returns_fresh_arrays_and_generates_once(monkeypatch):
    X1, y1, _, _ = datasets.load_mnist1d()
    X1[...] = 0.0
    y1[...] = -1

    def refuse():
        raise AssertionError("load_mnist1d generated the data a second time")

    monkeypatch.setattr(datasets, "_generate_mnist1d", refuse)
    X2, y2, _, _ = datasets.load_mnist1d()
    assert X2.std() > 0.5 and y2.min() == 0


def test_without_the_package_the_error_names_the_extra(fresh_generation, monkeypatch):
    # None in sys.modules makes `import mnist1d` raise ImportError, as if not installed.
    monkeypatch.setitem(sys.modules, "mnist1d", None)
    monkeypatch.setitem(sys.modules, "mnist1d.data", None)
    with pytest.raises(ImportError, match=r'mnist1d package.*"datasets" extra: pip install -e "\.\[datasets\]"'):
        datasets.load_mnist1d()
    assert datasets._mnist1d_arrays is None  # nothing half-made is kept


def test_in_the_public_names():
    assert "load_mnist1d" in datasets.__all__


def test_a_file_named_mnist1d_that_hides_the_package_is_named(fresh_generation, monkeypatch):
    # `python examples/mnist1d.py` puts examples/ first on sys.path: its own name hides the package.
    shadow = types.ModuleType("mnist1d")
    shadow.__file__ = "/somewhere/examples/mnist1d.py"
    monkeypatch.setitem(sys.modules, "mnist1d", shadow)
    monkeypatch.delitem(sys.modules, "mnist1d.data", raising=False)
    with pytest.raises(ImportError, match=r"found the file /somewhere/examples/mnist1d\.py, which hides it"):
        datasets.load_mnist1d()
