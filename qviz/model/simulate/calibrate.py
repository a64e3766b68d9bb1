"""Calibration: run the float model on sample inputs, keep the tensors a config quantizes.

    >>> from qviz.model import layer_table, load_model
    >>> from qviz.samples import load_sample
    >>> sample = load_sample("digits_cnn")
    >>> loaded = load_model(sample.model_bytes)
    >>> feeds = calibration_feeds(loaded.model, sample.calibration.x)   # ndarray, dict or list of feed dicts
    >>> len(feeds), feeds[0]["input"].shape             # 200 rows in batches of 64
    (4, (64, 1, 8, 8))
    >>> h = layer_table(loaded)[1].inputs[0]             # the second Conv's input: a ReLU output
    >>> acts = collect_tensors(loaded.model, [h], feeds)     # {name: all batches, concatenated}
    >>> acts[h].shape, round(float(acts[h].min()), 3), round(float(acts[h].max()), 3)
    ((200, 16, 8, 8), 0.0, 4.534)
    >>> from qviz.quant import QuantSpec
    >>> scale, zero_point = activation_qparams(acts[h], QuantSpec(bits=8, signed=False, symmetric=False))
    >>> round(float(scale) * 255, 3), int(zero_point)    # uint8 over [0, 4.534]: the engine's qparams
    (4.534, 0)

`calib` may be: one array (a single-input model; split along axis 0 in batches), a dict
{input name: array} (split the same way), or a list of feed dicts (used as given).
Batching: qviz.model.load.batches (a fixed batch dimension, e.g. 1 or 4, is respected and its
last chunk padded; 0-d inputs such as a sample rate go to every feed).

Generated inputs (a user model without calibration data): `n` feeds of one row each from
qviz.model.load.generated_inputs.generated_inputs (seeded standard-normal values) with every dynamic
dimension set to 1 (the Simulator passes a larger size when the model needs one:
qviz.model.load.model_inputs.fitting_dim). Ranges from them are only a placeholder: the CLI warns when it uses them.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import ModelProto

from qviz.model.load.batches import Batches, split_batches
from qviz.model.load.generated_inputs import generated_inputs
from qviz.model.load.loader import tensor_info
from qviz.model.load.model_inputs import index_limits
from qviz.model.load.normalize import onnx_opset
from qviz.model.runtime.executor import LOCAL
from qviz.model.runtime.session import run_session
from qviz.quant.granularity import rows_to_params, to_groups
from qviz.quant.qparams import qparams_from_range
from qviz.quant.ranges import estimate_range
from qviz.quant.spec import QuantSpec, SpecError


def calibration_feeds(model: ModelProto, calib) -> list[dict[str, np.ndarray]]:
    """Normalize `calib` into a list of feed dicts (rules in the module doc)."""
    return calib if isinstance(calib, list) else calibration_batches(model, calib).feeds


def calibration_batches(model: ModelProto, calib) -> Batches:
    """`calib` (one array or a dict of arrays) split into Batches (qviz.model.load.batches)."""
    inputs = _graph_inputs(model)
    if isinstance(calib, np.ndarray):
        if len(inputs) != 1:
            raise SpecError(
                f"calibration data is one array but the model has {len(inputs)} inputs "
                f"({', '.join(v.name for v in inputs)}): pass a dict of arrays"
            )
        calib = {inputs[0].name: calib}
    if not isinstance(calib, dict):
        raise SpecError(
            f"calibration data must be an array, a dict of arrays or a list of feeds; got {type(calib).__name__}"
        )
    missing = [v.name for v in inputs if v.name not in calib]
    if missing:
        raise SpecError(f"calibration data has no array for input(s) {', '.join(missing)}")
    infos = [tensor_info(v) for v in inputs]
    return split_batches(infos, {v.name: np.asarray(calib[v.name]) for v in inputs})


def _graph_inputs(model: ModelProto):
    inits = {t.name for t in model.graph.initializer}
    return [v for v in model.graph.input if v.name not in inits]


def generated_feeds(model: ModelProto, n: int = 8, seed: int = 0, dim_default: int = 1) -> list[dict[str, np.ndarray]]:
    """`n` feeds of seeded generated values, dynamic dims -> `dim_default` (see module doc);
    integer inputs within the Gathers they index (qviz.model.load.model_inputs.index_limits)."""
    rng = np.random.default_rng(seed)
    infos = [tensor_info(v) for v in _graph_inputs(model)]
    high = index_limits(model)
    return [generated_inputs(infos, rows=1, seed=rng, dim_default=dim_default, high=high) for _ in range(n)]


def with_outputs(model: ModelProto, names: list[str]) -> bytes:
    """The model's bytes with `names` added as graph outputs (the ones it does not output already)."""
    m = ModelProto()
    m.CopyFrom(model)
    outputs = {v.name for v in m.graph.output}
    m.graph.output.extend(onnx.ValueInfoProto(name=x) for x in names if x not in outputs)
    return m.SerializeToString()


