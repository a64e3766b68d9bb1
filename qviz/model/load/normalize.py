"""normalize: models as people ship them, brought into the one form the rest of qviz works on.

    >>> import numpy as np, onnx
    >>> from onnx import helper, numpy_helper
    >>> w = helper.make_node("Constant", [], ["w"], value=numpy_helper.from_array(np.ones((3, 2), np.float32)))
    >>> fc = helper.make_node("MatMul", ["x", "w"], ["y"], name="fc")
    >>> x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [-1, 3])   # Paddle2ONNX's batch
    >>> y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [-1, 2])
    >>> model = helper.make_model(helper.make_graph([w, fc], "g", [x], [y]),
    ...                           opset_imports=[helper.make_opsetid("", 11)], ir_version=6)
    >>> new, data, done = normalize(model, model.SerializeToString())
    >>> [n.op_type for n in new.graph.node], [t.name for t in new.graph.initializer], done.opset
    (['MatMul'], ['w'], 11)
    >>> for note in done.notes:
    ...     print(note)
    dims written as -1 or 0 are symbolic names now (data of any size fits): x ['batch', 3], y ['batch', 2]
    opset 11 upgraded to 21 with onnx.version_converter (activation quantization needs 11, deployment 13, int4 and group-wise weights 21)
    IR version 6 raised to 10 (what opset 21 requires)
    1 constant-only node (Constant x1) folded by onnxruntime into 1 initializer

What it does, in this order, each step only when needed and each leaving a note:
  1. input/output dims written as -1 or 0 (Paddle2ONNX) become symbolic names: "batch" for
     the first axis, "<tensor>_<axis>" for the others (value_info: -1 only; a 0 there can be a
     real empty dim), so data of any batch size fits and generated inputs can be made;
  2. ai.onnx opsets below 21 are upgraded to 21 with `onnx.version_converter` (to 13 when 21
     fails and the model is older than 13); the IR version is raised to what the opset needs.
     Why always 21: activation quantization needs opset 11 (Round), the deployed model 13
     (per-axis DequantizeLinear), int4 and group-wise weights 21, and the simulated and the
     deployed model must be one graph, so the upgrade cannot wait for a config that needs it.
     Measured on the 8 real models (opsets 9, 15, 17, 18): the converter handled every one
     and onnxruntime's outputs were bit-identical. The upgraded model must load in
     onnxruntime, else the original opset is kept with a note saying what will not work.
     Model-local functions keep their bodies and opsets (the converter drops them: put back);
  3. graph inputs that are also initializers (older exporters list every weight as an input)
     are dropped from the inputs: they are constants, and onnxruntime folds only constants
     (after step 2: the converter wants an IR 3 model's weights listed as inputs);
  4. constant-only nodes of the main graph are folded into initializers (see below).
The result is a new ModelProto (the input is never changed) and its bytes, which every
session of the loaded model then uses; `Normalization` records the original's SHA-256, size
and opset and the notes, for `qviz inspect` and the Model page. A model that needs none of
this comes back as the same object and the same bytes.

Folding. A node is constant-only when every input is an initializer or the output of another
constant-only node: Constant nodes (every Paddle2ONNX export, many TF exports), ConstantOfShape
weights (ONNX's "light" zoo), Unsqueeze/Transpose/Reshape of weights. Not folded:
DequantizeLinear/QuantizeLinear (a QDQ model stays quantized as shipped), random ops, ops of
other domains, nodes holding subgraphs, sparse Constants, and Identity/Cast directly over an
initializer or a Constant (the layer table follows them; folding would copy a shared weight
or lose its fp16 storage).
Subgraphs (If/Loop bodies) and model-local functions are left as they are.
onnxruntime computes the values (`ORT_ENABLE_BASIC` writing `optimized_model_filepath`, its
folding capped by qviz.model.runtime.session), but its graph is NOT taken: at the basic level
it also fuses Conv+BatchNormalization and Conv+Add (renaming the weight
`ConvBnFusion_W_<name>` and dropping the BatchNormalization), removes Identity and Dropout,
merges duplicate nodes, and even with every optimizer but ConstantFolding disabled its saved
graph still inlines model-local functions (`_inlfunc_...` nodes), expands HardSwish into
HardSigmoid + Mul and duplicates shared DequantizeLinear nodes (all measured with onnxruntime
1.31). So the original graph is kept and only changed where it folds: each folded node is
dropped and its output becomes an initializer of the SAME name, holding onnxruntime's value.
Node names and order otherwise stay, so layer ids (node name, else weight name) are those of
the original graph. Every other basic optimizer is disabled (`OTHER_BASIC_OPTIMIZERS`) so that
none of them consumes a folded value before it is written; a node whose value onnxruntime did
not write (too big for the folding cap, an op it cannot fold) simply stays.
The folded model must fit in `max_bytes` like the file itself: a 4 kB model whose
ConstantOfShape weights make 244 MB (light_bvlc_alexnet) is refused with a ModelError before
onnxruntime allocates them when onnx shape inference can size them, and after otherwise.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import onnx
import onnxruntime as ort
from onnx import AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto

from qviz.model import safety
from qviz.model.load.shapes import infer_shapes
from qviz.model.runtime.session import make_session, session_options
from qviz.model.safety import ModelError

TARGET_OPSET = 21
FALLBACK_OPSET = 13  # deployable (per-axis DequantizeLinear), when the converter cannot reach 21
WHY_OPSET = "activation quantization needs 11, deployment 13, int4 and group-wise weights 21"
ONNX_DOMAINS = ("", "ai.onnx")

NOT_FOLDED = (
    "DequantizeLinear",
    "QuantizeLinear",
    "RandomNormal",
    "RandomNormalLike",
    "RandomUniform",
    "RandomUniformLike",
    "Multinomial",
    "Bernoulli",
)
PASS_THROUGH = ("Identity", "Cast")

# Every graph transformer onnxruntime 1.31 applies at ORT_ENABLE_BASIC except ConstantFolding
# (read from its verbose log: "Applying graph transformer X"; tests/model/test_normalize.py
# checks that only ConstantFolding is left). Unknown names are ignored by onnxruntime.
OTHER_BASIC_OPTIMIZERS = (
    "Level1_RuleBasedTransformer",  # EliminateIdentity, EliminateDropout, ConvBNFusion, ConvAddFusion, ...
    "CommonSubexpressionElimination",
    "ConstantSharing",
    "DoubleQDQPairsRemover",
    "EnsureUniqueDQForNodeUnit",
    "FreeDimensionOverrideTransformer",
    "GeluFusionL1",
    "LayerNormFusionL1",
    "MatMulAddFusion",
    "QDQPropagationTransformer",
    "ReshapeFusion",
    "SliceConcatToSpaceToDepthFusion",
    "TransposeOptimizer",
    "WeightBiasQuantization",
    "WhereDummyDq",
)


@dataclass(frozen=True)
class Normalization:
    """What `normalize` did: the original file's SHA-256, size and ai.onnx opset, and one
    plain-language note per change (empty: the model was used as given)."""

    sha256: str
    file_size: int
    opset: int
    notes: tuple[str, ...] = ()

    @classmethod
    def of(cls, model: ModelProto, data: bytes, notes=()) -> Normalization:
        return cls(hashlib.sha256(data).hexdigest(), len(data), onnx_opset(model), tuple(notes))

    def to_dict(self) -> dict:
        """Plain data (it travels from a worker to the server: qviz.worker.tasks)."""
        return {"sha256": self.sha256, "file_size": self.file_size, "opset": self.opset, "notes": list(self.notes)}

    @classmethod
    def from_dict(cls, d: dict) -> Normalization:
        """The record `to_dict` made (in a worker), back."""
        return cls(str(d["sha256"]), int(d["file_size"]), int(d["opset"]), tuple(str(n) for n in d["notes"]))


def onnx_opset(model: ModelProto) -> int:
    """The model's ai.onnx opset version (0 when it imports none)."""
    return next((op.version for op in model.opset_import if op.domain in ONNX_DOMAINS), 0)


