"""Streamlit glue between the widgets and qviz: one small module per concept.

Pages import the modules they use (`from qviz.ui import models, text`) and call
`models.current_model()`, `text.t(...)`: no re-exports here. Nothing below qviz.ui imports streamlit.

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
"""