def collect_tensors(model: ModelProto, names, feeds: list[dict], executor=LOCAL) -> dict[str, np.ndarray]:
    """Run the float model once per feed with `names` added as outputs; concatenate on axis 0.
    `executor`: where the session runs (the loaded model's; default this process)."""
    names = list(dict.fromkeys(names))
    if not names or not feeds:
        return {}
    sess = executor.session(with_outputs(model, names))
    parts: dict[str, list] = {x: [] for x in names}
    for feed in feeds:
        for name, value in zip(names, run_session(sess, names, feed), strict=True):
            parts[name].append(value)
    return {x: np.concatenate(v, axis=0) if v[0].ndim else np.stack(v) for x, v in parts.items()}


RANGE_OPSET = 10  # IsInf; older models fetch the tensors instead (normalize upgrades most of them)
FLOAT32_MAX = float(np.finfo(np.float32).max)


def collect_ranges(model: ModelProto, names, feeds: list[dict], executor=LOCAL) -> dict[str, tuple]:
    """{name: (lo, hi, dtype, ndim)} of `names` over every feed: the running min and max (float32)
    of each tensor. Non-finite values are ignored; a tensor that is never finite gets (0, 0).

    The min and max are taken inside onnxruntime (range_outputs: four small outputs per tensor),
    never by fetching the tensors: a model's every activation would not fit (yolov8n at 320 x 320,
    24 images: 394 MiB per run, over an upload worker's reply limit).
    """
    names = list(dict.fromkeys(names))
    if not names or not feeds:
        return {}
    if onnx_opset(model) < RANGE_OPSET:
        return _fetched_ranges(model, names, feeds, executor)
    data, fetch = range_outputs(model, names)
    sess = executor.session(data)
    out: dict[str, tuple] = {}
    for feed in feeds:
        values = run_session(sess, fetch, feed)
        for k, name in enumerate(names):
            lo, hi, native, shape = (np.asarray(v) for v in values[4 * k : 4 * k + 4])
            if native.dtype.kind != "f":
                continue
            lo_f, hi_f = (float(lo), float(hi)) if float(lo) <= float(hi) else (0.0, 0.0)  # nothing finite
            if name in out:
                lo_f, hi_f = min(lo_f, out[name][0]), max(hi_f, out[name][1])
            out[name] = (lo_f, hi_f, native.dtype, int(shape.size))
    return out


