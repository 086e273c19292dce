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
        with cr.no_grad():  # validation: no backward follows
            logits = model(Xv)
            val_loss = loss_fn(logits, yv)
        expected["loss"].append(total / seen)
        expected["accuracy"].append(correct / seen)
        expected["val_loss"].append(val_loss * len(yv) / len(yv))  # evaluate's sample mean
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
    first = evaluate(model, loss_fn, loader, ("accuracy", "top2_accuracy"))
    second = evaluate(model, loss_fn, loader, ("accuracy", "top2_accuracy"))
    assert first == second  # Dropout is off
    X, y = val_set.arrays
    model.eval()
    with cr.no_grad():
        logits = model(X)
        loss = loss_fn(logits, y)
    assert first["accuracy"] == float((logits.argmax(1) == y).mean())
    assert first["top2_accuracy"] == 1.0
    assert first["loss"] == pytest.approx(loss, rel=1e-6)
    model.train()
    object.__setattr__(model[0], "training", False)
    evaluate(model, loss_fn, loader)
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


def _training_step_grads(model, loss_fn, X, y, between=lambda: None):
    """Parameter gradients of one forward/backward on (X, y), with ``between()`` run after
    the forward and the loss and before the backward."""
    model.train()
    loss_fn(model(X), y)
    between()
    model.zero_grad()
    model.backward(loss_fn.backward())
    return {name: p.grad.copy() for name, p in model.named_parameters()}


def dropout_model(seed=0):
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Linear(2, 16, rng=rng), nn.Tanh(), nn.Dropout(0.3, rng=np.random.default_rng(seed)),
                         nn.Linear(16, 2, rng=rng))


def test_evaluate_leaves_a_pending_training_cache_alone():
    """evaluate between a training forward and its backward: the backward still gives the
    gradients of the training forward (model and loss caches untouched), because every
    forward evaluate runs is under no_grad."""
    train_set, val_set = problem()
    X, y = train_set.arrays
    expected = _training_step_grads(dropout_model(), nn.CrossEntropyLoss(), X[:32], y[:32])

    model, loss_fn = dropout_model(), nn.CrossEntropyLoss()  # the same weights and Dropout masks
    seen = []
    record = lambda module, args, output: seen.append((type(module).__name__, cr.is_grad_enabled()))  # noqa: E731
    for module in (*model.modules(), loss_fn):
        module.register_forward_hook(record)

    def run_evaluate():
        seen.clear()
        result = evaluate(model, loss_fn, data.DataLoader(val_set, batch_size=16))  # other data, same loss
        assert result["loss"] > 0
        assert seen and all(not enabled for _, enabled in seen), seen  # a cache-keeping forward would show True
        assert {name for name, _ in seen} == {"Sequential", "Linear", "Tanh", "Dropout", "CrossEntropyLoss"}

    got = _training_step_grads(model, loss_fn, X[:32], y[:32], between=run_evaluate)
    assert model.training and cr.is_grad_enabled()
    for name, grad in expected.items():
        np.testing.assert_array_equal(got[name], grad, err_msg=name)


def test_fit_validates_under_no_grad():
    train_set, val_set = problem()
    model, opt = build()
    seen = []
    model.register_forward_hook(lambda module, args, output: seen.append((module.training, cr.is_grad_enabled())))
    fit(model, nn.CrossEntropyLoss(), opt, data.DataLoader(train_set, batch_size=80), 2,
        val_loader=data.DataLoader(val_set, batch_size=60), progress=False)
    # per epoch: 3 training forwards (train mode, caches kept), then 1 validation forward
    assert seen == [(True, True)] * 3 + [(False, False)] + [(True, True)] * 3 + [(False, False)]


class NotACallback:
    def on_epoch_end(self, state):
        pass


class Make:
    """A bad argument built from the training arrays (X, y) inside the test."""

    def __init__(self, build):
        self.build = build


THREE_FIELDS = Make(lambda X, y: data.DataLoader(data.TensorDataset(X, y, y), batch_size=32))
THREE_TUPLES = Make(lambda X, y: [(X[:32], y[:32], y[:32])])


