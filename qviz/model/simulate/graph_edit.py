"""GraphEditor: build a changed copy of a model — new initializers, rewired inputs, inserted nodes.

    >>> import onnx
    >>> from onnx import helper
    >>> from qviz.samples import load_sample
    >>> model = onnx.load_model_from_string(load_sample("digits_mlp").model_bytes)
    >>> ed = GraphEditor(model)                        # copies the ModelProto once
    >>> w = ed.add_initializer("net.0.weight", np.zeros((128, 64), np.float32))
    >>> w                                              # the name is taken: a unique one
    'net.0.weight_2'
    >>> ed.set_input(0, 1, w)                          # node 0 (a Gemm) now reads the new tensor
    >>> half = ed.add_initializer("half", np.float32(0.5))
    >>> x = ed.unique("input_halved")
    >>> ed.insert_before(0, [helper.make_node("Mul", ["input", half], [x])])
    >>> ed.set_input(0, 0, x)
    >>> edited = onnx.load_model_from_string(ed.to_bytes())
    >>> [n.op_type for n in edited.graph.node]
    ['Mul', 'Gemm', 'Relu', 'Gemm', 'Relu', 'Gemm']
    >>> "net.0.weight" in {t.name for t in edited.graph.initializer}    # unused initializers dropped
    False

Nodes are inserted just before the node that needs them, so the graph stays in topological
order (ONNX requires it). Names made by `unique` never collide with any existing tensor/node.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import ModelProto, NodeProto, numpy_helper

from qviz.model.load.subgraphs import GraphPath, graph_at
from qviz.model.safety import iter_graphs


class GraphEditor:
    """A mutable copy of `model` with helpers for qviz's graph edits.

    Every edit takes an optional `path`: the subgraph (If branch, Loop/Scan body) it applies to,
    as in qviz.model.load.subgraphs (default: the main graph). Node indices are those of the
    original model until `finish` places the inserted nodes.
    """

    def __init__(self, model: ModelProto):
        self.model = ModelProto()
        self.model.CopyFrom(model)
        self._names: set[str] = set()
        for g in iter_graphs(self.model.graph):  # names are unique across subgraphs too
            self._names |= {t.name for t in g.initializer} | {v.name for v in g.input} | {v.name for v in g.output}
            self._names |= {x for n in g.node for x in (*n.input, *n.output, n.name) if x}
        self._before: dict[tuple[GraphPath, int], list[NodeProto]] = {}

    @property
    def nodes(self):
        return self.model.graph.node

    def graph(self, path: GraphPath = ()) -> onnx.GraphProto:
        """The graph at `path` (the main graph for ())."""
        return graph_at(self.model.graph, path)

    def unique(self, base: str) -> str:
        """`base`, or `base_2`, `base_3`... whichever is not used yet (and reserve it)."""
        name, i = base, 1
        while name in self._names:
            i += 1
            name = f"{base}_{i}"
        self._names.add(name)
        return name

    def add_initializer(self, base: str, x: np.ndarray, path: GraphPath = ()) -> str:
        """Add `x` as an initializer under a unique name derived from `base`; return the name."""
        name = self.unique(base)
        self.graph(path).initializer.append(numpy_helper.from_array(np.asarray(x), name))
        return name

    def add_tensor(self, tensor: onnx.TensorProto, path: GraphPath = ()) -> str:
        """Add a prepared TensorProto (e.g. int4) under a unique name based on its name."""
        t = onnx.TensorProto()
        t.CopyFrom(tensor)
        t.name = self.unique(tensor.name)
        self.graph(path).initializer.append(t)
        return t.name

    def set_input(self, node_index: int, input_index: int, name: str, path: GraphPath = ()) -> None:
        self.graph(path).node[node_index].input[input_index] = name

    def insert_before(self, node_index: int, nodes: list[NodeProto], path: GraphPath = ()) -> None:
        self._before.setdefault((path, node_index), []).extend(nodes)

    def finish(self) -> ModelProto:
        """Place inserted nodes, drop initializers nobody reads; return the edited ModelProto.

        # NOTE: deepest graphs first: placing nodes in a graph renumbers its nodes, and the
        # paths of the subgraphs inside it count nodes of the original order.
        """
        for path in sorted({p for p, _ in self._before}, key=len, reverse=True):
            g = self.graph(path)
            order: list[NodeProto] = []
            for i, node in enumerate(g.node):
                order.extend(self._before.get((path, i), ()))
                order.append(node)
            order.extend(self._before.get((path, len(g.node)), ()))  # nodes placed after the last one
            del g.node[:]
            g.node.extend(order)
        self._before = {}
        for g in iter_graphs(self.model.graph):
            _drop_unused_initializers(g)
        return self.model

    def to_bytes(self) -> bytes:
        return self.finish().SerializeToString()


def _drop_unused_initializers(g: onnx.GraphProto) -> None:
    """Drop the initializers of `g` (main graph or subgraph) that no node of it, no subgraph
    inside it and no output of it reads."""
    used = {x for n in g.node for x in n.input} | {v.name for v in g.output}
    used |= {x for n in g.node for a in n.attribute for sub in _subgraphs(a) for x in _graph_inputs(sub)}
    keep = [t for t in g.initializer if t.name in used]
    if len(keep) != len(g.initializer):
        gone = {t.name for t in g.initializer} - {t.name for t in keep}
        del g.initializer[:]
        g.initializer.extend(keep)
        # NOTE: an older export lists initializers as graph inputs too (an optional input with a
        # default): without its initializer it would become a required input nobody feeds.
        for v in [v for v in g.input if v.name in gone]:
            g.input.remove(v)


def _subgraphs(attr: onnx.AttributeProto):
    if attr.type == onnx.AttributeProto.GRAPH:
        yield attr.g
    elif attr.type == onnx.AttributeProto.GRAPHS:
        yield from attr.graphs


def _graph_inputs(g: onnx.GraphProto):
    """Every name a subgraph reads (outer-scope references included)."""
    for n in g.node:
        yield from n.input
        for a in n.attribute:
            for sub in _subgraphs(a):
                yield from _graph_inputs(sub)


class ElemTypes:
    """tensor_elem_type for many tensors of one graph path: the producer and initializer maps
    are built once (O(nodes)), then each lookup is O(1). A per-call rebuild made a 1000-layer
    model's simulation quadratic (issue 12: 17 s of server CPU per Tune).

    # NOTE: the maps are a snapshot: build it from a model that is not being edited (the
    # Simulator's proto), or rebuild after an edit that adds the tensors you look up.
    """

    def __init__(self, model: ModelProto, path: GraphPath = ()):
        self.producer: dict[str, NodeProto] = {}
        self.inits: dict[str, onnx.TensorProto] = {}
        for k in range(len(path) + 1):  # outermost first: inner names win
            g = graph_at(model.graph, path[:k])
            self.producer.update({o: n for n in g.node for o in n.output})
            self.inits.update({t.name: t for t in g.initializer})

    def __call__(self, name: str) -> int | None:
        for _ in range(16):
            if name in self.inits:
                return self.inits[name].data_type
            node = self.producer.get(name)
            if node is None:
                return None
            if node.op_type == "Cast":
                return next(a.i for a in node.attribute if a.name == "to")
            if node.op_type == "Constant":
                return next((a.t.data_type for a in node.attribute if a.name == "value"), onnx.TensorProto.FLOAT)
            if node.op_type != "Identity":
                return None
            name = node.input[0]
        return None


def tensor_elem_type(model: ModelProto, name: str, path: GraphPath = ()) -> int | None:
    """ONNX element type of a constant-ish tensor: through Cast/Identity back to an initializer.
    `path`: the subgraph reading it (its enclosing graphs' names are visible too). O(nodes) per
    call: for one lookup per layer, build ElemTypes(model, path) once."""
    return ElemTypes(model, path)(name)
