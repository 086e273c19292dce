"""Toy dataset generators and the shipped digits."""

import socket
import urllib.request
from importlib import resources

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import DataLoader, TensorDataset, datasets

MAKERS = {
    "make_xor": datasets.make_xor,
    "make_spirals": datasets.make_spirals,
    "make_moons": datasets.make_moons,
    "make_circles": datasets.make_circles,
    "make_blobs": datasets.make_blobs,
}


# --------------------------------------------------------------------------- common contract


@pytest.mark.parametrize(
    "name, n",
    # make_spirals needs n_samples >= n_classes >= 2, so its smallest case is 2.
    [(name, n) for name in MAKERS for n in (1, 7, 100) if (name, n) != ("make_spirals", 1)]
    + [("make_spirals", 2)],
)
def test_shapes_and_dtypes(name, n):
    kwargs = {"n_classes": 2} if name == "make_spirals" else {}
    X, y = MAKERS[name](n, seed=0, **kwargs)
    assert X.shape == (n, 2) and X.dtype == np.float32
    assert y.shape == (n,) and y.dtype == np.int64
    assert np.all(np.isfinite(X))


@pytest.mark.parametrize("name", MAKERS)
def test_same_seed_same_data_other_seed_other_data(name):
    X1, y1 = MAKERS[name](seed=3)
    X2, y2 = MAKERS[name](seed=3)
    X3, y3 = MAKERS[name](seed=4)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


@pytest.mark.parametrize("name", MAKERS)
def test_rng_argument_matches_seed(name):
    X1, y1 = MAKERS[name](seed=5)
    X2, y2 = MAKERS[name](rng=np.random.default_rng(5))
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)


@pytest.mark.parametrize("name", MAKERS)
def test_without_seed_uses_package_generator_not_numpy_global(name):
    np.random.seed(0)
    legacy_state = np.random.get_state()[1].copy()
    cr.manual_seed(21)
    X1, y1 = MAKERS[name]()
    cr.manual_seed(21)
    X2, y2 = MAKERS[name]()
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    X3, _ = MAKERS[name]()  # the generator moved on
    assert not np.array_equal(X1, X3)
    # numpy's global RandomState was never touched
    np.testing.assert_array_equal(np.random.get_state()[1], legacy_state)


@pytest.mark.parametrize("name", MAKERS)
def test_samples_come_shuffled(name):
    _, y = MAKERS[name](seed=0)
    assert not np.all(np.diff(y) >= 0)  # not sorted by class


@pytest.mark.parametrize("name", MAKERS)
@pytest.mark.parametrize("n_samples", [0, -5, 2.5, True, "10"])
def test_bad_n_samples(name, n_samples):
    with pytest.raises(ValueError, match=f"{name} n_samples must be an int >= "):
        MAKERS[name](n_samples, seed=0)


@pytest.mark.parametrize("name", ["make_xor", "make_spirals", "make_moons", "make_circles"])
def test_bad_noise(name):
    with pytest.raises(ValueError, match=f"{name} noise must be a finite number >= 0, got -0.1"):
        MAKERS[name](noise=-0.1, seed=0)
    with pytest.raises(ValueError, match=f"{name} noise must be a finite number >= 0, got nan"):
        MAKERS[name](noise=float("nan"), seed=0)
    with pytest.raises(TypeError, match=f"{name} noise must be a real number, got 'low'"):
        MAKERS[name](noise="low", seed=0)


@pytest.mark.parametrize("name", MAKERS)
def test_bad_seed(name):
    with pytest.raises(ValueError, match=f"{name} seed must be a non-negative int or None, got -1"):
        MAKERS[name](seed=-1)
    with pytest.raises(ValueError, match=f"{name} takes seed or rng, not both"):
        MAKERS[name](seed=1, rng=np.random.default_rng(1))


def test_api_example_runs_through_a_loader():
    X, y = datasets.make_moons(1000, noise=0.1, seed=0)
    loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True, seed=0)
    assert len(loader) == 32
    xb, yb = next(iter(loader))
    assert xb.shape == (32, 2) and xb.dtype == np.float32 and yb.dtype == np.int64


# --------------------------------------------------------------------------- XOR


