"""Tuning helpers for the Tune, Sensitivity and Trade-offs pages (the model layer: pandas, no streamlit).

    >>> from qviz.config import PRESETS
    >>> from qviz.model import layer_table, load_model
    >>> from qviz.samples import load_sample
    >>> sample = load_sample("digits_cnn")
    >>> layers = layer_table(load_model(sample.model_bytes))
    >>> table = config_table(layers, PRESETS["w8a8"])        # one row per layer, the editable columns
    >>> table["w_bits"].tolist()
    [8, 8, 8, 8, 8]
    >>> config = apply_row_edits(PRESETS["w8a8"], table, {3: {"w_bits": 4}})   # data_editor's edited_rows
    >>> ids = select_layers(layers, op_type="Conv", pattern="*features.[37]/*")
    >>> ids
    ['/features/features.3/Conv', '/features/features.7/Conv']
    >>> config = bulk_edit(config, layers, ids, {"w_bits": 4, "w_estimator": "mse"})
    >>> config_table(layers, config)["w_bits"].tolist()
    [8, 4, 4, 4, 8]
    >>> config_diff(layers, PRESETS["w8a8"], config)["changed"].tolist()   # per layer: what each config gives it
    [False, True, True, True, False]

The Trade-offs page's history of evaluated configs, and its Pareto front (qviz.evaluate.pareto):

    >>> from qviz.evaluate import evaluate, from_sample, pareto_mask
    >>> history = []
    >>> for label, cfg in [("w8a8", PRESETS["w8a8"]), ("mixed", config)]:
    ...     ev = evaluate(sample.model_bytes, cfg, from_sample(sample), calib=sample.calibration.x)
    ...     history = add_to_history(history, history_entry("digits_cnn/test", label, ev))
    >>> frame = history_frame(history, "digits_cnn/test")
    >>> frame["weight_bytes"].tolist(), pareto_mask(frame, "accuracy").tolist()   # mixed: smaller, no worse
    ([40952, 21240], [False, True])

Table columns (TABLE_COLUMNS): w_bits / a_bits = 0 means float (no quantization of the
weights / activations of that layer). A row that ends up equal to the config's default is
stored as no override (the config stays small and its URL short).

Name patterns (select_layers): plain text is a case-insensitive substring; text with * ? or [
is a case-insensitive glob (fnmatch, which escapes everything else): never a user regex.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import math

import numpy as np
import pandas as pd

from qviz.config import LayerConfig, ModelConfig
from qviz.model.deploy.ort_overrides import describe_spec
from qviz.quant.spec import QuantSpec, SpecError

TABLE_COLUMNS = (
    "sel",
    "layer",
    "op",
    "params",
    "w_bits",
    "w_scheme",
    "w_granularity",
    "w_rounding",
    "w_estimator",
    "a_bits",
    "a_estimator",
)
EDITABLE = TABLE_COLUMNS[4:]
DEFAULT_WEIGHTS = QuantSpec(bits=8, signed=True, symmetric=True, granularity="channel")
DEFAULT_ACTIVATIONS = QuantSpec(bits=8, signed=False, symmetric=False, estimator="minmax")
HISTORY_COLUMNS = (
    "model",
    "label",
    "config",
    "accuracy",
    "float_accuracy",
    "agreement",
    "sqnr_db",
    "kl",
    "weight_bytes",
    "bits_per_weight",
    "latency_ms",
    "latency_model",
)


# --- table <-> config -------------------------------------------------------------------------


def tunable(layers) -> list:
    """Layers a config can change (already-quantized layers of an uploaded model are not)."""
    return [x for x in layers if not x.quantized]


def layer_row(layer, lc: LayerConfig, selected: bool = False) -> dict:
    w, a = lc.weights, lc.activations
    return {
        "sel": selected,
        "layer": layer.id,
        "op": layer.op_type,
        "params": int(layer.params),
        "w_bits": 0 if w is None else int(w.bits),
        "w_scheme": (w or DEFAULT_WEIGHTS).scheme,
        "w_granularity": (w or DEFAULT_WEIGHTS).granularity,
        "w_rounding": (w or DEFAULT_WEIGHTS).rounding,
        "w_estimator": (w or DEFAULT_WEIGHTS).estimator,
        "a_bits": 0 if a is None else int(a.bits),
        "a_estimator": (a or DEFAULT_ACTIVATIONS).estimator,
    }


def config_table(layers, config: ModelConfig, selected=()) -> pd.DataFrame:
    """One row per tunable layer (graph order) with the TABLE_COLUMNS."""
    rows = [layer_row(x, config.for_layer(x.id), x.id in selected) for x in tunable(layers)]
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def row_layer_config(row: dict, old: LayerConfig) -> LayerConfig:
    """The LayerConfig a table row asks for; fields not in the table keep `old`'s values.

    SpecError (naming the column) for an impossible combination, e.g. a_bits=1.
    """
    try:
        return _row_layer_config(row, old)
    except SpecError as error:
        raise SpecError(f"layer {row['layer']}: {error}") from None


def _row_layer_config(row: dict, old: LayerConfig) -> LayerConfig:
    weights = activations = None
    if int(row["w_bits"]):
        changes = {
            "bits": int(row["w_bits"]),
            "scheme": row["w_scheme"],
            "granularity": row["w_granularity"],
            "rounding": row["w_rounding"],
            "estimator": row["w_estimator"],
        }
        weights = _replace(old.weights or DEFAULT_WEIGHTS, changes, "weights")
    if int(row["a_bits"]):
        changes = {"bits": int(row["a_bits"]), "estimator": row["a_estimator"]}
        activations = _replace(old.activations or DEFAULT_ACTIVATIONS, changes, "activations")
    dynamic = old.activations_dynamic and activations is not None and activations.estimator == "minmax"
    return dataclasses.replace(old, weights=weights, activations=activations, activations_dynamic=dynamic)


def _replace(spec: QuantSpec, changes: dict, what: str) -> QuantSpec:
    try:
        return spec.replace(**changes)
    except SpecError as error:
        raise SpecError(f"{what}: {error}") from None


def set_layer(config: ModelConfig, layer_id: str, lc: LayerConfig) -> ModelConfig:
    """config with the layer's config; equal to the default -> the override is dropped."""
    return config.with_layer(layer_id, None if lc == config.default else lc)


