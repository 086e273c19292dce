"""Export a chainrule model to ONNX, for onnxruntime and every system that reads ONNX.

``export(model, path, input_shape)`` builds the graph with the ``onnx`` package's helper API
(imported inside the function: ``onnx`` is an optional extra, ``pip install chainrule[onnx]``)
and checks it with ``onnx.checker`` before writing. Layer by layer:

| chainrule | ONNX |
|---|---|
| ``Linear`` | ``Gemm`` (``transB=1``) for a 2-D input; ``MatMul`` + ``Add`` otherwise |
| ``Sigmoid``, ``Tanh``, ``ReLU`` | ``Sigmoid``, ``Tanh``, ``Relu`` |
| ``LeakyReLU(a)`` | ``LeakyRelu(alpha=a)`` in float32; ``Where(x > 0, x, a x)`` in float64 (the attribute is float32) |
| ``Softmax(dim)``, ``LogSoftmax(dim)`` | ``Softmax(axis=dim)``, ``LogSoftmax(axis=dim)`` |
| ``Identity``, ``Dropout`` | ``Identity`` (an exported model is for inference: dropout is off) |
| ``Sequential`` | its layers, in order |
"""

from __future__ import annotations

import os

import numpy as np

from . import nn

__all__ = ["export"]

OPSET = 17
IR_VERSION = 8  # the IR version of opset 17; readable by every onnxruntime since 1.12


def export(model: nn.Module, path, input_shape, *, input_name: str = "input", output_name: str = "output") -> None:
    """Write ``model`` as an ONNX file at ``path``.

    Args:
        model: a chainrule module of the supported layers (``Sequential`` may nest).
        path: the ``.onnx`` file to write.
        input_shape: the input's shape, e.g. ``(None, 2)``; ``None`` (or a string) marks a
            dimension that may vary, such as the batch size.
        input_name: the graph's input name.
        output_name: the graph's output name.

    Raises:
        TypeError: naming the first unsupported layer and its path in ``model``.
        ValueError: if ``input_shape`` is not a sequence of positive ints / None / str, or
            does not fit the model (a ``Linear`` whose ``in_features`` differs from the
            last dimension, a softmax ``dim`` out of range).
        ImportError: if the ``onnx`` package is not installed.
    """
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("chainrule.onnx.export needs the onnx package: pip install onnx") from error
    if not isinstance(model, nn.Module):
        raise TypeError(f"export model must be a chainrule.nn.Module, got {type(model).__name__}")
    shape = _check_shape(input_shape)
    params = list(model.parameters())
    dtype = params[0].dtype if params else np.dtype(np.float32)
    elem = TensorProto.DOUBLE if dtype == np.float64 else TensorProto.FLOAT

    builder = _Builder(helper, numpy_helper, dtype)
    out_name, out_shape = builder.add(model, input_name, shape, "")
    builder.nodes.append(helper.make_node("Identity", [out_name], [output_name], name="output"))
    graph = helper.make_graph(
        builder.nodes, "chainrule",
        [helper.make_tensor_value_info(input_name, elem, list(shape))],
        [helper.make_tensor_value_info(output_name, elem, list(out_shape))],
        initializer=builder.initializers,
    )
    onnx_model = helper.make_model(graph, producer_name="chainrule", opset_imports=[helper.make_opsetid("", OPSET)])
    onnx_model.ir_version = IR_VERSION
    onnx.checker.check_model(onnx_model, full_check=True)
    onnx.save(onnx_model, os.fspath(path))


def _check_shape(input_shape) -> tuple:
    try:
        dims = tuple(input_shape)
    except TypeError:
        raise ValueError(f"export input_shape must be a sequence such as (None, 2), got {input_shape!r}") from None
    for d in dims:
        ok = d is None or isinstance(d, str) or (isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0)
        if not ok:
            raise ValueError(f"export input_shape entries must be positive ints, None or names, got {input_shape!r}")
    if not dims:
        raise ValueError("export input_shape must have at least one dimension, got ()")
    return tuple("N" if d is None and i == 0 else (f"d{i}" if d is None else d) for i, d in enumerate(dims))


