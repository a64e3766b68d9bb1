"""Static safety checks on a parsed ModelProto, run before anything reads a tensor.

One walk (`iter_scopes` -> `iter_attributes`, `iter_tensors`) finds every graph, function body,
attribute and tensor; the checks all use it, and all are pure protobuf walks (no file is opened):

    check_attribute_types(model)    an attribute carries exactly the field its declared type names
    check_no_external_data(model)   every tensor anywhere must carry its bytes inline (runs the above)
    check_tensor_sizes(model)       raw_data / typed-field length == prod(dims) x dtype size
    check_memory_bombs(model)       ConstantOfShape/Expand/Tile/Range with constant inputs
                                    must not ask for more than `cap_bytes`

# NOTE: external data is resolved relative to the *working directory* by onnx helpers and by
# onnxruntime: a 200-byte upload naming `.streamlit/secrets.toml` makes them read it. The onnx
# helpers skip sparse initializers but onnxruntime reads them, so `iter_tensors` visits every
# place a TensorProto can hide: initializers, sparse initializers (values and indices), every
# attribute's t/tensors/sparse_tensor(s) WHATEVER its declared type (not only Constant's),
# subgraphs in any attribute's g/graphs at any depth, model-local functions, and training_info
# graphs. The only decoder is `inline_array`, which refuses external tensors itself.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import AttributeProto, GraphProto, ModelProto, TensorProto

BOMB_CAP_BYTES = 2**30  # 1 GiB: any single statically-known output above this is rejected

# Sub-byte types are packed (int4: two values per byte, low nibble first): bits per value.
_PACKED_BITS = {
    getattr(TensorProto, name): bits
    for name, bits in [
        ("INT4", 4),
        ("UINT4", 4),
        ("FLOAT4E2M1", 4),
        ("INT2", 2),
        ("UINT2", 2),
        ("FLOAT6E2M3", 6),
        ("FLOAT6E3M2", 6),
    ]
    if hasattr(TensorProto, name)
}


class ModelError(ValueError):
    """The model cannot be loaded or is unsafe; the message says which tensor/node and why."""


# What each declared attribute type carries: the one AttributeProto field it may set.
ATTRIBUTE_FIELDS = {
    AttributeProto.FLOAT: "f",
    AttributeProto.INT: "i",
    AttributeProto.STRING: "s",
    AttributeProto.TENSOR: "t",
    AttributeProto.GRAPH: "g",
    AttributeProto.SPARSE_TENSOR: "sparse_tensor",
    AttributeProto.TYPE_PROTO: "tp",
    AttributeProto.FLOATS: "floats",
    AttributeProto.INTS: "ints",
    AttributeProto.STRINGS: "strings",
    AttributeProto.TENSORS: "tensors",
    AttributeProto.GRAPHS: "graphs",
    AttributeProto.SPARSE_TENSORS: "sparse_tensors",
    AttributeProto.TYPE_PROTOS: "type_protos",
}
_VALUE_FIELDS = frozenset(ATTRIBUTE_FIELDS.values())


@dataclass(frozen=True)
class Scope:
    """One list of nodes with what it holds: a graph (main, subgraph, training) or a function body.

    `label` names it in messages ("graph 'then_branch'", "function 'AddW'").
    """

    label: str
    nodes: Sequence[onnx.NodeProto]
    initializers: Sequence[TensorProto] = ()
    sparse_initializers: Sequence[onnx.SparseTensorProto] = ()


def iter_scopes(model: ModelProto) -> Iterator[Scope]:
    """Every graph and function body of the model, subgraphs at any depth: THE walk every check uses.

    Subgraphs are found in every attribute's `g`/`graphs`, whatever the attribute's declared type
    (onnx's helpers and onnxruntime trust the declared type; a hostile file does not have to).
    """
    yield from _graph_scopes(model.graph)
    for fn in model.functions:
        yield Scope(f"function '{fn.name}'", fn.node)
        for node in fn.node:
            for sub in _node_subgraphs(node):
                yield from _graph_scopes(sub)
    for info in model.training_info:
        yield from _graph_scopes(info.initialization)
        yield from _graph_scopes(info.algorithm)


def _graph_scopes(graph: GraphProto) -> Iterator[Scope]:
    yield Scope(f"graph '{graph.name}'", graph.node, graph.initializer, graph.sparse_initializer)
    for node in graph.node:
        for sub in _node_subgraphs(node):
            yield from _graph_scopes(sub)


def _node_subgraphs(node: onnx.NodeProto) -> Iterator[GraphProto]:
    for attr in node.attribute:
        if attr.HasField("g"):
            yield attr.g
        yield from attr.graphs


def iter_attributes(model: ModelProto) -> Iterator[tuple[str, AttributeProto]]:
    """Yield (where, attribute) for every node attribute in the model, at any depth."""
    for scope in iter_scopes(model):
        for node in scope.nodes:
            label = f"node '{node_label(node)}' ({node.op_type}) in {scope.label}"
            for attr in node.attribute:
                yield f"attribute '{attr.name}' of {label}", attr


def iter_tensors(model: ModelProto) -> Iterator[tuple[str, TensorProto]]:
    """Yield (where, tensor) for every TensorProto in the model, at any depth.

    Every attribute's `t`, `tensors`, `sparse_tensor` and `sparse_tensors` is visited whatever
    its declared type: a `value` declared FLOAT can still carry an external `.t`.
    `where` is a short human-readable place, e.g. "initializer 'w'" or
    "attribute 'value' of node 'c1' (Constant) in graph 'then_branch'".
    """
    for scope in iter_scopes(model):
        for t in scope.initializers:
            yield f"initializer '{t.name}'", t
        for sp in scope.sparse_initializers:
            yield f"sparse initializer '{sp.values.name}' (values)", sp.values
            yield f"sparse initializer '{sp.values.name}' (indices)", sp.indices
    for where, attr in iter_attributes(model):
        yield from _attribute_tensors(where, attr)


def _attribute_tensors(where: str, attr: AttributeProto) -> Iterator[tuple[str, TensorProto]]:
    if attr.HasField("t") or attr.type == AttributeProto.TENSOR:
        yield where, attr.t
    for t in attr.tensors:
        yield where, t
    sparse = [attr.sparse_tensor] if attr.HasField("sparse_tensor") or attr.type == AttributeProto.SPARSE_TENSOR else []
    for sp in [*sparse, *attr.sparse_tensors]:
        yield where + " (values)", sp.values
        yield where + " (indices)", sp.indices


def node_label(node: onnx.NodeProto) -> str:
    """A node's name, else its first output, else its op type (ONNX names are optional)."""
    return node.name or (node.output[0] if node.output else node.op_type)


def iter_graphs(graph: GraphProto) -> Iterator[GraphProto]:
    """`graph` and every If/Loop/Scan subgraph inside it, at any depth (any attribute's g/graphs)."""
    yield graph
    for node in graph.node:
        for sub in _node_subgraphs(node):
            yield from iter_graphs(sub)


def iter_nodes(graph: GraphProto) -> Iterator[onnx.NodeProto]:
    """Every node of `graph` and of its subgraphs."""
    for g in iter_graphs(graph):
        yield from g.node


def carried_fields(attr: AttributeProto) -> list[str]:
    """The value fields `attr` actually sets ('t', 'f', 'graphs', ...), in field order.

    >>> carried_fields(onnx.helper.make_attribute("alpha", 0.5))
    ['f']
    """
    return [f.name for f, _ in attr.ListFields() if f.name in _VALUE_FIELDS]


def check_attribute_types(model: ModelProto) -> None:
    """Refuse any attribute whose declared type disagrees with the field it carries.

    # NOTE: onnx's helpers and onnxruntime read an attribute by its declared type, so a
    # `Constant` whose `value` is declared FLOAT (or UNDEFINED) but carries an external `.t`
    # slips past every check that trusts the type, and `numpy_helper.to_array` then reads the
    # named file from the working directory. Nothing legitimate writes such an attribute.
    """
    for where, attr in iter_attributes(model):
        carried = carried_fields(attr)
        declared = ATTRIBUTE_FIELDS.get(attr.type)
        if carried and carried != [declared]:
            known = attr.type in AttributeProto.AttributeType.values()
            type_name = AttributeProto.AttributeType.Name(attr.type) if known else str(attr.type)
            fields = ", ".join(f"'{name}'" for name in carried)
            raise ModelError(
                f"{where} is declared {type_name} but carries field {fields}; "
                "refusing an attribute whose type disagrees with its value"
            )


def inline_array(t: TensorProto, where: str | None = None) -> np.ndarray:
    """The numpy value of a tensor whose bytes are inline; an external tensor is a ModelError.

    The one place in qviz that decodes a TensorProto with onnx's helper: given an external
    tensor, that helper opens its `location` relative to the working directory.

    >>> inline_array(onnx.numpy_helper.from_array(np.arange(3, dtype=np.int64), "k")).tolist()
    [0, 1, 2]
    """
    if t.data_location == TensorProto.EXTERNAL or len(t.external_data):
        raise ModelError(
            f"{where or f'tensor {t.name!r}'} refers to external data; external tensor data is not allowed"
        )
    return onnx.numpy_helper.to_array(t)


def check_no_external_data(model: ModelProto) -> None:
    """Raise ModelError naming the first tensor that points at external data.

    # NOTE: this reads only `data_location` and the `external_data` key/value list, never the
    # referenced file. A tensor with either set is rejected, whatever the location says.
    Type-confused attributes are refused first (check_attribute_types): every later reader
    trusts the declared type.
    """
    check_attribute_types(model)
    for where, t in iter_tensors(model):
        if t.data_location == TensorProto.EXTERNAL or len(t.external_data):
            location = next((e.value for e in t.external_data if e.key == "location"), "?")
            raise ModelError(
                f"{where} refers to external data ({location!r}); "
                "external tensor data is not allowed, embed the weights in the .onnx file"
            )


def tensor_nbytes(t: TensorProto) -> int:
    """Bytes that `t` should hold as raw_data: prod(dims) x itemsize (sub-byte types packed)."""
    n = math.prod(t.dims)
    if t.data_type in _PACKED_BITS:
        return (n * _PACKED_BITS[t.data_type] + 7) // 8
    return n * np.dtype(onnx.helper.tensor_dtype_to_np_dtype(t.data_type)).itemsize


def _typed_count(t: TensorProto) -> tuple[str, int, int]:
    """(field name, values present, values expected) for a tensor stored in a typed field."""
    field = onnx.helper.tensor_dtype_to_field(t.data_type)
    n = math.prod(t.dims)
    if t.data_type in (TensorProto.COMPLEX64, TensorProto.COMPLEX128):
        n *= 2
    elif t.data_type in _PACKED_BITS:
        n = (n * _PACKED_BITS[t.data_type] + 7) // 8  # one packed byte per int32_data entry
    return field, len(getattr(t, field)), n


def check_tensor(where: str, t: TensorProto) -> None:
    """Dims non-negative, known data type, and stored length matching dims."""
    if any(d < 0 for d in t.dims):
        raise ModelError(f"{where} has a negative dimension {list(t.dims)}")
    if t.data_type == TensorProto.UNDEFINED or t.data_type not in TensorProto.DataType.values():
        raise ModelError(f"{where} has an unknown data type {t.data_type}")
    if t.data_type == TensorProto.STRING:
        return
    if t.HasField("raw_data"):
        expected, got = tensor_nbytes(t), len(t.raw_data)
        if got != expected:
            raise ModelError(f"{where}: raw_data has {got} bytes, dims {list(t.dims)} need {expected}")
        return
    field, got, expected = _typed_count(t)
    if got != expected:
        raise ModelError(f"{where}: {field} has {got} values, dims {list(t.dims)} need {expected}")


def check_tensor_sizes(model: ModelProto) -> None:
    """Run `check_tensor` on every tensor in the model (see `iter_tensors`)."""
    for where, t in iter_tensors(model):
        check_tensor(where, t)


# ---- memory bombs -----------------------------------------------------------------------

_SMALL = 4096  # constants with at most this many elements are decoded for the bomb check


def _small_constants(scope: Scope) -> dict[str, np.ndarray]:
    """Small initializers and Constant outputs of one graph or function body, decoded (shape-like inputs)."""
    out = {}
    for t in scope.initializers:
        if math.prod(t.dims) <= _SMALL:
            out[t.name] = inline_array(t, f"initializer '{t.name}'")
    for node in scope.nodes:
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
            for attr in node.attribute:
                if attr.name == "value" and attr.type == AttributeProto.TENSOR and math.prod(attr.t.dims) <= _SMALL:
                    out[node.output[0]] = inline_array(attr.t, f"node '{node_label(node)}' (Constant)")
        elif node.domain in ("", "ai.onnx") and node.input and all(i in out for i in node.input if i):
            try:
                value = _fold_shape_op(node, [out[i] if i else None for i in node.input])
            except Exception:  # noqa: BLE001 - malformed shape ops are onnxruntime's to reject, not a crash here
                value = None
            if value is not None and value.size <= _SMALL:
                out[node.output[0]] = value
    return out


def _fold_shape_op(node: onnx.NodeProto, ins: list) -> np.ndarray | None:
    """Evaluate the few ops that build shape tensors from constants (Concat of dims, ...).

    # NOTE: without this, `ConstantOfShape(Concat([50000], [50000]))` hides its size. Inputs
    # are already small (<= _SMALL elements), so this never allocates much.
    """
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    op = node.op_type
    if op == "Identity":
        return ins[0]
    if op == "Cast":
        return ins[0].astype(onnx.helper.tensor_dtype_to_np_dtype(attrs["to"]))
    if op == "Concat":
        return np.concatenate([np.atleast_1d(x) for x in ins], axis=attrs.get("axis", 0))
    if op in ("Unsqueeze", "Squeeze", "Reshape", "Flatten"):
        return np.asarray(ins[0]).reshape(-1)  # only the values matter for the size estimate
    if op in ("Mul", "Add") and len(ins) == 2:
        return (np.multiply if op == "Mul" else np.add)(ins[0], ins[1])
    return None


def _value_itemsize(node: onnx.NodeProto) -> int:
    for attr in node.attribute:
        if attr.name == "value" and attr.type == AttributeProto.TENSOR:
            return max(1, tensor_nbytes(attr.t) // max(1, math.prod(attr.t.dims)))
    return 4


def _count(shape) -> int:
    return math.prod(max(int(d), 1) for d in np.asarray(shape).ravel())


def estimate_output_bytes(node: onnx.NodeProto, consts: dict[str, np.ndarray]) -> int | None:
    """Lower bound of the bytes a shape-creating node outputs, when its inputs are constant.

    ConstantOfShape: prod(shape) x itemsize(value)     Expand: prod(shape) x 4 (lower bound)
    Tile: numel(input) x prod(repeats) x 4             Range: ceil((limit - start) / delta) x 4
    Returns None when the inputs are not constant (the size is unknown statically).
    """
    ins = [consts.get(name) if name else None for name in node.input]
    op = node.op_type
    if op == "ConstantOfShape" and ins and ins[0] is not None:
        return _count(ins[0]) * _value_itemsize(node)
    if op == "Expand" and len(ins) > 1 and ins[1] is not None:
        return _count(ins[1]) * 4
    if op == "Tile" and len(ins) > 1 and ins[1] is not None:
        base = ins[0].size if ins[0] is not None else 1
        return base * _count(ins[1]) * 4
    if op == "Range" and len(ins) == 3 and all(x is not None for x in ins):
        start, limit, delta = (float(np.asarray(x).ravel()[0]) for x in ins)
        if delta == 0 or not all(map(math.isfinite, (start, limit, delta))):
            return None
        return max(0, math.ceil((limit - start) / delta)) * 4
    return None


def check_memory_bombs(model: ModelProto, cap_bytes: int = BOMB_CAP_BYTES) -> None:
    """Reject ConstantOfShape/Expand/Tile/Range whose constant inputs ask for > cap_bytes.

    # NOTE: onnxruntime folds constant subgraphs while *creating* the session, so a 447-byte
    # model can allocate gigabytes before any inference. Shapes computed at run time are not
    # caught here; `make_session` also caps onnxruntime's constant folding.
    """
    for scope in iter_scopes(model):
        consts = _small_constants(scope)
        for node in scope.nodes:
            size = estimate_output_bytes(node, consts)
            if size is not None and size > cap_bytes:
                raise ModelError(
                    f"node '{node_label(node)}' ({node.op_type}) would create a "
                    f"{size / 2**30:.1f} GiB tensor (limit {cap_bytes / 2**30:.1f} GiB); refusing a memory bomb"
                )


def parse_model(data: bytes) -> ModelProto:
    """Parse protobuf bytes; anything that is not a plausible ModelProto is a ModelError.

    # NOTE: protobuf happily parses many byte strings (the empty string is an empty model),
    # so a successful parse still needs a graph, an IR version and an opset import.
    """
    try:
        model = onnx.load_model_from_string(data)
    except Exception as e:  # noqa: BLE001 - DecodeError, RecursionError (nesting > 100), anything the parser raises
        raise ModelError(f"not an ONNX model: cannot parse it ({type(e).__name__})") from None
    if not model.HasField("graph") or model.ir_version <= 0 or not model.opset_import:
        raise ModelError("not an ONNX model: no graph, IR version or opset import found")
    return model
