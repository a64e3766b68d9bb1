"""Finding a model's weights: initializers and Constant-node tensors, decoded on demand.

    >>> import onnx
    >>> from qviz.samples import load_sample
    >>> model = onnx.load_model_from_string(load_sample("digits_cnn").model_bytes)
    >>> store = WeightStore(model.graph)
    >>> store["features.0.weight"].shape        # decoded now; read-only view of the raw bytes
    (16, 1, 3, 3)
    >>> store.nbytes("features.0.weight")       # no decoding: 144 float32
    576

# NOTE: `WeightStore` does not cache. Each `store[name]` decodes again (one copy of the bytes,
# because protobuf hands out a fresh `bytes` for raw_data). That keeps peak memory at about
# the size of the largest tensor instead of all weights at once; hold the array if you need
# it twice. Arrays are read-only: build a new array to change weights.

Subgraphs (If branches, Loop/Scan bodies) are searched too: their weights are keyed by name, or
by `graph label/name` when an earlier graph already holds that name (`key(name, path)` says).
Sparse initializers are not decoded (they are still checked for external data by `safety`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

import numpy as np
import onnx
from onnx import AttributeProto, GraphProto, TensorProto

from qviz.model.load.subgraphs import GraphPath, iter_subgraphs
from qviz.model.safety import inline_array, tensor_nbytes

# ONNX data types whose raw_data is exactly numpy's little-endian layout.
_DIRECT: dict[int, type[np.generic]] = {
    TensorProto.FLOAT: np.float32,
    TensorProto.DOUBLE: np.float64,
    TensorProto.FLOAT16: np.float16,
    TensorProto.INT8: np.int8,
    TensorProto.UINT8: np.uint8,
    TensorProto.INT16: np.int16,
    TensorProto.UINT16: np.uint16,
    TensorProto.INT32: np.int32,
    TensorProto.UINT32: np.uint32,
    TensorProto.INT64: np.int64,
    TensorProto.UINT64: np.uint64,
    TensorProto.BOOL: np.bool_,
}

_SCALAR_ATTRS = {  # Constant's non-tensor value attributes -> numpy dtype
    "value_float": np.float32,
    "value_floats": np.float32,
    "value_int": np.int64,
    "value_ints": np.int64,
}


def tensor_to_array(t: TensorProto) -> np.ndarray:
    """Decode a TensorProto into a read-only numpy array.

    raw_data of plain numeric types is wrapped with `np.frombuffer` (no second copy); anything
    else (typed fields, bfloat16, float8, int4) goes through `safety.inline_array` (onnx's
    helper, refusing external data).
    """
    dtype = _DIRECT.get(t.data_type)
    if dtype is not None and t.HasField("raw_data"):
        x = np.frombuffer(t.raw_data, dtype=np.dtype(dtype).newbyteorder("<")).reshape(tuple(t.dims))
    else:
        x = inline_array(t)
        x.flags.writeable = False
    return x


def _scalar_attr_array(attr: AttributeProto) -> np.ndarray:
    value = onnx.helper.get_attribute_value(attr)
    x = np.asarray(value, dtype=_SCALAR_ATTRS[attr.name])
    x.flags.writeable = False
    return x


class WeightStore(Mapping):
    """name -> np.ndarray for a graph's initializers and Constant-node outputs, subgraphs included (lazy).

    Constant nodes count when they carry `value` or `value_float(s)`/`value_int(s)`; the
    weight's name is the Constant's output name. `kind(name)` says which.
    """

    def __init__(self, graph: GraphProto):
        self._sources: dict[str, TensorProto | AttributeProto] = {}
        self._kinds: dict[str, str] = {}
        self._scoped: dict[tuple[GraphPath, str], str] = {}  # (graph path, name in that graph) -> key
        self._add_graph(graph, (), "")
        for sub in iter_subgraphs(graph):
            self._add_graph(sub.graph, sub.path, sub.label)

    def _add_graph(self, graph: GraphProto, path: GraphPath, label: str) -> None:
        for t in graph.initializer:
            self._add(path, label, t.name, t, "initializer")
        for node in graph.node:
            if node.op_type == "Constant" and node.domain in ("", "ai.onnx") and node.output:
                for attr in node.attribute:
                    if attr.name == "value" or attr.name in _SCALAR_ATTRS:
                        self._add(path, label, node.output[0], attr.t if attr.name == "value" else attr, "constant")

    def _add(self, path: GraphPath, label: str, name: str, src, kind: str) -> None:
        """Main-graph weights are keyed by their name; a subgraph's too unless the key is taken
        (sibling If branches may reuse a name), then by `label/name` (then `~2`, `~3`...)."""
        key = name
        if path and key in self._sources:
            key, base, n = f"{label}/{name}", f"{label}/{name}", 1
            while key in self._sources:
                n += 1
                key = f"{base}~{n}"
        self._sources[key] = src
        self._kinds[key] = kind
        self._scoped[(path, name)] = key

    def key(self, name: str, path: GraphPath = ()) -> str | None:
        """The key of the weight called `name` in the graph at `path` (subgraphs.py), or None
        when that graph itself defines no such weight (it may be an outer-scope name)."""
        return self._scoped.get((path, name))

    def __getitem__(self, name: str) -> np.ndarray:
        src = self._sources[name]
        if isinstance(src, TensorProto):
            return tensor_to_array(src)
        return _scalar_attr_array(src)

    def __iter__(self) -> Iterator[str]:
        return iter(self._sources)

    def __len__(self) -> int:
        return len(self._sources)

    def kind(self, name: str) -> str:
        """'initializer' or 'constant' (a Constant node's output)."""
        return self._kinds[name]

    def shape(self, name: str) -> tuple[int, ...]:
        src = self._sources[name]
        if isinstance(src, TensorProto):
            return tuple(src.dims)
        return np.shape(onnx.helper.get_attribute_value(src))

    def size(self, name: str) -> int:
        """Number of elements, without decoding."""
        return math.prod(self.shape(name))

    def dtype(self, name: str) -> str:
        """numpy-style dtype name ('float32', 'int8', 'int4', ...), without decoding."""
        src = self._sources[name]
        if isinstance(src, TensorProto):
            return onnx.helper.tensor_dtype_to_np_dtype(src.data_type).name
        return np.dtype(_SCALAR_ATTRS[src.name]).name

    def nbytes(self, name: str) -> int:
        src = self._sources[name]
        if isinstance(src, TensorProto):
            return tensor_nbytes(src)
        return self.size(name) * np.dtype(_SCALAR_ATTRS[src.name]).itemsize

    def proto(self, name: str) -> TensorProto | AttributeProto:
        """The stored proto (TensorProto, or the Constant's scalar AttributeProto)."""
        return self._sources[name]


def as_numeric(x: np.ndarray) -> np.ndarray:
    """x itself if numpy computes on it natively, else a float32 copy (bfloat16, float8, int4).

    # NOTE: ml_dtypes types (dtype.kind 'V') reduce wrongly or to NaN in some numpy functions.
    """
    return x.astype(np.float32) if x.dtype.kind == "V" else x


def count_nonfinite(x: np.ndarray, chunk: int = 1 << 22) -> int:
    """Number of NaN/Inf values, in chunks so a huge tensor never gets a full bool mask."""
    if "float" not in x.dtype.name or x.size == 0:  # float16/32/64, bfloat16, float8 (ml_dtypes)
        return 0
    flat = x.reshape(-1)
    finite = sum(
        int(np.count_nonzero(np.isfinite(as_numeric(flat[i : i + chunk])))) for i in range(0, flat.size, chunk)
    )
    return flat.size - finite