def test_xor_class_balance_and_labels():
    X, y = datasets.make_xor(200, seed=0)
    np.testing.assert_array_equal(np.bincount(y), [100, 100])
    # corners (-1,-1), (-1,1), (1,1), (1,-1) get 2, 2, 2, 1 of 7 samples
    _, y7 = datasets.make_xor(7, noise=0.0, seed=0)
    np.testing.assert_array_equal(np.bincount(y7), [4, 3])


def test_xor_noiseless_points_are_the_corners():
    X, y = datasets.make_xor(40, noise=0.0, seed=0)
    assert set(map(tuple, X.tolist())) == {(-1.0, -1.0), (-1.0, 1.0), (1.0, 1.0), (1.0, -1.0)}
    np.testing.assert_array_equal(y, (X[:, 0] > 0) != (X[:, 1] > 0))
    for corner in ([-1, -1], [-1, 1], [1, 1], [1, -1]):
        assert np.sum(np.all(X == corner, axis=1)) == 10


def test_xor_default_noise_keeps_clusters_in_their_quadrants():
    X, y = datasets.make_xor(400, seed=0)
    np.testing.assert_array_equal(y, (X[:, 0] > 0) != (X[:, 1] > 0))
    spread = X - np.sign(X)  # offset from the corner
    assert 0.17 < spread.std() < 0.23  # noise=0.2


# --------------------------------------------------------------------------- spirals


def test_spirals_class_balance():
    _, y = datasets.make_spirals(300, seed=0)
    np.testing.assert_array_equal(np.bincount(y), [100, 100, 100])
    _, y = datasets.make_spirals(10, n_classes=3, seed=0)
    np.testing.assert_array_equal(np.bincount(y), [4, 3, 3])
    _, y = datasets.make_spirals(50, n_classes=5, seed=0)
    np.testing.assert_array_equal(np.bincount(y), [10] * 5)


def test_spirals_noiseless_geometry():
    K = 4
    X, y = datasets.make_spirals(80, n_classes=K, noise=0.0, seed=0)
    r = np.hypot(X[:, 0], X[:, 1]).astype(np.float64)
    # radii j/20, j = 1..20, on every arm
    for k in range(K):
        np.testing.assert_allclose(np.sort(r[y == k]), np.arange(1, 21) / 20, atol=1e-6)
    # angle = 2 pi k / K + 4 r  (mod 2 pi)
    theta = np.arctan2(X[:, 1], X[:, 0]).astype(np.float64)
    residual = np.angle(np.exp(1j * (theta - 2 * np.pi * y / K - 4 * r)))
    np.testing.assert_allclose(residual, 0.0, atol=1e-5)


def test_spirals_validation():
    with pytest.raises(ValueError, match="make_spirals n_classes must be an int >= 2, got 1"):
        datasets.make_spirals(10, n_classes=1)
    with pytest.raises(ValueError, match=r"make_spirals n_samples must be an int >= 3 \(n_classes = 3\), got 2"):
        datasets.make_spirals(2, n_classes=3)


# --------------------------------------------------------------------------- moons


def test_moons_noiseless_points_by_hand():
    # n=5: upper moon t in {0, pi} -> (1, 0), (-1, 0); lower moon t in {0, pi/2, pi}
    # -> (1 - cos t, 1/2 - sin t) = (0, .5), (1, -.5), (2, .5)
    X, y = datasets.make_moons(5, seed=0)
    order = np.lexsort((X[:, 1], X[:, 0], y))
    np.testing.assert_allclose(
        X[order], [[-1, 0], [1, 0], [0, 0.5], [1, -0.5], [2, 0.5]], atol=1e-6
    )
    np.testing.assert_array_equal(y[order], [0, 0, 1, 1, 1])


def test_moons_noiseless_geometry_and_balance():
    X, y = datasets.make_moons(101, noise=None, seed=0)
    np.testing.assert_array_equal(np.bincount(y), [50, 51])
    X = X.astype(np.float64)
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, atol=1e-6)
    assert np.all(upper[:, 1] >= -1e-7)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0, atol=1e-6)
    assert np.all(lower[:, 1] <= 0.5 + 1e-7)
    np.testing.assert_array_equal(datasets.make_moons(50, noise=0.0, seed=0)[0],
                                  datasets.make_moons(50, noise=None, seed=0)[0])


