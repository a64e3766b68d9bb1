"""Weight size under a config: bytes each layer's weight takes when stored quantized, and bits/weight.

Per layer (resolved specs, so auto axes and group fallbacks count as they run):

    codes    ceil(n * bits / 8)          n weights; int4 packs two per byte (ONNX), 3-bit is
                                         counted as packed 3 bits (no ONNX type exists)
    scales   groups * 4                  float32; groups = 1 (tensor), channels, or n / group_size
    zeros    ceil(groups * bits / 8)     only when asymmetric (symmetric zero points are implied)
    codebook groups * 2**bits * 4        kmeans / log: the levels of each group, float32
    float    n * itemsize                a float layer stores its weight as it is in the model
                                         (float format schemes: n * bits / 8)

Already-quantized layers count the bytes stored in the model. Biases and other parameters
are not weights of a layer here (`weight_bytes`); `bits_per_weight = 8 * weight_bytes / n`.

    >>> from qviz.config import PRESETS
    >>> from qviz.model import layer_table, load_model
    >>> from qviz.samples import load_sample
    >>> m = load_model(load_sample("digits_cnn").model_bytes)
    >>> report = weight_size(layer_table(m), m.weights, PRESETS["w8"])    # int8, per channel
    >>> report.layers[0]            # 144 codes + 16 float32 scales = 208 bytes
    {'layer': '/features/features.0/Conv', 'params': 144, 'bits': 8, 'weight_bytes': 208, 'bits_per_weight': 11.555555555555555, 'native': 'weight_only'}
    >>> report.weight_bytes, report.params, round(report.bits_per_weight, 2)
    (40952, 40208, 8.15)
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from qviz.config import ModelConfig
from qviz.evaluate.results import SizeReport
from qviz.model.deploy.native import native_form
from qviz.model.simulate.resolve import resolve_layer_specs

SCALE_BYTES = 4


def spec_bytes(shape: tuple, spec, stored_itemsize: int = 4) -> int:
    """Bytes of one weight tensor of `shape` stored under `spec` (None = as stored)."""
    n = math.prod(shape)
    if spec is None:
        return n * stored_itemsize
    if spec.scheme == "float":
        return math.ceil(n * spec.bits / 8)
    groups = _groups(shape, spec)
    size = math.ceil(n * spec.bits / 8) + groups * SCALE_BYTES
    if spec.scheme in ("kmeans", "log"):
        size += groups * 2**spec.bits * SCALE_BYTES
    elif not spec.symmetric:
        size += math.ceil(groups * spec.bits / 8)
    return size


def _groups(shape: tuple, spec) -> int:
    if spec.granularity == "tensor" or not shape:
        return 1
    if spec.granularity == "channel":
        return shape[spec.axis % len(shape)]
    return math.prod(shape) // max(1, spec.group_size)


def layer_sizes(layers, weights, config: ModelConfig) -> pd.DataFrame:
    """One row per layer: id, params, bits, weight_bytes, native form (see module doc)."""
    specs = resolve_layer_specs(layers, config)
    rows = []
    for layer in layers:
        s = specs[layer.id]
        n = math.prod(layer.weight_shape)
        if layer.quantized:
            nbytes, bits = weights.nbytes(layer.weight_name), None
        else:
            nbytes = spec_bytes(layer.weight_shape, s.weights, np.dtype(layer.weight_dtype).itemsize)
            bits = 8 * np.dtype(layer.weight_dtype).itemsize if s.weights is None else s.weights.bits
        form = native_form(layer, s)[0]
        rows.append(
            {
                "layer": layer.id,
                "params": n,
                "bits": bits,
                "weight_bytes": nbytes,
                "bits_per_weight": 8 * nbytes / n if n else 0.0,
                "native": form or "none",
            }
        )
    return pd.DataFrame(rows, columns=["layer", "params", "bits", "weight_bytes", "bits_per_weight", "native"])


def weight_size(layers, weights, config: ModelConfig) -> SizeReport:
    """Total weight bytes and bits per weight of `config` (plus the per-layer table)."""
    df = layer_sizes(layers, weights, config)
    total, n = int(df["weight_bytes"].sum()), int(df["params"].sum())
    return SizeReport(
        weight_bytes=total, params=n, bits_per_weight=8 * total / n if n else 0.0, layers=df.to_dict("records")
    )
