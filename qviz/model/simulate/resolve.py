"""Per-layer specs: a ModelConfig read against the layer table, axes made concrete.

    >>> from qviz.config import PRESETS
    >>> from qviz.model import layer_table, load_model
    >>> from qviz.samples import load_sample
    >>> specs = resolve_layer_specs(layer_table(load_model(load_sample("digits_cnn").model_bytes)), PRESETS["w4g32"])
    >>> fc = specs["/classifier/classifier.1/Gemm"]      # Gemm W[out, in]: groups along "in", axis 1
    >>> fc.weights.axis, fc.weights.group_size, fc.note
    (1, 32, '')
    >>> specs["/features/features.3/Conv"].note          # Conv W[32, 16, 3, 3]: 16 inputs
    'group_size 32 does not divide 16: groups of 16'

The weights_axis="auto" rule (qviz.config): granularity=channel quantizes along the
layer's output-channel axis (`layer.channel_axis`), granularity=group along its reduction
axis (`layer.reduction_axis`). weights_axis="spec" keeps spec.axis as written.

# NOTE: group fallback. When group_size does not divide the reduction axis (a depthwise
# Conv has a reduction axis of length 1, a 24-wide layer does not split into 32s), qviz
# uses the largest divisor d <= group_size if d >= min(16, group_size) (ONNX blocked
# DequantizeLinear needs whole blocks, and blocks below 16 cost more scales than they save),
# else per-channel. The choice is written to `LayerSpecs.note` so the UI/CLI can show it.

Activations with granularity=channel use the activation's channel axis: 1 for Conv and
ConvTranspose (NCHW), the last axis (-1) for everything else; activations.axis is ignored.
Already-quantized layers (QDQ/QOperator) get no specs: qviz does not quantize a quantized
layer again. The config's *default* leaves them as they are (a note says so; a preset applies
to the float layers of a partly quantized model); an explicit entry for one of them that is not
float is refused (`requantized` lists them; Simulator.build and deploy raise a SpecError).
"""

from __future__ import annotations

from dataclasses import dataclass

from qviz.config import ModelConfig
from qviz.model.load.layer_table import Layer
from qviz.quant.spec import QuantSpec

MIN_BLOCK = 16
ALREADY_QUANTIZED = "already quantized in the model: left as it is (qviz does not quantize a quantized layer again)"
CONV_OPS = ("Conv", "ConvTranspose")


@dataclass(frozen=True)
class LayerSpecs:
    """What one layer becomes: concrete weights/activations specs (None = float)."""

    weights: QuantSpec | None
    activations: QuantSpec | None
    dynamic: bool = False
    note: str = ""

    @property
    def is_float(self) -> bool:
        return self.weights is None and self.activations is None


def resolve_layer_specs(layers: list[Layer], config: ModelConfig) -> dict[str, LayerSpecs]:
    """{layer.id: LayerSpecs} for every layer, in layer-table order (rules in the module doc)."""
    return {layer.id: resolve_layer(layer, config) for layer in layers}


def resolve_layer(layer: Layer, config: ModelConfig) -> LayerSpecs:
    """One layer's LayerSpecs (see resolve_layer_specs)."""
    lc = config.for_layer(layer.id)
    if layer.quantized:
        note = ALREADY_QUANTIZED if not lc.is_float else ""
        return LayerSpecs(None, None, False, note)
    weights, note = lc.weights, ""
    if weights is not None and lc.weights_axis == "auto":
        weights, note = _auto_axis(layer, weights)
    acts = lc.activations
    if acts is not None and acts.granularity == "channel":
        acts = acts.replace(axis=activation_channel_axis(layer))
    return LayerSpecs(weights, acts, lc.activations_dynamic, note)


def requantized(layers: list[Layer], config: ModelConfig) -> list[str]:
    """Ids of already-quantized layers that `config` explicitly asks to quantize (refused)."""
    return [x.id for x in layers if x.quantized and x.id in config.layers and not config.layers[x.id].is_float]


def activation_channel_axis(layer: Layer) -> int:
    """1 (NCHW) for Conv/ConvTranspose inputs, -1 (features last) for the rest."""
    return 1 if layer.op_type in CONV_OPS else -1


def _auto_axis(layer: Layer, spec: QuantSpec) -> tuple[QuantSpec, str]:
    if spec.granularity == "channel":
        return spec.replace(axis=layer.channel_axis), ""
    if spec.granularity == "tensor":
        return spec, ""
    n = layer.weight_shape[layer.reduction_axis] if layer.weight_shape else 0
    if n and n % spec.group_size == 0:
        return spec.replace(axis=layer.reduction_axis), ""
    d = largest_divisor(n, spec.group_size)
    if d >= min(MIN_BLOCK, spec.group_size):
        return spec.replace(
            axis=layer.reduction_axis, group_size=d
        ), f"group_size {spec.group_size} does not divide {n}: groups of {d}"
    return (
        spec.replace(granularity="channel", axis=layer.channel_axis),
        f"group_size {spec.group_size} does not divide {n} (no divisor >= {min(MIN_BLOCK, spec.group_size)}): per-channel",
    )


def largest_divisor(n: int, limit: int) -> int:
    """Largest d <= limit that divides n (0 for n = 0): largest_divisor(24, 32) == 24."""
    return next((d for d in range(min(n, limit), 0, -1) if n % d == 0), 0)
