"""The Learn page's integer-only walkthrough and its 'predict, then reveal' exercises.

Session-state keys:
    io_image, io_per_channel     the walkthrough's input image (calibration split) and weight granularity
    ex_<key>_answer              the learner's pick (option index) for exercise <key>
    ex_<key>_revealed            True once "Reveal" was pressed (a new pick hides it again)

The layer is digits_mlp's first Gemm; x's range is the calibration split's min/max and y's is
the float layer output's min/max over the same split (what a calibrator would measure).
"""

from __future__ import annotations

import numpy as np
import onnx
import streamlit as st

from ..intonly import integer_gemm
from ..lessons.exercises import EXERCISES_BY_KEY, exercise_tensor, reveal
from ..model import WeightStore
from ..model.qlinear import qlinear_conv_1x1, qlinear_matmul
from ..samples import load_sample

IO_SAMPLE, IO_WEIGHT, IO_BIAS = "digits_mlp", "net.0.weight", "net.0.bias"
DW_SAMPLE, DW_WEIGHT = "digits_mobilenet", "features.3.block.0.weight"
IMAGE_KEY, PER_CHANNEL_KEY = "io_image", "io_per_channel"
SHOWN = 8   # rows/columns of the small tables


def init_intonly_state() -> None:
    st.session_state.setdefault(IMAGE_KEY, 0)
    st.session_state.setdefault(PER_CHANNEL_KEY, False)


@st.cache_resource(show_spinner=False)
def _weights(sample_id: str) -> WeightStore:
    return WeightStore(onnx.load_model_from_string(load_sample(sample_id).model_bytes).graph)


def calibration_count() -> int:
    return len(load_sample(IO_SAMPLE).calibration.x)


@st.cache_data(max_entries=64, show_spinner=False)
def walkthrough(image: int, per_channel: bool) -> dict:
    """integer_gemm on one calibration image + onnxruntime's QLinearMatMul / QLinearConv on the same codes."""
    store, calib = _weights(IO_SAMPLE), load_sample(IO_SAMPLE).calibration.x
    w, b = store[IO_WEIGHT], store[IO_BIAS]
    y_all = calib @ w.T + b
    x_range, y_range = (float(calib.min()), float(calib.max())), (float(y_all.min()), float(y_all.max()))
    bare = integer_gemm(calib[image], w, None, x_range, y_range, per_channel)
    r = integer_gemm(calib[image], w, b, x_range, y_range, per_channel)
    return {"r": r, "matmul_same": int(np.count_nonzero(qlinear_matmul(bare) == bare.y_q)),
            "conv_same": int(np.count_nonzero(qlinear_conv_1x1(r) == r.y_q)), "n": int(r.y_q.size),
            "layer": f"{IO_SAMPLE}: Gemm {tuple(w.shape)}"}


def input_table(r) -> dict:
    return {"k": list(range(SHOWN)), "x_q": r.x_q[0, :SHOWN].tolist(), "x_q - zx": (r.x_q[0, :SHOWN].astype(int) - r.zx).tolist()}


def weight_table(r) -> dict:
    return {f"k={j}": r.w_q[:SHOWN, j].tolist() for j in range(SHOWN)}


def output_table(r) -> dict:
    """The first outputs: accumulator, both requantizations, dequantized vs float."""
    n = slice(0, SHOWN)
    return {"acc (int32)": r.acc[0, n].tolist(), "y_q": r.y_q[0, n].tolist(), "y_q fixed": r.y_q_fixed[0, n].tolist(),
            "y_dq": np.round(r.y_dq[0, n], 4).tolist(), "y float": np.round(r.y_float[0, n], 4).tolist()}


def multiplier_rows(r) -> dict:
    """M (float64), the float32 M onnxruntime uses, M0, n, and M0 * 2**-31 * 2**-n, for the first channels."""
    n = slice(0, SHOWN if r.m.size > 1 else 1)
    back = r.m0[n].astype(np.float64) * 2.0**-31 * 2.0 ** (-r.shift[n].astype(np.float64))
    return {"M": [f"{v:.9g}" for v in r.m[n]], "M float32": [f"{v:.9g}" for v in r.m_float32[n]],
            "M0": r.m0[n].tolist(), "n": r.shift[n].tolist(), "M0·2⁻³¹·2⁻ⁿ": [f"{v:.9g}" for v in back]}


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
