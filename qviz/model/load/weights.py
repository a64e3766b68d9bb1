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

Only the top-level graph is searched (weights inside If/Loop bodies are not layers here).
Sparse initializers are not decoded (they are still checked for external data by `safety`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

import numpy as np
import onnx
from onnx import AttributeProto, GraphProto, TensorProto

from qviz.model.safety import tensor_nbytes

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
    else (typed fields, bfloat16, float8, int4) goes through `onnx.numpy_helper.to_array`.
    """
    dtype = _DIRECT.get(t.data_type)
    if dtype is not None and t.HasField("raw_data"):
        x = np.frombuffer(t.raw_data, dtype=np.dtype(dtype).newbyteorder("<")).reshape(tuple(t.dims))
    else:
        x = onnx.numpy_helper.to_array(t)
        x.flags.writeable = False
    return x


def _scalar_attr_array(attr: AttributeProto) -> np.ndarray:
    value = onnx.helper.get_attribute_value(attr)
    x = np.asarray(value, dtype=_SCALAR_ATTRS[attr.name])
    x.flags.writeable = False
    return x


class WeightStore(Mapping):
    """name -> np.ndarray for a graph's initializers and Constant-node outputs (lazy).

    Constant nodes count when they carry `value` or `value_float(s)`/`value_int(s)`; the
    weight's name is the Constant's output name. `kind(name)` says which.
    """

    def __init__(self, graph: GraphProto):
        self._sources: dict[str, TensorProto | AttributeProto] = {}
        self._kinds: dict[str, str] = {}
        for t in graph.initializer:
            self._sources[t.name] = t
            self._kinds[t.name] = "initializer"
        for node in graph.node:
            if node.op_type == "Constant" and node.domain in ("", "ai.onnx") and node.output:
                self._add_constant(node)

    def _add_constant(self, node: onnx.NodeProto) -> None:
        for attr in node.attribute:
            if attr.name == "value" or attr.name in _SCALAR_ATTRS:
                self._sources[node.output[0]] = attr.t if attr.name == "value" else attr
                self._kinds[node.output[0]] = "constant"

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
