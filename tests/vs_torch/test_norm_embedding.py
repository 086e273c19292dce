"""BatchNorm1d/2d, LayerNorm and Embedding against PyTorch autograd, with the constructor
arguments and input shapes of torch's own tables (common_modules.module_inputs_torch_nn_*):
outputs, input gradients, parameter gradients and running buffers over several training
steps, then eval mode; state dicts in both directions."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch", reason="torch is not installed")
tnn = torch.nn

# (name, args, kwargs, input shape) as in common_modules.py
BATCHNORM = [
    ("BatchNorm1d", (10,), {}, (4, 10)),                              # affine
    ("BatchNorm1d", (5,), {}, (4, 5, 3)),                             # 3d_input
    ("BatchNorm1d", (10, 1e-3, None), {}, (4, 10)),                   # affine_simple_average
    ("BatchNorm1d", (10, 1e-3, 0.3, False), {}, (4, 10)),             # not_affine
    ("BatchNorm1d", (10, 1e-3, 0.3, True, False), {}, (4, 10)),       # not_tracking_stats
    ("BatchNorm1d", (5, 1e-3, 0.3, False), {}, (4, 5, 3)),            # 3d_input_not_affine
    ("BatchNorm1d", (5, 1e-3, 0.3, False), {}, (0, 5, 9)),            # zero_batch
    ("BatchNorm1d", (10,), {"bias": False}, (4, 10)),                 # affine_not_bias
    ("BatchNorm2d", (3,), {}, (2, 3, 6, 6)),
    ("BatchNorm2d", (3, 1e-3, None), {}, (2, 3, 6, 6)),               # 2d_simple_average
    ("BatchNorm2d", (3, 1e-3, 0.8), {}, (2, 3, 6, 6)),                # momentum
    ("BatchNorm2d", (3, 1e-3, 0.8, False), {}, (2, 3, 6, 6)),         # not_affine
    ("BatchNorm2d", (3, 1e-3, 0.8, True, False), {}, (2, 3, 6, 6)),   # not_tracking_stats
    ("BatchNorm2d", (5, 1e-3, 0.3, False), {}, (0, 5, 2, 2)),         # zero_batch
    ("BatchNorm2d", (3,), {"bias": False}, (2, 3, 6, 6)),             # affine_not_bias
]
LAYERNORM = [
    (([5], 1e-3), {}, (4, 5, 5)),                                     # 1d_elementwise_affine
    (([5], 1e-3), {}, (128, 5, 5)),                                   # 1d_elementwise_affine_large_batch
    (([5], 1e-3, False), {}, (4, 5, 5)),                              # 1d_no_elementwise_affine
    (([2, 2, 5], 1e-3), {}, (4, 2, 2, 5)),                            # 3d_elementwise_affine
    (([2, 2, 5], 1e-3, False), {}, (4, 2, 2, 5)),                     # 3d_no_elementwise_affine
    (([5], 1e-3), {}, (0, 5)),                                        # 1d_empty_elementwise_affine
    (([2, 2, 5], 1e-3), {"elementwise_affine": True, "bias": False}, (4, 2, 2, 5)),  # ..._no_bias
    (([5, 5], 1e-3), {}, (4, 5, 5)),                                  # two trailing dims
]


def _pair(make_ours, make_theirs):
    """Our module and torch's, with torch's random-looking parameters copied into ours."""
    ours, theirs = make_ours(), make_theirs()
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.randn(p.shape, dtype=p.dtype) * 0.5 + 1)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _step(ours, theirs, x, g):
    """One forward/backward in both; compare output, dx and every parameter gradient."""
    ours.zero_grad()
    theirs.zero_grad()
    y = ours(x)
    dx = ours.backward(g)
    xt = torch.tensor(x, requires_grad=True)
    yt = theirs(xt)
    yt.backward(torch.from_numpy(g))
    rtol, atol = (1e-10, 1e-12) if x.dtype == np.float64 else (1e-4, 1e-5)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=rtol, atol=atol)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=rtol, atol=atol)
    named_theirs = dict(theirs.named_parameters())
    assert [name for name, _ in ours.named_parameters()] == list(named_theirs)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, named_theirs[name].grad.numpy(), rtol=rtol, atol=atol, err_msg=name)


def _same_state(ours, theirs, rtol=1e-10):
    theirs_sd = theirs.state_dict()
    assert list(ours.state_dict()) == list(theirs_sd)
    for key, value in ours.state_dict().items():
        np.testing.assert_allclose(value, theirs_sd[key].numpy(), rtol=rtol, atol=1e-12, err_msg=key)
        assert value.dtype == theirs_sd[key].numpy().dtype, key


@pytest.mark.parametrize("name, args, kwargs, shape", BATCHNORM, ids=lambda v: str(v))
def test_batchnorm_training_steps_then_eval(name, args, kwargs, shape):
    ours, theirs = _pair(lambda: getattr(nn, name)(*args, **kwargs, dtype=np.float64),
                         lambda: getattr(tnn, name)(*args, **kwargs, dtype=torch.float64))
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    for _ in range(4):  # train mode: batch statistics, buffers updated every step
        x = rng.standard_normal(shape) * 3 + rng.standard_normal(shape[1])[(slice(None),) + (None,) * (len(shape) - 2)]
        _step(ours, theirs, x, rng.standard_normal(shape))
        _same_state(ours, theirs)
    ours.eval()
    theirs.eval()
    for _ in range(2):  # eval mode: running statistics (batch ones without track_running_stats)
        _step(ours, theirs, rng.standard_normal(shape) * 2, rng.standard_normal(shape))
    _same_state(ours, theirs)


@pytest.mark.parametrize("args, kwargs, shape", LAYERNORM, ids=lambda v: str(v))
def test_layernorm(args, kwargs, shape):
    torch.manual_seed(1)
    ours, theirs = _pair(lambda: nn.LayerNorm(*args, **kwargs, dtype=np.float64),
                         lambda: tnn.LayerNorm(*args, **kwargs, dtype=torch.float64))
    rng = np.random.default_rng(1)
    for mode in (True, False):  # the same computation in both modes
        ours.train(mode)
        theirs.train(mode)
        _step(ours, theirs, rng.standard_normal(shape) * 2 + 1, rng.standard_normal(shape))
    _same_state(ours, theirs)


@pytest.mark.parametrize("make", [lambda m: m.BatchNorm1d(4), lambda m: m.BatchNorm2d(4),
                                  lambda m: m.LayerNorm((3, 4))], ids=["BatchNorm1d", "BatchNorm2d", "LayerNorm"])
def test_float32_matches_torch_float32(make):
    torch.manual_seed(2)
    ours, theirs = _pair(lambda: make(nn), lambda: make(tnn))
    shape = {"BatchNorm1d": (6, 4, 3), "BatchNorm2d": (3, 4, 2, 5), "LayerNorm": (5, 3, 4)}[type(ours).__name__]
    rng = np.random.default_rng(2)
    for _ in range(3):
        x = (rng.standard_normal(shape) * 2 + 1).astype(np.float32)
        _step(ours, theirs, x, rng.standard_normal(shape).astype(np.float32))
    _same_state(ours, theirs, rtol=1e-5)


@pytest.mark.parametrize("name, num_features, shape", [("BatchNorm1d", 3, (5, 3, 2)), ("BatchNorm2d", 2, (3, 2, 2, 2))])
def test_state_dict_from_torch_round_trip(name, num_features, shape):
    theirs = getattr(tnn, name)(num_features, dtype=torch.float64)
    with torch.no_grad():
        for _ in range(3):
            theirs(torch.randn(shape, dtype=torch.float64) * 2 + 1)
        theirs.weight.mul_(3.0)
    ours = getattr(nn, name)(num_features, dtype=np.float64)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    _same_state(ours, theirs, rtol=0)
    assert ours.num_batches_tracked == 3
    ours.eval()
    theirs.eval()
    x = np.random.default_rng(3).standard_normal(shape)
    with cr.no_grad(), torch.no_grad():
        np.testing.assert_allclose(ours(x), theirs(torch.from_numpy(x)).numpy(), rtol=1e-12, atol=1e-14)
    back = getattr(tnn, name)(num_features, dtype=torch.float64)  # and from ours into torch
    back.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    _same_state(ours, back, rtol=0)


def test_state_dict_keys_equal_torch():
    for ours, theirs in [(nn.BatchNorm1d(3), tnn.BatchNorm1d(3)), (nn.BatchNorm2d(3, affine=False), tnn.BatchNorm2d(3, affine=False)),
                         (nn.BatchNorm1d(3, track_running_stats=False), tnn.BatchNorm1d(3, track_running_stats=False)),
                         (nn.LayerNorm([2, 3], bias=False), tnn.LayerNorm([2, 3], bias=False)),
                         (nn.Embedding(5, 2, padding_idx=1), tnn.Embedding(5, 2, padding_idx=1))]:
        assert list(ours.state_dict()) == list(theirs.state_dict())
        assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("padding_idx", [None, 0, -1])
@pytest.mark.parametrize("make_indices", [lambda rng: rng.integers(0, 4, (2, 3)),                 # common_modules
                                          lambda rng: np.broadcast_to(rng.integers(0, 4, (1, 512)), (7, 512)),  # discontiguous
                                          lambda rng: np.array([3, 3, 1, 3])],
                         ids=["(2, 3)", "discontiguous (7, 512)", "repeated"])
def test_embedding(make_indices, padding_idx):
    torch.manual_seed(3)
    theirs = tnn.Embedding(4, 3, padding_idx=padding_idx, dtype=torch.float64)
    ours = nn.Embedding(4, 3, padding_idx=padding_idx, dtype=np.float64)
    assert ours.padding_idx == theirs.padding_idx
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(4)
    indices = make_indices(rng)
    for _ in range(2):  # the second backward accumulates
        y = ours(indices)
        g = rng.standard_normal(y.shape)
        assert ours.backward(g) is None
        yt = theirs(torch.from_numpy(np.ascontiguousarray(indices)))
        yt.backward(torch.from_numpy(g))
        np.testing.assert_array_equal(y, yt.detach().numpy())
        np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_embedding_init_and_from_pretrained_as_torch():
    theirs = tnn.Embedding(6, 2, padding_idx=-2)
    ours = nn.Embedding(6, 2, padding_idx=-2)
    assert ours.padding_idx == theirs.padding_idx == 4
    np.testing.assert_array_equal(ours.weight.data[4], theirs.weight.detach().numpy()[4])  # both zero
    table = np.random.default_rng(5).standard_normal((5, 3))
    for freeze in (True, False):
        ours = nn.Embedding.from_pretrained(table, freeze=freeze, padding_idx=1)
        theirs = tnn.Embedding.from_pretrained(torch.from_numpy(table), freeze=freeze, padding_idx=1)
        assert ours.weight.requires_grad == theirs.weight.requires_grad
        np.testing.assert_array_equal(ours.weight.data, theirs.weight.detach().numpy())  # row 1 kept


EMBEDDING_OPTIONS = [
    {"max_norm": 1.0},                                   # norm_type 2
    {"max_norm": 1.5, "norm_type": 1.0},
    {"max_norm": 0.8, "norm_type": float("inf")},
    {"max_norm": 1.0, "norm_type": 0.5},
    {"scale_grad_by_freq": True},
    {"scale_grad_by_freq": True, "padding_idx": 1},
    {"scale_grad_by_freq": True, "padding_idx": -1},
    {"sparse": True},
    {"sparse": True, "padding_idx": 0, "max_norm": 1.2},
    {"max_norm": 1.0, "norm_type": 1.0, "scale_grad_by_freq": True, "padding_idx": 2},
]
INDEX_SHAPES = {"1-d": (9,), "2-d": (3, 4), "3-d": (2, 3, 2)}


@pytest.mark.parametrize("shape", INDEX_SHAPES.values(), ids=INDEX_SHAPES)
@pytest.mark.parametrize("options", EMBEDDING_OPTIONS, ids=repr)
def test_embedding_options(options, shape):
    """Output, the weight after each forward (max_norm renormalises it in place) and the weight
    gradient, over two steps with an update between them, so rows grow past max_norm again."""
    torch.manual_seed(6)
    theirs = tnn.Embedding(5, 3, dtype=torch.float64, **options)
    ours = nn.Embedding(5, 3, dtype=np.float64, **options)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(7)
    for _ in range(2):
        indices = rng.integers(0, 5, shape)
        indices.flat[:3] = 3  # a repeated index, whatever the draw
        indices.flat[-1] = 4 if options.get("padding_idx") is None else ours.padding_idx
        before = ours.weight.data.copy()
        y = ours(indices)
        yt = theirs(torch.from_numpy(indices))
        np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ours.weight.data, theirs.weight.detach().numpy(), rtol=1e-10, atol=1e-12)
        if "max_norm" in options:  # some row was over the bound: the renormalisation is what is compared
            assert not np.array_equal(ours.weight.data, before)
        g = rng.standard_normal(y.shape)
        assert ours.backward(g) is None
        yt.backward(torch.from_numpy(g))
        grad = theirs.weight.grad.to_dense() if theirs.weight.grad.is_sparse else theirs.weight.grad
        np.testing.assert_allclose(ours.weight.grad, grad.numpy(), rtol=1e-10, atol=1e-12)
        with torch.no_grad():  # the same step on both, and grads cleared (a sparse grad does not add to a dense one)
            theirs.weight -= 2.0 * grad
            theirs.weight.grad = None
        ours.weight.data -= 2.0 * ours.weight.grad
        ours.weight.grad = None


def test_embedding_max_norm_float32_and_under_no_grad_as_torch():
    torch.manual_seed(8)
    theirs = tnn.Embedding(6, 4, max_norm=1.0)
    ours = nn.Embedding(6, 4, max_norm=1.0)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    indices = np.array([[0, 1, 1], [5, 0, 2]])
    with cr.no_grad(), torch.no_grad():  # the renormalisation happens without gradients too
        y, yt = ours(indices), theirs(torch.from_numpy(indices))
    assert y.dtype == np.float32 and ours.weight.dtype == np.float32
    np.testing.assert_allclose(y, yt.numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours.weight.data, theirs.weight.detach().numpy(), rtol=1e-6)
    np.testing.assert_array_equal(ours.weight.data[[3, 4]], theirs.weight.detach().numpy()[[3, 4]])  # not read


@pytest.mark.parametrize("options", [{"max_norm": 1.0, "norm_type": float("inf"), "padding_idx": 1},
                                     {"scale_grad_by_freq": True, "sparse": False, "padding_idx": -2},
                                     {"sparse": True, "max_norm": 2}], ids=repr)
def test_embedding_from_pretrained_with_options_as_torch(options):
    table = 2 * np.random.default_rng(9).standard_normal((5, 3))
    ours = nn.Embedding.from_pretrained(table.copy(), freeze=False, **options)
    theirs = tnn.Embedding.from_pretrained(torch.from_numpy(table.copy()), freeze=False, **options)
    assert repr(ours) == repr(theirs)
    frozen = nn.Embedding.from_pretrained(table.copy(), **options)
    assert frozen.weight.requires_grad is False
    indices = np.array([[1, 4, 4], [3, 1, 4]])
    g = np.random.default_rng(10).standard_normal((2, 3, 3))
    y = ours(indices)
    ours.backward(g)
    frozen(indices)  # a frozen table is renormalised too, as torch's
    yt = theirs(torch.from_numpy(indices))
    yt.backward(torch.from_numpy(g))
    grad = theirs.weight.grad.to_dense() if theirs.weight.grad.is_sparse else theirs.weight.grad
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.weight.data, theirs.weight.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(frozen.weight.data, theirs.weight.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.weight.grad, grad.numpy(), rtol=1e-10, atol=1e-12)


def test_embedding_sparse_with_scale_grad_by_freq_raises_in_backward_as_torch():
    theirs = tnn.Embedding(4, 2, scale_grad_by_freq=True, sparse=True)
    ours = nn.Embedding(4, 2, scale_grad_by_freq=True, sparse=True)
    indices = np.array([1, 1, 2])
    yt, y = theirs(torch.from_numpy(indices)), ours(indices)  # the forward works in both
    with pytest.raises(RuntimeError, match="scale_grad_by_freq not supported with sparse gradients"):
        yt.sum().backward()
    with pytest.raises(RuntimeError, match="scale_grad_by_freq=True is not supported with sparse=True"):
        ours.backward(np.ones_like(y))
