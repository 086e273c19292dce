"""History, EarlyStopping and ModelCheckpoint."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import data, nn, optim
from chainrule.train import Callback, EarlyStopping, History, ModelCheckpoint, evaluate, fit


class Scripted(Callback):
    """Writes a scripted 'score' into the logs and keeps a copy of the weights each epoch."""

    def __init__(self, scores):
        self.scores, self.weights = scores, []

    def on_epoch_end(self, state):
        state.logs["score"] = self.scores[state.epoch]
        self.weights.append(state.model.state_dict())


def setup(seed=0):
    X, y = data.datasets.make_blobs(200, seed=seed)
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Linear(2, 8, rng=rng), nn.ReLU(), nn.Linear(8, int(y.max()) + 1, rng=rng))
    opt = optim.SGD(model.parameters(), lr=0.05)
    return model, opt, data.DataLoader(data.TensorDataset(X, y), batch_size=50)


@pytest.mark.parametrize("mode, scores, patience, stop_epoch, best_epoch", [
    ("min", [5, 4, 3, 3.5, 3.2, 3.1, 2.0], 2, 5, 2),   # 3 epochs without going below 3 -> stops after epoch 5
    ("min", [5, 4, 3, 3.5, 2.9, 3.0, 3.1, 3.2], 2, 7, 4),
    ("max", [0.1, 0.5, 0.9, 0.8, 1.0], 0, 3, 2),
    ("min", [3, 3, 3, 3], 1, 2, 0),                     # equal is not better
])
def test_early_stopping_stops_and_restores_the_best_weights(mode, scores, patience, stop_epoch, best_epoch):
    model, opt, loader = setup()
    script = Scripted(scores)
    stopper = EarlyStopping(monitor="score", mode=mode, patience=patience, restore_best_weights=True)
    history = fit(model, nn.CrossEntropyLoss(), opt, loader, len(scores) + 5, callbacks=[script, stopper], progress=False)
    assert len(history) == stop_epoch + 1
    assert stopper.stopped_epoch == stop_epoch and stopper.best_epoch == best_epoch
    assert history["score"] == scores[:stop_epoch + 1]
    for key, value in script.weights[best_epoch].items():
        np.testing.assert_array_equal(model.state_dict()[key], value)
    assert not np.array_equal(script.weights[best_epoch]["0.weight"], script.weights[-1]["0.weight"])


def test_early_stopping_without_restore_keeps_the_last_weights():
    model, opt, loader = setup()
    script = Scripted([1, 2, 3, 4])
    fit(model, nn.CrossEntropyLoss(), opt, loader, 4, callbacks=[script, EarlyStopping("score", patience=1)],
        progress=False)
    np.testing.assert_array_equal(model.state_dict()["0.weight"], script.weights[-1]["0.weight"])


def test_early_stopping_on_val_loss_restores_the_best_validation_loss():
    X, y = data.datasets.make_moons(200, noise=0.3, seed=0)
    train, val = data.TensorDataset(X[:40], y[:40]), data.TensorDataset(X[40:], y[40:])
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(2, 64, rng=rng), nn.Tanh(), nn.Linear(64, 2, rng=rng))
    opt = optim.Adam(model.parameters(), lr=0.05)  # overfits 40 noisy points fast
    val_loader = data.DataLoader(val, batch_size=160)
    stopper = EarlyStopping(patience=3, restore_best_weights=True)
    history = fit(model, nn.CrossEntropyLoss(), opt, data.DataLoader(train, batch_size=8, shuffle=True, seed=0), 200,
                  val_loader=val_loader, callbacks=[stopper], progress=False)
    assert len(history) < 200  # stopped early
    best = min(history["val_loss"])
    assert history["val_loss"].index(best) == stopper.best_epoch
    assert evaluate(model, nn.CrossEntropyLoss(), val_loader, ())["loss"] == best


def test_model_checkpoint_saves_the_best_with_chainrule_save(tmp_path):
    model, opt, loader = setup()
    script = Scripted([0.5, 0.7, 0.6, 0.9, 0.8])
    path = tmp_path / "best.npz"
    checkpoint = ModelCheckpoint(path, monitor="score", mode="max")
    fit(model, nn.CrossEntropyLoss(), opt, loader, 5, callbacks=[script, checkpoint], progress=False)
    assert checkpoint.best_epoch == 3 and checkpoint.best == 0.9
    saved = cr.load(path)
    assert list(saved) == list(model.state_dict())
    for key, value in script.weights[3].items():
        np.testing.assert_array_equal(saved[key], value)


def test_model_checkpoint_formats_the_path_and_can_save_every_epoch(tmp_path):
    model, opt, loader = setup()
    checkpoint = ModelCheckpoint(tmp_path / "ck-{epoch:02d}-{loss:.2f}.npz", monitor="loss", save_best_only=False)
    history = fit(model, nn.CrossEntropyLoss(), opt, loader, 3, callbacks=[checkpoint], progress=False)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == [f"ck-{e:02d}-{history['loss'][e]:.2f}.npz" for e in range(3)]
    assert checkpoint.last_path.endswith(files[-1])


def test_monitoring_a_missing_key_says_which_keys_exist():
    model, opt, loader = setup()
    with pytest.raises(ValueError, match=r"EarlyStopping monitors 'val_loss', which is not in the epoch's logs "
                                         r"\['accuracy', 'loss', 'lr', 'time'\] \(pass val_loader= to fit\)"):
        fit(model, nn.CrossEntropyLoss(), opt, loader, 1, callbacks=[EarlyStopping()], progress=False)


@pytest.mark.parametrize("make, match", [
    (lambda: EarlyStopping(patience=-1), "EarlyStopping patience must be an int >= 0, got -1"),
    (lambda: EarlyStopping(mode="auto"), "EarlyStopping mode must be 'min' or 'max', got 'auto'"),
    (lambda: EarlyStopping(min_delta=-0.1), "EarlyStopping min_delta must be a number >= 0, got -0.1"),
    (lambda: ModelCheckpoint("x.npz", mode="best"), "ModelCheckpoint mode must be 'min' or 'max', got 'best'"),
])
def test_callback_arguments_are_validated(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_history_pads_late_keys_and_exports_plain_numbers():
    history = History()
    history.append(0, {"loss": np.float32(1.5)})
    history.append(1, {"loss": 1.0, "val_loss": np.float64(2.0)})
    assert history.to_dict() == {"epoch": [0, 1], "loss": [1.5, 1.0], "val_loss": [None, 2.0]}
    assert type(history["loss"][0]) is float
    history.append(2, {"val_loss": 3.0})
    assert history["loss"] == [1.5, 1.0, None]
    with pytest.raises(KeyError, match="History has no key 'acc'"):
        history["acc"]


def test_model_checkpoint_template_fields_are_checked_before_training(tmp_path):
    model, opt, loader = setup()
    before = model.state_dict()["0.weight"].copy()
    checkpoint = ModelCheckpoint(tmp_path / "ck-{epoch:02d}-{val_acc:.3f}.npz", monitor="loss")
    with pytest.raises(ValueError, match=r"ModelCheckpoint path '.*ck-\{epoch:02d\}-\{val_acc:.3f\}.npz' uses "
                                         r"\{val_acc\}, which the epoch's logs will not hold; the fields available "
                                         r"are epoch, loss, accuracy, val_loss, val_accuracy, lr, time$"):
        fit(model, nn.CrossEntropyLoss(), opt, loader, 2, val_loader=loader, callbacks=[checkpoint], progress=False)
    np.testing.assert_array_equal(model.state_dict()["0.weight"], before)  # not one step taken
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match=r"uses \{val_loss\}, which .* available are epoch, loss, lr, time$"):
        fit(model, nn.CrossEntropyLoss(), opt, loader, 1, metrics=(),
            callbacks=[ModelCheckpoint(tmp_path / "{val_loss}.npz", monitor="loss")], progress=False)


class Declares(Scripted):
    """A callback that adds a key to the logs and says so in on_fit_begin."""

    def on_fit_begin(self, state):
        state.log_keys.append("score")


def test_model_checkpoint_template_may_use_the_monitor_and_declared_keys(tmp_path):
    model, opt, loader = setup()
    by_monitor = ModelCheckpoint(tmp_path / "m-{score:.1f}.npz", monitor="score", mode="max")
    fit(model, nn.CrossEntropyLoss(), opt, loader, 2, callbacks=[Scripted([0.5, 0.7]), by_monitor], progress=False)
    declared = ModelCheckpoint(tmp_path / "d-{epoch}-{score:.1f}.npz", monitor="loss", save_best_only=False)
    fit(model, nn.CrossEntropyLoss(), opt, loader, 2, callbacks=[Declares([0.5, 0.7]), declared], progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d-0-0.5.npz", "d-1-0.7.npz", "m-0.5.npz", "m-0.7.npz"]
    # Declared, but added only after the checkpoint has run: said so, not a bare KeyError.
    with pytest.raises(ValueError, match=r"uses \{score\}, which is not in the epoch's logs \['accuracy', 'loss', "
                                         r"'lr', 'time'\]: the callback that adds it must come before ModelCheckpoint"):
        fit(model, nn.CrossEntropyLoss(), opt, loader, 1, callbacks=[declared, Declares([0.5])], progress=False)


@pytest.mark.parametrize("path, match", [
    ("ck-{}.npz", r"ModelCheckpoint path 'ck-\{\}.npz' has a positional field \{\}: name the value, e.g. \{epoch\}"),
    ("ck-{0:03d}.npz", r"ModelCheckpoint path 'ck-\{0:03d\}.npz' has a positional field \{0\}"),
    ("ck-{epoch.npz", r"ModelCheckpoint path 'ck-\{epoch.npz' is not a valid template: expected '\}' before end "
                      r"of string \(write a literal brace as '\{\{' or '\}\}'\)"),
])
def test_model_checkpoint_rejects_a_malformed_template_when_built(path, match):
    with pytest.raises(ValueError, match=match):
        ModelCheckpoint(path)
