"""The MNIST-1D and digits-CNN examples run end to end and reach what they promise.

MNIST-1D's full recipe runs here for chainrule (about 20 s); the comparison with PyTorch runs
short (its full output is committed in examples/results/mnist1d-seed42.txt).
"""

import importlib.util
import runpy
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

needs_mnist1d = pytest.mark.skipif(importlib.util.find_spec("mnist1d") is None,
                                   reason="mnist1d is not installed (chainrule's 'datasets' extra)")
needs_conv1d = pytest.mark.skipif(not hasattr(nn, "Conv1d") or not hasattr(nn, "Flatten"),
                                  reason="nn.Conv1d / nn.Flatten are not in this chainrule yet")
needs_conv2d = pytest.mark.skipif(not all(hasattr(nn, n) for n in ("Conv2d", "MaxPool2d", "Flatten")),
                                  reason="nn.Conv2d / nn.MaxPool2d / nn.Flatten are not in this chainrule yet")


def example(name):
    return runpy.run_path(str(EXAMPLES / f"{name}.py"))


def run_mnist1d(*args):
    return example("mnist1d")["main"](["--no-progress", *args])


# --------------------------------------------------------------------------- MNIST-1D


@pytest.mark.slow
@needs_mnist1d
@needs_conv1d
def test_mnist1d_reaches_the_papers_table(capsys, tmp_path):
    # The full recipe, chainrule only (about a minute on two cores): 6,000 updates per model, seed 42.
    results = tmp_path / "table.txt"
    accuracy = run_mnist1d("--save-results", str(results))["metrics"]["test_accuracy"]
    out = capsys.readouterr().out
    assert accuracy["logistic"] >= 0.29  # paper 32%
    assert accuracy["mlp"] >= 0.62       # paper 68%, its notebook 64.6%
    assert accuracy["cnn"] >= 0.91       # paper 94%
    assert accuracy["gru"] >= 0.87       # paper 91%
    table = results.read_text()
    assert table in out.replace("wrote " + str(results) + "\n", "")
    assert "6000 updates of Adam(lr=0.01), batch 100 in order, seed 42" in table
    assert "63.6-65.1" in table  # the reference PyTorch figures, without --torch
    for title in ("logistic regression", "MLP (residual)", "CNN"):
        assert title in table


@pytest.mark.slow
@needs_mnist1d
def test_mnist1d_short_run_of_a_subset(capsys):
    accuracy = run_mnist1d("--updates", "200", "--models", "mlp")["metrics"]["test_accuracy"]
    assert set(accuracy) == {"mlp"}
    assert 0.40 <= accuracy["mlp"] <= 0.75  # 5 passes over the data: well above chance (10%)
    assert "CNN" not in capsys.readouterr().out


def test_mnist1d_rejects_unknown_models():
    with pytest.raises(SystemExit):
        run_mnist1d("--models", "logistic,transformer")


def test_residual_mlp_backward_gradcheck():
    # The hand-composed backward: the residual's two paths add up in grad_h1.
    model = example("mnist1d")["ResidualMLP"](5, 7, 3, rng=np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((4, 5))
    assert cr.gradcheck(model, x)


def test_residual_mlp_matches_torch_gradients():
    torch = pytest.importorskip("torch", reason="torch is not installed")
    namespace = example("mnist1d")
    model = namespace["ResidualMLP"](40, 100, 10, dtype=np.float64, rng=np.random.default_rng(0))
    reference = namespace["build_torch_model"]("mlp", model.state_dict()).double()
    reference.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})  # float64 again
    x = np.random.default_rng(1).standard_normal((8, 40))
    g = np.random.default_rng(2).standard_normal((8, 10))

    out = model(x)
    grad_x = model.backward(g)
    x_t = torch.tensor(x, requires_grad=True)
    out_t = reference(x_t)
    out_t.backward(torch.tensor(g))
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad_x, x_t.grad.numpy(), rtol=1e-10, atol=1e-12)
    for name, param in reference.named_parameters():
        np.testing.assert_allclose(dict(model.named_parameters())[name].grad, param.grad.numpy(),
                                   rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.slow
@needs_mnist1d
def test_mnist1d_logistic_regression_same_accuracy_as_torch_from_the_same_weights(capsys):
    pytest.importorskip("torch", reason="torch is not installed")
    result = run_mnist1d("--updates", "300", "--models", "logistic", "--torch")["results"]["logistic"]
    assert result["test_accuracy"] == result["torch_test_accuracy"]
    # the whole curve, not only the end point
    assert result["curve"]["test_accuracy"] == result["torch_curve"]["test_accuracy"]
    assert "logistic regression: chainrule and PyTorch give the same test accuracy" in capsys.readouterr().out


# --------------------------------------------------------------------------- digits CNN


@pytest.mark.slow
@needs_conv2d
def test_digits_cnn_reaches_97_percent():
    result = example("digits_cnn")["main"](["--no-progress"])
    assert result["metrics"]["test_accuracy"] >= 0.97
    losses = result["history"]["loss"]
    assert losses[-1] < losses[0]
