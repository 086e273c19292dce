"""Embedding: the weight gradient against central finite differences (the integer indices are
constants to gradcheck), the scatter-add by hand, padding_idx, from_pretrained and errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

f64 = np.float64


class _PaddingRowIsConstant(nn.Embedding):
    """PyTorch defines the padding row's gradient as zero: to finite differences, the padding
    vector is a constant. This forward reads it from a copy taken at construction, so nudging
    ``weight[padding_idx]`` changes nothing and the numeric gradient of that row is 0 too."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pad_vector = self.weight.data[self.padding_idx].copy()

    def forward(self, indices):
        y = super().forward(indices)
        y[np.asarray(indices) == self.padding_idx] = self.pad_vector
        return y


@pytest.mark.parametrize("indices", [[[1, 2, 1], [0, 2, 2]], [3, 3, 3, 3], 2], ids=["(2, 3)", "(4,) all equal", "()"])
def test_gradcheck_weight(indices):
    emb = nn.Embedding(4, 3, dtype=f64, rng=np.random.default_rng(0))
    assert cr.gradcheck(emb, np.array(indices))


@pytest.mark.parametrize("padding_idx", [0, 2, -1])
@pytest.mark.parametrize("indices", [[[1, 2, 1], [0, 2, 3]], [3, 3, 3, 3], 2], ids=["(2, 3)", "(4,) all equal", "()"])
def test_gradcheck_weight_with_padding_idx(indices, padding_idx):
    emb = _PaddingRowIsConstant(4, 3, padding_idx=padding_idx, dtype=f64, rng=np.random.default_rng(0))
    emb.weight.data[emb.padding_idx] = 0.7  # a pad vector that is not zeros, to be sure it is held fixed
    emb.pad_vector[...] = 0.7
    assert cr.gradcheck(emb, np.array(indices))


def test_forward_is_a_row_lookup_and_backward_a_scatter_add():
    rng = np.random.default_rng(1)
    emb = nn.Embedding(5, 2, dtype=f64, rng=rng)
    indices = np.array([[4, 1], [1, 1]])
    y = emb(indices)
    assert y.shape == (2, 2, 2)
    np.testing.assert_array_equal(y[0, 0], emb.weight.data[4])
    g = rng.standard_normal(y.shape)
    assert emb.backward(g) is None  # integer indices have no gradient
    expected = np.zeros((5, 2))
    expected[4] = g[0, 0]
    expected[1] = g[0, 1] + g[1, 0] + g[1, 1]  # index 1 used three times: the rows add up
    np.testing.assert_allclose(emb.weight.grad, expected, rtol=1e-15)
    # the same as the one-hot matmul's weight gradient, onehot^T delta
    onehot = np.eye(5)[indices.reshape(-1)]
    np.testing.assert_allclose(emb.weight.grad, onehot.T @ g.reshape(-1, 2), rtol=1e-15)


def test_padding_row_is_zero_at_init_and_gets_no_gradient():
    emb = nn.Embedding(6, 3, padding_idx=-2, rng=np.random.default_rng(2))
    assert emb.padding_idx == 4  # counted from the end, as PyTorch
    np.testing.assert_array_equal(emb.weight.data[4], 0)
    assert np.all(emb.weight.data[[0, 1, 2, 3, 5]] != 0)
    emb(np.array([4, 4, 1]))
    emb.backward(np.ones((3, 3), dtype=np.float32))
    np.testing.assert_array_equal(emb.weight.grad[4], 0)
    np.testing.assert_array_equal(emb.weight.grad[1], 1)


def test_init_is_standard_normal_float32_by_default():
    emb = nn.Embedding(400, 50, rng=np.random.default_rng(3))
    assert emb.weight.dtype == np.float32 and emb.weight.shape == (400, 50)
    assert abs(emb.weight.data.mean()) < 0.02 and abs(emb.weight.data.std() - 1) < 0.02
    cr.manual_seed(5)
    a = nn.Embedding(3, 2).weight.data.copy()
    cr.manual_seed(5)
    np.testing.assert_array_equal(nn.Embedding(3, 2).weight.data, a)


def test_grad_is_new_then_accumulates_and_frozen_weight_gets_none():
    emb = nn.Embedding(3, 2, dtype=f64, rng=np.random.default_rng(4))
    g = np.ones((2, 2))
    emb(np.array([0, 2]))
    emb.backward(g)
    first = emb.weight.grad
    assert not np.shares_memory(first, g)
    emb(np.array([0, 0]))
    emb.backward(g)
    np.testing.assert_array_equal(emb.weight.grad, [[3, 3], [0, 0], [1, 1]])
    emb.zero_grad()
    emb.weight.requires_grad_(False)
    emb(np.array([1]))
    assert emb.backward(np.ones((1, 2))) is None and emb.weight.grad is None


