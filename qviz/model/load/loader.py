"""load_model: bytes or a path in, a validated LoadedModel out, or one ModelError.

    >>> from qviz.samples import load_sample
    >>> m = load_model(load_sample("digits_cnn").model_bytes)   # or load_model(Path("net.onnx"))
    >>> m.opset, m.param_count, m.inputs[0]
    (21, 40394, TensorInfo(name='input', dtype='float32', shape=('batch', 1, 8, 8)))

Order of checks (every failure is a ModelError with a short message):
  1. size cap (max_bytes, default QVIZ_MAX_MODEL_MB or 200 MiB) and empty input; a path is read
     as bytes, its name never selects the parser; a path's external tensor data is read from
     its folder, confined to it, and put inline (external_data.py) - bytes keep refusing it in 3
  2. protobuf parse with `onnx.load_model_from_string` (DecodeError -> "not an ONNX model")
  3. no external data anywhere, stored lengths match dims, no constant-shape memory bomb
  4. IR version and opsets within what onnxruntime 1.31 runs; every node's domain allowed
  5. every graph output is produced by a node, an input or an initializer
  6. normalization (normalize.py: Constant/ConstantOfShape weights folded into initializers,
     opset upgraded to 21, -1 dims named); a changed model passes 3-5 again. Uploads are
     normalized in a worker and the server loads the result with `normalized=` (no
     onnxruntime in the server). `sha256` and `file_size` stay those of the file as given;
     `model_bytes`, `model` and `opset` are the normalized model's, which every session uses.
Only then are weights decoded (lazily, see `weights.WeightStore`).

Allowed domains: the ONNX ones ("", "ai.onnx", "ai.onnx.ml") and "com.microsoft" (onnxruntime
implements it on the CPU: MatMulNBits, Attention, QLinear* helpers), plus the domains of
functions the model itself defines. Any other domain is rejected naming the node.
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import onnx
from onnx import ModelProto

from qviz.model import safety
from qviz.model.load.external_data import with_external_data
from qviz.model.load.normalize import Normalization
from qviz.model.load.normalize import normalize as normalize_model
from qviz.model.load.weights import WeightStore, count_nonfinite
from qviz.model.runtime.executor import LOCAL, Executor
from qviz.model.safety import ModelError, node_label

DEFAULT_MAX_BYTES = 200 * 2**20
MAX_MODEL_ENV = "QVIZ_MAX_MODEL_MB"  # the cap in MiB, for the app and its workers (docs/deployment.md)
RAISE_THE_CAP = (
    f" (raise it with --max-model-mb; in the app, the server's {MAX_MODEL_ENV} environment variable"
    " together with Streamlit's server.maxUploadSize: docs/deployment.md)"
)

# What onnxruntime 1.31 accepts (measured: IR 14 and ai.onnx opset 27 are refused).
MIN_IR_VERSION, MAX_IR_VERSION = 3, 13
MAX_OPSET = {"": 26, "ai.onnx": 26, "ai.onnx.ml": 5, "com.microsoft": 1}
ONNX_DOMAINS = ("", "ai.onnx", "ai.onnx.ml")


@dataclass(frozen=True)
class TensorInfo:
    """A graph input/output: symbolic dims are strings ('N'), unknown dims are '?'."""

    name: str
    dtype: str
    shape: tuple[int | str, ...] | None


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A validated model. `weights` decodes on access (see WeightStore); `model` is shared,
    do not mutate it — copy it (`onnx.ModelProto().CopyFrom(...)`) to build a new model."""

    model: ModelProto
    model_bytes: bytes
    sha256: str
    file_size: int
    ir_version: int
    opset: int
    opsets: dict[str, int]
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    op_counts: dict[str, int]
    param_count: int
    weights: WeightStore
    nonfinite_weights: dict[str, int] = field(default_factory=dict)
    empty_weights: tuple[str, ...] = ()
    # What loading changed (normalize.py: notes, the opset as given); sha256/file_size are the file's.
    normalization: Normalization | None = None
    # Where its sessions run (executor.py): this process, or an isolated worker for uploads.
    executor: Executor = field(default=LOCAL, repr=False)

    def isolated(self, executor: Executor) -> LoadedModel:
        """This model with every session made through `executor` (qviz.worker.host.ModelHost)."""
        return dataclasses.replace(self, executor=executor)

    @property
    def notes(self) -> list[str]:
        """What normalization changed on load, one plain-language line each (normalize.py)."""
        return list(self.normalization.notes) if self.normalization else []

    @property
    def warnings(self) -> list[str]:
        """Plain-language notes about weights that loaded but look wrong."""
        notes = [f"weight '{n}' has {c} NaN/Inf values" for n, c in self.nonfinite_weights.items()]
        return notes + [f"weight '{n}' is empty (a zero-size dimension)" for n in self.empty_weights]

    def summary(self) -> dict:
        """JSON-friendly summary (no arrays)."""
        return {
            "sha256": self.sha256,
            "file_size": self.file_size,
            "ir_version": self.ir_version,
            "opset": self.opset,
            "opsets": self.opsets,
            "param_count": self.param_count,
            "inputs": [_info_dict(t) for t in self.inputs],
            "outputs": [_info_dict(t) for t in self.outputs],
            "op_counts": self.op_counts,
            "warnings": self.warnings,
            "normalization": self.normalization.to_dict() if self.normalization else None,
        }


