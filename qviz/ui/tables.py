"""Small tables and labels of the Model and Layer pages (translated column names)."""

from __future__ import annotations

from qviz.config import PRESETS
from qviz.config.url import config_code
from qviz.evaluate.model_map import SHOWN_COLUMNS
from qviz.model import LoadedModel
from qviz.model.deploy.ort_overrides import describe_spec
from qviz.model.load.prequantized import summary as prequantized_summary
from qviz.quant import QuantSpec
from qviz.ui.models import CurrentModel
from qviz.ui.state import current_config
from qviz.ui.text import t


def io_table(loaded: LoadedModel) -> dict:
    """Inputs and outputs as a table (names are model strings: shown in a dataframe, as plain text)."""
    rows = [(t("mp_input"), x) for x in loaded.inputs] + [(t("mp_output"), x) for x in loaded.outputs]
    return {
        t("mp_col_kind"): [k for k, _ in rows],
        t("mp_col_name"): [x.name for _, x in rows],
        t("mp_col_dtype"): [x.dtype for _, x in rows],
        t("mp_col_shape"): ["?" if x.shape is None else " x ".join(map(str, x.shape)) for _, x in rows],
    }


def ops_table(loaded: LoadedModel) -> dict:
    ops = sorted(loaded.op_counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return {t("mp_col_op"): [k for k, _ in ops], t("mp_col_count"): [v for _, v in ops]}


def data_kind(model: CurrentModel) -> str:
    """ "sample" | "npz" | "generated": where the calibration data comes from."""
    if model.sample_id is not None:
        return "sample"
    return "generated" if model.data_key == "generated" else "npz"


def calibration_rows(model: CurrentModel) -> int:
    calib = model.simulator.calib
    if calib is None:
        return 0
    return len(calib) if not isinstance(calib, dict) else len(next(iter(calib.values())))


def config_label() -> str:
    """The preset's name when the config is one, else "custom (N layer overrides)"."""
    config = current_config()
    code = config_code(config)
    return code if code in PRESETS else t("mp_custom_config", n=len(config.layers))


def map_column_labels() -> dict:
    """Translated headers of the model map's table (model_map.SHOWN_COLUMNS)."""
    return {name: t(f"col_{name}") for name in SHOWN_COLUMNS}


def spec_label(spec: QuantSpec | None) -> str:
    return describe_spec(spec) if spec is not None else t("lp_float")


def estimator_table(view) -> dict:
    e = view.estimators
    return {
        t("estimator"): [t(f"est_{n}") for n in e["estimator"]],
        t("lp_col_lo"): e["lo"],
        t("lp_col_hi"): e["hi"],
        t("metric_mse"): e["mse"],
        t("sqnr_y"): e["sqnr_db"],
        t("metric_clipped"): e["clipped"],
    }


def param_rows(view) -> dict:
    p = view.params
    return {t("lp_col_group"): p["group"], t("metric_scale"): p["scale"], t("metric_zero_point"): p["zero_point"]}


def existing_quantization(model: CurrentModel) -> tuple[str, dict]:
    """(summary line, table) of the layers the model has already quantized ("" and {} when none)."""
    infos = model.simulator.existing_quantization()
    if not infos:
        return "", {}
    table = {t("mp_col_layer"): list(infos), t("mp_col_stored_quant"): [x.describe() for x in infos.values()]}
    return prequantized_summary(infos, len(model.layers)), table
