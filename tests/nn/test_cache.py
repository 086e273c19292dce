"""The Module contract of ../shared/API.md: .grad, requires_grad, the forward cache's life cycle,
no_grad, CacheWarning, a module at two places, buffers, load_state_dict, copies."""

import copy
import pickle
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim


def net(seed=0):
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Linear(3, 4, dtype=np.float64, rng=rng), nn.Tanh(),
                         nn.Linear(4, 2, dtype=np.float64, rng=rng))


def data(seed=1, n=5):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 3)), rng.integers(0, 2, n)


def gradients(model):
    return [None if p.grad is None else p.grad.copy() for p in model.parameters()]


# -- .grad -----------------------------------------------------------------------------------


def test_grad_is_none_until_a_backward_stores_it_then_accumulates():
    model = net()
    x, _ = data()
    assert all(p.grad is None for p in model.parameters())
    model(x)
    model.backward(np.ones((5, 2)))
    once = gradients(model)
    layer = model[0]
    np.testing.assert_allclose(layer.weight.grad, once[0])
    model(x)
    model.backward(np.ones((5, 2)))
    for p, g in zip(model.parameters(), once):
        np.testing.assert_allclose(p.grad, 2 * g)  # later backwards add


def test_first_backward_after_reset_stores_the_product_itself():
    # no zero fill and no temporary: .grad is the array the GEMM produced
    layer = nn.Linear(3, 2, dtype=np.float64)
    x, g = np.ones((4, 3)), np.arange(8.0).reshape(4, 2)
    layer(x)
    layer.backward(g)
    np.testing.assert_array_equal(layer.weight.grad, g.T @ x)
    np.testing.assert_array_equal(layer.bias.grad, g.sum(0))


def test_grad_assignment_is_checked():
    p = nn.Parameter(np.zeros((2, 3)))
    with pytest.raises(TypeError, match=r"Parameter.grad must be None or a float ndarray of shape \(2, 3\).*got a str"):
        p.grad = "str"
    with pytest.raises(TypeError, match=r"got an array of shape \(3,\) and dtype float64"):
        p.grad = np.zeros(3)
    p.grad = np.ones((2, 3))
    p.grad = None


# -- requires_grad ---------------------------------------------------------------------------


def test_frozen_parameters_get_no_gradient_and_no_update():
    model = net()
    model[0].requires_grad_(False)
    assert model.requires_grad_(True) is model and model[0].weight.requires_grad
    model[0].weight.requires_grad = False
    model[0].bias.requires_grad_(False)
    before = model[0].weight.data.copy(), model[0].bias.data.copy()
    x, y = data()
    loss_fn = nn.CrossEntropyLoss()
    for make in (lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1), lambda ps: optim.Adam(ps, lr=0.1),
                 lambda ps: optim.AdamW(ps, lr=0.1)):
        opt = make(model.parameters())
        for _ in range(2):
            loss_fn(model(x), y)
            opt.zero_grad()
            dx = model.backward(loss_fn.backward())
            assert model[0].weight.grad is None and model[0].bias.grad is None
            assert dx.shape == x.shape  # the input gradient still flows
            model[0].weight.grad = np.ones_like(model[0].weight.data)  # even a stray gradient is ignored
            opt.step()
        np.testing.assert_array_equal(model[0].weight.data, before[0])
        np.testing.assert_array_equal(model[0].bias.data, before[1])
        assert model[2].weight.grad is not None


# -- the forward cache -----------------------------------------------------------------------


def test_second_backward_is_an_error():
    model = net()
    model(data()[0])
    model.backward(np.ones((5, 2)))
    with pytest.raises(RuntimeError, match=r"Linear.backward\(\) called a second time after one forward\(\)"):
        model.backward(np.ones((5, 2)))
    loss_fn = nn.MSELoss()
    loss_fn(np.ones(3), np.zeros(3))
    loss_fn.backward()
    with pytest.raises(RuntimeError, match="MSELoss.backward.*second time"):
        loss_fn.backward()


def test_eval_mode_keeps_the_cache_for_input_gradients():
    # saliency: the gradient of a class score with respect to the input of a trained model
    model = nn.Sequential(nn.Linear(3, 4, dtype=np.float64), nn.Dropout(0.5), nn.ReLU(),
                          nn.Linear(4, 2, dtype=np.float64)).eval()
    x = data()[0]
    model(x)
    saliency = model.backward(np.tile([1.0, 0.0], (5, 1)))
    assert saliency.shape == x.shape
    assert cr.gradcheck(model, x)


