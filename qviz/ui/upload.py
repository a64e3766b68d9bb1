"""Uploads on the Model page: THE entry point for user-uploaded bytes (qviz.worker.preflight checks them).

load_upload pre-flights model bytes in a worker before this process parses them; each file
in an uploader slot is handled once and its error remembered (a "busy" refusal is not).
"""

from __future__ import annotations

import hashlib

import streamlit as st

from qviz.model import LoadedModel, ModelError
from qviz.model.load.input_data import InputData, read_inputs_npz
from qviz.model.simulate.calibrate import calibration_feeds
from qviz.quant import SpecError
from qviz.ui.models import CurrentModel, loaded_upload
from qviz.ui.state import DATA_KEY, MODEL_KEY, UPLOAD_KEY, UPLOAD_SEEN_KEY
from qviz.worker import WorkerError
from qviz.worker.preflight import preflight_inputs, preflight_model


# NOTE: a failed pre-flight raises, and Streamlit does not cache exceptions: only passes are kept.
@st.cache_resource(max_entries=32, show_spinner=False)
def _preflighted(sha256: str, _data: bytes) -> dict:
    return preflight_model(_data)


def load_upload(data: bytes) -> LoadedModel:
    """THE entry point for user-uploaded model bytes (ModelError, SpecError or WorkerError if
    unsafe, invalid, or it fails its pre-flight in a worker: qviz.worker.preflight). Only bytes that
    passed are parsed in this process; every session of it runs in its own isolated worker
    (qviz.worker.host). Cached by the SHA-256 of the full bytes.
    """
    sha = hashlib.sha256(data).hexdigest()
    _preflighted(sha, data)
    return loaded_upload(sha, data)


def accept_upload(name: str, data: bytes) -> LoadedModel:
    """Load uploaded bytes (ModelError if bad) and make them the current model."""
    loaded = load_upload(data)
    st.session_state[UPLOAD_KEY] = {"sha256": loaded.sha256, "name": name, "data": data}
    st.session_state[MODEL_KEY] = {"kind": "upload", "sha256": loaded.sha256, "name": name}
    st.session_state.pop(DATA_KEY, None)
    return loaded


def accept_inputs(name: str, data: bytes, model: CurrentModel) -> InputData:
    """Validate an .npz of inputs/labels for the current model (SpecError if bad), run its first
    batch in a worker (ModelError / WorkerError if that fails) and keep it."""
    parsed = read_inputs_npz(data, model.loaded.inputs)
    feeds = calibration_feeds(model.loaded.model, parsed.x)
    if feeds:  # the first batch runs in a worker first (qviz.worker.preflight)
        preflight_inputs(model.loaded.model_bytes, feeds[0])
    st.session_state[DATA_KEY] = {
        "model_sha256": model.sha256,
        "sha256": hashlib.sha256(data).hexdigest(),
        "name": name,
        "data": parsed,
    }
    return parsed


def _seen(slot: str, data: bytes, handle) -> str | None:
    """Run handle() once per distinct file in an uploader slot; remember and return its error text."""
    seen = st.session_state.setdefault(UPLOAD_SEEN_KEY, {})
    digest = hashlib.sha256(data).hexdigest()
    if slot in seen and seen[slot][0] == digest:
        return seen[slot][1]
    try:
        handle()
        error = None
    except (ModelError, SpecError, WorkerError) as e:
        if isinstance(e, WorkerError) and e.kind == "busy":
            return str(e)  # not remembered: the next run tries again
        error = str(e)
    seen[slot] = (digest, error)
    return error


def handle_model_upload(name: str, data: bytes) -> str | None:
    """Accept an uploaded .onnx as the current model; the error message (plain text) or None."""
    return _seen("onnx", data, lambda: accept_upload(name, data))


def handle_inputs_upload(name: str, data: bytes, model: CurrentModel) -> str | None:
    """Accept an uploaded .npz of inputs/labels for the current model; the error message or None."""
    return _seen("npz:" + model.sha256, data, lambda: accept_inputs(name, data, model))
