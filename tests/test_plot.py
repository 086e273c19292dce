"""chainrule.plot: every function writes a non-empty PNG with the Agg backend and returns
its Figure; importing chainrule (or chainrule.plot) does not import matplotlib."""

import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import data, nn, optim
from chainrule.train import GradientFlow, fit
from chainrule.train.metrics import confusion_matrix

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_importing_plot_does_not_import_matplotlib():
    code = ("import sys, chainrule, chainrule.plot, chainrule.train; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@pytest.fixture(scope="module")
def trained():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    X, y = data.datasets.make_moons(200, noise=0.1, seed=0)
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(2, 16, rng=rng), nn.Tanh(), nn.Linear(16, 16, rng=rng), nn.ReLU(),
                          nn.Linear(16, 2, rng=rng))
    loader = data.DataLoader(data.TensorDataset(X, y), batch_size=32, shuffle=True, seed=0)
    history = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1, momentum=0.9), loader, 3,
                  val_loader=loader, callbacks=[GradientFlow()], progress=False)
    return model, X, y, history


def check_png(fig, path):
    from matplotlib.figure import Figure

    assert isinstance(fig, Figure)
    assert path.stat().st_size > 1000
    assert path.read_bytes()[:8] == PNG_MAGIC


def test_plot_history(trained, tmp_path):
    from chainrule import plot

    _, _, _, history = trained
    path = tmp_path / "sub" / "history.png"  # missing folders are created
    fig = plot.plot_history(history, path=path, title="moons")
    check_png(fig, path)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    assert len(fig.axes[0].lines) == 2  # train and validation
    # The plain dicts the examples return work too.
    check_png(plot.plot_history({"loss": [1.0, 0.5], "test_accuracy": [0.5, 0.9]}, path=tmp_path / "d.png"),
              tmp_path / "d.png")
    with pytest.raises(KeyError, match="plot_history: no key 'f1'"):
        plot.plot_history(history, keys="f1")


def test_plot_history_labels_test_curves_test_and_can_use_a_log_scale(tmp_path):
    pytest.importorskip("matplotlib")
    from chainrule import plot

    examples_history = {"loss": [1.0, 0.5, 0.1], "test_accuracy": [0.5, 0.9, 0.95]}
    fig = plot.plot_history(examples_history, path=tmp_path / "h.png", logy=["loss"])
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    assert [line.get_label() for line in fig.axes[0].lines] == ["train"]
    assert [line.get_label() for line in fig.axes[1].lines] == ["test"]
    assert [ax.get_yscale() for ax in fig.axes] == ["log", "linear"]
    fig = plot.plot_history({"loss": [1.0, 0.1], "val_loss": [1.1, 0.2], "test_loss": [1.2, 0.3]}, logy=True)
    assert [line.get_label() for line in fig.axes[0].lines] == ["train", "validation", "test"]
    assert fig.axes[0].get_yscale() == "log"


def test_plot_decision_boundary_restores_modes(trained, tmp_path):
    from chainrule import plot

    model, X, y, _ = trained
    model.train()
    fig = plot.plot_decision_boundary(model, X, y, path=tmp_path / "boundary.png", resolution=50)
    check_png(fig, tmp_path / "boundary.png")
    assert all(m.training for m in model.modules())
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x\u2081", "x\u2082")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class 0", "class 1"]
    fig = plot.plot_decision_boundary(model, X, y, resolution=20, feature_names=("width", "height"),
                                      class_names=["upper", "lower"])
    assert fig.axes[0].get_xlabel() == "width"
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["upper", "lower"]
    with pytest.raises(ValueError, match="plot_decision_boundary got 3 class_names for 2 classes"):
        plot.plot_decision_boundary(model, X, y, resolution=20, class_names=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"plot_decision_boundary needs 2-D inputs of shape \(N, 2\), got \(5, 3\)"):
        plot.plot_decision_boundary(model, np.zeros((5, 3)), np.zeros(5))


