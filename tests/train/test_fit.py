"""fit and evaluate: the same numbers as the explicit loop, interrupts, modes, progress output."""

import signal

import numpy as np
import pytest

import chainrule as cr
from chainrule import data, nn, optim
from chainrule.train import Callback, GradientFlow, evaluate, fit


def problem(seed=0):
    X, y = data.datasets.make_moons(300, noise=0.15, seed=seed)
    train_set = data.TensorDataset(X[:240], y[:240])
    val_set = data.TensorDataset(X[240:], y[240:])
    return train_set, val_set


def build(seed=0):
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Linear(2, 16, rng=rng), nn.Tanh(), nn.Linear(16, 16, rng=rng), nn.ReLU(),
                          nn.Linear(16, 2, rng=rng))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return model, opt


def test_fit_history_is_bit_identical_to_the_explicit_loop():
    train_set, val_set = problem()
    epochs = 6

    # The explicit loop, as the examples write it.
    model, opt = build()
    loss_fn = nn.CrossEntropyLoss()
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    loader = data.DataLoader(train_set, batch_size=32, shuffle=True, seed=3)
    Xv, yv = val_set.arrays
    expected = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": [], "lr": []}
    for epoch in range(epochs):
        model.train()
        total = correct = seen = 0
        for xb, yb in loader:
            logits = model(xb)
            loss = loss_fn(logits, yb)
            opt.zero_grad()
            model.backward(loss_fn.backward())
            opt.step()
            total += loss * len(xb)
            correct += (logits.argmax(1) == yb).mean() * len(xb)
            seen += len(xb)
        model.eval()
        logits = model(Xv)
        expected["loss"].append(total / seen)
        expected["accuracy"].append(correct / seen)
        expected["val_loss"].append(loss_fn(logits, yv) * len(yv) / len(yv))  # evaluate's sample mean
        expected["val_accuracy"].append(float((logits.argmax(1) == yv).mean()))
        expected["lr"].append(opt.param_groups[0]["lr"])
        sched.step()
    weights = model.state_dict()

    model2, opt2 = build()
    history = fit(model2, nn.CrossEntropyLoss(), opt2, data.DataLoader(train_set, batch_size=32, shuffle=True, seed=3),
                  epochs, val_loader=data.DataLoader(val_set, batch_size=len(val_set)),
                  scheduler=optim.lr_scheduler.StepLR(opt2, step_size=2, gamma=0.5), progress=False)
    for key, values in expected.items():
        assert history[key] == [float(v) for v in values], key
    assert history.epoch == list(range(epochs))
    assert len(history["time"]) == epochs and all(t > 0 for t in history["time"])
    for key, value in weights.items():
        np.testing.assert_array_equal(model2.state_dict()[key], value)
    assert history.to_dict()["loss"] == history["loss"]
    assert not history.interrupted


def test_gradient_flow_does_not_change_training_and_removes_its_hooks():
    train_set, _ = problem()
    runs = []
    for callbacks in ([], [GradientFlow()]):
        model, opt = build()
        loader = data.DataLoader(train_set, batch_size=32, shuffle=True, seed=1)
        runs.append((fit(model, nn.CrossEntropyLoss(), opt, loader, 3, callbacks=callbacks, progress=False), model))
    (plain, m1), (watched, m2) = runs
    assert plain["loss"] == watched["loss"]
    for key, value in m1.state_dict().items():
        np.testing.assert_array_equal(m2.state_dict()[key], value)
    assert all(not m._forward_hooks and not m._backward_hooks for m in m2.modules())
    assert "grad_norm/0.weight" in watched and "grad_norm/0.weight" not in plain


class RaiseAt(Callback):
    def __init__(self, epoch, batch, method="on_batch_end", exc=KeyboardInterrupt):
        self.epoch, self.batch, self.method, self.exc = epoch, batch, method, exc
        self.ended = False

    def _check(self, state, method):
        if method == self.method and (state.epoch, state.batch) == (self.epoch, self.batch):
            if self.exc is signal.SIGINT:
                signal.raise_signal(signal.SIGINT)
            else:
                raise self.exc

    def on_batch_begin(self, state):
        self._check(state, "on_batch_begin")

    def on_batch_end(self, state):
        self.batches_done = getattr(self, "batches_done", 0) + 1
        self._check(state, "on_batch_end")

    def on_fit_end(self, state):
        self.ended = True


def test_keyboard_interrupt_from_a_callback_returns_the_completed_epochs():
    train_set, _ = problem()
    model, opt = build()
    stopper = RaiseAt(epoch=2, batch=3)
    history = fit(model, nn.CrossEntropyLoss(), opt, data.DataLoader(train_set, batch_size=32), 10,
                  callbacks=[stopper], progress=False)
    assert history.interrupted
    assert len(history) == 2 and len(history["loss"]) == 2
    assert stopper.ended  # on_fit_end runs, so callbacks can clean up


def test_keyboard_interrupt_from_the_loader():
    class Breaking:
        def __init__(self, inner, after):
            self.inner, self.after, self.count = inner, after, 0

        def __len__(self):
            return len(self.inner)

        def __iter__(self):
            for batch in self.inner:
                if self.count == self.after:
                    raise KeyboardInterrupt
                self.count += 1
                yield batch

    train_set, _ = problem()
    model, opt = build()
    loader = Breaking(data.DataLoader(train_set, batch_size=40), after=6 * 3 + 2)  # 6 batches an epoch
    history = fit(model, nn.CrossEntropyLoss(), opt, loader, 10, progress=False)
    assert history.interrupted and len(history) == 3