def range_outputs(model: ModelProto, names: list[str]) -> tuple[bytes, list[str]]:
    """The model with, per tensor x of `names`, four outputs: the min and the max of its finite
    values (float32 scalars; +-float32 max stand in for non-finite ones, so min > max says "none"),
    a scalar of x's own type (its dtype) and Shape(x) (its rank)."""
    m = ModelProto()
    m.CopyFrom(model)
    g = m.graph
    g.initializer.extend(
        [
            onnx.numpy_helper.from_array(np.array(FLOAT32_MAX, np.float32), "qviz_range_big"),
            onnx.numpy_helper.from_array(np.array(-FLOAT32_MAX, np.float32), "qviz_range_small"),
        ]
    )
    fetch = []
    for k, x in enumerate(names):
        p = f"qviz_range_{k}"
        f, bad = f"{p}_f", f"{p}_bad"
        g.node.extend(
            [
                onnx.helper.make_node("Cast", [x], [f], name=f, to=onnx.TensorProto.FLOAT),
                onnx.helper.make_node("IsNaN", [f], [f"{p}_nan"], name=f"{p}_nan"),
                onnx.helper.make_node("IsInf", [f], [f"{p}_inf"], name=f"{p}_inf"),
                onnx.helper.make_node("Or", [f"{p}_nan", f"{p}_inf"], [bad], name=bad),
                onnx.helper.make_node("Where", [bad, "qviz_range_big", f], [f"{p}_for_lo"], name=f"{p}_for_lo"),
                onnx.helper.make_node("Where", [bad, "qviz_range_small", f], [f"{p}_for_hi"], name=f"{p}_for_hi"),
                onnx.helper.make_node("ReduceMin", [f"{p}_for_lo"], [f"{p}_lo"], name=f"{p}_lo", keepdims=0),
                onnx.helper.make_node("ReduceMax", [f"{p}_for_hi"], [f"{p}_hi"], name=f"{p}_hi", keepdims=0),
                onnx.helper.make_node("ReduceMax", [x], [f"{p}_native"], name=f"{p}_native", keepdims=0),
                onnx.helper.make_node("Shape", [x], [f"{p}_shape"], name=f"{p}_shape"),
            ]
        )
        outs = [f"{p}_lo", f"{p}_hi", f"{p}_native", f"{p}_shape"]
        g.output.extend(onnx.ValueInfoProto(name=o) for o in outs)
        fetch += outs
    return m.SerializeToString(), fetch


def _fetched_ranges(model: ModelProto, names: list[str], feeds: list[dict], executor) -> dict[str, tuple]:
    """collect_ranges by fetching each tensor (models below RANGE_OPSET)."""
    sess = executor.session(with_outputs(model, names))
    out: dict[str, tuple] = {}
    for feed in feeds:
        for name, value in zip(names, run_session(sess, names, feed), strict=True):
            x = np.asarray(value)
            if x.dtype.kind != "f":
                continue
            finite = x[np.isfinite(x)]
            lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
            if name in out:
                lo, hi = min(lo, out[name][0]), max(hi, out[name][1])
            out[name] = (lo, hi, x.dtype, x.ndim)
    return out


def activation_qparams(x: np.ndarray, spec: QuantSpec) -> tuple[np.ndarray | np.generic, np.ndarray | np.generic]:
    """(scale float32, zero_point int32) for a static activation, ONNX layout (scalar or [C]).

    scheme=int: spec.estimator on the calibration tensor (per tensor or per channel of
    spec.axis), then qparams_from_range (0 inside the range, symmetric rules, scale >= tiny).
    scheme=fixed_point: scale 2**-frac_bits, zero point 0 (the format fixes the range).
    """
    if spec.scheme == "fixed_point":
        return np.float32(2.0**-spec.frac_bits), np.int32(0)
    if spec.scheme != "int":
        raise SpecError(f"activation_qparams needs scheme int or fixed_point; got {spec.scheme}")
    x = np.asarray(x, dtype=np.float32)
    lo, hi = estimate_range(to_groups(x, spec.granularity, spec.axis), spec)
    lo, hi = (np.nan_to_num(v, nan=0.0, posinf=0.0, neginf=0.0) for v in (lo, hi))
    scale, zp = qparams_from_range(lo, hi, spec.qmin, spec.qmax, spec.symmetric, spec.pow2_scale)
    if spec.granularity == "tensor":
        return scale.reshape(()), zp.reshape(())
    return rows_to_params(scale, x.shape, "channel", spec.axis), rows_to_params(zp, x.shape, "channel", spec.axis)
