"""qviz: see, teach and tune neural-network quantization.

Dependencies point one way only (a test enforces it):

    qviz.quant, qviz.config     numpy only: quantize/dequantize, range estimators, metrics, config types
        |
    qviz.model, qviz.samples    + onnx, onnxruntime, pandas: load, layers, apply config, evaluate
        |
    qviz.plots                  + plotly: arrays/DataFrames in, go.Figure out; no streamlit
        |
    qviz.ui (a package)         + streamlit: the glue, one small module per concept (text, state,
                                cache, figures, upload, ...; see qviz/ui/__init__.py)
        |
    app.py, views/*             read widgets -> call qviz -> render; no arithmetic
    qviz.cli.main                    the same functions as the pages, from a terminal

# NOTE: never import a lower layer's heavier dependencies upward (no streamlit in qviz.plots,
# no plotly or onnx in qviz.quant).
"""

__version__ = "0.1.0"
