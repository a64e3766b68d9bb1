"""qviz: see, teach and tune neural-network quantization.

The folder tree is the architecture. Each layer imports only the layers below it (import-linter
checks the contracts in pyproject.toml; tests/test_architecture.py runs it):

    qviz.app, qviz.cli      the Streamlit entry (pages in qviz/views/: read widgets -> call qviz ->
                            render, no arithmetic) and the same functions from a terminal
        |
    qviz.ui                 + streamlit: the glue, one small module per concept (state, caches,
                            text, messages, navigation, one module per page's glue)
        |
    qviz.lessons            the Learn page's arithmetic, the layer inspection, the integer-only
    qviz.plots              walkthrough  |  + plotly: arrays/DataFrames in, go.Figure out
        |
    qviz.evaluate           accuracy, fidelity, size, latency, sweep, search, Pareto front, tuning tables
    qviz.worker             uploads checked and run in limited worker processes
        |
    qviz.model              + onnx, onnxruntime, pandas: safety -> runtime -> load -> simulate -> deploy
    qviz.samples            the bundled sample models and their data (package data)
        |
    qviz.config             numpy only: per-layer configs, presets, their JSON and URL forms
        |
    qviz.quant              numpy only: quantize/dequantize, range estimators, metrics

Names: a page's pieces in different layers share the page's name (qviz/views/tune.py,
qviz/ui/tune.py, qviz/plots/tune.py); every other module name is used once.

# NOTE: never import a lower layer's heavier dependencies upward (no streamlit in qviz.plots,
# no plotly or onnx in qviz.quant); tests/test_architecture.py checks that too.
"""

__version__ = "0.1.0"
