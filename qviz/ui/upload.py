"""Uploads on the Model page: THE entry point for user-uploaded bytes (qviz.worker.preflight checks them).

load_upload pre-flights model bytes in a worker before this process parses them; each file
in an uploader slot is handled once and its error remembered (a "busy" refusal is not).

Fairness (issue 12; qviz.worker.fair_queue, qviz.worker.upload_guard): every upload's checks run
in ONE turn of the pool's pre-flight queue owned by this session (one at a time per session;
a newer upload supersedes a waiting one; the page shows the place in the line; the wait ends
when the session leaves or reruns). Failures are remembered for all sessions by content hash
(the same bytes are answered without a worker), and a session that keeps failing waits a
growing backoff before its next upload is checked.
Data files other than .npz (an images .zip, a text file + tokenizer.json) are read in a worker
too (qviz.worker.uploaded_data), with the options of qviz.ui.data_form.
"""

from __future__ import annotations

import hashlib
import json
import uuid

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from qviz.model import LoadedModel, ModelError, TensorInfo
from qviz.model.load.batches import split_batches
from qviz.model.load.data_files import data_kind
from qviz.model.load.input_data import InputData, read_inputs_npz
from qviz.model.load.loader import DEFAULT_MAX_BYTES, max_model_bytes
from qviz.model.simulate.calibrate import calibration_feeds
from qviz.quant import SpecError
from qviz.ui.models import CurrentModel, loaded_upload
from qviz.ui.state import DATA_KEY, MODEL_KEY, PENDING_KEY, UPLOAD_KEY, UPLOAD_SEEN_KEY
from qviz.ui.text import t
from qviz.worker import WorkerError, default_pool, describe_upload
from qviz.worker.preflight import call_limits, preflight_inputs
from qviz.worker.upload_guard import default_guard, is_transient
from qviz.worker.uploaded_data import read_uploaded_data

OWNER_KEY = "upload_owner"  # this session's id in the pre-flight queue and the backoff (a new tab: a new id)
REMEMBERED = " (this file failed its checks before; it is not checked again)"


def max_model_mb() -> int:
    """The model size cap in MiB (QVIZ_MAX_MODEL_MB, else 200; a bad value shows as the default
    here and as a clear error on upload)."""
    try:
        return max_model_bytes() // 2**20
    except ModelError:
        return DEFAULT_MAX_BYTES // 2**20


def load_upload(data: bytes) -> LoadedModel:
    """THE entry point for user-uploaded model bytes (ModelError, SpecError or WorkerError if
    unsafe, invalid, or it fails its pre-flight in a worker: qviz.worker.preflight). Only bytes that
    passed are parsed in this process; every session of it runs in its own isolated worker
    (qviz.worker.host). Cached by the SHA-256 of the full bytes (qviz.ui.models.loaded_upload
    runs the pre-flight and loads the normalized model it returns).
    """
    return loaded_upload(hashlib.sha256(data).hexdigest(), data)


def accept_upload(name: str, data: bytes) -> LoadedModel:
    """Load uploaded bytes (ModelError if bad) and make them the current model. A model that
    passes its checks but fails the generated run waits for its own inputs (accept_pending_inputs)."""
    try:
        loaded = load_upload(data)
    except (ModelError, SpecError, WorkerError) as e:
        _keep_pending(name, data, e)
        raise
    st.session_state[UPLOAD_KEY] = {"sha256": loaded.sha256, "name": name, "data": data}
    st.session_state[MODEL_KEY] = {"kind": "upload", "sha256": loaded.sha256, "name": name}
    st.session_state.pop(DATA_KEY, None)
    st.session_state.pop(PENDING_KEY, None)
    return loaded


