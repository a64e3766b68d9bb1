"""Static activation shapes for MAC counts, with every dynamic dimension set to 1.

    >>> import onnx
    >>> from qviz.samples import load_sample
    >>> model = onnx.load_model_from_string(load_sample("digits_cnn").model_bytes)
    >>> infer_shapes(model)["/features/features.0/Conv_output_0"]     # input (batch, 1, 8, 8), batch -> 1
    (1, 16, 8, 8)

# NOTE: `onnx.shape_inference.infer_shapes` serializes the whole model, weights included. For
# a 400 MB model that doubles memory, so we infer on a *light copy*: large initializers and
# large Constant nodes become graph inputs with the same type and dims (their values are never
# needed for shapes; small ones stay, because Reshape/Expand read their values).
"""

from __future__ import annotations

import contextlib
import math

import onnx
from onnx import GraphProto, ModelProto, TensorProto

from qviz.model.safety import iter_graphs

KEEP_ELEMENTS = 1024  # constants up to this size keep their values (shape-like tensors)


def _as_input(name: str, t: TensorProto) -> onnx.ValueInfoProto:
    return onnx.helper.make_tensor_value_info(name, t.data_type, list(t.dims))


def _light_graph(graph: GraphProto) -> GraphProto:
    light = GraphProto(name=graph.name)
    light.input.extend(graph.input)
    light.output.extend(graph.output)
    light.value_info.extend(graph.value_info)
    graph_inputs = {v.name for v in graph.input}
    for t in graph.initializer:
        if math.prod(t.dims) <= KEEP_ELEMENTS:
            light.initializer.append(t)
        elif t.name not in graph_inputs:
            light.input.append(_as_input(t.name, t))
    for node in graph.node:
        big = node.op_type == "Constant" and any(
            a.name == "value" and math.prod(a.t.dims) > KEEP_ELEMENTS for a in node.attribute
        )
        if big:
            value = next(a.t for a in node.attribute if a.name == "value")
            light.input.append(_as_input(node.output[0], value))
        else:
            light.node.append(node)
    return light


def _fix_dynamic_dims(graph: GraphProto, batch: int) -> None:
    for value in graph.input:
        for dim in value.type.tensor_type.shape.dim:
            if not dim.HasField("dim_value"):
                dim.Clear()
                dim.dim_value = batch


def _shape_of(value: onnx.ValueInfoProto) -> tuple[int, ...] | None:
    tt = value.type.tensor_type
    if not tt.HasField("shape"):
        return None
    dims = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in tt.shape.dim)
    return None if any(d < 0 for d in dims) else dims


def infer_shapes(model: ModelProto, batch: int = 1) -> dict[str, tuple[int, ...]]:
    """name -> static shape for every tensor whose shape is known (subgraphs' too).

    Dynamic input dims (batch, sequence length...) are set to `batch`. Returns what it can;
    if onnx shape inference fails the dict holds only the inputs' and outputs' known shapes.
    """
    light = ModelProto(ir_version=model.ir_version)
    light.opset_import.extend(model.opset_import)
    light.functions.extend(model.functions)
    light.graph.CopyFrom(_light_graph(model.graph))
    _fix_dynamic_dims(light.graph, batch)
    with contextlib.suppress(Exception):  # shape inference is a best effort; MACs become unknown
        light = onnx.shape_inference.infer_shapes(light, strict_mode=False)
    shapes: dict[str, tuple[int, ...]] = {}
    for g in iter_graphs(light.graph):  # subgraphs too (an outer name is never redefined inside)
        main = g is light.graph
        for value in list(g.input) + list(g.value_info) + list(g.output):
            shape = _shape_of(value)
            if shape is not None and (main or value.name not in shapes):
                shapes[value.name] = shape
    return shapes