@pytest.mark.parametrize("change, error, match", [
    ({"model": None}, TypeError, r"fit model must be a chainrule.nn.Module, got None"),
    ({"model": lambda x: x}, TypeError, r"fit model must be a chainrule.nn.Module, got a function"),
    ({"loss_fn": None}, TypeError, r"fit loss_fn must be a loss module with backward\(\).*, got None"),
    ({"optimizer": None}, TypeError, r"fit optimizer must be a chainrule.optim.Optimizer .*, got None"),
    ({"train_loader": None}, TypeError,
     r"fit train_loader must be an iterable of \(input, target\) batches, .*got None"),
    ({"train_loader": 3}, TypeError, r"fit train_loader must be an iterable of \(input, target\) batches, .*got 3"),
    ({"train_loader": "batches"}, TypeError, r"fit train_loader must be an iterable .*got 'batches'"),
    ({"train_loader": THREE_FIELDS}, ValueError,
     r"fit train_loader must yield \(input, target\) pairs, but the samples of its dataset have 3 fields"),
    ({"train_loader": THREE_TUPLES}, ValueError,
     r"fit train_loader must yield \(input, target\) pairs, got a tuple of 3 in batch 0"),
    ({"train_loader": Make(lambda X, y: (batch for batch in [(X, y)]))}, ValueError,
     r"fit train_loader is a one-shot iterator \(generator\) that would be empty after the first of 2 epochs"),
    ({"val_loader": 3}, TypeError, r"fit val_loader must be an iterable of \(input, target\) batches, .*got 3"),
    ({"val_loader": THREE_FIELDS}, ValueError,
     r"fit val_loader must yield \(input, target\) pairs, but the samples of its dataset have 3 fields"),
    ({"val_loader": THREE_TUPLES}, ValueError,
     r"fit val_loader must yield \(input, target\) pairs, got a tuple of 3 in batch 0"),
    ({"callbacks": [3]}, TypeError, r"fit callbacks\[0\] must be a chainrule.train.Callback .*, got 3"),
    ({"callbacks": [Callback(), NotACallback()]}, TypeError,
     r"fit callbacks\[1\] must be a chainrule.train.Callback \(with methods on_fit_begin, .*\), got a NotACallback"),
    ({"callbacks": Callback()}, TypeError, r"fit callbacks must be a list of Callback objects, got a Callback"),
    ({"scheduler": "x"}, TypeError, r"fit scheduler must be a learning-rate scheduler with step\(\).*, got 'x'"),
    ({"scheduler": Make(lambda X, y: optim.lr_scheduler.StepLR(build()[1], step_size=1))}, ValueError,
     r"fit scheduler sets the learning rate of another optimizer than the one given to fit"),
])
def test_fit_checks_every_argument_before_training(change, error, match):
    """Each bad argument is refused before the first step: the weights never change and no
    callback sees a batch (several of these used to fail only after the first epoch)."""
    train_set, val_set = problem()
    X, y = train_set.arrays
    model, opt = build()
    before = model.state_dict()
    args = {"model": model, "loss_fn": nn.CrossEntropyLoss(), "optimizer": opt,
            "train_loader": data.DataLoader(train_set, batch_size=32), "epochs": 2,
            "val_loader": data.DataLoader(val_set, batch_size=32), "callbacks": [], "scheduler": None}
    args.update({k: v.build(X, y) if isinstance(v, Make) else v for k, v in change.items()})
    with pytest.raises(error, match=match):
        fit(args.pop("model"), args.pop("loss_fn"), args.pop("optimizer"), args.pop("train_loader"),
            args.pop("epochs"), progress=False, **args)
    after = model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_a_loader_of_3_tuples_fails_at_its_first_batch_before_any_step():
    """A loader whose batches cannot be seen in advance (a generator) is checked at each batch."""
    train_set, val_set = problem()
    X, y = train_set.arrays
    model, opt = build()
    before = model.state_dict()["0.weight"].copy()
    with pytest.raises(ValueError, match=r"fit train_loader must yield \(input, target\) pairs, got a tuple of 3 "
                                         r"in batch 0"):
        fit(model, nn.CrossEntropyLoss(), opt, ((X, y, y) for _ in range(1)), 1, progress=False)
    np.testing.assert_array_equal(model.state_dict()["0.weight"], before)
    with pytest.raises(ValueError, match=r"fit val_loader must yield \(input, target\) pairs, got an array of "
                                         r"shape \(240, 2\) in batch 0"):
        fit(model, nn.CrossEntropyLoss(), opt, [(X, y)], 1, val_loader=(x for x in [X]), progress=False)


