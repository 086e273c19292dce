"""BatchNorm1d, BatchNorm2d and LayerNorm against central finite differences (float64) over
their options, plus the running statistics, the state they keep and the errors they raise."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

f64 = np.float64

BATCHNORM_CASES = {
    "BatchNorm1d (N, C)": (lambda **kw: nn.BatchNorm1d(3, dtype=f64, **kw), (5, 3)),
    "BatchNorm1d (N, C, L)": (lambda **kw: nn.BatchNorm1d(2, dtype=f64, **kw), (3, 2, 4)),
    "BatchNorm2d": (lambda **kw: nn.BatchNorm2d(3, dtype=f64, **kw), (2, 3, 2, 3)),
}
OPTIONS = {
    "default": {},
    "affine=False": {"affine": False},
    "bias=False": {"bias": False},
    "track_running_stats=False": {"track_running_stats": False},
    "momentum=None": {"momentum": None},
}


def _randomise(module, rng):
    """Parameters and running statistics away from their init, so every term is exercised."""
    for p in module.parameters():
        p.data[...] = rng.standard_normal(p.shape)
    if getattr(module, "running_mean", None) is not None:
        module.running_mean[...] = rng.standard_normal(module.running_mean.shape)
        module.running_var[...] = rng.uniform(0.5, 2.0, module.running_var.shape)


@pytest.mark.parametrize("option", list(OPTIONS))
@pytest.mark.parametrize("case", list(BATCHNORM_CASES))
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_batchnorm_gradcheck(case, option, mode):
    make, shape = BATCHNORM_CASES[case]
    rng = np.random.default_rng(0)
    bn = make(**OPTIONS[option])
    _randomise(bn, rng)
    bn.train(mode == "train")
    x = rng.standard_normal(shape) * 2 + 1
    assert cr.gradcheck(bn, x)


@pytest.mark.parametrize("normalized_shape, shape", [(4, (3, 4)), ((2, 3), (2, 2, 3)), (5, (5,)), ((3, 2), (3, 2))])
@pytest.mark.parametrize("options", [{}, {"elementwise_affine": False}, {"bias": False}], ids=str)
def test_layernorm_gradcheck(normalized_shape, shape, options):
    rng = np.random.default_rng(1)
    ln = nn.LayerNorm(normalized_shape, dtype=f64, **options)
    _randomise(ln, rng)
    assert cr.gradcheck(ln, rng.standard_normal(shape) * 3 - 1)


def test_batchnorm_train_mode_uses_batch_statistics_and_updates_running_ones():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((8, 3, 5)) * 2 + 4
    bn = nn.BatchNorm1d(3, dtype=f64)
    with cr.no_grad():
        y = bn(x)
    np.testing.assert_allclose(y.mean(axis=(0, 2)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 2)), 1, rtol=1e-4)  # eps = 1e-5 shrinks it a little
    m = 8 * 5
    np.testing.assert_allclose(bn.running_mean, 0.1 * x.mean(axis=(0, 2)), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, 0.9 + 0.1 * x.var(axis=(0, 2)) * m / (m - 1), rtol=1e-12)
    assert bn.num_batches_tracked.dtype == np.int64 and bn.num_batches_tracked == 1


def test_batchnorm_eval_uses_running_statistics():
    bn = nn.BatchNorm2d(2, dtype=f64)
    bn.running_mean[...] = [1.0, -2.0]
    bn.running_var[...] = [4.0, 0.25]
    bn.eval()
    x = np.random.default_rng(3).standard_normal((3, 2, 2, 2))
    with cr.no_grad():
        y = bn(x)
    expected = (x - np.array([1.0, -2.0])[:, None, None]) / np.sqrt(np.array([4.0, 0.25]) + 1e-5)[:, None, None]
    np.testing.assert_allclose(y, expected, rtol=1e-12)
    assert bn.num_batches_tracked == 0  # eval mode tracks nothing


def test_momentum_none_is_the_cumulative_average():
    rng = np.random.default_rng(4)
    bn = nn.BatchNorm1d(2, momentum=None, dtype=f64)
    batches = [rng.standard_normal((6, 2)) + k for k in range(3)]
    with cr.no_grad():
        for x in batches:
            bn(x)
    np.testing.assert_allclose(bn.running_mean, np.mean([x.mean(0) for x in batches], axis=0), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, np.mean([x.var(0, ddof=1) for x in batches], axis=0), rtol=1e-12)
    assert bn.num_batches_tracked == 3


def test_track_running_stats_false_has_no_buffers_and_uses_batch_statistics_in_eval():
    bn = nn.BatchNorm1d(3, track_running_stats=False, dtype=f64)
    assert bn.running_mean is None and bn.running_var is None and bn.num_batches_tracked is None
    assert list(bn.state_dict()) == ["weight", "bias"]
    bn.eval()
    x = np.random.default_rng(5).standard_normal((4, 3)) * 3
    with cr.no_grad():
        y = bn(x)
    np.testing.assert_allclose(y, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5), rtol=1e-12)


def test_state_dict_keys_buffers_and_init():
    bn = nn.BatchNorm2d(4)
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert [name for name, _ in bn.named_buffers()] == ["running_mean", "running_var", "num_batches_tracked"]
    assert [name for name, _ in bn.named_parameters()] == ["weight", "bias"]
    np.testing.assert_array_equal(bn.weight.data, 1)
    np.testing.assert_array_equal(bn.bias.data, 0)
    np.testing.assert_array_equal(bn.running_mean, 0)
    np.testing.assert_array_equal(bn.running_var, 1)
    assert bn.weight.dtype == np.float32 and bn.running_var.dtype == np.float32
    assert bn.num_batches_tracked.shape == () and bn.num_batches_tracked.dtype == np.int64
    assert list(nn.BatchNorm1d(2, affine=False).state_dict()) == ["running_mean", "running_var", "num_batches_tracked"]
    ln = nn.LayerNorm((2, 3), bias=False)
    assert list(ln.state_dict()) == ["weight"] and ln.weight.shape == (2, 3)
    assert nn.LayerNorm(3, elementwise_affine=False).state_dict() == {}


def test_load_state_dict_round_trip_keeps_running_statistics():
    rng = np.random.default_rng(6)
    bn = nn.BatchNorm1d(3, dtype=f64)
    with cr.no_grad():
        bn(rng.standard_normal((5, 3)))
    other = nn.BatchNorm1d(3, dtype=f64)
    other.load_state_dict(bn.state_dict())
    for key, value in bn.state_dict().items():
        np.testing.assert_array_equal(other.state_dict()[key], value)
    assert other.num_batches_tracked == 1


def test_repr_as_pytorch():
    assert repr(nn.BatchNorm1d(4)) == "BatchNorm1d(4, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)"
    assert repr(nn.BatchNorm2d(3, momentum=None, affine=False)) == (
        "BatchNorm2d(3, eps=1e-05, momentum=None, affine=False, bias=False, track_running_stats=True)")
    assert repr(nn.LayerNorm((2, 3))) == "LayerNorm((2, 3), eps=1e-05, elementwise_affine=True, bias=True)"


@pytest.mark.parametrize("make, shape", [(lambda: nn.BatchNorm1d(3), (4, 3, 2)), (lambda: nn.BatchNorm2d(3), (2, 3, 2, 2)),
                                         (lambda: nn.LayerNorm((3, 2)), (4, 3, 2))])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_float32_stays_float32(make, shape, mode):
    module = make().train(mode == "train")
    x = np.random.default_rng(7).standard_normal(shape)  # float64 in, cast to the layer's float32
    y = module(x)
    dx = module.backward(np.ones(shape, dtype=np.float32))
    assert y.dtype == dx.dtype == module.weight.grad.dtype == module.bias.grad.dtype == np.float32
    for buffer in module.buffers():
        assert buffer.dtype in (np.float32, np.int64)


def test_gradients_accumulate_and_frozen_parameters_get_none():
    rng = np.random.default_rng(8)
    x, g = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    bn = nn.BatchNorm1d(3, dtype=f64)
    bn(x)
    bn.backward(g)
    first = bn.weight.grad.copy()
    bn(x)
    bn.backward(g)
    np.testing.assert_allclose(bn.weight.grad, 2 * first)
    bn.zero_grad()
    bn.weight.requires_grad_(False)
    bn(x)
    bn.backward(g)
    assert bn.weight.grad is None and bn.bias.grad is not None


def test_backward_twice_and_before_forward_raise():
    ln = nn.LayerNorm(3)
    with pytest.raises(RuntimeError, match="before forward"):
        ln.backward(np.ones((2, 3)))
    ln(np.ones((2, 3)))
    ln.backward(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match="second time"):
        ln.backward(np.ones((2, 3)))


def test_empty_batch_as_pytorch():
    bn = nn.BatchNorm1d(5, 1e-3, 0.3, False, dtype=f64)  # common_modules' 'zero_batch'
    x = np.zeros((0, 5, 9))
    y = bn(x)
    assert y.shape == (0, 5, 9) and bn.backward(y).shape == (0, 5, 9)
    np.testing.assert_array_equal(bn.running_mean, 0)
    np.testing.assert_array_equal(bn.running_var, 1)
    assert bn.num_batches_tracked == 1


def test_one_value_per_channel_in_training_mode_is_refused():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"BatchNorm1d expected more than 1 value per channel .* shape \(1, 3\)"):
        bn(np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"more than 1 value per channel .* shape \(1, 3, 1, 1\)"):
        nn.BatchNorm2d(3)(np.ones((1, 3, 1, 1)))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3, track_running_stats=False).eval()(np.ones((1, 3)))
    bn.eval()
    with cr.no_grad():
        assert bn(np.ones((1, 3))).shape == (1, 3)  # running statistics: one sample is fine
        assert nn.BatchNorm1d(3)(np.ones((1, 3, 2))).shape == (1, 3, 2)  # two values per channel


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"BatchNorm1d expected input with 4 channels \(num_features\) .* got shape \(2, 3\)"):
        nn.BatchNorm1d(4)(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"BatchNorm1d expected input of shape \(N, C\) or \(N, C, L\), got shape \(2, 3, 4, 5\)"):
        nn.BatchNorm1d(3)(np.ones((2, 3, 4, 5)))
    with pytest.raises(ValueError, match=r"BatchNorm2d expected input of shape \(N, C, H, W\), got shape \(2, 3\)"):
        nn.BatchNorm2d(3)(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"LayerNorm expected input of shape \(\*, 4\) \(normalized_shape=\(4,\)\), got shape \(2, 3\)"):
        nn.LayerNorm(4)(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"LayerNorm expected input of shape \(\*, 2, 3\) .* got shape \(3,\)"):
        nn.LayerNorm((2, 3))(np.ones(3))
    with pytest.raises(TypeError, match="real numeric array"):
        nn.LayerNorm(2)(np.array(["a", "b"]))
    ln = nn.LayerNorm(3)
    ln(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"LayerNorm.backward expected grad_output of shape \(2, 3\)"):
        ln.backward(np.ones((3, 2)))


@pytest.mark.parametrize("make, error, match", [
    (lambda: nn.BatchNorm1d(0), ValueError, "num_features must be a positive int, got 0"),
    (lambda: nn.BatchNorm2d(2.5), ValueError, "num_features must be a positive int, got 2.5"),
    (lambda: nn.BatchNorm1d(2, eps=-1), ValueError, "eps must be a finite number >= 0, got -1"),
    (lambda: nn.BatchNorm1d(2, momentum="fast"), ValueError, "momentum must be a finite number or None"),
    (lambda: nn.BatchNorm1d(2, affine=1), TypeError, "affine must be a bool, got 1"),
    (lambda: nn.BatchNorm1d(2, dtype=np.int32), TypeError, "dtype must be float32 or float64"),
    (lambda: nn.LayerNorm(0), ValueError, "normalized_shape must be a positive int or a non-empty tuple"),
    (lambda: nn.LayerNorm(()), ValueError, "normalized_shape"),
    (lambda: nn.LayerNorm("3"), ValueError, "normalized_shape"),
    (lambda: nn.LayerNorm(3, elementwise_affine=None), TypeError, "elementwise_affine must be a bool"),
])
def test_bad_options(make, error, match):
    with pytest.raises(error, match=match):
        make()