def test_ctrl_c_lets_the_current_batch_finish_then_stops():
    train_set, _ = problem()
    model, opt = build()
    before = signal.getsignal(signal.SIGINT)
    stopper = RaiseAt(epoch=1, batch=2, method="on_batch_begin", exc=signal.SIGINT)
    history = fit(model, nn.CrossEntropyLoss(), opt, data.DataLoader(train_set, batch_size=32), 10,
                  callbacks=[stopper], progress=False)
    assert history.interrupted and len(history) == 1
    # 8 batches in epoch 0, then batches 0, 1 and the interrupted batch 2 of epoch 1 all finished.
    assert stopper.batches_done == 8 + 3
    assert signal.getsignal(signal.SIGINT) is before


def test_other_errors_propagate_after_on_fit_end():
    train_set, _ = problem()
    model, opt = build()
    stopper = RaiseAt(epoch=0, batch=1, exc=ZeroDivisionError)
    with pytest.raises(ZeroDivisionError):
        fit(model, nn.CrossEntropyLoss(), opt, data.DataLoader(train_set, batch_size=32), 2,
            callbacks=[stopper], progress=False)
    assert stopper.ended


def test_evaluate_is_exact_in_eval_mode_and_restores_each_modules_mode():
    cr.manual_seed(0)
    _, val_set = problem()
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 2))
    model.train()
    object.__setattr__(model[0], "training", False)  # a mixed state must come back as it was
    loss_fn = nn.CrossEntropyLoss()
    loader = data.DataLoader(val_set, batch_size=7)
    first = evaluate(model, loader, loss_fn, ("accuracy", "top2_accuracy"))
    second = evaluate(model, loader, loss_fn, ("accuracy", "top2_accuracy"))
    assert first == second  # Dropout is off
    X, y = val_set.arrays
    model.eval()
    logits = model(X)
    assert first["accuracy"] == float((logits.argmax(1) == y).mean())
    assert first["top2_accuracy"] == 1.0
    assert first["loss"] == pytest.approx(loss_fn(logits, y), rel=1e-6)
    model.train()
    object.__setattr__(model[0], "training", False)
    evaluate(model, loader, loss_fn)
    assert [m.training for m in model.modules()] == [True, False, True, True, True]


def test_progress_prints_plain_lines_when_stdout_is_not_a_terminal(capsys):
    train_set, val_set = problem()
    model, opt = build()
    fit(model, nn.CrossEntropyLoss(), opt, data.DataLoader(train_set, batch_size=32), 2,
        val_loader=data.DataLoader(val_set, batch_size=32))
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2
    assert out[0].startswith("epoch 1/2: loss=") and "val_accuracy=" in out[0] and "samples/s" in out[0]
    fit(model, nn.CrossEntropyLoss(), opt, data.DataLoader(train_set, batch_size=32), 2, progress=False)
    assert capsys.readouterr().out == ""


def test_regression_with_mse_metrics_and_sum_reduction():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3)).astype(np.float32)
    y = (X @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32))
    model = nn.Linear(3, 1, rng=rng)
    opt = optim.SGD(model.parameters(), lr=0.005)
    loader = data.DataLoader(data.TensorDataset(X, y), batch_size=16)
    history = fit(model, nn.MSELoss(reduction="sum"), opt, loader, 20, val_loader=loader,
                  metrics=("mse", "mae"), progress=False)
    assert history["loss"][-1] < history["loss"][0] / 10
    # For reduction='sum', the epoch loss is the sum over batches divided by the samples: per-sample.
    assert history["val_loss"][-1] == pytest.approx(history["val_mse"][-1], rel=1e-5)


def test_detect_anomaly_names_the_module():
    X = np.ones((8, 2), dtype=np.float32)
    X[3, 1] = np.inf
    model, opt = build()
    loader = data.DataLoader(data.TensorDataset(X, np.zeros(8, dtype=np.int64)), batch_size=8)
    with pytest.raises(RuntimeError, match=r"detect_anomaly: 0 \(Linear\)"):
        fit(model, nn.CrossEntropyLoss(), opt, loader, 1, progress=False, detect_anomaly=True)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"epochs": -1}, ValueError, "fit epochs must be an int >= 0, got -1"),
    ({"metrics": ("f1",)}, ValueError, "unknown metric 'f1'"),
    ({"loss_fn": nn.CrossEntropyLoss(reduction="none")}, ValueError, "reduction 'mean' or 'sum'.*'none'"),
])
def test_fit_rejects_bad_arguments(kwargs, error, match):
    train_set, _ = problem()
    model, opt = build()
    args = {"loss_fn": nn.CrossEntropyLoss(), "epochs": 1, **kwargs}
    with pytest.raises(error, match=match):
        fit(model, args.pop("loss_fn"), opt, data.DataLoader(train_set, batch_size=32), args.pop("epochs"),
            progress=False, **args)


def test_zero_epochs_returns_an_empty_history():
    train_set, _ = problem()
    model, opt = build()
    history = fit(model, nn.CrossEntropyLoss(), opt, data.DataLoader(train_set), 0, progress=False)
    assert len(history) == 0 and history.to_dict() == {"epoch": []}


def test_progress_bar_on_a_terminal(monkeypatch):
    import io
    import sys

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    monkeypatch.setattr(sys, "stdout", screen)
    train_set, _ = problem()
    model, opt = build()
    fit(model, nn.CrossEntropyLoss(), opt, data.DataLoader(train_set, batch_size=32), 2)
    text = screen.getvalue()
    assert "epoch 1/2" in text and "epoch 2/2" in text and "8/8" in text  # 8 batches an epoch
    assert "samples/s" in text and "loss=" in text
