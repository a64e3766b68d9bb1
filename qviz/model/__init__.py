"""The model layer: load ONNX models safely, describe their layers, run them on the CPU.

    >>> from qviz.model import load_model, layer_table, weight_stats, make_session
    >>> m = load_model("net.onnx")            # ModelError (a ValueError) if unsafe/invalid
    >>> layers = layer_table(m)               # [Layer(id=..., weight_name=..., channel_axis=...)]
    >>> sess = make_session(m.model_bytes)    # CPU EP, 1 thread, no spinning, folding capped

Every failure a user can cause is a `ModelError` with a short message naming the node/tensor.
"""

from .layers import Layer, layer_table, layers_dataframe
from .load import LoadedModel, TensorInfo, load_model
from .safety import ModelError
from .session import make_session, session_options
from .stats import weight_stats
from .weights import WeightStore, tensor_to_array

__all__ = [
    "Layer", "LoadedModel", "ModelError", "TensorInfo", "WeightStore", "layer_table", "layers_dataframe",
    "load_model", "make_session", "session_options", "tensor_to_array", "weight_stats",
]
