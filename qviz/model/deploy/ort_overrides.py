"""Exports of a config: onnxruntime quantize_static overrides, a per-layer CSV.

    >>> from qviz.config import PRESETS
    >>> from qviz.samples import load_sample
    >>> ov = to_ort_overrides(load_sample("digits_cnn").model_bytes, PRESETS["w8a8"])   # JSON-friendly dict
    >>> ov["activation_type"], ov["weight_type"], ov["per_channel"], ov["nodes_to_exclude"]
    ('QUInt8', 'QInt8', True, [])
    >>> ov["extra_options"]["TensorQuantOverrides"]["features.0.weight"]
    [{'quant_type': 'QInt8', 'symmetric': True, 'axis': 0}]

`json.dump(ov, f)` is what `qviz export-config` writes; onnxruntime's quantizer takes it as

    quantize_static(m_in, m_out, reader, **ort_quantize_kwargs(ov))

The dict holds what quantize_static takes: `activation_type`, `weight_type`, `per_channel`,
`nodes_to_exclude` and `extra_options.TensorQuantOverrides` ({tensor: [{"quant_type": ...}]}),
with QuantType *names* ("QInt8") so it is JSON; `qviz.model.runtime.ort_quantizer.ort_quantize_kwargs` turns them into
QuantType values (quantize_static needs the enum) and scales into numpy float32.

Per layer (see native.native_form): a `qdq` layer gets overrides on its weight
(quant_type, symmetric, axis when per-channel; or the engine's scale/zero_point per channel when
`weight_qparams` are given) and on its activation input (quant_type; plus the exact
scale/zero_point when `qparams` from calibration are given); every other layer goes into
nodes_to_exclude (float, fp16, weight-only, no native form — `notes` says which and why).
Model-level: `reduce_range` (7-bit weights, deployed_graph.needs_reduce_range),
`extra_options.ActivationSymmetric` / `WeightSymmetric`, and the deployed-graph tensors
(`graph_tensors`: Add, Mul, Softmax... outputs, qviz.model.simulate.deployed_graph) with their
scale/zero_point. op_types_to_quantize is left to onnxruntime's default (every registry op:
what deployed_graph's dry run uses). deployable.deploy_overrides fills all of it from a
Simulator: the arguments deploy itself gives quantize_static.

# NOTE: nodes_to_exclude holds node names. An unnamed layer node cannot be named there:
# it is left out with a note (qviz's deploy names such nodes first).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from typing import Any

import numpy as np

from qviz.config import ModelConfig
from qviz.model.deploy.native import native_form, ort_type
from qviz.model.load.layer_table import Layer, layer_table
from qviz.model.simulate.resolve import LayerSpecs, resolve_layer_specs
from qviz.model.simulate.simulator import as_loaded

CSV_COLUMNS = [
    "id",
    "op_type",
    "weight_name",
    "weight_shape",
    "params",
    "weights",
    "activations",
    "dynamic",
    "deploy_form",
    "note",
]


def to_ort_overrides(
    model,
    config: ModelConfig,
    qparams: dict | None = None,
    layers: list[Layer] | None = None,
    *,
    graph_tensors: dict | None = None,
    reduce_range: bool = False,
    weight_qparams: dict | None = None,
) -> dict:
    """quantize_static arguments for `config` (module doc); qparams: {tensor: (scale, zero_point)}
    of the layers' inputs; graph_tensors: {tensor: (scale, zero_point, spec)} of the other tensors
    the deployed graph quantizes (deployable.graph_overrides); weight_qparams: {weight name:
    (scale, zero_point)} of the engine's codes (per channel: one override per channel)."""
    layers = layers if layers is not None else layer_table(as_loaded(model))
    specs = resolve_layer_specs(layers, config)
    overrides: dict[str, list[dict[str, Any]]] = {}
    exclude: list[str] = []
    notes: list[str] = []
    act_types: Counter[str] = Counter()
    for layer in layers:
        form, problem = native_form(layer, specs[layer.id])
        if form != "qdq":
            if form != "already":
                _exclude(layer, form, problem, exclude, notes)
            continue
        w, a = specs[layer.id].weights, specs[layer.id].activations
        assert w is not None and a is not None  # form "qdq": both are quantized (native_form)
        overrides[layer.weight_name] = _weight_override(w, (weight_qparams or {}).get(layer.weight_name))
        overrides[layer.inputs[0]] = [_act_override(a, (qparams or {}).get(layer.inputs[0]))]
        act_types[ort_type(a)] += 1
    for t, (scale, zp, spec) in (graph_tensors or {}).items():
        if t not in overrides:
            overrides[t] = [_act_override(spec, (scale, zp))]
    a_default = config.default.activations
    return {
        "activation_type": act_types.most_common(1)[0][0] if act_types else "QUInt8",
        "weight_type": "QInt8",
        "per_channel": True,
        "reduce_range": bool(reduce_range),
        "nodes_to_exclude": exclude,
        "extra_options": {
            "TensorQuantOverrides": overrides,
            "ActivationSymmetric": bool(a_default is not None and a_default.symmetric),
            "WeightSymmetric": True,
        },
        "notes": notes,
    }


