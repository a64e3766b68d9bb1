"""The model layer: load ONNX models safely, describe their layers, simulate and deploy configs.

Four parts, each importing only the ones listed before it (import-linter checks it):

    safety      ModelError, parsing, the static checks every model (and every derived model) passes
    runtime     onnxruntime sessions and where they run (this process or an upload's worker)
    load        load_model -> LoadedModel, weights, shapes, the layer table, input data files
    simulate    a config applied as fake-quantization (Simulator), calibration, graph edits
    deploy      the deployable model (real integer kernels), its native forms, onnxruntime overrides

    >>> from qviz.model import layer_table, load_model, make_session, weight_stats
    >>> from qviz.samples import load_sample
    >>> m = load_model(load_sample("digits_cnn").model_bytes)   # or a path; ModelError (a ValueError) if unsafe/invalid
    >>> layers = layer_table(m)               # [Layer(id=..., weight_name=..., channel_axis=...)]
    >>> [(x.op_type, x.weight_shape) for x in layers][:2]
    [('Conv', (16, 1, 3, 3)), ('Conv', (32, 16, 3, 3))]
    >>> round(float(weight_stats(m, layers)["abs_max"].max()), 2)   # one row of statistics per layer
    2.74
    >>> sess = make_session(m.model_bytes)    # CPU EP, 1 thread, no spinning, folding capped
    >>> sess.run(None, {"input": np.zeros((2, 1, 8, 8), np.float32)})[0].shape
    (2, 10)

Every failure a user can cause is a `ModelError` with a short message naming the node/tensor.
"""

from qviz.model.load.layer_table import Layer, layer_table, layers_dataframe
from qviz.model.load.loader import LoadedModel, TensorInfo, load_model
from qviz.model.load.weight_stats import weight_stats
from qviz.model.load.weights import WeightStore, tensor_to_array
from qviz.model.runtime.session import make_session, session_options
from qviz.model.safety import ModelError

__all__ = [
    "Layer",
    "LoadedModel",
    "ModelError",
    "TensorInfo",
    "WeightStore",
    "layer_table",
    "layers_dataframe",
    "load_model",
    "make_session",
    "session_options",
    "tensor_to_array",
    "weight_stats",
]