def normalize(
    model: ModelProto, data: bytes, *, max_bytes: int = 200 * 2**20
) -> tuple[ModelProto, bytes, Normalization]:
    """(normalized ModelProto, its bytes, Normalization) for a parsed and validated `model`
    whose file is `data` (module doc); ModelError when the folded model exceeds `max_bytes`."""
    original = Normalization.of(model, data)
    new = ModelProto()
    new.CopyFrom(model)
    notes: list[str] = []
    name_dynamic_dims(new.graph, notes)
    new = upgrade_opset(new, notes)
    drop_initializer_inputs(new.graph, notes)
    new = fold_constants(new, notes, max_bytes)
    if not notes:
        return model, data, original
    out = new.SerializeToString()
    if len(out) > max_bytes:
        raise ModelError(_too_big(len(out), max_bytes))
    return new, out, Normalization(original.sha256, original.file_size, original.opset, tuple(notes))


def _too_big(size: float, max_bytes: int) -> str:
    return (
        f"with its constant-only nodes folded into weights the model is {size / 2**20:.1f} MiB; "
        f"the limit is {max_bytes / 2**20:.0f} MiB (raise it with --max-model-mb or QVIZ_MAX_MODEL_MB)"
    )


# ---- 1, 3: inputs -------------------------------------------------------------------------


