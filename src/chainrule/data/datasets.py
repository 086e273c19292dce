r"""Toy classification datasets and the real 8x8 handwritten digits.

Every ``make_*`` function returns ``(X, y)`` with ``X`` float32 of shape
``(n_samples, n_features)`` and ``y`` int64 of shape ``(n_samples,)``, the samples in
random order. All randomness comes from one ``numpy.random.Generator``:
``np.random.default_rng(seed)`` when ``seed`` is given, the ``rng=`` passed in, or else the
package default generator (see ``cr.manual_seed``). The same seed gives the same data.

`load_digits` reads the UCI optical-recognition digits shipped inside the package;
`load_mnist1d` generates MNIST-1D locally with the optional ``mnist1d`` package. Nothing is
downloaded.
"""

from __future__ import annotations

import numbers
import random
import reprlib
import sys
from importlib import resources

import numpy as np

from .._config import resolve_rng

__all__ = ["make_xor", "make_spirals", "make_moons", "make_circles", "make_blobs", "load_digits",
           "load_mnist1d"]

# The XOR corners, in an order that alternates labels so that a remainder of samples
# goes to both classes: (sign of x0, sign of x1) -> label = [x0 > 0] XOR [x1 > 0].
_XOR_CORNERS = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, 1.0], [1.0, -1.0]])
_XOR_LABELS = np.array([0, 1, 0, 1])


def make_xor(n_samples: int = 200, noise: float = 0.2, seed=None, *, rng=None):
    r"""The XOR problem: four Gaussian clusters at the corners $(\pm 1, \pm 1)$.

    The samples are spread evenly over the four corners (the first corners in the order
    $(-1,-1), (-1,1), (1,1), (1,-1)$ get one more when ``n_samples`` is not a multiple of
    4), and Gaussian noise of standard deviation ``noise`` is added to each. A sample's
    label is its corner's: $y = [c_0 > 0] \oplus [c_1 > 0]$, i.e. 1 where the corner's two
    coordinates have different signs. No line separates the classes, a network with one
    hidden layer does; with the default ``noise=0.2`` the clusters do not overlap, with
    ``noise=0`` the data are the four classic XOR points repeated.

    Args:
        n_samples: total number of samples, a positive int. Default: 200.
        noise: standard deviation of the Gaussian noise, >= 0. Default: 0.2.
        seed: a non-negative int for reproducible data. Default: None.
        rng: a ``numpy.random.Generator`` to draw from instead of ``seed`` (keyword-only).

    Returns:
        ``(X, y)``: float32 ``(n_samples, 2)`` and int64 ``(n_samples,)`` labels in {0, 1}.

    Raises:
        ValueError: if ``n_samples`` is not a positive int or ``noise`` is negative.
    """
    n_samples = _check_n_samples(n_samples, "make_xor")
    noise = _check_noise(noise, "make_xor")
    generator = resolve_rng(seed, rng, "make_xor")
    corner = np.arange(n_samples) % 4
    X = _XOR_CORNERS[corner] + noise * generator.standard_normal((n_samples, 2))
    y = _XOR_LABELS[corner]
    return _shuffled(X, y, generator)


