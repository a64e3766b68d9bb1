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


class GraphEditor:
    """A mutable copy of `model` with helpers for qviz's graph edits."""

    def __init__(self, model: ModelProto):
        self.model = ModelProto()
        self.model.CopyFrom(model)
        g = self.model.graph
        self._names = {t.name for t in g.initializer} | {v.name for v in g.input} | {v.name for v in g.output}
        self._names |= {x for n in g.node for x in (*n.input, *n.output, n.name) if x}
        self._before: dict[int, list[NodeProto]] = {}

    @property
    def nodes(self):
        return self.model.graph.node

    def unique(self, base: str) -> str:
        """`base`, or `base_2`, `base_3`... whichever is not used yet (and reserve it)."""
        name, i = base, 1
        while name in self._names:
            i += 1
            name = f"{base}_{i}"
        self._names.add(name)
        return name

    def add_initializer(self, base: str, x: np.ndarray) -> str:
        """Add `x` as an initializer under a unique name derived from `base`; return the name."""
        name = self.unique(base)
        self.model.graph.initializer.append(numpy_helper.from_array(np.asarray(x), name))
        return name

    def add_tensor(self, tensor: onnx.TensorProto) -> str:
        """Add a prepared TensorProto (e.g. int4) under a unique name based on its name."""
        t = onnx.TensorProto()
        t.CopyFrom(tensor)
        t.name = self.unique(tensor.name)
        self.model.graph.initializer.append(t)
        return t.name

    def set_input(self, node_index: int, input_index: int, name: str) -> None:
        self.nodes[node_index].input[input_index] = name

    def insert_before(self, node_index: int, nodes: list[NodeProto]) -> None:
        self._before.setdefault(node_index, []).extend(nodes)

    def finish(self) -> ModelProto:
        """Place inserted nodes, drop initializers nobody reads; return the edited ModelProto."""
        g = self.model.graph
        order: list[NodeProto] = []
        for i, node in enumerate(g.node):
            order.extend(self._before.get(i, ()))
            order.append(node)
        order.extend(self._before.get(len(g.node), ()))  # nodes placed after the last one
        self._before = {}
        del g.node[:]
        g.node.extend(order)
        _drop_unused_initializers(g)
        return self.model

    def to_bytes(self) -> bytes:
        return self.finish().SerializeToString()


def _drop_unused_initializers(g: onnx.GraphProto) -> None:
    used = {x for n in g.node for x in n.input} | {v.name for v in g.output}
    used |= {x for n in g.node for a in n.attribute for sub in _subgraphs(a) for x in _graph_inputs(sub)}
    keep = [t for t in g.initializer if t.name in used]
    if len(keep) != len(g.initializer):
        del g.initializer[:]
        g.initializer.extend(keep)


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


def tensor_elem_type(model: ModelProto, name: str) -> int | None:
    """ONNX element type of a constant-ish tensor: through Cast/Identity back to an initializer."""
    producer = {o: n for n in model.graph.node for o in n.output}
    inits = {t.name: t for t in model.graph.initializer}
    for _ in range(16):
        if name in inits:
            return inits[name].data_type
        node = producer.get(name)
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
