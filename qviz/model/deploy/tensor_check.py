"""check_deployment: the simulated model against the deployed one, tensor by tensor, on the same data.

    >>> from qviz.config import PRESETS
    >>> from qviz.model.simulate.simulator import Simulator
    >>> from qviz.samples import load_sample
    >>> sample = load_sample("digits_cnn")
    >>> sim = Simulator(sample.model_bytes, sample.calibration.x)
    >>> check = check_deployment(sim, PRESETS["w8a8"], [{"input": sample.test.x[:16]}], reduce_range=False)
    >>> check.kernels_kept                       # exposing the int8 codes kept every fused kernel
    True
    >>> row = next(r for r in check.tensors if r.tensor == "input")
    >>> row.kind, row.passed, row.over_one_step  # the model input: quantized alike in both
    ('activation', True, 0)

What is compared. Every QuantizeLinear of the deployed graph's main graph names a tensor X the
deployed model quantizes (onnxruntime's quantizer writes X -> Q -> X_QuantizeLinear_Output ->
DQ -> X_DequantizeLinear_Output; a graph output X is renamed X_QuantizeLinear_Input and the DQ
writes X: both are mapped back by walking the Q node's input and its DQ's output, not by
guessing names). The deployed value of X is (q - zero_point) * scale from the int8 codes q;
the simulated value is what the simulated model feeds X's consumers: the end of the chain of
nodes the Simulator inserted after X (its fake-quantization), or X itself when it inserted
none ("not quantized in the simulation"). Weights: the integers behind each deployed layer's
DequantizeLinear, dequantized, against the weight the simulated node reads.

Per tensor: max |sim - deployed| / scale (in quantization steps), how many elements differ by
more than one step, and whether every simulated value lies on the deployed grid (a value off
the grid means other qparams: another scale or zero point, 7-bit reduce_range weights against
8-bit). A tensor passes when no element is more than one step off and the values share the grid.

How the deployed intermediate values are read without changing its kernels. Exposing a
DequantizeLinear output as a graph output stops onnxruntime's QDQ fusion (DQ -> Conv -> Q
becomes a float Conv); exposing a QuantizeLinear output (the codes) does not: the fused
QLinearConv / QLinearMatMul / QGemm writes that very tensor. Verified here, every run: the
optimized graph of the exposed model has the same count of every op type as the deployed
model's (`kernels_kept`; tested on the samples, digits_transformer's QLinearMatMul/QGemm
included, and on the orientation model). When it differs, `notes` says so.

Reasons for a failing tensor, first that applies: "not quantized in the simulation" (the
deployed graph quantizes a tensor the simulation leaves float); "other qparams" (off grid);
"carried from upstream T through OPS" (a quantized tensor this one is computed from failed
already); "rounding differences grow" (upstream tensors differ by one step, the float ops
between amplify it: a BatchNormalization with a large gain, a HardSwish);
"int16 saturation" (an integer kernel, x86 without VNNI, 8-bit weights: MLAS adds pairs of
u8 x s8 products in int16); "fp16 accumulation" (a float16 model); "fused kernel" (a QLinear*
kernel other than Conv/MatMul/Gemm: Add, Mul, Sigmoid... computed with fixed-point or table
arithmetic); "kernel requantization rounding" (an integer Conv/MatMul/Gemm rounds its int32
accumulator once, the simulation rounds a float sum).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import ModelProto, TensorProto, helper

from qviz.config import ModelConfig
from qviz.model.deploy.deployable import deploy, needs_reduce_range
from qviz.model.deploy.kernels import INTEGER_OPS, optimized_graph
from qviz.model.load.layer_table import layer_node
from qviz.model.runtime.session import run_session
from qviz.model.safety import inline_array
from qviz.model.simulate.simulator import Simulator

SAMPLE_VALUES = 4096  # simulated/deployed values kept per tensor (first batch), for tables and plots
GRID_TOLERANCE = 1e-3  # of a step: float32 rounding of q * scale, not another grid
NOT_SIMULATED = (
    "not quantized in the simulation: the deployed graph quantizes this tensor, the simulation leaves it float"
)
KERNEL_ROUNDING_STEPS = 2.0  # more than this off, with matching inputs, is not a rounding difference
MATMUL_KERNELS = ("QLinearConv", "QLinearMatMul", "QGemm", "MatMulInteger", "ConvInteger")


@dataclass
class TensorCheck:
    """One quantized tensor: simulated against deployed (module doc)."""

    tensor: str
    kind: str  # "activation" or "weight"
    scale: float  # the deployed step (the largest, for per-channel scales)
    elements: int = 0
    max_steps: float = 0.0
    over_one_step: int = 0
    on_grid: bool = True
    simulated_quantizes: bool = True
    reason: str = ""
    simulated: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # first values, first batch
    deployed: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))

    @property
    def passed(self) -> bool:
        return self.over_one_step == 0 and self.on_grid and self.simulated_quantizes

    def add(self, sim: np.ndarray, dep: np.ndarray, scale: np.ndarray) -> None:
        """Accumulate one batch: sim and dep as float64, scale broadcastable to them."""
        steps = np.abs(sim - dep) / scale
        self.elements += steps.size
        if steps.size:
            self.max_steps = max(self.max_steps, float(np.max(steps)))
            self.over_one_step += int(np.count_nonzero(steps > 1.0 + GRID_TOLERANCE))
            codes = sim / scale
            self.on_grid &= bool(
                np.all(np.abs(codes - np.rint(codes)) <= GRID_TOLERANCE * np.maximum(1, np.abs(codes) / 256))
            )
        if not self.simulated.size:
            self.simulated = np.ravel(sim)[:SAMPLE_VALUES].astype(np.float32)
            self.deployed = np.ravel(dep)[:SAMPLE_VALUES].astype(np.float32)

    def to_dict(self) -> dict:
        """Plain data (the worker sends it; the CLI prints it as JSON without the values)."""
        return {
            "tensor": self.tensor,
            "kind": self.kind,
            "scale": self.scale,
            "elements": self.elements,
            "max_steps": self.max_steps,
            "over_one_step": self.over_one_step,
            "on_grid": self.on_grid,
            "simulated_quantizes": self.simulated_quantizes,
            "passed": self.passed,
            "reason": self.reason,
            "simulated": self.simulated,
            "deployed": self.deployed,
        }


@dataclass
class DeployCheck:
    """The result of check_deployment: tensors worst first, and each batch's outputs three ways."""

    tensors: list[TensorCheck]
    output_names: list[str]
    float_outputs: list[list[np.ndarray]]  # [batch][output]
    simulated_outputs: list[list[np.ndarray]]
    deployed_outputs: list[list[np.ndarray]]
    reduce_range: bool
    kernels_kept: bool
    notes: list[str]

    def to_dict(self) -> dict:
        return {
            "tensors": [t.to_dict() for t in self.tensors],
            "output_names": self.output_names,
            "float_outputs": self.float_outputs,
            "simulated_outputs": self.simulated_outputs,
            "deployed_outputs": self.deployed_outputs,
            "reduce_range": self.reduce_range,
            "kernels_kept": self.kernels_kept,
            "notes": self.notes,
        }