def test_from_pretrained():
    table = np.array([[1.0, 2.3, 3.0], [4.0, 5.1, 6.3], [0.5, 0.5, 0.5]])
    emb = nn.Embedding.from_pretrained(table)
    assert emb.weight.data is table and emb.weight.dtype == np.float64  # used as it is, as PyTorch
    assert emb.weight.requires_grad is False and (emb.num_embeddings, emb.embedding_dim) == (3, 3)
    np.testing.assert_array_equal(emb(np.array([1])), [[4.0, 5.1, 6.3]])
    trainable = nn.Embedding.from_pretrained(table.astype(np.float32), freeze=False, padding_idx=2)
    assert trainable.weight.requires_grad and trainable.weight.dtype == np.float32
    np.testing.assert_array_equal(trainable.weight.data[2], 0.5)  # not zeroed, as PyTorch
    trainable(np.array([2, 0]))
    trainable.backward(np.ones((2, 3), dtype=np.float32))
    np.testing.assert_array_equal(trainable.weight.grad, [[1, 1, 1], [0, 0, 0], [0, 0, 0]])
    with pytest.raises(ValueError, match=r"from_pretrained expected a 2-D array .* got shape \(3,\)"):
        nn.Embedding.from_pretrained(np.ones(3))
    with pytest.raises(TypeError, match="from_pretrained embeddings dtype must be float32 or float64"):
        nn.Embedding.from_pretrained(np.ones((2, 2), dtype=np.int64))
    with pytest.raises(TypeError, match="freeze must be a bool"):
        nn.Embedding.from_pretrained(table, freeze="yes")


def test_state_dict_and_repr():
    emb = nn.Embedding(10, 4, padding_idx=0)
    assert list(emb.state_dict()) == ["weight"]
    assert repr(emb) == "Embedding(10, 4, padding_idx=0)"
    assert repr(nn.Embedding(10, 4)) == "Embedding(10, 4)"


def test_bad_indices():
    emb = nn.Embedding(4, 3)
    with cr.no_grad():
        with pytest.raises(IndexError, match=r"Embedding index 4 is out of range for num_embeddings=4"):
            emb(np.array([[0, 4], [1, 2]]))
        with pytest.raises(IndexError, match=r"Embedding index -1 is out of range for num_embeddings=4"):
            emb(np.array([-1, 2]))
        with pytest.raises(TypeError, match="Embedding expected integer indices, got dtype float64"):
            emb(np.array([1.0, 2.0]))
        with pytest.raises(TypeError, match="got dtype bool"):
            emb(np.array([True]))
        assert emb(np.zeros((0, 2), dtype=np.int32)).shape == (0, 2, 3)
        assert emb(np.array([3], dtype=np.uint8)).shape == (1, 3)
    emb(np.array([1, 2]))
    with pytest.raises(ValueError, match=r"Embedding.backward expected grad_output of shape \(2, 3\), got \(3, 2\)"):
        emb.backward(np.ones((3, 2)))