def apply_row_edits(config: ModelConfig, table: pd.DataFrame, edited_rows: dict) -> ModelConfig:
    """Apply st.data_editor's `edited_rows` ({row position: {column: value}}) to the config.

    Only EDITABLE columns count ("sel" is a selection, not a config change).
    """
    for pos, edits in sorted((int(k), v) for k, v in edited_rows.items()):
        changes = {k: v for k, v in edits.items() if k in EDITABLE and v is not None}
        if not changes or not 0 <= pos < len(table):
            continue
        row = {**table.iloc[pos].to_dict(), **changes}
        config = set_layer(config, row["layer"], row_layer_config(row, config.for_layer(row["layer"])))
    return config


def selected_rows(table: pd.DataFrame, edited_rows: dict) -> list[str]:
    """Layer ids whose "sel" box is ticked, after the editor's edits."""
    sel = table["sel"].to_numpy(bool).copy()
    for pos, edits in edited_rows.items():
        if "sel" in edits and 0 <= int(pos) < len(sel):
            sel[int(pos)] = bool(edits["sel"])
    return table["layer"][sel].tolist()


# --- bulk edits ---------------------------------------------------------------------------------


def match_name(layer_id: str, pattern: str) -> bool:
    """Substring, or glob when the pattern has * ? [ (module doc); case-insensitive."""
    p, name = pattern.strip().lower(), layer_id.lower()
    if any(c in p for c in "*?["):
        return fnmatch.fnmatchcase(name, p)
    return p in name


def select_layers(layers, *, ids=None, op_type: str | None = None, pattern: str | None = None) -> list[str]:
    """Ids of the tunable layers matching every given filter (None / empty = no filter)."""
    out = []
    for x in tunable(layers):
        if (
            (ids is None or x.id in ids)
            and (not op_type or x.op_type == op_type)
            and (not pattern or match_name(x.id, pattern))
        ):
            out.append(x.id)
    return out