def _info_dict(t: TensorInfo) -> dict:
    return {"name": t.name, "dtype": t.dtype, "shape": None if t.shape is None else list(t.shape)}


def load_model(
    source: bytes | bytearray | memoryview | str | Path,
    *,
    max_bytes: int | None = None,
    normalize: bool = True,
    normalized: Normalization | None = None,
) -> LoadedModel:
    """Load, validate and normalize an ONNX model from bytes or a file path; raise ModelError
    if unsafe/invalid. `normalized`: the record of a normalization a worker already did (its
    bytes are `source`); with it, or with normalize=False (bytes qviz built from a loaded
    model), the bytes are used as they are and onnxruntime does not run here."""
    max_bytes = max_model_bytes() if max_bytes is None else max_bytes
    data = read_source(source, max_bytes)
    model = safety.parse_model(data)
    validate_model(model)
    if normalized is None and normalize:
        model, data, normalized = normalize_model(model, data, max_bytes=max_bytes)
        if normalized.notes:
            validate_model(model)  # what onnxruntime wrote passes the same checks
    return _describe(model, data, normalized or Normalization.of(model, data))


def max_model_bytes(environ=None) -> int:
    """The model size cap: QVIZ_MAX_MODEL_MB (MiB) when set, else DEFAULT_MAX_BYTES (200 MiB)."""
    text = (os.environ if environ is None else environ).get(MAX_MODEL_ENV)
    if text is None:
        return DEFAULT_MAX_BYTES
    if not text.strip().isdigit() or int(text) < 1:
        raise ModelError(f"{MAX_MODEL_ENV} must be a whole number of MiB (1 or more); got {text[:40]!r}")
    return int(text) * 2**20


def read_source(source, max_bytes: int | None = None) -> bytes:
    """The raw bytes of `source`, size-capped. A str is a path (never model text); a path's
    external tensor data is read from its folder and put inline (external_data.py); bytes with
    external references are refused later, by the checks."""
    max_bytes = max_model_bytes() if max_bytes is None else max_bytes
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, Path)):
        data = _read_file(Path(source), max_bytes)
        data = with_external_data(data, Path(source).parent, max_bytes) if data else data
    else:
        raise ModelError(f"model source must be bytes or a file path; got {type(source).__name__}")
    if not data:
        raise ModelError("not an ONNX model: the file is empty")
    if len(data) > max_bytes:
        raise ModelError(
            f"model is {len(data) / 2**20:.1f} MiB; the limit is {max_bytes / 2**20:.0f} MiB{RAISE_THE_CAP}"
        )
    return data


def _read_file(path: Path, max_bytes: int) -> bytes:
    try:
        if path.stat().st_size > max_bytes:
            raise ModelError(
                f"model is {path.stat().st_size / 2**20:.1f} MiB; the limit is {max_bytes / 2**20:.0f} MiB{RAISE_THE_CAP}"
            )
        return path.read_bytes()
    except OSError as e:
        raise ModelError(f"cannot read {str(path)!r}: {e.strerror or e}") from None


