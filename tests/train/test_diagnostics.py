"""GradientFlow: the numbers it records, computed again by hand for a one-batch epoch."""

import numpy as np
import pytest

from chainrule import data, nn, optim
from chainrule.train import GradientFlow, fit


def build(activation, seed=0):
    rng = np.random.default_rng(seed)
    f64 = np.float64  # float64, so the hand computation agrees to rounding
    return nn.Sequential(nn.Linear(3, 6, dtype=f64, rng=rng), activation(), nn.Linear(6, 4, dtype=f64, rng=rng),
                         nn.ReLU(), nn.Linear(4, 2, dtype=f64, rng=rng))


@pytest.mark.parametrize("activation", [nn.Sigmoid, nn.Tanh])
def test_recorded_values_match_a_hand_computation(activation):
    rng = np.random.default_rng(1)
    X = (3 * rng.normal(size=(10, 3))).astype(np.float64)
    y = rng.integers(0, 2, size=10)
    loader = data.DataLoader(data.TensorDataset(X, y), batch_size=10)  # one batch: epoch means = batch values

    # By hand: the same step, with hooks of our own that also check the shapes each hook sees.
    model = build(activation)
    seen = {}
    for name, m in model.named_modules():
        if name:
            m.register_forward_hook(lambda mod, args, out, name=name: seen.__setitem__(("fwd", name), (args[0].shape, out)))
            m.register_full_backward_hook(
                lambda mod, gin, gout, name=name: seen.__setitem__(("bwd", name), (gin[0].shape, gout[0])))
    opt = optim.SGD(model.parameters(), lr=0.5)
    loss_fn = nn.CrossEntropyLoss()
    loss_fn(model(X), y)
    opt.zero_grad()
    model.backward(loss_fn.backward())
    grads = {k: p.grad.copy() for k, p in model.named_parameters()}
    before = model.state_dict()
    opt.step()
    after = model.state_dict()
    assert seen[("fwd", "0")][0] == (10, 3) and seen[("fwd", "0")][1].shape == (10, 6)
    assert seen[("bwd", "0")][0] == (10, 3) and seen[("bwd", "0")][1].shape == (10, 6)
    assert seen[("bwd", "4")][1].shape == (10, 2)

    flow = GradientFlow(saturation=0.9)
    watched = build(activation)
    history = fit(watched, nn.CrossEntropyLoss(), optim.SGD(watched.parameters(), lr=0.5), loader, 1,
                  metrics=(), callbacks=[flow], progress=False)
    assert flow.layers == ["0", "2", "4"] and flow.activations == ["1", "3"]
    for key, g in grads.items():
        assert history[f"grad_norm/{key}"][0] == pytest.approx(np.linalg.norm(g), rel=1e-12)
        ratio = np.linalg.norm(after[key] - before[key]) / np.linalg.norm(before[key])
        assert history[f"update_ratio/{key}"][0] == pytest.approx(ratio, rel=1e-12)
    for layer in ("0", "2", "4"):
        assert history[f"delta_norm/{layer}"][0] == pytest.approx(np.linalg.norm(seen[("bwd", layer)][1]), rel=1e-12)
    a = seen[("fwd", "1")][1]
    assert history["act_mean/1"][0] == pytest.approx(a.mean()) and history["act_std/1"][0] == pytest.approx(a.std())
    tails = np.abs(a) > 0.9 if activation is nn.Tanh else np.abs(2 * a - 1) > 0.9
    assert history["saturated/1"][0] == tails.mean()
    assert 0 < tails.mean() < 1  # the inputs are large enough that some units saturate
    relu_out = seen[("fwd", "3")][1]
    assert history["dead/3"][0] == np.mean(~np.any(relu_out > 0, axis=0))
    assert all(not m._forward_hooks and not m._backward_hooks for m in watched.modules())


def test_dead_units_are_counted_over_the_whole_epoch():
    model = nn.Sequential(nn.Linear(1, 3, dtype=np.float64), nn.ReLU(), nn.Linear(3, 1, dtype=np.float64))
    model[0].weight.data[:] = [[1.0], [-1.0], [0.0]]  # unit 0 fires for x > 0, unit 1 for x < 0, unit 2 never
    model[0].bias.data[:] = 0.0
    X = np.array([[1.0], [2.0], [-1.0], [-2.0]])
    loader = data.DataLoader(data.TensorDataset(X, np.zeros((4, 1))), batch_size=2)  # batch 1: x > 0, batch 2: x < 0
    history = fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.0), loader, 1, metrics=(),
                  callbacks=[GradientFlow()], progress=False)
    assert history["dead/1"] == [pytest.approx(1 / 3)]


def test_every_and_validation_forwards():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.integers(0, 2, size=40)
    loader = data.DataLoader(data.TensorDataset(X, y), batch_size=10)
    counts = []

    class Counting(GradientFlow):
        def on_epoch_end(self, state):
            counts.append(dict(self._counts))
            super().on_epoch_end(state)

    model = build(nn.Tanh)
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), loader, 1, val_loader=loader,
        callbacks=[Counting(every=2)], progress=False)
    assert counts[0]["grad_norm/0.weight"] == 2 and counts[0]["act_mean/1"] == 2  # batches 0 and 2, no val batches


def test_arguments_are_validated():
    with pytest.raises(ValueError, match="GradientFlow every must be a positive int, got 0"):
        GradientFlow(every=0)
    with pytest.raises(ValueError, match=r"GradientFlow saturation must be in \(0, 1\), got 1.5"):
        GradientFlow(saturation=1.5)


def test_a_frozen_layer_has_no_gradient_to_record():
    """A frozen parameter's .grad stays None (PyTorch semantics): GradientFlow records no
    grad_norm for it instead of failing, and its update ratio is 0 (the optimiser skips it)."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 3)), rng.integers(0, 2, size=20)
    model = build(nn.Tanh)
    model[0].requires_grad_(False)
    history = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                  data.DataLoader(data.TensorDataset(X, y), batch_size=10), 2, metrics=(),
                  callbacks=[GradientFlow()], progress=False)
    assert "grad_norm/0.weight" not in history and "grad_norm/0.bias" not in history
    assert all(v > 0 for v in history["grad_norm/2.weight"])
    assert history["update_ratio/0.weight"] == [0.0, 0.0]
    assert all(v > 0 for v in history["update_ratio/2.weight"])


def test_forwards_under_no_grad_are_not_recorded():
    import chainrule as cr

    class Probe(GradientFlow):
        def on_after_backward(self, state):
            with cr.no_grad():  # a logging forward inside training: not a training forward
                state.model(np.full((5, 3), 100.0))
            super().on_after_backward(state)

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(10, 3)), rng.integers(0, 2, size=10)
    model, flow = build(nn.Tanh), Probe()
    history = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.0),
                  data.DataLoader(data.TensorDataset(X, y), batch_size=10), 1, metrics=(),
                  callbacks=[flow], progress=False)
    with cr.no_grad():
        a = model[1](model[0](X))
    assert history["act_mean/1"] == [pytest.approx(a.mean(), rel=1e-12)]  # the probe's saturated outputs left out