def _exclude(layer: Layer, form, problem: str, exclude: list, notes: list) -> None:
    why = (
        problem
        or {
            "float": "float",
            "fp16": "float16 (not an onnxruntime quantization type)",
            "weight_only": "weight-only (quantize_static quantizes activations too)",
        }[form]
    )
    if layer.node_name:
        exclude.append(layer.node_name)
        notes.append(f"{layer.id}: excluded: {why}")
    else:
        notes.append(f"{layer.id}: unnamed node, cannot be excluded by name ({why})")


def _weight_override(w, qp=None) -> list[dict]:
    """The weight's override: its type, symmetry and axis; with the engine's (scale, zero_point)
    those instead of symmetry, one dict per channel (onnxruntime then quantizes with them)."""
    if qp is None:
        d: dict[str, Any] = {"quant_type": ort_type(w), "symmetric": w.symmetric}
        return [{**d, "axis": w.axis} if w.granularity == "channel" else d]
    d = {"quant_type": ort_type(w)}
    if w.granularity == "channel":
        d["axis"] = w.axis
    scales, zps = np.asarray(qp[0], np.float32).reshape(-1), np.asarray(qp[1]).reshape(-1)
    items = [{"scale": float(s), "zero_point": int(z)} for s, z in zip(scales, zps, strict=True)]
    items[0].update(d)
    return items


def _act_override(a, qp) -> dict:
    d: dict[str, Any] = {"quant_type": ort_type(a)}
    if qp is not None:
        d["scale"], d["zero_point"] = float(np.asarray(qp[0]).reshape(())), int(np.asarray(qp[1]).reshape(()))
        if np.asarray(qp[0]).dtype == np.float16:  # a float16 tensor: onnxruntime wants a float16 scale
            d["scale_dtype"] = "float16"
    else:
        d["symmetric"] = a.symmetric
    return d


def layers_csv(model, config: ModelConfig, layers: list[Layer] | None = None) -> str:
    """One CSV row per layer: shape, resolved specs (compact), deploy form, notes."""
    layers = layers if layers is not None else layer_table(as_loaded(model))
    specs = resolve_layer_specs(layers, config)
    buf = io.StringIO()
    # NOTE: CRLF rows (RFC 4180): the writer then quotes a cell holding CR or LF (a node name
    # can), which it does not do for a bare CR with lineterminator "\n".
    out = csv.writer(buf, lineterminator="\r\n")
    out.writerow(CSV_COLUMNS)
    for layer in layers:
        out.writerow(_csv_row(layer, specs[layer.id]))
    return buf.getvalue()


def _csv_row(layer: Layer, s: LayerSpecs) -> list:
    form, problem = native_form(layer, s)
    row = [
        layer.id,
        layer.op_type,
        layer.weight_name,
        "x".join(map(str, layer.weight_shape)),
        layer.params,
        describe_spec(s.weights),
        describe_spec(s.activations),
        s.dynamic,
        form or "none",
        "; ".join(x for x in (s.note, problem) if x),
    ]
    return [csv_cell(x) for x in row]


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """A CSV cell a spreadsheet shows as text: a string starting with = + - @ tab or CR gets a
    leading apostrophe ('=1+2 stays text instead of becoming a formula). Non-strings unchanged.

    # NOTE: layer ids and weight names come from the uploaded model: a node named
    # '=HYPERLINK(...)' would otherwise run as a formula when the CSV is opened.
    """
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def describe_spec(spec) -> str:
    """A short human label: 'int8 sym channel(axis 0)', 'int4 sym group32(axis 1)', 'float16', 'float'."""
    if spec is None:
        return "float"
    if spec.scheme == "float":
        return spec.float_format
    kind = {
        "int": f"{'int' if spec.signed else 'uint'}{spec.bits}",
        "fixed_point": f"fixed{spec.bits}.{spec.frac_bits}",
    }
    head = kind.get(spec.scheme, f"{spec.scheme}{spec.bits}")
    gran = {
        "tensor": "tensor",
        "channel": f"channel(axis {spec.axis})",
        "group": f"group{spec.group_size}(axis {spec.axis})",
    }[spec.granularity]
    return f"{head} {'sym' if spec.symmetric else 'asym'} {gran} {spec.estimator}"
