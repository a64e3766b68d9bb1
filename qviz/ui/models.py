"""The current model: a bundled sample or the accepted upload, loaded once and shared.

A model is identified by the SHA-256 of its FULL bytes; every cache is keyed by that hash
(and by the config's canonical JSON), never by a name a user typed: Streamlit caches are
shared by all users. Arguments starting with "_" are not hashed by Streamlit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import streamlit as st

from qviz.model import Layer, LoadedModel, load_model
from qviz.model.load.normalize import Normalization
from qviz.model.simulate.simulator import Simulator
from qviz.samples import DEFAULT_SAMPLE, Sample, SampleInfo, list_samples, load_sample, sample_ids
from qviz.ui.config_memory import follow_model
from qviz.ui.state import DATA_KEY, MODEL_KEY, UPLOAD_KEY, init_model_state, select_sample
from qviz.worker.host import ModelHost
from qviz.worker.preflight import preflight_model


@dataclass(frozen=True, eq=False)
class CurrentModel:
    """The model the pages work on. `name` is plain text (a file name may hold anything)."""

    sha256: str
    name: str
    sample_id: str | None
    loaded: LoadedModel
    simulator: Simulator
    data_key: str  # what the calibration data is: "sample:<id>", the .npz hash, or "generated"
    labels: object  # test labels (sample) / npz y, or None

    @property
    def layers(self) -> list[Layer]:
        return self.simulator.layers

    @property
    def scope(self) -> str:
        """What results belong to: the model AND the data they were measured on (an .npz upload
        changes the metric, so a sweep or a history point of other data must not mix in)."""
        return f"{self.sha256}/{self.data_key}"


@st.cache_resource(max_entries=8, show_spinner=False)
def cached_sample(sample_id: str) -> Sample:
    return load_sample(sample_id)


# NOTE: up to 8 models (200 MiB each at most) stay loaded for all sessions; keyed by content hash.
@st.cache_resource(max_entries=8, show_spinner=False)
def _loaded(sha256: str, _data: bytes) -> LoadedModel:
    return load_model(_data)


# NOTE: an upload's sessions (calibration, evaluation, sweeps, latency) run in its own isolated
# worker process (qviz.worker.host), stopped once no cache holds the model any more.
# A failed pre-flight raises, and Streamlit does not cache exceptions: only passes are kept.
@st.cache_resource(max_entries=8, show_spinner=False)
def loaded_upload(
    sha256: str, _data: bytes, _feeds: dict | None = None, feeds_sha256: str | None = None
) -> LoadedModel:
    """Uploaded bytes pre-flighted in a worker (qviz.worker.preflight), which also normalizes
    them (qviz.model.load.normalize: onnxruntime folds constants there); this process parses
    only the normalized bytes the worker returns, with its record, and never normalizes.
    `_feeds`: the user's first batch (SHA-256 of its file: `feeds_sha256`, part of the cache key),
    for a model that runs only on its own data."""
    info = preflight_model(_data) if _feeds is None else preflight_model(_data, _feeds)
    normalized = Normalization.from_dict(info["summary"]["normalization"])
    return load_model(info["model_bytes"], normalized=normalized).isolated(ModelHost())


@st.cache_resource(max_entries=8, show_spinner=False)
def _simulator(model_sha: str, data_key: str, _loaded_model: LoadedModel, _calib) -> Simulator:
    return Simulator(_loaded_model, _calib)


def sample_choices() -> list[SampleInfo]:
    return list_samples()


def current_model() -> CurrentModel:
    """The current model (loaded, with its cached Simulator); falls back to the default sample.
    The current config follows it (qviz.ui.config_memory: each model keeps its own config)."""
    model = _resolve_model()
    follow_model(model.sha256)
    return model


def _resolve_model() -> CurrentModel:
    init_model_state()
    source = st.session_state[MODEL_KEY]
    upload = st.session_state.get(UPLOAD_KEY)
    if source.get("kind") == "upload" and upload and upload["sha256"] == source.get("sha256"):
        return _upload_model(upload)
    sample_id = source.get("id") if source.get("id") in sample_ids() else DEFAULT_SAMPLE
    sample = cached_sample(sample_id)
    loaded = _loaded(hashlib.sha256(sample.model_bytes).hexdigest(), sample.model_bytes)
    sim = _simulator(loaded.sha256, f"sample:{sample_id}", loaded, sample.calibration.x)
    return CurrentModel(
        loaded.sha256, sample.card["title"], sample_id, loaded, sim, f"sample:{sample_id}", sample.test.y
    )


def _upload_model(upload: dict) -> CurrentModel:
    feeds = upload.get("feeds")  # a model pre-flighted on the user's data (qviz.ui.upload)
    loaded = loaded_upload(upload["sha256"], upload["data"], feeds, upload.get("feeds_sha256"))
    data = st.session_state.get(DATA_KEY)
    if data and data["model_sha256"] == loaded.sha256:
        key, calib, labels = data["sha256"], data["data"].x, data["data"].y
    else:
        key, calib, labels = "generated", None, None
    sim = _simulator(loaded.sha256, key, loaded, calib)
    return CurrentModel(loaded.sha256, upload["name"], None, loaded, sim, key, labels)


def show_current_sample(widget_key: str, model: CurrentModel) -> None:
    """Point the sample selectbox at the current model (None for an upload) before it is drawn."""
    st.session_state[widget_key] = model.sample_id


def on_sample_change(widget_key: str) -> None:
    select_sample(st.session_state[widget_key])
