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
                on Conv, Gemm or MatMul                                    CPU runs QLinearConv...)
  weight_only   int weights of 4 or 8 bits, any granularity (4-bit groups   DequantizeLinear on the
                are ONNX blocked quantization), activations float           weight (opset 21 for int4/blocks)
  fp16          weights float16 (or none) and activations float16 (or none) Cast around the op
  already       the layer was quantized in the model                        untouched

Everything else (3-bit, k-means, log, fixed-point weights, float8, bfloat16, dynamic or
per-channel activations, 8-bit activations on other ops) has no native form: `problem`
says why, naming the spec.
"""

from __future__ import annotations

from qviz.model.load.layer_table import Layer
from qviz.model.simulate.resolve import LayerSpecs
from qviz.quant.spec import QuantSpec

QDQ_OPS = ("Conv", "Gemm", "MatMul")
WEIGHT_BITS = (4, 7, 8)  # 7: int8 storage with codes in [-64, 63] (onnxruntime reduce_range)
ACT_BITS = (8, 16)


def native_form(layer: Layer, specs: LayerSpecs) -> tuple[str | None, str]:
    """(form, problem): form None means no native form and `problem` says why."""
    w, a = specs.weights, specs.activations
    if layer.quantized:
        return "already", ""
    if w is None and a is None:
        return "float", ""
    if _is_fp16(w) and _is_fp16(a):
        return "fp16", ""
    problem = _weights_problem(w) or _activations_problem(layer, specs, w)
    if problem:
        return None, problem
    return ("weight_only" if a is None else "qdq"), ""


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


def _activations_problem(layer: Layer, specs: LayerSpecs, w: QuantSpec | None) -> str:
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
    if layer.op_type not in QDQ_OPS:
        return f"quantized activations on {layer.op_type}: only {', '.join(QDQ_OPS)} are deployed in QDQ form"
    return ""


def _fmt(spec: QuantSpec) -> str:
    return f" ({spec.float_format})" if spec.scheme == "float" else ""


def ort_type(spec: QuantSpec) -> str:
    """onnxruntime QuantType name for an int spec: QInt8, QUInt8, QInt16, QUInt16, QInt4, QUInt4."""
    bits = 8 if spec.bits == 7 else spec.bits
    return f"Q{'Int' if spec.signed else 'UInt'}{bits}"
