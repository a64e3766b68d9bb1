"""Graphs inside nodes (If branches, Loop and Scan bodies): walking them, naming them, finding them.

    >>> import onnx
    >>> from onnx import TensorProto, helper
    >>> out = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    >>> branch = lambda name: helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], name, [], [out])
    >>> node = helper.make_node("If", ["c"], ["y"], name="If_0", then_branch=branch("t"), else_branch=branch("e"))
    >>> main = helper.make_graph([node], "main", [], [out])
    >>> [(s.label, s.path) for s in iter_subgraphs(main)]    # in attribute order (make_node sorts them)
    [('If_0/else_branch', ((0, 'else_branch', -1),)), ('If_0/then_branch', ((0, 'then_branch', -1),))]
    >>> graph_at(main, ((0, "else_branch", -1),)).name
    'e'

A graph's *path* is the list of steps from the main graph to it: (index of the node holding
it, attribute name, index in a GRAPHS attribute or -1 for a GRAPH attribute). The path of the
main graph is (). Paths are what code uses to find a graph again in a copy of the model (the
ModelProto of an edit); *labels* are what people read: the holding node's name (or
`op_type#index` when it has none) and the attribute, joined by "/" — `If_0/then_branch`,
`loop/body/If#2/else_branch`. A label may repeat (node names are optional and may repeat); a
path never does.

Scoping (ONNX IR): a subgraph may read any name of its enclosing graphs (outer scope); its own
inputs, initializers and node outputs are visible inside it only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import onnx
from onnx import AttributeProto, GraphProto

Step = tuple[int, str, int]
GraphPath = tuple[Step, ...]


@dataclass(frozen=True)
class SubGraph:
    """One nested graph: where it is (`path`), what people call it (`label`), the proto."""

    path: GraphPath
    label: str
    graph: GraphProto


def node_tag(node: onnx.NodeProto, index: int) -> str:
    """A node as a path element: its name, else `op_type#index` (index in its own graph)."""
    return node.name or f"{node.op_type}#{index}"


def node_subgraphs(node: onnx.NodeProto) -> Iterator[tuple[str, int, GraphProto]]:
    """(attribute name, index or -1, graph) for every graph attribute of `node`."""
    for attr in node.attribute:
        if attr.type == AttributeProto.GRAPH:
            yield attr.name, -1, attr.g
        elif attr.type == AttributeProto.GRAPHS:
            for k, g in enumerate(attr.graphs):
                yield attr.name, k, g


def iter_subgraphs(graph: GraphProto, path: GraphPath = (), label: str = "") -> Iterator[SubGraph]:
    """Every graph nested in `graph` at any depth, depth first in node order (module doc)."""
    for i, node in enumerate(graph.node):
        for name, k, sub in node_subgraphs(node):
            here = f"{label}{node_tag(node, i)}/{name}" + (f"[{k}]" if k >= 0 else "")
            step: GraphPath = (*path, (i, name, k))
            yield SubGraph(step, here, sub)
            yield from iter_subgraphs(sub, step, here + "/")


def graph_at(graph: GraphProto, path: GraphPath) -> GraphProto:
    """The graph at `path` inside `graph` (the main graph for ())."""
    for index, name, k in path:
        attr = next(a for a in graph.node[index].attribute if a.name == name)
        graph = attr.g if k < 0 else attr.graphs[k]
    return graph


def path_text(path: GraphPath) -> str:
    """A compact unique text for `path` (for keys, not for people): '3.then_branch' or '1.body/0.branches[2]'."""
    return "/".join(f"{i}.{name}" + (f"[{k}]" if k >= 0 else "") for i, name, k in path)