def test_no_grad_keeps_nothing_and_leaves_the_cache_alone():
    model, loss_fn = net(), nn.CrossEntropyLoss()
    x, y = data()
    reference = net()
    loss_fn(reference(x), y)
    reference.backward(loss_fn.backward())

    loss_fn(model(x), y)
    assert cr.is_grad_enabled()
    with cr.no_grad():
        assert not cr.is_grad_enabled()
        model(data(seed=7)[0])  # logging accuracy on other data in between
    assert cr.is_grad_enabled()
    model.backward(loss_fn.backward())
    for p, q in zip(model.parameters(), reference.parameters()):
        np.testing.assert_array_equal(p.grad, q.grad)

    fresh = net()
    with cr.no_grad():
        fresh(x)
    with pytest.raises(RuntimeError, match=r"called before forward\(\).*no_grad"):
        fresh.backward(np.ones((5, 2)))


def test_no_grad_is_a_decorator_and_restores_on_error():
    @cr.no_grad()
    def predict(model, x):
        assert not cr.is_grad_enabled()
        return model(x)

    predict(net(), data()[0])
    assert cr.is_grad_enabled()
    with pytest.raises(ZeroDivisionError):
        with cr.no_grad():
            1 / 0
    assert cr.is_grad_enabled()


def test_forward_replacing_an_unused_cache_warns_once_per_module_naming_the_fix():
    model = net()
    x = data()[0]
    model(x)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # count every warning, not just the first per line
        model(x)
        for _ in range(3):
            model(x)  # not once per step
        model.backward(np.ones((5, 2)))
        model(x)  # the cache was used: nothing to say
    assert [w.category for w in caught] == [cr.CacheWarning] * 3
    assert [str(w.message).split(".")[0] for w in caught] == ["Linear", "Tanh", "Linear"]
    assert "replaced a cache that no backward() has used" in str(caught[0].message)
    assert "with chainrule.no_grad():" in str(caught[0].message)
    assert issubclass(cr.CacheWarning, UserWarning)


def test_the_same_instance_twice_in_a_sequential_is_refused_naming_both_positions():
    relu = nn.ReLU()
    with pytest.raises(ValueError, match=r"ReLU at position 3 is the same instance as the one at position 1"):
        nn.Sequential(nn.Linear(2, 4), relu, nn.Linear(4, 4), relu)
    block = nn.Sequential(nn.Linear(4, 4), relu)
    model = nn.Sequential(nn.Linear(2, 4), block)
    with pytest.raises(ValueError, match=r"ReLU at position 2 is the same instance as the one at position 1.1"):
        model.append(relu)
    assert len(model) == 2  # refused: nothing was appended


# -- hooks: the mechanism is an instance attribute, not a rewritten class --------------------


def test_backward_hooks_leave_the_class_untouched():
    layer = nn.Linear(2, 2)
    assert "backward" not in layer.__dict__
    handle = layer.register_full_backward_hook(lambda *a: None)
    assert "backward" in layer.__dict__ and nn.Linear.backward is not layer.backward
    handle.remove()
    layer(np.ones((1, 2)))
    layer.backward(np.ones((1, 2)))
    assert "backward" not in layer.__dict__  # gone once no hook is left


# -- buffers ---------------------------------------------------------------------------------


def test_buffers_are_state_but_not_parameters():
    class Counter(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(2, 2)
            self.register_buffer("count", np.zeros(1))
            self.register_buffer("scratch", np.zeros(3), persistent=False)
            self.register_buffer("absent", None)

    m = Counter()
    assert [n for n, _ in m.named_buffers()] == ["count", "scratch"]
    assert len(list(m.buffers())) == 2 and len(list(m.parameters())) == 2
    assert list(m.state_dict()) == ["count", "linear.weight", "linear.bias"]
    m.count = np.ones(1)  # assigning replaces the buffer
    assert m.state_dict()["count"][0] == 1
    sd = m.state_dict()
    sd["count"] = np.full(1, 5.0)
    m.load_state_dict(sd)
    assert m.count[0] == 5
    with pytest.raises(TypeError, match="cannot assign a str to buffer 'count'"):
        m.count = "x"


def test_loss_weights_are_buffers_in_the_state_dict():
    loss = nn.CrossEntropyLoss(weight=[1.0, 2.0])
    assert list(loss.state_dict()) == ["weight"]
    assert list(nn.CrossEntropyLoss().state_dict()) == []
    assert list(nn.BCEWithLogitsLoss(pos_weight=[2.0]).state_dict()) == ["pos_weight"]


# -- load_state_dict -------------------------------------------------------------------------


def test_load_state_dict_is_all_or_nothing_and_lists_every_bad_key():
    model = net()
    before = model.state_dict()
    sd = net(seed=5).state_dict()
    del sd["2.bias"]
    sd["0.weight"] = np.zeros((9, 9))
    sd["extra"] = np.zeros(1)
    sd["2.weight"] = np.array(["a", "b"])
    with pytest.raises(RuntimeError) as info:
        model.load_state_dict(sd)
    message = str(info.value)
    for part in ("nothing was changed", "missing keys ['2.bias']", "unexpected keys ['extra']",
                 "'0.weight' has shape (9, 9)", "'2.weight' has non-numeric dtype"):
        assert part in message
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])  # 0.bias fitted, but was not loaded either


