r"""Datasets: the abstract `Dataset`, arrays zipped by `TensorDataset`, views by `Subset`,
and `random_split`.

A dataset maps an index $i \in \{0, \dots, N-1\}$ to one sample. `TensorDataset` and
`Subset` also accept a slice or an integer index array and then return whole batches
by fancy indexing along axis 0, which is what `DataLoader` uses to gather a batch in one
copy per array instead of stacking samples one by one.
"""

from __future__ import annotations

import abc
import math
import numbers

import numpy as np

from .._config import check_seed, resolve_rng

__all__ = ["Dataset", "TensorDataset", "Subset", "random_split"]


class Dataset(abc.ABC):
    """Abstract dataset: a sized collection of samples read by integer index.

    Subclasses implement `__len__` (the number of samples) and `__getitem__(index)` for an
    int ``index`` in ``[0, len(self))``, returning one sample: usually a tuple of arrays or
    scalars such as ``(x, y)``. `DataLoader` stacks such samples field by field. A subclass
    may also accept slices and integer arrays in `__getitem__`; `DataLoader` only relies on
    that for `TensorDataset` and `Subset`.

    Examples:
        >>> class Squares(Dataset):
        ...     def __len__(self):
        ...         return 10
        ...     def __getitem__(self, i):
        ...         return np.float32(i), np.int64(i * i)
    """

    @abc.abstractmethod
    def __len__(self) -> int:
        """The number of samples."""

    @abc.abstractmethod
    def __getitem__(self, index):
        """The sample at ``index``."""


