"""Which layer configs onnxruntime runs natively, and in which form.

    >>> from qviz.config import PRESETS, LayerConfig
    >>> from qviz.model import layer_table, load_model
    >>> from qviz.model.simulate.resolve import resolve_layer_specs
    >>> from qviz.quant import QuantSpec
    >>> from qviz.samples import load_sample
    >>> layer = layer_table(load_model(load_sample("digits_cnn").model_bytes))[0]   # a Conv
    >>> [native_form(layer, resolve_layer_specs([layer], PRESETS[p])[layer.id]) for p in ("w8a8", "w4g32", "fp16")]
    [('qdq', ''), ('weight_only', ''), ('fp16', '')]
    >>> int3 = PRESETS["w8a8"].with_default(LayerConfig(QuantSpec(bits=3), None))
    >>> native_form(layer, resolve_layer_specs([layer], int3)[layer.id])
    (None, 'weights bits=3: onnxruntime has int4 and int8 weights only (7 bits: stored as int8)')

  form          when                                                        deployed as
  float         no weights and no activations spec                          untouched
  qdq           int weights of 8 bits (or 4), per tensor or per channel,    QDQ from onnxruntime's
                + static int activations of 8 or 16 bits, per tensor,       quantize_static (so the
                on Conv, ConvTranspose, Gemm or MatMul of the main graph    CPU runs QLinearConv...)
  weight_only   int weights of 4 or 8 bits, any granularity (4-bit groups   DequantizeLinear on the
                are ONNX blocked quantization), activations float           weight (opset 21 for int4/blocks)
  fp16          weights float16 (or none) and activations float16 (or none) Cast around the op
                on Conv, ConvTranspose, Gemm or MatMul
  already       the layer was quantized in the model                        untouched

Everything else (3-bit, k-means, log, fixed-point weights, float8, bfloat16, dynamic or
per-channel activations, group-wise weights with quantized activations) has no native form:
`problem` says why, naming the spec, and deploying refuses the config.

Simulation only: a config onnxruntime runs on other layers but not on this one, because of
the op or where it sits, deploys the nearest form and says why (the second element starts
with "simulation only"); the other layers deploy as asked:

  layer                                   asked           deployed      why (what onnxruntime has)
  LSTM                                    qdq             weight_only   quantize_static has no LSTM: only
                                                                        quantize_dynamic's DynamicQuantizeLSTM
  GRU                                     qdq             weight_only   no quantized GRU at all
  Attention (com.microsoft)               qdq             weight_only   quantize_dynamic's QAttention only
  inside an If/Loop/Scan body             qdq             weight_only   quantize_static leaves subgraphs alone
                                                                        (EnableSubgraph: quantize_dynamic only)
  LSTM, GRU, Attention                    fp16            float         Casts around them are not deployed

(onnxruntime's QDQ registry, onnxruntime/quantization/registry.py, lists ConvTranspose with
Conv, so it is a qdq op; onnxruntime's CPU provider then runs DQ -> ConvTranspose -> Q in
float: the kernel report says "float fallback".)
"""

from __future__ import annotations

from qviz.model.load.layer_table import Layer
from qviz.model.simulate.deployed_graph import QDQ_ACT_BITS, QDQ_OPS, QDQ_WEIGHT_BITS
from qviz.model.simulate.resolve import LayerSpecs
from qviz.quant.spec import QuantSpec

FP16_OPS = QDQ_OPS
WEIGHT_BITS = QDQ_WEIGHT_BITS  # 7: int8 storage with codes in [-64, 63] (onnxruntime reduce_range)
ACT_BITS = QDQ_ACT_BITS
SIMULATION_ONLY = "simulation only"
NO_QDQ = {
    "LSTM": "onnxruntime's quantize_static has no LSTM (only quantize_dynamic's DynamicQuantizeLSTM)",
    "GRU": "onnxruntime has no quantized GRU",
    "Attention": "onnxruntime quantizes Attention only with quantize_dynamic (QAttention)",
}


def native_form(layer: Layer, specs: LayerSpecs) -> tuple[str | None, str]:
    """(form, text): form None means no native form and `text` says why; a form with a text
    is a simulation-only fallback (module doc) and the text says what is not deployed and why."""
    w, a = specs.weights, specs.activations
    if layer.quantized:
        return "already", ""
    if w is None and a is None:
        return "float", ""
    if _is_fp16(w) and _is_fp16(a):
        if layer.op_type not in FP16_OPS:
            return "float", f"{SIMULATION_ONLY}: float16 on {layer.op_type}: only {', '.join(FP16_OPS)} get Casts"
        return "fp16", ""
    problem = _weights_problem(w) or _activations_problem(specs, w)
    if problem:
        return None, problem
    if a is None:
        return "weight_only", ""
    where = _no_qdq_here(layer)
    if where:
        return "weight_only", f"{SIMULATION_ONLY}: activations stay float: {where}"
    return "qdq", ""


def _no_qdq_here(layer: Layer) -> str:
    """Why this layer's op or place has no QDQ form ("" when it has one)."""
    if layer.graph_path:
        return f"onnxruntime's quantize_static does not quantize inside If/Loop/Scan bodies ({layer.graph})"
    if layer.op_type not in QDQ_OPS:
        return NO_QDQ.get(layer.op_type, f"onnxruntime's quantize_static has no {layer.op_type}")
    return ""


def _is_fp16(spec: QuantSpec | None) -> bool:
    return spec is None or (spec.scheme == "float" and spec.float_format == "float16")


def _weights_problem(w: QuantSpec | None) -> str:
    if w is None:
        return "activations without weight quantization have no onnxruntime integer kernel"
    if w.scheme != "int":
        return f"weights scheme={w.scheme}{_fmt(w)} has no onnxruntime form (int only)"
    if w.bits not in WEIGHT_BITS:
        return f"weights bits={w.bits}: onnxruntime has int4 and int8 weights only (7 bits: stored as int8)"
    return ""


def _activations_problem(specs: LayerSpecs, w: QuantSpec | None) -> str:
    a = specs.activations
    if a is None:
        return ""
    if specs.dynamic:
        return "dynamic activations: use onnxruntime's quantize_dynamic (qviz deploys static ranges only)"
    if a.scheme not in ("int", "fixed_point"):
        return f"activations scheme={a.scheme}{_fmt(a)} with int weights has no onnxruntime form"
    if a.bits not in ACT_BITS:
        return f"activations bits={a.bits}: onnxruntime quantizes activations to 8 or 16 bits"
    if a.granularity != "tensor":
        return "per-channel activations: onnxruntime's integer kernels take one activation scale"
    if w is not None and w.granularity == "group":
        return "group-wise weights with quantized activations: onnxruntime's QDQ kernels need per-channel weights"
    return ""


def _fmt(spec: QuantSpec) -> str:
    return f" ({spec.float_format})" if spec.scheme == "float" else ""


def ort_type(spec: QuantSpec) -> str:
    """onnxruntime QuantType name for an int spec: QInt8, QUInt8, QInt16, QUInt16, QInt4, QUInt4."""
    bits = 8 if spec.bits == 7 else spec.bits
    return f"Q{'Int' if spec.signed else 'UInt'}{bits}"
