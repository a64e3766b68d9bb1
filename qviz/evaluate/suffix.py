"""Segment graphs: the part of a model between two node positions, fed with the tensors at its cut.

Why: with only layer i quantized, everything computed before layer i is the float model's
own result. A sweep computes it once per layer and then runs only the suffix for each
candidate; on a deep model that halves the work. Segments (nodes[a:b]) let the Runner stream
those tensors layer by layer and restart from any position it kept (session_cache.py).

    cut_names(proto, p)         tensors nodes[p:] read that nodes[p:] do not produce and that
                                are not initializers (float activations, graph inputs,
                                Constant-node outputs from before p), plus the graph outputs
                                made before p: everything the rest of the model needs from before p
    strip_data(proto)           a copy whose main-graph initializers hold no data (names, types and
                                dims stay): cheap to copy and to edit, segments are cut from it
    segment_model(skeleton, a, b, inputs, outputs)
                                nodes[a:b] with `inputs` as graph inputs and `outputs` as graph
                                outputs (and the initializers they read, still without data)
    with_data(proto, tensors)   fills in the data a skeleton's copy left out (after any edits)

    >>> import onnx
    >>> from qviz.samples import load_sample
    >>> model = onnx.load_model_from_string(load_sample("digits_cnn").model_bytes)
    >>> [n.op_type for n in model.graph.node][:5]
    ['Conv', 'Relu', 'Conv', 'Relu', 'MaxPool']
    >>> cut_names(model, 2), cut_names(model, 12)      # before the second Conv; at the end: the outputs
    (['/features/features.2/Relu_output_0'], ['logits'])
    >>> seg = segment_model(strip_data(model), 0, 2, {"input": 1}, cut_names(model, 2))
    >>> [n.op_type for n in seg.graph.node], [t.name for t in seg.graph.initializer]
    (['Conv', 'Relu'], ['features.0.weight', 'features.0.bias'])
    >>> len(seg.graph.initializer[0].raw_data), len(with_data(seg, initializer_map(model)).graph.initializer[0].raw_data)
    (0, 576)

Nodes are in topological order (ONNX requires it), so nodes[p:] never feed nodes[:p].
Names read inside If/Loop bodies count as read by their node.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import onnx
from onnx import ModelProto, TensorProto, helper


def _reads(node: onnx.NodeProto):
    yield from (x for x in node.input if x)
    for a in node.attribute:
        graphs = [a.g] if a.type == onnx.AttributeProto.GRAPH else list(a.graphs)
        for g in graphs:
            inner = {o for n in g.node for o in n.output} | {t.name for t in g.initializer} | {v.name for v in g.input}
            for n in g.node:
                yield from (x for x in _reads(n) if x not in inner)


def outside_reads(nodes: Iterable[onnx.NodeProto], exclude: set[str]) -> list[str]:
    """Names `nodes` read that they do not produce and that are not in `exclude`, in first-read order."""
    nodes = list(nodes)
    produced = {o for n in nodes for o in n.output}
    return list(dict.fromkeys(x for n in nodes for x in _reads(n) if x not in produced and x not in exclude))


def cut_names(proto: ModelProto, position: int) -> list[str]:
    """Names nodes[position:] read from before `position` (module doc), in first-read order."""
    g = proto.graph
    produced = {o for n in g.node[position:] for o in n.output}
    names = outside_reads(g.node[position:], {t.name for t in g.initializer})
    outputs = [v.name for v in g.output if v.name not in produced]  # outputs made before the cut
    return list(dict.fromkeys(names + outputs))


def strip_data(proto: ModelProto) -> ModelProto:
    """A copy of `proto` whose main-graph initializers keep name, type and dims but no data.

    # NOTE: built field by field, never by copying the whole model and clearing the data: a
    # protobuf message keeps the memory of a cleared field (80 MB of a 100 MB model)."""
    m = ModelProto()
    _copy_fields(proto, m, skip="graph")
    _copy_fields(proto.graph, m.graph, skip="initializer")
    for t in proto.graph.initializer:
        m.graph.initializer.add(name=t.name, data_type=t.data_type, dims=t.dims)
    return m


def _copy_fields(src, dst, skip: str) -> None:
    for field, value in src.ListFields():
        if field.name == skip:
            continue
        if field.is_repeated:
            getattr(dst, field.name).extend(value)
        elif field.type == field.TYPE_MESSAGE:
            getattr(dst, field.name).CopyFrom(value)
        else:
            setattr(dst, field.name, value)


def initializer_map(proto: ModelProto) -> dict[str, TensorProto]:
    """{name: TensorProto} of the main graph's initializers (references into `proto`, no copy)."""
    return {t.name: t for t in proto.graph.initializer}


def segment_model(
    skeleton: ModelProto, start: int, end: int, inputs: Mapping[str, int], outputs: Iterable[str]
) -> ModelProto:
    """nodes[start:end] of `skeleton` as a model (module doc). `inputs`: name -> ONNX elem type;
    the initializers the nodes read as the skeleton has them (`with_data` fills in the data)."""
    m = ModelProto()
    m.CopyFrom(skeleton)  # a skeleton has no weight data: this copy is cheap
    g = m.graph
    nodes = list(g.node[start:end])
    inits = {t.name: t for t in g.initializer}
    used = dict.fromkeys(x for n in nodes for x in _reads(n) if x in inits)
    kept = [_copy(inits[x]) for x in used]  # copies: g's own are deleted below
    del g.node[:]
    g.node.extend(nodes)
    del g.initializer[:]
    g.initializer.extend(kept)
    del g.input[:]
    g.input.extend(helper.make_tensor_value_info(n, elem, None) for n, elem in inputs.items())
    del g.output[:]
    g.output.extend(onnx.ValueInfoProto(name=n) for n in dict.fromkeys(outputs))
    return m


def with_data(proto: ModelProto, tensors: Mapping[str, TensorProto]) -> ModelProto:
    """`proto` (changed in place) with its main-graph initializers named in `tensors` replaced by
    them: the data a skeleton's copy left out."""
    for t in proto.graph.initializer:
        if t.name in tensors:
            t.CopyFrom(tensors[t.name])
    return proto


def _copy(t: TensorProto) -> TensorProto:
    out = TensorProto()
    out.CopyFrom(t)
    return out
