"""dequantize_model: the float model an already-quantized QDQ model stands for, to quantize again.

    >>> import numpy as np
    >>> from onnx import TensorProto, helper, numpy_helper
    >>> w = numpy_helper.from_array(np.array([[-2, 0], [1, 3]], np.int8), "w_q")
    >>> s = numpy_helper.from_array(np.float32(0.5), "w_s")
    >>> nodes = [helper.make_node("DequantizeLinear", ["w_q", "w_s"], ["w"]), helper.make_node("MatMul", ["x", "w"], ["y"])]
    >>> vi = lambda n: helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 2])
    >>> graph = helper.make_graph(nodes, "g", [vi("x")], [vi("y")], [w, s])
    >>> model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)
    >>> out, report = dequantize_model(model)
    >>> [n.op_type for n in out.graph.node], numpy_helper.to_array(out.graph.initializer[0]).tolist()
    (['MatMul'], [[-1.0, 0.0], [0.5, 1.5]])
    >>> report
    {'weights': 1, 'activation_pairs': 0}

What it does, in every graph (subgraphs too):
  1. every DequantizeLinear of constants (weights and int32 biases) becomes an initializer holding
     (q - zero_point) * scale, exactly what onnxruntime's DequantizeLinear computes (per tensor,
     per axis or blocked; in the scale's type, so float16 models stay float16);
  2. every QuantizeLinear -> DequantizeLinear pair on an activation is removed: the readers of
     the DequantizeLinear read the QuantizeLinear's input (a float tensor) again.
The result computes what the quantized model computes, minus the rounding of its activations;
its weights are the quantized grid values. Quantizing it with qviz starts from those values
(an int8 -> int4 config quantizes the int8 grid, not the original float weights, which the
file does not hold).

Refused with a ModelError naming the node: QOperator and integer ops (QLinearConv,
QLinearMatMul, ConvInteger, MatMulInteger, MatMulNBits, com.microsoft Q* ops) — their graphs
carry integer tensors between ops; rewriting them into float ops is not done here.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import ModelProto, numpy_helper

from qviz.model.load.weights import WeightStore
from qviz.model.safety import ModelError, inline_array, iter_graphs, node_label
from qviz.quant.affine import dequantize_linear

INTEGER_OPS = ("QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger", "MatMulNBits")


def dequantize_model(model: ModelProto) -> tuple[ModelProto, dict[str, int]]:
    """(float model, {"weights": folded DequantizeLinear count, "activation_pairs": removed Q/DQ pairs})."""
    _check_qdq_only(model)
    out = ModelProto()
    out.CopyFrom(model)
    store = WeightStore(out.graph)
    report = {"weights": 0, "activation_pairs": 0}
    # NOTE: innermost graphs first: rewriting a graph's node list copies its nodes, so a
    # subgraph taken from before that rewrite would be a detached copy.
    for graph in reversed(list(iter_graphs(out.graph))):
        report["weights"] += _fold_weights(graph, store)
        report["activation_pairs"] += _drop_pairs(graph)
        _drop_unused(graph)
    return out, report


def _check_qdq_only(model: ModelProto) -> None:
    for g in iter_graphs(model.graph):
        for node in g.node:
            if node.op_type in INTEGER_OPS or (node.domain == "com.microsoft" and node.op_type.startswith("Q")):
                raise ModelError(
                    f"cannot dequantize node '{node_label(node)}' ({node.op_type}): qviz dequantizes QDQ models "
                    "(DequantizeLinear on weights, QuantizeLinear/DequantizeLinear on activations) only"
                )


def _const(graph: onnx.GraphProto, store: WeightStore, name: str) -> np.ndarray | None:
    """The value of `name` when this graph (or the main graph) holds it as a weight."""
    if not name:
        return None
    inits = {t.name: t for t in graph.initializer}
    if name in inits:
        return inline_array(inits[name])
    return np.asarray(store[name]) if name in store and store.kind(name) == "initializer" else None


def _fold_weights(graph: onnx.GraphProto, store: WeightStore) -> int:
    """Step 1 of the module doc; the number of DequantizeLinear nodes folded."""
    keep, folded = [], 0
    for node in graph.node:
        value = _dequantized(graph, store, node) if node.op_type == "DequantizeLinear" else None
        if value is None:
            keep.append(node)
            continue
        graph.initializer.append(numpy_helper.from_array(value, node.output[0]))
        folded += 1
    del graph.node[:]
    graph.node.extend(keep)
    return folded


def _dequantized(graph: onnx.GraphProto, store: WeightStore, node: onnx.NodeProto) -> np.ndarray | None:
    q = _const(graph, store, node.input[0])
    scale = _const(graph, store, node.input[1]) if len(node.input) > 1 else None
    if q is None or scale is None:
        return None
    zp = _const(graph, store, node.input[2]) if len(node.input) > 2 and node.input[2] else np.zeros((), np.int32)
    if zp is None:
        return None
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    axis = None if scale.size == 1 and not attrs.get("block_size") else attrs.get("axis", 1)
    block = attrs.get("block_size") or None
    q32 = q.astype(np.int64)  # int4/uint4 arrive as ml_dtypes: exact in int64
    zp32 = zp.astype(np.int64).reshape(scale.shape if zp.size > 1 else ())
    value = dequantize_linear(
        q32, scale.astype(np.float32).reshape(scale.shape if scale.size > 1 else ()), zp32, axis, block
    )
    return value.astype(scale.dtype)


def _drop_pairs(graph: onnx.GraphProto) -> int:
    """Step 2 of the module doc; the number of QuantizeLinear nodes removed with their DequantizeLinears."""
    readers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for x in node.input:
            readers.setdefault(x, []).append(node)
    outputs = {v.name for v in graph.output}
    rename: dict[str, str] = {}
    dropped: set[int] = set()
    pairs = 0
    for node in graph.node:
        if node.op_type != "QuantizeLinear" or node.output[0] in outputs:
            continue
        dqs = readers.get(node.output[0], [])
        if not dqs or any(d.op_type != "DequantizeLinear" or d.input[0] != node.output[0] for d in dqs):
            continue
        for dq in dqs:
            rename[dq.output[0]] = node.input[0]
            dropped.add(id(dq))
        dropped.add(id(node))
        pairs += 1
    keep = [n for n in graph.node if id(n) not in dropped]
    for node in keep:
        _rename_inputs(node, rename)
    for out in graph.output:  # a graph output made by a dropped DequantizeLinear: keep its name
        if out.name in rename:
            keep.append(onnx.helper.make_node("Identity", [rename[out.name]], [out.name]))
    del graph.node[:]
    graph.node.extend(keep)
    return pairs


def _rename_inputs(node: onnx.NodeProto, rename: dict[str, str]) -> None:
    for i, x in enumerate(node.input):
        if x in rename:
            node.input[i] = rename[x]
    for attr in node.attribute:  # subgraphs read outer names too
        subs = [attr.g] if attr.type == onnx.AttributeProto.GRAPH else list(attr.graphs)
        for sub in subs:
            for inner in sub.node:
                _rename_inputs(inner, rename)


def _drop_unused(graph: onnx.GraphProto) -> None:
    used = {x for g in iter_graphs(graph) for n in g.node for x in n.input} | {v.name for v in graph.output}
    keep = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)
