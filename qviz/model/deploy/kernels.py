"""integer_ops_report: which kernels onnxruntime really runs for each layer of a deployed model.

    >>> from qviz.config import PRESETS
    >>> from qviz.model.deploy.deployable import deploy
    >>> from qviz.samples import load_sample
    >>> sample = load_sample("digits_cnn")
    >>> integer_ops_report(deploy(sample.model_bytes, PRESETS["w8a8"], sample.calibration.x))["/features/features.0/Conv"]
    'integer'
    >>> integer_ops_report(deploy(sample.model_bytes, PRESETS["w8"]))     # weight-only int8: dequantized, run in float
    {'/features/features.0/Conv': 'float fallback', '/features/features.3/Conv': 'float fallback', '/features/features.7/Conv': 'float fallback', '/classifier/classifier.1/Gemm': 'float fallback', '/classifier/classifier.3/Gemm': 'float fallback'}

How: a session is created with graph optimizations (ORT_ENABLE_EXTENDED: QDQ fusion) and
`optimized_model_filepath` in a temporary directory; the optimized graph it writes is read
back and each layer's node is looked up by name (onnxruntime keeps the node name when it
fuses DQ -> Conv -> Q into QLinearConv), else by its weight tensor.

  integer          the op became an integer kernel (INTEGER_OPS)
  float fallback   the layer's weight is stored as integers (DequantizeLinear on it) but
                   onnxruntime runs it in float (e.g. weight-only int8 Conv, int4 Conv)
  float            the layer is not quantized (float32 or float16)
"""

from __future__ import annotations

import onnx
import onnxruntime as ort

from qviz.model.load.layer_table import layer_table
from qviz.model.load.loader import load_model
from qviz.model.runtime.executor import LOCAL

INTEGER_OPS = (
    "QLinearConv",
    "QLinearMatMul",
    "MatMulInteger",
    "ConvInteger",
    "MatMulNBits",
    "QGemm",
    "MatMulIntegerToFloat",
    "DynamicQuantizeMatMul",
    "QAttention",
    "QLinearConvTranspose",
    "DynamicQuantizeLSTM",
    "MatMulBnb4",
)


def optimized_graph(
    model_bytes: bytes, level=ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED, executor=LOCAL
) -> onnx.ModelProto:
    """The graph onnxruntime runs after its optimizations, made where `executor` runs sessions."""
    return onnx.load_model_from_string(executor.optimized(model_bytes, int(level)))


def integer_ops_report(model_bytes: bytes, executor=LOCAL) -> dict[str, str]:
    """{layer id: 'integer' | 'float fallback' | 'float'} for a (deployed) model (module doc)."""
    layers = layer_table(load_model(model_bytes, normalize=False))  # built by qviz: no onnxruntime folding here
    opt = optimized_graph(model_bytes, executor=executor)
    by_name = {n.name: n for n in opt.graph.node if n.name}
    report = {}
    for layer in layers:
        node = by_name.get(layer.node_name) or _by_weight(opt, layer.weight_name)
        if node is not None and node.op_type in INTEGER_OPS:
            report[layer.id] = "integer"
        else:
            report[layer.id] = "float fallback" if _integer_weight(layer) else "float"
    return report


def _integer_weight(layer) -> bool:
    """The weight is stored as integers (behind a DequantizeLinear) or the op is an integer op.

    # NOTE: not `layer.quantized`, which is also true for a float layer whose activation input
    # comes from a DequantizeLinear (the neighbours of quantized layers in a QDQ graph).
    """
    return not layer.weight_dtype.startswith(("float", "bfloat")) or layer.op_type in INTEGER_OPS


def _by_weight(opt: onnx.ModelProto, weight: str):
    return next((n for n in opt.graph.node if any(x == weight or x.startswith(weight + "_") for x in n.input)), None)