@pytest.mark.parametrize("make, match", [
    (lambda: nn.Embedding(-1, 3), "num_embeddings must be a non-negative int, got -1"),
    (lambda: nn.Embedding(3, 2.0), "embedding_dim must be a non-negative int, got 2.0"),
    (lambda: nn.Embedding(3, 2, padding_idx=3), r"padding_idx must be an int in \[-3, 3\) .* got 3"),
    (lambda: nn.Embedding(3, 2, padding_idx=-4), r"padding_idx must be an int in \[-3, 3\)"),
    (lambda: nn.Embedding(3, 2, padding_idx=1.0), "padding_idx must be an int"),
])
def test_bad_options(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_scale_grad_by_freq_divides_each_row_by_its_count():
    emb = nn.Embedding(5, 2, padding_idx=0, scale_grad_by_freq=True, dtype=f64, rng=np.random.default_rng(6))
    indices = np.array([[1, 3, 1], [1, 0, 0]])  # row 1 three times, row 3 once, the pad twice
    g = np.random.default_rng(7).standard_normal((2, 3, 2))
    emb(indices)
    emb.backward(g)
    expected = np.zeros((5, 2))
    expected[1] = (g[0, 0] + g[0, 2] + g[1, 0]) / 3  # the mean of its three rows, not their sum
    expected[3] = g[0, 1]                          # used once: as without the option
    np.testing.assert_allclose(emb.weight.grad, expected, rtol=1e-15)  # and the pad row stays 0


def test_max_norm_renormalises_the_rows_read_in_place_and_the_gradient_is_the_plain_scatter():
    table = np.array([[3.0, 4.0], [0.3, 0.4], [6.0, 8.0], [1.0, -7.0]])
    emb = nn.Embedding.from_pretrained(table, freeze=False, max_norm=1.0)
    indices = np.array([0, 1, 1, 0])
    y = emb(indices)
    assert emb.weight.data is table  # written in place, as torch's embedding_renorm_
    np.testing.assert_allclose(table[0], np.array([3.0, 4.0]) / (5 + 1e-7), rtol=1e-15)  # max_norm/(norm+1e-7)
    np.testing.assert_array_equal(table[1], [0.3, 0.4])               # within the bound: as it was
    np.testing.assert_array_equal(table[2:], [[6.0, 8.0], [1.0, -7.0]])  # not read: as they were
    np.testing.assert_array_equal(y, table[indices])                  # the lookup reads the new rows
    g = np.random.default_rng(8).standard_normal((4, 2))
    emb.backward(g)  # the weight changed before anything was saved: no in-place alarm
    plain = nn.Embedding.from_pretrained(table.copy(), freeze=False)
    plain(indices)
    plain.backward(g)
    np.testing.assert_array_equal(emb.weight.grad, plain.weight.grad)
    inf = nn.Embedding.from_pretrained(table.copy(), max_norm=2.0, norm_type=float("inf"))
    inf(np.array([3, 3]))
    np.testing.assert_allclose(inf.weight.data[3], np.array([1.0, -7.0]) * 2 / (7 + 1e-7), rtol=1e-15)


def test_max_norm_inside_a_model_backpropagates():
    model = nn.Sequential(nn.Embedding(6, 4, max_norm=0.5, dtype=f64, rng=np.random.default_rng(9)),
                          nn.Linear(4, 2, dtype=f64, rng=np.random.default_rng(10)))
    indices = np.array([[0, 5], [5, 2]])
    for _ in range(2):
        model(indices)
        model.backward(np.ones((2, 2, 2)))
        assert np.all(np.linalg.norm(model[0].weight.data[[0, 2, 5]], axis=1) <= 0.5)
        model[0].weight.data[...] *= 3  # rows grow past the bound again between the steps
    assert model[0].weight.grad.shape == (6, 4)


@pytest.mark.parametrize("options", [{"sparse": True}, {"sparse": True, "padding_idx": 1}], ids=repr)
def test_sparse_gives_the_dense_gradient(options):
    rng = np.random.default_rng(11)
    dense = nn.Embedding(4, 3, padding_idx=options.get("padding_idx"), dtype=f64, rng=rng)
    sparse = nn.Embedding(4, 3, dtype=f64, **options)
    sparse.load_state_dict(dense.state_dict())
    indices, g = np.array([[1, 2, 1], [0, 1, 3]]), rng.standard_normal((2, 3, 3))
    for emb in (dense, sparse):
        emb(indices)
        emb.backward(g)
    assert type(sparse.weight.grad) is np.ndarray
    np.testing.assert_array_equal(sparse.weight.grad, dense.weight.grad)
    assert cr.gradcheck(nn.Embedding(4, 3, sparse=True, dtype=f64, rng=rng), indices)


def test_options_repr_as_torch():
    assert repr(nn.Embedding(10, 4, max_norm=1.0)) == "Embedding(10, 4, max_norm=1.0)"
    assert (repr(nn.Embedding(10, 4, 0, 2, 1, True, True))
            == "Embedding(10, 4, padding_idx=0, max_norm=2, norm_type=1, scale_grad_by_freq=True, sparse=True)")
    assert repr(nn.Embedding(10, 4, norm_type=2)) == "Embedding(10, 4)"  # the default p is not shown


@pytest.mark.parametrize("make, error, match", [
    (lambda: nn.Embedding(3, 2, max_norm=-1.0), ValueError, r"Embedding max_norm must be None or a number >= 0, got -1.0"),
    (lambda: nn.Embedding(3, 2, max_norm="1"), TypeError, r"max_norm must be None or a number >= 0, got '1'"),
    (lambda: nn.Embedding(3, 2, max_norm=float("nan")), ValueError, "max_norm"),
    (lambda: nn.Embedding(3, 2, max_norm=1.0, norm_type=float("nan")), ValueError, r"norm_type must be a number"),
    (lambda: nn.Embedding(3, 2, norm_type="fro"), TypeError, r"norm_type must be a number"),
    (lambda: nn.Embedding(3, 2, scale_grad_by_freq=1), TypeError, "scale_grad_by_freq must be a bool, got 1"),
    (lambda: nn.Embedding(3, 2, sparse="yes"), TypeError, "sparse must be a bool"),
    (lambda: nn.Embedding(3, 2, _weight=np.ones((2, 3))), ValueError, r"_weight must have shape .* \(3, 2\), got \(2, 3\)"),
    (lambda: nn.Embedding.from_pretrained(np.ones((2, 2)), max_norm=-0.5), ValueError, "max_norm"),
])
def test_bad_norm_options(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_sparse_with_scale_grad_by_freq_raises_in_backward():
    emb = nn.Embedding(4, 2, scale_grad_by_freq=True, sparse=True)
    y = emb(np.array([1, 1]))  # the forward works, as torch's
    with pytest.raises(RuntimeError, match=r"scale_grad_by_freq=True is not supported with sparse=True"):
        emb.backward(np.ones_like(y))
