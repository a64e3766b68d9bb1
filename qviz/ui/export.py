"""The Export page: deployable and simulated ONNX bytes (computed on click, cached by model
hash + data + config JSON), the onnxruntime overrides, the layers CSV, safe file names; which
layers became integer kernels; the deployed model checked against the simulation and profiled.
"""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import streamlit as st

from qviz.evaluate.deploy_check import DeployCheckResult, deploy_check
from qviz.model.deploy.deployable import deploy, deploy_notes, deploy_overrides, deployable
from qviz.model.deploy.kernels import integer_ops_report
from qviz.model.deploy.ort_overrides import layers_csv, to_ort_overrides
from qviz.model.deploy.speed import speed_report
from qviz.ui import messages
from qviz.ui.models import CurrentModel
from qviz.ui.scoring import eval_data
from qviz.ui.state import config_json, current_config, parse_config
from qviz.ui.text import lang, t

ORT_SNIPPET = """import numpy as np
import onnxruntime as ort

session = ort.InferenceSession("{file}", providers=["CPUExecutionProvider"])
name = session.get_inputs()[0].name
x = np.load("inputs.npz")["x"].astype(np.float32)      # {comment}
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
    """deploy's own quantize_static arguments (reduce_range, every activation's scale from the
    calibration, the deployed-graph tensors, the engine's weight scales): quantize_static with them
    rebuilds the deployed model; a config that cannot deploy gets the per-layer types only."""
    config = current_config()
    if deployable(config, model.layers):  # layers without a native form: no deployed model to rebuild
        overrides = to_ort_overrides(model.loaded, config, layers=model.layers)
    else:
        overrides = deploy_overrides(model.loaded, config, simulator=model.simulator)
    return json.dumps(overrides, indent=2, sort_keys=True)


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


# ----- which layers became integer kernels (issue 15 item 12) -----


def kernel_rows(model: CurrentModel) -> dict:
    """The deployed model's kernel per layer and why it is not an integer kernel, as table columns.

    integer_ops_report says what onnxruntime runs; the why is the layer's deploy note
    (deployable.deploy_notes: a simulation-only fallback) when it has one, else the rule for
    its kind (weight-only layers are dequantized and run in float; float layers are not quantized).
    """
    report = integer_ops_report(deployed_bytes(model), executor=model.loaded.executor)
    notes = deploy_notes(current_config(), model.layers, model.loaded.model)
    why = {"integer": "", "float fallback": t("exp_kernel_fallback_why"), "float": t("exp_kernel_float_why")}
    rows: dict[str, list] = {t("exp_kernel_col_layer"): [], t("exp_kernel_col_kernel"): [], t("exp_kernel_col_why"): []}
    for layer_id, kernel in report.items():
        note = next((n for n in notes if n.startswith(f"layer {layer_id!r}")), "")
        rows[t("exp_kernel_col_layer")].append(layer_id)
        rows[t("exp_kernel_col_kernel")].append(t(KERNEL_KEYS[kernel]))
        rows[t("exp_kernel_col_why")].append(note.split(": ", 1)[-1] if note else why[kernel])
    return rows


KERNEL_KEYS = {"integer": "exp_kernel_integer", "float fallback": "exp_kernel_fallback", "float": "exp_kernel_float"}


def kernel_counts(rows: dict) -> dict[str, int]:
    kinds = rows[t("exp_kernel_col_kernel")]
    return {k: kinds.count(t(key)) for k, key in KERNEL_KEYS.items()}


# ----- the deployed model against the simulation, and its speed (issue 11) -----

CHECK_SAMPLES = 256  # test samples the check runs on (both models, every quantized tensor exposed)
SPEED_RUNS = 10


@st.cache_data(max_entries=4, show_spinner=False)
def _checked(model_sha: str, data_key: str, config_text: str, _model: CurrentModel) -> DeployCheckResult:
    data = eval_data(_model).head(CHECK_SAMPLES)
    return deploy_check(_model.simulator, parse_config(config_text), data)


def run_check(model: CurrentModel, with_speed: bool) -> None:
    """Button handler of the Export and Layer pages: run the check (and the speed report) now,
    showing a failure as a message; it counts as built only when it ran."""
    with messages.show_errors("exp_failed") as shown, st.spinner(t("computing")):
        check_result(model)
        if with_speed:
            speed(model)
    if not shown.failed:
        mark_built("check", model)


def check_result(model: CurrentModel) -> DeployCheckResult:
    """qviz.evaluate.deploy_check of the current config on the first CHECK_SAMPLES test samples:
    its sessions and onnxruntime's quantizer run where the model's do (an upload's host worker)."""
    return _checked(model.sha256, model.data_key, config_json(), model)


@st.cache_data(max_entries=4, show_spinner=False)
def _speed(model_sha: str, data_key: str, config_text: str, _model: CurrentModel) -> dict:
    deployed, feed = deployed_bytes(_model), eval_data(_model).feeds[0]
    pool = getattr(_model.loaded.executor, "pool", None)  # an upload: profiled in a worker (tasks.speed_profile)
    if pool is not None:
        return pool.call("speed_profile", deployed, _model.loaded.model_bytes, feed, SPEED_RUNS)
    return speed_report(deployed, _model.loaded.model_bytes, feed, SPEED_RUNS).to_dict()


def speed(model: CurrentModel) -> dict:
    """SpeedReport.to_dict() of the deployed model of the current config against the float one."""
    return _speed(model.sha256, model.data_key, config_json(), model)


def check_rows(result: DeployCheckResult) -> pd.DataFrame:
    """The per-tensor table with translated headers, worst first, steps rounded to 2 decimals."""
    df = result.table()
    return pd.DataFrame(
        {
            t("exp_check_col_tensor"): df["tensor"],
            t("exp_check_col_kind"): df["kind"],
            t("exp_check_col_result"): [t("exp_check_pass") if p else t("exp_check_fail") for p in df["passed"]],
            t("exp_check_col_steps"): df["max diff (steps)"],
            t("exp_check_col_over"): df["elements > 1 step"],
            t("exp_check_col_reason"): df["reason"],
        }
    )


def end_to_end_rows(result: DeployCheckResult) -> pd.DataFrame:
    """Simulated and deployed, each against the float model: accuracy (labels), agreement, SQNR."""
    rows = []
    for way in ("simulated", "deployed"):
        m = result.end_to_end[way]
        rows.append(
            {
                t("exp_check_col_model"): t(f"exp_check_{way}"),
                t("exp_check_col_accuracy"): _pct(m["accuracy"]),
                t("exp_check_col_agreement"): _pct(m["agreement"]),
                t("exp_check_col_sqnr"): f"{m['sqnr_db']:.1f}",
            }
        )
    return pd.DataFrame(rows)


def speed_rows(report: dict) -> pd.DataFrame:
    df = pd.DataFrame(report["by_op"])
    df = df.rename(columns={"op type": t("exp_speed_col_op")})
    return df.round({"int8 ms": 3, "fp32 ms": 3})


def _pct(x) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"