def make_spirals(n_samples: int = 300, n_classes: int = 3, noise: float = 0.05, seed=None,
                 *, rng=None):
    r"""Interleaved spiral arms, one per class, all starting near the origin.

    Class $k$ of $K$ gets $m_k$ points ($\lfloor N/K \rfloor$, plus one for the first
    $N \bmod K$ classes) at radii $r_j = j / m_k$, $j = 1, \dots, m_k$, and angles

    $$\theta_j = \frac{2\pi k}{K} + 4 r_j,$$

    i.e. $x = r_j (\cos\theta_j, \sin\theta_j)$ plus Gaussian noise of standard deviation
    ``noise``. The arms turn by 4 radians from the centre to radius 1 (the layout of the
    CS231n spiral example) and are evenly spaced in angle. With the defaults a linear
    classifier gets about half of the points right; a small MLP separates the arms.

    Args:
        n_samples: total number of samples, an int >= ``n_classes``. Default: 300.
        n_classes: number of arms (classes), an int >= 2. Default: 3.
        noise: standard deviation of the Gaussian noise added to the points, >= 0.
            Default: 0.05.
        seed: a non-negative int for reproducible data. Default: None.
        rng: a ``numpy.random.Generator`` to draw from instead of ``seed`` (keyword-only).

    Returns:
        ``(X, y)``: float32 ``(n_samples, 2)`` and int64 ``(n_samples,)`` labels in
        ``0 .. n_classes-1``.

    Raises:
        ValueError: if ``n_classes < 2``, ``n_samples < n_classes`` or ``noise < 0``.
    """
    n_classes = _check_int(n_classes, "make_spirals", "n_classes", minimum=2)
    n_samples = _check_int(n_samples, "make_spirals", "n_samples", minimum=n_classes,
                           reason=f"n_classes = {n_classes}")
    noise = _check_noise(noise, "make_spirals")
    generator = resolve_rng(seed, rng, "make_spirals")
    counts = _split_evenly(n_samples, n_classes)
    y = np.repeat(np.arange(n_classes), counts)
    # Position of each sample along its arm: j / m_k for j = 1..m_k.
    starts = np.cumsum(counts) - counts
    r = (np.arange(n_samples) - starts[y] + 1) / counts[y]
    theta = 2.0 * np.pi * y / n_classes + 4.0 * r
    X = r[:, None] * np.stack([np.cos(theta), np.sin(theta)], axis=1)
    X += noise * generator.standard_normal((n_samples, 2))
    return _shuffled(X, y, generator)


def make_moons(n_samples: int = 100, noise: float | None = None, seed=None, *, rng=None):
    r"""Two interleaving half circles, as scikit-learn's ``make_moons``.

    The upper moon (label 0) is $(\cos t, \sin t)$ for $t$ evenly spaced in $[0, \pi]$,
    with $\lfloor N/2 \rfloor$ points; the lower moon (label 1) is
    $(1 - \cos t, \tfrac12 - \sin t)$ with the remaining $\lceil N/2 \rceil$. Gaussian
    noise of standard deviation ``noise`` is then added.

    Args:
        n_samples: total number of samples, a positive int. Default: 100.
        noise: standard deviation of the Gaussian noise, >= 0; None means 0.
            Default: None.
        seed: a non-negative int for reproducible data. Default: None.
        rng: a ``numpy.random.Generator`` to draw from instead of ``seed`` (keyword-only).

    Returns:
        ``(X, y)``: float32 ``(n_samples, 2)`` and int64 ``(n_samples,)`` labels in {0, 1}.

    Raises:
        ValueError: if ``n_samples`` is not a positive int or ``noise`` is negative.
    """
    n_samples = _check_n_samples(n_samples, "make_moons")
    noise = _check_noise(noise, "make_moons")
    generator = resolve_rng(seed, rng, "make_moons")
    n_out = n_samples // 2
    n_in = n_samples - n_out
    t_out = np.linspace(0.0, np.pi, n_out)
    t_in = np.linspace(0.0, np.pi, n_in)
    X = np.concatenate([
        np.stack([np.cos(t_out), np.sin(t_out)], axis=1),
        np.stack([1.0 - np.cos(t_in), 0.5 - np.sin(t_in)], axis=1),
    ])
    y = np.repeat([0, 1], [n_out, n_in])
    if noise:
        X += noise * generator.standard_normal(X.shape)
    return _shuffled(X, y, generator)


