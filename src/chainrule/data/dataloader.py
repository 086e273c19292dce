r"""`DataLoader`: iterate over a dataset in (shuffled) mini-batches of stacked arrays.

For a `TensorDataset`, or a `Subset` (of a `Subset` ...) of one, a batch is gathered
straight from the underlying arrays with one ``take`` along axis 0 per array: an epoch
costs one permutation plus the copies of the batches themselves. Any other `Dataset` is
read one sample at a time and the samples are stacked field by field.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._config import check_seed, resolve_rng
from .dataset import Dataset, Subset, TensorDataset

__all__ = ["DataLoader"]


class DataLoader:
    r"""Mini-batches over a dataset, reshuffled every epoch if asked.

    Each ``iter(loader)`` is one epoch. With ``shuffle=True`` it draws a fresh permutation
    of $0, \dots, N-1$ and cuts it into consecutive batches of ``batch_size``; otherwise the
    samples come in order. The last batch holds the $N \bmod B$ leftover samples, or is
    dropped with ``drop_last=True``.

    Randomness: with ``seed`` (or ``rng``) the loader owns one generator, created here,
    from which every epoch draws its permutation, so the sequence of epochs is the same
    for two loaders built with the same seed. With neither, each epoch draws from the
    package default generator at the time ``iter()`` is called (see ``cr.manual_seed``).

    Batches: for a dataset whose samples are tuples (a `TensorDataset` gives
    ``(x, y)``), each batch is a tuple of ndarrays, field $k$ stacked along a new axis 0.
    A generic `Dataset` whose samples are single arrays or scalars gives a single stacked
    ndarray, and one whose samples are dicts gives a dict of stacked arrays (as PyTorch's
    default collation). Batches are always fresh arrays, never views into the dataset.

    Args:
        dataset: a `Dataset`.
        batch_size: samples per batch, a positive int. Default: 1.
        shuffle: reshuffle at every epoch. Default: False.
        drop_last: drop the last batch if it is smaller than ``batch_size``. Default: False.
        seed: a non-negative int that makes the shuffling reproducible. Default: None.
        rng: a ``numpy.random.Generator`` to shuffle with, instead of ``seed``
            (keyword-only).
        generator: the same as ``rng``, under PyTorch's name (``DataLoader(..., generator=g)``).

    Raises:
        TypeError: if ``dataset`` is not a `Dataset`, or ``shuffle``/``drop_last`` are
            not bools.
        ValueError: if ``batch_size`` is not a positive int, or ``seed`` is not a
            non-negative int.

    Examples:
        >>> loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True, seed=0)
        >>> for xb, yb in loader:
        ...     ...
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed=None,
        *,
        rng: np.random.Generator | None = None,
        generator: np.random.Generator | None = None,
    ) -> None:
        if not isinstance(dataset, Dataset):
            raise TypeError(
                f"DataLoader dataset must be a chainrule.data.Dataset "
                f"(e.g. TensorDataset(X, y)), got {type(dataset).__name__}"
            )
        if (
            isinstance(batch_size, (bool, np.bool_))
            or not isinstance(batch_size, numbers.Integral)
            or batch_size < 1
        ):
            raise ValueError(f"DataLoader batch_size must be a positive int, got {batch_size!r}")
        for name, value in (("shuffle", shuffle), ("drop_last", drop_last)):
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"DataLoader {name} must be a bool, got {value!r}")
        if seed is not None:
            seed = check_seed(seed, "DataLoader")
        if generator is not None:  # PyTorch's name for the shuffling generator
            if rng is not None:
                raise ValueError("DataLoader takes rng or generator (the same thing, PyTorch's name), not both")
            if not isinstance(generator, np.random.Generator):
                raise TypeError(f"DataLoader generator must be a numpy.random.Generator "
                                f"(np.random.default_rng(seed)), got {type(generator).__name__}")
            rng = generator
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        # Created once, so successive epochs continue one reproducible stream; None means
        # "the package default generator, looked up at each epoch".
        self._generator = (
            resolve_rng(seed, rng, "DataLoader")
            if seed is not None or rng is not None
            else None
        )

    def __len__(self) -> int:
        r"""The number of batches in an epoch: $\lceil N/B \rceil$, or
        $\lfloor N/B \rfloor$ with ``drop_last``."""
        n = len(self.dataset)
        if self.drop_last:
            return n // self.batch_size
        return -(-n // self.batch_size)

    def __iter__(self):
        """Start an epoch: draw the permutation now (if shuffling) and return an iterator
        over its batches."""
        n = len(self.dataset)
        order = None
        if self.shuffle:
            generator = self._generator if self._generator is not None else resolve_rng(
                None, None, "DataLoader"
            )
            order = generator.permutation(n)
        n_batches = len(self)
        source = _array_source(self.dataset)
        if source is None:
            if order is None:
                order = np.arange(n)
            return self._stacked_batches(order, n_batches)
        arrays, base = source
        if base is not None:
            # Compose once per epoch: position k of the epoch reads row base[order[k]].
            order = base if order is None else base.take(order)
        return self._gathered_batches(arrays, order, n_batches)

    def _gathered_batches(self, arrays, order, n_batches):
        """Batches cut from the arrays themselves: ``take`` rows along axis 0."""
        b = self.batch_size
        if order is None:
            for start in range(0, n_batches * b, b):
                yield tuple(a[start:start + b].copy() for a in arrays)
        else:
            for start in range(0, n_batches * b, b):
                idx = order[start:start + b]
                yield tuple(a.take(idx, axis=0) for a in arrays)

    def _stacked_batches(self, order, n_batches):
        """Batches of a generic dataset: read each sample by int index, stack per field."""
        b = self.batch_size
        dataset = self.dataset
        for start in range(0, n_batches * b, b):
            samples = [dataset[int(i)] for i in order[start:start + b]]
            yield _collate(samples, order[start:start + b])

    def __repr__(self) -> str:
        return (
            f"DataLoader(dataset={type(self.dataset).__name__}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last}, seed={self.seed})"
        )


def _array_source(dataset):
    """``(arrays, index)`` if every batch of ``dataset`` is ``a[index[batch]]`` for its
    arrays (``index`` None meaning the identity), else None.

    Only plain `TensorDataset` and `Subset` qualify: a subclass that overrides
    ``__getitem__`` (to transform samples, say) must be read through it.
    """
    index = None
    while True:
        kind = type(dataset)
        if isinstance(dataset, Subset) and kind.__getitem__ is Subset.__getitem__:
            # subset[i] = inner[indices[i]], so the outer positions map through indices.
            index = dataset.indices if index is None else dataset.indices.take(index)
            dataset = dataset.dataset
        elif isinstance(dataset, TensorDataset) and kind.__getitem__ is TensorDataset.__getitem__:
            return dataset.arrays, index
        else:
            return None


def _collate(samples, indices):
    """Stack a list of samples (tuples, dicts, or single arrays/scalars) field by field."""
    first = samples[0]
    if isinstance(first, (tuple, list)):
        width = len(first)
        for s, i in zip(samples, indices):
            if not isinstance(s, (tuple, list)) or len(s) != width:
                raise ValueError(
                    f"DataLoader expected every sample to have {width} fields like sample "
                    f"{int(indices[0])}, got {_describe(s)} at index {int(i)}"
                )
        return tuple(_stack([s[k] for s in samples], f"field {k}") for k in range(width))
    if isinstance(first, dict):
        keys = list(first)
        for s, i in zip(samples, indices):
            if not isinstance(s, dict) or list(s) != keys:
                raise ValueError(
                    f"DataLoader expected every sample to be a dict with keys {keys}, "
                    f"got {_describe(s)} at index {int(i)}"
                )
        return {key: _stack([s[key] for s in samples], f"field {key!r}") for key in keys}
    return _stack(samples, "samples")


def _stack(values, what: str) -> np.ndarray:
    arrays = [np.asarray(v) for v in values]
    try:
        return np.stack(arrays)
    except ValueError:
        shapes = sorted({a.shape for a in arrays})
        raise ValueError(
            f"DataLoader cannot stack {what} of a batch: samples have different shapes {shapes}"
        ) from None


def _describe(sample) -> str:
    if isinstance(sample, (tuple, list)):
        return f"a {type(sample).__name__} of {len(sample)} fields"
    if isinstance(sample, dict):
        return f"a dict with keys {list(sample)}"
    return f"a {type(sample).__name__}"