def test_moons_noise_is_gaussian_with_that_std():
    X0, y0 = datasets.make_moons(4000, seed=1)
    Xn, yn = datasets.make_moons(4000, noise=0.1, seed=1)
    upper = Xn[yn == 0].astype(np.float64)
    radial = np.hypot(upper[:, 0], upper[:, 1]) - 1.0
    assert 0.08 < radial.std() < 0.12
    assert abs(radial.mean()) < 0.02


# --------------------------------------------------------------------------- circles


def test_circles_noiseless_geometry():
    X, y = datasets.make_circles(8, factor=0.5, seed=0)
    X = X.astype(np.float64)
    np.testing.assert_array_equal(np.bincount(y), [4, 4])
    np.testing.assert_allclose(np.hypot(*X[y == 0].T), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.hypot(*X[y == 1].T), 0.5, atol=1e-6)
    # 4 points per circle, evenly spaced from angle 0: (1,0), (0,1), (-1,0), (0,-1)
    outer = X[y == 0]
    np.testing.assert_allclose(outer[np.lexsort(outer.T[::-1])], [[-1, 0], [0, -1], [0, 1], [1, 0]], atol=1e-6)


def test_circles_balance_default_factor_and_noise():
    X, y = datasets.make_circles(101, noise=0.05, seed=0)
    np.testing.assert_array_equal(np.bincount(y), [50, 51])
    r = np.hypot(*X.astype(np.float64).T)
    assert abs(r[y == 0].mean() - 1.0) < 0.03
    assert abs(r[y == 1].mean() - 0.8) < 0.03  # factor=0.8 by default


@pytest.mark.parametrize("factor", [1.0, -0.1, 1.5])
def test_circles_bad_factor(factor):
    with pytest.raises(ValueError, match=rf"make_circles factor must be in \[0, 1\), got {factor}"):
        datasets.make_circles(factor=factor)


# --------------------------------------------------------------------------- blobs


def test_blobs_given_centers():
    centers = np.array([[0.0, 0.0, 0.0], [10.0, 10.0, -5.0], [-10.0, 5.0, 2.0]])
    X, y = datasets.make_blobs(3001, centers=centers, cluster_std=[0.5, 1.0, 2.0], seed=0)
    assert X.shape == (3001, 3)  # the centres set the number of features
    np.testing.assert_array_equal(np.bincount(y), [1001, 1000, 1000])
    for k, std in enumerate([0.5, 1.0, 2.0]):
        Xk = X[y == k].astype(np.float64)
        np.testing.assert_allclose(Xk.mean(axis=0), centers[k], atol=4 * std / np.sqrt(1000))
        np.testing.assert_allclose(Xk.std(axis=0), std, rtol=0.1)


def test_blobs_random_centers_in_box():
    X, y = datasets.make_blobs(60, n_features=4, centers=5, cluster_std=0.0, seed=0,
                               center_box=(-2.0, 3.0))
    assert X.shape == (60, 4)
    np.testing.assert_array_equal(np.bincount(y), [12] * 5)
    for k in range(5):
        rows = np.unique(X[y == k], axis=0)
        assert rows.shape == (1, 4)  # zero spread: every sample is the centre
    assert X.min() >= -2.0 and X.max() <= 3.0
    assert len(np.unique(X, axis=0)) == 5