@dataclass(frozen=True)
class _Quantized:
    """A tensor the deployed graph quantizes: Q node's codes output, qparams, original name."""

    tensor: str
    codes: str
    scale: np.ndarray
    zero_point: np.ndarray
    axis: int | None
    upstream: tuple[str, ...]  # the nearest quantized tensors it is computed from
    between: tuple[str, ...] = ()  # op types computed in float between them and this Q node


def check_deployment(
    sim: Simulator, config: ModelConfig, feeds: list[dict], *, reduce_range: bool | None = None
) -> DeployCheck:
    """Deploy `config` and simulate it, run both (and the float model) on `feeds`, compare (module doc).

    reduce_range: as `deploy` (None: on x86 without VNNI); the simulation keeps what the config says.
    """
    rr = needs_reduce_range() if reduce_range is None else reduce_range
    deployed = onnx.load_model_from_string(deploy(sim.loaded, config, simulator=sim, reduce_range=rr))
    simulated = sim.build(config)
    sim_names = _tensor_names(simulated)
    quantized = _deployed_tensors(deployed)
    pairs = {q.tensor: _simulated_value(simulated, sim.proto, q.tensor) for q in quantized if q.tensor in sim_names}
    pairs = _with_shared_scales(pairs, sim)
    optimized = optimized_graph(deployed.SerializeToString(), executor=sim.loaded.executor)
    written = {o for n in optimized.graph.node for o in n.output}
    folded = [q for q in quantized if q.codes not in written]  # onnxruntime removed the Q/DQ pair
    every = {q.tensor: q for q in quantized}  # compared or not: the upstream walk crosses them all
    quantized = [q for q in quantized if q.codes in written]
    compared, exposed, notes = _exposed_keeping_kernels(
        deployed, optimized, [q for q in quantized if q.tensor in pairs], sim
    )
    quantized = [q for q in quantized if q in compared or q.tensor not in pairs]  # left out: not listed
    if folded:
        notes.append(
            f"{len(folded)} Q/DQ pair(s) of the deployed graph are removed by onnxruntime's optimizations "
            f"(the deployed model never computes their codes), not compared: {', '.join(q.tensor for q in folded)}"
        )
    names = [o.name for o in sim.proto.graph.output]
    sim_extra = sorted({value for value, _ in pairs.values()} - set(names))
    runs = _Runs(sim, _expose(simulated, sim_extra, {}), exposed, names, sim_extra, [q.codes for q in compared])
    rows = {q.tensor: TensorCheck(q.tensor, "activation", float(np.max(q.scale))) for q in quantized}
    for feed in feeds:
        s, d = runs.run(feed)
        for q in compared:
            _add_batch(rows[q.tensor], q, s[pairs[q.tensor][0]], d[q.codes])
    tensors = list(rows.values()) + _weight_checks(sim, deployed, simulated)
    kernels = {o: n.op_type for n in optimized.graph.node for o in n.output}
    _explain(tensors, quantized, every, pairs, kernels, _is_float16(sim.proto), rr)
    tensors.sort(key=lambda t: (t.passed, -t.max_steps, t.tensor))
    kept = not any(n.startswith("exposing") for n in notes)
    return DeployCheck(tensors, names, runs.outs[0], runs.outs[1], runs.outs[2], rr, kept, notes)