class _Builder:
    def __init__(self, helper, numpy_helper, dtype):
        self.helper, self.numpy_helper, self.dtype = helper, numpy_helper, dtype
        self.nodes, self.initializers = [], []
        self.count = 0

    def _name(self, base):
        self.count += 1
        return f"{base}_{self.count}"

    def _const(self, name, array):
        self.initializers.append(self.numpy_helper.from_array(np.ascontiguousarray(array, dtype=self.dtype), name))
        return name

    def add(self, module, x, shape, path):
        h = self.helper
        kind = type(module)
        label = path or kind.__name__
        if kind is nn.Sequential:
            for name, child in module.named_children():
                x, shape = self.add(child, x, shape, f"{path}.{name}" if path else name)
            return x, shape
        y = self._name(label.replace(".", "_"))
        if kind is nn.Linear:
            if shape[-1] != module.in_features:
                raise ValueError(f"export: Linear at {label!r} expects last dimension {module.in_features} "
                                 f"(in_features), but the input there has shape {shape}")
            W = module.weight.data
            b = module.bias.data if module.bias is not None else None
            if len(shape) == 2:
                inputs = [x, self._const(f"{label}.weight", W)] + ([self._const(f"{label}.bias", b)] if b is not None else [])
                self.nodes.append(h.make_node("Gemm", inputs, [y], name=label, transB=1))
            else:
                product = y if b is None else self._name(f"{label}_matmul")
                self.nodes.append(h.make_node("MatMul", [x, self._const(f"{label}.weight_t", W.T)], [product],
                                              name=f"{label}.matmul"))
                if b is not None:
                    self.nodes.append(h.make_node("Add", [product, self._const(f"{label}.bias", b)], [y],
                                                  name=f"{label}.add"))
            return y, shape[:-1] + (module.out_features,)
        if kind in (nn.Sigmoid, nn.Tanh):
            self.nodes.append(h.make_node(kind.__name__, [x], [y], name=label))
        elif kind is nn.ReLU:
            self.nodes.append(h.make_node("Relu", [x], [y], name=label))
        elif kind is nn.LeakyReLU and self.dtype == np.float32:
            self.nodes.append(h.make_node("LeakyRelu", [x], [y], name=label, alpha=module.negative_slope))
        elif kind is nn.LeakyReLU:
            # LeakyRelu's alpha is a float32 attribute: in float64, 0.01 would become 0.0099999998.
            # Where(x > 0, x, alpha * x) keeps alpha in float64.
            scaled, positive = self._name(f"{label}_scaled"), self._name(f"{label}_positive")
            self.nodes += [
                h.make_node("Mul", [x, self._const(f"{label}.negative_slope", module.negative_slope)], [scaled],
                            name=f"{label}.mul"),
                h.make_node("Greater", [x, self._const(f"{label}.zero", 0.0)], [positive], name=f"{label}.greater"),
                h.make_node("Where", [positive, x, scaled], [y], name=label),
            ]
        elif kind in (nn.Softmax, nn.LogSoftmax):
            if not -len(shape) <= module.dim < len(shape):
                raise ValueError(f"export: {kind.__name__} at {label!r} has dim={module.dim}, out of range for "
                                 f"an input of shape {shape}")
            self.nodes.append(h.make_node(kind.__name__, [x], [y], name=label, axis=module.dim))
        elif kind in (nn.Identity, nn.Dropout):
            self.nodes.append(h.make_node("Identity", [x], [y], name=label))
        else:
            raise TypeError(
                f"export does not support {kind.__module__}.{kind.__name__} at {label!r}; supported layers: "
                f"Sequential, Linear, Sigmoid, Tanh, ReLU, LeakyReLU, Identity, Softmax, LogSoftmax, Dropout"
            )
        return y, shape