def validate_model(model: ModelProto) -> None:
    """All static checks, in an order where no check reads data an earlier one did not vet."""
    safety.check_no_external_data(model)
    safety.check_tensor_sizes(model)
    check_versions(model)
    check_domains(model)
    check_outputs_produced(model)
    safety.check_memory_bombs(model)


def check_versions(model: ModelProto) -> None:
    """IR version and every ONNX/com.microsoft opset within what onnxruntime 1.31 runs."""
    if not MIN_IR_VERSION <= model.ir_version <= MAX_IR_VERSION:
        raise ModelError(f"IR version {model.ir_version} is not supported (allowed {MIN_IR_VERSION}..{MAX_IR_VERSION})")
    opsets = {op.domain: op.version for op in model.opset_import}
    if "" not in opsets and "ai.onnx" not in opsets:
        raise ModelError("the model imports no ai.onnx opset")
    for domain, version in opsets.items():
        top = MAX_OPSET.get(domain)
        if top is not None and not 1 <= version <= top:
            raise ModelError(f"opset {version} of domain '{domain or 'ai.onnx'}' is not supported (allowed 1..{top})")


def check_domains(model: ModelProto) -> None:
    """Every node (subgraphs and functions included) uses an allowed domain and a known op."""
    local = {(fn.domain, fn.name) for fn in model.functions}
    nodes = list(safety.iter_nodes(model.graph)) + [n for fn in model.functions for n in fn.node]
    for node in nodes:
        key = (node.domain, node.op_type)
        if key in local or node.domain == "com.microsoft":
            continue
        if node.domain not in ONNX_DOMAINS:
            raise ModelError(
                f"node '{node_label(node)}' uses op {node.op_type} from custom domain '{node.domain}'; "
                "only ai.onnx, ai.onnx.ml and com.microsoft ops are supported"
            )
        if not onnx.defs.has(node.op_type, "" if node.domain == "ai.onnx" else node.domain):
            raise ModelError(f"node '{node_label(node)}' uses unknown op {node.op_type}")


def check_outputs_produced(model: ModelProto) -> None:
    """Every graph output is a graph input, an initializer or some node's output."""
    g = model.graph
    known = {i.name for i in g.input} | {t.name for t in g.initializer}
    known |= {t.values.name for t in g.sparse_initializer}
    known |= {o for n in g.node for o in n.output}
    for out in g.output:
        if out.name not in known:
            raise ModelError(f"graph output '{out.name}' is not produced by any node, input or initializer")
    if not g.output:
        raise ModelError("the graph has no outputs")


def tensor_info(value: onnx.ValueInfoProto) -> TensorInfo:
    """Name, dtype and shape of a graph input/output; dim_param names kept as strings."""
    tt = value.type.tensor_type
    dtype = onnx.helper.tensor_dtype_to_np_dtype(tt.elem_type).name if tt.elem_type else "?"
    if not tt.HasField("shape"):
        return TensorInfo(value.name, dtype, None)
    dims = tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in tt.shape.dim)
    return TensorInfo(value.name, dtype, dims)


def _op_key(node: onnx.NodeProto) -> str:
    return node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}::{node.op_type}"


def _describe(model: ModelProto, data: bytes, normalization: Normalization) -> LoadedModel:
    weights = WeightStore(model.graph)
    nonfinite = {}
    for name in weights:
        if "float" in weights.dtype(name):
            count = count_nonfinite(weights[name])
            if count:
                nonfinite[name] = count
    initializer_names = {t.name for t in model.graph.initializer}
    inputs = tuple(tensor_info(v) for v in model.graph.input if v.name not in initializer_names)
    opsets = {op.domain or "ai.onnx": op.version for op in model.opset_import}
    return LoadedModel(
        model=model,
        model_bytes=data,
        sha256=normalization.sha256,
        file_size=normalization.file_size,
        ir_version=model.ir_version,
        opset=opsets.get("ai.onnx", 0),
        opsets=opsets,
        inputs=inputs,
        outputs=tuple(tensor_info(v) for v in model.graph.output),
        op_counts=dict(Counter(_op_key(n) for n in model.graph.node)),
        param_count=sum(weights.size(n) for n in weights),
        weights=weights,
        nonfinite_weights=nonfinite,
        empty_weights=tuple(n for n in weights if weights.size(n) == 0),
        normalization=normalization,
    )