def _keep_pending(name: str, data: bytes, error: Exception) -> None:
    """Remember `data` as pending when the model itself passed describe_upload in a worker (so
    only its run on generated inputs failed: the pre-flight attaches that description to its
    error); forget any other pending model."""
    st.session_state.pop(PENDING_KEY, None)
    if is_transient(error):
        return
    if hasattr(error, "described"):  # from the pre-flight: its description, or None if the checks failed
        info = error.described
    else:  # raised before any pre-flight (e.g. a stand-in): describe the bytes in a worker
        try:
            info = describe_upload(data, limits=call_limits())
        except (ModelError, SpecError, WorkerError):
            return
    if info is not None:
        _set_pending(name, data, info["summary"]["inputs"])


def _set_pending(name: str, data: bytes, inputs: list) -> None:
    sha = hashlib.sha256(data).hexdigest()
    st.session_state[PENDING_KEY] = {"sha256": sha, "name": name, "data": data, "inputs": inputs}


def pending_for(data: bytes) -> dict | None:
    """The pending model (accept_upload) if `data` is its file, else None."""
    pending = st.session_state.get(PENDING_KEY)
    return pending if pending and pending["sha256"] == hashlib.sha256(data).hexdigest() else None


def accept_pending_inputs(name: str, data: bytes) -> InputData:
    """The pending model accepted with its own .npz: the pre-flight runs the first batch of it
    instead of generated inputs (qviz.worker.preflight); both become current."""
    pending = st.session_state[PENDING_KEY]
    infos = tuple(
        TensorInfo(i["name"], i["dtype"], None if i["shape"] is None else tuple(i["shape"])) for i in pending["inputs"]
    )
    parsed = read_inputs_npz(data, infos)
    arrays: dict = parsed.x if isinstance(parsed.x, dict) else {infos[0].name: parsed.x}
    first = split_batches(infos, arrays).feeds[0]
    fingerprint = data_fingerprint(data, None)
    loaded = loaded_upload(pending["sha256"], pending["data"], first, fingerprint)
    upload = {"sha256": loaded.sha256, "name": pending["name"], "data": pending["data"]}
    st.session_state[UPLOAD_KEY] = {**upload, "feeds": first, "feeds_sha256": fingerprint}
    st.session_state[MODEL_KEY] = {"kind": "upload", "sha256": loaded.sha256, "name": pending["name"]}
    st.session_state[DATA_KEY] = {
        "model_sha256": loaded.sha256,
        "sha256": fingerprint,
        "name": name,
        "data": parsed,
        "note": None,
    }
    st.session_state.setdefault(UPLOAD_SEEN_KEY, {})["onnx"] = (pending["sha256"], None)  # no longer an error
    st.session_state.pop(PENDING_KEY, None)
    return parsed


def accept_inputs(name: str, data: bytes, model: CurrentModel, options: dict | None = None) -> InputData:
    """Validate an .npz of inputs/labels for the current model (SpecError if bad), or read an
    images .zip / a text file with `options` in a worker; run its first batch in a worker
    (ModelError / WorkerError if that fails) and keep it."""
    note = None
    if data_kind(name) == "npz":
        parsed = read_inputs_npz(data, model.loaded.inputs)
    else:
        read = read_uploaded_data(name, data, model.loaded.summary()["inputs"], **(options or {}))
        parsed, note = read.data, read.note
    feeds = calibration_feeds(model.loaded.model, parsed.x)
    if feeds:  # the first batch runs in a worker first (qviz.worker.preflight)
        preflight_inputs(model.loaded.model_bytes, feeds[0])
    st.session_state[DATA_KEY] = {
        "model_sha256": model.sha256,
        "sha256": data_fingerprint(data, options),
        "name": name,
        "data": parsed,
        "note": note,
    }
    return parsed


def data_note(model: CurrentModel) -> str | None:
    """What the accepted images or text of `model` are ("100 images in 4 classes ..."), or None."""
    data = st.session_state.get(DATA_KEY)
    return data.get("note") if data and data["model_sha256"] == model.sha256 else None