def drop_initializer_inputs(graph: GraphProto, notes: list[str]) -> None:
    """Graph inputs that are also initializers stop being inputs (module doc, step 3)."""
    names = {t.name for t in graph.initializer}
    inputs = [v for v in graph.input if v.name not in names]
    if len(inputs) < len(graph.input):
        n = len(graph.input) - len(inputs)
        del graph.input[:]
        graph.input.extend(inputs)
        notes.append(f"{n} initializer(s) were also listed as graph inputs (older exporters do this): constants now")


def name_dynamic_dims(graph: GraphProto, notes: list[str]) -> None:
    """-1 and 0 dims of inputs/outputs (-1 only in value_info) become symbolic names (step 1)."""
    changed = []
    for value in [*graph.input, *graph.output]:
        if _name_dims(value, lowest=0):
            changed.append(value)
    for value in graph.value_info:
        _name_dims(value, lowest=-1)
    if changed:
        shown = ", ".join(f"{v.name} {_dims(v)}" for v in changed[:6]) + (", ..." if len(changed) > 6 else "")
        notes.append(f"dims written as -1 or 0 are symbolic names now (data of any size fits): {shown}")


def _name_dims(value: onnx.ValueInfoProto, lowest: int) -> bool:
    tt = value.type.tensor_type
    if not (value.type.HasField("tensor_type") and tt.HasField("shape")):
        return False
    fixed = False
    for axis, dim in enumerate(tt.shape.dim):
        if dim.HasField("dim_value") and dim.dim_value <= lowest:
            dim.dim_param = "batch" if axis == 0 else f"{value.name}_{axis}"  # clears dim_value (a oneof)
            fixed = True
    return fixed


def _dims(value: onnx.ValueInfoProto) -> list:
    return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]


# ---- 2: opset -----------------------------------------------------------------------------