class _Runs:
    """The float, exposed simulated and exposed deployed sessions; each batch's outputs kept."""

    def __init__(self, sim: Simulator, simulated: bytes, deployed: bytes, names, sim_extra, codes):
        ex = sim.loaded.executor
        self.sessions = [ex.session(sim.loaded.model_bytes), ex.session(simulated), ex.session(deployed)]
        self.names, self.sim_names, self.dep_names = names, names + sim_extra, names + codes
        self.outs: list[list] = [[], [], []]

    def run(self, feed: dict) -> tuple[dict, dict]:
        """({name: simulated value}, {name: deployed value}) of one batch (graph outputs included)."""
        f = run_session(self.sessions[0], self.names, feed)
        s = dict(zip(self.sim_names, run_session(self.sessions[1], self.sim_names, feed), strict=True))
        d = dict(zip(self.dep_names, run_session(self.sessions[2], self.dep_names, feed), strict=True))
        self.outs[0].append(f)
        self.outs[1].append([s[n] for n in self.names])
        self.outs[2].append([d[n] for n in self.names])
        return s, d


def _is_float16(m: ModelProto) -> bool:
    return any(t.data_type == TensorProto.FLOAT16 for t in m.graph.initializer)


# ----- the deployed graph -----


def _inits(g: onnx.GraphProto) -> dict[str, np.ndarray]:
    return {t.name: inline_array(t) for t in g.initializer}


def _axis(node: onnx.NodeProto) -> int | None:
    return next((a.i for a in node.attribute if a.name == "axis"), None)