def make_circles(n_samples: int = 100, noise: float | None = None, factor: float = 0.8,
                 seed=None, *, rng=None):
    r"""A circle inside a circle, as scikit-learn's ``make_circles``.

    The outer circle (label 0) has radius 1 and $\lfloor N/2 \rfloor$ points, the inner
    one (label 1) radius ``factor`` and the remaining $\lceil N/2 \rceil$; on each circle
    the angles are evenly spaced in $[0, 2\pi)$. Gaussian noise of standard deviation
    ``noise`` is then added.

    Args:
        n_samples: total number of samples, a positive int. Default: 100.
        noise: standard deviation of the Gaussian noise, >= 0; None means 0.
            Default: None.
        factor: radius of the inner circle relative to the outer, in [0, 1). Default: 0.8.
        seed: a non-negative int for reproducible data. Default: None.
        rng: a ``numpy.random.Generator`` to draw from instead of ``seed`` (keyword-only).

    Returns:
        ``(X, y)``: float32 ``(n_samples, 2)`` and int64 ``(n_samples,)`` labels in {0, 1}.

    Raises:
        ValueError: if ``n_samples`` is not a positive int, ``noise`` is negative or
            ``factor`` is outside [0, 1).
    """
    n_samples = _check_n_samples(n_samples, "make_circles")
    noise = _check_noise(noise, "make_circles")
    factor = _check_real(factor, "make_circles", "factor")
    if not 0.0 <= factor < 1.0:
        raise ValueError(f"make_circles factor must be in [0, 1), got {factor!r}")
    generator = resolve_rng(seed, rng, "make_circles")
    n_out = n_samples // 2
    n_in = n_samples - n_out
    t_out = np.linspace(0.0, 2.0 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0.0, 2.0 * np.pi, n_in, endpoint=False)
    X = np.concatenate([
        np.stack([np.cos(t_out), np.sin(t_out)], axis=1),
        factor * np.stack([np.cos(t_in), np.sin(t_in)], axis=1),
    ])
    y = np.repeat([0, 1], [n_out, n_in])
    if noise:
        X += noise * generator.standard_normal(X.shape)
    return _shuffled(X, y, generator)


def make_blobs(n_samples: int = 100, n_features: int = 2, centers=3, cluster_std=1.0,
               seed=None, *, center_box=(-10.0, 10.0), rng=None):
    r"""Isotropic Gaussian clusters, as scikit-learn's ``make_blobs``.

    Cluster $k$ (label $k$) is $\mathcal N(c_k, \sigma_k^2 I)$ with $\lfloor N/K \rfloor$
    samples, plus one for each of the first $N \bmod K$ clusters.

    Args:
        n_samples: total number of samples, a positive int. Default: 100.
        n_features: dimension of the samples when ``centers`` is an int. Default: 2.
        centers: an int $K \ge 1$, to draw $K$ centres uniformly in ``center_box`` along
            each axis; or an array-like of shape ``(K, F)`` of fixed centres, whose ``F``
            then sets the number of features (``n_features`` is not used). Default: 3.
        cluster_std: the standard deviation $\sigma$ of every cluster, or a sequence of
            $K$ of them, each >= 0. Default: 1.0.
        seed: a non-negative int for reproducible data. Default: None.
        center_box: ``(low, high)`` bounds for random centres (keyword-only).
            Default: (-10.0, 10.0).
        rng: a ``numpy.random.Generator`` to draw from instead of ``seed`` (keyword-only).

    Returns:
        ``(X, y)``: float32 ``(n_samples, F)`` and int64 ``(n_samples,)`` labels in
        ``0 .. K-1``.

    Raises:
        ValueError: for a non-positive ``n_samples``/``n_features``/``centers``, centres
            that are not a 2-D array of finite numbers (ragged rows, text), a
            ``cluster_std`` of the wrong length or negative, or
            ``center_box`` with ``low > high``.
    """
    n_samples = _check_n_samples(n_samples, "make_blobs")
    generator = resolve_rng(seed, rng, "make_blobs")
    if isinstance(centers, numbers.Integral) and not isinstance(centers, (bool, np.bool_)):
        n_centers = _check_int(centers, "make_blobs", "centers", minimum=1)
        n_features = _check_int(n_features, "make_blobs", "n_features", minimum=1)
        try:
            low, high = (float(v) for v in center_box)
        except (TypeError, ValueError):
            raise ValueError(
                f"make_blobs center_box must be a pair (low, high), got {center_box!r}"
            ) from None
        if not low <= high:
            raise ValueError(f"make_blobs center_box must have low <= high, got {center_box!r}")
        centres = generator.uniform(low, high, size=(n_centers, n_features))
    else:
        centres = _centres_array(centers)
        n_centers = centres.shape[0]
    stds = np.asarray(cluster_std, dtype=np.float64)
    if stds.ndim == 0:
        stds = np.full(n_centers, float(stds))
    if stds.shape != (n_centers,):
        raise ValueError(
            f"make_blobs cluster_std must be a number or have one entry per center "
            f"({n_centers}), got shape {stds.shape}"
        )
    if np.any(stds < 0) or not np.all(np.isfinite(stds)):
        raise ValueError(f"make_blobs cluster_std must be finite and >= 0, got {cluster_std!r}")
    y = np.repeat(np.arange(n_centers), _split_evenly(n_samples, n_centers))
    X = centres[y] + stds[y, None] * generator.standard_normal((n_samples, centres.shape[1]))
    return _shuffled(X, y, generator)


