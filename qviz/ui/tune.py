"""The Tune page: the per-layer config table and bulk edits.

Session-state keys:
    tune_selected    layer ids ticked in the Tune table's "sel" column
    tune_error       the last table / bulk edit error (plain text), shown once
"""

from __future__ import annotations

import hashlib

import streamlit as st

from qviz.config import ModelConfig
from qviz.evaluate import tuning
from qviz.quant import SpecError
from qviz.ui.models import CurrentModel
from qviz.ui.state import current_config, set_config

SELECTED_KEY = "tune_selected"
TUNE_ERROR_KEY = "tune_error"


def tune_table(model: CurrentModel):
    return tuning.config_table(model.layers, current_config(), st.session_state.get(SELECTED_KEY, []))


def tune_table_key(model: CurrentModel, config: ModelConfig | None = None) -> str:
    """The editor's widget key: changes with the model and config, so an applied edit shows a fresh table."""
    text = model.sha256 + (config or current_config()).to_json()
    return "tune_table_" + hashlib.sha256(text.encode()).hexdigest()[:12]


def apply_tune_edits(model: CurrentModel, key: str, table) -> bool:
    """Read the editor's edited_rows: keep the ticked rows, write config edits. True if the config changed."""
    edits = (st.session_state.get(key) or {}).get("edited_rows", {})
    st.session_state[SELECTED_KEY] = tuning.selected_rows(table, edits)
    try:
        new = tuning.apply_row_edits(current_config(), table, edits)
    except SpecError as error:
        st.session_state[TUNE_ERROR_KEY] = str(error)
        return False
    if new == current_config():
        return False
    set_config(new)
    return True


def bulk_targets(model: CurrentModel, target: str, op_type: str | None, pattern: str) -> list[str]:
    """Layer ids a bulk edit changes: target "selected" | "op" | "pattern"."""
    if target == "selected":
        return tuning.select_layers(model.layers, ids=set(st.session_state.get(SELECTED_KEY, [])))
    if target == "op":
        return tuning.select_layers(model.layers, op_type=op_type)
    return tuning.select_layers(model.layers, pattern=pattern) if pattern.strip() else []


def apply_bulk(model: CurrentModel, target: str, op_type: str | None, pattern: str, changes: dict) -> int:
    """Button callback: apply `changes` (table columns; None = keep) to the targets; how many layers."""
    ids = bulk_targets(model, target, op_type, pattern)
    changes = {k: v for k, v in changes.items() if v is not None}
    try:
        set_config(tuning.bulk_edit(current_config(), model.layers, ids, changes))
    except SpecError as error:
        st.session_state[TUNE_ERROR_KEY] = str(error)
    return len(ids)


def tune_error() -> str | None:
    return st.session_state.pop(TUNE_ERROR_KEY, None)
