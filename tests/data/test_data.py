"""Dataset, TensorDataset, Subset, random_split and DataLoader."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import DataLoader, Dataset, Subset, TensorDataset, random_split


def make_arrays(n=10, features=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, features)).astype(np.float32)
    y = np.arange(n, dtype=np.int64)  # y[i] == i identifies the sample
    return X, y


class IntOnly(Dataset):
    """A generic dataset whose __getitem__ takes only Python/NumPy ints."""

    def __init__(self, n=10):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not isinstance(i, (int, np.integer)):
            raise TypeError(f"IntOnly takes ints, got {type(i).__name__}")
        if not 0 <= i < self.n:
            raise IndexError(i)
        return np.full((2, 2), i, dtype=np.float32), i


def epoch_labels(loader):
    return [yb.copy() for _, yb in loader]


# --------------------------------------------------------------------------- Dataset


def test_dataset_is_abstract():
    with pytest.raises(TypeError):
        Dataset()

    class NoLen(Dataset):
        def __getitem__(self, i):
            return i

    with pytest.raises(TypeError):
        NoLen()


# --------------------------------------------------------------------------- TensorDataset


def test_tensor_dataset_len_and_int_index():
    X, y = make_arrays()
    ds = TensorDataset(X, y)
    assert len(ds) == 10
    x3, y3 = ds[3]
    np.testing.assert_array_equal(x3, X[3])
    assert y3 == 3
    assert ds[-1][1] == 9
    assert isinstance(ds[np.int64(2)], tuple)


def test_tensor_dataset_keeps_arrays_without_copy():
    X, y = make_arrays()
    ds = TensorDataset(X, y)
    assert ds.arrays[0] is X and ds.arrays[1] is y
    assert ds.tensors is ds.arrays
    assert ds.arrays[0].dtype == np.float32 and ds.arrays[1].dtype == np.int64


@pytest.mark.parametrize(
    "index",
    [slice(2, 7), slice(None, None, -2), np.array([4, 0, 4, 9]), [1, 2, 8], np.array([], dtype=np.int64), []],
    ids=["slice", "reversed-slice", "array-with-repeat", "list", "empty-array", "empty-list"],
)
def test_tensor_dataset_batch_index_is_fancy_indexing(index):
    X, y = make_arrays()
    xb, yb = TensorDataset(X, y)[index]
    expected = np.arange(10)[index if not isinstance(index, list) else np.asarray(index, dtype=np.int64)]
    np.testing.assert_array_equal(yb, expected)
    np.testing.assert_array_equal(xb, X[expected])
    assert xb.shape == (len(expected), 3)


def test_tensor_dataset_boolean_mask():
    X, y = make_arrays()
    mask = y % 3 == 0
    _, yb = TensorDataset(X, y)[mask]
    np.testing.assert_array_equal(yb, [0, 3, 6, 9])


def test_tensor_dataset_single_array_gives_one_tuple():
    ds = TensorDataset(np.arange(4))
    assert ds[2] == (2,)


def test_tensor_dataset_length_mismatch_names_lengths():
    with pytest.raises(ValueError, match=r"same length along axis 0, got lengths \[5, 4\]"):
        TensorDataset(np.zeros((5, 2)), np.zeros(4))


def test_tensor_dataset_needs_arrays_with_a_first_dimension():
    with pytest.raises(ValueError, match="at least one array"):
        TensorDataset()
    with pytest.raises(ValueError, match="array 1 is 0-dimensional"):
        TensorDataset(np.zeros(3), np.float32(1.0))


@pytest.mark.parametrize(
    "index, match",
    [(1.5, "got float"), (True, "got bool"), ("a", "got str"), (np.array([0.0, 1.0]), "dtype float64")],
)
def test_tensor_dataset_bad_index_type(index, match):
    with pytest.raises(TypeError, match=match):
        TensorDataset(np.zeros(3))[index]


def test_tensor_dataset_2d_index_array_rejected():
    with pytest.raises(ValueError, match=r"must be 1-D, got shape \(2, 1\)"):
        TensorDataset(np.zeros(3))[np.array([[0], [1]])]


def test_tensor_dataset_int_out_of_range_is_index_error():
    with pytest.raises(IndexError):
        TensorDataset(np.zeros(3))[3]


# --------------------------------------------------------------------------- Subset


def test_subset_maps_indices():
    X, y = make_arrays()
    sub = Subset(TensorDataset(X, y), [7, 2, 2, 5])
    assert len(sub) == 4
    assert sub[0][1] == 7
    assert sub[-1][1] == 5
    np.testing.assert_array_equal(sub[1:3][1], [2, 2])
    np.testing.assert_array_equal(sub[np.array([3, 0])][1], [5, 7])
    np.testing.assert_array_equal(sub[np.array([3, 0])][0], X[[5, 7]])


def test_subset_of_generic_dataset_int_index():
    sub = Subset(IntOnly(), np.array([9, 4]))
    x, label = sub[1]
    assert label == 4 and x[0, 0] == 4


def test_subset_validation():
    ds = TensorDataset(np.zeros(5))
    with pytest.raises(TypeError, match="Subset dataset must be a chainrule.data.Dataset, got ndarray"):
        Subset(np.zeros(5), [0])
    with pytest.raises(TypeError, match="Subset indices must be integers, got dtype float64"):
        Subset(ds, [0.0, 1.0])
    with pytest.raises(ValueError, match=r"must lie in \[0, 5\) \(len\(dataset\)\), got index 5"):
        Subset(ds, [0, 5])
    with pytest.raises(ValueError, match=r"must lie in \[0, 5\) \(len\(dataset\)\), got index -1"):
        Subset(ds, [-1, 2])
    with pytest.raises(ValueError, match=r"Subset indices must be 1-D, got shape \(1, 2\)"):
        Subset(ds, [[0, 1]])
    assert len(Subset(ds, [])) == 0


# --------------------------------------------------------------------------- random_split


def test_random_split_counts_disjoint_and_complete():
    X, y = make_arrays(n=20)
    parts = random_split(TensorDataset(X, y), [12, 5, 3], seed=0)
    assert [len(p) for p in parts] == [12, 5, 3]
    assert all(isinstance(p, Subset) for p in parts)
    labels = np.concatenate([p[:][1] for p in parts])
    np.testing.assert_array_equal(np.sort(labels), np.arange(20))  # disjoint and complete
    # the split is random, not the first 12 / next 5 / last 3
    assert not np.array_equal(labels, np.arange(20))


@pytest.mark.parametrize(
    "n, fractions, expected",
    [
        (10, [0.8, 0.2], [8, 2]),
        (11, [0.3, 0.3, 0.4], [4, 3, 4]),  # floors 3, 3, 4; the 1 left over goes to split 0
        (7, [0.25, 0.25, 0.25, 0.25], [2, 2, 2, 1]),  # floors 1 each; 3 left over, round-robin
        (5, [0.1, 0.9], [1, 4]),  # floors 0, 4; 1 left over to split 0
        (3, [1.0, 0.0], [3, 0]),
        (10, [0.1, 0.2, 0.7], [1, 2, 7]),
        # sums to 1.0000000000000002 in floating point: accepted (PyTorch 2.13 refuses it)
        (20, [0.05, 0.55, 0.3, 0.1], [1, 11, 6, 2]),
    ],
)
def test_random_split_fractions_like_pytorch(n, fractions, expected):
    parts = random_split(TensorDataset(np.arange(n)), fractions, seed=1)
    assert [len(p) for p in parts] == expected
    np.testing.assert_array_equal(np.sort(np.concatenate([p.indices for p in parts])), np.arange(n))


def test_random_split_reproducible_with_seed():
    ds = TensorDataset(np.arange(50))
    a = random_split(ds, [0.7, 0.3], seed=3)
    b = random_split(ds, [0.7, 0.3], seed=3)
    c = random_split(ds, [0.7, 0.3], seed=4)
    for pa, pb in zip(a, b):
        np.testing.assert_array_equal(pa.indices, pb.indices)
    assert not np.array_equal(a[0].indices, c[0].indices)


def test_random_split_rng_and_default_generator():
    ds = TensorDataset(np.arange(30))
    with_rng = random_split(ds, [10, 20], rng=np.random.default_rng(3))
    with_seed = random_split(ds, [10, 20], seed=3)
    np.testing.assert_array_equal(with_rng[0].indices, with_seed[0].indices)
    cr.manual_seed(11)
    first = random_split(ds, [10, 20])
    cr.manual_seed(11)
    second = random_split(ds, [10, 20])
    np.testing.assert_array_equal(first[1].indices, second[1].indices)


def test_random_split_subsets_feed_a_dataloader():
    X, y = make_arrays(n=20)
    train, val = random_split(TensorDataset(X, y), [15, 5], seed=0)
    xb, yb = next(iter(DataLoader(val, batch_size=5)))
    np.testing.assert_array_equal(yb, val.indices)
    np.testing.assert_array_equal(xb, X[val.indices])


@pytest.mark.parametrize(
    "lengths, error, match",
    [
        ([6, 3], ValueError, r"lengths must sum to len\(dataset\) = 10, got \[6, 3\] \(sum 9\)"),
        ([11, -1], ValueError, r"lengths must be >= 0, got \[11, -1\]"),
        ([0.5, 0.4], ValueError, r"fractions must sum to 1, got \[0.5, 0.4\]"),
        ([1.5, -0.5], ValueError, r"fractions must lie in \[0, 1\], got \[1.5, -0.5\]"),
        ([], ValueError, "lengths must not be empty"),
        (["5", 5], TypeError, "lengths must be ints or fractions, got '5'"),
        ([True, 9], TypeError, "lengths must be ints or fractions, got True"),
        (10, TypeError, "lengths must be a sequence of ints or fractions, got int"),
    ],
)
def test_random_split_validation(lengths, error, match):
    with pytest.raises(error, match=match):
        random_split(TensorDataset(np.arange(10)), lengths, seed=0)


def test_random_split_other_validation():
    with pytest.raises(TypeError, match="random_split dataset must be a chainrule.data.Dataset, got list"):
        random_split([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="random_split seed must be a non-negative int or None, got -1"):
        random_split(TensorDataset(np.arange(3)), [1, 2], seed=-1)
    with pytest.raises(ValueError, match="random_split takes seed or rng, not both"):
        random_split(TensorDataset(np.arange(3)), [1, 2], seed=0, rng=np.random.default_rng(0))


# --------------------------------------------------------------------------- DataLoader


def test_dataloader_batch_shapes_and_dtypes():
    X, y = make_arrays(n=10, features=3)
    batches = list(DataLoader(TensorDataset(X, y), batch_size=4))
    assert [xb.shape for xb, _ in batches] == [(4, 3), (4, 3), (2, 3)]
    assert [yb.shape for _, yb in batches] == [(4,), (4,), (2,)]
    assert all(isinstance(b, tuple) and len(b) == 2 for b in batches)
    assert all(xb.dtype == np.float32 and yb.dtype == np.int64 for xb, yb in batches)


def test_dataloader_default_batch_size_is_one():
    X, y = make_arrays(n=3)
    batches = list(DataLoader(TensorDataset(X, y)))
    assert len(batches) == 3 and batches[1][0].shape == (1, 3)


@pytest.mark.parametrize(
    "n, batch_size, drop_last, expected",
    [(10, 4, False, 3), (10, 4, True, 2), (12, 4, False, 3), (12, 4, True, 3), (3, 4, False, 1),
     (3, 4, True, 0), (0, 4, False, 0), (10, 1, True, 10)],
)
def test_dataloader_len(n, batch_size, drop_last, expected):
    X, y = make_arrays(n=n)
    for shuffle in (False, True):
        loader = DataLoader(TensorDataset(X, y), batch_size, shuffle=shuffle, drop_last=drop_last, seed=0)
        assert len(loader) == expected
        batches = list(loader)
        assert len(batches) == expected
        sizes = [len(yb) for _, yb in batches]
        assert all(size == batch_size for size in sizes[:-1])
        assert sum(sizes) == (expected * batch_size if drop_last else n)


def test_dataloader_no_shuffle_keeps_order_and_values():
    X, y = make_arrays(n=10)
    for i, (xb, yb) in enumerate(DataLoader(TensorDataset(X, y), batch_size=3)):
        np.testing.assert_array_equal(yb, y[3 * i:3 * i + 3])
        np.testing.assert_array_equal(xb, X[3 * i:3 * i + 3])


@pytest.mark.parametrize("shuffle", [False, True])
def test_dataloader_batches_are_copies(shuffle):
    X, y = make_arrays(n=10)
    X_before = X.copy()
    for xb, yb in DataLoader(TensorDataset(X, y), batch_size=4, shuffle=shuffle, seed=0):
        assert not np.shares_memory(xb, X)
        xb[...] = 0.0
    np.testing.assert_array_equal(X, X_before)


@pytest.mark.parametrize("drop_last", [False, True])
def test_dataloader_every_sample_once_per_epoch(drop_last):
    X, y = make_arrays(n=103)
    loader = DataLoader(TensorDataset(X, y), batch_size=10, shuffle=True, drop_last=drop_last, seed=0)
    for _ in range(3):
        xs, ys = zip(*loader)
        ys = np.concatenate(ys)
        assert len(np.unique(ys)) == len(ys)  # no sample twice
        if drop_last:
            assert len(ys) == 100
        else:
            np.testing.assert_array_equal(np.sort(ys), np.arange(103))
        np.testing.assert_array_equal(np.concatenate(xs), X[ys])  # rows stay paired with labels


def test_dataloader_fresh_permutation_each_epoch():
    X, y = make_arrays(n=50)
    loader = DataLoader(TensorDataset(X, y), batch_size=50, shuffle=True, seed=0)
    epochs = [epoch_labels(loader)[0] for _ in range(3)]
    assert not np.array_equal(epochs[0], epochs[1])
    assert not np.array_equal(epochs[1], epochs[2])
    assert not np.array_equal(epochs[0], np.arange(50))


def test_dataloader_same_seed_same_epoch_sequence():
    X, y = make_arrays(n=40)
    a = DataLoader(TensorDataset(X, y), batch_size=8, shuffle=True, seed=7)
    b = DataLoader(TensorDataset(X, y), batch_size=8, shuffle=True, seed=7)
    c = DataLoader(TensorDataset(X, y), batch_size=8, shuffle=True, seed=8)
    seq_a = [np.concatenate(epoch_labels(a)) for _ in range(3)]
    seq_b = [np.concatenate(epoch_labels(b)) for _ in range(3)]
    seq_c = [np.concatenate(epoch_labels(c)) for _ in range(3)]
    for ea, eb in zip(seq_a, seq_b):
        np.testing.assert_array_equal(ea, eb)
    assert not np.array_equal(seq_a[0], seq_c[0])


def test_dataloader_permutation_drawn_at_iter():
    # Two iterators started one after the other get different epochs, even if the
    # first is not consumed yet.
    X, y = make_arrays(n=30)
    loader = DataLoader(TensorDataset(X, y), batch_size=30, shuffle=True, seed=0)
    first, second = iter(loader), iter(loader)
    assert not np.array_equal(next(first)[1], next(second)[1])


def test_dataloader_rng_argument_matches_seed():
    X, y = make_arrays(n=30)
    with_seed = DataLoader(TensorDataset(X, y), batch_size=30, shuffle=True, seed=5)
    with_rng = DataLoader(TensorDataset(X, y), batch_size=30, shuffle=True, rng=np.random.default_rng(5))
    for _ in range(2):
        np.testing.assert_array_equal(epoch_labels(with_seed)[0], epoch_labels(with_rng)[0])


def test_dataloader_without_seed_uses_default_generator_at_iteration():
    X, y = make_arrays(n=30)
    loader = DataLoader(TensorDataset(X, y), batch_size=30, shuffle=True)
    cr.manual_seed(123)
    first = epoch_labels(loader)[0]
    cr.manual_seed(123)  # reseeding after construction takes effect
    second = epoch_labels(loader)[0]
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, np.random.default_rng(123).permutation(30))


def test_dataloader_no_shuffle_draws_no_randomness():
    X, y = make_arrays(n=30)
    generator = cr.manual_seed(0)
    list(DataLoader(TensorDataset(X, y), batch_size=7))
    assert generator.random() == np.random.default_rng(0).random()


def test_dataloader_over_subset_and_nested_subset():
    X, y = make_arrays(n=20)
    ds = TensorDataset(X, y)
    outer_idx = np.array([3, 0, 5, 1])
    inner = Subset(ds, np.arange(19, -1, -1))  # reversed
    nested = Subset(inner, outer_idx)  # nested[i] = ds[19 - outer_idx[i]]
    (xb, yb), = list(DataLoader(nested, batch_size=4))
    np.testing.assert_array_equal(yb, 19 - outer_idx)
    np.testing.assert_array_equal(xb, X[19 - outer_idx])
    shuffled = np.concatenate(epoch_labels(DataLoader(nested, batch_size=3, shuffle=True, seed=0)))
    np.testing.assert_array_equal(np.sort(shuffled), np.sort(19 - outer_idx))


def test_dataloader_gathers_tensor_dataset_batches_without_getitem(monkeypatch):
    # A TensorDataset (or a Subset of one) is batched straight from its arrays, not by
    # reading samples one by one through __getitem__.
    def refuse(self, index):
        raise AssertionError("DataLoader read a TensorDataset sample by sample")

    X, y = make_arrays(n=20)
    ds = TensorDataset(X, y)
    monkeypatch.setattr(TensorDataset, "__getitem__", refuse)
    ys = [yb for _, yb in DataLoader(ds, batch_size=6, shuffle=True, seed=0)]
    ys += [yb for _, yb in DataLoader(Subset(ds, np.arange(10)), batch_size=6)]
    assert sum(len(b) for b in ys) == 30


def test_dataloader_generic_dataset_stacks_samples():
    loader = DataLoader(IntOnly(n=10), batch_size=4, shuffle=True, seed=0)
    assert len(loader) == 3
    seen = []
    for xb, labels in loader:
        assert xb.shape[1:] == (2, 2) and xb.dtype == np.float32
        assert labels.dtype == np.int64
        np.testing.assert_array_equal(xb[:, 0, 0], labels)  # fields stay paired
        seen.append(labels)
    np.testing.assert_array_equal(np.sort(np.concatenate(seen)), np.arange(10))
    xb, labels = next(iter(DataLoader(IntOnly(n=10), batch_size=4)))
    np.testing.assert_array_equal(labels, [0, 1, 2, 3])


def test_dataloader_generic_shuffle_matches_tensor_dataset_order():
    # Same seed, same permutation, whichever path gathers the batch.
    X, y = make_arrays(n=10)
    generic = np.concatenate([lab for _, lab in DataLoader(IntOnly(10), 4, shuffle=True, seed=9)])
    fast = np.concatenate(epoch_labels(DataLoader(TensorDataset(X, y), 4, shuffle=True, seed=9)))
    np.testing.assert_array_equal(generic, fast)


def test_dataloader_subclass_overriding_getitem_is_respected():
    class Doubled(TensorDataset):
        def __getitem__(self, index):
            x, y = super().__getitem__(index)
            return x * 2, y

    X, y = make_arrays(n=6)
    xb, yb = next(iter(DataLoader(Doubled(X, y), batch_size=6)))
    np.testing.assert_array_equal(xb, 2 * X)
    np.testing.assert_array_equal(yb, y)


def test_dataloader_generic_single_field_and_dict_samples():
    class Single(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return float(i)

    class Dicts(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"x": np.full(3, i, np.float32), "y": i}

    batch = next(iter(DataLoader(Single(), batch_size=3)))
    assert isinstance(batch, np.ndarray)
    np.testing.assert_array_equal(batch, [0.0, 1.0, 2.0])
    batch = next(iter(DataLoader(Dicts(), batch_size=2)))
    assert set(batch) == {"x", "y"}
    assert batch["x"].shape == (2, 3)
    np.testing.assert_array_equal(batch["y"], [0, 1])


def test_dataloader_generic_ragged_samples_error():
    class Ragged(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return np.zeros(i + 1), i

    with pytest.raises(ValueError, match=r"cannot stack field 0 of a batch: samples have different shapes \[\(1,\), \(2,\)\]"):
        list(DataLoader(Ragged(), batch_size=2))


def test_dataloader_generic_inconsistent_fields_error():
    class Uneven(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return (i, i) if i % 2 == 0 else (i,)

    with pytest.raises(ValueError, match="expected every sample to have 2 fields like sample 0, got a tuple of 1 fields at index 1"):
        list(DataLoader(Uneven(), batch_size=2))


@pytest.mark.parametrize("batch_size", [0, -3, 2.5, True, None, "8"])
def test_dataloader_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match=f"DataLoader batch_size must be a positive int, got {batch_size!r}"):
        DataLoader(TensorDataset(np.zeros(4)), batch_size=batch_size)


def test_dataloader_validation():
    X, y = make_arrays()
    with pytest.raises(TypeError, match=r"DataLoader dataset must be a chainrule.data.Dataset \(e.g. TensorDataset\(X, y\)\), got tuple"):
        DataLoader((X, y), batch_size=2)
    with pytest.raises(TypeError, match="DataLoader dataset must be a chainrule.data.Dataset .* got ndarray"):
        DataLoader(X)
    with pytest.raises(TypeError, match="DataLoader shuffle must be a bool, got 'yes'"):
        DataLoader(TensorDataset(X, y), shuffle="yes")
    with pytest.raises(TypeError, match="DataLoader drop_last must be a bool, got 1"):
        DataLoader(TensorDataset(X, y), drop_last=1)
    with pytest.raises(ValueError, match="DataLoader seed must be a non-negative int or None, got -1"):
        DataLoader(TensorDataset(X, y), seed=-1)
    with pytest.raises(ValueError, match="DataLoader seed must be a non-negative int or None, got 0.5"):
        DataLoader(TensorDataset(X, y), seed=0.5)
    with pytest.raises(ValueError, match="DataLoader takes seed or rng, not both"):
        DataLoader(TensorDataset(X, y), seed=0, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="DataLoader rng must be a numpy.random.Generator, got int"):
        DataLoader(TensorDataset(X, y), rng=3)


def test_dataloader_attributes_and_repr():
    loader = DataLoader(TensorDataset(np.zeros(4)), batch_size=np.int64(2), shuffle=np.bool_(True), seed=np.int64(1))
    assert loader.batch_size == 2 and type(loader.batch_size) is int
    assert loader.shuffle is True and loader.drop_last is False and loader.seed == 1
    assert repr(loader) == "DataLoader(dataset=TensorDataset, batch_size=2, shuffle=True, drop_last=False, seed=1)"


@pytest.mark.parametrize("dtype", [np.complex128, np.str_, object])
def test_subset_refuses_empty_indices_that_are_not_numbers(dtype):
    # An empty list is a float array (no positions); an empty complex, string or object array
    # is still the wrong kind of index, refused by name rather than cast with a warning.
    ds = TensorDataset(np.arange(5.0))
    with pytest.raises(TypeError, match=r"Subset indices"):
        Subset(ds, np.array([], dtype=dtype))
    assert len(Subset(ds, [])) == 0


def test_dataloader_generator_is_pytorchs_name_for_rng():
    ds = TensorDataset(np.arange(10.0))
    a = [b[0].tolist() for b in DataLoader(ds, batch_size=3, shuffle=True, generator=np.random.default_rng(7))]
    b = [b[0].tolist() for b in DataLoader(ds, batch_size=3, shuffle=True, rng=np.random.default_rng(7))]
    assert a == b and sorted(sum(a, [])) == list(range(10))
    with pytest.raises(ValueError, match=r"DataLoader takes rng or generator"):
        DataLoader(ds, generator=np.random.default_rng(0), rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match=r"DataLoader generator must be a numpy.random.Generator"):
        DataLoader(ds, generator=7)
