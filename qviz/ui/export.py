"""The Export page: deployable and simulated ONNX bytes (computed on click, cached by model
hash + data + config JSON), the onnxruntime overrides, the layers CSV, safe file names.
"""

from __future__ import annotations

import hashlib
import json

import streamlit as st

from qviz.model.deploy.deployable import deploy, deploy_notes, deployable
from qviz.model.deploy.ort_overrides import layers_csv, to_ort_overrides
from qviz.ui.models import CurrentModel
from qviz.ui.state import config_json, current_config, parse_config
from qviz.ui.text import lang

ORT_SNIPPET = """import numpy as np
import onnxruntime as ort

session = ort.InferenceSession("{file}", providers=["CPUExecutionProvider"])
name = session.get_inputs()[0].name
x = np.load("inputs.npz")["x"].astype(np.float32)      # your inputs, shaped as the model expects
logits = session.run(None, {{name: x}})[0]
print(logits.argmax(axis=1))
"""


@st.cache_data(max_entries=8, show_spinner=False)
def _deployed(model_sha: str, data_key: str, config_text: str, _model: CurrentModel) -> bytes:
    return deploy(_model.loaded, parse_config(config_text), simulator=_model.simulator)


@st.cache_data(max_entries=8, show_spinner=False)
def _simulated(model_sha: str, data_key: str, config_text: str, _model: CurrentModel) -> bytes:
    return _model.simulator.simulate(parse_config(config_text))


def deployable_problems(model: CurrentModel) -> list[str]:
    return deployable(current_config(), model.layers, model.loaded.weights)


def simulation_only(model: CurrentModel) -> list[str]:
    """Layers the deployed model runs in a nearer form than simulated, and why (deploy_notes)."""
    return deploy_notes(current_config(), model.layers, model.loaded.model) + model.simulator.config_notes(
        current_config()
    )


def deployed_bytes(model: CurrentModel) -> bytes:
    """The deployable ONNX of the current config (SpecError if some layer has no native form)."""
    return _deployed(model.sha256, model.data_key, config_json(), model)


def simulated_bytes(model: CurrentModel) -> bytes:
    return _simulated(model.sha256, model.data_key, config_json(), model)


def ort_overrides_json(model: CurrentModel) -> str:
    return json.dumps(to_ort_overrides(model.loaded, current_config(), layers=model.layers), indent=2, sort_keys=True)


def layers_csv_text(model: CurrentModel) -> str:
    return layers_csv(model.loaded, current_config(), layers=model.layers)


def config_download(model: CurrentModel) -> str:
    return json.dumps(current_config().to_dict(), indent=2, sort_keys=True)


def _built_key(kind: str, model: CurrentModel) -> str:
    return f"{kind}:{model.sha256}:{model.data_key}:{hashlib.sha256(config_json().encode()).hexdigest()}:{lang()}"


def mark_built(kind: str, model: CurrentModel) -> None:
    st.session_state.setdefault("export_built", set()).add(_built_key(kind, model))


def is_built(kind: str, model: CurrentModel) -> bool:
    return _built_key(kind, model) in st.session_state.get("export_built", set())


def export_name(model: CurrentModel, suffix: str) -> str:
    """A safe file name: the sample id, else 'model' (an uploaded file's name is not reused)."""
    return f"{model.sample_id or 'model'}_{suffix}"