def _deployed_tensors(m: ModelProto) -> list[_Quantized]:
    """Every activation tensor the deployed main graph quantizes, in graph order (module doc)."""
    g = m.graph
    inits = _inits(g)
    producer = {o: n for n in g.node for o in n.output}
    readers: dict[str, list] = {}
    for n in g.node:
        for x in n.input:
            readers.setdefault(x, []).append(n)
    out: list[_Quantized] = []
    codes_of: dict[str, str] = {}  # a DQ output -> the original name of the tensor it dequantizes
    for n in g.node:
        if n.op_type != "QuantizeLinear" or n.input[1] not in inits:
            continue
        name = _original_name(n, readers)
        zp = inits.get(n.input[2]) if len(n.input) > 2 and n.input[2] else np.zeros((), np.uint8)
        up, ops = _upstream(n.input[0], producer, codes_of)
        scale = inits[n.input[1]].astype(np.float64)
        out.append(_Quantized(name, n.output[0], scale, np.asarray(zp), _axis(n), up, ops))
        for dq in readers.get(n.output[0], []):
            if dq.op_type == "DequantizeLinear":
                codes_of[dq.output[0]] = name
    return out


def _original_name(q: onnx.NodeProto, readers: dict) -> str:
    """X for X -> Q; for a graph output quantizeded as X_QuantizeLinear_Input -> Q -> DQ -> X: X."""
    if q.input[0].endswith("_QuantizeLinear_Input"):
        dq = [n for n in readers.get(q.output[0], []) if n.op_type == "DequantizeLinear"]
        if dq:
            return dq[0].output[0]
    return q.input[0]


