"""The Learn page's integer-only walkthrough and its 'predict, then reveal' exercises.

Session-state keys:
    io_image, io_per_channel     the walkthrough's input image (calibration split) and weight granularity
    ex_<key>_answer              the learner's pick (option index) for exercise <key>
    ex_<key>_revealed            True once "Reveal" was pressed (a new pick hides it again)

The layer is any plain Gemm / MatMul (x @ W) of the current model, fed with its real input on
the calibration data; x's range is that input's min/max and y's the float layer output's min/max
over the same data (what a calibrator would measure). One row of the input is walked through.
"""

from __future__ import annotations

import numpy as np
import onnx
import streamlit as st

from qviz.lessons.integer_only import integer_gemm
from qviz.lessons.exercises import EXERCISES_BY_KEY, exercise_tensor, reveal
from qviz.model import Layer, WeightStore
from qviz.model.runtime.qlinear import qlinear_conv_1x1, qlinear_matmul
from qviz.samples import load_sample
from qviz.ui.models import CurrentModel

DW_SAMPLE, DW_WEIGHT = "digits_mobilenet", "features.3.block.0.weight"
IMAGE_KEY, PER_CHANNEL_KEY, LAYER_KEY = "io_image", "io_per_channel", "io_layer"
SHOWN = 8  # rows/columns of the small tables


def init_intonly_state() -> None:
    st.session_state.setdefault(IMAGE_KEY, 0)
    st.session_state.setdefault(PER_CHANNEL_KEY, False)


@st.cache_resource(show_spinner=False)
def _weights(sample_id: str) -> WeightStore:
    return WeightStore(onnx.load_model_from_string(load_sample(sample_id).model_bytes).graph)


def _plain_matmul(model: CurrentModel, layer: Layer) -> bool:
    """y = x @ W (+ b): a Gemm without transA/alpha/beta, or a MatMul whose weight is the right operand."""
    if layer.op_type not in ("Gemm", "MatMul") or layer.domain or layer.quantized or layer.weight_input != 1:
        return False
    if len(layer.weight_shape) != 2 or not layer.weight_dtype.startswith("float"):
        return False
    attrs = {
        a.name: onnx.helper.get_attribute_value(a) for a in model.loaded.model.graph.node[layer.position].attribute
    }
    return attrs.get("transA", 0) == 0 and attrs.get("alpha", 1.0) == 1.0 and attrs.get("beta", 1.0) == 1.0


def walk_layers(model: CurrentModel) -> list[str]:
    """Ids of the layers the walkthrough can run (module docstring)."""
    return [x.id for x in model.layers if _plain_matmul(model, x)]


def _layer_arrays(model: CurrentModel, layer: Layer):
    """(W [out, in], b [out] or None, every input row [n, in]) of a plain Gemm / MatMul."""
    w = np.asarray(model.loaded.weights[layer.weight_name], dtype=np.float32)
    w = w.T if layer.channel_axis == 1 else w  # Gemm transB=0 and MatMul store W as [in, out]
    b = model.loaded.weights[layer.bias_name] if layer.bias_name else None
    b = np.asarray(b, dtype=np.float32) if b is not None and np.shape(b) == (w.shape[0],) else None
    rows = np.asarray(model.simulator.activations()[layer.inputs[0]], dtype=np.float32).reshape(-1, w.shape[1])
    return w, b, rows


def row_count(model: CurrentModel, layer_id: str) -> int:
    layer = next(x for x in model.layers if x.id == layer_id)
    return len(_layer_arrays(model, layer)[2])


@st.cache_data(max_entries=64, show_spinner=False)
def _walkthrough(
    model_sha: str, data_key: str, layer_id: str, row: int, per_channel: bool, _model: CurrentModel
) -> dict:
    layer = next(x for x in _model.layers if x.id == layer_id)
    w, b, rows = _layer_arrays(_model, layer)
    y_all = rows @ w.T + (0 if b is None else b)
    x_range, y_range = (float(rows.min()), float(rows.max())), (float(y_all.min()), float(y_all.max()))
    bare = integer_gemm(rows[row], w, None, x_range, y_range, per_channel)
    r = integer_gemm(rows[row], w, b, x_range, y_range, per_channel)
    return {
        "r": r,
        "matmul_same": int(np.count_nonzero(qlinear_matmul(bare) == bare.y_q)),
        "conv_same": int(np.count_nonzero(qlinear_conv_1x1(r) == r.y_q)),
        "n": int(r.y_q.size),
        "layer": f"{layer.op_type} {tuple(w.shape)} · {len(rows)} input rows",
    }


def walkthrough(model: CurrentModel, layer_id: str, row: int, per_channel: bool) -> dict:
    """integer_gemm on one input row of the layer + onnxruntime's QLinearMatMul / QLinearConv on the same codes
    (cached by model hash, data, layer, row and granularity)."""
    return _walkthrough(model.sha256, model.data_key, layer_id, row, per_channel, model)


def input_table(r) -> dict:
    return {
        "k": list(range(SHOWN)),
        "x_q": r.x_q[0, :SHOWN].tolist(),
        "x_q - zx": (r.x_q[0, :SHOWN].astype(int) - r.zx).tolist(),
    }


def weight_table(r) -> dict:
    return {f"k={j}": r.w_q[:SHOWN, j].tolist() for j in range(SHOWN)}


def output_table(r) -> dict:
    """The first outputs: accumulator, both requantizations, dequantized vs float."""
    n = slice(0, SHOWN)
    return {
        "acc (int32)": r.acc[0, n].tolist(),
        "y_q": r.y_q[0, n].tolist(),
        "y_q fixed": r.y_q_fixed[0, n].tolist(),
        "y_dq": np.round(r.y_dq[0, n], 4).tolist(),
        "y float": np.round(r.y_float[0, n], 4).tolist(),
    }


def multiplier_rows(r) -> dict:
    """M (float64), the float32 M onnxruntime uses, M0, n, and M0 * 2**-31 * 2**-n, for the first channels."""
    n = slice(0, SHOWN if r.m.size > 1 else 1)
    back = r.m0[n].astype(np.float64) * 2.0**-31 * 2.0 ** (-r.shift[n].astype(np.float64))
    return {
        "M": [f"{v:.9g}" for v in r.m[n]],
        "M float32": [f"{v:.9g}" for v in r.m_float32[n]],
        "M0": r.m0[n].tolist(),
        "n": r.shift[n].tolist(),
        "M0·2⁻³¹·2⁻ⁿ": [f"{v:.9g}" for v in back],
    }


@st.cache_data(show_spinner=False)
def exercise_reveal(key: str):
    exercise = EXERCISES_BY_KEY[key]
    x = _weights(DW_SAMPLE)[DW_WEIGHT] if exercise.tensor == "depthwise" else exercise_tensor(exercise.tensor)
    return reveal(exercise, x)


def question_key(key: str) -> str:
    """i18n key of exercise <key>'s question (ex_<key>_question); explain_key likewise."""
    return f"ex_{key}_question"


def explain_key(key: str) -> str:
    return f"ex_{key}_explain"


def answer_key(key: str) -> str:
    return f"ex_{key}_answer"


def revealed_key(key: str) -> str:
    return f"ex_{key}_revealed"


def mark_revealed(key: str) -> None:
    st.session_state[revealed_key(key)] = True


def hide_reveal(key: str) -> None:
    st.session_state[revealed_key(key)] = False
