"""Suffix graphs: the part of a model from one node on, fed with the float model's tensors at the cut.

Why: with only layer i quantized, everything computed before layer i is the float model's
own result. A sweep computes it once per layer (one float pass fetching the cut tensors)
and then runs only the suffix for each candidate; on a deep model that halves the work.

    cut_names(proto, p)         tensors nodes[p:] read that nodes[p:] do not produce and that
                                are not initializers (float activations, graph inputs,
                                Constant-node outputs from before p)
    suffix_model(proto, p, types)   nodes[p:] with the cut names as graph inputs

Nodes are in topological order (ONNX requires it), so nodes[p:] never feed nodes[:p].
Names read inside If/Loop bodies count as read by their node.
"""

from __future__ import annotations

import onnx
from onnx import ModelProto, helper


def _reads(node: onnx.NodeProto):
    yield from (x for x in node.input if x)
    for a in node.attribute:
        graphs = [a.g] if a.type == onnx.AttributeProto.GRAPH else list(a.graphs)
        for g in graphs:
            inner = {o for n in g.node for o in n.output} | {t.name for t in g.initializer} | {v.name for v in g.input}
            for n in g.node:
                yield from (x for x in _reads(n) if x not in inner)


def cut_names(proto: ModelProto, position: int) -> list[str]:
    """Names nodes[position:] read from before `position` (module doc), in first-read order."""
    g = proto.graph
    produced = {o for n in g.node[position:] for o in n.output}
    inits = {t.name for t in g.initializer}
    names = [x for n in g.node[position:] for x in _reads(n) if x not in produced and x not in inits]
    outputs = [v.name for v in g.output if v.name not in produced]  # outputs made before the cut
    return list(dict.fromkeys(names + outputs))


def suffix_model(proto: ModelProto, position: int, types: dict[str, int]) -> ModelProto:
    """A model of nodes[position:] whose inputs are the cut names (`types`: name -> ONNX elem type).

    Graph outputs made before the cut are left out (the caller has them from the cut)."""
    g = proto.graph
    produced = {o for n in g.node[position:] for o in n.output}
    m = ModelProto()
    m.CopyFrom(proto)
    del m.graph.node[:position]
    del m.graph.input[:]
    m.graph.input.extend(helper.make_tensor_value_info(n, types[n], None) for n in types)
    keep = [v for v in g.output if v.name in produced]
    del m.graph.output[:]
    m.graph.output.extend(keep)
    return m