def bulk_edit(config: ModelConfig, layers, ids, changes: dict) -> ModelConfig:
    """Set the table columns in `changes` (e.g. {"w_bits": 4}) on every layer in `ids`."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise SpecError(f"bulk edit columns must be some of {', '.join(EDITABLE)}; got {', '.join(unknown)}")
    wanted = set(ids)
    for x in tunable(layers):
        if x.id in wanted:
            row = {**layer_row(x, config.for_layer(x.id)), **changes}
            config = set_layer(config, x.id, row_layer_config(row, config.for_layer(x.id)))
    return config


# --- session history of evaluated configs ----------------------------------------------------------


def history_entry(scope: str, label: str, ev) -> dict:
    """One evaluated config (an Evaluation) as a flat record (HISTORY_COLUMNS); `scope` names the
    model and the data it was measured on (points of other data never share a front)."""
    lat = ev.latency
    return {
        "model": scope,
        "label": label,
        "config": ModelConfig.from_dict(ev.config).to_json(),
        "accuracy": ev.accuracy,
        "float_accuracy": ev.float_accuracy,
        "agreement": ev.fidelity["agreement"],
        "sqnr_db": ev.fidelity["sqnr_db"],
        "kl": ev.fidelity["kl"],
        "weight_bytes": int(ev.size.weight_bytes),
        "bits_per_weight": float(ev.size.bits_per_weight),
        "latency_ms": None if lat is None else float(lat.median_ms),
        "latency_model": None if lat is None else lat.model,
    }


def add_to_history(history: list, entry: dict) -> list:
    """history + entry; an entry of the same model and config updates the old one in place (keeping
    its label, position and a measured latency): going back and forth neither grows the list nor
    renumbers the points."""
    for i, old in enumerate(history):
        if (old["model"], old["config"]) == (entry["model"], entry["config"]):
            keep = {"label": old["label"]}
            if entry["latency_ms"] is None:
                keep |= {"latency_ms": old["latency_ms"], "latency_model": old["latency_model"]}
            return [*history[:i], {**entry, **keep}, *history[i + 1 :]]
    return [*history, entry]


def history_frame(history: list, scope: str) -> pd.DataFrame:
    """The entries of one model and data scope, as a DataFrame (HISTORY_COLUMNS), in evaluation order."""
    rows = [h for h in history if h["model"] == scope]
    return pd.DataFrame(rows, columns=list(HISTORY_COLUMNS)).reset_index(drop=True)


# --- per-layer diff of two configs -------------------------------------------------------------------


def config_diff(layers, a: ModelConfig, b: ModelConfig) -> pd.DataFrame:
    """Per tunable layer: the weights and activations each config gives it, and whether they differ."""
    rows = []
    for x in tunable(layers):
        la, lb = a.for_layer(x.id), b.for_layer(x.id)
        rows.append(
            {
                "layer": x.id,
                "op": x.op_type,
                "weights_a": describe_spec(la.weights),
                "weights_b": describe_spec(lb.weights),
                "activations_a": describe_spec(la.activations),
                "activations_b": describe_spec(lb.activations),
                "changed": la != lb,
            }
        )
    return pd.DataFrame(
        rows, columns=["layer", "op", "weights_a", "weights_b", "activations_a", "activations_b", "changed"]
    )


# --- sensitivity sweep records -> heatmap table -------------------------------------------------------


def sweep_matrix(records: list[dict], layer_ids: list[str], candidates: list[str]) -> pd.DataFrame:
    """layers x candidates of damage from sweep records; cells not measured (stopped) are NaN."""
    if not records:
        return pd.DataFrame(np.nan, index=pd.Index(layer_ids, name="layer"), columns=candidates)
    df = pd.DataFrame(records).drop_duplicates(subset=["layer", "candidate"], keep="last")
    return df.pivot(index="layer", columns="candidate", values="damage").reindex(index=layer_ids, columns=candidates)


def finite_or_none(x) -> float | None:
    """A float for display, None for missing/NaN (inf stays inf: an unchanged output)."""
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x