def upgrade_opset(model: ModelProto, notes: list[str]) -> ModelProto:
    """The model at opset 21 (else 13 for one older than 13), or as it was (module doc, step 2)."""
    opset = onnx_opset(model)
    if not opset or opset >= TARGET_OPSET:
        return model
    failures = []
    for target in (TARGET_OPSET, FALLBACK_OPSET) if opset < FALLBACK_OPSET else (TARGET_OPSET,):
        try:
            upgraded = _convert(model, target)
        except Exception as e:  # noqa: BLE001 - the converter raises RuntimeError/ValueError/ConvertError...; ModelError from onnxruntime
            failures.append(f"to {target}: {_first_line(e)}")
            continue
        notes.append(f"opset {opset} upgraded to {target} with onnx.version_converter ({WHY_OPSET})")
        if upgraded.ir_version > model.ir_version:
            notes.append(
                f"IR version {model.ir_version} raised to {upgraded.ir_version} (what opset {target} requires)"
            )
        return upgraded
    notes.append(f"opset {opset} kept, upgrading it failed ({'; '.join(failures)}): {WHY_OPSET}")
    return model


def _convert(model: ModelProto, target: int) -> ModelProto:
    """onnx's converter, the IR version it needs, and proof that onnxruntime loads the result."""
    upgraded = onnx.version_converter.convert_version(model, target)
    del upgraded.functions[:]  # the converter drops model-local functions: they keep their own opsets
    upgraded.functions.extend(model.functions)
    need = onnx.helper.find_min_ir_version_for(list(upgraded.opset_import), ignore_unknown=True)
    upgraded.ir_version = max(upgraded.ir_version, need)
    make_session(upgraded, check=False, optimization_level=ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    return upgraded


def _first_line(e: Exception) -> str:
    lines = str(e).strip().splitlines()
    return lines[0][:200] if lines else type(e).__name__


# ---- 4: folding ---------------------------------------------------------------------------


def constant_only_nodes(graph: GraphProto) -> list[int]:
    """Indices of the main graph's constant-only nodes that may be folded (module doc)."""
    stored = {t.name for t in graph.initializer} - {v.name for v in graph.input}  # + Constant outputs
    constant = set(stored)
    found = []
    for i, node in enumerate(graph.node):
        if _foldable(node, stored) and all(not x or x in constant for x in node.input):
            found.append(i)
            constant.update(o for o in node.output if o)
            if node.op_type == "Constant":
                stored.update(node.output)
    return found


def _foldable(node: NodeProto, stored: set[str]) -> bool:
    """Not: other domains, NOT_FOLDED ops, subgraph holders, a pass-through over a stored
    tensor (module doc), a sparse Constant (onnxruntime densifies it: its dims, not its bytes,
    say how big that gets)."""
    if node.domain not in ONNX_DOMAINS or node.op_type in NOT_FOLDED:
        return False
    if node.op_type in PASS_THROUGH and node.input and node.input[0] in stored:
        return False
    if node.op_type == "Constant" and any(a.name == "sparse_value" for a in node.attribute):
        return False
    return not any(a.type in (AttributeProto.GRAPH, AttributeProto.GRAPHS) for a in node.attribute)


def fold_constants(model: ModelProto, notes: list[str], max_bytes: int) -> ModelProto:
    """The model with its constant-only nodes replaced by initializers holding onnxruntime's
    values (module doc, step 4); ModelError when that would exceed `max_bytes`."""
    graph = model.graph
    foldable = set(constant_only_nodes(graph))
    if not foldable:
        return model
    _, frontier = _splice_plan(graph, foldable, values=None)
    size = model.ByteSize() + _estimated_growth(model, [graph.node[i] for i in foldable], frontier)
    if size > max_bytes:
        raise ModelError(_too_big(size, max_bytes))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "folded.onnx"
        try:
            _write_folded(model, path)
        except ModelError as e:  # onnxruntime cannot load it: every later step will say so too
            notes.append(f"constant-only nodes not folded: {e}")
            return model
        values = _read_values(path, max_bytes)
    kept, frontier = _splice_plan(graph, foldable, values)
    if len(kept) == len(graph.node):
        return model
    stays = set(kept)
    folded = Counter(node.op_type for i, node in enumerate(graph.node) if i not in stays)
    new = ModelProto()
    new.CopyFrom(model)
    _rebuild(new.graph, stays, [values[name] for name in frontier])
    n, k = sum(folded.values()), len(frontier)
    ops = ", ".join(f"{op} x{c}" for op, c in sorted(folded.items()))
    notes.append(
        f"{n} constant-only node{'s' * (n != 1)} ({ops}) folded by onnxruntime into {k} initializer{'s' * (k != 1)}"
    )
    return new


def _splice_plan(graph: GraphProto, foldable: set[int], values: dict | None) -> tuple[list[int], list[str]]:
    """(indices of the nodes that stay, names of the folded outputs that become initializers).

    Walking backwards, a foldable node goes when each output has a value (`values` None: as if
    all had) or is read by no remaining node, graph output or subgraph."""
    used = {v.name for v in graph.output} | _subgraph_reads(graph)
    kept, frontier = [], []
    for i in reversed(range(len(graph.node))):
        node = graph.node[i]
        outs = [o for o in node.output if o]
        if i in foldable and all(values is None or o in values or o not in used for o in outs):
            frontier += [o for o in outs if o in used]
        else:
            kept.append(i)
            used.update(node.input)
    return kept[::-1], frontier[::-1]


def _subgraph_reads(graph: GraphProto) -> set[str]:
    """Every name a node inside an If/Loop/Scan body reads (outer-scope names among them)."""
    return {x for g in safety.iter_graphs(graph) if g is not graph for n in g.node for x in n.input}


def _estimated_growth(model: ModelProto, nodes: list[NodeProto], frontier: list[str]) -> int:
    """Bytes the folded outputs add, as far as onnx shape inference sizes them (4 bytes per
    value; a Constant's own value is already in the file)."""
    from_constants = {o for n in nodes if n.op_type == "Constant" for o in n.output}
    computed = [name for name in frontier if name not in from_constants]
    if not computed:
        return 0
    shapes = infer_shapes(model)
    return sum(4 * _count(shapes[name]) for name in computed if name in shapes)


def _count(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _write_folded(model: ModelProto, path: Path) -> None:
    """onnxruntime writes the graph it runs after constant folding (every other basic
    optimizer off: module doc) to `path`."""
    so = session_options(1, optimization_level=ort.GraphOptimizationLevel.ORT_ENABLE_BASIC)
    so.optimized_model_filepath = str(path)
    make_session(model, check=False, options=so, disabled_optimizers=OTHER_BASIC_OPTIMIZERS)


def _read_values(path: Path, max_bytes: int) -> dict[str, TensorProto]:
    """name -> value of every initializer in the graph onnxruntime wrote (size-capped)."""
    size = path.stat().st_size
    if size > max_bytes:
        raise ModelError(_too_big(size, max_bytes))
    folded = safety.parse_model(path.read_bytes())
    safety.check_no_external_data(folded)
    return {t.name: t for t in folded.graph.initializer}


def _rebuild(graph: GraphProto, kept: set[int], new_initializers: list[TensorProto]) -> None:
    """Keep the `kept` nodes, add the folded initializers, drop initializers and value_info
    that only the dropped nodes read or wrote (initializers nothing read before are kept)."""
    nodes = [n for i, n in enumerate(graph.node) if i in kept]
    dropped = [n for i, n in enumerate(graph.node) if i not in kept]
    read = {x for n in nodes for x in n.input} | {v.name for v in graph.output} | _subgraph_reads(graph)
    read_by_dropped = {x for n in dropped for x in n.input}
    initializers = [t for t in graph.initializer if t.name in read or t.name not in read_by_dropped]
    gone = {o for n in dropped for o in n.output} - {t.name for t in new_initializers}
    value_info = [v for v in graph.value_info if v.name not in gone]
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(initializers + new_initializers)
    del graph.value_info[:]
    graph.value_info.extend(value_info)