def test_load_state_dict_refuses_what_is_not_a_dict():
    model = net()
    with pytest.raises(TypeError, match=r"got the path 'model.npz'.*chainrule.load\(path\)"):
        model.load_state_dict("model.npz")
    with pytest.raises(TypeError, match="expected a dict of names to arrays, got a list"):
        model.load_state_dict([1, 2])
    with pytest.raises(TypeError, match="expected a dict of names to arrays, got a NoneType"):
        model.load_state_dict(None)
    with pytest.raises(TypeError, match="strict must be a bool, got 'no'"):
        model.load_state_dict(model.state_dict(), strict="no")


# -- copies ----------------------------------------------------------------------------------


@pytest.mark.parametrize("copier", [copy.deepcopy, lambda m: pickle.loads(pickle.dumps(m))])
def test_copies_carry_parameters_but_no_cache(copier):
    model = net()
    x = data()[0]
    model(x)
    clone = copier(model)
    for (name, p), (_, q) in zip(model.named_parameters(), clone.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data)
        assert p.data is not q.data
    assert all(not m._caches for m in clone.modules())
    with pytest.raises(RuntimeError, match="called before forward"):
        clone.backward(np.ones((5, 2)))
    model.backward(np.ones((5, 2)))  # the original keeps its own


def test_registration_names_and_types_are_checked():
    m = nn.Module()
    with pytest.raises(KeyError, match=r'module name must be a non-empty str without "\.", got "a\.b"'):
        m.add_module("a.b", nn.ReLU())
    with pytest.raises(KeyError, match='got ""'):
        m.add_module("", nn.ReLU())
    with pytest.raises(TypeError, match=r"register_parameter\('w'\) expected a chainrule.nn.Parameter or None, got a ndarray.*nn.Parameter\(array\)"):
        m.register_parameter("w", np.zeros(2))
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign a ndarray to parameter 'weight' of Linear"):
        layer.weight = np.zeros((2, 2))


def test_enable_grad_inside_no_grad_and_gradcheck_inside_no_grad():
    with cr.no_grad():
        with cr.enable_grad():
            assert cr.is_grad_enabled()
        assert not cr.is_grad_enabled()
        assert cr.gradcheck(net(), data()[0])
    with pytest.raises(TypeError, match="set_grad_enabled mode must be a bool, got 1"):
        cr.set_grad_enabled(1)


def test_after_a_step_the_model_holds_no_batch_sized_array():
    # What NumPy still holds after a large step and a small one: parameters, gradients and
    # the optimiser's state (a few kB here), not the large batch's activations (MBs).
    import gc
    import tracemalloc

    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(2, 500, rng=rng), nn.Tanh(), nn.Linear(500, 2, rng=rng))
    loss_fn, opt = nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    state_bytes = 3 * sum(p.data.nbytes for p in model.parameters())  # data, grad, momentum

    def step(n):
        x, y = rng.standard_normal((n, 2)).astype(np.float32), rng.integers(0, 2, n)
        loss_fn(model(x), y)
        opt.zero_grad()
        model.backward(loss_fn.backward())
        opt.step()

    step(32)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        step(20_000)  # activations of 20,000 x 500 float32: 40 MB each
        gc.collect()
        held_after_large = tracemalloc.get_traced_memory()[0] - before
        step(32)
        gc.collect()
        held_after_small = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    for held in (held_after_large, held_after_small):
        assert held < state_bytes + 100_000, f"the model holds {held} bytes more after the steps"
