"""The Learn page's integer-only walkthrough and its 'predict, then reveal' exercises.

Session-state keys:
    io_image, io_per_channel     the walkthrough's input image (calibration split) and weight granularity
    ex_<key>_answer              the learner's pick (option index) for exercise <key>
    ex_<key>_revealed            True once "Reveal" was pressed (a new pick hides it again)

The walkthrough's arithmetic and its tables are qviz.lessons.integer_walkthrough; this module caches
it per model, data, layer, row and granularity.
"""

from __future__ import annotations

import onnx
import streamlit as st

from qviz.lessons import integer_walkthrough
from qviz.lessons.exercises import EXERCISES_BY_KEY, exercise_tensor, reveal
from qviz.model import Layer, WeightStore
from qviz.samples import load_sample
from qviz.ui.models import CurrentModel

DW_SAMPLE, DW_WEIGHT = "digits_mobilenet", "features.3.block.0.weight"
IMAGE_KEY, PER_CHANNEL_KEY, LAYER_KEY = "io_image", "io_per_channel", "io_layer"


def _layer(model: CurrentModel, layer_id: str) -> Layer:
    return next(x for x in model.layers if x.id == layer_id)


def walk_layers(model: CurrentModel) -> list[str]:
    """Ids of the current model's layers the walkthrough can run (integer_walkthrough.walk_layers)."""
    return integer_walkthrough.walk_layers(model.loaded, model.layers)


def row_count(model: CurrentModel, layer_id: str) -> int:
    return integer_walkthrough.row_count(model.simulator, _layer(model, layer_id))


@st.cache_data(max_entries=64, show_spinner=False)
def _walkthrough(
    model_sha: str, data_key: str, layer_id: str, row: int, per_channel: bool, _model: CurrentModel
) -> dict:
    return integer_walkthrough.walkthrough(_model.simulator, _layer(_model, layer_id), row, per_channel)


def walkthrough(model: CurrentModel, layer_id: str, row: int, per_channel: bool) -> dict:
    """integer_walkthrough.walkthrough of the current model's layer, cached by model hash, data, layer, row
    and granularity."""
    return _walkthrough(model.sha256, model.data_key, layer_id, row, per_channel, model)


def init_intonly_state() -> None:
    st.session_state.setdefault(IMAGE_KEY, 0)
    st.session_state.setdefault(PER_CHANNEL_KEY, False)


@st.cache_resource(show_spinner=False)
def _weights(sample_id: str) -> WeightStore:
    return WeightStore(onnx.load_model_from_string(load_sample(sample_id).model_bytes).graph)


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
