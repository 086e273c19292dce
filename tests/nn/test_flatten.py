"""Flatten and Unflatten: output shapes over PyTorch's test table, central finite differences
(float64), dtypes, a network through Flatten, and every error."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


FLATTEN_CASES = [  # (module, input shape, output shape); PyTorch's test table and more
    (lambda: nn.Flatten(), (2, 3, 4, 5), (2, 60)),
    (lambda: nn.Flatten(-3, -1), (3, 4, 5), (60,)),
    (lambda: nn.Flatten(0, 2), (32, 1, 5, 5), (160, 5)),
    (lambda: nn.Flatten(1, 2), (2, 3, 4, 5), (2, 12, 5)),
    (lambda: nn.Flatten(-2, -2), (2, 3, 4), (2, 3, 4)),
    (lambda: nn.Flatten(0), (), (1,)),
    (lambda: nn.Flatten(0), (3,), (3,)),
    (lambda: nn.Flatten(0), (2, 0, 4), (0,)),
    (lambda: nn.Unflatten(1, (2, 5, 5)), (2, 50), (2, 2, 5, 5)),
    (lambda: nn.Unflatten(-2, (2, 2)), (3, 4, 5), (3, 2, 2, 5)),
    (lambda: nn.Unflatten(1, [2, -1]), (4, 6), (4, 2, 3)),
    (lambda: nn.Unflatten(0, (1, 3)), (3,), (1, 3)),
    (lambda: nn.Unflatten(1, (-1, 3)), (4, 0), (4, 0, 3)),
]


@pytest.mark.parametrize("make, shape_in, shape_out", FLATTEN_CASES)
def test_flatten_unflatten_shapes_and_gradcheck(make, shape_in, shape_out):
    x = np.random.default_rng(0).standard_normal(shape_in)
    module = make()
    y = module(x)
    assert y.shape == shape_out
    np.testing.assert_array_equal(y.ravel(), x.ravel())  # the same numbers in the same order
    dx = module.backward(y * 2.0)
    assert dx.shape == shape_in
    np.testing.assert_array_equal(dx, 2.0 * x)
    if x.size:
        assert cr.gradcheck(make(), x)


def test_flatten_keeps_dtype_and_unflatten_inverts_it():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    model = nn.Sequential(nn.Flatten(), nn.Unflatten(1, (3, 4)))
    y = model(x)
    assert y.dtype == np.float32 and np.array_equal(y, x)
    g = model.backward(np.ones_like(y))
    assert g.shape == x.shape and g.dtype == np.float32
    with cr.no_grad():
        assert nn.Flatten()(np.zeros((2, 3, 4), dtype=np.int64)).dtype == np.int64  # a reshape keeps any dtype


def test_flatten_in_a_network_gradcheck():
    rng = np.random.default_rng(5)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 5, dtype=np.float64, rng=rng), nn.GELU(),
                          nn.Unflatten(1, (5, 1)), nn.Flatten(0), nn.Softplus())
    assert cr.gradcheck(model, rng.standard_normal((2, 3, 4)))


def test_flatten_errors():
    with pytest.raises(TypeError, match="Flatten start_dim must be an int, got 1.0"):
        nn.Flatten(1.0)
    with pytest.raises(ValueError, match=r"Flatten start_dim=3 is out of range for input with 3 dimension\(s\) \(expected -3..2\)"):
        nn.Flatten(3)(np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match=r"Flatten end_dim=-4 is out of range for input with 3 dimension\(s\)"):
        nn.Flatten(0, -4)(np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match=r"Flatten start_dim=1 is out of range for input with 1 dimension\(s\)"):
        nn.Flatten()(np.ones(3))  # as PyTorch: the default keeps a batch dimension, which a 1-d input lacks
    with pytest.raises(ValueError, match=r"Flatten start_dim=2 comes after end_dim=1 for input with 3 dimension\(s\)"):
        nn.Flatten(2, 1)(np.ones((2, 3, 4)))


def test_unflatten_errors():
    with pytest.raises(TypeError, match="Unflatten dim must be an int, got 1.0"):
        nn.Unflatten(1.0, (2, 3))
    with pytest.raises(TypeError, match="Unflatten unflattened_size must be a tuple or list of ints, got 6"):
        nn.Unflatten(1, 6)
    with pytest.raises(TypeError, match=r"got 2.0 at position 0 of \(2.0, 3\)"):
        nn.Unflatten(1, (2.0, 3))
    with pytest.raises(ValueError, match=r"Unflatten unflattened_size must name at least one size, got \(\)"):
        nn.Unflatten(1, ())
    with pytest.raises(ValueError, match=r"sizes >= 0 and at most one -1 \(inferred\), got \(-1, -1\)"):
        nn.Unflatten(1, (-1, -1))
    with pytest.raises(ValueError, match=r"sizes >= 0 and at most one -1 \(inferred\), got \(2, -3\)"):
        nn.Unflatten(1, (2, -3))
    with pytest.raises(ValueError, match=r"Unflatten unflattened_size=\(4, 3\) does not multiply up to the size of dim 1 \(6\)"):
        nn.Unflatten(1, (4, 3))(np.ones((4, 6)))
    with pytest.raises(ValueError, match=r"Unflatten cannot infer the -1 in unflattened_size=\(4, -1\) for dim 1 of size 6"):
        nn.Unflatten(1, (4, -1))(np.ones((4, 6)))
    with pytest.raises(ValueError, match=r"Unflatten dim=2 is out of range for input with 2 dimension\(s\)"):
        nn.Unflatten(2, (2, 3))(np.ones((4, 6)))
    with pytest.raises(ValueError, match="Unflatten expected an input with at least one dimension, got a 0-d array"):
        nn.Unflatten(0, (1,))(np.array(1.0))