def load_digits():
    r"""The UCI "Optical Recognition of Handwritten Digits" test set: 1,797 images of
    8x8 pixels, 10 classes.

    Each pixel counts the set pixels in a 4x4 block of a 32x32 bitmap, so it lies in
    $0 \dots 16$; ``X`` holds the pixels divided by 16, row by row (pixel $(r, c)$ of image
    $i$ is ``X[i, 8 * r + c]``). The data ship inside the package
    (``chainrule/data/digits.npz``; attribution and licence, CC BY 4.0, in
    ``chainrule/data/DIGITS-LICENSE.txt``) and are read from there, never downloaded.

    Returns:
        ``(X, y)``: float32 ``(1797, 64)`` in $[0, 1]$ and int64 ``(1797,)`` labels in
        ``0 .. 9`` (178, 182, 177, 183, 181, 182, 181, 179, 174 and 180 samples).

    Examples:
        >>> X, y = load_digits()
        >>> X.reshape(-1, 8, 8)[0]   # a zero
    """
    source = resources.files(__package__).joinpath("digits.npz")
    with source.open("rb") as f, np.load(f, allow_pickle=False) as archive:
        images = archive["images"]
        target = archive["target"]
    X = images.reshape(images.shape[0], -1).astype(np.float32) / np.float32(16.0)
    return X, target.astype(np.int64)


# MNIST-1D as generated once in this process: (X_train, y_train, X_test, y_test), 0.8 MB.
_mnist1d_arrays = None


def load_mnist1d():
    r"""MNIST-1D (Greydanus & Kobak, 2020): 5,000 one-dimensional "digits" of 40 points,
    10 classes, split 4,000 / 1,000 for training and test as in the paper.

    Each sample is one of ten hand-made 12-point templates, padded, translated, sheared,
    scaled, smoothed and made noisy at random, then resampled to 40 points; the whole set is
    centred and scaled to standard deviation 1. The data are generated here by the ``mnist1d``
    package's local generator (``mnist1d.data.make_dataset``) with its default arguments
    (``get_dataset_args()``: 5,000 samples, 80 % for training, seed 42), the paper's split;
    nothing is downloaded (the package's ``get_dataset`` would fetch a pickle from the web:
    it is not called). Generating takes about a second; the arrays are kept for the rest of
    the process and each call returns fresh copies. The generator seeds NumPy's and
    Python's global random state; ``load_mnist1d`` puts both back as they were.

    Returns:
        ``(X_train, y_train, X_test, y_test)``: float32 ``(4000, 40)``, int64 ``(4000,)``,
        float32 ``(1000, 40)`` and int64 ``(1000,)``, labels in ``0 .. 9``.

    Raises:
        ImportError: if the ``mnist1d`` package is not installed (it is chainrule's optional
            ``datasets`` extra: ``pip install -e ".[datasets]"``).

    Examples:
        >>> X_train, y_train, X_test, y_test = load_mnist1d()
        >>> X_train.reshape(-1, 1, 40).shape   # (N, channels, length) for nn.Conv1d
        (4000, 1, 40)
    """
    global _mnist1d_arrays
    if _mnist1d_arrays is None:
        _mnist1d_arrays = _generate_mnist1d()
    return tuple(array.copy() for array in _mnist1d_arrays)