@pytest.mark.parametrize("call, error, match", [
    (lambda m, l: evaluate(None, None, l), TypeError, r"evaluate model must be a chainrule.nn.Module, got None"),
    (lambda m, l: evaluate(m, None, None), TypeError,
     r"evaluate loader must be an iterable of \(input, target\) batches, .*got None"),
    (lambda m, l: evaluate(m, nn.CrossEntropyLoss()), TypeError,  # the loader forgotten
     r"evaluate loader must be an iterable of \(input, target\) batches, .*got None"),
    (lambda m, l: evaluate(m, None, 3), TypeError, r"evaluate loader must be an iterable .*got 3"),
    (lambda m, l: evaluate(m, "mse", l), TypeError,
     r"evaluate loss_fn must be a loss module or None, got 'mse'"),
    (lambda m, l: evaluate(m, l, "mse"), TypeError,  # old order, but a string for the loss: not guessed
     r"evaluate loss_fn must be a loss module or None, got a DataLoader "
     r"\(the order is evaluate\(model, loss_fn, loader, metrics\)\)"),
    (lambda m, l: evaluate(m, None, [(np.zeros((2, 2)),)]), ValueError,
     r"evaluate loader must yield \(input, target\) pairs, got a tuple of 1 in batch 0"),
    (lambda m, l: evaluate(m, nn.MSELoss(reduction="none"), l), ValueError,
     r"evaluate needs a loss with reduction 'mean' or 'sum', got reduction='none'"),
    (lambda m, l: evaluate(m, None, l, ("f1",)), ValueError, "unknown metric 'f1'"),
])
def test_evaluate_rejects_bad_arguments(call, error, match):
    train_set, _ = problem()
    model, _ = build()
    with pytest.raises(error, match=match):
        call(model, data.DataLoader(train_set, batch_size=32))


def test_evaluate_takes_model_loss_loader_like_fit():
    train_set, val_set = problem()
    model, _ = build()
    loss_fn, loader = nn.CrossEntropyLoss(), data.DataLoader(val_set, batch_size=16)
    both = evaluate(model, loss_fn, loader, ("accuracy",))
    assert set(both) == {"loss", "accuracy"}
    assert evaluate(model, None, loader) == {"accuracy": both["accuracy"]}  # metrics only
    assert evaluate(model, loader=loader, loss_fn=loss_fn, metrics=("accuracy",)) == both
    assert evaluate(model, loss_fn, [val_set.arrays], ()) == {"loss": pytest.approx(both["loss"], rel=1e-6)}


@pytest.mark.parametrize("old_call, new_call", [
    (lambda m, f, l: evaluate(m, l, f, ("accuracy",)), lambda m, f, l: evaluate(m, f, l, ("accuracy",))),
    (lambda m, f, l: evaluate(m, l, f), lambda m, f, l: evaluate(m, f, l)),
    (lambda m, f, l: evaluate(m, l), lambda m, f, l: evaluate(m, None, l)),
    (lambda m, f, l: evaluate(m, l, None, ()), lambda m, f, l: evaluate(m, None, l, ())),
    (lambda m, f, l: evaluate(m, list(l), f), lambda m, f, l: evaluate(m, f, list(l))),
])
def test_evaluate_old_argument_order_warns_and_gives_the_same_numbers(old_call, new_call):
    _, val_set = problem()
    model, _ = build()
    loss_fn, loader = nn.CrossEntropyLoss(), data.DataLoader(val_set, batch_size=16)
    with pytest.warns(FutureWarning, match=r"old argument order; call evaluate\(model, loss_fn, loader, metrics\)"):
        old = old_call(model, loss_fn, loader)
    assert old == new_call(model, loss_fn, loader)


def test_a_list_of_batches_and_callbacks_none_are_accepted():
    train_set, val_set = problem()
    X, y = train_set.arrays
    model, opt = build()
    history = fit(model, nn.CrossEntropyLoss(), opt, [(X[:120], y[:120]), [X[120:], y[120:]]], 2,
                  val_loader=[val_set.arrays], callbacks=None, progress=False)
    assert len(history) == 2 and "val_accuracy" in history


def test_fit_steps_reduce_lr_on_plateau_with_the_validation_loss():
    import chainrule as cr
    from chainrule import nn, optim, train

    X, y = cr.data.datasets.make_moons(64, noise=0.1, seed=0)
    loader = cr.data.DataLoader(cr.data.TensorDataset(X, y), batch_size=16)
    model = nn.Sequential(nn.Linear(2, 8, rng=np.random.default_rng(0)), nn.Tanh(),
                          nn.Linear(8, 2, rng=np.random.default_rng(1)))
    opt = optim.SGD(model.parameters(), lr=1e-3)  # slow progress: far below the 50 % asked for
    plateau = optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5, threshold=0.5)
    history = train.fit(model, nn.CrossEntropyLoss(), opt, loader, epochs=3, val_loader=loader,
                        scheduler=plateau, progress=False)
    assert len(history) == 3
    assert opt.param_groups[0]["lr"] == 2.5e-4  # halved after epochs 2 and 3, whose val_loss did not halve
