"""ONNX export: a valid model (onnx.checker) whose onnxruntime outputs equal chainrule's, for
every supported layer, float32 and float64, 2-D and 3-D inputs, a variable batch size."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.onnx import export

onnx = pytest.importorskip("onnx", reason="onnx is not installed (pip install onnx)")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install onnxruntime)")


def _run(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


LAYERS = {
    "Linear": lambda d: nn.Linear(4, 3, dtype=d, rng=np.random.default_rng(0)),
    "Linear(bias=False)": lambda d: nn.Linear(4, 3, bias=False, dtype=d, rng=np.random.default_rng(0)),
    "Sigmoid": lambda d: nn.Sigmoid(),
    "Tanh": lambda d: nn.Tanh(),
    "ReLU": lambda d: nn.ReLU(),
    "LeakyReLU": lambda d: nn.LeakyReLU(0.3),
    "Identity": lambda d: nn.Identity(),
    "Softmax": lambda d: nn.Softmax(dim=-1),
    "Softmax(dim=1)": lambda d: nn.Softmax(dim=1),
    "LogSoftmax": lambda d: nn.LogSoftmax(dim=-1),
    "LogSoftmax(dim=0)": lambda d: nn.LogSoftmax(dim=0),
    "Dropout": lambda d: nn.Dropout(0.5),
}


@pytest.mark.parametrize("name", list(LAYERS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(5, 4), (2, 5, 4)])
def test_every_layer_matches_onnxruntime(tmp_path, name, dtype, shape):
    layer = LAYERS[name](dtype)
    # A parameterised model fixes the dtype; put the layer after an (identity-initialised) Linear.
    head = nn.Linear(4, 4, dtype=dtype)
    head.weight.data[...] = np.eye(4)
    head.bias.data[...] = 0
    model = nn.Sequential(head, layer).eval()
    path = tmp_path / "m.onnx"
    export(model, path, (None,) + shape[1:])
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    x = np.random.default_rng(1).standard_normal(shape).astype(dtype) * 3
    expected = model(x)
    got = _run(path, x)
    assert got.dtype == dtype and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5 if dtype == np.float32 else 1e-12,
                               atol=1e-6 if dtype == np.float32 else 1e-12)


def test_a_trained_network_and_batch_sizes(tmp_path):
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(2, 16, rng=rng), nn.Tanh(), nn.Sequential(nn.Linear(16, 8, rng=rng), nn.ReLU()),
                          nn.Dropout(0.2), nn.Linear(8, 3, rng=rng), nn.LogSoftmax(dim=1)).eval()
    path = tmp_path / "net.onnx"
    export(model, path, (None, 2))
    graph = onnx.load(str(path)).graph
    assert [n.op_type for n in graph.node] == ["Gemm", "Tanh", "Gemm", "Relu", "Identity", "Gemm", "LogSoftmax",
                                               "Identity"]
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param == "N"
    for n in (1, 7, 64):
        x = rng.standard_normal((n, 2)).astype(np.float32)
        with cr.no_grad():
            np.testing.assert_allclose(_run(path, x), model(x), rtol=1e-5, atol=1e-6)


def test_three_d_input_uses_matmul(tmp_path):
    model = nn.Sequential(nn.Linear(3, 2, dtype=np.float64)).eval()
    export(model, tmp_path / "m.onnx", (2, None, 3))
    assert [n.op_type for n in onnx.load(str(tmp_path / "m.onnx")).graph.node] == ["MatMul", "Add", "Identity"]


def test_refusals(tmp_path):
    class Custom(nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(TypeError, match=r"export does not support .*Custom at '1'; supported layers"):
        export(nn.Sequential(nn.Linear(2, 2), Custom()), tmp_path / "x.onnx", (None, 2))
    with pytest.raises(ValueError, match=r"Linear at '0' expects last dimension 2 \(in_features\), but the input "
                                         r"there has shape \('N', 3\)"):
        export(nn.Sequential(nn.Linear(2, 2)), tmp_path / "x.onnx", (None, 3))
    with pytest.raises(ValueError, match="Softmax at '1' has dim=2, out of range"):
        export(nn.Sequential(nn.Linear(2, 2), nn.Softmax(dim=2)), tmp_path / "x.onnx", (None, 2))
    with pytest.raises(ValueError, match="input_shape entries must be positive ints"):
        export(nn.Linear(2, 2), tmp_path / "x.onnx", (0, 2))
    assert not (tmp_path / "x.onnx").exists()