def _generate_mnist1d():
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as error:
        shadow = getattr(sys.modules.get("mnist1d"), "__file__", None)
        if shadow is not None and not hasattr(sys.modules["mnist1d"], "__path__"):
            raise ImportError(
                f"load_mnist1d imports the mnist1d package, but `import mnist1d` found the file {shadow}, "
                f"which hides it: rename that file, or take its folder off sys.path"
            ) from error
        raise ImportError(
            "load_mnist1d needs the mnist1d package, which generates MNIST-1D locally; it is "
            'chainrule\'s optional "datasets" extra: pip install -e ".[datasets]" '
            f"(or pip install mnist1d). Importing it failed with: {error}"
        ) from error
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:  # make_dataset calls np.random.seed(42) and random.seed(42) and draws from them
        dataset = make_dataset(get_dataset_args())
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
    arrays = (dataset["x"].astype(np.float32), dataset["y"].astype(np.int64),
              dataset["x_test"].astype(np.float32), dataset["y_test"].astype(np.int64))
    shapes = tuple(array.shape for array in arrays)
    if shapes != ((4000, 40), (4000,), (1000, 40), (1000,)):
        raise RuntimeError(
            f"load_mnist1d expected the paper's split from mnist1d's default arguments, shapes "
            f"(4000, 40), (4000,), (1000, 40), (1000,); this mnist1d version gave {shapes}"
        )
    return arrays


def _centres_array(centers) -> np.ndarray:
    """``make_blobs``'s fixed ``centers`` as a float64 ``(K, F)`` array, or a ValueError that
    says what is wrong with them."""
    expected = "make_blobs centers must be an int or an array of shape (K, F)"
    try:
        centres = np.asarray(centers, dtype=np.float64)
    except (TypeError, ValueError):
        lengths = _row_lengths(centers)
        if lengths is not None and len(set(lengths)) > 1:
            raise ValueError(
                f"{expected}, every centre with the same number F of features; "
                f"got rows of lengths {lengths}"
            ) from None
        raise ValueError(f"{expected} of numbers, got {reprlib.repr(centers)}") from None
    if centres.ndim == 0:
        raise ValueError(f"{expected}, got {centers!r}")
    if centres.ndim != 2 or centres.shape[0] < 1 or centres.shape[1] < 1:
        raise ValueError(f"{expected}, got shape {centres.shape}")
    if not np.all(np.isfinite(centres)):
        raise ValueError(f"{expected} of finite numbers, got {reprlib.repr(centers)}")
    return centres


def _row_lengths(rows) -> list[int] | None:
    """The length of each row of a nested sequence, or None if it is not one."""
    try:
        return [len(row) for row in rows]
    except TypeError:
        return None


def _shuffled(X: np.ndarray, y: np.ndarray, generator: np.random.Generator):
    """Cast to (float32, int64) and put the samples in random order."""
    perm = generator.permutation(y.shape[0])
    return X[perm].astype(np.float32), y[perm].astype(np.int64)


def _split_evenly(n: int, k: int) -> np.ndarray:
    """``k`` counts summing to ``n``: ``n // k`` each, one more for the first ``n % k``."""
    return n // k + (np.arange(k) < n % k)


def _check_int(value, owner: str, name: str, minimum: int, reason: str | None = None) -> int:
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral)
            or value < minimum):
        why = f" ({reason})" if reason else ""
        raise ValueError(f"{owner} {name} must be an int >= {minimum}{why}, got {value!r}")
    return int(value)


def _check_n_samples(n_samples, owner: str) -> int:
    return _check_int(n_samples, owner, "n_samples", minimum=1)


def _check_real(value, owner: str, name: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner} {name} must be a real number, got {value!r}")
    return float(value)


def _check_noise(noise, owner: str) -> float:
    if noise is None:
        return 0.0
    noise = _check_real(noise, owner, "noise")
    if not noise >= 0.0 or noise == float("inf"):
        raise ValueError(f"{owner} noise must be a finite number >= 0, got {noise!r}")
    return noise