def test_plot_decision_boundary_leaves_a_pending_training_cache_alone(tmp_path):
    """A plot between a training forward and its backward changes nothing: its forward runs
    under no_grad (the hook sees gradients off), so the backward gives the same gradients."""
    pytest.importorskip("matplotlib")
    from chainrule import plot

    X, y = data.datasets.make_moons(64, noise=0.1, seed=0)

    def build():
        rng = np.random.default_rng(0)
        return nn.Sequential(nn.Linear(2, 8, rng=rng), nn.Tanh(), nn.Dropout(0.3, rng=np.random.default_rng(1)),
                             nn.Linear(8, 2, rng=rng))

    def step(model, between=lambda: None):
        loss_fn = nn.CrossEntropyLoss()
        loss_fn(model(X), y)
        between()
        model.backward(loss_fn.backward())
        return {name: p.grad.copy() for name, p in model.named_parameters()}

    expected = step(build())
    model, seen = build(), []
    for module in model.modules():
        module.register_forward_hook(lambda m, args, out: seen.append(cr.is_grad_enabled()))

    def draw():
        seen.clear()
        plot.plot_decision_boundary(model, X[:10] + 5.0, y[:10], path=tmp_path / "b.png", resolution=20)
        assert seen == [False] * 5  # Sequential and its 4 modules, once each, gradients off

    got = step(model, between=draw)
    assert model.training
    for name, grad in expected.items():
        np.testing.assert_array_equal(got[name], grad, err_msg=name)


def test_plot_decision_boundary_single_output(tmp_path):
    pytest.importorskip("matplotlib")
    from chainrule import plot

    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    model = nn.Sequential(nn.Linear(2, 1, rng=np.random.default_rng(0)), nn.Sigmoid())
    check_png(plot.plot_decision_boundary(model, X, [0, 1, 1, 1], path=tmp_path / "b.png", resolution=20),
              tmp_path / "b.png")


def test_plot_confusion_matrix(trained, tmp_path):
    from chainrule import plot

    model, X, y, _ = trained
    model.eval()
    with cr.no_grad():
        cm = confusion_matrix(model(X), y)
    for normalize in (False, True):
        path = tmp_path / f"cm-{normalize}.png"
        check_png(plot.plot_confusion_matrix(cm, ["upper", "lower"], path=path, normalize=normalize), path)
    with pytest.raises(ValueError, match=r"plot_confusion_matrix needs a square \(C, C\) matrix, got shape \(2, 3\)"):
        plot.plot_confusion_matrix(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="plot_confusion_matrix got 3 class_names for a 2x2 matrix"):
        plot.plot_confusion_matrix(cm, ["a", "b", "c"])


def test_plot_gradient_norms(trained, tmp_path):
    from chainrule import plot

    _, _, _, history = trained
    fig = plot.plot_gradient_norms({"tanh/relu": history, "again": history.to_dict()}, path=tmp_path / "g.png")
    check_png(fig, tmp_path / "g.png")
    assert len(fig.axes) == 3
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["0", "2", "4"]
    for key in ("delta_norm", "update_ratio", "act_std"):
        check_png(plot.plot_gradient_norms(history, key=key, path=tmp_path / f"{key}.png"), tmp_path / f"{key}.png")
    fig = plot.plot_gradient_norms(history, layer_labels=[1, 2, 3])  # numbered as a printed table would
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["1", "2", "3"]
    assert [t.get_text() for t in fig.axes[1].get_legend().get_texts()] == ["1", "2", "3"]
    with pytest.raises(ValueError, match="plot_gradient_norms got 2 layer_labels for 3 layers"):
        plot.plot_gradient_norms(history, layer_labels=[1, 2])
    with pytest.raises(ValueError, match="plot_gradient_norms found no 'grad_norm/...' records"):
        plot.plot_gradient_norms({"loss": [1.0]})
