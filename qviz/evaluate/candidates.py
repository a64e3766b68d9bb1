"""Per-layer candidates for sweeps and searches: named LayerConfigs, built from bit widths.

    weight_candidate(4)      int4 symmetric per-channel weights, estimator mse (float activations)
    activation_candidate(8)  uint8 asymmetric static per-tensor activations, min-max (float weights)
    candidates_from_bits((8, 4), ("weights", "activations"))  -> {"w8": ..., "w4": ..., "a8": ..., "a4": ...}

Rule: weights of 5 bits or more use the min-max range, 4 bits or fewer the MSE-optimal
range (at low bits, clipping outliers beats covering them; min-max int4 loses much more).
Per-channel is the weights granularity: it is what onnxruntime deploys for int8/int4 and it
costs one float32 scale per output channel.

Shipping: only int8 and int4 weights (with 8/16-bit static activations) have an onnxruntime
form (qviz.model.deploy.native); `no_deploy_reason` says why a candidate has none. Sweeps and
searches leave those out unless asked for simulation-only candidates.
"""

from __future__ import annotations

from qviz.config import LayerConfig, ModelConfig
from qviz.model.deploy.native import native_form
from qviz.model.load.layer_table import Layer
from qviz.model.simulate.resolve import resolve_layer
from qviz.quant.spec import QuantSpec, SpecError

MODES = ("weights", "activations")


def weight_candidate(bits: int) -> LayerConfig:
    """Weights int<bits> symmetric per channel (mse range at <= 4 bits), activations float."""
    return LayerConfig(QuantSpec(bits=bits, granularity="channel", estimator="minmax" if bits > 4 else "mse"), None)


def activation_candidate(bits: int) -> LayerConfig:
    """Activations uint<bits> asymmetric static per tensor (min-max), weights float."""
    return LayerConfig(None, QuantSpec(bits=bits, signed=False, symmetric=False))


def candidates_from_bits(bits=(8, 4), modes=MODES) -> dict[str, LayerConfig]:
    """{"w8": ..., "a8": ...}: one weights-only and/or activations-only candidate per bit width."""
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise SpecError(f"modes must be some of {', '.join(MODES)}; got {', '.join(map(str, modes)) or 'none'}")
    out = {}
    for mode in modes:
        for b in bits:
            if not isinstance(b, int) or isinstance(b, bool) or not 2 <= b <= 16:
                raise SpecError(f"bits must be integers in 2..16; got {b!r}")
            out[f"{mode[0]}{b}"] = weight_candidate(b) if mode == "weights" else activation_candidate(b)
    return out


def no_deploy_reason(layer: Layer, lc: LayerConfig) -> str:
    """Why the candidate `lc` on `layer` has no deployable form ("" when it has one:
    native.native_form; a simulation-only fallback such as an LSTM's float activations ships).

    An activations-only candidate (a sweep's a8) is measured alone but ships with weights:
    it is judged with int8 per-channel weights, so a8 ships and a4 does not.

        >>> from qviz.model import layer_table, load_model
        >>> from qviz.samples import load_sample
        >>> conv = layer_table(load_model(load_sample("digits_cnn").model_bytes))[0]
        >>> [no_deploy_reason(conv, c) == "" for c in candidates_from_bits((8, 6, 4)).values()]
        [True, False, True, True, False, False]
    """
    if lc.weights is None and lc.activations is not None:
        lc = LayerConfig(weight_candidate(8).weights, lc.activations, lc.activations_dynamic)
    form, why = native_form(layer, resolve_layer(layer, ModelConfig(default=lc)))
    return why if form is None else ""