class TensorDataset(Dataset):
    r"""A dataset of arrays that share their first dimension: sample $i$ is
    ``tuple(a[i] for a in arrays)``.

    The arrays are kept as given (``np.asarray``, no copy, dtypes unchanged), so
    ``TensorDataset(X, y)`` costs nothing.

    Args:
        *arrays: one or more array-likes with at least one dimension and the same length
            along axis 0.

    Indexing:
        ``ds[i]`` with an int returns the tuple of rows ``a[i]``; ``ds[s]`` with a slice,
        or ``ds[idx]`` with an integer (or boolean) index array or list, returns the tuple
        of batches ``a[idx]`` (fancy indexing along axis 0, a copy).

    Raises:
        ValueError: if no array is given, an array is 0-dimensional, or the lengths
            along axis 0 differ.

    Examples:
        >>> ds = TensorDataset(np.zeros((5, 2), np.float32), np.arange(5))
        >>> len(ds), ds[1][1], ds[[0, 3]][0].shape
        (5, 1, (2, 2))
    """

    def __init__(self, *arrays) -> None:
        if not arrays:
            raise ValueError("TensorDataset needs at least one array, got none")
        converted = tuple(_as_array(a, "TensorDataset", f"array {k}") for k, a in enumerate(arrays))
        for k, a in enumerate(converted):
            if a.ndim == 0:
                raise ValueError(
                    f"TensorDataset arrays must have at least one dimension, "
                    f"array {k} is 0-dimensional"
                )
        lengths = [a.shape[0] for a in converted]
        if any(n != lengths[0] for n in lengths):
            raise ValueError(
                f"TensorDataset arrays must all have the same length along axis 0, "
                f"got lengths {lengths}"
            )
        self.arrays: tuple[np.ndarray, ...] = converted

    @property
    def tensors(self) -> tuple[np.ndarray, ...]:
        """The arrays, under the name PyTorch uses."""
        return self.arrays

    def __len__(self) -> int:
        return self.arrays[0].shape[0]

    def __getitem__(self, index):
        index = _check_index(index, "TensorDataset")
        return tuple(a[index] for a in self.arrays)

    def __repr__(self) -> str:
        fields = ", ".join(f"{a.dtype}{tuple(a.shape)}" for a in self.arrays)
        return f"TensorDataset({fields})"


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order: ``subset[i]`` is
    ``dataset[indices[i]]``.

    Args:
        dataset: the `Dataset` to view.
        indices: 1-D integer array-like of positions in ``[0, len(dataset))``; repeats
            are allowed.

    Indexing:
        an int returns ``dataset[int(indices[i])]``; a slice or an index array is
        translated to positions in ``dataset`` and passed on, so a `Subset` of a
        `TensorDataset` returns batches by fancy indexing.

    Raises:
        TypeError: if ``dataset`` is not a `Dataset` or ``indices`` are not integers.
        ValueError: if ``indices`` is not 1-D or holds a position outside the dataset.
    """

    def __init__(self, dataset: Dataset, indices) -> None:
        if not isinstance(dataset, Dataset):
            raise TypeError(
                f"Subset dataset must be a chainrule.data.Dataset, got {type(dataset).__name__}"
            )
        idx = _as_array(indices, "Subset", "indices")
        if idx.size == 0 and idx.dtype.kind in "bf":  # [] is a float array: no positions
            idx = idx.astype(np.int64)
        if idx.dtype.kind not in "iu":
            raise TypeError(f"Subset indices must be integers, got dtype {idx.dtype}")
        if idx.ndim != 1:
            raise ValueError(f"Subset indices must be 1-D, got shape {idx.shape}")
        n = len(dataset)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            bad = idx.min() if idx.min() < 0 else idx.max()
            raise ValueError(
                f"Subset indices must lie in [0, {n}) (len(dataset)), got index {bad}"
            )
        self.dataset = dataset
        self.indices: np.ndarray = idx.astype(np.int64, copy=False)

    def __len__(self) -> int:
        return self.indices.shape[0]

    def __getitem__(self, index):
        index = _check_index(index, "Subset")
        if isinstance(index, int):
            return self.dataset[int(self.indices[index])]
        return self.dataset[self.indices[index]]

    def __repr__(self) -> str:
        return f"Subset(len={len(self)}, dataset={type(self.dataset).__name__})"


def random_split(dataset: Dataset, lengths, seed=None, *, rng=None) -> list[Subset]:
    r"""Split ``dataset`` at random into disjoint `Subset`\ s covering it.

    ``lengths`` is either a sequence of ints that sum to ``len(dataset)``, or a sequence
    of fractions in $[0, 1]$ that sum to 1. Fractions become
    $\lfloor N \cdot f_k \rfloor$ samples each, and the $r$ samples left over are handed
    out one at a time to the splits $0, 1, \dots, r-1$ (round-robin), as PyTorch does.
    The splits are consecutive pieces of one random permutation of $0, \dots, N-1$.

    Ints versus fractions is decided by type: all entries ints means counts, any float
    means fractions. (PyTorch instead reads any ``lengths`` summing to 1 as fractions, so
    ``[0, 1]`` means "everything in the second split" there but is an error here unless
    ``len(dataset) == 1``.) Fractions are accepted when their sum is within rounding of 1
    (``math.isclose``), also from above; PyTorch refuses a sum like 1.0000000000000002.

    Args:
        dataset: the `Dataset` to split.
        lengths: ints (counts) or floats (fractions), one per split.
        seed: a non-negative int for a reproducible split; without it (and without
            ``rng``) the package default generator is used (see ``cr.manual_seed``).
        rng: a ``numpy.random.Generator`` to draw the permutation from, instead of ``seed``.

    Returns:
        A list of `Subset`, one per entry of ``lengths``.

    Raises:
        TypeError: if ``dataset`` is not a `Dataset`, or ``lengths`` holds non-numbers.
        ValueError: if counts are negative or do not sum to ``len(dataset)``, or fractions
            are outside $[0, 1]$ or do not sum to 1.

    Examples:
        >>> train, val = random_split(ds, [0.8, 0.2], seed=0)
    """
    if not isinstance(dataset, Dataset):
        raise TypeError(
            f"random_split dataset must be a chainrule.data.Dataset, got {type(dataset).__name__}"
        )
    try:
        items = list(lengths)
    except TypeError:
        raise TypeError(
            f"random_split lengths must be a sequence of ints or fractions, "
            f"got {type(lengths).__name__}"
        ) from None
    if not items:
        raise ValueError("random_split lengths must not be empty")
    for v in items:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
            raise TypeError(
                f"random_split lengths must be ints or fractions, got {v!r} in {items!r}"
            )
    n = len(dataset)
    if all(isinstance(v, numbers.Integral) for v in items):
        counts = [int(v) for v in items]
        if any(c < 0 for c in counts):
            raise ValueError(f"random_split lengths must be >= 0, got {counts}")
        if sum(counts) != n:
            raise ValueError(
                f"random_split lengths must sum to len(dataset) = {n}, "
                f"got {counts} (sum {sum(counts)})"
            )
    else:
        fractions = [float(v) for v in items]
        if any(not 0.0 <= f <= 1.0 for f in fractions):
            raise ValueError(f"random_split fractions must lie in [0, 1], got {fractions}")
        if not math.isclose(sum(fractions), 1.0):
            raise ValueError(
                f"random_split fractions must sum to 1, got {fractions} (sum {sum(fractions)})"
            )
        counts = [int(math.floor(n * f)) for f in fractions]
        # Leftover samples go round-robin to the first splits.
        for k in range(n - sum(counts)):
            counts[k % len(counts)] += 1
    generator = resolve_rng(seed, rng, "random_split")
    perm = generator.permutation(n)
    stops = np.cumsum(counts)
    return [Subset(dataset, perm[stop - c:stop]) for c, stop in zip(counts, stops)]


def _as_array(value, owner: str, name: str) -> np.ndarray:
    """``np.asarray(value)``, or a ValueError naming ``owner`` and ``name`` when the value is
    ragged (nested lists of different lengths) and NumPy cannot make an array of it."""
    try:
        return np.asarray(value)
    except ValueError as error:
        raise ValueError(f"{owner} {name} must be array-like with a regular shape: {error}") from None


def _check_index(index, owner: str):
    """Normalise a dataset index: an int, a slice, or a 1-D integer/boolean array."""
    if isinstance(index, slice):
        return index
    if isinstance(index, (bool, np.bool_)):
        raise TypeError(f"{owner} index must be an int, a slice or an integer array, got bool")
    if isinstance(index, numbers.Integral):
        return int(index)
    if isinstance(index, (np.ndarray, list)):
        arr = np.asarray(index)
        if arr.size == 0:
            arr = arr.astype(np.intp)
        if arr.dtype.kind not in "iub":
            raise TypeError(
                f"{owner} index array must hold integers or booleans, got dtype {arr.dtype}"
            )
        if arr.ndim == 0 and arr.dtype.kind in "iu":
            return int(arr)
        if arr.ndim != 1:
            raise ValueError(f"{owner} index array must be 1-D, got shape {arr.shape}")
        return arr
    raise TypeError(
        f"{owner} index must be an int, a slice or an integer array, "
        f"got {type(index).__name__}"
    )
