"""The deployable model: what onnxruntime's CPU kernels execute natively, built from a config.

    >>> from qviz.config import PRESETS, LayerConfig
    >>> from qviz.model import layer_table, load_model
    >>> from qviz.model.deploy.kernels import integer_ops_report
    >>> from qviz.quant import QuantSpec
    >>> from qviz.samples import load_sample
    >>> sample = load_sample("digits_mlp")
    >>> loaded = load_model(sample.model_bytes)
    >>> layers = layer_table(loaded)
    >>> deployable(PRESETS["w8a8"], layers)                   # every layer has a native form
    []
    >>> deployable(PRESETS["w8a8"].with_layer(layers[0].id, LayerConfig(QuantSpec(bits=3), None)), layers)
    ["layer '/net/net.0/Gemm' (weights int3 sym tensor minmax, activations float): weights bits=3: onnxruntime has int4 and int8 weights only (7 bits: stored as int8)"]
    >>> data = deploy(loaded, PRESETS["w8a8"], sample.calibration.x)    # ONNX bytes, checked
    >>> integer_ops_report(data)                              # kernels.py
    {'/net/net.0/Gemm': 'integer', '/net/net.2/Gemm': 'integer', '/net/net.4/Gemm': 'integer'}

Forms (native.py has the table, and which layers deploy a simulation-only fallback —
LSTM/GRU activations, layers inside If/Loop/Scan bodies: `deploy_notes` lists them, the other
layers deploy as asked): `qdq` layers go through onnxruntime's own quantize_static
(QDQ format, per-channel weights, the activation scale/zero point of each quantized layer
input given explicitly from qviz's calibration so they follow the spec's estimator). The
tensors between layers that onnxruntime also quantizes — Add, Mul, Softmax, pooling outputs... —
get qviz's scale/zero point too when the config's scope is "graph" (the presets): the Simulator's
graph_plan, the same numbers the simulation used (qviz.model.simulate.deployed_graph); with
scope "layers" they keep onnxruntime's MinMax calibration (the simulation does not see them).
`deploy_overrides` returns these quantize_static arguments for export. Then qviz puts the engine's own weight codes and scales in place of
onnxruntime's (so restricted_range, estimators and rounding of the spec hold; the int32 bias
is re-quantized to input_scale * weight_scale). `weight_only` layers get their integer
weights behind a DequantizeLinear (blocked for groups, int4 needs opset 21), `fp16` layers run
in float16 with Casts around the op, float and already-quantized layers are left alone.
Configs without a native form raise SpecError naming every such layer and why.

float16 models stay float16: onnxruntime's quantize_static quantizes them with float16 scales
(qviz gives it float16 activation scales too, and its weight scales are written back as
float16); the Simulator rounds its scales to float16 the same way, so both compute the same
grid. onnxruntime's CPU provider has no float16 QDQ fusion: it runs DQ -> op -> Q with Casts
to float32 around the op ("float fallback" in the kernel report), the weights stay int8. A
weight stored float16 behind a Cast (float16 storage, float32 compute) or held by a Constant
node is given to the quantizer as a plain initializer of the type the node reads (exact).
The result passes onnx.checker (full_check) before it is returned.

# NOTE: with graph optimizations on, onnxruntime fuses DequantizeLinear -> MatMul (weight-only)
# into MatMulNBits, whose default accuracy level quantizes the activations to int8 on the fly:
# fast, but not the same numbers as the simulation (session config
# `session.qdq_matmulnbits_accuracy_level` changes it). Conv weight-only layers run in float.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import ModelProto, TensorProto, helper

from qviz.config import ModelConfig
from qviz.model.deploy.native import SIMULATION_ONLY, native_form
from qviz.model.deploy.ort_overrides import describe_spec, to_ort_overrides
from qviz.model.load.layer_table import Layer, layer_graph, layer_node
from qviz.model.load.normalize import onnx_opset
from qviz.model.load.subgraphs import GraphPath, graph_at
from qviz.model.safety import inline_array, iter_graphs
from qviz.model.simulate.deployed_graph import needs_reduce_range as needs_reduce_range  # re-exported
from qviz.model.simulate.graph_edit import GraphEditor
from qviz.model.simulate.resolve import LayerSpecs, requantized, resolve_layer_specs
from qviz.model.simulate.simulator import Simulator
from qviz.quant import quantize
from qviz.quant.spec import SpecError

ONNX_INT = {
    (8, True): TensorProto.INT8,
    (8, False): TensorProto.UINT8,
    (7, True): TensorProto.INT8,
    (7, False): TensorProto.UINT8,
    (4, True): TensorProto.INT4,
    (4, False): TensorProto.UINT4,
}


def deployable(config: ModelConfig, layers: list[Layer], weights=None) -> list[str]:
    """Every layer of `config` that has no native onnxruntime form, as "layer 'id' (spec): why".

    Simulation-only fallbacks (native.py: an LSTM's activations, a layer inside an If body)
    are not problems: `deploy_notes` lists them. `weights` is accepted for older callers and
    not needed: a weight in a Constant node, or stored float16 behind a Cast, is made a plain
    initializer before onnxruntime's quantizer sees it.
    """
    specs = resolve_layer_specs(layers, config)
    asked = set(requantized(layers, config))
    problems = []
    for layer in layers:
        form, why = native_form(layer, specs[layer.id])
        if layer.id in asked:
            problems.append(f"layer {layer.id!r}: already quantized in the model: qviz does not quantize it again")
        elif form is None:
            problems.append(f"layer {layer.id!r} ({_describe(specs[layer.id])}): {why}")
    return problems


def deploy_notes(config: ModelConfig, layers: list[Layer], model: ModelProto | None = None) -> list[str]:
    """What a deployment of `config` does not do as simulated, one "layer 'id' (spec): why" each
    (`model` adds the reasons only the graph shows: a grouped ConvTranspose)."""
    specs = resolve_layer_specs(layers, config)
    extra = _graph_fallbacks(layers, specs, model) if model is not None else {}
    notes = []
    for layer in layers:
        form, why = ("weight_only", extra[layer.id]) if layer.id in extra else native_form(layer, specs[layer.id])
        if form is not None and why:
            notes.append(f"layer {layer.id!r} ({_describe(specs[layer.id])}): {why}; deployed as {form}")
    return notes


def _graph_fallbacks(layers: list[Layer], specs: dict, model: ModelProto) -> dict[str, str]:
    """{layer id: note} of QDQ layers that deploy weight-only for a reason in the graph.

    # NOTE: onnxruntime's quantizer fails on a grouped ConvTranspose with per-channel weights
    # and a bias: the weight has M/group scales (axis 1), the bias M values ("operands could
    # not be broadcast").
    """
    out = {}
    for x in layers:
        w = specs[x.id].weights
        if (
            x.op_type != "ConvTranspose"
            or native_form(x, specs[x.id])[0] != "qdq"
            or w is None
            or w.granularity == "tensor"
        ):
            continue
        group = next((a.i for a in layer_node(model, x).attribute if a.name == "group"), 1)
        if group > 1 and x.bias_name:
            why = "onnxruntime's quantizer cannot quantize the bias of a grouped ConvTranspose with per-channel weights"
            out[x.id] = f"{SIMULATION_ONLY}: activations stay float: {why}"
    return out


def _describe(s: LayerSpecs) -> str:
    return f"weights {describe_spec(s.weights)}, activations {describe_spec(s.activations)}"


def deploy(
    model, config: ModelConfig, calib_x=None, *, simulator: Simulator | None = None, reduce_range: bool | None = None
) -> bytes:
    """The deployable ONNX bytes of `config` (module doc); SpecError if a layer cannot deploy.

    reduce_range (None = the Simulator's, whose default is needs_reduce_range()): QDQ layers with
    8-bit weights get 7-bit codes (int8 storage, [-64, 63]), as onnxruntime recommends for x86
    without VNNI: there its uint8 x int8 kernels add pairs of products in int16 and saturate
    (measured here: a 3x3 conv off by 40 output steps). The Simulator makes the same decision
    (Simulator.layer_specs), so evaluate simulates the 7-bit weights deploy writes; a
    reduce_range given here that differs from the Simulator's deploys what it did not simulate.

    Scope "graph" (ModelConfig.activation_scope): every tensor of Simulator.graph_plan gets qviz's
    scale and zero point through TensorQuantOverrides (those sharing another tensor's scale follow
    it in onnxruntime too), so the deployed Q/DQ pairs hold the simulated numbers.
    """
    sim = simulator or Simulator(model, calib_x, reduce_range=reduce_range)
    config, specs, forms, proto, rr = _prepare(sim, config, reduce_range)
    names = {x.id: _locator(proto, x) for x in sim.layers}
    if "qdq" in forms.values():
        overrides = _overrides(proto, sim, config, specs, forms, rr)
        try:
            data = sim.loaded.executor.quantize_static(proto.SerializeToString(), sim.feeds(), overrides)
        except (AssertionError, ValueError, KeyError, IndexError):  # its own checks: e.g. "scale issue"
            raise SpecError(
                "onnxruntime's quantize_static could not quantize this model: a non-finite weight or "
                "activation range is the usual cause"
            ) from None
        proto = onnx.load_model_from_string(data)
    out = _apply_forms(GraphEditor(proto), sim, specs, forms, names)
    onnx.checker.check_model(out, full_check=True)
    return out.SerializeToString()


def deploy_overrides(
    model, config: ModelConfig, calib_x=None, *, simulator: Simulator | None = None, reduce_range: bool | None = None
) -> dict:
    """The exact quantize_static arguments `deploy` uses (the JSON of to_ort_overrides, with
    reduce_range, every activation's scale and zero point from qviz's calibration, and the
    deployed-graph tensors of graph_plan): what `qviz export-config` should write so that

        quantize_static(model, out, reader, **ort_quantize_kwargs(overrides))

    rebuilds qviz's deployed model. Equal bit for bit where deploy keeps onnxruntime's weight
    codes (int8 symmetric per-channel min-max: the engine computes the same codes); deploy's
    own swaps (other estimators, restricted_range, rounding, 7-bit codes, its int32 bias) are
    not expressible in quantize_static's arguments. Node names are those of the model as given
    (deploy names an unnamed layer node first: such a node cannot be excluded by name).
    """
    sim = simulator or Simulator(model, calib_x, reduce_range=reduce_range)
    config, specs, forms, proto, rr = _prepare(sim, config, reduce_range)
    return _overrides(proto, sim, config, specs, forms, rr, exact_weights=True)


def _prepare(sim: Simulator, config: ModelConfig, reduce_range: bool | None):
    """(config as deployed, its specs, each layer's form, the named copy, reduce_range) or SpecError."""
    sim.check_requantization(config)
    rr = reduce_range if reduce_range is not None else sim.reduce_range
    if rr:
        config = _reduced(config, sim.layers)
    problems = deployable(config, sim.layers)
    if problems:
        raise SpecError(f"{len(problems)} layer(s) have no onnxruntime form: " + "; ".join(problems))
    for layer_id in _graph_fallbacks(sim.layers, resolve_layer_specs(sim.layers, config), sim.proto):
        config = config.with_layer(layer_id, replace(config.for_layer(layer_id), activations=None))
    specs = resolve_layer_specs(sim.layers, config)
    forms = {x.id: native_form(x, specs[x.id])[0] for x in sim.layers}
    return config, specs, forms, _named_copy(sim, forms), rr


def _apply_forms(ed: GraphEditor, sim: Simulator, specs: dict, forms: dict, names: dict) -> ModelProto:
    """Engine weights into the QDQ layers, weight-only DequantizeLinear, float16 layers."""
    for layer in sim.layers:
        form = forms[layer.id]
        if form not in ("qdq", "weight_only", "fp16"):
            continue
        path, i = _locate(ed.model, names[layer.id])
        if form == "qdq":
            _engine_weights(ed, i, layer, specs[layer.id], sim)
        elif form == "weight_only":
            _weight_only(ed, path, i, layer, specs[layer.id], sim)
        else:
            _fp16(ed, path, i, layer, sim)
    return ed.finish()


def _reduced(config: ModelConfig, layers: list[Layer]) -> ModelConfig:
    """config with every 8-bit int weights spec of a QDQ layer set to 7 bits."""
    specs = resolve_layer_specs(layers, config)
    for layer in layers:
        s = specs[layer.id]
        if native_form(layer, s)[0] == "qdq" and s.weights is not None and s.weights.bits == 8:
            lc = config.for_layer(layer.id)
            assert lc.weights is not None  # s.weights was resolved from it
            config = config.with_layer(layer.id, replace(lc, weights=lc.weights.replace(bits=7)))
    return config


def _named_copy(sim: Simulator, forms: dict) -> ModelProto:
    """A copy where every layer node and every node holding one in a subgraph has a name unique
    in its graph (quantize_static works by name; `_locate` finds the nodes again after it), and
    QDQ layers read their weight (and bias) as a plain initializer of the type the node reads.

    # NOTE: why plain initializers: quantize_static quantizes a weight only when the node reads
    # an initializer directly. A float16-stored weight behind a Cast (fp16 storage, float32
    # compute) or a Constant node's output would stay float; its values are exact as float32.
    """
    ed = GraphEditor(sim.proto)  # a copy; only names and initializers are added (no node moves)
    m = ed.model
    taken = {n.name for g in iter_graphs(m.graph) for n in g.node if n.name}
    for layer in sim.layers:
        for k in range(len(layer.graph_path)):
            _ensure_name(taken, graph_at(m.graph, layer.graph_path[:k]), layer.graph_path[k][0], "qviz_subgraph")
        _ensure_name(taken, layer_graph(m, layer), layer.position, layer.id)
        if forms[layer.id] == "qdq":
            _plain_initializers(ed, m, layer, sim)
    return ed.finish()


def _ensure_name(taken: set[str], graph: onnx.GraphProto, index: int, base: str) -> None:
    """Name the node `base` (or `base_2`...) unless its name is already unique in its graph."""
    node = graph.node[index]
    if node.name and sum(n.name == node.name for n in graph.node) == 1:
        return
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    taken.add(name)
    node.name = name


def _plain_initializers(ed: GraphEditor, m: ModelProto, layer: Layer, sim: Simulator) -> None:
    node = layer_node(m, layer)
    inits = {t.name for t in m.graph.initializer}
    slots = [(layer.weight_input, layer.weight_name)]
    if layer.bias_name and layer.bias_name in sim.loaded.weights and len(node.input) > 2:
        slots.append((2, layer.bias_name))
    for j, key in slots:
        if node.input[j] in inits:
            continue
        elem = sim.elem_type(node.input[j]) or TensorProto.FLOAT
        x = np.asarray(sim.loaded.weights[key]).astype(helper.tensor_dtype_to_np_dtype(elem))
        node.input[j] = ed.add_initializer(f"{node.input[j]}_plain", x)


def _locator(m: ModelProto, layer: Layer) -> tuple:
    """Names leading to `layer`'s node: (holder name, attribute, index)* then the node's name."""
    steps: list = []
    for k, (index, attr, j) in enumerate(layer.graph_path):
        steps.append((graph_at(m.graph, layer.graph_path[:k]).node[index].name, attr, j))
    return (*steps, layer_node(m, layer).name)


def _locate(m: ModelProto, locator: tuple) -> tuple[GraphPath, int]:
    """(graph path, node index) of a `_locator` in `m` (after quantize_static moved nodes)."""
    *steps, name = locator
    g = m.graph
    path: GraphPath = ()
    for holder, attr, j in steps:
        index = next(i for i, n in enumerate(g.node) if n.name == holder)
        path = (*path, (index, attr, j))
        g = graph_at(m.graph, path)
    return path, next(i for i, n in enumerate(g.node) if n.name == name)


def _overrides(
    proto,
    sim: Simulator,
    config: ModelConfig,
    specs: dict,
    forms: dict,
    reduce_range: bool,
    exact_weights: bool = False,
) -> dict:
    """quantize_static's arguments for the named copy `proto`: the layers' activation qparams and
    the deployed-graph tensors' from qviz's calibration (float16 models: float16 scales)."""
    qparams = {}
    for x in sim.layers:
        if forms[x.id] == "qdq":
            key = sim.activation_key(x)
            assert key is not None  # a qdq layer has an activation input
            scale, zp = sim.qparams(key, specs[x.id].activations)
            if sim.activations()[key].dtype == np.float16:  # a float16 model's scales are float16
                scale = np.asarray(scale).astype(np.float16)
            qparams[x.inputs[0]] = scale, zp
    return to_ort_overrides(
        None,
        config,
        qparams,
        layers=_renamed(proto, sim.layers),
        graph_tensors=graph_overrides(sim, config),
        reduce_range=reduce_range,
        weight_qparams=_weight_qparams(proto, sim, specs, forms) if exact_weights else None,
    )


def _weight_qparams(proto, sim: Simulator, specs: dict, forms: dict) -> dict:
    """{weight name in `proto`: the engine's (scale, zero_point)} of the 8-bit QDQ layers' weights."""
    out = {}
    for x in sim.layers:
        w = specs[x.id].weights
        if forms[x.id] != "qdq" or w is None or w.bits not in (7, 8):
            continue
        r = quantize(np.asarray(sim.loaded.weights[x.weight_name], dtype=np.float32), w)
        out[layer_node(proto, x).input[x.weight_input]] = r.scale, r.zero_point
    return out


def graph_overrides(sim: Simulator, config: ModelConfig) -> dict:
    """{tensor: (scale, zero_point, spec)} of the deployed-graph tensors that own their scale
    (Simulator.graph_plan; float16 tensors' scales as float16): what deploy gives quantize_static."""
    everything = sim.deployed_tensors(sim.excluded_layers(config)).activations
    out = {}
    for t, (spec, scale, zp, dtype, _ndim) in sim.graph_plan(config).items():
        if everything.get(t, t) != t:
            continue  # shares another tensor's scale in onnxruntime (a Reshape's output)
        out[t] = (np.asarray(scale).astype(np.float16) if dtype == np.float16 else scale, zp, spec)
    return out


def _renamed(proto: ModelProto, layers: list[Layer]) -> list[Layer]:
    """The layers with the node names of `proto` (_named_copy), weights as the nodes read them."""
    out = []
    for x in layers:
        node = layer_node(proto, x)
        out.append(replace(x, node_name=node.name, weight_name=node.input[x.weight_input]))
    return out


def _producer(ed: GraphEditor, name: str):
    return next((n for n in ed.nodes if name in n.output), None)


def _inits(ed: GraphEditor) -> dict[str, TensorProto]:
    return {t.name: t for t in ed.model.graph.initializer}


def _replace_init(ed: GraphEditor, name: str, x: npt.ArrayLike) -> None:
    """Put `x` in initializer `name`, in its stored type when that is a float (float16 scales
    of a float16 model stay float16)."""
    t = _inits(ed)[name]
    x = np.asarray(x)
    if x.dtype.kind == "f" and t.data_type in (TensorProto.FLOAT16, TensorProto.FLOAT):
        x = x.astype(helper.tensor_dtype_to_np_dtype(t.data_type))
    t.CopyFrom(onnx.numpy_helper.from_array(x, name))


def _engine_weights(ed: GraphEditor, i: int, layer: Layer, s: LayerSpecs, sim: Simulator) -> None:
    """Swap onnxruntime's weight codes/scales for the engine's; re-quantize the int32 bias."""
    node = ed.nodes[i]
    dq = _producer(ed, node.input[layer.weight_input])
    if dq is None or dq.op_type != "DequantizeLinear":
        return
    assert s.weights is not None  # form "qdq" (native_form)
    r = quantize(np.asarray(sim.loaded.weights[layer.weight_name], dtype=np.float32), s.weights)
    assert r.q is not None and r.scale is not None  # scheme=int
    qdtype: npt.DTypeLike | None = (
        helper.tensor_dtype_to_np_dtype(ONNX_INT[(s.weights.bits, s.weights.signed)]) if s.weights.bits == 8 else None
    )
    if s.weights.bits == 7:
        qdtype = np.int8 if s.weights.signed else np.uint8
    if qdtype is None:
        return  # NOTE: 4-bit codes stay onnxruntime's (its int4 packing); only 8-bit codes are swapped
    q, scale = r.q, r.scale
    x_scale = _input_scale(ed, node)
    if layer.bias_name and len(node.input) > 2 and node.input[2] and x_scale is not None:
        w = np.asarray(sim.loaded.weights[layer.weight_name], dtype=np.float32)
        b = np.asarray(sim.loaded.weights[layer.bias_name], dtype=np.float32)
        q, scale = int32_bias_scales(w, q, np.asarray(scale), np.asarray(r.zero_point), b, x_scale, s.weights)
    _replace_init(ed, dq.input[0], q.astype(qdtype))
    _replace_init(
        ed,
        dq.input[1],
        np.asarray(scale, np.float32).reshape(-1) if s.weights.granularity == "channel" else np.float32(scale),
    )
    _replace_init(ed, dq.input[2], np.asarray(r.zero_point).astype(qdtype).reshape(np.shape(r.scale)))
    _set_axis(dq, s.weights.axis if s.weights.granularity == "channel" else None)
    if layer.bias_name and len(node.input) > 2 and node.input[2]:
        _requantize_bias(ed, node, layer, scale, sim)


def _input_scale(ed: GraphEditor, node) -> float | None:
    """The scale of the layer's quantized activation input (its DequantizeLinear), if it has one."""
    xdq = _producer(ed, node.input[0])
    if xdq is None or xdq.op_type != "DequantizeLinear":
        return None
    return float(inline_array(_inits(ed)[xdq.input[1]]).reshape(-1)[0])


def int32_bias_scales(w, q, scale, zero_point, b, x_scale: float, spec) -> tuple[np.ndarray, np.ndarray]:
    """Weight codes and scales whose bias fits int32: |b| / (x_scale * w_scale) <= 2**31 - 1.

    The int32 bias of a QDQ layer is b / (x_scale * w_scale). A near-dead channel (w_scale about
    1e-9, found in a real EfficientNet's depthwise layers) with a bias of about 1 needs about 4e10
    there: clipped, the bias shrinks to a few hundredths. As onnxruntime's quantizer does, such a
    channel's weight scale is raised to the smallest one that holds its bias; its codes are
    re-rounded on that coarser grid (its weights are tiny, so it changes the output far less than
    a clipped bias). Other channels keep the engine's codes exactly.

        >>> from qviz.quant import QuantSpec
        >>> spec = QuantSpec(bits=8, granularity="channel", axis=0)
        >>> w = np.array([[1.0, -0.5], [1e-9, 2e-9]], np.float32)
        >>> scale = np.array([[1 / 127.5], [2e-9 / 127.5]]); q = np.rint(w / scale)
        >>> q2, s2 = int32_bias_scales(w, q, scale, np.zeros((2, 1)), np.array([0.1, 1.0]), 0.02, spec)
        >>> q2[0].tolist() == q[0].tolist(), bool(s2[1, 0] > scale[1, 0]), q2[1].tolist()
        (True, True, [0.0, 0.0])
    """
    flat = np.asarray(scale, np.float64).reshape(-1)
    need = np.abs(np.asarray(b, np.float64)).reshape(-1) / (x_scale * float(np.iinfo(np.int32).max))
    if flat.size == 1:
        need = need.max(keepdims=True)
    low = flat < need
    if not low.any():
        return q, scale
    new_scale = np.where(low, np.nextafter(need.astype(np.float32), np.float32(np.inf)), flat).astype(np.float32)
    along = [1] * np.ndim(w)
    if flat.size > 1:
        along[spec.axis] = -1  # per channel: broadcast along the weight's channel axis
    zp = np.asarray(zero_point).reshape(-1).reshape(along) if np.size(zero_point) > 1 else zero_point
    requantized = np.clip(np.rint(w / new_scale.reshape(along)) + zp, spec.qmin, spec.qmax)
    return np.where(low.reshape(along), requantized, q), new_scale.reshape(np.shape(scale))


def _set_axis(node, axis) -> None:
    keep = [a for a in node.attribute if a.name != "axis"]
    del node.attribute[:]
    node.attribute.extend(keep)
    if axis is not None:
        node.attribute.append(helper.make_attribute("axis", axis))


def _requantize_bias(ed: GraphEditor, node, layer: Layer, w_scale, sim: Simulator) -> None:
    bdq = _producer(ed, node.input[2])
    xdq = _producer(ed, node.input[0])
    if bdq is None or xdq is None or bdq.op_type != "DequantizeLinear" or xdq.op_type != "DequantizeLinear":
        return
    assert layer.bias_name is not None  # the caller checked
    inits = _inits(ed)
    x_scale = inline_array(inits[xdq.input[1]]).astype(np.float32)
    stored = helper.tensor_dtype_to_np_dtype(inits[bdq.input[1]].data_type)  # float16 in a float16 model
    b_scale = (x_scale * np.asarray(w_scale, np.float32).reshape(-1)).astype(stored).astype(np.float32)
    b = np.asarray(sim.loaded.weights[layer.bias_name], dtype=np.float32)
    limit = np.iinfo(np.int32)
    q = np.clip(np.rint(b.astype(np.float64) / b_scale), limit.min, limit.max).astype(
        np.int32
    )  # float64: 2**31-1 is exact
    _replace_init(ed, bdq.input[0], q)
    _replace_init(ed, bdq.input[1], b_scale if b_scale.size > 1 else b_scale.reshape(()))
    if len(bdq.input) > 2 and bdq.input[2]:
        _replace_init(ed, bdq.input[2], np.zeros(b_scale.shape if b_scale.size > 1 else (), np.int32))


def _weight_only(ed: GraphEditor, path: GraphPath, i: int, layer: Layer, s: LayerSpecs, sim: Simulator) -> None:
    """Integer weights behind a DequantizeLinear (per tensor, per channel or blocked), in the
    graph holding the node (`path`: an If branch or a Loop body keeps its own)."""
    w = s.weights
    assert w is not None  # form "weight_only" (native_form)
    if (w.bits == 4 or w.granularity == "group") and onnx_opset(ed.model) < 21:
        raise SpecError(
            f"layer {layer.id!r}: int4 or group-wise weights need opset >= 21; the model has {onnx_opset(ed.model)}"
        )
    r = quantize(np.asarray(sim.loaded.weights[layer.weight_name], dtype=np.float32), w)
    assert r.q is not None  # scheme=int
    node = ed.graph(path).node[i]
    elem = sim.elem_type(node.input[layer.weight_input], layer.graph_path) or TensorProto.FLOAT
    qtype = ONNX_INT[(w.bits, w.signed)]
    base = node.input[layer.weight_input]
    q = ed.add_tensor(int_tensor(f"{base}_q", qtype, r.q), path)
    zp = ed.add_tensor(int_tensor(f"{base}_zp", qtype, np.asarray(r.zero_point)), path)
    scale = ed.add_initializer(f"{base}_scale", np.asarray(r.scale).astype(helper.tensor_dtype_to_np_dtype(elem)), path)
    out = ed.unique(f"{base}_dq")
    attrs: dict[str, Any] = {} if w.granularity == "tensor" else {"axis": w.axis}
    if w.granularity == "group":
        attrs["block_size"] = w.group_size
    dq = helper.make_node("DequantizeLinear", [q, scale, zp], [out], name=ed.unique(out), **attrs)
    ed.insert_before(i, [dq], path)
    ed.set_input(i, layer.weight_input, out, path)


def int_tensor(name: str, qtype: int, q: np.ndarray) -> TensorProto:
    """An int8/uint8/int4/uint4 TensorProto from int codes, stored as raw bytes.

    4-bit codes are packed two per byte, low nibble first (the ONNX layout); an odd count
    leaves the last high nibble 0.
    """
    if qtype in (TensorProto.INT4, TensorProto.UINT4):
        nib = (q.reshape(-1) & 0x0F).astype(np.uint8)
        nib = np.concatenate([nib, np.zeros(nib.size % 2, np.uint8)])
        packed = nib[0::2] | (nib[1::2] << 4)
        return helper.make_tensor(name, qtype, q.shape, packed.tobytes(), raw=True)
    return onnx.numpy_helper.from_array(q.astype(helper.tensor_dtype_to_np_dtype(qtype)), name)


def _fp16(ed: GraphEditor, path: GraphPath, i: int, layer: Layer, sim: Simulator) -> None:
    """Run the op in float16: Cast the activation in, fp16 weight and bias, Cast the output back."""
    node = ed.graph(path).node[i]
    if sim.elem_type(node.input[layer.weight_input], layer.graph_path) == TensorProto.FLOAT16:
        return  # already a float16 op
    w = np.asarray(sim.loaded.weights[layer.weight_name], dtype=np.float32)
    base = node.input[layer.weight_input]
    ed.set_input(i, layer.weight_input, ed.add_initializer(f"{base}_fp16", w.astype(np.float16), path), path)
    if layer.bias_name and layer.bias_name in sim.loaded.weights and len(node.input) > 2:
        b = np.asarray(sim.loaded.weights[layer.bias_name], dtype=np.float32).astype(np.float16)
        ed.set_input(i, 2, ed.add_initializer(f"{node.input[2]}_fp16", b, path), path)
    x16 = ed.unique(f"{layer.inputs[0]}_fp16")
    cast_in = helper.make_node("Cast", [layer.inputs[0]], [x16], name=ed.unique(x16), to=TensorProto.FLOAT16)
    ed.insert_before(i, [cast_in], path)
    for j, name in enumerate(node.input):
        if name == layer.inputs[0]:
            ed.set_input(i, j, x16, path)
    y, y16 = node.output[0], ed.unique(f"{node.output[0]}_fp16")
    node.output[0] = y16
    cast_out = helper.make_node("Cast", [y16], [y], name=ed.unique(f"{y}_cast"), to=TensorProto.FLOAT)
    ed.insert_before(i + 1, [cast_out], path)
