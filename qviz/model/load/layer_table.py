"""The layer table: every quantizable op of a model, one row per weight.

    >>> from qviz.model import load_model
    >>> from qviz.samples import load_sample
    >>> for x in layer_table(load_model(load_sample("digits_mlp").model_bytes)):
    ...     print(x.id, x.op_type, x.weight_shape, x.channel_axis)
    /net/net.0/Gemm Gemm (128, 64) 0
    /net/net.2/Gemm Gemm (64, 128) 0
    /net/net.4/Gemm Gemm (10, 64) 0

A layer is a node with a constant weight operand. A weight is constant when it is an
initializer or a Constant node's output, possibly through Identity/Cast (fp16 storage) or
DequantizeLinear (then `weight_name` is the stored integer tensor). A layer is marked
`quantized` when its *weight* comes from DequantizeLinear or it is an integer op (QLinearConv,
QLinearMatMul, ConvInteger, MatMulInteger, MatMulNBits). An activation fed by
DequantizeLinear alone does not count: in QDQ models a float layer often reads the previous
quantized layer's Q->DQ output.
Not followed: a weight reached through Transpose/Reshape (the layer is then not listed).

  op                        weight input      channel_axis (outputs)   reduction_axis
  Conv, ConvInteger         W (1)             0  [M, C/g, k...]        1
  QLinearConv               w (3)             0                        1
  ConvTranspose             W (1)             1  [C, M/g, k...]        0
  Gemm                      B (1)             0 if transB else 1       the other
  Gemm (only A constant)    A (0)             1 if transA else 0       the other
  MatMul/MatMulInteger      B (1) [..., K, N] ndim-1 (columns)         ndim-2
                            A (0) [..., M, K] ndim-2 (rows)            ndim-1
  QLinearMatMul             b (3) / a (0)     as MatMul
  MatMulNBits (ms)          B (1) [N, blocks, blob]  0                 1
  LSTM, GRU                 W (1), R (2)      1  [dirs, gates*H, in]   2
  Attention (ms)            weights (1)       1  [in, 3H]              0

Stable id: node name, else the weight's name, else `op_type#index` (ONNX names are
optional). LSTM/GRU give two layers; with a node name their ids are `name:W` and `name:R`.
A repeated id gets `~2`, `~3`... appended (in graph order, so ids stay stable).

Subgraphs (If branches, Loop/Scan bodies; Silero-style models keep every layer there) are
searched too, depth first at the node holding them. A layer there has `graph` (the label of
its graph, `If_0/then_branch`, see subgraphs.py) and `graph_path` (how code finds it again);
`position` indexes that graph's nodes (`layer_node(model, layer)` finds the node). Its id is
the node name, else `graph/op_type#index` (`If_0/then_branch/Conv#3`: a weight's name may
repeat in a sibling branch); a name already taken becomes `graph/name`. Main-graph ids never
depend on the subgraphs. A weight inside a subgraph may live in an enclosing graph (outer
scope); `weight_name` is its key in the WeightStore.

MACs are per inference with every dynamic dim set to 1 (see `shapes.infer_shapes`); None
when a shape is unknown (and per iteration inside a Loop/Scan body). `position` is the node's
index in its graph (ONNX requires nodes in topological order).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass, replace

import onnx
import pandas as pd
from onnx import ModelProto

from qviz.model.load.loader import LoadedModel
from qviz.model.load.shapes import infer_shapes
from qviz.model.load.subgraphs import GraphPath, graph_at, node_subgraphs, node_tag, path_text
from qviz.model.load.weights import WeightStore

PASS_THROUGH = ("Identity", "Cast")
QUANTIZED_OPS = ("QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger", "MatMulNBits")


@dataclass(frozen=True)
class Layer:
    """One quantizable weight of one node. Axes index `weight_shape`."""

    id: str
    op_type: str
    domain: str
    node_name: str
    position: int
    weight_name: str
    weight_input: int
    weight_shape: tuple[int, ...]
    weight_dtype: str
    channel_axis: int
    reduction_axis: int
    bias_name: str | None
    params: int
    macs: int | None
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    quantized: bool
    graph: str = ""  # "" = the main graph, else the label of the subgraph holding the node
    graph_path: GraphPath = ()  # how to find that subgraph (subgraphs.py); position indexes its nodes


@dataclass(frozen=True)
class _Candidate:
    """Where a weight may sit in one op: input index, axes, bias index, activation inputs."""

    weight_input: int
    channel_axis: int  # negative = counted from the end of the weight's dims
    reduction_axis: int
    bias_input: int | None
    activation_inputs: tuple[int, ...]
    suffix: str = ""


def _attr(node: onnx.NodeProto, name: str, default=0):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def _candidates(node: onnx.NodeProto) -> list[_Candidate]:
    """Possible weight placements for `node`, in order of preference (first constant wins)."""
    op = node.op_type
    if op in ("Conv", "ConvInteger"):
        return [_Candidate(1, 0, 1, 2 if op == "Conv" else None, (0,))]
    if op == "QLinearConv":
        return [_Candidate(3, 0, 1, 8, (0,))]
    if op == "ConvTranspose":
        return [_Candidate(1, 1, 0, 2, (0,))]
    if op == "Gemm":
        tb, ta = _attr(node, "transB"), _attr(node, "transA")
        return [
            _Candidate(1, 0 if tb else 1, 1 if tb else 0, 2, (0,)),
            _Candidate(0, 1 if ta else 0, 0 if ta else 1, 2, (1,)),
        ]
    if op in ("MatMul", "MatMulInteger"):
        return [_Candidate(1, -1, -2, None, (0,)), _Candidate(0, -2, -1, None, (1,))]
    if op == "QLinearMatMul":
        return [_Candidate(3, -1, -2, None, (0,)), _Candidate(0, -2, -1, None, (3,))]
    if op == "MatMulNBits" and node.domain == "com.microsoft":
        return [_Candidate(1, 0, 1, 5, (0,))]
    if op in ("LSTM", "GRU"):
        return [_Candidate(1, 1, 2, 3, (0,), ":W"), _Candidate(2, 1, 2, None, (0,), ":R")]
    if op == "Attention" and node.domain == "com.microsoft":
        return [_Candidate(1, 1, 0, 2, (0,))]
    return []


class _Graph:
    """Lookups over one graph (the main graph or a subgraph): producers, constants, shapes.

    A subgraph's `parent` is its enclosing graph: names it does not define are looked up there
    (ONNX outer scope). Its own inputs (a Loop's iteration count, a Scan's slices) are never
    constant.
    """

    def __init__(
        self,
        graph: onnx.GraphProto,
        weights: WeightStore,
        shapes: dict[str, tuple[int, ...]],
        path: GraphPath = (),
        parent: _Graph | None = None,
    ):
        self.weights, self.shapes, self.path, self.parent = weights, shapes, path, parent
        self.producer = {o: n for n in graph.node for o in n.output if o}
        self.inputs = {v.name for v in graph.input} if parent is not None else set()

    def _find(self, name: str) -> tuple[str, str | onnx.NodeProto] | None:
        """("weight", store key) or ("node", producer) of `name`, innermost scope first."""
        scope: _Graph | None = self
        while scope is not None:
            key = self.weights.key(name, scope.path)
            if key is not None:
                return "weight", key
            if name in scope.producer:
                return "node", scope.producer[name]
            if name in scope.inputs:
                return None
            scope = scope.parent
        return None

    def resolve(self, name: str) -> tuple[str, bool] | None:
        """(weight key in the store, via DequantizeLinear?) if `name` is constant, else None."""
        seen = 0
        quantized = False
        while name and seen < 16:
            found = self._find(name)
            if found is None:
                return None
            kind, what = found
            if kind == "weight":
                assert isinstance(what, str)
                return what, quantized
            assert isinstance(what, onnx.NodeProto)
            if not what.input:
                return None
            if what.op_type == "DequantizeLinear":
                quantized = True
            elif what.op_type not in PASS_THROUGH:
                return None
            name, seen = what.input[0], seen + 1
        return None


def _input(node: onnx.NodeProto, i: int | None) -> str | None:
    return node.input[i] if i is not None and i < len(node.input) and node.input[i] else None


def _macs(node: onnx.NodeProto, cand: _Candidate, shape: tuple[int, ...], g: _Graph) -> int | None:
    """Multiply-accumulates of this weight per inference (formulas in the module doc)."""
    act = g.shapes.get(_input(node, cand.activation_inputs[0]) or "")
    out = g.shapes.get(node.output[0]) if node.output else None
    w_size = math.prod(shape)
    op = node.op_type
    if op == "ConvTranspose":
        return math.prod(act) // shape[0] * w_size if act else None
    if op in ("LSTM", "GRU", "Attention"):
        return math.prod(act) // act[-1] * w_size if act else None
    if op == "MatMulNBits":
        return math.prod(out) * _attr(node, "K") if out else None
    if out is None or not shape:
        return None
    if op in ("Conv", "ConvInteger", "QLinearConv"):
        return math.prod(out) * (w_size // shape[0] if shape[0] else 0)
    return math.prod(out) * shape[cand.reduction_axis]


def _params(node: onnx.NodeProto, shape, bias: str | None, g: _Graph) -> int:
    n = _attr(node, "K") * _attr(node, "N") if node.op_type == "MatMulNBits" else math.prod(shape)
    return n + (g.weights.size(bias) if bias is not None and bias in g.weights else 0)


def _layer(node: onnx.NodeProto, index: int, cand: _Candidate, g: _Graph, label: str = "") -> Layer | None:
    resolved = g.resolve(_input(node, cand.weight_input) or "")
    if resolved is None:
        return None
    weight, via_dq = resolved
    shape = g.weights.shape(weight)
    ndim = max(len(shape), 1)
    bias = _input(node, cand.bias_input)
    bias_const = g.resolve(bias) if bias else None
    bias = bias_const[0] if bias_const else bias
    if node.name:
        base = node.name + cand.suffix
    elif g.path:  # inside a subgraph a weight's name may repeat in a sibling branch: the path
        base = f"{label}/{node.op_type}#{index}{cand.suffix}"
    else:
        base = weight or f"{node.op_type}#{index}"
    return Layer(
        id=base,
        op_type=node.op_type,
        domain=node.domain,
        node_name=node.name,
        position=index,
        weight_name=weight,
        weight_input=cand.weight_input,
        weight_shape=tuple(shape),
        weight_dtype=g.weights.dtype(weight),
        channel_axis=cand.channel_axis % ndim,
        reduction_axis=cand.reduction_axis % ndim,
        bias_name=bias,
        params=_params(node, shape, bias, g),
        macs=_macs(node, cand, shape, g),
        inputs=tuple(x for i in cand.activation_inputs if (x := _input(node, i))),
        outputs=tuple(o for o in node.output if o),
        quantized=via_dq or node.op_type in QUANTIZED_OPS,
        graph=label,
        graph_path=g.path,
    )


def _node_layers(node: onnx.NodeProto, index: int, g: _Graph, label: str = "") -> list[Layer]:
    cands = _candidates(node)
    if node.op_type in ("LSTM", "GRU"):  # both weights are layers
        return [x for c in cands if (x := _layer(node, index, c, g, label))]
    for cand in cands:  # first constant operand wins
        layer = _layer(node, index, cand, g, label)
        if layer is not None:
            return [layer]
    return []


def _graph_layers(graph: onnx.GraphProto, g: _Graph, label: str) -> list[Layer]:
    """The layers of `graph` and, at each node holding subgraphs, of those (depth first)."""
    layers = []
    for i, node in enumerate(graph.node):
        layers += _node_layers(node, i, g, label)
        for attr, k, sub in node_subgraphs(node):
            here = f"{label}/" if label else ""
            here += f"{node_tag(node, i)}/{attr}" + (f"[{k}]" if k >= 0 else "")
            inner = _Graph(sub, g.weights, g.shapes, (*g.path, (i, attr, k)), g)
            layers += _graph_layers(sub, inner, here)
    return layers


def _dedupe(layers: list[Layer]) -> list[Layer]:
    """Unique ids: a repeated id gets the first free `~2`, `~3`... suffix.

    Main-graph layers are named first, so a subgraph never changes their ids. A subgraph
    layer whose id repeats anywhere (sibling If branches often hold the same node names)
    becomes `graph label/id` — in every branch alike — then gets the suffix if still taken.

    # NOTE: a suffixed id can already be taken by a real node name: `fc`, `fc~2`, `fc` give
    # `fc`, `fc~2`, `fc~3` (the suffix keeps counting until unused).
    """
    counts = Counter(x.id for x in layers)
    used: set[str] = set()
    new_ids: dict[int, str] = {}
    for i in sorted(range(len(layers)), key=lambda i: bool(layers[i].graph_path)):
        layer = layers[i]
        base = f"{layer.graph}/{layer.id}" if layer.graph and counts[layer.id] > 1 else layer.id
        new, n = base, 1
        while new in used:
            n += 1
            new = f"{base}~{n}"
        used.add(new)
        new_ids[i] = new
    return [x if new_ids[i] == x.id else replace(x, id=new_ids[i]) for i, x in enumerate(layers)]


def model_and_weights(model: LoadedModel | ModelProto) -> tuple[ModelProto, WeightStore]:
    if isinstance(model, LoadedModel):
        return model.model, model.weights
    return model, WeightStore(model.graph)


def layer_table(model: LoadedModel | ModelProto) -> list[Layer]:
    """Every quantizable layer, subgraphs included, in graph order (see module doc)."""
    proto, weights = model_and_weights(model)
    g = _Graph(proto.graph, weights, infer_shapes(proto))
    return _dedupe(_graph_layers(proto.graph, g, ""))


def layer_graph(model: ModelProto, layer: Layer) -> onnx.GraphProto:
    """The graph holding `layer`'s node (the main graph, or an If/Loop/Scan body)."""
    return graph_at(model.graph, layer.graph_path)


def layer_node(model: ModelProto, layer: Layer) -> onnx.NodeProto:
    """`layer`'s node in `model` (or in a copy of it with the same node order)."""
    return layer_graph(model, layer).node[layer.position]


def layers_dataframe(layers: list[Layer]) -> pd.DataFrame:
    """One row per layer, columns = Layer fields (tuples shown as 'a x b' / comma lists; graph_path as
    subgraphs.path_text)."""
    columns = list(Layer.__dataclass_fields__)
    rows = [asdict(x) for x in layers]
    df = pd.DataFrame(rows, columns=columns)
    df["weight_shape"] = df["weight_shape"].map(lambda s: " x ".join(map(str, s)))
    for col in ("inputs", "outputs"):
        df[col] = df[col].map(", ".join)
    df["graph_path"] = df["graph_path"].map(lambda p: path_text(tuple(tuple(step) for step in p)))
    df["macs"] = df["macs"].astype("Int64")
    return df