def data_fingerprint(data: bytes, options: dict | None) -> str:
    """SHA-256 of the file and the options it was read with (results of other options never mix in)."""
    if not options:
        return hashlib.sha256(data).hexdigest()
    plain = {k: hashlib.sha256(v).hexdigest() if isinstance(v, bytes) else v for k, v in options.items()}
    text = json.dumps(plain, sort_keys=True)
    return hashlib.sha256(hashlib.sha256(data).digest() + text.encode()).hexdigest()


def _seen(slot: str, data: bytes, handle, name: str = "") -> str | None:
    """Run handle() once per distinct file in an uploader slot; remember and return its error text.
    The run goes through the guard (module doc): remembered failures, backoff, one queue turn."""
    seen = st.session_state.setdefault(UPLOAD_SEEN_KEY, {})
    digest = hashlib.sha256(data).hexdigest()
    if slot in seen and seen[slot][0] == digest:
        return seen[slot][1]
    try:
        _guarded(f"{slot}/{digest}", handle, name, data if slot == "onnx" else None)
        error = None
    except (ModelError, SpecError, WorkerError) as e:
        if is_transient(e):
            return str(e)  # not remembered: the next run tries again
        error = str(e)
    seen[slot] = (digest, error)
    return error


def upload_owner() -> str:
    """This session's id for the pre-flight queue and the backoff."""
    return st.session_state.setdefault(OWNER_KEY, uuid.uuid4().hex)


def _guarded(key: str, handle, name: str, model_data: bytes | None) -> None:
    """handle() unless `key` failed before (its message, at once) or this session must wait
    (a "backoff" WorkerError); run in one turn of the pre-flight queue; failures remembered.
    `model_data`: the model file of the "onnx" slot (a remembered failure restores its pending state)."""
    guard, owner = default_guard(), upload_owner()
    record = guard.remembered(key)
    if record is not None:
        if model_data is not None and record.get("pending_inputs") is not None:
            _set_pending(name, model_data, record["pending_inputs"])
        raise ModelError(record["message"] + REMEMBERED)
    guard.check_session(owner)
    place = st.empty()
    try:
        with default_pool().turn(owner, lambda k: _show_place(place, k), _run_superseded):
            handle()
    except (ModelError, SpecError, WorkerError) as e:
        if not is_transient(e):
            pending = st.session_state.get(PENDING_KEY) if model_data is not None else None
            guard.failed(owner, key, str(e), pending_inputs=pending["inputs"] if pending else None)
        raise
    finally:
        place.empty()
    guard.passed(owner)


def _show_place(place, k: int) -> None:
    if k > 0:
        place.info(t_place(k))
    else:
        place.empty()


def t_place(k: int) -> str:
    """What a waiting upload shows: its place in the line of uploads being checked."""
    return t("up_queue_place", k=k)


def _run_superseded() -> bool:
    """True once this script run is to stop (the session closed) or rerun (a newer action):
    its place in the queue is given up. Streamlit's run context; False outside a run."""
    ctx = get_script_run_ctx()
    requests = getattr(ctx, "script_requests", None)
    state = getattr(requests, "_state", None)
    return state is not None and getattr(state, "name", "") in ("STOP", "RERUN")


def handle_model_upload(name: str, data: bytes) -> str | None:
    """Accept an uploaded .onnx as the current model; the error message (plain text) or None."""
    return _seen("onnx", data, lambda: accept_upload(name, data), name)


def handle_pending_inputs(name: str, data: bytes) -> str | None:
    """Try the pending model with an uploaded .npz of its inputs; the error message or None."""
    pending = st.session_state[PENDING_KEY]
    return _seen("pending:" + pending["sha256"], data, lambda: accept_pending_inputs(name, data))


def handle_inputs_upload(name: str, data: bytes, model: CurrentModel, options: dict | None = None) -> str | None:
    """Accept an uploaded data file (.npz; an images .zip or a text file with `options`) for the
    current model; the error message or None. Handled again when the file or the options change."""
    fingerprint = data_fingerprint(data, options).encode()
    return _seen("npz:" + model.sha256, fingerprint, lambda: accept_inputs(name, data, model, options))
