"""deployed_graph's dry run in windows of the graph: linear in the number of nodes.

onnxruntime's quantize_static edits its graph with whole-graph scans per tensor (its
ONNXModel.replace_input_of_all_nodes, find_by_name...): quadratic in nodes, 26 s of CPU for 1000
Gemms. So the dry run runs on consecutive slices ("windows") of WINDOW_NODES nodes of the graph
order, each a standalone model, and the answers are merged. Every node sits in exactly one window.

What a node decides (which of its inputs/outputs get a Q -> DQ pair, and whose scale an output
shares) depends on the node itself, on which of its inputs are initializers or float, and on one
piece of *state*: is_tensor_quantized(x) — did an earlier node (x's producer, or a consumer of x
earlier in graph order, possibly far back) already mark x. A data-movement op (Reshape,
Transpose, Slice...), a Relu/Clip, Gather, Split or Where only quantizes when its input is already
marked. The windows reproduce that state exactly:

  - windows run in graph order; `marked` collects every tensor a window quantized;
  - a window input x that is already marked gets a marker node first in the window,
    `Add(x, x) -> qviz_mark_<i>` (Add marks its inputs unconditionally); the marker's own output
    is dropped from the answer;
  - a window's inputs are the tensors its nodes read from before it (their types from one
    onnx shape inference of the whole model), its outputs those read after it or by the graph.

Merging (each rule is a place where the quantizer looks beyond one node):

  activations  a tensor is quantized if any window quantizes it (its producer's or a
               consumer's), minus the two kinds the whole-graph run removes:
               - the output of a DequantizeLinear (already quantized: the quantizer keeps it);
               - x -> Relu/Clip when that Relu/Clip is x's only reader: the quantizer removes the
                 activation and the producer writes its output directly (try_replacing_upstream_output);
                 a window that sees x as an input or an output cannot, so the merge does.
  source       only x's producer can make x share a scale (quantize_output_same_as_input), so x's
               source is the one reported by its producer's window; when that is a tensor from an
               earlier window (an Add -> Transpose -> Reshape chain across a boundary) it is
               followed to that tensor's own source: chains of any length, no margin needed.
  constants    every window's 8-bit constants (an initializer is quantized for its readers).

A graph with subgraphs (If/Loop/Scan read outer tensors implicitly), a tensor without an inferred
type at a window boundary, or a failed inference: `windowed_dry_run` returns None and the caller
runs the whole graph at once.
"""

from __future__ import annotations

from collections.abc import Callable

import onnx
from onnx import ModelProto, NodeProto, ValueInfoProto, helper

WINDOW_NODES = 50  # measured on 1000 Gemms: W=20 1.4 s, 50 2.0 s, 100 3.3 s, 200 5.8 s CPU (whole: 26 s)
MARK = "qviz_mark_"  # prefix of the marker nodes' outputs (module doc)

# run(window_model, nodes_to_exclude) -> ({tensor: source}, {initializer: values}) of one dry run
DryRun = Callable[[ModelProto, list[str]], tuple[dict, dict]]


def has_subgraphs(model: ModelProto) -> bool:
    """Does a main-graph node carry a graph attribute (If/Loop/Scan)?"""
    return any(
        a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for n in model.graph.node for a in n.attribute
    )