def _upstream(name: str, producer: dict, codes_of: dict) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the quantized tensors nearest upstream of `name`, the op types in between): walk
    producers back to DequantizeLinears."""
    seen, stack, found, ops = set(), [name], [], []
    while stack:
        x = stack.pop()
        if x in seen:
            continue
        seen.add(x)
        if x in codes_of:
            found.append(codes_of[x])
            continue
        node = producer.get(x)
        if node is not None and node.op_type != "DequantizeLinear":
            ops.append(node.op_type)
            stack.extend(i for i in node.input if i)
    return tuple(dict.fromkeys(found)), tuple(dict.fromkeys(ops))


def _codes_types(m: ModelProto) -> dict[str, int]:
    """{Q output: its element type} (the zero point's type; uint8 without one)."""
    types = {t.name: t.data_type for t in m.graph.initializer}
    return {
        n.output[0]: types.get(n.input[2], TensorProto.UINT8) if len(n.input) > 2 and n.input[2] else TensorProto.UINT8
        for n in m.graph.node
        if n.op_type == "QuantizeLinear"
    }


def _expose(m: ModelProto, names: list[str], types: dict[str, int]) -> bytes:
    """A copy of `m` with `names` added as graph outputs (types from `types`, else inferred)."""
    out = ModelProto()
    out.CopyFrom(m)
    inferred = _inferred_types(out) if any(n not in types for n in names) else {}
    have = {o.name for o in out.graph.output}
    for name in names:
        if name not in have:
            elem = types.get(name) or inferred.get(name, TensorProto.FLOAT)
            out.graph.output.append(helper.make_tensor_value_info(name, elem, None))
    return out.SerializeToString()


def _inferred_types(m: ModelProto) -> dict[str, int]:
    try:
        inferred = onnx.shape_inference.infer_shapes(m)
    except Exception:  # noqa: BLE001 - inference is a help for the types only
        return {}
    vis = [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]
    return {v.name: v.type.tensor_type.elem_type for v in vis if v.type.tensor_type.elem_type}


def _exposed_keeping_kernels(deployed: ModelProto, optimized: ModelProto, wanted: list, sim: Simulator):
    """(compared tensors, exposed model bytes, notes): the deployed model with the codes of `wanted`
    as outputs, minus those whose exposure changes the kernels onnxruntime runs.

    # NOTE: reading a Q node's codes can keep its DequantizeLinear alive (it also feeds a
    # fusion that removes the next Q/DQ pair: measured on the orientation model, Mul -> Q -> DQ
    # -> Mul). The extra nodes carry their names from the deployed graph, which lead back to
    # the tensors to leave out; two rounds are enough in practice, three are allowed.
    """
    nodes = {n.name: n for n in deployed.graph.node if n.name}
    by_codes = {q.codes: q for q in wanted}
    left_out: list[str] = []
    types = _codes_types(deployed)
    exposed, notes = b"", []
    for _ in range(3):
        exposed = _expose(deployed, [q.codes for q in wanted], types)
        opt = optimized_graph(exposed, executor=sim.loaded.executor)
        notes = _kernel_notes(optimized, opt)
        if not notes:
            break
        have = {n.name for n in optimized.graph.node}
        culprits = set()
        for n in opt.graph.node:
            if n.op_type in ("QuantizeLinear", "DequantizeLinear") and n.name not in have and n.name in nodes:
                node = nodes[n.name]
                culprits.add(node.input[0] if node.op_type == "DequantizeLinear" else node.output[0])
        drop = [by_codes[c] for c in culprits if c in by_codes and by_codes[c] in wanted]
        if not drop:
            break
        wanted = [q for q in wanted if q not in drop]
        left_out += [q.tensor for q in drop]
    if left_out:
        notes.append(
            f"not compared: reading the codes of {', '.join(left_out)} would change the kernels onnxruntime runs"
        )
    return wanted, exposed, notes


def _quantization_ops(m: ModelProto) -> Counter:
    """Counts of the op types that say how a tensor is quantized: integer kernels, QLinear*,
    Q/DQ left unfused, and float layers."""
    keep = (*INTEGER_OPS, "QuantizeLinear", "DequantizeLinear", "Conv", "MatMul", "Gemm", "FusedConv", "FusedGemm")
    return Counter(n.op_type for n in m.graph.node if n.op_type in keep or n.op_type.startswith("QLinear"))


def _kernel_notes(deployed: ModelProto, exposed: ModelProto) -> list[str]:
    """[] when the exposed model runs the same quantization kernels as the deployed one, else
    what changed. Layout ops may differ: onnxruntime moves a Transpose through a Q node only
    when nobody else reads the Q node's output (measured on digits_transformer: 9 -> 7 Transposes,
    the same QLinear kernels)."""
    a, b = _quantization_ops(deployed), _quantization_ops(exposed)
    if a == b:
        return []
    diff = {k: (a[k], b[k]) for k in sorted(set(a) | set(b)) if a[k] != b[k]}
    return [f"exposing the int8 codes changed the kernels onnxruntime runs (deployed, exposed): {diff}"]


# ----- the simulated graph -----


def _tensor_names(m: ModelProto) -> set[str]:
    g = m.graph
    return {v.name for v in g.input} | {t.name for t in g.initializer} | {o for n in g.node for o in n.output}


def _simulated_value(simulated: ModelProto, float_model: ModelProto, x: str) -> tuple[str, bool]:
    """(tensor the simulation feeds X's consumers, whether that is a quantization of X).

    The Simulator inserts nodes (Div/Round/Clip/Mul, or Q/DQ, Casts) in one of two ways, both
    read here: after X, rewiring X's readers to the end of the inserted chain (that end is X
    as simulated); or in X's place, X's producer writing another name and the chain writing X
    (X is then simulated as it is named). No inserted node at X: X reaches its readers float.
    Inserted nodes are told from the model's own by node name (the Simulator's names are new).
    """
    original = _original_nodes(float_model)
    g = simulated.graph

    def is_original(n: onnx.NodeProto) -> bool:
        return (n.name, n.op_type) in original if n.name else any(o in original for o in n.output)

    readers: dict[str, list] = {}
    for n in g.node:
        for i in n.input:
            readers.setdefault(i, []).append(n)
    stack, seen = [x], set()
    while stack:
        t = stack.pop()
        for n in readers.get(t, []):
            if is_original(n):
                if t != x:
                    return t, True
                continue
            if id(n) not in seen:
                seen.add(id(n))
                stack.extend(n.output)
    producer = next((n for n in g.node if x in n.output), None)
    return x, producer is not None and not is_original(producer)


def _with_shared_scales(pairs: dict, sim: Simulator) -> dict:
    """`pairs` where a tensor that shares its source's scale (a Reshape, Transpose, Split... of a
    quantized tensor: deployed_graph's activations map) counts as quantized in the simulation when
    its source is: the Simulator does not quantize it again (its values are already on that grid).

    # NOTE: without this, every data-movement output was reported "not quantized in the
    # simulation" although its values matched to the step.
    """
    shares = {t: src for t, src in sim.deployed_tensors().activations.items() if src != t}

    def quantized(t: str, depth: int = 0) -> bool:
        if t in pairs and pairs[t][1]:
            return True
        return depth < 64 and t in shares and quantized(shares[t], depth + 1)

    return {t: (value, ok or quantized(t)) for t, (value, ok) in pairs.items()}


def _original_nodes(m: ModelProto) -> set:
    """(name, op_type) of the model's named nodes, and the outputs of its unnamed ones."""
    return {(n.name, n.op_type) for n in m.graph.node if n.name} | {
        o for n in m.graph.node if not n.name for o in n.output
    }


# ----- comparing -----


def _add_batch(row: TensorCheck, q: _Quantized, sim_value: np.ndarray, codes: np.ndarray) -> None:
    scale = _broadcast(q.scale, q.axis, codes.ndim)
    zp = _broadcast(q.zero_point.astype(np.float64), q.axis, codes.ndim)
    dep = (codes.astype(np.float64) - zp) * scale
    row.add(np.asarray(sim_value, np.float64), dep, scale)


def _broadcast(p: np.ndarray, axis: int | None, ndim: int) -> np.ndarray:
    if p.ndim == 0 or axis is None or ndim == 0:
        return p.reshape(()) if p.size == 1 else p
    shape = [1] * ndim
    shape[axis % ndim] = p.size
    return p.reshape(shape)


def _weight_checks(sim: Simulator, deployed: ModelProto, simulated: ModelProto) -> list[TensorCheck]:
    """The integer weights of each main-graph layer against the weight its simulated node reads."""
    d_inits, s_inits = _inits(deployed.graph), _inits(simulated.graph)
    d_nodes = {n.name: n for n in deployed.graph.node if n.name}
    d_producer = {o: n for n in deployed.graph.node for o in n.output}
    s_named = {(n.name, n.op_type): n for n in simulated.graph.node if n.name}
    s_by_output = {tuple(n.output): n for n in simulated.graph.node}
    out = []
    for layer in sim.layers:
        if layer.graph_path:
            continue
        node = d_nodes.get(layer.node_name) or d_nodes.get(layer.id)
        f_node = layer_node(sim.proto, layer)  # the Simulator keeps its name (or, unnamed, its outputs)
        s_node = s_named.get((f_node.name, f_node.op_type)) if f_node.name else s_by_output.get(tuple(f_node.output))
        if node is None or s_node is None or len(node.input) <= layer.weight_input:
            continue
        dq = d_producer.get(node.input[layer.weight_input])
        sim_w = s_inits.get(s_node.input[layer.weight_input])
        if dq is None or dq.op_type != "DequantizeLinear" or dq.input[0] not in d_inits or sim_w is None:
            continue
        if any(a.name == "block_size" for a in dq.attribute) or dq.input[1] not in d_inits:
            continue  # blocked (group-wise) weights: compared through the outputs only
        q = d_inits[dq.input[0]]
        zp = d_inits.get(dq.input[2]) if len(dq.input) > 2 and dq.input[2] else np.zeros((), q.dtype)
        qd = _Quantized(layer.weight_name, "", d_inits[dq.input[1]].astype(np.float64), np.asarray(zp), _axis(dq), ())
        if sim_w.shape != q.shape:
            continue  # another layout (e.g. a transposed copy): compared through the outputs only
        row = TensorCheck(layer.weight_name, "weight", float(np.max(qd.scale)))
        _add_batch(row, qd, sim_w, q)
        out.append(row)
    return out


def _explain(
    tensors: list[TensorCheck], quantized, every: dict, pairs: dict, kernels: dict, float16: bool, rr: bool
) -> None:
    """Give every failing tensor its reason (module doc), in graph order (upstream first)."""
    by_name = {t.tensor: t for t in tensors}
    vnni = not needs_reduce_range()
    for q in quantized:
        t = by_name[q.tensor]
        if q.tensor not in pairs:
            t.reason, t.simulated_quantizes = "no tensor of this name in the simulated graph", False
            continue
        t.simulated_quantizes = pairs[q.tensor][1]
        if not t.passed:
            up = _observed_upstream(q, by_name, every)
            t.reason = _reason(t, up, q.between, kernels.get(q.codes), vnni, rr, float16)
    for t in tensors:
        if t.kind == "weight" and not t.passed:
            why = "reduce_range: the deployed weights have 7-bit codes, the simulated ones 8-bit"
            t.reason = why if rr else "other qparams: the simulated weights are not on the deployed grid"


def _observed_upstream(q: _Quantized, by_name: dict, every: dict) -> list[TensorCheck]:
    """The nearest compared tensors upstream of q: through the ones not compared (a Q/DQ pair
    onnxruntime folds away, codes left unexposed), to those before them."""
    out, stack, seen = [], list(q.upstream), set()
    while stack:
        u = stack.pop()
        if u in seen:
            continue
        seen.add(u)
        if u in by_name:
            out.append(by_name[u])
        elif u in every:
            stack.extend(every[u].upstream)
    return out


def _reason(
    t: TensorCheck, up: list[TensorCheck], between, kernel: str | None, vnni: bool, rr: bool, float16: bool
) -> str:
    """The first cause that applies (module doc). `up`: the nearest quantized tensors upstream,
    `between`: the op types the deployed model computes in float from them to this tensor."""
    if not t.simulated_quantizes:
        return NOT_SIMULATED
    if not t.on_grid:
        return "other qparams: the simulated values are not on the deployed grid (another scale or zero point)"
    via = f" through {', '.join(between)}" if between else ""
    failed = [u for u in up if not u.passed]
    if failed:
        return f"carried from upstream {failed[0].tensor!r}{via}, which differs already"
    rounded = [u for u in up if u.max_steps >= 0.5]
    if rounded and kernel not in INTEGER_OPS and not kernel_is_fused(kernel):
        return (
            f"rounding differences grow: upstream {rounded[0].tensor!r} differs by one step, "
            f"amplified by the float ops{via or ' in between'}"
        )
    if float16:
        return "fp16 accumulation: the float16 model sums in float16 where the simulation's reference differs"
    if kernel in MATMUL_KERNELS and not vnni and not rr:
        return "int16 saturation of u8 x s8 on a CPU without VNNI (pairs of products summed in int16): use reduce_range"
    if kernel_is_fused(kernel):
        return f"fused kernel {kernel}: fixed-point or table arithmetic instead of a float op then rounding"
    if kernel in INTEGER_OPS and t.max_steps <= KERNEL_ROUNDING_STEPS:
        return (
            f"kernel requantization rounding: {kernel} rescales its int32 sum once, the simulation rounds a float sum"
        )
    if kernel in INTEGER_OPS:
        return f"no reason found: {kernel} differs by {t.max_steps:.0f} steps while its inputs match the simulation"
    return "no reason found: the deployed float ops differ from the simulated ones"


def kernel_is_fused(kernel: str | None) -> bool:
    """A QLinear* kernel other than the Conv/MatMul/Gemm ones: QLinearAdd, QLinearMul, QLinearSigmoid..."""
    return kernel is not None and kernel.startswith("QLinear") and kernel not in MATMUL_KERNELS