def test_blobs_default_balance():
    X, y = datasets.make_blobs(seed=0)
    assert X.shape == (100, 2)
    np.testing.assert_array_equal(np.bincount(y), [34, 33, 33])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"centers": 0}, "make_blobs centers must be an int >= 1, got 0"),
        ({"n_features": 0}, "make_blobs n_features must be an int >= 1, got 0"),
        ({"centers": [1.0, 2.0]}, r"make_blobs centers must be an int or an array of shape \(K, F\), got shape \(2,\)"),
        ({"cluster_std": [1.0, 2.0]}, r"cluster_std must be a number or have one entry per center \(3\), got shape \(2,\)"),
        ({"cluster_std": -1.0}, r"make_blobs cluster_std must be finite and >= 0, got -1.0"),
        ({"center_box": (1.0, -1.0)}, r"make_blobs center_box must have low <= high, got \(1.0, -1.0\)"),
        ({"center_box": 3.0}, r"make_blobs center_box must be a pair \(low, high\), got 3.0"),
        # ragged centres: NumPy's "inhomogeneous shape" error used to come through as it was
        ({"centers": [[0.0, 0.0], [1.0]]}, r"make_blobs centers must be an int or an array of shape \(K, F\), every "
                                           r"centre with the same number F of features; got rows of lengths \[2, 1\]"),
        ({"centers": [[0.0, 0.0, 0.0], [1.0, 1.0], [2.0]]}, r"got rows of lengths \[3, 2, 1\]"),
        ({"centers": [[0.0, 0.0], [1.0, "x"]]},
         r"make_blobs centers must be an int or an array of shape \(K, F\) of numbers, "
         r"got \[\[0.0, 0.0\], \[1.0, 'x'\]\]"),
        ({"centers": [[0.0, np.nan]]}, r"make_blobs centers must be .* of finite numbers, got \[\[0.0, nan\]\]"),
        ({"centers": None}, r"make_blobs centers must be an int or an array of shape \(K, F\), got None"),
        ({"centers": 2.5}, r"make_blobs centers must be an int or an array of shape \(K, F\), got 2.5"),
    ],
)
def test_blobs_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        datasets.make_blobs(seed=0, **kwargs)


# --------------------------------------------------------------------------- digits

# The first image of the set, a zero, as pixel counts 0..16 (UCI optdigits.tes, row 1).
FIRST_DIGIT = np.array([
    [0, 0, 5, 13, 9, 1, 0, 0],
    [0, 0, 13, 15, 10, 15, 5, 0],
    [0, 3, 15, 2, 0, 11, 8, 0],
    [0, 4, 12, 0, 0, 8, 8, 0],
    [0, 5, 8, 0, 0, 9, 8, 0],
    [0, 4, 11, 0, 1, 12, 7, 0],
    [0, 2, 14, 5, 10, 12, 0, 0],
    [0, 0, 6, 13, 10, 0, 0, 0],
])


def test_load_digits_shape_dtype_range():
    X, y = datasets.load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    counts16 = X * 16
    np.testing.assert_array_equal(counts16, np.round(counts16))  # k/16 exactly


def test_load_digits_class_counts():
    _, y = datasets.load_digits()
    np.testing.assert_array_equal(np.bincount(y), [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])


def test_load_digits_spot_check():
    X, y = datasets.load_digits()
    assert y[0] == 0
    np.testing.assert_array_equal(X[0].reshape(8, 8), FIRST_DIGIT / 16)
    np.testing.assert_array_equal(y[:10], np.arange(10))  # the set starts 0, 1, ..., 9
    assert X.sum(dtype=np.float64) * 16 == 561718  # total ink: every pixel of every image


def test_load_digits_does_not_touch_the_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("load_digits tried to open a network connection")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    X, y = datasets.load_digits()
    assert X.shape == (1797, 64)


def test_load_digits_returns_fresh_arrays():
    X1, y1 = datasets.load_digits()
    X1[...] = 0.0
    y1[...] = 0
    X2, y2 = datasets.load_digits()
    assert X2.max() == 1.0 and y2.max() == 9


def test_digits_file_and_licence_ship_in_the_package():
    folder = resources.files("chainrule.data")
    with folder.joinpath("digits.npz").open("rb") as f, np.load(f, allow_pickle=False) as archive:
        assert set(archive.files) == {"images", "target"}
        assert archive["images"].dtype == np.uint8 and archive["images"].shape == (1797, 8, 8)
        assert archive["target"].dtype == np.uint8 and archive["target"].shape == (1797,)
        assert archive["images"].max() == 16
    licence = folder.joinpath("DIGITS-LICENSE.txt").read_text(encoding="utf-8")
    for needed in ("Alpaydin", "Kaynak", "https://doi.org/10.24432/C50P49", "CC BY 4.0"):
        assert needed in licence