def windowed_dry_run(
    model: ModelProto, exclude: list[str], run: DryRun, window: int = WINDOW_NODES
) -> tuple[dict, dict] | None:
    """The dry run of `run` on the whole named `model` (nodes_to_exclude `exclude`), merged from
    windows of `window` nodes (module doc); None where windows do not apply."""
    if has_subgraphs(model):
        return None
    g = model.graph
    types = _value_types(model)
    if types is None:
        return None
    nodes = list(g.node)
    inits = {t.name: t for t in g.initializer}
    producer: dict[str, int] = {}
    last_read: dict[str, int] = {}
    readers: dict[str, list[int]] = {}
    for i, n in enumerate(nodes):
        for x in n.input:
            if x:
                last_read[x] = i
                readers.setdefault(x, []).append(i)
        for y in n.output:
            if y:
                producer[y] = i
    graph_outputs = {v.name for v in g.output}
    graph_inputs = {v.name for v in g.input}
    excluded = set(exclude)

    marked: set[str] = set()
    quantized: set[str] = set()
    local_source: dict[str, str] = {}  # tensor -> source, from its producer's window
    constants: dict = {}
    for start in range(0, len(nodes), window):
        stop = min(start + window, len(nodes))
        built = _window_model(model, nodes, start, stop, inits, types, marked, last_read, graph_outputs)
        if built is None:
            return None
        acts, consts = run(built, [n.name for n in nodes[start:stop] if n.name in excluded])
        acts = {t: s for t, s in acts.items() if not t.startswith(MARK)}
        marked |= acts.keys()
        quantized |= acts.keys()
        constants.update(consts)
        for t, s in acts.items():
            if start <= producer.get(t, -1) < stop:
                local_source[t] = s

    for t in list(quantized):
        p = producer.get(t)
        if p is not None and nodes[p].op_type == "DequantizeLinear":
            quantized.discard(t)
    for n in nodes:  # the quantizer's removable activations (module doc)
        x = n.input[0] if n.input else ""
        if (
            n.op_type in ("Relu", "Clip")
            and n.name not in excluded
            and x in quantized
            and len(readers.get(x, ())) == 1
            and x not in graph_outputs
            and x not in graph_inputs
        ):
            quantized.discard(x)

    final: dict[str, str] = {}
    for t in sorted(quantized, key=lambda t: producer.get(t, -1)):  # sources before their followers
        s = local_source.get(t, t)
        final[t] = final.get(s, s) if s != t else t
    return final, constants


def _value_types(model: ModelProto) -> dict[str, ValueInfoProto] | None:
    """Every main-graph tensor's ValueInfo from one onnx shape inference (None if it fails)."""
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:  # noqa: BLE001 - any inference failure: the caller runs the whole graph
        return None
    g = inferred.graph
    types = {v.name: v for v in (*g.value_info, *g.input, *g.output)}
    return {k: v for k, v in types.items() if v.type.HasField("tensor_type") and v.type.tensor_type.elem_type}


def _window_model(
    model: ModelProto,
    nodes: list[NodeProto],
    start: int,
    stop: int,
    inits: dict,
    types: dict[str, ValueInfoProto],
    marked: set[str],
    last_read: dict[str, int],
    graph_outputs: set[str],
) -> ModelProto | None:
    """Nodes [start, stop) as a standalone model: inputs = tensors read from before, outputs =
    tensors read after (or graph outputs), markers for the inputs already marked (module doc)."""
    core = nodes[start:stop]
    produced: dict[str, None] = {}
    read: dict[str, None] = {}
    for n in core:
        read.update((x, None) for x in n.input if x and x not in produced)
        produced.update((y, None) for y in n.output if y)
    inputs = [x for x in read if x not in inits]
    outputs = [y for y in produced if y in graph_outputs or last_read.get(y, -1) >= stop]
    if any(x not in types for x in (*inputs, *outputs)):
        return None
    markers = [
        helper.make_node("Add", [x, x], [f"{MARK}{k}"], name=f"{MARK}node_{k}")
        for k, x in enumerate(x for x in inputs if x in marked)
    ]
    graph = helper.make_graph(
        [*markers, *core],
        f"window_{start}",
        [types[x] for x in inputs],
        [types[y] for y in outputs],
        [inits[x] for x in read if x in inits],
        value_info=[types[y] for y in produced if y in types and y not in outputs],
    )
    out = helper.make_model(graph, opset_imports=model.opset_import, ir_version=model.ir_version)
    out.functions.extend(model.functions)
    return out
