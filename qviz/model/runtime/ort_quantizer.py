"""onnxruntime's own static quantizer, run on qviz's arguments.

`ort_quantize_kwargs` turns the JSON of qviz.model.deploy.ort_overrides.to_ort_overrides (QuantType
*names*, scales as lists) into quantize_static's keyword arguments; `quantize_static` runs it (QDQ,
MinMax calibration on the given feeds) and returns the quantized model's bytes. Both executors call
it (this process, or an upload's worker), so the deployed model is the same wherever it is built.

`overrides["calibration_ranges"]` ({tensor: [lo, hi]}, qviz's own key) replaces onnxruntime's
calibration run: the ranges go to quantize_static as its calibration cache (`calibration_cache_path`)
and `feeds` may be empty. qviz uses it for a dry run that shows which tensors the quantizer
quantizes without running the model (qviz.model.simulate.deployed_graph).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
import onnx

from qviz.model.safety import ModelError


def quantize_static(data: bytes, feeds: list[dict], overrides: dict) -> bytes:
    """onnxruntime's quantize_static (QDQ, MinMax calibration on `feeds`) with the arguments
    of `overrides` (the JSON of to_ort_overrides), as ONNX bytes."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat
    from onnxruntime.quantization import quantize_static as ort_quantize_static

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # NOTE: quantize_static logs "consider pre-processing" warnings on root
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "q.onnx"
            ranges = overrides.get("calibration_ranges")
            cache = None if ranges is None else _range_cache(ranges, Path(tmp) / "ranges.json")
            try:
                ort_quantize_static(
                    onnx.load_model_from_string(data),
                    path,
                    None if cache else FeedReader(feeds),
                    quant_format=QuantFormat.QDQ,
                    calibrate_method=CalibrationMethod.MinMax,
                    calibration_cache_path=cache,
                    **ort_quantize_kwargs(overrides),
                )
            except AssertionError:  # NOTE: quantize_static asserts "scale issue" on a NaN/Inf or overflowing range
                raise ModelError(
                    "onnxruntime's quantizer cannot compute a scale: a weight or activation range is NaN, Inf "
                    "or too wide for float32 (the model's NaN/Inf weights, or values near float32's limit)"
                ) from None
            return path.read_bytes()
    finally:
        root.setLevel(level)


def _range_cache(ranges: dict, path: Path) -> Path:
    """Write {tensor: (lo, hi)} as onnxruntime's calibration cache file; return its path."""
    from onnxruntime.quantization import CalibrationMethod
    from onnxruntime.quantization.calibrate import TensorData, TensorsData, save_tensors_data

    data = {k: TensorData(lowest=np.float32(lo), highest=np.float32(hi)) for k, (lo, hi) in ranges.items()}
    save_tensors_data(TensorsData(CalibrationMethod.MinMax, data), path)
    return path


class FeedReader:
    """onnxruntime CalibrationDataReader over a list of feeds."""

    def __init__(self, feeds):
        self._it = iter(feeds)

    def get_next(self):
        return next(self._it, None)

    def rewind(self):  # pragma: no cover - required by the interface in some versions
        pass


def ort_quantize_kwargs(overrides: dict) -> dict:
    """The JSON dict of `to_ort_overrides` as keyword arguments for quantize_static."""
    from onnxruntime.quantization import QuantType

    tqo = {}
    for name, items in overrides["extra_options"]["TensorQuantOverrides"].items():
        first = items[0].get("quant_type") if items else None  # per-channel lists name it once
        tqo[name] = [_ort_item(dict(item), QuantType, first) for item in items]
    extra = {k: v for k, v in overrides["extra_options"].items() if k != "TensorQuantOverrides"}
    kwargs = {
        "activation_type": QuantType[overrides["activation_type"]],
        "weight_type": QuantType[overrides["weight_type"]],
        "per_channel": bool(overrides["per_channel"]),
        "reduce_range": bool(overrides.get("reduce_range", False)),
        "nodes_to_exclude": list(overrides["nodes_to_exclude"]),
        "extra_options": {**extra, "TensorQuantOverrides": tqo},
    }
    if overrides.get("op_types_to_quantize"):
        kwargs["op_types_to_quantize"] = list(overrides["op_types_to_quantize"])
    return kwargs


def _ort_item(item: dict, quant_type_enum, first: str | None = None) -> dict:
    qt = quant_type_enum[item.get("quant_type", first)]
    if "quant_type" in item:
        item["quant_type"] = qt
    if "scale" in item:  # float32, or float16 for a float16 model's tensor (qviz's "scale_dtype")
        item["scale"] = np.array(
            item["scale"], dtype=np.float16 if item.pop("scale_dtype", "") == "float16" else np.float32
        )
        item["zero_point"] = np.array(item["zero_point"], dtype=_zp_dtype(qt.name))
    return item


def _zp_dtype(name: str):
    return {"QInt8": np.int8, "QUInt8": np.uint8, "QInt16": np.int16, "QUInt16": np.uint16}.get(name, np.int32)
