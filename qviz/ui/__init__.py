"""Streamlit glue between the widgets and qviz: one small module per concept.

Pages do `from qviz import ui` and call `ui.t(...)`, `ui.current_model()`, ...; this file
re-exports the public names of the modules below. Nothing below qviz.ui imports streamlit.

    text          t(), the language switch, option labels, md_escape
    learn         the Learn page's state and its cached lesson
    state         session-state keys, keep_state, the config, the URL (?sample=&config=)
    models        the current model (CurrentModel) and its cached loaders
    layers        the selected layer, the layer picker, a click on the model map
    upload        THE entry point for uploaded bytes (.onnx and .npz)
    cache         cached computations on the current model (keyed by SHA-256 + config JSON)
    editor        the Layer page's spec editor
    figures       figures with translated labels (the pages and the HTML report)
    tables        small tables and labels of the Model and Layer pages
    export        the Export page: deployable / simulated ONNX, overrides, CSV, file names
    report        the self-contained HTML report
    scoring       the shared Runner, cached evaluations, the session's history
    tune, sensitivity, tradeoffs    the Tune, Sensitivity and Trade-offs pages

Session-state keys (each module documents its own):
    lang                    "en" | "zh" (the sidebar language switch)                      text
    learn_<setting>         one per key of qviz.lessons.DEFAULTS; learn_example            learn
    model_source, model_upload, model_data, model_config, layer_id                         state
    tune_history, tune_selected, tune_error; sens_sweep, sens_search                       scoring, tune, sensitivity

# NOTE: a test that monkeypatches a helper must patch the module that looks it up (e.g.
# qviz.ui.upload.preflight_model), not this package: the names here are re-exported copies.
"""

from .text import LANG_KEY, lang, t, option_labels, language_switch, md_escape
from .learn import (LEARN_PREFIX, EXAMPLE_KEY, learn_key, init_learn_state, learn_settings, replay_example,
                    forget_example, settings_key, cached_lesson, cached_explanation)
from .state import (MODEL_KEY, UPLOAD_KEY, DATA_KEY, CONFIG_KEY, LAYER_KEY, UPLOAD_SEEN_KEY, URL_READ_KEY,
                    DEFAULT_PRESET, KEPT_WIDGET_KEYS, MODEL_STATE_KEYS, keep_state, init_model_state, select_sample,
                    current_config, config_json, set_config, set_layer_weights, reset_layer, apply_preset,
                    read_url_state, write_url_state, url_error)
from .models import CurrentModel, sample_choices, current_model, show_current_sample, on_sample_change
from .layers import current_layer, select_layer, layer_picker, on_map_select, goto_layer_requested
from .upload import load_upload, accept_upload, accept_inputs, handle_model_upload, handle_inputs_upload
from .cache import layer_stats, model_map, layer_specs, weight_view, group_view, activation_view
from .editor import EDIT_FIELDS, edit_key, edit_token, edited_weights, apply_layer_edit, edit_error
from .figures import (model_map_fig, weight_histogram_fig, layer_histogram_fig, channel_fig, error_map_fig, split_fig,
                      estimator_fig, codes_fig, activation_fig, layer_error_fig, sweep_fig, tradeoff_fig)
from .tables import (io_table, ops_table, data_kind, calibration_rows, config_label, map_column_labels, spec_label,
                     estimator_table, param_rows)
from .export import (deployable_problems, deployed_bytes, simulated_bytes, ort_overrides_json, layers_csv_text,
                     config_download, ORT_SNIPPET, mark_built, is_built, export_name)
from .report import report_html, build_report
from .scoring import (HISTORY_KEY, eval_data, runner, evaluation, layer_error_table, headline_metric, history, record,
                      history_df)
from .tune import (SELECTED_KEY, TUNE_ERROR_KEY, tune_table, tune_table_key, apply_tune_edits, bulk_targets,
                   apply_bulk, tune_error)
from .sensitivity import (SWEEP_KEY, SEARCH_KEY, sweep_candidates, start_sweep, stop_sweep, resume_sweep, sweep_state,
                          sweep_step, sweep_progress, sweep_table, search_result, run_search, apply_search)
from .tradeoffs import LATENCY_RUNS, restore_config, measure_latency, diff_table

# names the pages use from the layers below (ui.SpecError, ui.ModelError, ui.PRESETS, ui.tuning, ...)
from .. import tuning
from ..config import PRESETS, ModelConfig
from ..model import ModelError
from ..quant import SpecError

__all__ = ["LANG_KEY", "lang", "t", "option_labels", "language_switch", "md_escape", "LEARN_PREFIX", "EXAMPLE_KEY",
           "learn_key", "init_learn_state", "learn_settings", "replay_example", "forget_example", "settings_key",
           "cached_lesson", "cached_explanation", "MODEL_KEY", "UPLOAD_KEY", "DATA_KEY", "CONFIG_KEY", "LAYER_KEY",
           "UPLOAD_SEEN_KEY", "URL_READ_KEY", "DEFAULT_PRESET", "KEPT_WIDGET_KEYS", "MODEL_STATE_KEYS", "keep_state",
           "init_model_state", "select_sample", "current_config", "config_json", "set_config", "set_layer_weights",
           "reset_layer", "apply_preset", "read_url_state", "write_url_state", "url_error", "CurrentModel",
           "sample_choices", "current_model", "show_current_sample", "on_sample_change", "current_layer",
           "select_layer", "layer_picker", "on_map_select", "goto_layer_requested", "load_upload", "accept_upload",
           "accept_inputs", "handle_model_upload", "handle_inputs_upload", "layer_stats", "model_map", "layer_specs",
           "weight_view", "group_view", "activation_view", "EDIT_FIELDS", "edit_key", "edit_token", "edited_weights",
           "apply_layer_edit", "edit_error", "model_map_fig", "weight_histogram_fig", "layer_histogram_fig",
           "channel_fig", "error_map_fig", "split_fig", "estimator_fig", "codes_fig", "activation_fig",
           "layer_error_fig", "sweep_fig", "tradeoff_fig", "io_table", "ops_table", "data_kind", "calibration_rows",
           "config_label", "map_column_labels", "spec_label", "estimator_table", "param_rows", "deployable_problems",
           "deployed_bytes", "simulated_bytes", "ort_overrides_json", "layers_csv_text", "config_download",
           "ORT_SNIPPET", "mark_built", "is_built", "export_name", "report_html", "build_report", "HISTORY_KEY",
           "eval_data", "runner", "evaluation", "layer_error_table", "headline_metric", "history", "record",
           "history_df", "SELECTED_KEY", "TUNE_ERROR_KEY", "tune_table", "tune_table_key", "apply_tune_edits",
           "bulk_targets", "apply_bulk", "tune_error", "SWEEP_KEY", "SEARCH_KEY", "sweep_candidates", "start_sweep",
           "stop_sweep", "resume_sweep", "sweep_state", "sweep_step", "sweep_progress", "sweep_table", "search_result",
           "run_search", "apply_search", "LATENCY_RUNS", "restore_config", "measure_latency", "diff_table", "tuning",
           "PRESETS", "ModelConfig", "ModelError", "SpecError"]
